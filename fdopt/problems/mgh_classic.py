"""Classic small problems of Moré, Garbow and Hillstrom (1981) and their extended forms.

Each problem is ``f(x) = sum_i f_i(x)**2`` with the residuals ``f_i``, starting point
and minimum of the paper (problems 1-5, 7, 13, 14, 21 and 22); indices in the formulas
are the paper's, from 1.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch

from fdopt.problems._base import Problem, constant, least_squares, steps

__all__ = [
    "beale",
    "brown_badly_scaled",
    "extended_powell",
    "extended_rosenbrock",
    "freudenstein_roth",
    "helical_valley",
    "powell_badly_scaled",
    "powell_singular",
    "rosenbrock",
    "wood",
]


def _interleave(*columns: torch.Tensor) -> torch.Tensor:
    """Residual blocks ``(k, p)`` each -> ``(k, p * len(columns))``, block by block."""
    return torch.stack(columns, dim=-1).reshape(columns[0].shape[0], -1)


def _alternating(n: int, values: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """Repeat the point ``values`` to length ``n``."""
    return np.resize(np.array(values, dtype=np.float64), n)


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    head = x[:, :-1]
    return _interleave(10 * (x[:, 1:] - head**2), 1 - head)


def rosenbrock(n: int) -> Problem:
    """Rosenbrock's banana valley, chained: MGH problem 1 when ``n = 2``.

    ``f(x) = sum_{i<n} 100 (x_{i+1} - x_i**2)**2 + (1 - x_i)**2`` (residuals
    ``10 (x_{i+1} - x_i**2)`` and ``1 - x_i``), the form of ``scipy.optimize.rosen``.
    ``x0 = (-1.2, 1, -1.2, 1, ...)``; ``f* = 0`` at ``(1, ..., 1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 2``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "rosenbrock",
        _rosenbrock,
        _alternating(n, (-1.2, 1.0)),
        0.0,
        "Rosenbrock's curved valley, chained over consecutive pairs (MGH 1 at n = 2)",
    )


def _extended_rosenbrock(x: torch.Tensor) -> torch.Tensor:
    odd = x[:, 0::2]
    return _interleave(10 * (x[:, 1::2] - odd**2), 1 - odd)


def extended_rosenbrock(n: int) -> Problem:
    """Return the extended Rosenbrock function, MGH problem 21: ``n / 2`` valleys.

    ``f_{2i-1} = 10 (x_{2i} - x_{2i-1}**2)``, ``f_{2i} = 1 - x_{2i-1}``. Unlike the chained
    :func:`rosenbrock`, the pairs do not overlap. ``x0 = (-1.2, 1, ...)``; ``f* = 0`` at
    ``(1, ..., 1)``.

    Parameters
    ----------
    n : int
        Number of variables, even.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "extended_rosenbrock",
        _extended_rosenbrock,
        _alternating(n, (-1.2, 1.0)),
        0.0,
        "Separable Rosenbrock valleys over disjoint pairs (MGH 21)",
    )


def _freudenstein_roth(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[:, 0], x[:, 1]
    return torch.stack(
        [
            -13 + x1 + ((5 - x2) * x2 - 2) * x2,
            -29 + x1 + ((x2 + 1) * x2 - 14) * x2,
        ],
        dim=-1,
    )


def freudenstein_roth() -> Problem:
    """Freudenstein and Roth function, MGH problem 2.

    ``f_1 = -13 + x_1 + ((5 - x_2) x_2 - 2) x_2``, ``f_2 = -29 + x_1 + ((x_2 + 1) x_2 - 14) x_2``.
    ``x0 = (0.5, -2)``; ``f* = 0`` at ``(5, 4)``, and a local minimum ``f = 48.9842`` at
    ``(11.41..., -0.8968...)``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "freudenstein_roth",
        _freudenstein_roth,
        (0.5, -2.0),
        0.0,
        "Freudenstein & Roth: a local minimum (f = 48.98) beside the global one (MGH 2)",
    )


def _powell_badly_scaled(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[:, 0], x[:, 1]
    return torch.stack([1e4 * x1 * x2 - 1, torch.exp(-x1) + torch.exp(-x2) - 1.0001], dim=-1)


def powell_badly_scaled() -> Problem:
    """Powell badly scaled function, MGH problem 3.

    ``f_1 = 10**4 x_1 x_2 - 1``, ``f_2 = exp(-x_1) + exp(-x_2) - 1.0001``. ``x0 = (0, 1)``;
    ``f* = 0`` at ``(1.098...e-5, 9.106...)``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "powell_badly_scaled",
        _powell_badly_scaled,
        (0.0, 1.0),
        0.0,
        "Powell's badly scaled function: variables 6 orders of magnitude apart (MGH 3)",
    )


def _brown_badly_scaled(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[:, 0], x[:, 1]
    return torch.stack([x1 - 1e6, x2 - 2e-6, x1 * x2 - 2], dim=-1)


def brown_badly_scaled() -> Problem:
    """Brown badly scaled function, MGH problem 4.

    ``f_1 = x_1 - 10**6``, ``f_2 = x_2 - 2 10**-6``, ``f_3 = x_1 x_2 - 2``. ``x0 = (1, 1)``;
    ``f* = 0`` at ``(10**6, 2 10**-6)``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "brown_badly_scaled",
        _brown_badly_scaled,
        (1.0, 1.0),
        0.0,
        "Brown's badly scaled function: minimizer at (1e6, 2e-6) (MGH 4)",
    )


