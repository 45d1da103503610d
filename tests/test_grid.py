"""Tests of fdopt.grid: ``gradient``, ``derivative`` and ``laplacian``.

Oracles, independent of fdopt's own weights:

- ``torch.gradient`` and ``numpy.gradient`` (parity at ``accuracy=2``), on random
  shapes, dims, spacings, coordinates and dtypes drawn by hypothesis;
- analytic derivatives of a smooth function, and the observed order of convergence
  when the grid spacing is halved;
- polynomials, which a stencil of order ``p`` differentiates exactly;
- published finite-difference formulas.

Values computed by different but equivalent formulas differ by rounding, so
comparisons use ``|actual - expected| <= rel * (scale + |expected|)`` with
``scale = max|values| / min spacing`` (the size of a difference quotient) and ``rel``
set by the least precise dtype involved.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import fdopt

# --------------------------------------------------------------------------------------
# helpers

REL_TOL = {
    torch.float64: 1e-12,
    torch.float32: 1e-5,
    torch.float16: 1e-2,
    torch.bfloat16: 4e-2,
}

FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
COMPLEX_DTYPES = [torch.complex64, torch.complex128]
INT_DTYPES = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64]


def _torch_dtype(dtype):
    """torch dtype of a torch or numpy dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def is_inexact(dtype):
    return dtype.is_floating_point or dtype.is_complex


def rel_tol(*dtypes):
    """Relative tolerance of the least precise inexact dtype among ``dtypes``."""
    tols = []
    for dtype in dtypes:
        d = _torch_dtype(dtype)
        if d.is_complex:
            d = torch.empty((), dtype=d).real.dtype
        if d.is_floating_point:
            tols.append(REL_TOL[d])
    return max(tols)


def min_step(entry):
    """Smallest |step| of a scalar spacing or a coordinate array (in float64)."""
    if isinstance(entry, torch.Tensor):
        entry = entry.cpu().double().numpy()
    if np.ndim(entry) == 1:
        return float(np.abs(np.diff(np.asarray(entry, dtype=np.float64))).min())
    return abs(float(entry))


def as_cpu_wide(x):
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.array(x))
    return t.to(torch.complex128) if t.is_complex() else t.to(torch.float64)


def assert_scaled_close(actual, expected, *, rel, scale, what=""):
    a, e = as_cpu_wide(actual), as_cpu_wide(expected)
    assert a.shape == e.shape, f"{what}: shape {tuple(a.shape)} != {tuple(e.shape)}"
    if a.numel() == 0:
        return
    assert torch.isfinite(a).all(), f"{what}: non-finite result {a}"
    err = (a - e).abs()
    bound = rel * (scale + e.abs())
    worst = int((err - bound).argmax())
    assert (err <= bound).all(), (
        f"{what}: |actual - expected| = {err.flatten()[worst].item():.3g} exceeds "
        f"{bound.flatten()[worst].item():.3g} (rel={rel}, scale={scale:.3g}) at flat index "
        f"{worst}: actual {a.flatten()[worst].item()}, expected {e.flatten()[worst].item()}"
    )


def max_abs(values):
    t = as_cpu_wide(values)
    return t.abs().max().item() if t.numel() else 0.0


def as_tuple(result):
    """numpy.gradient returns a bare array for a single axis: make it a tuple."""
    if isinstance(result, (list, tuple)):
        return tuple(result)
    return (result,)


def random_values(gen, shape, dtype):
    if dtype.is_complex:
        real = torch.randn(shape, generator=gen, dtype=torch.float64)
        imag = torch.randn(shape, generator=gen, dtype=torch.float64)
        return torch.complex(real, imag).to(dtype)
    if dtype.is_floating_point:
        scale = 10 ** (torch.rand((), generator=gen).item() * 2 - 1)
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)
    low, high = (0, 256) if dtype == torch.uint8 else (-100, 101)
    return torch.randint(low, high, shape, generator=gen, dtype=torch.int64).to(dtype)


def random_coords(gen, n, dtype, *, decreasing):
    """Strictly monotonic coordinates: a random start plus cumulative random steps."""
    if dtype.is_floating_point:
        steps = 0.1 + 0.9 * torch.rand(n - 1, generator=gen, dtype=torch.float64)
        start = 4 * torch.rand((), generator=gen, dtype=torch.float64).item() - 2
        x = torch.cat([torch.zeros(1, dtype=torch.float64), steps.cumsum(0)]) + start
    else:
        steps = torch.randint(1, 6, (n - 1,), generator=gen)
        start = int(torch.randint(-5, 6, (), generator=gen).item())
        x = torch.cat([torch.zeros(1, dtype=torch.int64), steps.cumsum(0)]) + start
    if decreasing:
        x = -x
    return x.to(dtype)


# --------------------------------------------------------------------------------------
# parity with torch.gradient


