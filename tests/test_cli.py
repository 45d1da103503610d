import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fdopt
from fdopt.cli import main
from fdopt.settings import RunConfig, load_config

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


def test_gradient_command_writes_the_path_it_names(surface, tmp_path, capsys):
    # numpy appended ".npz": "wrote ... to d.npy" named a file that did not exist.
    path, values, _ = surface
    out = tmp_path / "d.npy"
    assert main(["gradient", str(path), "--out", str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(out)["grad_dim0"], fdopt.gradient(values)[0])
    missing = tmp_path / "nowhere" / "d.npz"
    assert main(["gradient", str(path), "--out", str(missing)]) == 2
    assert "--out" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-command"], "invalid choice: 'no-such-command'"),
        (["run"], "fdopt run: error: the following arguments are required: CONFIG"),
        (["gradient", "x.npy"], "the following arguments are required: --out"),
        (["problems", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_argparse_errors_are_one_line_and_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # no usage block: one line
    assert message in err


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


# -- fdopt run --------------------------------------------------------------------------

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

OBJECTIVES = """\
import numpy as np

CALLS = {"n": 0}


def sphere(x):
    return float(np.sum((np.asarray(x) - 1.0) ** 2))


def interrupted(x):
    CALLS["n"] += 1
    if CALLS["n"] > 30:
        raise KeyboardInterrupt
    return sphere(x)


def failing(x):
    CALLS["n"] += 1
    if CALLS["n"] > 40:
        raise ValueError("the simulator crashed")
    return sphere(x)
"""


@pytest.fixture(autouse=True)
def _no_fdopt_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("FDOPT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def objectives(tmp_path, monkeypatch):
    """A module ``fdopt_cli_objectives`` in the current directory (as users keep them)."""
    (tmp_path / "fdopt_cli_objectives.py").write_text(OBJECTIVES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "fdopt_cli_objectives", raising=False)
    yield "fdopt_cli_objectives"
    sys.modules.pop("fdopt_cli_objectives", None)


def _config(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _one_line_error(capsys, code, *fragments):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("fdopt: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _config_cases():
    for path in sorted(CONFIGS.glob("*.toml")):
        yield pytest.param(path, id=path.name)


@pytest.mark.parametrize("path", list(_config_cases()))
def test_every_shipped_config_converges(path, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = main(["run", str(path), "--out", str(out)])
    table = capsys.readouterr().out
    assert code == 0, table
    result = json.loads(out.read_text())
    assert result["success"] is True
    assert result["status"] in (0, 1, 2)  # gtol, ftol or xtol: converged, not a budget
    assert result["message"].startswith("converged")
    assert result["fdopt_version"] == fdopt.__version__
    assert len(result["x"]) == result["config"]["problem"]["n"]
    assert len(result["history"]["fun"]) == result["nit"]
    assert result["history"]["nfev"][-1] <= result["nfev"]
    assert f"message  {result['message']}" in table
    # the resolved config is a valid config that names the same run
    config = RunConfig.model_validate(result["config"])
    assert config == load_config(path).model_copy(
        update={
            "x0": config.x0,
            "bounds": config.bounds,
            "problem": config.problem,
            "output": config.output,
        }
    )
    assert config.output.history is True


def test_quickstart_result_is_the_minimum(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert main(["run", str(CONFIGS / "quickstart.toml"), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    np.testing.assert_allclose(result["x"], [3.0, 0.5], atol=1e-4)  # Beale's minimum
    assert result["f_star"] == 0.0
    table = capsys.readouterr().out
    for row in ("problem  beale", "method   adam", "f*       0", "f - f*", "nfev", "nit"):
        assert row in table


def test_set_and_environment_override_the_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "result.json"
    quickstart = str(CONFIGS / "quickstart.toml")
    assert main(["run", quickstart, "--set", "stop.maxiter=3", "--out", str(out)]) == 1
    result = json.loads(out.read_text())
    assert (result["nit"], result["status"], result["success"]) == (3, 3, False)
    assert result["config"]["stop"]["maxiter"] == 3
    assert "maxiter iterations reached" in capsys.readouterr().out
    monkeypatch.setenv("FDOPT_STOP__MAXFEV", "30")
    assert main(["run", quickstart, "--out", str(out)]) == 1
    result = json.loads(out.read_text())
    assert (result["status"], result["config"]["stop"]["maxfev"]) == (4, 30)
    assert result["nfev"] <= 30
    assert main(["run", quickstart, "--set", "stop.maxfev=20", "--out", str(out)]) == 1
    assert json.loads(out.read_text())["config"]["stop"]["maxfev"] == 20


@pytest.mark.parametrize(
    ("text", "overrides", "fragments"),
    [
        ('problem = "sphere"\n[stop]\nmaxfev = 0\n', [], ["stop.maxfev:", "(got 0)"]),
        ('problem = "sphere"\n[stop]\nmaxfevs = 9\n', [], ["stop.maxfevs: unknown setting"]),
        ('problem = "sphere"\n', ["optimizer.beta1=1.5"], ["optimizer.beta1: Input should be"]),
        ('problem = "sphere"\n', ["method=newton"], ["method: method must be one of"]),
        ('problem = "sphere"\n', ["stop.maxiter"], ["expected KEY.PATH=VALUE"]),
        ('problem = "sphere"\nmethod =\n', [], ["invalid TOML", "line 2"]),
        ('problem = "rosenbrok"\n', [], ["problem: unknown problem 'rosenbrok'; valid names:"]),
        ('problem = "sphere"\nx0 = [1, 2]\n', [], ["x0: 2 entries for problem 'sphere' of n=10"]),
        ('objective = "fdopt_nowhere:f"\nx0 = [1.0]\n', [], ["cannot import module"]),
        ("seed = 1\n", [], ["a run needs problem = NAME"]),
    ],
)
def test_bad_configs_are_one_line_and_exit_2(tmp_path, capsys, text, overrides, fragments):
    path = _config(tmp_path, text)
    sets = [item for override in overrides for item in ("--set", override)]
    code = main(["run", str(path), *sets, "--out", str(tmp_path / "r.json")])
    _one_line_error(capsys, code, *fragments)
    assert not (tmp_path / "r.json").exists()


def test_bad_files_and_paths_exit_2(tmp_path, capsys, monkeypatch):
    code = main(["run", str(tmp_path / "missing.toml")])
    _one_line_error(capsys, code, "cannot read", "missing.toml")
    path = _config(tmp_path, 'problem = "sphere"\n')
    code = main(["run", str(path), "--out", str(tmp_path / "no" / "r.json")])
    _one_line_error(capsys, code, "--out", "does not exist")
    monkeypatch.setenv("FDOPT_MAXITER", "5")
    _one_line_error(capsys, main(["run", str(path)]), "FDOPT_MAXITER", "not a setting")


def test_plot_needs_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    path = _config(tmp_path, 'problem = "sphere"\n')
    code = main(["run", str(path), "--plot", str(tmp_path / "c.png")])
    _one_line_error(capsys, code, "--plot needs matplotlib", "pip install 'fdopt[plot]'")


def test_plot_is_written(tmp_path, capsys, objectives):
    pytest.importorskip("matplotlib")
    known = tmp_path / "known.png"
    assert main(["run", str(CONFIGS / "sampled-grid.toml"), "--plot", str(known)]) == 0
    unknown = tmp_path / "unknown.png"  # f* unknown: f itself
    path = _config(tmp_path, f'objective = "{objectives}:sphere"\nx0 = [0.0, 0.0]\n')
    assert main(["run", str(path), "--plot", str(unknown)]) == 0
    for png in (known, unknown):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_objective_from_the_current_directory(tmp_path, capsys, objectives):
    path = _config(tmp_path, f'objective = "{objectives}:sphere"\nx0 = [0.0, 0.0]\nmethod = "gd"\n')
    out = tmp_path / "r.json"
    assert main(["run", str(path), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    np.testing.assert_allclose(result["x"], 1.0, atol=1e-6)
    assert result["f_star"] is None
    table = capsys.readouterr().out
    assert f"objective  {objectives}:sphere" in table
    assert "f*" not in table


def test_interrupt_prints_the_best_point_and_exits_130(tmp_path, capsys, objectives):
    path = _config(tmp_path, f'objective = "{objectives}:interrupted"\nx0 = [0.0, 0.0]\n')
    code = main(["run", str(path), "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 130
    assert "fdopt: interrupted at iteration" in err
    assert "best point so far" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_a_raising_function_ends_the_run_with_exit_1(tmp_path, capsys, objectives):
    path = _config(tmp_path, f'objective = "{objectives}:failing"\nx0 = [0.0, 0.0]\n')
    out = tmp_path / "r.json"
    code = main(["run", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "the simulator crashed" in captured.err
    assert "the function failed: fun raised" in captured.out
    result = json.loads(out.read_text())
    assert (result["status"], result["success"]) == (8, False)
    assert result["fun"] < 2.0  # the best point before the crash, f(x0) = 2


def test_problems_lists_the_library(capsys):
    from fdopt.problems import PROBLEMS

    assert main(["problems"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "n", "dimensions", "f*", "description"]
    names = [line.split()[0] for line in lines[2:]]
    assert names == list(PROBLEMS)
    rosenbrock = next(line for line in lines if line.startswith("rosenbrock "))
    assert rosenbrock.split()[:4] == ["rosenbrock", "2", ">=", "2"]
    assert "0" in rosenbrock.split()


def test_help_lists_the_commands_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("run", "problems", "gradient", "130"):
        assert word in text
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for word in ("--set", "--out", "--plot", "FDOPT_STOP__MAXFEV"):
        assert word in text


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["run", str(CONFIGS / "quickstart.toml")]) == 0
    bar = terminal.getvalue()
    assert "beale" in bar
    assert "best=" in bar
    assert "nfev=" in bar
    assert "success  True" in capsys.readouterr().out  # the table on stdout


def test_closed_output_stops_quietly(monkeypatch):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise io.UnsupportedOperation("no descriptor")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["problems"]) == 141
