"""Tests of fdopt.problems.pid: the PID-tuning problem, its step responses and measures.

Oracles: python-control (``feedback(C*G, 1)``, its ``step_response``, ``poles`` and
``step_info``), numpy's roots of the closed-loop characteristic polynomial, the ITAE
integrated with numpy's trapezoid rule from python-control's response, and closed forms
of first- and second-order step responses.
"""

import math
import pickle

import numpy as np
import pytest
import torch

import fdopt
from fdopt.problems import get_problem
from fdopt.problems.pid import PLANT_DEN, PLANT_NUM, metrics, pid, step_response

control = pytest.importorskip("control")

TAU = 0.05  # the default derivative filter
GAINS = [
    (0.5, 0.1, 0.5),  # x0: slow
    (0.7, 0.24, 0.8),  # near the optimum
    (1.05, 0.22, 1.28),  # Ziegler-Nichols
    (1.0, 0.3, 1.0),  # 22 % overshoot
    (1.5, 0.6, 2.5),  # lightly damped
    (0.05, 0.001, 0.001),  # very slow
]
OTHER_PLANT = {"num": [2.0, 1.0], "den": [1.0, 3.0, 3.0, 1.0]}  # (2s + 1) / (s + 1)^3


def closed_loop(gains, num=PLANT_NUM, den=PLANT_DEN, tau=TAU):
    """``feedback(C*G, 1)`` with ``C = Kp + Ki/s + Kd s/(tau s + 1)``, by python-control."""
    kp, ki, kd = gains
    controller = control.tf([kp * tau + kd, kp + ki * tau, ki], [tau, 1.0, 0.0])
    return control.feedback(controller * control.tf(list(num), list(den)), 1)


def characteristic_roots(gains, num=PLANT_NUM, den=PLANT_DEN, tau=TAU):
    """Roots of ``s (tau s + 1) den(s) + (C's numerator) num(s)``, by numpy."""
    kp, ki, kd = gains
    polynomial = np.polyadd(
        np.polymul([tau, 1.0, 0.0], den), np.polymul([kp * tau + kd, kp + ki * tau, ki], num)
    )
    return np.roots(polynomial)


def reference_response(gains, t, **plant):
    return control.step_response(closed_loop(gains, **plant), t).outputs


def trapezoid_itae(t, y):
    return np.trapezoid(t * np.abs(1 - y), t)


# ---------------------------------------------------------------------------------------
# The simulation against python-control.


def test_default_plant_is_optipids():
    assert np.array_equal(np.polymul([1, 1, 1], np.poly([-1, -1, -1, -1])), PLANT_DEN)
    assert PLANT_NUM == (1.0,)


@pytest.mark.parametrize("gains", GAINS)
def test_step_response_matches_python_control(gains):
    t, y = step_response(gains)
    assert t.shape == y.shape == (4001,)
    np.testing.assert_allclose(t, np.arange(4001) * 0.01, rtol=0, atol=1e-12)
    expected = reference_response(gains, t)
    assert np.abs(y - expected).max() < 1e-10


@pytest.mark.parametrize(
    "options",
    [
        {"tau_f": 0.2},
        {"dt": 0.1, "horizon": 25.0},
        {"dt": 0.001, "horizon": 10.0},
        OTHER_PLANT,
        {"num": [1.0], "den": [1.0, 1.0]},  # first order: C*G has relative degree 0 in Kd
    ],
)
def test_step_response_matches_python_control_for_other_loops(options):
    plant = {key: options[key] for key in ("num", "den") if key in options}
    tau = options.get("tau_f", TAU)
    # (2, 1, 0.1) is unstable for the default plant: its response grows, compared relatively.
    for gains in [(0.8, 0.3, 0.4), (2.0, 1.0, 0.1)]:
        t, y = step_response(gains, **options)
        expected = control.step_response(closed_loop(gains, tau=tau, **plant), t).outputs
        assert np.abs(y - expected).max() < 1e-10 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("gains", GAINS)
def test_cost_without_penalty_is_the_itae_of_python_controls_response(gains):
    t = np.arange(4001) * 0.01
    itae = trapezoid_itae(t, reference_response(gains, t))
    assert pid(overshoot_weight=0.0).fun(np.array(gains)) == pytest.approx(itae, rel=1e-11)


