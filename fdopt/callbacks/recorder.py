"""``Recorder``: keep what every iteration saw."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from scipy.optimize import OptimizeResult

from fdopt.callbacks._common import (
    Array,
    copy_fun,
    copy_point,
    read_fields,
    stack,
)
from fdopt.errors import ArgumentValueError

__all__ = ["Record", "Recorder"]


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
        fields = read_fields(intermediate_result)
        self._records.append(
            Record(
                x=copy_point(fields.x),
                fun=copy_fun(fields.fun),
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
        return stack([record.x for record in self._records])

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
        return stack(funs)

    @property
    def times(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Seconds since the first call, one per record."""
        return np.array([record.time for record in self._records], dtype=np.float64)

    def clear(self) -> None:
        """Forget every record and restart the clock and the call count."""
        self._records.clear()
        self._start = None
