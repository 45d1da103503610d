"""Tune a PID controller with fdopt, starting from Ziegler-Nichols, and compare the two.

What it shows: the ``pid`` problem of :mod:`fdopt.problems` (the plant of Octave's
``optiPID`` example, ``G(s) = 1 / ((s**2 + s + 1) (s + 1)**4)``, under a PID controller
with a filtered derivative in a unity-feedback loop) tuned by ``fdopt.minimize``. The
objective, the ITAE of the closed-loop step response plus a penalty on overshoot, is
simulated in torch for a whole batch of gain sets at once, so the run passes
``vectorized=True`` and each gradient estimate is one call. Unstable gains cost
``+inf``; the optimizer rejects such a step and tries a shorter one.

The start is the classic Ziegler-Nichols setting (Ziegler & Nichols 1942; Åström &
Hägglund 1995, section 4.3), computed here from the plant's ultimate gain ``Ku`` and
period ``Tu``: the phase crossover frequency ``w_u``, where the plant's phase is
``-180`` degrees, is the smallest positive root of ``Im G(jw) = 0`` with ``Re G(jw) <
0`` (a polynomial root, from ``G(jw) ~ num(jw) den(-jw)``); a proportional controller
of gain ``Ku = 1 / |G(j w_u)|`` puts closed-loop poles at ``+-j w_u``, and the loop
oscillates with period ``Tu = 2 pi / w_u``. The Ziegler-Nichols PID is then ``Kp = 0.6
Ku``, ``Ti = Tu / 2``, ``Td = Tu / 8``, that is ``Ki = Kp / Ti`` and ``Kd = Kp Td``.

It prints both controllers' gains, cost and step-response measures (rise time 10-90 %,
overshoot, 2 % settling time), and checks that the tuned loop is stable (the roots of
its characteristic polynomial, computed with numpy) and beats Ziegler-Nichols on the
cost: exit status 0 if so, 1 otherwise.

Run::

    python examples/pid_tuning.py [--method adam] [--maxfev 300] [--plot steps.png] [--threads 1]

``--plot`` (needs matplotlib) saves both step responses.

References
----------
J. G. Ziegler and N. B. Nichols, "Optimum settings for automatic controllers",
Transactions of the ASME 64, 759-768, 1942.

K. J. Åström and T. Hägglund, *PID Controllers: Theory, Design, and Tuning*, 2nd ed.,
Instrument Society of America, 1995.

L. Reichlin, ``optiPID``, example of the Octave control package, 2009.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import numpy as np
import torch

import fdopt
from fdopt.problems import get_problem
from fdopt.problems.pid import PLANT_DEN, PLANT_NUM, StepMetrics, metrics, step_response

TAU_F = 0.05  # the derivative filter of the problem's default loop


def ultimate_gain_and_period(num: Sequence[float], den: Sequence[float]) -> tuple[float, float]:
    """Return ``(Ku, Tu)`` of the plant ``num(s) / den(s)`` from its phase crossover.

    ``G(jw)`` has the phase of ``P(jw) = num(jw) den(-jw)``; ``Im P(jw)`` is a real
    polynomial in ``w`` (the odd powers of ``P``), and the phase crossover ``w_u`` is its
    smallest positive root where ``Re G(jw_u) < 0``.
    """
    numerator = np.asarray(num, dtype=float)
    degree = len(den) - 1
    den_minus_s = np.asarray(den, dtype=float) * (-1.0) ** np.arange(degree, -1, -1)
    product = np.polymul(numerator, den_minus_s)
    powers = np.arange(len(product) - 1, -1, -1)
    imaginary = product * np.array([(0, 1, 0, -1)[p % 4] for p in powers])  # Im j**p
    candidates = sorted(
        root.real for root in np.roots(imaginary) if abs(root.imag) < 1e-9 and root.real > 1e-12
    )
    for w in candidates:
        g = np.polyval(numerator, 1j * w) / np.polyval(den, 1j * w)
        if g.real < 0:
            return 1.0 / abs(g), 2.0 * math.pi / w
    raise ValueError("the plant's phase never reaches -180 degrees: no ultimate gain")


def ziegler_nichols(ku: float, tu: float) -> np.ndarray:
    """Return the classic Ziegler-Nichols PID gains ``(Kp, Ki, Kd)``."""
    kp, ti, td = 0.6 * ku, tu / 2.0, tu / 8.0
    return np.array([kp, kp / ti, kp * td])


def closed_loop_poles(gains: np.ndarray) -> np.ndarray:
    """Return the roots of ``s (tau s + 1) den(s) + (C's numerator) num(s)``.

    ``C(s) = Kp + Ki / s + Kd s / (tau s + 1) = ((Kp tau + Kd) s**2 + (Kp + Ki tau) s
    + Ki) / (s (tau s + 1))``, so these are the poles of ``C G / (1 + C G)``.
    """
    kp, ki, kd = gains
    controller = [kp * TAU_F + kd, kp + ki * TAU_F, ki]
    return np.roots(
        np.polyadd(np.polymul([TAU_F, 1.0, 0.0], PLANT_DEN), np.polymul(controller, PLANT_NUM))
    )


def row(name: str, gains: np.ndarray, cost: float, measures: StepMetrics) -> str:
    kp, ki, kd = gains
    return (
        f"{name:<18} {kp:8.4f} {ki:8.4f} {kd:8.4f} {cost:9.3f} {measures.rise_time:9.2f} "
        f"{measures.overshoot:10.2f} {measures.settling_time:12.2f}"
    )


def plot(path: str, responses: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for label, (t, y) in responses.items():
        axes.plot(t, y, label=label)
    axes.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
    axes.set_xlabel("t [s]")
    axes.set_ylabel("y(t)")
    axes.set_title("Closed-loop unit-step response, G(s) = 1/((s²+s+1)(s+1)⁴)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="adam", help="fdopt method (default: adam)")
    parser.add_argument("--maxfev", type=int, default=300, help="evaluation budget")
    parser.add_argument("--plot", metavar="PATH", help="save both step responses (matplotlib)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    problem = get_problem("pid")
    ku, tu = ultimate_gain_and_period(PLANT_NUM, PLANT_DEN)
    print("Plant G(s) = 1/((s^2+s+1)(s+1)^4), PID with derivative filter tau_f = 0.05 s")
    print(f"Ultimate gain Ku = {ku:.4f}, ultimate period Tu = {tu:.4f} s")
    poles = np.roots(np.polyadd(PLANT_DEN, ku * np.asarray(PLANT_NUM)))  # den + Ku num
    edge = poles[np.argmax(poles.real)]
    print(
        f"(check: under P control with gain Ku the closed loop has poles "
        f"{edge.real:+.1e} +- {abs(edge.imag):.4f}j: it oscillates with period "
        f"{2 * math.pi / abs(edge.imag):.4f} s)"
    )

    start = ziegler_nichols(ku, tu)
    result = fdopt.minimize(
        problem.fun,
        start,
        method=args.method,
        bounds=problem.bounds,
        # Seeded: the noise check at the start draws a random direction; the same run
        # every time.
        options={"vectorized": True, "maxfev": args.maxfev, "seed": 0},
    )
    tuned = np.asarray(result.x)

    print()
    header = (
        f"{'controller':<18} {'Kp':>8} {'Ki':>8} {'Kd':>8} {'cost':>9} {'rise [s]':>9} "
        f"{'overshoot':>10} {'settling [s]':>12}"
    )
    print(header)
    print("-" * len(header))
    responses = {}
    costs = {}
    for name, gains in [("Ziegler-Nichols", start), (f"fdopt {args.method}", tuned)]:
        t, y = step_response(gains)
        costs[name] = problem.fun(gains)
        responses[name] = (t, y)
        print(row(name, gains, costs[name], metrics(t, y)))
    print("(cost: ITAE + 10 x overshoot; overshoot in %; rise 10-90 %; settling to 2 %)")
    print()
    print(
        f"Evaluations: {result.nfev} (budget {args.maxfev}), iterations: {result.nit}, "
        f"status {result.status}: {result.message}"
    )
    zn_cost, tuned_cost = costs["Ziegler-Nichols"], costs[f"fdopt {args.method}"]
    print(f"Cost tuned / Ziegler-Nichols: {tuned_cost / zn_cost:.3f}")

    if args.plot:
        plot(args.plot, responses)
        print(f"Step responses saved to {args.plot}")

    largest = closed_loop_poles(tuned).real.max()
    stable = bool(largest < 0)
    print(
        f"Tuned loop stable: {'yes' if stable else 'NO'} "
        f"(largest real part of a closed-loop pole {largest:.4f})"
    )
    if not stable or not tuned_cost < zn_cost:
        print("FAILED: the tuned loop must be stable and beat Ziegler-Nichols", file=sys.stderr)
        return 1
    print("OK: the tuned loop is stable and beats Ziegler-Nichols")
    return 0


if __name__ == "__main__":
    sys.exit(main())
