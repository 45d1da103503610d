"""``EarlyStopping``: end a run that stopped improving."""

from __future__ import annotations

import math
from typing import Literal

from scipy.optimize import OptimizeResult

from fdopt._validate import check_int
from fdopt.callbacks._common import (
    check_min_delta,
    check_mode,
    read_fields,
    scalar_fun,
)
from fdopt.errors import ArgumentValueError

__all__ = ["EarlyStopping"]


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
        self.patience = check_int(patience, "patience", minimum=1)
        self.min_delta = check_min_delta(min_delta)
        self.mode = check_mode(mode)
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
        fields = read_fields(intermediate_result)
        if fields.fun is None:
            raise ArgumentValueError(
                "EarlyStopping needs the objective value, but intermediate_result has no "
                "'fun' (scipy's TNC calls callback(xk) with the point only; use another "
                "method)"
            )
        self._calls += 1
        value = scalar_fun(fields.fun)
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
