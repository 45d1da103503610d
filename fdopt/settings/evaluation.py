"""Settings of how the user's function is called (:mod:`fdopt.evaluation`)."""

from __future__ import annotations

from typing import Literal

from fdopt.settings._base import NonNegativeFloat, PositiveInt, Settings

__all__ = ["EvaluationSettings", "FunctionSettings"]


class EvaluationSettings(Settings):
    """How the user's function is called (see :mod:`fdopt.evaluation`).

    ``workers`` here is the number of worker processes; the Python API also accepts a
    map-like callable or a ``concurrent.futures.Executor`` directly.
    """

    vectorized: bool = False
    """The function takes a ``(k, n)`` batch of points and returns ``(k,)`` or ``(k, m)``."""

    batch_size: PositiveInt | None = None
    """Most points per call of a vectorized function; None: whole batches on a GPU,
    cache-sized chunks on a CPU (small stencils are always one call)."""

    maxfev: PositiveInt | None = None
    """Hard budget of function evaluations, counted point by point."""

    workers: PositiveInt | None = None
    """Evaluate points in a pool of this many processes."""


class FunctionSettings(Settings):
    """What is known about the function being minimized."""

    noise: Literal["auto"] | NonNegativeFloat | None = "auto"
    """Its noise level relative to ``max(1, |f(x0)|)``. "auto": estimated at ``x0`` by
    Moré & Wild's ECnoise (about 8 evaluations); where noise shows, finite-difference
    steps grow to balance it and steps may raise ``f`` by twice the noise. None or 0:
    noise-free (steps balance rounding error)."""
