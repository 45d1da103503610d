import collections.abc
import dataclasses
import inspect
import io
import math

import numpy as np
import pytest
import torch
from scipy.optimize import OptimizeResult, minimize, rosen

from fdopt.callbacks import EarlyStopping, ProgressBar, Record, Recorder
from fdopt.errors import ArgumentTypeError, ArgumentValueError

METHODS = ["Nelder-Mead", "L-BFGS-B", "Powell", "BFGS"]
X0 = np.array([-1.2, 1.0])
STOPPED = (99, False, "`callback` raised `StopIteration`.")


def calls_per_run(method, result):
    """How often scipy 1.17 calls the callback: Nelder-Mead counts its initial simplex."""
    return result.nit - 1 if method == "Nelder-Mead" else result.nit


def feed(callback, funs, **fields):
    """Call ``callback`` once per value of ``funs``; return how many calls went through."""
    for count, fun in enumerate(funs, start=1):
        try:
            callback(OptimizeResult(x=np.array([float(count)]), fun=fun, **fields))
        except StopIteration:
            return count
    return None


def expected_stop(funs, patience, min_delta):
    """Independent statement of the stopping rule (abs mode): 1-based call that stops."""
    reference, wait = None, 0
    for count, fun in enumerate(funs, start=1):
        if reference is None or fun < reference - min_delta:
            reference, wait = fun, 0
        else:
            wait += 1
            if wait >= patience:
                return count
    return None


# --- the callback signature scipy inspects -------------------------------------------


@pytest.mark.parametrize("callback", [Recorder(), EarlyStopping(), ProgressBar(disable=True)])
def test_signature_is_exactly_intermediate_result(callback):
    # scipy 1.17 passes an OptimizeResult iff set(signature.parameters) == {"intermediate_result"}
    assert list(inspect.signature(callback).parameters) == ["intermediate_result"]


def test_scipy_passes_an_optimize_result_not_the_bare_point():
    seen = []

    class Spy(Recorder):
        def __call__(self, intermediate_result):
            seen.append(intermediate_result)
            super().__call__(intermediate_result)

    rec = Spy()
    minimize(rosen, X0, method="BFGS", callback=rec)
    assert seen
    assert all(isinstance(result, OptimizeResult) for result in seen)
    assert all(record.fun is not None for record in rec)


# --- Recorder ------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_recorder_in_scipy_records_every_iteration(method):
    rec = Recorder()
    res = minimize(rosen, X0, method=method, callback=rec)
    assert len(rec) == calls_per_run(method, res) > 1
    assert [record.nit for record in rec] == list(range(1, len(rec) + 1))
    assert all(record.nfev is None for record in rec)  # scipy passes only x and fun
    for record in rec:
        assert record.fun == rosen(record.x)
    np.testing.assert_array_equal(rec[-1].x, res.x)
    assert rec[-1].fun == res.fun
    assert rec.x.shape == (len(rec), 2)
    np.testing.assert_array_equal(rec.fun, [rosen(x) for x in rec.x])
    assert rec.times[0] == 0.0
    assert np.all(np.diff(rec.times) >= 0)


def test_recorder_in_scipy_tnc_gets_the_bare_point():
    rec = Recorder()
    res = minimize(rosen, X0, method="TNC", callback=rec)
    assert len(rec) == res.nit
    assert all(record.fun is None for record in rec)
    assert np.isnan(rec.fun).all()
    np.testing.assert_array_equal(rec[-1].x, res.x)


def test_recorder_keeps_copies_of_the_points():
    rec = Recorder()
    x = np.array([1.0, 2.0])
    rec(OptimizeResult(x=x, fun=5.0))
    x[0] = 100.0
    rec(OptimizeResult(x=x, fun=6.0))
    np.testing.assert_array_equal(rec.x, [[1.0, 2.0], [100.0, 2.0]])
    assert not rec[0].x.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec[0].fun = 1.0


def test_recorder_stores_the_reported_counters():
    rec = Recorder()
    rec(OptimizeResult(x=np.zeros(2), fun=np.float64(3.0), nit=7, nfev=21, jac=np.ones(2)))
    (record,) = rec
    assert (record.nit, record.nfev, record.fun) == (7, 21, 3.0)
    assert type(record.fun) is float
    assert record.time == 0.0


