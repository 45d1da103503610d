"""Tests of fdopt.estimators.hessian: Hessians by second differences and by gradients.

Oracles: analytic Hessians (scipy.optimize.rosen_hess, quadratic forms, exp/sin
sums), the peer a scipy user has (3-point differences of 3-point gradients), exact
symmetry, and the error ratio when the step is halved (2^2).
"""

import importlib

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy.optimize import rosen, rosen_hess
from scipy.optimize._numdiff import approx_derivative

from fdopt.errors import ArgumentValueError, FunctionOutputError
from fdopt.estimators._base import Bounds
from fdopt.estimators.hessian import hessian
from fdopt.settings import HessianSettings
from tests.helpers import make_evaluate, rosen_t

F64 = torch.float64
METHODS = ["central", "gradient"]


def separable(points):
    """exp(x_0) + sin(x_1) + x_0 x_1^2: every second derivative nonzero."""
    return torch.exp(points[:, 0]) + torch.sin(points[:, 1]) + points[:, 0] * points[:, 1] ** 2


def separable_hessian(x):
    return torch.stack(
        [
            torch.stack([torch.exp(x[0]), 2 * x[1]]),
            torch.stack([2 * x[1], -torch.sin(x[1]) + 2 * x[0]]),
        ]
    )


def relative_error(estimate, exact):
    return float((estimate - exact).abs().max() / max(1.0, float(exact.abs().max())))


@pytest.mark.parametrize(("method", "target"), [("central", 1e-7), ("gradient", 2e-7)])
def test_rosenbrock_beats_scipy_differences_of_gradients(method, target):
    rng = np.random.default_rng(10)
    errors, scipy_errors = [], []
    for _ in range(3):
        x = rng.uniform(-2, 2, 10)
        exact = torch.from_numpy(rosen_hess(x))
        value = hessian(
            make_evaluate(rosen_t)[0], torch.from_numpy(x), HessianSettings(method=method)
        )
        errors.append(relative_error(value.value, exact))
        grad = lambda y: approx_derivative(rosen, y, method="3-point")  # noqa: E731
        scipy_value = torch.from_numpy(approx_derivative(grad, x, method="3-point"))
        scipy_errors.append(relative_error((scipy_value + scipy_value.T) / 2, exact))
    assert max(errors) <= target
    assert max(errors) <= max(scipy_errors)


@pytest.mark.parametrize("method", METHODS)
def test_symmetric_by_construction_and_untouched_input(method):
    x = torch.tensor([0.3, -1.2, 2.5, 4.0, -0.1], dtype=F64)
    x_before = x.clone()
    value = hessian(make_evaluate(rosen_t)[0], x, HessianSettings(method=method)).value
    assert value.shape == (5, 5)
    assert value.dtype == F64
    assert torch.equal(value, value.T)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize(
    ("method", "nfev", "nfev_given"),
    [
        ("central", lambda n: 2 * n * n + 1, lambda n: 2 * n * n),
        ("gradient", lambda n: 4 * n * n, lambda n: 4 * n * n),
    ],
)
def test_nfev_one_call_and_f0_reuse(method, nfev, nfev_given):
    n = 4
    x = torch.tensor([0.3, -1.2, 2.5, 4.0], dtype=F64)
    f0 = rosen_t(x[None])
    evaluate, calls = make_evaluate(rosen_t)
    estimate = hessian(evaluate, x, HessianSettings(method=method))
    assert calls == [estimate.nfev] == [nfev(n)]
    if method == "central":
        torch.testing.assert_close(estimate.f0, f0, rtol=0, atol=0)
    else:
        assert estimate.f0 is None

    def no_x(points):
        assert not (points == x).all(1).any(), "f(x) evaluated although f0 was given"

    evaluate, calls = make_evaluate(rosen_t, check=no_x)
    estimate = hessian(evaluate, x, HessianSettings(method=method), f0=f0)
    assert calls == [estimate.nfev] == [nfev_given(n)]
    torch.testing.assert_close(estimate.f0, f0, rtol=0, atol=0)


@pytest.mark.parametrize("method", METHODS)
def test_large_batches_go_in_blocks_with_the_same_result(monkeypatch, method):
    x = torch.tensor([0.3, -1.2, 2.5, 4.0, -0.1, 0.7], dtype=F64)
    lower = x - torch.tensor([0.0, 1, 1, 1, 1, 1], dtype=F64)
    bounds = Bounds(lower, x + 1)  # one one-sided coordinate: f(x) and axis points too
    evaluate, calls = make_evaluate(rosen_t)
    whole = hessian(evaluate, x, HessianSettings(method=method), bounds=bounds)
    # (fdopt.estimators re-exports the function under the module's name.)
    module = importlib.import_module("fdopt.estimators.hessian")
    monkeypatch.setattr(module, "MAX_BATCH_ELEMENTS", 6 * 40)
    evaluate, blocks = make_evaluate(rosen_t, check=lambda p: None)
    split = hessian(evaluate, x, HessianSettings(method=method), bounds=bounds)
    assert len(calls) == 1
    assert len(blocks) > 2
    assert split.nfev == sum(blocks) == whole.nfev
    torch.testing.assert_close(split.value, whole.value, rtol=0, atol=0)
    torch.testing.assert_close(split.f0, whole.f0, rtol=0, atol=0)


