"""The optimization loop: estimate -> update -> project -> stop? -> observe.

:func:`optimize` validates everything before the first evaluation, builds the one
:class:`~fdopt.evaluation.Evaluator` of the run, iterates the chosen rule, and returns
the run's record (:class:`Run`). It knows nothing of scipy's ``OptimizeResult`` or of
callbacks: an observer sees the record after each iteration and may end the run.

With the ``checkpoint`` option the run's complete state is written to a file after
every iteration, and with ``resume`` a run goes on from such a file (see
:mod:`fdopt.loop._checkpoint`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fdopt import _arguments
from fdopt.errors import BudgetExhaustedError, FunctionError
from fdopt.estimators.random import make_generator
from fdopt.evaluation import Evaluator
from fdopt.loop import _checkpoint
from fdopt.loop._checkpoint import FINISHED, Checkpointer
from fdopt.loop._descent import Descent, descend, start_descent
from fdopt.loop._options import EVALUATION_OPTIONS, Options, is_spsa, parse_options
from fdopt.loop._problem import Problem
from fdopt.loop._run import MESSAGES, Run, Status
from fdopt.loop._spsa import SpsaState, optimize_spsa, start_spsa
from fdopt.optimizers import OPTIMIZERS
from fdopt.settings import SmoothingSettings, SpsaSettings

__all__ = [
    "EVALUATION_OPTIONS",
    "MESSAGES",
    "Options",
    "Run",
    "Status",
    "optimize",
    "parse_options",
]


def _never(run: Run) -> bool:
    return False


def optimize(
    fun: Callable[..., Any],
    x0: Any,
    *,
    args: Sequence[Any] = (),
    method: str = "adam",
    jac: Any = None,
    bounds: Any = None,
    options: Any = None,
    observe: Callable[[Run], bool] = _never,
) -> Run:
    """Minimize ``fun`` from ``x0`` with an update rule on estimated gradients.

    Parameters
    ----------
    fun, x0, args, method, jac, bounds, options
        As in :func:`fdopt.minimize`.
    observe : callable
        Called with the run's record after each iteration; returning True ends the run
        (status :attr:`Status.CALLBACK`).

    Returns
    -------
    Run
        The record: last iterate, best point seen, counts, status, history.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError, pydantic.ValidationError
        Bad arguments or options, before any evaluation; among them a ``resume`` file
        that is missing, damaged, or was written by a run with other options, and a
        ``checkpoint`` path whose directory does not exist.
    FunctionError
        ``fun`` (or ``jac``) raised or returned something unusable; its ``result`` is
        the record at that moment.
    """
    parsed = parse_options(method, options, jac)
    x, source, shape = _arguments.point(x0, "x0")
    box = _arguments.box(bounds, x, "x0")
    if not isinstance(args, (tuple, list)):
        args = (args,)  # scipy's convention: a single extra argument
    prints = _checkpoint.fingerprint(parsed, x, source, box)
    output = parsed.output
    if output.checkpoint is not None:
        _checkpoint.check_directory(output.checkpoint)
    saved = None
    if output.resume is not None:
        saved = _checkpoint.load(output.resume, prints, x.device)
    evaluator = Evaluator(
        fun,
        source=source,
        args=args,
        vectorized=parsed.vectorized,
        workers=parsed.workers,
        batch_size=parsed.batch_size,
        maxfev=parsed.stop.maxfev,
        nonfinite="keep",
        point_shape=shape,
        track_best=True,
    )
    random = isinstance(parsed.estimator, (SpsaSettings, SmoothingSettings))
    generator = make_generator(parsed.seed, x.device) if random else None
    problem = Problem(evaluator, box, parsed.estimator, parsed.jac, source, shape, args, generator)
    run = Run(x=x, source=source, shape=shape, return_best=output.return_best)
    if output.history:
        run.start_history()
    checkpointer = Checkpointer(output.checkpoint, prints, problem, run)
    with evaluator:
        state = None if saved is None else _resume(saved, parsed, problem, run)
        try:
            _iterate(problem, parsed, run, observe, checkpointer, state, resumed=saved is not None)
        except BudgetExhaustedError:
            run.end(Status.MAXFEV)
        except FunctionError as error:
            problem.sync(run)
            run.end(Status.ERROR, str(error))
            error.result = run
            raise
        finally:
            problem.sync(run)
    return run


def _resume(
    saved: dict[str, Any], options: Options, problem: Problem, run: Run
) -> Descent | SpsaState | None:
    """Put a checkpoint's record back and return its iteration state (None: ended).

    An interrupted run's status is cleared, so that it goes on.
    """
    path = options.output.resume
    assert path is not None  # saved comes from there
    _checkpoint.restore(saved, path, problem, run)
    finished = run.status in FINISHED
    if not finished:
        run.status, run.detail = None, ""
    iteration = saved["iteration"]
    if iteration is None:
        if not finished:
            raise _checkpoint.malformed(path, "it holds no iteration state")
        return None
    rule = OPTIMIZERS[options.method].rule(options.optimizer)
    kind = SpsaState if is_spsa(options) else Descent
    try:
        return kind.from_dict(iteration, rule)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as error:
        raise _checkpoint.malformed(path, f"{type(error).__name__}: {error}") from error


def _iterate(
    problem: Problem,
    options: Options,
    run: Run,
    observe: Callable[[Run], bool],
    checkpointer: Checkpointer,
    state: Descent | SpsaState | None,
    *,
    resumed: bool,
) -> None:
    """Start the run (unless ``resumed`` from ``state``) and iterate until it ends."""
    if not resumed:
        if is_spsa(options):
            state = start_spsa(problem, options, run)
        else:
            state = start_descent(problem, options, run)
        if state is not None:
            checkpointer.save(state)
    if run.status is None:
        if isinstance(state, SpsaState):
            optimize_spsa(problem, options, run, observe, state, checkpointer.save)
        elif isinstance(state, Descent):
            descend(problem, options, run, observe, state, checkpointer.save)
    checkpointer.finish(state)
