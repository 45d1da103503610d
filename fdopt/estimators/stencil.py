r"""Finite-difference Jacobians from any stencil: forward, backward, central, central4.

One implementation serves every method: a 1-D stencil (offsets from
:mod:`fdopt.stencils`, weights from :func:`fdopt.stencils.weights`) is laid along each
coordinate, the points of all coordinates go to ``evaluate`` as one batch, and

.. math::

    J_{:, i} \approx \frac{1}{h_i} \sum_j w_j \, f(x + o_j h_i e_i).

The point ``x`` itself is evaluated only when its weight is nonzero and ``f(x)`` was
not given. Steps are made exactly representable (``h = (x + h) - x``, as scipy does)
so the stencil's spacing is the one the weights assume.

Bounds: no point leaves ``[lower, upper]``. Each coordinate takes the first stencil of
a preference list (the requested one, then one-sided ones of the same order pointing
into the box) that fits with the full step; when none does, the one that allows the
largest step, with the step shrunk to fit. The helpers doing this (:func:`fit_steps`,
:func:`axis_table`, :func:`axis_points`) are shared with :mod:`fdopt.estimators.hessian`.

References
----------
B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced grids",
Mathematics of Computation 51 (1988), 699-706.

J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer (2006),
section 8.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any, NamedTuple

import numpy as np
import torch

from fdopt._tensor import Array, in_precision, matmul
from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import (
    ARRAY_BLOCK_ELEMENTS,
    Bounds,
    Estimate,
    Evaluate,
    block_elements,
    default_step,
    magnitude,
    on_arrays,
    on_tensors,
)
from fdopt.settings import BackwardSettings, Central4Settings, CentralSettings, ForwardSettings
from fdopt.stencils import central_offsets, one_sided_offsets, weights

__all__ = ["backward", "central", "central4", "forward"]

Stencil = tuple[int, ...]
"""Offsets of a 1-D stencil, in units of the step."""


class AxisTable(NamedTuple):
    """A derivative's stencil along each coordinate (or, cached, one row per stencil)."""

    offsets: torch.Tensor  # (n, s): the nonzero offsets, padded with 0 (not evaluated)
    weights: torch.Tensor  # (n, s): their weights, 0 on padding
    center: torch.Tensor  # (n,): the weight of offset 0, the point x itself


def axis_table(
    stencils: Sequence[Stencil],
    deriv: int,
    kind: torch.Tensor | None,
    *,
    like: torch.Tensor,
    support: Sequence[Stencil] | None = None,
) -> AxisTable:
    """Weights of the ``deriv``-th derivative along each coordinate of ``like``.

    Coordinate ``i`` uses ``stencils[kind[i]]`` (``stencils[0]`` for all when ``kind``
    is None), its weights laid out on the nonzero offsets of the matching ``support``
    stencil (default: the stencil itself), which must contain it; offsets of the support
    outside the stencil get weight 0.
    """
    support = tuple(stencils if support is None else support)
    if kind is None:
        return _first_rows(tuple(stencils), deriv, support, like.dtype, like.device, like.shape[0])
    table = _axis_table(tuple(stencils), deriv, support, like.dtype, like.device)
    return AxisTable(*(t[kind] for t in table))


@lru_cache(maxsize=64)
def _first_rows(
    stencils: tuple[Stencil, ...],
    deriv: int,
    support: tuple[Stencil, ...],
    dtype: torch.dtype,
    device: torch.device,
    n: int,
) -> AxisTable:
    """Return the table of ``stencils[0]`` along all ``n`` coordinates (views)."""
    table = _axis_table(stencils, deriv, support, dtype, device)
    return AxisTable(*(t[0].expand(n, *t.shape[1:]) for t in table))


@lru_cache(maxsize=64)
def _axis_table(
    stencils: tuple[Stencil, ...],
    deriv: int,
    support: tuple[Stencil, ...],
    dtype: torch.dtype,
    device: torch.device,
) -> AxisTable:
    width = max(sum(o != 0 for o in grid) for grid in support)
    offsets, table, center = [], [], []
    for stencil, grid in zip(stencils, support, strict=True):
        w = _weights_by_offset(stencil, deriv)
        nonzero = [o for o in grid if o != 0]
        pad = width - len(nonzero)
        offsets.append([float(o) for o in nonzero] + [0.0] * pad)
        table.append([w.get(o, 0.0) for o in nonzero] + [0.0] * pad)
        center.append(w.get(0, 0.0))
    rows = (offsets, table, center)
    return AxisTable(*(torch.tensor(r, dtype=dtype, device=device) for r in rows))


def _weights_by_offset(stencil: Stencil, deriv: int) -> dict[float, float]:
    """Return the ``deriv``-th derivative weights of ``stencil``, by offset."""
    return dict(zip(stencil, weights(deriv, stencil), strict=True))


def fit_steps(
    x: torch.Tensor, h: torch.Tensor, bounds: Bounds | None, stencils: Sequence[Stencil]
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Choose a stencil and a step per coordinate that keep every point in ``bounds``.

    Each coordinate takes the first of ``stencils`` (a preference list) that fits with
    its full step ``h_i``; when none fits, the one that allows the largest step, with
    the step shrunk to fit.

    Returns
    -------
    kind : torch.Tensor or None
        ``(n,)`` index into ``stencils``; None without bounds (all the first).
    h : torch.Tensor
        ``(n,)`` positive steps.

    Raises
    ------
    ArgumentValueError
        Naming ``bounds`` when a coordinate has no room for any step (``lower == upper``
        there).
    """
    kind = None
    if bounds is not None:
        room_below, room_above = x - bounds.lower.to(x), bounds.upper.to(x) - x
        fits = []
        for stencil in stencils:
            fit = h
            if min(stencil) < 0:
                fit = torch.minimum(fit, room_below / -min(stencil))
            if max(stencil) > 0:
                fit = torch.minimum(fit, room_above / max(stencil))
            fits.append(fit)
        candidates = torch.stack(fits)
        kind = candidates.argmax(dim=0)  # the first of the largest: the preferred full fit
        h = candidates.gather(0, kind[None])[0]
        if not h.min().item() > 0:
            i = int((h > 0).logical_not().nonzero()[0])
            raise ArgumentValueError(
                f"bounds leave no room for a finite-difference step at coordinate {i}: "
                f"lower={float(bounds.lower[i])!r}, x={float(x[i])!r}, "
                f"upper={float(bounds.upper[i])!r}"
            )
    return kind, h


def representable(x: Array, h: Array, *, check: bool = True) -> Array:
    """Return ``(x + h) - x``, the step actually taken; raise naming ``step`` if it is 0.

    ``check=False``: ``h`` cannot vanish (a default step, at least ``sqrt(eps)`` relative
    to ``max(1, |x|)`` at a finite ``x``), so the reduction that checks it is spared.
    """
    h = x + h
    h -= x
    if check and not (np.minimum.reduce(h) if isinstance(h, np.ndarray) else h.min()) > 0:
        i = (h > 0).tolist().index(False)
        raise ArgumentValueError(
            f"step is too small for x's precision ({x.dtype}) at coordinate {i}: "
            f"x + h == x with x={float(x[i])!r}"
        )
    return h


def _moved(
    x: torch.Tensor,
    offsets: torch.Tensor,
    h: torch.Tensor,
    bounds: Bounds | None,
    rows: slice | None,
) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Return the first coordinate of ``rows``, its offsets and the moved values ``(c, s)``."""
    n = offsets.shape[0]
    start, stop, _ = (rows or slice(None)).indices(n)
    if (start, stop) != (0, n):
        offsets, x_rows, h_rows = offsets[start:stop], x[start:stop], h[start:stop]
    else:
        x_rows, h_rows = x, h
    moved = torch.addcmul(x_rows.unsqueeze(1), offsets, h_rows.unsqueeze(1))
    if bounds is not None:
        lower, upper = bounds.lower[start:stop, None], bounds.upper[start:stop, None]
        moved = torch.minimum(torch.maximum(moved, lower), upper)
    return start, offsets, moved


def axis_points(
    x: torch.Tensor,
    offsets: torch.Tensor,
    h: torch.Tensor,
    bounds: Bounds | None,
    rows: slice | None = None,
) -> torch.Tensor:
    """Points ``x + offsets[i, j] * h[i] * e_i`` for every nonzero entry of ``offsets``.

    Only the coordinates ``i`` in ``rows`` (default all). Returns the points, row-major
    over the nonzero entries, clamped into ``bounds`` against rounding.
    """
    start, offsets, moved = _moved(x, offsets, h, bounds, rows)
    c, s = offsets.shape
    # (coordinate, slot, n); coordinate i moves x[start + i]
    points = x.expand(c, s, x.shape[0]).clone()
    points.diagonal(offset=start, dim1=0, dim2=2).copy_(moved.T)
    points = points.reshape(c * s, -1)
    if offsets.count_nonzero().item() == offsets.numel():  # no padding
        return points
    return points[(offsets != 0).reshape(-1)]


def axis_moves(
    x: torch.Tensor,
    offsets: torch.Tensor,
    h: torch.Tensor,
    bounds: Bounds | None,
    rows: slice | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the points of :func:`axis_points` as the coordinate each moves and its value.

    For an evaluator that makes the points itself
    (:meth:`fdopt.evaluation.Evaluator.axis`).
    """
    start, offsets, moved = _moved(x, offsets, h, bounds, rows)
    c, s = offsets.shape
    cols = torch.arange(start, start + c, device=x.device)[:, None].expand(c, s)
    nonzero = offsets != 0
    return cols[nonzero], moved[nonzero]


def axis_values(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Scatter the ``(k, m)`` values of :func:`axis_points` into an ``(n, s, m)`` table.

    ``offsets`` are the ``(n, s)`` offsets the points were made from; padding (0) gets 0.
    """
    if values.shape[0] == offsets.numel():
        return values.reshape(*offsets.shape, values.shape[1])
    table = values.new_zeros((*offsets.shape, values.shape[1]))
    table[offsets != 0] = values
    return table


@cache
def _stencils(first: str, order: int) -> tuple[tuple[Stencil, ...], int, bool]:
    """Return the stencil of ``first`` ("forward", "backward", "central"), then fallbacks.

    Also the points it lays per coordinate, and whether it is ``x - h, x + h`` (second
    differences come with it where ``f(x)`` is known).
    """
    forward = one_sided_offsets(1, order, side="forward")
    backward = one_sided_offsets(1, order, side="backward")
    stencils: tuple[Stencil, ...]
    if first == "central":
        stencils = (central_offsets(1, order), forward, backward)
    else:
        stencils = (forward, backward) if first == "forward" else (backward, forward)
    width = len(stencils[0]) - (0 in stencils[0])
    return stencils, width, (first, order) == ("central", 2)


def _relative_steps(x: Array, order: int, step: float | tuple[float, ...] | None) -> Array:
    """Return the absolute steps of a relative ``step`` (None: the default for ``order``)."""
    if not isinstance(step, tuple):
        scale = magnitude(x)
        scale *= default_step(order, x.dtype) if step is None else float(step)
        return scale
    if len(step) != x.shape[0]:
        raise ArgumentValueError(
            f"step must hold one relative step per coordinate ({x.shape[0]}); got {len(step)}"
        )
    if isinstance(x, torch.Tensor):
        return torch.tensor(step, dtype=x.dtype, device=x.device) * magnitude(x)
    steps: np.ndarray[Any, Any] = magnitude(x) * np.asarray(step, dtype=x.dtype)
    return steps


def _differences(
    sides: Array, weights: Array, center: Array | float, f0: Array | None, h: Array, second: bool
) -> tuple[Array, Array | None]:
    """Return the ``(m, n)`` derivative from the ``(n, s, m)`` values of the stencils.

    With ``second`` (the stencil is ``x - h, x + h`` and ``f0`` known), also the second
    differences along each coordinate; otherwise None.
    """
    if not isinstance(sides, np.ndarray) and sides.is_complex():  # a complex function
        weights = weights.to(sides.dtype)  # torch multiplies matrices of one dtype only
    # sum_j w_ij f_ijk, over (i, k); one row of weights for every coordinate costs less
    one_row = weights.ndim == 1
    sums = (matmul(weights, sides) if one_row else matmul(weights[:, None, :], sides)[:, 0]).T
    curvature = None
    if f0 is not None:
        sums = sums + f0[:, None] * center
        if second:
            curvature = (sides.sum(1) - 2 * f0).T / (h * h)
    return sums / h, curvature


_PATTERN_ELEMENTS = 1 << 11
"""Most numbers of a stencil built as ``pattern * h + x`` (:class:`_ArrayPlan`): two
operations, where filling and scattering take five; beyond it the pattern's full passes
cost more (central, 2 n^2 numbers: 3.0 against 5.2 us at n = 10, equal at n = 40)."""


class _ArrayPlan(NamedTuple):
    """How :func:`_array_jacobian` lays a first-derivative stencil along ``n`` coordinates."""

    offsets: np.ndarray[Any, Any]  # (s,): the stencil's nonzero offsets
    weights: np.ndarray[Any, Any]  # (s,): their weights
    center: float  # the weight of x itself
    need_f0: bool  # whether f(x) is evaluated (with the last batch)
    # per batch: its first and last coordinate, its points (f(x) included), and where the
    # moved entries lie in the flat batch from entry ``lo`` on, one row per coordinate
    # (views of one array: the batches differ by ``lo`` only)
    batches: tuple[tuple[int, int, int, np.ndarray[Any, Any]], ...]
    # a small stencil in one batch: its points' offsets from x in units of the step
    pattern: np.ndarray[Any, Any] | None


@lru_cache(maxsize=64)
def _array_plan(
    stencil: Stencil, dtype: np.dtype[Any], n: int, known_f0: bool, elements: int
) -> _ArrayPlan:
    """Return the :class:`_ArrayPlan` of ``stencil`` at ``n`` coordinates (``f0`` given or not).

    Batches of at most ``elements`` numbers (:data:`ARRAY_BLOCK_ELEMENTS`), so that the
    function's calls read points still in cache.
    """
    w = _weights_by_offset(stencil, 1)
    nonzero = [o for o in stencil if o != 0]
    offsets = np.array([float(o) for o in nonzero], dtype=dtype)
    s, center = len(nonzero), w.get(0, 0.0)
    need_f0 = not known_f0 and center != 0
    block = min(n, max(1, elements // (s * n)))  # coordinates per batch
    # point (j, t) is row j s + t, with coordinate lo + j moved
    where = np.arange(block)[:, None] * (s * n + 1) + np.arange(s) * n
    batches = []
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        rows = (hi - lo) * s + int(need_f0 and hi == n)  # f(x) with the last batch
        batches.append((lo, hi, rows, where[: hi - lo]))
    pattern = None
    if len(batches) == 1 and batches[0][2] * n <= _PATTERN_ELEMENTS:
        pattern = np.zeros((batches[0][2], n), dtype=dtype)
        pattern.reshape(-1)[where] = offsets
    weight_row = np.array([w[o] for o in nonzero], dtype=dtype)
    return _ArrayPlan(offsets, weight_row, center, need_f0, tuple(batches), pattern)


def _array_jacobian(
    array: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]],
    x: np.ndarray[Any, Any],
    stencil: Stencil,
    order: int,
    step: float | tuple[float, ...] | None,
    second: bool,
    f0: np.ndarray[Any, Any] | None,
) -> Estimate[np.ndarray[Any, Any]]:
    """:func:`_jacobian` without bounds, in numpy, for an evaluator that takes arrays.

    For a cheap function of few variables, the torch operations of the general route
    cost several times the function's calls; here there are none.
    """
    h = representable(x, _relative_steps(x, order, step), check=step is not None)
    n = x.shape[0]
    plan = _array_plan(stencil, x.dtype, n, f0 is not None, ARRAY_BLOCK_ELEMENTS)
    offsets, w, center, need_f0, batches, pattern = plan
    chunks = []
    for lo, hi, rows, where in batches:
        if pattern is None:
            points = np.empty((rows, n), dtype=x.dtype)
            points[:] = x
            points.reshape(-1)[lo:][where] = x[lo:hi, None] + offsets * h[lo:hi, None]
        else:  # x + o h exactly as above; x itself where the offset is 0
            points = pattern * h
            points += x
        chunks.append(array(points))
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    nfev = values.shape[0]
    if need_f0:
        values, f0 = values[:-1], values[-1]
    sides = values.reshape(n, offsets.shape[0], values.shape[1])
    value, curvature = _differences(sides, w, center, f0, h, second and f0 is not None)
    return Estimate(value, nfev=nfev, f0=f0, step=h, curvature=curvature)


def evaluation_route(
    evaluate: Evaluate, x: Array, k: int, numpy: bool
) -> tuple[bool, Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]] | None]:
    """How an estimator should hand ``evaluate`` ``k`` points around ``x`` (and f(x)).

    Returns whether the evaluator makes the points itself
    (:meth:`~fdopt.evaluation.Evaluator.axis`), and else, where the estimate can be
    computed in ``numpy`` (no bounds, a fixed step), the evaluator's numpy route
    (:meth:`~fdopt.evaluation.Evaluator.arrays`) or None. Shared with
    :mod:`fdopt.estimators.richardson`.
    """
    makes_points = getattr(evaluate, "makes_points", None)
    if makes_points is not None and makes_points(x, k):
        return True, None
    arrays = getattr(evaluate, "arrays", None) if numpy else None
    return False, None if arrays is None else arrays(k + 1, x.shape[0])


