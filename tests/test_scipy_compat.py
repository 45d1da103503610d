"""The scipy bridges: ``fdopt.method`` (``method=``), ``fdopt.Gradient`` (``jac=``), callbacks.

The oracles are independent of fdopt: counting wrappers around the user's function
(every point it saw, every value it returned), analytic gradients, and scipy's own runs
(what scipy 1.17 hands a callable method, its StopIteration message, its BFGS on a
float32 start).
"""

import inspect
import io

import numpy as np
import pydantic
import pytest
import torch
from scipy import optimize
from scipy.optimize import Bounds, OptimizeResult, rosen

import fdopt
from fdopt.callbacks import EarlyStopping, ProgressBar, Recorder

# L-BFGS-B's default ftol (factr 1e7 times float64 eps): the solver's own resolution in f.
LBFGSB_FTOL = 1e7 * np.finfo(float).eps


class Counted:
    """Wrap ``fun``: count every call, keep a copy of every point and every value returned.

    A call that raises is counted (and its point kept) but has no value.
    """

    def __init__(self, fun):
        self.fun = fun
        self.calls = 0
        self.points = []
        self.values = []
        self.args = []

    def __call__(self, x, *args):
        self.calls += 1
        if isinstance(x, torch.Tensor):
            self.points.append(x.detach().clone())
        else:
            self.points.append(np.array(x, copy=True))
        self.args.append(args)
        value = self.fun(x, *args)
        self.values.append(float(value) if np.ndim(value) == 0 else np.array(value, copy=True))
        return value


def sphere(x, center=1.0):
    """``sum((x - center)^2)`` in float64 whatever the dtype of ``x``."""
    return float(np.sum((np.asarray(x, dtype=np.float64) - center) ** 2))


def sphere_grad(x, center=1.0):
    return 2.0 * (np.asarray(x, dtype=np.float64) - center)


def scipy_stop_message():
    """scipy's own result for a callback that raises StopIteration (BFGS, scipy 1.17)."""

    def stop(intermediate_result):
        raise StopIteration

    res = optimize.minimize(sphere, np.zeros(2), method="BFGS", callback=stop)
    assert (res.status, res.success) == (99, False)
    return res.message


def fdopt_run(fun, x0, callback=None, options=None, **kwargs):
    return fdopt.minimize(fun, x0, callback=callback, options=options, **kwargs)


def scipy_run(fun, x0, callback=None, options=None, method="adam", **kwargs):
    return optimize.minimize(
        fun, x0, method=fdopt.method(method), callback=callback, options=options, **kwargs
    )


RUNNERS = [
    pytest.param(fdopt_run, id="fdopt.minimize"),
    pytest.param(scipy_run, id="scipy.minimize"),
]


# --- the callable-method contract ----------------------------------------------------


def test_scipy_hands_everything_as_keywords_and_the_method_takes_them():
    received = {}
    inner = fdopt.method("adam")

    def spy(fun, x0, **kwargs):
        received.update(kwargs)
        return inner(fun, x0, **kwargs)

    res = optimize.minimize(sphere, np.zeros(2), method=spy, options={"maxiter": 5})
    # The oracle: what scipy 1.17 passes a callable method.
    assert {"args", "jac", "hess", "hessp", "bounds", "constraints", "callback"} <= set(received)
    assert received["maxiter"] == 5
    # fdopt's callable has scipy's documented signature for custom methods.
    inspect.signature(inner).bind(sphere, np.zeros(2), **received)
    assert isinstance(res, OptimizeResult)
    assert res.nit == 5


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("adam", {}),
        ("gd", {}),
        ("momentum", {"lr": 0.05}),
        ("spsa", {"seed": 0}),
    ],
)
def test_nfev_is_the_true_number_of_calls(name, options):
    fun = Counted(sphere)
    res = optimize.minimize(
        fun, np.zeros(3), method=fdopt.method(name), options={"maxiter": 40, **options}
    )
    assert fun.calls > 0
    assert res.nfev == fun.calls
    assert res.fun < sphere(np.zeros(3))
    assert res.fun == min(fun.values)


