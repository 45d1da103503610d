"""Checkpoints: a run's complete state in a file, written atomically, and resumed from.

A checkpoint is a dict saved with :func:`torch.save` that holds only tensors and plain
Python values (``None``, bool, int, float, str, lists and dicts of them), so it loads
with ``torch.load(..., weights_only=True)``: reading one runs no pickled code.

=================  ==============================================================
key                what it holds
=================  ==============================================================
``format``         ``"fdopt-checkpoint"``
``version``        :data:`VERSION`, the layout of what follows
``fingerprint``    what the run must be resumed with (:func:`fingerprint`), as text
``run``            the record: iterate, ``f``, gradient, ``nit``, ``njev``, status,
                   history, the ``ftol``/``xtol`` windows, seconds elapsed
``evaluator``      ``nfev`` so far, the best point and its value
``estimator``      the gradient estimator's settings as they are now (the switch to
                   central differences, the noise-aware step), or None
``iteration``      the iteration's own state (:class:`~fdopt.loop._descent.Descent`,
                   :class:`~fdopt.loop._spsa.SpsaState`): the rule's state
                   (``state._asdict()``), step sizes, the iteration counter, the noise
                   level, random generators' states; None when the run ended before
                   its first iteration
=================  ==============================================================

A run resumed from a checkpoint goes on from the end of the iteration it was written
after: with the same function, it makes the same evaluations, and ends with the same
iterates, counts and result, bit for bit, as the run that was never interrupted. A
checkpoint whose run ended by its own test (converged, no progress, non-finite values)
resumes to that same result without evaluating anything.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, cast

import torch

from fdopt._tensor import Source, data_bytes
from fdopt.errors import ArgumentValueError
from fdopt.estimators import ESTIMATORS, Bounds
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.loop._run import Run, Status
from fdopt.settings import EstimatorSettings

__all__ = [
    "FINISHED",
    "FORMAT",
    "VERSION",
    "Checkpointer",
    "Snapshot",
    "check_directory",
    "fingerprint",
    "load",
    "malformed",
    "restore",
    "write",
]

FORMAT = "fdopt-checkpoint"
"""The ``format`` entry of every checkpoint."""
VERSION = 5
"""The checkpoint layout this fdopt writes and reads."""
FINISHED = frozenset({Status.GTOL, Status.FTOL, Status.XTOL, Status.NONFINITE, Status.NO_PROGRESS})
"""Statuses of a run that ended by its own test: resuming it evaluates nothing more.

The others (``maxiter``, ``maxfev``, ``max_time``, the callback, an error) interrupt a
run, which a resume continues (with larger limits, if the options give them)."""
_KEYS = ("format", "version", "fingerprint", "run", "evaluator", "estimator", "iteration")


class Snapshot(Protocol):
    """An iteration's state that a checkpoint can hold."""

    def as_dict(self) -> dict[str, Any]:
        """Return the state as tensors and plain values."""


def _digest(*tensors: torch.Tensor) -> str:
    hasher = hashlib.sha256()
    for tensor in tensors:
        hasher.update(data_bytes(tensor))
    return hasher.hexdigest()[:16]


def _flatten(into: dict[str, str], prefix: str, values: Any) -> None:
    if isinstance(values, dict):
        for key, value in values.items():
            _flatten(into, f"{prefix}.{key}", value)
    else:
        into[prefix] = repr(values)


def fingerprint(
    options: Options, x0: torch.Tensor, source: Source, bounds: Bounds | None
) -> dict[str, str]:
    """Return what decides a run's course, as text, by name.

    The method and its settings, the estimator's (or "callable" for a user's ``jac``),
    the function's settings, ``seed``, ``history``, and ``x0`` and ``bounds`` (kind,
    dtype, shape, device, and a digest of the values). Not in it: the stopping tests
    and how the function is called (``vectorized``, ``workers``, ``batch_size``), which
    a resumed run may change.
    """
    prints = {"method": repr(options.method)}
    _flatten(prints, "optimizer", options.optimizer.model_dump(mode="json"))
    if options.estimator is None:
        prints["jac"] = "'callable'"
    else:
        prints["jac"] = repr(None if options.default_jac else options.estimator.method)
        _flatten(prints, "estimator", options.estimator.model_dump(mode="json"))
    _flatten(prints, "function", options.function.model_dump(mode="json"))
    prints["seed"] = repr(options.seed)
    prints["history"] = repr(options.output.history)
    prints["x0"] = (
        f"{'numpy' if source.numpy else 'torch'} {str(x0.dtype).removeprefix('torch.')} "
        f"shape {tuple(x0.shape)} on {x0.device.type}, values {_digest(x0)}"
    )
    prints["bounds"] = "None" if bounds is None else _digest(bounds.lower, bounds.upper)
    return prints


def check_directory(path: Path) -> None:
    """Check, before any evaluation, that a checkpoint can be written at ``path``.

    Raises
    ------
    ArgumentValueError
        If ``path`` is a directory or its directory does not exist.
    """
    if path.is_dir():
        raise ArgumentValueError(f"checkpoint: {str(path)!r} is a directory, not a file")
    directory = path.parent
    if not directory.is_dir():
        raise ArgumentValueError(
            f"checkpoint: the directory {str(directory)!r} of {str(path)!r} does not exist"
        )