def _jacobian(
    evaluate: Evaluate,
    x: Array,
    first: str,
    order: int,
    step: float | tuple[float, ...] | str | None,
    bounds: Bounds | None,
    f0: Array | None,
) -> Estimate[Array]:
    """Jacobian from the ``first`` stencil of ``order`` (fallbacks near bounds), one batch.

    In numpy where the evaluator takes arrays (no bounds, step not "auto"), with
    tensors otherwise; the estimate is of the kind of ``x``.
    """
    stencils, width, second = _stencils(first, order)
    numpy = bounds is None and step != "auto"
    lazy, array = evaluation_route(evaluate, x, width * x.shape[0], numpy)
    fixed: float | tuple[float, ...] | None = step  # type: ignore[assignment]  # not "auto"
    if array is not None and isinstance(x, np.ndarray):  # the common case, made cheap
        return _array_jacobian(array, x, stencils[0], order, fixed, second, f0)

    def in_torch(t: torch.Tensor, t0: torch.Tensor | None) -> Estimate:
        return _tensor_jacobian(evaluate, t, stencils, order, step, bounds, t0, lazy, second)

    if array is None:
        return in_torch(x, f0) if isinstance(x, torch.Tensor) else on_tensors(in_torch, x, f0)
    route = array

    def in_numpy(h: np.ndarray[Any, Any], h0: np.ndarray[Any, Any] | None) -> Estimate[Any]:
        return _array_jacobian(route, h, stencils[0], order, fixed, second, h0)

    estimate = on_arrays(in_numpy, x, f0)
    return in_torch(x, f0) if estimate is None else estimate


