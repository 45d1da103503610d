"""Update rules and schedules: torch.optim as the oracle, purity, the table."""

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fdopt.optimizers import OPTIMIZERS, schedule, spsa_gains
from fdopt.settings import (
    AdagradSettings,
    AdamSettings,
    CosineSchedule,
    ExponentialSchedule,
    GdSettings,
    InverseTimeSchedule,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    RmspropSettings,
    SpsaOptimizerSettings,
    StepSchedule,
)

LR = 0.05


def _gradients(n: int = 5, steps: int = 12, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, generator=generator, dtype=torch.float64) for _ in range(steps)]


def _fdopt_path(rule, x0, gradients):
    x, state, path = x0.clone(), rule.init(x0), []
    for g in gradients:
        delta, state = rule.update(g, state, x, LR)
        x = x + delta
        path.append(x.clone())
    return path


def _torch_path(make, x0, gradients):
    param = torch.nn.Parameter(x0.clone())
    optimizer = make([param])
    path = []
    for g in gradients:
        param.grad = g.clone()
        optimizer.step()
        path.append(param.detach().clone())
    return path


ORACLES = [
    (GdSettings(), lambda p: torch.optim.SGD(p, lr=LR)),
    (MomentumSettings(momentum=0.8), lambda p: torch.optim.SGD(p, lr=LR, momentum=0.8)),
    (
        NesterovSettings(momentum=0.7),
        lambda p: torch.optim.SGD(p, lr=LR, momentum=0.7, nesterov=True),
    ),
    (AdamSettings(), lambda p: torch.optim.Adam(p, lr=LR)),
    (
        AdamSettings(beta1=0.5, beta2=0.9, eps=1e-6, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=LR, betas=(0.5, 0.9), eps=1e-6, amsgrad=True),
    ),
    (
        AdamSettings(weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=LR, weight_decay=0.1),
    ),
    (RmspropSettings(alpha=0.9), lambda p: torch.optim.RMSprop(p, lr=LR, alpha=0.9)),
    (AdagradSettings(), lambda p: torch.optim.Adagrad(p, lr=LR)),
]


@pytest.mark.parametrize(("settings", "make"), ORACLES, ids=lambda v: getattr(v, "method", ""))
def test_rule_matches_torch_optim(settings, make):
    x0 = torch.linspace(-1.0, 2.0, 5, dtype=torch.float64)
    gradients = _gradients()
    rule = OPTIMIZERS[settings.method].rule(settings)
    ours = _fdopt_path(rule, x0, gradients)
    theirs = _torch_path(make, x0, gradients)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("settings", "make"), ORACLES[1:3], ids=["momentum", "nesterov"])
def test_preconditioned_heavy_ball_is_sgd_on_the_scaled_gradient(settings, make):
    """With D set, heavy ball follows D g where it followed g: torch's SGD given D g."""
    x0 = torch.linspace(-1.0, 2.0, 5, dtype=torch.float64)
    diagonal = torch.tensor([1e-3, 0.5, 1.0, 4.0, 300.0], dtype=torch.float64)
    gradients = _gradients()
    rule = OPTIMIZERS[settings.method].rule(settings)
    x, state, ours = x0.clone(), rule.init(x0), []
    for g in gradients:
        delta, state = rule.update(g, rule.precondition(state, diagonal), x, LR)
        x = x + delta
        ours.append(x.clone())
    theirs = _torch_path(make, x0, [diagonal * g for g in gradients])
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert torch.equal(rule.init(x0).diagonal, torch.ones_like(x0))  # none until set


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_is_pure(name):
    settings = OPTIMIZERS[name].settings()
    rule = OPTIMIZERS[name].rule(settings)
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    state = rule.init(x)
    for g in _gradients(3, 3):
        copies = (g.clone(), x.clone(), [t.clone() for t in state])
        delta, new_state = rule.update(g, state, x, 0.1)
        torch.testing.assert_close(g, copies[0], rtol=0, atol=0)
        torch.testing.assert_close(x, copies[1], rtol=0, atol=0)
        for before, after in zip(copies[2], state, strict=True):
            torch.testing.assert_close(before, after, rtol=0, atol=0)
        assert isinstance(new_state, tuple)
        assert hasattr(new_state, "_asdict")
        x, state = x + delta, new_state


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(lr=st.floats(1e-6, 10.0), scale=st.floats(1e-3, 1e3))
def test_step_is_proportional_to_lr(name, lr, scale):
    """Loops rescale a step by calling update with another lr: delta must be linear in lr."""
    rule = OPTIMIZERS[name].rule(OPTIMIZERS[name].settings())
    x = torch.tensor([0.3, -2.0], dtype=torch.float64)
    g = torch.tensor([1.5, -0.25], dtype=torch.float64) * scale
    state = rule.init(x)
    one, _ = rule.update(g, state, x, lr)
    two, _ = rule.update(g, state, x, 2 * lr)
    torch.testing.assert_close(two, 2 * one, rtol=1e-12, atol=0)


