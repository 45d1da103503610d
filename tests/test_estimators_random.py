import pytest
import torch

from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import Bounds
from fdopt.estimators.random import make_generator, smoothing, spsa
from fdopt.settings import SmoothingSettings, SpsaSettings
from tests.helpers import Recorder

A = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, -1.0, 2.0]], dtype=torch.float64)
H = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 3.0]], dtype=torch.float64)
X0 = torch.tensor([0.4, -1.1, 0.7], dtype=torch.float64)


def linear(X):
    """Two outputs: a (2, 4) Jacobian."""
    return X @ A.T


def quadratic(X):
    return (0.5 * ((X @ H) * X).sum(1) + X.sum(1))[:, None]


QUADRATIC_GRAD = H @ X0 + 1


def cubic(X):
    return (X**3).sum(1, keepdim=True)


def within_standard_errors(est, exact, k=5.0):
    return bool(((est.value - exact).abs() <= k * est.error).all())


ESTIMATORS = [
    (spsa, SpsaSettings),
    (smoothing, SmoothingSettings),
    (smoothing, lambda **kw: SmoothingSettings(antithetic=False, **kw)),
]


@pytest.mark.parametrize(("estimator", "settings"), ESTIMATORS)
def test_same_seed_same_numbers_and_global_rng_untouched(estimator, settings):
    state = torch.get_rng_state()
    first = estimator(quadratic, X0, settings(samples=3, seed=7))
    second = estimator(quadratic, X0, settings(samples=3, seed=7))
    other = estimator(quadratic, X0, settings(samples=3, seed=8))
    # Unseeded: seeded from entropy. In 3-D, SPSA's Rademacher directions take only 8
    # values, so two 20-sample means collide now and then; in 64-D they never do.
    wide = torch.linspace(-1.0, 1.0, 64, dtype=torch.float64)
    unseeded = [estimator(cubic, wide, settings(samples=20)).value for _ in range(2)]
    assert torch.equal(first.value, second.value)
    assert not torch.equal(first.value, other.value)
    assert not torch.equal(*unseeded)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(("estimator", "settings"), ESTIMATORS)
def test_a_passed_generator_advances(estimator, settings):
    generator = make_generator(3, X0.device)
    first = estimator(quadratic, X0, settings(samples=2), generator=generator)
    second = estimator(quadratic, X0, settings(samples=2), generator=generator)
    assert not torch.equal(first.value, second.value)


@pytest.mark.parametrize(("estimator", "settings"), ESTIMATORS)
def test_unbiased_on_a_linear_jacobian(estimator, settings):
    x = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    est = estimator(linear, x, settings(samples=20000, seed=0))
    assert est.value.shape == est.error.shape == (2, 4)
    assert within_standard_errors(est, A)


@pytest.mark.parametrize(("estimator", "settings"), ESTIMATORS)
def test_unbiased_on_a_quadratic(estimator, settings):
    # Large steps make any O(step) bias visible: there is none on a quadratic.
    est = estimator(quadratic, X0, settings(samples=20000, seed=1, step=0.5))
    assert within_standard_errors(est, QUADRATIC_GRAD[None])
    # The standard error is honest: it shrinks like 1/sqrt(samples).
    small = estimator(quadratic, X0, settings(samples=500, seed=1, step=0.5))
    ratio = small.error / est.error
    assert bool(((ratio > 4) & (ratio < 9)).all())


def test_spsa_points_and_counts():
    settings = SpsaSettings(samples=5, step=0.01, seed=0)
    evaluate = Recorder(quadratic)
    x = torch.tensor([3.0, -0.5, 0.2], dtype=torch.float64)
    est = spsa(evaluate, x, settings)
    assert len(evaluate.batches) == 1
    assert est.nfev == evaluate.points.shape[0] == 10
    # Rademacher: every coordinate moves by exactly c = step * max(1, |x|_inf).
    assert torch.allclose((evaluate.points - x).abs(), torch.tensor(0.03, dtype=torch.float64))
    assert torch.allclose(est.step, torch.full((3,), 0.03, dtype=torch.float64))
    assert est.f0 is None


def test_smoothing_counts_and_f0():
    x = X0
    f0 = quadratic(x[None])[0]
    antithetic = smoothing(quadratic, x, SmoothingSettings(samples=4, seed=0))
    assert antithetic.nfev == 8
    evaluate = Recorder(quadratic)
    one_sided = smoothing(evaluate, x, SmoothingSettings(samples=4, seed=0, antithetic=False))
    assert one_sided.nfev == evaluate.points.shape[0] == 5
    assert torch.equal(evaluate.points[0], x)
    assert torch.equal(one_sided.f0, f0)
    reused = smoothing(quadratic, x, SmoothingSettings(samples=4, seed=0, antithetic=False), f0=f0)
    assert reused.nfev == 4
    assert torch.equal(reused.value, one_sided.value)


def test_one_sample_has_no_error():
    est = spsa(quadratic, X0, SpsaSettings(seed=0))
    assert est.error is None
    assert est.value.shape == (1, 3)


@pytest.mark.parametrize(("estimator", "settings"), ESTIMATORS)
def test_bounds_are_never_left(estimator, settings):
    x = torch.tensor([0.0, 0.5, 0.999, 0.2], dtype=torch.float64)
    lower = torch.tensor([0.0, 0.0, 0.0, 0.19], dtype=torch.float64)
    upper = torch.tensor([1.0, 1.0, 1.0, 0.21], dtype=torch.float64)
    evaluate = Recorder(linear)
    est = estimator(
        evaluate, x, settings(samples=4000, seed=2, step=0.05), bounds=Bounds(lower, upper)
    )
    points = evaluate.points
    assert bool(((points >= lower) & (points <= upper)).all())
    # Moving the centre keeps a linear function's estimate unbiased.
    assert within_standard_errors(est, A)
    assert est.step[3] <= 0.01


def test_no_room_is_an_error():
    bounds = Bounds(torch.zeros(3, dtype=torch.float64), torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ArgumentValueError, match="coordinate 1"):
        spsa(quadratic, torch.zeros(3, dtype=torch.float64), SpsaSettings(), bounds=bounds)


def test_float32_and_defaults():
    x = X0.float()
    est = spsa(lambda X: quadratic(X.double()).float(), x, SpsaSettings(samples=2, seed=0))
    assert est.value.dtype == torch.float32
    assert float(est.step[0]) == pytest.approx(torch.finfo(torch.float32).eps ** (1 / 3) * 1.1)