def test_nfev_counts_points_of_a_vectorized_function():
    rows = []

    def batch(points):
        rows.append(len(points))
        return np.sum((points - 1.0) ** 2, axis=1)

    res = optimize.minimize(
        batch,
        np.zeros(3),
        method=fdopt.method("adam"),
        options={"maxiter": 20, "vectorized": True},
    )
    assert max(rows) > 1  # stencils went out as batches
    assert res.nfev == sum(rows)


def test_unknown_option_is_a_value_error_listing_the_valid_ones():
    fun = Counted(sphere)
    with pytest.raises(ValueError, match="'bogus'") as info:
        optimize.minimize(fun, np.zeros(2), method=fdopt.method("adam"), options={"bogus": 1})
    message = str(info.value)
    for valid in ("lr", "beta1", "maxiter", "gtol", "step"):
        assert valid in message
    assert fun.calls == 0


def test_bad_method_or_defaults_fail_when_the_method_is_made():
    with pytest.raises(ValueError, match="'adam'"):
        fdopt.method("no-such-method")
    with pytest.raises(ValueError, match="'bogus'"):
        fdopt.method("adam", bogus=1)
    with pytest.raises(pydantic.ValidationError, match="lr"):
        fdopt.method("adam", lr=-1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hess": lambda x: np.eye(2)}, "hess"),
        ({"hessp": lambda x, p: p}, "hess"),
        ({"constraints": [{"type": "eq", "fun": lambda x: x[0]}]}, "constraints"),
        ({"constraints": {"type": "ineq", "fun": lambda x: x[0]}}, "constraints"),
        ({"constraints": optimize.LinearConstraint([[1.0, 1.0]], 0.0, 1.0)}, "constraints"),
    ],
)
def test_hess_hessp_and_constraints_are_refused_before_any_evaluation(kwargs, match):
    fun = Counted(sphere)
    with pytest.raises(ValueError, match=match):
        optimize.minimize(fun, np.zeros(2), method=fdopt.method("adam"), **kwargs)
    assert fun.calls == 0


def test_empty_constraints_are_fine():
    res = optimize.minimize(
        sphere, np.zeros(2), method=fdopt.method("adam"), constraints=[], options={"maxiter": 5}
    )
    assert res.nit == 5


def test_disp_prints_the_message(capsys):
    res = optimize.minimize(
        sphere, np.zeros(2), method=fdopt.method("adam"), options={"maxiter": 3, "disp": True}
    )
    assert res.message in capsys.readouterr().out


# --- what scipy hands the method ----------------------------------------------------


def test_float32_start_stays_float32_and_converges():
    fun = Counted(sphere)
    x0 = np.zeros(3, dtype=np.float32)
    res = optimize.minimize(fun, x0, method=fdopt.method("adam"))
    assert res.x.dtype == np.float32
    assert all(point.dtype == np.float32 for point in fun.points)
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-3)
    assert res.nfev == fun.calls


@pytest.mark.parametrize("x0", [0.5, [0.5], (0.5, 0.25)])
def test_scalar_and_list_starts_arrive_flat(x0):
    res = optimize.minimize(sphere, x0, method=fdopt.method("gd"), options={"maxiter": 50})
    assert isinstance(res.x, np.ndarray)
    assert res.x.shape == (np.size(x0),)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)


@pytest.mark.parametrize("jac", ["2-point", "3-point", "cs", False])
def test_a_string_jac_arrives_as_none_and_gradients_are_estimated(jac):
    received = {}
    inner = fdopt.method("gd")

    def spy(fun, x0, **kwargs):
        received.update(kwargs)
        return inner(fun, x0, **kwargs)

    fun = Counted(sphere)
    res = optimize.minimize(fun, np.zeros(2), method=spy, jac=jac, options={"maxiter": 100})
    assert received["jac"] is None  # scipy's doing
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)
    plain = optimize.minimize(sphere, np.zeros(2), method=inner, options={"maxiter": 100})
    assert res.nfev == fun.calls == plain.nfev
    np.testing.assert_array_equal(res.x, plain.x)


