"""The closed loop of the PID problem: batched state-space simulation of a step response.

Each row of a batch of gains ``(Kp, Ki, Kd)`` becomes a closed-loop state-space system;
its step response is exact at the sample times (zero-order hold is exact for a step),
computed from ``exp(M t) - I`` carried by a batched Taylor series so that a batch gives
exactly the values of its rows one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from fdopt.errors import ArgumentTypeError

__all__ = ["ClosedLoop", "Cost", "expm1"]

_LARGEST = 1e150
"""Largest entry of a loop's matrix that its eigenvalues are computed for."""


@dataclass(frozen=True, eq=False)
class ClosedLoop:
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
    ) -> ClosedLoop:
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
        # Entries beyond 1e150 overflow in LAPACK's eigenvalue routine (gains of 1e300:
        # "failed to converge"): such rows count as unstable, as the loops of gains of
        # 1e50 already turn out to be.
        finite = torch.isfinite(gains).all(-1) & (A.abs().amax((-2, -1)) < _LARGEST)
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
        step = expm1(augmented * self.dt)  # D_1
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


def expm1(z: torch.Tensor) -> torch.Tensor:
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
class Cost:
    """ITAE of the step response plus ``weight * max(0, max y - 1)``; inf when unstable."""

    loop: ClosedLoop
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
