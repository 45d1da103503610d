"""Use fdopt inside ``scipy.optimize.minimize``: as ``method=``, ``jac=`` and ``callback=``.

What it shows, on the Rosenbrock function from ``(-1.2, 1)`` (minimum 0 at ``(1, 1)``):

- ``method=fdopt.method("adam")``: fdopt's Adam on forward-difference gradients,
  called by scipy like any of its own methods (options, bounds, callback, result).
- ``jac=fdopt.Gradient(fun)`` in L-BFGS-B, against L-BFGS-B's own finite differences:
  with ``fun=g.fun`` the forward-difference gradient reuses ``f(x)``, so each point is
  evaluated once, as with scipy's own; central differences (``method="central"``) cost
  more and are more accurate. From a float32 start, scipy's differences (relative step
  1.49e-8, below float32's resolution) are mostly rounding and L-BFGS-B stops far from
  the minimum, while ``fdopt.Gradient`` takes steps fit for float32 and gets closer.
- ``callback=fdopt.callbacks.Recorder()``: the iterates of a scipy run (here
  Nelder-Mead and the Adam run) kept as arrays.

Every run's evaluations are counted by a wrapper around the function, point by point,
the same way for all, and printed in one table with the point found and its value.

Run::

    python examples/scipy_integration.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize, rosen

import fdopt

X0 = np.array([-1.2, 1.0])


class Counted:
    """``fun`` with a count of the points it is evaluated at."""

    def __init__(self, fun: Callable[[np.ndarray], float]) -> None:
        self.fun = fun
        self.calls = 0

    def __call__(self, x: np.ndarray) -> float:
        """Evaluate ``fun`` at ``x`` and count it."""
        self.calls += 1
        return float(self.fun(x))


def run(name: str, table: list[tuple[Any, ...]], solve: Callable[[Counted], Any]) -> Any:
    """Run ``solve`` on a fresh counted Rosenbrock function and add a row to ``table``."""
    counted = Counted(rosen)
    result = solve(counted)
    x = np.asarray(result.x, dtype=float)
    table.append((name, x, float(rosen(x)), counted.calls, result.nit, bool(result.success)))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maxfev", type=int, default=3000, help="budget of the Adam run")
    args = parser.parse_args(argv)

    table: list[tuple[Any, ...]] = []
    adam_records = fdopt.callbacks.Recorder()
    run(
        "method=fdopt.method('adam')",
        table,
        lambda f: minimize(
            f,
            X0,
            method=fdopt.method("adam"),
            options={"maxfev": args.maxfev},
            callback=adam_records,
        ),
    )
    run("L-BFGS-B, scipy's differences", table, lambda f: minimize(f, X0, method="L-BFGS-B"))

    def with_gradient(method: str, x0: np.ndarray) -> Callable[[Counted], Any]:
        def solve(f: Counted) -> Any:
            gradient = fdopt.Gradient(f, method=method)
            return minimize(gradient.fun, x0, jac=gradient, method="L-BFGS-B")

        return solve

    run("L-BFGS-B, jac=fdopt.Gradient forward", table, with_gradient("forward", X0))
    run("L-BFGS-B, jac=fdopt.Gradient central", table, with_gradient("central", X0))
    x32 = X0.astype(np.float32)
    run("float32 x0, scipy's differences", table, lambda f: minimize(f, x32, method="L-BFGS-B"))
    run("float32 x0, jac=fdopt.Gradient", table, with_gradient("forward", x32))
    records = fdopt.callbacks.Recorder()
    run(
        "Nelder-Mead, callback=Recorder()",
        table,
        lambda f: minimize(f, X0, method="Nelder-Mead", callback=records),
    )

    print("Rosenbrock from (-1.2, 1); minimum 0 at (1, 1)")
    header = (
        f"| {'run':<38} | {'x':>20} | {'f(x)':>9} | {'evaluations':>11} | {'nit':>5} | success |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell) - 1) + ":" for cell in header.split("|")[1:-1]) + "|")
    for name, x, value, calls, nit, success in table:
        point = f"({x[0]:.5f}, {x[1]:.5f})"
        print(
            f"| {name:<38} | {point:>20} | {value:9.2e} | {calls:11d} | {nit:5d} | {success!s:>7} |"
        )
    print()
    print(
        f"Recorder in the Adam run: {len(adam_records)} iterates, f from "
        f"{adam_records.fun[0]:.3g} to {adam_records.fun[-1]:.3g}"
    )
    print(
        f"Recorder in Nelder-Mead: {len(records)} iterates, f from {records.fun[0]:.3g} "
        f"to {records.fun[-1]:.3g}; records.x has shape {records.x.shape}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