def test_a_callable_jac_is_used_with_scipys_args():
    jac = Counted(sphere_grad)
    fun = Counted(sphere)
    res = optimize.minimize(
        fun,
        np.zeros(3),
        args=(2.0,),
        method=fdopt.method("adam"),
        jac=jac,
        options={"maxiter": 500},
    )
    assert res.success
    np.testing.assert_allclose(res.x, 2.0, atol=1e-5)
    assert res.njev == jac.calls > 0
    assert res.nfev == fun.calls
    # no stencils: one value per step tried, rejected ones included (a forward stencil
    # would cost 3 more a gradient)
    assert jac.calls <= fun.calls < 3 * jac.calls
    assert set(jac.args) == {(2.0,)}
    assert set(fun.args) == {(2.0,)}


def test_tol_arrives_in_the_options_and_a_looser_tol_stops_earlier():
    received = {}
    inner = fdopt.method("adam")

    def spy(fun, x0, **kwargs):
        received.update(kwargs)
        return inner(fun, x0, **kwargs)

    loose = optimize.minimize(sphere, np.zeros(3), method=spy, tol=1e-2)
    assert received["tol"] == 1e-2  # scipy's doing
    tight = optimize.minimize(sphere, np.zeros(3), method=inner, tol=1e-9)
    assert loose.success
    assert tight.success
    assert loose.nit < tight.nit
    assert tight.fun < loose.fun
    assert np.max(np.abs(loose.jac)) <= 1e-2 or loose.status == 1  # gtol or ftol met
    # options set explicitly win over tol
    explicit = optimize.minimize(
        sphere, np.zeros(3), method=inner, tol=1e-2, options={"gtol": 1e-9, "ftol": 1e-9}
    )
    assert explicit.nit == tight.nit


@pytest.mark.parametrize(
    "bounds",
    [
        [(-1.0, 0.5), (0.0, 1.5), (None, 0.25)],
        Bounds([-1.0, 0.0, -np.inf], [0.5, 1.5, 0.25]),
        Bounds(-0.5, 0.25),
    ],
    ids=["pairs", "Bounds", "Bounds-scalars"],
)
@pytest.mark.parametrize("name", ["adam", "gd", "spsa"])
def test_bounds_arrive_raw_and_no_point_leaves_them(bounds, name):
    fun = Counted(lambda x: sphere(x, 2.0))
    options = {"maxiter": 300, "seed": 0} if name == "spsa" else {"maxiter": 300}
    res = optimize.minimize(
        fun, np.zeros(3), method=fdopt.method(name), bounds=bounds, options=options
    )
    lower, upper = (
        (np.broadcast_to(bounds.lb, 3), np.broadcast_to(bounds.ub, 3))
        if isinstance(bounds, Bounds)
        else (
            np.array([-np.inf if lo is None else lo for lo, _ in bounds]),
            np.array([np.inf if hi is None else hi for _, hi in bounds]),
        )
    )
    points = np.array(fun.points)
    assert np.all(points >= lower)
    assert np.all(points <= upper)
    assert res.nfev == fun.calls
    # the optimum (2, 2, 2) is outside: the result sits on the upper bounds
    np.testing.assert_allclose(res.x, upper, atol=1e-2 if name == "spsa" else 1e-8)


def test_a_start_outside_the_bounds_is_an_error_before_any_evaluation():
    fun = Counted(sphere)
    with pytest.raises(ValueError, match="outside"):
        optimize.minimize(fun, np.ones(2), method=fdopt.method("adam"), bounds=[(0, 0.5)] * 2)
    assert fun.calls == 0


