"""What every estimator shares: the evaluation callback, bounds, the estimate, steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, NamedTuple

import numpy as np
import torch

from fdopt._tensor import Array, from_numpy, host_array, in_precision, numpy_view, on_cpu
from fdopt.evaluation import cpu_call_elements

__all__ = [
    "ARRAY_BLOCK_ELEMENTS",
    "MAX_BATCH_ELEMENTS",
    "Bounds",
    "Estimate",
    "Evaluate",
    "block_elements",
    "converted",
    "default_step",
    "machine_eps",
    "magnitude",
    "on_arrays",
    "on_tensors",
]

MAX_BATCH_ELEMENTS = 1 << 22
"""Most numbers (points x dimension) an estimator builds at once: 32 MiB in float64.

Larger stencils go to ``evaluate`` in several batches of at most this size, so memory
stays bounded for any ``n`` (the evaluator splits batches further by ``batch_size``).
"""

ARRAY_BLOCK_ELEMENTS = 1 << 17
"""Most numbers an estimator builds at once in numpy for an evaluator that takes arrays:
1 MiB in float64, about one core's L2 cache, so the function's calls read points still
in cache. (At n = 10000, a stencil built in 32 MiB blocks spent a fifth of its time
filling memory: 1.2 s against 0.96 s, and the chunked limit 0.93 s.)"""


def block_elements(x: Array, *, made: bool = False) -> int:
    """Most numbers an estimator builds at once around ``x``.

    Cache-sized on a CPU: :data:`ARRAY_BLOCK_ELEMENTS` for a numpy array, one default
    call of a function of tensors for a tensor
    (:func:`fdopt.evaluation.cpu_call_elements`). :data:`MAX_BATCH_ELEMENTS` on a GPU,
    and where the evaluator makes each point itself (``made``: only the moved entries
    are built, and each batch costs a round of small operations: at n = 10000,
    Richardson's 80000 points took 1.13 s in batches of 26 coordinates, 1.68 s in
    batches of 6).
    """
    if made:
        return MAX_BATCH_ELEMENTS
    if isinstance(x, np.ndarray):
        return ARRAY_BLOCK_ELEMENTS
    if on_cpu(x.device):
        return cpu_call_elements(tensors=True)
    return MAX_BATCH_ELEMENTS


Evaluate = Callable[[torch.Tensor], torch.Tensor]
"""Evaluates the function at a ``(k, n)`` batch of points, returning ``(k, m)`` values.

The only way estimators reach the user's function (it counts, batches, checks shapes
and finiteness, enforces the budget); estimators never see the function itself.
"""


class Bounds(NamedTuple):
    """Box bounds, one entry per coordinate; infinite where unbounded."""

    lower: torch.Tensor
    upper: torch.Tensor


@dataclass(slots=True)  # not frozen: that triples the cost of making one, 1.8 against 0.6 us
class Estimate(Generic[Array]):
    """A derivative estimate and what it cost (read-only by convention).

    Its arrays are tensors, or numpy arrays where an estimator was given a numpy ``x``
    (``Estimate[np.ndarray]``: the stencil and Richardson estimators take one).

    Attributes
    ----------
    value : torch.Tensor or numpy.ndarray
        ``(m, n)`` Jacobian (a gradient is the row of a scalar function, ``m = 1``), or
        ``(n, n)`` Hessian.
    nfev : int
        Function evaluations spent, point by point.
    error : torch.Tensor, numpy.ndarray or None
        An estimate of the absolute error of ``value``, elementwise, where the method
        provides one (Richardson: extrapolation error; random methods: standard error).
    f0 : torch.Tensor, numpy.ndarray or None
        ``(m,)`` values at ``x`` when the method evaluated them, so callers need not.
    step : torch.Tensor, numpy.ndarray or None
        ``(n,)`` absolute steps used (random methods: the perturbation size).
    noise : torch.Tensor, numpy.ndarray or None
        ``(m,)`` estimated noise level of the function at ``x`` (``step="auto"``).
    curvature : torch.Tensor, numpy.ndarray or None
        ``(m, n)`` second differences along each coordinate,
        ``(f(x + h_i e_i) - 2 f(x) + f(x - h_i e_i)) / h_i^2``, where the stencil gives
        them for free (second-order central differences with ``f(x)`` known and no
        coordinate at a bound).
    """

    value: Array
    nfev: int
    error: Array | None = None
    f0: Array | None = None
    step: Array | None = None
    noise: Array | None = None
    curvature: Array | None = None


def converted(estimate: Estimate[Any], to: Callable[[Any], Array]) -> Estimate[Array]:
    """Return ``estimate`` with each of its arrays passed through ``to``.

    ``to``: :func:`fdopt._tensor.from_numpy` or :func:`fdopt._tensor.host_array`
    (memory is shared).
    """

    def each(value: Any) -> Array | None:
        return None if value is None else to(value)

    return Estimate(
        to(estimate.value),
        estimate.nfev,
        error=each(estimate.error),
        f0=each(estimate.f0),
        step=each(estimate.step),
        noise=each(estimate.noise),
        curvature=each(estimate.curvature),
    )


NumpyArray = np.ndarray[Any, Any]


def on_tensors(
    run: Callable[[torch.Tensor, torch.Tensor | None], Estimate],
    x: NumpyArray,
    f0: NumpyArray | None,
) -> Estimate[NumpyArray]:
    """Run an estimate with tensors for a numpy ``x`` (and ``f0``); return it in numpy.

    Memory is shared both ways, and the estimate is detached.
    """
    known = None if f0 is None else torch.from_numpy(f0)
    return converted(run(torch.from_numpy(x), known), host_array)


def on_arrays(
    run: Callable[[NumpyArray, NumpyArray | None], Estimate[NumpyArray]],
    x: torch.Tensor,
    f0: torch.Tensor | None,
) -> Estimate | None:
    """Run an estimate in numpy for a CPU tensor ``x`` (and ``f0``); return it as tensors.

    Memory is shared both ways. None, with nothing run, where ``x`` or ``f0`` has no
    numpy view (on a GPU, or of a dtype numpy lacks).
    """
    host = numpy_view(x)
    host_f0 = None if f0 is None else numpy_view(in_precision(f0, x))
    if host is None or (f0 is not None and host_f0 is None):
        return None
    return converted(run(host, host_f0), from_numpy)


def magnitude(x: Array) -> Array:
    """Return ``max(1, |x|)`` elementwise: the scale relative steps are taken against."""
    if not isinstance(x, np.ndarray):  # a tensor (checking for numpy's type costs less)
        return x.abs().clamp_(min=1.0)
    scale: np.ndarray[Any, Any] = np.abs(x)
    np.maximum(scale, 1.0, out=scale)
    return scale


def machine_eps(dtype: torch.dtype | np.dtype[Any]) -> float:
    """Return the machine epsilon of a torch or numpy floating dtype."""
    return torch.finfo(dtype).eps if isinstance(dtype, torch.dtype) else float(np.finfo(dtype).eps)


@cache
def default_step(order: int, dtype: torch.dtype | np.dtype[Any]) -> float:
    """Relative step balancing truncation (``h^order``) and rounding (``eps / h``) error.

    ``eps^(1/(order+1))``: ``sqrt(eps)`` for one-sided first-order differences,
    ``eps^(1/3)`` for second-order central ones, ``eps^(1/5)`` for fourth order.
    """
    return float(machine_eps(dtype) ** (1.0 / (order + 1)))
