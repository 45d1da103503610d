"""Several starts of one minimization: ``x0`` of shape ``(k, n)``, the best one returned.

Each start is a complete run of :func:`fdopt.scipy_compat.solve` on the same options
(``maxfev`` is per start). The result is the best start's, with every start's result in
``starts`` and the evaluations of all of them in ``nfev``.

A plain function: the starts run one after another. A vectorized function
(``vectorized=True``): the starts run together, each in its own thread, and their
batches — stencils, line-search trials — go to the function together, as few calls as
``batch_size`` allows (all of them on a GPU), through
:class:`fdopt._combined.CombinedCalls`. Each start's iterates are the ones it would have
alone, as long as the function's value at a point does not depend on the rest of the
batch. The function, the callback and a callable ``jac`` are called only in the caller's
thread, one call at a time.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scipy.optimize import OptimizeResult

from fdopt import _arguments
from fdopt._combined import CombinedCalls, Outcome
from fdopt._tensor import as_tensor
from fdopt.errors import ArgumentTypeError, ArgumentValueError, FunctionError
from fdopt.loop import parse_options
from fdopt.scipy_compat import solve

__all__ = ["MULTISTART", "minimize_starts"]

MULTISTART = "multistart"
"""The option that makes ``x0`` a ``(k, n)`` batch of starts."""

# Each start's own evaluator hands its whole batch over unchunked: the shared call
# chunks the points of all starts together (by the user's batch_size or the default).
_UNCHUNKED = sys.maxsize


def _rows(x0: Any) -> list[Any]:
    tensor, source = as_tensor(x0, name="x0")
    if tensor.ndim != 2 or tensor.shape[0] < 1:
        raise ArgumentValueError(
            f"x0 must have shape (k, n) with multistart=True; got shape {tuple(tensor.shape)}"
        )
    return [source.wrap(row.clone()) for row in tensor.unbind(0)]


def minimize_starts(
    fun: Callable[..., Any],
    x0: Any,
    *,
    args: Sequence[Any],
    method: str,
    jac: Any,
    bounds: Any,
    callback: Callable[..., Any] | None,
    options: Mapping[str, Any],
) -> OptimizeResult:
    """Minimize from every row of ``x0``; return the best start's result.

    Every start and the options are checked before the first evaluation. With
    ``vectorized=True`` the starts share the calls of ``fun`` (see the module's
    docstring). A callback's ``StopIteration`` ends the start whose iterate it was
    given (status 99); the other starts go on.

    Returns
    -------
    OptimizeResult
        The best start's fields (lowest ``fun``), with ``starts`` (every start's result,
        in order), ``best_start`` (its index), ``nfev``/``njev`` summed over starts and
        ``ncalls``, the calls of ``fun`` (a vectorized call of many points counts one).

    Raises
    ------
    FunctionError
        ``fun`` raised or returned something unusable; its ``result`` is this combined
        result, every start at the best point it saw (a start stopped by another's
        failure has status 8 too); with a plain function, the starts run so far, the
        last at its best point.
    """
    if not isinstance(options.get(MULTISTART), bool):
        raise ArgumentTypeError(f"multistart must be a bool; got {options.get(MULTISTART)!r}")
    rest = {key: value for key, value in options.items() if key != MULTISTART}
    parsed = parse_options(method, rest, jac)
    for option in ("checkpoint", "resume"):
        if getattr(parsed.output, option) is not None:
            raise ArgumentValueError(
                f"{option} holds one run; it cannot be combined with multistart=True"
            )
    rows = _rows(x0)
    for i, row in enumerate(rows):
        point, _, _ = _arguments.point(row, f"x0[{i}]")
        _arguments.box(bounds, point, f"x0[{i}]")
    run = functools.partial(
        solve, args=args, method=method, bounds=bounds, callback=callback, jac=jac
    )
    if not parsed.vectorized:
        results: list[OptimizeResult] = []
        for row in rows:
            try:
                results.append(run(fun, row, options=rest))
            except FunctionError as error:  # the starts so far, and this one's best point
                if isinstance(error.result, OptimizeResult):
                    done = [*results, error.result]
                    error.result = _combine(done, ncalls=sum(int(r.nfev) for r in done))
                raise
        return _combine(results, ncalls=sum(int(r.nfev) for r in results))
    calls = CombinedCalls(fun, len(rows), batch_size=parsed.batch_size, label="start")
    unchunked = {**rest, "batch_size": _UNCHUNKED}
    tasks = [
        functools.partial(
            run,
            calls.proxy(i),
            row,
            jac=calls.serial(i, jac) if callable(jac) else jac,
            callback=None if callback is None else calls.serial(i, callback),
            options=unchunked,
        )
        for i, row in enumerate(rows)
    ]
    outcomes = calls.run(tasks)
    if calls.output_error is not None:  # fun's output could not be split: as alone
        raise calls.output_error
    _raise_first_error(outcomes, calls.ncalls)
    return _combine([outcome.value for outcome in outcomes], ncalls=calls.ncalls)


def _raise_first_error(outcomes: list[Outcome[OptimizeResult]], ncalls: int) -> None:
    """Raise the first start's error that was not a cancellation, if any.

    A ``FunctionError`` leaves with ``result`` set to the combined result of every
    start (at its best point), when every start has one.
    """
    errors = [o.error for o in outcomes if o.error is not None and not o.cancelled]
    if not errors:
        return
    error = errors[0]
    if isinstance(error, FunctionError):
        results = []
        for outcome in outcomes:
            result = outcome.value
            if isinstance(outcome.error, FunctionError):
                result = outcome.error.result
            results.append(result)
        if all(isinstance(result, OptimizeResult) for result in results):
            error.result = _combine(results, ncalls=ncalls)
    raise error


def _combine(results: Sequence[Any], *, ncalls: int) -> OptimizeResult:
    """Return the best start's result with every start's attached."""

    def key(i: int) -> float:
        value = float(results[i].fun)
        return value if math.isfinite(value) else math.inf

    best = min(range(len(results)), key=key)
    combined = OptimizeResult(dict(results[best]))
    combined.starts = list(results)
    combined.best_start = best
    combined.nfev = sum(int(r.nfev) for r in results)
    combined.njev = sum(int(r.njev) for r in results)
    combined.ncalls = ncalls
    return combined
