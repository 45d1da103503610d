import operator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import torch

from fdopt import evaluation
from fdopt._tensor import Source
from fdopt.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BudgetExhaustedError,
    EvaluationError,
    FunctionOutputError,
)
from fdopt.evaluation import Evaluator, default_batch_size

NUMPY = Source(numpy=True, device=torch.device("cpu"))
TORCH = Source(numpy=False, device=torch.device("cpu"))


def points(k=5, n=3, seed=0):
    return torch.randn(k, n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


def expected(pts):
    return (pts**2).sum(dim=1, keepdim=True)


class TestModes:
    def test_plain_counts_each_point_and_returns_k_by_1(self):
        ev = Evaluator(sphere, source=NUMPY)
        pts = points()
        torch.testing.assert_close(ev(pts), expected(pts))
        assert ev.nfev == 5
        assert ev.scalar is True

    def test_fun_receives_numpy_for_numpy_sources_and_tensors_for_torch(self):
        seen = []
        Evaluator(lambda x: seen.append(type(x)) or 0.0, source=NUMPY)(points(2))
        Evaluator(lambda x: seen.append(type(x)) or 0.0, source=TORCH)(points(2))
        assert seen == [np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]

    def test_fun_cannot_corrupt_the_batch(self):
        def mutate(x):
            x[:] = 1e9
            return 0.0

        pts = points()
        before = pts.clone()
        Evaluator(mutate, source=NUMPY)(pts)
        Evaluator(mutate, source=TORCH)(pts)
        assert torch.equal(pts, before)

    def test_args_passed_through(self):
        ev = Evaluator(lambda x, a, b: float(a * x.sum() + b), source=NUMPY, args=(2.0, 1.0))
        pts = points()
        torch.testing.assert_close(ev(pts)[:, 0], 2 * pts.sum(1) + 1)

    def test_vector_outputs(self):
        ev = Evaluator(lambda x: np.array([x.sum(), x.prod()]), source=NUMPY)
        pts = points()
        out = ev(pts)
        assert out.shape == (5, 2)
        torch.testing.assert_close(out[:, 1], pts.prod(1))
        assert ev.scalar is False

    @pytest.mark.parametrize("batch_size", [None, 1, 2, 5, 100])
    def test_vectorized_chunks_by_batch_size(self, batch_size):
        sizes = []

        def fun(X):
            sizes.append(X.shape[0])
            return (X**2).sum(axis=1)

        ev = Evaluator(fun, source=NUMPY, vectorized=True, batch_size=batch_size)
        pts = points(7)
        torch.testing.assert_close(ev(pts), expected(pts))
        assert ev.nfev == 7
        assert sum(sizes) == 7
        assert max(sizes) <= (batch_size or 7)
        if batch_size is None:
            assert sizes == [7]  # a small stencil is one call

    def test_default_batch_size_is_cache_sized_on_cpu(self):
        cpu = torch.device("cpu")
        assert default_batch_size(10, cpu, tensors=False) > 1000
        assert default_batch_size(10_000, cpu, tensors=False) < 10
        assert default_batch_size(10, torch.device("meta"), tensors=True) is None

    @pytest.mark.parametrize("threads", [1, 3])
    def test_default_batch_size_gives_each_torch_thread_a_share(self, threads):
        cpu, before = torch.device("cpu"), torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            share = evaluation._THREAD_ELEMENTS // 8  # points of dimension 8 a thread takes
            assert default_batch_size(8, cpu, tensors=True) == threads * share
            calls = []

            def batch(points):
                calls.append(points.shape[0])
                return points.sum(1)

            x = torch.zeros(8, dtype=torch.float64)
            Evaluator(batch, source=TORCH, vectorized=True)(x.expand(3 * threads * share, 8))
            assert calls == [threads * share] * 3
        finally:
            torch.set_num_threads(before)

    def test_vectorized_matches_point_by_point(self):
        pts = points(9, 4)
        one = Evaluator(sphere, source=NUMPY)(pts)
        batched = Evaluator(lambda X: (X**2).sum(1), source=NUMPY, vectorized=True)(pts)
        torch.testing.assert_close(one, batched)

    def test_torch_vectorized_2d_output(self):
        ev = Evaluator(lambda X: torch.stack([X.sum(1), X[:, 0]], 1), source=TORCH, vectorized=True)
        assert ev(points()).shape == (5, 2)

    def test_float32_points_give_float32_values(self):
        pts = points().float()
        assert Evaluator(sphere, source=NUMPY)(pts).dtype == torch.float32

    def test_complex_values_kept_for_complex_points(self):
        pts = points().to(torch.complex128) * 1j
        out = Evaluator(lambda x: np.sum(x), source=NUMPY)(pts)
        assert out.is_complex()

    def test_empty_batch(self):
        ev = Evaluator(sphere, source=NUMPY)
        assert ev(points(0)).shape[0] == 0
        assert ev.nfev == 0


class TestWorkers:
    def test_thread_pool_executor(self):
        pts = points(8)
        with ThreadPoolExecutor(2) as pool:
            ev = Evaluator(sphere, source=NUMPY, workers=pool)
            torch.testing.assert_close(ev(pts), expected(pts))
        assert ev.nfev == 8

    def test_map_like_callable(self):
        calls = []

        def my_map(fun, items):
            calls.append(1)
            return map(fun, items)

        pts = points()
        torch.testing.assert_close(
            Evaluator(sphere, source=NUMPY, workers=my_map)(pts), expected(pts)
        )
        assert calls == [1]

    def test_process_pool_by_count_keeps_order(self):
        pts = points(6)
        with Evaluator(np.sum, source=NUMPY, workers=2) as ev:
            out = ev(pts)
        torch.testing.assert_close(out[:, 0], pts.sum(1))

    def test_process_pool_exception_carries_the_point(self):
        pts = points(3)
        with ProcessPoolExecutor(1) as pool:
            ev = Evaluator(operator.index, source=NUMPY, workers=pool)
            with pytest.raises(EvaluationError, match="TypeError at x = ") as info:
                ev(pts)
        assert isinstance(info.value.__cause__, TypeError)
        np.testing.assert_array_equal(info.value.x, pts[0].numpy())

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"fun": lambda x: 0.0}, "so fun must be picklable"),
            ({"args": (lambda: 0,)}, "so args must be picklable"),
        ],
    )
    def test_process_pool_by_count_needs_picklable_fun_and_args(self, kwargs, match):
        # The pool's raw AttributeError came at the first map, from pickle.
        kwargs = {"fun": sphere, **kwargs}
        with pytest.raises(ArgumentTypeError, match=match):
            Evaluator(source=NUMPY, workers=2, **kwargs)

    def test_a_pool_that_cannot_send_fun_is_an_evaluation_error(self):
        def local(x):
            return 0.0

        with ProcessPoolExecutor(1) as pool:
            ev = Evaluator(local, source=NUMPY, workers=pool)
            with pytest.raises(EvaluationError, match="workers failed to evaluate 3 points"):
                ev(points(3))

    def test_a_map_that_drops_results_is_an_evaluation_error(self):
        # It was numpy's reshape error.
        ev = Evaluator(sphere, source=NUMPY, workers=lambda fun, items: [fun(next(iter(items)))])
        with pytest.raises(EvaluationError, match="workers returned 1 results for 4 points"):
            ev(points(4))

    def test_dask_local_cluster_executor(self):
        distributed = pytest.importorskip("distributed")
        pts = points(6)
        with (
            distributed.LocalCluster(
                n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            ev = Evaluator(sphere, source=NUMPY, workers=client.get_executor())
            torch.testing.assert_close(ev(pts), expected(pts))
        assert ev.nfev == 6


class TestBudgetAndErrors:
    def test_budget_is_a_hard_limit_checked_before_calling(self):
        calls = []
        ev = Evaluator(lambda x: calls.append(1) or 0.0, source=NUMPY, maxfev=7)
        ev(points(5))
        with pytest.raises(BudgetExhaustedError, match="maxfev=7"):
            ev(points(3))
        assert len(calls) == 5
        assert ev.nfev == 5
        ev(points(2))
        assert ev.nfev == 7

    def test_exception_is_chained_with_the_point(self):
        def fun(x):
            if x[0] > 0:
                raise ZeroDivisionError("nope")
            return 0.0

        pts = torch.tensor([[-1.0, 0.0], [2.0, 3.0]], dtype=torch.float64)
        with pytest.raises(EvaluationError, match=r"ZeroDivisionError at x = \[2\. 3\.\]") as info:
            Evaluator(fun, source=NUMPY)(pts)
        assert isinstance(info.value.__cause__, ZeroDivisionError)

    @pytest.mark.parametrize("pool", [False, True])
    def test_a_raising_point_ends_the_batch_and_keeps_the_best_before_it(self, pool):
        from concurrent.futures import ThreadPoolExecutor

        seen = []

        def fun(x):
            seen.append(float(x[0]))
            if x[0] == 2.0:
                raise ValueError("crashed")
            return float(x[0] ** 2)

        pts = torch.tensor([[1.0], [-0.5], [2.0], [0.1], [3.0]], dtype=torch.float64)
        with ThreadPoolExecutor(1) as executor:
            workers = executor if pool else None
            ev = Evaluator(fun, source=NUMPY, workers=workers, track_best=True)
            with pytest.raises(EvaluationError, match=r"ValueError at x = \[2\.\]"):
                ev(pts)
        # In this thread, the points after the one that raised are neither run nor
        # counted; an executor has run them all (one thread: in order).
        assert seen == ([1.0, -0.5, 2.0, 0.1, 3.0] if pool else [1.0, -0.5, 2.0])
        assert ev.nfev == len(seen)
        assert float(ev.best_f) == 0.25

    def test_vectorized_exception_is_chained(self):
        def fun(X):
            raise RuntimeError("simulator crashed")

        with pytest.raises(EvaluationError, match="simulator crashed") as info:
            Evaluator(fun, source=NUMPY, vectorized=True)(points())
        assert isinstance(info.value.__cause__, RuntimeError)

    def test_non_finite_value_names_the_point(self):
        ev = Evaluator(lambda x: np.inf if x[0] > 0 else 1.0, source=NUMPY)
        pts = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
        with pytest.raises(FunctionOutputError, match=r"non-finite value \[inf\] at x = \[1\.\]"):
            ev(pts)

    def test_non_finite_kept_on_request_and_best_point_tracked(self):
        ev = Evaluator(
            lambda x: np.nan if x[0] > 1 else float(x[0] ** 2),
            source=NUMPY,
            nonfinite="keep",
            track_best=True,
        )
        out = ev(torch.tensor([[3.0], [-0.5], [0.7]], dtype=torch.float64))
        assert torch.isnan(out[0, 0])
        assert float(ev.best_f) == 0.25
        assert float(ev.best_x[0]) == -0.5

    @pytest.mark.parametrize(
        ("fun", "vectorized", "match"),
        [
            (lambda x: np.ones((2, 2)), False, r"scalar or a 1-D array; got shape \(2, 2\)"),
            (lambda X: np.ones(3), True, r"must return shape \(5,\) or \(5, m\).*got shape \(3,\)"),
            (lambda X: np.ones((5, 2, 2)), True, r"got shape \(5, 2, 2\)"),
            (lambda x: "a", False, "must return numbers"),
            (lambda x: True, False, "must return numbers; got booleans"),
        ],
    )
    def test_wrong_output_shapes_and_types(self, fun, vectorized, match):
        with pytest.raises(FunctionOutputError, match=match):
            Evaluator(fun, source=NUMPY, vectorized=vectorized)(points())

    @pytest.mark.parametrize("source", [NUMPY, TORCH])
    @pytest.mark.parametrize("vectorized", [False, True])
    @pytest.mark.parametrize("kind", [float, complex])
    def test_python_numbers_keep_double_precision(self, source, vectorized, kind):
        # torch.as_tensor reads Python floats as float32: 0.1 + 1e-12 became 0.1.
        def fun(x):
            rows = x.tolist() if vectorized else [x.tolist()]
            values = [[kind(row[0] + 1e-12), kind(-row[0])] for row in rows]
            return values if vectorized else values[0]

        pts = torch.tensor([[0.1], [0.3]], dtype=torch.float64)
        out = Evaluator(fun, source=source, vectorized=vectorized)(pts)
        assert out.dtype == (torch.float64 if kind is float else torch.complex128)
        assert out[:, 0].real.tolist() == [0.1 + 1e-12, 0.3 + 1e-12]

    @pytest.mark.parametrize(
        ("fun", "match"),
        [
            (lambda X: np.ones(len(X) - (X[0, 0] > 0)), r"\(2,\) or \(2, m\).*got shape \(1,\)"),
            (lambda X: np.ones((len(X), 1 + (X[0, 0] > 0))), "one shape"),
            (lambda X: [[1.0], [1.0, 2.0]][: len(X)] if X[0, 0] > 0 else np.ones(2), "numbers"),
            (lambda X: np.ones(len(X), dtype=bool), "booleans"),
            (lambda X: np.array(["a"] * len(X)), "numbers"),
        ],
    )
    def test_wrong_outputs_in_a_later_chunk(self, fun, match):
        # Chunks of a numpy batch are checked one by one: the second (x > 0) is wrong.
        pts = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]], dtype=torch.float64)
        with pytest.raises(FunctionOutputError, match=match):
            Evaluator(fun, source=NUMPY, vectorized=True, batch_size=2)(pts)

    @pytest.mark.parametrize("source", [NUMPY, TORCH])
    def test_exception_in_a_chunk_names_its_first_point(self, source):
        def fun(X):
            if X[0, 0] > 0:
                raise RuntimeError("simulator crashed")
            return (X**2).sum(1)

        pts = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]], dtype=torch.float64)
        ev = Evaluator(fun, source=source, vectorized=True, batch_size=2)
        with pytest.raises(EvaluationError, match=r"batch of 2 points \(first x = \[1\.\]\)"):
            ev(pts)

    def test_inconsistent_output_shapes(self):
        sizes = iter([1, 2, 1])
        with pytest.raises(FunctionOutputError, match="one shape"):
            Evaluator(lambda x: np.ones(next(sizes)), source=NUMPY)(points(3))

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"fun": 3}, ArgumentTypeError, "fun must be callable"),
            ({"args": 3}, ArgumentTypeError, "args must be a tuple"),
            ({"maxfev": 0}, ArgumentValueError, "maxfev"),
            ({"batch_size": 1.5}, ArgumentTypeError, "batch_size"),
            ({"workers": "many"}, ArgumentTypeError, "workers"),
            ({"workers": 0}, ArgumentValueError, "workers"),
            ({"workers": 2, "vectorized": True}, ArgumentValueError, "workers"),
        ],
    )
    def test_bad_arguments(self, kwargs, error, match):
        kwargs = {"fun": sphere, **kwargs}
        with pytest.raises(error, match=match):
            Evaluator(source=NUMPY, **kwargs)


