"""Benchmark ``fdopt.gradient`` against ``torch.gradient``, ``numpy.gradient`` and a floor.

Usage::

    python examples/benchmarks/grid_gradient.py [--quick] [--device cpu|cuda] [--repeat N]
        [--threads N]

For every case (shape x dtype x spacing kind x edge_order) the script measures, on the
same data and in one process, the median wall time and the peak extra memory of

- ``fdopt.gradient`` on torch tensors,
- ``torch.gradient`` on the same tensors,
- ``numpy.gradient`` on the numpy view of the same data (CPU only),
- the bandwidth floor: one fresh-output ``a[2:] - a[:-2]`` pass (torch) per
  differentiated dimension,

checks that fdopt's result matches torch's, and prints a markdown table of times,
ratios and memory.

Spacing kinds: ``uniform`` (the default ``spacing=1``), ``scalar`` (one scalar step
per dimension) and ``coords`` (strictly increasing nonuniform coordinates per
dimension, of the dtype of the values).

Peak extra memory is what a call needs beyond its outputs, as a multiple of the
outputs' size. On the CPU it is read from the kernel, so torch and numpy allocations
count alike. For the one measured call per method, glibc is told (``mallopt``) to mmap
every block above 64 KiB and to give freed memory back at once, and first hands back
every free page (``malloc_trim``), so the resident set size tracks live memory; the
peak (``VmHWM``) is reset by writing ``5`` to ``/proc/self/clear_refs``, and the extra
memory is the rise of the peak above the resident size at the start, less the outputs.
The kernel keeps these counters in per-CPU batches, so they are good to a few hundred
KiB: meaningful for the full sizes, noise for ``--quick``. The timed calls run with
glibc's usual (steady-state) thresholds instead, since mmapping every block slows
calls with mid-size temporaries. Where any of this is unavailable the memory columns
read ``n/a``. On CUDA the allocator's peak (``torch.cuda.max_memory_allocated``) is
used instead.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

import fdopt

FULL_SHAPES = ((10**7,), (4096, 4096), (256, 256, 256))
QUICK_SHAPES = ((10**5,), (256, 256), (32, 32, 32))
DTYPES = (torch.float32, torch.float64)
SPACINGS = ("uniform", "scalar", "coords")
EDGE_ORDERS: tuple[Literal[1, 2], ...] = (1, 2)
FULL_REPEAT = 5
QUICK_REPEAT = 2

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# (mmap, trim) thresholds while memory is measured: every block above 64 KiB is mmapped
# and freed memory goes back to the OS at once, so the resident size tracks live memory.
MEASURE_THRESHOLDS = (1 << 16, 1 << 16)
# ... and while timing: the ceilings of glibc's own dynamic thresholds (64-bit), so
# that timed calls reuse freed memory as in any long-running process.
TIMING_THRESHOLDS = (32 << 20, 64 << 20)

PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")

METHODS = ("fdopt", "torch", "numpy", "floor")
RATIOS = ("torch", "numpy", "floor")
COLUMNS = (
    "shape",
    "dtype",
    "spacing",
    "edge_order",
    *(f"{name} ms" for name in METHODS),
    *(f"fdopt/{name}" for name in RATIOS),
    *(f"{name} extra mem (x output)" for name in METHODS[:3]),
    "matches torch",
)
LEGEND = """\
Targets (not asserted; a cell that misses one is marked *): fdopt/torch <= 0.6 for
float64 and <= 1.0 for float32; fdopt/numpy <= 1.0; fdopt/floor <= 2 with a uniform
or scalar spacing and <= 3 with coordinates; fdopt extra mem <= 1.2x output.
floor: one fresh-output a[2:] - a[:-2] pass per dimension. extra mem: peak memory
beyond the outputs, as a multiple of the outputs' size."""

Outputs = tuple[Any, ...]
Call = Callable[[], Outputs]


class MemoryProbe(Protocol):
    """Measures the peak memory one call needs beyond its outputs."""

    def extra_bytes(self, call: Call) -> tuple[Outputs, int | None]:
        """Run ``call`` once; return its outputs and the extra bytes (None if unknown)."""
        ...


def _nbytes(outputs: Outputs) -> int:
    return sum(int(out.nbytes) for out in outputs)


def _status_bytes() -> dict[str, int]:
    """Resident (``VmRSS``) and peak resident (``VmHWM``) size of this process."""
    sizes = {}
    for line in PROC_STATUS.read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, kib, _unit = line.split()
            sizes[name.rstrip(":")] = int(kib) * 1024
    return sizes


