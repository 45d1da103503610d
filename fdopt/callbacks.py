"""Callbacks for ``scipy.optimize.minimize`` and ``fdopt.minimize``: record, stop early, show.

Each callback is called once per iteration as ``callback(intermediate_result)`` with an
``OptimizeResult`` holding at least ``x`` and usually ``fun`` (``fdopt.minimize`` adds
``nit``, ``nfev`` and ``jac`` when known). The same object works unchanged with both:

- ``scipy.optimize.minimize`` inspects the callback's signature; a callable whose only
  parameter is named ``intermediate_result`` (as here) is called
  ``callback(intermediate_result=OptimizeResult(x=..., fun=...))``, anything else
  ``callback(xk)`` with a copy of the point. scipy 1.17 passes only ``x`` and ``fun`` for
  Nelder-Mead, Powell, CG, BFGS, Newton-CG, L-BFGS-B, SLSQP and COBYQA; COBYLA adds
  ``nit`` and ``nfev``; trust-constr passes its whole state. TNC always calls
  ``callback(xk)``: the callbacks accept a bare array too, as a result with only ``x``.
- ``fdopt.minimize`` calls ``callback(intermediate_result)`` positionally.

A callback stops a run by raising ``StopIteration`` (what :class:`EarlyStopping` does).
scipy 1.17 then returns the last iterate with ``success=False``, ``status=99`` and
``message="`callback` raised `StopIteration`."`` for Nelder-Mead, Powell, CG, BFGS,
Newton-CG, L-BFGS-B and SLSQP. Other methods answer in their own words: trust-constr
``status=3``, ``success=False`` (same message); COBYLA ``status=30``, ``success=False``;
COBYQA ``status=3`` with ``success=True``; TNC does not catch it, so ``StopIteration``
propagates out of ``minimize``.

Where the intermediate result has no ``nit`` (most scipy methods), the callbacks count
their own calls instead, starting at 1. scipy's Nelder-Mead counts its initial simplex as
an iteration, so there the callback runs ``res.nit - 1`` times; for the other methods it
runs ``res.nit`` times.

A :class:`Recorder` is a sequence, so an empty one is falsy: an optimizer that accepts
these callbacks should test ``callback is None``, not ``if callback``.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TextIO, TypeAlias, overload

import numpy as np
import torch
from scipy.optimize import OptimizeResult
from tqdm import tqdm

from fdopt.errors import ArgumentTypeError, ArgumentValueError

__all__ = ["EarlyStopping", "ProgressBar", "Record", "Recorder"]

Array: TypeAlias = np.ndarray[Any, Any] | torch.Tensor
"""A point or a batch of values: a numpy array or a torch tensor."""


@dataclass(frozen=True)
class _Fields:
    """What a callback was told: the fields of an intermediate result, None when absent."""

    x: Any
    fun: Any
    nit: int | None
    nfev: int | None


def _fields(intermediate_result: Any) -> _Fields:
    """Read ``x``, ``fun``, ``nit`` and ``nfev`` from an intermediate result or a bare point."""
    if isinstance(intermediate_result, (np.ndarray, torch.Tensor, list, tuple)):
        # scipy's ``callback(xk)`` convention (TNC): a point and nothing else.
        return _Fields(intermediate_result, None, None, None)

    def get(name: str) -> Any:
        if isinstance(intermediate_result, Mapping):
            return intermediate_result.get(name)
        return getattr(intermediate_result, name, None)

    x = get("x")
    if x is None:
        raise ArgumentValueError(
            "intermediate_result must be an OptimizeResult with an 'x' field or a point; "
            f"got {type(intermediate_result).__name__} without 'x'"
        )
    nit, nfev = get("nit"), get("nfev")
    return _Fields(
        x,
        get("fun"),
        None if nit is None else int(nit),
        None if nfev is None else int(nfev),
    )


def _copy(value: Any) -> Array:
    """Return a copy of a point: a cloned tensor (same device) or a read-only numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    array = np.array(value, copy=True)
    array.flags.writeable = False
    return array


def _copy_fun(value: Any) -> float | Array | None:
    """Return ``fun`` as a float when it is one number, else a copy of the batch of values."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 and value.dim() == 0 else _copy(value)
    if np.ndim(value) == 0:
        return float(value)
    return _copy(value)


def _scalar_fun(value: Any) -> float:
    """Return ``fun`` as one float: the value itself, or the lowest of a batch (NaN ignored)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.size == 0:
        raise ArgumentValueError("intermediate_result.fun is empty")
    # fmin ignores NaN unless every value is NaN, without numpy's all-NaN warning.
    return float(np.fmin.reduce(array, axis=None))