def _tensor_jacobian(
    evaluate: Evaluate,
    x: torch.Tensor,
    stencils: tuple[Stencil, ...],
    order: int,
    step: float | tuple[float, ...] | str | None,
    bounds: Bounds | None,
    f0: torch.Tensor | None,
    lazy: bool,
    second: bool,
) -> Estimate:
    """:func:`_jacobian` with tensors; ``lazy``: the evaluator makes the points itself."""
    noise, spent = None, 0
    if step == "auto":
        from fdopt.estimators.noise import auto_step

        if f0 is None:  # needed by auto_step; evaluated here so the stencil reuses it
            f0, spent = evaluate(x[None])[0], 1
        one_sided = min(stencils[0]) == 0 or max(stencils[0]) == 0
        h, noise, cost = auto_step(
            evaluate, x, order=order, one_sided=one_sided, bounds=bounds, f0=f0
        )
        spent += cost
    else:
        h = _relative_steps(x, order, step)  # type: ignore[arg-type]  # not "auto" here
    kind, h = fit_steps(x, h, bounds, stencils)
    # A default step cannot vanish (see representable) unless bounds shrank it.
    h = representable(x, h, check=step is not None or bounds is not None)
    table = axis_table(stencils, 1, kind, like=x)
    if f0 is not None:
        need_f0 = False
    elif kind is None:  # every coordinate takes the first stencil: no device read
        need_f0 = _weights_by_offset(stencils[0], 1).get(0, 0.0) != 0
    else:
        need_f0 = table.center.count_nonzero().item() > 0
    n, width = table.offsets.shape
    axis = getattr(evaluate, "axis", None) if lazy else None
    block = max(1, block_elements(x, made=axis is not None) // (width * n))  # coordinates
    chunks, nfev = [], spent
    for lo in range(0, n, block):
        rows, last = slice(lo, min(lo + block, n)), need_f0 and lo + block >= n
        if axis is not None:
            cols, moved = axis_moves(x, table.offsets, h, bounds, rows)
            if last:  # f(x) with the last batch
                cols, moved = torch.cat([cols, cols.new_tensor([-1])]), torch.cat([moved, x[:1]])
            values = axis(x, cols, moved)
        else:
            points = axis_points(x, table.offsets, h, bounds, rows)
            values = evaluate(torch.cat([points, x[None]]) if last else points)
        chunks.append(in_precision(values, x))
        nfev += values.shape[0]
    values = chunks[0] if len(chunks) == 1 else torch.cat(chunks)
    if need_f0:
        values, f0 = values[:-1], values[-1]
    known = None if f0 is None else in_precision(f0, x)
    value, curvature = _differences(
        axis_values(values, table.offsets),
        table.weights,
        table.center,
        known,
        h,
        second and kind is None and known is not None,
    )
    return Estimate(value, nfev=nfev, f0=f0, step=h, noise=noise, curvature=curvature)


def forward(
    evaluate: Evaluate,
    x: Array,
    settings: ForwardSettings,
    *,
    bounds: Bounds | None = None,
    f0: Array | None = None,
) -> Estimate[Array]:
    r"""Jacobian by one-sided forward differences of order ``settings.accuracy``.

    .. math::

        J_{:, i} \approx \frac{1}{h_i} \sum_{j=0}^{p} w_j f(x + j h_i e_i),
        \qquad p = 1: \; \frac{f(x + h_i e_i) - f(x)}{h_i},

    with error :math:`O(h^p)`. Default step :math:`h_i = \epsilon^{1/(p+1)}
    \max(1, |x_i|)`. Costs ``p * n`` evaluations, plus one at ``x`` unless ``f0`` is
    given. Near an upper bound a coordinate switches to the backward stencil.
    Parameters, returns and errors as in :func:`central`.

    References
    ----------
    B. Fornberg, Mathematics of Computation 51 (1988), 699-706.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> square = lambda points: (points**2).sum(1, keepdim=True)
    >>> forward(square, x, ForwardSettings(accuracy=2)).value
    tensor([[2., 4.]], dtype=torch.float64)
    """
    return _jacobian(evaluate, x, "forward", settings.accuracy, settings.step, bounds, f0)


def backward(
    evaluate: Evaluate,
    x: Array,
    settings: BackwardSettings,
    *,
    bounds: Bounds | None = None,
    f0: Array | None = None,
) -> Estimate[Array]:
    r"""Jacobian by one-sided backward differences of order ``settings.accuracy``.

    .. math::

        J_{:, i} \approx \frac{1}{h_i} \sum_{j=0}^{p} w_j f(x - j h_i e_i),
        \qquad p = 1: \; \frac{f(x) - f(x - h_i e_i)}{h_i}.

    The mirror image of :func:`forward` (same cost, steps and parameters); near a lower
    bound a coordinate switches to the forward stencil.

    References
    ----------
    B. Fornberg, Mathematics of Computation 51 (1988), 699-706.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> square = lambda points: (points**2).sum(1, keepdim=True)
    >>> backward(square, x, BackwardSettings(accuracy=2)).value
    tensor([[2., 4.]], dtype=torch.float64)
    """
    return _jacobian(evaluate, x, "backward", settings.accuracy, settings.step, bounds, f0)


def central(
    evaluate: Evaluate,
    x: Array,
    settings: CentralSettings,
    *,
    bounds: Bounds | None = None,
    f0: Array | None = None,
) -> Estimate[Array]:
    r"""Jacobian by central differences of (even) order ``settings.accuracy``.

    .. math::

        J_{:, i} \approx \frac{1}{h_i} \sum_{0 < |j| \le p/2} w_j f(x + j h_i e_i),
        \qquad p = 2: \; \frac{f(x + h_i e_i) - f(x - h_i e_i)}{2 h_i},

    with error :math:`O(h^p)`, from ``p * n`` evaluations (``f(x)`` has weight 0 and
    is not evaluated). Default step :math:`h_i = \epsilon^{1/(p+1)} \max(1, |x_i|)`.
    A coordinate whose centered stencil would leave ``bounds`` switches to the forward
    or backward stencil of the same order ``p`` (which needs ``f(x)``).

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` real point; its dtype and device are kept.
    settings : CentralSettings
        ``accuracy`` (2, 4, 6 or 8) and ``step`` (relative, or ``"auto"``).
    bounds : Bounds, optional
        Box that no evaluated point leaves.
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, if known; passed through to the estimate.

    Returns
    -------
    Estimate
        ``(m, n)`` Jacobian, ``nfev``, ``f0``, absolute ``step``, ``noise`` (auto step).

    Raises
    ------
    ArgumentValueError
        When ``bounds`` leave no room for a step (``lower == upper``), or the step
        vanishes next to ``x``.

    References
    ----------
    B. Fornberg, Mathematics of Computation 51 (1988), 699-706.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> cube = lambda points: (points**3).sum(1, keepdim=True)
    >>> central(cube, x, CentralSettings(accuracy=4)).value
    tensor([[ 3., 12.]], dtype=torch.float64)
    """
    return _jacobian(evaluate, x, "central", settings.accuracy, settings.step, bounds, f0)


def central4(
    evaluate: Evaluate,
    x: Array,
    settings: Central4Settings,
    *,
    bounds: Bounds | None = None,
    f0: Array | None = None,
) -> Estimate[Array]:
    r"""Jacobian by fourth-order central differences: :func:`central` with accuracy 4.

    .. math::

        J_{:, i} \approx \frac{f(x - 2h_i e_i) - 8 f(x - h_i e_i)
        + 8 f(x + h_i e_i) - f(x + 2h_i e_i)}{12 h_i},

    error :math:`O(h^4)`, ``4 n`` evaluations, default step
    :math:`\epsilon^{1/5} \max(1, |x_i|)`.

    References
    ----------
    B. Fornberg, Mathematics of Computation 51 (1988), 699-706.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> cube = lambda points: (points**3).sum(1, keepdim=True)
    >>> central4(cube, x, Central4Settings()).value
    tensor([[ 3., 12.]], dtype=torch.float64)
    """
    return _jacobian(evaluate, x, "central", 4, settings.step, bounds, f0)
