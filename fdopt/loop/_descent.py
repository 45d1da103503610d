"""The iteration of the gradient rules: estimate -> update -> project -> stop? -> observe.

Every proposed step is evaluated before it is accepted: a step to a point where ``f`` or
its gradient is not finite (or, with a line search, that fails the Armijo test) is
rejected and retried with half the step size; a step accepted at once lets the step
size grow back (up to ``lr`` without a line search).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from fdopt.loop._noise import noise_aware_steps, relative_noise
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.loop._run import Run, Status
from fdopt.optimizers import OPTIMIZERS, schedule
from fdopt.settings import (
    AdamSettings,
    CentralSettings,
    GdSettings,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    RuleSettings,
)

__all__ = ["descend", "first_lr", "projected_norm"]

Observer = Callable[[Run], bool]

GROW = 1.25
"""Factor of the step size after a step accepted at once (adaptive steps)."""
SHRINK = 0.5
"""Factor of the step size after a rejected step (gd: its ``shrink`` setting)."""


def _finite(g: torch.Tensor) -> bool:
    return bool(torch.isfinite(g).all())


def _tiny(x: torch.Tensor) -> float:
    """Return the step length below which ``x`` does not change (rounding level)."""
    return 4 * torch.finfo(x.dtype).eps * max(1.0, float(x.abs().max()))


def _floor(x: torch.Tensor, f: float, level: float) -> float:
    """Return the gradient norm that finite differences cannot tell from zero.

    A difference quotient errs by about ``sqrt(e) max(1, |f|)`` (relative noise or
    rounding ``e``, at the balanced step), here with a safety factor of 10.
    """
    return 10 * math.sqrt(torch.finfo(x.dtype).eps + level) * max(1.0, abs(f))


def projected_norm(problem: Problem, x: torch.Tensor, g: torch.Tensor) -> float:
    """Return ``|x - P(x - g)|_inf``, the projected gradient's norm (``|g|_inf`` unbounded)."""
    if problem.bounds is None:
        return float(g.abs().max())
    return float((x - problem.project(x - g)).abs().max())


def first_lr(delta: torch.Tensor, x: torch.Tensor, first_step: float) -> float:
    """``lr="auto"``: the step size that moves ``x`` by ``first_step * max(1, |x|_inf)``.

    ``delta`` is the rule's step at ``lr = 1``.
    """
    size = float(delta.abs().max()) if delta.numel() else 0.0
    target = first_step * max(1.0, float(x.abs().max()) if x.numel() else 0.0)
    return target / size if size > 0 and math.isfinite(size) else target


def descend(problem: Problem, options: Options, run: Run, observe: Observer) -> None:
    """Iterate a gradient rule from ``run.x`` until a stopping test ends ``run``."""
    settings = options.optimizer
    if not isinstance(settings, RuleSettings):
        raise TypeError(f"descend runs gradient rules; got {type(settings).__name__}")
    rule = OPTIMIZERS[options.method].rule(settings)
    factor = schedule(settings.schedule)
    # Quasi-Newton steps are tried at their natural length 1 every iteration.
    quasi_newton = isinstance(settings, LbfgsSettings)
    line_search = quasi_newton or (isinstance(settings, GdSettings) and settings.line_search)
    # lr="auto": the step size adapts, as a line search does for gd ("bold driver").
    adaptive = line_search or settings.lr == "auto"
    restart = isinstance(settings, (MomentumSettings, NesterovSettings, AdamSettings))
    shrink = settings.shrink if isinstance(settings, GdSettings) else SHRINK
    c1 = settings.c1 if isinstance(settings, (GdSettings, LbfgsSettings)) else 0.0
    stop = options.stop
    fresh_memory = True  # a quasi-Newton memory restarted since the last stall

    x = run.x
    f = problem.value(x)
    problem.sync(run)
    run.fun = f
    if not math.isfinite(f):
        return run.end(Status.NONFINITE, f"f(x0) = {f}")
    level = relative_noise(problem, options, x, f)
    problem.estimator = noise_aware_steps(problem.estimator, level, x.dtype)
    g = problem.gradient(x, f)
    run.njev += 1
    problem.sync(run)
    run.jac = g
    if not _finite(g):
        return run.end(Status.NONFINITE, "the gradient estimate at x0 is not finite")
    state = rule.init(x)
    lr = None if settings.lr == "auto" else float(settings.lr)
    scale = 1.0
    for k in range(stop.maxiter):
        if projected_norm(problem, x, g) <= stop.gtol:
            return run.end(Status.GTOL)
        if run.out_of_time(stop):
            return run.end(Status.MAX_TIME)
        if lr is None:
            lr = first_lr(rule.update(g, state, x, 1.0)[0], x, settings.first_step)
        elif quasi_newton and settings.lr == "auto" and k > 0:
            lr, scale = 1.0, 1.0
        rejected, nonfinite = 0, ""
        while True:
            t = lr * factor(k) * scale
            delta, new_state = rule.update(g, state, x, t)
            x_new = problem.project(x + delta)
            step = x_new - x
            if float(step.abs().max()) <= _tiny(x):
                if nonfinite:
                    return run.end(Status.NONFINITE, nonfinite)
                if options.default_jac and not isinstance(problem.estimator, CentralSettings):
                    # Stalled on one-sided differences: their error may be what stops
                    # the descent, so go on with central ones (Shi et al. 2023).
                    problem.estimator = noise_aware_steps(CentralSettings(), level, x.dtype)
                    g = problem.gradient(x, f)
                    run.njev += 1
                    problem.sync(run)
                    run.jac, scale, rejected = g, 1.0, 0
                    if not _finite(g):
                        return run.end(Status.NONFINITE, "the central-difference gradient")
                    continue
                if quasi_newton and not fresh_memory:
                    # Stalled on a stale curvature model: start it again from -g.
                    state, fresh_memory, scale, rejected = rule.init(x), True, 1.0, 0
                    lr = first_lr(rule.update(g, state, x, 1.0)[0], x, settings.first_step)
                    continue
                floor = _floor(x, f, level) if stop.gtol > 0 and problem.jac is None else 0.0
                if projected_norm(problem, x, g) < floor:
                    return run.end(Status.GTOL, "to the accuracy of the estimated gradient")
                return run.end(Status.NO_PROGRESS)
            f_new = problem.value(x_new)
            problem.sync(run)
            if not math.isfinite(f_new):
                nonfinite = f"f = {f_new} at every step tried from the last iterate"
            elif not adaptive or f_new <= f + c1 * float(g @ step) + 2 * level * max(1, abs(f)):
                g_new = problem.gradient(x_new, f_new)
                run.njev += 1
                problem.sync(run)
                if _finite(g_new):
                    break
                nonfinite = "non-finite gradient estimates at every step tried"
            rejected += 1
            scale *= shrink
            if restart and adaptive:  # an increase of f restarts the momentum
                state = rule.init(x)
        if rejected == 0:
            scale = scale * GROW if adaptive else min(1.0, scale / shrink)
        x, f, g, state = x_new, f_new, g_new, new_state
        fresh_memory = fresh_memory and not quasi_newton
        run.x, run.fun, run.jac = x, f, g
        converged = run.record(step=float(step.abs().max()), lr=t, stop=stop)
        halt = observe(run)  # the callback sees every iteration, the last one too
        if converged is not None:
            return run.end(converged)
        if halt:
            return run.end(Status.CALLBACK)
    return run.end(Status.MAXITER)
