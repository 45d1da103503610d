"""Tests of fdopt.estimators.stencil: forward, backward, central and central4 Jacobians.

Oracles: analytic derivatives (extended Rosenbrock, exp/sin compositions, quadratic
forms), scipy.optimize.approx_derivative with the matching method (fdopt must be at
least as accurate, up to a small factor), exactness on polynomials of the stencil's
degree, and the error ratio when the step is halved (2^order).
"""

import sys
import types
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy.optimize import rosen, rosen_der
from scipy.optimize._numdiff import approx_derivative

import fdopt
from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import Bounds, default_step
from fdopt.estimators.stencil import backward, central, central4, forward
from fdopt.settings import BackwardSettings, Central4Settings, CentralSettings, ForwardSettings
from tests.helpers import TorchCalls, make_evaluate, numpy_estimate_as_tensors, rosen_t

F64 = torch.float64


def smooth(points):
    """Two outputs: sum sin(x_i) exp(x_{i+1}/3) and sum x_i^2 cos(x_i)."""
    first = (torch.sin(points[:, :-1]) * torch.exp(points[:, 1:] / 3)).sum(1)
    return torch.stack([first, (points**2 * torch.cos(points)).sum(1)], 1)


def smooth_jacobian(x):
    n = x.shape[0]
    jac = torch.zeros(2, n, dtype=x.dtype)
    jac[0, :-1] += torch.cos(x[:-1]) * torch.exp(x[1:] / 3)
    jac[0, 1:] += torch.sin(x[:-1]) * torch.exp(x[1:] / 3) / 3
    jac[1] = 2 * x * torch.cos(x) - x**2 * torch.sin(x)
    return jac


# (function, settings, order, scipy method or None, nfev without f0 given / with it)
METHODS = [
    (forward, ForwardSettings(), 1, "2-point", lambda n: (n + 1, n)),
    (forward, ForwardSettings(accuracy=3), 3, None, lambda n: (3 * n + 1, 3 * n)),
    (backward, BackwardSettings(), 1, None, lambda n: (n + 1, n)),
    (backward, BackwardSettings(accuracy=2), 2, None, lambda n: (2 * n + 1, 2 * n)),
    (central, CentralSettings(), 2, "3-point", lambda n: (2 * n, 2 * n)),
    (central, CentralSettings(accuracy=6), 6, None, lambda n: (6 * n, 6 * n)),
    (central, CentralSettings(accuracy=8), 8, None, lambda n: (8 * n, 8 * n)),
    (central4, Central4Settings(), 4, None, lambda n: (4 * n, 4 * n)),
]
IDS = [f"{m[0].__name__}-{m[2]}" for m in METHODS]


def relative_error(estimate, exact):
    return float((estimate - exact).abs().max() / max(1.0, float(exact.abs().max())))


@pytest.mark.parametrize("n", [10, 100])
@pytest.mark.parametrize(
    ("method", "settings", "peer", "target"),
    [
        (forward, ForwardSettings(), "2-point", 3e-7),
        (central, CentralSettings(), "3-point", 5e-10),
        (central4, Central4Settings(), None, 1e-11),
        (central, CentralSettings(accuracy=6), None, 1e-11),
    ],
)
def test_rosenbrock_matches_or_beats_scipy(n, method, settings, peer, target):
    # The measure: the worst relative error over random points (rounding noise
    # makes single points a coin toss between two equally good estimators).
    rng = np.random.default_rng(n)
    evaluate, _ = make_evaluate(rosen_t)
    errors, scipy_errors = [], []
    for _ in range(5):
        x = rng.uniform(-2, 2, n)
        exact = torch.from_numpy(rosen_der(x))
        errors.append(
            relative_error(method(evaluate, torch.from_numpy(x), settings).value[0], exact)
        )
        if peer is not None:
            scipy_value = torch.from_numpy(approx_derivative(rosen, x, method=peer))
            scipy_errors.append(relative_error(scipy_value, exact))
    assert max(errors) <= target
    if peer is not None:
        assert max(errors) <= 2 * max(scipy_errors)