def test_float32_start_never_evaluates_past_a_bound_that_float32_rounds_outward():
    fun = Counted(lambda x: sphere(x, 2.0))
    bounds = [(-0.3, 0.3), (0.1, 0.7)]  # float32(0.3) > 0.3
    optimize.minimize(
        fun,
        np.full(2, 0.2, dtype=np.float32),
        method=fdopt.method("adam"),
        bounds=bounds,
        options={"maxiter": 100},
    )
    points = np.array(fun.points).astype(np.float64)
    assert np.all(points <= [0.3, 0.7])
    assert np.all(points >= [-0.3, 0.1])


# --- callbacks, as scipy hands them over (unwrapped) ---------------------------------


def test_callback_intermediate_result_gets_the_state_each_iteration():
    fun = Counted(sphere)
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)

    res = optimize.minimize(
        fun,
        np.zeros(2),
        method=fdopt.method("adam"),
        callback=callback,
        options={"maxiter": 25, "lr": 0.01, "gtol": 0},  # a fixed lr: it runs 25 iterations
    )
    assert res.status == 3  # maxiter
    assert len(seen) == res.nit == 25
    assert all(isinstance(state, OptimizeResult) for state in seen)
    assert [state.nit for state in seen] == list(range(1, 26))
    for state in seen:
        assert state.fun == sphere(state.x)  # fun is f at x, not something else
        assert state.fun in fun.values
    nfevs = [state.nfev for state in seen]
    assert nfevs == sorted(nfevs)
    assert nfevs[-1] == res.nfev == fun.calls


def test_callback_xk_gets_copies_of_the_iterates():
    by_result, by_point = [], []
    optimize.minimize(
        sphere,
        np.zeros(2),
        method=fdopt.method("adam"),
        callback=lambda intermediate_result: by_result.append(intermediate_result.x.copy()),
        options={"maxiter": 10},
    )

    def callback(xk):
        assert isinstance(xk, np.ndarray)
        by_point.append(xk.copy())
        xk[:] = 100.0  # must not touch the run

    res = optimize.minimize(
        sphere,
        np.zeros(2),
        method=fdopt.method("adam"),
        callback=callback,
        options={"maxiter": 10},
    )
    assert len(by_point) == res.nit == 10
    np.testing.assert_array_equal(np.array(by_point), np.array(by_result))
    assert res.fun < 1.0


def test_callback_with_xk_and_an_optional_intermediate_result_gets_xk_as_in_scipy():
    def make():
        calls = []

        def callback(xk, intermediate_result=None):
            calls.append((type(xk), intermediate_result))

        return callback, calls

    callback, calls = make()
    optimize.minimize(sphere, np.zeros(2), method="BFGS", callback=callback)
    assert calls
    assert all(kind is np.ndarray and extra is None for kind, extra in calls)
    callback, calls = make()
    res = optimize.minimize(
        sphere,
        np.zeros(2),
        method=fdopt.method("adam"),
        callback=callback,
        options={"maxiter": 5},
    )
    assert len(calls) == res.nit
    assert all(kind is np.ndarray and extra is None for kind, extra in calls)


@pytest.mark.parametrize("signature", ["intermediate_result", "xk"])
def test_stop_iteration_ends_the_run_as_scipy_does(signature):
    calls = []

    def stop_after_five(argument):
        calls.append(argument)
        if len(calls) == 5:
            raise StopIteration

    if signature == "intermediate_result":

        def callback(intermediate_result):
            stop_after_five(intermediate_result)

    else:

        def callback(xk):
            stop_after_five(xk)

    fun = Counted(sphere)
    res = optimize.minimize(fun, np.zeros(2), method=fdopt.method("adam"), callback=callback)
    assert len(calls) == 5
    assert res.nit == 5
    assert res.status == 99
    assert res.success is False
    assert res.message == scipy_stop_message()
    assert res.nfev == fun.calls
    assert res.fun == min(fun.values)