@st.composite
def grid_cases(draw, *, mixed=False):
    """A random call: shape, dims, edge_order, spacing kind, dtypes and a seed."""
    edge_order = draw(st.sampled_from([1, 2]))
    ndim = draw(st.integers(1, 4))
    max_size = {1: 12, 2: 12, 3: 8, 4: 6}[ndim]
    dim_kind = draw(st.sampled_from(["none", "int", "list"]))
    if dim_kind == "none":
        dims, dim_arg = list(range(ndim)), None
    elif dim_kind == "int":
        dim_arg = draw(st.integers(-ndim, ndim - 1))
        dims = [dim_arg % ndim]
    else:
        order = draw(st.permutations(range(ndim)))
        dims = list(order[: draw(st.integers(1, ndim))])
        dim_arg = [d - ndim if draw(st.booleans()) else d for d in dims]
    shape = []
    for i in range(ndim):
        if i in dims:
            shape.append(draw(st.integers(edge_order + 1, max_size)))
        else:  # batch dims: often of size 1, sometimes empty
            shape.append(draw(st.one_of(st.just(1), st.integers(0, max_size))))
    kinds = ["default", "scalar", "scalars", "coords"] + (["mixed"] if mixed else [])
    spacing_kind = draw(st.sampled_from(kinds))
    coord_dtypes = [
        draw(
            st.sampled_from(
                [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64]
            )
        )
        for _ in dims
    ]
    decreasing = [draw(st.booleans()) for _ in dims]
    is_coords = [
        spacing_kind == "coords" or (spacing_kind == "mixed" and draw(st.booleans())) for _ in dims
    ]
    steps = [draw(st.floats(0.2, 3.0)) * draw(st.sampled_from([1, -1])) for _ in dims]
    return {
        "edge_order": edge_order,
        "shape": tuple(shape),
        "dims": dims,
        "dim_arg": dim_arg,
        "spacing_kind": spacing_kind,
        "coord_dtypes": coord_dtypes,
        "decreasing": decreasing,
        "is_coords": is_coords,
        "steps": steps,
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def build_torch_spacing(case, gen):
    """The spacing argument of a case, as fdopt and torch.gradient take it."""
    kind = case["spacing_kind"]
    if kind == "default":
        return None
    if kind == "scalar":
        return case["steps"][0]
    entries = []
    for d, dtype, dec, is_coord, step in zip(
        case["dims"],
        case["coord_dtypes"],
        case["decreasing"],
        case["is_coords"],
        case["steps"],
        strict=True,
    ):
        if kind == "scalars" or (kind == "mixed" and not is_coord):
            entries.append(step)
        else:
            entries.append(random_coords(gen, case["shape"][d], dtype, decreasing=dec))
    return entries


def _kwargs(spacing, dim, edge_order):
    kwargs = {"edge_order": edge_order}
    if spacing is not None:
        kwargs["spacing"] = spacing
    if dim is not None:
        kwargs["dim"] = dim
    return kwargs


def torch_reference(values, spacing, dim, edge_order):
    """torch.gradient, made to difference integers in floating point like fdopt.

    Returns the expected tuple and the dtypes torch.gradient itself gives (for
    integers: the dtypes of torch.gradient on the raw integer tensor, which wraps).
    """
    kwargs = _kwargs(spacing, dim, edge_order)
    if values.dtype.is_floating_point or values.dtype.is_complex:
        expected = torch.gradient(values, **kwargs)
        return expected, [e.dtype for e in expected]
    # torch.gradient rejects uint8 outright; its promotion rules are those of any integer.
    raw = values if values.dtype != torch.uint8 else values.to(torch.int16)
    dtypes = [e.dtype for e in torch.gradient(raw, **kwargs)]
    assert len(set(dtypes)) == 1 or spacing is not None
    if isinstance(spacing, list):
        expected = tuple(
            torch.gradient(values.to(dt), spacing=[s], dim=d, edge_order=edge_order)[0]
            for dt, s, d in zip(
                dtypes,
                spacing,
                dim
                if isinstance(dim, list)
                else ([dim] if dim is not None else range(values.ndim)),
                strict=True,
            )
        )
    else:
        expected = torch.gradient(values.to(dtypes[0]), **kwargs)
    return expected, dtypes


def check_against_torch(values, spacing, dim, edge_order, dims):
    """Compare fdopt.gradient with torch.gradient for one call."""
    before = values.clone()
    coords_before = [
        s.clone() if isinstance(s, torch.Tensor) else s
        for s in (spacing if isinstance(spacing, list) else [])
    ]
    got = fdopt.gradient(values, **_kwargs(spacing, dim, edge_order))
    assert torch.equal(values, before)
    for s, b in zip(spacing if isinstance(spacing, list) else [], coords_before, strict=True):
        if isinstance(s, torch.Tensor):
            assert torch.equal(s, b)
    expected, torch_dtypes = torch_reference(values, spacing, dim, edge_order)
    assert isinstance(got, tuple)
    assert len(got) == len(expected) == len(dims)
    entries = (
        spacing if isinstance(spacing, list) else [1.0 if spacing is None else spacing] * len(dims)
    )
    for i, (g, e, tdt, entry) in enumerate(zip(got, expected, torch_dtypes, entries, strict=True)):
        what = f"output {i} (dim {dims[i]}, values {values.dtype}, shape {tuple(values.shape)})"
        assert isinstance(g, torch.Tensor), what
        assert g.shape == values.shape, what
        assert g.device == values.device, what
        assert g.dtype == tdt, f"{what}: dtype {g.dtype}, torch.gradient gives {tdt}"
        assert g.dtype == e.dtype, what
        dtypes = [values.dtype, g.dtype]
        if isinstance(entry, torch.Tensor):
            # torch.gradient computes weights in the coordinates' dtype (for integers: in
            # the default dtype), so the reference is only as precise as that.
            dtypes.append(entry.dtype if is_inexact(entry.dtype) else torch.get_default_dtype())
        scale = max_abs(values) / min_step(entry)
        assert_scaled_close(g, e, rel=rel_tol(*dtypes), scale=scale, what=what)


VALUE_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES + INT_DTYPES


class TestTorchParity:
    @given(grid_cases(), st.sampled_from(VALUE_DTYPES))
    def test_matches_torch_gradient(self, case, dtype):
        gen = torch.Generator().manual_seed(case["seed"])
        values = random_values(gen, case["shape"], dtype)
        spacing = build_torch_spacing(case, gen)
        check_against_torch(values, spacing, case["dim_arg"], case["edge_order"], case["dims"])

    @given(grid_cases(mixed=True), st.sampled_from([torch.float32, torch.float64]))
    def test_mixed_scalars_and_coordinates(self, case, dtype):
        # torch.gradient cannot mix scalars and coordinates: compare dim by dim.
        gen = torch.Generator().manual_seed(case["seed"])
        values = random_values(gen, case["shape"], dtype)
        spacing = build_torch_spacing(case, gen)
        assume(isinstance(spacing, list))
        got = fdopt.gradient(
            values, spacing=spacing, dim=case["dim_arg"], edge_order=case["edge_order"]
        )
        assert len(got) == len(case["dims"])
        for g, d, entry in zip(got, case["dims"], spacing, strict=True):
            (e,) = torch.gradient(values, spacing=[entry], dim=d, edge_order=case["edge_order"])
            assert g.dtype == e.dtype
            dtypes = [values.dtype]
            if isinstance(entry, torch.Tensor):
                inexact = is_inexact(entry.dtype)
                dtypes.append(entry.dtype if inexact else torch.get_default_dtype())
            scale = max_abs(values) / min_step(entry)
            assert_scaled_close(g, e, rel=rel_tol(*dtypes), scale=scale, what=f"dim {d}")

    @pytest.mark.parametrize("accuracy", [2, None])
    def test_accuracy_two_is_the_default(self, accuracy):
        gen = torch.Generator().manual_seed(0)
        values = torch.randn(6, 7, generator=gen, dtype=torch.float64)
        x = random_coords(gen, 7, torch.float64, decreasing=False)
        kwargs = {} if accuracy is None else {"accuracy": accuracy}
        got = fdopt.gradient(values, spacing=[0.5, x], **kwargs)
        expected = torch.gradient(values, spacing=[torch.arange(6) * 0.5, x])
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)

    def test_int8_no_wraparound(self):
        values = torch.tensor([-100, 100, -100], dtype=torch.int8)
        # torch.gradient differences in int8 and wraps around: [-56, 0, 56].
        assert torch.gradient(values)[0].tolist() == [-56.0, 0.0, 56.0]
        (got,) = fdopt.gradient(values)
        assert got.dtype == torch.get_default_dtype()
        assert got.tolist() == [200.0, 0.0, -200.0]

    def test_int8_no_wraparound_numpy(self):
        values = np.array([-100, 100, -100], dtype=np.int8)
        (got,) = fdopt.gradient(values)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [200.0, 0.0, -200.0])

    def test_uint8_tensor_differenced_in_float(self):
        values = torch.tensor([0, 255, 0, 255], dtype=torch.uint8)
        (got,) = fdopt.gradient(values)
        assert got.dtype == torch.get_default_dtype()
        assert got.tolist() == [255.0, 0.0, 0.0, 255.0]

    def test_default_dtype_followed(self):
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            (got,) = fdopt.gradient(torch.tensor([1, 2, 4]))
            (expected,) = torch.gradient(torch.tensor([1, 2, 4]))
        finally:
            torch.set_default_dtype(old)
        assert got.dtype == expected.dtype == torch.float64

    @pytest.mark.parametrize(
        "values_dtype",
        [torch.int8, torch.int32, torch.int64, *FLOAT_DTYPES, *COMPLEX_DTYPES],
        ids=str,
    )
    @pytest.mark.parametrize(
        "coords_dtype",
        [
            torch.float16,
            torch.bfloat16,
            torch.float32,
            torch.float64,
            torch.int8,
            torch.uint8,
            torch.int32,
            torch.int64,
        ],
        ids=str,
    )
    def test_dtype_promotion_with_coordinates(self, values_dtype, coords_dtype):
        values = torch.tensor([0, 3, 6, 9, 12]).to(values_dtype)
        coords = torch.tensor([0, 1, 3, 4, 7]).to(coords_dtype)
        (expected,) = torch.gradient(values, spacing=[coords])
        (got,) = fdopt.gradient(values, spacing=[coords])
        assert got.dtype == expected.dtype

    @pytest.mark.parametrize("values_dtype", [*FLOAT_DTYPES, *COMPLEX_DTYPES, torch.int64], ids=str)
    def test_dtype_with_scalar_spacing(self, values_dtype):
        values = torch.tensor([0, 3, 6, 9, 12]).to(values_dtype)
        for spacing in (2, 2.5, [2.5]):
            (expected,) = torch.gradient(values, spacing=spacing)
            (got,) = fdopt.gradient(values, spacing=spacing)
            assert got.dtype == expected.dtype

    def test_decreasing_coordinates(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0], dtype=torch.float64)
        x = torch.tensor([3.0, 2.5, 1.0, 0.0, -2.0], dtype=torch.float64)
        for edge_order in (1, 2):
            (got,) = fdopt.gradient(values, spacing=[x], edge_order=edge_order)
            (expected,) = torch.gradient(values, spacing=[x], edge_order=edge_order)
            torch.testing.assert_close(got, expected, rtol=1e-13, atol=1e-13)
            np.testing.assert_allclose(
                got.numpy(),
                np.gradient(values.numpy(), x.numpy(), edge_order=edge_order),
                rtol=1e-13,
            )

    def test_negative_scalar_spacing(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0])
        (got,) = fdopt.gradient(values, spacing=-2.0)
        (expected,) = torch.gradient(values, spacing=-2.0)
        torch.testing.assert_close(got, expected)

    def test_batch_dims_of_size_one_and_zero(self):
        for shape in [(1, 5), (0, 5), (1, 0, 5), (3, 1, 5)]:
            values = torch.ones(shape).cumsum(-1)
            (got,) = fdopt.gradient(values, dim=-1)
            (expected,) = torch.gradient(values, dim=-1)
            assert got.shape == values.shape
            torch.testing.assert_close(got, expected)
            (got,) = fdopt.gradient(values, dim=-1, spacing=[torch.arange(5.0) ** 2])
            (expected,) = torch.gradient(values, dim=-1, spacing=[torch.arange(5.0) ** 2])
            torch.testing.assert_close(got, expected)

    def test_scalar_tensor_and_numpy_scalar_spacing(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0])
        (expected,) = torch.gradient(values, spacing=0.5)
        for spacing in (torch.tensor(0.5), np.float32(0.5), [torch.tensor(0.5)], [np.float64(0.5)]):
            (got,) = fdopt.gradient(values, spacing=spacing)
            torch.testing.assert_close(got, expected)

    def test_dim_as_tuple_and_numpy_int(self):
        values = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1))
        expected = torch.gradient(values, dim=[2, 0])
        for dim in ((2, 0), [np.int64(2), np.int64(0)], [-1, -3]):
            got = fdopt.gradient(values, dim=dim)
            for g, e in zip(got, expected, strict=True):
                torch.testing.assert_close(g, e)

    def test_outputs_are_fresh(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0])
        (got,) = fdopt.gradient(values)
        got += 1
        assert values.tolist() == [1.0, 2.0, 4.0, 8.0]

    def test_requires_grad_input(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0], requires_grad=True)
        (got,) = fdopt.gradient(values)
        (expected,) = torch.gradient(values.detach())
        torch.testing.assert_close(got.detach(), expected)

    @pytest.mark.parametrize("edge_order", [1, 2])
    @pytest.mark.parametrize("shape", [(6,), (6, 3)])
    def test_autograd_follows_coordinates(self, edge_order, shape):
        # The edge weights of a coordinate grid are read to the host unless autograd must
        # follow the coordinates: then their gradient matches torch.gradient's.
        generator = torch.Generator().manual_seed(1)
        values = torch.randn(shape, dtype=torch.float64, generator=generator)
        steps = torch.rand(6, dtype=torch.float64, generator=generator) + 0.5
        grads = []
        for gradient in (fdopt.gradient, torch.gradient):
            coords = torch.cumsum(steps, 0).requires_grad_()
            (out,) = gradient(values, spacing=[coords], dim=0, edge_order=edge_order)
            (out * torch.arange(out.numel()).reshape(shape)).sum().backward()
            grads.append((out.detach(), coords.grad))
        (ours, our_grad), (theirs, their_grad) = grads
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(our_grad, their_grad, rtol=1e-10, atol=1e-12)
        assert our_grad[0] != 0  # the edges' weights are followed too
        assert our_grad[-1] != 0

    @pytest.mark.parametrize("dtype", [torch.int8, torch.int64])
    def test_integer_values_on_float64_coordinates_stay_in_float64(self, dtype):
        # A float weight times integers is formed in the default dtype (float32) unless
        # the integers are converted first; the result's dtype is float64 here.
        values = torch.tensor([[-84, 17], [3, 100], [55, -9]], dtype=dtype)
        coords = torch.tensor([0.0, 0.37, 1.91], dtype=torch.float64)
        for edge_order in (1, 2):
            (ours,) = fdopt.gradient(values, spacing=[coords], dim=0, edge_order=edge_order)
            (theirs,) = torch.gradient(values, spacing=[coords], dim=0, edge_order=edge_order)
            assert ours.dtype == theirs.dtype == torch.float64
            torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)


