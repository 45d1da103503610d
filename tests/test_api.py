import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import fdopt
from fdopt.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BudgetExhaustedError,
    EvaluationError,
    FunctionOutputError,
)
from fdopt.estimators import ESTIMATORS

# Per-method tolerance on a smooth function (relative to max(1, |grad|_inf)).
TOLERANCE = {
    "forward": 1e-6,
    "backward": 1e-6,
    "central": 1e-9,
    "central4": 1e-11,
    "complex": 1e-14,
    "richardson": 1e-11,
}
RANDOM = {"spsa", "smoothing"}


def rosen(x):
    x = np.asarray(x)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_batch(X):
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)


def rosen_complex(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


X0 = np.array([-1.2, 1.0, 0.3, -0.5, 0.8])


def rel_error(g):
    exact = scipy.optimize.rosen_der(X0)
    return np.max(np.abs(g - exact)) / max(1.0, np.max(np.abs(exact)))


def counting(fun):
    calls = []

    def wrapped(x, *args):
        calls.append(np.array(x, copy=True))
        return fun(x, *args)

    return wrapped, calls


class TestGradAccuracy:
    @pytest.mark.parametrize("method", sorted(TOLERANCE))
    def test_deterministic_methods_on_rosenbrock(self, method):
        fun = rosen_complex if method == "complex" else rosen
        assert rel_error(fdopt.grad(fun, X0, method=method)) < TOLERANCE[method]

    @pytest.mark.parametrize("method", sorted(RANDOM))
    def test_random_methods_are_unbiased_on_a_linear_function(self, method):
        a = np.array([1.0, -2.0, 0.5])
        g = fdopt.grad(lambda x: float(a @ x), np.zeros(3), method=method, samples=4000, seed=1)
        np.testing.assert_allclose(g, a, atol=0.15)


class TestKinds:
    def test_numpy_in_numpy_out(self):
        g = fdopt.grad(rosen, X0)
        assert isinstance(g, np.ndarray)
        assert g.shape == X0.shape
        assert g.dtype == np.float64

    def test_torch_in_torch_out_and_fun_gets_tensors(self):
        x = torch.tensor(X0)
        seen = []

        def fun(x):
            seen.append(type(x))
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

        g = fdopt.grad(fun, x)
        assert isinstance(g, torch.Tensor)
        assert set(seen) == {torch.Tensor}
        assert rel_error(g.numpy()) < 1e-9

    def test_scalar_x(self):
        g = fdopt.grad(lambda x: float(np.sin(x)), 0.3)
        assert np.shape(g) == ()
        assert abs(float(g) - np.cos(0.3)) < 1e-9

    def test_list_x(self):
        np.testing.assert_allclose(
            fdopt.grad(rosen, list(X0)), scipy.optimize.rosen_der(X0), rtol=1e-7
        )

    def test_input_not_modified(self):
        x = X0.copy()
        fdopt.grad(rosen, x, bounds=[(-2, 2)] * 5)
        np.testing.assert_array_equal(x, X0)


class TestEvaluationModes:
    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    def test_vectorized_equals_point_by_point(self, method):
        kwargs = {"seed": 3} if method in RANDOM else {}
        plain_fun = rosen_complex if method == "complex" else rosen
        plain = fdopt.grad(plain_fun, X0, method=method, **kwargs)
        batched = fdopt.grad(rosen_batch, X0, method=method, vectorized=True, **kwargs)
        np.testing.assert_allclose(batched, plain, rtol=1e-12, atol=1e-12)

    def test_vectorized_gets_the_whole_small_stencil_in_one_call(self):
        sizes = []

        def fun(X):
            sizes.append(X.shape[0])
            return rosen_batch(X)

        fdopt.grad(fun, X0, vectorized=True)
        assert sizes == [10]

    @pytest.mark.parametrize(
        ("method", "batch_size", "expected"),
        [
            ("central", 4, [4, 4, 2]),
            ("central", 5, [5, 5]),
            ("central4", 8, [8, 8, 4]),
            ("forward", 3, [3, 3]),  # f(x) goes with the last batch
            ("richardson", 16, [16, 16, 8]),  # 4 levels: 8 points a coordinate
        ],
    )
    def test_batches_hold_at_most_batch_size_points(self, method, batch_size, expected):
        sizes = []

        def fun(X):
            sizes.append(X.shape[0])
            return rosen_batch(X)

        g = fdopt.grad(fun, X0, method=method, vectorized=True, batch_size=batch_size)
        whole = fdopt.grad(rosen_batch, X0, method=method, vectorized=True)
        np.testing.assert_array_equal(g, whole)
        assert sizes[: len(expected)] == expected

    def test_workers_thread_pool(self):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            g = fdopt.grad(rosen, X0, workers=pool)
        np.testing.assert_allclose(g, fdopt.grad(rosen, X0), rtol=0, atol=0)

    def test_full_output_reports_nfev_and_f0(self):
        fun, calls = counting(rosen)
        g, info = fdopt.grad(fun, X0, method="forward", full_output=True)
        assert info.nfev == len(calls) == 6
        assert info.f0 == pytest.approx(rosen(X0))
        assert info.step.shape == (5,)
        assert isinstance(g, np.ndarray)

    def test_central_does_not_evaluate_at_x(self):
        fun, calls = counting(rosen)
        fdopt.grad(fun, X0)
        assert len(calls) == 10
        assert not any(np.array_equal(c, X0) for c in calls)

    def test_maxfev_is_a_hard_budget(self):
        fun, calls = counting(rosen)
        with pytest.raises(BudgetExhaustedError):
            fdopt.grad(fun, X0, maxfev=9)
        assert calls == []


class TestBounds:
    @pytest.mark.parametrize("method", ["forward", "backward", "central", "central4", "richardson"])
    def test_no_point_leaves_the_box(self, method):
        lower, upper = X0 - 1e-9, X0 + 1e-3

        def fun(x):
            assert np.all(x >= lower), x
            assert np.all(x <= upper), x
            return rosen(x)

        g = fdopt.grad(fun, X0, method=method, bounds=list(zip(lower, upper, strict=True)))
        assert rel_error(g) < 1e-5

    def test_scipy_bounds_object(self):
        b = scipy.optimize.Bounds(X0, X0 + 1)
        g = fdopt.grad(rosen, X0, bounds=b)
        assert rel_error(g) < 1e-6

    def test_none_means_unbounded(self):
        g = fdopt.grad(rosen, X0, bounds=[(None, None)] * 5)
        assert rel_error(g) < 1e-9


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"x": np.array([1.0, np.nan])}, ArgumentValueError, r"x must be finite; x\[1\]"),
            ({"x": np.ones((2, 2))}, ArgumentValueError, "x must be a scalar or 1-D"),
            ({"x": np.array([1j, 2.0])}, ArgumentTypeError, "x must be real"),
            ({"x": "abc"}, ArgumentTypeError, "x must be"),
            ({"method": "secant"}, ArgumentValueError, "method must be one of"),
            ({"bounds": [(1, 0), (0, 1)]}, ArgumentValueError, "lower bound 1.0 must not exceed"),
            ({"bounds": [(2, 3), (0, 1)]}, ArgumentValueError, r"x\[0\] = 0.5 lies outside"),
            ({"bounds": [(0, 1)] * 3}, ArgumentValueError, "bounds has 3"),
            ({"bounds": 5}, ArgumentTypeError, "bounds must be"),
            ({"maxfev": 0}, ArgumentValueError, "maxfev"),
            ({"workers": "x"}, ArgumentTypeError, "workers"),
            ({"fun": None}, ArgumentTypeError, "fun must be callable"),
        ],
    )
    def test_argument_errors_before_any_evaluation(self, kwargs, error, match):
        calls = []
        call = {"fun": lambda x: calls.append(1) or 0.0, "x": np.array([0.5, 0.5]), **kwargs}
        with pytest.raises(error, match=match):
            fdopt.grad(call.pop("fun"), call.pop("x"), **call)
        assert calls == []

    @pytest.mark.parametrize("method", ["forward", "central", "central4"])
    @pytest.mark.parametrize("kind", ["numpy", "torch", "bounds"])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_a_step_that_vanishes_next_to_x_is_an_argument_error(self, method, kind, dtype):
        # Each route (numpy arrays; tensors; bounds) checks a given step: x + h == x at
        # coordinate 1, not at coordinate 0 (h is relative to max(1, |x|)).
        calls = []
        x = np.array([0.0, 1.0], dtype=dtype)
        bounds = [(None, None)] * 2 if kind == "bounds" else None
        point = torch.from_numpy(x) if kind == "torch" else x
        with pytest.raises(ArgumentValueError, match=r"step is too small .* at coordinate 1"):
            fdopt.grad(
                lambda z: calls.append(1) or 0.0, point, method=method, step=1e-20, bounds=bounds
            )
        assert calls == []

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    @pytest.mark.parametrize("x", [np.array([]), torch.zeros(0, dtype=torch.float64), []])
    def test_empty_x_is_an_argument_error_for_every_method(self, method, x):
        # It was a numpy reduction error, an IndexError, a ZeroDivisionError or a torch
        # RuntimeError depending on the method.
        calls = []
        seed = {"seed": 0} if method in RANDOM else {}
        with pytest.raises(ArgumentValueError, match="x must have at least one coordinate"):
            fdopt.grad(lambda x: calls.append(1) or 0.0, x, method=method, **seed)
        assert calls == []

    @pytest.mark.parametrize(
        "call",
        [
            lambda fun: fdopt.jacobian(fun, np.array([])),
            lambda fun: fdopt.hessian(fun, np.array([])),
            lambda fun: fdopt.minimize(fun, np.array([])),
            lambda fun: fdopt.Gradient(fun)(np.array([])),
            lambda fun: fdopt.Gradient(fun).fun(np.array([])),
        ],
    )
    def test_empty_x_is_an_argument_error_everywhere(self, call):
        calls = []
        with pytest.raises(ArgumentValueError, match="must have at least one coordinate"):
            call(lambda x: calls.append(1) or 0.0)
        assert calls == []

    def test_empty_starts_name_the_start(self):
        with pytest.raises(ArgumentValueError, match=r"x0\[0\] must have at least one"):
            fdopt.minimize(rosen, np.zeros((2, 0)), options={"multistart": True})

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [({"accuracy": 3}, "accuracy"), ({"sample": 3}, "sample"), ({"step": -1.0}, "step")],
    )
    def test_settings_errors_name_the_field(self, kwargs, field):
        with pytest.raises(ValidationError, match=field):
            fdopt.grad(rosen, X0, **kwargs)

    def test_settings_errors_are_raised_on_every_call(self):
        # Validated models are reused; an invalid setting is never cached as valid.
        for _ in range(2):
            with pytest.raises(ValidationError, match="accuracy"):
                fdopt.grad(rosen, X0, accuracy=3)

    def test_validated_settings_are_reused_by_value_and_type(self):
        from fdopt._estimate import resolve

        first = resolve("spsa", None, {"samples": 4, "seed": 1})[0]
        assert resolve("spsa", None, {"seed": 1, "samples": 4})[0] is first
        assert resolve("spsa", None, {"samples": 4, "seed": 2})[0].seed == 2
        assert resolve("spsa", None, {"samples": 4.0, "seed": 1})[0] is not first
        with pytest.raises(ValidationError, match="samples"):
            resolve("spsa", None, {"samples": 4.5})
        # an unhashable setting is validated as it is
        model = resolve("central", [1e-3, 2e-3], {})[0]
        assert model.step == (1e-3, 2e-3)

    def test_vector_function_needs_jacobian(self):
        with pytest.raises(FunctionOutputError, match=r"use fdopt\.jacobian"):
            fdopt.grad(lambda x: np.array([1.0, 2.0]) * x[0], X0)
        with pytest.raises(FunctionOutputError, match=r"returns shape \(1,\) \(use fdopt"):
            fdopt.grad(lambda x: [float(x[0])], X0)

    def test_auto_step_on_a_complex_function_is_a_clear_error(self):
        # ECnoise's table took the maximum of complex values: a NotImplementedError.
        with pytest.raises(FunctionOutputError, match=r"step='auto'\) needs a real function"):
            fdopt.grad(lambda x: 1j * x[0] + x[1], X0, step="auto")

    def test_exception_chained(self):
        def fun(x):
            raise OSError("simulator down")

        with pytest.raises(EvaluationError, match="simulator down") as info:
            fdopt.grad(fun, X0)
        assert isinstance(info.value.__cause__, OSError)

    def test_complex_step_on_a_function_that_drops_the_imaginary_part(self):
        with pytest.raises(FunctionOutputError, match="imaginary"):
            fdopt.grad(lambda x: rosen(np.real(x)), X0, method="complex")