class TestAxis:
    """Evaluator.axis (points that each move one coordinate) against the points made whole.

    The stencils here are small: the threshold is lowered so that a plain numpy function
    gets its points made one by one, as a large stencil's are.
    """

    @pytest.fixture(autouse=True)
    def _points_made_one_by_one(self, monkeypatch):
        monkeypatch.setattr(evaluation, "_MADE_ELEMENTS", 1)

    def test_which_evaluators_make_the_points(self, monkeypatch):
        assert Evaluator(sphere, source=NUMPY).makes_points(self.X, 5)
        assert not Evaluator(sphere, source=TORCH).makes_points(self.X, 5)
        assert not Evaluator(sphere, source=NUMPY, vectorized=True).makes_points(self.X, 5)
        pool = Evaluator(sphere, source=NUMPY, workers=ThreadPoolExecutor(1))
        assert not pool.makes_points(self.X, 5)
        assert not Evaluator(sphere, source=NUMPY, point_shape=()).makes_points(self.X[:1], 5)
        monkeypatch.setattr(evaluation, "_MADE_ELEMENTS", 1 << 17)
        assert not Evaluator(sphere, source=NUMPY).makes_points(self.X, 5)  # fits in cache
        assert Evaluator(sphere, source=NUMPY).makes_points(torch.zeros(1000), 2000)

    X = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    COLS = torch.tensor([0, 2, -1, 1, 0])
    MOVED = torch.tensor([0.7, 2.5, 0.0, -0.2, 0.1], dtype=torch.float64)

    def whole(self):
        pts = self.X.expand(5, 3).clone()
        for r, (c, v) in enumerate(zip(self.COLS.tolist(), self.MOVED.tolist(), strict=True)):
            if c >= 0:
                pts[r, c] = v
        return pts

    @pytest.mark.parametrize(
        ("fun", "source", "kwargs"),
        [
            (sphere, NUMPY, {}),
            (lambda x: np.array([x.sum(), x.prod()]), NUMPY, {}),  # vector outputs
            (lambda x: complex(x[0], x[1]), NUMPY, {}),
            (lambda x: float((x**2).sum()), TORCH, {}),  # torch: made whole
            (lambda X: (X**2).sum(1), NUMPY, {"vectorized": True}),
            (sphere, NUMPY, {"workers": ThreadPoolExecutor(1)}),
        ],
    )
    def test_same_values_and_count_as_the_points_made_whole(self, fun, source, kwargs):
        lazy, whole = (
            Evaluator(fun, source=source, **kwargs),
            Evaluator(fun, source=source, **kwargs),
        )
        got = lazy.axis(self.X, self.COLS, self.MOVED)
        torch.testing.assert_close(got, whole(self.whole()))
        assert lazy.nfev == whole.nfev == 5

    def test_each_point_is_fresh_and_the_function_may_modify_it(self):
        seen = []

        def fun(x):
            seen.append(x.copy())
            x[:] = 99.0  # must not leak into the next point
            return 0.0

        Evaluator(fun, source=NUMPY).axis(self.X, self.COLS, self.MOVED)
        np.testing.assert_array_equal(np.array(seen), self.whole().numpy())

    def test_a_raising_point_ends_the_stencil_and_keeps_the_best_before_it(self):
        def fun(x):
            if x[1] < -0.5 and x[2] > 2.2:  # the second point
                raise RuntimeError("simulator crashed")
            return float(np.sum(x**2))

        ev = Evaluator(fun, source=NUMPY, track_best=True)
        with pytest.raises(EvaluationError, match=r"at x = \[ 0\.5 -1\.   2\.5\]") as info:
            ev.axis(self.X, self.COLS, self.MOVED)
        assert isinstance(info.value.__cause__, RuntimeError)
        assert ev.nfev == 2  # the first point and the one that raised
        torch.testing.assert_close(ev.best_x, self.whole()[0])

    def test_non_finite_names_the_point_and_best_is_tracked(self):
        ev = Evaluator(
            lambda x: np.inf if x[1] > -0.5 else sphere(x), source=NUMPY, track_best=True
        )
        with pytest.raises(
            FunctionOutputError, match=r"non-finite value \[inf\] at x = \[ 0\.5 -0\.2"
        ):
            ev.axis(self.X, self.COLS, self.MOVED)
        kept = Evaluator(sphere, source=NUMPY, track_best=True)
        values = kept.axis(self.X, self.COLS, self.MOVED)
        torch.testing.assert_close(kept.best_x, self.whole()[int(values.argmin())])

    def test_budget_is_checked_before_any_call(self):
        calls = []
        ev = Evaluator(lambda x: calls.append(1) or 0.0, source=NUMPY, maxfev=4)
        with pytest.raises(BudgetExhaustedError):
            ev.axis(self.X, self.COLS, self.MOVED)
        assert calls == []
        assert ev.nfev == 0

    def test_wrong_outputs_are_the_same_errors(self):
        for fun, match in (
            (lambda x: "a", "must return numbers"),
            (lambda x: np.ones((2, 2)), "1-D"),
        ):
            with pytest.raises(FunctionOutputError, match=match):
                Evaluator(fun, source=NUMPY).axis(self.X, self.COLS, self.MOVED)