@pytest.mark.parametrize(
    ("method", "settings", "peer", "low"),
    [(forward, ForwardSettings(), "2-point", 0.0), (central, CentralSettings(), "3-point", -2.0)],
)
def test_same_function_same_steps_as_scipy_bit_for_bit(method, settings, peer, low):
    # The same f (numpy's rosen, point by point): fdopt's steps and weights are scipy's.
    # (scipy steps backward from negative x with 2-point; fdopt always forward.)
    x = np.random.default_rng(0).uniform(low, 2, 30)
    evaluate, _ = make_evaluate(lambda p: torch.tensor([rosen(row) for row in p.numpy()]))
    value = method(evaluate, torch.from_numpy(x), settings).value[0].numpy()
    np.testing.assert_array_equal(value, approx_derivative(rosen, x, method=peer))


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_vector_function_jacobian(method, settings, order, peer, nfev):
    x = torch.linspace(-1.5, 2.0, 7, dtype=F64)
    evaluate, calls = make_evaluate(smooth)
    estimate = method(evaluate, x, settings)
    assert estimate.value.shape == (2, 7)
    assert estimate.value.dtype == F64
    tolerance = {1: 1e-7, 2: 1e-9, 3: 1e-10}.get(order, 1e-11)
    torch.testing.assert_close(estimate.value, smooth_jacobian(x), rtol=0, atol=tolerance)
    assert calls == [estimate.nfev] == [nfev(7)[0]]


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_nfev_and_f0_reuse(method, settings, order, peer, nfev):
    x = torch.tensor([0.3, -1.2, 2.5, 4.0], dtype=F64)
    f0 = smooth(x[None])[0]

    def no_x(points):
        assert not (points == x).all(1).any(), "f(x) evaluated although f0 was given"

    evaluate, calls = make_evaluate(smooth, check=no_x)
    x_before, f0_before = x.clone(), f0.clone()
    estimate = method(evaluate, x, settings, f0=f0)
    assert estimate.nfev == nfev(4)[1] == sum(calls)
    assert len(calls) == 1
    assert estimate.f0 is f0
    assert torch.equal(x, x_before)
    assert torch.equal(f0, f0_before)
    # Without f0: evaluated (once, in the same batch) only when its weight is nonzero.
    evaluate, calls = make_evaluate(smooth)
    estimate = method(evaluate, x, settings)
    assert estimate.nfev == nfev(4)[0] == sum(calls)
    assert len(calls) == 1
    if estimate.nfev > nfev(4)[1]:
        torch.testing.assert_close(estimate.f0, f0, rtol=0, atol=0)
    else:
        assert estimate.f0 is None


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_convergence_order(method, settings, order, peer, nfev):
    # exp and sin: smooth, with nonzero derivatives of every order at these points.
    x = torch.tensor([0.4, -0.7], dtype=F64)
    fun = lambda p: torch.exp(p[:, 0]) + torch.sin(p[:, 1])  # noqa: E731
    exact = torch.stack([torch.exp(x[0]), torch.cos(x[1])])
    evaluate, _ = make_evaluate(fun)
    step = 0.4 if order >= 6 else 0.1
    errors = [
        (method(evaluate, x, settings.model_copy(update={"step": s})).value[0] - exact).abs()
        for s in (step, step / 2)
    ]
    observed = torch.log2(errors[0] / errors[1])
    assert (observed - order).abs().max() < 0.35, observed


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_exact_on_polynomials_of_the_stencil_degree(method, settings, order, peer, nfev):
    x = torch.tensor([0.5, -1.25], dtype=F64)
    fun = lambda p: (p[:, 0] - 0.25) ** order + 3 * p[:, 1] ** order  # noqa: E731
    exact = torch.stack([order * (x[0] - 0.25) ** (order - 1), 3 * order * x[1] ** (order - 1)])
    estimate = method(make_evaluate(fun)[0], x, settings.model_copy(update={"step": 0.5}))
    torch.testing.assert_close(estimate.value[0], exact, rtol=1e-12, atol=1e-12)


