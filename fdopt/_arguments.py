"""Validation of the arguments shared by the public functions: points and bounds.

Every check runs before the first evaluation of the user's function and raises an
error that names the argument and the offending value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from fdopt._tensor import CPU, Source, all_finite, as_tensor, numpy_view
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.estimators import Bounds

__all__ = ["box", "host_point", "point"]

_NUMPY = Source(numpy=True, device=CPU)


def host_point(x: Any) -> tuple[np.ndarray[Any, Any], Source, tuple[int, ...]] | None:
    """:func:`point` for the common cases, a numpy array or a CPU tensor, in numpy.

    Returns a flat copy of ``x`` as a numpy array, with the source and shape of ``x``,
    when ``x`` is a real, finite, native-endian float array (or the data of such a CPU
    tensor) of one or more numbers and at most one dimension; None for every other
    ``x``, which :func:`point` checks and describes.
    """
    host = x if type(x) is np.ndarray else None
    if host is None and isinstance(x, torch.Tensor) and x.dtype.is_floating_point:
        host = numpy_view(x)
    if (
        host is None
        or host.ndim > 1
        or host.size == 0
        or host.dtype.kind != "f"
        or not host.dtype.isnative
        or not all_finite(host)
    ):
        return None
    source = _NUMPY if host is x else Source(numpy=False, device=CPU)
    return host.reshape(-1).copy(), source, tuple(host.shape)


def point(x: Any, name: str = "x") -> tuple[torch.Tensor, Source, tuple[int, ...]]:
    """Check a point: real, finite, a scalar or 1-D, not empty.

    Returns
    -------
    tuple
        A flat floating-point copy, the :class:`~fdopt._tensor.Source` of ``x``, and its
        original shape.
    """
    checked = host_point(x)
    if checked is not None:  # without a torch operation but the last
        return torch.from_numpy(checked[0]), checked[1], checked[2]
    tensor, source = as_tensor(x, name=name)
    if tensor.is_complex():
        raise ArgumentTypeError(f"{name} must be real; got a complex array")
    if tensor.ndim > 1:
        raise ArgumentValueError(f"{name} must be a scalar or 1-D; got shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    flat = tensor.reshape(-1)
    if flat.numel() == 0:
        raise ArgumentValueError(f"{name} must have at least one coordinate; got shape (0,)")
    if not all_finite(flat):
        i = int((~torch.isfinite(flat)).nonzero()[0, 0])
        raise ArgumentValueError(f"{name} must be finite; {name}[{i}] = {float(flat[i])}")
    return flat.detach().clone(), source, tuple(tensor.shape)


def _bound_pairs(
    bounds: Any, n: int, name: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        return (
            np.broadcast_to(np.asarray(bounds.lb, dtype=np.float64), (n,)),
            np.broadcast_to(np.asarray(bounds.ub, dtype=np.float64), (n,)),
        )
    try:
        pairs = list(bounds)
        if n == 1 and len(pairs) == 2 and all(p is None or np.ndim(p) == 0 for p in pairs):
            pairs = [tuple(pairs)]  # a single (lo, hi) for a scalar x
        lower = [-np.inf if lo is None else float(lo) for lo, _ in pairs]
        upper = [np.inf if hi is None else float(hi) for _, hi in pairs]
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(
            "bounds must be a sequence of (lo, hi) pairs, one per coordinate (None for no "
            f"bound), or a scipy.optimize.Bounds; got {bounds!r}"
        ) from exc
    if len(pairs) != n:
        raise ArgumentValueError(
            f"bounds has {len(pairs)} (lo, hi) pairs but {name} has {n} coordinates"
        )
    return np.asarray(lower), np.asarray(upper)


def box(bounds: Any, x: torch.Tensor, name: str = "x") -> Bounds | None:
    """Parse ``bounds`` and check them and ``x`` against each other."""
    if bounds is None:
        return None
    lower, upper = _bound_pairs(bounds, x.shape[0], name)
    bad = np.flatnonzero(~(lower <= upper))  # also catches NaN
    if bad.size:
        i = int(bad[0])
        raise ArgumentValueError(
            f"bounds: the lower bound {lower[i]} must not exceed the upper bound {upper[i]} "
            f"(coordinate {i})"
        )
    host = x.detach().cpu().double().numpy()
    outside = np.flatnonzero((host < lower) | (host > upper))
    if outside.size:
        i = int(outside[0])
        raise ArgumentValueError(
            f"{name}[{i}] = {host[i]} lies outside its bounds [{lower[i]}, {upper[i]}]"
        )
    return Bounds(_inward(lower, x, up=True), _inward(upper, x, up=False))


def _inward(bound: np.ndarray[Any, Any], x: torch.Tensor, *, up: bool) -> torch.Tensor:
    """Round ``bound`` to the precision of ``x`` without leaving the box.

    0.3 rounded to float32 is 0.30000001: an upper bound must round down instead.
    """
    exact = torch.from_numpy(np.array(bound, dtype=np.float64))
    rounded = exact.to(x.dtype)
    outside = rounded.double() < exact if up else rounded.double() > exact
    toward = torch.full_like(rounded, math.inf if up else -math.inf)
    rounded = torch.where(outside, torch.nextafter(rounded, toward), rounded)
    return rounded.to(x.device)
