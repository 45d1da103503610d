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

import numpy as np
import torch
from scipy.optimize import OptimizeResult

from fdopt._estimate import run_estimator
from fdopt._multistart import MULTISTART, minimize_starts
from fdopt._tensor import Source
from fdopt.estimators import Estimate
from fdopt.evaluation import Workers
from fdopt.scipy_compat import solve

__all__ = ["EstimateInfo", "grad", "hessian", "jacobian", "minimize"]


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


def _info(estimate: Estimate[Any], source: Source) -> EstimateInfo:
    def wrap(value: torch.Tensor | np.ndarray[Any, Any] | None) -> Any:
        if isinstance(value, torch.Tensor):
            value = value.detach()
        return None if value is None else source.wrap(value)

    return EstimateInfo(
        nfev=estimate.nfev,
        f0=wrap(estimate.f0),
        error=wrap(estimate.error),
        step=wrap(estimate.step),
        noise=wrap(estimate.noise),
    )


def _finish(
    estimate: Estimate[Any], source: Source, full_output: bool, shape: tuple[int, ...] | None = None
) -> Any:
    """Return the estimate in the caller's kind, with its :class:`EstimateInfo` if asked.

    ``shape``: a gradient's; its one row is returned in that shape.
    """
    wrapped = source.wrap(estimate.value)
    if shape is not None:  # in the caller's kind: numpy operations cost less than torch's
        wrapped = wrapped[0].reshape(shape)
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
    estimate, source, shape = run_estimator(
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
        scalar_for="grad",
    )
    return _finish(estimate, source, full_output, shape)


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
    estimate, source, _ = run_estimator(
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
    return _finish(estimate, source, full_output)


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
    estimate, source, _ = run_estimator(
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
    return _finish(estimate, source, full_output)


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    args: Sequence[Any] = (),
    method: str = "adam",
    jac: Any = None,
    bounds: Any = None,
    callback: Callable[..., Any] | None = None,
    options: Any = None,
) -> OptimizeResult:
    """Minimize a function with a first-order method on estimated gradients.

    Each iteration estimates the gradient (finite differences by default), applies the
    update rule, projects onto ``bounds``, tests the stopping rules and calls
    ``callback``. Every proposed step is evaluated first: a step to a point where
    ``fun`` is NaN or infinite (or, for ``gd``, that fails the Armijo test) is rejected
    and retried with half the step size.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``; with ``vectorized=True`` it takes a ``(k, n)`` batch
        and returns ``(k,)``.
    x0 : array-like or torch.Tensor
        Starting point, a scalar or 1-D; numpy in -> numpy out, torch in -> torch out.
    args : tuple
        Extra arguments of ``fun`` (and of a callable ``jac``).
    method : str, default "adam"
        "gd" (Armijo line search by default), "momentum", "nesterov", "adam",
        "rmsprop", "adagrad" or "spsa". A settings model given as ``options`` sets the
        method itself.
    jac : None, str or callable
        None: forward differences, ``n`` evaluations a gradient since ``f(x)`` is known
        (SPSA: its own perturbations); an estimator's name
        ("forward", "central4", "richardson", "spsa", ...); or the gradient
        ``jac(x, *args)``.
    bounds : sequence of (lo, hi) or scipy.optimize.Bounds, optional
        No point outside them is evaluated; iterates are projected onto them. ``x0``
        outside them is an error (it is not clipped).
    callback : callable, optional
        ``callback(intermediate_result)`` gets an ``OptimizeResult`` with ``x``, ``fun``,
        ``jac``, ``nit``, ``nfev`` after each iteration; ``callback(xk)`` works too.
        Raising ``StopIteration`` ends the run (status 99).
    options : dict or settings model, optional
        The rule's options (``lr``, default "auto": the first step moves ``x0`` by
        ``first_step = 0.1`` of its scale; ``momentum``, ``beta1``, ``beta2``, ``eps``,
        ``schedule``, ...), the stopping tests (``maxiter``, ``maxfev``, ``gtol``,
        ``ftol``, ``xtol``, ``patience``, ``max_time``), the estimator's (``step``,
        ``accuracy``, ...), ``vectorized``, ``workers``, ``batch_size``, ``seed``,
        ``history``, ``return_best``, ``disp``, ``checkpoint`` and ``resume`` (a path:
        the run's state written every iteration, and a run continued from it bit for
        bit), ``noise`` and ``multistart`` (``x0`` of shape
        ``(k, n)``: ``k`` starts, each with these options, the best returned with every
        start's result in ``starts`` and the calls of ``fun`` in ``ncalls``; with
        ``vectorized=True`` the starts' points share calls, as few as ``batch_size``
        allows, else the starts run one after another); or a model such as
        ``AdamSettings(lr=0.01)``. Unknown options are an error listing the valid ones.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x``, ``fun`` (the best point seen, or the last iterate with
        ``return_best=False``), ``x_best``, ``fun_best``, ``x_last``, ``fun_last``,
        ``jac`` (the last gradient estimate, at ``x_last``), ``nit``, ``nfev`` (every
        point evaluated), ``njev`` (gradient estimates), ``success``, ``status``,
        ``message``, and ``history`` (a dict of arrays ``nit, fun, best, gnorm, nfev,
        step, lr``) with ``history=True``. Status codes: 0 gtol, 1 ftol, 2 xtol
        (success); 3 maxiter, 4 maxfev, 5 max_time, 6 non-finite values that could not
        be avoided, 7 no progress (no acceptable step; or, noisy, no fall of ``f`` beyond
        the noise), 8 the function raised or returned something unusable (the
        ``result`` of the ``FunctionError``), 99 callback raised StopIteration.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError
        Bad arguments, an unknown method or option, before any evaluation.
    pydantic.ValidationError
        An option with an invalid value (negative ``lr``, ``beta1`` outside [0, 1), ...).
    EvaluationError
        ``fun`` raised; the original is its ``__cause__`` and ``.result`` is the
        ``OptimizeResult`` at the best point seen.
    FunctionOutputError
        ``fun`` returned a non-scalar, a complex value or not a number; ``.result`` is
        the ``OptimizeResult`` at the best point seen (both errors are ``FunctionError``).

    Examples
    --------
    >>> import numpy as np
    >>> res = minimize(lambda x: np.sum((x - 1.0) ** 2), np.zeros(3), method="adam",
    ...                options={"maxiter": 500})
    >>> bool(np.allclose(res.x, 1.0, atol=1e-3)), res.success
    (True, True)
    """
    if isinstance(options, dict) and MULTISTART in options:
        return minimize_starts(
            fun,
            x0,
            args=args,
            method=method,
            jac=jac,
            bounds=bounds,
            callback=callback,
            options=options,
        )
    return solve(
        fun,
        x0,
        args=args,
        method=method,
        jac=jac,
        bounds=bounds,
        callback=callback,
        options=options,
    )