@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-3, 3), min_size=n * n, max_size=n * n),
            st.lists(st.floats(-3, 3), min_size=n, max_size=n),
            st.lists(st.floats(-10, 10), min_size=n, max_size=n),
        )
    )
)
def test_quadratic_forms_are_exact_to_rounding(data):
    a, b, x = (torch.tensor(v, dtype=F64) for v in data)
    n = b.shape[0]
    a = a.reshape(n, n)
    fun = lambda p: 0.5 * ((p @ a) * p).sum(1) + p @ b  # noqa: E731
    exact = 0.5 * (a + a.T) @ x + b
    scale = float(1 + (a.abs().sum() * (1 + x.abs().max()) ** 2 + b.abs().sum()))
    for method, settings in [(central, CentralSettings()), (forward, ForwardSettings(accuracy=2))]:
        value = method(make_evaluate(fun)[0], x, settings).value[0]
        assert (value - exact).abs().max() <= 1e-8 * scale


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_steps_scale_with_x_and_are_exact(method, settings, order, peer, nfev):
    x = torch.tensor([0.1, -3.0, 1e4], dtype=F64)
    estimate = method(make_evaluate(smooth)[0], x, settings)
    expected = default_step(order, F64) * torch.tensor([1.0, 3.0, 1e4], dtype=F64)
    torch.testing.assert_close(estimate.step, expected, rtol=1e-6, atol=0)
    assert torch.equal((x + estimate.step) - x, estimate.step)
    given = method(make_evaluate(smooth)[0], x, settings.model_copy(update={"step": 1e-3})).step
    torch.testing.assert_close(given, 1e-3 * torch.tensor([1.0, 3.0, 1e4], dtype=F64))


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_float32(method, settings, order, peer, nfev):
    x = torch.linspace(-1.5, 2.0, 5, dtype=torch.float32)
    estimate = method(make_evaluate(smooth)[0], x, settings)
    assert estimate.value.dtype == estimate.step.dtype == torch.float32
    torch.testing.assert_close(
        estimate.step[0], torch.tensor(default_step(order, torch.float32) * 1.5), rtol=1e-3, atol=0
    )
    tolerance = 3e-3 if order == 1 else 3e-4
    exact = smooth_jacobian(x.double()).float()
    torch.testing.assert_close(estimate.value, exact, rtol=0, atol=tolerance)


def box_checker(lower, upper):
    def check(points):
        assert (points >= lower).all(), "a point below the lower bound"
        assert (points <= upper).all(), "a point above the upper bound"

    return check


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_bounds_are_never_left(method, settings, order, peer, nfev):
    lower = torch.tensor([0.0, -1.0, 0.5, -2.0, 1.0, -3.0], dtype=F64)
    upper = torch.tensor([1.0, 0.0, 0.5 + 1e-9, 2.0, np.inf, 3.0], dtype=F64)
    # On a bound, next to one, in a box narrower than the stencil, unbounded above, far.
    x = torch.tensor([0.0, -1e-9, 0.5 + 4e-10, 2.0, 1.0, 0.0], dtype=F64)
    evaluate, calls = make_evaluate(smooth, check=box_checker(lower, upper))
    estimate = method(evaluate, x, settings, bounds=Bounds(lower, upper))
    assert len(calls) == 1
    assert estimate.nfev == calls[0]
    exact = smooth_jacobian(x)
    error = (estimate.value - exact).abs()
    tolerance = {1: 1e-6, 2: 1e-8}.get(order, 1e-9)
    assert error[:, [0, 1, 3, 4, 5]].max() <= tolerance
    assert error[:, 2].max() <= 1e-5  # step shrunk to fit a 1e-9 box: rounding dominates


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_order_is_kept_next_to_bounds(method, settings, order, peer, nfev):
    x = torch.tensor([0.4, -0.7], dtype=F64)
    fun = lambda p: torch.exp(p[:, 0]) + torch.sin(p[:, 1])  # noqa: E731
    exact = torch.stack([torch.exp(x[0]), torch.cos(x[1])])
    step = 0.1  # one-sided stencils of order 8 reach 8 steps: keep them short
    for bounds in [Bounds(x, x + 100), Bounds(x - 100, x)]:
        evaluate, _ = make_evaluate(fun, check=box_checker(*bounds))
        errors = [
            (
                method(evaluate, x, settings.model_copy(update={"step": s}), bounds=bounds).value[0]
                - exact
            ).abs()
            for s in (step, step / 2)
        ]
        observed = torch.log2(errors[0] / errors[1])
        assert (observed - order).abs().max() < 0.5, observed


