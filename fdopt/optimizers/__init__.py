"""Update rules and step-size schedules: pure tensor math, state in, state out.

The table :data:`OPTIMIZERS` is the one place that pairs method names with their
settings model and rule factory; the loop and the conformance tests iterate over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fdopt.optimizers._base import Rule, State, Update
from fdopt.optimizers.rules import adagrad, adam, gd, lbfgs, momentum, nesterov, rmsprop, spsa
from fdopt.optimizers.schedules import schedule, spsa_gains
from fdopt.settings import (
    AdagradSettings,
    AdamSettings,
    GdSettings,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    RmspropSettings,
    Settings,
    SpsaOptimizerSettings,
)

__all__ = ["OPTIMIZERS", "Optimizer", "Rule", "State", "Update", "schedule", "spsa_gains"]


@dataclass(frozen=True)
class Optimizer:
    """An optimization method: its settings model and its rule factory."""

    settings: type[Settings]
    rule: Callable[[Any], Rule]


def _table(*entries: tuple[str, type[Settings], Callable[[Any], Rule]]) -> dict[str, Optimizer]:
    table: dict[str, Optimizer] = {}
    for name, settings, factory in entries:
        if name in table:
            raise ValueError(f"optimizer {name!r} registered twice")
        table[name] = Optimizer(settings, factory)
    return table


OPTIMIZERS = _table(
    ("gd", GdSettings, gd),
    ("momentum", MomentumSettings, momentum),
    ("nesterov", NesterovSettings, nesterov),
    ("adam", AdamSettings, adam),
    ("rmsprop", RmspropSettings, rmsprop),
    ("adagrad", AdagradSettings, adagrad),
    ("lbfgs", LbfgsSettings, lbfgs),
    ("spsa", SpsaOptimizerSettings, spsa),
)
"""Method name -> (settings model, rule factory)."""
