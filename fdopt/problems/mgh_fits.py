"""Data-fitting problems of Moré, Garbow and Hillstrom (1981): models fitted to ``y_i``.

Each problem is ``f(x) = sum_i f_i(x)**2`` with the residuals ``f_i``, data, starting
point and minimum of the paper (problems 6, 8-12 and 15-19); indices in the formulas
are the paper's, from 1. Problems the paper defines for any number ``m`` of residuals
take an ``m`` option; the paper's minimum is given for its ``m``.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import functools

import torch

from fdopt._validate import check_int
from fdopt.problems._base import Problem, constant, least_squares, steps

__all__ = [
    "bard",
    "biggs_exp6",
    "box_3d",
    "brown_dennis",
    "gaussian",
    "gulf",
    "jennrich_sampson",
    "kowalik_osborne",
    "meyer",
    "osborne1",
    "osborne2",
]


def _jennrich_sampson(x: torch.Tensor, *, m: int) -> torch.Tensor:
    i = steps(m, x)
    return 2 + 2 * i - (torch.exp(i * x[:, :1]) + torch.exp(i * x[:, 1:2]))


def jennrich_sampson(*, m: int = 10) -> Problem:
    """Jennrich and Sampson function, MGH problem 6.

    ``f_i = 2 + 2 i - (exp(i x_1) + exp(i x_2))``, ``i = 1, ..., m``. ``x0 = (0.3, 0.4)``;
    ``f* = 124.362`` at ``x_1 = x_2 = 0.2578`` for ``m = 10`` (unknown for other ``m``).

    Parameters
    ----------
    m : int, default 10
        Number of residuals, ``>= 2``.

    Returns
    -------
    Problem
        The problem.
    """
    m = check_int(m, "m", minimum=2)
    return least_squares(
        "jennrich_sampson",
        functools.partial(_jennrich_sampson, m=m),
        (0.3, 0.4),
        124.362 if m == 10 else None,
        "Jennrich & Sampson: exponentials, large residual at the minimum (MGH 6)",
    )


_BARD_Y = (0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39)


_BARD_W = tuple(float(min(i, 16 - i)) for i in range(1, 16))


def _bard(x: torch.Tensor) -> torch.Tensor:
    u = steps(15, x)
    v = 16 - u
    w = constant(_BARD_W, x)  # min(u_i, v_i)
    return constant(_BARD_Y, x) - (x[:, :1] + u / (v * x[:, 1:2] + w * x[:, 2:3]))


def bard() -> Problem:
    """Bard function, MGH problem 8.

    ``f_i = y_i - (x_1 + u_i / (v_i x_2 + w_i x_3))``, ``u_i = i``, ``v_i = 16 - i``,
    ``w_i = min(u_i, v_i)``, ``i = 1, ..., 15``. ``x0 = (1, 1, 1)``; ``f* = 8.21487e-3``
    (and ``f = 17.4286`` as ``x_2, x_3 -> -inf``).

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "bard", _bard, (1.0, 1.0, 1.0), 8.21487e-3, "Bard's rational model fit (MGH 8)"
    )


_GAUSSIAN_Y = (
    0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
    0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009,
)  # fmt: skip


def _gaussian(x: torch.Tensor) -> torch.Tensor:
    t = (8 - steps(15, x)) / 2
    return x[:, :1] * torch.exp(-x[:, 1:2] * (t - x[:, 2:3]) ** 2 / 2) - constant(_GAUSSIAN_Y, x)


def gaussian() -> Problem:
    """Gaussian function, MGH problem 9.

    ``f_i = x_1 exp(-x_2 (t_i - x_3)**2 / 2) - y_i``, ``t_i = (8 - i) / 2``,
    ``i = 1, ..., 15``. ``x0 = (0.4, 1, 0)``; ``f* = 1.12793e-8``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "gaussian",
        _gaussian,
        (0.4, 1.0, 0.0),
        1.12793e-8,
        "A Gaussian bell fitted to 15 points (MGH 9)",
    )


_MEYER_Y = (
    34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0,
    8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0,
)  # fmt: skip


def _meyer(x: torch.Tensor) -> torch.Tensor:
    t = 45 + 5 * steps(16, x)
    return x[:, :1] * torch.exp(x[:, 1:2] / (t + x[:, 2:3])) - constant(_MEYER_Y, x)


def meyer() -> Problem:
    """Meyer function, MGH problem 10: a thermistor model, very badly scaled.

    ``f_i = x_1 exp(x_2 / (t_i + x_3)) - y_i``, ``t_i = 45 + 5 i``, ``i = 1, ..., 16``.
    ``x0 = (0.02, 4000, 250)``; ``f* = 87.9458``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "meyer",
        _meyer,
        (0.02, 4000.0, 250.0),
        87.9458,
        "Meyer's thermistor model: variables of scales 1e-2 to 1e4 (MGH 10)",
    )


