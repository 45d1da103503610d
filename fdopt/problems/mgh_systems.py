"""Equation systems and linear functions of Moré, Garbow and Hillstrom (1981), any ``n``.

Each problem is ``f(x) = sum_i f_i(x)**2`` with the residuals ``f_i``, starting point
and minimum of the paper (problems 28-34); indices in the formulas are the paper's,
from 1. The nonlinear systems (28-31) have ``f* = 0``; the linear functions (32-34)
take the number of residuals ``m >= n`` as an option, and their minimum is a formula
in ``m`` and ``n``.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import torch

from fdopt._validate import check_int
from fdopt.problems._base import Problem, least_squares, steps

__all__ = [
    "broyden_banded",
    "broyden_tridiagonal",
    "discrete_boundary_value",
    "discrete_integral",
    "linear_full_rank",
    "linear_rank1",
    "linear_rank1_zero",
]


def _neighbours(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_{i-1}, x_{i+1})`` for every ``i``, with ``x_0 = x_{n+1} = 0``."""
    padded = torch.nn.functional.pad(x, (1, 1))
    return padded[:, :-2], padded[:, 2:]


def _nodes(n: int) -> npt.NDArray[np.float64]:
    """``t_j = j h`` with ``h = 1 / (n + 1)``, ``j = 1, ..., n``."""
    return np.arange(1.0, n + 1) / (n + 1)


def _discrete_boundary_value(x: torch.Tensor) -> torch.Tensor:
    h = 1 / (x.shape[1] + 1)
    t = steps(x.shape[1], x) * h
    before, after = _neighbours(x)
    return 2 * x - before - after + h**2 * (x + t + 1) ** 3 / 2


def discrete_boundary_value(n: int) -> Problem:
    """Discrete boundary value function, MGH problem 28.

    ``f_i = 2 x_i - x_{i-1} - x_{i+1} + h**2 (x_i + t_i + 1)**3 / 2``, ``h = 1 / (n + 1)``,
    ``t_i = i h``, ``x_0 = x_{n+1} = 0``. ``x0_j = t_j (t_j - 1)``; ``f* = 0``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    t = _nodes(n)
    return least_squares(
        "discrete_boundary_value",
        _discrete_boundary_value,
        t * (t - 1),
        0.0,
        "Discretized two-point boundary value problem (MGH 28)",
    )


def _discrete_integral(x: torch.Tensor) -> torch.Tensor:
    h = 1 / (x.shape[1] + 1)
    t = steps(x.shape[1], x) * h
    cubes = (x + t + 1) ** 3
    up_to = torch.cumsum(t * cubes, dim=-1)  # sum_{j <= i} t_j c_j
    tail = (1 - t) * cubes
    beyond = tail.sum(-1, keepdim=True) - torch.cumsum(tail, dim=-1)  # sum_{j > i}
    return x + h * ((1 - t) * up_to + t * beyond) / 2


def discrete_integral(n: int) -> Problem:
    """Discrete integral equation function, MGH problem 29.

    ``f_i = x_i + h ((1 - t_i) sum_{j<=i} t_j (x_j + t_j + 1)**3
    + t_i sum_{j>i} (1 - t_j) (x_j + t_j + 1)**3) / 2``, ``h = 1 / (n + 1)``,
    ``t_i = i h``. ``x0_j = t_j (t_j - 1)``; ``f* = 0``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.

    Returns
    -------
    Problem
        The problem.
    """
    t = _nodes(n)
    return least_squares(
        "discrete_integral",
        _discrete_integral,
        t * (t - 1),
        0.0,
        "Discretized nonlinear integral equation: dense Jacobian (MGH 29)",
    )


def _broyden_tridiagonal(x: torch.Tensor) -> torch.Tensor:
    before, after = _neighbours(x)
    return (3 - 2 * x) * x - before - 2 * after + 1


def broyden_tridiagonal(n: int) -> Problem:
    """Broyden tridiagonal function, MGH problem 30.

    ``f_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1``, ``x_0 = x_{n+1} = 0``.
    ``x0 = (-1, ..., -1)``; ``f* = 0``.

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
        "broyden_tridiagonal",
        _broyden_tridiagonal,
        np.full(n, -1.0),
        0.0,
        "Broyden's tridiagonal system (MGH 30)",
    )


