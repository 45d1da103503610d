"""Settings of how the user's function is called (:mod:`fdopt.evaluation`)."""

from __future__ import annotations

from fdopt.settings._base import PositiveInt, Settings

__all__ = ["EvaluationSettings"]


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