def _reset_peak() -> bool:
    """Reset ``VmHWM`` to the current resident size; False where the kernel refuses."""
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _load_glibc() -> ctypes.CDLL | None:
    """Load the C library if it is glibc (it has ``mallopt`` and ``malloc_trim``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


class RssProbe:
    """Peak extra memory of a call from the process's resident set (Linux, glibc).

    Between measurements glibc keeps ``TIMING_THRESHOLDS``; during one it switches to
    ``MEASURE_THRESHOLDS`` and first hands every free page back (``malloc_trim``).
    """

    def __init__(self) -> None:
        self._libc = _load_glibc()
        if self._libc is not None:
            usable = self._set_thresholds(MEASURE_THRESHOLDS) and self._peak_resets()
            self._set_thresholds(TIMING_THRESHOLDS)
            if not usable:
                self._libc = None

    @property
    def available(self) -> bool:
        """Whether memory can be measured."""
        return self._libc is not None

    def _set_thresholds(self, thresholds: tuple[int, int]) -> bool:
        assert self._libc is not None
        mmap, trim = thresholds
        mmap_ok = int(self._libc.mallopt(M_MMAP_THRESHOLD, mmap)) == 1
        trim_ok = int(self._libc.mallopt(M_TRIM_THRESHOLD, trim)) == 1
        return mmap_ok and trim_ok

    def _peak_resets(self) -> bool:
        """Whether freed memory leaves the resident set and the peak can be reset."""
        block = np.ones(1 << 22)  # 32 MiB, touched
        del block
        if not _reset_peak():
            return False
        sizes = _status_bytes()
        return sizes["VmHWM"] - sizes["VmRSS"] < (8 << 20)

    def extra_bytes(self, call: Call) -> tuple[Outputs, int | None]:
        """Run ``call`` once; return its outputs and the extra bytes (None if unknown)."""
        if self._libc is None:
            return call(), None
        gc.collect()
        self._set_thresholds(MEASURE_THRESHOLDS)
        self._libc.malloc_trim(0)
        _reset_peak()
        start = _status_bytes()["VmRSS"]
        try:
            outputs = call()
            peak = _status_bytes()["VmHWM"]
        finally:
            self._set_thresholds(TIMING_THRESHOLDS)
        return outputs, peak - start - _nbytes(outputs)


class CudaProbe:
    """Peak extra memory of a call from the CUDA caching allocator's statistics."""

    def extra_bytes(self, call: Call) -> tuple[Outputs, int | None]:
        """Run ``call`` once; return its outputs and the extra bytes."""
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        outputs = call()
        torch.cuda.synchronize()
        return outputs, torch.cuda.max_memory_allocated() - start - _nbytes(outputs)


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    spacing: str
    edge_order: Literal[1, 2]

    def label(self) -> list[str]:
        """Return the case's cells: shape, dtype, spacing kind, edge_order."""
        shape = "x".join(map(str, self.shape))
        return [shape, str(self.dtype).removeprefix("torch."), self.spacing, str(self.edge_order)]


@dataclass(frozen=True)
class Inputs:
    """The data of one case, as torch and numpy take it."""

    values: torch.Tensor
    torch_spacing: float | list[float] | list[torch.Tensor]
    numpy_spacing: list[float] | list[np.ndarray]


@dataclass(frozen=True)
class Measurement:
    """Median time and peak extra memory (a multiple of the outputs' size) of a call."""

    ms: float
    extra: float | None


@dataclass(frozen=True)
class Row:
    """The measurements of one case."""

    case: Case
    runs: dict[str, Measurement | None]
    matches: bool

    def ratio(self, method: str) -> float | None:
        """Return fdopt's time over ``method``'s (None where ``method`` did not run)."""
        fdopt_run, other = self.runs["fdopt"], self.runs[method]
        if fdopt_run is None or other is None:
            return None
        return fdopt_run.ms / other.ms

    def targets(self) -> dict[str, tuple[float | None, float]]:
        """Return each targeted quantity of fdopt: its value and its target."""
        fdopt_run = self.runs["fdopt"]
        return {
            "fdopt/torch": (self.ratio("torch"), 0.6 if self.case.dtype == torch.float64 else 1.0),
            "fdopt/numpy": (self.ratio("numpy"), 1.0),
            "fdopt/floor": (self.ratio("floor"), 3.0 if self.case.spacing == "coords" else 2.0),
            "fdopt extra mem": (None if fdopt_run is None else fdopt_run.extra, 1.2),
        }

    def misses(self) -> list[str]:
        """Return the targeted quantities that miss their target."""
        return [
            name
            for name, (value, target) in self.targets().items()
            if value is not None and value > target
        ]

    def cells(self) -> list[str]:
        """Return the row's cells, in the order of ``COLUMNS``."""
        missed = self.misses()

        def mark(value: float | None, name: str) -> str:
            if value is None:
                return "n/a"
            return f"{value:.2f}" + ("*" if name in missed else "")

        runs = [self.runs[name] for name in METHODS]
        times = [_format_ms(run) for run in runs]
        ratios = [mark(self.ratio(name), f"fdopt/{name}") for name in RATIOS]
        extras = [
            mark(None if run is None else run.extra, f"{name} extra mem")
            for name, run in zip(METHODS[:3], runs[:3], strict=True)
        ]
        return [*self.case.label(), *times, *ratios, *extras, "yes" if self.matches else "NO"]


