"""Settings of how the user's function is called (:mod:`fdopt.evaluation`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from fdopt.settings._base import NonNegativeFloat, PositiveInt, Settings

__all__ = ["EvaluationSettings", "FunctionSettings"]

_DEVICE = re.compile(r"cpu|cuda(:[0-9]+)?|mps")


class EvaluationSettings(Settings):
    """How the user's function is called (see :mod:`fdopt.evaluation`).

    ``workers`` here is the number of worker processes; the Python API also accepts a
    map-like callable or a ``concurrent.futures.Executor`` directly. ``device`` and
    ``dtype`` say where and in which precision a run config's points live (the Python
    API takes them from ``x0``: a tensor on a device gives points on that device). The
    evaluation budget is ``StopSettings.maxfev``.

    Examples
    --------
    >>> EvaluationSettings(device="cuda:0", dtype="float32").device
    'cuda:0'
    >>> from pydantic import ValidationError
    >>> try:
    ...     EvaluationSettings(device="gpu")
    ... except ValidationError as error:
    ...     print(error.errors()[0]["msg"])
    Value error, device must be "cpu", "cuda", "cuda:N" (N = 0, 1, ...) or "mps"
    """

    vectorized: bool = False
    """The function takes a ``(k, n)`` batch of points and returns ``(k,)`` or ``(k, m)``."""

    batch_size: PositiveInt | None = None
    """Most points per call of a vectorized function; None: whole batches on a GPU,
    cache-sized chunks on a CPU (small stencils are always one call)."""

    workers: PositiveInt | None = None
    """Evaluate points in a pool of this many processes."""

    device: str | None = None
    """Where the points live: "cpu", "cuda", "cuda:N" or "mps" (the function then gets
    torch tensors on that device); None: numpy points, or the device of a tensor ``x0``."""

    dtype: Literal["float64", "float32"] | None = None
    """Precision of the points; None: float64 (or the dtype of a tensor ``x0``). Setting
    it alone gives torch tensors on the CPU."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str | None) -> str | None:
        if value is not None and _DEVICE.fullmatch(value) is None:
            raise ValueError('device must be "cpu", "cuda", "cuda:N" (N = 0, 1, ...) or "mps"')
        return value


class FunctionSettings(Settings):
    """What is known about the function being minimized."""

    noise: Literal["auto"] | NonNegativeFloat | None = "auto"
    """Its noise level relative to ``max(1, |f(x0)|)``. "auto": estimated at ``x0`` by
    Moré & Wild's ECnoise (about 8 evaluations); where noise shows, the default gradient
    takes a step per coordinate balancing the noise against the coordinate's curvature
    (about ``2 n`` to ``3 n`` more evaluations): forward differences for the first-order
    methods, central ones for L-BFGS; steps may raise ``f`` by twice the noise, and
    both are measured again where the descent stalls, and where ``|f|`` has fallen
    tenfold (the first-order methods measure only the noise there, momentum and
    nesterov the curvature too: they follow ``-D g``, ``D`` the inverse curvatures).
    A number: that level, relative to ``max(1, |f|)`` wherever the noise would be
    measured, except on a stall and, for L-BFGS, where ``|f|`` has fallen: there
    ECnoise measures it. None or 0: noise-free (steps balance rounding error)."""
