"""Validated settings models: one per component, all following the same conventions.

Every model derives from :class:`Settings`: pydantic v2, unknown fields rejected,
values validated (ranges included) when the model is built, and frozen, so a run
configured once cannot drift.
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
from fdopt.settings.optimizers import (
    AdagradSettings,
    AdamSettings,
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    GdSettings,
    InverseTimeSchedule,
    MomentumSettings,
    NesterovSettings,
    OptimizerSettings,
    RmspropSettings,
    RuleSettings,
    Schedule,
    SpsaOptimizerSettings,
    StepSchedule,
)
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
    "MomentumSettings",
    "NesterovSettings",
    "OptimizerSettings",
    "OutputSettings",
    "RichardsonSettings",
    "RmspropSettings",
    "RuleSettings",
    "Schedule",
    "Settings",
    "SmoothingSettings",
    "SpsaOptimizerSettings",
    "SpsaSettings",
    "StepSchedule",
    "StopSettings",
]
