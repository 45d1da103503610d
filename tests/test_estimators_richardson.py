import importlib

import numdifftools
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import Bounds
from fdopt.estimators.richardson import _extrapolate, default_richardson_step, richardson
from fdopt.settings import RichardsonSettings
from tests.helpers import Recorder, numpy_estimate_as_tensors, rosen_grad, rosen_t
from tests.helpers import rosen_column as rosen

DEFAULT = RichardsonSettings()


def smooth(X):
    """Not a polynomial: needs the extrapolation proper (and refinement)."""
    terms = torch.exp(0.5 * X[:, :-1]) * torch.cos(2 * X[:, 1:])
    return (terms.sum(1) + torch.log1p(X**2).sum(1) + 1 / (1 + 4 * X[:, 0] ** 2))[:, None]


def autograd(fun, x):
    x = x.clone().requires_grad_(True)
    fun(x[None]).sum().backward()
    return x.grad


def relative_error(value, exact):
    return float((value - exact).abs().max() / max(1.0, float(exact.abs().max())))


@pytest.mark.parametrize("n", [10, 100])
def test_rosenbrock_matches_numdifftools_with_fewer_evaluations(n):
    # The peer's default (Richardson over 15 steps) as the oracle: our worst error over
    # a few random points within 2x of its worst, at a third of the evaluations or less.
    ours, theirs, calls = [], [], []

    def fun(z):
        calls.append(1)
        return np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)

    for seed in range(4):
        x = torch.tensor(np.random.default_rng(seed).uniform(-2, 2, n))
        exact = rosen_grad(x)
        evaluate = Recorder(rosen)
        est = richardson(evaluate, x, DEFAULT)
        assert len(evaluate.batches) == 1  # a polynomial needs no refinement
        assert est.nfev == evaluate.points.shape[0] == 2 * n * DEFAULT.levels
        assert bool(((est.value[0] - exact).abs() <= est.error[0]).all())
        ours.append(relative_error(est.value[0], exact))
        theirs.append(
            relative_error(torch.from_numpy(numdifftools.Gradient(fun)(x.numpy())), exact)
        )
    assert max(ours) <= 1e-11
    # Below 1e-14 (about 50 ulps of the gradient) both sit at the rounding floor of f.
    assert max(ours) <= max(2 * max(theirs), 1e-14)
    assert 3 * 4 * est.nfev <= len(calls)


def test_non_polynomial_accuracy_and_error_estimate():
    x = torch.tensor(np.random.default_rng(3).uniform(-2, 2, 8))
    exact = autograd(smooth, x)
    evaluate = Recorder(smooth)
    est = richardson(evaluate, x, DEFAULT)
    assert relative_error(est.value[0], exact) <= 1e-11
    assert bool(((est.value[0] - exact).abs() <= est.error[0]).all())
    assert est.nfev == evaluate.points.shape[0]
    assert len(evaluate.batches) <= 3  # the first batch and at most two refinements
    assert est.step.shape == (8,)
    assert est.f0 is None  # central differences never evaluate f(x)


def test_jacobian_of_a_vector_function():
    def fun(X):
        return torch.stack([torch.sin(X[:, 0]) * X[:, 1], X.pow(3).sum(1), torch.exp(X[:, 2])], 1)

    x = torch.tensor([0.3, -1.2, 0.8], dtype=torch.float64)
    est = richardson(fun, x, DEFAULT)
    exact = torch.autograd.functional.jacobian(lambda z: fun(z[None])[0], x)
    assert est.value.shape == est.error.shape == (3, 3)
    assert relative_error(est.value, exact) <= 1e-12


def test_float32():
    x = torch.tensor([0.5, -1.5, 1.2], dtype=torch.float32)
    est = richardson(rosen, x, DEFAULT)
    assert est.value.dtype == torch.float32
    assert relative_error(est.value[0].double(), rosen_grad(x.double())) <= 1e-5
    assert default_richardson_step(torch.float32, 4, 2.0) == 0.5


def test_settings_are_honoured():
    x = torch.tensor([3.0, -0.5], dtype=torch.float64)
    settings = RichardsonSettings(step=0.01, ratio=3.0, levels=3)
    evaluate = Recorder(rosen)
    est = richardson(evaluate, x, settings)
    assert torch.allclose(est.step, torch.tensor([0.03, 0.01], dtype=torch.float64))
    assert default_richardson_step(torch.float64, 4, 2.0) == pytest.approx(0.29, abs=0.01)
    moves = (evaluate.batches[0] - x).abs().max(dim=1).values.reshape(3, 2, 2)
    expected = est.step / torch.tensor([1.0, 3.0, 9.0], dtype=torch.float64)[:, None]
    assert torch.allclose(moves, expected[:, None, :].expand(3, 2, 2))
    assert relative_error(est.value[0], rosen_grad(x)) <= 1e-11


