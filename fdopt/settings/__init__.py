"""Validated settings models: one per component, all following the same conventions.

Every model derives from :class:`Settings`: pydantic v2, unknown fields rejected,
values validated (ranges included) when the model is built, and frozen, so a run
configured once cannot drift. :class:`RunConfig` holds a whole run; :func:`load_config`
reads one from a TOML file with ``FDOPT_*`` environment and command-line overrides.
"""

from fdopt.settings._base import Settings
from fdopt.settings.estimators import (
    BackwardSettings,
    Central4Settings,
    CentralSettings,
    ComplexSettings,
    EstimatorSettings,
    ForwardSettings,
    HessianSettings,
    RichardsonSettings,
    SmoothingSettings,
    SpsaSettings,
)
from fdopt.settings.evaluation import EvaluationSettings, FunctionSettings
from fdopt.settings.grid import GridSettings
from fdopt.settings.loading import describe_validation_error, load_config, parse_value
from fdopt.settings.optimizers import (
    AdagradSettings,
    AdamSettings,
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    GdSettings,
    InverseTimeSchedule,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    OptimizerSettings,
    RmspropSettings,
    RuleSettings,
    Schedule,
    SpsaOptimizerSettings,
    StepSchedule,
)
from fdopt.settings.run import MultistartSettings, ProblemSettings, RunConfig
from fdopt.settings.stop import OutputSettings, StopSettings

__all__ = [
    "AdagradSettings",
    "AdamSettings",
    "BackwardSettings",
    "Central4Settings",
    "CentralSettings",
    "ComplexSettings",
    "ConstantSchedule",
    "CosineSchedule",
    "EstimatorSettings",
    "EvaluationSettings",
    "ExponentialSchedule",
    "ForwardSettings",
    "FunctionSettings",
    "GdSettings",
    "GridSettings",
    "HessianSettings",
    "InverseTimeSchedule",
    "LbfgsSettings",
    "MomentumSettings",
    "MultistartSettings",
    "NesterovSettings",
    "OptimizerSettings",
    "OutputSettings",
    "ProblemSettings",
    "RichardsonSettings",
    "RmspropSettings",
    "RuleSettings",
    "RunConfig",
    "Schedule",
    "Settings",
    "SmoothingSettings",
    "SpsaOptimizerSettings",
    "SpsaSettings",
    "StepSchedule",
    "StopSettings",
    "describe_validation_error",
    "load_config",
    "parse_value",
]
