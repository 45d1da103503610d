"""A run's record: status codes, progress, history, and the stopping tests."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from fdopt._tensor import Source
from fdopt.settings import StopSettings

__all__ = ["Run", "Status"]


class Status(enum.IntEnum):
    """Why a run ended; ``success`` is true for the convergence tests (0, 1, 2).

    Attributes
    ----------
    GTOL : 0
        The inf-norm of the estimated gradient fell to ``gtol``.
    FTOL : 1
        ``f`` at the iterates varied by at most ``ftol`` (relative) over ``patience``
        iterations.
    XTOL : 2
        The iterate moved by at most ``xtol`` (relative) over ``patience`` iterations.
    MAXITER : 3
        ``maxiter`` iterations done.
    MAXFEV : 4
        The next batch of evaluations would have exceeded ``maxfev``.
    MAX_TIME : 5
        The wall-time limit ``max_time`` passed.
    NONFINITE : 6
        Non-finite values that backtracking could not avoid (or at ``x0``).
    NO_PROGRESS : 7
        No acceptable step: backtracking shrank the step to rounding level.
    ERROR : 8
        The function raised or returned something unusable (the result of the
        ``FunctionError``).
    CALLBACK : 99
        The callback raised ``StopIteration`` (scipy's code for it).
    """

    GTOL = 0
    FTOL = 1
    XTOL = 2
    MAXITER = 3
    MAXFEV = 4
    MAX_TIME = 5
    NONFINITE = 6
    NO_PROGRESS = 7
    ERROR = 8
    CALLBACK = 99

    @property
    def success(self) -> bool:
        """Whether this status is a convergence test met."""
        return self in (Status.GTOL, Status.FTOL, Status.XTOL)


MESSAGES = {
    Status.GTOL: "converged: the gradient's inf-norm is at most gtol",
    Status.FTOL: "converged: f changed by at most ftol over the last patience iterations",
    Status.XTOL: "converged: x moved by at most xtol over the last patience iterations",
    Status.MAXITER: "maxiter iterations reached",
    Status.MAXFEV: "maxfev function evaluations reached",
    Status.MAX_TIME: "max_time seconds elapsed",
    Status.NONFINITE: "the function returned non-finite values that backtracking could not avoid",
    Status.NO_PROGRESS: "no progress",
    Status.ERROR: "the function failed",
    Status.CALLBACK: "`callback` raised `StopIteration`",
}

_COLUMNS = ("nit", "fun", "best", "gnorm", "nfev", "step", "lr")


@dataclass
class Run:
    """The progress of a run; the loop updates it and observers read it.

    Attributes
    ----------
    x : torch.Tensor
        The current iterate.
    fun : float or None
        ``f(x)`` when evaluated (SPSA evaluates it only for monitoring or blocking).
    jac : torch.Tensor or None
        The last gradient estimate, at ``x``.
    best_x, best_fun : torch.Tensor or None, float
        The point with the smallest value evaluated (stencil points included).
    nit, nfev, njev : int
        Iterations done, function evaluations (point by point), gradient estimates.
    status : Status or None
        Set when the run ends.
    detail : str
        Added to the status message (what was non-finite, which error ended it).
    history : dict of lists or None
        Per-iteration ``nit, fun, best, gnorm, nfev, step, lr`` when recorded.
    source, shape : Source, tuple of int
        The kind and shape of the user's ``x0``, to return points in them.
    return_best : bool
        Whether the result is the best point seen (else the last iterate).
    """

    x: torch.Tensor
    source: Source
    shape: tuple[int, ...]
    fun: float | None = None
    jac: torch.Tensor | None = None
    best_x: torch.Tensor | None = None
    best_fun: float = float("inf")
    nit: int = 0
    nfev: int = 0
    njev: int = 0
    status: Status | None = None
    detail: str = ""
    history: dict[str, list[float]] | None = None
    started: float = field(default_factory=time.perf_counter)
    return_best: bool = True
    _f_window: list[float | None] = field(default_factory=list)
    _x_window: list[torch.Tensor] = field(default_factory=list)

    @property
    def message(self) -> str:
        """What ended the run, in words."""
        base = MESSAGES[self.status] if self.status is not None else "running"
        return f"{base}: {self.detail}" if self.detail else base

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.started

    def record(self, *, step: float, lr: float, stop: StopSettings) -> Status | None:
        """Book an accepted iteration and return the convergence test it meets, if any."""
        self.nit += 1
        gnorm = float(self.jac.abs().max()) if self.jac is not None and self.jac.numel() else 0.0
        if self.history is not None:
            row = (self.nit, self.fun, self.best_fun, gnorm, self.nfev, step, lr)
            for name, value in zip(_COLUMNS, row, strict=True):
                self.history[name].append(float("nan") if value is None else float(value))
        window = stop.patience
        self._f_window = [*self._f_window[-window:], self.fun]
        self._x_window = [*self._x_window[-window:], self.x]
        if len(self._x_window) <= window:
            return None
        values = [f for f in self._f_window if f is not None]
        if len(values) == len(self._f_window) and max(values) - min(values) <= stop.ftol * max(
            1.0, abs(values[-1])
        ):
            return Status.FTOL
        moved = float((self._x_window[-1] - self._x_window[0]).abs().max())
        if moved <= stop.xtol * max(1.0, float(self.x.abs().max())):
            return Status.XTOL
        return None

    def start_history(self) -> None:
        """Record per-iteration history from now on."""
        self.history = {name: [] for name in _COLUMNS}

    def out_of_time(self, stop: StopSettings) -> bool:
        """Whether the wall-time limit has passed."""
        return stop.max_time is not None and self.elapsed > stop.max_time

    def end(self, status: Status, detail: str = "") -> None:
        """Mark the run finished."""
        self.status, self.detail = status, detail

    def snapshot(self) -> dict[str, Any]:
        """Return what a checkpoint keeps of the record: tensors and plain values.

        The count and the best point are the evaluator's (see :mod:`fdopt.loop._checkpoint`).
        """
        history = None
        if self.history is not None:  # one tensor: a float each would be pickled slowly
            history = {
                "columns": list(self.history),
                "values": torch.tensor(list(self.history.values()), dtype=torch.float64),
            }
        return {
            "x": self.x,
            "fun": self.fun,
            "jac": self.jac,
            "nit": self.nit,
            "njev": self.njev,
            "status": None if self.status is None else int(self.status),
            "detail": self.detail,
            "history": history,
            "elapsed": self.elapsed,
            "f_window": list(self._f_window),
            # one tensor, not one per iterate: each tensor costs a record in the file
            "x_window": torch.stack(self._x_window) if self._x_window else None,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Take up the record :meth:`snapshot` returned (the clock goes on from its time)."""
        self.x, self.fun, self.jac = saved["x"], saved["fun"], saved["jac"]
        self.nit, self.njev = int(saved["nit"]), int(saved["njev"])
        status = saved["status"]
        self.status = None if status is None else Status(status)
        self.detail = str(saved["detail"])
        history = saved["history"]
        if history is not None:
            values = history["values"].tolist()
            self.history = dict(zip(history["columns"], values, strict=True))
        self.started = time.perf_counter() - float(saved["elapsed"])
        self._f_window = list(saved["f_window"])
        window = saved["x_window"]
        self._x_window = [] if window is None else list(window.unbind(0))

    def as_dict(self) -> dict[str, Any]:
        """Return the record's public fields (for results and checkpoints)."""
        return {
            "x": self.x,
            "fun": self.fun,
            "jac": self.jac,
            "best_x": self.best_x,
            "best_fun": self.best_fun,
            "nit": self.nit,
            "nfev": self.nfev,
            "njev": self.njev,
            "status": self.status,
            "message": self.message,
            "history": self.history,
        }