@pytest.mark.parametrize("given_f0", [False, True])
def test_bounds_are_never_left(given_f0):
    x = torch.tensor(np.random.default_rng(1).uniform(-2, 2, 6))
    lower = x - torch.tensor([0.0, 0.01, 0.1, 1.0, 5.0, 0.0], dtype=torch.float64)
    upper = x + torch.tensor([5.0, 5.0, 5.0, 0.05, 0.0, 1e-3], dtype=torch.float64)
    bounds = Bounds(lower, upper)
    f0 = smooth(x[None])[0] if given_f0 else None
    evaluate = Recorder(smooth)
    est = richardson(evaluate, x, DEFAULT, bounds=bounds, f0=f0)
    points = evaluate.points
    assert bool(((points >= lower) & (points <= upper)).all())
    assert est.nfev == points.shape[0]
    # One-sided coordinates need f(x): evaluated once, first, unless it was given.
    at_x = (points == x).all(dim=1)
    assert int(at_x.sum()) == (0 if given_f0 else 1)
    assert torch.equal(est.f0, smooth(x[None])[0])
    assert relative_error(est.value[0], autograd(smooth, x)) <= 1e-9


def test_one_sided_differences_extrapolate_to_high_order():
    # x on the lower bound: every coordinate forward, error expansion h^2, h^3, ...
    x = torch.tensor([0.2, 0.7, -0.4], dtype=torch.float64)
    evaluate = Recorder(smooth)
    est = richardson(evaluate, x, DEFAULT, bounds=Bounds(x.clone(), x + 10))
    assert bool((evaluate.points >= x).all())
    assert relative_error(est.value[0], autograd(smooth, x)) <= 1e-10


def test_no_room_is_an_error():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    bounds = Bounds(torch.tensor([0.0, 2.0]), torch.tensor([3.0, 2.0]))
    with pytest.raises(ArgumentValueError, match="coordinate 1"):
        richardson(rosen, x, DEFAULT, bounds=bounds)


def test_large_stencils_go_in_bounded_batches_with_the_same_result(monkeypatch):
    # (fdopt.estimators re-exports the function under the module's name.)
    module = importlib.import_module("fdopt.estimators.richardson")

    x = torch.linspace(-1.5, 1.2, 6, dtype=torch.float64)
    bounds = Bounds(x - torch.tensor([0.0, 1, 1, 1, 1, 1], dtype=torch.float64), x + 1)

    def column(points):
        return rosen_t(points)[:, None]

    whole_recorder = Recorder(column)
    whole = richardson(whole_recorder, x, RichardsonSettings(), bounds=bounds)
    monkeypatch.setattr(module, "block_elements", lambda x, made: 6 * 8 * 2)
    split_recorder = Recorder(column)
    split = richardson(split_recorder, x, RichardsonSettings(), bounds=bounds)
    assert len(split_recorder.batches) > len(whole_recorder.batches)
    assert split.nfev == split_recorder.points.shape[0] == whole.nfev
    torch.testing.assert_close(split.value, whole.value, rtol=0, atol=0)


