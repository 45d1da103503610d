"""Benchmark fdopt's optimizers against scipy.optimize and nevergrad, in one process.

Usage::

    python examples/benchmarks/optimize.py [--quick] [--seeds N]

Two tables, each counting function evaluations (never time):

1. Smooth problems (quadratics of condition 1e2 and 1e4 in 10 variables, Rosenbrock in
   2 and 10 variables) and their noisy variants (multiplicative Gaussian noise of
   relative level 1e-6): evaluations until a point with ``f - f* <= 1e-6 (f(x0) - f*)``
   was evaluated, within a budget of ``1000 (n + 1)`` evaluations ("-": not reached),
   for every fdopt method (default options) and ``scipy.optimize.minimize`` with
   L-BFGS-B (its own finite differences), Nelder-Mead and Powell.
2. The Moré-Garbow-Hillstrom set of :data:`fdopt.problems.MGH_SET` (10 problems, 2 to 6
   variables), deterministic and with multiplicative noise of level 1e-3: how many each
   solver solves to ``tau = 1e-3`` (a point with ``f - f* <= tau (f(x0) - f*)``) within
   ``100 (n + 1)`` evaluations, with every method's defaults; peers: nevergrad's NGOpt,
   Nelder-Mead, L-BFGS-B.

With ``--seeds N`` the MGH table is run for seeds 0 .. N-1 (the seed of the problems'
noise, of NGOpt's random state and fdopt's ``seed`` option together; the deterministic
fdopt methods and scipy's do not depend on it), and a second table gives each solver's
count per seed and the mean: one seed's noise makes a coarse comparison.

Whether a point reached the target is judged on the noise-free value of every point the
solver evaluated (the solver itself sees the noisy values), as in Moré & Wild's data
profiles.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import shlex
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy
import scipy.optimize
import torch
from _common import Exhausted, nevergrad  # this folder (the script's) is on sys.path

import fdopt
from fdopt.optimizers import OPTIMIZERS
from fdopt.problems import MGH_SET, Problem, get_problem

FDOPT_METHODS = tuple(OPTIMIZERS)
SMOOTH = (
    ("quadratic cond 1e2", "quadratic", 10, {"condition": 1e2}),
    ("quadratic cond 1e4", "quadratic", 10, {"condition": 1e4}),
    ("rosenbrock n=2", "rosenbrock", 2, {}),
    ("rosenbrock n=10", "rosenbrock", 10, {}),
)
SMOOTH_NOISE = 1e-6
SMOOTH_TARGET = 1e-6
MGH_NOISE = 1e-3
MGH_TAU = 1e-3


@dataclass
class Trace:
    """Every value a solver saw, judged on the noise-free function."""

    problem: Problem
    clean: Callable[[np.ndarray], float]
    budget: int
    target: float
    seed: int = 0
    reached: int | None = None
    calls: int = 0

    def __call__(self, x: Any) -> float:
        """Return the (noisy) value the solver sees; judge the clean one."""
        if self.calls >= self.budget:
            raise Exhausted
        point = np.asarray(x, dtype=np.float64)
        self.calls += 1
        if self.reached is None and self.clean(point) <= self.target:
            self.reached = self.calls
        return float(self.problem.fun(point))


def _trace(
    name: str,
    n: int,
    options: dict[str, Any],
    noise: float | None,
    budget: int,
    tau: float,
    seed: int = 0,
) -> Trace:
    clean = get_problem(name, n, **options)
    problem = (
        clean
        if noise is None
        else get_problem(name, n, noise=noise, noise_kind="multiplicative", seed=seed, **options)
    )
    f0 = float(clean.fun(clean.x0))
    f_star = clean.f_star if clean.f_star is not None else 0.0
    target = f_star + tau * (f0 - f_star)
    return Trace(problem, lambda x: float(clean.fun(x)), budget, target, seed)


def _fdopt(method: str) -> Callable[[Trace], None]:
    def run(trace: Trace) -> None:
        fdopt.minimize(
            trace,
            trace.problem.x0.copy(),
            method=method,
            bounds=trace.problem.bounds,
            options={"maxfev": trace.budget, "maxiter": 10**6, "seed": trace.seed},
        )

    return run


def _scipy(method: str) -> Callable[[Trace], None]:
    def run(trace: Trace) -> None:
        budget = {"L-BFGS-B": "maxfun", "Powell": "maxfev", "Nelder-Mead": "maxfev"}[method]
        options: dict[str, Any] = {budget: trace.budget}
        if method == "L-BFGS-B":
            options["maxiter"] = trace.budget
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            scipy.optimize.minimize(trace, trace.problem.x0.copy(), method=method, options=options)

    return run


def _ngopt(trace: Trace) -> None:
    assert nevergrad is not None
    parametrization = nevergrad.p.Array(init=trace.problem.x0.copy())
    parametrization.random_state = np.random.RandomState(trace.seed)
    optimizer = nevergrad.optimizers.NGOpt(parametrization=parametrization, budget=trace.budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer.minimize(trace)


def solvers(include_ngopt: bool) -> dict[str, Callable[[Trace], None]]:
    """Name -> runner, fdopt's methods first."""
    table: dict[str, Callable[[Trace], None]] = {f"fdopt {m}": _fdopt(m) for m in FDOPT_METHODS}
    for method in ("L-BFGS-B", "Nelder-Mead", "Powell"):
        table[f"scipy {method}"] = _scipy(method)
    if include_ngopt and nevergrad is not None:
        table["nevergrad NGOpt"] = _ngopt
    return table