# --- basinhopping ------------------------------------------------------------------


def test_basinhopping_with_an_fdopt_local_method():
    def bumpy(x):
        return sphere(x) + 0.5 * float(np.sum(np.sin(3 * np.asarray(x)) ** 2))

    fun = Counted(bumpy)
    res = optimize.basinhopping(
        fun,
        np.array([2.5, -2.0]),
        niter=3,
        minimizer_kwargs={"method": fdopt.method("gd"), "options": {"gtol": 1e-4}},
        seed=0,
    )
    assert res.nfev == fun.calls
    assert res.fun == bumpy(res.x)
    assert res.fun == pytest.approx(min(fun.values), abs=1e-12)
    assert res.minimization_failures == 0
    assert res.lowest_optimization_result.success


# --- Gradient: a jac= for scipy's methods -----------------------------------------------


def smooth(x, a=1.0):
    """Analytic for the complex step: numpy and torch, real or complex."""
    return (a * np.exp(x[:-1]) * np.sin(x[1:])).sum() + (x**3).sum() / 3


def smooth_grad(x, a=1.0):
    x = np.asarray(x, dtype=np.float64)
    g = x**2
    g[:-1] += a * np.exp(x[:-1]) * np.sin(x[1:])
    g[1:] += a * np.exp(x[:-1]) * np.cos(x[1:])
    return g


def smooth_torch(x, a=1.0):
    assert isinstance(x, torch.Tensor)
    return float((a * torch.exp(x[:-1]) * torch.sin(x[1:])).sum() + (x**3).sum() / 3)


X = np.array([0.3, -0.7, 1.1, 0.5])


@pytest.mark.parametrize(
    ("method", "atol"),
    [
        ("forward", 1e-6),
        ("backward", 1e-6),
        ("central", 1e-9),
        ("central4", 1e-11),
        ("richardson", 1e-11),
        ("complex", 1e-14),
    ],
)
def test_gradient_matches_the_analytic_gradient(method, atol):
    # the complex step needs complex values back: Counted's float() would drop them
    fun = smooth if method == "complex" else Counted(smooth)
    g = fdopt.Gradient(fun, method=method)
    value = g(X)
    assert isinstance(value, np.ndarray)
    assert value.shape == X.shape
    np.testing.assert_allclose(value, smooth_grad(X), rtol=0, atol=atol)
    assert g.ngev == 1
    if method != "complex":
        assert g.nfev == fun.calls


@pytest.mark.parametrize(("dtype", "atol"), [(torch.float64, 1e-9), (torch.float32, 1e-3)])
def test_gradient_torch_in_torch_out(dtype, atol):
    fun = Counted(smooth_torch)
    g = fdopt.Gradient(fun)
    value = g(torch.tensor(X, dtype=dtype))
    assert isinstance(value, torch.Tensor)
    assert value.dtype == dtype
    assert all(isinstance(point, torch.Tensor) for point in fun.points)
    np.testing.assert_allclose(value.double().numpy(), smooth_grad(X), rtol=0, atol=atol)


def test_gradient_uses_the_args_scipy_passes():
    def shifted(x, center, weight):
        return weight * sphere(x, center)

    fun = Counted(shifted)
    g = fdopt.Gradient(fun, args=(0.0, 1.0))
    np.testing.assert_allclose(g(np.zeros(2)), [0.0, 0.0], atol=1e-8)  # its own args
    fun.args.clear()
    res = optimize.minimize(g.fun, np.zeros(2), args=(3.0, 2.0), jac=g, method="BFGS")
    assert set(fun.args) == {(3.0, 2.0)}
    np.testing.assert_allclose(res.x, 3.0, atol=1e-5)
    np.testing.assert_allclose(g(np.zeros(2), 3.0, 2.0), [-12.0, -12.0], rtol=1e-6)


