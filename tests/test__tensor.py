"""Tests of fdopt._tensor (conversion, dtypes) and fdopt._validate (check_int)."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import fdopt
from fdopt._tensor import (
    Source,
    _products,
    all_finite,
    as_tensor,
    data_bytes,
    float_dtype,
    matmul,
    on_cpu,
    real_dtype,
)
from fdopt._validate import check_int
from tests.helpers import TorchCalls


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


class TestAsTensor:
    def test_tensor_passes_through(self):
        t = torch.arange(6.0).reshape(2, 3)
        out, source = as_tensor(t, name="values")
        assert out is t
        assert source == Source(numpy=False, device=t.device)
        assert source.numpy is False

    @pytest.mark.parametrize(
        "dtype",
        [
            np.float16,
            np.float32,
            np.float64,
            np.complex64,
            np.complex128,
            np.int8,
            np.int16,
            np.int32,
            np.int64,
            np.uint8,
        ],
    )
    def test_numpy_shares_memory_and_keeps_dtype(self, dtype):
        a = np.arange(6).astype(dtype).reshape(2, 3)
        out, source = as_tensor(a, name="values")
        assert source.numpy is True
        assert source.device == torch.device("cpu")
        assert out.device == torch.device("cpu")
        assert out.numpy().dtype == a.dtype
        assert np.shares_memory(out.numpy(), a)
        np.testing.assert_array_equal(out.numpy(), a)

    @pytest.mark.parametrize(
        ("dtype", "expected"),
        [(np.uint16, torch.int32), (np.uint32, torch.int64), (np.uint64, torch.float64)],
    )
    def test_wide_unsigned_are_widened_exactly(self, dtype, expected):
        top = np.iinfo(dtype).max
        a = np.array([0, 1, top], dtype=dtype)
        out, _ = as_tensor(a, name="x")
        assert out.dtype == expected
        if expected.is_floating_point:
            assert out.tolist() == [0.0, 1.0, float(top)]
        else:
            assert out.tolist() == [0, 1, int(top)]

    def test_read_only_array_gives_no_warning(self):
        a = np.arange(5.0)
        a.setflags(write=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out, _ = as_tensor(a, name="values")
        np.testing.assert_array_equal(out.numpy(), a)
        assert not a.flags.writeable

    def test_read_only_filter_does_not_leak(self):
        # The warning is silenced inside as_tensor only: the global filters are unchanged.
        a = np.arange(5.0)
        a.setflags(write=False)
        before = list(warnings.filters)
        as_tensor(a, name="values")
        assert warnings.filters == before

    def test_read_only_in_fresh_interpreter(self):
        # torch warns about read-only arrays once per process, so check in a new one.
        code = (
            "import numpy as np, fdopt\n"
            "from fdopt._tensor import as_tensor\n"
            "a = np.arange(5.0); a.setflags(write=False)\n"
            "as_tensor(a, name='values')\n"
            "x = np.cumsum(np.arange(1.0, 6.0)); x.setflags(write=False)\n"
            "out = fdopt.gradient(a, spacing=[x])\n"
            "assert isinstance(out[0], np.ndarray)\n"
        )
        result = subprocess.run(
            [sys.executable, "-W", "error", "-c", code],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr

    def test_negative_strides(self):
        a = np.arange(12.0).reshape(3, 4)[::-1, ::-2]
        out, _ = as_tensor(a, name="values")
        np.testing.assert_array_equal(out.numpy(), a)

    def test_non_contiguous_positive_strides(self):
        base = np.arange(24.0).reshape(4, 6)
        a = base[:, 1::2].T
        out, _ = as_tensor(a, name="values")
        np.testing.assert_array_equal(out.numpy(), a)

    @pytest.mark.parametrize("dtype", [">f8", ">i4", ">c16", "<f4"])
    def test_byte_order(self, dtype):
        a = (
            np.array([1.5, -2.0, 3.0]).astype(dtype)
            if "i" not in dtype
            else np.array([1, -2, 3], dtype=dtype)
        )
        out, _ = as_tensor(a, name="values")
        np.testing.assert_array_equal(out.numpy(), a)

    def test_input_not_modified(self):
        a = np.array([3.0, 1.0, 2.0])[::-1]
        before = a.copy()
        as_tensor(a, name="values")
        np.testing.assert_array_equal(a, before)

    @pytest.mark.parametrize(
        ("value", "dtype"),
        [
            ([1.0, 2.0], torch.float64),
            ([[1, 2], [3, 4]], torch.int64),
            ([1j, 2], torch.complex128),
            (2.5, torch.float64),
            ((1, 2, 3), torch.int64),
        ],
    )
    def test_array_likes(self, value, dtype):
        out, source = as_tensor(value, name="values")
        assert source.numpy is True
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.numpy(), np.asarray(value))

    @pytest.mark.parametrize(
        "value",
        [torch.tensor([True, False]), np.array([True, False]), [True, False], True],
    )
    def test_booleans_rejected(self, value):
        with pytest.raises(fdopt.ArgumentTypeError, match="myname") as info:
            as_tensor(value, name="myname")
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, RuntimeError)

    @pytest.mark.parametrize(
        "value",
        [
            "abc",
            ["a", "b"],
            None,
            [1, "a"],
            {"a": 1},
            object(),
            [[1, 2], [3]],
            np.array(["1", "2"]),
            np.array([1, 2], dtype=object),
            np.array(["2020-01-01"], dtype="datetime64[D]"),
        ],
    )
    def test_non_numbers_rejected(self, value):
        with pytest.raises(fdopt.ArgumentTypeError, match="myname") as info:
            as_tensor(value, name="myname")
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, RuntimeError)


class TestSource:
    def test_wrap_numpy(self):
        source = Source(numpy=True, device=torch.device("cpu"))
        result = torch.tensor([1.0, 2.0])
        out = source.wrap(result)
        assert isinstance(out, np.ndarray)
        np.testing.assert_array_equal(out, [1.0, 2.0])

    def test_wrap_tensor(self):
        source = Source(numpy=False, device=torch.device("cpu"))
        result = torch.tensor([1.0, 2.0])
        assert source.wrap(result) is result

    def test_round_trip(self):
        a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
        t, source = as_tensor(a, name="values")
        out = source.wrap(t * 2)
        assert isinstance(out, np.ndarray)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, a * 2)

    def test_frozen(self):
        source = Source(numpy=True, device=torch.device("cpu"))
        with pytest.raises(AttributeError):
            source.numpy = False  # type: ignore[misc]


class TestDtypes:
    @pytest.mark.parametrize(
        "dtype",
        [
            torch.float16,
            torch.bfloat16,
            torch.float32,
            torch.float64,
            torch.complex64,
            torch.complex128,
        ],
    )
    @pytest.mark.parametrize("numpy_rules", [False, True])
    def test_float_dtype_keeps_inexact(self, dtype, numpy_rules):
        assert float_dtype(dtype, numpy_rules=numpy_rules) == dtype

    @pytest.mark.parametrize(
        "dtype", [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool]
    )
    def test_float_dtype_integers(self, dtype):
        assert float_dtype(dtype, numpy_rules=True) == torch.float64
        assert float_dtype(dtype, numpy_rules=False) == torch.get_default_dtype()

    @pytest.mark.usefixtures("default_float64")
    def test_float_dtype_follows_default_dtype(self):
        assert float_dtype(torch.int32, numpy_rules=False) == torch.float64

    @pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64])
    def test_float_dtype_matches_torch_gradient(self, dtype):
        values = torch.arange(4, dtype=dtype)
        assert float_dtype(dtype, numpy_rules=False) == torch.gradient(values)[0].dtype

    @pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.uint32])
    def test_float_dtype_matches_numpy_gradient(self, dtype):
        values = np.arange(4, dtype=dtype)
        t, _ = as_tensor(values, name="values")
        expected = np.gradient(values).dtype
        assert (
            float_dtype(t.dtype, numpy_rules=True) == torch.from_numpy(np.empty(0, expected)).dtype
        )

    @pytest.mark.parametrize(
        ("dtype", "expected"),
        [
            (torch.complex64, torch.float32),
            (torch.complex128, torch.float64),
            (torch.float16, torch.float16),
            (torch.bfloat16, torch.bfloat16),
            (torch.float32, torch.float32),
            (torch.float64, torch.float64),
            (torch.int32, torch.int32),
        ],
    )
    def test_real_dtype(self, dtype, expected):
        assert real_dtype(dtype) == expected


@pytest.mark.parametrize(
    ("device", "cpu"),
    [("cpu", True), (torch.device("cpu", 0), True), ("meta", False), ("cuda", False)],
)
def test_on_cpu(device, cpu):
    assert on_cpu(torch.device(device)) is cpu


class TestAllFinite:
    SPECIAL = (0.0, 1.0, -2.5, 1e308, -1e308, 3e38, math.inf, -math.inf, math.nan)

    @given(
        st.lists(st.sampled_from(SPECIAL), max_size=12),
        st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
        st.booleans(),
    )
    def test_agrees_with_isfinite(self, entries, dtype, complex_):
        # Finite entries that overflow when summed (1e308 + 1e308, or 3e38 and 1.0 in
        # float16, which rounds to inf on conversion) must not fool the shortcut.
        tensor = torch.tensor(entries, dtype=torch.float64).to(dtype)
        if complex_ and dtype in (torch.float32, torch.float64):
            tensor = torch.complex(tensor, tensor.flip(0))
        assert all_finite(tensor) == bool(torch.isfinite(tensor).all())

    @given(
        st.lists(st.sampled_from(SPECIAL), max_size=40),
        st.sampled_from([np.float16, np.float32, np.float64, np.complex128]),
        st.booleans(),
    )
    def test_numpy_agrees_with_isfinite(self, entries, dtype, column):
        # Up to 32 real numbers are summed in Python first (their sum may overflow or be
        # inf - inf); more, or complex ones, take numpy's mask.
        with np.errstate(over="ignore"):
            values = np.array(entries, dtype=np.float64).astype(dtype)
        if column:
            values = values[:, None]
        assert all_finite(values) is bool(np.isfinite(values).all())

    def test_integers_are_finite(self):
        assert all_finite(torch.tensor([2**62, 2**62, 2**62]))

    @pytest.mark.parametrize(
        ("values", "finite"),
        [
            (np.array([1e308, 1e308, 1e308]), True),  # no overflow warning from a sum
            (np.array([[1.0, np.nan]]), False),
            (np.array([np.inf, -np.inf]), False),
            (np.array([1.0 + 1j, complex(0, np.inf)]), False),
            (np.array([2**62, 2**62], dtype=np.int64), True),
            (np.empty((0, 1)), True),
        ],
    )
    def test_numpy_arrays(self, values, finite):
        assert all_finite(values) is finite


class TestCheckInt:
    @pytest.mark.parametrize("value", [3, np.int8(3), np.int64(3), np.uint8(3)])
    def test_accepts_integers(self, value):
        out = check_int(value, "n")
        assert out == 3
        assert type(out) is int

    @pytest.mark.parametrize(
        "value",
        [
            True,
            False,
            np.True_,
            torch.tensor(True),
            3.0,
            np.float64(3.0),
            torch.tensor(3.0),
            "3",
            None,
            [3],
            np.array([3]),
            3 + 0j,
            torch.tensor([3]),
        ],
        ids=repr,
    )
    def test_rejects_non_integers(self, value):
        with pytest.raises(fdopt.ArgumentTypeError, match="my_arg") as info:
            check_int(value, "my_arg")
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, RuntimeError)

    def test_minimum(self):
        assert check_int(2, "n", minimum=2) == 2
        with pytest.raises(fdopt.ArgumentValueError, match=r"my_arg must be >= 2; got 1") as info:
            check_int(1, "my_arg", minimum=2)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, RuntimeError)

    def test_maximum(self):
        assert check_int(8, "n", maximum=8) == 8
        with pytest.raises(fdopt.ArgumentValueError, match=r"my_arg must be <= 8; got 9"):
            check_int(9, "my_arg", maximum=8)

    def test_bounds_checked_after_type(self):
        with pytest.raises(fdopt.ArgumentTypeError, match="my_arg"):
            check_int(1.5, "my_arg", minimum=2)


class TestErrorClasses:
    def test_hierarchy(self):
        assert issubclass(fdopt.ArgumentValueError, fdopt.FdoptError)
        assert issubclass(fdopt.ArgumentValueError, ValueError)
        assert issubclass(fdopt.ArgumentValueError, RuntimeError)
        assert issubclass(fdopt.ArgumentTypeError, fdopt.FdoptError)
        assert issubclass(fdopt.ArgumentTypeError, TypeError)
        assert issubclass(fdopt.ArgumentTypeError, RuntimeError)


class TestDataBytes:
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.int64])
    def test_as_numpy_reads_them(self, dtype):
        # Checkpoints' digests of x0 were made from numpy's bytes: they must not change.
        t = torch.arange(6).to(dtype).reshape(2, 3)
        assert data_bytes(t) == t.numpy().tobytes()
        assert data_bytes(t.numpy()) == t.numpy().tobytes()
        assert data_bytes([1.0, 2.0]) == np.array([1.0, 2.0]).tobytes()

    def test_bfloat16_and_views(self):
        t = torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16, requires_grad=True)
        assert len(data_bytes(t)) == 6
        assert data_bytes(t) != data_bytes(t.detach() + 1)
        wide = torch.arange(12.0, dtype=torch.float64).reshape(3, 4)
        assert data_bytes(wide[:, 1]) == wide[:, 1].contiguous().numpy().tobytes()


MATMUL_SHAPES = (
    ((5,), (5,)),
    ((3, 5), (5,)),
    ((5,), (5, 4)),
    ((3, 5), (5, 4)),
    ((7, 1, 5), (7, 5, 4)),
    ((4, 3, 5), (5, 2)),
    ((2, 5), (3, 5, 4)),
)


class TestMatmul:
    @pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES)
    @pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
    def test_products_are_the_matrix_product(self, a_shape, b_shape, dtype):
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(a_shape, generator=generator, dtype=dtype)
        b = torch.randn(b_shape, generator=generator, dtype=dtype)
        torch.testing.assert_close(_products(a, b), a @ b, rtol=1e-13, atol=1e-13)

    @given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
    def test_products_property(self, i, j, k, seed):
        generator = torch.Generator().manual_seed(seed)
        a = torch.randn(i, j, generator=generator, dtype=torch.float64)
        b = torch.randn(j, k, generator=generator, dtype=torch.float64)
        torch.testing.assert_close(_products(a, b), a @ b, rtol=1e-12, atol=1e-12)

    def test_off_the_cpu_no_matrix_product_is_called(self):
        # On a GPU a matrix product in a start's thread costs a cuBLAS handle and workspace
        # per thread; the meta device stands for the GPU (same route, no arithmetic).
        record = TorchCalls()
        for a_shape, b_shape in MATMUL_SHAPES:
            a, b = torch.empty(a_shape, device="meta"), torch.empty(b_shape, device="meta")
            expected = (torch.empty(a_shape) @ torch.empty(b_shape)).shape
            with record:
                product = matmul(a, b)
            assert product.shape == expected
        called = record.names
        assert called
        assert not {"matmul", "__matmul__", "mm", "bmm", "mv", "dot"} & set(called)
        with record:
            matmul(torch.ones(3), torch.ones(3))  # on the CPU: the product itself
        assert {"matmul", "__matmul__"} & set(called)

    def test_numpy_arrays_pass_through(self):
        a, b = np.arange(6.0).reshape(2, 3), np.arange(3.0)
        np.testing.assert_array_equal(matmul(a, b), a @ b)