def test_central_switches_to_one_sided_of_the_same_order_and_uses_f0():
    x = torch.tensor([0.0, 0.3, 1.0], dtype=F64)
    bounds = Bounds(torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64))
    evaluate, calls = make_evaluate(smooth, check=box_checker(*bounds))
    estimate = central(evaluate, x, CentralSettings(), bounds=bounds)
    # Two one-sided coordinates (2 points each plus the shared f(x)), one centered (2).
    assert calls == [7]
    torch.testing.assert_close(estimate.f0, smooth(x[None])[0], rtol=0, atol=0)
    torch.testing.assert_close(estimate.value, smooth_jacobian(x), rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    ("peer", "method", "settings"),
    [
        ("2-point", forward, ForwardSettings()),
        ("3-point", central, CentralSettings()),
    ],
)
def test_bounded_rosenbrock_matches_or_beats_scipy(peer, method, settings):
    rng = np.random.default_rng(3)
    n = 20
    x = rng.uniform(-2, 2, n)
    # On the lower bound, on the upper bound, in a box narrower than the stencil.
    lower, upper = x - rng.uniform(1e-7, 1e-5, n), x + rng.uniform(1e-7, 1e-5, n)
    lower[::3], upper[1::3] = x[::3], x[1::3]
    exact = torch.from_numpy(rosen_der(x))
    scipy_value = approx_derivative(rosen, x, method=peer, bounds=(lower, upper))
    bounds = Bounds(torch.from_numpy(lower), torch.from_numpy(upper))
    evaluate, _ = make_evaluate(rosen_t, check=box_checker(*bounds))
    value = method(evaluate, torch.from_numpy(x), settings, bounds=bounds).value[0]
    assert relative_error(value, exact) <= 2 * relative_error(torch.from_numpy(scipy_value), exact)


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_fixed_coordinate_is_an_error_naming_bounds(method, settings, order, peer, nfev):
    x = torch.tensor([0.5, 2.0], dtype=F64)
    bounds = Bounds(torch.tensor([0.0, 2.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64))
    evaluate, calls = make_evaluate(smooth)
    with pytest.raises(ArgumentValueError, match=r"bounds.*coordinate 1"):
        method(evaluate, x, settings, bounds=bounds)
    assert calls == []


def test_vanishing_step_is_an_error_naming_step():
    evaluate, calls = make_evaluate(smooth)
    with pytest.raises(ArgumentValueError, match="step"):
        central(evaluate, torch.tensor([1.0, 2.0], dtype=F64), CentralSettings(step=1e-30))
    assert calls == []


@pytest.mark.parametrize(("method", "settings", "order", "peer", "nfev"), METHODS, ids=IDS)
def test_a_step_per_coordinate_is_that_steps_stencil(method, settings, order, peer, nfev):
    """``step=(h_1, ..., h_n)`` differences coordinate i over h_i max(1, |x_i|): the same
    as a scalar step, coordinate by coordinate."""
    x = torch.tensor([0.3, -2.5, 4.0], dtype=F64)
    steps = (1e-3, 1e-5, 3e-4)
    kind = type(settings)
    mixed = method(*make_evaluate(smooth)[:1], x, kind(**{**settings.model_dump(), "step": steps}))
    for i, h in enumerate(steps):
        alone = method(*make_evaluate(smooth)[:1], x, kind(**{**settings.model_dump(), "step": h}))
        torch.testing.assert_close(mixed.value[:, i], alone.value[:, i], rtol=0, atol=0)
        assert float(mixed.step[i]) == pytest.approx(h * max(1.0, abs(float(x[i]))))


def test_a_step_per_coordinate_of_the_wrong_length_names_step():
    evaluate, calls = make_evaluate(smooth)
    with pytest.raises(ArgumentValueError, match=r"step must hold one .* \(3\); got 2"):
        central(
            evaluate, torch.tensor([1.0, 2.0, 3.0], dtype=F64), CentralSettings(step=(1e-3, 1e-3))
        )
    assert calls == []


@pytest.mark.parametrize(
    ("method", "settings", "one_sided", "order"),
    [
        (forward, ForwardSettings(step="auto"), True, 1),
        (central, CentralSettings(step="auto", accuracy=4), False, 4),
        (central4, Central4Settings(step="auto"), False, 4),
    ],
)
@pytest.mark.parametrize("f0_given", [False, True])
def test_auto_step_uses_the_noise_estimate(
    monkeypatch, method, settings, one_sided, order, f0_given
):
    x = torch.tensor([0.2, -0.4, 1.5], dtype=F64)
    f0 = smooth(x[None])[0]
    seen = {}

    def auto_step(evaluate, x, *, order, one_sided, bounds, f0):
        seen.update(order=order, one_sided=one_sided, bounds=bounds, f0=f0)
        evaluate(x[None].repeat(5, 1) + 0.1)
        return torch.full_like(x, 1e-3), torch.tensor([1e-9, 2e-9], dtype=x.dtype), 5

    noise = types.ModuleType("fdopt.estimators.noise")
    noise.auto_step = auto_step
    monkeypatch.setitem(sys.modules, "fdopt.estimators.noise", noise)
    evaluate, calls = make_evaluate(smooth)
    estimate = method(evaluate, x, settings, f0=f0 if f0_given else None)
    # f(x) is evaluated once (first, for auto_step) and reused by the stencil.
    assert calls == ([] if f0_given else [1]) + [5, order * 3]
    assert estimate.nfev == sum(calls)
    torch.testing.assert_close(seen.pop("f0"), f0, rtol=0, atol=0)
    torch.testing.assert_close(estimate.f0, f0, rtol=0, atol=0)
    assert seen == {"order": order, "one_sided": one_sided, "bounds": None}
    torch.testing.assert_close(estimate.noise, torch.tensor([1e-9, 2e-9], dtype=F64))
    torch.testing.assert_close(estimate.step, torch.full_like(x, 1e-3))


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (CentralSettings, "accuracy", 3),
        (ForwardSettings, "accuracy", 0),
        (BackwardSettings, "accuracy", 9),
        (ForwardSettings, "step", -1e-3),
        (CentralSettings, "step", "tiny"),
        (CentralSettings, "step", (1e-3, 0.0)),
        (ForwardSettings, "step", ()),
        (Central4Settings, "accuracy", 4),
    ],
)
def test_bad_settings_name_the_field(model, field, value):
    with pytest.raises(ValidationError, match=field):
        model(**{field: value})


