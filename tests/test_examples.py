"""The example scripts: each runs end to end as a subprocess and prints what it promises.

Each script runs with warnings as errors (``python -W error``) and exits 0; the test
reads its key lines and checks the outcome (a stable controller that beats
Ziegler-Nichols, a minimizer near the true one, scipy runs that converge). A script's own
failure check (exit status 1) is exercised in process, with a budget too small to win.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args):
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name[:-3]}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def numbers_in(line):
    return [float(text) for text in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", line)]


def line_starting(output, prefix):
    matches = [line for line in output.splitlines() if line.startswith(prefix)]
    assert matches, f"no line starts with {prefix!r} in:\n{output}"
    return matches[0]


@pytest.mark.slow
def test_pid_tuning(tmp_path):
    plot = tmp_path / "steps.png"
    output = run_example("pid_tuning.py", "--maxfev", "200", "--threads", "1", "--plot", str(plot))
    ku, tu = numbers_in(line_starting(output, "Ultimate gain"))
    assert ku == pytest.approx(1.7542, abs=1e-4)
    assert tu == pytest.approx(9.6928, abs=1e-4)
    zn = numbers_in(line_starting(output, "Ziegler-Nichols "))
    tuned = numbers_in(line_starting(output, "fdopt adam "))
    assert zn[:3] == pytest.approx([0.6 * ku, 1.2 * ku / tu, 0.075 * ku * tu], abs=2e-4)
    assert len(zn) == len(tuned) == 7  # gains, cost, rise, overshoot, settling
    assert tuned[3] < 0.5 * zn[3]  # cost
    assert tuned[5] < zn[5]  # overshoot
    spent, budget = map(int, re.findall(r"\d+", line_starting(output, "Evaluations"))[:2])
    assert budget == 200
    assert 190 <= spent <= 200  # spent, never exceeded (a gradient takes 4)
    assert "status 4: maxfev" in output
    assert "Tuned loop stable: yes" in output
    assert "OK: the tuned loop is stable and beats Ziegler-Nichols" in output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pid_tuning_exits_1_when_the_tuned_loop_does_not_win(capsys):
    example = load_example("pid_tuning.py")
    assert example.main(["--maxfev", "1"]) == 1  # one evaluation: the start, unchanged
    captured = capsys.readouterr()
    assert "FAILED" in captured.err


def test_pid_ultimate_gain_puts_poles_on_the_imaginary_axis():
    example = load_example("pid_tuning.py")
    ku, tu = example.ultimate_gain_and_period([1.0], [1.0, 3.0, 3.0, 1.0])  # 1/(s+1)^3
    assert ku == pytest.approx(8.0, rel=1e-12)  # the textbook values
    assert tu == pytest.approx(2 * 3.141592653589793 / 3**0.5, rel=1e-12)
    with pytest.raises(ValueError, match="never reaches -180"):
        example.ultimate_gain_and_period([1.0], [1.0, 1.0])


@pytest.mark.slow
def test_sampled_function():
    output = run_example("sampled_function.py", "--maxfev", "1000")
    grid = numbers_in(line_starting(output, "the samples (best grid node)"))
    order2 = numbers_in(line_starting(output, "interpolant, gradient accuracy=2"))
    order4 = numbers_in(line_starting(output, "interpolant, gradient accuracy=4"))
    assert order4[0] == pytest.approx(1.0, abs=0.01)
    assert order4[1] == pytest.approx(1.0, abs=0.01)
    assert order4[2] < min(grid[2], order2[2]) / 10  # distances to (1, 1)
    found = numbers_in(line_starting(output, "  found x ="))
    assert found[:2] == pytest.approx([1.0, -0.5], abs=1e-3)
    assert "OK: the order-4 interpolant's minimizer is within 0.01" in output


@pytest.mark.slow
def test_scipy_integration():
    output = run_example("scipy_integration.py", "--maxfev", "2000")
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in output.splitlines()
        if line.startswith("| ") and not line.startswith("| run")
    }
    assert len(rows) == 7
    adam = rows["method=fdopt.method('adam')"]
    assert float(adam[1]) < 1e-3
    assert int(adam[2]) <= 2000  # a hard budget
    for name in ("L-BFGS-B, scipy's differences", "L-BFGS-B, jac=fdopt.Gradient forward"):
        assert float(rows[name][1]) < 1e-8
        assert rows[name][4] == "True"
    central = rows["L-BFGS-B, jac=fdopt.Gradient central"]
    assert float(central[1]) < 1e-8
    assert float(rows["float32 x0, jac=fdopt.Gradient"][1]) < float(
        rows["float32 x0, scipy's differences"][1]
    )
    assert float(rows["Nelder-Mead, callback=Recorder()"][1]) < 1e-6
    assert re.search(r"Recorder in the Adam run: \d+ iterates", output)
    assert re.search(r"Recorder in Nelder-Mead: \d+ iterates, .* shape \(\d+, 2\)", output)
