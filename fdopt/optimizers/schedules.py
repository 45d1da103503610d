"""Step-size schedules: the factor applied to ``lr`` at iteration ``k``, for any rule.

References
----------
.. [1] I. Loshchilov and F. Hutter, "SGDR: stochastic gradient descent with warm
   restarts", ICLR 2017 (cosine annealing).
.. [2] J. C. Spall, "Implementation of the simultaneous perturbation algorithm for
   stochastic optimization", IEEE Trans. Aerospace and Electronic Systems 34(3), 1998.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from fdopt.settings import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    InverseTimeSchedule,
    Schedule,
    SpsaOptimizerSettings,
    StepSchedule,
)

__all__ = ["schedule", "spsa_gains"]


def schedule(settings: Schedule) -> Callable[[int], float]:
    """Return ``factor(k)``, the multiplier of ``lr`` at iteration ``k = 0, 1, ...``.

    Every schedule starts at ``factor(0) == 1``.

    Examples
    --------
    >>> factor = schedule(StepSchedule(step_size=2, gamma=0.5))
    >>> [factor(k) for k in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    >>> schedule(CosineSchedule(period=10))(10)
    0.0
    """
    if isinstance(settings, ConstantSchedule):
        return lambda k: 1.0
    if isinstance(settings, ExponentialSchedule):
        gamma = settings.gamma
        return lambda k: float(gamma**k)
    if isinstance(settings, InverseTimeSchedule):
        decay, power = settings.decay, settings.power
        return lambda k: float((1.0 + decay * k) ** -power)
    if isinstance(settings, CosineSchedule):
        period, floor = settings.period, settings.min_factor

        def cosine(k: int) -> float:
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(k, period) / period))

        return cosine
    if isinstance(settings, StepSchedule):
        size, gamma = settings.step_size, settings.gamma
        return lambda k: float(gamma ** (k // size))
    raise TypeError(f"unknown schedule settings {type(settings).__name__}")


def spsa_gains(
    settings: SpsaOptimizerSettings, k: int, *, a: float, stability: float
) -> tuple[float, float]:
    """Spall's gain sequences [2]_ at iteration ``k``: ``(a_k, c_k)``.

    ``a_k = a / (A + k + 1)**alpha`` and ``c_k = c / (k + 1)**gamma`` with ``A`` =
    ``stability``; ``c`` is relative (the caller scales it by the problem's scale).

    Examples
    --------
    >>> a_k, c_k = spsa_gains(SpsaOptimizerSettings(c=0.2), 0, a=1.0, stability=0.0)
    >>> a_k, c_k
    (1.0, 0.2)
    """
    a_k = a / (stability + k + 1) ** settings.alpha
    c_k = settings.c / (k + 1) ** settings.gamma
    return a_k, c_k
