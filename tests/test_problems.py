"""Tests of fdopt.problems: the registry, every problem's function, minima, noise, sampling.

Oracles: the residuals of Moré, Garbow & Hillstrom (1981) written again below as plain
numpy loops from the paper (not the package's vectorized torch code); values at the
starting points quoted in the literature; the paper's minimizers; the minimum that
scipy.optimize.least_squares reaches from x0, against the paper's f*; the autograd
gradient against scipy.optimize.approx_derivative; and sample statistics of the noise.
"""

import functools
import math
import pickle

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares, minimize
from scipy.optimize._numdiff import approx_derivative

import fdopt
from fdopt.problems import (
    MGH_SET,
    PROBLEMS,
    Dimensions,
    Problem,
    get_problem,
    list_problems,
    noisy,
)
from fdopt.problems import _table as make_table

NAMES = list(PROBLEMS)
LEAST_SQUARES = [name for name in NAMES if get_problem(name).residuals is not None]


@functools.cache
def problem(name, n=None, **options):
    return get_problem(name, n, **options)


def points_near(p, k=5, scale=0.1, seed=0):
    """``k`` points around ``x0`` (inside the bounds, if any)."""
    rng = np.random.default_rng(seed)
    x = p.x0 + scale * (1 + np.abs(p.x0)) * rng.standard_normal((k, p.n))
    if p.bounds is not None:
        low, high = np.array(p.bounds).T
        x = np.clip(x, low, high)
    return x


def case_id(name, n, options=None, *_):
    """``name``, then ``n=`` and options where given."""
    parts = [name] + ([f"n={n}"] if n is not None else [])
    if isinstance(options, dict):
        parts += [f"{key}={value}" for key, value in options.items()]
    return "-".join(parts)


def autograd_gradient(p, x):
    point = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    p.fun(point).backward()
    return point.grad.numpy()


# ---------------------------------------------------------------------------------------
# Independent oracles: residuals from the paper, as plain loops (indices from 1).


def r_rosenbrock(x):  # chained form; MGH 1 for n = 2
    r = []
    for i in range(len(x) - 1):
        r += [10 * (x[i + 1] - x[i] ** 2), 1 - x[i]]
    return r


def r_freudenstein_roth(x):
    x1, x2 = x
    return [-13 + x1 + ((5 - x2) * x2 - 2) * x2, -29 + x1 + ((x2 + 1) * x2 - 14) * x2]


def r_beale(x):
    y = [1.5, 2.25, 2.625]
    return [y[i - 1] - x[0] * (1 - x[1] ** i) for i in range(1, 4)]


def r_helical_valley(x):
    x1, x2, x3 = x
    theta = math.atan(x2 / x1) / (2 * math.pi) + (0.5 if x1 < 0 else 0.0)
    return [10 * (x3 - 10 * theta), 10 * (math.hypot(x1, x2) - 1), x3]


def r_bard(x):
    y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
    r = []
    for i in range(1, 16):
        u, v = i, 16 - i
        w = min(u, v)
        r.append(y[i - 1] - (x[0] + u / (v * x[1] + w * x[2])))
    return r


def r_gulf(x, m=10):
    r = []
    for i in range(1, m + 1):
        t = i / 100
        y = 25 + (-50 * math.log(t)) ** (2 / 3)
        r.append(math.exp(-(abs(y - x[1]) ** x[2]) / x[0]) - t)
    return r


def r_box_3d(x, m=10):
    r = []
    for i in range(1, m + 1):
        t = 0.1 * i
        r.append(
            math.exp(-t * x[0]) - math.exp(-t * x[1]) - x[2] * (math.exp(-t) - math.exp(-10 * t))
        )
    return r


def r_wood(x):
    x1, x2, x3, x4 = x
    return [
        10 * (x2 - x1**2),
        1 - x1,
        math.sqrt(90) * (x4 - x3**2),
        1 - x3,
        math.sqrt(10) * (x2 + x4 - 2),
        10**-0.5 * (x2 - x4),
    ]


def r_extended_powell(x):
    r = []
    for i in range(0, len(x), 4):
        a, b, c, d = x[i : i + 4]
        r += [a + 10 * b, 5**0.5 * (c - d), (b - 2 * c) ** 2, 10**0.5 * (a - d) ** 2]
    return r


def r_kowalik_osborne(x):
    y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
    u = [4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]
    return [
        y[i] - x[0] * (u[i] ** 2 + u[i] * x[1]) / (u[i] ** 2 + u[i] * x[2] + x[3])
        for i in range(11)
    ]