@pytest.mark.parametrize("method", METHODS)
def test_convergence_order_two(method):
    x = torch.tensor([0.4, -0.7], dtype=F64)
    evaluate, _ = make_evaluate(separable)
    errors = [
        (hessian(evaluate, x, HessianSettings(method=method, step=s)).value - separable_hessian(x))
        .abs()
        .max()
        for s in (0.04, 0.02)
    ]
    assert abs(float(torch.log2(errors[0] / errors[1])) - 2) < 0.3


@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-3, 3), min_size=n * n, max_size=n * n),
            st.lists(st.floats(-3, 3), min_size=n, max_size=n),
        )
    ),
    st.sampled_from(METHODS),
)
def test_quadratic_forms_are_exact_to_rounding(data, method):
    a, x = (torch.tensor(v, dtype=F64) for v in data)
    n = x.shape[0]
    a = a.reshape(n, n)
    fun = lambda p: 0.5 * ((p @ a) * p).sum(1)  # noqa: E731
    exact = 0.5 * (a + a.T)
    value = hessian(make_evaluate(fun)[0], x, HessianSettings(method=method)).value
    scale = float(1 + a.abs().sum() * (1 + x.abs().max()) ** 2)
    assert (value - exact).abs().max() <= 1e-6 * scale


def box_checker(lower, upper):
    def check(points):
        assert (points >= lower).all(), "a point below the lower bound"
        assert (points <= upper).all(), "a point above the upper bound"

    return check


@pytest.mark.parametrize("method", METHODS)
def test_bounds_are_never_left(method):
    lower = torch.tensor([0.0, -1.0, 0.5, -2.0, 1.0], dtype=F64)
    upper = torch.tensor([1.0, 0.0, 0.5 + 1e-5, 2.0, np.inf], dtype=F64)
    # On a bound, next to one, in a box narrower than the stencil, far, unbounded above.
    x = torch.tensor([0.0, -1e-6, 0.5 + 4e-6, 2.0, 1.0], dtype=F64)
    evaluate, calls = make_evaluate(rosen_t, check=box_checker(lower, upper))
    estimate = hessian(evaluate, x, HessianSettings(method=method), bounds=Bounds(lower, upper))
    assert len(calls) == 1
    assert estimate.nfev == calls[0]
    assert torch.equal(estimate.value, estimate.value.T)
    exact = torch.from_numpy(rosen_hess(x.numpy()))
    error = (estimate.value - exact).abs() / exact.abs().max()
    assert error[[0, 1, 3, 4]][:, [0, 1, 3, 4]].max() <= 1e-6
    assert error[2].max() <= 1e-2  # steps shrunk to fit a 1e-5 box: rounding dominates


@pytest.mark.parametrize("method", METHODS)
def test_order_is_kept_on_bounds(method):
    x = torch.tensor([0.4, -0.7], dtype=F64)
    for bounds in [
        Bounds(x, x + 100),
        Bounds(x - 100, x),
        Bounds(x - torch.tensor([0.0, 100]), x + torch.tensor([100, 0.0])),
    ]:
        evaluate, _ = make_evaluate(separable, check=box_checker(*bounds))
        errors = [
            (
                hessian(evaluate, x, HessianSettings(method=method, step=s), bounds=bounds).value
                - separable_hessian(x)
            )
            .abs()
            .max()
            for s in (0.02, 0.01)
        ]
        assert abs(float(torch.log2(errors[0] / errors[1])) - 2) < 0.4


@pytest.mark.parametrize("method", METHODS)
def test_fixed_coordinate_is_an_error_naming_bounds(method):
    x = torch.tensor([0.5, 2.0], dtype=F64)
    bounds = Bounds(torch.tensor([0.0, 2.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64))
    evaluate, calls = make_evaluate(separable)
    with pytest.raises(ArgumentValueError, match=r"bounds.*coordinate 1"):
        hessian(evaluate, x, HessianSettings(method=method), bounds=bounds)
    assert calls == []


@pytest.mark.parametrize("method", METHODS)
def test_vector_function_is_rejected(method):
    x = torch.tensor([0.5, 2.0], dtype=F64)
    two = lambda p: torch.stack([p.sum(1), p.prod(1)], 1)  # noqa: E731
    with pytest.raises(FunctionOutputError, match="scalar function; fun returns 2 values"):
        hessian(make_evaluate(two)[0], x, HessianSettings(method=method))
    evaluate, calls = make_evaluate(two)
    with pytest.raises(FunctionOutputError, match="scalar function; f0 holds 2 values"):
        hessian(evaluate, x, HessianSettings(method=method), f0=torch.ones(2, dtype=F64))
    assert calls == []


@pytest.mark.parametrize("method", METHODS)
def test_float32(method):
    x = torch.tensor([0.4, -0.7], dtype=torch.float32)
    estimate = hessian(make_evaluate(separable)[0], x, HessianSettings(method=method))
    assert estimate.value.dtype == torch.float32
    torch.testing.assert_close(estimate.value, separable_hessian(x), rtol=0, atol=1e-2)


@pytest.mark.parametrize(("field", "value"), [("method", "forward"), ("step", -1.0), ("eps", 1e-4)])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        HessianSettings(**{field: value})
