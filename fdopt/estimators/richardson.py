"""Richardson extrapolation of finite differences over a geometric sequence of steps."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import numpy as np
import torch

from fdopt._tensor import Array, matmul
from fdopt.estimators._base import (
    Bounds,
    Estimate,
    Evaluate,
    block_elements,
    machine_eps,
    magnitude,
    on_arrays,
    on_tensors,
)
from fdopt.estimators._box import clip
from fdopt.estimators.stencil import evaluation_route, fit_steps
from fdopt.settings import RichardsonSettings
from fdopt.stencils import weights

__all__ = ["default_richardson_step", "richardson"]

Axis = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
""":meth:`fdopt.evaluation.Evaluator.axis`: ``(x, cols, moved) -> values``."""

# Base differences, as (offsets, weights) for the first derivative, in units of the step:
# central (f(x+h) - f(x-h)) / 2h, whose error expands in h^2, h^4, h^6, ..., and, near a
# bound, the one-sided second-order (-3 f(x) + 4 f(x+h) - f(x+2h)) / 2h (or its mirror),
# whose error expands in h^2, h^3, h^4, ... The zero offset carries f(x).
_CENTRAL = (0, -1, 1)
_FORWARD = (0, 1, 2)
_BASES = [_CENTRAL[1:], _FORWARD[1:], (-1, -2)]
"""Preference list for :func:`fit_steps`: central, else forward, else backward."""


@cache
def default_richardson_step(dtype: torch.dtype | np.dtype[Any], levels: int, ratio: float) -> float:
    """Default largest relative step of :func:`richardson`.

    The extrapolant over ``levels`` central differences has truncation error
    ``O(h^(2 levels))`` and rounding error ``O(eps / h)``: they balance near
    ``h ~ eps^(1 / (2 levels + 1))``. The sequence starts ``ratio^levels`` times above
    that, so its first batch reaches down to about that step, and refinement continues
    the sequence downward where truncation still dominates. Capped at 1/2 (relative to
    ``max(1, |x_i|)``). For float64 and the default settings, 0.29.
    """
    return min(0.5, float(machine_eps(dtype) ** (1.0 / (2 * levels + 1)) * ratio**levels))


def richardson(
    evaluate: Evaluate,
    x: Array,
    settings: RichardsonSettings,
    *,
    bounds: Bounds | None = None,
    f0: Array | None = None,
) -> Estimate[Array]:
    r"""Jacobian by Richardson extrapolation of differences over a sequence of steps.

    Central differences :math:`D(h) = (f(x + h e_i) - f(x - h e_i)) / 2h` are taken
    at the steps :math:`h_j = h / r^j`, ``j = 0, ..., levels - 1``, all in one batch.
    Their error expands in even powers, :math:`D(h) = f' + a_1 h^2 + a_2 h^4 + \dots`,
    which the Neville-style tableau eliminates one power at a time:

    .. math::

        T_{j,0} = D(h_j), \qquad
        T_{j,k} = T_{j,k-1} + \frac{T_{j,k-1} - T_{j-1,k-1}}{r^{p_k} - 1},
        \qquad p_k = 2k.

    Each extrapolant :math:`T_{j,k}` (``k >= 1``) gets an error estimate: the largest
    of its distances to the two values it was built from (as in Ridders' method) and to
    :math:`T_{j-1,k}` (the same order one step larger: neighbours must agree, as in
    DERIVEST), plus the rounding error the tableau propagates from
    :math:`\epsilon |f| / h_j` in each difference. Each difference :math:`T_{j,0}`
    between two others competes too, its estimate its larger distance to them plus its
    rounding error: it wins where extrapolating only adds rounding (a narrow box holds
    the steps far below the balanced one). Per entry of the Jacobian, the candidate
    with the smallest error estimate is returned, with that estimate as
    ``Estimate.error``. Coordinates whose best estimate is still dominated by
    truncation (over 100 times its rounding error) get ``levels`` more steps continuing
    the sequence downward, in one more batch, and the tableau grows; twice at most.

    Near a bound (when ``x_i +- h`` would leave the box), coordinate ``i`` uses the
    one-sided second-order difference :math:`(-3 f(x) + 4 f(x + h e_i) - f(x + 2 h
    e_i)) / 2h` (or its backward mirror) at the same steps instead, whose error expands
    in :math:`h^2, h^3, h^4, \dots` (:math:`p_k = k + 1`); if even that does not fit,
    the steps shrink until it does. No point leaves the box.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` point, floating dtype.
    settings : RichardsonSettings
        ``step`` (largest step relative to ``max(1, |x_i|)``, default
        :func:`default_richardson_step`), ``ratio`` r and ``levels``.
    bounds : Bounds, optional
        Box the points must stay in.
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, reused by one-sided differences when given.

    Returns
    -------
    Estimate
        ``value`` and ``error``: ``(m, n)``; ``nfev``: ``2 n levels`` for the first
        batch, ``2 levels`` more per refined coordinate and round, plus one for
        ``f(x)`` when a coordinate is one-sided and ``f0`` was not given; ``step``: the
        ``(n,)`` largest steps; ``f0``: ``(m,)`` values at ``x`` when known.

    References
    ----------
    L. F. Richardson, "The approximate arithmetical solution by finite differences of
    physical problems involving differential equations", Phil. Trans. R. Soc. A 210
    (1911), 307-357.
    C. J. F. Ridders, "Accurate computation of F'(x) and F'(x) F'''(x)", Advances in
    Engineering Software 4 (1982), 75-76.
    J. D'Errico, "DERIVEST", MATLAB Central File Exchange 13490 (2006): the scheme
    behind numdifftools.
    B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced grids",
    Mathematics of Computation 51 (1988), 699-706.

    Examples
    --------
    >>> x = torch.tensor([0.5, 2.0], dtype=torch.float64)
    >>> evaluate = lambda X: torch.sin(X).prod(dim=1, keepdim=True)
    >>> est = richardson(evaluate, x, RichardsonSettings())
    >>> exact = torch.stack([torch.cos(x[0]) * torch.sin(x[1]), torch.sin(x[0]) * torch.cos(x[1])])
    >>> bool(((est.value[0] - exact).abs() < 1e-13).all()), est.nfev
    (True, 32)
    """
    levels, ratio = settings.levels, settings.ratio
    base = settings.step
    if base is None:
        base = default_richardson_step(x.dtype, levels, ratio)
    # An evaluator that makes each point itself (a plain function of many variables)
    # gets the coordinate each point moves, with tensors. Else one that takes numpy
    # arrays gets them, without torch operations, if no bounds: the same steps, in numpy
    # (a torch operation costs microseconds). The estimate is of the kind of x.
    lazy, array = evaluation_route(evaluate, x, 2 * levels * x.shape[0], bounds is None)
    axis = getattr(evaluate, "axis", None) if lazy else None

    def run(call: Callable[[Any], Any], at: Any, box: Bounds | None, known: Any) -> Estimate[Any]:
        value, error, f, h, nfev = _richardson(call, at, base, levels, ratio, box, known, axis)
        return Estimate(value=value, nfev=nfev, error=error, f0=f, step=h)

    def in_torch(t: torch.Tensor, t0: torch.Tensor | None) -> Estimate:
        return run(evaluate, t, bounds, t0)

    if array is None:
        return in_torch(x, f0) if isinstance(x, torch.Tensor) else on_tensors(in_torch, x, f0)

    def in_numpy(h: np.ndarray[Any, Any], h0: np.ndarray[Any, Any] | None) -> Estimate[Any]:
        return run(array, h, None, h0)

    if isinstance(x, np.ndarray):
        return in_numpy(x, f0)
    estimate = on_arrays(in_numpy, x, f0)
    return in_torch(x, f0) if estimate is None else estimate


def _richardson(
    evaluate: Callable[[Any], Any],
    x: Any,
    base: float,
    levels: int,
    ratio: float,
    bounds: Bounds | None,
    f0: Any,
    axis: Axis | None,
) -> tuple[Any, Any, Any, Any, int]:
    """:func:`richardson` on tensors or (without bounds) numpy arrays: ``x``, ``f0``.

    ``axis``: the evaluator's :meth:`~fdopt.evaluation.Evaluator.axis`, where it makes
    the points itself (tensors). Returns the value, its error estimate, ``f0`` (when
    known), the largest steps and the number of points evaluated.
    """
    kind, h = fit_steps(x, base * magnitude(x), bounds, _BASES)
    one_sided = None if kind is None else kind != 0  # None: central everywhere
    offsets, weight = _base_difference(kind, x)
    powers = ratio ** _arange(0, _ROUNDS * levels, x, real=True)[:, None]
    differences, rounding, f0, nfev = _differences(
        evaluate, bounds, x, None, h / powers[:levels], offsets, weight, f0, axis
    )
    value, error, refine = _extrapolate(differences, rounding, ratio, one_sided, levels)
    coords = _arange(0, x.shape[0], x)
    for round_ in range(1, _ROUNDS):
        if not bool(refine.any()):
            break
        coords = coords[refine]
        new, new_rounding, f0, cost = _differences(
            evaluate,
            bounds,
            x,
            coords,
            h[coords] / powers[round_ * levels : (round_ + 1) * levels],
            offsets[:, coords],
            weight[:, coords],
            f0,
            axis,
        )
        nfev += cost
        differences = _cat([differences[:, :, refine], new], 0)
        rounding = _cat([rounding[:, :, refine], new_rounding], 0)
        best, best_error, refine = _extrapolate(
            differences, rounding, ratio, None if one_sided is None else one_sided[coords], levels
        )
        value[:, coords], error[:, coords] = best, best_error
    return value, error, f0, h, nfev


_ROUNDS = 3
"""Most batches of ``levels`` steps per coordinate (the first, then refinements)."""

_TRUNCATION = 100.0
"""A coordinate is refined when its best error estimate exceeds this many times the
rounding error it carries: truncation dominates, smaller steps promise better."""


@cache
def _offsets_and_weights(offsets: tuple[int, ...]) -> np.ndarray:
    """Return ``(2, 3, 1)``: the offsets and first-derivative weights of a base difference."""
    return np.array([offsets, weights(1, offsets)], dtype=np.float64)[..., None]


def _base_difference(kind: torch.Tensor | None, like: Array) -> tuple[Array, Array]:
    """Offsets and weights ``(3, n)``, in steps, of each coordinate's base difference.

    ``kind`` indexes ``_BASES``: 0 central, 1 forward, 2 backward (forward mirrored);
    None: central everywhere (numpy arrays: always).
    """
    table = _offsets_and_weights(_CENTRAL)
    if isinstance(like, np.ndarray):
        central = np.broadcast_to(table.astype(like.dtype), (2, 3, like.shape[0]))
        return central[0], central[1]
    tensor = torch.from_numpy(table).to(like)
    if kind is None or not bool(kind.any()):  # no bound in the way: central everywhere
        expanded = tensor.expand(2, 3, like.shape[0])
        return expanded[0], expanded[1]
    forward = torch.from_numpy(_offsets_and_weights(_FORWARD)).to(like)
    both = torch.where(kind != 0, forward, tensor)  # (2, 3, n)
    sign = torch.where(kind == 2, -1.0, 1.0).to(like)
    return both[0] * sign, both[1] * sign


def _arange(start: int, stop: int, like: Array, *, real: bool = False) -> Array:
    """``start .. stop - 1`` of the kind of ``like`` (on its device): its dtype, or indices."""
    if isinstance(like, np.ndarray):
        return np.arange(start, stop, dtype=like.dtype if real else np.intp)
    return torch.arange(start, stop, dtype=like.dtype if real else torch.long, device=like.device)


def _cat(parts: list[Array], axis: int) -> Array:
    """Concatenate tensors or arrays along ``axis``."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis)
    return torch.cat(parts, axis)


def _differences(
    evaluate: Callable[[Any], Any],
    bounds: Bounds | None,
    x: Any,
    coords: Any,
    steps: Any,
    offsets: Any,
    weight: Any,
    f0: Any,
    axis: Axis | None,
) -> tuple[Any, Any, Any, int]:
    """Take the base differences along ``coords`` at ``steps`` (levels, c), within ``bounds``.

    ``coords`` None: every coordinate, in order. Returns the differences and their
    rounding errors, ``(levels, m, c)``, ``f0`` (evaluated here first when a one-sided
    difference needs it and it is not known) and the number of points evaluated.
    Tensors, or numpy arrays without bounds; with ``axis`` (tensors), the evaluator
    makes each point from the coordinate it moves and its value.
    """
    levels, c = steps.shape
    n = x.shape[0]
    need_f0 = f0 is None and bool(weight[0].any())
    block = max(1, block_elements(x, made=axis is not None) // (levels * 2 * n))  # coordinates
    parts, nfev = [], 0
    for lo in range(0, c, block):
        hi = min(lo + block, c)
        moves = (steps[:, None, lo:hi] * offsets[1:, lo:hi][None]).reshape(levels * 2, hi - lo)
        first = int(need_f0 and lo == 0)
        rows = levels * 2 * (hi - lo) + first  # f(x) first, where needed
        cols = _arange(lo, hi, x) if coords is None else coords[lo:hi]
        if axis is not None:  # point (level and side, i) moves coordinate cols[i]
            where = cols.expand(levels * 2, hi - lo)
            moved = x[where] + moves
            if bounds is not None:
                lower, upper = bounds.lower[where], bounds.upper[where]
                moved = torch.minimum(torch.maximum(moved, lower), upper)
            where, moved = where.reshape(-1), moved.reshape(-1)
            if first:
                where, moved = torch.cat([where.new_tensor([-1]), where]), torch.cat([x[:1], moved])
            values = axis(x, where, moved)
        else:
            points: Any
            if isinstance(x, np.ndarray):
                points = np.empty((rows, n), dtype=x.dtype)
                points[:] = x
            else:
                points = x.expand(rows, n).clone()
            # (level and side, coordinate, n): coordinate i of the batch moves in column i
            grid = points[first:].reshape(levels * 2, hi - lo, n)
            grid[:, _arange(0, hi - lo, x), cols] += moves
            values = evaluate(points if bounds is None else clip(points, bounds))
        nfev += rows
        if first:
            f0, values = values[0], values[1:]
        parts.append(values.reshape(levels, 2, hi - lo, -1))
    values = (parts[0] if len(parts) == 1 else _cat(parts, 2)).swapaxes(2, 3)
    differences = weight[1] * values[:, 0] + weight[2] * values[:, 1]  # (levels, m, c)
    scale = _maximum(abs(values[:, 0]), abs(values[:, 1]))
    if f0 is not None:  # (no f0: every difference is central, f(x) weighs 0)
        differences += weight[0] * f0[:, None]
        scale = _maximum(scale, abs(f0)[:, None])
    differences /= steps[:, None, :]
    rounding = machine_eps(x.dtype) * abs(weight).sum(0) * scale / steps[:, None, :]
    return differences, rounding, f0, nfev


def _maximum(a: Array, b: Array) -> Array:
    """Elementwise maximum of two tensors or two arrays."""
    if isinstance(a, np.ndarray):
        larger: np.ndarray[Any, Any] = np.maximum(a, b)
        return larger
    return torch.maximum(a, b)


def _tableau(rows: int, levels: int, ratio: float, one_sided: bool) -> tuple[np.ndarray, ...]:
    """Return the Richardson tableau over ``rows`` differences, as matrices acting on them.

    Every extrapolant ``T_{j,k}`` (``k = 1 .. min(levels, rows) - 1``, column by column,
    ``j`` ascending within a column) is a fixed linear combination of the differences
    ``D(h_0) .. D(h_{rows-1})``, and so are its distances to the two values it was built
    from and to its predecessor of the same order; its rounding error, a combination
    of theirs with the factors' absolute values. Entry 0 is the fallback,
    ``D(h_{rows-1})`` with an infinite error: chosen only when no estimate is finite.
    The differences ``D(h_1) .. D(h_{rows-2})`` follow, each with its distances to its
    two neighbours (in a box 1e-9 wide, n = 6: an error of 1.4e-4 from the extrapolants
    alone, 3.2e-5 with them), then the extrapolants.
    Returns ``(4E, rows)`` rows: the entries' values, then their three distances; the
    ``(E, rows)`` rounding combination; and ``(E,)`` additions to the error: infinity
    for the fallback and for the first of a column of several, which has no predecessor
    (it competes only when alone), else 0.
    """
    column = round_off = np.eye(rows)
    fallback, nothing = np.eye(rows)[-1:], np.zeros((1, rows))
    parts = [[fallback], [nothing], [nothing], [nothing], [nothing]]
    extra = [np.inf]
    # The differences themselves, between two neighbours: they win where extrapolation
    # only adds rounding (steps that a narrow box holds far below the balanced step).
    inner = column[1:-1]
    for part, rows_0 in zip(
        parts,
        (inner, inner - column[:-2], inner - column[2:], np.zeros_like(inner), inner),
        strict=True,
    ):
        part.append(rows_0)
    extra += [0.0] * len(inner)
    for k in range(1, min(levels, rows)):
        factor = 1.0 / (ratio ** ((k + 1.0) if one_sided else 2.0 * k) - 1.0)
        previous, previous_round = column, round_off
        column = previous[1:] + (previous[1:] - previous[:-1]) * factor
        round_off = previous_round[1:] * (1.0 + factor) + previous_round[:-1] * factor
        same_order = np.zeros_like(column)
        same_order[1:] = column[1:] - column[:-1]
        for part, rows_k in zip(
            parts,
            (column, column - previous[1:], column - previous[:-1], same_order, round_off),
            strict=True,
        ):
            part.append(rows_k)
        extra += [np.inf if len(column) > 1 else 0.0] + [0.0] * (len(column) - 1)
    combine = np.concatenate([np.concatenate(part) for part in parts[:4]])
    return combine, np.concatenate(parts[4]), np.array(extra)


@lru_cache(maxsize=64)
def _tableau_tensors(
    rows: int, levels: int, ratio: float, one_sided: bool, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Return :func:`_tableau` as tensors of ``dtype`` on ``device``."""
    tables = _tableau(rows, levels, ratio, one_sided)
    return tuple(torch.from_numpy(table).to(dtype=dtype, device=device) for table in tables)


@lru_cache(maxsize=64)
def _tableau_arrays(
    rows: int, levels: int, ratio: float, one_sided: bool, dtype: np.dtype
) -> tuple[np.ndarray, ...]:
    """Return :func:`_tableau` as numpy arrays of ``dtype``."""
    return tuple(table.astype(dtype) for table in _tableau(rows, levels, ratio, one_sided))


def _tables(
    rows: int, levels: int, ratio: float, one_sided: bool, like: Array
) -> tuple[Array, ...]:
    """Return :func:`_tableau` of the kind, dtype and device of ``like``."""
    if isinstance(like, np.ndarray):
        return _tableau_arrays(rows, levels, ratio, one_sided, like.dtype)
    return _tableau_tensors(rows, levels, ratio, one_sided, like.dtype, like.device)


def _extrapolate(
    differences: Any,
    rounding: Any,
    ratio: float,
    one_sided: Any,
    levels: int,
) -> tuple[Any, Any, Any]:
    """Richardson tableau over the first axis; the best extrapolant per entry and its error.

    ``differences`` and ``rounding`` are ``(rows, m, c)``; ``one_sided`` ``(c,)``
    selects the error expansion ``h^2, h^3, ...`` over ``h^2, h^4, ...`` (None: all
    central). Extrapolants combine at most ``levels`` consecutive rows. Each one's error
    estimate is the largest of its three distances (see :func:`_tableau`) plus its
    rounding error; per entry, the extrapolant with the smallest estimate wins (the
    first, in column order, among equals; ``differences[-1]`` when none is finite).
    Also returns ``(c,)`` flags: the coordinates whose best error estimate is dominated
    by truncation, not rounding, where smaller steps promise better.
    """
    rows, m, c = differences.shape
    flat, flat_rounding = differences.reshape(rows, -1), rounding.reshape(rows, -1)
    some = one_sided is not None and bool(one_sided.any())
    kinds = (some,) if not some or bool(one_sided.all()) else (False, True)
    results = [_best_extrapolant(flat, flat_rounding, levels, ratio, kind) for kind in kinds]
    if len(results) == 1:
        value, best, best_rounding = (r.reshape(m, c) for r in results[0])
    else:  # both kinds (bounds, tensors): each coordinate takes its own
        mask = one_sided.expand(m, c).reshape(-1)
        value, best, best_rounding = (
            torch.where(mask, one, two).reshape(m, c) for two, one in zip(*results, strict=True)
        )
    refine = (best > _TRUNCATION * best_rounding).any(0)
    return value, best, refine


def _best_extrapolant(
    flat: Any, flat_rounding: Any, levels: int, ratio: float, one_sided: bool
) -> tuple[Any, Any, Any]:
    """Return each column's best extrapolant of ``flat`` ``(rows, k)``: value, error, rounding.

    Tensors, or numpy arrays.
    """
    rows = flat.shape[0]
    combine = _tables(rows, levels, ratio, one_sided, flat)[0]
    # Errors are real, even for a complex function's values.
    _, round_off, extra = _tables(rows, levels, ratio, one_sided, flat_rounding)
    mixed = matmul(combine, flat).reshape(4, extra.shape[0], -1)
    rounded = matmul(round_off, flat_rounding)
    spread = abs(mixed[1:])
    error = (spread.max(0) if isinstance(spread, np.ndarray) else spread.amax(0)) + extra[:, None]
    error += rounded
    if isinstance(error, np.ndarray):  # NaN: never chosen
        error = np.nan_to_num(error, nan=np.inf, posinf=np.inf)
        index = error.argmin(0)[None]
        where: Callable[..., Any] = np.where

        def pick(table: Any) -> Any:
            return np.take_along_axis(table, index, 0)[0]
    else:
        error = error.nan_to_num_(nan=torch.inf, posinf=torch.inf)
        index = error.argmin(dim=0, keepdim=True)  # (min(dim=) is slow on CPU)
        where = torch.where

        def pick(table: Any) -> Any:
            return table.gather(0, index)[0]

    # The fallback by itself: its zero weights on a NaN difference still make NaN.
    chosen = index[0] != 0
    return (
        where(chosen, pick(mixed[0]), flat[-1]),
        pick(error),
        where(chosen, pick(rounded), 0.0),
    )
