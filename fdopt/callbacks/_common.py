"""What the callbacks share: reading intermediate results, copies, argument checks."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import torch

from fdopt.errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "Array",
    "Fields",
    "check_bool",
    "check_min_delta",
    "check_mode",
    "copy_fun",
    "copy_point",
    "read_fields",
    "scalar_fun",
    "stack",
]

Array: TypeAlias = np.ndarray[Any, Any] | torch.Tensor
"""A point or a batch of values: a numpy array or a torch tensor."""


@dataclass(frozen=True)
class Fields:
    """What a callback was told: the fields of an intermediate result, None when absent."""

    x: Any
    fun: Any
    nit: int | None
    nfev: int | None


def read_fields(intermediate_result: Any) -> Fields:
    """Read ``x``, ``fun``, ``nit`` and ``nfev`` from an intermediate result or a bare point."""
    if isinstance(intermediate_result, (np.ndarray, torch.Tensor, list, tuple)):
        # scipy's ``callback(xk)`` convention (TNC): a point and nothing else.
        return Fields(intermediate_result, None, None, None)

    def get(name: str) -> Any:
        if isinstance(intermediate_result, Mapping):
            return intermediate_result.get(name)
        return getattr(intermediate_result, name, None)

    x = get("x")
    if x is None:
        raise ArgumentValueError(
            "intermediate_result must be an OptimizeResult with an 'x' field or a point; "
            f"got {type(intermediate_result).__name__} without 'x'"
        )
    nit, nfev = get("nit"), get("nfev")
    return Fields(
        x,
        get("fun"),
        None if nit is None else int(nit),
        None if nfev is None else int(nfev),
    )


def copy_point(value: Any) -> Array:
    """Return a copy of a point: a cloned tensor (same device) or a read-only numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    array = np.array(value, copy=True)
    array.flags.writeable = False
    return array


def copy_fun(value: Any) -> float | Array | None:
    """Return ``fun`` as a float when it is one number, else a copy of the batch of values."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 and value.dim() == 0 else copy_point(value)
    if np.ndim(value) == 0:
        return float(value)
    return copy_point(value)


def scalar_fun(value: Any) -> float:
    """Return ``fun`` as one float: the value itself, or the lowest of a batch (NaN ignored)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.size == 0:
        raise ArgumentValueError("intermediate_result.fun is empty")
    # fmin ignores NaN unless every value is NaN, without numpy's all-NaN warning.
    return float(np.fmin.reduce(array, axis=None))


def stack(values: Sequence[Any]) -> Array:
    """Stack copies of points (or batches of values) into one array of the same kind."""
    if all(isinstance(value, torch.Tensor) for value in values):
        return torch.stack(list(values))
    return np.stack(
        [
            value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
            for value in values
        ]
    )


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` as a bool, or raise an error naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be a bool; got {value!r}")
    return bool(value)


def check_min_delta(value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"min_delta must be a real number; got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ArgumentValueError(f"min_delta must be finite and >= 0; got {value!r}")
    return number


def check_mode(value: object) -> Literal["abs", "rel"]:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"mode must be 'abs' or 'rel'; got {value!r}")
    if value == "abs":
        return "abs"
    if value == "rel":
        return "rel"
    raise ArgumentValueError(f"mode must be 'abs' or 'rel'; got {value!r}")
