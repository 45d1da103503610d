"""fdopt.minimize and the loop: conformance over every method, stopping, budget, bounds,
non-finite values, errors, and bad input rejected before any evaluation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import fdopt
from fdopt.errors import ArgumentTypeError, ArgumentValueError, EvaluationError
from fdopt.optimizers import OPTIMIZERS
from fdopt.settings import AdamSettings, GdSettings

METHODS = list(OPTIMIZERS)
TARGET = np.array([1.0, -0.5, 2.0])


class Counting:
    """A sphere around TARGET that records every point and value it is asked for."""

    def __init__(self, fail_after=None, vectorized=False):
        self.points, self.values = [], []
        self.attempts = 0
        self.fail_after = fail_after
        self.vectorized = vectorized

    def __call__(self, x):
        x = np.array(x, dtype=np.float64)
        rows = x if self.vectorized else x[None]
        out = []
        for row in rows:
            self.attempts += 1
            if self.fail_after is not None and len(self.points) >= self.fail_after:
                raise RuntimeError("simulator crashed")
            value = float(np.sum((row - TARGET) ** 2))
            self.points.append(row.copy())
            self.values.append(value)
            out.append(value)
        return np.array(out) if self.vectorized else out[0]

    @property
    def calls(self):
        return len(self.points)


def _options(method, **extra):
    base = {"maxiter": 300, "seed": 0}
    if method == "spsa":
        base["maxiter"] = 2000
    return {**base, **extra}


@pytest.mark.parametrize("method", METHODS)
def test_every_method_converges_on_a_sphere(method):
    fun = Counting()
    res = fdopt.minimize(fun, np.zeros(3), method=method, options=_options(method))
    # rmsprop with a constant lr hovers at a distance of order lr (its steps are
    # normalized); adagrad's steps shrink like 1/sqrt(k); spsa's gradients are random.
    tolerance = {"spsa": 1e-2, "rmsprop": 1e-4, "adagrad": 1e-2}.get(method, 1e-6)
    assert res.fun < tolerance * 5.25  # f(x0) = 5.25
    assert np.allclose(res.x, TARGET, atol=0.1 if method in ("spsa", "adagrad") else 1e-2)
    assert res.nfev == fun.calls  # every point counted, nothing else
    assert fun.values[int(np.argmin(fun.values))] == res.fun  # the best point seen
    assert np.array_equal(fun.points[int(np.argmin(fun.values))], res.x)


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_run_and_x0_untouched(method):
    x0 = np.array([0.2, 0.1, -0.3])
    keep = x0.copy()
    runs = [
        fdopt.minimize(Counting(), x0, method=method, options=_options(method, maxiter=40))
        for _ in range(2)
    ]
    assert np.array_equal(x0, keep)
    assert np.array_equal(runs[0].x, runs[1].x)
    assert runs[0].nfev == runs[1].nfev


@pytest.mark.parametrize("method", METHODS)
def test_vectorized_is_the_same_run(method):
    plain, batched = Counting(), Counting(vectorized=True)
    a = fdopt.minimize(plain, np.zeros(3), method=method, options=_options(method, maxiter=30))
    b = fdopt.minimize(
        batched, np.zeros(3), method=method, options=_options(method, maxiter=30, vectorized=True)
    )
    assert np.array_equal(a.x, b.x)
    assert a.nfev == b.nfev == plain.calls == batched.calls


@pytest.mark.parametrize("method", ["adam", "lbfgs", "spsa"])
def test_workers_and_batch_size_are_the_same_run(method):
    """Points spread over a thread pool, or a vectorized function fed 2 points a call:
    the same iterates and the same count as one point at a time."""
    from concurrent.futures import ThreadPoolExecutor

    plain = fdopt.minimize(Counting(), np.zeros(3), method=method, options=_options(method))
    with ThreadPoolExecutor(2) as pool:
        pooled = fdopt.minimize(
            Counting(), np.zeros(3), method=method, options=_options(method, workers=pool)
        )
    counting, sizes = Counting(vectorized=True), []

    def batched_fun(x):
        sizes.append(len(x))
        return counting(x)

    batched = fdopt.minimize(
        batched_fun,
        np.zeros(3),
        method=method,
        options=_options(method, vectorized=True, batch_size=2),
    )
    for other in (pooled, batched):
        assert np.array_equal(plain.x, other.x)
        assert plain.nfev == other.nfev
    assert max(sizes) == 2


@pytest.mark.parametrize("method", METHODS)
@given(maxfev=st.integers(1, 60))
def test_maxfev_is_never_exceeded(method, maxfev):
    fun = Counting()
    res = fdopt.minimize(fun, np.zeros(3), method=method, options=_options(method, maxfev=maxfev))
    assert fun.calls <= maxfev
    assert res.nfev == fun.calls
    if not res.success:  # a small sphere may converge within the budget
        assert res.status == 4
        assert "maxfev" in res.message


def test_gtol_ends_the_run_with_success():
    res = fdopt.minimize(Counting(), np.zeros(3), method="gd", options={"gtol": 1e-5})
    assert res.success
    assert res.status == 0
    assert np.abs(res.jac).max() <= 1e-5


def test_ftol_and_xtol_statuses():
    res = fdopt.minimize(
        Counting(), np.zeros(3), method="adam", options={"gtol": 0, "ftol": 1e-3, "xtol": 0}
    )
    assert res.status == 1
    assert res.success
    assert "ftol" in res.message
    res = fdopt.minimize(
        Counting(), np.zeros(3), method="adam", options={"gtol": 0, "ftol": 0, "xtol": 1e-3}
    )
    assert res.status == 2
    assert res.success
    assert "xtol" in res.message


def test_gtol_is_the_inf_norm():
    """0.5 |x|^2 in 100 variables from x = 1, gd halving x each step: the inf-norm of the
    gradient passes 1e-2 at iteration 7 (2^-7), its 2-norm only at 10."""
    res = fdopt.minimize(
        lambda x: 0.5 * float(x @ x),
        np.ones(100),
        method="gd",
        jac=lambda x: x,
        options={"lr": 0.5, "line_search": False, "gtol": 1e-2},
    )
    assert res.status == 0
    assert res.nit == 7
    assert np.abs(res.jac).max() <= 1e-2 < np.linalg.norm(res.jac)


@pytest.mark.parametrize("patience", [3, 8])
def test_ftol_waits_patience_iterations(patience):
    """max(x^2, 1/4) from x = 2, x shrinking by 0.8 a step: f is 1/4 from iteration 7
    on, and ftol = 0 holds once the last patience + 1 values are all that one."""
    res = fdopt.minimize(
        lambda x: max(float(x[0] ** 2), 0.25),
        [2.0],
        method="gd",
        jac=lambda x: 2 * x,
        options={"lr": 0.1, "line_search": False, "ftol": 0, "patience": patience},
    )
    assert res.status == 1
    assert res.nit == 7 + patience


def test_maxiter_and_time_limit_statuses():
    res = fdopt.minimize(Counting(), np.zeros(3), method="adam", options={"maxiter": 3})
    assert res.status == 3
    assert res.nit == 3
    assert not res.success
    res = fdopt.minimize(Counting(), np.zeros(3), method="adam", options={"max_time": 1e-12})
    assert res.status == 5
    assert not res.success


@pytest.mark.parametrize("method", METHODS)
def test_no_point_outside_the_bounds_is_evaluated(method):
    fun = Counting()
    bounds = [(-1.0, 0.5), (-0.2, 0.3), (0.0, 1.5)]
    res = fdopt.minimize(fun, np.zeros(3), method=method, bounds=bounds, options=_options(method))
    points = np.array(fun.points)
    lower, upper = np.array(bounds).T
    assert (points >= lower).all()
    assert (points <= upper).all()
    expected = np.clip(TARGET, lower, upper)  # the constrained minimum
    assert np.allclose(res.x, expected, atol=0.05 if method == "spsa" else 1e-3)


def test_scipy_bounds_and_projected_gradient_convergence():
    from scipy.optimize import Bounds

    res = fdopt.minimize(
        Counting(), np.zeros(3), method="gd", bounds=Bounds([-1, -1, -1], [0.5, 0.5, 0.5])
    )
    assert res.success
    assert res.status == 0
    assert np.allclose(res.x, [0.5, -0.5, 0.5], atol=1e-6)


def test_gd_line_search_never_increases_f():
    def rosen(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    res = fdopt.minimize(rosen, [-1.2, 1.0], method="gd", options={"history": True, "maxiter": 200})
    f = res.history["fun"]
    assert len(f) == res.nit
    assert (np.diff(f) <= 0).all()
    assert f[-1] < 0.5 * rosen([-1.2, 1.0])


@pytest.mark.parametrize("line_search", [True, False])
def test_gd_line_search_demands_a_sufficient_decrease_only_when_on(line_search):
    """f = x^2 from 1, lr="auto": the first trial step moves x by first_step = 0.1, to
    0.9. Armijo with c1 = 0.99 accepts only t <= 0.01 (x >= 0.98): the line search
    halves t from 0.05 three times, to x = 0.9875; without it the fall suffices. (Both
    backtracked alike before: line_search=False changed nothing with lr="auto".)"""
    res = fdopt.minimize(
        lambda x: float(x[0] ** 2),
        [1.0],
        method="gd",
        jac=lambda x: 2 * x,
        options={"line_search": line_search, "c1": 0.99, "maxiter": 1},
    )
    assert res.x_last[0] == pytest.approx(0.9875 if line_search else 0.9, abs=1e-12)
    assert res.nfev == (4 if line_search else 1) + 1


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize(
    "schedule",
    [
        {"kind": "step", "step_size": 2, "gamma": 0.5},
        {"kind": "exponential", "gamma": 0.8},
        {"kind": "inverse_time", "decay": 0.5},
        {"kind": "cosine", "period": 8},
    ],
    ids=lambda s: s["kind"],
)
def test_a_schedule_scales_every_rules_step_inside_minimize(method, schedule):
    """Fixed lr = 0.1 on 0.5 |x - 1|^2 with its gradient given: the run's iterates are
    the rule's own updates with lr times the schedule's factor at each iteration."""
    from fdopt.optimizers import schedule as make_schedule

    settings = OPTIMIZERS[method].settings(lr=0.1, schedule=schedule)
    options = {"lr": 0.1, "schedule": schedule, "maxiter": 6, "history": True}
    if method == "gd":
        options["line_search"] = False
    res = fdopt.minimize(
        lambda x: 0.5 * float(np.sum((x - 1) ** 2)),
        np.array([3.0, -2.0]),
        method=method,
        jac=lambda x: x - 1,
        options=options,
    )
    rule, factor = OPTIMIZERS[method].rule(settings), make_schedule(settings.schedule)
    x = torch.tensor([3.0, -2.0], dtype=torch.float64)
    state = rule.init(x)
    for k in range(6):
        delta, state = rule.update(x - 1, state, x, 0.1 * factor(k))
        x = x + delta
    assert res.nit == 6
    np.testing.assert_allclose(res.x_last, x.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.history["lr"], [0.1 * factor(k) for k in range(6)])
    assert len(set(np.round(res.history["lr"], 12))) > 1  # the factor did change


def test_spsa_resamplings_average_estimates():
    """A linear f: each SPSA estimate errs by sum_j a_j D_j / D_i (j != i), whose mean
    over r perturbations errs about sqrt(r) times less. 16 resamplings cost 16 pairs of
    evaluations an iteration and shrink the error of the first step's direction (mean
    over 20 seeds) more than twofold."""
    slope = np.linspace(-1.0, 2.0, 10)
    errors = {}
    for r in (1, 16):
        error = []
        for seed in range(20):
            res = fdopt.minimize(
                lambda x: float(slope @ x),
                np.zeros(10),
                method="spsa",
                options={"lr": 1e-3, "resamplings": r, "maxiter": 1, "seed": seed},
            )
            assert res.nfev == 2 * r
            step = -res.x_last  # the gain a_0 (the same for both r) times the estimate
            direction = step / np.linalg.norm(step) * np.linalg.norm(slope)
            error.append(np.linalg.norm(direction - slope))
        errors[r] = np.mean(error)
    assert errors[16] < errors[1] / 2


def test_spsa_calibrated_gain_makes_the_path_independent_of_fs_scale():
    """lr="auto" sets Spall's a from gradient magnitudes at x0, so a run on 1000 f takes
    the same steps as on f; with a fixed a it takes steps 1000 times longer."""

    def f(x):
        return float(np.sum((x - 1) ** 2) + x[0] * x[1])

    paths = {}
    for lr in ("auto", 0.01):
        for scale in (1.0, 1000.0):
            res = fdopt.minimize(
                lambda x, s=scale: s * f(x),
                np.zeros(3),
                method="spsa",
                options={"lr": lr, "maxiter": 5, "seed": 3},
            )
            paths[lr, scale] = res.x_last
    np.testing.assert_allclose(paths["auto", 1.0], paths["auto", 1000.0], rtol=1e-9)
    assert np.abs(paths[0.01, 1000.0]).max() > 100 * np.abs(paths[0.01, 1.0]).max()


@pytest.mark.parametrize("method", ["adam", "momentum"])
def test_momentum_rules_follow_rosenbrock_valley_within_300_evaluations(method):
    # A rejected step is first retried shorter along the same direction; restarting the
    # momentum at once (Adam's next step then lr sign(g), across the valley) left the
    # defaults at 1.5e-3 (adam) and 3e-3 (momentum) of f(x0) after these 300 evaluations.
    def rosen(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    res = fdopt.minimize(rosen, [-1.2, 1.0], method=method, options={"maxfev": 300, "seed": 0})
    assert res.nfev <= 300
    assert res.fun <= 1e-3 * rosen([-1.2, 1.0])


def _mgh_gap(name, method, budget, noise=1e-3, seed=0):
    """Minimize MGH ``name`` (relative noise ``noise``; None: none) within ``budget``
    evaluations; return the best point's noise-free ``f - f*`` over ``f(x0) - f*``."""
    from fdopt.problems import get_problem

    clean = get_problem(name)
    problem = (
        clean
        if noise is None
        else get_problem(name, noise=noise, noise_kind="multiplicative", seed=seed)
    )
    res = fdopt.minimize(
        problem.fun, problem.x0, method=method, options={"maxfev": budget, "seed": seed}
    )
    f0, f_star = clean.fun(clean.x0), clean.f_star
    assert res.nfev <= budget
    return (clean.fun(res.x_best) - f_star) / (f0 - f_star)