def _tableau_by_columns(differences, rounding, ratio, one_sided, levels):
    """The tableau column by column, the direct way: the oracle of the matrix form."""
    column, round_off = differences, rounding
    best = torch.full_like(differences[0], float("inf"))
    value = differences[-1].clone()
    best_rounding = torch.zeros_like(value)
    for j in range(1, differences.shape[0] - 1):  # a difference between two neighbours
        spread = torch.maximum((column[j] - column[j - 1]).abs(), (column[j] - column[j + 1]).abs())
        error = spread + round_off[j]
        better = error < best
        value = torch.where(better, column[j], value)
        best_rounding = torch.where(better, round_off[j], best_rounding)
        best = torch.where(better, error, best)
    for k in range(1, min(levels, differences.shape[0])):
        power = torch.where(one_sided, k + 1.0, 2.0 * k).to(differences)
        factor = 1.0 / (ratio**power - 1.0)
        previous, previous_round = column, round_off
        column = previous[1:] + (previous[1:] - previous[:-1]) * factor
        round_off = previous_round[1:] * (1.0 + factor) + previous_round[:-1] * factor
        error = torch.maximum((column - previous[1:]).abs(), (column - previous[:-1]).abs())
        same_order = torch.zeros_like(error)
        same_order[1:] = (column[1:] - column[:-1]).abs()
        if column.shape[0] > 1:
            same_order[0] = float("inf")
        error = torch.maximum(error, same_order) + round_off
        for j in range(error.shape[0]):  # strictly better only: the first among equals
            better = error[j] < best
            value = torch.where(better, column[j], value)
            best_rounding = torch.where(better, round_off[j], best_rounding)
            best = torch.where(better, error[j], best)
    return value, best, (best > 100.0 * best_rounding).any(dim=0)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12),
    levels=st.integers(1, 5),
    ratio=st.sampled_from([1.6, 2.0, 4.0]),
    sided=st.sampled_from(["none", "all", "mixed"]),
    seed=st.integers(0, 2**16),
)
def test_tableau_matches_the_column_by_column_recursion(rows, levels, ratio, sided, seed):
    generator = torch.Generator().manual_seed(seed)
    m, c = 2, 3
    exact = torch.randn(m, c, generator=generator, dtype=torch.float64)
    h = ratio ** -torch.arange(rows, dtype=torch.float64)
    # Differences with a truncation series and noise, as the estimator sees them.
    noise = 1e-9 * torch.randn(rows, m, c, generator=generator, dtype=torch.float64)
    differences = exact + h[:, None, None] ** 2 + 0.3 * h[:, None, None] ** 3 + noise
    rounding = 1e-12 / h[:, None, None] * torch.rand(rows, m, c, generator=generator).double()
    one_sided = {
        "none": torch.zeros(c, dtype=torch.bool),
        "all": torch.ones(c, dtype=torch.bool),
        "mixed": torch.tensor([True, False, True]),
    }[sided]
    got = _extrapolate(differences, rounding, ratio, one_sided, levels)
    want = _tableau_by_columns(differences, rounding, ratio, one_sided, levels)
    torch.testing.assert_close(got[0], want[0], rtol=1e-12, atol=1e-12)
    # Distances of O(1) values: the same to rounding, summed in another order.
    torch.testing.assert_close(got[1], want[1], rtol=1e-9, atol=1e-12)
    assert torch.equal(got[2], want[2])


def test_tableau_never_chooses_a_nan_estimate():
    differences = torch.tensor([[[1.0]], [[float("nan")]], [[1.5]], [[1.25]]], dtype=torch.float64)
    rounding = torch.zeros_like(differences)
    value, error, _ = _extrapolate(differences, rounding, 2.0, torch.tensor([False]), 4)
    want = _tableau_by_columns(differences, rounding, 2.0, torch.tensor([False]), 4)
    torch.testing.assert_close(value, want[0], equal_nan=True)
    torch.testing.assert_close(error, want[1], equal_nan=True)


def test_complex_values_are_differentiated_part_by_part():
    x = torch.tensor([0.5, 2.0], dtype=torch.float64)

    def real(X):
        return torch.sin(X).prod(1, keepdim=True)

    def complex_valued(X):
        return real(X) * (1 - 2j)

    want = richardson(real, x, DEFAULT).value
    got = richardson(complex_valued, x, DEFAULT)
    torch.testing.assert_close(got.value, want * (1 - 2j), rtol=1e-12, atol=1e-14)
    assert not got.error.is_complex()


