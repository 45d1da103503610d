"""Noisy versions of problems: Gaussian noise, additive or multiplicative, from a seed."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch

from fdopt._validate import check_int
from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.problems._base import Problem, Vectorized

__all__ = ["NoiseKind", "noisy"]

NoiseKind = Literal["additive", "multiplicative"]


@dataclass(eq=False)
class _Noisy:
    """``fun`` on a batch, plus one draw of noise per row from ``generator``."""

    fun: Callable[..., Any]
    kind: NoiseKind
    level: float
    generator: torch.Generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        values: torch.Tensor = self.fun(x)
        # Drawn in float64 on the CPU, so the sequence is the same for every dtype and
        # device; row by row, because torch fills 16 or more normals at once in another
        # order than one by one, and a batch must draw what single points would.
        rows = [
            torch.randn((1, *values.shape[1:]), generator=self.generator, dtype=torch.float64)
            for _ in range(values.shape[0])
        ]
        z = torch.cat(rows).to(device=values.device, dtype=values.dtype)
        if self.kind == "additive":
            return values + self.level * z
        return values * (1 + self.level * z)


def _short(level: float) -> str:
    """``level`` in short scientific notation: ``1e-3``, ``2.5e-2``."""
    mantissa, exponent = f"{level:.12e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def noisy(problem: Problem, *, kind: NoiseKind, level: float, seed: int = 0) -> Problem:
    """Return ``problem`` with Gaussian noise on every value of its objective.

    ``kind="additive"`` gives ``f(x) + level * z``, ``kind="multiplicative"`` gives
    ``f(x) * (1 + level * z)``, with ``z`` standard normal, one draw per point (per row
    of a batch). The draws come from a ``torch.Generator`` seeded with ``seed`` and
    advanced by every call: the noisy function is stateful. Two functions made by
    ``noisy`` with the same ``seed`` give the same values for the same sequence of
    points, and a batch of ``k`` points draws what ``k`` calls with one point each would.
    Draws are made in float64 on the CPU, so they do not depend on the device or dtype.
    The generator is not shared between processes: each worker process that receives
    the function continues its own copy of the sequence.

    Parameters
    ----------
    problem : Problem
        The problem; its ``fun`` must follow the :class:`Problem` contract (tensor batch
        in, tensor out), as every built-in problem's does.
    kind : {"additive", "multiplicative"}
        How the noise enters.
    level : float
        The standard deviation of the noise (absolute for additive, relative for
        multiplicative), ``>= 0``.
    seed : int, default 0
        Seed of the generator.

    Returns
    -------
    Problem
        A problem named like ``"rosenbrock+noise(additive,1e-3)"``, with the ``x0``,
        ``bounds`` and ``f_star`` of ``problem`` (``f_star`` is the noise-free minimum)
        and no residuals.

    Raises
    ------
    ArgumentValueError
        If ``kind`` is not one of the two kinds, or ``level`` is negative or not finite.
    ArgumentTypeError
        If ``level`` is not a real number or ``seed`` not an int.

    Examples
    --------
    >>> from fdopt.problems import get_problem
    >>> problem = noisy(get_problem("sphere", 2), kind="additive", level=1e-3, seed=0)
    >>> problem.name
    'sphere+noise(additive,1e-3)'
    >>> first = problem.fun(problem.x0)
    >>> first == noisy(get_problem("sphere", 2), kind="additive", level=1e-3).fun(problem.x0)
    True
    """
    kinds = get_args(NoiseKind)
    if kind not in kinds:
        raise ArgumentValueError(f"kind must be one of {kinds}; got {kind!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise ArgumentTypeError(f"level must be a real number; got {level!r}")
    if not (math.isfinite(level) and level >= 0):
        raise ArgumentValueError(f"level must be finite and >= 0; got {level!r}")
    generator = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    function = _Noisy(problem.fun, kind, float(level), generator)
    return dataclasses.replace(
        problem,
        name=f"{problem.name}+noise({kind},{_short(float(level))})",
        fun=Vectorized(function, problem.n),
        description=f"{problem.description}; {kind} Gaussian noise of level {level:g}",
        residuals=None,
    )
