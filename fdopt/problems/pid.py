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
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from fdopt._tensor import as_tensor, is_inexact
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.problems._base import Problem, Vectorized, start

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


@dataclass(frozen=True, eq=False)
class _Loop:
    """The unity-feedback loop of a PID controller around a strictly proper plant.

    The state is ``x = (x_p, x_i, x_f)``: the plant's ``n`` states in controllable
    canonical form (``x_p' = A_p x_p + e_1 u``, ``y = b' x_p``), the integral of the
    error ``x_i' = e`` and the filtered error ``x_f' = (e - x_f) / tau_f``, with
    ``e = r - y`` and ``u = (Kp + Kd / tau_f) e + Ki x_i - (Kd / tau_f) x_f``, which is
    ``C(s) = Kp + Ki / s + Kd s / (tau_f s + 1)``. Only the first row of the closed-loop
    matrix and the first entry of its input column depend on the gains, linearly in
    ``(Kp + Kd / tau_f, Ki, -Kd / tau_f)``: ``A = fixed + e_1 (coefficients @ rows)'``.

    Attributes
    ----------
    tau_f, dt : float
        The derivative filter's time constant and the sampling step.
    steps : int
        The number of steps ``N`` of the horizon: samples at ``j dt``, ``j = 0 .. N``.
    fixed : torch.Tensor
        ``(m, m)``, float64: the closed-loop matrix with all gains zero.
    rows : torch.Tensor
        ``(3, m)``, float64: what each coefficient adds to the first row.
    inputs : torch.Tensor
        ``(m,)``, float64: the reference's input column with all gains zero.
    output : torch.Tensor
        ``(m,)``, float64: ``y = output @ x``.
    """

    tau_f: float
    dt: float
    steps: int
    fixed: torch.Tensor
    rows: torch.Tensor
    inputs: torch.Tensor
    output: torch.Tensor

    @classmethod
    def build(
        cls, num: tuple[float, ...], den: tuple[float, ...], tau_f: float, dt: float, steps: int
    ) -> _Loop:
        """Return the loop of the plant ``num(s) / den(s)`` (strictly proper)."""
        n = len(den) - 1
        m = n + 2
        a = torch.tensor(den[1:], dtype=torch.float64) / den[0]
        b = torch.zeros(n, dtype=torch.float64)
        b[n - len(num) :] = torch.tensor(num, dtype=torch.float64) / den[0]
        fixed = torch.zeros(m, m, dtype=torch.float64)
        fixed[0, :n] = -a
        fixed[1:n, : n - 1] = torch.eye(n - 1, dtype=torch.float64)
        fixed[n, :n] = -b  # x_i' = r - y
        fixed[n + 1, :n] = -b / tau_f  # x_f' = (r - y - x_f) / tau_f
        fixed[n + 1, n + 1] = -1 / tau_f
        rows = torch.zeros(3, m, dtype=torch.float64)
        rows[0, :n] = -b  # (Kp + Kd / tau_f) (r - y)
        rows[1, n] = 1.0  # Ki x_i
        rows[2, n + 1] = 1.0  # -(Kd / tau_f) x_f
        inputs = torch.zeros(m, dtype=torch.float64)
        inputs[n] = 1.0
        inputs[n + 1] = 1 / tau_f
        output = torch.zeros(m, dtype=torch.float64)
        output[:n] = b
        return cls(tau_f, dt, steps, fixed, rows, inputs, output)

    def times(self, like: torch.Tensor) -> torch.Tensor:
        """Return the sample times ``0, dt, ..., steps * dt`` in the dtype of ``like``."""
        index = torch.arange(self.steps + 1, dtype=torch.float64, device=like.device)
        return (index * self.dt).to(like.dtype)

    def system(self, gains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the closed loop ``(A, B, c)`` of a ``(k, 3)`` batch of real gains.

        ``A`` is ``(k, m, m)``, ``B`` is ``(k, m)`` (the reference's input column) and
        ``c`` is ``(m,)`` (the plant output); there is no direct term.
        """

        def cast(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=gains.device, dtype=gains.dtype)

        kp, ki, kd = gains.unbind(-1)
        coefficients = torch.stack([kp + kd / self.tau_f, ki, -kd / self.tau_f], dim=-1)
        first = torch.zeros_like(cast(self.inputs))
        first[0] = 1.0
        A = cast(self.fixed) + first[:, None] * (coefficients @ cast(self.rows))[:, None, :]
        B = cast(self.inputs) + coefficients[:, :1] * first
        return A, B, cast(self.output)

    def simulate(self, gains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the step responses ``(k, steps + 1)`` and which rows are stable ``(k,)``.

        A row is stable when its gains are finite and every eigenvalue of its ``A`` has
        a negative real part. The other rows are simulated as a stand-in stable system
        (``A = -I``, ``B = 0``), so that their values and gradients stay finite; the
        caller replaces their cost.
        """
        A, B, c = self.system(gains)
        finite = torch.isfinite(gains).all(-1)
        with torch.no_grad():
            poles = torch.linalg.eigvals(torch.where(finite[:, None, None], A, 0.0))
            stable = finite & (poles.real < 0).all(-1)
        eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
        A = torch.where(stable[:, None, None], A, -eye)
        B = torch.where(stable[:, None], B, 0.0)
        return self.response(A, B, c), stable

    def response(self, A: torch.Tensor, B: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Return the ``(k, steps + 1)`` unit-step responses of the systems ``(A, B, c)``.

        With ``M = [[A, B], [0, 0]]`` (the state and the held input), the samples are
        ``y_j = [c, 0] exp(M j dt) e`` (``e`` the last unit vector): zero-order hold is
        exact for a step. Everything is carried as ``D_j = exp(M j dt) - I``, which keeps
        its relative accuracy when ``dt`` is small (``exp(M dt)`` itself is ``I`` plus a
        small matrix, and its powers would lose digits in proportion to ``1 / dt``).

        With ``j = a S + b`` (``0 <= b < S``), ``y_j = (o + r_a) . v_b + r_a[-1]``, where
        ``o = [c, 0]``, ``r_a = o D_aS`` and ``v_b = D_b e``; both sequences come by
        doubling, since ``D_(i + s) = D_i + D_s + D_i D_s``, and one batched product
        gives all the samples.
        """
        k, m = B.shape
        augmented = torch.cat([torch.cat([A, B[:, :, None]], dim=2), A.new_zeros(k, 1, m + 1)], 1)
        step = _expm1(augmented * self.dt)  # D_1
        total = self.steps + 1
        size = 1 << max(0, math.ceil(math.log2(total) / 2))  # S, about sqrt(total)
        # v_b = D_b e for b < S: v_(b + s) = v_b + D_s (e + v_b).
        last = torch.zeros(m + 1, dtype=A.dtype, device=A.device)
        last[m] = 1.0
        columns = A.new_zeros(k, 1, m + 1)
        while columns.shape[1] < size:
            columns = torch.cat([columns, columns + (last + columns) @ step.mT], dim=1)
            step = 2 * step + step @ step
        # step is now D_S; r_a = o D_aS for a < ceil(total / S): r_(a + s) = r_a + (o + r_a) D_sS.
        output = torch.cat([c, c.new_zeros(1)])
        blocks = -(-total // size)
        rows = A.new_zeros(k, 1, m + 1)
        while rows.shape[1] < blocks:
            rows = torch.cat([rows, rows + (output + rows) @ step], dim=1)
            if rows.shape[1] < blocks:
                step = 2 * step + step @ step
        rows = rows[:, :blocks]
        samples = (output + rows) @ columns.mT + rows[:, :, m : m + 1]  # (k, a, b)
        return samples.reshape(k, -1)[:, :total]


def _expm1(z: torch.Tensor) -> torch.Tensor:
    """Return ``exp(z) - I`` of a ``(k, m, m)`` batch, accurate relative to its own size.

    Scaling and squaring on ``exp(z) - I`` itself: each matrix is divided by ``2**s``
    (its own ``s``, so that its 1-norm is at most 1/2), the Taylor series of
    ``exp(w) - I`` is summed to degree 16 (the remainder is below 1e-19 relative), and
    ``E(2w) = 2 E(w) + E(w)**2`` undoes the scaling. Each matrix's result depends on that
    matrix only, not on the rest of the batch.
    """
    with torch.no_grad():
        norm = torch.linalg.matrix_norm(z, ord=1)
        scale = torch.ceil(torch.log2(norm / 0.5)).clamp(min=0).nan_to_num(0.0)
    w = z / torch.exp2(scale)[:, None, None]
    eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
    series = eye + w / 16
    for degree in range(15, 1, -1):
        series = eye + (w @ series) / degree
    result = w @ series
    for level in range(int(scale.max()) if scale.numel() else 0):
        squared = 2 * result + result @ result
        result = torch.where((level < scale)[:, None, None], squared, result)
    return result


@dataclass(frozen=True)
class _Cost:
    """ITAE of the step response plus ``weight * max(0, max y - 1)``; inf when unstable."""

    loop: _Loop
    overshoot_weight: float

    def __call__(self, gains: torch.Tensor) -> torch.Tensor:
        if gains.is_complex():
            raise ArgumentTypeError(
                "the pid problem takes real gains only: |e| and max y are not analytic, "
                "so complex steps cannot differentiate it"
            )
        y, stable = self.loop.simulate(gains)
        t = self.loop.times(gains)
        weighted = t * (1 - y).abs()
        # The trapezoid rule (t_0 = 0, so only the last sample needs its half weight).
        itae = self.loop.dt * (weighted.sum(-1) - weighted[:, -1] / 2)
        overshoot = (y.amax(-1) - 1).clamp(min=0)
        cost = itae + self.overshoot_weight * overshoot
        finite = torch.isfinite(gains).all(-1)
        cost = torch.where(stable, cost, torch.full_like(cost, math.inf))
        return torch.where(finite, cost, torch.full_like(cost, math.nan))


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


def _loop(num: object, den: object, tau_f: object, horizon: object, dt: object) -> _Loop:
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
    return _Loop.build(numerator, denominator, tau, step, steps)


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
        fun=Vectorized(_Cost(loop, weight), 3),
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
