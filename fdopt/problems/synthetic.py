"""Synthetic problems with a known answer: the sphere and rotated ill-conditioned quadratics."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import torch

from fdopt._validate import check_int
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.problems._base import Problem, constant, least_squares

__all__ = ["quadratic", "quadratic_1e2", "quadratic_1e4", "sphere"]


def _sphere(x: torch.Tensor) -> torch.Tensor:
    return x.clone()  # a copy: numpy callers must not get their own x back


def sphere(n: int) -> Problem:
    """Return the sphere ``f(x) = sum_i x_i**2`` (residuals ``x_i``).

    ``x0 = (1, ..., 1)``; ``f* = 0`` at the origin.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares("sphere", _sphere, np.ones(n), 0.0, "The sphere: sum of squares")


def _quadratic(x: torch.Tensor, *, rotation: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return ((x - 1) @ constant(rotation, x)) * constant(scales, x)


def _rotation(n: int, seed: int) -> torch.Tensor:
    """Draw a random orthogonal matrix, uniform (Haar) over O(n), from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    rotation: torch.Tensor = q * torch.sign(torch.diagonal(r))  # QR leaves signs arbitrary
    return rotation


def _make_quadratic(name: str, n: int, condition: float, seed: int, rotated: bool) -> Problem:
    if isinstance(condition, bool) or not isinstance(condition, numbers.Real):
        raise ArgumentTypeError(f"condition must be a real number; got {condition!r}")
    if not (math.isfinite(condition) and condition >= 1):
        raise ArgumentValueError(f"condition must be finite and >= 1; got {condition!r}")
    seed = check_int(seed, "seed", minimum=0)
    if not isinstance(rotated, bool):
        raise ArgumentTypeError(f"rotated must be a bool; got {rotated!r}")
    eigenvalues = torch.logspace(0, math.log10(condition), n, dtype=torch.float64)
    rotation = _rotation(n, seed) if rotated else torch.eye(n, dtype=torch.float64)
    return least_squares(
        name,
        functools.partial(_quadratic, rotation=rotation, scales=torch.sqrt(eigenvalues / 2)),
        np.zeros(n),
        0.0,
        f"Convex quadratic 0.5 (x - 1)' A (x - 1), condition number {condition:g}"
        + (", rotated" if rotated else ", axis-aligned"),
    )


def quadratic(n: int, *, condition: float = 1e2, seed: int = 0, rotated: bool = True) -> Problem:
    """Return a convex quadratic ``f(x) = 0.5 (x - 1)' A (x - 1)`` of chosen conditioning.

    ``A = Q diag(lambda) Q'`` with eigenvalues ``lambda`` log-spaced from 1 to
    ``condition`` and ``Q`` a random orthogonal matrix drawn (Haar) from a
    ``torch.Generator`` seeded with ``seed``, or the identity when ``rotated`` is False.
    Residuals ``sqrt(lambda / 2) * (Q' (x - 1))``. ``x0 = 0``; ``f* = 0`` at
    ``(1, ..., 1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    condition : float, default 1e2
        The condition number of ``A``, ``>= 1``.
    seed : int, default 0
        Seed of the rotation ``Q``.
    rotated : bool, default True
        False for a diagonal ``A`` (axis-aligned, separable).

    Returns
    -------
    Problem
        The problem.

    Raises
    ------
    ArgumentValueError
        If ``condition`` is not finite or below 1.
    ArgumentTypeError
        If ``condition``, ``seed`` or ``rotated`` has the wrong type.
    """
    return _make_quadratic("quadratic", n, condition, seed, rotated)


def quadratic_1e2(n: int, *, seed: int = 0, rotated: bool = True) -> Problem:
    """:func:`quadratic` with condition number ``1e2``, registered under its own name.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    seed : int, default 0
        Seed of the rotation.
    rotated : bool, default True
        False for a diagonal matrix.

    Returns
    -------
    Problem
        The problem.
    """
    return _make_quadratic("quadratic_1e2", n, 1e2, seed, rotated)


def quadratic_1e4(n: int, *, seed: int = 0, rotated: bool = True) -> Problem:
    """:func:`quadratic` with condition number ``1e4``, registered under its own name.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    seed : int, default 0
        Seed of the rotation.
    rotated : bool, default True
        False for a diagonal matrix.

    Returns
    -------
    Problem
        The problem.
    """
    return _make_quadratic("quadratic_1e4", n, 1e4, seed, rotated)
