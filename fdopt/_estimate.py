"""One derivative estimate of a user's function, for ``fdopt.grad`` and ``fdopt.Gradient``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fdopt import _arguments
from fdopt._tensor import Source
from fdopt.errors import ArgumentValueError
from fdopt.estimators import ESTIMATORS, Estimate
from fdopt.estimators import hessian as _hessian
from fdopt.evaluation import Evaluator, Workers
from fdopt.settings import HessianSettings, Settings

__all__ = ["run_estimator"]


def run_estimator(
    fun: Callable[..., Any],
    x: Any,
    *,
    method: str,
    step: float | str | None,
    args: Sequence[Any],
    bounds: Any,
    vectorized: bool,
    workers: Workers,
    batch_size: int | None,
    maxfev: int | None,
    settings: dict[str, Any],
    hessian: bool = False,
) -> tuple[Estimate, Source, tuple[int, ...], bool | None]:
    """Validate the arguments, build the evaluator and run one estimator at ``x``.

    Returns
    -------
    tuple
        The estimate, the :class:`~fdopt._tensor.Source` and shape of ``x``, and whether
        the function returned scalars.
    """
    x0, source, shape = _arguments.point(x)
    options: dict[str, Any] = {"method": method, **settings}
    if step is not None:
        options["step"] = step
    if hessian:
        model: Settings = HessianSettings.model_validate(options)
        estimator: Callable[..., Estimate] = _hessian
    else:
        if method not in ESTIMATORS:
            raise ArgumentValueError(
                f"method must be one of {', '.join(map(repr, ESTIMATORS))}; got {method!r}"
            )
        model = ESTIMATORS[method].settings.model_validate(options)
        estimator = ESTIMATORS[method].estimate
    box = _arguments.box(bounds, x0)
    with Evaluator(
        fun,
        source=source,
        args=args,
        vectorized=vectorized,
        workers=workers,
        batch_size=batch_size,
        maxfev=maxfev,
        point_shape=shape,
    ) as evaluator:
        estimate = estimator(evaluator, x0, model, bounds=box, f0=None)
    return estimate, source, shape, evaluator.scalar
