"""CombinedCalls: runs in threads sharing the calls of one vectorized function."""

import signal
import threading

import numpy as np
import pytest
import torch

from fdopt._combined import Cancelled, CombinedCalls
from fdopt.errors import ArgumentValueError, FunctionOutputError


def square_sums(X):
    return (X**2).sum(axis=1) if isinstance(X, np.ndarray) else (X**2).sum(dim=1)


def test_rounds_wait_for_every_run_still_going():
    calls = CombinedCalls(square_sums, runs=3)
    sizes = {0: [1, 2, 3], 1: [4], 2: [2, 2]}  # run 1 ends after one batch

    def task(run):
        proxy = calls.proxy(run)
        return [proxy(torch.full((k, 2), float(run))).tolist() for k in sizes[run]]

    outcomes = calls.run([lambda run=run: task(run) for run in range(3)])
    assert [o.value for o in outcomes] == [
        [[0.0], [0.0] * 2, [0.0] * 3],
        [[2.0] * 4],
        [[8.0] * 2, [8.0] * 2],
    ]
    assert calls.ncalls == calls.rounds == 3  # the longest run's batches
    assert calls.npoints == 1 + 4 + 2 + 2 + 2 + 3


def test_batch_size_chunks_the_combined_points():
    seen = []

    def fun(X):
        seen.append(X.shape[0])
        return square_sums(X)

    calls = CombinedCalls(fun, runs=2, batch_size=3)
    tasks = [lambda run=run: calls.proxy(run)(np.ones((4, 2)) * run) for run in range(2)]
    outcomes = calls.run(tasks)
    assert seen == [3, 3, 2]
    np.testing.assert_array_equal(outcomes[1].value, np.full(4, 2.0))
    assert calls.ncalls == 3
    assert calls.rounds == 1


def test_serial_calls_run_in_the_coordinating_thread_with_the_wrapped_signature():
    import inspect

    threads = []

    def callback(intermediate_result):
        threads.append(threading.get_ident())
        if intermediate_result == 1:
            raise StopIteration

    calls = CombinedCalls(square_sums, runs=2)

    def task(run):
        wrapped = calls.serial(run, callback)
        assert list(inspect.signature(wrapped).parameters) == ["intermediate_result"]
        try:
            wrapped(intermediate_result=run)
        except StopIteration:
            return "stopped"
        return "went on"

    outcomes = calls.run([lambda run=run: task(run) for run in range(2)])
    assert [o.value for o in outcomes] == ["went on", "stopped"]
    assert threads == [threading.get_ident()] * 2


def test_a_failing_run_cancels_the_others():
    calls = CombinedCalls(square_sums, runs=3)

    def task(run):
        proxy = calls.proxy(run)
        proxy(np.ones((1, 2)))
        if run == 1:
            raise ZeroDivisionError("run 1 fails")
        proxy(np.ones((1, 2)))
        return run

    outcomes = calls.run([lambda run=run: task(run) for run in range(3)])
    assert isinstance(outcomes[1].error, ZeroDivisionError)
    assert not outcomes[1].cancelled
    for run in (0, 2):
        assert isinstance(outcomes[run].error, Cancelled)
        assert outcomes[run].cancelled
        assert "run 1 raised ZeroDivisionError" in str(outcomes[run].error)


def test_the_functions_error_reaches_every_run_in_the_call():
    def fun(X):
        raise KeyError("no")

    calls = CombinedCalls(fun, runs=2)
    outcomes = calls.run([lambda run=run: calls.proxy(run)(np.ones((2, 2))) for run in range(2)])
    assert all(isinstance(o.error, KeyError) and not o.cancelled for o in outcomes)


def test_an_output_that_cannot_be_split_is_an_output_error():
    calls = CombinedCalls(lambda X: np.zeros(X.shape[0] - 1), runs=2)
    outcomes = calls.run([lambda run=run: calls.proxy(run)(np.ones((2, 2))) for run in range(2)])
    assert all(isinstance(o.error, FunctionOutputError) for o in outcomes)
    assert "shape (4,) or (4, m)" in str(calls.output_error)


def test_an_interrupt_winds_every_thread_down():
    before = threading.active_count()

    def fun(X):
        raise KeyboardInterrupt

    calls = CombinedCalls(fun, runs=4)
    with pytest.raises(KeyboardInterrupt):
        calls.run([lambda run=run: calls.proxy(run)(np.ones((1, 2))) for run in range(4)])
    assert threading.active_count() == before


def test_misuse_is_refused():
    calls = CombinedCalls(square_sums, runs=1)
    with pytest.raises(ArgumentValueError, match="1 tasks"):
        calls.run([])
    with pytest.raises(ArgumentValueError, match="run must be in"):
        calls.proxy(1)
    with pytest.raises(ArgumentValueError, match="runs"):
        CombinedCalls(square_sums, runs=0)
    with pytest.raises(ArgumentValueError, match="batch_size"):
        CombinedCalls(square_sums, runs=1, batch_size=0)
    with pytest.raises(RuntimeError, match="its own thread"):
        calls.proxy(0)(np.ones((1, 2)))  # not from run 0's thread
    calls.run([lambda: None])
    with pytest.raises(ArgumentValueError, match="once"):
        calls.run([lambda: None])


def test_an_interrupt_while_a_run_goes_on_winds_every_thread_down():
    before = threading.active_count()
    calls = CombinedCalls(square_sums, runs=3)
    started, go = threading.Event(), threading.Event()

    def task(run):
        proxy = calls.proxy(run)
        proxy(np.ones((1, 2)))
        if run == 1:  # going on (not waiting for a call) when the interrupt comes
            started.set()
            go.wait(10)
        return proxy(np.ones((1, 2)))

    def interrupt():
        started.wait(10)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        go.set()

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        calls.run([lambda run=run: task(run) for run in range(3)])
    interrupter.join()
    assert threading.active_count() == before


def test_an_interrupt_in_a_serial_call_winds_every_thread_down():
    before = threading.active_count()

    def callback():
        raise KeyboardInterrupt

    calls = CombinedCalls(square_sums, runs=2)
    tasks = [lambda run=run: calls.serial(run, callback)() for run in range(2)]
    with pytest.raises(KeyboardInterrupt):
        calls.run(tasks)
    assert threading.active_count() == before


def test_a_thread_that_cannot_start_winds_the_started_ones_down(monkeypatch):
    started = []
    real_start = threading.Thread.start

    def start(thread):
        if len(started) == 2:
            raise RuntimeError("can't start new thread")
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    calls = CombinedCalls(square_sums, runs=4)
    with pytest.raises(RuntimeError, match="can't start"):
        calls.run([lambda run=run: calls.proxy(run)(np.ones((1, 2))) for run in range(4)])
    assert len(started) == 2
    assert not any(thread.is_alive() for thread in started)
