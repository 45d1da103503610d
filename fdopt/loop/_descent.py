"""The iteration of the gradient rules: estimate -> update -> project -> stop? -> observe.

Every proposed step is evaluated before it is accepted: a step to a point where ``f`` or
its gradient is not finite (or, with a line search, that fails the Armijo test) is
rejected and retried with half the step size (momentum rules: along the same direction
once, then with their state started again); a step accepted at once lets the step size
grow back (up to ``lr`` without a line search).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from fdopt._tensor import all_finite, matmul
from fdopt.loop._noise import (
    curvature_steps,
    noise_aware_steps,
    one_sided_inverse_curvature,
    relative_noise,
    rescaled_steps,
)
from fdopt.loop._options import Options
from fdopt.loop._problem import Problem
from fdopt.loop._run import Run, Status
from fdopt.optimizers import OPTIMIZERS, Rule, State, schedule
from fdopt.settings import (
    AdamSettings,
    BackwardSettings,
    CentralSettings,
    ForwardSettings,
    GdSettings,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    RuleSettings,
)

__all__ = ["Descent", "descend", "first_lr", "projected_norm", "start_descent"]

Observer = Callable[[Run], bool]
Save = Callable[["Descent", "Status | None"], None]

GROW = 1.25
"""Factor of the step size after a step accepted at once (adaptive steps)."""
ROUNDING = "no acceptable step: backtracking shrank the step to rounding level"
WANDERING = (
    "f fell by no more than the noise over the last patience iterations, "
    "with the noise and the steps measured again"
)
REMEASURES = 3
"""A noisy run that stalls this many times, measuring again each time, has ended."""
FALL = 10.0
"""Noisy runs measure the noise again where ``|f|`` has fallen by this factor."""
SHRINK = 0.5
"""Factor of the step size after a rejected step (gd: its ``shrink`` setting)."""
RESTART = 2
"""Momentum rules start their state again (velocity, moments) after this many rejected
steps in a row: a step that overshot is first retried shorter along the same direction.
Restarting at once turned Adam's next step into ``lr sign(g)``, across a curved valley,
and the step size collapsed (Rosenbrock: 1879 evaluations to 1e-6 instead of 1056).

A heavy-ball rule (momentum, nesterov) that restarts right after a step accepted at once
gets back the step size it had before the rejected tries: its restarted step ``t g`` is
already up to ``1 / (1 - momentum)`` shorter than ``t v``, and shrinking ``t`` fourfold
as well left it creeping along a curved valley (helical valley: 2e-3 of
``f(x0) - f*`` after 200 evaluations instead of 1e-3). After a rejected step it keeps
the shrunk size: there, the overshoot is the size's, not the velocity's (restoring it
always cost Rosenbrock n = 2 1382 evaluations to 1e-6 instead of 1175). Except with
noise: there, the rejected tries are as often the noise's as the size's, and a size kept
shrunk fourfold after each restart crept back at :data:`GROW` per step (relative noise
1e-3, momentum preconditioned as in :func:`start_descent`: Kowalik-Osborne solved to
``1e-3 (f(x0) - f*)`` within 500 evaluations on all of seeds 0-9 instead of 3; MGH
problems in ``100 (n + 1)`` evaluations, seeds 0-9: 6.7 solved on average instead of
6.1).