class TestComplexFunctions:
    """A complex-valued function has a complex derivative, as numpy.gradient's is.

    The stencils' plain numpy route, the route with bounds and the Hessians cast the
    values to x's real dtype (dropping the imaginary part, with a warning only).
    """

    @staticmethod
    def fun(x):
        return 1j * x[..., 0] ** 2 + x[..., 1] ** 2 + 3j

    @pytest.mark.parametrize("method", ["forward", "backward", "central", "central4", "richardson"])
    @pytest.mark.parametrize("mode", [{}, {"vectorized": True}, {"bounds": [(0, 1), (-5, 5)]}])
    @pytest.mark.parametrize("x", [np.array([1.0, 2.0]), torch.tensor([1.0, 2.0]).double()])
    def test_gradient(self, method, mode, x):
        g = fdopt.grad(self.fun, x, method=method, **mode)
        assert np.abs(np.asarray(g) - np.array([2j, 4.0])).max() < 10 * TOLERANCE[method]

    @settings(deadline=None, max_examples=30)
    @given(
        coefficients=st.lists(st.floats(-2, 2), min_size=4, max_size=4),
        x=st.lists(st.floats(-1, 1), min_size=3, max_size=3),
        method=st.sampled_from(["forward", "central", "central4", "richardson"]),
    )
    def test_the_derivative_of_u_plus_iv_is_u_prime_plus_i_v_prime(self, coefficients, x, method):
        a, b, c, d = coefficients
        point = np.array(x)

        def fun(z):
            return np.sum(a * np.sin(b * z)) + 1j * np.sum(c * np.exp(d * z))

        g = fdopt.grad(fun, point, method=method)
        exact = a * b * np.cos(b * point) + 1j * c * d * np.exp(d * point)
        assert np.abs(g - exact).max() <= 10 * TOLERANCE[method] * max(1.0, np.abs(exact).max())

    @pytest.mark.parametrize("method", ["central", "gradient"])
    @pytest.mark.parametrize("mode", [{}, {"vectorized": True}, {"bounds": [(0, 1), (-5, 5)]}])
    def test_hessian(self, method, mode):
        h = fdopt.hessian(self.fun, np.array([1.0, 2.0]), method=method, **mode)
        assert np.abs(h - np.array([[2j, 0.0], [0.0, 2.0]])).max() < 1e-4


