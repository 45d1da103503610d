"""Problems of Moré, Garbow and Hillstrom (1981) defined for any number of variables.

Each problem is ``f(x) = sum_i f_i(x)**2`` with the residuals ``f_i``, starting point
and minimum of the paper (problems 20 and 23-27, 35); indices in the formulas are the
paper's, from 1. Where the minimum depends on ``n`` and the paper gives it only for
some ``n``, ``f_star`` is None for the others.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from fdopt._validate import check_int
from fdopt.problems._base import Problem, least_squares, steps

__all__ = [
    "brown_almost_linear",
    "chebyquad",
    "penalty1",
    "penalty2",
    "trigonometric",
    "variably_dimensioned",
    "watson",
]

_PENALTY_SQRT_A = math.sqrt(1e-5)


def _watson(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    t = steps(29, x) / 29
    powers = t[:, None] ** steps(n, x, first=0)  # t_i ** (j - 1), j = 1..n
    value = x @ powers.T
    slope = x[:, 1:] @ (steps(n - 1, x) * powers[:, :-1]).T  # sum_j (j - 1) x_j t_i ** (j - 2)
    x1, x2 = x[:, :1], x[:, 1:2]
    return torch.cat([slope - value**2 - 1, x1, x2 - x1**2 - 1], dim=-1)


_WATSON_F_STAR = {6: 2.28767e-3, 9: 1.39976e-6, 12: 4.72238e-10}


def watson(n: int) -> Problem:
    """Watson function, MGH problem 20: a polynomial fit to an ODE, ill-conditioned.

    ``f_i = sum_{j=2}^n (j - 1) x_j t_i**(j-2) - (sum_{j=1}^n x_j t_i**(j-1))**2 - 1``,
    ``t_i = i / 29``, ``i = 1, ..., 29``; ``f_30 = x_1``, ``f_31 = x_2 - x_1**2 - 1``.
    ``x0 = 0``; ``f* = 2.28767e-3`` for ``n = 6``, ``1.39976e-6`` for ``n = 9``,
    ``4.72238e-10`` for ``n = 12`` (unknown for other ``n``).

    Parameters
    ----------
    n : int
        Number of variables, ``2 <= n <= 31``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "watson",
        _watson,
        np.zeros(n),
        _WATSON_F_STAR.get(n),
        "Watson's polynomial fit: conditioning worsens quickly with n (MGH 20)",
    )


def _penalty1(x: torch.Tensor) -> torch.Tensor:
    return torch.cat(
        [_PENALTY_SQRT_A * (x - 1), (x**2).sum(-1, keepdim=True) - 0.25],
        dim=-1,
    )


_PENALTY1_F_STAR = {4: 2.24997e-5, 10: 7.08765e-5}


def penalty1(n: int) -> Problem:
    """Penalty function I, MGH problem 23.

    ``f_i = sqrt(a) (x_i - 1)``, ``i = 1, ..., n``; ``f_{n+1} = sum_j x_j**2 - 1/4``;
    ``a = 1e-5``. ``x0 = (1, 2, ..., n)``; ``f* = 2.24997e-5`` for ``n = 4``,
    ``7.08765e-5`` for ``n = 10`` (unknown for other ``n``).

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "penalty1",
        _penalty1,
        np.arange(1.0, n + 1),
        _PENALTY1_F_STAR.get(n),
        "Penalty function I: a small quadratic term against a quartic constraint (MGH 23)",
    )


def _penalty2(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    i = steps(n - 1, x, first=2)
    y = torch.exp(i / 10) + torch.exp((i - 1) / 10)
    e = torch.exp(x / 10)
    weights = n + 1 - steps(n, x)
    return torch.cat(
        [
            x[:, :1] - 0.2,
            _PENALTY_SQRT_A * (e[:, 1:] + e[:, :-1] - y),
            _PENALTY_SQRT_A * (e[:, 1:] - math.exp(-0.1)),
            (weights * x**2).sum(-1, keepdim=True) - 1,
        ],
        dim=-1,
    )


_PENALTY2_F_STAR = {4: 9.37629e-6, 10: 2.93660e-4}


def penalty2(n: int) -> Problem:
    """Penalty function II, MGH problem 24.

    ``f_1 = x_1 - 0.2``; ``f_i = sqrt(a) (exp(x_i / 10) + exp(x_{i-1} / 10) - y_i)``,
    ``i = 2, ..., n``; ``f_i = sqrt(a) (exp(x_{i-n+1} / 10) - exp(-1/10))``,
    ``n < i < 2n``; ``f_{2n} = sum_j (n - j + 1) x_j**2 - 1``; ``a = 1e-5``,
    ``y_i = exp(i / 10) + exp((i - 1) / 10)``. ``x0 = (1/2, ..., 1/2)``;
    ``f* = 9.37629e-6`` for ``n = 4``, ``2.93660e-4`` for ``n = 10`` (unknown for other
    ``n``).

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "penalty2",
        _penalty2,
        np.full(n, 0.5),
        _PENALTY2_F_STAR.get(n),
        "Penalty function II: exponentials against a weighted quartic (MGH 24)",
    )


