import math

import numpy as np
import pytest
import torch

from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import Bounds, default_step, magnitude
from fdopt.estimators.noise import auto_step, ecnoise
from tests.helpers import Recorder, rosen_grad
from tests.helpers import rosen_column as rosen

UNIFORM_STD = 1 / math.sqrt(3)  # of the pseudo-noise below, uniform on [-1, 1)


def pseudo_noise(X):
    """Deterministic, hash-like noise in [-1, 1): one value per point, bit for bit.

    The same point always gives the same value (like a simulation's computational
    noise), while points that differ in any bit give unrelated values.
    """
    bits = np.ascontiguousarray(X.numpy()).view(np.uint64)
    h = bits * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(31)
    h = (h * np.uint64(0xBF58476D1CE4E5B9)).sum(axis=1, dtype=np.uint64)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(32)
    return torch.from_numpy((h >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0)


def noisy_rosen(X, relative=1e-8):
    return rosen(X) * (1 + relative * pseudo_noise(X))[:, None]


def smooth(X):
    return torch.exp(0.3 * X).sum(1, keepdim=True) + torch.sin(X[:, :1])


def central(evaluate, x, h):
    n = x.numel()
    steps = torch.diag(h)
    values = evaluate(torch.cat([x + steps, x - steps]))[:, 0]
    return (values[:n] - values[n:]) / (2 * h)


def forward(evaluate, x, h):
    steps = torch.diag(h)
    return (evaluate(x + steps)[:, 0] - evaluate(x[None])[0, 0]) / h


def test_pseudo_noise_is_repeatable_and_uniform():
    X = torch.rand(20000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    noise = pseudo_noise(X)
    assert torch.equal(noise, pseudo_noise(X.clone()))
    assert float(noise.std()) == pytest.approx(UNIFORM_STD, rel=0.02)


@pytest.mark.parametrize("sigma", [1e-3, 1e-6, 1e-10])
def test_ecnoise_recovers_a_known_noise_level(sigma):
    x = torch.tensor([0.3, -0.8, 1.5], dtype=torch.float64)

    def fun(X):
        return smooth(X) + sigma * pseudo_noise(X)[:, None]

    for seed in range(4):
        generator = torch.Generator().manual_seed(seed)
        noise, nfev = ecnoise(fun, x, generator=generator)
        assert nfev in (9, 17, 25)
        ratio = float(noise[0]) / (sigma * UNIFORM_STD)
        assert 1 / 3 < ratio < 3


def test_ecnoise_on_a_noise_free_function_finds_rounding():
    x = torch.tensor([0.3, 0.7], dtype=torch.float64)
    noise, nfev = ecnoise(smooth, x)
    assert nfev == 9
    assert float(noise[0]) < 10 * torch.finfo(torch.float64).eps * float(smooth(x[None])[0, 0])


def test_ecnoise_retries_a_spacing_that_is_too_large():
    x = torch.tensor([0.3, 0.7], dtype=torch.float64)

    def fun(X):
        return smooth(X) + 1e-9 * pseudo_noise(X)[:, None]

    noise, nfev = ecnoise(fun, x, h=1.0)  # values differ by over 10%: h / 100 next
    assert nfev == 17
    assert 1 / 3 < float(noise[0]) / (1e-9 * UNIFORM_STD) < 3


def test_ecnoise_reports_an_undetectable_noise_as_nan():
    # A constant: every difference vanishes, "h too small" even after two retries.
    noise, nfev = ecnoise(lambda X: torch.ones(X.shape[0], 2, dtype=X.dtype), torch.zeros(3))
    assert noise.shape == (2,)
    assert bool(noise.isnan().all())
    assert nfev == 9 + 8 + 8


def test_ecnoise_reuses_f0_stays_in_bounds_and_takes_a_direction():
    x = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    bounds = Bounds(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    evaluate = Recorder(smooth)
    _, nfev = ecnoise(evaluate, x, bounds=bounds, f0=smooth(x[None])[0], h=1.0)
    points = evaluate.points
    assert nfev == points.shape[0]
    assert nfev % 8 == 0
    assert bool(((points >= 0) & (points <= 1)).all())
    evaluate = Recorder(smooth)
    direction = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    ecnoise(evaluate, x, direction=direction, points=5, h=1e-3)
    moves = evaluate.batches[0] - x
    assert torch.equal(moves[:, 1:], torch.zeros(5, 2, dtype=torch.float64))
    assert torch.allclose(moves[:, 0], 1e-3 * torch.arange(5, dtype=torch.float64))
    with pytest.raises(ArgumentValueError, match="points"):
        ecnoise(smooth, x, points=3)


@pytest.mark.parametrize(("order", "one_sided"), [(2, False), (1, True)])
def test_auto_step_beats_the_default_step_on_a_noisy_function(order, one_sided):
    # The target: relative noise 1e-8, auto at least 10x more accurate.
    difference = forward if one_sided else central
    for seed in range(2):
        x = torch.tensor(np.random.default_rng(seed).uniform(-2, 2, 10))
        exact = rosen_grad(x)
        scale = max(1.0, float(exact.abs().max()))
        default = default_step(order, x.dtype) * magnitude(x)
        steps, noise, nfev = auto_step(noisy_rosen, x, order=order, one_sided=one_sided)
        error_default = float((difference(noisy_rosen, x, default) - exact).abs().max()) / scale
        error_auto = float((difference(noisy_rosen, x, steps) - exact).abs().max()) / scale
        assert error_auto * 10 <= error_default
        # The noise estimate is exposed, and right to a factor 3.
        expected = 1e-8 * UNIFORM_STD * float(rosen(x[None])[0, 0])
        assert 1 / 3 < float(noise[0]) / expected < 3
        assert nfev >= 9 + (order + 1) * 10


def decays(X):
    """Rates near 0.01 and 0.02 over times up to 320 (as in Osborne's first fit) plus
    a gentle quadratic, with relative noise 1e-3."""
    t = torch.arange(0.0, 330.0, 10.0, dtype=X.dtype)
    rates = X[:, :2, None] * t
    value = torch.exp(-rates).sum(dim=(1, 2)) + (X[:, 2] - 1.0) ** 2
    return (value * (1 + 1e-3 * pseudo_noise(X)))[:, None]


def test_auto_step_narrows_where_the_values_vary_far_too_much():
    # Moré & Wild's two spacings (about 0.25 and 0.0025 here) both leave the rates'
    # exponentials varying too much to measure; the unit-derivative fallback then took
    # steps of about 0.15, where exp(320 * 0.15) ruins the difference. Narrower tries
    # find the curvature.
    x = torch.tensor([0.01, 0.02, 0.5], dtype=torch.float64)
    t = torch.arange(0.0, 330.0, 10.0, dtype=torch.float64)
    rates = [(-t * torch.exp(-r * t)).sum() for r in (0.01, 0.02)]
    exact = torch.stack([*rates, torch.tensor(-1.0, dtype=torch.float64)])
    steps, _, nfev = auto_step(decays, x, order=2, one_sided=False)
    assert bool((steps[:2] < 1e-3).all())
    error = (central(decays, x, steps) - exact).abs() / exact.abs().clamp(min=1.0)
    assert float(error.max()) < 0.05
    assert nfev < 9 + 3 * 3 * (2 + 4)  # ECnoise, then at most six tries of 3 points


def test_auto_step_takes_a_known_noise_level_without_ecnoise():
    """Given the noise ECnoise found, auto_step skips ECnoise (its 8-odd evaluations)
    and, on a pseudo-noisy (deterministic) function, chooses the same steps."""
    x = torch.tensor(np.random.default_rng(3).uniform(-2, 2, 6))
    steps, noise, nfev = auto_step(noisy_rosen, x, order=2, one_sided=False)
    _, cost = ecnoise(noisy_rosen, x, f0=noisy_rosen(x[None])[0])
    again, same, fewer = auto_step(noisy_rosen, x, order=2, one_sided=False, noise=noise)
    torch.testing.assert_close(again, steps, rtol=0, atol=0)
    assert torch.equal(same, noise)
    assert fewer == nfev - cost


def test_auto_step_on_a_noise_free_function_is_near_the_default():
    x = torch.tensor([0.5, -1.2, 2.0], dtype=torch.float64)
    steps, _, _ = auto_step(smooth, x, order=2, one_sided=False)
    ratio = steps / (default_step(2, x.dtype) * magnitude(x))
    assert bool(((ratio > 0.1) & (ratio < 10)).all())


def test_auto_step_counts_stays_in_bounds_and_handles_several_outputs():
    def fun(X):
        return torch.cat([noisy_rosen(X), smooth(X)], dim=1)

    x = torch.tensor([0.0, 0.5, 1.0, 0.3], dtype=torch.float64)
    bounds = Bounds(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))
    evaluate = Recorder(fun)
    f0 = fun(x[None])[0]
    steps, noise, nfev = auto_step(evaluate, x, order=2, one_sided=False, bounds=bounds, f0=f0)
    points = evaluate.points
    assert nfev == points.shape[0]
    assert bool(((points >= 0) & (points <= 1)).all())
    assert steps.shape == (4,)
    assert bool((steps > 0).all())
    assert noise.shape == (2,)