class TestJacobianAndHessian:
    @pytest.mark.parametrize("method", ["forward", "central", "central4", "richardson"])
    def test_a_list_of_python_floats_is_read_in_double_precision(self, method):
        # Read as float32 before: the central jacobian erred by 4e-3.
        x = np.array([1.0, 2.0])
        jac = fdopt.jacobian(lambda x: [float(x[0] ** 2), float(np.sin(x[1]))], x, method=method)
        exact = np.array([[2.0, 0.0], [0.0, np.cos(2.0)]])
        assert np.abs(jac - exact).max() < TOLERANCE[method]

    def test_jacobian_of_a_vector_function(self):
        def fun(x):
            return np.array([x[0] * x[1], np.sin(x[0]), x[1] ** 3])

        x = np.array([0.4, -1.3])
        exact = np.array([[x[1], x[0]], [np.cos(x[0]), 0.0], [0.0, 3 * x[1] ** 2]])
        np.testing.assert_allclose(fdopt.jacobian(fun, x), exact, atol=1e-9)
        np.testing.assert_allclose(fdopt.jacobian(fun, x, method="central4"), exact, atol=1e-11)

    def test_jacobian_of_a_scalar_function_is_one_row(self):
        assert fdopt.jacobian(rosen, X0).shape == (1, 5)

    @pytest.mark.parametrize("method", ["central", "gradient"])
    def test_hessian_of_rosenbrock(self, method):
        H = fdopt.hessian(rosen, X0, method=method)
        exact = scipy.optimize.rosen_hess(X0)
        np.testing.assert_array_equal(H, H.T)
        assert np.max(np.abs(H - exact)) / np.max(np.abs(exact)) < 1e-5


