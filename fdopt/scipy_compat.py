"""Bridges to ``scipy.optimize``: results, callbacks, ``method=`` and ``jac=``.

- :func:`solve` runs fdopt's loop and returns a ``scipy.optimize.OptimizeResult``;
  :func:`fdopt.minimize` and :func:`method` are both built on it.
- :func:`method` makes a callable for ``scipy.optimize.minimize(method=...)``.
- :class:`Gradient` is a callable for ``jac=`` that estimates gradients by finite
  differences (and can share ``f(x)`` with the objective through :meth:`Gradient.fun`).

What scipy (checked on 1.17) hands a callable method: ``x0`` flattened to 1-D (float32
kept), a string ``jac`` ("2-point", ...) replaced by None, ``tol`` inside the options,
the bounds as the user gave them (a list or a ``Bounds``), and the user's callback
unwrapped, so its signature (``intermediate_result`` or ``xk``) is detected here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from scipy.optimize import OptimizeResult

from fdopt import _arguments
from fdopt._estimate import resolve, run_estimator
from fdopt._tensor import data_bytes
from fdopt.errors import ArgumentTypeError, ArgumentValueError, FunctionError
from fdopt.evaluation import Evaluator, Workers
from fdopt.loop import Run, Status, optimize, parse_options

__all__ = ["SCIPY_CALLBACK_MESSAGE", "Gradient", "method", "observer", "solve", "to_result"]

SCIPY_CALLBACK_MESSAGE = "`callback` raised `StopIteration`."
"""The message of a run ended by the callback's ``StopIteration``: scipy's (1.17) words."""


def _wrap(run: Run, value: torch.Tensor | None) -> Any:
    if value is None:
        return None
    return run.source.wrap(value.detach().clone().reshape(run.shape))


def _fun(run: Run) -> float:
    """``f`` at the iterate, or the best value seen when the iterate's is unknown (SPSA)."""
    return run.fun if run.fun is not None else run.best_fun


def to_result(run: Run) -> OptimizeResult:
    """Build the ``OptimizeResult`` of a run's record.

    ``x``/``fun`` are the best point seen (or the last iterate with
    ``return_best=False``); ``x_best``, ``fun_best``, ``x_last`` and ``fun_last`` hold
    both (``fun_last`` is NaN where the iterate was never evaluated); ``jac`` is the
    last gradient estimate, at ``x_last``; ``status`` is a :class:`fdopt.loop.Status`
    code and ``success`` is true for the convergence tests.
    """
    fun_last = float("nan") if run.fun is None else run.fun
    best = run.return_best and run.best_x is not None
    x = run.best_x if best else run.x
    status = run.status
    # scipy's own words for a callback's StopIteration, so that both read the same
    message = SCIPY_CALLBACK_MESSAGE if status == Status.CALLBACK else run.message
    result = OptimizeResult(
        x=_wrap(run, x),
        fun=run.best_fun if best else fun_last,
        jac=_wrap(run, run.jac),
        nit=run.nit,
        nfev=run.nfev,
        njev=run.njev,
        status=-1 if status is None else int(status),
        success=bool(status is not None and status.success),
        message=message,
        x_best=_wrap(run, run.best_x),
        fun_best=run.best_fun,
        x_last=_wrap(run, run.x),
        fun_last=fun_last,
    )
    if run.history is not None:
        result.history = {name: np.asarray(values) for name, values in run.history.items()}
    return result


def observer(callback: Callable[..., Any] | None) -> Callable[[Run], bool]:
    """Turn a scipy-style callback into the loop's observer.

    A callback whose only parameter is named ``intermediate_result`` receives an
    ``OptimizeResult`` (``x``, ``fun``, ``jac``, ``nit``, ``nfev``); any other gets the
    iterate ``xk`` (scipy's rule). Raising ``StopIteration`` ends the run (status 99),
    as in scipy.
    """
    if callback is None:
        return lambda run: False
    if not callable(callback):
        raise ArgumentTypeError(f"callback must be callable; got {type(callback).__name__}")
    try:
        parameters = inspect.signature(callback).parameters
    except (TypeError, ValueError):  # builtins without a signature get xk
        parameters = {}  # type: ignore[assignment]
    rich = set(parameters) == {"intermediate_result"}  # scipy's test (_wrap_callback)

    def observe(run: Run) -> bool:
        try:
            if rich:
                callback(
                    intermediate_result=OptimizeResult(
                        x=_wrap(run, run.x),
                        fun=_fun(run),
                        jac=_wrap(run, run.jac),
                        nit=run.nit,
                        nfev=run.nfev,
                    )
                )
            else:
                callback(_wrap(run, run.x))
        except StopIteration:
            return True
        return False

    return observe


