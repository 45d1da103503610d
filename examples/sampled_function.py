"""Minimize a function known only by its samples on a grid.

What it shows: a table of values (a lookup table, a simulator run on a grid, a
measurement) becomes a smooth function that fdopt can minimize. ``fdopt.gradient``
estimates the derivatives of the samples at the grid nodes (``accuracy=4``: fourth-order
stencils, boundaries included); the samples and those derivatives define a bicubic
Hermite interpolant, continuously differentiable, as finite differences need; and
``fdopt.minimize`` minimizes it within the grid's box (``bounds``; no point outside is
evaluated), one batch of points per gradient (``vectorized=True``).

The samples here are those of ``f(u, v) = (1 - u)**2 + 5 (v - u**2)**2``, a curved valley
whose minimum is ``0`` at ``(1, 1)``, on a 25 x 25 grid over ``[-1.5, 2.1] x [-0.6, 3.0]``
(spacing 0.15; ``(1, 1)`` is not a node). The script prints the best sample, the
minimizer found on the interpolant with derivatives of order 2 (what ``torch.gradient``
and ``numpy.gradient`` give) and of order 4, and the true minimizer; then it does the
same with the library's ready-made ``sampled`` problem (``fdopt.problems``, a landscape of
Gaussian wells known by 41 x 41 samples, interpolated the same way), whose deepest well
is at ``(1, -0.5)``. It exits with status 1 if the order-4 minimizer is not within
``0.01`` of the true one.

Run::

    python examples/sampled_function.py [--method adam] [--maxfev 2000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

import fdopt
from fdopt.problems import get_problem

LOW = np.array([-1.5, -0.6])
SPACING = 0.15
POINTS = 25
TRUE_MINIMIZER = np.array([1.0, 1.0])


def valley(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the function behind the table; the script only ever uses its samples."""
    return (1 - u) ** 2 + 5 * (v - u**2) ** 2


def hermite_weights(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the values and of the scaled slopes at both ends of a cell, ``(2, k)``."""
    t2, t3 = t * t, t * t * t
    values = np.stack([2 * t3 - 3 * t2 + 1, -2 * t3 + 3 * t2])
    slopes = np.stack([t3 - 2 * t2 + t, t3 - t2])
    return values, slopes


class GridInterpolant:
    """The bicubic Hermite interpolant of samples on a uniform grid and their derivatives.

    In each cell it matches the value, both first derivatives and the cross derivative
    at the four corners, so it is C1 across cells. Called with a ``(k, 2)`` batch of
    points it returns the ``(k,)`` values (a single ``(2,)`` point gives a float).
    """

    def __init__(self, samples: np.ndarray, low: np.ndarray, spacing: float, accuracy: int):
        d_u, d_v = fdopt.gradient(samples, spacing=spacing, accuracy=accuracy)
        (d_uv,) = fdopt.gradient(d_u, spacing=spacing, dim=1, accuracy=accuracy)
        h = spacing
        # node data: value, h df/du, h df/dv, h^2 d2f/dudv
        self.nodes = np.stack([samples, h * d_u, h * d_v, h * h * d_uv])
        self.low = low
        self.spacing = spacing

    def __call__(self, x: np.ndarray) -> np.ndarray | float:
        """Return the interpolant at a ``(2,)`` point or a ``(k, 2)`` batch of points."""
        points = np.atleast_2d(x)
        position = (points - self.low) / self.spacing
        cells = np.array(self.nodes.shape[1:]) - 2
        index = np.clip(np.floor(position), 0, cells).astype(int)
        t = position - index
        value_u, slope_u = hermite_weights(t[:, 0])
        value_v, slope_v = hermite_weights(t[:, 1])
        total = np.zeros(len(points))
        for a in (0, 1):
            for b in (0, 1):
                f, fu, fv, fuv = self.nodes[:, index[:, 0] + a, index[:, 1] + b]
                total += (
                    value_u[a] * value_v[b] * f
                    + slope_u[a] * value_v[b] * fu
                    + value_u[a] * slope_v[b] * fv
                    + slope_u[a] * slope_v[b] * fuv
                )
        return float(total[0]) if np.ndim(x) == 1 else total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="adam", help="fdopt method (default: adam)")
    parser.add_argument("--maxfev", type=int, default=2000, help="evaluation budget per run")
    args = parser.parse_args(argv)

    axes = [LOW[i] + SPACING * np.arange(POINTS) for i in range(2)]
    samples = valley(axes[0][:, None], axes[1][None, :])
    bounds = [(axis[0], axis[-1]) for axis in axes]
    best = np.unravel_index(np.argmin(samples), samples.shape)
    best_sample = np.array([axes[0][best[0]], axes[1][best[1]]])
    x0 = np.array([-1.0, 2.5])

    print(f"Samples of (1 - u)^2 + 5 (v - u^2)^2 on a {POINTS} x {POINTS} grid, spacing {SPACING}")
    print(f"{'minimizer of':<34} {'u':>9} {'v':>9} {'distance to true':>17} {'nfev':>6}")
    print(
        f"{'the samples (best grid node)':<34} {best_sample[0]:9.5f} {best_sample[1]:9.5f} "
        f"{np.linalg.norm(best_sample - TRUE_MINIMIZER):17.2e} {'':>6}"
    )
    errors = {}
    for accuracy in (2, 4):
        interpolant = GridInterpolant(samples, LOW, SPACING, accuracy)
        result = fdopt.minimize(
            interpolant,
            x0,
            method=args.method,
            bounds=bounds,
            options={"vectorized": True, "maxfev": args.maxfev},
        )
        errors[accuracy] = float(np.linalg.norm(result.x - TRUE_MINIMIZER))
        label = f"interpolant, gradient accuracy={accuracy}"
        print(
            f"{label:<34} {result.x[0]:9.5f} {result.x[1]:9.5f} {errors[accuracy]:17.2e} "
            f"{result.nfev:6d}"
        )
    print(f"{'true':<34} {TRUE_MINIMIZER[0]:9.5f} {TRUE_MINIMIZER[1]:9.5f}")

    problem = get_problem("sampled")
    result = fdopt.minimize(
        problem.fun,
        problem.x0,
        method=args.method,
        bounds=problem.bounds,
        options={"vectorized": True, "maxfev": args.maxfev},
    )
    print()
    print(f"fdopt.problems 'sampled' ({problem.description}):")
    print(
        f"  found x = ({result.x[0]:.5f}, {result.x[1]:.5f}), f = {result.fun:.6f} "
        f"in {result.nfev} evaluations; deepest well at (1, -0.5), f* = {problem.f_star:.6f}"
    )

    if errors[4] > 0.01:
        print("FAILED: the minimizer is not within 0.01 of the true one", file=sys.stderr)
        return 1
    print("OK: the order-4 interpolant's minimizer is within 0.01 of the true one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
