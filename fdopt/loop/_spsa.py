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
from dataclasses import dataclass
from typing import Any

import torch

from fdopt._tensor import all_finite
from fdopt.estimators.random import make_generator
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.loop._run import Run, Status
from fdopt.optimizers import OPTIMIZERS, Rule, State, spsa_gains
from fdopt.settings import SpsaOptimizerSettings, SpsaSettings

__all__ = ["SpsaState", "optimize_spsa", "start_spsa"]

Observer = Callable[[Run], bool]
Save = Callable[["SpsaState", "Status | None"], None]


def _scale(x: torch.Tensor) -> float:
    return max(1.0, float(x.abs().max()) if x.numel() else 0.0)


def _settings(options: Options) -> SpsaOptimizerSettings:
    settings = options.optimizer
    assert isinstance(settings, SpsaOptimizerSettings)
    return settings


@dataclass
class SpsaState:
    """The state of SPSA's iteration between two iterations.

    Attributes
    ----------
    x : torch.Tensor
        The iterate.
    f : float or None
        ``f(x)`` where known (blocking, monitoring).
    rule_state : NamedTuple
        The rule's state.
    k : int
        Iterations done: the index of the next one (the gains read it).
    a, stability : float
        Spall's gain ``a`` (calibrated with ``lr="auto"``) and stability constant ``A``.
    allowed : float
        The increase of ``f`` a blocked step may make.
    taken : int
        Steps taken in a row (the ``xtol`` test needs ``patience`` of them).
    generator : torch.Generator
        The generator of the perturbations.
    """

    x: torch.Tensor
    f: float | None
    rule_state: State
    k: int
    a: float
    stability: float
    allowed: float
    taken: int
    generator: torch.Generator

    def as_dict(self) -> dict[str, Any]:
        """Return the state as tensors and plain values (the generator's ``get_state()``)."""
        return {
            "x": self.x,
            "f": self.f,
            "rule_state": dict(self.rule_state._asdict()),
            "k": self.k,
            "a": self.a,
            "stability": self.stability,
            "allowed": self.allowed,
            "taken": self.taken,
            "generator": self.generator.get_state(),
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any], rule: Rule) -> SpsaState:
        """Return the state :meth:`as_dict` gave, the rule's state rebuilt by ``rule``.

        Raises
        ------
        KeyError, TypeError, ValueError, RuntimeError
            If ``saved`` is not such a state.
        """
        x = saved["x"]
        template = rule.init(x)
        fields = saved["rule_state"]
        if set(fields) != set(template._fields):
            raise ValueError(
                f"the rule's state has {sorted(fields)}; {type(template).__name__} has "
                f"{sorted(template._fields)}"
            )
        generator = torch.Generator(device=x.device)
        generator.set_state(saved["generator"].cpu())
        f = saved["f"]
        return cls(
            x=x,
            f=None if f is None else float(f),
            rule_state=type(template)(**fields),
            k=int(saved["k"]),
            a=float(saved["a"]),
            stability=float(saved["stability"]),
            allowed=float(saved["allowed"]),
            taken=int(saved["taken"]),
            generator=generator,
        )


def _estimate(
    problem: Problem,
    run: Run,
    settings: SpsaOptimizerSettings,
    generator: torch.Generator,
    x: torch.Tensor,
    c: float,
) -> torch.Tensor:
    perturbation = SpsaSettings(samples=settings.resamplings).model_copy(update={"step": c})
    g = problem.gradient(x, None, perturbation, generator=generator)
    run.njev += 1
    problem.sync(run)
    return g


