"""SPSA's iteration: Spall's gains, calibration, blocking and monitoring.

References
----------
.. [1] J. C. Spall, "Multivariate stochastic approximation using a simultaneous
   perturbation gradient approximation", IEEE Trans. Automatic Control 37(3), 1992.
.. [2] J. C. Spall, "Implementation of the simultaneous perturbation algorithm for
   stochastic optimization", IEEE Trans. Aerospace and Electronic Systems 34(3), 1998.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from fdopt.estimators.random import make_generator
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.loop._run import Run, Status
from fdopt.optimizers import OPTIMIZERS, spsa_gains
from fdopt.settings import SpsaOptimizerSettings, SpsaSettings

__all__ = ["optimize_spsa"]

Observer = Callable[[Run], bool]


def _scale(x: torch.Tensor) -> float:
    return max(1.0, float(x.abs().max()) if x.numel() else 0.0)


def optimize_spsa(problem: Problem, options: Options, run: Run, observe: Observer) -> None:
    """Iterate SPSA from ``run.x`` until ``maxiter``, ``maxfev``, time or the observer.

    The gradient estimate is random, so of the convergence tests only ``xtol`` applies,
    and only once ``patience`` steps in a row were taken (blocked steps do not move the
    iterate, so they must not count as convergence). ``f`` at the iterate is evaluated
    only with ``blocking`` (every iteration) or ``monitor_every``; the best point seen
    covers the perturbed points.
    """
    settings = options.optimizer
    assert isinstance(settings, SpsaOptimizerSettings)
    stop = options.stop
    rule = OPTIMIZERS["spsa"].rule(settings)
    generator = make_generator(options.seed, run.x.device)
    iterations = stop.maxiter  # that the budget allows: 2 evaluations a pair
    if stop.maxfev is not None:
        iterations = min(iterations, stop.maxfev // (2 * settings.resamplings))
    stability = settings.A if settings.A is not None else 0.1 * iterations
    perturbation = SpsaSettings(samples=settings.resamplings)

    def estimate(x: torch.Tensor, c: float) -> torch.Tensor:
        g = problem.gradient(
            x, None, perturbation.model_copy(update={"step": c}), generator=generator
        )
        run.njev += 1
        problem.sync(run)
        return g

    x = run.x
    c0 = spsa_gains(settings, 0, a=1.0, stability=stability)[1]
    if settings.lr == "auto":
        samples = [estimate(x, c0) for _ in range(settings.calibration_samples)]
        finite = [g.abs().mean() for g in samples if bool(torch.isfinite(g).all())]
        magnitude = float(torch.stack(finite).mean()) if finite else 0.0
        target = settings.first_step * _scale(x)
        a = target * (stability + 1) ** settings.alpha / magnitude if magnitude > 0 else target
    else:
        a = float(settings.lr)
    f = None
    allowed = settings.allowed_increase or 0.0
    if settings.blocking:
        repeats = max(2, settings.calibration_samples)
        values = problem.evaluator(x.expand(repeats, -1))[:, 0]
        problem.sync(run)
        f = float(values.mean())
        if settings.allowed_increase is None:
            allowed = 2 * float(values.std())
        run.fun = f
    state = rule.init(x)
    taken = 0  # steps taken in a row
    for k in range(stop.maxiter):
        if run.out_of_time(stop):
            return run.end(Status.MAX_TIME)
        a_k, c_k = spsa_gains(settings, k, a=a, stability=stability)
        g = estimate(x, c_k)
        step, moved = torch.zeros_like(x), False
        if bool(torch.isfinite(g).all()):
            delta, new_state = rule.update(g, state, x, a_k)
            x_new = problem.project(x + delta)
            accept = True
            if settings.blocking:
                f_new = problem.value(x_new)
                problem.sync(run)
                accept = math.isfinite(f_new) and f is not None and f_new <= f + allowed
                if accept:
                    f = f_new
            if accept:
                step, x, state, moved = x_new - x, x_new, new_state, True
                f = f if settings.blocking else None  # f at the new iterate is unknown
        if settings.monitor_every and (k + 1) % settings.monitor_every == 0:
            f = problem.value(x)
            problem.sync(run)
        run.x, run.fun, run.jac = x, f, g
        taken = taken + 1 if moved else 0
        converged = run.record(step=float(step.abs().max()), lr=a_k, stop=stop)
        halt = observe(run)
        if converged == Status.XTOL and taken > stop.patience:
            return run.end(converged)
        if halt:
            return run.end(Status.CALLBACK)
    return run.end(Status.MAXITER)
