"""Exception classes of fdopt.

Every error fdopt raises derives from :class:`FdoptError`. Argument errors also derive
from the builtin a user would catch (``ValueError`` / ``TypeError``) and from
``RuntimeError``, so code written against numpy (which raises ``ValueError``) or torch
(which raises ``RuntimeError``) keeps catching them.
"""

from __future__ import annotations

__all__ = ["ArgumentTypeError", "ArgumentValueError", "FdoptError"]


class FdoptError(Exception):
    """Base class of every exception raised by fdopt."""


class ArgumentValueError(FdoptError, ValueError, RuntimeError):
    """An argument has the right type but a wrong value, shape or size."""


class ArgumentTypeError(FdoptError, TypeError, RuntimeError):
    """An argument has the wrong type."""