def solve(
    fun: Callable[..., Any],
    x0: Any,
    *,
    args: Sequence[Any] = (),
    method: str = "adam",
    jac: Any = None,
    bounds: Any = None,
    callback: Callable[..., Any] | None = None,
    options: Any = None,
) -> OptimizeResult:
    """Run :func:`fdopt.loop.optimize` and return its ``OptimizeResult``.

    A :class:`~fdopt.errors.FunctionError` (the function raised, or returned something
    unusable) leaves with ``.result`` set to the ``OptimizeResult`` at the best point
    seen.
    """
    observe = observer(callback)
    try:
        run = optimize(
            fun,
            x0,
            args=args,
            method=method,
            jac=jac,
            bounds=bounds,
            options=options,
            observe=observe,
        )
    except FunctionError as error:
        if isinstance(error.result, Run):
            error.result = to_result(error.result)
        raise
    result = to_result(run)
    disp = options.get("disp", False) if isinstance(options, dict) else False
    if disp:
        print(f"fdopt: {result.message} (nit={result.nit}, nfev={result.nfev})")
    return result


def method(name: str = "adam", **defaults: Any) -> Callable[..., OptimizeResult]:
    """Return a callable for ``scipy.optimize.minimize(method=...)`` running fdopt's ``name``.

    Parameters
    ----------
    name : str, default "adam"
        The update rule ("gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad",
        "spsa").
    **defaults
        Options used unless scipy's ``options`` sets them.

    Returns
    -------
    callable
        ``method(fun, x0, args, jac, hess, hessp, bounds, constraints, callback,
        **options)``, as scipy calls it. ``tol`` sets ``gtol`` and ``ftol``; ``hess``,
        ``hessp`` and constraints are refused (clear error); a ``jac`` callable is used
        as the gradient, else gradients are estimated.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> res = minimize(lambda x: np.sum((x - 1) ** 2), np.zeros(2),
    ...                method=method("gd"), options={"maxiter": 200})
    >>> res.success, np.allclose(res.x, 1, atol=1e-4)
    (True, True)
    """
    parse_options(name, defaults, None)  # fail now, not inside scipy

    def fdopt_method(
        fun: Callable[..., Any],
        x0: Any,
        args: Sequence[Any] = (),
        jac: Any = None,
        hess: Any = None,
        hessp: Any = None,
        bounds: Any = None,
        constraints: Any = (),
        callback: Callable[..., Any] | None = None,
        **options: Any,
    ) -> OptimizeResult:
        if hess is not None or hessp is not None:
            raise ArgumentValueError(
                f"fdopt's {name!r} is a first-order method: it cannot use hess or hessp"
            )
        if constraints:
            raise ArgumentValueError(
                f"fdopt's {name!r} handles bounds, not constraints; got {constraints!r}"
            )
        merged = {**defaults, **options}
        tol = merged.pop("tol", None)
        if tol is not None:
            merged.setdefault("gtol", tol)
            merged.setdefault("ftol", tol)
        return solve(
            fun,
            x0,
            args=args,
            method=name,
            jac=jac if callable(jac) else None,
            bounds=bounds,
            callback=callback,
            options=merged,
        )

    fdopt_method.__name__ = f"fdopt_{name}"
    fdopt_method.__qualname__ = fdopt_method.__name__
    return fdopt_method


_PLAIN = (bool, int, float, complex, str, bytes, type(None))
"""Argument types compared by value (others by identity) when reusing a cached ``f``."""


_Key = tuple[Any, bytes]
"""What :class:`Gradient` recognizes a point by: its dtype and its bytes."""