@pytest.mark.cuda
def test_device_and_dtype_follow_x(cuda):
    x = torch.linspace(-1.0, 1.0, 4, dtype=F64, device=cuda)
    estimate = central(make_evaluate(smooth)[0], x, CentralSettings())
    assert estimate.value.device == x.device
    assert estimate.step.device == x.device
    torch.testing.assert_close(estimate.value.cpu(), smooth_jacobian(x.cpu()), rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["forward", "central", "central4"])
def test_large_stencils_go_in_bounded_batches_with_the_same_result(monkeypatch, method):
    import fdopt.estimators.stencil as module

    x = torch.linspace(-1.5, 1.2, 7, dtype=F64)
    bounds = Bounds(x - torch.tensor([0.0, 1, 1, 1, 1, 1, 1e-9], dtype=F64), x + 1)
    settings = {
        "forward": ForwardSettings(),
        "central": CentralSettings(),
        "central4": Central4Settings(),
    }[method]
    estimate = {"forward": forward, "central": central, "central4": central4}[method]
    evaluate, calls = make_evaluate(rosen_t)
    whole = estimate(evaluate, x, settings, bounds=bounds)
    monkeypatch.setattr(module, "block_elements", lambda x, made: 7 * 2)
    evaluate, blocks = make_evaluate(rosen_t)
    split = estimate(evaluate, x, settings, bounds=bounds)
    assert len(calls) == 1
    assert len(blocks) > 2
    assert split.nfev == sum(blocks) == whole.nfev
    torch.testing.assert_close(split.value, whole.value, rtol=0, atol=0)


