"""Smoke tests: each benchmark script runs end to end with ``--quick``."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "examples" / "benchmarks"


@pytest.mark.slow
def test_grid_gradient_quick() -> None:
    # One torch thread: the run stays quick beside other tests on a busy machine.
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "grid_gradient.py"), "--quick", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    header = next((line for line in completed.stdout.splitlines() if line.startswith("| ")), "")
    for column in ("shape", "fdopt ms", "torch ms", "numpy ms", "floor ms", "fdopt/torch"):
        assert column in header
    assert "Rows where fdopt does not match torch: 0." in completed.stdout