class TestConformance:
    """Every registered estimator through the same checks (the table is the one source)."""

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    def test_reported_nfev_counts_every_call(self, method):
        fun, calls = counting(rosen_complex if method == "complex" else rosen)
        _, info = fdopt.grad(fun, X0, method=method, full_output=True, **seeded(method))
        assert info.nfev == len(calls) > 0

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    def test_a_numpy_x_and_a_list_give_the_same_estimate_in_numpy(self, method):
        # An array x may be estimated in numpy, a list always goes through tensors: the
        # same numbers, and every reported array is numpy either way.
        fun = rosen_complex if method == "complex" else rosen
        options = {"method": method, "full_output": True, **seeded(method)}
        g_array, info_array = fdopt.grad(fun, X0, **options)
        g_list, info_list = fdopt.grad(fun, X0.tolist(), **options)
        np.testing.assert_allclose(g_array, g_list, rtol=1e-13, atol=1e-13)
        assert info_array.nfev == info_list.nfev
        for field in ("f0", "error", "step", "noise"):
            mine, theirs = getattr(info_array, field), getattr(info_list, field)
            assert (mine is None) == (theirs is None), field
            if mine is not None:
                assert isinstance(mine, np.ndarray)
                assert isinstance(theirs, np.ndarray)
                np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-15)

    @pytest.mark.parametrize("method", ["central", "richardson"])
    @pytest.mark.parametrize("n", [5, 200])
    def test_a_function_with_autograd_parameters_gives_a_detached_estimate(self, method, n):
        # A torch function whose values carry autograd history (a parameter that
        # requires grad): small stencils go in numpy, large ones (n = 200: more points
        # than one vectorized call) through tensors; both give a detached estimate.
        weight = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        x = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
        g = fdopt.grad(lambda p: (weight * p**2).sum(-1), x, method=method, vectorized=True)
        assert isinstance(g, torch.Tensor)
        assert not g.requires_grad
        torch.testing.assert_close(g, 4 * x, rtol=0, atol=1e-8)

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_a_cpu_tensor_gets_the_arrays_estimate_as_tensors(self, method, dtype):
        # A CPU tensor's estimate may be computed in numpy too; it comes back as tensors
        # of its dtype, with the numbers a function of tensors gives on the torch route.
        def fun(x):
            x = torch.as_tensor(x)
            value = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
            return value if method == "complex" else value.real

        x = torch.tensor(X0, dtype=dtype)
        options = {"method": method, "full_output": True, **seeded(method)}
        g, info = fdopt.grad(fun, x, **options)
        unbounded = [(None, None)] * x.shape[0]  # bounds: always the torch route
        g_torch, info_torch = fdopt.grad(fun, x, bounds=unbounded, **options)
        assert isinstance(g, torch.Tensor)
        assert g.dtype == dtype
        rtol = 1e-12 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(g, g_torch, rtol=rtol, atol=rtol)
        for field in ("f0", "error", "step", "noise"):
            mine = getattr(info, field)
            assert (mine is None) == (getattr(info_torch, field) is None), field
            if mine is not None:
                assert isinstance(mine, torch.Tensor), field
                assert mine.dtype == getattr(info_torch, field).dtype, field

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    def test_same_seed_same_estimate_and_inputs_untouched(self, method):
        x = X0.copy()
        fun = rosen_complex if method == "complex" else rosen
        first = fdopt.grad(fun, x, method=method, **seeded(method))
        second = fdopt.grad(fun, x, method=method, **seeded(method))
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(x, X0)

    @pytest.mark.parametrize("method", sorted(ESTIMATORS))
    def test_every_method_has_a_settings_model_that_rejects_unknown_options(self, method):
        with pytest.raises(ValidationError, match="no_such_option"):
            fdopt.grad(rosen, X0, method=method, no_such_option=1)


