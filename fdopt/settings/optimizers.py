"""Settings of the update rules and their step-size schedules, one model per method."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from fdopt.settings._base import NonNegativeFloat, PositiveFloat, PositiveInt, Settings

__all__ = [
    "AdagradSettings",
    "AdamSettings",
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "GdSettings",
    "InverseTimeSchedule",
    "LbfgsSettings",
    "MomentumSettings",
    "NesterovSettings",
    "OptimizerSettings",
    "RmspropSettings",
    "RuleSettings",
    "Schedule",
    "SpsaOptimizerSettings",
    "StepSchedule",
]

Fraction = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
"""A number in [0, 1): momentum and decay coefficients."""
Factor = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
"""A number in (0, 1]: multiplicative decay factors."""


class ConstantSchedule(Settings):
    """The step size stays ``lr``: factor 1."""

    kind: Literal["constant"] = "constant"


class ExponentialSchedule(Settings):
    """Factor ``gamma**k`` at iteration ``k``."""

    kind: Literal["exponential"] = "exponential"
    gamma: Factor = 0.99
    """Decay per iteration."""


class InverseTimeSchedule(Settings):
    """Factor ``1 / (1 + decay * k)**power`` at iteration ``k``."""

    kind: Literal["inverse_time"] = "inverse_time"
    decay: NonNegativeFloat = 0.01
    """Decay rate per iteration."""
    power: PositiveFloat = 1.0
    """Power of the decay (Spall's ``alpha`` is 0.602)."""


class CosineSchedule(Settings):
    """Factor ``m + (1 - m) (1 + cos(pi min(k, period) / period)) / 2`` (cosine annealing)."""

    kind: Literal["cosine"] = "cosine"
    period: PositiveInt = 1000
    """Iterations over which the factor falls from 1 to ``min_factor`` (it stays there)."""
    min_factor: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    """Factor reached at the end of the period."""


class StepSchedule(Settings):
    """Factor ``gamma**(k // step_size)``: multiplied by ``gamma`` every ``step_size`` steps."""

    kind: Literal["step"] = "step"
    step_size: PositiveInt = 100
    """Iterations between decays."""
    gamma: Factor = 0.5
    """Factor applied at each decay."""


Schedule = Annotated[
    ConstantSchedule | ExponentialSchedule | InverseTimeSchedule | CosineSchedule | StepSchedule,
    Field(discriminator="kind"),
]
"""Any step-size schedule, chosen by ``kind`` (a bare string ``"cosine"`` works too)."""


class RuleSettings(Settings):
    """What every gradient rule has: a step size, its calibration and a schedule."""

    lr: PositiveFloat | Literal["auto"] = "auto"
    """Step size (learning rate); "auto": chosen so that the first step moves the point
    by ``first_step`` times its scale, from the first estimated gradient."""
    first_step: PositiveFloat = 0.1
    """With ``lr="auto"``: length of the first step relative to ``max(1, |x0|_inf)``."""
    schedule: Schedule = ConstantSchedule()
    """Factor applied to ``lr`` at each iteration."""

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_by_name(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value


class GdSettings(RuleSettings):
    """Gradient descent ``x <- x - lr_k g``, by default with Armijo backtracking."""

    method: Literal["gd"] = "gd"
    line_search: bool = True
    """Backtrack until ``f(x - t g) <= f(x) - c1 t |g|^2``, starting from ``t = lr_k``
    and growing the trial step after accepted full steps. False: with ``lr="auto"`` the
    step size adapts as for the other rules (a step that does not raise ``f`` beyond
    the noise is accepted, another is halved by ``shrink``); with a number, the plain
    fixed step."""
    c1: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 1e-4
    """Sufficient-decrease constant of the Armijo condition."""
    shrink: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.5
    """Factor applied to the trial step at each backtrack."""


class MomentumSettings(RuleSettings):
    """Heavy ball: ``v <- momentum v + D g``, ``x <- x - lr_k v``.

    ``D`` is 1 except on a noisy function with the default differences: there, the
    inverse curvature along each coordinate, as measured for the difference steps.
    """

    method: Literal["momentum"] = "momentum"
    momentum: Fraction = 0.9
    """Momentum coefficient."""


class NesterovSettings(RuleSettings):
    """Nesterov momentum: ``v <- momentum v + D g``, ``x <- x - lr_k (D g + momentum v)``.

    ``D`` as for :class:`MomentumSettings`.
    """

    method: Literal["nesterov"] = "nesterov"
    momentum: Fraction = 0.9
    """Momentum coefficient."""


class AdamSettings(RuleSettings):
    """Adam (Kingma & Ba 2015), optionally AMSGrad and decoupled weight decay (AdamW)."""

    method: Literal["adam"] = "adam"
    beta1: Fraction = 0.9
    """Decay of the first-moment estimate."""
    beta2: Fraction = 0.999
    """Decay of the second-moment estimate."""
    eps: PositiveFloat = 1e-8
    """Added to the root of the second moment."""
    amsgrad: bool = False
    """Use the running maximum of the second moment (Reddi et al. 2018)."""
    weight_decay: NonNegativeFloat = 0.0
    """Decoupled weight decay: ``x <- x - lr_k weight_decay x`` (Loshchilov & Hutter 2019)."""


class RmspropSettings(RuleSettings):
    """RMSProp: ``s <- alpha s + (1 - alpha) g^2``, ``x <- x - lr_k g / (sqrt(s) + eps)``."""

    method: Literal["rmsprop"] = "rmsprop"
    alpha: Fraction = 0.99
    """Decay of the squared-gradient average."""
    eps: PositiveFloat = 1e-8
    """Added to the root of the average."""


class AdagradSettings(RuleSettings):
    """AdaGrad: ``s <- s + g^2``, ``x <- x - lr_k g / (sqrt(s) + eps)``."""

    method: Literal["adagrad"] = "adagrad"
    eps: PositiveFloat = 1e-10
    """Added to the root of the accumulated squares."""


class LbfgsSettings(RuleSettings):
    """L-BFGS (Nocedal 1980): ``x <- x + t d`` with ``d = -H g`` and a line search.

    ``H`` comes from the last ``memory`` curvature pairs; ``t`` from backtracking that
    starts at 1 (the first step, without pairs: ``first_step`` of the scale). The test
    is Armijo's relaxed by the noise level ``e_f`` (Shi et al. 2023):
    ``f(x + t d) <= f(x) + c1 t g'd + 2 e_f``. A pair ``(s, y)`` with ``s'y`` not safely
    positive is skipped.
    """

    method: Literal["lbfgs"] = "lbfgs"
    memory: PositiveInt = 10
    """Curvature pairs kept."""
    c1: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 1e-4
    """Sufficient-decrease constant of the Armijo condition."""


class SpsaOptimizerSettings(Settings):
    """SPSA (Spall 1992, 1998): ``x <- x - a_k g_k``, ``g_k`` from random perturbations.

    ``g_k`` is a two-sided simultaneous-perturbation estimate with perturbations of size
    ``c_k``; ``a_k = a / (A + k + 1)**alpha`` and ``c_k = c / (k + 1)**gamma``.
    """

    method: Literal["spsa"] = "spsa"
    lr: PositiveFloat | Literal["auto"] = "auto"
    """Spall's ``a``; "auto": calibrated so that the first step moves the point by
    ``first_step`` times its scale, from gradient magnitudes at ``x0``."""
    first_step: PositiveFloat = 0.1
    """With ``lr="auto"``: length of the first step relative to ``max(1, |x0|_inf)``."""
    c: PositiveFloat = 0.1
    """Perturbation size at the first iteration, relative to ``max(1, |x0|_inf)``."""
    A: NonNegativeFloat | None = None
    """Stability constant; None: 10% of the iterations ``maxiter`` and ``maxfev`` allow
    (Spall's guideline)."""
    alpha: PositiveFloat = 0.602
    """Decay exponent of the gain ``a_k``."""
    gamma: PositiveFloat = 0.101
    """Decay exponent of the perturbation ``c_k``."""
    resamplings: PositiveInt = 1
    """Perturbation pairs averaged per gradient estimate."""
    calibration_samples: PositiveInt = 5
    """With ``lr="auto"``: gradient estimates at ``x0`` averaged to calibrate ``a``."""
    blocking: bool = False
    """Reject steps that raise ``f`` by more than ``allowed_increase`` (costs one
    evaluation per iteration)."""
    allowed_increase: NonNegativeFloat | None = None
    """With ``blocking``: tolerated increase of ``f``; None: twice the standard deviation
    of repeated evaluations at ``x0``."""
    monitor_every: PositiveInt | None = None
    """Evaluate ``f`` at the unperturbed iterate every this many iterations (for the
    history and the best point); None: never, except with ``blocking``."""


OptimizerSettings = Annotated[
    GdSettings
    | MomentumSettings
    | NesterovSettings
    | AdamSettings
    | RmspropSettings
    | AdagradSettings
    | LbfgsSettings
    | SpsaOptimizerSettings,
    Field(discriminator="method"),
]
"""Settings of any optimizer, chosen by ``method``."""