def start_spsa(problem: Problem, options: Options, run: Run) -> SpsaState:
    """Calibrate SPSA at ``run.x`` and return the iteration's first state.

    With ``lr="auto"``, ``calibration_samples`` estimates set the gain ``a`` so that the
    first step moves ``x0`` by ``first_step`` of its scale; with ``blocking``, ``f(x0)``
    is the mean of repeated evaluations and their spread sets the allowed increase.
    """
    settings = _settings(options)
    stop = options.stop
    rule = OPTIMIZERS["spsa"].rule(settings)
    generator = make_generator(options.seed, run.x.device)
    iterations = stop.maxiter  # that the budget allows: 2 evaluations a pair
    if stop.maxfev is not None:
        iterations = min(iterations, stop.maxfev // (2 * settings.resamplings))
    stability = settings.A if settings.A is not None else 0.1 * iterations

    x = run.x
    c0 = spsa_gains(settings, 0, a=1.0, stability=stability)[1]
    if settings.lr == "auto":
        samples = [
            _estimate(problem, run, settings, generator, x, c0)
            for _ in range(settings.calibration_samples)
        ]
        finite = [g.abs().mean() for g in samples if all_finite(g)]
        magnitude = float(torch.stack(finite).mean()) if finite else 0.0
        target = settings.first_step * _scale(x)
        a = target * (stability + 1) ** settings.alpha / magnitude if magnitude > 0 else target
    else:
        a = float(settings.lr)
    f = None
    allowed = settings.allowed_increase or 0.0
    if settings.blocking:
        repeats = max(2, settings.calibration_samples)
        values = problem.values(x.expand(repeats, -1))
        problem.sync(run)
        f = float(values.mean())
        if settings.allowed_increase is None:
            allowed = 2 * float(values.std())
        run.fun = f
    return SpsaState(
        x=x,
        f=f,
        rule_state=rule.init(x),
        k=0,
        a=a,
        stability=stability,
        allowed=allowed,
        taken=0,
        generator=generator,
    )


def _ignore(it: SpsaState, ending: Status | None) -> None:
    return None


def optimize_spsa(
    problem: Problem,
    options: Options,
    run: Run,
    observe: Observer,
    it: SpsaState,
    save: Save = _ignore,
) -> None:
    """Iterate SPSA from ``it`` until ``maxiter``, ``maxfev``, time or the observer.

    The gradient estimate is random, so of the convergence tests only ``xtol`` applies,
    and only once ``patience`` steps in a row were taken (blocked steps do not move the
    iterate, so they must not count as convergence). ``f`` at the iterate is evaluated
    only with ``blocking`` (every iteration) or ``monitor_every``; the best point seen
    covers the perturbed points. ``it`` is updated in place; ``save(it, ending)`` is
    called at the end of every iteration, before the observer sees it, with the status
    of the convergence test that ends the run there (None if none does).
    """
    settings = _settings(options)
    stop = options.stop
    rule = OPTIMIZERS["spsa"].rule(settings)
    while it.k < stop.maxiter:
        k = it.k
        if run.out_of_time(stop):
            return run.end(Status.MAX_TIME)
        a_k, c_k = spsa_gains(settings, k, a=it.a, stability=it.stability)
        g = _estimate(problem, run, settings, it.generator, it.x, c_k)
        step, moved = torch.zeros_like(it.x), False
        if all_finite(g):
            delta, new_state = rule.update(g, it.rule_state, it.x, a_k)
            x_new = problem.project(it.x + delta)
            accept = True
            if settings.blocking:
                f_new = problem.value(x_new)
                problem.sync(run)
                accept = math.isfinite(f_new) and it.f is not None and f_new <= it.f + it.allowed
                if accept:
                    it.f = f_new
            if accept:
                step, it.x, it.rule_state, moved = x_new - it.x, x_new, new_state, True
                it.f = it.f if settings.blocking else None  # f at the new iterate is unknown
        if settings.monitor_every and (k + 1) % settings.monitor_every == 0:
            it.f = problem.value(it.x)
            problem.sync(run)
        it.k = k + 1
        run.x, run.fun, run.jac = it.x, it.f, g
        it.taken = it.taken + 1 if moved else 0
        converged = run.record(step=float(step.abs().max()), lr=a_k, stop=stop)
        ending = converged if converged == Status.XTOL and it.taken > stop.patience else None
        save(it, ending)  # before the callback, which may copy the checkpoint
        halt = observe(run)
        if ending is not None:
            return run.end(ending)
        if halt:
            return run.end(Status.CALLBACK)
    return run.end(Status.MAXITER)
