"""Benchmark multistart with shared calls: k starts of one vectorized problem at once.

Usage::

    python examples/benchmarks/multistart.py [--quick] [--iterations N] [--latency S]
                                             [--batch-size B]

``fdopt.minimize(fun, X0, method="lbfgs", options={"multistart": True, "vectorized":
True, ...})`` on the extended Rosenbrock function of :mod:`fdopt.problems` in n = 100
variables (``--quick``: n = 10), from k = 1, 16, 128 and 1024 starts (``--quick``: 1, 4,
16) spread around the standard start with seeded noise. Every start runs exactly
``--iterations`` iterations (the convergence tests are off, and the noise level is given
as 0, so that nothing is spent estimating it). For each k, on the CPU and on a CUDA
device where there is one, the table gives:

- ``s / iter``: wall time of the whole run over the iterations;
- ``calls / iter``: calls of the function per iteration (all starts together; started
  one by one, k starts would make k times the calls of one);
- ``points / call``: points in a call (on a CPU the default ``batch_size`` keeps a call
  cache-sized, 32768 t / n points for t torch threads; on a GPU a call takes all the
  points of a round; ``--batch-size`` sets it);
- ``ms / start-iter`` and ``vs k=1``: the time of one start's iteration, and that time
  relative to one start alone (1.0: no gain over running the starts one by one).

With ``--latency S`` a second table repeats the CPU runs (k up to 128) for a function
that also costs S seconds per call, whatever its batch (a simulator launch, a remote
call): the case shared calls are for.

One process, timed with ``time.perf_counter`` after a warm-up run on each device (the
median of three runs where one takes under a second); a benchmark to read, not a test
(see README "Multistart").
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import markdown_table  # this folder (the script's) is on sys.path

import fdopt
from fdopt.problems import get_problem

FULL_STARTS = (1, 16, 128, 1024)
QUICK_STARTS = (1, 4, 16)
LATENCY_STARTS_MAX = 128
RADIUS = 0.5
SHORT_S = 1.0


@dataclass
class Row:
    """One run: k starts on one device."""

    device: str
    k: int
    seconds: float
    iterations: float
    ncalls: int
    nfev: int


def starts(x0: np.ndarray, k: int, device: torch.device) -> torch.Tensor:
    """``x0`` and ``k - 1`` seeded perturbations of it, as a ``(k, n)`` float64 tensor."""
    generator = np.random.default_rng(0)
    others = x0 + RADIUS * generator.standard_normal((k - 1, x0.size))
    return torch.tensor(np.vstack([x0, others]), dtype=torch.float64, device=device)


def with_latency(fun: Callable[[Any], Any], latency: float) -> Callable[[Any], Any]:
    """``fun`` that also takes ``latency`` seconds per call (a busy wait: exact, no sleep)."""

    def slow(x: Any) -> Any:
        end = time.perf_counter() + latency
        value = fun(x)
        if isinstance(value, torch.Tensor) and value.is_cuda:
            torch.cuda.synchronize(value.device)
        while time.perf_counter() < end:
            pass
        return value

    return slow


def measure(
    fun: Callable[[Any], Any],
    x0: np.ndarray,
    k: int,
    device: torch.device,
    iterations: int,
    batch_size: int | None = None,
) -> Row:
    """Time k starts for ``iterations`` iterations: the median of 3 runs under 1 s, else 1."""
    options: dict[str, Any] = {
        "multistart": True,
        "vectorized": True,
        "maxiter": iterations,
        "gtol": 0.0,
        "ftol": 0.0,
        "xtol": 0.0,
        "noise": 0.0,
        "seed": 0,
    }
    if batch_size is not None:
        options["batch_size"] = batch_size
    points = starts(x0, k, device)
    rows: list[Row] = []
    while not rows or (len(rows) < 3 and rows[0].seconds < SHORT_S):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        res = fdopt.minimize(fun, points, method="lbfgs", options=options)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        mean_nit = float(np.mean([s.nit for s in res.starts]))
        rows.append(Row(device.type, k, seconds, mean_nit, int(res.ncalls), int(res.nfev)))
    return sorted(rows, key=lambda row: row.seconds)[len(rows) // 2]


def table(title: str, rows: list[Row]) -> None:
    """Print the rows as a markdown table, each against k = 1 on its device."""
    header = [
        "device",
        "k",
        "s / iter",
        "calls / iter",
        "points / call",
        "ms / start-iter",
        "vs k=1",
    ]
    lines = []
    base: dict[str, float] = {}
    for row in rows:
        per_start = row.seconds / (row.k * row.iterations)
        if row.k == 1:
            base[row.device] = per_start
        lines.append(
            [
                row.device,
                str(row.k),
                f"{row.seconds / row.iterations:.3g}",
                f"{row.ncalls / row.iterations:.3g}",
                f"{row.nfev / row.ncalls:.0f}",
                f"{per_start * 1e3:.3g}",
                f"{per_start / base[row.device]:.2f}" if row.device in base else "",
            ]
        )
    markdown_table(title, header, lines)


def machine() -> str:
    """Describe the CPU, cores, torch threads, the CUDA device (if any) and the load."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"cpu: {cpu}; cores: {os.cpu_count()}; torch threads: {torch.get_num_threads()}; "
        f"CUDA device: {gpu}; load average (1, 5, 15 min): "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="n = 10, k = 1, 4, 16")
    parser.add_argument("--iterations", type=int, default=10, help="iterations of each start")
    parser.add_argument(
        "--latency", type=float, default=0.001, help="seconds per call in the second table"
    )
    parser.add_argument(
        "--batch-size", type=int, help="most points a call (default: fdopt's, per device)"
    )
    args = parser.parse_args(argv)
    n = 10 if args.quick else 100
    ks = QUICK_STARTS if args.quick else FULL_STARTS
    problem = get_problem("extended_rosenbrock", n=n)
    start = time.perf_counter()
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"fdopt {fdopt.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}"
    )
    print(machine())
    print(
        f"problem: extended Rosenbrock, n = {n}; method lbfgs, {args.iterations} iterations "
        f"a start; starts: x0 and seeded normal perturbations (radius {RADIUS}); "
        f"batch_size: {args.batch_size or 'default'}"
    )
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    else:
        print("CUDA: no CUDA device on this machine (torch.cuda.is_available() is False)")
    rows = []
    for device in devices:
        measure(problem.fun, problem.x0, 2, device, 2)  # warm-up (CUDA context, kernels)
        for k in ks:
            print(f"measuring {device.type}, k = {k} ...", file=sys.stderr, flush=True)
            rows.append(
                measure(problem.fun, problem.x0, k, device, args.iterations, args.batch_size)
            )
    table("Time per iteration of k starts together (shared calls)", rows)
    if args.latency > 0:
        slow = with_latency(problem.fun, args.latency)
        latency_rows = []
        for k in ks:
            if k > LATENCY_STARTS_MAX:
                continue
            print(f"measuring cpu, k = {k}, latency ...", file=sys.stderr, flush=True)
            latency_rows.append(
                measure(slow, problem.x0, k, devices[0], args.iterations, args.batch_size)
            )
        table(f"The same on the CPU, with {args.latency * 1e3:g} ms per call", latency_rows)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    print(f"total time: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
