"""Tests of fdopt.stencils: finite-difference weights and stencil offsets.

Oracles: published tables, an exact rational solve of the moment (Vandermonde)
equations written here independently of Fornberg's recursion, and the moment
conditions themselves.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import fdopt
from fdopt.stencils import (
    central_offsets,
    float_weights,
    interior_points,
    nonuniform_weights,
    one_sided_offsets,
    weights,
)


def exact_weights(deriv, offsets):
    """Solve sum_j w_j o_j^k = k! [k == deriv], k < len(offsets), in exact arithmetic."""
    nodes = [Fraction(o) for o in offsets]
    s = len(nodes)
    rows = [
        [node**k for node in nodes] + [Fraction(math.factorial(k)) if k == deriv else Fraction(0)]
        for k in range(s)
    ]
    for col in range(s):
        pivot = next(r for r in range(col, s) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(s):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][s] / rows[i][i] for i in range(s)]


def moment_errors(deriv, offsets, w):
    """Relative residuals of the moment conditions, one per power k < len(offsets)."""
    out = []
    for k in range(len(offsets)):
        terms = [wi * oi**k for wi, oi in zip(w, offsets, strict=True)]
        target = math.factorial(k) if k == deriv else 0.0
        scale = sum(abs(t) for t in terms) + math.factorial(k)
        out.append(abs(math.fsum(terms) - target) / scale)
    return out


# Distinct offsets: distinct integers on a grid, scaled (a scale of 1 gives integer offsets).
@st.composite
def offsets_and_deriv(draw, min_size=3, max_size=8):
    ints = draw(st.lists(st.integers(-30, 30), min_size=min_size, max_size=max_size, unique=True))
    scale = draw(st.sampled_from([1.0, 0.1, 0.25, 0.7, 3.0]))
    offsets = [k * scale for k in ints]
    deriv = draw(st.integers(0, len(offsets) - 1))
    return deriv, offsets


class TestKnownTables:
    def test_five_point_first_derivative(self):
        assert weights(1, [-2, -1, 0, 1, 2]) == (1 / 12, -2 / 3, 0.0, 2 / 3, -1 / 12)

    def test_three_point_second_derivative(self):
        assert weights(2, [-1, 0, 1]) == (1.0, -2.0, 1.0)

    def test_three_point_first_derivative(self):
        assert weights(1, [-1, 0, 1]) == (-0.5, 0.0, 0.5)

    def test_forward_second_order_first_derivative(self):
        assert weights(1, one_sided_offsets(1, 2, side="forward")) == (-1.5, 2.0, -0.5)

    def test_backward_second_order_first_derivative(self):
        assert weights(1, one_sided_offsets(1, 2, side="backward")) == (0.5, -2.0, 1.5)

    def test_forward_first_order(self):
        assert weights(1, one_sided_offsets(1, 1, side="forward")) == (-1.0, 1.0)

    def test_seven_point_central_first_derivative(self):
        expected = (-1 / 60, 3 / 20, -3 / 4, 0.0, 3 / 4, -3 / 20, 1 / 60)
        assert weights(1, central_offsets(1, 6)) == expected

    def test_five_point_second_derivative(self):
        expected = (-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12)
        assert weights(2, central_offsets(2, 4)) == expected

    def test_third_derivative(self):
        assert weights(3, [-2, -1, 0, 1, 2]) == (-0.5, 1.0, 0.0, -1.0, 0.5)

    def test_interpolation_weight(self):
        # deriv 0 at a node: the value itself.
        assert weights(0, [-1, 0, 1]) == (0.0, 1.0, 0.0)

    def test_nonuniform_table(self):
        # f'(0) from nodes -1, 0, 2: (-2/3, 1/2, 1/6).
        got = weights(1, [-1.0, 0.0, 2.0])
        assert got == pytest.approx((-2 / 3, 1 / 2, 1 / 6), rel=1e-15)

    def test_returns_tuple_of_floats(self):
        got = weights(1, np.array([-1, 0, 1]))
        assert isinstance(got, tuple)
        assert all(type(w) is float for w in got)

    def test_order_of_offsets_is_respected(self):
        assert weights(1, [1, 0, -1]) == (0.5, 0.0, -0.5)


class TestOffsets:
    @pytest.mark.parametrize(
        ("deriv", "accuracy", "points"),
        [
            (1, 2, 3),
            (1, 4, 5),
            (1, 6, 7),
            (1, 8, 9),
            (2, 2, 3),
            (2, 4, 5),
            (3, 2, 5),
            (4, 2, 5),
            (3, 4, 7),
        ],
    )
    def test_interior_points(self, deriv, accuracy, points):
        assert interior_points(deriv, accuracy) == points
        offsets = central_offsets(deriv, accuracy)
        assert offsets == tuple(range(-(points // 2), points // 2 + 1))

    @pytest.mark.parametrize("deriv", [1, 2, 3, 4])
    @pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
    def test_central_stencil_has_its_order(self, deriv, accuracy):
        # Order `accuracy`: exact on x^k for k < deriv + accuracy, not on the next power.
        offsets = central_offsets(deriv, accuracy)
        w = [Fraction(x) for x in exact_weights(deriv, offsets)]
        for k in range(deriv + accuracy + 1):
            moment = sum(wi * Fraction(o) ** k for wi, o in zip(w, offsets, strict=True))
            expected = math.factorial(k) if k == deriv else 0
            if k < deriv + accuracy:
                assert moment == expected, k
            else:
                assert moment != expected, k

    @pytest.mark.parametrize("deriv", [1, 2, 3])
    @pytest.mark.parametrize("accuracy", [1, 2, 3, 4])
    def test_one_sided(self, deriv, accuracy):
        forward = one_sided_offsets(deriv, accuracy, side="forward")
        backward = one_sided_offsets(deriv, accuracy, side="backward")
        assert forward == tuple(range(deriv + accuracy))
        assert backward == tuple(-o for o in reversed(forward))
        # Mirror symmetry: backward weights are (-1)^deriv times reversed forward weights.
        wf, wb = weights(deriv, forward), weights(deriv, backward)
        assert wb == pytest.approx([(-1) ** deriv * w for w in reversed(wf)], rel=1e-14)


class TestExactness:
    @given(offsets_and_deriv())
    def test_weights_exact_on_monomials(self, case):
        deriv, offsets = case
        w = weights(deriv, offsets)
        assert len(w) == len(offsets)
        assert max(moment_errors(deriv, offsets, w)) < 1e-9

    @given(offsets_and_deriv(max_size=6))
    def test_weights_are_the_rounded_exact_solution(self, case):
        deriv, offsets = case
        expected = tuple(float(x) for x in exact_weights(deriv, offsets))
        assert weights(deriv, offsets) == expected

    @given(offsets_and_deriv(max_size=6))
    def test_float_weights_match_the_exact_weights(self, case):
        # Oracle: the exact (Fraction) solution; float64 Fornberg agrees to rounding
        # amplified by the spread of the offsets.
        deriv, offsets = case
        exact = [float(x) for x in exact_weights(deriv, offsets)]
        got = float_weights(deriv, offsets)
        assert all(isinstance(w, float) for w in got)
        scale = max(map(abs, exact))
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-9 * scale)

    @given(st.data())
    def test_nonuniform_weights_match_row_by_row(self, data):
        size = data.draw(st.integers(3, 8), label="size")
        deriv = data.draw(st.integers(0, size - 1), label="deriv")
        rows = data.draw(
            st.lists(offsets_and_deriv(min_size=size, max_size=size), min_size=1, max_size=4),
            label="rows",
        )
        rows = [offsets for _, offsets in rows]
        table = torch.tensor(rows, dtype=torch.float64)
        got = nonuniform_weights(deriv, table)
        assert got.shape == table.shape
        assert got.dtype == torch.float64
        for row, got_row in zip(rows, got.tolist(), strict=True):
            expected = weights(deriv, row)
            scale = max(abs(w) for w in expected)
            assert got_row == pytest.approx(expected, rel=1e-9, abs=1e-9 * scale)
            assert max(moment_errors(deriv, row, got_row)) < 1e-9

    def test_nonuniform_weights_batch_shape_and_dtype(self):
        offsets = torch.tensor([[-1.0, 0.0, 1.0], [-1.0, 0.0, 2.0]]).expand(3, 2, 3)
        got = nonuniform_weights(1, offsets)
        assert got.shape == (3, 2, 3)
        assert got.dtype == torch.float32
        expected = torch.tensor([[-0.5, 0.0, 0.5], [-2 / 3, 0.5, 1 / 6]])
        torch.testing.assert_close(got, expected.expand(3, 2, 3))

    def test_nonuniform_weights_do_not_modify_input(self):
        offsets = torch.tensor([[-1.0, 0.0, 2.0]], dtype=torch.float64)
        before = offsets.clone()
        nonuniform_weights(2, offsets)
        assert torch.equal(offsets, before)

    def test_exact_for_large_offsets(self):
        # Rounded once from exact arithmetic: no cancellation for a far-away stencil.
        offsets = [100, 101, 102]
        assert weights(1, offsets) == tuple(float(x) for x in exact_weights(1, offsets))


def _assert_value_error(excinfo_match, func, *args, **kwargs):
    with pytest.raises(fdopt.ArgumentValueError, match=excinfo_match) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RuntimeError)


def _assert_type_error(excinfo_match, func, *args, **kwargs):
    with pytest.raises(fdopt.ArgumentTypeError, match=excinfo_match) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, RuntimeError)


class TestValidation:
    def test_repeated_offsets(self):
        _assert_value_error("distinct", weights, 1, [-1, 0, 0, 1])

    def test_repeated_offsets_int_and_float(self):
        _assert_value_error("distinct", weights, 1, [-1, 0, 0.0, 1])

    @pytest.mark.parametrize(
        ("deriv", "offsets"), [(1, [0]), (2, [0, 1]), (3, [-1, 0, 1]), (0, [])]
    )
    def test_too_few_offsets(self, deriv, offsets):
        _assert_value_error("offsets", weights, deriv, offsets)

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
    def test_non_finite_offsets(self, bad):
        _assert_value_error("finite", weights, 1, [-1, 0, bad])

    def test_string_offsets(self):
        _assert_type_error("offsets", weights, 1, ["a", "b", "c"])

    @pytest.mark.parametrize("deriv", [True, False, 1.0, "1", None])
    def test_deriv_wrong_type(self, deriv):
        _assert_type_error("deriv", weights, deriv, [-1, 0, 1])

    def test_deriv_negative(self):
        _assert_value_error("deriv", weights, -1, [-1, 0, 1])

    @pytest.mark.parametrize("deriv", [True, -1, 1.5])
    def test_nonuniform_deriv(self, deriv):
        offsets = torch.tensor([[-1.0, 0.0, 1.0]])
        with pytest.raises((fdopt.ArgumentTypeError, fdopt.ArgumentValueError), match="deriv"):
            nonuniform_weights(deriv, offsets)

    def test_nonuniform_too_few_nodes(self):
        _assert_value_error("offsets|nodes", nonuniform_weights, 2, torch.tensor([[-1.0, 0.0]]))

    def test_nonuniform_scalar(self):
        _assert_value_error("offsets", nonuniform_weights, 0, torch.tensor(1.0))

    @pytest.mark.parametrize("accuracy", [1, 3, 5])
    def test_odd_accuracy_for_central(self, accuracy):
        _assert_value_error("accuracy", central_offsets, 1, accuracy)
        _assert_value_error("accuracy", interior_points, 1, accuracy)

    @pytest.mark.parametrize("accuracy", [0, -2])
    def test_accuracy_too_small(self, accuracy):
        _assert_value_error("accuracy", central_offsets, 1, accuracy)

    def test_accuracy_wrong_type(self):
        _assert_type_error("accuracy", central_offsets, 1, 2.0)
        _assert_type_error("accuracy", one_sided_offsets, 1, True, side="forward")

    @pytest.mark.parametrize("deriv", [0, -1])
    def test_central_deriv_at_least_one(self, deriv):
        _assert_value_error("deriv", central_offsets, deriv, 2)
        _assert_value_error("deriv", one_sided_offsets, deriv, 2, side="forward")

    def test_side(self):
        _assert_value_error("side", one_sided_offsets, 1, 2, side="centered")
