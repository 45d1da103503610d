"""The run config: one validated model of a whole run (read by :func:`load_config`).

A :class:`RunConfig` names what to minimize (a built-in problem, or
``objective = "package.module:function"``), the start and the bounds, the method, and
the settings of every component: ``[optimizer]``, ``[estimator]``, ``[stop]``,
``[evaluation]``, ``[function]``, ``[output]`` and ``seed``. Built in Python or read
from a TOML file, it is the same model, and :func:`fdopt.runner.run_config` runs it
through :func:`fdopt.minimize`; :mod:`fdopt.settings.loading` reads it from TOML,
the environment and command-line overrides.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fdopt.settings._base import NonNegativeFloat, PositiveInt, Settings
from fdopt.settings.estimators import EstimatorSettings
from fdopt.settings.evaluation import EvaluationSettings, FunctionSettings
from fdopt.settings.optimizers import AdamSettings, OptimizerSettings, Schedule
from fdopt.settings.stop import OutputSettings, StopSettings

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - Python 3.10
    pass

__all__ = [
    "ESTIMATOR_METHODS",
    "OPTIMIZER_METHODS",
    "SCHEDULE_KINDS",
    "MultistartSettings",
    "ProblemSettings",
    "RunConfig",
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Bound = Annotated[float, Field(allow_inf_nan=True)]


def _tags(union: Any, key: str) -> tuple[str, ...]:
    """Return the values of the discriminator ``key`` of a discriminated union's members."""
    members = get_args(get_args(union)[0])
    return tuple(str(member.model_fields[key].default) for member in members)


OPTIMIZER_METHODS = _tags(OptimizerSettings, "method")
"""The update rules' names, in the order of :data:`~fdopt.settings.OptimizerSettings`."""
ESTIMATOR_METHODS = _tags(EstimatorSettings, "method")
"""The gradient estimators' names, in the order of :data:`~fdopt.settings.EstimatorSettings`."""
SCHEDULE_KINDS = _tags(Schedule, "kind")
"""The ``kind`` of every step-size schedule."""
_OBJECTIVE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class ProblemSettings(Settings):
    """A built-in problem (:mod:`fdopt.problems`): its name, size, options and noise.

    In a config file, ``problem = "rosenbrock"`` is short for ``[problem] name =
    "rosenbrock"``. The name is checked against the problem library when the config
    is run (:func:`fdopt.runner.run_config`), which lists the valid names.

    Examples
    --------
    >>> ProblemSettings(name="quadratic", n=4, options={"condition": 100.0}).n
    4
    """

    name: str = Field(min_length=1)
    """A name from ``fdopt problems`` (:func:`fdopt.problems.list_problems`)."""
    n: PositiveInt | None = None
    """Number of variables; None: the problem's default."""
    noise: NonNegativeFloat | None = None
    """Level of seeded Gaussian noise added to every value; None: none."""
    noise_kind: Literal["additive", "multiplicative"] = "additive"
    """How the noise enters: ``f + noise z`` or ``f (1 + noise z)``."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Seed of the noise (and of the problem itself where it has one)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The problem's own options (``m``, ``condition``, ...)."""

    @field_validator("options")
    @classmethod
    def _not_a_field(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(value) & {"name", "n", "noise", "noise_kind", "seed"})
        if reserved:
            raise ValueError(
                f"{', '.join(map(repr, reserved))} belong{'s' if len(reserved) == 1 else ''} "
                "in [problem] itself, not in its options"
            )
        return value


class MultistartSettings(Settings):
    """Several starts of one run, the best one kept (``fdopt.minimize``'s ``multistart``).

    Examples
    --------
    >>> MultistartSettings(starts=8).radius
    0.5
    """

    starts: PositiveInt = 1
    """Number of starts: ``x0`` and ``starts - 1`` more."""
    radius: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.5
    """The other starts are ``x0 + radius * max(1, |x0|_inf) * z``, ``z`` standard normal
    (from the run's ``seed``), clipped to the bounds."""