@pytest.mark.parametrize(("noise", "budget"), [(None, 200), (1e-3, 400)])
def test_momentum_restart_after_a_clean_step_keeps_the_step_size(noise, budget):
    """Helical valley: after two rejected tries along the velocity, momentum restarts
    from t g, already up to 1 / (1 - momentum) shorter than t v; with the step size also
    shrunk fourfold, it crept along the valley and stood at 2e-3 of f(x0) - f* after
    200 evaluations (and after 400 with relative noise 1e-3)."""
    assert _mgh_gap("helical_valley", "momentum", budget, noise) <= 1e-3


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_noisy_momentum_is_preconditioned_and_restarts_with_its_step_size(seed):
    """Kowalik-Osborne with relative noise 1e-3 (curvatures 5.6 to 0.06 at x0): momentum
    solved it to 1e-3 of f(x0) - f* within 500 evaluations on none of seeds 0-9 along
    -g, and on 3 of them (not 0, 3 or 4) when a restart kept its step size shrunk
    fourfold; preconditioned by the measured curvature and with the size restored, on
    all 10."""
    assert _mgh_gap("kowalik_osborne", "momentum", 500, seed=seed) <= 1e-3


@pytest.mark.parametrize(
    ("method", "seed"), [("momentum", 0), ("momentum", 1), ("momentum", 3), ("nesterov", 2)]
)
def test_noisy_heavy_ball_measures_its_preconditioner_again_as_f_falls(method, seed):
    """Osborne 1 with relative noise 1e-3 (curvatures 6 to 2e5 at x0): with the inverse
    curvatures of x0 kept, momentum and nesterov solved it to 1e-3 of f(x0) - f* within
    600 evaluations on none of seeds 0-9; measured again where |f| fell tenfold,
    momentum on 7 (0, 1 and 3 among them), nesterov on 5 (2 among them)."""
    assert _mgh_gap("osborne1", method, 600, seed=seed) <= 1e-3


