"""Several starts: x0 of shape (k, n) with options={"multistart": True}."""

import math
import threading

import numpy as np
import pytest
import torch

import fdopt
from fdopt.errors import ArgumentTypeError, ArgumentValueError, FunctionOutputError
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
        (np.zeros((2, 2)), {"multistart": True, "checkpoint": "a.ckpt"}, ValueError, "checkpoint"),
        (np.zeros((2, 2)), {"multistart": True, "resume": "a.ckpt"}, ValueError, "resume"),
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


# -- vectorized functions: the starts share calls -------------------------------------------


class Wells:
    """TwoWells on a (k, n) batch, numpy or torch: counts calls and points, keeps sizes."""

    def __init__(self, check=None, fail_at=None, error=ValueError):
        self.calls = 0
        self.sizes = []
        self.values = []
        self.threads = set()
        self.check = check
        self.fail_at = fail_at
        self.error = error

    def __call__(self, X):
        self.threads.add(threading.get_ident())
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise self.error("boom")
        if self.check is not None:
            self.check(X)
        self.sizes.append(X.shape[0])
        value = (
            ((X**2 - 1) ** 2 + 0.3 * X).sum(axis=1)
            if not isinstance(X, torch.Tensor)
            else (((X**2 - 1) ** 2 + 0.3 * X).sum(dim=1))
        )
        self.values.extend(float(v) for v in value)
        return value


STARTS = np.array(
    [[1.5, 1.5, 0.2], [-1.5, -1.5, 0.1], [1.5, -1.5, 2.0], [0.1, 0.2, -0.3], [-0.9, -1.0, -1.1]]
)
# A seed: with noise="auto" each run probes the noise along a random direction.
VECTORIZED = {"multistart": True, "vectorized": True, "seed": 0}


def _alone(fun, x0, method, options, **kwargs):
    """Each row of x0 run by itself (a single-row multistart, so that it has ncalls)."""
    return [
        fdopt.minimize(fun, x0[i : i + 1], method=method, options=options, **kwargs)
        for i in range(x0.shape[0])
    ]


def _assert_same_run(together, alone):
    assert together.nit == alone.nit
    assert together.nfev == alone.nfev
    assert together.njev == alone.njev
    assert together.status == alone.status
    assert together.fun == alone.fun  # bit for bit
    np.testing.assert_array_equal(np.asarray(together.x), np.asarray(alone.x))
    np.testing.assert_array_equal(np.asarray(together.x_last), np.asarray(alone.x_last))
    for column in ("fun", "gnorm", "nfev", "step", "lr"):
        np.testing.assert_array_equal(together.history[column], alone.history[column])


@pytest.mark.parametrize(
    ("method", "jac", "extra"),
    [
        ("lbfgs", None, {}),
        ("lbfgs", "central", {"noise": None}),
        ("adam", None, {}),
        ("spsa", None, {"seed": 3}),
        ("gd", None, {}),  # Armijo line search
        ("momentum", "spsa", {"lr": 0.01}),
    ],
)
def test_shared_calls_leave_every_start_as_it_is_alone(method, jac, extra):
    options = {**VECTORIZED, "maxiter": 25, "history": True, **extra}
    fun = Wells()
    together = fdopt.minimize(fun, STARTS, method=method, jac=jac, options=options)
    alone = _alone(Wells(), STARTS, method, options, jac=jac)
    for start, single in zip(together.starts, alone, strict=True):
        _assert_same_run(start, single.starts[0])
    # one call per round, and each start is in every round until it ends
    assert together.ncalls == fun.calls == max(single.ncalls for single in alone)
    assert together.nfev == sum(fun.sizes) == sum(single.nfev for single in alone)
    assert max(fun.sizes) > STARTS.shape[1] + 1  # several starts' stencils in one call
    assert fun.threads == {threading.get_ident()}  # fun runs in the caller's thread only


