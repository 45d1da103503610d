"""PID tuning: the gains of a PID controller in a simulated unity-feedback loop.

The loop is the classic example of Octave's control package (``optiPID``): the plant
``G(s) = 1 / ((s**2 + s + 1) (s + 1)**4)`` under a PID controller with a filtered
derivative, driven by a unit step of the reference. The objective of gains
``(Kp, Ki, Kd)`` is the ITAE of the step response plus a penalty on overshoot, and it is
infinite for gains that make the loop unstable. A batch of gain sets is simulated at
once: each row becomes a closed-loop state-space system, discretized exactly (zero-order
hold is exact for a step) with a batched matrix exponential.

References
----------
L. Reichlin, ``optiPID`` and ``optiPIDfun``: numerical optimization of a PID controller,
examples of the Octave control package, 2009; after L. Guzzella, *Analysis and
Synthesis of SISO Control Systems*, vdf Hochschulverlag, Zürich, 2007.

K. J. Åström and T. Hägglund, *PID Controllers: Theory, Design, and Tuning*, 2nd ed.,
Instrument Society of America, 1995 (the PID forms, filtered derivative, ITAE and the
step-response measures).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from fdopt._tensor import as_tensor, is_inexact
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.problems._base import Problem, Vectorized, start
from fdopt.problems._closed_loop import ClosedLoop, Cost

__all__ = [
    "PLANT_DEN",
    "PLANT_NUM",
    "StepMetrics",
    "metrics",
    "pid",
    "step_response",
]

PLANT_NUM: tuple[float, ...] = (1.0,)
"""Numerator of the default plant, highest power first."""

PLANT_DEN: tuple[float, ...] = (1.0, 5.0, 11.0, 14.0, 11.0, 5.0, 1.0)
"""Denominator of the default plant, ``(s**2 + s + 1) (s + 1)**4``, highest power first."""

_START = (0.5, 0.1, 0.5)
_BOUNDS = ((1e-3, 4.0), (1e-3, 2.0), (1e-3, 4.0))
_SETTLING_BAND = 0.02


def _coefficients(value: object, name: str) -> tuple[float, ...]:
    """Return polynomial coefficients without leading zeros, or raise naming ``name``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ArgumentTypeError(
            f"{name} must be a sequence of real coefficients, highest power first; got {value!r}"
        )
    coefficients = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise ArgumentTypeError(f"{name} must hold real numbers; got {value!r}")
        coefficients.append(float(item))
    if not all(math.isfinite(v) for v in coefficients):
        raise ArgumentValueError(f"{name} must hold finite numbers; got {value!r}")
    while coefficients and coefficients[0] == 0:
        coefficients.pop(0)
    if not coefficients:
        raise ArgumentValueError(f"{name} must have a nonzero coefficient; got {value!r}")
    return tuple(coefficients)