def _variably_dimensioned(x: torch.Tensor) -> torch.Tensor:
    s = ((x - 1) * steps(x.shape[1], x)).sum(-1, keepdim=True)
    return torch.cat([x - 1, s, s**2], dim=-1)


def variably_dimensioned(n: int) -> Problem:
    """Variably dimensioned function, MGH problem 25.

    ``f_i = x_i - 1``, ``i = 1, ..., n``; ``f_{n+1} = sum_j j (x_j - 1)``;
    ``f_{n+2} = (sum_j j (x_j - 1))**2``. ``x0_j = 1 - j / n``; ``f* = 0`` at
    ``(1, ..., 1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "variably_dimensioned",
        _variably_dimensioned,
        1 - np.arange(1.0, n + 1) / n,
        0.0,
        "Variably dimensioned: a quartic term that grows with n (MGH 25)",
    )


def _trigonometric(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    cosines = torch.cos(x)
    i = steps(n, x)
    return n - cosines.sum(-1, keepdim=True) + i * (1 - cosines) - torch.sin(x)


def trigonometric(n: int) -> Problem:
    """Trigonometric function, MGH problem 26.

    ``f_i = n - sum_j cos x_j + i (1 - cos x_i) - sin x_i``, ``i = 1, ..., n``.
    ``x0 = (1/n, ..., 1/n)``; ``f* = 0`` (at the origin, for instance). Solvers started
    at ``x0`` may stop at a local minimum (``f = 2.79506e-5`` for ``n = 10``).

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "trigonometric",
        _trigonometric,
        np.full(n, 1.0 / n),
        0.0,
        "Trigonometric function: periodic, with local minima (MGH 26)",
    )


def _brown_almost_linear(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    linear = x[:, :-1] + x.sum(-1, keepdim=True) - (n + 1)
    return torch.cat([linear, x.prod(-1, keepdim=True) - 1], dim=-1)


def brown_almost_linear(n: int) -> Problem:
    """Brown almost-linear function, MGH problem 27.

    ``f_i = x_i + sum_j x_j - (n + 1)``, ``i = 1, ..., n - 1``; ``f_n = prod_j x_j - 1``.
    ``x0 = (1/2, ..., 1/2)``; ``f* = 0`` at ``(1, ..., 1)`` (and at other points
    ``(alpha, ..., alpha, alpha**(1-n))``); ``f = 1`` at ``(0, ..., 0, n + 1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "brown_almost_linear",
        _brown_almost_linear,
        np.full(n, 0.5),
        0.0,
        "Brown's almost-linear system: one product equation (MGH 27)",
    )


def _chebyquad(x: torch.Tensor, *, m: int) -> torch.Tensor:
    y = 2 * x - 1  # T_i shifted to [0, 1] is T_i(2 x - 1)
    previous, current = torch.ones_like(y), y
    means = []
    for _ in range(m):
        means.append(current.mean(-1))
        previous, current = current, 2 * y * current - previous
    # The integral of the shifted T_i over [0, 1]: -1 / (i**2 - 1) for even i, 0 for odd.
    i = torch.arange(1, m + 1, dtype=torch.float64, device=x.device)
    integrals = torch.where(i % 2 == 0, -1 / (i**2 - 1), 0.0)
    return torch.stack(means, dim=-1) - integrals.to(x.dtype)


_CHEBYQUAD_F_STAR = {8: 3.51687e-3, 10: 6.50395e-3}


def chebyquad(n: int, *, m: int | None = None) -> Problem:
    """Chebyquad function, MGH problem 35: Chebyshev quadrature nodes.

    ``f_i = (1/n) sum_j T_i(x_j) - integral_0^1 T_i``, ``i = 1, ..., m``, where ``T_i``
    is the Chebyshev polynomial of degree ``i`` shifted to ``[0, 1]``; the integral is
    ``-1 / (i**2 - 1)`` for even ``i`` and 0 for odd ``i``. ``x0_j = j / (n + 1)``. For
    ``m = n``: ``f* = 0`` for ``n <= 7`` and ``n = 9``, ``3.51687e-3`` for ``n = 8``,
    ``6.50395e-3`` for ``n = 10`` (unknown otherwise).

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    m : int or None, default None
        Number of residuals, ``>= n``; None means ``n``.

    Returns
    -------
    Problem
        The problem.
    """
    m = n if m is None else check_int(m, "m", minimum=n)
    f_star = None
    if m == n:
        f_star = 0.0 if n <= 7 or n == 9 else _CHEBYQUAD_F_STAR.get(n)
    return least_squares(
        "chebyquad",
        functools.partial(_chebyquad, m=m),
        np.arange(1.0, n + 1) / (n + 1),
        f_star,
        "Chebyquad: nodes of an equal-weight Chebyshev quadrature (MGH 35)",
    )