def test_descent_direction_on_first_step():
    g = torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64)
    x = torch.zeros(3, dtype=torch.float64)
    for name, entry in OPTIMIZERS.items():
        rule = entry.rule(entry.settings())
        delta, _ = rule.update(g, rule.init(x), x, 0.1)
        assert float(delta @ g) < 0, name


def test_table_pairs_names_with_models():
    for name, entry in OPTIMIZERS.items():
        assert entry.settings.model_fields["method"].default == name


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (ExponentialSchedule(gamma=0.9), lambda k: 0.9**k),
        (InverseTimeSchedule(decay=0.5, power=0.602), lambda k: (1 + 0.5 * k) ** -0.602),
        (StepSchedule(step_size=3, gamma=0.1), lambda k: 0.1 ** (k // 3)),
        (
            CosineSchedule(period=8, min_factor=0.2),
            lambda k: 0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * min(k, 8) / 8)),
        ),
    ],
    ids=lambda v: getattr(v, "kind", ""),
)
def test_schedules(settings, expected):
    factor = schedule(settings)
    assert factor(0) == 1.0
    for k in range(20):
        assert factor(k) == pytest.approx(expected(k), rel=1e-12)


def test_cosine_schedule_ends_at_its_floor_and_stays():
    factor = schedule(CosineSchedule(period=10, min_factor=0.1))
    assert factor(10) == pytest.approx(0.1)
    assert factor(50) == pytest.approx(0.1)
    assert all(factor(k) >= factor(k + 1) for k in range(15))


def test_schedule_by_name_and_errors():
    assert AdamSettings(schedule="cosine").schedule == CosineSchedule()
    assert AdamSettings(schedule={"kind": "step", "step_size": 5}).schedule.step_size == 5
    with pytest.raises(ValidationError, match="kind"):
        AdamSettings(schedule="linear")
    with pytest.raises(ValidationError, match="gamma"):
        AdamSettings(schedule={"kind": "exponential", "gamma": 1.5})


def test_spsa_gains_follow_spall():
    settings = SpsaOptimizerSettings(c=0.2)
    for k in range(10):
        a_k, c_k = spsa_gains(settings, k, a=0.5, stability=10.0)
        assert a_k == pytest.approx(0.5 / (10 + k + 1) ** 0.602)
        assert c_k == pytest.approx(0.2 / (k + 1) ** 0.101)


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (AdamSettings, "lr", -0.1),
        (AdamSettings, "lr", 0.0),
        (AdamSettings, "beta1", 1.0),
        (AdamSettings, "beta2", -0.1),
        (AdamSettings, "eps", 0.0),
        (MomentumSettings, "momentum", 1.0),
        (GdSettings, "c1", 1.0),
        (SpsaOptimizerSettings, "resamplings", 0),
        (AdamSettings, "lr", math.nan),
    ],
)
def test_invalid_settings_name_the_field(model, field, value):
    with pytest.raises(ValidationError, match=field):
        model(**{field: value})


def _dense_bfgs_inverse(pairs, gamma, start=None):
    """The BFGS inverse-Hessian update applied to gamma I (or ``start``), pair by pair
    (the oracle)."""
    n = pairs[0][0].numel()
    h = gamma * torch.eye(n, dtype=torch.float64) if start is None else start
    eye = torch.eye(n, dtype=torch.float64)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        h = (eye - rho * torch.outer(s, y)) @ h @ (eye - rho * torch.outer(y, s))
        h = h + rho * torch.outer(s, s)
    return h


