"""The public functions for black-box derivatives: ``grad``, ``jacobian``, ``hessian``.

They validate every argument before the first evaluation, build the evaluator (the
only caller of the user's function) and the method's settings, run the estimator,
and return the result in the kind the caller gave (numpy in, numpy out; torch in,
torch out on its device).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fdopt._estimate import run_estimator
from fdopt._tensor import Source
from fdopt.errors import FunctionOutputError
from fdopt.estimators import Estimate
from fdopt.evaluation import Workers

__all__ = ["EstimateInfo", "grad", "hessian", "jacobian"]


@dataclass(frozen=True)
class EstimateInfo:
    """What an estimate cost and knows about itself (``full_output=True``).

    Attributes
    ----------
    nfev : int
        Function evaluations spent.
    f0 : array or None
        The function's value(s) at ``x`` when the method evaluated them.
    error : array or None
        Estimated absolute error of each entry, where the method provides one.
    step : array or None
        Absolute steps used per coordinate.
    noise : array or None
        Estimated noise level of the function (``step="auto"``).
    """

    nfev: int
    f0: Any = None
    error: Any = None
    step: Any = None
    noise: Any = None


def _info(estimate: Estimate, source: Source) -> EstimateInfo:
    def wrap(value: torch.Tensor | None) -> Any:
        return None if value is None else source.wrap(value.detach())

    return EstimateInfo(
        nfev=estimate.nfev,
        f0=wrap(estimate.f0),
        error=wrap(estimate.error),
        step=wrap(estimate.step),
        noise=wrap(estimate.noise),
    )


def _finish(value: torch.Tensor, estimate: Estimate, source: Source, full_output: bool) -> Any:
    """Return ``value`` in the caller's kind, with its :class:`EstimateInfo` if asked."""
    wrapped = source.wrap(value)
    return (wrapped, _info(estimate, source)) if full_output else wrapped


def grad(
    fun: Callable[..., Any],
    x: Any,
    *,
    method: str = "central",
    step: float | str | None = None,
    args: Sequence[Any] = (),
    bounds: Any = None,
    vectorized: bool = False,
    workers: Workers = None,
    batch_size: int | None = None,
    maxfev: int | None = None,
    full_output: bool = False,
    **settings: Any,
) -> Any:
    """Estimate the gradient of a scalar function by finite differences.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``; with ``vectorized=True``, ``fun(X, *args)`` takes a
        ``(k, n)`` batch and returns ``(k,)``.
    x : array-like or torch.Tensor
        The point, a scalar or 1-D; numpy in -> numpy out, torch in -> torch out.
    method : str, default "central"
        "forward", "backward", "central", "central4", "complex", "richardson",
        "spsa" or "smoothing".
    step : float, "auto" or None
        Step relative to ``max(1, |x_i|)``; None: the method's default; "auto" (stencil
        methods): chosen from the function's estimated noise level.
    args : tuple
        Extra arguments passed to ``fun``.
    bounds : sequence of (lo, hi) or scipy.optimize.Bounds, optional
        No point outside them is evaluated; near a bound, stencils turn one-sided.
    vectorized : bool, default False
        ``fun`` takes a batch of points; the whole stencil goes out in as few calls as
        ``batch_size`` allows.
    workers : int, Executor or map-like callable, optional
        Evaluate points in parallel: a process pool of that size, any
        ``concurrent.futures.Executor`` (Dask's, Ray's), or a ``map``-like callable.
    batch_size : int, optional
        Most points per vectorized call (default: cache-sized on a CPU, all on a GPU).
    maxfev : int, optional
        Hard budget of evaluations.
    full_output : bool, default False
        Also return an :class:`EstimateInfo` (nfev, f(x), error estimate, steps, noise).
    **settings
        Options of the method (see :mod:`fdopt.settings`), e.g. ``accuracy=4``,
        ``samples=8``, ``seed=0``; unknown ones are a ``pydantic.ValidationError``.

    Returns
    -------
    array or torch.Tensor
        The gradient, of the shape of ``x``; with ``full_output``, ``(gradient, info)``.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError
        For bad arguments, before any evaluation.
    pydantic.ValidationError
        For unknown or invalid method settings.
    EvaluationError
        If ``fun`` raised (chained).
    FunctionOutputError
        If ``fun`` returned a non-scalar, a non-finite value, or (complex step) dropped
        the imaginary part.

    Examples
    --------
    >>> import numpy as np
    >>> g = grad(lambda x: np.sum(x**2), np.array([1.0, -2.0]))
    >>> np.allclose(g, [2.0, -4.0])
    True
    """
    estimate, source, shape, scalar = run_estimator(
        fun,
        x,
        method=method,
        step=step,
        args=args,
        bounds=bounds,
        vectorized=vectorized,
        workers=workers,
        batch_size=batch_size,
        maxfev=maxfev,
        settings=settings,
    )
    if estimate.value.shape[0] != 1 or scalar is False:
        raise FunctionOutputError(
            f"grad needs a scalar function; fun returns {estimate.value.shape[0]} values "
            f"(use fdopt.jacobian)"
        )
    return _finish(estimate.value[0].reshape(shape), estimate, source, full_output)


def jacobian(
    fun: Callable[..., Any],
    x: Any,
    *,
    method: str = "central",
    step: float | str | None = None,
    args: Sequence[Any] = (),
    bounds: Any = None,
    vectorized: bool = False,
    workers: Workers = None,
    batch_size: int | None = None,
    maxfev: int | None = None,
    full_output: bool = False,
    **settings: Any,
) -> Any:
    """Estimate the ``(m, n)`` Jacobian of a vector function by finite differences.

    ``fun(x, *args)`` returns ``(m,)`` (vectorized: ``(k, m)`` for ``(k, n)``); a scalar
    function gives a ``(1, n)`` Jacobian. Parameters, returns and errors are those of
    :func:`grad`.

    Examples
    --------
    >>> import numpy as np
    >>> J = jacobian(lambda x: np.array([x[0] * x[1], x[0] + x[1]]), np.array([2.0, 3.0]))
    >>> np.allclose(J, [[3.0, 2.0], [1.0, 1.0]])
    True
    """
    estimate, source, _, _ = run_estimator(
        fun,
        x,
        method=method,
        step=step,
        args=args,
        bounds=bounds,
        vectorized=vectorized,
        workers=workers,
        batch_size=batch_size,
        maxfev=maxfev,
        settings=settings,
    )
    return _finish(estimate.value, estimate, source, full_output)


def hessian(
    fun: Callable[..., Any],
    x: Any,
    *,
    method: str = "central",
    step: float | None = None,
    args: Sequence[Any] = (),
    bounds: Any = None,
    vectorized: bool = False,
    workers: Workers = None,
    batch_size: int | None = None,
    maxfev: int | None = None,
    full_output: bool = False,
) -> Any:
    """Estimate the ``(n, n)`` Hessian of a scalar function, symmetric by construction.

    ``method`` is "central" (second-order central differences of ``fun``) or
    "gradient" (central differences of central-difference gradients, symmetrized).
    The other parameters, returns and errors are those of :func:`grad`.

    Examples
    --------
    >>> import numpy as np
    >>> H = hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))
    >>> np.allclose(H, [[4.0, 2.0], [2.0, 0.0]], atol=1e-6)
    True
    """
    estimate, source, _, _ = run_estimator(
        fun,
        x,
        method=method,
        step=step,
        args=args,
        bounds=bounds,
        vectorized=vectorized,
        workers=workers,
        batch_size=batch_size,
        maxfev=maxfev,
        settings={},
        hessian=True,
    )
    return _finish(estimate.value, estimate, source, full_output)
