"""Settings of derivatives on sampled grids (:func:`fdopt.gradient`)."""

from __future__ import annotations

from typing import Literal

from fdopt.settings._base import Settings

__all__ = ["GridSettings"]


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