@pytest.mark.parametrize(
    ("name", "noise", "budget", "reached"),
    [("osborne1", None, 600, 1e-3), ("kowalik_osborne", 1e-3, 500, 2e-3)],
)
def test_adam_restart_keeps_its_second_moment_and_step_size(name, noise, budget, reached):
    """Adam restarted from init (next step lr sign(g)) with its step size shrunk fourfold
    collapsed after overshoots and crept back: Osborne 1 stood at 1e-2 of f(x0) - f*
    after 600 evaluations, Kowalik-Osborne with relative noise 1e-3 at 6e-3 after 500
    (1.4e-4 and 4.6e-4 with the first moment alone restarted)."""
    assert _mgh_gap(name, "adam", budget, noise) <= reached


def test_nan_region_is_rejected_not_a_crash():
    # Defined only for x < 1.5: a step past it is a rejected point, not a crash.
    def fun(x):
        return float(np.sum((x - 2.0) ** 2)) if np.all(x < 1.5) else math.nan

    for method in ("adam", "momentum", "gd"):
        res = fdopt.minimize(fun, np.zeros(2), method=method, options={"maxiter": 300})
        assert np.isfinite(res.fun)
        assert np.all(res.x < 1.5)
        assert res.fun < 0.6  # (1.5 - 2)^2 * 2 = 0.5 is the infimum


