"""The ``fdopt`` command (also ``python -m fdopt``).

- ``fdopt run CONFIG [--set KEY.PATH=VALUE ...] [--out RESULT.json] [--plot CONV.png]``
  runs a TOML run config (:func:`fdopt.load_config`, :func:`fdopt.run_config`): a
  progress bar on stderr, a result table on stdout, the result as JSON and a
  convergence plot on request.
- ``fdopt problems`` lists the built-in problems.
- ``fdopt gradient INPUT.npy ...`` writes grid gradients of an array saved with
  ``numpy.save``.

Exit codes: 0 success (``run``: converged, a tolerance met); 1 ``run`` finished without
meeting its tolerances (iterations, evaluations or time spent, no progress, or the
function raised); 2 bad usage, config or input (one line on stderr, no traceback);
130 interrupted (``run`` prints the best point so far); 141 the output was closed early.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from pydantic import ValidationError
from scipy.optimize import OptimizeResult

from fdopt._version import __version__
from fdopt.callbacks import ProgressBar, Recorder
from fdopt.errors import FdoptError, FunctionError
from fdopt.grid import gradient
from fdopt.problems import list_problems
from fdopt.runner import Job, prepare
from fdopt.settings import GridSettings, RunConfig, describe_validation_error, load_config

__all__ = ["EXIT_INTERRUPTED", "EXIT_NOT_CONVERGED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
"""Success: the run converged (a gtol, ftol or xtol test met), or the command worked."""
EXIT_NOT_CONVERGED = 1
"""The run finished without meeting its tolerances."""
EXIT_USAGE = 2
"""Bad usage, config or input."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""
EXIT_BROKEN_PIPE = 141
"""The output was closed early (128 + SIGPIPE, as the shell reports it)."""