# --------------------------------------------------------------------------------------
# parity with numpy.gradient


NP_VALUE_DTYPES = [
    np.float64,
    np.float32,
    np.float16,
    np.complex128,
    np.complex64,
    np.int64,
    np.int32,
    np.int8,
    np.uint8,
]
NP_COORD_DTYPES = [np.float64, np.float32, np.int64, np.int32, np.uint8, np.uint16]


def numpy_coords(rng, n, dtype, *, decreasing):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        x = rng.uniform(-2, 2) + np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 1.0, n - 1))])
    elif dtype == np.uint8:  # up to 10 + 11 * 20 = 230: no overflow, wide steps
        x = rng.integers(0, 11) + np.concatenate([[0], np.cumsum(rng.integers(1, 21, n - 1))])
    elif dtype == np.uint16:  # large values: differences must not wrap
        x = rng.integers(0, 100) + np.concatenate([[0], np.cumsum(rng.integers(1, 5000, n - 1))])
    else:
        x = rng.integers(-5, 6) + np.concatenate([[0], np.cumsum(rng.integers(1, 6, n - 1))])
    x = x.astype(dtype)
    return x[::-1] if decreasing else x  # reversed: also a negatively strided array


def numpy_values(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 10 ** rng.uniform(-1, 1)).astype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, 256, shape).astype(dtype)
    return rng.integers(-100, 101, shape).astype(dtype)


@st.composite
def numpy_cases(draw):
    case = draw(grid_cases(mixed=True))
    case["coord_dtypes"] = [draw(st.sampled_from(NP_COORD_DTYPES)) for _ in case["dims"]]
    case["scalar_types"] = [
        draw(st.sampled_from([float, np.float64, np.float32, int])) for _ in case["dims"]
    ]
    return case


def build_numpy_spacing(case, rng):
    kind = case["spacing_kind"]
    if kind == "default":
        return None
    if kind == "scalar":
        return case["steps"][0]
    entries = []
    for d, dtype, dec, is_coord, step, kind_of in zip(
        case["dims"],
        case["coord_dtypes"],
        case["decreasing"],
        case["is_coords"],
        case["steps"],
        case["scalar_types"],
        strict=True,
    ):
        if kind == "scalars" or (kind == "mixed" and not is_coord):
            entries.append(kind_of(step) if kind_of is not int else int(math.copysign(2, step)))
        else:
            entries.append(numpy_coords(rng, case["shape"][d], dtype, decreasing=dec))
    return entries


def numpy_reference(values, spacing, dim, edge_order):
    varargs = [] if spacing is None else (spacing if isinstance(spacing, list) else [spacing])
    axis = tuple(dim) if isinstance(dim, list) else dim
    return as_tuple(np.gradient(values, *varargs, axis=axis, edge_order=edge_order))


def check_against_numpy(values, spacing, dim, edge_order, dims, *, original=None):
    original = values if original is None else original
    before = np.array(original, copy=True)
    coords_before = [np.array(s, copy=True) for s in (spacing if isinstance(spacing, list) else [])]
    got = fdopt.gradient(values, **_kwargs(spacing, dim, edge_order))
    np.testing.assert_array_equal(np.asarray(original), before)
    for s, b in zip(spacing if isinstance(spacing, list) else [], coords_before, strict=True):
        np.testing.assert_array_equal(np.asarray(s), b)
    expected = numpy_reference(np.asarray(values), spacing, dim, edge_order)
    assert isinstance(got, tuple)
    assert len(got) == len(expected) == len(dims)
    entries = (
        spacing if isinstance(spacing, list) else [1.0 if spacing is None else spacing] * len(dims)
    )
    arr = np.asarray(values)
    for i, (g, e, entry) in enumerate(zip(got, expected, entries, strict=True)):
        what = f"output {i} (dim {dims[i]}, values {arr.dtype}, shape {arr.shape})"
        assert isinstance(g, np.ndarray), f"{what}: got {type(g).__name__}"
        assert g.shape == arr.shape, what
        assert g.dtype == e.dtype, f"{what}: dtype {g.dtype}, numpy.gradient gives {e.dtype}"
        assert not np.shares_memory(g, arr), what
        # numpy.gradient computes weights in the dtype of the spacing (float32 scalars and
        # coordinates make a reference only as precise as float32).
        dtypes = [g.dtype]
        if isinstance(entry, np.floating) or np.ndim(entry) == 1:
            dtypes.append(np.asarray(entry).dtype)
        if np.issubdtype(arr.dtype, np.inexact):
            dtypes.append(arr.dtype)
        scale = max_abs(arr) / min_step(entry)
        assert_scaled_close(g, e, rel=rel_tol(*dtypes), scale=scale, what=what)


