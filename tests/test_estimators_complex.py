"""Tests of fdopt.estimators.complex_step: the complex-step Jacobian.

Oracles: analytic derivatives (exp/sin compositions, extended Rosenbrock) and
scipy.optimize.approx_derivative(method="cs"); fdopt must be at least as accurate.
"""

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from scipy.optimize import rosen, rosen_der
from scipy.optimize._numdiff import approx_derivative

from fdopt.errors import ArgumentValueError, FunctionOutputError
from fdopt.estimators._base import Bounds
from fdopt.estimators.complex_step import complex_step
from fdopt.settings import ComplexSettings
from tests.helpers import make_evaluate, rosen_t

F64 = torch.float64


def smooth(points):
    """Two outputs: sum sin(x_i) exp(x_{i+1}/3) and sum x_i^2 cos(x_i)."""
    first = (torch.sin(points[:, :-1]) * torch.exp(points[:, 1:] / 3)).sum(1)
    return torch.stack([first, (points**2 * torch.cos(points)).sum(1)], 1)


def smooth_jacobian(x):
    jac = torch.zeros(2, x.shape[0], dtype=x.dtype)
    jac[0, :-1] += torch.cos(x[:-1]) * torch.exp(x[1:] / 3)
    jac[0, 1:] += torch.sin(x[:-1]) * torch.exp(x[1:] / 3) / 3
    jac[1] = 2 * x * torch.cos(x) - x**2 * torch.sin(x)
    return jac


def relative_error(estimate, exact):
    return float((estimate - exact).abs().max() / max(1.0, float(exact.abs().max())))


@pytest.mark.parametrize("n", [10, 100])
def test_rosenbrock_matches_or_beats_scipy(n):
    rng = np.random.default_rng(n)
    errors, scipy_errors = [], []
    for _ in range(5):
        x = rng.uniform(-2, 2, n)
        exact = torch.from_numpy(rosen_der(x))
        estimate = complex_step(make_evaluate(rosen_t)[0], torch.from_numpy(x), ComplexSettings())
        errors.append(relative_error(estimate.value[0], exact))
        scipy_value = torch.from_numpy(approx_derivative(rosen, x, method="cs"))
        scipy_errors.append(relative_error(scipy_value, exact))
    assert max(errors) <= 1e-15
    assert max(errors) <= 2 * max(scipy_errors)


def test_vector_function_is_exact_to_rounding():
    x = torch.linspace(-1.5, 2.0, 7, dtype=F64)
    estimate = complex_step(make_evaluate(smooth)[0], x, ComplexSettings())
    assert estimate.value.shape == (2, 7)
    assert estimate.value.dtype == F64
    torch.testing.assert_close(estimate.value, smooth_jacobian(x), rtol=4e-16, atol=4e-16)


def test_one_call_nfev_free_f0_and_untouched_input():
    x = torch.tensor([0.3, -1.2, 2.5, 4.0], dtype=F64)
    x_before = x.clone()
    evaluate, calls = make_evaluate(smooth)
    estimate = complex_step(evaluate, x, ComplexSettings())
    assert calls == [4]
    assert estimate.nfev == 4
    torch.testing.assert_close(estimate.f0, smooth(x[None])[0], rtol=1e-15, atol=1e-15)
    assert estimate.f0.dtype == F64
    assert torch.equal(x, x_before)
    given = torch.tensor([1.0, 2.0], dtype=F64)
    assert complex_step(evaluate, x, ComplexSettings(), f0=given).f0 is given


def test_points_are_complex_with_the_real_part_x():
    x = torch.tensor([0.3, -1.2, 1e3], dtype=F64)
    seen = []
    evaluate, _ = make_evaluate(smooth, check=seen.append)
    estimate = complex_step(evaluate, x, ComplexSettings())
    (points,) = seen
    assert points.dtype == torch.complex128
    assert torch.equal(points.real, x.repeat(3, 1))
    torch.testing.assert_close(points.imag, torch.diag(estimate.step), rtol=0, atol=0)
    torch.testing.assert_close(estimate.step, 1e-20 * torch.tensor([1.0, 1.2, 1e3], dtype=F64))


def test_bounds_are_irrelevant_the_real_part_stays_at_x():
    x = torch.tensor([0.0, 1.0], dtype=F64)
    bounds = Bounds(x.clone(), x.clone())  # even a fixed box: only x's real part is used
    estimate = complex_step(make_evaluate(smooth)[0], x, ComplexSettings(), bounds=bounds)
    torch.testing.assert_close(estimate.value, smooth_jacobian(x), rtol=4e-16, atol=4e-16)


def test_float32_uses_complex64():
    x = torch.linspace(-1.5, 2.0, 5, dtype=torch.float32)
    seen = []
    evaluate, _ = make_evaluate(smooth, check=lambda p: seen.append(p.dtype))
    estimate = complex_step(evaluate, x, ComplexSettings())
    assert seen == [torch.complex64]
    assert estimate.value.dtype == torch.float32
    exact = smooth_jacobian(x.double()).float()
    torch.testing.assert_close(estimate.value, exact, rtol=1e-6, atol=1e-6)


def test_float16_takes_a_step_that_does_not_underflow():
    # 1e-20 is 0 in float16: every derivative was NaN.
    x = torch.linspace(-1.5, 2.0, 5, dtype=torch.float16)
    estimate = complex_step(make_evaluate(smooth)[0], x, ComplexSettings())
    exact = smooth_jacobian(x.double())
    assert estimate.value.dtype == torch.float16
    assert float((estimate.value.double() - exact).abs().max()) < 4e-3 * float(exact.abs().max())
    with pytest.raises(ArgumentValueError, match=r"step=1e-10 underflows to 0 in torch.float16"):
        complex_step(make_evaluate(smooth)[0], x, ComplexSettings(step=1e-10))


def test_large_step_reports_no_f0():
    # Re f(x + ih) = f(x) - h^2 f''/2 + ...: not f(x) once h^2 is above rounding.
    x = torch.tensor([0.3, 1.0], dtype=F64)
    estimate = complex_step(make_evaluate(smooth)[0], x, ComplexSettings(step=1e-3))
    assert estimate.f0 is None
    torch.testing.assert_close(estimate.value, smooth_jacobian(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("drops", "warns"),
    [
        (lambda p: smooth(p.real), False),  # np.real / .real inside
        (lambda p: smooth(p.abs()), False),  # abs()
        (lambda p: smooth(p.to(torch.float64)), True),  # a cast (torch warns, as numpy does)
    ],
    ids=["real", "abs", "cast"],
)
def test_function_dropping_the_imaginary_part_is_named(drops, warns):
    x = torch.tensor([0.3, 1.0], dtype=F64)
    cast_warning = pytest.warns(UserWarning, match="imaginary part") if warns else nullcontext()
    with cast_warning, pytest.raises(FunctionOutputError, match=r"imaginary part.*'central'"):
        complex_step(make_evaluate(drops)[0], x, ComplexSettings())


@pytest.mark.parametrize(("field", "value"), [("step", 0.0), ("step", float("nan")), ("h", 1e-20)])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        ComplexSettings(**{field: value})
