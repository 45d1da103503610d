"""Moré-Wild data profiles of fdopt's optimizers and their peers on the MGH problems.

Usage::

    python examples/benchmarks/data_profiles.py [--quick] [--jobs N] [--plot PATH]
        [--problems NAME ...] [--solvers NAME ...] [--results PATH]

The problems are every registered Moré-Garbow-Hillstrom problem of
:mod:`fdopt.problems` with a known minimum ``f*``, each at its default number of
variables ``n``, in three versions: deterministic, and with multiplicative Gaussian
noise of relative level 1e-3 and 1e-6 (``f(x) (1 + level z)``, seeded). Every solver
gets a budget of ``1000 (n + 1)`` evaluations. ``--quick`` (the smoke test) runs the 5
smallest problems, deterministic and with noise 1e-3, on budgets of ``100 (n + 1)``;
``--jobs N`` runs the problems in ``N`` processes (the results do not depend on it);
``--problems NAME ...``, ``--solvers NAME ...`` and ``--noises LEVEL ...`` run only
those. ``--results PATH``
keeps every run in a JSON file as it ends and takes the runs already there instead of
running them again, so that a long benchmark can be run in parts (say, the peers and
fdopt's methods separately) and the tables printed from all of them.

A problem counts as solved to the tolerance ``tau`` within ``k (n + 1)`` evaluations when
one of the first ``k (n + 1)`` points the solver evaluated has a noise-free value
``f(x) <= f* + tau (f(x0) - f*)``; the solver itself sees only the noisy values. The
data profile of a solver is the fraction of problems it solves, as a function of ``k``
(Moré and Wild 2009). The script prints, for each noise level, the fraction solved at
``tau = 1e-1, 1e-3, 1e-5, 1e-7`` and ``k = 10, 100, 1000``, then the verdict on the
targets of the data-profile benchmark: fdopt ``lbfgs`` solves at least as many problems
as every peer at ``tau = 1e-5`` and ``1e-7`` on the deterministic set, and at
``tau = 1e-3`` on the noisy sets, within ``1000 (n + 1)`` evaluations.

Solvers, each with its own defaults and the budget:

- every method of :data:`fdopt.optimizers.OPTIMIZERS`, through :func:`fdopt.minimize`
  (``maxfev`` the budget, ``seed=0``);
- scipy's L-BFGS-B (on its own forward differences), Nelder-Mead, Powell and COBYLA;
- Py-BOBYQA (``pybobyqa.solve``, told ``objfun_has_noise`` on the noisy sets, so that it
  restarts until the budget is spent), if installed;
- noisyopt's SPSA (``minimizeSPSA``), if installed: ``c = 1e-3 max(1, |x0|_inf)`` (10
  times more on the noisy sets), ``a`` set from 5 gradient estimates at ``x0`` (counted)
  so that the first step has length ``0.1 max(1, |x0|_inf)``, as many iterations as the
  budget allows;
- nevergrad's NGOpt, if installed, driven by ask and tell (its ``minimize`` crashes
  under numpy 2, nevergrad issue 1612).

References
----------
J. J. Moré and S. M. Wild, "Benchmarking derivative-free optimization algorithms",
SIAM Journal on Optimization 20(1), 172-191, 2009.

J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy
import scipy.optimize
import torch
from _common import Exhausted, nevergrad  # this folder (the script's) is on sys.path

import fdopt
from fdopt.errors import EvaluationError
from fdopt.optimizers import OPTIMIZERS
from fdopt.problems import PROBLEMS, get_problem

pybobyqa: ModuleType | None
try:
    import pybobyqa
except ImportError:  # an optional peer (the `benchmark` extra)
    pybobyqa = None

noisyopt: ModuleType | None
try:
    import noisyopt
except ImportError:  # an optional peer (the `benchmark` extra)
    noisyopt = None

TAUS = (1e-1, 1e-3, 1e-5, 1e-7)
"""Tolerances: solved when ``f(x) <= f* + tau (f(x0) - f*)``."""
KS = (10, 100, 1000)
"""Budgets of the tables, in units of ``n + 1`` evaluations (simplex gradients)."""
NOISES: tuple[float | None, ...] = (None, 1e-3, 1e-6)
"""Relative (multiplicative) noise levels; None: deterministic."""
QUICK_NOISES: tuple[float | None, ...] = (None, 1e-3)
BUDGET = 1000
QUICK_BUDGET = 100
QUICK_PROBLEMS = 5
REFERENCE = "fdopt lbfgs"
DETERMINISTIC_TAUS = (1e-5, 1e-7)
NOISY_TAU = 1e-3
PLOT_TAUS = (1e-3, 1e-5)


def mgh_problems() -> list[str]:
    """Return the registered MGH problems with a known ``f*`` at their default ``n``."""
    names = []
    for name, spec in PROBLEMS.items():
        if spec.make.__module__.startswith("fdopt.problems.mgh") and (
            get_problem(name).f_star is not None
        ):
            names.append(name)
    return names


@dataclass
class Trace:
    """The objective a solver sees: counts evaluations, keeps every point and value.

    Attributes
    ----------
    fun : callable
        What the solver sees (the noisy objective on the noisy sets).
    budget : int
        Evaluations allowed; one more raises :class:`Exhausted`.
    points : list of numpy.ndarray
        Every point evaluated, in order.
    values : list of float
        The values the solver saw, in order.
    """

    fun: Callable[[npt.NDArray[np.float64]], Any]
    budget: int
    points: list[npt.NDArray[np.float64]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __call__(self, x: Any, *args: Any) -> float:
        """Return the value of ``fun`` at ``x`` (``args`` are ignored) and record both."""
        if len(self.points) >= self.budget:
            raise Exhausted
        point = np.array(x, dtype=np.float64)  # a copy: solvers reuse their arrays
        value = float(self.fun(point))
        self.points.append(point)
        self.values.append(value)
        return value


def first_hits(
    clean_values: npt.NDArray[np.float64], targets: Sequence[float]
) -> tuple[int | None, ...]:
    """For each target, the number of the first evaluation at or below it, or None."""
    hits = []
    for target in targets:
        (below,) = np.nonzero(clean_values <= target)
        hits.append(int(below[0]) + 1 if below.size else None)
    return tuple(hits)


@dataclass(frozen=True)
class Run:
    """What one solver did on one problem.

    Attributes
    ----------
    first : tuple of int or None
        For each ``tau`` of :data:`TAUS`, the evaluations it took to solve the problem to
        ``tau``, or None.
    nfev : int
        Evaluations spent.
    error : str or None
        The exception that ended the run early, if any (what was evaluated before
        still counts).
    seconds : float
        Time the run took (process time, the solver's overhead and the evaluations).
    """

    first: tuple[int | None, ...]
    nfev: int
    error: str | None = None
    seconds: float = 0.0


Runner = Callable[[Trace, npt.NDArray[np.float64], bool], None]
"""``runner(trace, x0, noisy)``: minimize ``trace`` from ``x0`` within its budget."""


@contextmanager
def ignoring(*categories: type[Warning]) -> Iterator[None]:
    """Silence the warnings of these categories (a peer's, even under ``-W error``)."""
    with warnings.catch_warnings():
        for category in categories:
            warnings.simplefilter("ignore", category)
        yield


def _fdopt(method: str) -> Runner:
    def run(trace: Trace, x0: npt.NDArray[np.float64], noisy: bool) -> None:
        options = {"maxfev": trace.budget, "maxiter": 10**6, "seed": 0}
        fdopt.minimize(trace, x0, method=method, options=options)

    return run


def _scipy(method: str) -> Runner:
    budget_option = {"L-BFGS-B": "maxfun", "Nelder-Mead": "maxfev", "Powell": "maxfev"}
    budget_option["COBYLA"] = "maxiter"  # COBYLA's maxiter counts evaluations

    def run(trace: Trace, x0: npt.NDArray[np.float64], noisy: bool) -> None:
        options: dict[str, Any] = {budget_option[method]: trace.budget}
        if method == "L-BFGS-B":
            options["maxiter"] = trace.budget
        # Nelder-Mead and Powell warn when the budget runs out (RuntimeWarning).
        with ignoring(RuntimeWarning, scipy.optimize.OptimizeWarning):
            scipy.optimize.minimize(trace, x0, method=method, options=options)

    return run


def _pybobyqa(trace: Trace, x0: npt.NDArray[np.float64], noisy: bool) -> None:
    assert pybobyqa is not None
    # Py-BOBYQA draws its restarts from numpy's global generator: seed it.
    np.random.seed(0)  # noqa: NPY002
    with ignoring(RuntimeWarning):
        pybobyqa.solve(trace, x0, maxfun=trace.budget, objfun_has_noise=noisy, do_logging=False)


def _spsa(trace: Trace, x0: npt.NDArray[np.float64], noisy: bool) -> None:
    assert noisyopt is not None
    # noisyopt draws its perturbations from numpy's global generator: seed it.
    np.random.seed(0)  # noqa: NPY002
    rng = np.random.default_rng(0)
    scale = max(1.0, float(np.max(np.abs(x0))))
    c = (1e-2 if noisy else 1e-3) * scale
    calibration, gamma, alpha = 5, 0.101, 0.602
    magnitudes = []
    for _ in range(calibration):  # Spall's gain calibration, on evaluations that count
        delta = rng.choice([-1.0, 1.0], size=x0.shape)
        difference = trace(x0 + c * delta) - trace(x0 - c * delta)
        magnitudes.append(abs(difference) / (2 * c))
    niter = max(1, (trace.budget - 2 * calibration - 1) // 2)
    gain = float(np.mean(magnitudes)) or 1.0
    a = 0.1 * scale * (1 + 0.01 * niter) ** alpha / gain
    with ignoring(RuntimeWarning):
        noisyopt.minimizeSPSA(
            trace, x0, niter=niter, paired=False, a=a, c=c, alpha=alpha, gamma=gamma
        )


def _ngopt(trace: Trace, x0: npt.NDArray[np.float64], noisy: bool) -> None:
    assert nevergrad is not None
    parametrization = nevergrad.p.Array(init=x0)
    parametrization.random_state = np.random.RandomState(0)
    optimizer = nevergrad.optimizers.NGOpt(parametrization=parametrization, budget=trace.budget)
    try:
        with ignoring(nevergrad.errors.NevergradWarning, RuntimeWarning, UserWarning):
            for _ in range(trace.budget):
                candidate = optimizer.ask()
                optimizer.tell(candidate, trace(candidate.value))
    finally:
        # NGOpt's scipy-based parts run in threads that stop when the optimizer is freed.
        del optimizer
        gc.collect()


def solvers() -> dict[str, Runner]:
    """Name -> runner, fdopt's methods first, then the installed peers."""
    table: dict[str, Runner] = {f"fdopt {m}": _fdopt(m) for m in OPTIMIZERS}
    for method in ("L-BFGS-B", "Nelder-Mead", "Powell", "COBYLA"):
        table[f"scipy {method}"] = _scipy(method)
    if pybobyqa is not None:
        table["Py-BOBYQA"] = _pybobyqa
    if noisyopt is not None:
        table["noisyopt SPSA"] = _spsa
    if nevergrad is not None:
        table["nevergrad NGOpt"] = _ngopt
    return table


def _ended_by_budget(error: BaseException) -> bool:
    return isinstance(error, Exhausted) or (
        isinstance(error, EvaluationError) and isinstance(error.__cause__, Exhausted)
    )


def run_one(solver: str, name: str, noise: float | None, factor: int) -> Run:
    """Run one solver on one problem with a budget of ``factor (n + 1)`` evaluations."""
    clean = get_problem(name)
    noisy = None
    if noise is not None:  # seeded: every solver meets the same sequence of noise draws
        noisy = get_problem(name, noise=noise, noise_kind="multiplicative", seed=0)
    f0 = float(clean.fun(clean.x0))
    f_star = float(clean.f_star if clean.f_star is not None else 0.0)
    targets = tuple(f_star + tau * (f0 - f_star) for tau in TAUS)
    budget = factor * (clean.n + 1)
    start = time.process_time()
    trace = Trace(clean.fun if noisy is None else noisy.fun, budget)
    error = None
    try:
        solvers()[solver](trace, clean.x0.copy(), noise is not None)
    except Exception as exc:  # a crash ends this run only; it is reported in the output
        if not _ended_by_budget(exc):
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
    if noisy is None or not trace.points:
        clean_values = np.asarray(trace.values, dtype=np.float64)
    else:  # judged on the noise-free values, computed in one batch
        clean_values = np.asarray(clean.fun(np.stack(trace.points)), dtype=np.float64)
    seconds = time.process_time() - start
    return Run(first_hits(clean_values, targets), len(trace.points), error, seconds)


def _init_worker() -> None:
    torch.set_num_threads(1)


Results = dict[tuple[float | None, str, str], Run]
"""(noise, solver, problem) -> run."""


class Store:
    """Runs kept in a JSON file (``--results``), keyed by noise, solver, problem, budget.

    Parameters
    ----------
    path : Path or None
        The file; None keeps nothing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.runs: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self.runs = json.loads(path.read_text())

    @staticmethod
    def key(noise: float | None, solver: str, name: str, factor: int) -> str:
        """Return the entry of one run: ``"1e-3|fdopt lbfgs|rosenbrock|1000"``."""
        return f"{'none' if noise is None else _sci(noise)}|{solver}|{name}|{factor}"

    def get(self, noise: float | None, solver: str, name: str, factor: int) -> Run | None:
        """Return the stored run, or None."""
        saved = self.runs.get(self.key(noise, solver, name, factor))
        if saved is None:
            return None
        return Run(tuple(saved["first"]), saved["nfev"], saved["error"], saved["seconds"])

    def put(self, noise: float | None, solver: str, name: str, factor: int, run: Run) -> None:
        """Keep ``run`` and rewrite the file (written then renamed: never half written)."""
        if self.path is None:
            return
        self.runs[self.key(noise, solver, name, factor)] = {
            "first": list(run.first),
            "nfev": run.nfev,
            "error": run.error,
            "seconds": run.seconds,
        }
        partial = self.path.with_name(self.path.name + ".part")
        partial.write_text(json.dumps(self.runs, indent=0, sort_keys=True))
        partial.replace(self.path)


def run_all(
    names: Sequence[str],
    solver_names: Sequence[str],
    noises: Sequence[float | None],
    factor: int,
    jobs: int,
    store: Store | None = None,
) -> Results:
    """Run every solver on every problem at every noise level, in ``jobs`` processes.

    Runs found in ``store`` are taken from it; the others are added to it as they end.
    """
    store = store or Store(None)
    results: Results = {}
    tasks = []
    for noise in noises:
        for name in names:
            for solver in solver_names:
                saved = store.get(noise, solver, name, factor)
                if saved is None:
                    tasks.append((solver, name, noise))
                else:
                    results[noise, solver, name] = saved
    sizes = {p: get_problem(p).n for p in names}
    tasks.sort(key=lambda task: -sizes[task[1]])  # the longest first, for balance
    if jobs <= 1:
        for solver, name, noise in tasks:
            results[noise, solver, name] = run = run_one(solver, name, noise, factor)
            store.put(noise, solver, name, factor, run)
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
        futures = {
            pool.submit(run_one, solver, name, noise, factor): (noise, solver, name)
            for solver, name, noise in tasks
        }
        for done, future in enumerate(as_completed(futures), 1):
            noise, solver, name = futures[future]
            results[noise, solver, name] = run = future.result()
            store.put(noise, solver, name, factor, run)
            if done % max(1, len(futures) // 20) == 0:
                print(f"{done}/{len(futures)} runs done", file=sys.stderr, flush=True)
    return results


def solved(runs: Sequence[Run], sizes: Sequence[int], tau: float, k: float) -> int:
    """Count the runs that solved their problem to ``tau`` within ``k (n + 1)`` evaluations."""
    t = TAUS.index(tau)
    return sum(
        run.first[t] is not None and run.first[t] <= k * (n + 1)  # type: ignore[operator]
        for run, n in zip(runs, sizes, strict=True)
    )


def _sci(value: float) -> str:
    """``value`` in short scientific notation: ``1e-3``."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _label(noise: float | None) -> str:
    return "deterministic" if noise is None else f"relative noise {_sci(noise)}"


def profile_table(
    results: Results,
    names: Sequence[str],
    solver_names: Sequence[str],
    noise: float | None,
    ks: Sequence[int],
    factor: int,
) -> list[str]:
    """Markdown table: fraction solved per solver (rows) at each tau and k (columns)."""
    sizes = [get_problem(p).n for p in names]
    columns = [f"{_sci(tau)} k={k}" for tau in TAUS for k in ks]
    lines = [
        "| solver | " + " | ".join(columns) + " | budget used |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for solver in solver_names:
        runs = [results[noise, solver, p] for p in names]
        cells = [f"{solved(runs, sizes, tau, k) / len(names):.2f}" for tau in TAUS for k in ks]
        used = np.mean([run.nfev / (factor * (n + 1)) for run, n in zip(runs, sizes, strict=True)])
        lines.append(f"| {solver} | " + " | ".join(cells) + f" | {used:.0%} |")
    return lines


def _versus_peers(counts: dict[str, int], total: int) -> tuple[bool, str]:
    """Whether the reference solves at least as many as every peer, and the numbers."""
    peers = {s: c for s, c in counts.items() if not s.startswith("fdopt ")}
    top = max(peers.values())
    leaders = ", ".join(s for s, c in peers.items() if c == top)
    ours = counts[REFERENCE]
    return ours >= top, f"{REFERENCE} {ours}/{total}, best peer {leaders} {top}/{total}"


def verdicts(
    results: Results,
    names: Sequence[str],
    solver_names: Sequence[str],
    noises: Sequence[float | None],
    factor: int,
) -> list[str]:
    """One line per target: fdopt lbfgs against the best peer, met or missed."""
    sizes = [get_problem(p).n for p in names]

    def compare(noise: float | None, tau: float) -> tuple[bool, str]:
        counts = {
            s: solved([results[noise, s, p] for p in names], sizes, tau, factor)
            for s in solver_names
        }
        return _versus_peers(counts, len(names))

    lines = []
    targets = (
        ("deterministic", [(None, tau) for tau in DETERMINISTIC_TAUS]),
        ("noisy", [(noise, NOISY_TAU) for noise in noises if noise is not None]),
    )
    for label, cases in targets:
        if not cases:  # no noisy level was run
            continue
        outcomes = [(noise, tau, *compare(noise, tau)) for noise, tau in cases]
        parts = [
            (f"tau = {_sci(tau)}" if noise is None else f"noise {_sci(noise)}, tau = {_sci(tau)}")
            + f": {text}"
            for noise, tau, _, text in outcomes
        ]
        met = all(ok for _, _, ok, _ in outcomes)
        lines.append(
            f"Target ({label}, within {factor}(n+1)): "
            + "; ".join(parts)
            + f": {'met' if met else 'missed'}"
        )
    return lines


def plot_profiles(
    results: Results,
    names: Sequence[str],
    solver_names: Sequence[str],
    noises: Sequence[float | None],
    factor: int,
    path: Path,
) -> None:
    """Save the data profiles as a PNG: a panel per noise level (columns) and tau (rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [get_problem(p).n for p in names]
    figure, axes = plt.subplots(
        len(PLOT_TAUS),
        len(noises),
        figsize=(5 * len(noises) + 2.5, 4 * len(PLOT_TAUS)),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    colors = plt.get_cmap("tab10").colors
    fdopt_names = [s for s in solver_names if s.startswith("fdopt ")]
    peer_names = [s for s in solver_names if s not in fdopt_names]
    for row, tau in enumerate(PLOT_TAUS):
        t = TAUS.index(tau)
        for column, noise in enumerate(noises):
            ax = axes[row][column]
            for group, linestyle in ((fdopt_names, "-"), (peer_names, "--")):
                for i, solver in enumerate(group):
                    # The profile is a step function: it rises at each run's k = nfev / (n + 1).
                    runs = [results[noise, solver, p] for p in names]
                    ratios = sorted(
                        first / (n + 1)
                        for run, n in zip(runs, sizes, strict=True)
                        if (first := run.first[t]) is not None
                    )
                    heights = [*range(len(ratios) + 1), len(ratios)]
                    ax.step(
                        [1.0, *ratios, float(factor)],
                        np.array(heights) / len(names),
                        where="post",
                        color="black" if solver == REFERENCE else colors[i % len(colors)],
                        linestyle=linestyle,
                        linewidth=2.4 if solver == REFERENCE else 1.3,
                        label=solver,
                    )
            ax.set_xscale("log")
            ax.set_xlim(1.0, float(factor))
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"{_label(noise)}, tau = {_sci(tau)}")
            ax.grid(True, alpha=0.3)
            if row == len(PLOT_TAUS) - 1:
                ax.set_xlabel("k: evaluations / (n + 1)")
            if column == 0:
                ax.set_ylabel("fraction of problems solved")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", fontsize="small")
    figure.suptitle(
        f"Data profiles on {len(names)} MGH problems, budget {factor}(n+1) "
        "(solid: fdopt, dashed: peers)"
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _version(module: ModuleType | None) -> str:
    return "not installed" if module is None else str(getattr(module, "__version__", "?"))


def _noise_level(text: str) -> float | None:
    """Parse ``--noises``: "none" (deterministic) or a positive relative level."""
    if text.lower() == "none":
        return None
    level = float(text)
    if not level > 0:
        raise argparse.ArgumentTypeError(f"a noise level must be 'none' or > 0; got {text}")
    return level


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables and the verdicts; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=(
            f"the {QUICK_PROBLEMS} smallest problems, budgets {QUICK_BUDGET}(n+1), "
            "deterministic and noise 1e-3 only"
        ),
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--problems", nargs="+", metavar="NAME", help="run these problems only (default: all)"
    )
    parser.add_argument(
        "--solvers", nargs="+", metavar="NAME", help="run these solvers only (default: all)"
    )
    parser.add_argument(
        "--noises",
        nargs="+",
        metavar="LEVEL",
        type=_noise_level,
        help="these noise levels only ('none': deterministic; default: none 1e-3 1e-6)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="keep the runs in this JSON file, and take those already in it from it",
    )
    parser.add_argument("--plot", type=Path, help="save the data profiles to this PNG")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    torch.set_num_threads(1)
    factor = QUICK_BUDGET if args.quick else BUDGET
    ks = [k for k in KS if k <= factor]
    names = mgh_problems()
    if args.problems:
        unknown = sorted(set(args.problems) - set(names))
        if unknown:
            parser.error(f"not MGH problems with a known f*: {', '.join(unknown)}")
        names = [name for name in names if name in args.problems]
    elif args.quick:  # the smallest problems (stable: in table order among equals)
        names = sorted(names, key=lambda name: get_problem(name).n)[:QUICK_PROBLEMS]
    solver_names = list(solvers())
    if args.solvers:
        unknown = sorted(set(args.solvers) - set(solver_names))
        if unknown:
            parser.error(f"unknown or not installed solvers: {', '.join(unknown)}")
        solver_names = [s for s in solver_names if s in args.solvers]
    print(f"Command: {shlex.join(['python', *sys.argv])}")
    print(
        f"Python {platform.python_version()}, fdopt {fdopt.__version__}, torch "
        f"{torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, nevergrad "
        f"{_version(nevergrad)}, pybobyqa {_version(pybobyqa)}, noisyopt {_version(noisyopt)}"
    )
    print()
    sized = ", ".join(f"{p} ({get_problem(p).n})" for p in names)
    print(f"{len(names)} MGH problems (n): {sized}")
    print(
        f"Budget {factor}(n+1) evaluations. Cells: fraction of problems solved to tau "
        f"(a point with f <= f* + tau (f(x0) - f*), noise-free value) within k(n+1) "
        f"evaluations; budget used: mean share of the budget the solver spent."
    )
    noises = tuple(args.noises) if args.noises else QUICK_NOISES if args.quick else NOISES
    results = run_all(names, solver_names, noises, factor, args.jobs, Store(args.results))
    for noise in noises:
        print()
        print(f"{_label(noise).capitalize()}:")
        print()
        print("\n".join(profile_table(results, names, solver_names, noise, ks, factor)))
    crashes = [
        (noise, solver, name, run.error)
        for (noise, solver, name), run in results.items()
        if run.error is not None
    ]
    crashes.sort(key=lambda crash: (noises.index(crash[0]), *crash[1:3]))
    print()
    print(f"Runs ended by an error (what they evaluated before still counts): {len(crashes)}")
    for noise, solver, name, error in crashes:
        print(f"- {solver} on {name} ({_label(noise)}): {error}")
    if REFERENCE in solver_names and any(not s.startswith("fdopt ") for s in solver_names):
        print()
        print("\n".join(verdicts(results, names, solver_names, noises, factor)))
    if args.plot is not None:
        plot_profiles(results, names, solver_names, noises, factor, args.plot)
        print(f"Profiles saved to {args.plot}")
    seconds = {
        s: sum(run.seconds for (_, solver, _), run in results.items() if solver == s)
        for s in solver_names
    }
    print(
        f"Wall time: {time.perf_counter() - start:.0f} s with {max(1, args.jobs)} job(s); "
        "CPU time by solver: " + ", ".join(f"{s} {t:.0f} s" for s, t in seconds.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