class TestNumpyParity:
    @given(numpy_cases(), st.sampled_from(NP_VALUE_DTYPES))
    def test_matches_numpy_gradient(self, case, dtype):
        rng = np.random.default_rng(case["seed"])
        values = numpy_values(rng, case["shape"], dtype)
        spacing = build_numpy_spacing(case, rng)
        check_against_numpy(values, spacing, case["dim_arg"], case["edge_order"], case["dims"])

    @given(
        numpy_cases(),
        st.sampled_from([np.float64, np.int64]),
        st.sampled_from(["readonly", "transposed", "reversed", "strided"]),
    )
    def test_layouts(self, case, dtype, layout):
        rng = np.random.default_rng(case["seed"])
        shape = case["shape"]
        if layout == "transposed":
            values = numpy_values(rng, shape[::-1], dtype).T
        elif layout == "reversed":
            values = numpy_values(rng, shape, dtype)[(slice(None, None, -1),) * len(shape)]
        elif layout == "strided":
            big = numpy_values(rng, tuple(2 * s for s in shape), dtype)
            values = big[(slice(None, None, 2),) * len(shape)]
        else:
            values = numpy_values(rng, shape, dtype)
            values.setflags(write=False)
        spacing = build_numpy_spacing(case, rng)
        if layout == "readonly" and isinstance(spacing, list):
            for s in spacing:
                if isinstance(s, np.ndarray):
                    s.setflags(write=False)
        check_against_numpy(values, spacing, case["dim_arg"], case["edge_order"], case["dims"])

    @given(numpy_cases(), st.sampled_from([np.float64, np.int64]))
    def test_array_likes(self, case, dtype):
        assume(0 not in case["shape"])  # nested lists cannot hold an empty dimension's shape
        rng = np.random.default_rng(case["seed"])
        values = numpy_values(rng, case["shape"], dtype).tolist()
        spacing = build_numpy_spacing(case, rng)
        if isinstance(spacing, list):
            spacing = [s.tolist() if isinstance(s, np.ndarray) else s for s in spacing]
        check_against_numpy(values, spacing, case["dim_arg"], case["edge_order"], case["dims"])

    def test_uint8_coordinates_no_wraparound(self):
        values = np.array([1.0, 2.0, 4.0])
        x = np.array([0, 10, 250], dtype=np.uint8)
        (got,) = fdopt.gradient(values, spacing=[x])
        expected = np.gradient(values, x.astype(np.float64))
        np.testing.assert_allclose(got, expected, rtol=1e-14)
        # h1 = 10, h2 = 240: the centre is -h2/(h1(h1+h2)) f0 + (h2-h1)/(h1 h2) f1 + ...
        centre = -240 / 2500 * 1 + 230 / 2400 * 2 + 10 / 60000 * 4
        np.testing.assert_allclose(got, [0.1, centre, 2 / 240], rtol=1e-14)
        # decreasing unsigned coordinates
        (got,) = fdopt.gradient(values, spacing=[x[::-1].copy()])
        np.testing.assert_allclose(got, np.gradient(values, x[::-1].astype(np.float64)), rtol=1e-14)

    def test_uint8_coordinates_torch(self):
        values = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
        x = torch.tensor([0, 10, 250], dtype=torch.uint8)
        (got,) = fdopt.gradient(values, spacing=[x])
        (expected,) = torch.gradient(values, spacing=[x.double()])
        torch.testing.assert_close(got, expected, rtol=1e-14, atol=0)

    @pytest.mark.parametrize(
        ("values_dtype", "coords_dtype", "out_dtype"),
        [
            (np.float32, np.float64, np.float32),
            (np.float32, None, np.float32),
            (np.float16, np.float64, np.float16),
            (np.float16, None, np.float16),
            (np.int64, np.float32, np.float64),
            (np.int8, None, np.float64),
            (np.uint8, np.uint8, np.float64),
            (np.complex64, np.float64, np.complex64),
            (np.float64, np.float32, np.float64),
        ],
    )
    def test_dtypes(self, values_dtype, coords_dtype, out_dtype):
        values = np.array([1, 2, 4, 8, 16]).astype(values_dtype)
        spacing = [np.array([0, 1, 3, 4, 7]).astype(coords_dtype)] if coords_dtype else [2.0]
        (got,) = fdopt.gradient(values, spacing=spacing)
        assert got.dtype == out_dtype
        assert got.dtype == np.gradient(values, *spacing).dtype
        for func in (fdopt.derivative, fdopt.laplacian):
            entry = spacing[0]
            out = (
                func(values, spacing=entry)
                if func is fdopt.derivative
                else func(values, spacing=[entry])
            )
            assert isinstance(out, np.ndarray)
            assert out.dtype == out_dtype

    def test_single_axis_returns_tuple(self):
        (got,) = fdopt.gradient(np.arange(5.0) ** 2)
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, np.gradient(np.arange(5.0) ** 2))

    def test_numpy_scalars_in_spacing(self):
        values = np.arange(12.0).reshape(3, 4) ** 2
        got = fdopt.gradient(values, spacing=[np.float32(0.5), np.array([0.0, 1.0, 3.0, 6.0])])
        expected = np.gradient(values, np.float32(0.5), np.array([0.0, 1.0, 3.0, 6.0]))
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12)

    def test_numpy_coords_with_tensor_values(self):
        values = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)
        x = np.array([0.0, 1.0, 1.5, 3.5])
        (got,) = fdopt.gradient(values, spacing=[x])
        assert isinstance(got, torch.Tensor)
        torch.testing.assert_close(got, torch.tensor([1.0, 3.0, 3.6, 2.0], dtype=torch.float64))

    def test_doc_example(self):
        (got,) = fdopt.gradient(np.array([1.0, 2.0, 4.0, 8.0]))
        np.testing.assert_array_equal(got, [1.0, 1.5, 3.0, 4.0])


# --------------------------------------------------------------------------------------
# convergence order on a smooth function


def f(x):
    return torch.exp(torch.sin(x))


def df(x):
    return torch.cos(x) * torch.exp(torch.sin(x))


def d2f(x):
    return (torch.cos(x) ** 2 - torch.sin(x)) * torch.exp(torch.sin(x))


def make_grid(intervals, *, uniform, start, length=1.3):
    """``intervals + 1`` points on [start, start + length]; nonuniform: a smooth mapping."""
    t = torch.linspace(0.0, 1.0, intervals + 1, dtype=torch.float64)
    if not uniform:
        t = t + 0.15 * torch.sin(math.pi * t)
    return start + length * t


def observed_order(error, intervals):
    e1, e2 = error(intervals), error(2 * intervals)
    assert e2 > 1e-12, f"error {e2:.3g} at the fine grid is too close to roundoff"
    return math.log2(e1 / e2), e1, e2


# (accuracy, edge_order) -> order of the whole result (edges included), and the number of
# intervals of the coarse grid. The interval [1.0, 2.3] and these N were chosen so that
# every case is in its asymptotic range and well above roundoff in float64.
FIRST_DERIVATIVE_CASES = [
    (2, 1, 1, 32),
    (2, 2, 2, 32),
    (4, 1, 4, 32),
    (4, 2, 4, 32),
    (6, 1, 6, 32),
    (8, 1, 8, 24),
]