def _real(value: object, name: str, *, positive: bool) -> float:
    """Return ``value`` as a finite float (``> 0`` or ``>= 0``), or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number; got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and (number > 0 if positive else number >= 0)):
        raise ArgumentValueError(
            f"{name} must be finite and {'> 0' if positive else '>= 0'}; got {value!r}"
        )
    return number


def _plant(num: object, den: object) -> tuple[tuple[float, ...], tuple[float, ...]]:
    numerator = _coefficients(num, "num")
    denominator = _coefficients(den, "den")
    if len(numerator) >= len(denominator):
        raise ArgumentValueError(
            "the plant must be strictly proper (den of higher degree than num); got num of "
            f"degree {len(numerator) - 1} and den of degree {len(denominator) - 1}"
        )
    return numerator, denominator


def _loop(num: object, den: object, tau_f: object, horizon: object, dt: object) -> ClosedLoop:
    """Validate the options of the loop and build it."""
    numerator, denominator = _plant(num, den)
    tau = _real(tau_f, "tau_f", positive=True)
    step = _real(dt, "dt", positive=True)
    length = _real(horizon, "horizon", positive=True)
    steps = round(length / step)
    if steps < 1 or abs(steps * step - length) > 1e-9 * length:
        raise ArgumentValueError(
            f"horizon must be a whole number of steps dt; got horizon={horizon!r}, dt={dt!r}"
        )
    return ClosedLoop.build(numerator, denominator, tau, step, steps)


def pid(
    *,
    num: Sequence[float] = PLANT_NUM,
    den: Sequence[float] = PLANT_DEN,
    tau_f: float = 0.05,
    horizon: float = 40.0,
    dt: float = 0.01,
    overshoot_weight: float = 10.0,
) -> Problem:
    """Return the tuning of PID gains ``(Kp, Ki, Kd)`` against a simulated step response.

    The controller ``C(s) = Kp + Ki / s + Kd s / (tau_f s + 1)`` drives the plant
    ``G(s) = num(s) / den(s)`` (by default ``1 / ((s**2 + s + 1) (s + 1)**4)``, the
    plant of Octave's ``optiPID`` example) in a unity-feedback loop; the reference is a
    unit step at ``t = 0``. The objective is

    ``f(Kp, Ki, Kd) = int_0^T t |1 - y(t)| dt + w max(0, max_t y(t) - 1)``,

    the ITAE (integral of time times absolute error) of the output ``y`` over the
    horizon ``T``, by the trapezoid rule on the samples ``t_j = j dt``, plus
    ``w = overshoot_weight`` times the overshoot. Gains that make the loop unstable (a
    closed-loop pole with real part ``>= 0``) give ``+inf``: fdopt's optimizers reject
    such a point and shorten the step.

    Each row of a ``(k, 3)`` batch becomes a closed-loop state-space system ``(A, b, c)``
    (the plant in controllable canonical form, the integrator and the derivative
    filter); the stability test uses the eigenvalues of ``A``. With the augmented matrix
    ``M = [[A, b], [0, 0]]``, ``y(t_j) = [c, 0] exp(M j dt) e_last`` exactly (zero-order
    hold is exact for a step): ``exp(M dt) - I`` comes from a batched scaled Taylor
    series, and its powers, kept as ``exp(M j dt) - I`` so that a small ``dt`` costs no
    digits, from ``log2(T / dt)`` batched doublings. The samples agree with
    python-control's ``step_response`` to about ``1e-13``. The computation runs in the
    input's dtype and on its device, keeps the autograd graph, and a batch gives the
    values its rows give one at a time.

    ``x0 = (0.5, 0.1, 0.5)``, a cautious controller with little integral action (stable,
    slow to settle); bounds ``Kp in [1e-3, 4]``, ``Ki in [1e-3, 2]``, ``Kd in [1e-3, 4]``,
    which hold the default plant's whole stable region and unstable gains around it;
    ``f*`` unknown. For another plant, pass bounds that suit it to the optimizer. Real
    input only.

    Parameters
    ----------
    num, den : sequence of float
        The plant's numerator and denominator coefficients, highest power first; the
        plant must be strictly proper (``len(num) < len(den)`` without leading zeros).
    tau_f : float, default 0.05
        Time constant of the derivative filter, ``> 0``.
    horizon : float, default 40.0
        The simulated time ``T``, a whole number of steps ``dt``.
    dt : float, default 0.01
        The sampling step, ``> 0``.
    overshoot_weight : float, default 10.0
        The weight ``w`` of the overshoot penalty, ``>= 0``.

    Returns
    -------
    Problem
        The problem, in 3 variables, with bounds and without residuals.

    Raises
    ------
    ArgumentValueError
        For a plant that is not strictly proper or has non-finite coefficients, a
        ``tau_f``, ``dt`` or ``horizon`` that is not positive and finite, a horizon that
        is not a whole number of steps, or a negative ``overshoot_weight``.
    ArgumentTypeError
        For an option of the wrong type.

    See Also
    --------
    step_response : the output of the loop for given gains, to plot or measure.
    metrics : rise time, overshoot and settling time of a step response.

    References
    ----------
    L. Reichlin, ``optiPID``, example of the Octave control package, 2009; after
    L. Guzzella, *Analysis and Synthesis of SISO Control Systems*, vdf, Zürich, 2007.

    K. J. Åström and T. Hägglund, *PID Controllers: Theory, Design, and Tuning*, 2nd ed.,
    ISA, 1995 (the filtered derivative; ITAE).

    Examples
    --------
    >>> import math
    >>> from fdopt.problems import get_problem
    >>> problem = get_problem("pid")
    >>> round(problem.fun(problem.x0), 3)
    88.796
    >>> round(problem.fun([0.7, 0.24, 0.8]), 3)
    12.31
    >>> math.isinf(problem.fun([3.0, 1.0, 0.1]))  # too much gain: unstable
    True
    """
    numerator, denominator = _plant(num, den)
    loop = _loop(numerator, denominator, tau_f, horizon, dt)
    weight = _real(overshoot_weight, "overshoot_weight", positive=False)
    if (numerator, denominator) == (PLANT_NUM, PLANT_DEN):
        plant = "1/((s^2+s+1)(s+1)^4)"
    else:
        plant = f"a plant of order {len(denominator) - 1}"
    return Problem(
        name="pid",
        fun=Vectorized(Cost(loop, weight), 3),
        x0=start(_START),
        f_star=None,
        bounds=_BOUNDS,
        description=f"PID gains for {plant}: ITAE of the step response + overshoot penalty",
    )


def step_response(
    gains: Any,
    *,
    num: Sequence[float] = PLANT_NUM,
    den: Sequence[float] = PLANT_DEN,
    tau_f: float = 0.05,
    horizon: float = 40.0,
    dt: float = 0.01,
) -> tuple[Any, Any]:
    """Return the unit-step response of the closed loop of :func:`pid` for given gains.

    Parameters
    ----------
    gains : array-like or torch.Tensor
        ``(Kp, Ki, Kd)``, shape ``(3,)``, or a batch ``(k, 3)``.
    num, den, tau_f, horizon, dt
        The loop, as in :func:`pid`.

    Returns
    -------
    t : numpy.ndarray or torch.Tensor
        The sample times ``0, dt, ..., horizon``, shape ``(N + 1,)``.
    y : numpy.ndarray or torch.Tensor
        The plant output at those times, ``(N + 1,)``, or ``(k, N + 1)`` for a batch.
        Both are numpy float64 arrays for numpy or array-like gains, and tensors on the
        gains' device for tensor gains. The output of an unstable loop is simulated as
        it is: it grows.

    Raises
    ------
    ArgumentValueError
        If ``gains`` is not ``(3,)`` or ``(k, 3)``, or for a bad option.
    ArgumentTypeError
        If ``gains`` does not hold real numbers, or for an option of the wrong type.

    Examples
    --------
    >>> t, y = step_response([0.5, 0.1, 0.5], horizon=20.0, dt=0.1)
    >>> t.shape, y.shape, float(y[0]), round(float(y[-1]), 4)
    ((201,), (201,), 0.0, 0.8661)
    """
    loop = _loop(num, den, tau_f, horizon, dt)
    tensor, source = as_tensor(gains, name="gains")
    if tensor.ndim not in (1, 2) or tensor.shape[-1] != 3:
        raise ArgumentValueError(f"gains must have shape (3,) or (k, 3); got {tuple(tensor.shape)}")
    if tensor.is_complex():
        raise ArgumentTypeError("gains must be real; got complex numbers")
    if source.numpy or not is_inexact(tensor.dtype):
        tensor = tensor.to(torch.float64)
    batch = tensor.reshape(-1, 3)
    y = loop.response(*loop.system(batch))
    return source.wrap(loop.times(batch)), source.wrap(y[0] if tensor.ndim == 1 else y)


class StepMetrics(NamedTuple):
    """Measures of a step response (:func:`metrics`)."""

    rise_time: float
    """Time from 10 % to 90 % of the reference; inf if 90 % is never reached."""
    overshoot: float
    """The peak above the reference, in percent of the reference; 0 when there is none."""
    settling_time: float
    """The time after which the response stays within 2 % of the reference; inf if it
    has not settled by the last sample."""


def metrics(t: Any, y: Any, *, reference: float = 1.0) -> StepMetrics:
    """Return the rise time (10-90 %), overshoot (%) and settling time (2 %) of a response.

    Crossing times are interpolated linearly between samples: the rise time is the time
    ``y`` first reaches 90 % of ``reference`` less the time it first reaches 10 %; the
    overshoot is ``100 max(0, max y / reference - 1)``; the settling time is when ``y``
    last enters the band ``|y - reference| <= 0.02 |reference|``, never to leave it.

    Parameters
    ----------
    t, y : array-like or torch.Tensor
        Sample times (increasing) and the response, 1-D and of the same length, as
        :func:`step_response` returns them.
    reference : float, default 1.0
        The final value the response should reach (the set point), nonzero.

    Returns
    -------
    StepMetrics
        ``(rise_time, overshoot, settling_time)`` as floats; ``inf`` for a time the
        response does not reach within the samples.

    Raises
    ------
    ArgumentValueError
        If ``t`` and ``y`` are not 1-D of the same length (at least 2), or
        ``reference`` is zero or not finite.
    ArgumentTypeError
        If ``t`` or ``y`` does not hold real numbers, or ``reference`` is not a real
        number.

    References
    ----------
    K. J. Åström and T. Hägglund, *PID Controllers: Theory, Design, and Tuning*, 2nd ed.,
    ISA, 1995, section 4.2 (specifications of the step response).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0.0, 10.0, 1001)
    >>> m = metrics(t, 1 - np.exp(-t))  # first order, time constant 1
    >>> round(m.rise_time, 3), m.overshoot, round(m.settling_time, 3)
    (2.197, 0.0, 3.912)
    """
    times = _samples(t, "t")
    values = _samples(y, "y")
    if times.shape != values.shape or times.shape[0] < 2:
        raise ArgumentValueError(
            f"t and y must be 1-D of the same length >= 2; got shapes {times.shape} and "
            f"{values.shape}"
        )
    if isinstance(reference, bool) or not isinstance(reference, numbers.Real):
        raise ArgumentTypeError(f"reference must be a real number; got {reference!r}")
    if not (math.isfinite(reference) and reference != 0):
        raise ArgumentValueError(f"reference must be finite and nonzero; got {reference!r}")
    scaled = values / float(reference)
    reached = _first_reach(times, scaled, 0.9)  # never before 10 % is reached
    rise = reached - _first_reach(times, scaled, 0.1) if math.isfinite(reached) else math.inf
    overshoot = 100.0 * max(0.0, float(scaled.max()) - 1.0)
    outside = ~(np.abs(scaled - 1) <= _SETTLING_BAND)  # NaN counts as outside
    if outside[-1]:
        settling = math.inf
    elif not outside.any():
        settling = float(times[0])
    else:
        last = int(np.flatnonzero(outside)[-1])
        edge = 1 + _SETTLING_BAND if scaled[last] > 1 else 1 - _SETTLING_BAND
        settling = _crossing(times, scaled, last, edge)
    return StepMetrics(rise, overshoot, settling)


def _samples(value: Any, name: str) -> npt.NDArray[np.float64]:
    tensor, _ = as_tensor(value, name=name)
    if tensor.is_complex():
        raise ArgumentTypeError(f"{name} must hold real numbers; got complex numbers")
    array: npt.NDArray[np.float64] = tensor.detach().cpu().to(torch.float64).numpy()
    if array.ndim != 1:
        raise ArgumentValueError(f"{name} must be 1-D; got shape {array.shape}")
    return array


def _first_reach(t: npt.NDArray[np.float64], y: npt.NDArray[np.float64], level: float) -> float:
    """Return the first time ``y`` reaches ``level`` (interpolated); inf if it never does."""
    reached = np.flatnonzero(y >= level)
    if reached.size == 0:
        return math.inf
    j = int(reached[0])
    return float(t[0]) if j == 0 else _crossing(t, y, j - 1, level)


def _crossing(
    t: npt.NDArray[np.float64], y: npt.NDArray[np.float64], j: int, level: float
) -> float:
    """Return the time the line through samples ``j`` and ``j + 1`` crosses ``level``."""
    fraction = (level - y[j]) / (y[j + 1] - y[j])
    return float(t[j] + fraction * (t[j + 1] - t[j]))