@pytest.mark.parametrize("threads", [1, 3])
def test_blocks_are_cache_sized_on_a_cpu_and_bounded_elsewhere(threads):
    # The stencil's points are built in blocks the function reads while still in cache
    # on a CPU: for tensors, one call's worth of every torch thread (the evaluator's
    # default call size); on another device (meta stands for a GPU here), in large
    # bounded ones.
    from fdopt.estimators._base import ARRAY_BLOCK_ELEMENTS, MAX_BATCH_ELEMENTS, block_elements
    from fdopt.evaluation import _THREAD_ELEMENTS, default_batch_size

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert block_elements(np.zeros(3)) == ARRAY_BLOCK_ELEMENTS
        assert block_elements(torch.zeros(3)) == _THREAD_ELEMENTS * threads
        n = 1000
        calls = default_batch_size(n, torch.device("cpu"), tensors=True)
        assert block_elements(torch.zeros(n)) // n == calls
        assert block_elements(torch.zeros(3, device="meta")) == MAX_BATCH_ELEMENTS
        # points the evaluator makes itself: only their moved entries are built
        assert block_elements(torch.zeros(3), made=True) == MAX_BATCH_ELEMENTS
    finally:
        torch.set_num_threads(before)
    assert ARRAY_BLOCK_ELEMENTS < MAX_BATCH_ELEMENTS


def test_central_with_f0_reports_second_differences():
    # Cubics: the three-point second difference has no truncation error (its h^2 term
    # is the fourth derivative), so it equals 6 a x + 2 b per coordinate up to
    # rounding, about eps |f| / h^2 ~ 1e-5 with the default step.
    x = torch.tensor([0.7, -1.3, 2.0], dtype=F64)
    a, b = torch.tensor([1.0, -2.0, 0.5], dtype=F64), torch.tensor([3.0, 0.0, -4.0], dtype=F64)

    def cubic(points):
        return (a * points**3 + b * points**2).sum(1, keepdim=True)

    f0 = cubic(x[None])[0]
    estimate = central(cubic, x, CentralSettings(), f0=f0)
    torch.testing.assert_close(estimate.curvature[0], 6 * a * x + 2 * b, rtol=1e-4, atol=1e-4)
    # Only where the stencil gives them for free: not without f(x), not one-sided, not
    # of higher order, not where a bound turns a coordinate one-sided.
    assert central(cubic, x, CentralSettings()).curvature is None
    assert forward(cubic, x, ForwardSettings(), f0=f0).curvature is None
    assert central4(cubic, x, Central4Settings(), f0=f0).curvature is None
    bounds = Bounds(x - torch.tensor([0.0, 1.0, 1.0], dtype=F64), x + 1)
    assert central(cubic, x, CentralSettings(), bounds=bounds, f0=f0).curvature is None