def test_nonfinite_at_x0_and_everywhere():
    res = fdopt.minimize(lambda x: math.inf, np.zeros(2), method="adam")
    assert res.status == 6
    assert not res.success
    assert "x0" in res.message
    res = fdopt.minimize(lambda x: 0.0 if np.all(x == 0) else math.nan, np.zeros(2), method="adam")
    assert res.status == 6
    assert not res.success


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_error_carries_the_best_point(method):
    fun = Counting(fail_after=12)
    with pytest.raises(EvaluationError, match="simulator crashed") as info:
        fdopt.minimize(fun, np.zeros(3), method=method, options=_options(method))
    error = info.value
    assert isinstance(error.__cause__, RuntimeError)
    best = int(np.argmin(fun.values))
    assert error.result.fun == fun.values[best]
    assert np.array_equal(error.result.x, fun.points[best])
    assert error.result.nfev == fun.attempts  # the calls that raised count
    assert not error.result.success
    assert error.result.status == 8


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("bad", "match"),
    [("7", "must return numbers; got str"), (10**400, "int too large"), ([1.0, 2.0], "scalar")],
)
def test_an_unusable_value_keeps_the_best_point_as_an_error_does(method, bad, match):
    # A FunctionOutputError in the middle of a run left without the best point.
    fun = Counting()

    def failing(x):
        return bad if fun.calls >= 12 else fun(x)

    with pytest.raises(fdopt.FunctionOutputError, match=match) as info:
        fdopt.minimize(failing, np.zeros(3), method=method, options=_options(method))
    assert isinstance(info.value, fdopt.errors.FunctionError)
    result = info.value.result
    best = int(np.argmin(fun.values))
    assert result.fun == fun.values[best]
    assert np.array_equal(result.x, fun.points[best])
    assert (result.status, result.success) == (8, False)
    assert result.message.startswith("the function failed: ")


def test_callback_both_signatures_and_stop_iteration():
    seen = []

    def rich(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.fun))
        if intermediate_result.nit == 4:
            raise StopIteration

    res = fdopt.minimize(Counting(), np.zeros(3), callback=rich)
    assert res.status == 99
    assert not res.success
    assert res.nit == 4
    assert [nit for nit, _ in seen] == [1, 2, 3, 4]
    points = []
    res = fdopt.minimize(Counting(), np.zeros(3), callback=points.append, options={"maxiter": 5})
    assert len(points) == 5
    assert all(p.shape == (3,) for p in points)


def test_history_columns():
    res = fdopt.minimize(Counting(), np.zeros(3), options={"history": True, "maxiter": 7})
    assert set(res.history) == {"nit", "fun", "best", "gnorm", "nfev", "step", "lr"}
    assert all(len(v) == 7 for v in res.history.values())
    assert np.array_equal(res.history["nit"], np.arange(1, 8))
    assert (np.diff(res.history["nfev"]) >= 4).all()  # 1 + n per iteration, + rejected steps


