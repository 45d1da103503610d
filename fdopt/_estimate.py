"""One derivative estimate of a user's function, for ``fdopt.grad`` and ``fdopt.Gradient``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
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
) -> tuple[Settings, Callable[..., Estimate[Any]], bool]:
    """Validate a method's name and settings; return its settings model and estimator.

    The third entry says whether the estimator takes a numpy ``x``. A call with the
    same (hashable) arguments as an earlier one reuses its validated model: the models
    are immutable, and validating costs as much as a small gradient.

    Raises
    ------
    ArgumentValueError
        For an unknown method (the valid ones are listed).
    pydantic.ValidationError
        For unknown or invalid settings.
    """
    if step is None and not settings and type(method) is str:  # a method's defaults
        return _resolved((("method", str, method),), hessian)
    options = {**settings, "method": method}
    if step is not None:
        options["step"] = step
    key = tuple((name, type(value), value) for name, value in sorted(options.items()))
    try:
        hash(key)
    except TypeError:  # an unhashable setting: validated as it is
        return _resolve(options, hessian)
    return _resolved(key, hessian)


@lru_cache(maxsize=64)
def _resolved(
    key: tuple[tuple[str, type, Any], ...], hessian: bool
) -> tuple[Settings, Callable[..., Estimate[Any]], bool]:
    """:func:`_resolve`, cached on the options and their types (``1`` is not ``True``)."""
    return _resolve({name: value for name, _, value in key}, hessian)


def _resolve(
    options: dict[str, Any], hessian: bool
) -> tuple[Settings, Callable[..., Estimate[Any]], bool]:
    method = options["method"]
    if hessian:
        return HessianSettings.model_validate(options), _hessian, False
    if method not in ESTIMATORS:
        raise ArgumentValueError(
            f"method must be one of {', '.join(map(repr, ESTIMATORS))}; got {method!r}"
        )
    entry = ESTIMATORS[method]
    return entry.settings.model_validate(options), entry.estimate, entry.arrays


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
    scalar_for: str | None = None,
) -> tuple[Estimate[Any], Source, tuple[int, ...]]:
    """Validate the arguments, build the evaluator and run one estimator at ``x``.

    A numpy ``x``, or a CPU tensor's, without bounds goes to an estimator that takes
    numpy arrays as one (a copy): its estimate is then of numpy arrays, computed without
    torch operations where the evaluator takes arrays too.

    ``scalar_for``: the caller that needs a scalar function (``fun`` returning arrays is
    then a :class:`~fdopt.errors.FunctionOutputError` naming it, whatever their size).

    Returns
    -------
    tuple
        The estimate, and the :class:`~fdopt._tensor.Source` and shape of ``x``.
    """
    model, estimator, arrays = resolve(method, step, settings, hessian=hessian)
    checked = _arguments.host_point(x) if arrays and bounds is None else None
    x0: Any
    if checked is not None:
        x0, source, shape = checked
        known: Any = None if f0 is None else np.array([f0], dtype=x0.dtype)
        box = None
    else:
        x0, source, shape = _arguments.point(x)
        known = None if f0 is None else torch.tensor([f0], dtype=x0.dtype, device=x0.device)
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
        estimate = estimator(evaluator, x0, model, bounds=box, f0=known)
    if scalar_for is not None:
        hint = " (use fdopt.jacobian)" if scalar_for == "grad" else ""
        evaluator.require_scalar(scalar_for, hint=hint)
    return estimate, source, shape