class TestNumpyRoute:
    """An evaluator that takes numpy arrays gets the stencil without torch operations.

    Oracle: the torch route on the same evaluator (hidden behind a plain callable), which
    the tests above check against scipy and analytic derivatives.
    """

    @staticmethod
    def both(estimate, settings, fun, x, *, f0=None, tensors=False, **kwargs):
        from fdopt._tensor import Source
        from fdopt.evaluation import Evaluator

        source = Source(numpy=not tensors, device=torch.device("cpu"))
        if tensors:  # a function of CPU tensors: the same numbers
            numpy_fun = fun

            def fun(p):
                return torch.from_numpy(np.asarray(numpy_fun(p.numpy())))

        routes = []
        for hide in (False, True):
            evaluator = Evaluator(fun, source=source, **kwargs)
            evaluate = (lambda p, e=evaluator: e(p)) if hide else evaluator
            routes.append((estimate(evaluate, x, settings, f0=f0), evaluator.nfev))
        return routes

    @given(
        data=st.data(),
        case=st.sampled_from(range(len(METHODS))),
        n=st.integers(1, 6),
        dtype=st.sampled_from([torch.float64, torch.float32]),
        vectorized=st.booleans(),
        with_f0=st.booleans(),
        tensors=st.booleans(),
        numpy_x=st.booleans(),
    )
    def test_same_estimate_as_the_torch_route(
        self, data, case, n, dtype, vectorized, with_f0, tensors, numpy_x
    ):
        method, settings, *_ = METHODS[case]
        step = data.draw(
            st.sampled_from([None, 1e-3, tuple(data.draw(st.floats(1e-4, 1e-2)) for _ in range(n))])
        )
        if step is not None:
            settings = settings.model_copy(update={"step": step})
        xs = data.draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n))
        x = torch.tensor(xs, dtype=dtype)

        def fun(p):  # two outputs, numpy in and out
            a = np.atleast_2d(p)
            out = np.stack([np.sin(a).sum(1) + (a**3).sum(1), np.exp(a / 4).prod(1)], 1)
            return out if vectorized else out[0]

        f0 = torch.from_numpy(fun(x.numpy()[None] if vectorized else x.numpy())).reshape(-1, 2)
        known = f0[0].to(dtype) if with_f0 else None
        numpy_x = numpy_x and not tensors  # a numpy x: estimates of numpy arrays on both
        (lean, lean_nfev), (full, full_nfev) = self.both(
            method,
            settings,
            fun,
            x.numpy() if numpy_x else x,
            f0=known.numpy() if numpy_x and with_f0 else known,
            vectorized=vectorized,
            tensors=tensors,
        )
        if numpy_x:  # the hidden evaluator's torch route, converted back
            lean, full = numpy_estimate_as_tensors(lean), numpy_estimate_as_tensors(full)
        assert lean.nfev == full.nfev == lean_nfev == full_nfev
        assert lean.value.dtype == full.value.dtype == dtype
        # The routes round differently (points, sums): a difference of rounding errors in
        # values up to |f| <= 28 n + e^(3n/4), over the smallest step.
        fmax = 28 * n + np.exp(0.75 * n)
        tol = {"rtol": 0, "atol": 100 * torch.finfo(dtype).eps * fmax / float(full.step.min())}
        torch.testing.assert_close(lean.value, full.value, **tol)
        torch.testing.assert_close(lean.step, full.step, rtol=0, atol=0)
        for field in ("f0", "curvature"):
            mine, theirs = getattr(lean, field), getattr(full, field)
            assert (mine is None) == (theirs is None)
            if mine is not None:
                torch.testing.assert_close(mine, theirs, **tol)

    @pytest.mark.parametrize("n", [3, 40])  # built from a pattern; filled and scattered
    @pytest.mark.parametrize(
        ("method", "settings"),
        [
            (central, CentralSettings()),
            (forward, ForwardSettings()),
            (central4, Central4Settings()),
        ],
    )
    def test_the_points_are_the_torch_routes(self, n, method, settings):
        seen = []

        def fun(p):
            seen.append(np.array(p, copy=True))
            return np.asarray(p).sum(1)

        x = torch.linspace(-3.0, 2.5, n, dtype=F64) ** 3
        self.both(method, settings, fun, x, vectorized=True)
        numpy_points, torch_points = seen
        assert np.array_equal(numpy_points, torch_points)

    def test_the_route_is_taken_and_large_stencils_go_in_bounded_batches(self, monkeypatch):
        import fdopt.estimators.stencil as module

        calls = []

        def fun(p):
            calls.append(p.shape)
            assert isinstance(p, np.ndarray)
            return rosen(p.T)

        x = torch.linspace(-1.5, 1.2, 7, dtype=F64)
        ((whole, _), _) = self.both(central, CentralSettings(), fun, x, vectorized=True)
        assert calls[0] == (14, 7)
        monkeypatch.setattr(module, "block_elements", lambda x, made: 7 * 2 * 3)
        monkeypatch.setattr(module, "ARRAY_BLOCK_ELEMENTS", 7 * 2 * 3)
        calls.clear()
        ((split, nfev), _) = self.both(forward, ForwardSettings(), fun, x, vectorized=True)
        assert calls == [(6, 7), (2, 7)] * 2  # both routes; f(x) with the last batch
        assert split.nfev == nfev == 8
        calls.clear()  # the numpy route builds cache-sized blocks; the torch route larger
        monkeypatch.setattr(module, "block_elements", lambda x, made: 1 << 22)
        self.both(forward, ForwardSettings(), fun, x, vectorized=True)
        assert calls == [(6, 7), (2, 7), (8, 7)]
        torch.testing.assert_close(
            split.value[0], torch.from_numpy(rosen_der(x.numpy())), rtol=1e-6, atol=1e-6
        )
        torch.testing.assert_close(
            whole.value[0], torch.from_numpy(rosen_der(x.numpy())), rtol=1e-9, atol=1e-9
        )

    @pytest.mark.parametrize("case", ["auto", "bounds", "lazy"])
    def test_a_numpy_x_off_the_route_gets_the_torch_estimate_as_numpy(self, case, monkeypatch):
        # step="auto", bounds and points made one by one take the torch route; a numpy x
        # still gets an estimate of numpy arrays, equal to the torch x's.
        import fdopt.evaluation as evaluation
        from fdopt._tensor import Source
        from fdopt.estimators import Bounds
        from fdopt.evaluation import Evaluator

        if case == "lazy":
            monkeypatch.setattr(evaluation, "_MADE_ELEMENTS", 1)
        x = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
        settings = CentralSettings(step="auto" if case == "auto" else None)
        box = Bounds(torch.full((3,), -1.2, dtype=F64), torch.full((3,), 2.5, dtype=F64))
        estimates = []
        for point in (x, x.numpy()):
            evaluator = Evaluator(
                lambda p: float(np.sum(np.sin(p) * p**2)),
                source=Source(numpy=True, device=torch.device("cpu")),
            )
            bounds = box if case == "bounds" else None
            estimates.append(central(evaluator, point, settings, bounds=bounds))
        torch_x, numpy_x = estimates
        converted = numpy_estimate_as_tensors(numpy_x)
        assert converted.nfev == torch_x.nfev
        for field in ("value", "f0", "step", "noise", "curvature"):
            mine, theirs = getattr(converted, field), getattr(torch_x, field)
            assert (mine is None) == (theirs is None), field
            if mine is not None:
                torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
        assert (converted.noise is not None) == (case == "auto")

    def test_a_raising_function_keeps_the_best_point_and_counts_what_ran(self):
        from fdopt._tensor import Source
        from fdopt.errors import EvaluationError
        from fdopt.evaluation import Evaluator

        def fun(p):
            if p[0] > 1.0005:  # the second point, x + h e_0 (the first is x - h e_0)
                raise RuntimeError("simulator crashed")
            return float(np.sum(p**2))

        evaluator = Evaluator(
            fun, source=Source(numpy=True, device=torch.device("cpu")), track_best=True
        )
        x = torch.tensor([1.0, -2.0], dtype=F64)
        with pytest.raises(EvaluationError, match="simulator crashed") as info:
            central(evaluator, x, CentralSettings(step=1e-3))
        assert isinstance(info.value.__cause__, RuntimeError)
        assert evaluator.nfev == 2  # the points after it neither ran nor counted
        torch.testing.assert_close(evaluator.best_x, torch.tensor([0.999, -2.0], dtype=F64))


