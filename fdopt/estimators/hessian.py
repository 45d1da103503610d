r"""Hessians of scalar functions by finite differences, symmetric by construction.

Two methods, each evaluating all of its points in one batch:

- ``"central"``: second differences of ``f``. The diagonal from the three-point
  stencil, the off-diagonal from the four-point cross stencil (computed once per pair
  ``i < j`` and mirrored), error :math:`O(h^2)`, default step
  :math:`\epsilon^{1/4} \max(1, |x_i|)`, ``2 n^2`` evaluations plus ``f(x)``.
- ``"gradient"``: central differences (outer step ``k``) of central-difference
  gradients (inner step ``h``), symmetrized, ``4 n^2`` evaluations. The gradients
  carry rounding noise :math:`\epsilon^{2/3}` at their optimal step
  :math:`h = \epsilon^{1/3}`, so the outer step that balances it is
  :math:`k = \epsilon^{2/9}`. Less accurate than ``"central"`` and twice the cost;
  useful as an independent check.

Bounds: a coordinate whose centered stencil would leave the box uses one-sided
stencils of the same (second) order pointing into it: ``(0, 1, 2, 3)`` for the second
derivative, ``(0, 1, 2)`` for each first derivative of a mixed term, steps shrunk
only when even those do not fit (see :func:`fdopt.estimators.stencil.fit_steps`).

References
----------
J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer (2006),
section 8.1 (formula 8.8 and the differences of gradients).

B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced grids",
Mathematics of Computation 51 (1988), 699-706.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from fdopt._tensor import in_precision
from fdopt.errors import FunctionOutputError
from fdopt.estimators._base import (
    MAX_BATCH_ELEMENTS,
    Bounds,
    Estimate,
    Evaluate,
    default_step,
    magnitude,
)
from fdopt.estimators.stencil import (
    Stencil,
    axis_points,
    axis_table,
    axis_values,
    fit_steps,
    representable,
)
from fdopt.settings import HessianSettings
from fdopt.stencils import central_offsets, one_sided_offsets

__all__ = ["hessian"]

_FIRST: tuple[Stencil, ...] = (
    central_offsets(1, 2),
    one_sided_offsets(1, 2, side="forward"),
    one_sided_offsets(1, 2, side="backward"),
)
_SECOND: tuple[Stencil, ...] = (
    central_offsets(2, 2),
    one_sided_offsets(2, 2, side="forward"),
    one_sided_offsets(2, 2, side="backward"),
)


"""Most numbers (points x coordinates) per batch: 128 MiB in float64. The Hessian's
points grow as n^3; beyond this they go to ``evaluate`` in blocks."""


class _Axis(NamedTuple):
    """A second-order first-derivative stencil along each coordinate, with its step."""

    offsets: torch.Tensor  # (n, 2): both nonzero offsets
    weights: torch.Tensor  # (n, 2)
    center: torch.Tensor  # (n,): weight of f(x); 0 for the centered stencil
    step: torch.Tensor  # (n,)


def _first_axis(x: torch.Tensor, kind: torch.Tensor | None, step: torch.Tensor) -> _Axis:
    return _Axis(*axis_table(_FIRST, 1, kind, like=x), step)


def _cross_points(
    x: torch.Tensor,
    first: _Axis,
    second: _Axis,
    i: torch.Tensor,
    j: torch.Tensor,
    bounds: Bounds | None,
) -> torch.Tensor:
    """Points ``x + a h_i e_i + b k_j e_j`` for every pair and nonzero offsets a, b.

    Four blocks of ``len(i)`` rows, ordered (a slot, b slot); ``i == j`` adds both
    displacements to the same coordinate.
    """
    pairs = i.numel()
    along_i = (first.offsets[i] * first.step[i, None]).T[:, None, :].expand(2, 2, pairs)
    along_j = (second.offsets[j] * second.step[j, None]).T[None, :, :].expand(2, 2, pairs)
    coord_i, coord_j = i.repeat(4), j.repeat(4)
    rows = torch.arange(4 * pairs, device=x.device)
    points = x.repeat(4 * pairs, 1)
    points[rows, coord_i] = x[coord_i] + along_i.reshape(-1)
    points[rows, coord_j] = points[rows, coord_j] + along_j.reshape(-1)
    if bounds is not None:
        points = torch.minimum(torch.maximum(points, bounds.lower), bounds.upper)
    return points


def _cross_sums(
    evaluate: Evaluate,
    x: torch.Tensor,
    first: _Axis,
    second: _Axis,
    pairs: tuple[torch.Tensor, torch.Tensor],
    bounds: Bounds | None,
    extra: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Evaluate :func:`_cross_points` and the ``extra`` points; weight the cross values.

    Returns each pair's ``sum_ab w_a w_b f(x + a h_i e_i + b k_j e_j)``, the values at
    ``extra`` and the evaluations spent: one batch (``extra`` first) when it holds at
    most ``MAX_BATCH_ELEMENTS`` numbers, else blocks of pairs that do.
    """
    i, j = pairs
    block = max(1, (MAX_BATCH_ELEMENTS // x.shape[0] - extra.shape[0]) // 4)
    sums, at_extra, spent = [], [], 0
    for start in range(0, max(i.numel(), 1), block):
        bi, bj = i[start : start + block], j[start : start + block]
        head = extra if start == 0 else extra[:0]
        points = torch.cat([head, _cross_points(x, first, second, bi, bj, bounds)])
        values = _scalar(in_precision(evaluate(points), x))
        spent += points.shape[0]
        at_extra.append(values[: head.shape[0]])
        wa, wb = first.weights[bi].T, second.weights[bj].T
        weights = (wa[:, None, :] * wb[None, :, :]).reshape(-1)
        sums.append((weights * values[head.shape[0] :]).reshape(4, -1).sum(0))
    return torch.cat(sums), torch.cat(at_extra), spent


def _mixed(
    sums: torch.Tensor,
    first: _Axis,
    second: _Axis,
    pairs: tuple[torch.Tensor, torch.Tensor],
    along: tuple[torch.Tensor, torch.Tensor],
    f0: torch.Tensor,
) -> torch.Tensor:
    """``d^2 f / dx_i dx_j`` per pair from the product of the two first-derivative stencils.

    ``sums``: from :func:`_cross_sums`; ``along``: each axis's weighted sum of ``f`` at
    its own nonzero offsets (the terms where the other offset is 0).
    """
    i, j = pairs
    ca, cb = first.center[i], second.center[j]
    total = sums + cb * along[0][i] + ca * along[1][j] + ca * cb * f0
    return total / (first.step[i] * second.step[j])


def _scalar(values: torch.Tensor) -> torch.Tensor:
    if values.shape[1] != 1:
        raise FunctionOutputError(
            f"hessian needs a scalar function; fun returns {values.shape[1]} values"
        )
    return values[:, 0]


def _second_differences(
    evaluate: Evaluate,
    x: torch.Tensor,
    step: float | None,
    bounds: Bounds | None,
    f0: torch.Tensor | None,
) -> Estimate:
    n = x.shape[0]
    h = (torch.finfo(x.dtype).eps ** 0.25 if step is None else step) * magnitude(x)
    kind, h = fit_steps(x, h, bounds, _SECOND)
    h = representable(x, h)
    second = axis_table(_SECOND, 2, kind, like=x)
    first_on_axis = axis_table(_FIRST, 1, kind, like=x, support=_SECOND)
    axis = axis_points(x, second.offsets, h, bounds)
    first = _first_axis(x, kind, h)
    pairs = torch.triu_indices(n, n, 1, device=x.device).unbind(0)
    extra = torch.cat([axis, x[None]]) if f0 is None else axis
    sums, values, nfev = _cross_sums(evaluate, x, first, first, (pairs[0], pairs[1]), bounds, extra)
    if f0 is None:
        f0 = values[-1:]
    f_x = in_precision(f0, x).reshape(())
    on_axis = axis_values(values[: axis.shape[0], None], second.offsets)[..., 0]
    diagonal = (second.weights * on_axis).sum(1) + second.center * f_x
    along = (first_on_axis.weights * on_axis).sum(1)
    off = _mixed(sums, first, first, (pairs[0], pairs[1]), (along, along), f_x)
    value = torch.diag(diagonal / h**2)
    value[pairs] = off
    value[pairs[::-1]] = off
    return Estimate(value, nfev=nfev, f0=f0, step=h)


def _gradient_differences(
    evaluate: Evaluate,
    x: torch.Tensor,
    step: float | None,
    bounds: Bounds | None,
    f0: torch.Tensor | None,
) -> Estimate:
    n = x.shape[0]
    inner = default_step(2, x.dtype) * magnitude(x)
    outer = (torch.finfo(x.dtype).eps ** (2 / 9) if step is None else step) * magnitude(x)
    # The diagonal moves one coordinate by both steps: fit their sum, scale both alike.
    kind, total = fit_steps(x, inner + outer, bounds, _FIRST)
    scale = total / (inner + outer)
    inner_axis = _first_axis(x, kind, representable(x, inner * scale))
    outer_axis = _first_axis(x, kind, representable(x, outer * scale))
    # A one-sided coordinate j pairs f(x + a h_i e_i) with its center weight for every i.
    one_sided = bool((inner_axis.center != 0).any())
    index = torch.arange(n, device=x.device)
    i, j = torch.cartesian_prod(index, index).reshape(-1, 2).unbind(1)
    batches, tables = [], []  # the points, and the offsets they were made from
    for axis in (inner_axis, outer_axis):
        offsets = axis.offsets if one_sided else torch.zeros_like(axis.offsets)
        batches.append(axis_points(x, offsets, axis.step, bounds))
        tables.append(offsets)
    need_f0 = f0 is None and one_sided
    if need_f0:
        batches.append(x[None])
    extra = torch.cat(batches)
    sums, values, nfev = _cross_sums(evaluate, x, inner_axis, outer_axis, (i, j), bounds, extra)
    parts = torch.split(values, [batch.shape[0] for batch in batches])
    if need_f0:
        f0 = values[-1:]
    f_x = x.new_zeros(()) if f0 is None else in_precision(f0, x).reshape(())
    inner_along, outer_along = (
        (axis.weights * axis_values(part[:, None], offsets)[..., 0]).sum(1)
        for axis, part, offsets in zip((inner_axis, outer_axis), parts[:2], tables, strict=True)
    )
    value = _mixed(sums, inner_axis, outer_axis, (i, j), (inner_along, outer_along), f_x)
    value = value.reshape(n, n)
    return Estimate((value + value.T) / 2, nfev=nfev, f0=f0, step=outer_axis.step)


def hessian(
    evaluate: Evaluate,
    x: torch.Tensor,
    settings: HessianSettings,
    *,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
) -> Estimate:
    r"""Hessian of a scalar function by finite differences, in one batch of points.

    ``method="central"`` (second differences, error :math:`O(h^2)`):

    .. math::

        H_{ii} \approx \frac{f(x + h_i e_i) - 2 f(x) + f(x - h_i e_i)}{h_i^2}, \qquad
        H_{ij} \approx \frac{f_{++} - f_{+-} - f_{-+} + f_{--}}{4 h_i h_j},

    with :math:`f_{\pm\pm} = f(x \pm h_i e_i \pm h_j e_j)` and default step
    :math:`h_i = \epsilon^{1/4} \max(1, |x_i|)`: ``2 n^2`` evaluations, plus one at
    ``x`` unless ``f0`` is given.

    ``method="gradient"`` (differences of central-difference gradients ``g``):

    .. math::

        H \approx \tfrac12 (G + G^T), \qquad
        G_{:, j} = \frac{g(x + k_j e_j) - g(x - k_j e_j)}{2 k_j},

    inner step :math:`\epsilon^{1/3} \max(1, |x_i|)`, outer step ``k`` from
    ``settings.step`` (default :math:`\epsilon^{2/9} \max(1, |x_j|)`): ``4 n^2``
    evaluations.

    Near bounds, coordinates switch to one-sided stencils of the same order (which
    need ``f(x)``); see the module documentation.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, 1)`` values.
    x : torch.Tensor
        ``(n,)`` real point; its dtype and device are kept.
    settings : HessianSettings
        ``method`` and ``step`` (relative to ``max(1, |x_i|)``).
    bounds : Bounds, optional
        Box that no evaluated point leaves.
    f0 : torch.Tensor, optional
        ``(1,)`` value at ``x``, if known (not evaluated again).

    Returns
    -------
    Estimate
        Symmetric ``(n, n)`` Hessian, ``nfev``, ``f0``, absolute ``step`` (the outer
        step for ``"gradient"``).

    Raises
    ------
    FunctionOutputError
        When the function is not scalar (``f0`` with more than one value is rejected
        before any evaluation).
    ArgumentValueError
        When ``bounds`` leave no room for a step (``lower == upper``).

    References
    ----------
    J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed. (2006), section 8.1.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> fun = lambda points: (points[:, :1] ** 2 * points[:, 1:]) # x0^2 x1
    >>> hessian(fun, x, HessianSettings()).value
    tensor([[4., 2.],
            [2., 0.]], dtype=torch.float64)
    """
    if f0 is not None and f0.numel() != 1:
        raise FunctionOutputError(f"hessian needs a scalar function; f0 holds {f0.numel()} values")
    estimate = _second_differences if settings.method == "central" else _gradient_differences
    return estimate(evaluate, x, settings.step, bounds, f0)
