"""``ProgressBar``: a tqdm bar on stderr, one step per iteration."""

from __future__ import annotations

import math
import sys
from types import TracebackType
from typing import Any, TextIO

from scipy.optimize import OptimizeResult
from tqdm import tqdm

from fdopt._validate import check_int
from fdopt.callbacks._common import (
    check_bool,
    read_fields,
    scalar_fun,
)
from fdopt.errors import ArgumentTypeError

__all__ = ["ProgressBar"]


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
        self.total = None if total is None else check_int(total, "total", minimum=0)
        if not isinstance(desc, str):
            raise ArgumentTypeError(f"desc must be a str; got {desc!r}")
        if file is not None and not callable(getattr(file, "write", None)):
            raise ArgumentTypeError(f"file must be a text stream or None; got {file!r}")
        self.desc = desc
        self.file = file
        self.disable = None if disable is None else check_bool(disable, "disable")
        self.leave = check_bool(leave, "leave")
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
        fields = read_fields(intermediate_result)
        postfix: dict[str, str] = {}
        if fields.fun is not None:
            current = scalar_fun(fields.fun)
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