def seeded(method):
    return {"seed": 7, "samples": 3} if method in RANDOM else {}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["forward", "backward", "central", "central4", "richardson"]),
    room=st.lists(st.sampled_from([0.0, 1e-9, 1e-4, 1.0, np.inf]), min_size=2, max_size=2),
)
@example(n=6, seed=0, method="richardson", room=[1e-9, 0.0])
def test_quadratics_with_random_bounds_are_exact_and_stay_in_the_box(n, seed, method, room):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    a = a + a.T
    b = rng.standard_normal(n)
    x = rng.uniform(-3, 3, n)
    below, above = room
    if below == above == 0.0:
        above = 1.0  # a coordinate needs some room
    lower, upper = x - below, x + above

    def fun(z):
        assert np.all(z >= lower)
        assert np.all(z <= upper)
        return float(0.5 * z @ a @ z + b @ z)

    bounds = list(zip(lower, upper, strict=True))
    g = fdopt.grad(fun, x, method=method, bounds=bounds)
    exact = a @ x + b
    scale = max(1.0, float(np.max(np.abs(exact))), float(np.max(np.abs(x))) * np.abs(a).max())
    tolerance = 1e-5 if method in ("forward", "backward") or min(below, above) < 1e-4 else 1e-8
    np.testing.assert_allclose(g, exact, atol=tolerance * scale)


def test_a_tensor_that_requires_grad_is_taken_as_data():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    seen = []

    def fun(p):
        seen.append(p.requires_grad)
        return (p**2).sum()

    g = fdopt.grad(fun, x)
    torch.testing.assert_close(g, torch.tensor([2.0, -4.0], dtype=torch.float64))
    assert not g.requires_grad
    assert not any(seen)
    assert x.grad is None
