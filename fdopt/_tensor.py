"""Array-like <-> torch conversion: the one place that decides dtypes and devices.

numpy arrays and array-likes (lists, scalars) come in as CPU tensors that share memory
with the caller's data where possible, and go back out as numpy arrays; torch tensors
stay on their device and go back out as tensors.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from typing_extensions import TypeVar

from fdopt.errors import ArgumentTypeError

__all__ = [
    "CPU",
    "Array",
    "Source",
    "all_finite",
    "as_tensor",
    "data_bytes",
    "finite_floats",
    "float_dtype",
    "from_numpy",
    "host_array",
    "in_precision",
    "is_inexact",
    "matmul",
    "numpy_view",
    "on_cpu",
    "real_dtype",
]

Array = TypeVar("Array", torch.Tensor, "np.ndarray[Any, Any]", default=torch.Tensor)
"""A torch tensor or a numpy array: for helpers that serve both kinds (default: tensor)."""

# numpy integer types torch cannot do arithmetic on everywhere: widen them first.
_WIDEN_UNSIGNED = {np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64}


@dataclass(frozen=True)
class Source:
    """Where an input came from, so that results can go back in the same kind.

    Attributes
    ----------
    numpy : bool
        True when the caller passed a numpy array or an array-like (not a tensor).
    device : torch.device
        The device of the tensor the input became.
    """

    numpy: bool
    device: torch.device

    def wrap(self, result: torch.Tensor | np.ndarray[Any, Any]) -> Any:
        """Return ``result`` as the caller's kind: a numpy array or a tensor.

        A numpy ``result`` (an estimate computed in numpy for a caller on the CPU) is
        returned as it is to a numpy caller, as a tensor sharing its memory to a torch one.
        """
        if isinstance(result, np.ndarray):
            return result if self.numpy else torch.from_numpy(result)
        return result.numpy() if self.numpy else result


CPU = torch.device("cpu")
"""The CPU device, the one this module and its callers compare devices with."""


def on_cpu(device: torch.device) -> bool:
    """Return whether ``device`` is the CPU.

    Comparing with a CPU device first: reading ``device.type`` costs 0.45 us (a new
    string each time), comparing 0.07 us.
    """
    return device == CPU or device.type == "cpu"


def is_inexact(dtype: torch.dtype) -> bool:
    """Return True for floating-point and complex dtypes."""
    return dtype.is_floating_point or dtype.is_complex


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """Return the real counterpart of a complex dtype (other dtypes unchanged)."""
    return torch.empty((), dtype=dtype).real.dtype if dtype.is_complex else dtype


def float_dtype(dtype: torch.dtype, *, numpy_rules: bool) -> torch.dtype:
    """Return the dtype that derivatives of data of ``dtype`` are computed in.

    Floating and complex dtypes are kept. Integers and booleans promote as
    ``torch.gradient`` promotes them (to the default dtype) or, with
    ``numpy_rules``, as ``numpy.gradient`` does (to float64).
    """
    if is_inexact(dtype):
        return dtype
    return torch.float64 if numpy_rules else torch.get_default_dtype()


_FEW = 32
"""Size up to which :func:`all_finite` sums an array's numbers in Python: below it, a
numpy reduction's fixed cost is the larger (20 numbers: 0.75 against 1.7 us)."""


def finite_floats(values: list[Any]) -> bool:
    """Return whether every real number in ``values`` is finite, without numpy.

    A sum in C (``math.fsum``), checked entry by entry only where it is not finite. For
    a plain function's values, or a small array's, it costs less than a numpy reduction:
    after many calls of a plain function, one took 80 us where this takes 2 (80 points,
    n = 10; numpy's own work there takes 2 us).
    """
    try:
        return math.isfinite(math.fsum(values))
    except (OverflowError, ValueError):  # a sum too large, or inf - inf
        return all(map(math.isfinite, values))


def all_finite(tensor: torch.Tensor | np.ndarray[Any, Any]) -> bool:
    """Return whether every entry of ``tensor`` (or numpy array) is finite.

    For a tensor, summing first is cheaper than a boolean mask: a finite sum means that
    every term was finite. Only a sum that is not (a non-finite entry, or finite entries
    that overflow together) leads to the entry-by-entry check. An array takes the mask,
    reduced by a ufunc call (no Python wrapper, and no overflow warning from a sum); a
    small real one is summed as Python floats first (:func:`finite_floats`).
    """
    if isinstance(tensor, np.ndarray):
        few = tensor.size <= _FEW and tensor.dtype.kind == "f"
        if few and finite_floats(tensor.ravel().tolist()):
            return True
        return bool(np.logical_and.reduce(np.isfinite(tensor), axis=None))
    if not is_inexact(tensor.dtype):
        return True
    total = tensor.sum()
    if math.isfinite((total.abs() if total.is_complex() else total).item()):
        return True
    return bool(torch.isfinite(tensor).all())


_NUMPY_DTYPES = frozenset(
    {torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128}
)


