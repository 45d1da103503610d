"""Several starts of one minimization: ``x0`` of shape ``(k, n)``, the best one returned.

Each start is a complete run of :func:`fdopt.scipy_compat.solve`, one after another, on
the same options (``maxfev`` is per start). The result is the best start's, with every
start's result in ``starts`` and the evaluations of all of them in ``nfev``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scipy.optimize import OptimizeResult

from fdopt import _arguments
from fdopt._tensor import as_tensor
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.loop import parse_options
from fdopt.scipy_compat import solve

__all__ = ["MULTISTART", "minimize_starts"]

MULTISTART = "multistart"
"""The option that makes ``x0`` a ``(k, n)`` batch of starts."""


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

    Every start and the options are checked before the first evaluation.

    Returns
    -------
    OptimizeResult
        The best start's fields (lowest ``fun``), with ``starts`` (every start's result,
        in order), ``best_start`` (its index), and ``nfev``/``njev`` summed over starts.
    """
    if not isinstance(options.get(MULTISTART), bool):
        raise ArgumentTypeError(f"multistart must be a bool; got {options.get(MULTISTART)!r}")
    rest = {key: value for key, value in options.items() if key != MULTISTART}
    parse_options(method, rest, jac)
    rows = _rows(x0)
    for i, row in enumerate(rows):
        point, _, _ = _arguments.point(row, f"x0[{i}]")
        _arguments.box(bounds, point, f"x0[{i}]")
    results = [
        solve(
            fun,
            row,
            args=args,
            method=method,
            jac=jac,
            bounds=bounds,
            callback=callback,
            options=rest,
        )
        for row in rows
    ]

    def key(i: int) -> float:
        value = float(results[i].fun)
        return value if math.isfinite(value) else math.inf

    best = min(range(len(results)), key=key)
    combined = OptimizeResult(dict(results[best]))
    combined.starts = results
    combined.best_start = best
    combined.nfev = sum(int(r.nfev) for r in results)
    combined.njev = sum(int(r.njev) for r in results)
    return combined
