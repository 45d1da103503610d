"""Finite-difference weights for any derivative order, accuracy and set of offsets.

Weights come from Fornberg's recursion, which works on any set of distinct offsets,
uniform or not. For a fixed set of offsets (``weights``) it runs in exact rational
arithmetic and rounds once, so a stencil is as exact as float64 allows and is
computed once per process; for nonuniform grids (``nonuniform_weights``) it runs
vectorized on tensors, one stencil per row.

References
----------
B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced grids",
Mathematics of Computation 51 (1988), 699-706.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

import torch

from fdopt._validate import check_int
from fdopt.errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "central_offsets",
    "float_weights",
    "interior_points",
    "nonuniform_weight_columns",
    "nonuniform_weights",
    "one_sided_offsets",
    "weights",
]


def _is(value: Any, number: int) -> bool:
    """Tell whether ``value`` is the plain Python ``number`` (a known constant, not data)."""
    return type(value) is int and value == number


def _mul(a: Any, b: Any) -> Any:
    if _is(a, 0) or _is(b, 0):
        return 0
    return b if _is(a, 1) else a if _is(b, 1) else a * b


def _add(a: Any, b: Any) -> Any:
    return a if _is(b, 0) else b if _is(a, 0) else a + b


def _sub(a: Any, b: Any) -> Any:
    return a if _is(b, 0) else -b if _is(a, 0) else a - b


def _div(a: Any, b: Any) -> Any:
    return 0 if _is(a, 0) else a / b


def _fornberg(nodes: Sequence[Any], deriv: int) -> list[Any]:
    """Weights of the ``deriv``-th derivative at 0 from values at ``nodes``.

    Generic over the number type: Fractions (exact), floats, or tensors holding one
    node per stencil in each element (vectorized over stencils). A node given as the
    plain int 0 costs no arithmetic, and neither do the recursion's known zeros and ones.
    """
    s = len(nodes)
    if deriv == 1 and s == 3:
        # The three-point case in closed form (derivative of the Lagrange basis at 0).
        o0, o1, o2 = nodes
        d01, d20, d12 = _sub(o0, o1), _sub(o2, o0), _sub(o1, o2)
        return [
            _div(_add(o1, o2), _mul(d01, d20)),
            _div(_add(o0, o2), _mul(d01, d12)),
            _div(_add(o0, o1), _mul(d20, d12)),
        ]
    # c[j][k]: weight of node j for the k-th derivative, from the nodes added so far.
    c: list[list[Any]] = [[0] * (deriv + 1) for _ in range(s)]
    c[0][0] = 1
    c1: Any = 1
    c4: Any = nodes[0]
    for i in range(1, s):
        mn = min(i, deriv)
        c2: Any = 1
        c5 = c4
        c4 = nodes[i]
        for j in range(i):
            c3 = _sub(nodes[i], nodes[j])
            c2 = _mul(c2, c3)
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i][k] = _div(
                        _mul(c1, _sub(_mul(k, c[i - 1][k - 1]), _mul(c5, c[i - 1][k]))), c2
                    )
                c[i][0] = _div(_mul(_mul(-1, c1), _mul(c5, c[i - 1][0])), c2)
            for k in range(mn, 0, -1):
                c[j][k] = _div(_sub(_mul(c4, c[j][k]), _mul(k, c[j][k - 1])), c3)
            c[j][0] = _div(_mul(c4, c[j][0]), c3)
        c1 = c2
    return [c[j][deriv] for j in range(s)]


@lru_cache(maxsize=256)
def _exact_weights(deriv: int, offsets: tuple[float, ...]) -> tuple[float, ...]:
    exact = _fornberg([Fraction(x) for x in offsets], deriv)
    return tuple(float(w) for w in exact)


def _check_offsets(deriv: int, offsets: Sequence[float]) -> tuple[float, ...]:
    deriv = check_int(deriv, "deriv", minimum=0)
    try:
        values = tuple(float(x) for x in offsets)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"offsets must be a sequence of numbers; got {offsets!r}") from exc
    if not all(math.isfinite(x) for x in values):
        raise ArgumentValueError(f"offsets must be finite; got {values}")
    if len(set(values)) != len(values):
        raise ArgumentValueError(f"offsets must be distinct; got {values}")
    if len(values) <= deriv:
        raise ArgumentValueError(
            f"a derivative of order {deriv} needs at least {deriv + 1} offsets; got {len(values)}"
        )
    return values


def weights(deriv: int, offsets: Sequence[float]) -> tuple[float, ...]:
    """Finite-difference weights for the ``deriv``-th derivative at offset 0.

    With unit spacing, ``sum(w * f(x + o) for w, o in zip(weights, offsets))``
    approximates ``f^(deriv)(x)``; with spacing ``h``, divide by ``h**deriv``. The
    result is exact for polynomials of degree below ``len(offsets)``.

    Parameters
    ----------
    deriv : int
        The derivative order, >= 0.
    offsets : sequence of float
        Distinct stencil offsets, in units of the spacing; at least ``deriv + 1``.

    Returns
    -------
    tuple of float
        One weight per offset, computed exactly and rounded once to float64.

    Raises
    ------
    ArgumentValueError
        For repeated or non-finite offsets, or too few of them.

    Examples
    --------
    >>> weights(1, [-2, -1, 0, 1, 2])
    (0.08333333333333333, -0.6666666666666666, 0.0, 0.6666666666666666, -0.08333333333333333)
    >>> weights(2, [-1, 0, 1])
    (1.0, -2.0, 1.0)
    """
    return _exact_weights(deriv, _check_offsets(deriv, offsets))


def float_weights(deriv: int, offsets: Sequence[float]) -> list[float]:
    """Fornberg weights in float64 arithmetic, for offsets known only at run time.

    :func:`weights` computes exactly, rounds once and caches, for offsets that recur;
    offsets read from data (a grid's coordinates near its edges) change from call to
    call. This is the arithmetic :func:`nonuniform_weight_columns` does on tensors, on
    Python floats, without checks: ``offsets`` must be distinct and more than ``deriv``.

    Examples
    --------
    >>> float_weights(1, [-1.0, 0.0, 2.0])
    [-0.6666666666666666, 0.5, 0.16666666666666666]
    """
    return [float(w) for w in _fornberg([float(x) for x in offsets], deriv)]


def nonuniform_weights(deriv: int, offsets: torch.Tensor) -> torch.Tensor:
    """Fornberg weights for many stencils at once: one stencil per row of ``offsets``.

    Parameters
    ----------
    deriv : int
        The derivative order, >= 0.
    offsets : torch.Tensor
        Shape ``(..., s)``: node positions relative to the point where the derivative
        is wanted, distinct within each row, ``s > deriv``. Any floating dtype and
        device; float64 is recommended.

    Returns
    -------
    torch.Tensor
        Weights of the same shape, dtype and device as ``offsets``.

    Examples
    --------
    >>> nonuniform_weights(1, torch.tensor([[-1.0, 0.0, 2.0]], dtype=torch.float64))
    tensor([[-0.6667,  0.5000,  0.1667]], dtype=torch.float64)
    """
    if offsets.ndim == 0:
        raise ArgumentValueError("offsets must have at least one dimension; got a scalar")
    return torch.stack(nonuniform_weight_columns(deriv, offsets.unbind(-1)), dim=-1)


def nonuniform_weight_columns(
    deriv: int, nodes: Sequence[torch.Tensor | int]
) -> list[torch.Tensor]:
    """Fornberg weights for many stencils at once, one tensor per node.

    The column form of :func:`nonuniform_weights`, which avoids stacking: ``nodes[j]``
    holds the offset of node ``j`` in every stencil, ``result[j]`` its weight. A node
    whose offset is zero in every stencil may be given as the int ``0``, which saves
    arithmetic.

    Parameters
    ----------
    deriv : int
        The derivative order, >= 0.
    nodes : sequence of torch.Tensor or 0
        At least ``deriv + 1`` tensors of one shape (and at least one tensor).

    Returns
    -------
    list of torch.Tensor
        One weight tensor per node, of the nodes' shape, dtype and device.
    """
    check_int(deriv, "deriv", minimum=0)
    like = next((x for x in nodes if isinstance(x, torch.Tensor)), None)
    if like is None or len(nodes) <= deriv:
        raise ArgumentValueError(
            f"nodes (the stencil offsets) must hold at least {deriv + 1} entries for a "
            f"derivative of order {deriv}, at least one of them a tensor; got {len(nodes)}"
        )
    return [
        w if isinstance(w, torch.Tensor) else torch.full_like(like, float(w))
        for w in _fornberg(list(nodes), deriv)
    ]


def interior_points(deriv: int, accuracy: int) -> int:
    """Return the number of points of the centered stencil of order ``accuracy`` for ``deriv``.

    Examples
    --------
    >>> interior_points(1, 4), interior_points(2, 2), interior_points(3, 2)
    (5, 3, 5)
    """
    check_int(deriv, "deriv", minimum=1)
    check_int(accuracy, "accuracy", minimum=2)
    if accuracy % 2:
        raise ArgumentValueError(f"accuracy of a centered stencil must be even; got {accuracy}")
    return 2 * ((deriv + 1) // 2) - 1 + accuracy


def central_offsets(deriv: int, accuracy: int) -> tuple[int, ...]:
    """Offsets of the centered stencil of (even) order ``accuracy`` for ``deriv``.

    Examples
    --------
    >>> central_offsets(1, 2)
    (-1, 0, 1)
    >>> weights(1, central_offsets(1, 2))
    (-0.5, 0.0, 0.5)
    """
    half = interior_points(deriv, accuracy) // 2
    return tuple(range(-half, half + 1))


def one_sided_offsets(
    deriv: int, accuracy: int, *, side: Literal["forward", "backward"]
) -> tuple[int, ...]:
    """Offsets of the one-sided stencil of order ``accuracy`` for ``deriv``.

    Examples
    --------
    >>> one_sided_offsets(1, 1, side="forward")
    (0, 1)
    >>> weights(1, one_sided_offsets(1, 2, side="backward"))
    (0.5, -2.0, 1.5)
    """
    check_int(deriv, "deriv", minimum=1)
    check_int(accuracy, "accuracy", minimum=1)
    points = deriv + accuracy
    if side == "forward":
        return tuple(range(points))
    if side == "backward":
        return tuple(range(1 - points, 1))
    raise ArgumentValueError(f"side must be 'forward' or 'backward'; got {side!r}")