def _gulf(x: torch.Tensor, *, m: int) -> torch.Tensor:
    t = steps(m, x) / 100
    y = 25 + (-50 * torch.log(t)) ** (2 / 3)
    x1, x2, x3 = x[:, :1], x[:, 1:2], x[:, 2:3]
    d = y - x2
    magnitude = torch.where(torch.real(d) < 0, -d, d)  # |d|, analytic for complex steps
    return torch.exp(-(magnitude**x3) / x1) - t


def gulf(*, m: int = 10) -> Problem:
    """Gulf research and development function, MGH problem 11.

    ``f_i = exp(-|y_i - x_2|**x_3 / x_1) - t_i``, ``t_i = i / 100``,
    ``y_i = 25 + (-50 log t_i)**(2/3)``, ``i = 1, ..., m``. The paper prints
    ``|y_i m i x_2|``, a typesetting slip for ``|y_i - x_2|``: only the minus sign makes
    its minimizer a zero. ``x0 = (5, 2.5, 0.15)``; ``f* = 0`` at ``(50, 25, 1.5)``.

    Parameters
    ----------
    m : int, default 10
        Number of residuals, ``3 <= m <= 100``.

    Returns
    -------
    Problem
        The problem.
    """
    m = check_int(m, "m", minimum=3, maximum=100)
    return least_squares(
        "gulf",
        functools.partial(_gulf, m=m),
        (5.0, 2.5, 0.15),
        0.0,
        "Gulf research and development: a fractional power inside an exponential (MGH 11)",
    )


def _box_3d(x: torch.Tensor, *, m: int) -> torch.Tensor:
    t = steps(m, x) / 10
    x1, x2, x3 = x[:, :1], x[:, 1:2], x[:, 2:3]
    return torch.exp(-t * x1) - torch.exp(-t * x2) - x3 * (torch.exp(-t) - torch.exp(-10 * t))


def box_3d(*, m: int = 10) -> Problem:
    """Box three-dimensional function, MGH problem 12.

    ``f_i = exp(-t_i x_1) - exp(-t_i x_2) - x_3 (exp(-t_i) - exp(-10 t_i))``,
    ``t_i = i / 10``, ``i = 1, ..., m``. ``x0 = (0, 10, 20)``; ``f* = 0`` at ``(1, 10, 1)``,
    ``(10, 1, -1)`` and wherever ``x_1 = x_2``, ``x_3 = 0``.

    Parameters
    ----------
    m : int, default 10
        Number of residuals, ``>= 3``.

    Returns
    -------
    Problem
        The problem.
    """
    m = check_int(m, "m", minimum=3)
    return least_squares(
        "box_3d",
        functools.partial(_box_3d, m=m),
        (0.0, 10.0, 20.0),
        0.0,
        "Box's three-dimensional exponential fit: a line of minimizers (MGH 12)",
    )


_KOWALIK_Y = (
    0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246,
)  # fmt: skip
_KOWALIK_U = (4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625)


def _kowalik_osborne(x: torch.Tensor) -> torch.Tensor:
    u = constant(_KOWALIK_U, x)
    x1, x2, x3, x4 = x[:, :1], x[:, 1:2], x[:, 2:3], x[:, 3:4]
    return constant(_KOWALIK_Y, x) - x1 * (u**2 + u * x2) / (u**2 + u * x3 + x4)