def test_recorder_missing_fun_is_none_and_missing_x_raises():
    rec = Recorder()
    rec(OptimizeResult(x=np.zeros(2)))
    assert rec[0].fun is None
    np.testing.assert_array_equal(rec.fun, [math.nan])
    with pytest.raises(ArgumentValueError, match="intermediate_result"):
        rec(OptimizeResult(fun=1.0))
    assert len(rec) == 1


def test_recorder_clones_tensors_and_stacks_them():
    rec = Recorder()
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    rec(OptimizeResult(x=x, fun=torch.tensor(5.0)))
    x.add_(1.0)
    rec(OptimizeResult(x=x, fun=torch.tensor(3.0)))
    assert isinstance(rec[0].x, torch.Tensor)
    assert rec[0].x.dtype == torch.float64
    assert type(rec[0].fun) is float
    torch.testing.assert_close(rec.x, torch.tensor([[1.0, 2.0], [2.0, 3.0]], dtype=torch.float64))
    np.testing.assert_array_equal(rec.fun, [5.0, 3.0])


@pytest.mark.cuda
def test_recorder_and_early_stopping_keep_tensors_on_their_device(cuda):
    rec, stop = Recorder(), EarlyStopping(patience=1)
    for fun in [2.0, 1.0]:
        result = OptimizeResult(x=torch.ones(3, device=cuda), fun=torch.tensor(fun, device=cuda))
        rec(result)
        stop(result)
    assert rec.x.device.type == "cuda"
    assert rec.x.shape == (2, 3)
    np.testing.assert_array_equal(rec.fun, [2.0, 1.0])
    assert stop.best == 1.0


def test_recorder_batches_of_values_stay_arrays():
    rec = Recorder()
    for step in range(3):
        rec(OptimizeResult(x=np.full((4, 2), step), fun=np.arange(4.0) + step))
    assert rec.x.shape == (3, 4, 2)
    assert rec.fun.shape == (3, 4)
    np.testing.assert_array_equal(rec.fun[:, 0], [0.0, 1.0, 2.0])


def test_recorder_is_a_sequence():
    rec = Recorder()
    assert isinstance(rec, collections.abc.Sequence)
    assert len(rec) == 0
    assert not rec
    assert rec.x.shape == (0, 0)
    assert rec.fun.shape == (0,)
    assert rec.times.shape == (0,)
    feed(rec, [3.0, 2.0, 1.0])
    assert isinstance(rec[0], Record)
    assert [record.fun for record in rec] == [3.0, 2.0, 1.0]
    assert [record.fun for record in rec[1:]] == [2.0, 1.0]
    assert rec[-1].fun == 1.0
    assert rec.index(rec[1]) == 1
    assert rec[2] in rec
    with pytest.raises(IndexError):
        rec[3]
    assert "3 records" in repr(rec)


def test_recorder_clear_restarts_records_count_and_clock():
    rec = Recorder()
    feed(rec, [3.0, 2.0])
    rec.clear()
    assert len(rec) == 0
    feed(rec, [1.0])
    assert (rec[0].nit, rec[0].time) == (1, 0.0)


# --- EarlyStopping -------------------------------------------------------------------


@pytest.mark.parametrize("patience", [1, 2, 3, 5])
def test_early_stopping_stops_after_exactly_patience_calls_without_improvement(patience):
    stop = EarlyStopping(patience=patience)
    funs = [5.0, 4.0, 3.0] + [3.0] * 10
    assert feed(stop, funs) == 3 + patience
    assert stop.stopped_at == 3 + patience
    assert stop.best == 3.0
    assert stop.wait == patience


def test_early_stopping_an_improvement_resets_the_count():
    stop = EarlyStopping(patience=3)
    # 2 calls without improvement, then an improvement, then 3 without: stops at call 7
    assert feed(stop, [3.0, 3.5, 3.0, 2.0, 2.0, 2.5, 2.0, 1.0]) == 7


def test_early_stopping_min_delta_is_cumulative_and_strict():
    stop = EarlyStopping(patience=3, min_delta=0.1)
    # 0.95 and 0.91 improve by <= 0.1 on the reference 1.0; 0.85 by 0.15 (resets);
    # 0.75 improves on 0.85 by exactly 0.1: not more, so it does not count
    assert feed(stop, [1.0, 0.95, 0.91, 0.85, 0.75, 0.75, 0.75]) == 7
    assert stop.best == 0.75  # the lowest value, sub-threshold improvements included