def test_starts_that_end_at_very_different_iterations_do_not_wait_for_each_other():
    # start 0 is at a minimum (gtol at once); start 1 runs to maxiter; start 2 hits
    # maxfev in the middle of a stencil (lbfgs's forward stencils are n = 3 points).
    x0 = np.array([[-1.0356, -1.0356, -1.0356], [2.0, 2.0, 2.0], [1.5, 0.3, -0.4]])
    for maxfev in (17, 31, 58):
        options = {**VECTORIZED, "maxiter": 40, "maxfev": maxfev, "gtol": 1e-2, "history": True}
        together = fdopt.minimize(Wells(), x0, method="gd", options=options)
        alone = _alone(Wells(), x0, "gd", options)
        for start, single in zip(together.starts, alone, strict=True):
            _assert_same_run(start, single.starts[0])
        assert together.starts[0].nit < together.starts[1].nit
        assert all(start.nfev <= maxfev for start in together.starts)
    statuses = {int(start.status) for start in together.starts}
    assert statuses >= {0, 4}


def test_many_starts_share_few_calls():
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-2, 2, size=(64, 3))
    fun = Wells()
    res = fdopt.minimize(
        fun, x0, method="lbfgs", options={**VECTORIZED, "maxiter": 10, "noise": 0.0}
    )
    assert res.ncalls == fun.calls
    assert res.ncalls < 3 * 10 + 10  # about one start's calls, not 64 times that
    assert res.nfev == sum(fun.sizes) > 64 * 10
    assert res.fun == min(start.fun for start in res.starts)
    assert np.allclose(res.x, -1.0356, atol=1e-2)  # the deeper well, every coordinate


def test_batch_size_chunks_the_shared_calls():
    fun = Wells()
    res = fdopt.minimize(
        fun, STARTS, method="lbfgs", options={**VECTORIZED, "maxiter": 5, "batch_size": 4}
    )
    assert max(fun.sizes) == 4
    assert res.ncalls == fun.calls
    assert res.nfev == sum(fun.sizes)


def test_the_best_start_wins_with_shared_calls():
    fun = Wells()
    x0 = np.array([[1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]])
    res = fdopt.minimize(fun, x0, method="lbfgs", options=VECTORIZED)
    assert res.best_start == 1
    assert np.allclose(res.x, res.starts[1].x)
    assert (res.x < 0).all()
    assert res.fun == min(fun.values) == min(start.fun for start in res.starts)
    assert res.starts[0].x[0] > 0


def test_bounds_are_never_left_by_any_start():
    lower, upper = np.array([-1.2, 0.5, -2.0]), np.array([1.2, 2.0, -0.5])

    def inside(X):
        assert (np.asarray(X) >= lower).all(), X
        assert (np.asarray(X) <= upper).all(), X

    x0 = np.array([[1.2, 0.5, -0.5], [-1.2, 2.0, -2.0], [0.0, 1.0, -1.0]])
    bounds = list(zip(lower, upper, strict=True))
    for method, extra in (("lbfgs", {}), ("spsa", {"seed": 1}), ("adam", {})):
        fun = Wells(check=inside)
        options = {**VECTORIZED, "maxiter": 30, **extra}
        res = fdopt.minimize(fun, x0, method=method, bounds=bounds, options=options)
        assert fun.calls == res.ncalls > 0
        for start in res.starts:
            assert (start.x >= lower).all()
            assert (start.x <= upper).all()


def test_torch_starts_keep_their_dtype_and_device():
    x0 = torch.tensor(STARTS, dtype=torch.float32)
    fun = Wells()
    res = fdopt.minimize(fun, x0, method="lbfgs", options={**VECTORIZED, "maxiter": 10})
    assert isinstance(res.x, torch.Tensor)
    assert res.x.dtype == torch.float32
    assert all(start.x.dtype == torch.float32 for start in res.starts)
    assert res.x.device == x0.device