def r_brown_dennis(x, m=20):
    r = []
    for i in range(1, m + 1):
        t = i / 5
        a = x[0] + t * x[1] - math.exp(t)
        b = x[2] + x[3] * math.sin(t) - math.cos(t)
        r.append(a**2 + b**2)
    return r


def r_biggs_exp6(x, m=13):
    r = []
    for i in range(1, m + 1):
        t = 0.1 * i
        y = math.exp(-t) - 5 * math.exp(-10 * t) + 3 * math.exp(-4 * t)
        r.append(
            x[2] * math.exp(-t * x[0]) - x[3] * math.exp(-t * x[1]) + x[5] * math.exp(-t * x[4]) - y
        )
    return r


def r_watson(x):
    n = len(x)
    r = []
    for i in range(1, 30):
        t = i / 29
        s1 = sum((j - 1) * x[j - 1] * t ** (j - 2) for j in range(2, n + 1))
        s2 = sum(x[j - 1] * t ** (j - 1) for j in range(1, n + 1))
        r.append(s1 - s2**2 - 1)
    return [*r, x[0], x[1] - x[0] ** 2 - 1]


def r_penalty2(x):
    n, a = len(x), 1e-5
    r = [x[0] - 0.2]
    for i in range(2, n + 1):
        y = math.exp(i / 10) + math.exp((i - 1) / 10)
        r.append(a**0.5 * (math.exp(x[i - 1] / 10) + math.exp(x[i - 2] / 10) - y))
    for i in range(n + 1, 2 * n):
        r.append(a**0.5 * (math.exp(x[i - n] / 10) - math.exp(-1 / 10)))
    r.append(sum((n - j + 1) * x[j - 1] ** 2 for j in range(1, n + 1)) - 1)
    return r


def r_trigonometric(x):
    n = len(x)
    total = sum(math.cos(v) for v in x)
    return [n - total + i * (1 - math.cos(x[i - 1])) - math.sin(x[i - 1]) for i in range(1, n + 1)]


def r_discrete_integral(x):
    n = len(x)
    h = 1 / (n + 1)
    t = [j * h for j in range(1, n + 1)]
    r = []
    for i in range(n):
        first = sum(t[j] * (x[j] + t[j] + 1) ** 3 for j in range(i + 1))
        second = sum((1 - t[j]) * (x[j] + t[j] + 1) ** 3 for j in range(i + 1, n))
        r.append(x[i] + h * ((1 - t[i]) * first + t[i] * second) / 2)
    return r


def r_broyden_banded(x):
    n = len(x)
    r = []
    for i in range(1, n + 1):
        band = [j for j in range(max(1, i - 5), min(n, i + 1) + 1) if j != i]
        total = sum(x[j - 1] * (1 + x[j - 1]) for j in band)
        r.append(x[i - 1] * (2 + 5 * x[i - 1] ** 2) + 1 - total)
    return r


def r_chebyquad(x):
    n = len(x)
    r = []
    for i in range(1, n + 1):
        # the shifted Chebyshev polynomial via cos(i arccos(2x - 1)) on [0, 1]
        mean = sum(math.cos(i * math.acos(2 * v - 1)) for v in x) / n
        integral = -1 / (i**2 - 1) if i % 2 == 0 else 0.0
        r.append(mean - integral)
    return r


def r_linear_rank1_zero(x, m):
    n = len(x)
    s = sum(j * x[j - 1] for j in range(2, n))
    return [-1.0] + [(i - 1) * s - 1 for i in range(2, m)] + [-1.0]


ORACLES = [
    ("rosenbrock", 5, {}, r_rosenbrock),
    ("freudenstein_roth", None, {}, r_freudenstein_roth),
    ("beale", None, {}, r_beale),
    ("helical_valley", None, {}, r_helical_valley),
    ("bard", None, {}, r_bard),
    ("gulf", None, {}, r_gulf),
    ("gulf", None, {"m": 99}, functools.partial(r_gulf, m=99)),
    ("box_3d", None, {}, r_box_3d),
    ("wood", None, {}, r_wood),
    ("powell_singular", None, {}, r_extended_powell),
    ("extended_powell", 12, {}, r_extended_powell),
    ("kowalik_osborne", None, {}, r_kowalik_osborne),
    ("brown_dennis", None, {}, r_brown_dennis),
    ("biggs_exp6", None, {}, r_biggs_exp6),
    ("watson", 9, {}, r_watson),
    ("penalty2", 10, {}, r_penalty2),
    ("trigonometric", 7, {}, r_trigonometric),
    ("discrete_integral", 6, {}, r_discrete_integral),
    ("broyden_banded", 9, {}, r_broyden_banded),
    ("chebyquad", 6, {}, r_chebyquad),
    ("linear_rank1_zero", 5, {"m": 8}, functools.partial(r_linear_rank1_zero, m=8)),
]


