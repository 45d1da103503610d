"""What every estimator shares: the evaluation callback, bounds, the estimate, steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import torch

from fdopt._tensor import Array

__all__ = [
    "MAX_BATCH_ELEMENTS",
    "Bounds",
    "Estimate",
    "Evaluate",
    "default_step",
    "magnitude",
]

MAX_BATCH_ELEMENTS = 1 << 22
"""Most numbers (points x dimension) an estimator builds at once: 32 MiB in float64.

Larger stencils go to ``evaluate`` in several batches of at most this size, so memory
stays bounded for any ``n`` (the evaluator splits batches further by ``batch_size``).
"""

Evaluate = Callable[[torch.Tensor], torch.Tensor]
"""Evaluates the function at a ``(k, n)`` batch of points, returning ``(k, m)`` values.

The only way estimators reach the user's function (it counts, batches, checks shapes
and finiteness, enforces the budget); estimators never see the function itself.
"""


class Bounds(NamedTuple):
    """Box bounds, one entry per coordinate; infinite where unbounded."""

    lower: torch.Tensor
    upper: torch.Tensor


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate and what it cost.

    Attributes
    ----------
    value : torch.Tensor
        ``(m, n)`` Jacobian (a gradient is the row of a scalar function, ``m = 1``), or
        ``(n, n)`` Hessian.
    nfev : int
        Function evaluations spent, point by point.
    error : torch.Tensor or None
        An estimate of the absolute error of ``value``, elementwise, where the method
        provides one (Richardson: extrapolation error; random methods: standard error).
    f0 : torch.Tensor or None
        ``(m,)`` values at ``x`` when the method evaluated them, so callers need not.
    step : torch.Tensor or None
        ``(n,)`` absolute steps used (random methods: the perturbation size).
    noise : torch.Tensor or None
        ``(m,)`` estimated noise level of the function at ``x`` (``step="auto"``).
    curvature : torch.Tensor or None
        ``(m, n)`` second differences along each coordinate,
        ``(f(x + h_i e_i) - 2 f(x) + f(x - h_i e_i)) / h_i^2``, where the stencil gives
        them for free (second-order central differences with ``f(x)`` known and no
        coordinate at a bound).
    """

    value: torch.Tensor
    nfev: int
    error: torch.Tensor | None = None
    f0: torch.Tensor | None = None
    step: torch.Tensor | None = None
    noise: torch.Tensor | None = None
    curvature: torch.Tensor | None = None


def magnitude(x: Array) -> Array:
    """Return ``max(1, |x|)`` elementwise: the scale relative steps are taken against."""
    if isinstance(x, torch.Tensor):
        return x.abs().clamp_(min=1.0)
    scale: np.ndarray[Any, Any] = np.maximum(np.abs(x), 1.0)
    return scale


@cache
def default_step(order: int, dtype: torch.dtype | np.dtype[Any]) -> float:
    """Relative step balancing truncation (``h^order``) and rounding (``eps / h``) error.

    ``eps^(1/(order+1))``: ``sqrt(eps)`` for one-sided first-order differences,
    ``eps^(1/3)`` for second-order central ones, ``eps^(1/5)`` for fourth order.
    """
    eps = torch.finfo(dtype).eps if isinstance(dtype, torch.dtype) else float(np.finfo(dtype).eps)
    return float(eps ** (1.0 / (order + 1)))