def test_overshoot_penalty_is_weight_times_overshoot():
    gains = np.array([1.0, 0.3, 1.0])
    t = np.arange(4001) * 0.01
    y = reference_response(gains, t)
    overshoot = y.max() - 1
    assert overshoot == pytest.approx(0.22, abs=0.005)
    expected = trapezoid_itae(t, y) + 25.0 * overshoot
    assert pid(overshoot_weight=25.0).fun(gains) == pytest.approx(expected, rel=1e-11)
    assert pid().fun(gains) == pytest.approx(trapezoid_itae(t, y) + 10 * overshoot, rel=1e-11)
    # No overshoot, no penalty.
    slow = np.array([0.5, 0.1, 0.5])
    assert pid(overshoot_weight=100.0).fun(slow) == pid(overshoot_weight=0.0).fun(slow)


def test_options_reach_the_cost():
    gains = np.array([0.8, 0.3, 0.4])
    t = np.arange(2501) * 0.02
    y = control.step_response(closed_loop(gains, tau=0.1, **OTHER_PLANT), t).outputs
    problem = get_problem(
        "pid", tau_f=0.1, horizon=50.0, dt=0.02, overshoot_weight=3.0, **OTHER_PLANT
    )
    expected = trapezoid_itae(t, y) + 3.0 * max(0.0, y.max() - 1)
    assert problem.fun(gains) == pytest.approx(expected, rel=1e-11)
    assert "order 3" in problem.description


# ---------------------------------------------------------------------------------------
# Stability.


def test_unstable_gains_cost_inf_exactly_where_a_pole_has_a_nonnegative_real_part():
    problem = pid()
    axes = [np.linspace(low, high, 7) for low, high in problem.bounds]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = problem.fun(grid)
    largest = np.array([characteristic_roots(g).real.max() for g in grid])
    clear = np.abs(largest) > 1e-6  # leave out gains on the stability boundary itself
    assert clear.sum() > 300
    np.testing.assert_array_equal(np.isinf(values[clear]), largest[clear] >= 0)
    assert np.isinf(values).sum() > 50  # both kinds
    assert np.isfinite(values).sum() > 50
    assert np.all(values[np.isinf(values)] > 0)


@pytest.mark.parametrize(
    ("gains", "stable"),
    [((0.7, 0.24, 0.8), True), ((3.0, 1.0, 0.1), False), ((2.0, 0.5, 3.0), False)],
)
def test_stability_agrees_with_python_controls_poles(gains, stable):
    poles = control.poles(closed_loop(gains))
    assert bool(poles.real.max() < 0) is stable
    np.testing.assert_allclose(
        np.sort_complex(poles), np.sort_complex(characteristic_roots(gains)), rtol=1e-8
    )
    assert math.isinf(pid().fun(gains)) is not stable


def test_absurd_gains_cost_inf_and_nan_gains_nan():
    # Gains of 1e300 made LAPACK's eigenvalue routine fail to converge (a LinAlgError).
    values = pid().fun(np.array([[1e300] * 3, [-1e300] * 3, [1e200, 0.0, 0.0], [np.nan] * 3]))
    assert np.isinf(values[:3]).all()
    assert np.isnan(values[3])


def test_a_loop_that_is_unstable_for_every_gain_near_zero():
    # G = 1/(s - 1): unstable in open loop, stabilized only by enough gain.
    problem = pid(num=[1.0], den=[1.0, -1.0])
    assert math.isinf(problem.fun([0.5, 0.1, 0.0]))
    assert math.isfinite(problem.fun([3.0, 0.5, 0.1]))


# ---------------------------------------------------------------------------------------
# Calling conventions.


def test_batched_equals_point_by_point():
    problem = pid()
    rng = np.random.default_rng(0)
    low, high = np.array(problem.bounds).T
    batch = low + (high - low) * rng.random((40, 3))
    batch[0] = np.nan
    values = problem.fun(batch)
    singles = np.array([problem.fun(x) for x in batch])
    assert np.isnan(values[0])
    assert np.isnan(singles[0])
    np.testing.assert_array_equal(values[1:], singles[1:])
    assert np.isinf(values).any()
    assert np.isfinite(values).any()
    tensors = problem.fun(torch.from_numpy(batch))
    np.testing.assert_array_equal(tensors.numpy(), values)


