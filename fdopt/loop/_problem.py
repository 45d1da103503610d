"""What the iteration needs of the problem: values, gradients, the box, the budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fdopt._tensor import Source, as_tensor
from fdopt.errors import ArgumentTypeError, EvaluationError, FunctionOutputError
from fdopt.estimators import ESTIMATORS, Bounds
from fdopt.evaluation import Evaluator
from fdopt.loop._run import Run
from fdopt.settings import EstimatorSettings, SmoothingSettings, SpsaSettings

__all__ = ["Problem"]


@dataclass
class Problem:
    """The objective as the loop sees it: every evaluation goes through ``evaluator``.

    Attributes
    ----------
    evaluator : Evaluator
        Counts, batches, enforces the budget and keeps the best point.
    bounds : Bounds or None
        The box; iterates are projected onto it and stencils stay inside it.
    estimator : Settings or None
        Settings of the gradient estimator (None: ``jac`` is the user's).
    jac : callable or None
        The user's gradient function ``jac(x, *args)``.
    source : Source
        The kind of the user's ``x0``: points reach ``jac`` in that kind.
    shape : tuple of int
        The shape of the user's ``x0``.
    args : tuple
        Extra arguments of ``fun`` and ``jac``.
    generator : torch.Generator or None
        The run's one generator for random estimators (``jac="spsa"``,
        ``"smoothing"``): each gradient draws new directions from it.
    curvature, steps : torch.Tensor or None
        ``(n,)`` second differences and steps of the last estimated gradient's stencil,
        where it gives them (:attr:`fdopt.estimators.Estimate.curvature`), else None.
    """

    evaluator: Evaluator
    bounds: Bounds | None
    estimator: EstimatorSettings | None
    jac: Callable[..., Any] | None
    source: Source
    shape: tuple[int, ...]
    args: Sequence[Any] = ()
    generator: torch.Generator | None = None
    curvature: torch.Tensor | None = None
    steps: torch.Tensor | None = None

    def values(self, points: torch.Tensor) -> torch.Tensor:
        """``f`` at each of the ``(k, n)`` points, ``(k,)``; may hold NaN or infinities.

        Raises
        ------
        FunctionOutputError
            If ``fun`` returned arrays or complex values.
        """
        values = self.evaluator(points)
        self._require_real_scalars(values, points)
        return values[:, 0]

    def value(self, x: torch.Tensor) -> float:
        """``f(x)`` (one evaluation); may be NaN or infinite."""
        return float(self.values(x[None])[0])

    def _require_real_scalars(self, values: torch.Tensor, at: torch.Tensor) -> None:
        """Raise unless ``fun`` gave real scalars.

        ``at``: the point, or the points (the first is named), indexed only to raise.
        """
        if self.evaluator.scalar is False or values.is_complex():
            x = at if at.ndim == 1 else at[0]
            point = self.source.wrap(x.clone().reshape(self.shape))
            self.evaluator.require_real_scalars("minimize", values, x=point)

    def gradient(
        self,
        x: torch.Tensor,
        f: float | None,
        settings: EstimatorSettings | None = None,
        **extra: Any,
    ) -> torch.Tensor:
        """Estimate (or call the user's) gradient at ``x``; ``f`` is ``f(x)`` when known.

        ``settings`` replaces the estimator's settings (SPSA's per-iteration step) and
        ``extra`` goes to the estimator (a ``generator``).
        """
        if self.jac is not None:
            self.curvature = self.steps = None
            return self._user_gradient(self.jac, x)
        chosen = settings or self.estimator
        assert chosen is not None  # parse_options sets one of jac and estimator
        method = ESTIMATORS[chosen.method]
        random = isinstance(chosen, (SpsaSettings, SmoothingSettings))
        if random and self.generator is not None and "generator" not in extra:
            extra["generator"] = self.generator
        f0 = None if f is None else torch.tensor([f], dtype=x.dtype, device=x.device)
        estimate = method.estimate(self.evaluator, x, chosen, bounds=self.bounds, f0=f0, **extra)
        # A random estimate evaluates f nowhere else: its values are checked here.
        self._require_real_scalars(estimate.value, x)
        curvature = estimate.curvature
        self.curvature = None if curvature is None else curvature[0]
        self.steps = None if curvature is None else estimate.step
        return estimate.value[0]

    def _user_gradient(self, jac: Callable[..., Any], x: torch.Tensor) -> torch.Tensor:
        point = self.source.wrap(x.clone().reshape(self.shape))
        try:
            value = jac(point, *self.args)
        except Exception as error:
            raise EvaluationError(
                f"jac raised {type(error).__name__} at x = {point}: {error}", x=point
            ) from error
        try:  # Python floats read as float64 (torch would make them float32)
            g = as_tensor(value, name="jac's value")[0].to(x.device, x.dtype).reshape(-1)
        except ArgumentTypeError as error:
            raise FunctionOutputError(
                f"jac must return an array of {x.numel()} numbers; got {type(value).__name__}",
                x=point,
            ) from error
        if g.numel() != x.numel():
            raise FunctionOutputError(
                f"jac must return {x.numel()} values (the shape of x0); got {g.numel()}", x=point
            )
        return g

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Return the point of the box nearest to ``x``."""
        if self.bounds is None:
            return x
        return torch.minimum(torch.maximum(x, self.bounds.lower), self.bounds.upper)

    def sync(self, run: Run) -> None:
        """Copy the evaluator's counts and best point into ``run``."""
        run.nfev = self.evaluator.nfev
        if self.evaluator.best_f is not None:
            run.best_x, run.best_fun = self.evaluator.best_x, float(self.evaluator.best_f)