class TestConvergence:
    @pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
    @pytest.mark.parametrize(
        ("accuracy", "edge_order", "order", "intervals"), FIRST_DERIVATIVE_CASES
    )
    def test_gradient_order(self, accuracy, edge_order, order, intervals, uniform):
        def error(n):
            x = make_grid(n, uniform=uniform, start=1.0)
            spacing = (x[1] - x[0]).item() if uniform else [x]
            (g,) = fdopt.gradient(f(x), spacing=spacing, accuracy=accuracy, edge_order=edge_order)
            return (g - df(x)).abs().max().item()

        p, e1, e2 = observed_order(error, intervals)
        assert abs(p - order) < 0.6, f"observed order {p:.2f} (errors {e1:.3g}, {e2:.3g})"

    @pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
    def test_interior_is_second_order_with_first_order_edges(self, uniform):
        def error(n):
            x = make_grid(n, uniform=uniform, start=1.0)
            spacing = (x[1] - x[0]).item() if uniform else [x]
            (g,) = fdopt.gradient(f(x), spacing=spacing, edge_order=1)
            return (g - df(x))[1:-1].abs().max().item()

        p, e1, e2 = observed_order(error, 32)
        assert abs(p - 2) < 0.6, f"observed order {p:.2f} (errors {e1:.3g}, {e2:.3g})"

    @pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
    @pytest.mark.parametrize(
        ("accuracy", "edge_order", "order"), [(2, 1, 1), (2, 2, 2), (4, 1, 4), (6, 1, 6)]
    )
    def test_second_derivative_order(self, accuracy, edge_order, order, uniform):
        def error(n):
            x = make_grid(n, uniform=uniform, start=0.7)
            spacing = (x[1] - x[0]).item() if uniform else x
            g = fdopt.derivative(f(x), 2, spacing=spacing, accuracy=accuracy, edge_order=edge_order)
            return (g - d2f(x)).abs().max().item()

        p, e1, e2 = observed_order(error, 32)
        assert abs(p - order) < 0.6, f"observed order {p:.2f} (errors {e1:.3g}, {e2:.3g})"

    @pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "nonuniform"])
    @pytest.mark.parametrize(("accuracy", "edge_order", "order"), [(2, 2, 2), (4, 1, 4)])
    def test_laplacian_order(self, accuracy, edge_order, order, uniform):
        def error(n):
            x = make_grid(n, uniform=uniform, start=0.7)
            y = make_grid(n + n // 2, uniform=uniform, start=0.7)
            u = f(x)[:, None] * f(y)[None, :]
            exact = d2f(x)[:, None] * f(y)[None, :] + f(x)[:, None] * d2f(y)[None, :]
            spacing = [(x[1] - x[0]).item(), (y[1] - y[0]).item()] if uniform else [x, y]
            got = fdopt.laplacian(u, spacing=spacing, accuracy=accuracy, edge_order=edge_order)
            assert got.shape == u.shape
            return (got - exact).abs().max().item()

        p, e1, e2 = observed_order(error, 32)
        assert abs(p - order) < 0.6, f"observed order {p:.2f} (errors {e1:.3g}, {e2:.3g})"

    @pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
    def test_close_to_analytic(self, accuracy):
        x = make_grid(64, uniform=False, start=1.0)
        (g,) = fdopt.gradient(f(x), spacing=[x], accuracy=accuracy, edge_order=2)
        bound = {2: 5e-3, 4: 1e-5, 6: 1e-7, 8: 1e-9}[accuracy]
        assert (g - df(x)).abs().max().item() < bound
        g2 = fdopt.derivative(f(x), 2, spacing=x, accuracy=accuracy, edge_order=2)
        bound2 = {2: 1e-2, 4: 1e-4, 6: 1e-5, 8: 1e-6}[accuracy]
        assert (g2 - d2f(x)).abs().max().item() < bound2

    def test_float32_converges(self):
        # Lower precision still converges until roundoff: accuracy 4 beats accuracy 2.
        x = make_grid(64, uniform=False, start=1.0).float()
        (g2,) = fdopt.gradient(f(x), spacing=[x], edge_order=2)
        (g4,) = fdopt.gradient(f(x), spacing=[x], accuracy=4)
        assert g4.dtype == torch.float32
        err2 = (g2 - df(x)).abs().max().item()
        err4 = (g4 - df(x)).abs().max().item()
        assert err4 < err2 / 10


# --------------------------------------------------------------------------------------
# exactness on polynomials


@st.composite
def polynomial_cases(draw):
    accuracy = draw(st.sampled_from([2, 4, 6, 8]))
    deriv = draw(st.sampled_from([1, 2, 3]))
    edge_order = draw(st.sampled_from([1, 2]))
    degree = accuracy
    if deriv == 1 and accuracy == 2 and edge_order == 1:
        degree = 1  # the two-point edge stencil is exact for lines only
    points = deriv + (edge_order if accuracy == 2 else accuracy)
    n = draw(st.integers(points, points + 12))
    ratios = draw(st.lists(st.floats(0.5, 1.5), min_size=n - 1, max_size=n - 1))
    coefs = draw(
        st.lists(
            st.integers(-1000, 1000).map(lambda c: c / 1000),
            min_size=degree + 1,
            max_size=degree + 1,
        )
    )
    return {
        "accuracy": accuracy,
        "deriv": deriv,
        "edge_order": edge_order,
        "degree": degree,
        "ratios": ratios,
        "coefs": coefs,
        "decreasing": draw(st.booleans()),
        "kind": draw(st.sampled_from(["torch", "numpy"])),
        "shift": draw(st.floats(-1, 1)),
    }


def polynomial_grid(case):
    steps = np.asarray(case["ratios"])
    x = np.concatenate([[0.0], np.cumsum(steps)])
    x = 2 * x / x[-1] - 1 + case["shift"]  # spans [-1, 1] + shift
    if case["decreasing"]:
        x = x[::-1].copy()
    return x


class TestPolynomialExactness:
    @given(polynomial_cases())
    def test_exact_on_polynomials(self, case):
        x = polynomial_grid(case)
        coefs = np.asarray(case["coefs"])
        values = np.polynomial.polynomial.polyval(x, coefs)
        exact = np.polynomial.polynomial.polyval(
            x, np.polynomial.polynomial.polyder(coefs, case["deriv"])
        )
        kwargs = {"accuracy": case["accuracy"], "edge_order": case["edge_order"]}
        if case["kind"] == "torch":
            got = fdopt.derivative(
                torch.from_numpy(values), case["deriv"], spacing=torch.from_numpy(x), **kwargs
            )
            assert isinstance(got, torch.Tensor)
            got = got.numpy()
        else:
            got = fdopt.derivative(values, case["deriv"], spacing=x, **kwargs)
            assert isinstance(got, np.ndarray)
        h = np.abs(np.diff(x)).min()
        scale = np.abs(values).max() / h ** case["deriv"] + np.abs(exact).max()
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-10 * scale)

    @given(polynomial_cases())
    def test_gradient_exact_on_polynomials_2d(self, case):
        # Differentiate along dim 0 of a 2-D array; every column is a scaled copy.
        assume(case["deriv"] == 1)
        x = polynomial_grid(case)
        coefs = np.asarray(case["coefs"])
        values = np.polynomial.polynomial.polyval(x, coefs)[:, None] * np.array([1.0, -2.0, 0.5])
        exact = np.polynomial.polynomial.polyval(x, np.polynomial.polynomial.polyder(coefs))
        exact = exact[:, None] * np.array([1.0, -2.0, 0.5])
        (got,) = fdopt.gradient(
            values, spacing=[x], dim=0, accuracy=case["accuracy"], edge_order=case["edge_order"]
        )
        h = np.abs(np.diff(x)).min()
        scale = np.abs(values).max() / h + np.abs(exact).max()
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-10 * scale)

    @pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
    def test_uniform_polynomial(self, accuracy):
        x = np.linspace(-1, 2, 21)
        coefs = np.linspace(1.0, -1.0, accuracy + 1)
        values = np.polynomial.polynomial.polyval(x, coefs)
        exact = np.polynomial.polynomial.polyval(x, np.polynomial.polynomial.polyder(coefs))
        (got,) = fdopt.gradient(values, spacing=x[1] - x[0], accuracy=accuracy, edge_order=2)
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-11 * np.abs(values).max() * 20)

    def test_quadratic_interior_exact_with_first_order_edges(self):
        x = np.array([0.0, 0.3, 1.0, 1.2, 2.0, 2.9, 3.1])
        values = 1 + 2 * x - 3 * x**2
        (got,) = fdopt.gradient(values, spacing=[x], edge_order=1)
        exact = 2 - 6 * x
        np.testing.assert_allclose(got[1:-1], exact[1:-1], rtol=1e-13, atol=1e-13)
        assert abs(got[0] - exact[0]) > 0.1  # two-point edges: first order only

    def test_accuracy_above_two_edges_have_full_order(self):
        # With accuracy > 2 the edges have the interior's order whatever edge_order says.
        x = np.array([0.0, 0.3, 1.0, 1.2, 2.0, 2.9, 3.1, 3.3])
        values = x**4 - x**3
        for edge_order in (1, 2):
            (got,) = fdopt.gradient(values, spacing=[x], accuracy=4, edge_order=edge_order)
            np.testing.assert_allclose(got, 4 * x**3 - 3 * x**2, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------
# published formulas and consistency between gradient, derivative and laplacian


class TestFormulas:
    def test_fourth_order_uniform(self):
        gen = torch.Generator().manual_seed(3)
        v = torch.randn(11, generator=gen, dtype=torch.float64)
        h = 0.3
        (got,) = fdopt.gradient(v, spacing=h, accuracy=4)
        interior = (v[:-4] - 8 * v[1:-3] + 8 * v[3:-1] - v[4:]) / (12 * h)
        torch.testing.assert_close(got[2:-2], interior, rtol=1e-13, atol=1e-13)
        first = (-25 * v[0] + 48 * v[1] - 36 * v[2] + 16 * v[3] - 3 * v[4]) / (12 * h)
        second = (-3 * v[0] - 10 * v[1] + 18 * v[2] - 6 * v[3] + v[4]) / (12 * h)
        last = (25 * v[-1] - 48 * v[-2] + 36 * v[-3] - 16 * v[-4] + 3 * v[-5]) / (12 * h)
        torch.testing.assert_close(got[0], first, rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(got[1], second, rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(got[-1], last, rtol=1e-13, atol=1e-13)

    def test_second_derivative_uniform(self):
        v = torch.tensor([0.0, 1.0, 4.0, 9.0, 16.0, 30.0], dtype=torch.float64)
        h = 0.5
        got = fdopt.derivative(v, 2, spacing=h)
        torch.testing.assert_close(got[1:-1], (v[:-2] - 2 * v[1:-1] + v[2:]) / h**2)
        # edge_order 1: three-point one-sided stencils
        torch.testing.assert_close(got[0], (v[0] - 2 * v[1] + v[2]) / h**2)
        torch.testing.assert_close(got[-1], (v[-1] - 2 * v[-2] + v[-3]) / h**2)
        got2 = fdopt.derivative(v, 2, spacing=h, edge_order=2)
        torch.testing.assert_close(got2[0], (2 * v[0] - 5 * v[1] + 4 * v[2] - v[3]) / h**2)

    def test_derivative_order_one_is_gradient(self):
        gen = torch.Generator().manual_seed(4)
        v = torch.randn(4, 9, generator=gen, dtype=torch.float64)
        x = random_coords(gen, 9, torch.float64, decreasing=True)
        for accuracy in (2, 4):
            (g,) = fdopt.gradient(v, spacing=[x], dim=-1, accuracy=accuracy)
            d = fdopt.derivative(v, spacing=x, accuracy=accuracy)  # dim=-1 by default
            torch.testing.assert_close(d, g, rtol=0, atol=0)

    def test_laplacian_is_sum_of_second_derivatives(self):
        gen = torch.Generator().manual_seed(5)
        v = torch.randn(6, 7, 8, generator=gen, dtype=torch.float64)
        y = random_coords(gen, 7, torch.float64, decreasing=False)
        lap = fdopt.laplacian(v, spacing=[0.5, y], dim=[0, 1], accuracy=4)
        expected = fdopt.derivative(v, 2, spacing=0.5, dim=0, accuracy=4) + fdopt.derivative(
            v, 2, spacing=y, dim=1, accuracy=4
        )
        torch.testing.assert_close(lap, expected, rtol=1e-12, atol=1e-12)
        assert lap.shape == v.shape

    def test_laplacian_of_quadratic(self):
        x = np.linspace(-1, 1, 7)
        y = np.array([0.0, 0.2, 0.5, 0.6, 1.0])
        u = x[:, None] ** 2 + 3 * y[None, :] ** 2
        lap = fdopt.laplacian(u, spacing=[x, y], edge_order=2)
        assert isinstance(lap, np.ndarray)
        np.testing.assert_allclose(lap, np.full(u.shape, 8.0), rtol=1e-12, atol=1e-11)

    def test_laplacian_interior_is_five_point_stencil(self):
        # Not numpy.gradient applied twice (a wider stencil): the compact 5-point Laplacian.
        gen = np.random.default_rng(6)
        u = gen.standard_normal((6, 5))
        h = 0.25
        lap = fdopt.laplacian(u, spacing=h)
        centre = u[1:-1, 1:-1]
        manual = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4 * centre) / h**2
        np.testing.assert_allclose(lap[1:-1, 1:-1], manual, rtol=1e-12, atol=1e-12)

    def test_integer_values_laplacian(self):
        u = torch.tensor([[0, 1, 4, 9], [1, 2, 5, 10], [4, 5, 8, 13]], dtype=torch.int8)
        lap = fdopt.laplacian(u)
        assert lap.dtype == torch.get_default_dtype()
        torch.testing.assert_close(lap, torch.full((3, 4), 4.0))

    def test_complex_values(self):
        x = torch.linspace(0, 1, 9, dtype=torch.float64)
        v = (x**2 + 1j * x**3).to(torch.complex128)
        got = fdopt.derivative(v, 1, spacing=x, accuracy=4)
        assert got.dtype == torch.complex128
        torch.testing.assert_close(got, (2 * x + 3j * x**2).to(torch.complex128))


# --------------------------------------------------------------------------------------
# input validation


V4 = torch.tensor([1.0, 2.0, 4.0, 8.0])
V20 = torch.linspace(0.0, 1.0, 20)
M33 = torch.ones(3, 3)

VALUE_ERRORS = [
    # (id, values, kwargs, match)
    ("coords-too-short", V4, {"spacing": [torch.tensor([0.0, 1.0, 2.0])]}, "spacing"),
    ("coords-too-long", V4, {"spacing": [torch.arange(5.0)]}, "spacing"),
    ("coords-too-short-numpy", V4.numpy(), {"spacing": [np.array([0.0, 1.0, 2.0])]}, "spacing"),
    ("coords-repeated", V4, {"spacing": [torch.tensor([0.0, 1.0, 1.0, 2.0])]}, "spacing"),
    ("coords-repeated-int", V4, {"spacing": [torch.tensor([0, 1, 1, 2])]}, "spacing"),
    ("coords-not-monotonic", V4, {"spacing": [torch.tensor([0.0, 2.0, 1.0, 3.0])]}, "spacing"),
    (
        "coords-not-monotonic-decreasing",
        V4,
        {"spacing": [torch.tensor([3.0, 2.0, 2.5, 1.0])]},
        "spacing",
    ),
    ("coords-nan", V4, {"spacing": [torch.tensor([0.0, 1.0, float("nan"), 3.0])]}, "spacing"),
    ("coords-nan-first", V4, {"spacing": [torch.tensor([float("nan"), 1.0, 2.0, 3.0])]}, "spacing"),
    ("coords-inf", V4, {"spacing": [torch.tensor([0.0, 1.0, 2.0, float("inf")])]}, "spacing"),
    ("coords-neg-inf", V4, {"spacing": [np.array([-np.inf, 1.0, 2.0, 3.0])]}, "spacing"),
    ("coords-2d", V4, {"spacing": [torch.ones(2, 2)]}, "spacing"),
    ("coords-2d-right-size", V4, {"spacing": [torch.arange(4.0)[None, :]]}, "spacing"),
    ("coords-second-dim", M33, {"spacing": [1.0, torch.tensor([0.0, 1.0, 1.0])]}, r"spacing"),
    ("too-few-points", torch.tensor([1.0]), {}, "values|dim"),
    ("too-few-points-edge2", torch.tensor([1.0, 2.0]), {"edge_order": 2}, "values|dim"),
    ("too-few-points-acc4", torch.ones(4), {"accuracy": 4}, "values|dim"),
    ("too-few-points-acc8", torch.ones(8), {"accuracy": 8}, "values|dim"),
    ("size-one-dim-differentiated", torch.ones(1, 5), {}, "values|dim"),
    ("size-zero-dim-differentiated", torch.ones(0, 5), {}, "values|dim"),
    ("edge-order-0", V4, {"edge_order": 0}, "edge_order"),
    ("edge-order-neg", V4, {"edge_order": -1}, "edge_order"),
    ("edge-order-3", V4, {"edge_order": 3}, "edge_order"),
    ("dim-out-of-range", V4, {"dim": 1}, "dim"),
    ("dim-out-of-range-neg", V4, {"dim": -2}, "dim"),
    ("dim-out-of-range-list", M33, {"dim": [0, 2]}, "dim"),
    ("dim-repeated", M33, {"dim": [0, 0]}, "dim"),
    ("dim-repeated-negative", M33, {"dim": [1, -1]}, "dim"),
    ("dim-empty", V4, {"dim": []}, "dim"),
    ("dim-empty-tuple", V4, {"dim": ()}, "dim"),
    ("spacing-too-many", M33, {"spacing": [1.0, 2.0, 3.0]}, "spacing"),
    ("spacing-too-few", M33, {"spacing": [1.0]}, "spacing"),
    ("spacing-vs-dim", M33, {"spacing": [1.0, 2.0], "dim": 0}, "spacing"),
    ("spacing-empty", V4, {"spacing": []}, "spacing"),
    ("spacing-zero", V4, {"spacing": 0.0}, "spacing"),
    ("spacing-zero-int", V4, {"spacing": 0}, "spacing"),
    ("spacing-zero-list", M33, {"spacing": [1.0, 0.0]}, "spacing"),
    ("spacing-nan", V4, {"spacing": float("nan")}, "spacing"),
    ("spacing-inf", V4, {"spacing": [float("inf")]}, "spacing"),
    ("spacing-zero-tensor", V4, {"spacing": torch.tensor(0.0)}, "spacing"),
    ("scalar-values", torch.tensor(1.0), {}, "values"),
    ("scalar-values-numpy", np.float64(1.0), {}, "values"),
    ("scalar-values-python", 1.0, {}, "values"),
    ("accuracy-3", V20, {"accuracy": 3}, "accuracy"),
    ("accuracy-10", V20, {"accuracy": 10}, "accuracy"),
    ("accuracy-0", V20, {"accuracy": 0}, "accuracy"),
    ("accuracy-neg", V20, {"accuracy": -2}, "accuracy"),
    ("accuracy-1", V20, {"accuracy": 1}, "accuracy"),
]

TYPE_ERRORS = [
    ("edge-order-float", V4, {"edge_order": 1.5}, "edge_order"),
    ("edge-order-float-integral", V4, {"edge_order": 2.0}, "edge_order"),
    ("edge-order-true", V4, {"edge_order": True}, "edge_order"),
    ("edge-order-np-true", V4, {"edge_order": np.True_}, "edge_order"),
    ("edge-order-tensor-true", V4, {"edge_order": torch.tensor(True)}, "edge_order"),
    ("edge-order-tensor-float", V4, {"edge_order": torch.tensor(2.0)}, "edge_order"),
    ("edge-order-str", V4, {"edge_order": "1"}, "edge_order"),
    ("edge-order-none", V4, {"edge_order": None}, "edge_order"),
    ("accuracy-str", V20, {"accuracy": "4"}, "accuracy"),
    ("accuracy-float", V20, {"accuracy": 4.0}, "accuracy"),
    ("accuracy-bool", V20, {"accuracy": True}, "accuracy"),
    ("accuracy-none", V20, {"accuracy": None}, "accuracy"),
    ("dim-float", V4, {"dim": 0.0}, "dim"),
    ("dim-str", V4, {"dim": "0"}, "dim"),
    ("dim-bool", V4, {"dim": True}, "dim"),
    ("dim-list-bool", V4, {"dim": [False]}, "dim"),
    ("dim-list-float", M33, {"dim": [0, 1.0]}, "dim"),
    ("spacing-str", V4, {"spacing": "1"}, "spacing"),
    ("spacing-bytes", V4, {"spacing": b"1"}, "spacing"),
    ("spacing-str-list", V4, {"spacing": ["1"]}, "spacing"),
    ("spacing-none", V4, {"spacing": None}, "spacing"),
    ("spacing-bool", V4, {"spacing": True}, "spacing"),
    ("spacing-bool-list", V4, {"spacing": [False]}, "spacing"),
    ("spacing-complex", V4, {"spacing": 1j}, "spacing"),
    ("spacing-complex-list", V4, {"spacing": [1 + 0j]}, "spacing"),
    ("spacing-object", V4, {"spacing": object()}, "spacing"),
    (
        "coords-complex",
        V4,
        {"spacing": [torch.tensor([0, 1, 2, 3], dtype=torch.complex64)]},
        "spacing",
    ),
    ("coords-complex-numpy", V4, {"spacing": [np.arange(4) + 0j]}, "spacing"),
    ("coords-bool", V4, {"spacing": [torch.tensor([False, True, True, True])]}, "spacing"),
    ("coords-strings", V4, {"spacing": [["a", "b", "c", "d"]]}, "spacing"),
    ("bool-values", torch.tensor([True, False, True]), {}, "values"),
    ("bool-values-numpy", np.array([True, False, True]), {}, "values"),
    ("bool-values-list", [True, False, True], {}, "values"),
    ("string-values", "abc", {}, "values"),
    ("string-array-values", np.array(["1", "2", "3"]), {}, "values"),
    ("object-values", np.array([1, 2, 3], dtype=object), {}, "values"),
    ("ragged-values", [[1.0, 2.0], [3.0]], {}, "values"),
    ("none-values", None, {}, "values"),
    ("dict-values", {"a": 1.0}, {}, "values"),
]


def _assert_raises(error, builtin, match, func, *args, **kwargs):
    with pytest.raises(error, match=match) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, builtin), type(info.value).__mro__
    assert isinstance(info.value, RuntimeError), type(info.value).__mro__
    assert isinstance(info.value, fdopt.FdoptError)
    return info.value


class TestValidation:
    @pytest.mark.parametrize(
        ("values", "kwargs", "match"),
        [c[1:] for c in VALUE_ERRORS],
        ids=[c[0] for c in VALUE_ERRORS],
    )
    def test_value_errors(self, values, kwargs, match):
        _assert_raises(
            fdopt.ArgumentValueError, ValueError, match, fdopt.gradient, values, **kwargs
        )

    @pytest.mark.parametrize(
        ("values", "kwargs", "match"), [c[1:] for c in TYPE_ERRORS], ids=[c[0] for c in TYPE_ERRORS]
    )
    def test_type_errors(self, values, kwargs, match):
        _assert_raises(fdopt.ArgumentTypeError, TypeError, match, fdopt.gradient, values, **kwargs)

    def test_torch_silently_accepts_short_coordinates(self):
        # The reason for the check: torch.gradient returns numbers here.
        torch.gradient(torch.tensor([1.0, 2, 4, 8]), spacing=[torch.tensor([0.0, 1, 2])])
        _assert_raises(
            fdopt.ArgumentValueError,
            ValueError,
            "spacing",
            fdopt.gradient,
            torch.tensor([1.0, 2, 4, 8]),
            spacing=[torch.tensor([0.0, 1, 2])],
        )

    def test_message_names_the_offending_entry(self):
        err = _assert_raises(
            fdopt.ArgumentValueError,
            ValueError,
            "spacing",
            fdopt.gradient,
            M33,
            spacing=[torch.arange(3.0), torch.tensor([0.0, 1.0, 1.0])],
        )
        assert "1" in str(err)

    def test_value_error_message_shows_value(self):
        _assert_raises(
            fdopt.ArgumentValueError, ValueError, "edge_order.*3", fdopt.gradient, V4, edge_order=3
        )
        _assert_raises(
            fdopt.ArgumentValueError, ValueError, "accuracy.*5", fdopt.gradient, V20, accuracy=5
        )

    @pytest.mark.parametrize("shape", [(1, 5), (0, 5), (1, 1, 5), (0, 1, 5)])
    def test_batch_dims_not_differentiated_are_fine(self, shape):
        values = torch.zeros(shape)
        (got,) = fdopt.gradient(values, dim=-1)
        assert got.shape == values.shape
        (got,) = fdopt.gradient(values.numpy(), dim=-1, spacing=[np.arange(5.0)])
        assert got.shape == values.shape
        got = fdopt.derivative(values, 2, dim=-1)
        assert got.shape == values.shape
        got = fdopt.laplacian(values, dim=-1)
        assert got.shape == values.shape

    def test_minimum_sizes_accepted(self):
        fdopt.gradient(torch.ones(2))
        fdopt.gradient(torch.ones(3), edge_order=2)
        for accuracy in (4, 6, 8):
            (got,) = fdopt.gradient(torch.arange(accuracy + 1.0) ** 2, accuracy=accuracy)
            torch.testing.assert_close(got, 2 * torch.arange(accuracy + 1.0))

    @pytest.mark.parametrize(
        ("values", "order", "kwargs", "error", "match"),
        [
            (V4, 0, {}, fdopt.ArgumentValueError, "order"),
            (V4, -1, {}, fdopt.ArgumentValueError, "order"),
            (V4, True, {}, fdopt.ArgumentTypeError, "order"),
            (V4, 1.0, {}, fdopt.ArgumentTypeError, "order"),
            (V4, "2", {}, fdopt.ArgumentTypeError, "order"),
            (V4, 2, {"dim": [0]}, fdopt.ArgumentTypeError, "dim"),
            (V4, 2, {"dim": 1}, fdopt.ArgumentValueError, "dim"),
            (V4, 2, {"spacing": np.array([0.0, 1.0, 2.0])}, fdopt.ArgumentValueError, "spacing"),
            (
                V4,
                2,
                {"spacing": np.array([0.0, 1.0, 1.0, 2.0])},
                fdopt.ArgumentValueError,
                "spacing",
            ),
            (
                V4,
                2,
                {"spacing": np.array([0.0, 1.0, 3.0, 2.0])},
                fdopt.ArgumentValueError,
                "spacing",
            ),
            (V4, 2, {"spacing": 0.0}, fdopt.ArgumentValueError, "spacing"),
            (V4, 2, {"spacing": "1"}, fdopt.ArgumentTypeError, "spacing"),
            (V4, 2, {"edge_order": 3}, fdopt.ArgumentValueError, "edge_order"),
            (V4, 2, {"accuracy": 3}, fdopt.ArgumentValueError, "accuracy"),
            (V4[:3], 3, {}, fdopt.ArgumentValueError, "values|dim"),
            (V4[:3], 2, {"edge_order": 2}, fdopt.ArgumentValueError, "values|dim"),
            (V4, 2, {"accuracy": 4}, fdopt.ArgumentValueError, "values|dim"),
            (torch.tensor(1.0), 1, {}, fdopt.ArgumentValueError, "values"),
        ],
    )
    def test_derivative_errors(self, values, order, kwargs, error, match):
        builtin = ValueError if error is fdopt.ArgumentValueError else TypeError
        _assert_raises(error, builtin, match, fdopt.derivative, values, order, **kwargs)

    @pytest.mark.parametrize(
        ("values", "kwargs", "error", "match"),
        [
            (M33, {"dim": [0, 0]}, fdopt.ArgumentValueError, "dim"),
            (M33, {"spacing": [1.0]}, fdopt.ArgumentValueError, "spacing"),
            (torch.ones(2, 3), {}, fdopt.ArgumentValueError, "values|dim"),
            (torch.ones(3, 3), {"edge_order": 2}, fdopt.ArgumentValueError, "values|dim"),
            (M33, {"accuracy": "2"}, fdopt.ArgumentTypeError, "accuracy"),
            (torch.tensor([True, False, True]), {}, fdopt.ArgumentTypeError, "values"),
        ],
    )
    def test_laplacian_errors(self, values, kwargs, error, match):
        builtin = ValueError if error is fdopt.ArgumentValueError else TypeError
        _assert_raises(error, builtin, match, fdopt.laplacian, values, **kwargs)

    def test_errors_raised_before_work_on_bad_later_dim(self):
        # A bad entry for the second dimension is caught even if the first is fine.
        _assert_raises(
            fdopt.ArgumentValueError,
            ValueError,
            "spacing",
            fdopt.gradient,
            torch.ones(3, 4),
            spacing=[1.0, torch.tensor([0.0, 1.0, 3.0, 2.0])],
        )


# --------------------------------------------------------------------------------------
# inputs untouched, kinds preserved


class TestInputsAndKinds:
    @pytest.mark.parametrize("func", ["gradient", "derivative", "laplacian"])
    @pytest.mark.parametrize("kind", ["torch", "numpy"])
    @pytest.mark.parametrize("dtype", ["float32", "int8", "complex128"])
    def test_inputs_not_modified(self, func, kind, dtype):
        rng = np.random.default_rng(7)
        values_np = numpy_values(rng, (5, 6), np.dtype(dtype))
        x_np = np.array([0, 10, 60, 120, 200], dtype=np.uint8)
        y_np = numpy_coords(rng, 6, np.float64, decreasing=True)
        if kind == "torch":
            values, x, y = (torch.from_numpy(a.copy()) for a in (values_np, x_np, y_np))
            same = torch.equal
            snapshot = torch.clone
        else:
            values, x, y = values_np, x_np, y_np
            same = np.array_equal
            snapshot = np.copy
        before = [snapshot(a) for a in (values, x, y)]
        if func == "gradient":
            out = fdopt.gradient(values, spacing=[x, y], accuracy=4)
        elif func == "derivative":
            out = (fdopt.derivative(values, 2, spacing=y, accuracy=4),)
        else:
            out = (fdopt.laplacian(values, spacing=[x, y], accuracy=2),)
        for a, b in zip((values, x, y), before, strict=True):
            assert same(a, b)
        for o in out:
            assert isinstance(o, torch.Tensor if kind == "torch" else np.ndarray)
            assert o.shape == (5, 6)

    def test_output_does_not_alias_input(self):
        values = np.arange(5.0) ** 2
        for out in (*fdopt.gradient(values), fdopt.derivative(values, 2), fdopt.laplacian(values)):
            assert not np.shares_memory(out, values)
        t = torch.arange(5.0) ** 2
        (g,) = fdopt.gradient(t)
        assert g.data_ptr() != t.data_ptr()

    def test_numpy_out_for_all_functions(self):
        values = np.arange(12.0).reshape(3, 4) ** 2
        assert all(isinstance(g, np.ndarray) for g in fdopt.gradient(values))
        assert isinstance(fdopt.derivative(values, 2), np.ndarray)
        assert isinstance(fdopt.laplacian(values), np.ndarray)
        assert isinstance(fdopt.derivative(values.tolist(), 1), np.ndarray)

    def test_torch_out_for_all_functions(self):
        values = torch.arange(12.0).reshape(3, 4) ** 2
        assert all(isinstance(g, torch.Tensor) for g in fdopt.gradient(values))
        assert isinstance(fdopt.derivative(values, 2), torch.Tensor)
        assert isinstance(fdopt.laplacian(values), torch.Tensor)

    def test_read_only_numpy_no_warning(self):
        values = np.arange(20.0).reshape(4, 5) ** 2
        x = np.array([0.0, 0.5, 1.5, 2.0, 3.0])
        values.setflags(write=False)
        x.setflags(write=False)
        got = fdopt.gradient(values, spacing=[1.0, x])
        expected = np.gradient(values, 1.0, x)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-13)
        fdopt.derivative(values, 2, spacing=x, accuracy=2)
        fdopt.laplacian(values, spacing=[1.0, x])

    def test_negative_strides(self):
        base = np.arange(30.0).reshape(5, 6) ** 2
        values = base[::-1, ::-2]
        x = np.array([5.0, 3.0, 2.5, 1.0, 0.0])[::-1]
        y = np.array([0.0, 1.0, 3.0])[::-1]
        got = fdopt.gradient(values, spacing=[x, y], edge_order=2)
        expected = np.gradient(values, x, y, edge_order=2)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)

    def test_big_endian(self):
        values = (np.arange(6.0) ** 2).astype(">f8")
        x = np.array([0.0, 1.0, 3.0, 4.0, 7.0, 8.0], dtype=">f4")
        (got,) = fdopt.gradient(values, spacing=[x])
        np.testing.assert_allclose(
            got, np.gradient(values.astype("<f8"), x.astype("<f8")), rtol=1e-12
        )

    def test_non_contiguous_tensor(self):
        base = torch.randn(6, 10, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
        values = base.T[::2]
        assert not values.is_contiguous()
        got = fdopt.gradient(values, accuracy=2)
        expected = torch.gradient(values)
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e)