@settings(deadline=None, max_examples=40)
@given(
    xs=st.lists(st.floats(-2, 2), min_size=1, max_size=5),
    vectorized=st.booleans(),
    output=st.sampled_from(["scalar", "vector", "complex"]),
    levels=st.integers(2, 5),
    with_f0=st.booleans(),
    tensors=st.booleans(),
    numpy_x=st.booleans(),
)
@example(  # error estimates 6.1783e-13 and 6.1982e-13: apart by 2e-15, rounding of |f| ~ 2.7
    xs=[1 / 3],
    vectorized=False,
    output="complex",
    levels=4,
    with_f0=False,
    tensors=False,
    numpy_x=False,
)
def test_numpy_route_gives_the_torch_routes_estimate(
    xs, vectorized, output, levels, with_f0, tensors, numpy_x
):
    # An evaluator that takes numpy arrays gets Richardson in numpy; the oracle is the
    # torch route on the same evaluator, hidden behind a plain callable. Both round the
    # same numbers the same way, up to the order of a few sums.
    from fdopt._tensor import Source
    from fdopt.evaluation import Evaluator

    def fun(p):  # not a polynomial: refinement rounds happen
        a = np.atleast_2d(p)
        first = np.exp(0.5 * a).sum(1) + np.log1p(a**2).sum(1)
        if output == "vector":
            out = np.stack([first, np.cos(a).prod(1)], 1)
        elif output == "complex":
            out = first * (1 - 2j)
        else:
            out = first
        return out if vectorized else out[0]

    x = torch.tensor(xs, dtype=torch.float64)
    settings_ = RichardsonSettings(levels=levels)
    f0 = torch.from_numpy(np.atleast_1d(fun(x.numpy()[None] if vectorized else x.numpy())))
    known = f0.reshape(-1) if with_f0 else None
    numpy_x = numpy_x and not tensors  # a numpy x: estimates of numpy arrays on both
    if numpy_x:
        x, known = x.numpy(), None if known is None else known.numpy()
    routes = []
    call = (lambda p: torch.from_numpy(np.asarray(fun(p.numpy())))) if tensors else fun
    for hide in (False, True):
        evaluator = Evaluator(
            call,
            source=Source(numpy=not tensors, device=torch.device("cpu")),
            vectorized=vectorized,
        )
        evaluate = (lambda p, e=evaluator: e(p)) if hide else evaluator
        routes.append((richardson(evaluate, x, settings_, f0=known), evaluator.nfev))
    (lean, lean_nfev), (full, full_nfev) = routes
    if numpy_x:  # the hidden evaluator's torch route, converted back
        lean, full = numpy_estimate_as_tensors(lean), numpy_estimate_as_tensors(full)
    assert lean.nfev == full.nfev == lean_nfev == full_nfev
    assert lean.value.dtype == full.value.dtype
    torch.testing.assert_close(lean.value, full.value, rtol=1e-12, atol=1e-12)
    # The error estimates are differences of extrapolants that agree to rounding: they
    # may differ by a few roundings of the values (numpy's and torch's complex abs and
    # sums round differently), so the absolute tolerance is on the values' scale.
    scale = max(1.0, float(full.value.abs().max()))
    torch.testing.assert_close(lean.error, full.error, rtol=1e-9, atol=1e-14 * scale)
    torch.testing.assert_close(lean.step, full.step, rtol=0, atol=0)
    assert (lean.f0 is None) == (known is None)


@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("numpy_x", [False, True])
def test_points_made_one_by_one_are_the_points_built_whole(bounded, numpy_x, monkeypatch):
    # A plain numpy function of many variables gets each point made just before its call
    # (Evaluator.axis): the same points in the same order as the batches built whole, so
    # the same estimate. With bounds, coordinates at the box take one-sided differences,
    # which need f(x) (evaluated first) and clip the moved entry.
    import fdopt.evaluation as evaluation
    from fdopt._tensor import Source
    from fdopt.evaluation import Evaluator

    monkeypatch.setattr(evaluation, "_MADE_ELEMENTS", 1)
    x = torch.tensor([0.3, -1.2, 2.0, 0.7], dtype=torch.float64)
    box = Bounds(*torch.tensor([[-1.2] * 4, [2.0000001] * 4], dtype=torch.float64))
    seen: list[list[np.ndarray]] = [[], []]
    estimates = []
    for made, points in zip((True, False), seen, strict=True):

        def fun(p, points=points):
            points.append(p.copy())
            return float(np.exp(0.5 * p).sum() + np.log1p(p**2).sum() + p[0] * p[3])

        evaluator = Evaluator(fun, source=Source(numpy=True, device=torch.device("cpu")))
        assert evaluator.makes_points(x, 8)
        axis_calls = []
        original = evaluator.axis
        evaluator.axis = lambda *args, o=original, c=axis_calls: c.append(1) or o(*args)
        evaluate = evaluator if made else (lambda p, e=evaluator: e(p))
        point = x.numpy() if numpy_x else x
        estimate = richardson(evaluate, point, DEFAULT, bounds=box if bounded else None)
        estimates.append(numpy_estimate_as_tensors(estimate) if numpy_x else estimate)
        assert estimate.nfev == evaluator.nfev == len(points)
        assert bool(axis_calls) == made  # the route taken
    assert len(seen[0]) == len(seen[1]) > 4 * 2 * 4  # refinement rounds ran
    np.testing.assert_array_equal(np.array(seen[0]), np.array(seen[1]))
    made, whole = estimates
    for field in ("value", "error", "step", "f0"):
        mine, theirs = getattr(made, field), getattr(whole, field)
        assert (mine is None) == (theirs is None) == (field == "f0" and not bounded)
        if mine is not None:
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
    exact = (
        0.5 * torch.exp(0.5 * x)
        + 2 * x / (1 + x**2)
        + x[[3, 1, 2, 0]] * torch.tensor([1.0, 0, 0, 1.0], dtype=torch.float64)
    )
    torch.testing.assert_close(made.value[0], exact, rtol=0, atol=1e-9)