def test_gradient_does_not_reuse_a_value_computed_with_other_args():
    def scaled(x, a):
        return a * float(np.sum(x**2))

    x = np.array([1.0, 2.0])
    g = fdopt.Gradient(scaled, method="forward")
    assert g.fun(x, 1.0) == 5.0
    np.testing.assert_allclose(g(x, 3.0), 6 * x, rtol=1e-6)
    assert g.fun(x, 1.0) == 5.0
    # and the cache still saves f(x) when the args are the same
    fun = Counted(scaled)
    g = fdopt.Gradient(fun, method="forward")
    g.fun(x, 3.0)
    g(x, 3.0)
    assert fun.calls == 1 + x.size


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "no-such-method"}, ValueError, "'central'.*'forward'|'forward'.*'central'"),
        ({"bogus": 1}, pydantic.ValidationError, "bogus"),
        ({"step": -1.0}, pydantic.ValidationError, "step"),
        ({"vectorized": "yes"}, TypeError, "vectorized"),
    ],
)
def test_gradient_bad_arguments_fail_at_construction(kwargs, error, match):
    fun = Counted(sphere)
    with pytest.raises(error, match=match):
        fdopt.Gradient(fun, **kwargs)
    assert fun.calls == 0


def test_gradient_needs_a_callable():
    with pytest.raises(TypeError, match="callable"):
        fdopt.Gradient(3.0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
def test_gradient_reuses_f_at_a_tensor_point_of_any_dtype(dtype):
    # Its cache key read the point through numpy, which has no bfloat16: a TypeError.
    fun = Counted(lambda x: (x**2).sum())
    g = fdopt.Gradient(fun, method="forward")
    x = torch.tensor([1.0, 2.0], dtype=dtype)
    f = g.fun(x)
    grad = g(x)
    assert grad.dtype == dtype
    assert fun.calls == g.nfev == 3  # f(x) once, then the two forward points
    assert g.fun(x) == f
    assert fun.calls == 3
    g(x + 1)
    assert fun.calls == 6  # another point: f(x) evaluated again


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (lambda x: np.array([1.0, 2.0]), r"Gradient.fun needs a scalar function"),
        (lambda x: np.array([]), r"Gradient.fun needs a scalar function"),
        (lambda x: 1j * x[0], "Gradient.fun needs a real function"),
    ],
)
def test_gradient_fun_needs_a_real_scalar_function(value, match):
    # It returned the first value of a vector, and raised an IndexError (none) or a
    # RuntimeError (complex).
    with pytest.raises(fdopt.FunctionOutputError, match=match):
        fdopt.Gradient(value).fun(np.zeros(2))


def test_gradient_needs_a_scalar_function_of_any_size():
    for value in (np.array([1.0, 2.0]), np.array([1.0]), np.array([])):
        with pytest.raises(fdopt.FunctionOutputError, match="Gradient needs a scalar function"):
            fdopt.Gradient(lambda x, v=value: v)(np.zeros(2))