def test_float32_and_autograd():
    problem = pid()
    x = torch.tensor([[0.5, 0.1, 0.5], [0.7, 0.24, 0.8], [3.0, 1.0, 0.1]])
    values = problem.fun(x)
    assert values.dtype == torch.float32
    np.testing.assert_allclose(values.double(), problem.fun(x.double()), rtol=1e-5)

    point = x.double().requires_grad_()
    problem.fun(point)[:2].sum().backward()
    gradient = point.grad
    assert torch.isfinite(gradient).all()
    assert torch.equal(gradient[2], torch.zeros(3, dtype=torch.float64))  # not NaN
    step = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = step
        central = problem.fun(x[0].double().numpy() + e) - problem.fun(x[0].double().numpy() - e)
        assert gradient[0, i].item() == pytest.approx(central / (2 * step), rel=1e-6)


def test_problem_record_pickles_and_rejects_complex_gains():
    problem = get_problem("pid")
    assert problem.n == 3
    assert problem.f_star is None
    assert problem.residuals is None
    assert all(
        0 < low < x < high for x, (low, high) in zip(problem.x0, problem.bounds, strict=True)
    )
    copy = pickle.loads(pickle.dumps(problem))
    assert copy.fun(problem.x0) == problem.fun(problem.x0)
    with pytest.raises(TypeError, match="real gains only"):
        problem.fun(np.array([0.5 + 1e-20j, 0.1, 0.5]))


def test_step_response_kinds_and_shapes():
    t, y = step_response([0.7, 0.24, 0.8], horizon=5.0, dt=0.5)
    assert isinstance(t, np.ndarray)
    assert isinstance(y, np.ndarray)
    assert t.shape == y.shape == (11,)
    assert y.dtype == np.float64
    tt, yy = step_response(torch.tensor([[0.7, 0.24, 0.8], [0.5, 0.1, 0.5]]), horizon=5.0, dt=0.5)
    assert isinstance(yy, torch.Tensor)
    assert yy.dtype == torch.float32
    assert yy.shape == (2, 11)
    assert tt.dtype == torch.float32
    np.testing.assert_allclose(yy[0].double(), y, rtol=1e-5, atol=1e-6)
    _, integer = step_response(np.array([1, 0, 1]), horizon=5.0, dt=0.5)
    assert integer.dtype == np.float64


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: step_response([1.0, 2.0]), ValueError, r"gains must have shape \(3,\)"),
        (lambda: step_response([0.5, 0.1, 0.5j]), TypeError, "gains must be real"),
        (lambda: pid(num=[1.0, 0.0], den=[1.0, 1.0]), ValueError, "strictly proper"),
        (lambda: pid(den=[0.0, 0.0]), ValueError, "den must have a nonzero coefficient"),
        (lambda: pid(den="s+1"), TypeError, "den must be a sequence"),
        (lambda: pid(num=[1.0, None]), TypeError, "num must hold real numbers"),
        (lambda: pid(num=[math.inf]), ValueError, "num must hold finite numbers"),
        (lambda: pid(tau_f=0.0), ValueError, "tau_f must be finite and > 0"),
        (lambda: pid(dt=-0.1), ValueError, "dt must be finite and > 0"),
        (lambda: pid(horizon=10.05, dt=0.1), ValueError, "whole number of steps"),
        (lambda: pid(overshoot_weight=-1.0), ValueError, "overshoot_weight must be finite"),
        (lambda: pid(overshoot_weight="1"), TypeError, "overshoot_weight must be a real"),
        (lambda: get_problem("pid", gain=1.0), ValueError, "its options: num, den, tau_f"),
    ],
)
def test_bad_options_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_leading_zeros_are_dropped():
    x = [0.7, 0.24, 0.8]
    assert pid(num=[0.0, 1.0], den=[0.0, *PLANT_DEN]).fun(x) == pid().fun(x)


