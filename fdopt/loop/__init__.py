"""The optimization loop: estimate -> update -> project -> stop? -> observe.

:func:`optimize` validates everything before the first evaluation, builds the one
:class:`~fdopt.evaluation.Evaluator` of the run, iterates the chosen rule, and returns
the run's record (:class:`Run`). It knows nothing of scipy's ``OptimizeResult`` or of
callbacks: an observer sees the record after each iteration and may end the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fdopt import _arguments
from fdopt.errors import BudgetExhaustedError, EvaluationError
from fdopt.evaluation import Evaluator
from fdopt.loop._descent import descend
from fdopt.loop._options import EVALUATION_OPTIONS, Options, is_spsa, parse_options
from fdopt.loop._problem import Problem
from fdopt.loop._run import MESSAGES, Run, Status
from fdopt.loop._spsa import optimize_spsa

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
        Bad arguments or options, before any evaluation.
    EvaluationError
        ``fun`` (or ``jac``) raised; its ``result`` is the record at that moment.
    """
    parsed = parse_options(method, options, jac)
    x, source, shape = _arguments.point(x0, "x0")
    box = _arguments.box(bounds, x, "x0")
    if not isinstance(args, (tuple, list)):
        args = (args,)  # scipy's convention: a single extra argument
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
    problem = Problem(evaluator, box, parsed.estimator, parsed.jac, source, shape, args)
    run = Run(x=x, source=source, shape=shape, return_best=parsed.output.return_best)
    if parsed.output.history:
        run.start_history()
    iterate = optimize_spsa if is_spsa(parsed) else descend
    with evaluator:
        try:
            iterate(problem, parsed, run, observe)
        except BudgetExhaustedError:
            run.end(Status.MAXFEV)
        except EvaluationError as error:
            problem.sync(run)
            run.end(Status.ERROR, str(error))
            error.result = run
            raise
        finally:
            problem.sync(run)
    return run
