"""Settings of when an optimization stops, and of what its result holds."""

from __future__ import annotations

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
    """What a run's result holds."""

    return_best: bool = True
    """Return the best point seen (noisy functions); False: the last iterate. The other
    is in the result too (``x_last`` or ``x_best``)."""
    history: bool = False
    """Record per-iteration ``f``, ``|g|_inf``, ``nfev`` and step length."""
    disp: bool = False
    """Print the result's message at the end."""
