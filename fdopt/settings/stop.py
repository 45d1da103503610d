"""Settings of when an optimization stops, and of what its result holds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo, field_validator

from fdopt.settings._base import NonNegativeFloat, PositiveFloat, PositiveInt, Settings

__all__ = ["OutputSettings", "StopSettings"]


class StopSettings(Settings):
    """When a run stops: the first test met ends it.

    Examples
    --------
    >>> StopSettings(maxfev=200).maxiter
    1000
    """

    maxiter: PositiveInt = 1000
    """Most iterations."""
    maxfev: PositiveInt | None = None
    """Hard budget of function evaluations, counted point by point (gradient stencils
    included); never exceeded."""
    gtol: NonNegativeFloat = 1e-6
    """Converged when the inf-norm of the estimated gradient is at most this."""
    ftol: NonNegativeFloat = 1e-12
    """Converged when ``f`` at the iterates varied by at most ``ftol * max(1, |f|)`` over
    the last ``patience`` iterations."""
    xtol: NonNegativeFloat = 1e-12
    """Converged when the iterate moved by at most ``xtol * max(1, |x|_inf)`` (inf-norm)
    over the last ``patience`` iterations."""
    patience: PositiveInt = 10
    """Window, in iterations, of the ``ftol`` and ``xtol`` tests."""
    max_time: PositiveFloat | None = None
    """Wall-clock limit in seconds."""


class OutputSettings(Settings):
    """What a run's result holds, and where its checkpoints go.

    Examples
    --------
    >>> OutputSettings(checkpoint="run.ckpt").checkpoint.name
    'run.ckpt'
    >>> from pydantic import ValidationError
    >>> try:
    ...     OutputSettings(resume=3)
    ... except ValidationError as error:
    ...     print(error.errors()[0]["msg"])
    Value error, resume must be a path (a str or an os.PathLike); got int 3
    """

    return_best: bool = True
    """Return the best point seen (noisy functions); False: the last iterate. The other
    is in the result too (``x_last`` or ``x_best``)."""
    history: bool = False
    """Record per-iteration ``f``, ``|g|_inf``, ``nfev`` and step length."""
    disp: bool = False
    """Print the result's message at the end."""
    checkpoint: Path | None = None
    """Write the run's complete state to this file after every iteration (atomically:
    a temporary file in the same directory, then renamed over it)."""
    resume: Path | None = None
    """Continue the run saved in this checkpoint file; it may be the ``checkpoint`` file
    itself. The method, its settings, the estimator's and the function's settings,
    ``seed``, ``history``, ``x0`` and ``bounds`` must be those it was written with."""

    @field_validator("checkpoint", "resume", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, Path):
            return value
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            # a ValueError: pydantic turns it (not a TypeError) into a ValidationError
            raise ValueError(
                f"{info.field_name} must be a path (a str or an os.PathLike); got "
                f"{type(value).__name__} {value!r}"
            )
        if not value:
            raise ValueError(f"{info.field_name} must be a path; got an empty string")
        return value
