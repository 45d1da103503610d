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
    "FunctionError",
    "FunctionOutputError",
]


class FdoptError(Exception):
    """Base class of every exception raised by fdopt."""


class ArgumentValueError(FdoptError, ValueError, RuntimeError):
    """An argument has the right type but a wrong value, shape or size."""


class ArgumentTypeError(FdoptError, TypeError, RuntimeError):
    """An argument has the wrong type."""


class FunctionError(FdoptError):
    """The user's function failed: raised, or returned something unusable.

    :class:`EvaluationError` and :class:`FunctionOutputError`; a run that ends with
    either keeps its best point in ``result``.

    Attributes
    ----------
    x : Any
        The point at which it failed, in the kind the caller gave (numpy or torch), or
        None when unknown.
    result : Any
        Set by the optimizer layer: an ``OptimizeResult`` at the best point seen (None
        outside a run).
    """

    def __init__(self, message: str, *, x: Any = None, result: Any = None) -> None:
        super().__init__(message)
        self.x = x
        self.result = result


class EvaluationError(FunctionError, RuntimeError):
    """The user's function raised; the original exception is the ``__cause__``."""


class FunctionOutputError(FunctionError, ValueError):
    """The user's function returned something unusable: wrong shape, type, or not finite."""


class BudgetExhaustedError(FdoptError, RuntimeError):
    """Evaluating would exceed the budget of function evaluations (``maxfev``)."""
