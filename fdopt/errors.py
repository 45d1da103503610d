"""Exception classes of fdopt.

Every error fdopt raises derives from :class:`FdoptError`. Argument errors also derive
from the builtin a user would catch (``ValueError`` / ``TypeError``) and from
``RuntimeError``, so code written against numpy (which raises ``ValueError``) or torch
(which raises ``RuntimeError``) keeps catching them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "BudgetExhaustedError",
    "EvaluationError",
    "FdoptError",
    "FunctionOutputError",
]


class FdoptError(Exception):
    """Base class of every exception raised by fdopt."""


class ArgumentValueError(FdoptError, ValueError, RuntimeError):
    """An argument has the right type but a wrong value, shape or size."""


class ArgumentTypeError(FdoptError, TypeError, RuntimeError):
    """An argument has the wrong type."""


class EvaluationError(FdoptError, RuntimeError):
    """The user's function raised; the original exception is the ``__cause__``.

    Attributes
    ----------
    x : Any
        The point at which the function raised, in the kind the caller gave (numpy or
        torch), or None when unknown.
    result : Any
        Set by the optimizer layer: an ``OptimizeResult`` at the best point seen.
    """

    def __init__(self, message: str, *, x: Any = None, result: Any = None) -> None:
        super().__init__(message)
        self.x = x
        self.result = result


class FunctionOutputError(FdoptError, ValueError):
    """The user's function returned something unusable: wrong shape, type, or not finite.

    Attributes
    ----------
    x : Any
        The point at which the bad value was returned, or None when unknown.
    """

    def __init__(self, message: str, *, x: Any = None) -> None:
        super().__init__(message)
        self.x = x


class BudgetExhaustedError(FdoptError, RuntimeError):
    """Evaluating would exceed the budget of function evaluations (``maxfev``)."""