def test_torch_in_torch_out_float32_kept():
    x0 = torch.zeros(3, dtype=torch.float32)
    target = torch.tensor(TARGET, dtype=torch.float32)
    res = fdopt.minimize(lambda x: ((x - target) ** 2).sum(), x0, method="adam")
    assert isinstance(res.x, torch.Tensor)
    assert res.x.dtype == torch.float32
    assert torch.allclose(res.x, target, atol=1e-2)


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_torch_bfloat16_start_runs_and_keeps_its_dtype(method):
    # The run's fingerprint read x0 through numpy, which has no bfloat16: a TypeError.
    x0 = torch.tensor([1.0, 2.0, -1.0], dtype=torch.bfloat16)
    res = fdopt.minimize(lambda x: (x**2).sum(), x0, method=method, options={"maxiter": 20})
    assert res.x.dtype == torch.bfloat16
    assert res.fun < float((x0.float() ** 2).sum())


def test_user_jac_of_python_floats_keeps_double_precision():
    # It was read as float32: L-BFGS stopped 2.4e-7 from the minimum.
    res = fdopt.minimize(
        lambda x: float(np.sum((x - 1) ** 2)),
        np.zeros(2),
        method="lbfgs",
        jac=lambda x: [float(2 * (x[0] - 1)), float(2 * (x[1] - 1))],
    )
    assert np.abs(res.x - 1).max() < 1e-12


def test_settings_model_as_options_and_user_jac():
    a = fdopt.minimize(Counting(), np.zeros(3), options=AdamSettings(lr=0.05))
    b = fdopt.minimize(Counting(), np.zeros(3), options={"lr": 0.05})
    assert np.array_equal(a.x, b.x)
    c = fdopt.minimize(Counting(), np.zeros(3), options=GdSettings())  # its method wins
    assert c.success
    fun, grads = Counting(), []

    def jac(x):
        grads.append(x)
        return 2 * (x - TARGET)

    res = fdopt.minimize(fun, np.zeros(3), method="gd", jac=jac)
    assert res.success
    assert res.njev == len(grads)
    assert res.nfev == fun.calls
    assert fun.calls <= 2 * res.nit + 2  # no finite differences: only line-search values


def test_return_last_iterate():
    res = fdopt.minimize(
        Counting(), np.zeros(3), method="spsa", options={"return_best": False, "maxiter": 20}
    )
    assert np.array_equal(res.x, res.x_last)
    assert math.isnan(res.fun)


def test_spsa_blocking_and_monitoring():
    res = fdopt.minimize(
        Counting(),
        np.zeros(3),
        method="spsa",
        options={"blocking": True, "history": True, "maxiter": 100, "seed": 1},
    )
    f = res.history["fun"]
    assert (np.diff(f) <= 0).all()  # deterministic: allowed increase 0
    res = fdopt.minimize(
        Counting(),
        np.zeros(3),
        method="spsa",
        options={"monitor_every": 5, "history": True, "maxiter": 20},
    )
    known = ~np.isnan(res.history["fun"])
    assert np.array_equal(np.flatnonzero(known) + 1, [5, 10, 15, 20])