def _format_ms(run: Measurement | None) -> str:
    if run is None:
        return "n/a"
    return f"{run.ms:.3g}" if run.ms < 100 else f"{run.ms:.0f}"


def _coordinates(size: int, dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    """Strictly increasing, nonuniform coordinates, exact in ``dtype``.

    Integer steps of 1 or 2: their sum (about 1.5 ``size``) stays below 2**24, where
    float32 still holds every integer, for up to 10**7 points.
    """
    steps = torch.randint(1, 3, (size,), generator=generator)
    return steps.cumsum(0).to(dtype)


def _inputs(case: Case, device: torch.device, generator: torch.Generator) -> Inputs:
    values = torch.randn(case.shape, dtype=case.dtype, generator=generator).to(device)
    if case.spacing == "uniform":
        return Inputs(values, 1, [])
    if case.spacing == "scalar":
        steps = [0.5 / (k + 1) for k in range(values.ndim)]
        return Inputs(values, steps, steps)
    coords = [_coordinates(size, case.dtype, generator) for size in case.shape]
    return Inputs(values, [c.to(device) for c in coords], [c.numpy() for c in coords])


def _floor(values: torch.Tensor) -> Outputs:
    """One fresh-output central difference ``a[2:] - a[:-2]`` per dimension."""
    return tuple(
        torch.sub(values.narrow(d, 2, size - 2), values.narrow(d, 0, size - 2))
        for d, size in enumerate(values.shape)
    )


def _as_outputs(result: Any) -> Outputs:
    """numpy.gradient's result as a tuple (it returns a bare array for 1-D input)."""
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _matches(result: Outputs, reference: Outputs, dtype: torch.dtype) -> bool:
    """Whether ``result`` equals ``reference`` to rounding, dtypes and shapes included.

    Rounding: the largest difference is at most 64 ulp of the largest reference value.
    """
    tol = 64 * torch.finfo(dtype).eps
    if len(result) != len(reference):
        return False
    for out, ref in zip(result, reference, strict=True):
        if out.dtype != ref.dtype or out.shape != ref.shape:
            return False
        largest = torch.linalg.vector_norm(ref, ord=float("inf"))
        if torch.linalg.vector_norm(out - ref, ord=float("inf")) > tol * largest:
            return False
    return True


def _median_ms(call: Call, repeat: int, sync: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        outputs = call()
        sync()
        times.append(time.perf_counter() - start)
        del outputs  # freed outside the timed region, before the next call
    return 1e3 * statistics.median(times)


def _measure(
    call: Call, probe: MemoryProbe, repeat: int, sync: Callable[[], None]
) -> tuple[Outputs, Measurement]:
    """Measure memory on a first call, which is also the warm-up, then time ``repeat`` calls."""
    outputs, extra = probe.extra_bytes(call)
    ms = _median_ms(call, repeat, sync)
    return outputs, Measurement(ms, None if extra is None else extra / _nbytes(outputs))


def run_case(
    case: Case,
    device: torch.device,
    probe: MemoryProbe,
    repeat: int,
    generator: torch.Generator,
) -> Row:
    """Measure every method on one case.

    Parameters
    ----------
    case : Case
        Shape, dtype, spacing kind and edge order.
    device : torch.device
        Where the torch tensors live; numpy runs only on ``cpu``.
    probe : MemoryProbe
        How the peak extra memory is measured.
    repeat : int
        Timed calls per method (their median is reported).
    generator : torch.Generator
        Source of the random values and coordinates.

    Returns
    -------
    Row
        The measurements, and whether fdopt's result matches torch's.
    """
    inputs = _inputs(case, device, generator)
    values, spacing, edge = inputs.values, inputs.torch_spacing, case.edge_order
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None

    def torch_call() -> Outputs:
        return torch.gradient(values, spacing=spacing, edge_order=edge)

    def fdopt_call() -> Outputs:
        return fdopt.gradient(values, spacing=spacing, edge_order=edge)

    reference, torch_run = _measure(torch_call, probe, repeat, sync)
    result, fdopt_run = _measure(fdopt_call, probe, repeat, sync)
    matches = _matches(result, reference, case.dtype)
    del reference, result
    numpy_run = None
    if device.type == "cpu":
        array = values.numpy()

        def numpy_call() -> Outputs:
            return _as_outputs(np.gradient(array, *inputs.numpy_spacing, edge_order=edge))

        numpy_run = _measure(numpy_call, probe, repeat, sync)[1]
    floor_run = _measure(lambda: _floor(values), probe, repeat, sync)[1]
    runs = {"fdopt": fdopt_run, "torch": torch_run, "numpy": numpy_run, "floor": floor_run}
    return Row(case, runs, matches)


def check_probe(probe: MemoryProbe, device: torch.device) -> str:
    """Measure calls that hold a temporary of twice their output's size.

    Parameters
    ----------
    probe : MemoryProbe
        The memory probe to check.
    device : torch.device
        Where the torch calls allocate; the numpy calls run only on ``cpu``.

    Returns
    -------
    str
        A line with the extra memory measured (2.00x output when the probe is right),
        for outputs of 4 MiB (heap-sized) and of 32 MiB.
    """
    found = []
    for size in (1 << 19, 1 << 22):

        def torch_call(size: int = size) -> Outputs:
            temporary = torch.ones(2 * size, dtype=torch.float64, device=device)
            return (temporary[:size] + temporary[size:],)

        def numpy_call(size: int = size) -> Outputs:
            temporary = np.ones(2 * size)
            return (temporary[:size] + temporary[size:],)

        calls = {"torch": torch_call} | ({"numpy": numpy_call} if device.type == "cpu" else {})
        for name, call in calls.items():
            call()  # warm-up
            outputs, extra = probe.extra_bytes(call)
            ratio = "n/a" if extra is None else f"{extra / _nbytes(outputs):.2f}x"
            found.append(f"{name} {size >> 17} MiB: {ratio}")
    return f"memory check, a call holding a 2x temporary (expect 2.00x): {', '.join(found)}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load_average() -> str:
    """Return the 1-minute load average: other processes' work skews the timings."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def _format_line(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"


def _summary(rows: list[Row]) -> str:
    worst = []
    for name in rows[0].targets():
        found = [(row.targets()[name][0], row) for row in rows]
        known = [(value, row) for value, row in found if value is not None]
        if known:
            value, row = max(known, key=lambda item: item[0])
            worst.append(f"{name} {value:.2f} ({' '.join(row.case.label())})")
    missed = sum(bool(row.misses()) for row in rows)
    mismatched = sum(not row.matches for row in rows)
    return (
        f"Worst: {'; '.join(worst)}. Rows missing a target: {missed} of {len(rows)}. "
        f"Rows where fdopt does not match torch: {mismatched}."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeat", type=int, help="timed calls per method (median)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    repeat = args.repeat or (QUICK_REPEAT if args.quick else FULL_REPEAT)
    gc.freeze()  # objects alive now are permanent: the gc.collect() of each measurement is quick
    device = torch.device(args.device)
    probe: MemoryProbe = CudaProbe() if device.type == "cuda" else RssProbe()
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    cases = [
        Case(shape, dtype, spacing, edge)
        for shape in shapes
        for dtype in DTYPES
        for spacing in SPACINGS
        for edge in EDGE_ORDERS
    ]

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"fdopt {fdopt.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}"
    )
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    print(
        f"device: {device.type} ({hardware}); torch threads: {torch.get_num_threads()}; "
        f"load average: {_load_average()}"
    )
    print(f"timing: median of {repeat} calls after the memory-measured (warm-up) call")
    print(check_probe(probe, device))
    print()
    print(LEGEND)
    print()
    widths = [max(len(column), 8) for column in COLUMNS]
    widths[0] = max(widths[0], *(len(case.label()[0]) for case in cases))
    print(_format_line(list(COLUMNS), widths))
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")

    generator = torch.Generator().manual_seed(0)
    rows = []
    for case in cases:
        row = run_case(case, device, probe, repeat, generator)
        rows.append(row)
        print(_format_line(row.cells(), widths), flush=True)
    print()
    print(_summary(rows))
    print(f"load average at the end: {_load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
