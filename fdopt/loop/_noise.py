"""Noise-aware finite differences: the noise level at ``x0`` sets the default steps.

With noise of relative level ``e`` (standard deviation over ``max(1, |f|)``), a
difference quotient of order ``p`` and step ``h`` errs by about ``h^p + e / h``
(relative), smallest at ``h ~ e^(1/(p+1))``: ``sqrt(e)`` for forward differences, as
Gill, Murray and Wright recommend, instead of the rounding-balanced ``sqrt(eps)``.

References
----------
.. [1] J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM J. Sci.
   Comput. 33(3), 2011.
.. [2] P. E. Gill, W. Murray and M. H. Wright, "Practical Optimization", Academic
   Press, 1981, section 8.6.
"""

from __future__ import annotations

import math

import torch

from fdopt.estimators._base import default_step, magnitude
from fdopt.estimators.noise import auto_step, ecnoise
from fdopt.estimators.random import make_generator
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.settings import (
    BackwardSettings,
    Central4Settings,
    CentralSettings,
    EstimatorSettings,
    ForwardSettings,
)

__all__ = [
    "curvature_steps",
    "noise_aware_steps",
    "one_sided_inverse_curvature",
    "relative_noise",
    "rescaled_steps",
]

_STENCILS = (ForwardSettings, BackwardSettings, CentralSettings, Central4Settings)


def relative_noise(problem: Problem, options: Options, x: torch.Tensor, f: float) -> float:
    """Return the noise level at ``x`` relative to ``max(1, |f|)`` (0: none seen).

    Given by the ``noise`` option, or estimated by ECnoise when it is "auto" and the
    gradient is estimated by a stencil whose step is not set.
    """
    setting = options.function.noise
    if setting is None:
        return 0.0
    if setting != "auto":
        return float(setting)
    estimator = options.estimator
    if not isinstance(estimator, _STENCILS) or estimator.step is not None:
        return 0.0
    f0 = torch.tensor([f], dtype=x.dtype, device=x.device)
    generator = _direction_generator(options, x)
    noise, _ = ecnoise(problem.evaluator, x, generator=generator, bounds=problem.bounds, f0=f0)
    return _relative(float(noise[0]), f, x.dtype)


def _direction_generator(options: Options, x: torch.Tensor) -> torch.Generator | None:
    """Return the generator of ECnoise's direction: from ``seed``, or None without one.

    None is ECnoise's fixed direction (seed 0), so that a run of a deterministic function
    without a seed repeats exactly: a direction from entropy set the noise level, and
    with it the run's path, differently from run to run when it fell near the threshold.
    """
    return None if options.seed is None else make_generator(options.seed, x.device)


def _relative(noise: float, f: float, dtype: torch.dtype) -> float:
    """Return ``noise`` relative to ``max(1, |f|)``, 0 where none shows (NaN, or rounding)."""
    level = noise / max(1.0, abs(f))
    # Below a hundred rounding errors, noise changes nothing: keep the default steps.
    return level if math.isfinite(level) and level > 100 * torch.finfo(dtype).eps else 0.0


def _order(
    estimator: ForwardSettings | BackwardSettings | CentralSettings | Central4Settings,
) -> int:
    """Return a stencil's order of accuracy."""
    return 4 if isinstance(estimator, Central4Settings) else estimator.accuracy


def curvature_steps(
    problem: Problem,
    estimator: EstimatorSettings,
    options: Options,
    x: torch.Tensor,
    f: float,
    level: float | None = None,
) -> tuple[EstimatorSettings, float]:
    """Measure the noise and curvature at ``x`` and return steps for ``estimator`` there.

    The steps, one per coordinate, balance the noise level (ECnoise) against each
    coordinate's truncation error (Moré & Wild 2012, :func:`~fdopt.estimators.noise.auto_step`),
    kept relative to ``max(1, |x_i|)`` for the iterates that follow. Costs about
    ``10 + (p + 1) n`` evaluations for a stencil of order ``p``; ``level``, the noise
    just measured at ``x`` (relative to ``max(1, |f|)``), saves the ``10``.

    Returns
    -------
    estimator : EstimatorSettings
        ``estimator`` with those steps (unchanged if it is not a stencil).
    level : float
        The noise level relative to ``max(1, |f|)`` (0: none seen).
    """
    if not isinstance(estimator, _STENCILS):
        return estimator, 0.0
    f0 = torch.tensor([f], dtype=x.dtype, device=x.device)
    known = None if level is None else f0.new_tensor([level * max(1.0, abs(f))])
    steps, noise, _ = auto_step(
        problem.evaluator,
        x,
        order=_order(estimator),
        one_sided=isinstance(estimator, (ForwardSettings, BackwardSettings)),
        bounds=problem.bounds,
        f0=f0,
        generator=_direction_generator(options, x),
        noise=known,
    )
    relative = tuple((steps / magnitude(x)).tolist())
    return estimator.model_copy(update={"step": relative}), _relative(float(noise[0]), f, x.dtype)


def one_sided_inverse_curvature(
    estimator: EstimatorSettings | None, x: torch.Tensor
) -> torch.Tensor | None:
    """Return the inverse curvature along each coordinate that one-sided steps imply.

    :func:`curvature_steps` sets a first-order one-sided stencil's step along ``x_i`` to
    ``8^(1/4) sqrt(eps_f / mu_i)`` (Moré & Wild 2012), ``mu_i`` the curvature it
    measured: the squared steps are the inverse curvatures up to a common factor. ``x``
    is where the steps were set. None unless ``estimator`` is such a stencil with a step
    per coordinate.
    """
    if not isinstance(estimator, (ForwardSettings, BackwardSettings)):
        return None
    if estimator.accuracy != 1 or not isinstance(estimator.step, tuple):
        return None
    steps = x.new_tensor(estimator.step) * magnitude(x)
    return steps * steps


def noise_aware_steps(
    estimator: EstimatorSettings | None, level: float, dtype: torch.dtype
) -> EstimatorSettings | None:
    """Return the estimator's settings with a step balancing noise of ``level``."""
    if not level or not isinstance(estimator, _STENCILS) or estimator.step is not None:
        return estimator
    order = _order(estimator)
    step = max(default_step(order, dtype), level ** (1.0 / (order + 1)))
    return estimator.model_copy(update={"step": step})


def rescaled_steps(estimator: EstimatorSettings, ratio: float) -> EstimatorSettings:
    """Return the stencil's steps for noise ``ratio`` times the level they were set for.

    A stencil of order ``p`` balances truncation against noise at a step proportional
    to ``noise^(1/(p+1))`` (the curvature kept): its steps scale by ``ratio^(1/(p+1))``.
    Unchanged if ``estimator`` is not a stencil or has no step set.
    """
    if not isinstance(estimator, _STENCILS) or estimator.step is None or not ratio > 0:
        return estimator
    factor = ratio ** (1.0 / (_order(estimator) + 1))
    step = estimator.step
    scaled = tuple(s * factor for s in step) if isinstance(step, tuple) else step * factor
    return estimator.model_copy(update={"step": scaled})