class Gradient:
    """A finite-difference gradient for ``jac=``: ``Gradient(fun)(x, *args) -> g``.

    Parameters
    ----------
    fun : callable
        The objective ``fun(x, *args) -> float`` (vectorized: ``(k, n) -> (k,)``).
    method : str, default "central"
        Any estimator of :func:`fdopt.grad`.
    step, args, bounds, vectorized, workers, batch_size, **settings
        As in :func:`fdopt.grad`; ``args`` given by the caller (scipy passes its own)
        replace these.

    Attributes
    ----------
    nfev : int
        Evaluations of ``fun`` made by this object (gradients and :meth:`fun`).
    ngev : int
        Gradients estimated.

    Notes
    -----
    Methods that use ``f(x)`` (forward, backward) take it from :meth:`fun` when that
    was called at the same ``x``, and :meth:`fun` returns the value a gradient just
    computed: pass ``fun=g.fun, jac=g`` to scipy so that ``f(x)`` is evaluated once.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> rosen = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    >>> g = Gradient(rosen, method="forward")
    >>> res = minimize(g.fun, np.array([-1.2, 1.0]), jac=g, method="L-BFGS-B")
    >>> res.success, np.allclose(res.x, 1, atol=1e-3)
    (True, True)
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        method: str = "central",
        *,
        step: float | str | None = None,
        args: Sequence[Any] = (),
        bounds: Any = None,
        vectorized: bool = False,
        workers: Workers = None,
        batch_size: int | None = None,
        **settings: Any,
    ) -> None:
        if not callable(fun):
            raise ArgumentTypeError(f"fun must be callable; got {type(fun).__name__}")
        if not isinstance(vectorized, bool):
            raise ArgumentTypeError(f"vectorized must be a bool; got {vectorized!r}")
        self._fun = fun
        self.method = method
        self.args = tuple(args)
        self._options: dict[str, Any] = {
            "method": method,
            "step": step,
            "bounds": bounds,
            "vectorized": vectorized,
            "workers": workers,
            "batch_size": batch_size,
            "maxfev": None,
            "settings": settings,
        }
        resolve(method, step, settings)  # a bad method or setting fails here, not in scipy
        self.nfev = 0
        self.ngev = 0
        self._cached: tuple[_Key, tuple[Any, ...], float] | None = None

    @staticmethod
    def _key(x: Any) -> _Key:
        """Return the point's dtype and bytes: equal for the same values only."""
        values = x if isinstance(x, torch.Tensor) else np.asarray(x)
        return values.dtype, data_bytes(values)

    def _args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return args if args else self.args

    def _lookup(self, key: _Key, args: tuple[Any, ...]) -> float | None:
        """Return ``f`` cached at this point for these ``args``, or None."""
        if self._cached is None or self._cached[0] != key:
            return None
        cached = self._cached[1]
        same = len(cached) == len(args) and all(
            a is b or (type(a) is type(b) and isinstance(a, _PLAIN) and a == b)
            for a, b in zip(cached, args, strict=True)
        )
        return self._cached[2] if same else None

    def fun(self, x: Any, *args: Any) -> float:
        """Evaluate the objective at ``x``, reusing a value a gradient just computed."""
        key, args = self._key(x), self._args(args)
        cached = self._lookup(key, args)
        if cached is not None:
            return cached
        point, source, shape = _arguments.point(x)
        with Evaluator(
            self._fun,
            source=source,
            args=args,
            vectorized=self._options["vectorized"],
            nonfinite="keep",
            point_shape=shape,
        ) as evaluator:
            values = evaluator(point[None])
            evaluator.require_real_scalars("Gradient.fun", values, x=x)
            value = float(values[0, 0])
        self.nfev += 1
        self._cached = (key, args, value)
        return value

    def __call__(self, x: Any, *args: Any) -> Any:
        """Estimate the gradient at ``x`` (of the kind and shape of ``x``)."""
        key, args = self._key(x), self._args(args)
        f0 = self._lookup(key, args)
        options = dict(self._options)
        estimate, source, shape = run_estimator(
            self._fun, x, args=args, f0=f0, scalar_for="Gradient", **options
        )
        self.nfev += estimate.nfev
        self.ngev += 1
        if estimate.f0 is not None and f0 is None:
            self._cached = (key, args, float(estimate.f0[0]))
        return source.wrap(estimate.value[0].reshape(shape))