# --------------------------------------------------------------------------------------
# CUDA


@pytest.mark.cuda
class TestCuda:
    @pytest.mark.parametrize(
        "dtype",
        [torch.float32, torch.float64, torch.float16, torch.complex64, torch.int32],
        ids=str,
    )
    @pytest.mark.parametrize("spacing_kind", ["default", "scalar", "coords"])
    @pytest.mark.parametrize("edge_order", [1, 2])
    def test_parity_with_torch_gradient(self, dtype, spacing_kind, edge_order):
        device = torch.device("cuda")
        gen = torch.Generator().manual_seed(9)
        values = random_values(gen, (5, 1, 7), dtype).to(device)
        dims = [0, 2]
        if spacing_kind == "default":
            spacing = None
        elif spacing_kind == "scalar":
            spacing = [0.5, -1.5]
        else:
            spacing = [
                random_coords(gen, 5, torch.float64, decreasing=True).to(device),
                random_coords(gen, 7, torch.float32, decreasing=False).to(device),
            ]
        check_against_torch(values, spacing, dims, edge_order, dims)

    def test_outputs_on_device(self):
        device = torch.device("cuda")
        values = torch.randn(8, 9, device=device)
        x = torch.linspace(0, 1, 9, device=device) ** 2
        for out in (
            *fdopt.gradient(values, spacing=[0.1, x], accuracy=4),
            fdopt.derivative(values, 2, spacing=x, accuracy=4),
            fdopt.laplacian(values, spacing=[0.1, x]),
        ):
            assert out.device == values.device

    @pytest.mark.parametrize("accuracy", [4, 6, 8])
    def test_higher_accuracy_matches_cpu(self, accuracy):
        gen = torch.Generator().manual_seed(10)
        values = torch.randn(4, 40, generator=gen, dtype=torch.float64)
        x = random_coords(gen, 40, torch.float64, decreasing=False)
        (cpu,) = fdopt.gradient(values, spacing=[x], dim=1, accuracy=accuracy)
        (gpu,) = fdopt.gradient(values.cuda(), spacing=[x.cuda()], dim=1, accuracy=accuracy)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-12, atol=1e-12)

    def test_validation_on_device(self):
        values = torch.ones(4, device="cuda")
        with pytest.raises(fdopt.ArgumentValueError, match="spacing"):
            fdopt.gradient(values, spacing=[torch.tensor([0.0, 1.0, 1.0, 2.0], device="cuda")])
        with pytest.raises(fdopt.ArgumentValueError, match="spacing"):
            fdopt.gradient(
                values, spacing=[torch.tensor([0.0, 1.0, float("nan"), 2.0], device="cuda")]
            )

    def test_cuda_fixture(self, cuda):
        values = torch.arange(5.0, device=cuda) ** 2
        (got,) = fdopt.gradient(values)
        (expected,) = torch.gradient(values)
        torch.testing.assert_close(got, expected)