@pytest.mark.cuda
def test_cuda_starts_share_calls_on_the_device(cuda):
    x0 = torch.tensor(STARTS, dtype=torch.float64, device=cuda)
    devices = set()

    def fun(X):
        devices.add(X.device.type)
        return ((X**2 - 1) ** 2 + 0.3 * X).sum(dim=1)

    options = {**VECTORIZED, "maxiter": 10}
    res = fdopt.minimize(fun, x0, method="lbfgs", options=options)
    assert devices == {"cuda"}
    assert res.x.device.type == "cuda"
    assert all(start.x.device.type == "cuda" for start in res.starts)
    alone = _alone(fun, x0, "lbfgs", options)
    for start, single in zip(res.starts, alone, strict=True):
        assert torch.equal(start.x, single.starts[0].x)
    assert res.ncalls == max(single.ncalls for single in alone)  # no chunks on a GPU


@pytest.mark.cuda
@pytest.mark.parametrize(("method", "jac"), [("lbfgs", "central"), ("adam", "richardson")])
def test_a_thousand_cuda_starts_run_together(cuda, method, jac):
    # A start is a thread; a thread calling cuBLAS gets a handle and workspace of its
    # own, and 1024 of them ran an 80 GiB H100 out of memory (CUBLAS_STATUS_ALLOC_FAILED).
    generator = torch.Generator().manual_seed(0)
    x0 = (torch.randn(1024, 2, generator=generator, dtype=torch.float64) + 1).to(cuda)
    options = {**VECTORIZED, "maxiter": 3}
    res = fdopt.minimize(Wells(), x0, method=method, jac=jac, options=options)
    on_cpu = fdopt.minimize(Wells(), x0.cpu(), method=method, jac=jac, options=options)
    assert len(res.starts) == 1024
    assert res.x.device.type == "cuda"
    for start, cpu_start in zip(res.starts, on_cpu.starts, strict=True):
        assert start.nit == cpu_start.nit
        torch.testing.assert_close(start.x.cpu(), cpu_start.x, rtol=1e-6, atol=1e-9)


# -- failures -------------------------------------------------------------------------------


def test_a_raising_function_keeps_every_start_at_its_best_point():
    before = threading.active_count()
    fun = Wells(fail_at=6)
    with pytest.raises(fdopt.EvaluationError, match="boom") as info:
        fdopt.minimize(fun, STARTS, method="lbfgs", options=VECTORIZED)
    error = info.value
    assert isinstance(error.__cause__, ValueError)
    res = error.result
    assert len(res.starts) == STARTS.shape[0]
    assert res.fun == min(fun.values)  # the best point seen before the error, not lost
    assert res.nfev == sum(start.nfev for start in res.starts)
    # counted at dispatch: the points of the call that raised too, one or more a start
    assert res.nfev - len(fun.values) >= STARTS.shape[0]
    assert res.ncalls == 6
    assert all(start.status == 8 for start in res.starts)  # every start was in that call
    assert threading.active_count() == before


def test_an_unusable_value_keeps_every_start_at_its_best_point():
    fun = Wells()

    def failing(X):
        return np.full(len(X), "?") if fun.calls == 5 else fun(X)

    with pytest.raises(fdopt.FunctionOutputError, match="numbers") as info:
        fdopt.minimize(failing, STARTS, method="lbfgs", options=VECTORIZED)
    res = info.value.result
    assert len(res.starts) == STARTS.shape[0]
    assert res.fun == min(fun.values)
    assert all(start.status == 8 for start in res.starts)


def test_a_raising_function_surfaces_as_it_does_without_multistart():
    with pytest.raises(fdopt.EvaluationError) as single:
        fdopt.minimize(Wells(fail_at=3), STARTS[0], method="adam", options={"vectorized": True})
    with pytest.raises(fdopt.EvaluationError) as several:
        fdopt.minimize(Wells(fail_at=3), STARTS, method="adam", options=VECTORIZED)
    assert type(several.value.__cause__) is type(single.value.__cause__)
    assert str(several.value.__cause__) == str(single.value.__cause__)
    assert several.value.result.starts[0].message == single.value.result.message