def test_early_stopping_exactly_min_delta_is_not_an_improvement():
    stop = EarlyStopping(patience=1, min_delta=0.5)
    assert feed(stop, [1.0, 0.5]) == 2


def test_early_stopping_relative_mode():
    stop = EarlyStopping(patience=1, min_delta=0.01, mode="rel")
    # reference 100: the threshold is 1.0
    assert feed(stop, [100.0, 98.9, 97.95]) == 3
    stop = EarlyStopping(patience=1, min_delta=0.01, mode="rel")
    # reference 0.5: the threshold is 0.01 * max(1, 0.5) = 0.01
    assert feed(stop, [0.5, 0.48, 0.475]) == 3


def test_early_stopping_nan_never_improves_and_inf_is_beaten():
    stop = EarlyStopping(patience=2)
    assert feed(stop, [math.nan, 1.0, math.nan, math.nan]) == 4
    assert stop.best == 1.0
    stop = EarlyStopping(patience=1, min_delta=0.5, mode="rel")
    assert feed(stop, [math.inf, 1e300, 1e300]) == 3


def test_early_stopping_uses_the_reported_nit_and_the_lowest_of_a_batch():
    stop = EarlyStopping(patience=1)
    stop(OptimizeResult(x=np.zeros(2), fun=np.array([3.0, 1.0]), nit=10))
    with pytest.raises(StopIteration):
        stop(OptimizeResult(x=np.zeros(2), fun=torch.tensor([2.0, 1.0]), nit=11))
    assert (stop.stopped_at, stop.best) == (11, 1.0)


def test_early_stopping_keeps_stopping_until_reset():
    stop = EarlyStopping(patience=1)
    assert feed(stop, [1.0, 1.0]) == 2
    assert feed(stop, [0.5]) is None  # an improvement is still an improvement
    assert feed(stop, [0.5]) == 1
    assert stop.stopped_at == 2  # the first stop
    stop.reset()
    assert (stop.best, stop.wait, stop.stopped_at) == (None, 0, None)
    assert feed(stop, [9.0, 9.0]) == 2
    assert stop.stopped_at == 2


def test_early_stopping_needs_fun():
    stop = EarlyStopping()
    with pytest.raises(ArgumentValueError, match="'fun'"):
        stop(OptimizeResult(x=np.zeros(2)))
    with pytest.raises(ArgumentValueError, match="'fun'"):
        stop(np.zeros(2))


@pytest.mark.parametrize("method", METHODS)
def test_early_stopping_in_scipy(method):
    rec, stop = Recorder(), EarlyStopping(patience=3, min_delta=1e-3)

    def both(intermediate_result):
        rec(intermediate_result)
        stop(intermediate_result)

    full = minimize(rosen, X0, method=method)
    res = minimize(rosen, X0, method=method, callback=both)
    assert (res.status, res.success, res.message) == STOPPED
    assert res.nit < full.nit
    assert len(rec) == calls_per_run(method, res)
    funs = [record.fun for record in rec]
    assert stop.stopped_at == expected_stop(funs, 3, 1e-3) == len(rec)
    assert stop.best == min(funs)
    np.testing.assert_array_equal(res.x, rec[-1].x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patience": 0}, ArgumentValueError, "patience"),
        ({"patience": -3}, ArgumentValueError, "patience"),
        ({"patience": 2.5}, ArgumentTypeError, "patience"),
        ({"patience": True}, ArgumentTypeError, "patience"),
        ({"patience": "3"}, ArgumentTypeError, "patience"),
        ({"min_delta": -0.1}, ArgumentValueError, "min_delta"),
        ({"min_delta": math.nan}, ArgumentValueError, "min_delta"),
        ({"min_delta": math.inf}, ArgumentValueError, "min_delta"),
        ({"min_delta": "0.1"}, ArgumentTypeError, "min_delta"),
        ({"min_delta": None}, ArgumentTypeError, "min_delta"),
        ({"min_delta": False}, ArgumentTypeError, "min_delta"),
        ({"mode": "max"}, ArgumentValueError, "mode"),
        ({"mode": "ABS"}, ArgumentValueError, "mode"),
        ({"mode": 1}, ArgumentTypeError, "mode"),
    ],
)
def test_early_stopping_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


