"""The one place that calls the user's function.

An :class:`Evaluator` takes ``(k, n)`` batches of points (torch tensors; numpy arrays
too, :meth:`Evaluator.array`, where the user's function takes numpy arrays), hands them
to the user's function the way the user wrote it — one point per call, a whole batch per
call (``vectorized=True``), or spread over workers — and returns a ``(k, m)`` tensor of
values on the points' device (an array for numpy points). It counts every point at
dispatch, enforces the budget (``maxfev``) before dispatching, checks the shape and
finiteness of what comes back, keeps the best point seen, and chains the user's
exceptions with the point that raised (points one by one in this thread stop there:
those after it are neither run nor counted).
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np
import torch

from fdopt._tensor import (
    CPU,
    Source,
    all_finite,
    as_tensor,
    finite_floats,
    from_numpy,
    in_precision,
    on_cpu,
)
from fdopt.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BudgetExhaustedError,
    EvaluationError,
    FunctionOutputError,
)

__all__ = ["Evaluator", "Workers", "cpu_call_elements", "default_batch_size"]

Workers = int | Executor | Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]] | None
"""An int (a process pool of that size), a ``concurrent.futures.Executor`` (Dask's and
Ray's executors work unchanged), a map-like callable (``map(fun, iterable)``), or None."""

_CPU_BATCH_ELEMENTS = 1 << 15
"""Numbers (points x dimension) per call of a vectorized numpy function on a CPU: 256 KiB
in float64, within a core's L2 cache, so that the function's operations read points
still in cache; beyond it, chunks are faster than one giant batch (numpy, n = 10000:
0.89 s a gradient in chunks of 32k numbers, 1.03 s in 64k, on a Xeon; on an AMD EPYC
the two measured alike)."""
_THREAD_ELEMENTS = 1 << 16
"""Numbers (points x dimension) per torch thread in one call of a vectorized function of
tensors on a CPU, and in one block of points an estimator builds there: 512 KiB in
float64, within a core's L2 cache, so that the function reads points still in cache.

Torch splits an operation over its threads in pieces of 32k numbers (its grain size),
and each of a function's operations has a fixed cost of microseconds: two pieces a
thread amortize it. Vectorized torch Rosenbrock, 2 threads, three runs each (ratio to
the best chunked central-difference loop): n = 1000 1.20-1.24 with these, 1.36-1.39
with 32k numbers a thread; n = 10000 1.10-1.14 against 1.23-1.37; on 1 thread 1.16-1.21
against 1.33-1.42 at n = 1000 and 1.12 against 1.19-1.24 at n = 10000 (AMD EPYC). Blocks
of 4 MiB ran 1.2x to 2.5x the loop from run to run (freed and mapped again by the
allocator). On a Xeon, with 32 MiB blocks and 1 thread, 64k was the faster at n = 1000
(17.3 against 19.8 ms) and the slower at n = 10000 (2.09 against 1.63 s)."""
_MADE_ELEMENTS = 1 << 17
"""Numbers (points x dimension, 1 MiB in float64) from which a plain function's stencil
is made point by point (:meth:`Evaluator.axis`): below, building it whole costs less than
the per-point steps (measured at n = 10 and 100: 14% and 6% slower point by point)."""
_REAL_SCALARS = frozenset({float, int, np.float64, np.float32})


def cpu_call_elements(*, tensors: bool) -> int:
    """Numbers (points x dimension) per vectorized call on a CPU, by default.

    ``tensors``: whether the function computes with torch, whose operations on a CPU
    split their work over ``torch.get_num_threads()`` threads: a function of tensors
    gets :data:`_THREAD_ELEMENTS` numbers per thread, so that every thread has a
    cache-sized piece; a numpy function (one thread), :data:`_CPU_BATCH_ELEMENTS` in all.
    """
    return _THREAD_ELEMENTS * torch.get_num_threads() if tensors else _CPU_BATCH_ELEMENTS


def default_batch_size(n: int, device: torch.device, *, tensors: bool) -> int | None:
    """Most points per vectorized call: None (everything) on a GPU, cache-sized on a CPU.

    On a CPU, :func:`cpu_call_elements` numbers of points of dimension ``n``.
    """
    if not on_cpu(device):
        return None
    return max(1, cpu_call_elements(tensors=tensors) // max(n, 1))


@dataclass(frozen=True)
class _Raised:
    """An exception raised by the user's function in a worker, carried back by value."""

    error: BaseException


def _call_point(fun: Callable[..., Any], args: tuple[Any, ...], point: Any) -> Any:
    try:
        return fun(point, *args)
    except Exception as error:  # re-raised, chained, in the caller
        return _Raised(error)


def _check_picklable(fun: Callable[..., Any], args: tuple[Any, ...], workers: int) -> None:
    """Raise naming ``fun`` or ``args`` if a process pool could not send it to its workers."""
    for name, value in (("fun", fun), ("args", args)):
        try:
            pickle.dumps(value)
        except Exception as error:
            raise ArgumentTypeError(
                f"workers={workers} runs fun in other processes, so {name} must be picklable "
                f"(a module-level function, not a lambda or a local one); "
                f"{type(error).__name__}: {error}"
            ) from error


def _describe(point: Any) -> str:
    with np.printoptions(precision=6, threshold=8, edgeitems=3):
        return str(np.asarray(point.detach().cpu() if isinstance(point, torch.Tensor) else point))


def _placed(x: torch.Tensor, cols: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
    """Return the ``(k, n)`` points of :meth:`Evaluator.axis`: ``x`` with one entry moved."""
    points = x.expand(cols.shape[0], x.shape[0]).clone()
    rows = (cols >= 0).nonzero()[:, 0]
    points[rows, cols[rows]] = moved[rows].to(points.dtype)
    return points


class Evaluator:
    """Call ``fun(x, *args)`` on batches of points, counting and checking every call.

    Parameters
    ----------
    fun : callable
        The user's function. Plain: ``fun(x, *args)`` with ``x`` of shape ``(n,)``
        returns a scalar or an ``(m,)`` array. Vectorized: ``fun(X, *args)`` with ``X``
        of shape ``(k, n)`` returns ``(k,)`` or ``(k, m)``.
    source : Source
        What the caller's ``x`` was: the function receives numpy arrays if it was numpy
        (or an array-like), torch tensors on its device otherwise.
    args : tuple, optional
        Extra positional arguments passed through to ``fun``.
    vectorized : bool, default False
        Whether ``fun`` takes a batch of points.
    workers : int, Executor, map-like callable or None
        Where plain calls run: an int makes a process pool of that size (owned, closed
        by :meth:`close`); an executor or a map-like callable is used as it is.
    batch_size : int, optional
        Most points per vectorized call; default :func:`default_batch_size`.
    maxfev : int, optional
        Hard budget of evaluations: a batch that would exceed it is not dispatched.
    nonfinite : {"raise", "keep"}, default "raise"
        Whether a NaN or infinite value is an error or is returned as it is.
    point_shape : tuple of int, optional
        The shape of the caller's ``x`` (a scalar ``x`` is passed to a plain function
        as a scalar); default ``(n,)``.
    track_best : bool, default False
        Keep the point with the smallest finite value seen (``best_x``, ``best_f``).

    Attributes
    ----------
    nfev : int
        Points evaluated so far (a vectorized call of k points counts k).
    best_x, best_f : torch.Tensor or None
        With ``track_best``: the point with the smallest finite value seen so far
        (scalar functions only).
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        *,
        source: Source,
        args: Sequence[Any] = (),
        vectorized: bool = False,
        workers: Workers = None,
        batch_size: int | None = None,
        maxfev: int | None = None,
        nonfinite: Literal["raise", "keep"] = "raise",
        point_shape: tuple[int, ...] | None = None,
        track_best: bool = False,
    ) -> None:
        if not callable(fun):
            raise ArgumentTypeError(f"fun must be callable; got {type(fun).__name__}")
        if not isinstance(args, (tuple, list)):
            raise ArgumentTypeError(f"args must be a tuple; got {type(args).__name__}")
        for name, value in (("batch_size", batch_size), ("maxfev", maxfev)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentTypeError(f"{name} must be a positive int or None; got {value!r}")
            if value < 1:
                raise ArgumentValueError(f"{name} must be a positive int or None; got {value}")
        if vectorized and workers is not None:
            raise ArgumentValueError("workers cannot be combined with vectorized=True")
        self.fun = fun
        self.args = tuple(args)
        self.source = source
        self.vectorized = bool(vectorized)
        self.batch_size = batch_size
        self.maxfev = maxfev
        self.nonfinite = nonfinite
        self.point_shape = point_shape
        self.track_best = track_best
        self.nfev = 0
        self.best_x: torch.Tensor | None = None
        self.best_f: torch.Tensor | None = None
        self._outputs: int | None = None
        self._scalar: bool | None = None
        self._owned: ProcessPoolExecutor | None = None
        self._map = self._make_map(workers)

    def _make_map(self, workers: Workers) -> Callable[[Callable[[Any], Any], Iterable[Any]], Any]:
        if workers is None:
            return map
        if isinstance(workers, bool):
            raise ArgumentTypeError(f"workers must be an int, an Executor or a map; got {workers}")
        if isinstance(workers, int):
            if workers < 1 and workers != -1:
                raise ArgumentValueError(f"workers must be >= 1 (or -1: all cores); got {workers}")
            _check_picklable(self.fun, self.args, workers)
            count = (os.cpu_count() or 1) if workers == -1 else workers
            self._owned = ProcessPoolExecutor(max_workers=count)
            return self._owned.map
        if isinstance(workers, Executor):
            return workers.map
        if callable(workers):
            return workers
        raise ArgumentTypeError(
            f"workers must be an int, a concurrent.futures.Executor or a map-like callable; "
            f"got {type(workers).__name__}"
        )

    @property
    def scalar(self) -> bool | None:
        """Whether the function returns scalars (None before the first evaluation)."""
        return self._scalar

    def require_scalar(self, caller: str, x: Any = None, hint: str = "") -> None:
        """Raise unless the function has returned scalars (or not yet been evaluated).

        ``caller`` ("grad", "minimize", ...) is what needs them; ``x`` a point it returned
        another shape at; ``hint`` ends the message.

        Raises
        ------
        FunctionOutputError
            If the function returned arrays (of any size, one or none included).
        """
        if self._scalar is False:
            raise FunctionOutputError(
                f"{caller} needs a scalar function; fun returns shape ({self._outputs},){hint}",
                x=x,
            )

    def require_real_scalars(self, caller: str, values: torch.Tensor, x: Any = None) -> None:
        """:meth:`require_scalar` and :meth:`require_real` on ``values`` (at ``x``).

        Raises
        ------
        FunctionOutputError
            If the function returned arrays, or complex values.
        """
        self.require_scalar(caller, x=x)
        self.require_real(caller, values, x=x)

    @staticmethod
    def require_real(caller: str, values: torch.Tensor, x: Any = None) -> None:
        """Raise naming ``caller`` if ``values`` (of the function, or derived) are complex.

        Raises
        ------
        FunctionOutputError
            If they are: ``caller`` needs a real function.
        """
        if values.is_complex():
            raise FunctionOutputError(
                f"{caller} needs a real function; fun returned complex values", x=x
            )

    def restore(self, nfev: int, best_x: torch.Tensor | None, best_f: torch.Tensor | None) -> None:
        """Go on from a count and a best point saved earlier (a resumed run).

        Parameters
        ----------
        nfev : int
            Points evaluated before; they count against ``maxfev``.
        best_x, best_f : torch.Tensor or None
            The best point seen and its value, or both None.

        Raises
        ------
        ArgumentValueError
            If ``nfev`` is negative or only one of ``best_x`` and ``best_f`` is given.
        """
        if isinstance(nfev, bool) or not isinstance(nfev, int) or nfev < 0:
            raise ArgumentValueError(f"nfev must be an int >= 0; got {nfev!r}")
        if (best_x is None) != (best_f is None):
            raise ArgumentValueError("best_x and best_f must be given together")
        self.nfev = nfev
        self.best_x, self.best_f = best_x, best_f

    def close(self) -> None:
        """Shut down the process pool this evaluator made (if any)."""
        if self._owned is not None:
            self._owned.shutdown()
            self._owned = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _user_points(self, points: torch.Tensor | np.ndarray[Any, Any]) -> list[Any]:
        # One copy of the whole batch, then a view per point: the function may modify
        # its argument without touching the batch.
        if isinstance(points, torch.Tensor):
            points = points.detach()
            if self.source.numpy:
                points = points.cpu().numpy()
        if self.point_shape is not None:
            points = points.reshape(points.shape[0], *self.point_shape)
        if not isinstance(points, np.ndarray):
            return list(points.clone().unbind(0))
        if self.source.numpy:
            return list(points.copy())
        return list(torch.from_numpy(points.copy()).unbind(0))

    def _to_tensor(self, value: Any, device: torch.device, what: str, point: Any) -> torch.Tensor:
        """Return a result of the function as a tensor on ``device``.

        Python numbers (and lists of them) become float64 or complex128, as numpy reads
        them, not torch's default float32: that lost half the digits of a difference.
        """
        try:
            tensor, _ = as_tensor(value, name="fun's value")
        except ArgumentTypeError as exc:
            dtype = getattr(value, "dtype", None)
            boolean = isinstance(value, (bool, np.bool_)) or dtype in (torch.bool, np.bool_)
            got = "booleans" if boolean else type(value).__name__
            raise FunctionOutputError(f"fun must return numbers; got {got}{what}", x=point) from exc
        return tensor.to(device)

    def _check_outputs(self, size: int, shape: tuple[int, ...], point: Any) -> None:
        if self._outputs is None:
            self._outputs, self._scalar = size, len(shape) == 0
        elif size != self._outputs:
            expected = "a scalar" if self._scalar else f"shape ({self._outputs},)"
            raise FunctionOutputError(
                f"fun returned shape {shape} at one point and {expected} at others; "
                f"its output must have one shape",
                x=point,
            )

    def _plain(self, points: torch.Tensor | np.ndarray[Any, Any]) -> tuple[list[Any], list[Any]]:
        """Call the function at each point; return its results and the points it got."""
        user_points = self._user_points(points)
        results: list[Any] = []
        if self._map is map:  # in this thread: no wrapper around each call
            try:
                self._each(user_points, results)
            except Exception as error:
                self.nfev -= len(user_points) - len(results) - 1  # the rest never ran
                self._raised(points, user_points, results, error)
        else:
            call = functools.partial(_call_point, self.fun, self.args)
            try:
                results = list(self._map(call, user_points))
            except Exception as error:  # not fun's own (_call_point returns those)
                raise EvaluationError(
                    f"workers failed to evaluate {len(user_points)} points: "
                    f"{type(error).__name__}: {error}",
                    x=user_points[0],
                ) from error
            if len(results) != len(user_points):
                raise EvaluationError(
                    f"workers returned {len(results)} results for {len(user_points)} points",
                    x=user_points[0],
                )
            for i, result in enumerate(results):
                if isinstance(result, _Raised):
                    self._raised(points, user_points, results[:i], result.error)
        return results, user_points

    def _each(self, points: Iterable[Any], results: list[Any]) -> None:
        """Call the function at each point in this thread, appending to ``results``.

        A loop in C; a raising call leaves the results before it in ``results``.
        """
        results.extend(map(self.fun, points, *map(itertools.repeat, self.args)))

    def _scalars(
        self, results: list[Any], point: Callable[[int], Any]
    ) -> np.ndarray[Any, Any] | None:
        """Return the ``(k, 1)`` values of a plain function that gave real scalars, else None.

        The common case, made cheap; ``point(i)``: the point that gave result ``i``.
        """
        if self._scalar is not False and set(map(type, results)) <= _REAL_SCALARS:
            self._check_outputs(1, (), point(0))
            try:
                return np.array(results, dtype=np.float64)[:, None]
            except OverflowError as exc:  # an int beyond the range of floats
                i = next(i for i, r in enumerate(results) if abs(r) > sys.float_info.max)
                digits = len(str(abs(results[i])))
                raise FunctionOutputError(
                    f"fun returned an int too large for a float ({digits} digits)", x=point(i)
                ) from exc
        return None

    def _values(
        self, results: list[Any], device: torch.device, point: Callable[[int], Any]
    ) -> torch.Tensor:
        """Return the ``(k, m)`` tensor, on ``device``, of a plain function's ``results``.

        ``point(i)``: the point that gave result ``i`` (for errors).
        """
        scalars = self._scalars(results, point)
        if scalars is not None:
            return torch.from_numpy(scalars).to(device)
        return self._rows(results, device, point)

    def _rows(
        self, results: list[Any], device: torch.device, point: Callable[[int], Any]
    ) -> torch.Tensor:
        """:meth:`_values` of results other than real scalars, checked one by one."""
        rows = []
        for i, result in enumerate(results):
            value = self._to_tensor(result, device, "", point(i))
            if value.ndim > 1:
                raise FunctionOutputError(
                    f"fun must return a scalar or a 1-D array; got shape {tuple(value.shape)}",
                    x=point(i),
                )
            self._check_outputs(value.numel(), tuple(value.shape), point(i))
            rows.append(value.reshape(-1))
        return torch.stack(rows)

    def _raised(
        self,
        points: torch.Tensor | np.ndarray[Any, Any],
        user_points: list[Any],
        results: list[Any],
        error: BaseException,
    ) -> NoReturn:
        """Raise the error of the point after ``results``, keeping the best point before it."""
        i = len(results)
        self._keep_best_before(torch.as_tensor(points[:i]), results)
        raise EvaluationError(
            f"fun raised {type(error).__name__} at x = {_describe(user_points[i])}: {error}",
            x=user_points[i],
        ) from error

    def _call_batch(self, batch: Any) -> Any:
        try:
            return self.fun(batch, *self.args)
        except Exception as error:
            raise EvaluationError(
                f"fun raised {type(error).__name__} on a batch of {len(batch)} points "
                f"(first x = {_describe(batch[0])}): {error}",
                x=batch,
            ) from error

    def _check_batch_shape(self, shape: tuple[int, ...], k: int, batch: Any) -> None:
        if len(shape) not in (1, 2) or shape[0] != k:
            raise FunctionOutputError(
                f"a vectorized fun must return shape ({k},) or ({k}, m) for a batch of shape "
                f"{tuple(batch.shape)}; got shape {shape}",
                x=batch,
            )
        self._check_outputs(1 if len(shape) == 1 else shape[1], shape[1:], batch)

    def _batch_value(self, result: Any, points: torch.Tensor) -> torch.Tensor:
        k = points.shape[0]
        value = self._to_tensor(result, points.device, f" for a batch of {k} points", points)
        self._check_batch_shape(tuple(value.shape), k, points)
        return value.reshape(k, -1)

    def _numpy_chunks(self, batch: np.ndarray[Any, Any], size: int) -> np.ndarray[Any, Any]:
        """Call the function on ``size`` points at a time; return its values stacked.

        A function of tensors gets one tensor sharing ``batch``'s memory, sliced.
        """
        given = batch if self.source.numpy else torch.from_numpy(batch)
        if batch.shape[0] <= size:  # the common case: one call
            return self._numpy_value(self._call_batch(given), given)
        return np.concatenate(
            [
                self._numpy_value(self._call_batch(chunk), chunk)
                for chunk in (given[lo : lo + size] for lo in range(0, batch.shape[0], size))
            ]
        )

    def _numpy_value(self, result: Any, chunk: Any) -> np.ndarray[Any, Any]:
        """Return a vectorized call's ``result`` on ``chunk`` as a checked ``(k, m)`` array."""
        if type(result) is np.ndarray:
            value = result
        else:
            try:
                value = (
                    result.detach().cpu().numpy()
                    if isinstance(result, torch.Tensor)
                    else np.asarray(result)
                )
            except (TypeError, ValueError, RuntimeError) as exc:
                raise FunctionOutputError(
                    f"fun must return numbers; got {type(result).__name__} for a batch of "
                    f"{chunk.shape[0]} points",
                    x=chunk,
                ) from exc
        if value.dtype.kind not in "iufc":
            got = "booleans" if value.dtype.kind == "b" else type(result).__name__
            raise FunctionOutputError(
                f"fun must return numbers; got {got} for a batch of {chunk.shape[0]} points",
                x=chunk,
            )
        self._check_batch_shape(value.shape, chunk.shape[0], chunk)
        return value.reshape(chunk.shape[0], -1)

    def _batched(self, points: torch.Tensor, size: int) -> torch.Tensor:
        if points.shape[0] <= size:  # the common case: the whole batch in one call
            return self._batch_value(self._call_batch(points), points)
        # A torch function receives the points themselves: each chunk is its own batch.
        chunks = torch.split(points, size)
        return torch.cat([self._batch_value(self._call_batch(c), c) for c in chunks])

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """Evaluate the function at each row of ``points``.

        Parameters
        ----------
        points : torch.Tensor
            ``(k, n)`` points.

        Returns
        -------
        torch.Tensor
            ``(k, m)`` values on the points' device, in the points' precision (complex
            when the function returned complex values).

        Raises
        ------
        BudgetExhaustedError
            If evaluating ``k`` more points would exceed ``maxfev`` (nothing is called).
        EvaluationError
            If the function raised (the original exception is chained).
        FunctionOutputError
            For output of the wrong shape or type, or not finite (``nonfinite="raise"``).
        """
        if self.source.numpy:
            return from_numpy(self.array(points.detach().cpu().numpy()))
        k = points.shape[0]
        self._spend(k)
        if k == 0:
            return points.new_empty((0, self._outputs or 1))
        if not self.vectorized:
            results, user_points = self._plain(points)
            values = self._values(results, points.device, user_points.__getitem__)
        else:
            values = self._batched(points, self._call_size(k, points.shape[1], points.device))
        values = in_precision(values, points)
        self._check_finite(points.__getitem__, values)
        return values

    def arrays(
        self, k: int, n: int
    ) -> Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]] | None:
        """Return :meth:`array` where estimators computing in numpy should use it, else None.

        For every function of numpy arrays; for a function of CPU tensors, where ``k``
        points of dimension ``n`` are not more than one vectorized call (a small
        stencil: there the torch operations an estimator spares are what costs; between
        the many calls of a large one, numpy operations made the function's torch
        operations slower, by 7-25% at n = 10000).
        """
        if self.source.numpy:
            return self.array
        if not on_cpu(self.source.device):
            return None
        return self.array if not self.vectorized or k <= self._call_size(k, n, CPU) else None

    def array(self, points: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Evaluate the function at each row of numpy ``points``, returning numpy values.

        :meth:`__call__` without torch operations (it calls this for a numpy ``x``):
        each costs microseconds, as much as a small batch of a cheap function. A function
        of tensors (on the CPU) gets the points as tensors sharing their memory, and its
        values are read as arrays. Parameters, returns and errors as in
        :meth:`__call__`, with numpy arrays for tensors.
        """
        k = points.shape[0]
        self._spend(k)
        if k == 0:
            return np.empty((0, self._outputs or 1), dtype=points.dtype)
        scalars = None
        if self.vectorized:
            values = self._numpy_chunks(points, self._call_size(k, points.shape[1], CPU))
        else:
            results, user_points = self._plain(points)
            scalars = self._scalars(results, user_points.__getitem__)
            values = (
                self._rows(results, CPU, user_points.__getitem__).detach().numpy()
                if scalars is None
                else scalars
            )
        if values.dtype != points.dtype:  # values in the points' dtype need no conversion
            values = in_precision(values, points)
        finite = all_finite(values) if scalars is None else finite_floats(results)
        if self.track_best or (self.nonfinite == "raise" and not finite):
            self._check_finite(lambda i: from_numpy(points[i]), from_numpy(values))
        return values

    def _call_size(self, k: int, n: int, device: torch.device) -> int:
        """Most of ``k`` points of dimension ``n`` per vectorized call (``batch_size``)."""
        tensors = not self.source.numpy
        return self.batch_size or default_batch_size(n, device, tensors=tensors) or k

    def _spend(self, k: int) -> None:
        """Count ``k`` more points, or raise if they would exceed ``maxfev``."""
        if self.maxfev is not None and self.nfev + k > self.maxfev:
            raise BudgetExhaustedError(
                f"evaluating {k} more points would exceed maxfev={self.maxfev} ({self.nfev} spent)"
            )
        self.nfev += k

    def makes_points(self, x: torch.Tensor | np.ndarray[Any, Any], k: int) -> bool:
        """Whether :meth:`axis` makes ``k`` points around ``x`` one at a time itself.

        True for a plain numpy function called in this thread at a 1-D ``x``, when the
        points would not fit in cache (:data:`_MADE_ELEMENTS` numbers or more); otherwise
        :meth:`axis` builds the points first, which estimators do as cheaply themselves.
        """
        if k * x.shape[0] < _MADE_ELEMENTS:
            return False
        plain = self._map is map and not self.vectorized and self.source.numpy
        return plain and x.ndim == 1 and self.point_shape in (None, tuple(x.shape))

    def axis(self, x: torch.Tensor, cols: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
        """Evaluate the points that each move one coordinate of ``x``.

        Point ``r`` is ``x`` with coordinate ``cols[r]`` set to ``moved[r]`` (``cols[r]``
        = -1: ``x`` itself): a finite-difference stencil. The same as calling the
        evaluator on those points; a plain numpy function called in this thread gets
        each point made just before its call (a copy of ``x``, one entry changed), so
        that the whole stencil is never built: for a cheap function of many variables,
        building and copying it costs up to half as much again as the calls.

        Parameters
        ----------
        x : torch.Tensor
            ``(n,)`` point.
        cols, moved : torch.Tensor
            ``(k,)`` coordinates (long) and their new values.

        Returns
        -------
        torch.Tensor
            ``(k, m)`` values, as :meth:`__call__` returns them.
        """
        if not self.makes_points(x, cols.shape[0]):
            return self(_placed(x, cols, moved))
        k = cols.shape[0]
        self._spend(k)
        base: np.ndarray[Any, Any] = x.detach().cpu().numpy()
        where, to = cols.tolist(), moved.tolist()

        def made(i: int) -> np.ndarray[Any, Any]:  # point i, a fresh array
            point: np.ndarray[Any, Any] = base.copy()
            if where[i] >= 0:
                point[where[i]] = to[i]
            return point

        results: list[Any] = []
        try:
            self._each(map(made, range(k)), results)
        except Exception as error:
            self.nfev -= k - len(results) - 1  # the rest never ran
            done = _placed(x, cols[: len(results) + 1], moved[: len(results) + 1])
            self._raised(done, self._user_points(done), results, error)
        if not k:
            return x.new_empty((0, self._outputs or 1))
        values = in_precision(self._values(results, x.device, made), x)
        self._check_finite(lambda i: torch.from_numpy(made(i)).to(x.device), values)
        return values

    def _keep_best_before(self, points: torch.Tensor, results: list[Any]) -> None:
        """Keep the best of the values a batch returned before one of its points raised."""
        scalars = set(map(type, results)) <= _REAL_SCALARS
        if self.track_best and self._scalar is not False and points.shape[0] and scalars:
            values = torch.tensor(results, dtype=points.dtype, device=points.device)
            self._keep_best(points.__getitem__, values[:, None])

    def _keep_best(self, row: Callable[[int], torch.Tensor], values: torch.Tensor) -> None:
        candidates = torch.nan_to_num(values[:, 0], nan=torch.inf)
        i = int(candidates.argmin())
        if bool(torch.isfinite(candidates[i])) and (
            self.best_f is None or bool(candidates[i] < self.best_f)
        ):
            self.best_x, self.best_f = row(i).clone(), candidates[i].clone()

    def _check_finite(self, row: Callable[[int], torch.Tensor], values: torch.Tensor) -> None:
        """Keep the best point (``track_best``) and check ``values``; ``row(i)``: point i."""
        if self.track_best and self._scalar and not values.is_complex():
            self._keep_best(row, values)
        if self.nonfinite == "raise" and not all_finite(values):
            i = int((~torch.isfinite(values).all(dim=1)).nonzero()[0, 0])
            raise FunctionOutputError(
                f"fun returned a non-finite value {values[i].tolist()} at x = {_describe(row(i))}",
                x=self.source.wrap(row(i).clone()),
            )
