"""The ``fdopt`` command.

Today it offers ``fdopt gradient``: grid gradients of an array saved with
``numpy.save``. ``fdopt run CONFIG`` and ``fdopt problems`` arrive with the optimizer
and settings work (see ``DESIGN.md``).

Exit codes: 0 success, 2 bad usage or input (one line on stderr, no traceback),
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from fdopt._version import __version__
from fdopt.errors import FdoptError
from fdopt.grid import gradient
from fdopt.settings import GridSettings

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the command line or its input files."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fdopt", description="Finite-difference derivatives and gradient-free optimization."
    )
    parser.add_argument("--version", action="version", version=f"fdopt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    np.savez(args.out, **{f"grad_dim{d}": r for d, r in zip(dims, results, strict=True)})
    print(
        f"wrote {len(results)} derivative(s) of shape {values.shape} ({results[0].dtype}) "
        f"to {args.out}"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fdopt`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success, 2 for bad usage or input, 130 when interrupted.
    """
    args = _parser().parse_args(argv)
    try:
        return _gradient_command(args)
    except (UsageError, FdoptError) as exc:
        print(f"fdopt: error: {exc}", file=sys.stderr)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e['input']!r})" for e in exc.errors()
        )
        print(f"fdopt: error: {problems}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fdopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE
