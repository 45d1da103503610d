"""Where fdopt's GPU time goes: host synchronizations and kernels of a few calls.

Usage::

    python examples/benchmarks/cuda_profile.py

Needs a CUDA device. For ``fdopt.grad`` (central differences of a vectorized Rosenbrock
function, n = 100) and ``fdopt.gradient`` (uniform and nonuniform grids), it prints each
host synchronization the call makes (``torch.cuda.set_sync_debug_mode``), with the fdopt
line that made it, and the kernels of one call (``torch.profiler``), by GPU time. A
diagnostic to read next to the benchmarks' GPU rows, not a benchmark.
"""

from __future__ import annotations

import collections
import sys
import traceback
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from grid_gradient import Case, _inputs  # this folder (the script's) is on sys.path
from torch.profiler import ProfilerActivity, profile

import fdopt


def rosen(x: torch.Tensor) -> torch.Tensor:
    """Return the extended Rosenbrock function over the last axis."""
    return (100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(-1)


def cases() -> dict[str, Callable[[], Any]]:
    """Return the calls to look at, by name."""
    cuda = torch.device("cuda")
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(100, generator=generator, dtype=torch.float64) * 4 - 2).to(cuda)
    grids = {  # the grid benchmark's inputs, float32, edge_order 1
        f"gradient {label}": _inputs(Case(shape, torch.float32, spacing, 1), cuda, generator)
        for label, shape, spacing in (
            ("1-D f32 uniform", (10**7,), "uniform"),
            ("1-D f32 coords", (10**7,), "coords"),
            ("2-D f32 coords", (4096, 4096), "coords"),
        )
    }
    return {
        "grad central n=100": lambda: fdopt.grad(rosen, x, method="central", vectorized=True),
        **{
            name: partial(fdopt.gradient, inputs.values, spacing=inputs.torch_spacing)
            for name, inputs in grids.items()
        },
    }


def main() -> int:
    """Print the synchronizations and kernels of each case; return the exit status."""
    if not torch.cuda.is_available():
        print("no CUDA device (torch.cuda.is_available() is False)")
        return 1
    print(f"fdopt {fdopt.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name, call in cases().items():
        call()  # warm-up
        torch.cuda.synchronize()
        where: collections.Counter[str] = collections.Counter()

        def record(*_: Any, where: collections.Counter[str] = where) -> None:
            frames = [f for f in traceback.extract_stack() if "/fdopt/" in f.filename]
            if not frames:
                where["(outside fdopt)"] += 1
                return
            frame = frames[-1]
            where[f"{frame.filename.split('/fdopt/')[-1]}:{frame.lineno} ({frame.line})"] += 1

        with warnings.catch_warnings():  # restores showwarning too
            warnings.simplefilter("always")
            warnings.showwarning = record
            torch.cuda.set_sync_debug_mode("warn")
            try:
                call()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        torch.cuda.synchronize()
        print(f"\n== {name}: {sum(where.values())} host synchronizations")
        for place, count in where.most_common():
            print(f"  {count} x {place}")
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            call()
            torch.cuda.synchronize()
        print(
            prof.key_averages().table(
                sort_by="cuda_time_total", row_limit=14, max_name_column_width=50
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