BAD = [
    ({"method": "newton"}, ArgumentValueError, "method must be one of"),
    ({"options": {"learning_rate": 0.1}}, ArgumentValueError, "valid options: .*lr"),
    ({"options": {"lr": -0.1}}, ValidationError, "lr"),
    ({"options": {"beta1": 1.0}}, ValidationError, "beta1"),
    ({"options": {"beta2": -0.5}}, ValidationError, "beta2"),
    ({"options": {"maxfev": 0}}, ValidationError, "maxfev"),
    ({"options": {"vectorized": "yes"}}, ArgumentTypeError, "vectorized"),
    ({"options": [("lr", 1)]}, ArgumentTypeError, "options"),
    ({"x0": [0.0, math.nan, 0.0]}, ArgumentValueError, "x0"),
    ({"x0": np.zeros((2, 3))}, ArgumentValueError, "x0"),
    ({"bounds": [(1.0, 0.0)] * 3}, ArgumentValueError, "lower bound"),
    ({"bounds": [(0.5, 1.0)] * 3}, ArgumentValueError, "outside its bounds"),
    ({"bounds": [(0.0, 1.0)] * 2}, ArgumentValueError, "bounds has 2"),
    ({"jac": "secant"}, ArgumentValueError, "jac must be one of"),
    ({"jac": True}, ArgumentTypeError, "jac=True"),
    ({"method": "spsa", "jac": "central"}, ArgumentValueError, "jac"),
    ({"callback": 3}, ArgumentTypeError, "callback"),
    ({"options": {"seed": 1.5}}, ArgumentTypeError, "seed"),
    ({"options": {"workers": 0}}, ArgumentValueError, "workers"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input_fails_before_any_evaluation(kwargs, error, match):
    fun = Counting()
    arguments = {"x0": np.zeros(3), **kwargs}
    with pytest.raises(error, match=match):
        fdopt.minimize(fun, **arguments)
    assert fun.calls == 0


@pytest.mark.parametrize("method", ["adam", "lbfgs", "spsa"])
@pytest.mark.parametrize(
    ("value", "match"),
    [
        (lambda x: np.array([1.0, 2.0]), r"scalar function; fun returns shape \(2,\)"),
        (lambda x: [float(x[0])], r"scalar function; fun returns shape \(1,\)"),
        (lambda x: np.array([]), r"scalar function; fun returns shape \(0,\)"),
        (lambda x: 1j * x[0] + x[1], "minimize needs a real function"),
    ],
)
def test_non_scalar_or_complex_function_is_a_clear_error(method, value, match):
    # SPSA, whose gradient is all it evaluates, ran on with fun = nan (2 values), raised
    # an IndexError (none) and a RuntimeError from torch (complex).
    options = {"seed": 0} if method == "spsa" else {}
    with pytest.raises(fdopt.FunctionOutputError, match=match):
        fdopt.minimize(value, np.zeros(2), method=method, options=options)


@pytest.mark.parametrize("name", ["beale", "wood"])
def test_noise_aware_steps_on_a_noisy_function(name):
    """With 1e-3 relative noise, steps from sqrt(eps) drown in noise; noise="auto"
    (the default) estimates the noise at x0 and differences over sqrt(1e-3)."""
    from fdopt.problems import get_problem

    clean = get_problem(name)
    f0 = clean.fun(clean.x0)
    reached = {}
    for noise in ("auto", None):
        noisy = get_problem(name, noise=1e-3, noise_kind="multiplicative", seed=0)
        res = fdopt.minimize(
            noisy.fun, noisy.x0.copy(), options={"noise": noise, "maxfev": 100 * (noisy.n + 1)}
        )
        reached[noise] = clean.fun(res.x) / f0
    assert reached["auto"] < 1e-3 < reached[None]


def test_noisy_lbfgs_follows_noise_that_shrinks_with_f():
    """Multiplicative noise 1e-3 on Rosenbrock: measured at x0 (f = 24) it is 100 times
    what it is at f = 0.24. With steps and the noise allowance set once at x0, L-BFGS
    wanders at f ~ 1e-2; measured again each time |f| falls tenfold, it converges."""
    from fdopt.problems import get_problem

    clean = get_problem("rosenbrock")
    noisy = get_problem("rosenbrock", noise=1e-3, noise_kind="multiplicative", seed=0)
    res = fdopt.minimize(noisy.fun, noisy.x0, method="lbfgs", options={"maxfev": 600})
    assert clean.fun(res.x) < 1e-8
    assert res.nfev <= 600


@pytest.mark.parametrize("method", ["adam", "momentum", "gd"])
def test_first_order_rules_estimate_no_extra_gradient_where_f_fell(method):
    """Noise 1e-3 on Beale, f falling a million-fold in 300 evaluations: each time |f|
    falls tenfold, a first-order rule measures the noise again (ECnoise) and scales its
    steps by it (momentum: sets them from the curvature measured again), without
    estimating the gradient again: every gradient estimate is an iteration's
    (njev = nit + 1). Before, each re-measure cost 5 n more evaluations and a gradient
    (adam: 29 iterations instead of 42)."""
    from fdopt.problems import get_problem

    clean = get_problem("beale")
    noisy = get_problem("beale", noise=1e-3, noise_kind="multiplicative", seed=0)
    res = fdopt.minimize(noisy.fun, noisy.x0, method=method, options={"maxfev": 300, "seed": 0})
    assert clean.fun(res.x) < 1e-3 * clean.fun(clean.x0)  # f fell more than tenfold
    assert res.njev == res.nit + 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_first_order_rules_keep_forward_differences(seed):
    """Noise 1e-3 on Powell's singular function, 500 evaluations: gd on forward
    differences with noise-aware steps reaches 4e-4 to 7e-4 of f(x0) - f* (seeds 0-4).
    On central ones, which every rule took on a noisy function before (a gradient in
    2 n evaluations instead of n), it stopped at 2e-3 to 2.7e-3."""
    assert _mgh_gap("powell_singular", "gd", 500, seed=seed) <= 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_noisy_first_order_rule_turns_to_central_differences_at_a_stall(tmp_path, seed):
    """Noise 1e-3 on Bard's problem: adam stalls on forward differences. Kept on them,
    their error made it wander and end at 4e-5 of f(x0) - f* (after 494 and 931
    evaluations); on central ones from its first stall on it reaches 4e-6 and 7e-6."""
    from fdopt.problems import get_problem

    clean = get_problem("bard")
    noisy = get_problem("bard", noise=1e-3, noise_kind="multiplicative", seed=seed)
    path = tmp_path / "run.ckpt"
    options = {"maxfev": 4000, "seed": seed, "checkpoint": path}
    res = fdopt.minimize(noisy.fun, noisy.x0, method="adam", options=options)
    assert torch.load(path, weights_only=True)["estimator"]["method"] == "central"
    f0, f_star = clean.fun(clean.x0), clean.f_star
    assert clean.fun(res.x_best) - f_star <= 1e-5 * (f0 - f_star)


def test_one_sided_steps_give_the_inverse_curvature():
    from fdopt.loop._noise import one_sided_inverse_curvature
    from fdopt.settings import BackwardSettings, CentralSettings, ForwardSettings

    x = torch.tensor([0.5, -4.0], dtype=torch.float64)
    inverse = one_sided_inverse_curvature(ForwardSettings(step=(1e-2, 2e-3)), x)
    torch.testing.assert_close(inverse, torch.tensor([1e-4, 6.4e-5], dtype=torch.float64))
    assert one_sided_inverse_curvature(BackwardSettings(step=(1e-2, 2e-3)), x) is not None
    assert one_sided_inverse_curvature(ForwardSettings(step=1e-2), x) is None  # one step for all
    assert one_sided_inverse_curvature(ForwardSettings(step=(1e-2, 1e-2), accuracy=2), x) is None
    assert one_sided_inverse_curvature(CentralSettings(step=(1e-2, 1e-2)), x) is None
    assert one_sided_inverse_curvature(None, x) is None


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_noisy_heavy_ball_starts_preconditioned_by_the_measured_curvature(tmp_path, method):
    """A separable quadratic of curvatures 1000, 40 and 8 with relative noise 1e-3: the
    steps measured at x0 set D to the inverse curvatures, each within 10% (relative:
    geometric mean 1; noise seeds 0-3 within 2.2%). Without noise, none is measured or
    used, nor with steps the user set."""
    curvature = np.array([1000.0, 40.0, 8.0])
    rng = np.random.default_rng(0)

    def fun(x, noise):
        return 0.5 * float(np.sum(curvature * x**2)) * (1 + noise * rng.standard_normal())

    expected = 1 / curvature / np.exp(np.mean(np.log(1 / curvature)))
    for noise in (1e-3, 0.0):
        path = tmp_path / f"{noise}.ckpt"
        options = {"maxiter": 1, "seed": 0, "checkpoint": path}
        x0 = np.array([0.03, 0.15, 0.3])
        fdopt.minimize(fun, x0, args=(noise,), method=method, options=options)
        saved = torch.load(path, weights_only=True)["iteration"]
        if noise:
            assert saved["preconditioned"]
            np.testing.assert_allclose(saved["diagonal"].numpy(), expected, rtol=0.1)
        else:
            assert saved["diagonal"] is None
            assert not saved["preconditioned"]
            ones = torch.ones(3, dtype=torch.float64)
            assert torch.equal(saved["rule_state"]["diagonal"], ones)
    # Steps the user set, one per coordinate, are kept (not replaced by measured ones,
    # even with the noise level given) and not read as curvatures.
    steps = [1e-3, 1e-2, 1e-1]
    options = {"maxiter": 1, "seed": 0, "checkpoint": path, "step": steps, "noise": 1e-3}
    fdopt.minimize(fun, x0, args=(1e-3,), method=method, options=options)
    saved = torch.load(path, weights_only=True)
    assert saved["iteration"]["diagonal"] is None
    assert saved["estimator"]["step"] == pytest.approx(steps)


def test_rescaled_steps_follow_the_noise_at_the_stencils_order():
    from fdopt.loop._noise import rescaled_steps
    from fdopt.settings import (
        CentralSettings,
        ForwardSettings,
        RichardsonSettings,
    )

    central = rescaled_steps(CentralSettings(step=(1e-2, 4e-2)), 1e-3)
    assert central.step == pytest.approx((1e-3, 4e-3))  # h ~ noise^(1/3)
    forward = rescaled_steps(ForwardSettings(step=1e-2), 1e-2)
    assert forward.step == pytest.approx(1e-3)  # h ~ noise^(1/2)
    assert rescaled_steps(CentralSettings(), 1e-3).step is None  # no step set: default
    richardson = RichardsonSettings()
    assert rescaled_steps(richardson, 1e-3) is richardson  # not a stencil


@pytest.mark.parametrize(("name", "budget"), [("meyer", 1500), ("powell_badly_scaled", 600)])
def test_noisy_lbfgs_on_badly_scaled_problems(name, budget):
    """Relative noise 1e-3 on problems whose curvatures differ by 1e5 and more (Meyer:
    2e12, 8e4, 1e7 at its stall). With the scalar initial matrix the noise of the
    stiffest coordinate's derivative swamps the direction and L-BFGS only moves that
    coordinate (Meyer stalled at tau = 3e-3, Powell's at 8e-2); with the inverse
    curvatures from the central stencil's second differences both reach tau = 1e-3."""
    from fdopt.problems import get_problem

    clean = get_problem(name)
    noisy = get_problem(name, noise=1e-3, noise_kind="multiplicative", seed=0)
    res = fdopt.minimize(noisy.fun, noisy.x0, method="lbfgs", options={"maxfev": budget})
    f0, f_star = clean.fun(clean.x0), clean.f_star
    assert clean.fun(res.x_best) - f_star <= 1e-3 * (f0 - f_star)


def test_a_noisy_descent_that_only_wanders_ends():
    """Kowalik-Osborne with 1e-3 relative noise: L-BFGS reaches the noise floor of its
    flat valley; after the noise and the steps were measured again three times without
    f falling by more than the noise, the run ends (status 7) instead of wandering
    until maxfev, at a point within the 1e-3 target."""
    from fdopt.problems import get_problem

    clean = get_problem("kowalik_osborne")
    noisy = get_problem("kowalik_osborne", noise=1e-3, noise_kind="multiplicative", seed=0)
    res = fdopt.minimize(noisy.fun, noisy.x0, method="lbfgs", options={"maxfev": 5000})
    assert res.status == 7
    assert "noise" in res.message
    assert res.nfev < 2000
    f0, f_star = clean.fun(clean.x0), clean.f_star
    assert clean.fun(res.x) - f_star <= 1e-3 * (f0 - f_star)


def test_noise_option_values():
    fun = Counting()
    res = fdopt.minimize(fun, np.zeros(3), options={"noise": 0.0})
    assert res.success
    with pytest.raises(ValidationError, match="noise"):
        fdopt.minimize(fun, np.zeros(3), options={"noise": -1.0})


def test_a_deterministic_function_without_seed_gives_the_same_run():
    # Rough at a small scale: ECnoise's level depends on its direction, and so did the
    # noise-aware steps, when the direction came from entropy.
    def rough(x):
        return float(np.sum((x - TARGET) ** 2) + 1e-6 * np.sin(1e7 * x).sum())

    runs = [fdopt.minimize(rough, np.zeros(3), method="adam", options={"maxfev": 60}) for _ in "ab"]
    assert runs[0].nfev == runs[1].nfev
    assert np.array_equal(runs[0].x, runs[1].x)
    seeded = fdopt.minimize(rough, np.zeros(3), method="adam", options={"maxfev": 60, "seed": 0})
    assert np.array_equal(runs[0].x, seeded.x)  # no seed: ECnoise's direction from seed 0


def test_stalled_forward_differences_go_on_with_central_ones():
    """In float32, forward differences (step sqrt(eps)) are biased by about h f'' / 2 at
    the minimum and the descent stalls 1e-4 away; the default gradient then switches to
    central differences, unbiased on a quadratic, and converges."""

    def fun(x):
        return float(np.sum((x - 1.0) ** 2 * np.array([1, 10, 100], dtype=x.dtype)))

    x0 = np.zeros(3, dtype=np.float32)
    forward = fdopt.minimize(fun, x0, method="adam", jac="forward")
    default = fdopt.minimize(fun, x0, method="adam")
    assert forward.status == 7
    assert np.abs(forward.x - 1).max() > 5e-5
    assert default.success
    assert np.abs(default.x - 1).max() < 1e-5


def test_spsa_xtol_counts_only_steps_taken():
    res = fdopt.minimize(
        Counting(), np.zeros(3), method="spsa", options={"xtol": 1.0, "patience": 3, "seed": 0}
    )
    assert res.status == 2
    assert res.nit == 4  # patience + 1 steps taken
    # every step blocked (f rises everywhere but at x0): the iterate never moves, which
    # is not convergence
    res = fdopt.minimize(
        lambda x: float(np.any(x != 0)),
        np.zeros(3),
        method="spsa",
        options={"xtol": 1.0, "patience": 3, "blocking": True, "maxiter": 30, "seed": 0},
    )
    assert res.status == 3
    assert np.array_equal(res.x_last, np.zeros(3))


def test_lbfgs_converges_within_scipy_lbfgsb_evaluations():
    """Extended Rosenbrock, n = 10, from x0 = -1 (the flagship issue's case): scipy's
    L-BFGS-B on its own differences with tight tolerances is the reference."""
    from scipy.optimize import minimize as scipy_minimize
    from scipy.optimize import rosen

    x0 = -np.ones(10)
    reference = scipy_minimize(
        rosen, x0, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-10, "maxfun": 10**5}
    )
    res = fdopt.minimize(rosen, x0, method="lbfgs", options={"gtol": 1e-8, "maxiter": 5000})
    assert res.success
    assert res.fun < 1e-10
    assert res.nfev <= reference.nfev


@pytest.mark.parametrize("jac", ["spsa", "smoothing"])
def test_random_gradients_draw_new_directions_each_iteration(jac, tmp_path):
    """One generator per run: the same seed gives the same run, but each gradient draws
    new directions (a generator seeded afresh per gradient would repeat them)."""
    fun = Counting()
    options = {"seed": 0, "maxiter": 6, "lr": 0.01, "gtol": 0, "noise": None}
    res = fdopt.minimize(fun, np.zeros(3), method="gd", jac=jac, options=options)
    points = np.array(fun.points)
    # each iteration: f at the iterate, then the perturbed points of one gradient
    per_iteration = len(points) // (res.nit + 1)
    directions = [
        np.sign(points[i * per_iteration + 1] - points[i * per_iteration]).tolist()
        for i in range(res.nit)
    ]
    assert len({tuple(d) for d in directions}) > 1
    again = fdopt.minimize(Counting(), np.zeros(3), method="gd", jac=jac, options=options)
    assert np.array_equal(res.x, again.x)
    # and a resumed run goes on with the same stream of directions
    path = tmp_path / "run.ckpt"
    first = {**options, "maxiter": 3, "checkpoint": str(path)}
    fdopt.minimize(Counting(), np.zeros(3), method="gd", jac=jac, options=first)
    resumed = fdopt.minimize(
        Counting(), np.zeros(3), method="gd", jac=jac, options={**options, "resume": str(path)}
    )
    assert np.array_equal(resumed.x, res.x)
    assert resumed.nfev == res.nfev