def test_early_stopping_accepts_numpy_numbers():
    stop = EarlyStopping(patience=np.int64(2), min_delta=np.float32(0.5), mode="rel")
    assert (stop.patience, stop.min_delta, stop.mode) == (2, 0.5, "rel")
    assert type(stop.patience) is int
    assert "patience=2" in repr(stop)


# --- ProgressBar ---------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_progress_bar_in_scipy_counts_every_call(method):
    out = io.StringIO()
    with ProgressBar(desc="rosen", file=out, disable=False) as bar:
        res = minimize(rosen, X0, method=method, callback=bar)
    calls = calls_per_run(method, res)
    assert bar.n == calls
    text = out.getvalue()
    assert "rosen" in text
    assert f"{calls}it" in text
    assert f"best={res.fun:.4g}" in text
    assert "nfev" not in text  # scipy does not report it


def test_progress_bar_shows_total_current_best_and_nfev():
    out = io.StringIO()
    bar = ProgressBar(total=4, file=out, disable=False)
    for nfev, fun in zip([3, 6, 9], [2.0, 1.23456789, 1.5], strict=True):
        bar(OptimizeResult(x=np.zeros(2), fun=fun, nfev=nfev))
    bar.close()
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "fdopt" in last
    assert "3/4" in last
    assert "fun=1.5, best=1.235, nfev=9" in last


def test_progress_bar_bare_points_just_advance():
    out = io.StringIO()
    with ProgressBar(file=out, disable=False) as bar:
        res = minimize(rosen, X0, method="TNC", callback=bar)
    assert bar.n == res.nit
    assert f"{res.nit}it" in out.getvalue()
    assert "fun=" not in out.getvalue()


def test_progress_bar_follows_tqdm_default_for_disable():
    out = io.StringIO()  # not a terminal: tqdm's disable=None hides the bar
    with ProgressBar(file=out) as bar:
        feed(bar, [3.0, 2.0])
    assert bar.n == 2
    assert out.getvalue() == ""
    with ProgressBar(file=out, disable=True) as bar:
        feed(bar, [3.0, 2.0])
    assert out.getvalue() == ""


def test_progress_bar_writes_to_stderr_by_default(capsys):
    with ProgressBar(disable=False) as bar:
        feed(bar, [3.0, 2.0, 1.0])
    captured = capsys.readouterr()
    assert "3it" in captured.err
    assert captured.out == ""


def test_progress_bar_close_is_idempotent_and_a_later_call_opens_a_new_bar():
    out = io.StringIO()
    bar = ProgressBar(file=out, disable=False, leave=False)
    bar.close()  # before any call
    feed(bar, [3.0, 2.0])
    bar.close()
    bar.close()
    assert bar.n == 2
    feed(bar, [9.0])
    assert bar.n == 1
    bar.close()
    with bar:
        pass
    bar.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"total": -1}, ArgumentValueError, "total"),
        ({"total": 2.5}, ArgumentTypeError, "total"),
        ({"total": True}, ArgumentTypeError, "total"),
        ({"total": "3"}, ArgumentTypeError, "total"),
        ({"desc": 3}, ArgumentTypeError, "desc"),
        ({"file": 3}, ArgumentTypeError, "file"),
        ({"disable": "yes"}, ArgumentTypeError, "disable"),
        ({"leave": None}, ArgumentTypeError, "leave"),
    ],
)
def test_progress_bar_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ProgressBar(**kwargs)


# --- together ------------------------------------------------------------------------


def test_all_three_together_in_scipy():
    out = io.StringIO()
    rec, stop = Recorder(), EarlyStopping(patience=3, min_delta=1e-3)
    with ProgressBar(file=out, disable=False) as bar:

        def callback(intermediate_result):
            rec(intermediate_result)
            bar(intermediate_result)
            stop(intermediate_result)

        res = minimize(rosen, X0, method="L-BFGS-B", callback=callback)
    assert (res.status, res.success, res.message) == STOPPED
    assert len(rec) == bar.n == stop.stopped_at == res.nit
