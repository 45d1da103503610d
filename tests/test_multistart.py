"""Several starts: x0 of shape (k, n) with options={"multistart": True}."""

import math

import numpy as np
import pytest
import torch

import fdopt
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.settings import MultistartSettings


class TwoWells:
    """(x^2 - 1)^2 + 0.3 x per coordinate: the well at -1 is the deeper one."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum((x**2 - 1) ** 2 + 0.3 * x))


def test_the_best_start_wins_and_every_start_is_kept():
    fun = TwoWells()
    x0 = np.array([[1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]])
    res = fdopt.minimize(fun, x0, method="lbfgs", options={"multistart": True})
    assert len(res.starts) == 3
    assert res.best_start == 1
    assert np.allclose(res.x, res.starts[1].x)
    assert (res.x < 0).all()  # the deeper well in both coordinates
    assert res.fun == min(start.fun for start in res.starts)
    assert res.nfev == fun.calls == sum(start.nfev for start in res.starts)
    assert res.starts[0].x[0] > 0  # a start keeps its own well


def test_every_method_and_torch_starts():
    x0 = torch.tensor([[0.5, 0.5], [-0.5, 0.2]], dtype=torch.float64)
    for method in fdopt.optimizers.OPTIMIZERS:
        res = fdopt.minimize(
            lambda x: ((x - 1) ** 2).sum(),
            x0,
            method=method,
            options={"multistart": True, "maxfev": 300, "seed": 0},
        )
        assert isinstance(res.x, torch.Tensor)
        assert len(res.starts) == 2
        assert math.isfinite(res.fun)


@pytest.mark.parametrize(
    ("x0", "options", "error", "match"),
    [
        (np.zeros(2), {"multistart": True}, ArgumentValueError, r"shape \(k, n\)"),
        (
            np.array([[0.0, 0.0], [0.0, math.nan]]),
            {"multistart": True},
            ArgumentValueError,
            r"x0\[1\]",
        ),
        (np.zeros((2, 2)), {"multistart": 1}, ArgumentTypeError, "multistart"),
        (np.zeros((2, 2)), {"multistart": True, "lr": -1.0}, ValueError, "lr"),
    ],
)
def test_bad_starts_fail_before_any_evaluation(x0, options, error, match):
    fun = TwoWells()
    with pytest.raises(error, match=match):
        fdopt.minimize(fun, x0, options=options)
    assert fun.calls == 0


def test_a_start_outside_the_bounds_is_named():
    fun = TwoWells()
    with pytest.raises(ArgumentValueError, match=r"x0\[1\]\[0\]"):
        fdopt.minimize(
            fun,
            np.array([[0.0, 0.0], [3.0, 0.0]]),
            bounds=[(-2, 2), (-2, 2)],
            options={"multistart": True},
        )
    assert fun.calls == 0


def test_a_run_config_with_several_starts_finds_the_global_minimum():
    """Freudenstein-Roth: from the standard start L-BFGS stops in the local minimum
    (f = 48.98); the shipped multistart config finds f* = 0."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs"
    config = fdopt.load_config(configs / "multistart.toml")
    single = fdopt.run_config(config.model_copy(update={"multistart": MultistartSettings()}))
    several = fdopt.run_config(config)
    assert single.fun == pytest.approx(48.98425, rel=1e-5)
    assert several.fun < 1e-10
    assert len(several.starts) == 8
    assert several.nfev == sum(start.nfev for start in several.starts)