def numpy_view(tensor: torch.Tensor) -> np.ndarray[Any, Any] | None:
    """Return a CPU tensor's data as a numpy array sharing its memory, or None.

    None for a tensor on another device or of a dtype numpy lacks (bfloat16, integers
    are not asked for).
    """
    if not on_cpu(tensor.device) or tensor.dtype not in _NUMPY_DTYPES:
        return None
    return host_array(tensor)


def host_array(tensor: torch.Tensor) -> np.ndarray[Any, Any]:
    """Return a CPU tensor's data as a numpy array sharing its memory (no autograd)."""
    array: np.ndarray[Any, Any] = (tensor.detach() if tensor.requires_grad else tensor).numpy()
    return array


def matmul(a: Array, b: Array) -> Array:
    """Return ``a @ b``; on a GPU by products and sums, without cuBLAS.

    Every thread that calls cuBLAS gets a handle and a workspace of its own (32 MiB on an
    H100). Multistart runs each start in a thread of its own: with ``a @ b`` in the
    starts' arithmetic, k = 1024 starts ran an 80 GiB H100 out of memory
    (``CUBLAS_STATUS_ALLOC_FAILED`` in ``cublasCreate``). The operands of the
    estimators and update rules are small (a stencil's weights, a few vectors), so
    elementwise products cost no more there. Elsewhere ``a @ b`` itself.
    """
    if isinstance(a, torch.Tensor) and not on_cpu(a.device):
        return _products(a, b)
    product: Array = a @ b
    return product


def _products(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Return ``a @ b`` as sums of elementwise products (``a`` or ``b`` 1-D, or batches)."""
    if b.ndim == 1:  # (..., j) @ (j,)
        return (a * b).sum(-1)
    if a.ndim == 1:  # (j,) @ (..., j, k)
        return (a[:, None] * b).sum(-2)
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)


def in_precision(values: Array, like: Array) -> Array:
    """Return ``values`` in the precision of the points ``like``, complex kept complex.

    A function's values computed at points of one precision: a real function's in the
    points' (real) dtype, a complex one's in the complex dtype of at least that precision.
    """
    if not isinstance(values, np.ndarray):  # a tensor (checking for numpy's type costs less)
        real = like.real.dtype
        return values.to(torch.promote_types(real, values.dtype) if values.is_complex() else real)
    if values.dtype.kind != "c":
        return values.astype(like.real.dtype if like.dtype.kind == "c" else like.dtype, copy=False)
    return values.astype(np.promote_types(like.real.dtype, values.dtype), copy=False)


def data_bytes(values: Any) -> bytes:
    """Return the bytes of the values of a tensor (any dtype or device), array or array-like.

    For keys and digests: the same values of the same dtype give the same bytes, those
    of ``tensor.numpy().tobytes()`` where numpy has the dtype. A tensor of a dtype numpy
    lacks (bfloat16) is read as bytes.
    """
    if isinstance(values, torch.Tensor):
        flat = values.detach().reshape(-1).contiguous().cpu()
        return flat.view(torch.uint8).numpy().tobytes()
    return np.asarray(values).tobytes()


def from_numpy(array: np.ndarray[Any, Any]) -> torch.Tensor:
    """Return a numpy array of numbers as a tensor, sharing its memory where possible.

    Unsigned integers torch cannot compute with are widened, other byte orders and
    negative strides copied; read-only arrays are shared (fdopt never writes to them).
    """
    if array.dtype.kind == "u" and array.dtype in _WIDEN_UNSIGNED:
        array = array.astype(_WIDEN_UNSIGNED[array.dtype])
    elif array.dtype == np.uint64:
        array = array.astype(np.float64)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array)
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        # torch warns that a read-only array yields a tensor it could write to; fdopt
        # never writes to its inputs, so sharing the memory is safe.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def as_tensor(value: Any, *, name: str) -> tuple[torch.Tensor, Source]:
    """Turn a tensor, numpy array or array-like into a tensor, without copying if possible.

    Parameters
    ----------
    value : torch.Tensor, numpy.ndarray or array-like
        The input.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    tensor : torch.Tensor
        The data as a tensor (sharing memory with ``value`` where possible).
    source : Source
        What ``value`` was, to turn results back into the same kind.

    Raises
    ------
    ArgumentTypeError
        If ``value`` does not hold numbers.
    """
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            raise ArgumentTypeError(f"{name} must hold numbers; got a tensor of dtype bool")
        return value, Source(numpy=False, device=value.device)
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ArgumentTypeError(
                f"{name} must be a tensor, a numpy array or an array-like of numbers; "
                f"got {type(value).__name__}"
            ) from exc
    if array.dtype.kind == "b":
        raise ArgumentTypeError(f"{name} must hold numbers; got booleans")
    if array.dtype.kind not in "iufc":
        raise ArgumentTypeError(
            f"{name} must be a tensor, a numpy array or an array-like of numbers; "
            f"got {type(value).__name__} of dtype {array.dtype}"
        )
    tensor = from_numpy(array)
    return tensor, Source(numpy=True, device=tensor.device)