@pytest.mark.parametrize("x", [np.array([1.0, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64)])
def test_a_complex_f0_is_used_as_it_is(x):
    # The numpy route of a CPU tensor cast a given f0 to x's real dtype (with a warning,
    # an error under -W error, the first time only): forward differences lost Im f(x).
    from fdopt._tensor import Source
    from fdopt.evaluation import Evaluator

    def fun(p):  # complex-valued, of numpy arrays or tensors
        return 1j * p[..., 0] ** 2 + p[..., 1] ** 2 + 3j

    numpy = isinstance(x, np.ndarray)
    evaluator = Evaluator(fun, source=Source(numpy=numpy, device=torch.device("cpu")))
    f0 = fun(x)
    f0 = np.atleast_1d(f0) if numpy else f0.reshape(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate = forward(evaluator, x, ForwardSettings(), f0=f0)
    assert evaluator.nfev == 2  # f(x) not evaluated again
    assert np.abs(np.asarray(estimate.value)[0] - np.array([2j, 4.0])).max() < 1e-6


@pytest.mark.parametrize("method", ["central", "forward"])
def test_the_tensor_route_reads_the_device_three_times(method):
    # bfloat16 has no numpy view, so a CPU tensor takes the route a GPU tensor takes.
    # Reads left: x finite (all_finite) and the values finite, and whether the stencil
    # rows are padded. The default step's check and the f(x) need are known on the host.
    def fun(X):
        return (100 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2).sum(1)

    x = torch.linspace(-1.0, 1.0, 20, dtype=torch.bfloat16)
    with TorchCalls() as calls:
        fdopt.grad(fun, x, method=method, vectorized=True)
    assert calls.reads() <= 3