class UsageError(Exception):
    """A problem with the command line or its input files."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line on stderr (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (PROG --help: usage)`` and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} ({self.prog} --help: usage)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fdopt",
        description="Finite-difference derivatives and gradient-free optimization.",
        epilog="Exit codes: 0 success (run: converged), 1 run finished without meeting its "
        "tolerances, 2 bad usage or config, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"fdopt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a TOML config",
        description="Minimize what a TOML config describes. Precedence: --set, then FDOPT_* "
        "environment variables (FDOPT_STOP__MAXFEV=40 sets [stop] maxfev), then the file.",
        epilog="Exit codes: 0 converged, 1 finished without meeting its tolerances, "
        "2 bad usage or config, 130 interrupted.",
    )
    run.add_argument("config", type=Path, metavar="CONFIG", help="the TOML file")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a setting, e.g. stop.maxfev=50 or optimizer.lr=1e-3 (repeatable; "
        "values are TOML: 50 is an int, gd a string, null resets)",
    )
    run.add_argument("--out", type=Path, metavar="RESULT.json", help="write the result as JSON")
    run.add_argument(
        "--plot", type=Path, metavar="CONV.png", help="plot the convergence (needs matplotlib)"
    )

    commands.add_parser(
        "problems",
        help="list the built-in problems",
        description="The problem library (fdopt.problems): name, default and allowed "
        "dimensions, known minimum, description.",
    )

    grad = commands.add_parser(
        "gradient",
        help="grid gradient of an array saved with numpy.save",
        description="Write the gradient of INPUT.npy along each dimension to an .npz file "
        "(arrays grad_dim0, grad_dim1, ...).",
    )
    grad.add_argument("input", type=Path, metavar="INPUT.npy")
    grad.add_argument(
        "--spacing",
        nargs="+",
        default=["1"],
        metavar="S",
        help="one step for all dimensions, or one entry per dimension: a step or the "
        "path of a .npy file of coordinates (default 1)",
    )
    grad.add_argument("--dim", type=int, nargs="+", default=None, help="dimensions (default all)")
    grad.add_argument("--accuracy", type=int, default=2, help="2, 4, 6 or 8 (default 2)")
    grad.add_argument("--edge-order", type=int, default=1, help="1 or 2 (default 1)")
    grad.add_argument("--out", type=Path, required=True, metavar="OUT.npz")
    return parser


# -- gradient -------------------------------------------------------------------------


def _load(path: Path) -> np.ndarray[Any, Any]:
    try:
        array: np.ndarray[Any, Any] = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    return array


def _spacing_entry(text: str) -> float | np.ndarray[Any, Any]:
    try:
        return float(text)
    except ValueError:
        return _load(Path(text))


def _gradient_command(args: argparse.Namespace) -> int:
    options = GridSettings(accuracy=args.accuracy, edge_order=args.edge_order)
    _check_writable(args.out, "--out")
    values = _load(args.input)
    entries = [_spacing_entry(text) for text in args.spacing]
    spacing = entries[0] if len(entries) == 1 and isinstance(entries[0], float) else entries
    dims = args.dim if args.dim is not None else list(range(values.ndim))
    results = gradient(
        values,
        spacing=spacing,
        dim=dims,
        accuracy=options.accuracy,
        edge_order=options.edge_order,
    )
    # To the path given: numpy appends ".npz" to a name without it, and the message
    # below named a file that did not exist.
    with open(args.out, "wb") as handle:
        np.savez(handle, **{f"grad_dim{d}": r for d, r in zip(dims, results, strict=True)})
    print(
        f"wrote {len(results)} derivative(s) of shape {values.shape} ({results[0].dtype}) "
        f"to {args.out}"
    )
    return EXIT_OK


# -- problems -------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _problems_command(args: argparse.Namespace) -> int:
    rows = [
        [
            info.name,
            str(info.n),
            info.dimensions,
            "unknown" if info.f_star is None else f"{info.f_star:.6g}",
            info.description,
        ]
        for info in list_problems()
    ]
    print(_table(rows, ["name", "n", "dimensions", "f*", "description"]))
    return EXIT_OK


# -- run ------------------------------------------------------------------------------


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise UsageError(
            f"--plot needs matplotlib ({exc}); install it with: pip install 'fdopt[plot]'"
        ) from exc
    return Figure


def _check_writable(path: Path | None, option: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"{option} {path}: the directory {path.parent} does not exist")


@contextlib.contextmanager
def _importable_here() -> Iterator[None]:
    """Let ``objective = "module:function"`` find modules of the current directory."""
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(here)


def _with_history(config: RunConfig) -> RunConfig:
    """Return the config with history on: ``fdopt run`` always records it."""
    data = config.model_dump()
    data["output"]["history"] = True
    return RunConfig.model_validate(data)


def _numbers(value: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def _format_x(x: Any) -> str:
    return np.array2string(_numbers(x), precision=8, separator=", ", threshold=20)


def _result_table(job: Job, result: OptimizeResult) -> str:
    fun = float(result.fun)
    rows = [
        ["problem" if job.config.problem is not None else "objective", job.name],
        ["method", job.config.method],
        ["x", _format_x(result.x)],
        ["fun", f"{fun:.10g}"],
    ]
    if job.f_star is not None:
        rows += [["f*", f"{job.f_star:.10g}"], ["f - f*", f"{fun - job.f_star:.3e}"]]
    rows += [
        ["nfev", str(result.nfev)],
        ["nit", str(result.nit)],
        ["success", str(bool(result.success))],
        ["message", str(result.message)],
    ]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _jsonable(value: Any) -> Any:
    """``value`` with arrays as lists and NaN or infinite numbers as null (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _jsonable(_numbers(value).tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _result_json(result: OptimizeResult) -> dict[str, Any]:
    history = dict(result.get("history", {}))
    for counter in ("nit", "nfev"):  # counts, recorded as floats
        if counter in history:
            history[counter] = np.asarray(history[counter]).astype(np.int64)
    payload = {
        "x": result.x,
        "fun": result.fun,
        "f_star": result.get("f_star"),
        "nfev": result.nfev,
        "nit": result.nit,
        "success": result.success,
        "status": result.status,
        "message": result.message,
        "history": history,
        "config": result.get("config"),
        "fdopt_version": result.get("fdopt_version", __version__),
    }
    jsonable: dict[str, Any] = _jsonable(payload)
    return jsonable


def _plot(path: Path, job: Job, result: OptimizeResult) -> None:
    figure = _figure_class()(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    history = result.get("history", {})
    nfev = np.asarray(history.get("nfev", []), dtype=np.float64)
    best = np.asarray(history.get("best", []), dtype=np.float64)
    fun = np.asarray(history.get("fun", []), dtype=np.float64)
    if job.f_star is not None:
        floor = np.finfo(np.float64).eps * max(1.0, abs(job.f_star))  # rounding level
        best, fun = (np.maximum(values - job.f_star, floor) for values in (best, fun))
        axes.set_ylabel("f - f*")
        if nfev.size:
            axes.set_yscale("log")
    else:
        axes.set_ylabel("f")
    if np.isfinite(fun).any():
        axes.plot(nfev, fun, color="0.6", linewidth=0.8, label="at the iterate")
    axes.plot(nfev, best, color="C0", linewidth=1.6, label="best so far")
    axes.set_xlabel("function evaluations")
    axes.set_title(f"{job.name}: {job.config.method} — {result.message}", fontsize="small")
    axes.legend()
    figure.savefig(path)


def _interrupted(recorder: Recorder) -> None:
    funs = np.array(
        [math.nan if r.fun is None else float(np.min(_numbers(r.fun))) for r in recorder]
    )
    if not np.isfinite(funs).any():
        print("fdopt: interrupted before an iteration finished", file=sys.stderr)
        return
    best = recorder[int(np.nanargmin(funs))]
    print(
        f"fdopt: interrupted at iteration {recorder[-1].nit}; best point so far (iteration "
        f"{best.nit}): fun = {funs[int(np.nanargmin(funs))]:.10g} at x = {_format_x(best.x)}",
        file=sys.stderr,
    )


def _run_command(args: argparse.Namespace) -> int:
    if args.plot is not None:
        _figure_class()  # fail now, not after the run
    _check_writable(args.out, "--out")
    _check_writable(args.plot, "--plot")
    try:
        config = _with_history(load_config(args.config, args.set))
    except OSError as exc:
        raise UsageError(f"cannot read {args.config}: {exc.strerror or exc}") from exc
    with _importable_here():
        job = prepare(config)
    recorder = Recorder()
    bar = ProgressBar(total=config.stop.maxiter, desc=job.name)

    def callback(intermediate_result: OptimizeResult) -> None:
        recorder(intermediate_result)
        bar(intermediate_result)

    try:
        with bar:
            result = job.run(callback)
    except KeyboardInterrupt:
        _interrupted(recorder)
        return EXIT_INTERRUPTED
    except FunctionError as exc:
        if not isinstance(exc.result, OptimizeResult):
            raise
        print(f"fdopt: {exc} (caused by {exc.__cause__!r})", file=sys.stderr)
        result = exc.result
    print(_result_table(job, result))
    if args.out is not None:
        args.out.write_text(json.dumps(_result_json(result), indent=2, allow_nan=False) + "\n")
    if args.plot is not None:
        _plot(args.plot, job, result)
    return EXIT_OK if result.success else EXIT_NOT_CONVERGED


_COMMANDS = {"run": _run_command, "problems": _problems_command, "gradient": _gradient_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fdopt`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 success (``run``: converged), 1 ``run`` finished without meeting its
        tolerances, 2 bad usage, config or input, 130 interrupted.
    """
    args = _parser().parse_args(argv)
    where = f"{args.config}: " if args.command == "run" else ""
    try:
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # stdout closed early (fdopt problems | head): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (UsageError, FdoptError, OSError) as exc:
        print(f"fdopt: error: {exc}", file=sys.stderr)
    except ValidationError as exc:
        print(f"fdopt: error: {where}{describe_validation_error(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fdopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE
