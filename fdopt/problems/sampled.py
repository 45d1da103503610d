"""A function known only by samples on a grid, made smooth by Hermite interpolation.

The surface is a landscape of Gaussian wells sampled on a uniform grid; between the
nodes it is the bicubic Hermite interpolant of the samples and of their derivatives
estimated by :func:`fdopt.gradient` (``fdopt.grid.gradient``), so it is continuously
differentiable, as finite differences of it need.
"""

from __future__ import annotations

import functools

import torch

from fdopt.errors import ArgumentTypeError
from fdopt.grid import gradient
from fdopt.problems._base import Problem, Vectorized, constant, start

__all__ = ["sampled"]

# The landscape is written in coordinates u = x - _CENTRE, on the grid u_i = (i - 20) h.
_CENTRE = (1.0, -0.5)
_SPACING = 0.25
_POINTS = 41
_HALF_WIDTH = _SPACING * (_POINTS - 1) / 2
_START = (-0.5, 0.5)


def _landscape(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Return a bowl with a deep well at the origin and shallower ones at ``(+-3, +-2)``.

    Even in ``u`` and in ``v``, so the central differences at the origin vanish and the
    interpolant's minimum is the sample there.
    """
    side_u = torch.exp(-((u - 3) ** 2)) + torch.exp(-((u + 3) ** 2))
    side_v = torch.exp(-((v - 2) ** 2)) + torch.exp(-((v + 2) ** 2))
    radius = u**2 + 2 * v**2
    return 0.05 * radius - 2 * torch.exp(-radius / 2) - 1.5 * side_u * side_v


def _cells() -> torch.Tensor:
    """Return the ``(40, 40, 4, 4)`` Hermite coefficients of every grid cell.

    Cell ``(i, j)`` holds ``C[p, q]`` with ``p`` running over (value at ``u_i``, value at
    ``u_{i+1}``, ``d/du`` at ``u_i``, ``d/du`` at ``u_{i+1}``) and ``q`` likewise in ``v``;
    the ``(d/du, d/dv)`` entry holds the cross derivative ``d2/du dv``.
    """
    axis = (torch.arange(_POINTS, dtype=torch.float64) - (_POINTS - 1) // 2) * _SPACING
    values = _landscape(axis[:, None], axis[None, :])
    d_u, d_v = gradient(values, spacing=_SPACING, accuracy=4)
    (d_uv,) = gradient(d_u, spacing=_SPACING, dim=1, accuracy=4)
    nodes = torch.stack([torch.stack([values, d_v]), torch.stack([d_u, d_uv])])
    size = _POINTS - 1
    corners = torch.stack(
        [torch.stack([nodes[:, :, a : a + size, b : b + size] for b in (0, 1)]) for a in (0, 1)]
    )  # (a, b, du, dv, i, j)
    return corners.permute(4, 5, 2, 0, 3, 1).reshape(size, size, 4, 4)


def _basis(t: torch.Tensor) -> torch.Tensor:
    """Return the cubic Hermite basis at ``t`` in [0, 1], scaled to the grid step: ``(k, 4)``."""
    t2, t3 = t * t, t * t * t
    return torch.stack(
        [
            2 * t3 - 3 * t2 + 1,
            -2 * t3 + 3 * t2,
            _SPACING * (t3 - 2 * t2 + t),
            _SPACING * (t3 - t2),
        ],
        dim=-1,
    )


def _interpolate(x: torch.Tensor, *, cells: torch.Tensor) -> torch.Tensor:
    if x.is_complex():
        raise ArgumentTypeError(
            "the sampled problem takes real points only: its interpolant is piecewise, "
            "not analytic, so complex steps cannot differentiate it"
        )
    position = (x - constant(_CENTRE, x) + _HALF_WIDTH) / _SPACING
    # NaN coordinates take cell 0 (as an integer, NaN was an index out of range): f is NaN.
    index = torch.floor(position.detach()).nan_to_num(0.0).clamp(0, _POINTS - 2)
    t = position - index
    i, j = index.long().unbind(-1)
    coefficients = constant(cells, x)[i, j]
    return torch.einsum("kp,kpq,kq->k", _basis(t[:, 0]), coefficients, _basis(t[:, 1]))


def sampled() -> Problem:
    """Return a 2-D landscape known only by samples on a 41 x 41 grid, made C1-smooth.

    The samples are those of a bowl ``0.05 (u**2 + 2 v**2)`` with a Gaussian well of
    depth 2 at ``u = v = 0`` and four of depth 1.5 at ``(+-3, +-2)``, where
    ``(u, v) = x - (1, -0.5)``, on a uniform grid of step 0.25 over the bounds
    ``[-4, 6] x [-5.5, 4.5]``. Between the nodes the function is the bicubic Hermite
    interpolant of the samples, of their gradient and of its cross derivative, both
    estimated from the samples by ``fdopt.gradient`` (fourth order), so it is C1: the
    sample grid's gradient is available through :func:`fdopt.gradient`, and that is what
    makes the surface smooth enough for finite differences.

    ``x0 = (-0.5, 0.5)`` (in the basin of the global minimum); ``f* = f(1, -0.5)``, the
    sample at the deepest well (about -2.0); four local minima near
    ``(1 +- 3, -0.5 +- 2)`` with ``f`` about -0.65. Outside the bounds the edge cells'
    cubics extend the surface, without any guarantee. Real input only.

    Returns
    -------
    Problem
        The problem, with bounds and without residuals.
    """
    cells = _cells()
    bounds = tuple((c - _HALF_WIDTH, c + _HALF_WIDTH) for c in _CENTRE)
    centre = (_POINTS - 1) // 2
    return Problem(
        name="sampled",
        fun=Vectorized(functools.partial(_interpolate, cells=cells), 2),
        x0=start(_START),
        f_star=float(cells[centre, centre, 0, 0]),
        bounds=bounds,
        description="Gaussian wells known by 41 x 41 samples, C1 Hermite interpolation",
    )