def _broyden_banded(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    i = torch.arange(n, device=x.device)[:, None]
    j = torch.arange(n, device=x.device)[None, :]
    band = (j != i) & (j >= i - 5) & (j <= i + 1)  # J_i: lower bandwidth 5, upper 1
    return x * (2 + 5 * x**2) + 1 - (x * (1 + x)) @ band.T.to(x.dtype)


def broyden_banded(n: int) -> Problem:
    """Broyden banded function, MGH problem 31.

    ``f_i = x_i (2 + 5 x_i**2) + 1 - sum_{j in J_i} x_j (1 + x_j)``, where
    ``J_i = {j != i : max(1, i - 5) <= j <= min(n, i + 1)}``. ``x0 = (-1, ..., -1)``;
    ``f* = 0``.

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
        "broyden_banded",
        _broyden_banded,
        np.full(n, -1.0),
        0.0,
        "Broyden's banded system: lower bandwidth 5, upper 1 (MGH 31)",
    )


def _rows(n: int, m: int | None) -> int:
    """Return the number of residuals of a linear function: ``m >= n``, ``2 n`` default."""
    return 2 * n if m is None else check_int(m, "m", minimum=n)


def _linear_full_rank(x: torch.Tensor, *, m: int) -> torch.Tensor:
    shared = -2 / m * x.sum(-1, keepdim=True) - 1
    return torch.cat([x + shared, shared.expand(-1, m - x.shape[1])], dim=-1)


def linear_full_rank(n: int, *, m: int | None = None) -> Problem:
    """Linear function, full rank: MGH problem 32.

    ``f_i = x_i - (2/m) sum_j x_j - 1`` for ``i <= n``, ``f_i = -(2/m) sum_j x_j - 1``
    for ``n < i <= m``. ``x0 = (1, ..., 1)``; ``f* = m - n`` at ``(-1, ..., -1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    m : int or None, default None
        Number of residuals, ``>= n``; None means ``2 n``.

    Returns
    -------
    Problem
        The problem.
    """
    m = _rows(n, m)
    return least_squares(
        "linear_full_rank",
        functools.partial(_linear_full_rank, m=m),
        np.ones(n),
        float(m - n),
        "Linear least squares, full rank (MGH 32)",
    )


def _linear_rank1(x: torch.Tensor, *, m: int) -> torch.Tensor:
    s = (steps(x.shape[1], x) * x).sum(-1, keepdim=True)
    return steps(m, x) * s - 1


def linear_rank1(n: int, *, m: int | None = None) -> Problem:
    """Linear function, rank 1: MGH problem 33.

    ``f_i = i (sum_j j x_j) - 1``, ``i = 1, ..., m``. ``x0 = (1, ..., 1)``;
    ``f* = m (m - 1) / (2 (2 m + 1))`` wherever ``sum_j j x_j = 3 / (2 m + 1)``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 1``.
    m : int or None, default None
        Number of residuals, ``>= n``; None means ``2 n``.

    Returns
    -------
    Problem
        The problem.
    """
    m = _rows(n, m)
    return least_squares(
        "linear_rank1",
        functools.partial(_linear_rank1, m=m),
        np.ones(n),
        m * (m - 1) / (2 * (2 * m + 1)),
        "Linear least squares, rank 1: a hyperplane of minimizers (MGH 33)",
    )


def _linear_rank1_zero(x: torch.Tensor, *, m: int) -> torch.Tensor:
    n = x.shape[1]
    s = (steps(n - 2, x, first=2) * x[:, 1:-1]).sum(-1, keepdim=True)
    factors = steps(m, x, first=0)  # i - 1; zero for the first residual
    factors[-1] = 0  # ... and for the last
    return factors * s - 1


def linear_rank1_zero(n: int, *, m: int | None = None) -> Problem:
    """Linear function, rank 1 with zero columns and rows: MGH problem 34.

    ``f_1 = -1``, ``f_i = (i - 1) (sum_{j=2}^{n-1} j x_j) - 1`` for ``2 <= i <= m - 1``,
    ``f_m = -1``. ``x0 = (1, ..., 1)``; ``f* = (m**2 + 3 m - 6) / (2 (2 m - 3))``.

    Parameters
    ----------
    n : int
        Number of variables, ``>= 3``.
    m : int or None, default None
        Number of residuals, ``>= n``; None means ``2 n``.

    Returns
    -------
    Problem
        The problem.
    """
    m = _rows(n, m)
    return least_squares(
        "linear_rank1_zero",
        functools.partial(_linear_rank1_zero, m=m),
        np.ones(n),
        (m**2 + 3 * m - 6) / (2 * (2 * m - 3)),
        "Linear least squares, rank 1 with zero columns and rows (MGH 34)",
    )