def kowalik_osborne() -> Problem:
    """Kowalik and Osborne function, MGH problem 15: an enzyme reaction rate model.

    ``f_i = y_i - x_1 (u_i**2 + u_i x_2) / (u_i**2 + u_i x_3 + x_4)``, ``i = 1, ..., 11``.
    ``x0 = (0.25, 0.39, 0.415, 0.39)``; ``f* = 3.07505e-4`` (and ``f = 1.02734e-3`` as
    ``x_1 -> inf``).

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "kowalik_osborne",
        _kowalik_osborne,
        (0.25, 0.39, 0.415, 0.39),
        3.07505e-4,
        "Kowalik & Osborne's enzyme kinetics fit (MGH 15)",
    )


def _brown_dennis(x: torch.Tensor, *, m: int) -> torch.Tensor:
    t = steps(m, x) / 5
    x1, x2, x3, x4 = x[:, :1], x[:, 1:2], x[:, 2:3], x[:, 3:4]
    first = x1 + t * x2 - torch.exp(t)
    second = x3 + x4 * torch.sin(t) - torch.cos(t)
    return first**2 + second**2


def brown_dennis(*, m: int = 20) -> Problem:
    """Brown and Dennis function, MGH problem 16.

    ``f_i = (x_1 + t_i x_2 - exp(t_i))**2 + (x_3 + x_4 sin t_i - cos t_i)**2``,
    ``t_i = i / 5``, ``i = 1, ..., m``. ``x0 = (25, 5, -5, -1)``; ``f* = 85822.2`` for
    ``m = 20`` (unknown for other ``m``).

    Parameters
    ----------
    m : int, default 20
        Number of residuals, ``>= 4``.

    Returns
    -------
    Problem
        The problem.
    """
    m = check_int(m, "m", minimum=4)
    return least_squares(
        "brown_dennis",
        functools.partial(_brown_dennis, m=m),
        (25.0, 5.0, -5.0, -1.0),
        85822.2 if m == 20 else None,
        "Brown & Dennis: quartic in x, large residual at the minimum (MGH 16)",
    )


_OSBORNE1_Y = (
    0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
    0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
    0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406,
)  # fmt: skip


def _osborne1(x: torch.Tensor) -> torch.Tensor:
    t = 10 * steps(33, x, first=0)
    x1, x2, x3, x4, x5 = (x[:, j : j + 1] for j in range(5))
    model = x1 + x2 * torch.exp(-t * x4) + x3 * torch.exp(-t * x5)
    return constant(_OSBORNE1_Y, x) - model


def osborne1() -> Problem:
    """Osborne 1 function, MGH problem 17: a sum of two exponentials and a constant.

    ``f_i = y_i - (x_1 + x_2 exp(-t_i x_4) + x_3 exp(-t_i x_5))``, ``t_i = 10 (i - 1)``,
    ``i = 1, ..., 33``. ``x0 = (0.5, 1.5, -1, 0.01, 0.02)``; ``f* = 5.46489e-5``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "osborne1",
        _osborne1,
        (0.5, 1.5, -1.0, 0.01, 0.02),
        5.46489e-5,
        "Osborne's two-exponential decay fit (MGH 17)",
    )


def _biggs_exp6(x: torch.Tensor, *, m: int) -> torch.Tensor:
    t = steps(m, x) / 10
    y = torch.exp(-t) - 5 * torch.exp(-10 * t) + 3 * torch.exp(-4 * t)
    x1, x2, x3, x4, x5, x6 = (x[:, j : j + 1] for j in range(6))
    return x3 * torch.exp(-t * x1) - x4 * torch.exp(-t * x2) + x6 * torch.exp(-t * x5) - y


def biggs_exp6(*, m: int = 13) -> Problem:
    """Biggs EXP6 function, MGH problem 18.

    ``f_i = x_3 exp(-t_i x_1) - x_4 exp(-t_i x_2) + x_6 exp(-t_i x_5) - y_i``,
    ``t_i = i / 10``, ``y_i = exp(-t_i) - 5 exp(-10 t_i) + 3 exp(-4 t_i)``,
    ``i = 1, ..., m``. ``x0 = (1, 2, 1, 1, 1, 1)``; ``f* = 0`` at ``(1, 10, 1, 5, 4, 3)``.
    Solvers started at ``x0`` often stop at the local minimum ``f = 5.65565e-3``
    (``m = 13``), the value the paper reports first.

    Parameters
    ----------
    m : int, default 13
        Number of residuals, ``>= 6``.

    Returns
    -------
    Problem
        The problem.
    """
    m = check_int(m, "m", minimum=6)
    return least_squares(
        "biggs_exp6",
        functools.partial(_biggs_exp6, m=m),
        (1.0, 2.0, 1.0, 1.0, 1.0, 1.0),
        0.0,
        "Biggs' three-exponential fit: a local minimum at f = 5.66e-3 (MGH 18)",
    )


_OSBORNE2_Y = (
    1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
    0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
    0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
    0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
    0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
    0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054,
)  # fmt: skip


def _osborne2(x: torch.Tensor) -> torch.Tensor:
    t = steps(65, x, first=0) / 10
    c = [x[:, j : j + 1] for j in range(11)]
    model = c[0] * torch.exp(-t * c[4])
    for amplitude, rate, centre in zip(c[1:4], c[5:8], c[8:11], strict=True):
        model = model + amplitude * torch.exp(-((t - centre) ** 2) * rate)
    return constant(_OSBORNE2_Y, x) - model


def osborne2() -> Problem:
    """Osborne 2 function, MGH problem 19: an exponential plus three Gaussians.

    ``f_i = y_i - (x_1 exp(-t_i x_5) + x_2 exp(-(t_i - x_9)**2 x_6)
    + x_3 exp(-(t_i - x_10)**2 x_7) + x_4 exp(-(t_i - x_11)**2 x_8))``,
    ``t_i = (i - 1) / 10``, ``i = 1, ..., 65``.
    ``x0 = (1.3, 0.65, 0.65, 0.7, 0.6, 3, 5, 7, 2, 4.5, 5.5)``; ``f* = 4.01377e-2``.

    Returns
    -------
    Problem
        The problem.
    """
    return least_squares(
        "osborne2",
        _osborne2,
        (1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5),
        4.01377e-2,
        "Osborne's exponential-plus-three-Gaussians fit, 11 variables (MGH 19)",
    )
