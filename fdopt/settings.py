"""Validated settings models: the conventions every fdopt component follows.

Every model derives from :class:`Settings`: pydantic v2, unknown fields rejected,
values validated (ranges included) when the model is built, and frozen, so a run
configured once cannot drift. Later components (estimators, optimizers, the run
config) add their models here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["GridSettings", "Settings"]


class Settings(BaseModel):
    """Base of every settings model: strict, validated and immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        strict=False,
        use_attribute_docstrings=True,
    )


class GridSettings(Settings):
    """Options of :func:`fdopt.gradient` on sampled grids.

    Examples
    --------
    >>> GridSettings(accuracy=4).accuracy
    4
    """

    accuracy: Literal[2, 4, 6, 8] = 2
    """Order of accuracy of the interior (and, above 2, boundary) stencils."""

    edge_order: Literal[1, 2] = 1
    """Order of the one-sided boundary stencils when ``accuracy`` is 2."""