def write(path: Path, payload: dict[str, Any]) -> None:
    """Save ``payload`` at ``path`` atomically: a temporary file beside it, then a rename.

    Whatever happens during the write, ``path`` holds either its old content or the
    new one, never a part; the temporary file is removed on failure. The file is
    readable and writable by its owner only (as :func:`tempfile.mkstemp` makes it).
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Checkpointer:
    """Write a run's checkpoints (or nothing, without a path).

    Parameters
    ----------
    path : Path or None
        The checkpoint file.
    prints : dict
        The run's :func:`fingerprint`.
    problem : Problem
        Its evaluator's count and best point, and its estimator, go in.
    run : Run
        The record that goes in.
    """

    def __init__(self, path: Path | None, prints: dict[str, str], problem: Problem, run: Run):
        self.path = path
        self.prints = prints
        self.problem = problem
        self.run = run
        self._written: Status | None = None  # the status in the last checkpoint written

    def payload(self, iteration: Snapshot | None, ending: Status | None) -> dict[str, Any]:
        """Return the checkpoint of the run as it is now, ending with status ``ending``."""
        evaluator = self.problem.evaluator
        estimator = self.problem.estimator
        record = self.run.snapshot()
        record["status"] = None if ending is None else int(ending)
        return {
            "format": FORMAT,
            "version": VERSION,
            "fingerprint": dict(self.prints),
            "run": record,
            "evaluator": {
                "nfev": evaluator.nfev,
                "best_x": evaluator.best_x,
                "best_f": evaluator.best_f,
            },
            "estimator": None if estimator is None else estimator.model_dump(mode="json"),
            "generator": None
            if self.problem.generator is None
            else self.problem.generator.get_state(),
            "iteration": None if iteration is None else iteration.as_dict(),
        }

    def save(self, iteration: Snapshot | None, ending: Status | None = None) -> None:
        """Write the checkpoint of the run as it is now.

        ``ending`` is the status of a test that ends the run here (None: it goes on).
        """
        if self.path is None:
            return
        write(self.path, self.payload(iteration, ending))
        self._written = ending

    def finish(self, iteration: Snapshot | None) -> None:
        """Write the last checkpoint of a run that ended by its own test, unless written."""
        status = self.run.status
        if status in FINISHED and self._written != status:
            self.save(iteration, status)


def malformed(path: Path, what: str) -> ArgumentValueError:
    """Return the error of a checkpoint file that is not what it should be."""
    return ArgumentValueError(f"resume: {str(path)!r} is not a valid fdopt checkpoint: {what}")


def load(path: Path, prints: dict[str, str], device: torch.device) -> dict[str, Any]:
    """Read the checkpoint at ``path`` and check it against the run's fingerprint.

    Parameters
    ----------
    path : Path
        The file.
    prints : dict
        The :func:`fingerprint` of the run to resume.
    device : torch.device
        Where its tensors go (the device of ``x0``).

    Returns
    -------
    dict
        The checkpoint.

    Raises
    ------
    ArgumentValueError
        If the file cannot be read, is not a checkpoint of a version this fdopt reads,
        or was written by a run with other options (naming each that differs).
    """
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError as error:
        raise ArgumentValueError(f"resume: no checkpoint file {str(path)!r}") from error
    except OSError as error:
        raise ArgumentValueError(f"resume: cannot read {str(path)!r}: {error}") from error
    except Exception as error:  # torch raises many kinds on a damaged or foreign file
        raise malformed(path, f"{type(error).__name__}: {error}") from error
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise malformed(path, "it was not written by fdopt")
    if saved.get("version") != VERSION:
        raise ArgumentValueError(
            f"resume: {str(path)!r} is a checkpoint of layout version "
            f"{saved.get('version')!r}; this fdopt reads version {VERSION}"
        )
    missing = [key for key in _KEYS if key not in saved]
    if missing or not isinstance(saved["fingerprint"], dict):
        raise malformed(path, f"it lacks {', '.join(missing) or 'a fingerprint'}")
    theirs: dict[str, Any] = saved["fingerprint"]
    differences = [
        f"{key} = {theirs.get(key, '(unset)')} there, {prints.get(key, '(unset)')} here"
        for key in sorted(set(theirs) | set(prints))
        if theirs.get(key) != prints.get(key)
    ]
    if differences:
        raise ArgumentValueError(
            f"resume: the checkpoint {str(path)!r} was written by a run with other "
            f"options: {'; '.join(differences)}. Resume with the method, settings, seed, "
            f"history, x0 and bounds it was written with (the stopping tests and the "
            f"evaluation options may differ)"
        )
    return saved


def restore(saved: dict[str, Any], path: Path, problem: Problem, run: Run) -> None:
    """Put a loaded checkpoint's record, count, best point and estimator back.

    Raises
    ------
    ArgumentValueError
        If an entry is malformed (naming ``path``).
    """
    x0 = run.x
    try:
        run.restore(saved["run"])
        if not (
            isinstance(run.x, torch.Tensor) and run.x.shape == x0.shape and run.x.dtype == x0.dtype
        ):
            raise TypeError(f"its iterate is not a {x0.dtype} tensor of shape {tuple(x0.shape)}")
        evaluator = saved["evaluator"]
        problem.evaluator.restore(int(evaluator["nfev"]), evaluator["best_x"], evaluator["best_f"])
        estimator = saved["estimator"]
        if estimator is not None:
            model = ESTIMATORS[estimator["method"]].settings
            problem.estimator = cast(EstimatorSettings, model.model_validate(estimator))
        state = saved.get("generator")
        if state is not None and problem.generator is not None:
            problem.generator.set_state(state.cpu())
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise malformed(path, f"{type(error).__name__}: {error}") from error
    problem.sync(run)