@pytest.mark.parametrize(
    ("name", "n", "options", "oracle"), ORACLES, ids=[case_id(*c) for c in ORACLES]
)
def test_values_match_residuals_written_from_the_paper(name, n, options, oracle):
    p = problem(name, n, **options)
    for x in [p.x0, *points_near(p, k=3, scale=0.05)]:
        residuals = np.array(oracle(list(x)))
        np.testing.assert_allclose(p.residuals(x), residuals, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(p.fun(x), np.sum(residuals**2), rtol=1e-12)


# f(x0) as quoted in the literature on these problems (independent of any code here).
VALUES_AT_X0 = [
    ("rosenbrock", 24.2),
    ("freudenstein_roth", 400.5),
    ("brown_badly_scaled", (1 - 1e6) ** 2 + (1 - 2e-6) ** 2 + 1),
    ("beale", 14.203125),
    ("helical_valley", 2500.0),
    ("powell_singular", 215.0),
    ("wood", 19192.0),
]


@pytest.mark.parametrize(("name", "value"), VALUES_AT_X0)
def test_values_at_the_starting_point(name, value):
    p = problem(name)
    assert p.fun(p.x0) == pytest.approx(value, rel=1e-12)


# ---------------------------------------------------------------------------------------
# Minima: the paper's minimizers, and what least_squares reaches from x0.

KNOWN_MINIMIZERS = [
    ("rosenbrock", None, {}, [1.0, 1.0]),
    ("rosenbrock", 7, {}, np.ones(7)),
    ("freudenstein_roth", None, {}, [5.0, 4.0]),
    ("brown_badly_scaled", None, {}, [1e6, 2e-6]),
    ("beale", None, {}, [3.0, 0.5]),
    ("helical_valley", None, {}, [1.0, 0.0, 0.0]),
    ("gulf", None, {}, [50.0, 25.0, 1.5]),
    ("gulf", None, {"m": 99}, [50.0, 25.0, 1.5]),
    ("box_3d", None, {}, [1.0, 10.0, 1.0]),
    ("box_3d", None, {}, [10.0, 1.0, -1.0]),
    ("box_3d", None, {"m": 20}, [2.0, 2.0, 0.0]),
    ("powell_singular", None, {}, np.zeros(4)),
    ("wood", None, {}, np.ones(4)),
    ("biggs_exp6", None, {}, [1.0, 10.0, 1.0, 5.0, 4.0, 3.0]),
    ("extended_rosenbrock", None, {}, np.ones(10)),
    ("extended_powell", None, {}, np.zeros(8)),
    ("variably_dimensioned", None, {}, np.ones(10)),
    ("trigonometric", None, {}, np.zeros(10)),
    ("brown_almost_linear", None, {}, np.ones(10)),
    ("linear_full_rank", None, {}, -np.ones(10)),
    ("linear_full_rank", 4, {"m": 9}, -np.ones(4)),
    # rank 1: any x with sum_j j x_j = 3 / (2m + 1); m = 20 by default for n = 10
    ("linear_rank1", None, {}, np.r_[3 / 41, np.zeros(9)]),
    # rank 1 with zero rows and columns: sum_{j=2}^{n-1} j x_j = 3 / (2m - 3)
    ("linear_rank1_zero", None, {}, np.r_[7.0, 3 / 37 / 2, np.zeros(7), -4.0]),
    ("chebyquad", 1, {}, [0.5]),
    ("chebyquad", 2, {}, [0.5 - 3**0.5 / 6, 0.5 + 3**0.5 / 6]),
    ("sphere", None, {}, np.zeros(10)),
    ("quadratic", None, {}, np.ones(10)),
    ("quadratic_1e2", None, {}, np.ones(10)),
    ("quadratic_1e4", None, {}, np.ones(10)),
    ("quadratic_1e4", 5, {"seed": 3}, np.ones(5)),
    ("sampled", None, {}, [1.0, -0.5]),
]


@pytest.mark.parametrize(
    ("name", "n", "options", "x_star"),
    KNOWN_MINIMIZERS,
    ids=[case_id(*c) for c in KNOWN_MINIMIZERS],
)
def test_known_minimizer_attains_f_star(name, n, options, x_star):
    p = problem(name, n, **options)
    x_star = np.asarray(x_star, dtype=float)
    assert p.fun(x_star) == pytest.approx(p.f_star, rel=1e-12, abs=1e-20)
    gradient = autograd_gradient(p, x_star)
    assert np.abs(gradient).max() <= 1e-8 * max(1.0, abs(p.f_star))


# Problems whose minimizer the paper gives only as a value of f: least_squares from x0
# must reach f* (to the paper's 6 digits), never go below it.
LEAST_SQUARES_MINIMA = [
    ("powell_badly_scaled", None, "lm"),
    ("jennrich_sampson", None, "lm"),
    ("bard", None, "lm"),
    ("gaussian", None, "lm"),
    ("meyer", None, "lm"),
    ("kowalik_osborne", None, "lm"),
    ("brown_dennis", None, "trf"),
    ("osborne1", None, "lm"),
    ("osborne2", None, "lm"),
    ("watson", None, "lm"),
    ("watson", 9, "lm"),
    ("watson", 12, "lm"),
    ("penalty1", None, "lm"),
    ("penalty1", 4, "lm"),
    ("penalty2", None, "lm"),
    ("penalty2", 4, "lm"),
    ("discrete_boundary_value", None, "lm"),
    ("discrete_integral", None, "lm"),
    ("broyden_tridiagonal", None, "lm"),
    ("broyden_banded", None, "lm"),
    ("chebyquad", None, "lm"),
    ("chebyquad", 8, "lm"),
    ("chebyquad", 7, "lm"),
    ("chebyquad", 9, "lm"),
]


@pytest.mark.parametrize(
    ("name", "n", "method"), LEAST_SQUARES_MINIMA, ids=[case_id(*c) for c in LEAST_SQUARES_MINIMA]
)
def test_least_squares_from_x0_reaches_f_star(name, n, method):
    p = problem(name, n)
    fit = least_squares(p.residuals, p.x0, method=method, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    found = p.fun(fit.x)
    assert found == pytest.approx(p.f_star, rel=1e-5, abs=1e-20)
    assert p.f_star <= found * (1 + 5e-6) + 1e-20  # f* printed to 6 digits


def test_every_known_minimum_is_checked():
    checked = {(name, n) for name, n, *_ in KNOWN_MINIMIZERS + LEAST_SQUARES_MINIMA}
    for name in NAMES:
        if problem(name).f_star is not None:
            assert (name, None) in checked, name


def test_local_minima_reached_from_x0_lie_above_f_star():
    # Started at x0, least_squares stops at the local minima the docstrings quote.
    for name, local in [("trigonometric", 2.79506e-5), ("freudenstein_roth", 48.9842)]:
        p = problem(name)
        fit = least_squares(p.residuals, p.x0, method="lm", xtol=1e-15, ftol=1e-15)
        assert p.fun(fit.x) == pytest.approx(local, rel=1e-5)
        assert p.f_star < local


def test_f_star_depends_on_n_and_m_where_the_paper_says():
    assert problem("watson", 7).f_star is None
    assert problem("penalty1", 5).f_star is None
    assert problem("chebyquad", 8, m=9).f_star is None
    assert problem("chebyquad", 11).f_star is None
    assert problem("jennrich_sampson", m=12).f_star is None
    assert problem("brown_dennis", m=21).f_star is None
    assert problem("linear_full_rank", 3, m=7).f_star == 4.0
    assert problem("linear_rank1", 3, m=5).f_star == pytest.approx(5 * 4 / (2 * 11))
    assert problem("linear_rank1_zero", 3, m=5).f_star == pytest.approx((25 + 15 - 6) / 14)


# ---------------------------------------------------------------------------------------
# Every registered problem: the record, calling conventions, derivatives.


@pytest.mark.parametrize("name", NAMES)
def test_problem_record(name):
    p = problem(name)
    assert isinstance(p, Problem)
    assert p.name == name
    assert p.x0.dtype == np.float64
    assert p.x0.shape == (p.n,)
    assert not p.x0.flags.writeable
    assert p.description
    value = p.fun(p.x0)
    assert type(value) is float
    assert math.isfinite(value)
    if p.f_star is not None:
        assert p.f_star <= value
    if p.bounds is not None:
        assert len(p.bounds) == p.n
        assert all(low < x < high for x, (low, high) in zip(p.x0, p.bounds, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_numpy_torch_batched_and_single_points_agree(name):
    p = problem(name)
    batch = points_near(p)
    values = p.fun(batch)
    assert isinstance(values, np.ndarray)
    assert values.shape == (len(batch),)
    assert values.dtype == np.float64
    singles = [p.fun(x) for x in batch]
    assert all(type(v) is float for v in singles)
    np.testing.assert_allclose(values, singles, rtol=1e-13)

    tensor = torch.from_numpy(batch)
    batched = p.fun(tensor)
    assert isinstance(batched, torch.Tensor)
    assert batched.shape == (len(batch),)
    assert batched.dtype == torch.float64
    np.testing.assert_allclose(batched.numpy(), values, rtol=1e-13)
    single = p.fun(tensor[0])
    assert single.shape == ()
    assert single.dtype == torch.float64
    assert float(single) == pytest.approx(values[0], rel=1e-13)

    lists = p.fun(batch.tolist())
    np.testing.assert_allclose(lists, values, rtol=1e-13)
    np.testing.assert_array_equal(tensor.numpy(), batch)  # input untouched


@pytest.mark.parametrize("name", NAMES)
def test_float32_tensors_stay_float32(name):
    p = problem(name)
    x = torch.from_numpy(points_near(p, k=2, scale=0.01)).float()
    values = p.fun(x)
    assert values.dtype == torch.float32
    np.testing.assert_allclose(values.double(), p.fun(x.double()), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", LEAST_SQUARES)
def test_residuals_square_and_sum_to_fun(name):
    p = problem(name)
    batch = points_near(p)
    r = p.residuals(batch)
    assert r.ndim == 2
    assert r.shape[0] == len(batch)
    np.testing.assert_allclose((r**2).sum(1), p.fun(batch), rtol=1e-13)
    assert p.residuals(batch[0]).shape == r.shape[1:]
    assert p.residuals(torch.from_numpy(batch)).shape == r.shape


@pytest.mark.parametrize("name", NAMES)
def test_autograd_gradient_matches_finite_differences(name):
    p = problem(name)
    for x in [p.x0, points_near(p, k=1, scale=0.05, seed=1)[0]]:
        exact = autograd_gradient(p, x)
        estimate = approx_derivative(p.fun, x, method="3-point")
        # central differences lose about eps**(2/3) |f| to rounding
        roundoff = 1e-10 * abs(p.fun(x))
        np.testing.assert_allclose(
            estimate, exact, rtol=1e-5, atol=1e-6 * np.abs(exact).max() + roundoff
        )


@pytest.mark.parametrize("name", LEAST_SQUARES)
def test_complex_steps_differentiate_every_least_squares_problem(name):
    p = problem(name)
    x = points_near(p, k=1, scale=0.05, seed=2)[0]
    steps = approx_derivative(p.fun, x, method="cs")
    np.testing.assert_allclose(steps, autograd_gradient(p, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_functions_pickle(name):
    p = problem(name)
    copy = pickle.loads(pickle.dumps(p))
    assert copy.fun(p.x0) == p.fun(p.x0)


# ---------------------------------------------------------------------------------------
# The registry and its errors.


def test_list_problems_describes_the_registry():
    rows = list_problems()
    assert [row.name for row in rows] == NAMES
    for row in rows:
        p = problem(row.name)
        assert row.n == p.n
        assert row.f_star == p.f_star
        assert row.description == p.description
        assert row.dimensions == str(PROBLEMS[row.name].dimensions)
    dims = {row.name: row.dimensions for row in rows}
    assert dims["beale"] == "2"
    assert dims["watson"] == "2..31"
    assert dims["extended_powell"] == "4, 8, 12, ..."
    assert dims["sphere"] == ">= 1"


def test_all_35_mgh_problems_are_registered():
    mgh = [name for name in NAMES if "(MGH" in problem(name).description]
    assert len(mgh) == 35


def test_mgh_set():
    assert len(MGH_SET) == 10
    assert len(set(MGH_SET)) == 10
    assert "rosenbrock" in MGH_SET
    for name in MGH_SET:
        p = problem(name)
        assert 2 <= p.n <= 6
        assert p.f_star is not None


def test_a_name_registered_twice_raises():
    entry = ("sphere", PROBLEMS["sphere"].make, Dimensions(default=1, minimum=1))
    with pytest.raises(ValueError, match="'sphere' registered twice"):
        make_table(entry, entry)


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown problem 'rosenbrok'") as info:
        get_problem("rosenbrok")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown problem"):
        get_problem(None)


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("beale", 3, "n must be 2"),
        ("rosenbrock", 1, "n must be >= 2"),
        ("watson", 32, "n must be 2..31"),
        ("extended_powell", 6, r"n must be 4, 8, 12, \.\.\."),
        ("extended_rosenbrock", 5, r"n must be 2, 4, 6, \.\.\."),
        ("linear_rank1_zero", 2, "n must be >= 3"),
        ("sphere", 0, "n must be >= 1"),
    ],
)
def test_a_wrong_dimension_names_n(name, n, expected):
    with pytest.raises(ValueError, match=f"problem '{name}' is not defined for n={n}; {expected}"):
        get_problem(name, n)


@pytest.mark.parametrize("n", [2.0, True, "2"])
def test_a_dimension_of_the_wrong_type_names_n(n):
    with pytest.raises(TypeError, match="n must be an int"):
        get_problem("rosenbrock", n)


def test_options_are_checked():
    with pytest.raises(ValueError, match="problem 'beale' takes no option 'm'; its options: none"):
        get_problem("beale", m=3)
    with pytest.raises(ValueError, match="takes no option 'condition'; its options: seed, rotated"):
        get_problem("quadratic_1e4", condition=1e3)
    with pytest.raises(ValueError, match="m must be <= 100; got 101"):
        get_problem("gulf", m=101)
    with pytest.raises(ValueError, match="m must be >= 10; got 9"):
        get_problem("chebyquad", 10, m=9)
    with pytest.raises(TypeError, match="m must be an int"):
        get_problem("box_3d", m=10.0)
    with pytest.raises(ValueError, match="condition must be finite and >= 1"):
        get_problem("quadratic", condition=0.5)
    with pytest.raises(TypeError, match="condition must be a real number"):
        get_problem("quadratic", condition="1e4")
    with pytest.raises(TypeError, match="rotated must be a bool"):
        get_problem("quadratic", rotated=1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        get_problem("quadratic", seed=-1)


def test_options_change_the_problem():
    assert problem("jennrich_sampson", m=12).residuals([0.3, 0.4]).shape == (12,)
    assert problem("gulf", m=99).residuals([5.0, 2.5, 0.15]).shape == (99,)
    assert problem("chebyquad", 4, m=6).residuals(np.full(4, 0.5)).shape == (6,)
    assert problem("linear_rank1", 4).residuals(np.ones(4)).shape == (8,)  # m = 2n


@pytest.mark.parametrize("x", [np.zeros(3), np.zeros((2, 3)), np.zeros((2, 2, 2)), np.float64(1)])
def test_points_of_the_wrong_shape_are_rejected(x):
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(k, 2\)"):
        problem("beale").fun(x)


def test_points_that_are_not_numbers_are_rejected():
    with pytest.raises(TypeError, match="x must"):
        problem("beale").fun(["a", "b"])


def test_integer_points_are_computed_in_float64():
    p = problem("beale")
    assert p.fun(np.array([3, 1])) == p.fun(np.array([3.0, 1.0]))
    assert p.fun(torch.tensor([3, 1])).dtype == torch.float64


# ---------------------------------------------------------------------------------------
# Synthetic problems.


@pytest.mark.parametrize(("name", "condition"), [("quadratic", 1e2), ("quadratic_1e4", 1e4)])
def test_quadratic_hessian_has_the_asked_spectrum(name, condition):
    p = problem(name, 6)
    hessian = torch.autograd.functional.hessian(p.fun, torch.zeros(6, dtype=torch.float64))
    hessian = hessian.numpy()
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)
    eigenvalues = np.linalg.eigvalsh(hessian)
    np.testing.assert_allclose(eigenvalues, np.logspace(0, np.log10(condition), 6), rtol=1e-10)
    assert np.abs(hessian - np.diag(np.diag(hessian))).max() > 0.1  # rotated
    np.testing.assert_array_equal(p.x0, np.zeros(6))


def test_quadratic_rotation_follows_the_seed():
    x = points_near(problem("quadratic"))
    same = problem("quadratic", seed=0).fun(x)
    np.testing.assert_array_equal(get_problem("quadratic").fun(x), same)
    np.testing.assert_array_equal(problem("quadratic_1e2").fun(x), same)
    assert not np.allclose(problem("quadratic", seed=1).fun(x), same)
    axis = problem("quadratic", 4, condition=1e3, rotated=False)
    hessian = torch.autograd.functional.hessian(axis.fun, torch.zeros(4, dtype=torch.float64))
    np.testing.assert_allclose(hessian, np.diag(np.logspace(0, 3, 4)), rtol=1e-12, atol=1e-14)


def test_sphere():
    p = problem("sphere", 3)
    np.testing.assert_array_equal(p.x0, np.ones(3))
    assert p.fun([1.0, 2.0, 3.0]) == 14.0
    x = np.array([1.0, 2.0, 3.0])
    r = p.residuals(x)
    r[0] = 5.0
    assert x[0] == 1.0  # residuals are a copy, not the caller's array


# ---------------------------------------------------------------------------------------
# Noise.


def test_noisy_keeps_the_problem_and_names_the_noise():
    base = problem("rosenbrock")
    p = noisy(base, kind="additive", level=1e-3)
    assert p.name == "rosenbrock+noise(additive,1e-3)"
    np.testing.assert_array_equal(p.x0, base.x0)
    assert (p.f_star, p.bounds, p.n) == (base.f_star, base.bounds, base.n)
    assert p.residuals is None
    assert "additive" in p.description
    sampled = noisy(problem("sampled"), kind="multiplicative", level=0.025, seed=4)
    assert sampled.name == "sampled+noise(multiplicative,2.5e-2)"
    assert sampled.bounds == problem("sampled").bounds


def test_same_seed_same_sequence_of_values():
    base = problem("beale")
    first, second = (noisy(base, kind="additive", level=1e-2, seed=7) for _ in range(2))
    points = points_near(base, k=6)
    values = [first.fun(x) for x in points]
    assert [second.fun(x) for x in points] == values
    assert len(set(values)) == len(values)
    other = noisy(base, kind="additive", level=1e-2, seed=8)
    assert [other.fun(x) for x in points] != values
    # a pickled copy (what a worker process gets) continues the sequence where it was
    fresh = noisy(base, kind="additive", level=1e-2, seed=7)
    fresh.fun(points[0])
    copy = pickle.loads(pickle.dumps(fresh))
    assert [copy.fun(x) for x in points[1:]] == values[1:]


@pytest.mark.parametrize("k", [5, 40])  # torch draws 16 or more normals in another order
def test_a_batch_draws_what_point_by_point_calls_draw(k):
    base = problem("wood")
    points = points_near(base, k=k)
    one_by_one = noisy(base, kind="multiplicative", level=1e-2, seed=3)
    batched = noisy(base, kind="multiplicative", level=1e-2, seed=3)
    expected = [one_by_one.fun(x) for x in points]
    np.testing.assert_allclose(batched.fun(points), expected, rtol=1e-15)
    # torch input, and float32, draw the same numbers
    tensor_run = noisy(base, kind="multiplicative", level=1e-2, seed=3)
    np.testing.assert_allclose(tensor_run.fun(torch.from_numpy(points)), expected, rtol=1e-15)


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_noise_has_the_asked_level(kind):
    base = problem("rosenbrock")
    level, k = 1e-3, 20_000
    p = noisy(base, kind=kind, level=level, seed=0)
    clean = base.fun(base.x0)
    values = p.fun(np.tile(base.x0, (k, 1)))
    z = values - clean if kind == "additive" else values / clean - 1
    assert np.std(z) == pytest.approx(level, rel=0.03)
    assert abs(np.mean(z)) < 4 * level / np.sqrt(k)


def test_noise_does_not_change_the_gradient():
    base = problem("helical_valley")
    p = noisy(base, kind="additive", level=0.1)
    x = points_near(base, k=1)[0]
    np.testing.assert_allclose(autograd_gradient(p, x), autograd_gradient(base, x), rtol=1e-14)


def test_zero_noise_is_the_problem_itself():
    base = problem("box_3d")
    p = noisy(base, kind="multiplicative", level=0.0)
    points = points_near(base)
    np.testing.assert_array_equal(p.fun(points), base.fun(points))


def test_get_problem_adds_noise():
    via_options = get_problem("rosenbrock", noise=1e-3, noise_kind="multiplicative", seed=5)
    direct = noisy(problem("rosenbrock"), kind="multiplicative", level=1e-3, seed=5)
    assert via_options.name == direct.name == "rosenbrock+noise(multiplicative,1e-3)"
    points = points_near(direct)
    np.testing.assert_array_equal(via_options.fun(points), direct.fun(points))
    assert get_problem("rosenbrock", noise=1e-3).name == "rosenbrock+noise(additive,1e-3)"


def test_bad_noise_arguments():
    base = problem("beale")
    with pytest.raises(ValueError, match="kind must be one of"):
        noisy(base, kind="gaussian", level=1e-3)
    with pytest.raises(ValueError, match=r"level must be finite and >= 0; got -0\.1"):
        noisy(base, kind="additive", level=-0.1)
    with pytest.raises(ValueError, match="level must be finite"):
        noisy(base, kind="additive", level=math.nan)
    with pytest.raises(TypeError, match="level must be a real number"):
        noisy(base, kind="additive", level="1e-3")
    with pytest.raises(TypeError, match="seed must be an int"):
        noisy(base, kind="additive", level=1e-3, seed=1.5)


# ---------------------------------------------------------------------------------------
# The sampled surface.

CENTRE = np.array([1.0, -0.5])
STEP = 0.25


def landscape(x):
    """The surface the samples come from, written from the docstring."""
    u, v = (np.asarray(x, dtype=float) - CENTRE).T
    radius = u**2 + 2 * v**2
    wells = sum(np.exp(-((u - a) ** 2) - (v - b) ** 2) for a in (-3.0, 3.0) for b in (-2.0, 2.0))
    return 0.05 * radius - 2 * np.exp(-radius / 2) - 1.5 * wells


def grid_nodes():
    axis = np.arange(-20, 21) * STEP
    return axis + CENTRE[0], axis + CENTRE[1]


def test_sampled_bounds_and_start():
    p = problem("sampled")
    assert p.bounds == ((-4.0, 6.0), (-5.5, 4.5))
    assert p.residuals is None


def test_sampled_is_nan_at_nan_points():
    # A NaN coordinate became an index out of range (an IndexError for the whole batch).
    values = problem("sampled").fun(np.array([[1.0, -0.5], [np.nan, 0.0], [0.0, np.nan]]))
    assert np.isfinite(values[0])
    assert np.isnan(values[1:]).all()


def test_sampled_interpolates_the_samples():
    p = problem("sampled")
    xs, ys = grid_nodes()
    nodes = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(p.fun(nodes), landscape(nodes), rtol=1e-13, atol=1e-15)
    rng = np.random.default_rng(0)
    low, high = np.array(p.bounds).T
    between = rng.uniform(low, high, size=(2000, 2))
    np.testing.assert_allclose(p.fun(between), landscape(between), atol=3e-3)


def test_sampled_gradient_at_nodes_is_fdopt_gradient_of_the_samples():
    p = problem("sampled")
    xs, ys = grid_nodes()
    samples = landscape(np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2))
    d_x, d_y = fdopt.gradient(samples.reshape(41, 41), spacing=STEP, accuracy=4)
    for i, j in [(5, 7), (20, 20), (33, 12), (0, 40)]:
        gradient = autograd_gradient(p, np.array([xs[i], ys[j]]))
        np.testing.assert_allclose(gradient, [d_x[i, j], d_y[i, j]], rtol=1e-10, atol=1e-12)


def test_sampled_is_continuously_differentiable_across_cell_edges():
    p = problem("sampled")
    xs, ys = grid_nodes()
    rng = np.random.default_rng(1)
    for _ in range(10):
        edge_x, y = xs[rng.integers(1, 40)], rng.uniform(ys[0], ys[-1])
        left = autograd_gradient(p, np.array([edge_x - 1e-10, y]))
        right = autograd_gradient(p, np.array([edge_x + 1e-10, y]))
        np.testing.assert_allclose(left, right, atol=1e-7)


def test_sampled_minimum_is_f_star():
    p = problem("sampled")
    assert p.f_star == pytest.approx(landscape(CENTRE), rel=1e-15)
    xs = np.linspace(*p.bounds[0], 301)
    ys = np.linspace(*p.bounds[1], 301)
    everywhere = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
    local = CENTRE + np.stack(
        np.meshgrid(*[np.linspace(-0.3, 0.3, 61)] * 2, indexing="ij"), axis=-1
    ).reshape(-1, 2)
    assert p.fun(np.concatenate([everywhere, local])).min() >= p.f_star
    fit = minimize(
        p.fun,
        p.x0,
        jac=lambda x: autograd_gradient(p, x),
        method="L-BFGS-B",
        bounds=p.bounds,
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    assert fit.fun == pytest.approx(p.f_star, abs=1e-10)
    np.testing.assert_allclose(fit.x, CENTRE, atol=1e-4)


def test_sampled_rejects_complex_points():
    with pytest.raises(TypeError, match="real points only"):
        problem("sampled").fun(np.array([1.0 + 1e-20j, 0.0]))


# ---------------------------------------------------------------------------------------
# A GPU, when there is one.


@pytest.mark.cuda
@pytest.mark.parametrize("name", NAMES)
def test_tensors_on_a_gpu_stay_there(name, cuda):
    p = problem(name)
    batch = points_near(p)
    for dtype in (torch.float64, torch.float32):
        x = torch.from_numpy(batch).to(cuda, dtype)
        values = p.fun(x)
        assert values.device.type == "cuda"
        assert values.dtype == dtype
        rtol = 1e-12 if dtype == torch.float64 else 1e-3
        np.testing.assert_allclose(values.double().cpu(), p.fun(batch), rtol=rtol, atol=1e-4)
    x = torch.tensor(p.x0, device=cuda, requires_grad=True)
    p.fun(x).backward()
    np.testing.assert_allclose(x.grad.cpu(), autograd_gradient(p, p.x0), rtol=1e-10, atol=1e-12)
    noisy_values = noisy(p, kind="additive", level=1e-3).fun(torch.from_numpy(batch).to(cuda))
    expected = noisy(p, kind="additive", level=1e-3).fun(batch)
    np.testing.assert_allclose(noisy_values.cpu(), expected, rtol=1e-12)