class TestArray:
    """``Evaluator.array``: numpy points in, numpy values out (``__call__`` uses it for numpy)."""

    def test_numpy_points_reach_the_function_in_the_kind_it_takes(self):
        ev = Evaluator(sphere, source=NUMPY, vectorized=False)
        assert ev.arrays(10**6, 10) == ev.array  # numpy functions: always
        seen = []

        def torch_fun(x):
            seen.append(type(x))
            return float((x**2).sum())

        ev = Evaluator(torch_fun, source=TORCH)
        values = ev.arrays(5, 3)(points().numpy())
        assert isinstance(values, np.ndarray)
        np.testing.assert_allclose(values, expected(points()).numpy())
        assert set(seen) == {torch.Tensor}
        assert ev.nfev == 5
        # Not for a function of tensors elsewhere: it takes points on its device; nor
        # for a vectorized one with more points than one call takes.
        elsewhere = Source(numpy=False, device=torch.device("meta"))
        assert Evaluator(sphere, source=elsewhere).arrays(5, 3) is None
        batched = Evaluator(torch_fun, source=TORCH, vectorized=True, batch_size=4)
        assert batched.arrays(4, 3) == batched.array
        assert batched.arrays(5, 3) is None

    @pytest.mark.parametrize("vectorized", [False, True])
    def test_values_of_a_torch_function_that_carry_gradients(self, vectorized):
        weight = torch.tensor(2.0, requires_grad=True)  # a model's parameter, say
        ev = Evaluator(
            (lambda X: weight * (X**2).sum(1)) if vectorized else (lambda x: weight * x @ x),
            source=TORCH,
            vectorized=vectorized,
        )
        np.testing.assert_allclose(ev.array(points().numpy()), 2 * expected(points()).numpy())

    @pytest.mark.parametrize("vectorized", [False, True])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_numpy_values_in_the_points_precision(self, vectorized, dtype):
        fun = (lambda X: (X**2).sum(1)) if vectorized else sphere
        ev = Evaluator(fun, source=NUMPY, vectorized=vectorized)
        pts = points().numpy().astype(dtype)
        values = ev.array(pts)
        assert isinstance(values, np.ndarray)
        assert values.shape == (5, 1)
        assert values.dtype == dtype
        np.testing.assert_allclose(values, expected(torch.from_numpy(pts)).numpy(), rtol=1e-6)
        assert ev.nfev == 5

    @pytest.mark.parametrize(
        "fun",
        [
            lambda X: np.broadcast_to(np.arange(len(X), dtype=float), (len(X),)),  # read-only
            lambda X: np.arange(2 * len(X), dtype=float)[::-2][::-1],  # negative strides
        ],
    )
    def test_unusual_output_arrays_come_back_as_tensors_without_warnings(self, fun):
        ev = Evaluator(fun, source=NUMPY, vectorized=True)
        values = ev(points())  # warnings are errors in this suite
        np.testing.assert_array_equal(values.numpy()[:, 0], fun(np.zeros((5, 3)))[:])

    @pytest.mark.parametrize(
        ("values", "bad"),
        [
            ([1e308, 1e308, 1e308], None),  # finite, but their sum overflows
            ([1.0, float("nan"), 2.0], 1),
            ([float("inf"), -float("inf"), 0.0], 0),  # inf - inf
            ([1e308, 1e308, -float("inf")], 2),
        ],
    )
    def test_plain_values_are_checked_one_by_one_when_their_sum_is_not_finite(self, values, bad):
        ev = Evaluator(lambda x: values[int(x[0])], source=NUMPY)
        pts = np.array([[0.0], [1.0], [2.0]])
        if bad is None:
            np.testing.assert_array_equal(ev.array(pts)[:, 0], values)
        else:
            with pytest.raises(FunctionOutputError, match="non-finite") as info:
                ev.array(pts)
            np.testing.assert_array_equal(info.value.x, pts[bad])