def rosen_start(n):
    return np.tile([-1.2, 1.0], n // 2)


@pytest.mark.parametrize("n", [2, 10])
def test_forward_gradient_with_its_fun_evaluates_each_point_once(n):
    fun = Counted(rosen)
    g = fdopt.Gradient(fun, method="forward")
    res = optimize.minimize(g.fun, rosen_start(n), jac=g, method="L-BFGS-B")
    assert res.success
    distinct = {point.tobytes() for point in fun.points}
    assert len(distinct) == fun.calls  # no point evaluated twice
    assert g.nfev == fun.calls
    assert fun.calls == (n + 1) * g.ngev  # n stencil points + f(x) once per gradient
    assert g.ngev == res.njev


@pytest.mark.parametrize("n", [2, 10])
@pytest.mark.parametrize("method", ["forward", "central"])
def test_lbfgsb_with_gradient_converges_as_well_as_with_scipys_differences(n, method):
    x0 = rosen_start(n)
    theirs = optimize.minimize(rosen, x0, method="L-BFGS-B")
    g = fdopt.Gradient(rosen, method=method)
    ours = optimize.minimize(g.fun, x0, jac=g, method="L-BFGS-B")
    assert theirs.success  # the reference is a converged run
    assert ours.success
    # at least as low, up to L-BFGS-B's own resolution in f
    assert ours.fun <= theirs.fun + LBFGSB_FTOL
    np.testing.assert_allclose(ours.x, 1.0, atol=1e-3)


def test_bfgs_on_a_float32_start_moves_with_gradient():
    x0 = np.array([-1.2, 1.0], dtype=np.float32)
    f0 = float(rosen(x0.astype(np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):  # scipy 1.18 divides 0 by 0 there
        theirs = optimize.minimize(rosen, x0, method="BFGS")
    if np.array_equal(theirs.x, x0):
        # scipy issues 17636/19024/23944: its differences step below float32's resolution.
        # Up to 1.17 it sees a zero gradient and reports success at x0; 1.18 divides 0 by
        # 0 there and stops at x0 on the NaN gradient.
        assert theirs.success or not np.isfinite(theirs.jac).all()
        assert theirs.x.dtype == np.float32
        assert float(theirs.fun) == pytest.approx(f0)
    fun = Counted(rosen)
    ours = optimize.minimize(fun, x0, method="BFGS", jac=fdopt.Gradient(fun))
    assert ours.nit > 0
    assert not np.array_equal(ours.x, x0)
    assert ours.fun < 1e-3 * f0
    assert all(point.dtype == np.float32 for point in fun.points)


def test_lbfgsb_on_a_float32_start_moves_with_gradient():
    """L-BFGS-B's own differences on a float32 start: their step rounds away, and on
    Rosenbrock in 4 variables it stopped at f = 4.5 (from 532; scipy 1.17.1); with
    fdopt.Gradient it converges."""
    x0 = np.array([-1.2, 1.0, -1.2, 1.0], dtype=np.float32)
    f0 = float(rosen(x0.astype(np.float64)))
    fun = Counted(rosen)
    ours = optimize.minimize(fun, x0, method="L-BFGS-B", jac=fdopt.Gradient(fun))
    assert ours.fun < 1e-3 * f0
    assert all(point.dtype == np.float32 for point in fun.points)


# --- fdopt.callbacks in fdopt.minimize and in scipy with fdopt.method -------------------


@pytest.mark.parametrize("run", RUNNERS)
def test_recorder_records_every_iteration(run):
    fun = Counted(sphere)
    rec = Recorder()
    res = run(fun, np.zeros(3), callback=rec, options={"maxiter": 30, "lr": 0.01, "gtol": 0})
    assert len(rec) == res.nit == 30
    assert rec.x.shape == (res.nit, 3)
    assert [record.nit for record in rec] == list(range(1, res.nit + 1))
    assert rec[-1].nfev == res.nfev == fun.calls
    np.testing.assert_array_equal(rec.fun, [sphere(x) for x in rec.x])


@pytest.mark.parametrize("run", RUNNERS)
def test_recorder_records_the_last_iteration_of_a_gtol_run(run):
    rec = Recorder()
    res = run(sphere, np.zeros(3), callback=rec, options={"gtol": 1e-3})
    assert res.status == 0
    assert len(rec) == res.nit


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize(
    ("options", "status"),
    [({"gtol": 0.0, "ftol": 1e-6, "lr": 0.05}, 1), ({"gtol": 0.0, "xtol": 1e-3, "lr": 0.05}, 2)],
    ids=["ftol", "xtol"],
)
def test_recorder_records_the_last_iteration_of_an_ftol_or_xtol_run(run, options, status):
    rec = Recorder()
    res = run(sphere, np.zeros(3), callback=rec, options=options)
    assert res.status == status
    assert len(rec) == res.nit


@pytest.mark.parametrize("run", RUNNERS)
def test_early_stopping_ends_with_status_99(run):
    fun = Counted(sphere)
    stop = EarlyStopping(patience=3, min_delta=1e-3)
    res = run(fun, np.zeros(2), callback=stop, options={"maxiter": 1000})
    assert res.status == 99
    assert res.success is False
    assert res.message == scipy_stop_message()
    assert stop.stopped_at == res.nit < 1000
    assert stop.best == pytest.approx(min(fun.values), abs=1e-3)
    assert res.nfev == fun.calls


@pytest.mark.parametrize("run", RUNNERS)
def test_progress_bar_counts_iterations_and_shows_nfev(run):
    out = io.StringIO()
    with ProgressBar(total=20, file=out, disable=False) as bar:
        res = run(sphere, np.zeros(2), callback=bar, options={"maxiter": 20, "lr": 0.01, "gtol": 0})
    assert bar.n == res.nit == 20
    text = out.getvalue()
    assert f"nfev={res.nfev}" in text
    assert "20/20" in text


# --- history ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["adam", "gd", "momentum"])
def test_history_has_one_entry_per_iteration(method):
    fun = Counted(sphere)
    res = fdopt.minimize(fun, np.zeros(3), method=method, options={"maxiter": 25, "history": True})
    history = res.history
    assert isinstance(history, dict)
    for name in ("nit", "fun", "best", "gnorm", "nfev", "step", "lr"):
        assert isinstance(history[name], np.ndarray)
        assert history[name].shape == (res.nit,)
    np.testing.assert_array_equal(history["nit"], np.arange(1, res.nit + 1))
    nfev = history["nfev"].astype(int)
    assert np.all(np.diff(nfev) > 0)
    assert nfev[-1] == res.nfev == fun.calls
    # the best value seen after each iteration, from the values fun actually returned
    expected_best = [min(fun.values[:k]) for k in nfev]
    np.testing.assert_array_equal(history["best"], expected_best)
    assert set(history["fun"]) <= set(fun.values)


# --- EvaluationError ------------------------------------------------------------------


class Boom(Exception):
    pass


def failing_after(count, fun=sphere):
    """``fun`` that raises (a fresh ``Boom``) from call ``count + 1`` on."""
    raised = []

    def failing(x):
        if counted.calls > count:
            raised.append(Boom(f"call {counted.calls}"))
            raise raised[-1]
        return fun(x)

    counted = Counted(failing)
    return counted, raised


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("method", ["adam", "gd", "spsa"])
def test_evaluation_error_keeps_the_best_point_seen(run, method):
    fun, raised = failing_after(37)
    options = {"seed": 0} if method == "spsa" else {}
    with pytest.raises(fdopt.EvaluationError) as info:
        run(fun, np.zeros(2), options=options, method=method)
    error = info.value
    assert error.__cause__ is raised[0]
    result = error.result
    assert isinstance(result, OptimizeResult)
    assert len(fun.values) == 37
    best = int(np.argmin(fun.values))
    assert result.fun == fun.values[best]
    np.testing.assert_array_equal(result.x, fun.points[best])
    assert result.success is False
    assert result.nfev == fun.calls


@pytest.mark.parametrize("run", RUNNERS)
def test_evaluation_error_keeps_a_best_value_from_the_batch_that_raised(run):
    # call 1 is f(x0); calls 2-5 are the first central stencil. Call 3 returns the
    # lowest value of the run, call 4 raises: the best point came from the failing batch.
    calls = []

    def trap(x):
        calls.append(None)
        if len(calls) == 3:
            return -100.0
        if len(calls) == 4:
            raise Boom("inside the stencil")
        return sphere(x)

    fun = Counted(trap)
    with pytest.raises(fdopt.EvaluationError) as info:
        run(fun, np.zeros(2))
    assert isinstance(info.value.__cause__, Boom)
    result = info.value.result
    assert result.fun == -100.0 == min(fun.values)
    np.testing.assert_array_equal(result.x, fun.points[2])
