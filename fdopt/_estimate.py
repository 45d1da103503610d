"""One derivative estimate of a user's function, for ``fdopt.grad`` and ``fdopt.Gradient``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from fdopt import _arguments
from fdopt._tensor import Source
from fdopt.errors import ArgumentValueError
from fdopt.estimators import ESTIMATORS, Estimate
from fdopt.estimators import hessian as _hessian
from fdopt.evaluation import Evaluator, Workers
from fdopt.settings import HessianSettings, Settings

__all__ = ["resolve", "run_estimator"]


def resolve(
    method: str, step: float | str | None, settings: dict[str, Any], *, hessian: bool = False
) -> tuple[Settings, Callable[..., Estimate]]:
    """Validate a method's name and settings; return its settings model and estimator.

    Raises
    ------
    ArgumentValueError
        For an unknown method (the valid ones are listed).
    pydantic.ValidationError
        For unknown or invalid settings.
    """
    options: dict[str, Any] = {"method": method, **settings}
    if step is not None:
        options["step"] = step
    if hessian:
        return HessianSettings.model_validate(options), _hessian
    if method not in ESTIMATORS:
        raise ArgumentValueError(
            f"method must be one of {', '.join(map(repr, ESTIMATORS))}; got {method!r}"
        )
    return ESTIMATORS[method].settings.model_validate(options), ESTIMATORS[method].estimate


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
    f0: float | None = None,
) -> tuple[Estimate, Source, tuple[int, ...], bool | None]:
    """Validate the arguments, build the evaluator and run one estimator at ``x``.

    Returns
    -------
    tuple
        The estimate, the :class:`~fdopt._tensor.Source` and shape of ``x``, and whether
        the function returned scalars.
    """
    x0, source, shape = _arguments.point(x)
    model, estimator = resolve(method, step, settings, hessian=hessian)
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
        known = None if f0 is None else torch.tensor([f0], dtype=x0.dtype, device=x0.device)
        estimate = estimator(evaluator, x0, model, bounds=box, f0=known)
    return estimate, source, shape, evaluator.scalar
