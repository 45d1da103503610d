"""The problem record, its allowed dimensions, and the wrapper every problem function shares.

Each problem is written once, as a torch function of a ``(k, n)`` batch of points.
:class:`Vectorized` lets that one function take what fdopt hands a user's function: a
numpy point or batch (numpy out), or a tensor point or batch (a tensor out, on its
device and in its dtype).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from fdopt._tensor import as_tensor, is_inexact
from fdopt.errors import ArgumentValueError

__all__ = [
    "Batched",
    "Dimensions",
    "Problem",
    "SumOfSquares",
    "Vectorized",
    "constant",
    "least_squares",
    "start",
    "steps",
]

Batched = Callable[[torch.Tensor], torch.Tensor]
"""A torch function of a ``(k, n)`` batch: ``(k,)`` values or ``(k, m)`` residuals."""

Bounds = tuple[tuple[float, float], ...]


@dataclass(frozen=True, eq=False)
class Problem:
    """A test problem: an objective, its standard start, and what is known of its minimum.

    Attributes
    ----------
    name : str
        The name the problem is registered under (``noisy`` appends its noise).
    fun : callable
        The objective. A numpy point ``(n,)`` gives a Python float, a numpy batch
        ``(k, n)`` a numpy array ``(k,)``; a tensor ``(n,)`` gives a 0-d tensor and a
        tensor ``(k, n)`` a ``(k,)`` tensor, on the input's device and in its dtype
        (integers become float64, numpy input is computed in float64). Tensors keep
        their autograd graph.
    x0 : numpy.ndarray
        The standard starting point, ``(n,)`` float64, read-only.
    f_star : float or None
        The known minimum value (over ``bounds`` when there are bounds), None if unknown.
    bounds : tuple of (low, high) pairs or None
        The natural box of the problem, one pair per variable, or None.
    description : str
        One line for listings.
    residuals : callable or None, default None
        For least-squares problems, ``r`` with ``fun(x) == sum(r(x) ** 2)``, called like
        ``fun`` and returning ``(m,)`` or ``(k, m)``; None otherwise.

    Notes
    -----
    Problems compare by identity (``x0`` is an array). Their functions are plain
    picklable objects, so they can be sent to worker processes.
    """

    name: str
    fun: Callable[..., Any]
    x0: npt.NDArray[np.float64]
    f_star: float | None
    bounds: Bounds | None
    description: str
    residuals: Callable[..., Any] | None = None

    @property
    def n(self) -> int:
        """The number of variables."""
        return int(self.x0.shape[0])


@dataclass(frozen=True)
class Dimensions:
    """The numbers of variables a problem is defined for.

    ``n`` is allowed when ``minimum <= n <= maximum`` (no upper limit when ``maximum``
    is None) and ``n - minimum`` is a multiple of ``step``.

    Attributes
    ----------
    default : int
        The dimension used when none is asked for.
    minimum : int
        The smallest allowed dimension.
    maximum : int or None, default None
        The largest allowed dimension, or None for no limit.
    step : int, default 1
        Allowed dimensions go up in steps of this size from ``minimum``.
    """

    default: int
    minimum: int
    maximum: int | None = None
    step: int = 1

    @classmethod
    def fixed(cls, n: int) -> Dimensions:
        """Return the dimensions of a problem defined for ``n`` variables only."""
        return cls(default=n, minimum=n, maximum=n)

    @property
    def variable(self) -> bool:
        """True when more than one dimension is allowed."""
        return self.maximum != self.minimum

    def allows(self, n: int) -> bool:
        """Return True if the problem is defined for ``n`` variables."""
        within = self.minimum <= n and (self.maximum is None or n <= self.maximum)
        return within and (n - self.minimum) % self.step == 0

    def __str__(self) -> str:
        if not self.variable:
            return str(self.minimum)
        if self.maximum is not None:
            return f"{self.minimum}..{self.maximum}"
        if self.step == 1:
            return f">= {self.minimum}"
        return f"{self.minimum}, {self.minimum + self.step}, {self.minimum + 2 * self.step}, ..."


@dataclass(frozen=True)
class Vectorized:
    """A batched torch function, callable with one point or a batch, numpy or torch.

    Attributes
    ----------
    batched : callable
        The function of a ``(k, n)`` tensor, returning ``(k,)`` or ``(k, m)``.
    n : int
        The number of variables.
    """

    batched: Batched
    n: int

    def __call__(self, x: Any) -> Any:
        """Evaluate at ``x`` of shape ``(n,)`` or ``(k, n)``, returning the caller's kind.

        Raises
        ------
        ArgumentValueError
            If ``x`` is not ``(n,)`` or ``(k, n)``.
        ArgumentTypeError
            If ``x`` does not hold numbers.
        """
        tensor, source = as_tensor(x, name="x")
        if tensor.ndim not in (1, 2) or tensor.shape[-1] != self.n:
            raise ArgumentValueError(
                f"x must have shape ({self.n},) or (k, {self.n}); got {tuple(tensor.shape)}"
            )
        if source.numpy or not is_inexact(tensor.dtype):
            tensor = tensor.to(torch.complex128 if tensor.is_complex() else torch.float64)
        values = self.batched(tensor.reshape(-1, self.n))
        if tensor.ndim == 1:
            values = values[0]
        if not source.numpy:
            return values
        return values.item() if values.ndim == 0 else values.numpy()


@dataclass(frozen=True)
class SumOfSquares:
    """The objective ``sum_i r_i(x)**2`` of batched residuals ``r``.

    Attributes
    ----------
    residuals : callable
        Batched residuals, ``(k, n) -> (k, m)``.
    """

    residuals: Batched

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return the ``(k,)`` sums of squares (``r * r``, analytic for complex input)."""
        r = self.residuals(x)
        return (r * r).sum(-1)


def start(x0: Sequence[float] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return ``x0`` as a read-only float64 ``(n,)`` array."""
    point = np.array(x0, dtype=np.float64).reshape(-1)
    point.setflags(write=False)
    return point


def constant(values: Sequence[float] | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Return problem data as a tensor on the device and in the dtype of ``like``."""
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)


def steps(m: int, like: torch.Tensor, *, first: int = 1) -> torch.Tensor:
    """Return ``first, first + 1, ..., first + m - 1`` like ``like`` (the indices ``i``)."""
    return torch.arange(first, first + m, dtype=torch.float64, device=like.device).to(like.dtype)


def least_squares(
    name: str,
    residuals: Batched,
    x0: Sequence[float] | npt.ArrayLike,
    f_star: float | None,
    description: str,
) -> Problem:
    """Build the problem ``min sum_i r_i(x)**2`` from batched residuals.

    Parameters
    ----------
    name : str
        The problem's name.
    residuals : callable
        Batched residuals ``(k, n) -> (k, m)``; picklable (a module-level function or a
        ``functools.partial`` of one) so that the problem is.
    x0 : array-like
        The standard starting point.
    f_star : float or None
        The known minimum value, or None.
    description : str
        One line for listings.

    Returns
    -------
    Problem
        The problem, unbounded, with ``residuals`` set.
    """
    point = start(x0)
    n = point.shape[0]
    return Problem(
        name=name,
        fun=Vectorized(SumOfSquares(residuals), n),
        x0=point,
        f_star=f_star,
        bounds=None,
        description=description,
        residuals=Vectorized(residuals, n),
    )
