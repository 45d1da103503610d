"""Keeping perturbations inside box bounds.

Every estimator that takes ``bounds`` must never evaluate outside them. These helpers
measure the room around ``x`` and clamp placed points against rounding; choosing a
stencil that fits is :func:`fdopt.estimators.stencil.fit_steps`.
"""

from __future__ import annotations

import torch

from fdopt.estimators._base import Bounds

__all__ = ["clip", "room"]


def room(x: torch.Tensor, bounds: Bounds | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the distances ``(x - lower, upper - x)``, ``inf`` where unbounded."""
    if bounds is None:
        inf = torch.full_like(x, float("inf"))
        return inf, inf
    lower = bounds.lower.to(x)
    upper = bounds.upper.to(x)
    return (x - lower).clamp(min=0.0), (upper - x).clamp(min=0.0)


def clip(points: torch.Tensor, bounds: Bounds | None) -> torch.Tensor:
    """Clamp ``(k, n)`` points into the box: placed points can overshoot it by rounding."""
    if bounds is None:
        return points
    return torch.maximum(torch.minimum(points, bounds.upper.to(points)), bounds.lower.to(points))
