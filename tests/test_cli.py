import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fdopt
from fdopt.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "surface.npy"


@pytest.fixture
def surface(tmp_path):
    x = np.linspace(0.0, 1.0, 21)
    values = np.sin(x)[:, None] * np.cos(2 * x)[None, :]
    path = tmp_path / "values.npy"
    np.save(path, values)
    return path, values, x


def test_gradient_command_matches_the_library(surface, tmp_path, capsys):
    path, values, _ = surface
    out = tmp_path / "grad.npz"
    code = main(["gradient", str(path), "--spacing", "0.05", "--accuracy", "4", "--out", str(out)])
    assert code == 0
    saved = np.load(out)
    expected = fdopt.gradient(values, spacing=0.05, accuracy=4)
    assert sorted(saved.files) == ["grad_dim0", "grad_dim1"]
    np.testing.assert_array_equal(saved["grad_dim0"], expected[0])
    np.testing.assert_array_equal(saved["grad_dim1"], expected[1])
    assert "wrote 2 derivative(s)" in capsys.readouterr().out


def test_gradient_command_with_coordinates_and_dims(surface, tmp_path):
    path, values, x = surface
    coords = tmp_path / "x.npy"
    np.save(coords, x**2 + x)
    out = tmp_path / "grad.npz"
    code = main(
        [
            "gradient",
            str(path),
            "--spacing",
            str(coords),
            "--dim",
            "0",
            "--edge-order",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    (expected,) = fdopt.gradient(values, spacing=[x**2 + x], dim=0, edge_order=2)
    np.testing.assert_array_equal(np.load(out)["grad_dim0"], expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spacing", "0.1", "0.2", "0.3"], "spacing has 3 entries"),
        (["--accuracy", "3"], "accuracy"),
        (["--edge-order", "0"], "edge_order"),
        (["--spacing", "missing.npy"], "cannot read missing.npy"),
        (["--dim", "5"], "dim 5 is out of range"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(surface, tmp_path, capsys, args, message):
    path, _, _ = surface
    code = main(["gradient", str(path), *args, "--out", str(tmp_path / "g.npz")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert not (tmp_path / "g.npz").exists()


def test_missing_input_file(tmp_path, capsys):
    assert main(["gradient", str(tmp_path / "nope.npy"), "--out", str(tmp_path / "g.npz")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_python_dash_m_runs_and_reports_version():
    done = subprocess.run(
        [sys.executable, "-m", "fdopt", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"fdopt {fdopt.__version__}"


def test_shipped_sample_runs(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fdopt",
            "gradient",
            str(SAMPLE),
            "--spacing",
            "0.05",
            "--accuracy",
            "4",
            "--out",
            str(tmp_path / "gradient.npz"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "gradient.npz")["grad_dim0"].shape == (81, 61)
