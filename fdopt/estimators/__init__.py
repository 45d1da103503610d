"""Black-box derivative estimators: one settings model and one function per method.

Every estimator has the signature ``estimate(evaluate, x, settings, *, bounds=None,
f0=None) -> Estimate``: it builds its points as one ``(k, n)`` batch, hands it to
``evaluate`` (the only route to the user's function), and returns the ``(m, n)``
Jacobian with what it cost. The table below is the one place that pairs method names
with settings and functions; the API and the conformance tests iterate over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fdopt.estimators._base import Bounds, Estimate, Evaluate
from fdopt.estimators.complex_step import complex_step
from fdopt.estimators.hessian import hessian
from fdopt.estimators.random import smoothing, spsa
from fdopt.estimators.richardson import richardson
from fdopt.estimators.stencil import backward, central, central4, forward
from fdopt.settings import (
    BackwardSettings,
    Central4Settings,
    CentralSettings,
    ComplexSettings,
    ForwardSettings,
    RichardsonSettings,
    Settings,
    SmoothingSettings,
    SpsaSettings,
)

__all__ = ["ESTIMATORS", "Bounds", "Estimate", "Evaluate", "Method", "hessian"]

EstimatorFunction = Callable[..., Estimate]


@dataclass(frozen=True)
class Method:
    """A derivative method: its settings model and its estimator function.

    ``arrays``: whether the estimator takes a numpy ``x`` too (its estimate is then of
    numpy arrays).
    """

    settings: type[Settings]
    estimate: EstimatorFunction
    arrays: bool


def _table(*entries: tuple[str, type[Settings], EstimatorFunction, bool]) -> dict[str, Method]:
    table: dict[str, Method] = {}
    for name, settings, function, arrays in entries:
        if name in table:
            raise ValueError(f"estimator {name!r} registered twice")
        table[name] = Method(settings, function, arrays)
    return table


ESTIMATORS = _table(
    ("forward", ForwardSettings, forward, True),
    ("backward", BackwardSettings, backward, True),
    ("central", CentralSettings, central, True),
    ("central4", Central4Settings, central4, True),
    ("complex", ComplexSettings, complex_step, False),
    ("richardson", RichardsonSettings, richardson, True),
    ("spsa", SpsaSettings, spsa, False),
    ("smoothing", SmoothingSettings, smoothing, False),
)
"""Method name -> (settings model, estimator function, takes numpy ``x``)."""
