"""Argument checks shared by the public functions: one message style everywhere."""

from __future__ import annotations

import numbers
import operator

from fdopt.errors import ArgumentTypeError, ArgumentValueError

__all__ = ["check_int"]


def check_int(
    value: object,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as an int, or raise an error naming ``name``.

    Python and numpy integers are accepted; booleans, floats, tensors, arrays and
    everything else are an ``ArgumentTypeError``; a value outside ``[minimum, maximum]`` is an
    ``ArgumentValueError``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an int; got {value!r}")
    number = operator.index(value)
    if minimum is not None and number < minimum:
        raise ArgumentValueError(f"{name} must be >= {minimum}; got {number}")
    if maximum is not None and number > maximum:
        raise ArgumentValueError(f"{name} must be <= {maximum}; got {number}")
    return number
