"""Settings of the black-box derivative estimators, one model per method."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from fdopt.settings._base import PositiveFloat, PositiveInt, Settings

__all__ = [
    "BackwardSettings",
    "Central4Settings",
    "CentralSettings",
    "ComplexSettings",
    "EstimatorSettings",
    "ForwardSettings",
    "HessianSettings",
    "RichardsonSettings",
    "SmoothingSettings",
    "SpsaSettings",
]


class _StencilSettings(Settings):
    step: (
        PositiveFloat
        | Annotated[tuple[PositiveFloat, ...], Field(min_length=1)]
        | Literal["auto"]
        | None
    ) = None
    """Step, relative to ``max(1, |x_i|)``: one for every coordinate, or one per
    coordinate; None: the theoretical optimum for the stencil's order; "auto": chosen
    from the function's estimated noise level and curvature at each point."""


class ForwardSettings(_StencilSettings):
    """One-sided forward differences ``(f(x + h e_i) - f(x)) / h`` (any order)."""

    method: Literal["forward"] = "forward"
    accuracy: Annotated[int, Field(ge=1, le=8)] = 1
    """Order of accuracy (the stencil uses ``accuracy + 1`` points)."""


class BackwardSettings(_StencilSettings):
    """One-sided backward differences ``(f(x) - f(x - h e_i)) / h`` (any order)."""

    method: Literal["backward"] = "backward"
    accuracy: Annotated[int, Field(ge=1, le=8)] = 1
    """Order of accuracy (the stencil uses ``accuracy + 1`` points)."""


class CentralSettings(_StencilSettings):
    """Central differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` (any even order)."""

    method: Literal["central"] = "central"
    accuracy: Literal[2, 4, 6, 8] = 2
    """Order of accuracy (the stencil uses ``accuracy`` points, ``f(x)`` not needed)."""


class Central4Settings(_StencilSettings):
    """Fourth-order central differences (the 4-point stencil 1/12, -2/3, 2/3, -1/12)."""

    method: Literal["central4"] = "central4"


class ComplexSettings(Settings):
    """Complex-step derivative ``Im f(x + i h e_i) / h``, exact to rounding."""

    method: Literal["complex"] = "complex"
    step: PositiveFloat | None = None
    """Imaginary step relative to ``max(1, |x_i|)``; None: 1e-20 (8e-3 in float16)."""


class RichardsonSettings(Settings):
    """Central differences at a geometric sequence of steps, extrapolated (Richardson)."""

    method: Literal["richardson"] = "richardson"
    step: PositiveFloat | None = None
    """Largest step, relative to ``max(1, |x_i|)``; None: a default for the dtype."""
    ratio: Annotated[float, Field(gt=1, allow_inf_nan=False)] = 2.0
    """Ratio between consecutive steps."""
    levels: Annotated[int, Field(ge=2, le=8)] = 4
    """Number of steps (extrapolation levels)."""


class SpsaSettings(Settings):
    """Simultaneous perturbation (Spall 1992): Rademacher directions, two-sided."""

    method: Literal["spsa"] = "spsa"
    step: PositiveFloat | None = None
    """Perturbation size, relative to ``max(1, |x|_inf)``; None: a default."""
    samples: PositiveInt = 1
    """Number of random directions averaged."""
    seed: int | None = None
    """Seed of the torch generator; same seed, same estimate."""


class SmoothingSettings(Settings):
    """Gaussian smoothing: gradient of the function convolved with N(0, step^2 I)."""

    method: Literal["smoothing"] = "smoothing"
    step: PositiveFloat | None = None
    """Smoothing radius sigma, relative to ``max(1, |x|_inf)``; None: a default."""
    samples: PositiveInt = 1
    """Number of random directions averaged."""
    antithetic: bool = True
    """Evaluate at ``x - sigma u`` too (two-sided differences, lower variance)."""
    seed: int | None = None
    """Seed of the torch generator; same seed, same estimate."""


class HessianSettings(Settings):
    """Hessian of a scalar function, symmetric by construction."""

    method: Literal["central", "gradient"] = "central"
    """"central": second-order central differences of f; "gradient": central
    differences of central-difference gradients, symmetrized."""
    step: PositiveFloat | None = None
    """Step, relative to ``max(1, |x_i|)``; None: the theoretical optimum."""


EstimatorSettings = Annotated[
    ForwardSettings
    | BackwardSettings
    | CentralSettings
    | Central4Settings
    | ComplexSettings
    | RichardsonSettings
    | SpsaSettings
    | SmoothingSettings,
    Field(discriminator="method"),
]
"""Settings of any black-box derivative estimator, chosen by ``method``."""
