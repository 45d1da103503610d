"""Derivatives of values sampled on a grid: ``gradient``, ``derivative``, ``laplacian``.

``gradient`` is a drop-in for ``torch.gradient`` (and, given numpy input, for
``numpy.gradient``): same results, same dtypes, same devices. It also offers interior
and boundary stencils of higher order (``accuracy``) on uniform and nonuniform grids,
and it rejects the inputs for which torch and numpy silently return wrong numbers.

Every result is written straight into its output: the uniform central difference is
one subtraction into the output and one in-place scaling, and nonuniform weights are
computed block by block, so no temporary the size of the data is made (integer input,
which is first converted to floating point, is the exception).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fdopt._tensor import as_tensor, float_dtype, is_inexact, on_cpu, real_dtype
from fdopt._validate import check_int
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.stencils import central_offsets, float_weights, nonuniform_weight_columns, weights

__all__ = ["derivative", "gradient", "laplacian"]

MAX_ACCURACY = 8
# Indices along the differentiated dimension per block of nonuniform weights: on a CPU
# the weights of one block stay in cache; on a GPU one block is the whole dimension.
_CPU_BLOCK = 1 << 14
_DEVICE_BLOCK = 1 << 24
# Bytes per buffer of the slope-form three-point derivative on a CPU (one block): the
# size of one core's L2 cache here, measured best among 1/4 .. 16 MiB.
_CPU_SLOPE_BLOCK_BYTES = 1 << 21

Weight = float | torch.Tensor


@dataclass(frozen=True)
class _Axis:
    """One differentiated dimension: uniform ``step`` or 1-D ``coords``."""

    dim: int
    size: int
    step: float
    coords: torch.Tensor | None
    label: str = "spacing"


def _check_dims(dim: Any, shape: torch.Size) -> tuple[int, ...]:
    ndim = len(shape)
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (torch.Tensor, np.ndarray)) and dim.ndim == 0:
        dim = dim.item()
    items = [dim] if isinstance(dim, (numbers.Integral, bool)) else dim
    if not isinstance(items, Sequence) and not isinstance(items, np.ndarray):
        raise ArgumentTypeError(f"dim must be None, an int or a sequence of ints; got {dim!r}")
    dims: list[int] = []
    for item in items:
        d = check_int(item, "dim")
        if not -ndim <= d < ndim:
            raise ArgumentValueError(
                f"dim {d} is out of range for values with {ndim} dimensions "
                f"(shape {tuple(shape)}); expected -{ndim} <= dim < {ndim}"
            )
        d %= ndim
        if d in dims:
            raise ArgumentValueError(f"dim names dimension {d} more than once: {dim!r}")
        dims.append(d)
    if not dims:
        raise ArgumentValueError("dim must name at least one dimension; got an empty sequence")
    return tuple(dims)


def _is_scalar(entry: Any) -> bool:
    if isinstance(entry, (torch.Tensor, np.ndarray)):
        return entry.ndim == 0
    return isinstance(entry, (numbers.Number, np.bool_))


def _scalar_step(entry: Any, name: str) -> float:
    if isinstance(entry, (torch.Tensor, np.ndarray)):
        entry = entry.item()
    if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number; got {entry!r}")
    step = float(entry)
    if not np.isfinite(step) or step == 0.0:
        raise ArgumentValueError(f"{name} must be finite and nonzero; got {step}")
    return step


def _coordinates(entry: Any, name: str, dim: int, size: int, device: torch.device) -> torch.Tensor:
    coords, _ = as_tensor(entry, name=name)
    if coords.is_complex():
        raise ArgumentTypeError(f"{name} must hold real coordinates; got dtype {coords.dtype}")
    if coords.ndim != 1:
        raise ArgumentValueError(
            f"{name} must be a scalar or a 1-D array of coordinates; "
            f"got shape {tuple(coords.shape)}"
        )
    if coords.shape[0] != size:
        raise ArgumentValueError(
            f"{name} holds {coords.shape[0]} coordinates but dimension {dim} of values "
            f"has {size} points; they must match"
        )
    return coords.to(device)


def _check_monotonic(coords: torch.Tensor, name: str, dim: int) -> None:
    # Strictly monotonic coordinates (NaN fails every comparison) are finite when their
    # two ends are: one comparison pass, no float temporaries. The host synchronisations
    # are for validation only.
    later, earlier = coords[1:], coords[:-1]
    if bool((later > earlier).all()) or bool((later < earlier).all()):
        ends = coords[[0, -1]]
        if not is_inexact(ends.dtype) or bool(torch.isfinite(ends).all()):
            return
    host = coords.detach().cpu().double().numpy()
    if not np.isfinite(host).all():
        bad = int(np.flatnonzero(~np.isfinite(host))[0])
        raise ArgumentValueError(
            f"{name} (coordinates of dimension {dim}) must be finite; entry {bad} is {host[bad]}"
        )
    steps = np.diff(host)
    bad = (
        int(np.flatnonzero(steps == 0)[0])
        if (steps == 0).any()
        else int(np.flatnonzero(np.sign(steps) != np.sign(steps[0]))[0])
    )
    raise ArgumentValueError(
        f"{name} (coordinates of dimension {dim}) must be strictly increasing or strictly "
        f"decreasing; entries {bad} and {bad + 1} are {host[bad]} and {host[bad + 1]}"
    )


def _check_axes(
    spacing: Any, dims: tuple[int, ...], values: torch.Tensor, *, dim_given: bool
) -> list[_Axis]:
    shape = values.shape
    if _is_scalar(spacing):
        step = _scalar_step(spacing, "spacing")
        return [_Axis(d, shape[d], step, None) for d in dims]
    if isinstance(spacing, (str, bytes)) or not hasattr(spacing, "__len__"):
        raise ArgumentTypeError(
            f"spacing must be a scalar or a sequence of scalars and coordinate arrays; "
            f"got {type(spacing).__name__}"
        )
    entries = list(spacing)
    if len(entries) != len(dims):
        which = f"dim={list(dims)}" if dim_given else f"all {len(dims)} dimensions of values"
        raise ArgumentValueError(
            f"spacing has {len(entries)} entries but {len(dims)} dimensions are "
            f"differentiated ({which}, shape {tuple(shape)}); give one scalar or one "
            f"coordinate array per dimension (coordinates of one dimension go in a "
            f"list: spacing=[x])"
        )
    axes = []
    for i, (d, entry) in enumerate(zip(dims, entries, strict=True)):
        name = f"spacing[{i}]"
        if _is_scalar(entry):
            axes.append(_Axis(d, shape[d], _scalar_step(entry, name), None))
        else:
            coords = _coordinates(entry, name, d, shape[d], values.device)
            axes.append(_Axis(d, shape[d], 1.0, coords, "spacing" if len(dims) == 1 else name))
    return axes


def _edge_points(deriv: int, accuracy: int, edge_order: int) -> int:
    """Points of the one-sided boundary stencils (order ``edge_order`` at accuracy 2)."""
    return deriv + (edge_order if accuracy == 2 else accuracy)


def _check_sizes(axes: list[_Axis], points: int, deriv: int, accuracy: int) -> None:
    for axis in axes:
        if axis.size < points:
            raise ArgumentValueError(
                f"dimension {axis.dim} of values has {axis.size} points; a derivative of "
                f"order {deriv} with accuracy={accuracy} and these edge stencils needs at "
                f"least {points}"
            )


def _check_options(edge_order: Any, accuracy: Any) -> tuple[int, int]:
    edge = check_int(edge_order, "edge_order")
    if edge not in (1, 2):
        raise ArgumentValueError(f"edge_order must be 1 or 2; got {edge}")
    acc = check_int(accuracy, "accuracy", minimum=2, maximum=MAX_ACCURACY)
    if acc % 2:
        raise ArgumentValueError(f"accuracy must be even (2, 4, 6 or 8); got {acc}")
    return edge, acc


def _out_dtype(values: torch.Tensor, axis: _Axis, *, numpy_rules: bool) -> torch.dtype:
    base = float_dtype(values.dtype, numpy_rules=numpy_rules)
    if axis.coords is None or numpy_rules:
        return base
    # torch.gradient promotes the values with the coordinates' dtype; integer
    # coordinates give weights of the default dtype.
    if axis.coords.dtype.is_floating_point:
        return torch.promote_types(values.dtype, axis.coords.dtype)
    return torch.promote_types(base, torch.get_default_dtype())


def _combine(out: torch.Tensor, sources: list[torch.Tensor], coefs: list[Weight]) -> None:
    """``out = sum(c * s)``, written into ``out`` with no temporary of its size.

    When autograd must see the computation (a source or weight requires grad), the sum is formed
    out of place and copied into ``out``, which autograd records.
    """
    terms = [
        (s, c)
        for s, c in zip(sources, coefs, strict=True)
        if not (isinstance(c, float) and c == 0.0)
    ]
    if torch.is_grad_enabled() and any(
        s.requires_grad or (isinstance(c, torch.Tensor) and c.requires_grad) for s, c in terms
    ):
        out.copy_(sum(s * c for s, c in terms))  # type: ignore[arg-type]
        return
    (first, c0), rest = terms[0], terms[1:]
    last, c_last = rest[-1] if rest else (first, c0)
    if (
        isinstance(c0, float)
        and isinstance(c_last, float)
        and rest
        and c_last == -c0
        and (first.dtype == out.dtype)
    ):
        # An antisymmetric pair: difference first, so that equal values cancel exactly.
        torch.sub(last, first, out=out)
        out.mul_(c_last)
        rest = rest[:-1]
    elif isinstance(c0, float) and first.dtype != out.dtype:
        # A float times a tensor is formed in that tensor's dtype (the default dtype for
        # integers), which may be narrower than the result's: convert first.
        out.copy_(first).mul_(c0)
    else:
        torch.mul(first, c0, out=out)
    for source, coef in rest:
        if isinstance(coef, float):
            out.add_(source, alpha=coef)
        else:
            out.addcmul_(source, coef)


def _edge_weights(
    axis: _Axis, deriv: int, start: int, local: range, points: int, dtype: torch.dtype
) -> Sequence[Sequence[Weight]]:
    """Weights of the boundary stencils on nodes ``start .. start+points-1``.

    Floats, for a uniform axis and for coordinates autograd need not follow: those few
    coordinates are read to the host once (on a GPU, the weights as tensors took some
    fifty launches of one-element kernels per edge).
    """
    if axis.coords is None:
        scale = axis.step**-deriv
        return [[w * scale for w in weights(deriv, [j - i for j in range(points)])] for i in local]
    if not (torch.is_grad_enabled() and axis.coords.requires_grad):
        nodes = axis.coords[start : start + points].tolist()
        return [float_weights(deriv, [x - nodes[i] for x in nodes]) for i in local]
    x = axis.coords[start : start + points].to(torch.float64)
    rows = x[list(local)]
    columns = [
        w.to(dtype) for w in nonuniform_weight_columns(deriv, [x[j] - rows for j in range(points)])
    ]
    return [[column[r : r + 1] for column in columns] for r in range(len(local))]


def _slope_form(values: torch.Tensor, axis: _Axis, deriv: int, accuracy: int) -> bool:
    """Whether ``axis`` takes :func:`_slope_average`: 1-D-like data, 3-point first derivative."""
    return (
        axis.coords is not None
        and (deriv, accuracy) == (1, 2)
        and axis.size > 2
        and values.numel() == axis.size
    )


def _slope_average(
    out: torch.Tensor, src: torch.Tensor, axis: _Axis, weight_dtype: torch.dtype
) -> None:
    """Three-point nonuniform first derivative at the interior points, in slope form.

    ``f'(x_i) ~ (h2 * s1 + h1 * s2) / (h1 + h2) = lerp(s1, s2, h1 / (h1 + h2))`` with
    ``s1, s2`` the slopes of the intervals of lengths ``h1, h2`` left and right of
    ``x_i``: the stencil of ``torch.gradient`` and ``numpy.gradient``, with the
    differences taken first (fewer operations, and equal neighbours cancel exactly).
    For data along one dimension only (every other dimension of size 1). On a CPU the
    work goes block by block through three block-sized buffers used again by every
    block, and each block of the result is one ``lerp`` written into it: seven passes
    over a block in cache. The coordinates are validated from the same differences
    (one pass fewer over them).
    """
    n, coords = axis.size, axis.coords
    assert coords is not None
    values, result = src.reshape(n), out.view(n)
    # Autograd records no out= arguments: then one block of fresh temporaries.
    grad = torch.is_grad_enabled() and (src.requires_grad or coords.requires_grad)
    cpu = on_cpu(src.device) and not grad
    block = _CPU_SLOPE_BLOCK_BYTES // out.element_size() if cpu else n
    # Floating coordinates are differenced in their own precision (as torch and numpy
    # do), integer ones in float64 so that they cannot wrap around; the weights are
    # formed in the precision of the result (and its dtype, complex for complex values:
    # lerp takes weights of its inputs' dtype).
    exact = coords.dtype if coords.is_floating_point() else torch.float64
    starts = range(1, n - 1, block)
    extremes = torch.empty(2, len(starts), dtype=exact, device=out.device)
    # Steps, slopes and weights of one block (None: fresh temporaries).
    buffers = [
        None if grad else torch.empty(min(block, n - 2) + 1, dtype=dtype, device=out.device)
        for dtype in (weight_dtype, out.dtype, out.dtype)
    ]
    for k, lo in enumerate(starts):
        size = min(block, n - 1 - lo)
        steps, slopes, weights = (None if b is None else b[: size + 1] for b in buffers)
        x = coords[lo - 1 : lo + size + 1].to(exact)
        h = torch.sub(x[1:], x[:-1], out=steps if exact == weight_dtype else None)
        torch.aminmax(h.detach(), out=(extremes[0, k], extremes[1, k]))
        h = h.to(weight_dtype)
        h1, h2 = h[:-1], h[1:]
        w = torch.add(h1, h2, out=None if weights is None else weights[:size])
        w = torch.div(h1, w, out=None if weights is None else weights[:size]).to(out.dtype)
        v = values[lo - 1 : lo + size + 1].to(out.dtype)
        s = torch.sub(v[1:], v[:-1], out=slopes)
        s = torch.div(s, h, out=slopes)
        target = result[lo : lo + size]
        slope = torch.lerp(s[:-1], s[1:], w, out=None if grad else target)
        if grad:
            target.copy_(slope)
    # Strictly monotonic and finite: every step finite and of one sign.
    low, high = extremes[0].amin(), extremes[1].amax()
    if not bool(torch.isfinite(low) & torch.isfinite(high) & ((low > 0) | (high < 0))):
        _check_monotonic(coords, axis.label, axis.dim)  # raises, naming the offending entries


def _apply(
    values: torch.Tensor,
    axis: _Axis,
    deriv: int,
    accuracy: int,
    edge_order: int,
    out_dtype: torch.dtype,
) -> torch.Tensor:
    d, n = axis.dim, axis.size
    out = torch.empty(values.shape, dtype=out_dtype, device=values.device)
    offsets = central_offsets(deriv, accuracy)
    half = len(offsets) // 2
    points = _edge_points(deriv, accuracy, edge_order)
    weight_dtype = real_dtype(out_dtype)
    interior = n - 2 * half
    if interior > 0 and axis.coords is None:
        scale = axis.step**-deriv
        coefs: list[Weight] = [w * scale for w in weights(deriv, offsets)]
        sources = [values.narrow(d, half + j, interior) for j in offsets]
        _combine(out.narrow(d, half, interior), sources, coefs)
    elif _slope_form(values, axis, deriv, accuracy):
        _slope_average(out, values, axis, weight_dtype)
    elif interior > 0 and axis.coords is not None:
        block = _CPU_BLOCK if on_cpu(values.device) else _DEVICE_BLOCK
        shape = [1] * values.ndim
        for lo in range(half, n - half, block):
            size = min(block, n - half - lo)
            x = axis.coords[lo - half : lo + size + half].to(torch.float64)
            centre = x[half : half + size]
            nodes = [x[half + j : half + j + size] - centre if j else 0 for j in offsets]
            shape[d] = size
            coefs = [
                w.to(weight_dtype).reshape(shape) for w in nonuniform_weight_columns(deriv, nodes)
            ]
            sources = [values.narrow(d, lo + j, size) for j in offsets]
            _combine(out.narrow(d, lo, size), sources, coefs)
    shape = [1] * values.ndim
    for start, local in ((0, range(half)), (n - points, range(points - half, points))):
        table_rows = _edge_weights(axis, deriv, start, local, points, weight_dtype)
        sources = [values.narrow(d, start + j, 1) for j in range(points)]
        for i, row in zip(local, table_rows, strict=True):
            coefs = [c if isinstance(c, float) else c.reshape(shape) for c in row]
            _combine(out.narrow(d, start + i, 1), sources, coefs)
    return out


def _prepare(
    values: Any, spacing: Any, dim: Any, edge_order: Any, accuracy: Any, deriv: int
) -> tuple[torch.Tensor, Any, list[tuple[_Axis, torch.dtype]], int, int]:
    tensor, source = as_tensor(values, name="values")
    if tensor.ndim == 0:
        raise ArgumentValueError("values must have at least one dimension; got a scalar")
    dims = _check_dims(dim, tensor.shape)
    edge, acc = _check_options(edge_order, accuracy)
    axes = _check_axes(spacing, dims, tensor, dim_given=dim is not None)
    _check_sizes(axes, _edge_points(deriv, acc, edge), deriv, acc)
    for axis in axes:
        # The slope form validates its coordinates as it differences them.
        if axis.coords is not None and not _slope_form(tensor, axis, deriv, acc):
            _check_monotonic(axis.coords, axis.label, axis.dim)
    # Result dtypes follow the input's dtype; integers are converted to floating point
    # once here (not once per differentiated dimension).
    plan = [(axis, _out_dtype(tensor, axis, numpy_rules=source.numpy)) for axis in axes]
    if not is_inexact(tensor.dtype):
        tensor = tensor.to(float_dtype(tensor.dtype, numpy_rules=source.numpy))
    return tensor, source, plan, edge, acc


def gradient(
    values: Any,
    *,
    spacing: Any = 1,
    dim: int | Sequence[int] | None = None,
    edge_order: int = 1,
    accuracy: int = 2,
) -> tuple[Any, ...]:
    """Estimate the gradient of sampled values by finite differences.

    A drop-in for ``torch.gradient`` (tensor in, tensors out, same dtypes and device)
    and for ``numpy.gradient`` (numpy array or array-like in, numpy arrays out), with
    interior stencils of any even order and stricter checks of the input.

    Parameters
    ----------
    values : torch.Tensor, numpy.ndarray or array-like
        Samples of a function on a grid, at least 1-D. Integers are differenced in
        floating point (no wrap-around).
    spacing : scalar or sequence, default 1
        One scalar step for every differentiated dimension, or one entry per
        differentiated dimension: a scalar step or a 1-D array of strictly monotonic
        coordinates of the same length as that dimension. Scalars and coordinate
        arrays may be mixed.
    dim : int, sequence of int or None, default None
        Dimensions to differentiate; None means all of them.
    edge_order : {1, 2}, default 1
        Order of the one-sided stencils at the boundaries when ``accuracy=2``.
    accuracy : {2, 4, 6, 8}, default 2
        Order of accuracy of the interior stencils; with ``accuracy > 2`` the boundary
        stencils have the same order, so the whole result converges at that order.
        ``accuracy=2`` is exactly ``torch.gradient``'s scheme.

    Returns
    -------
    tuple
        One derivative per differentiated dimension, each of the shape of ``values``.
        dtypes follow ``torch.gradient`` for tensors (integers become the default
        dtype; coordinates take part in type promotion) and ``numpy.gradient`` for
        numpy input (float dtypes kept, integers become float64).

    Raises
    ------
    ArgumentValueError
        (a ``ValueError`` and a ``RuntimeError``) for a dimension out of range or named
        twice, a spacing/dim length mismatch, coordinates of the wrong length, not
        finite or not strictly monotonic, a zero or non-finite step, too few points in a
        differentiated dimension, an edge_order other than 1 or 2, or an accuracy that
        is not even in 2..8.
    ArgumentTypeError
        (a ``TypeError`` and a ``RuntimeError``) for arguments of the wrong type.

    Notes
    -----
    With coordinate arrays, validating them needs one host synchronisation on a GPU.

    Examples
    --------
    >>> import numpy as np
    >>> gradient(np.array([1.0, 2.0, 4.0, 8.0]))
    (array([1. , 1.5, 3. , 4. ]),)
    >>> gradient(np.array([1.0, 2.0, 4.0, 8.0]), spacing=[np.array([0.0, 1.0, 1.5, 3.5])])
    (array([1. , 3. , 3.6, 2. ]),)
    """
    tensor, source, plan, edge, acc = _prepare(values, spacing, dim, edge_order, accuracy, 1)
    return tuple(source.wrap(_apply(tensor, axis, 1, acc, edge, dtype)) for axis, dtype in plan)


def derivative(
    values: Any,
    order: int = 1,
    *,
    spacing: Any = 1,
    dim: int = -1,
    edge_order: int = 1,
    accuracy: int = 2,
) -> Any:
    """Estimate the ``order``-th derivative of sampled values along one dimension.

    Parameters
    ----------
    values : torch.Tensor, numpy.ndarray or array-like
        Samples of a function on a grid, at least 1-D.
    order : int, default 1
        The derivative order, >= 1.
    spacing : scalar or 1-D array, default 1
        The step, or strictly monotonic coordinates along ``dim``.
    dim : int, default -1
        The dimension to differentiate.
    edge_order : {1, 2}, default 1
        Order of the boundary stencils when ``accuracy=2``.
    accuracy : {2, 4, 6, 8}, default 2
        Order of accuracy of every stencil (interior; boundaries too when > 2).

    Returns
    -------
    torch.Tensor or numpy.ndarray
        The derivative, of the shape of ``values``, of the kind given.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError
        As for :func:`gradient`.

    Examples
    --------
    >>> import numpy as np
    >>> derivative(np.array([0.0, 1.0, 4.0, 9.0, 16.0]), 2)
    array([2., 2., 2., 2., 2.])
    """
    deriv = check_int(order, "order", minimum=1)
    entry = spacing if _is_scalar(spacing) else [spacing]
    tensor, source, plan, edge, acc = _prepare(values, entry, [dim], edge_order, accuracy, deriv)
    ((axis, dtype),) = plan
    return source.wrap(_apply(tensor, axis, deriv, acc, edge, dtype))


def laplacian(
    values: Any,
    *,
    spacing: Any = 1,
    dim: int | Sequence[int] | None = None,
    edge_order: int = 1,
    accuracy: int = 2,
) -> Any:
    """Estimate the Laplacian (sum of second derivatives) of sampled values.

    Parameters
    ----------
    values : torch.Tensor, numpy.ndarray or array-like
        Samples of a function on a grid, at least 1-D.
    spacing, dim, edge_order, accuracy
        As for :func:`gradient`.

    Returns
    -------
    torch.Tensor or numpy.ndarray
        The Laplacian over the dimensions ``dim``, of the shape of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(5.0)
    >>> laplacian(x[:, None] ** 2 + x[None, :] ** 2)[2, 2]
    np.float64(4.0)
    """
    tensor, source, plan, edge, acc = _prepare(values, spacing, dim, edge_order, accuracy, 2)
    terms = (_apply(tensor, axis, 2, acc, edge, dtype) for axis, dtype in plan)
    total = next(terms)
    for term in terms:
        total = total.add_(term) if term.dtype == total.dtype else total + term
    return source.wrap(total)