_BEALE_Y = (1.5, 2.25, 2.625)


def _beale(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[:, :1], x[:, 1:2]
    return constant(_BEALE_Y, x) - x1 * (1 - x2 ** steps(3, x))


def beale() -> Problem:
    """Beale function, MGH problem 5.

    ``f_i = y_i - x_1 (1 - x_2**i)``, ``i = 1, 2, 3``, ``y = (1.5, 2.25, 2.625)``.
    ``x0 = (1, 1)``; ``f* = 0`` at ``(3, 0.5)``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "beale", _beale, (1.0, 1.0), 0.0, "Beale's function: flat plateaus, steep walls (MGH 5)"
    )


def _helical_valley(x: torch.Tensor) -> torch.Tensor:
    x1, x2, x3 = x[:, 0], x[:, 1], x[:, 2]
    # The paper's theta, written with atan (not atan2) so that it is analytic: complex
    # steps work. The branch is chosen on the real part.
    theta = torch.atan(x2 / x1) / (2 * math.pi) + 0.5 * (torch.real(x1) < 0)
    radius = torch.sqrt(x1**2 + x2**2)
    return torch.stack([10 * (x3 - 10 * theta), 10 * (radius - 1), x3], dim=-1)


def helical_valley() -> Problem:
    """Helical valley function, MGH problem 7.

    ``f_1 = 10 (x_3 - 10 theta(x_1, x_2))``, ``f_2 = 10 (sqrt(x_1**2 + x_2**2) - 1)``,
    ``f_3 = x_3``, where ``2 pi theta = atan(x_2 / x_1)``, plus ``pi`` when ``x_1 < 0``.
    ``x0 = (-1, 0, 0)``; ``f* = 0`` at ``(1, 0, 0)``. Undefined (NaN gradient) where
    ``x_1 = 0``, as in the paper.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "helical_valley",
        _helical_valley,
        (-1.0, 0.0, 0.0),
        0.0,
        "Helical valley: a steep spiral around the x3 axis (MGH 7)",
    )


def _extended_powell(x: torch.Tensor) -> torch.Tensor:
    blocks = x.reshape(x.shape[0], -1, 4)
    a, b, c, d = blocks.unbind(-1)
    return _interleave(
        a + 10 * b, math.sqrt(5) * (c - d), (b - 2 * c) ** 2, math.sqrt(10) * (a - d) ** 2
    )


def powell_singular() -> Problem:
    """Powell singular function, MGH problem 13: a singular Hessian at the minimizer.

    ``f_1 = x_1 + 10 x_2``, ``f_2 = sqrt(5) (x_3 - x_4)``, ``f_3 = (x_2 - 2 x_3)**2``,
    ``f_4 = sqrt(10) (x_1 - x_4)**2``. ``x0 = (3, -1, 0, 1)``; ``f* = 0`` at the origin.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "powell_singular",
        _extended_powell,
        (3.0, -1.0, 0.0, 1.0),
        0.0,
        "Powell's singular function: singular Hessian at the minimum (MGH 13)",
    )


def extended_powell(n: int) -> Problem:
    """Return the extended Powell singular function, MGH problem 22: blocks of 13.

    Block ``i`` has the residuals of :func:`powell_singular` in ``x_{4i-3}, ..., x_{4i}``.
    ``x0 = (3, -1, 0, 1, ...)``; ``f* = 0`` at the origin.

    Parameters
    ----------
    n : int
        Number of variables, a multiple of 4.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "extended_powell",
        _extended_powell,
        _alternating(n, (3.0, -1.0, 0.0, 1.0)),
        0.0,
        "Powell's singular function in n / 4 independent blocks (MGH 22)",
    )


_SQRT_90 = math.sqrt(90)
_SQRT_10 = math.sqrt(10)


def _wood(x: torch.Tensor) -> torch.Tensor:
    x1, x2, x3, x4 = x.unbind(-1)
    return torch.stack(
        [
            10 * (x2 - x1**2),
            1 - x1,
            _SQRT_90 * (x4 - x3**2),
            1 - x3,
            _SQRT_10 * (x2 + x4 - 2),
            (x2 - x4) / _SQRT_10,
        ],
        dim=-1,
    )


def wood() -> Problem:
    """Wood function, MGH problem 14: two coupled Rosenbrock valleys.

    ``f_1 = 10 (x_2 - x_1**2)``, ``f_2 = 1 - x_1``, ``f_3 = sqrt(90) (x_4 - x_3**2)``,
    ``f_4 = 1 - x_3``, ``f_5 = sqrt(10) (x_2 + x_4 - 2)``, ``f_6 = (x_2 - x_4) / sqrt(10)``.
    ``x0 = (-3, -1, -3, -1)``; ``f* = 0`` at ``(1, 1, 1, 1)``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "wood",
        _wood,
        (-3.0, -1.0, -3.0, -1.0),
        0.0,
        "Wood's function: two coupled Rosenbrock valleys (MGH 14)",
    )
