"""Smoke tests: each benchmark script runs end to end with ``--quick``."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "examples" / "benchmarks"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark script ``name`` with ``args``; it must exit with status 0."""
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


@pytest.mark.slow
def test_grid_gradient_quick() -> None:
    # One torch thread: the run stays quick beside other tests on a busy machine.
    completed = run_script("grid_gradient.py", "--quick", "--threads", "1")
    header = next((line for line in completed.stdout.splitlines() if line.startswith("| ")), "")
    for column in ("shape", "fdopt ms", "torch ms", "numpy ms", "floor ms", "fdopt/torch"):
        assert column in header
    assert "Rows where fdopt does not match torch: 0." in completed.stdout


@pytest.mark.slow
def test_blackbox_gradient_quick() -> None:
    completed = run_script("blackbox_gradient.py", "--quick")
    headers = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    titles = ("Vectorized numpy", "Vectorized torch", "Plain function", "Accuracy over 4 random")
    for title in titles:
        assert title in completed.stdout
    columns = ("fdopt central", "one batch", "chunked", "fdopt/limit", "bare loop", "nfev n=100")
    columns += ("fdopt richardson", "numdifftools")
    for column in columns:
        assert any(column in header for header in headers), column
    assert "Targets missed" in completed.stdout


@pytest.mark.slow
def test_optimize_quick() -> None:
    completed = run_script("optimize.py", "--quick", "--seeds", "2")
    headers = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    assert any("fdopt adam" in header and "scipy L-BFGS-B" in header for header in headers)
    assert any(line.startswith("| solver | deterministic") for line in headers)
    assert "| fdopt momentum |" in completed.stdout
    assert "| solver | deterministic | mean | noise 1e-3 | mean |" in completed.stdout
    assert re.search(r"^\| fdopt adam \| \d+, \d+ \| \d+\.\d \|", completed.stdout, re.M)


@pytest.mark.slow
def test_data_profiles_quick() -> None:
    # Two worker processes: the run stays quick and the parallel path is exercised.
    completed = run_script("data_profiles.py", "--quick", "--jobs", "2")
    headers = [line for line in completed.stdout.splitlines() if line.startswith("| solver |")]
    assert len(headers) == 2  # --quick: deterministic and relative noise 1e-3
    for column in ("1e-1 k=10", "1e-3 k=100", "1e-7 k=100", "budget used"):
        assert all(column in header for header in headers), column
    for title in ("Deterministic:", "Relative noise 1e-3:"):
        assert title in completed.stdout
    for row in ("| fdopt lbfgs |", "| scipy L-BFGS-B |", "| scipy COBYLA |"):
        assert row in completed.stdout
    assert "Target (deterministic, within 100(n+1))" in completed.stdout
    assert "Target (noisy, within 100(n+1))" in completed.stdout


@pytest.mark.slow
def test_multistart_quick() -> None:
    completed = run_script("multistart.py", "--quick", "--iterations", "3")
    headers = [line for line in completed.stdout.splitlines() if line.startswith("| device |")]
    assert len(headers) == 2  # shared calls, and the same with a cost per call
    for column in ("s / iter", "calls / iter", "points / call", "ms / start-iter", "vs k=1"):
        assert all(column in header for header in headers), column
    rows = [line for line in completed.stdout.splitlines() if line.startswith("|    cpu |")]
    assert len(rows) == 6  # k = 1, 4, 16, twice
    assert ("CUDA: no CUDA device" in completed.stdout) != torch.cuda.is_available()
