"""Several runs, each in its own thread, sharing the calls of one vectorized function.

Part of the evaluation layer (the one place that calls the user's function). Each run
gets a stand-in for the user's vectorized function (:meth:`CombinedCalls.proxy`): the
stand-in hands its ``(k_i, n)`` batch over and waits. The runs take turns, one going on
at a time until it hands a batch over (or ends); when every run still going has handed
one over, the thread that called :meth:`CombinedCalls.run` concatenates the batches,
calls the user's function on them — in chunks of at most ``batch_size`` points, by
default :func:`fdopt.evaluation.default_batch_size` — and hands each run the rows of
its own points. A run's own :class:`~fdopt.evaluation.Evaluator` still counts its
points, enforces its ``maxfev`` and checks what comes back, so a run goes exactly as
it would alone (for a function whose value at a point does not depend on the other
points of the batch). A run that ends leaves at once: the others never wait for it.

The user's code runs only in the thread that called :meth:`CombinedCalls.run`, one
call at a time: the function, and whatever is wrapped by :meth:`CombinedCalls.serial`
(callbacks, a user's ``jac``), in the order of the runs' turns — the same on every
run.

Failures: an exception from the user's function reaches every run whose points were
in that call (each run's evaluator turns it into an ``EvaluationError`` with its own
record), and a run that fails in any other way stops the others: each gets
:class:`Cancelled` at its next call. An interrupt of the calling thread
(``KeyboardInterrupt``) cancels every run, waits for their threads and goes on up.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import torch

from fdopt._tensor import CPU
from fdopt.errors import ArgumentValueError, EvaluationError, FunctionOutputError
from fdopt.evaluation import default_batch_size

__all__ = ["Cancelled", "CombinedCalls", "Outcome"]

T = TypeVar("T")


class Cancelled(EvaluationError):
    """Another run sharing the calls failed (or the caller was interrupted): this one stops.

    An :class:`~fdopt.errors.EvaluationError`, so that the stopped run still returns
    its record at the best point it saw.
    """


@dataclass
class Outcome(Generic[T]):
    """How one run ended.

    Attributes
    ----------
    value : object or None
        What the run returned (None when it raised).
    error : BaseException or None
        What it raised.
    cancelled : bool
        Whether it was stopped by :class:`Cancelled` (another run's failure).
    """

    value: T | None = None
    error: BaseException | None = None
    cancelled: bool = False


@dataclass
class _Job:
    """A call a run asks for: a batch of its points, or a serialized call."""

    batch: Any = None
    args: tuple[Any, ...] = ()
    function: Callable[..., Any] | None = None
    kwargs: dict[str, Any] | None = None


_FINISHED = _Job()
"""What a run hands back when it has ended (its outcome is recorded)."""

_POLL_S = 0.05
"""How often winding down after an interrupt looks again at a run that is going on."""


class CombinedCalls:
    """Combine the vectorized calls of several runs into shared calls of ``fun``.

    The runs are threads that take turns: one run goes on at a time, until it hands a
    batch over (or asks for a serialized call, or ends); then the next one goes on.
    When each run still going has handed a batch over, the points go to ``fun``
    together. Taking turns loses nothing to the GIL, keeps threads that wait blocked
    (a thousand runs do not fight for the GIL) and makes the order of callbacks the
    same on every run.

    Parameters
    ----------
    fun : callable
        The user's vectorized function ``fun(X, *args)``: ``X`` of shape ``(k, n)``
        (numpy or torch, as the runs' evaluators hand it), returning ``(k,)`` or
        ``(k, m)``.
    runs : int
        How many runs share the calls (:meth:`run` takes that many tasks).
    batch_size : int, optional
        Most points per call; default :func:`fdopt.evaluation.default_batch_size` (all
        of them on a GPU, cache-sized chunks on a CPU).
    label : str, default "run"
        What a run is called in messages ("start").

    Attributes
    ----------
    ncalls : int
        Calls of ``fun`` made so far.
    npoints : int
        Points evaluated in them.
    rounds : int
        Combined batches (each one call, or several chunks).
    output_error : FunctionOutputError or None
        Set when ``fun`` returned something that could not be split into rows (wrong
        shape): every run whose points were in the call received it.

    Examples
    --------
    >>> import numpy as np
    >>> calls = CombinedCalls(lambda X: (X**2).sum(axis=1), runs=2)
    >>> tasks = [lambda i=i: calls.proxy(i)(np.full((3, 2), float(i))) for i in range(2)]
    >>> [outcome.value.tolist() for outcome in calls.run(tasks)]
    [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]
    >>> calls.ncalls, calls.npoints
    (1, 6)
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        runs: int,
        *,
        batch_size: int | None = None,
        label: str = "run",
    ) -> None:
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ArgumentValueError(f"runs must be a positive int; got {runs!r}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ArgumentValueError(
                f"batch_size must be a positive int or None; got {batch_size!r}"
            )
        self.fun = fun
        self.runs = runs
        self.batch_size = batch_size
        self.label = label
        self.ncalls = 0
        self.npoints = 0
        self.rounds = 0
        self.output_error: FunctionOutputError | None = None
        # Runs and the coordinating thread strictly alternate (one semaphore each way),
        # so the state below is never touched by two threads at once.
        self._back = threading.Semaphore(0)
        self._ready = [threading.Semaphore(0) for _ in range(runs)]
        self._threads: list[int | None] = [None] * runs
        self._replies: list[tuple[Any, BaseException | None]] = [(None, None)] * runs
        self._handed: list[_Job | None] = [None] * runs
        self._finished = [False] * runs
        self._cancelled_by: str | None = None
        self._cancelled: set[int] = set()
        self._outcomes: list[Outcome[Any]] = [Outcome() for _ in range(runs)]
        self._used = False

    # -- the runs' side -------------------------------------------------------------------

    def proxy(self, run: int) -> Callable[..., Any]:
        """Return run ``run``'s stand-in for ``fun`` (``run``: its task's index).

        ``proxy(X, *args)`` waits for the shared call and returns ``fun``'s rows for
        ``X``, or raises what ``fun`` raised on them.
        """
        self._check_index(run)

        def combined(batch: Any, *args: Any) -> Any:
            return self._ask(run, _Job(batch=batch, args=args))

        return combined

    def serial(self, run: int, function: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``function`` so that run ``run`` calls it in the coordinating thread.

        Calls of every run's wrapped functions happen one at a time, in the thread
        that called :meth:`run`. What ``function`` raises (``StopIteration`` included)
        is raised in the run that called it. The wrapper's ``__wrapped__`` is
        ``function``, so ``inspect.signature`` sees ``function``'s parameters.
        """
        self._check_index(run)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._ask(run, _Job(args=args, function=function, kwargs=kwargs))

        return functools.update_wrapper(call, function, assigned=(), updated=())

    def _check_index(self, run: int) -> None:
        if not 0 <= run < self.runs:
            raise ArgumentValueError(f"run must be in [0, {self.runs}); got {run}")

    def _ask(self, run: int, job: _Job) -> Any:
        """Hand ``job`` to the coordinating thread; wait for the answer (run's thread)."""
        if threading.get_ident() != self._threads[run]:
            raise RuntimeError(f"{self.label} {run}'s stand-ins work only in its own thread")
        if self._cancelled_by is not None:
            self._cancelled.add(run)
            raise Cancelled(self._cancelled_by)
        self._handed[run] = job
        self._back.release()
        self._ready[run].acquire()
        value, error = self._replies[run]
        self._replies[run] = (None, None)
        if error is not None:
            raise error
        return value

    def _member(self, run: int, task: Callable[[], Any]) -> None:
        """Run task ``task`` as run ``run`` (the body of its thread)."""
        self._threads[run] = threading.get_ident()
        self._ready[run].acquire()  # its first turn
        outcome: Outcome[Any] = Outcome()
        if self._cancelled_by is not None:
            outcome.error, outcome.cancelled = Cancelled(self._cancelled_by), True
        else:
            try:
                outcome.value = task()
            except BaseException as error:  # handed to the caller of run()
                outcome.error = error
            outcome.cancelled = run in self._cancelled
        self._outcomes[run] = outcome
        self._handed[run] = _FINISHED
        self._back.release()

    # -- the coordinating side ------------------------------------------------------------

    def run(self, tasks: Sequence[Callable[[], T]]) -> list[Outcome[T]]:
        """Run every task in its own thread, serving their calls here, until all end.

        Parameters
        ----------
        tasks : sequence of callables
            ``runs`` callables without arguments; task ``i`` is run ``i`` (it uses
            ``proxy(i)`` and ``serial(i, ...)``).

        Returns
        -------
        list of Outcome
            How each run ended, in order. A run's exception is in its outcome, not
            raised here.

        Raises
        ------
        ArgumentValueError
            If there are not ``runs`` tasks, or ``run`` was called before.
        BaseException
            What interrupted this thread (``KeyboardInterrupt``), once every run's
            thread has ended.
        """
        if len(tasks) != self.runs:
            raise ArgumentValueError(f"run needs {self.runs} tasks; got {len(tasks)}")
        if self._used:
            raise ArgumentValueError("a CombinedCalls runs its tasks once")
        self._used = True
        threads: list[threading.Thread] = []
        try:
            for i, task in enumerate(tasks):
                name = f"fdopt-{self.label}-{i}"
                thread = threading.Thread(target=self._member, args=(i, task), name=name)
                thread.daemon = True
                thread.start()
                threads.append(thread)  # started: the only threads to wind down and join
            replies: dict[int, tuple[Any, BaseException | None]]
            replies = dict.fromkeys(range(self.runs), (None, None))
            while replies:
                deposits = {}
                for run, (value, error) in replies.items():
                    job = self._turn(run, value, error)
                    if job is not None:
                        deposits[run] = job
                replies = self._call_combined(deposits)
        except BaseException as error:
            self._cancel(f"the coordinating thread raised {type(error).__name__}")
            self._wind_down(len(threads))
            raise
        finally:
            for thread in threads:
                thread.join()
        return list(self._outcomes)

    def _cancel(self, reason: str) -> None:
        """Stop every run at its next call."""
        if self._cancelled_by is None:
            self._cancelled_by = f"stopped because {reason}"

    def _resume(self, run: int, value: Any, error: BaseException | None) -> None:
        """Give run ``run`` its answer and its turn."""
        self._replies[run] = (value, error)
        if isinstance(error, Cancelled):
            self._cancelled.add(run)
        self._ready[run].release()

    def _collect(self, run: int) -> _Job | None:
        """Wait for the run going on, ``run``, to hand something back; None: it has ended."""
        while self._handed[run] is None:
            self._back.acquire()
        job, self._handed[run] = self._handed[run], None
        if job is _FINISHED:
            self._finished[run] = True
            outcome = self._outcomes[run]
            if outcome.error is not None and not outcome.cancelled:
                self._cancel(f"{self.label} {run} raised {type(outcome.error).__name__}")
            return None
        return job

    def _turn(self, run: int, value: Any, error: BaseException | None) -> _Job | None:
        """Let run ``run`` go on to its next batch (returned) or its end (None).

        Its serialized calls are made here, in between.
        """
        while True:
            self._resume(run, value, error)
            job = self._collect(run)
            if job is None or job.function is None:
                return job
            try:
                value, error = job.function(*job.args, **(job.kwargs or {})), None
            except Exception as raised:  # StopIteration included: raised in the run
                value, error = None, raised

    def _wind_down(self, started: int) -> None:
        """Let every run that has not ended end, on :class:`Cancelled`.

        Called after an interrupt, which may have come at any point of a turn: so this
        relies on no count of the semaphores. A run waiting for an answer gets
        :class:`Cancelled`; a run going on gets it at its next call.
        """
        for run in range(started):
            while not self._finished[run] and self._handed[run] is not _FINISHED:
                self._resume(run, None, Cancelled(self._cancelled_by or "stopped"))
                self._back.acquire(timeout=_POLL_S)
            self._finished[run] = True

    def _call_combined(
        self, deposits: dict[int, _Job]
    ) -> dict[int, tuple[Any, BaseException | None]]:
        """Evaluate the deposited batches together; return each run's answer."""
        if not deposits:
            return {}
        if self._cancelled_by is not None:
            return {run: (None, Cancelled(self._cancelled_by)) for run in deposits}
        runs = sorted(deposits)
        batches = [deposits[run].batch for run in runs]
        try:
            parts = self._evaluate(batches, deposits[runs[0]].args)
        except Exception as error:  # reaches every run whose points were in the call
            return dict.fromkeys(runs, (None, error))
        return {run: (part, None) for run, part in zip(runs, parts, strict=True)}

    def _evaluate(self, batches: list[Any], args: tuple[Any, ...]) -> list[Any]:
        """Call ``fun`` on the batches together; return each batch's rows of the values."""
        self.rounds += 1
        tensors = isinstance(batches[0], torch.Tensor)
        if len(batches) == 1:
            points = batches[0]
        elif tensors:
            points = torch.cat(batches)
        else:
            points = np.concatenate(batches)
        total = int(points.shape[0])
        n = math.prod(int(size) for size in points.shape[1:])
        device = points.device if tensors else CPU
        size = self.batch_size or default_batch_size(n, device, tensors=tensors) or total
        values = []
        for start in range(0, total, size):
            chunk = points[start : start + size]
            self.ncalls += 1
            self.npoints += int(chunk.shape[0])
            values.append(self._rows(self.fun(chunk, *args), chunk))
        if len(values) == 1:
            value = values[0]
        elif all(isinstance(v, torch.Tensor) for v in values):
            value = torch.cat(values)
        else:
            value = np.concatenate([np.asarray(v) for v in values])
        parts, offset = [], 0
        for batch in batches:
            rows = value[offset : offset + int(batch.shape[0])]
            offset += int(batch.shape[0])
            parts.append(rows.clone() if isinstance(rows, torch.Tensor) else rows.copy())
        return parts

    def _rows(self, value: Any, chunk: Any) -> Any:
        """``value`` as an array with one row per point of ``chunk``, else an error."""
        k = int(chunk.shape[0])
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            try:
                value = np.asarray(value)
            except (TypeError, ValueError, RuntimeError):
                value = None
        shape = None if value is None else tuple(value.shape)
        if shape is None or len(shape) not in (1, 2) or shape[0] != k:
            self.output_error = FunctionOutputError(
                f"a vectorized fun must return shape ({k},) or ({k}, m) for a batch of shape "
                f"{tuple(chunk.shape)} (the points of several {self.label}s together); got "
                + ("something that is not an array" if shape is None else f"shape {shape}"),
                x=chunk,
            )
            raise self.output_error
        return value