class RunConfig(Settings):
    """A whole run: what to minimize, from where, how, and when to stop.

    Exactly one of ``problem`` and ``objective`` is given. ``method`` and
    ``optimizer.method`` name the same update rule: give either (or both, equal).

    Examples
    --------
    >>> config = RunConfig(problem="rosenbrock", method="gd", stop={"maxiter": 50})
    >>> config.problem.name, config.optimizer.method, config.stop.maxiter
    ('rosenbrock', 'gd', 50)
    >>> RunConfig(objective="mypackage.models:loss", x0=[0.0, 1.0]).x0
    (0.0, 1.0)
    """

    problem: ProblemSettings | None = None
    """A built-in problem: a name, or a table (``name``, ``n``, ``noise``, ...)."""
    objective: str | None = None
    """The user's function as ``"package.module:function"``, imported when run."""
    x0: tuple[FiniteFloat, ...] | None = Field(default=None, min_length=1)
    """Starting point; None: the problem's standard start (required with ``objective``)."""
    bounds: tuple[tuple[Bound, Bound], ...] | None = None
    """One ``[low, high]`` pair per variable (``inf`` allowed); None: the problem's
    natural bounds, if any."""
    method: str = "adam"
    """The update rule: "gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad" or
    "spsa"."""
    optimizer: OptimizerSettings = AdamSettings()
    """Settings of the update rule (``lr``, ``schedule``, ``beta1``, ...)."""
    estimator: EstimatorSettings | None = None
    """Gradient estimator (``method``, ``step``, ``accuracy``, ...); None: forward
    differences (SPSA makes its own estimates and takes none)."""
    stop: StopSettings = StopSettings()
    """When the run stops."""
    evaluation: EvaluationSettings = EvaluationSettings()
    """How the function is called, on which device and in which precision."""
    function: FunctionSettings = FunctionSettings()
    """What is known of the function (its noise level)."""
    output: OutputSettings = OutputSettings()
    """What the result holds."""
    multistart: MultistartSettings = MultistartSettings()
    """Several starts (``starts > 1``): each runs to its end, the best is kept."""
    seed: int | None = None
    """Seed of every random number of the run (random estimators, SPSA, noise
    estimation); same seed, same run."""

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        """Expand ``problem = "name"`` and give ``method`` to the optimizer (or back)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("problem"), str):
            data["problem"] = {"name": data["problem"]}
        optimizer = data.get("optimizer")
        if isinstance(optimizer, dict):
            own = optimizer.get("method")
        else:
            own = getattr(optimizer, "method", None)
        method = data.get("method")
        if method is None and isinstance(own, str):
            data["method"] = own
        elif own is None:
            chosen = cls.model_fields["method"].default if method is None else method
            if chosen in OPTIMIZER_METHODS and optimizer is None:
                data["optimizer"] = {"method": chosen}
            elif chosen in OPTIMIZER_METHODS and isinstance(optimizer, dict):
                data["optimizer"] = {**optimizer, "method": chosen}
        return data

    @field_validator("objective")
    @classmethod
    def _one_objective(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "problem" not in info.data:  # the problem is invalid, and reported
            return value
        problem = info.data["problem"]
        if value is None and problem is None:
            raise ValueError(
                "a run needs problem = NAME (see `fdopt problems`) or objective = "
                "'package.module:function'"
            )
        if value is not None and problem is not None:
            raise ValueError("give problem or objective, not both")
        if value is not None and _OBJECTIVE.fullmatch(value) is None:
            raise ValueError("objective must be 'package.module:function'")
        return value

    @field_validator("x0")
    @classmethod
    def _start_for_objective(
        cls, value: tuple[float, ...] | None, info: ValidationInfo
    ) -> tuple[float, ...] | None:
        if value is None and info.data.get("objective") is not None:
            raise ValueError("x0 is required with objective (only problems have a standard start)")
        return value

    @field_validator("bounds")
    @classmethod
    def _ordered_bounds(
        cls, value: tuple[tuple[float, float], ...] | None, info: ValidationInfo
    ) -> tuple[tuple[float, float], ...] | None:
        if value is None:
            return value
        for i, (low, high) in enumerate(value):
            if not low <= high:  # also NaN
                raise ValueError(f"bounds[{i}] = [{low}, {high}]: low must not exceed high")
        x0 = info.data.get("x0")
        if x0 is not None:
            if len(x0) != len(value):
                raise ValueError(f"{len(value)} pairs of bounds for {len(x0)} entries of x0")
            for i, (x, (low, high)) in enumerate(zip(x0, value, strict=True)):
                if not low <= x <= high:
                    raise ValueError(f"x0[{i}] = {x} lies outside bounds[{i}] = [{low}, {high}]")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in OPTIMIZER_METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, OPTIMIZER_METHODS))}")
        return value

    @field_validator("optimizer")
    @classmethod
    def _same_method(cls, value: BaseModel, info: ValidationInfo) -> BaseModel:
        method = info.data.get("method")
        own = getattr(value, "method", None)
        if method is not None and own != method:
            raise ValueError(
                f"optimizer.method {own!r} disagrees with method {method!r}; name the method once"
            )
        return value

    @field_validator("estimator")
    @classmethod
    def _estimator_fits(cls, value: BaseModel | None, info: ValidationInfo) -> BaseModel | None:
        if value is None:
            return value
        if info.data.get("method") == "spsa":
            raise ValueError(
                "method 'spsa' makes its own perturbation estimates (optimizer.c, "
                "optimizer.gamma, optimizer.resamplings); remove [estimator]"
            )
        if getattr(value, "seed", None) is not None:
            raise ValueError("a run has one seed: set the top-level seed, not estimator.seed")
        return value