Adam restarts only its first moment (``Rule.restart``): its second moment still scales
the restarted step, about ``1 - beta1`` of the step before, rather than ``lr sign(g)``,
and it always gets back the step size it had before the rejected tries. Started from
``init`` with the size shrunk fourfold it collapsed after overshoots and crept back
at :data:`GROW` per step (Kowalik-Osborne: 1320 evaluations to 1e-3 of
``f(x0) - f*`` instead of 776, Osborne 1 925 instead of 419; with relative noise 1e-3,
MGH problems in ``100 (n + 1)`` evaluations, seeds 0-4: 5.6 solved on average instead
of 6.2)."""


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


def _rule_settings(options: Options) -> RuleSettings:
    settings = options.optimizer
    if not isinstance(settings, RuleSettings):
        raise TypeError(f"descend runs gradient rules; got {type(settings).__name__}")
    return settings


@dataclass
class Descent:
    """The state of a gradient rule's iteration between two iterations.

    Everything the next iteration reads, so that a run taken up from it (a checkpoint)
    goes on exactly as the run that made it.

    Attributes
    ----------
    x, f, g : torch.Tensor, float, torch.Tensor
        The iterate, ``f`` there and the gradient estimate there.
    rule_state : NamedTuple
        The rule's state (moments, velocity, L-BFGS memory).
    lr : float or None
        The step size; None while ``lr="auto"`` has not yet set it.
    scale : float
        The adaptive factor of ``lr`` (halved by a rejected step, grown by a step
        accepted at once).
    k : int
        Iterations done: the index of the next one (schedules read it).
    level : float
        The function's noise level relative to ``max(1, |f_measured|)`` (0: none seen).
    fresh_memory : bool
        Whether the quasi-Newton memory was restarted since the last stall.
    remeasures : int
        How many times the noise and the steps were measured again since ``f`` last
        fell by more than the noise.
    f_measured : float
        ``f`` where the noise level was set (at ``x0``, then where it was measured again).
    f_ref, stale : float, int
        The last ``f`` that fell by more than twice the noise below the one before, and
        the iterations since (a noisy descent that only wanders has stalled).
    diagonal : torch.Tensor or None
        The inverse curvature along each coordinate, relative (noisy runs; see
        :func:`_inverse_curvature`): at ``x`` on central differences, else where the
        one-sided steps were set.
    preconditioned : bool
        Whether ``diagonal`` is measured and is the rule's preconditioner: L-BFGS's
        initial matrix from the first stall of a noisy run on (a recovery, as measuring
        the noise again is), a heavy-ball rule's from ``x0`` on.
    clean : bool
        Whether the last iteration's first step was accepted (see :data:`RESTART`).
    """

    x: torch.Tensor
    f: float
    g: torch.Tensor
    rule_state: State
    lr: float | None
    scale: float
    k: int
    level: float
    fresh_memory: bool
    remeasures: int = 0
    f_measured: float = 0.0
    f_ref: float = math.inf
    stale: int = 0
    diagonal: torch.Tensor | None = None
    preconditioned: bool = False
    clean: bool = True

    def noise(self) -> float:
        """Return the absolute noise level, as measured where ``f`` was ``f_measured``."""
        return self.level * max(1.0, abs(self.f_measured))

    def allowance(self) -> float:
        """Return how much ``f`` may rise by noise alone: twice its measured level."""
        return 2 * self.noise()

    def as_dict(self) -> dict[str, Any]:
        """Return the state as tensors and plain values (``rule_state._asdict()``)."""
        return {
            "x": self.x,
            "f": self.f,
            "g": self.g,
            "rule_state": dict(self.rule_state._asdict()),
            "lr": self.lr,
            "scale": self.scale,
            "k": self.k,
            "level": self.level,
            "fresh_memory": self.fresh_memory,
            "remeasures": self.remeasures,
            "f_measured": self.f_measured,
            "f_ref": self.f_ref,
            "stale": self.stale,
            "diagonal": self.diagonal,
            "preconditioned": self.preconditioned,
            "clean": self.clean,
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any], rule: Rule) -> Descent:
        """Return the state :meth:`as_dict` gave, the rule's state rebuilt by ``rule``.

        Raises
        ------
        KeyError, TypeError, ValueError
            If ``saved`` is not such a state (or not of this rule).
        """
        x = saved["x"]
        template = rule.init(x)
        fields = saved["rule_state"]
        if set(fields) != set(template._fields):
            raise ValueError(
                f"the rule's state has {sorted(fields)}; {type(template).__name__} has "
                f"{sorted(template._fields)}"
            )
        lr = saved["lr"]
        return cls(
            x=x,
            f=float(saved["f"]),
            g=saved["g"],
            rule_state=type(template)(**fields),
            lr=None if lr is None else float(lr),
            scale=float(saved["scale"]),
            k=int(saved["k"]),
            level=float(saved["level"]),
            fresh_memory=bool(saved["fresh_memory"]),
            remeasures=int(saved["remeasures"]),
            f_measured=float(saved["f_measured"]),
            f_ref=float(saved["f_ref"]),
            stale=int(saved["stale"]),
            diagonal=saved["diagonal"],
            preconditioned=bool(saved["preconditioned"]),
            clean=bool(saved["clean"]),
        )


def start_descent(problem: Problem, options: Options, run: Run) -> Descent | None:
    """Evaluate ``f`` and the gradient at ``run.x`` and return the iteration's first state.

    The noise level is estimated here (``noise="auto"``) and sets the estimator's step.
    Returns None when the run ended already (``f`` or the gradient not finite at ``x0``).
    """
    settings = _rule_settings(options)
    rule = OPTIMIZERS[options.method].rule(settings)
    x = run.x
    f = problem.value(x)
    problem.sync(run)
    run.fun = f
    if not math.isfinite(f):
        run.end(Status.NONFINITE, f"f(x0) = {f}")
        return None
    level = relative_noise(problem, options, x, f)
    diagonal = None
    if level and options.default_jac:
        # Noisy: steps from the noise and each coordinate's curvature (Moré & Wild 2012)
        # rather than from a unit curvature. L-BFGS takes central differences: one-sided
        # ones err by ~sqrt(noise * curvature), too much for its curvature pairs (noise
        # 1e-3, MGH problems in 100 (n + 1) evaluations, seeds 0-4: 8.8 solved on
        # average, 5.8 on forward differences). A first-order rule keeps the default
        # forward ones, as without noise, and turns to central ones where it stalls: its
        # progress is bounded by its step size, and a gradient in n evaluations instead
        # of 2 n counts more (gd 3.8 -> 4.8 solved, nesterov 4.8 -> 5.0, adam
        # 5.2 -> 5.6, rmsprop and adagrad 3.8 -> 4.0, momentum 5.0 either way).
        assert problem.estimator is not None  # default differences
        stencil = CentralSettings() if isinstance(settings, LbfgsSettings) else problem.estimator
        problem.estimator, level = curvature_steps(problem, stencil, options, x, f, level)
        # A heavy-ball rule on those one-sided steps follows -D g, D the inverse
        # curvature they were set from: otherwise the stiffest coordinate sets the step
        # size for all (Kowalik-Osborne's curvatures at x0 run from 5.6 to 0.06). Noise
        # 1e-3, MGH problems in 100 (n + 1) evaluations, seeds 0-9: momentum 5.0 -> 6.7
        # solved on average, nesterov 5.0 -> 6.3. Not gd: with the D of x0 it solved
        # 3.6 instead of 4.8.
        if isinstance(settings, (MomentumSettings, NesterovSettings)):
            diagonal = _one_sided_diagonal(problem, x)
    else:
        problem.estimator = noise_aware_steps(problem.estimator, level, x.dtype)
    g = problem.gradient(x, f)
    run.njev += 1
    problem.sync(run)
    run.jac = g
    if not all_finite(g):
        run.end(Status.NONFINITE, "the gradient estimate at x0 is not finite")
        return None
    return Descent(
        x=x,
        f=f,
        g=g,
        rule_state=rule.init(x),
        lr=None if settings.lr == "auto" else float(settings.lr),
        scale=1.0,
        k=0,
        level=level,
        fresh_memory=True,
        f_measured=f,
        f_ref=f,
        diagonal=diagonal,
        preconditioned=diagonal is not None,
    )


def _unit_mean(inverse: torch.Tensor) -> torch.Tensor:
    """Return the inverse curvatures scaled to a geometric mean of 1 (their ratios only).

    ``-D g`` then keeps the scale of ``-g``: the step size is set as without ``D``.
    """
    return inverse / inverse.log().mean().exp()


def _one_sided_diagonal(problem: Problem, x: torch.Tensor) -> torch.Tensor | None:
    """Return the inverse curvatures the estimator's one-sided steps imply at ``x``, or None.

    Relative (:func:`_unit_mean`); see :func:`~fdopt.loop._noise.one_sided_inverse_curvature`.
    """
    inverse = one_sided_inverse_curvature(problem.estimator, x)
    return None if inverse is None else _unit_mean(inverse)


def _inverse_curvature(problem: Problem, it: Descent) -> torch.Tensor | None:
    """Return the inverse curvatures that precondition the rule after a gradient estimate.

    Relative: scaled to a geometric mean of 1. From its central stencil's second
    differences, each taken as at least ``3 eps_f / h_i^2``, the most that the noise
    ``eps_f`` alone makes of one: a coordinate whose curvature is lost in the noise counts
    as that stiff and no stiffer. On badly scaled problems (Meyer's: curvatures 2e12, 8e4
    and 1e7) the noise of the stiffest coordinate's derivative otherwise swamps the
    direction. None unless ``it.preconditioned`` (only then is it used); ``it.diagonal``,
    the last one measured, without noise or without second differences (one-sided).
    """
    noise = it.noise()
    if not it.preconditioned:
        return None
    if not noise or problem.curvature is None or problem.steps is None:
        return it.diagonal
    lost = 3 * noise / problem.steps**2
    return _unit_mean(1 / torch.maximum(problem.curvature.abs(), lost))


def _primed(rule: Rule, it: Descent) -> State:
    """Return the rule's state with ``it.diagonal`` as its preconditioner, if it has one.

    L-BFGS takes it as its initial inverse Hessian, a heavy-ball rule as the scaling of
    the gradient (see :attr:`fdopt.optimizers.Rule.precondition`).
    """
    if rule.precondition is None or it.diagonal is None:
        return it.rule_state
    return rule.precondition(it.rule_state, it.diagonal)


def _measured(it: Descent, level: float) -> None:
    """Record the noise ``level`` just measured at ``it.x`` (0: none seen)."""
    # Noise that no longer shows is below the rounding-level floor: keep a trace of it.
    it.level = level or 100 * torch.finfo(it.x.dtype).eps
    it.f_measured = it.f
    it.remeasures += 1


def _remeasure(problem: Problem, options: Options, run: Run, it: Descent, *, stalled: bool) -> bool:
    """Measure the noise again at ``it.x`` (noisy runs), and the curvature and ``it.g``.

    The noise of many functions shrinks with ``|f|`` and the curvature changes along
    the way, so the steps and the noise allowance set at ``x0`` may be what stalls the
    descent (Shi et al. 2023's recovery). Done on a stall (``stalled``: no step, or
    ``patience`` steps without a fall of ``f`` by more than the noise; the rule's state
    starts again) and where ``|f|`` has fallen :data:`FALL`-fold since the last
    measurement. There, a first-order rule measures the noise alone (ECnoise, about 8
    evaluations) and scales its steps by it, the curvature kept, instead of measuring
    the curvature and the gradient again (another ``5 n``): its progress is bounded by
    its step size rather than by the gradient's accuracy, and the evaluations saved
    count more (noise 1e-3, MGH problems in ``100 (n + 1)`` evaluations, seeds 0-4:
    gd 3 -> 3.8 solved on average, nesterov 4 -> 4.8, adam 5 -> 5.2). A heavy-ball rule
    preconditioned by its one-sided steps (see :func:`start_descent`) measures the
    curvature again too (about ``2 n``), its steps and its ``D`` set from it: with the
    ``D`` of ``x0`` kept, momentum solved 6.0 on average (seeds 0-9) instead of 6.7,
    and Osborne 1 on none of the seeds instead of 7. L-BFGS measures both, and the
    gradient: on Kowalik-Osborne the kept curvature left it at 2e-3 of ``f(x0) - f*``.
    On a stall a first-order rule also turns from forward to central differences, as
    without noise (kept forward, their error ended noise-1e-3 runs early as wandering).
    Returns False (nothing done) when the run is not noisy with default differences.
    """
    if not it.level or not options.default_jac:
        return False
    assert problem.estimator is not None  # default differences
    settings = _rule_settings(options)
    if not stalled and not isinstance(settings, LbfgsSettings):
        noise = it.noise()
        _measured(it, relative_noise(problem, options, it.x, it.f))
        one_sided = isinstance(problem.estimator, (ForwardSettings, BackwardSettings))
        if it.preconditioned and one_sided:
            problem.estimator, _ = curvature_steps(
                problem, problem.estimator, options, it.x, it.f, it.level
            )
            it.diagonal = _one_sided_diagonal(problem, it.x)
        else:
            problem.estimator = rescaled_steps(problem.estimator, it.noise() / noise)
        problem.sync(run)
        return True
    # On central differences from here (a stalled first-order rule's were forward).
    problem.estimator, level = curvature_steps(problem, CentralSettings(), options, it.x, it.f)
    _measured(it, level)
    rule = OPTIMIZERS[options.method].rule(settings)
    it.preconditioned = it.preconditioned or (stalled and isinstance(settings, LbfgsSettings))
    it.g = problem.gradient(it.x, it.f)
    it.diagonal = _inverse_curvature(problem, it)
    run.njev += 1
    problem.sync(run)
    run.jac, it.stale = it.g, 0
    if stalled:
        it.rule_state, it.fresh_memory, it.scale = rule.init(it.x), True, 1.0
        if settings.lr == "auto":
            step = rule.update(it.g, _primed(rule, it), it.x, 1.0)[0]
            it.lr = first_lr(step, it.x, settings.first_step)
    return True


def _ignore(it: Descent, ending: Status | None) -> None:
    return None


def descend(
    problem: Problem,
    options: Options,
    run: Run,
    observe: Observer,
    it: Descent,
    save: Save = _ignore,
) -> None:
    """Iterate a gradient rule from ``it`` until a stopping test ends ``run``.

    ``it`` is updated in place; ``save(it, ending)`` is called at the end of every
    iteration, before the observer sees it, with the status of the convergence test
    that ends the run there (None if none does).
    """
    settings = _rule_settings(options)
    rule = OPTIMIZERS[options.method].rule(settings)
    factor = schedule(settings.schedule)
    # Quasi-Newton steps are tried at their natural length 1 every iteration.
    quasi_newton = isinstance(settings, LbfgsSettings)
    line_search = quasi_newton or (isinstance(settings, GdSettings) and settings.line_search)
    # lr="auto": the step size adapts, as a line search does for gd ("bold driver").
    adaptive = line_search or settings.lr == "auto"
    restart = isinstance(settings, (MomentumSettings, NesterovSettings, AdamSettings))
    heavy_ball = isinstance(settings, (MomentumSettings, NesterovSettings))
    shrink = settings.shrink if isinstance(settings, GdSettings) else SHRINK
    # Armijo's sufficient decrease with a line search; without one, f may not rise
    # (beyond the noise allowance).
    c1 = settings.c1 if line_search and isinstance(settings, (GdSettings, LbfgsSettings)) else 0.0
    stop = options.stop

    while it.k < stop.maxiter:
        k, x, f = it.k, it.x, it.f
        if projected_norm(problem, x, it.g) <= stop.gtol:
            return run.end(Status.GTOL)
        if run.out_of_time(stop):
            return run.end(Status.MAX_TIME)
        stalled = it.stale >= stop.patience
        if stalled and it.remeasures >= REMEASURES:
            return run.end(Status.NO_PROGRESS, WANDERING)
        remeasure = stalled or abs(f) < abs(it.f_measured) / FALL
        remeasured = remeasure and _remeasure(problem, options, run, it, stalled=stalled)
        if remeasured and not all_finite(it.g):
            return run.end(Status.NONFINITE, "the gradient estimate")
        if it.lr is None:
            it.lr = first_lr(
                rule.update(it.g, _primed(rule, it), x, 1.0)[0], x, settings.first_step
            )
        elif quasi_newton and settings.lr == "auto" and k > 0:
            it.lr, it.scale = 1.0, 1.0
        rejected, nonfinite, scale = 0, "", it.scale
        while True:
            t = it.lr * factor(k) * it.scale
            delta, new_state = rule.update(it.g, _primed(rule, it), x, t)
            x_new = problem.project(x + delta)
            step = x_new - x
            if float(step.abs().max()) <= _tiny(x):
                if nonfinite:
                    return run.end(Status.NONFINITE, nonfinite)
                if options.default_jac and not isinstance(problem.estimator, CentralSettings):
                    # Stalled on one-sided differences: their error may be what stops
                    # the descent, so go on with central ones (Shi et al. 2023).
                    problem.estimator = noise_aware_steps(CentralSettings(), it.level, x.dtype)
                    it.g = problem.gradient(x, f)
                    it.diagonal = _inverse_curvature(problem, it)
                    run.njev += 1
                    problem.sync(run)
                    run.jac, it.scale, rejected = it.g, 1.0, 0
                    if not all_finite(it.g):
                        return run.end(Status.NONFINITE, "the central-difference gradient")
                    continue
                if quasi_newton and not it.fresh_memory:
                    # Stalled on a stale curvature model: start it again from -g.
                    it.rule_state, it.fresh_memory, it.scale, rejected = rule.init(x), True, 1.0, 0
                    it.lr = first_lr(
                        rule.update(it.g, _primed(rule, it), x, 1.0)[0], x, settings.first_step
                    )
                    continue
                if it.remeasures < REMEASURES and _remeasure(
                    problem, options, run, it, stalled=True
                ):
                    rejected = 0
                    if not all_finite(it.g):
                        return run.end(Status.NONFINITE, "the gradient estimate")
                    continue
                floor = _floor(x, f, it.level) if stop.gtol > 0 and problem.jac is None else 0.0
                if projected_norm(problem, x, it.g) < floor:
                    return run.end(Status.GTOL, "to the accuracy of the estimated gradient")
                return run.end(Status.NO_PROGRESS, ROUNDING)
            f_new = problem.value(x_new)
            problem.sync(run)
            if not math.isfinite(f_new):
                nonfinite = f"f = {f_new} at every step tried from the last iterate"
            elif not adaptive or f_new <= f + c1 * float(matmul(it.g, step)) + it.allowance():
                g_new = problem.gradient(x_new, f_new)
                diagonal = _inverse_curvature(problem, it)
                run.njev += 1
                problem.sync(run)
                if all_finite(g_new):
                    break
                nonfinite = "non-finite gradient estimates at every step tried"
            rejected += 1
            it.scale *= shrink
            if restart and adaptive and rejected >= RESTART:
                it.rule_state = (
                    rule.init(x) if rule.restart is None else rule.restart(it.rule_state)
                )
                if rejected == RESTART and (it.clean or not heavy_ball or it.level):
                    it.scale = scale
        it.clean = rejected == 0
        if rejected == 0:
            it.scale = it.scale * GROW if adaptive else min(1.0, it.scale / shrink)
        it.x, it.f, it.g, it.rule_state, it.diagonal = x_new, f_new, g_new, new_state, diagonal
        it.fresh_memory = it.fresh_memory and not quasi_newton
        if f_new < it.f_ref - it.allowance():
            it.f_ref, it.stale, it.remeasures = f_new, 0, 0
        else:
            it.stale += 1
        it.k = k + 1
        run.x, run.fun, run.jac = it.x, it.f, it.g
        converged = run.record(step=float(step.abs().max()), lr=t, stop=stop)
        save(it, converged)  # before the callback, which may copy the checkpoint
        halt = observe(run)  # the callback sees every iteration, the last one too
        if converged is not None:
            return run.end(converged)
        if halt:
            return run.end(Status.CALLBACK)
    return run.end(Status.MAXITER)