def test_lbfgs_two_loop_equals_the_dense_bfgs_update():
    generator = torch.Generator().manual_seed(3)
    n = 5
    m = torch.randn(n, n, generator=generator, dtype=torch.float64)
    hessian = m @ m.T + n * torch.eye(n, dtype=torch.float64)  # positive definite
    rule = OPTIMIZERS["lbfgs"].rule(LbfgsSettings(memory=10))
    points = [torch.randn(n, generator=generator, dtype=torch.float64) for _ in range(5)]
    state = rule.init(points[0])
    for x in points:
        delta, state = rule.update(hessian @ x, state, x, 1.0)
    pairs = [(b - a, hessian @ (b - a)) for a, b in itertools.pairwise(points)]
    s, y = pairs[-1]
    expected = -_dense_bfgs_inverse(pairs, float((s @ y) / (y @ y))) @ (hessian @ points[-1])
    torch.testing.assert_close(delta, expected, rtol=1e-10, atol=1e-12)
    assert int(state.pairs) == 4


def test_lbfgs_skips_pairs_without_positive_curvature():
    rule = OPTIMIZERS["lbfgs"].rule(LbfgsSettings())
    x0, x1 = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    g0, g1 = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)  # s'y < 0
    _, state = rule.update(g0, rule.init(x0), x0, 1.0)
    delta, state = rule.update(g1 + 0.5, state, x1, 1.0)
    assert int(state.pairs) == 0
    torch.testing.assert_close(delta, -(g1 + 0.5))  # no pairs: steepest descent


def test_lbfgs_keeps_only_memory_pairs():
    rule = OPTIMIZERS["lbfgs"].rule(LbfgsSettings(memory=2))
    state = rule.init(torch.zeros(2, dtype=torch.float64))
    for k in range(5):
        x = torch.tensor([float(k), float(k * k)], dtype=torch.float64)
        _, state = rule.update(2 * x, state, x, 1.0)
    assert int(state.pairs) == 2
    assert state.s.shape == (2, 2)


def test_lbfgs_takes_a_diagonal_as_its_initial_matrix():
    rule = OPTIMIZERS["lbfgs"].rule(LbfgsSettings())
    diagonal = torch.tensor([1e-6, 2.0], dtype=torch.float64)
    x0, x1 = torch.zeros(2, dtype=torch.float64), torch.tensor([0.5, -1.0], dtype=torch.float64)
    g0 = torch.tensor([3.0, 1.0], dtype=torch.float64)
    delta, state = rule.update(g0, rule.precondition(rule.init(x0), diagonal), x0, 1.0)
    torch.testing.assert_close(delta, -diagonal * g0)  # no pairs: -D g
    g1 = torch.tensor([4.0, -0.5], dtype=torch.float64)
    delta, state = rule.update(g1, rule.precondition(state, diagonal), x1, 1.0)
    # One pair on H0 = (s'y / y'Dy) D: the BFGS update of that matrix.
    s, y = x1 - x0, g1 - g0
    h0 = torch.diag(diagonal) * float((s @ y) / (y @ (diagonal * y)))
    expected = -_dense_bfgs_inverse([(s, y)], 1.0, h0) @ g1
    torch.testing.assert_close(delta, expected, rtol=1e-12, atol=0)
    # Without a diagonal (all 0), the scalar initial matrix as before.
    plain, _ = rule.update(
        g1, state._replace(diagonal=torch.zeros(2, dtype=torch.float64)), x1, 1.0
    )
    expected = -_dense_bfgs_inverse([(s, y)], float((s @ y) / (y @ y))) @ g1
    torch.testing.assert_close(plain, expected, rtol=1e-12, atol=0)


def test_adam_restart_drops_only_the_first_moment():
    rule = OPTIMIZERS["adam"].rule(AdamSettings())
    x = torch.zeros(2, dtype=torch.float64)
    g = torch.tensor([3.0, -0.01], dtype=torch.float64)
    state = rule.init(x)
    for _ in range(5):
        _, state = rule.update(g, state, x, 1.0)
    restarted = rule.restart(state)
    assert not restarted.first.any()
    assert torch.equal(restarted.second, state.second)
    assert int(restarted.steps) == 5
    # The kept second moment scales the next step: (1 - b1) / (1 - b1^6) of the step
    # with both moments kept (m_hat = g here), where init's would be lr sign(g).
    delta, _ = rule.update(g, restarted, x, 1.0)
    full, _ = rule.update(g, state, x, 1.0)
    torch.testing.assert_close(delta, full * 0.1 / (1 - 0.9**6), rtol=1e-12, atol=0)