def test_an_interrupt_in_the_function_stops_every_start():
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        fdopt.minimize(Wells(fail_at=4, error=KeyboardInterrupt), STARTS, options=VECTORIZED)
    assert threading.active_count() == before


def test_a_wrong_shape_is_a_function_output_error():
    def fun(X):
        return np.zeros(X.shape[0] + 1)

    with pytest.raises(FunctionOutputError, match=r"shape \(\d+,\) or"):
        fdopt.minimize(fun, STARTS, options=VECTORIZED)


def test_a_raising_jac_stops_the_other_starts_at_their_best_points():
    before = threading.active_count()
    calls = []

    def jac(x):
        calls.append(x.copy())
        if len(calls) == 7:
            raise RuntimeError("jac failed")
        return 4 * x * (x**2 - 1) + 0.3

    with pytest.raises(fdopt.EvaluationError, match="jac failed") as info:
        fdopt.minimize(Wells(), STARTS, method="adam", jac=jac, options=VECTORIZED)
    res = info.value.result
    assert len(res.starts) == STARTS.shape[0]
    assert all(start.status == 8 for start in res.starts)
    assert sum("stopped because start" in start.message for start in res.starts) == 4
    assert threading.active_count() == before


# -- callbacks ------------------------------------------------------------------------------


def test_callbacks_run_one_at_a_time_in_the_callers_thread():
    busy, seen = [], []

    def callback(intermediate_result):
        assert not busy, "two callbacks at once"
        busy.append(1)
        seen.append((threading.get_ident(), intermediate_result.nit))
        busy.pop()

    res = fdopt.minimize(
        Wells(), STARTS, method="lbfgs", callback=callback, options={**VECTORIZED, "maxiter": 8}
    )
    assert {thread for thread, _ in seen} == {threading.get_ident()}
    assert len(seen) == sum(start.nit for start in res.starts)


def test_stop_iteration_from_the_callback_ends_only_that_start():
    def callback(xk):
        if xk[0] > 0:  # the starts in the right-hand well
            raise StopIteration

    x0 = np.array([[1.5, 1.5], [-1.5, -1.5], [1.2, -1.5]])
    res = fdopt.minimize(Wells(), x0, method="lbfgs", callback=callback, options=VECTORIZED)
    assert [int(start.status) for start in res.starts] == [99, res.starts[1].status, 99]
    assert res.starts[1].status != 99
    assert res.starts[1].nit > 1
    assert res.starts[0].nit == res.starts[2].nit == 1
    assert res.best_start == 1


def test_a_raising_callback_propagates_and_stops_every_start():
    before = threading.active_count()

    def callback(xk):
        raise ZeroDivisionError("callback failed")

    with pytest.raises(ZeroDivisionError, match="callback failed"):
        fdopt.minimize(Wells(), STARTS, callback=callback, options=VECTORIZED)
    assert threading.active_count() == before


def test_plain_functions_still_run_the_starts_one_after_another():
    order = []

    def fun(x):
        order.append(len(order))
        return float(np.sum((x**2 - 1) ** 2 + 0.3 * x))

    res = fdopt.minimize(fun, STARTS, method="lbfgs", options={"multistart": True, "maxiter": 5})
    assert res.ncalls == res.nfev == len(order)


def test_a_raising_plain_function_keeps_the_earlier_starts():
    fun = TwoWells()
    first = fdopt.minimize(fun, STARTS[0], method="lbfgs", options={"maxiter": 5})

    def failing(x):
        if fun.calls >= first.nfev + 10:
            raise ValueError("boom")
        return fun(x)

    fun.calls = 0
    with pytest.raises(fdopt.EvaluationError) as info:
        fdopt.minimize(failing, STARTS, method="lbfgs", options={"multistart": True, "maxiter": 5})
    res = info.value.result
    assert len(res.starts) == 2
    assert res.starts[0].fun == first.fun
    assert res.fun == min(res.starts[0].fun, res.starts[1].fun)