def attempt(runner: Callable[[Trace], None], trace: Trace) -> int | None:
    """Run one solver; return the evaluations it took to reach the target, or None."""
    with contextlib.suppress(Exhausted):
        runner(trace)
    return trace.reached


def smooth_table(quick: bool) -> list[str]:
    table = solvers(include_ngopt=False)
    cases = SMOOTH[:3] if quick else SMOOTH
    header = ["problem", *table]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for noise in (None, SMOOTH_NOISE):
        for label, name, n, options in cases:
            budget = 1000 * (n + 1) // (10 if quick else 1)
            cells = []
            for runner in table.values():
                reached = attempt(runner, _trace(name, n, options, noise, budget, SMOOTH_TARGET))
                cells.append("-" if reached is None else str(reached))
            title = label if noise is None else f"{label}, noise {noise:g}"
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def mgh_table(quick: bool, seeds: int) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Return the MGH tables' lines and each solver's mean count, per label.

    The first table marks the problems solved with seed 0; with several seeds, a second
    gives the counts per seed and their mean.
    """
    table = solvers(include_ngopt=True)
    problems = MGH_SET[:4] if quick else MGH_SET
    counts: dict[str, dict[str, list[int]]] = {label: {} for label in ("deterministic", "noisy")}
    rows: dict[str, list[str]] = {}
    for seed in range(seeds):
        for label, noise in (("deterministic", None), ("noisy", MGH_NOISE)):
            for solver, runner in table.items():
                marks = []
                for name in problems:
                    n = get_problem(name).n
                    trace = _trace(name, n, {}, noise, 100 * (n + 1), MGH_TAU, seed)
                    marks.append(attempt(runner, trace) is not None)
                counts[label].setdefault(solver, []).append(sum(marks))
                if seed == 0:
                    rows.setdefault(solver, []).append(
                        f"{sum(marks)}/{len(problems)} "
                        f"({''.join('x' if m else '.' for m in marks)})"
                    )
    lines = [
        "| solver | deterministic | noise 1e-3 |",
        "|---|---|---|",
        *(f"| {solver} | {cells[0]} | {cells[1]} |" for solver, cells in rows.items()),
    ]
    means = {label: {k: float(np.mean(v)) for k, v in c.items()} for label, c in counts.items()}
    if seeds > 1:
        lines += [
            "",
            f"Problems solved per seed (0 to {seeds - 1}) and their mean:",
            "",
            "| solver | deterministic | mean | noise 1e-3 | mean |",
            "|---|---|---:|---|---:|",
        ]
        for solver in table:
            cells = [
                f"{', '.join(map(str, counts[label][solver]))} | {means[label][solver]:.1f}"
                for label in ("deterministic", "noisy")
            ]
            lines.append(f"| {solver} | {cells[0]} | {cells[1]} |")
    return lines, means


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems, smaller budgets")
    parser.add_argument(
        "--seeds", type=int, default=1, help="run the MGH table for seeds 0 .. N-1 (default 1)"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1; got {args.seeds}")
    torch.set_num_threads(1)
    print(f"Command: {shlex.join(['python', *sys.argv])}")
    print(
        f"Python {platform.python_version()}, fdopt {fdopt.__version__}, torch "
        f"{torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, nevergrad "
        f"{getattr(nevergrad, '__version__', 'not installed')}"
    )
    print()
    print(
        f"Evaluations to reach f - f* <= {SMOOTH_TARGET:g} (f(x0) - f*), budget 1000 (n + 1) "
        f"('-': not reached); noisy rows: multiplicative noise {SMOOTH_NOISE:g}"
    )
    print()
    print("\n".join(smooth_table(args.quick)))
    print()
    lines, solved = mgh_table(args.quick, args.seeds)
    print(
        f"MGH problems solved to tau = {MGH_TAU:g} within 100 (n + 1) evaluations "
        f"(x: solved, in the order {', '.join(MGH_SET[:4] if args.quick else MGH_SET)})"
    )
    print()
    print("\n".join(lines))
    reference = "nevergrad NGOpt"
    if reference in solved["deterministic"]:
        print()
        for label in ("deterministic", "noisy"):
            ours = {m: solved[label][f"fdopt {m}"] for m in ("adam", "momentum")}
            verdict = all(v >= solved[label][reference] for v in ours.values())
            print(
                f"Target ({label}{', mean over seeds' if args.seeds > 1 else ''}): adam "
                f"{ours['adam']:g}, momentum {ours['momentum']:g} vs NGOpt "
                f"{solved[label][reference]:g}: {'met' if verdict else 'missed'}"
            )


if __name__ == "__main__":
    main()