# ---------------------------------------------------------------------------------------
# Step-response measures.


def test_metrics_of_closed_forms():
    t = np.linspace(0.0, 20.0, 200_001)
    first = metrics(t, 1 - np.exp(-t))
    assert first.rise_time == pytest.approx(math.log(9), abs=1e-8)
    assert first.overshoot == 0.0
    assert first.settling_time == pytest.approx(math.log(50), abs=1e-8)
    zeta, wn = 0.3, 2.0
    wd = wn * math.sqrt(1 - zeta**2)
    phi = math.acos(zeta)
    y = 1 - np.exp(-zeta * wn * t) * np.sin(wd * t + phi) / math.sqrt(1 - zeta**2)
    second = metrics(t, y)
    assert second.overshoot == pytest.approx(
        100 * math.exp(-zeta * math.pi / math.sqrt(1 - zeta**2)), rel=1e-8
    )
    doubled = metrics(torch.from_numpy(t), torch.from_numpy(2 * y), reference=2.0)
    assert doubled == pytest.approx(second, rel=1e-12)


@pytest.mark.parametrize("gains", GAINS[:5])
def test_metrics_agree_with_python_controls_step_info(gains):
    t, y = step_response(gains)
    ours = metrics(t, y)
    info = control.step_info(y, t, yfinal=1.0)
    assert ours.overshoot == pytest.approx(info["Overshoot"], abs=1e-9)
    assert ours.rise_time == pytest.approx(info["RiseTime"], abs=0.011)  # a sample or so
    if math.isinf(ours.settling_time):
        assert info["SettlingTime"] >= t[-1] - 0.01 or abs(y[-1] - 1) > 0.02
    else:
        assert ours.settling_time == pytest.approx(info["SettlingTime"], abs=0.011)


def test_metrics_of_responses_that_do_not_get_there():
    t = np.linspace(0.0, 10.0, 101)
    never = metrics(t, 0.5 * (1 - np.exp(-t)))
    assert never.rise_time == math.inf
    assert metrics(t, 0.05 * (1 - np.exp(-t))).rise_time == math.inf  # not even 10 %
    assert never.settling_time == math.inf
    assert never.overshoot == 0.0
    assert metrics(t, np.ones_like(t)).settling_time == 0.0
    with pytest.raises(ValueError, match="same length"):
        metrics(t, t[:-1])
    with pytest.raises(ValueError, match="reference must be finite and nonzero"):
        metrics(t, t, reference=0.0)


# ---------------------------------------------------------------------------------------
# Tuning it with fdopt.


@pytest.mark.parametrize("method", ["adam", "gd"])
def test_minimize_tunes_a_stable_controller_inside_the_bounds(method):
    problem = get_problem("pid")
    low, high = np.array(problem.bounds).T
    seen = []

    def fun(x):
        seen.append(np.array(x, copy=True).reshape(-1, 3))
        return problem.fun(x)

    start = problem.fun(problem.x0)
    result = fdopt.minimize(
        fun,
        problem.x0,
        method=method,
        bounds=problem.bounds,
        options={"vectorized": True, "maxfev": 120},
    )
    points = np.concatenate(seen)
    assert len(points) == result.nfev <= 120
    assert np.all((points >= low) & (points <= high))
    assert result.fun < 0.25 * start  # from 88.8 to below 22
    assert result.fun == problem.fun(result.x)
    assert np.all(np.real(characteristic_roots(result.x)) < 0)


def test_minimize_rejects_unstable_steps():
    # Start at the edge of stability with a large first step: some trial points are
    # unstable (inf) and the run goes on from the stable ones.
    problem = get_problem("pid")
    values = []

    def fun(x):
        value = problem.fun(x)
        values.append(np.atleast_1d(value))
        return value

    x0 = np.array([1.6, 0.5, 2.0])
    result = fdopt.minimize(
        fun,
        x0,
        bounds=problem.bounds,
        options={"vectorized": True, "maxfev": 120, "lr": 0.5},
    )
    values = np.concatenate(values)
    assert np.isinf(values).any()
    assert math.isfinite(result.fun)
    assert result.fun < problem.fun(x0)