def _stack(values: Sequence[Any]) -> Array:
    """Stack copies of points (or batches of values) into one array of the same kind."""
    if all(isinstance(value, torch.Tensor) for value in values):
        return torch.stack(list(values))
    return np.stack(
        [
            value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
            for value in values
        ]
    )


def _check_int(value: object, name: str, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise an error naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an int; got {value!r}")
    number = int(value)
    if number < minimum:
        raise ArgumentValueError(f"{name} must be >= {minimum}; got {number}")
    return number


def _check_bool(value: object, name: str) -> bool:
    """Return ``value`` as a bool, or raise an error naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be a bool; got {value!r}")
    return bool(value)


def _check_min_delta(value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"min_delta must be a real number; got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ArgumentValueError(f"min_delta must be finite and >= 0; got {value!r}")
    return number


def _check_mode(value: object) -> Literal["abs", "rel"]:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"mode must be 'abs' or 'rel'; got {value!r}")
    if value == "abs":
        return "abs"
    if value == "rel":
        return "rel"
    raise ArgumentValueError(f"mode must be 'abs' or 'rel'; got {value!r}")


@dataclass(frozen=True, eq=False)
class Record:
    """One call of a :class:`Recorder`: the iterate, its value and the counters.

    Attributes
    ----------
    x : numpy.ndarray or torch.Tensor
        A copy of the point: a read-only numpy array, or a clone of the tensor the
        optimizer gave (same dtype and device).
    fun : float or numpy.ndarray or torch.Tensor or None
        The objective value at ``x`` as a float (a copy of the values for a batch of
        starts), or None when the optimizer did not pass it.
    nit : int
        The iteration number the optimizer reported, or the recorder's own call count
        (starting at 1) when it reported none.
    nfev : int or None
        Function evaluations so far, or None when the optimizer did not report it.
    time : float
        Seconds since the recorder's first call (``time.perf_counter``); 0.0 for the
        first record.
    """

    x: Array
    fun: float | Array | None
    nit: int
    nfev: int | None
    time: float


class Recorder(Sequence[Record]):
    """Record every iterate of a run: a sequence of :class:`Record`.

    Pass it as ``callback=`` to ``scipy.optimize.minimize`` or ``fdopt.minimize``; after
    the run it holds one record per call, in order.

    Attributes
    ----------
    x : numpy.ndarray or torch.Tensor
        The recorded points stacked, shape ``(len(recorder), n)``.
    fun : numpy.ndarray
        The recorded objective values (NaN where unknown), shape ``(len(recorder),)``.
    times : numpy.ndarray
        Seconds since the first call, one per record.

    See Also
    --------
    EarlyStopping, ProgressBar

    Notes
    -----
    Without a reported ``nit`` (most scipy methods), ``Record.nit`` counts the
    recorder's calls from 1 (reset by :meth:`clear`). A recorder used in several runs
    appends to the same records; call :meth:`clear` in between. An empty recorder is
    falsy, like any empty sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> rec = Recorder()
    >>> res = minimize(lambda x: float(np.sum((x - 1.0) ** 2)), np.zeros(2),
    ...                method="BFGS", callback=rec)
    >>> len(rec) == res.nit
    True
    >>> rec.x.shape == (res.nit, 2)
    True
    >>> bool(np.all(np.diff(rec.fun) <= 0))
    True
    >>> rec[-1].fun == float(res.fun)
    True
    """

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._start: float | None = None

    def __call__(self, intermediate_result: OptimizeResult) -> None:
        """Record one iterate.

        Parameters
        ----------
        intermediate_result : scipy.optimize.OptimizeResult
            The optimizer's state: ``x`` (required), ``fun``, ``nit`` and ``nfev`` when
            known. A bare point (scipy's ``callback(xk)`` convention) is recorded with
            ``fun`` None.

        Raises
        ------
        ArgumentValueError
            If ``intermediate_result`` has no ``x``.
        """
        now = time.perf_counter()
        if self._start is None:
            self._start = now
        fields = _fields(intermediate_result)
        self._records.append(
            Record(
                x=_copy(fields.x),
                fun=_copy_fun(fields.fun),
                nit=len(self._records) + 1 if fields.nit is None else fields.nit,
                nfev=fields.nfev,
                time=now - self._start,
            )
        )

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self._records[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._records)} records>)"

    @property
    def x(self) -> Array:
        """The recorded points stacked along a new first axis (numpy or torch, as given)."""
        if not self._records:
            return np.empty((0, 0))
        return _stack([record.x for record in self._records])

    @property
    def fun(self) -> Array:
        """The recorded objective values: a float64 array, NaN where ``fun`` was unknown.

        For batches of values (several starts at once) the batches are stacked, in the
        kind the optimizer gave.
        """
        funs = [record.fun for record in self._records]
        if all(value is None or isinstance(value, float) for value in funs):
            return np.array([math.nan if value is None else value for value in funs])
        if any(value is None for value in funs):
            raise ArgumentValueError(
                "cannot stack the recorded fun: some records have a batch of values and "
                "some have none"
            )
        return _stack(funs)

    @property
    def times(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Seconds since the first call, one per record."""
        return np.array([record.time for record in self._records], dtype=np.float64)

    def clear(self) -> None:
        """Forget every record and restart the clock and the call count."""
        self._records.clear()
        self._start = None


class EarlyStopping:
    """Stop a run when the objective stops improving: raise ``StopIteration``.

    A call improves when its ``fun`` is below the reference value by more than
    ``min_delta`` (``abs`` mode) or ``min_delta * max(1, |reference|)`` (``rel`` mode);
    the reference is the value of the last improving call (the first call always
    improves, unless its value is NaN). After ``patience`` consecutive calls without
    improvement, the call raises ``StopIteration``, which scipy and ``fdopt.minimize``
    treat as a request to stop and return the current iterate.

    Parameters
    ----------
    patience : int, default 10
        Consecutive calls without improvement before stopping; at least 1.
    min_delta : float, default 0.0
        The least decrease that counts as an improvement; finite and >= 0. With 0, any
        strict decrease counts.
    mode : {"abs", "rel"}, default "abs"
        Whether ``min_delta`` is absolute or relative to ``max(1, |reference|)``.

    Attributes
    ----------
    best : float or None
        The lowest ``fun`` seen (NaN ignored), None before the first call.
    wait : int
        Consecutive calls without improvement so far.
    stopped_at : int or None
        The iteration (``nit`` if the optimizer reported it, else this callback's call
        count) at which it first raised ``StopIteration``; None while it has not.

    Raises
    ------
    ArgumentTypeError
        If ``patience`` is not an int, ``min_delta`` not a real number or ``mode`` not a
        string.
    ArgumentValueError
        If ``patience < 1``, ``min_delta`` is negative or not finite, or ``mode`` is not
        ``"abs"`` or ``"rel"``.

    See Also
    --------
    Recorder, ProgressBar

    Notes
    -----
    ``fun`` must be in the intermediate result: every scipy method but TNC passes it
    (TNC calls ``callback(xk)`` and does not catch ``StopIteration``). For a batch of
    values (several starts at once), the lowest value counts.

    With scipy 1.17, a run stopped this way ends with ``success=False``, ``status=99``
    and ``message="`callback` raised `StopIteration`."`` (Nelder-Mead, Powell, CG, BFGS,
    Newton-CG, L-BFGS-B, SLSQP); trust-constr reports ``status=3``, COBYLA
    ``status=30``, COBYQA ``status=3`` with ``success=True``.

    Once stopped, every further call raises again; call :meth:`reset` before reusing
    the callback in another run.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> stop = EarlyStopping(patience=5, min_delta=1e-6)
    >>> res = minimize(lambda x: float(np.sum((x - 1.0) ** 2)), np.zeros(2),
    ...                method="Nelder-Mead", callback=stop)
    >>> res.status, res.success, res.message
    (99, False, '`callback` raised `StopIteration`.')
    >>> stop.stopped_at is not None, bool(res.fun < 1e-6), stop.best == float(res.fun)
    (True, True, True)
    """

    def __init__(
        self,
        patience: int = 10,
        min_delta: float = 0.0,
        mode: Literal["abs", "rel"] = "abs",
    ) -> None:
        self.patience = _check_int(patience, "patience", minimum=1)
        self.min_delta = _check_min_delta(min_delta)
        self.mode = _check_mode(mode)
        self.best: float | None = None
        self.wait = 0
        self.stopped_at: int | None = None
        self._reference: float | None = None
        self._calls = 0

    def __call__(self, intermediate_result: OptimizeResult) -> None:
        """Count one call; raise ``StopIteration`` after ``patience`` without improvement.

        Parameters
        ----------
        intermediate_result : scipy.optimize.OptimizeResult
            The optimizer's state; needs ``fun``. ``nit``, when present, sets
            ``stopped_at``.

        Raises
        ------
        StopIteration
            When the last ``patience`` calls brought no improvement.
        ArgumentValueError
            If ``intermediate_result`` has no ``fun``.
        """
        fields = _fields(intermediate_result)
        if fields.fun is None:
            raise ArgumentValueError(
                "EarlyStopping needs the objective value, but intermediate_result has no "
                "'fun' (scipy's TNC calls callback(xk) with the point only; use another "
                "method)"
            )
        self._calls += 1
        value = _scalar_fun(fields.fun)
        if not math.isnan(value) and (self.best is None or value < self.best):
            self.best = value
        if self._improves(value):
            self._reference = value
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            if self.stopped_at is None:
                self.stopped_at = self._calls if fields.nit is None else fields.nit
            raise StopIteration(
                f"EarlyStopping: no improvement by more than {self.min_delta:g} "
                f"({self.mode}) in {self.wait} calls; best {self.best!r}"
            )

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        reference = self._reference
        if reference is None:
            return True
        if not math.isfinite(reference):
            return value < reference
        delta = self.min_delta
        if self.mode == "rel":
            delta *= max(1.0, abs(reference))
        return value < reference - delta

    def reset(self) -> None:
        """Forget the run: ``best``, ``wait``, ``stopped_at`` and the call count."""
        self.best = None
        self.wait = 0
        self.stopped_at = None
        self._reference = None
        self._calls = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(patience={self.patience}, min_delta={self.min_delta!r}, "
            f"mode={self.mode!r})"
        )


class ProgressBar:
    """A tqdm progress bar that advances once per call and shows the objective.

    The postfix shows the current and the best ``fun`` (``.4g``) and ``nfev`` when the
    optimizer reports them. Use it as a context manager (the bar closes on exit) or call
    :meth:`close` after the run; closing twice is harmless, and a call after closing
    opens a new bar.

    Parameters
    ----------
    total : int or None, default None
        The expected number of calls (e.g. ``maxiter``), or None for a counter without a
        percentage.
    desc : str, default "fdopt"
        The bar's label.
    file : text stream or None, default None
        Where the bar is written; None is ``sys.stderr`` (tqdm's default).
    disable : bool or None, default None
        True hides the bar, False always shows it; None is tqdm's automatic choice,
        which hides it when ``file`` is not a terminal (a log file, a pipe, a
        ``StringIO``).
    leave : bool, default True
        Whether the finished bar stays on screen.

    Attributes
    ----------
    n : int
        Calls counted by the current (or last) bar.

    Raises
    ------
    ArgumentTypeError
        If ``total`` is not an int or None, ``desc`` not a string, ``disable`` not a
        bool or None, or ``leave`` not a bool.
    ArgumentValueError
        If ``total`` is negative.

    See Also
    --------
    Recorder, EarlyStopping

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> out = io.StringIO()
    >>> with ProgressBar(desc="quadratic", file=out, disable=False) as bar:
    ...     res = minimize(lambda x: float(np.sum((x - 1.0) ** 2)), np.zeros(2),
    ...                    method="BFGS", callback=bar)
    >>> bar.n == res.nit
    True
    >>> "quadratic" in out.getvalue() and "best=" in out.getvalue()
    True
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "fdopt",
        file: TextIO | None = None,
        disable: bool | None = None,
        leave: bool = True,
    ) -> None:
        self.total = None if total is None else _check_int(total, "total", minimum=0)
        if not isinstance(desc, str):
            raise ArgumentTypeError(f"desc must be a str; got {desc!r}")
        if file is not None and not callable(getattr(file, "write", None)):
            raise ArgumentTypeError(f"file must be a text stream or None; got {file!r}")
        self.desc = desc
        self.file = file
        self.disable = None if disable is None else _check_bool(disable, "disable")
        self.leave = _check_bool(leave, "leave")
        self._bar: Any = None
        self._best: float | None = None
        self._n = 0

    def _open(self) -> Any:
        if self._bar is None:
            self._best = None
            self._n = 0
            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                file=sys.stderr if self.file is None else self.file,
                disable=self.disable,
                leave=self.leave,
                unit="it",
            )
        return self._bar

    def __call__(self, intermediate_result: OptimizeResult) -> None:
        """Advance the bar by one and show ``fun`` (current and best) and ``nfev``.

        Parameters
        ----------
        intermediate_result : scipy.optimize.OptimizeResult
            The optimizer's state; ``fun`` and ``nfev`` are shown when present. A bare
            point (scipy's ``callback(xk)`` convention) just advances the bar.
        """
        bar = self._open()
        fields = _fields(intermediate_result)
        postfix: dict[str, str] = {}
        if fields.fun is not None:
            current = _scalar_fun(fields.fun)
            if not math.isnan(current) and (self._best is None or current < self._best):
                self._best = current
            postfix["fun"] = f"{current:.4g}"
            postfix["best"] = "nan" if self._best is None else f"{self._best:.4g}"
        if fields.nfev is not None:
            postfix["nfev"] = str(fields.nfev)
        if postfix:
            bar.set_postfix(postfix, refresh=False)
        bar.update(1)
        self._n += 1

    @property
    def n(self) -> int:
        """Calls counted by the current (or last) bar."""
        return self._n

    def close(self) -> None:
        """Close the bar (idempotent); a later call opens a new one."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    def __enter__(self) -> ProgressBar:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(total={self.total!r}, desc={self.desc!r})"
