"""Checkpoints and resume: a run stopped, crashed or killed and resumed ends where the
uninterrupted run ends, bit for bit; checkpoints are written atomically; a resume with
other options, or from a missing or damaged file, is a clear error before any evaluation."""

import io
import os
import pathlib

import numpy as np
import pytest
import torch
from pydantic import ValidationError

import fdopt
from fdopt.errors import ArgumentValueError, EvaluationError
from fdopt.loop import _checkpoint
from fdopt.optimizers import OPTIMIZERS
from fdopt.problems import get_problem


class Rosen:
    """Rosenbrock in 2-D that counts its calls and may raise at one of them."""

    def __init__(self, fail_at=None, error=RuntimeError):
        self.calls = 0
        self.fail_at = fail_at
        self.error = error

    def __call__(self, x):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise self.error("simulator crashed")
        return self.value(x)

    @staticmethod
    def value(x):
        return float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)


class Bowl(Rosen):
    """An ill-conditioned quadratic: runs end by their own tests in few iterations."""

    @staticmethod
    def value(x):
        return float((x[0] - 1) ** 2 + 10 * (x[1] + 0.5) ** 2)


X0 = np.array([-1.2, 1.0])

# (id, method, options): every registered method, and the variants with state of their own
CASES = [(name, name, {}) for name in OPTIMIZERS] + [
    ("gd-fixed-lr", "gd", {"line_search": False, "lr": 1e-3}),
    ("adam-fixed-lr-schedule", "adam", {"lr": 0.05, "schedule": "cosine"}),
    ("momentum-central4", "momentum", {"lr": 1e-3}),
    ("spsa-blocking", "spsa", {"blocking": True, "resamplings": 2}),
    ("spsa-monitor", "spsa", {"monitor_every": 3}),
    ("spsa-fixed-gains", "spsa", {"lr": 0.01, "A": 5.0}),
    # runs that end by their own tests shortly after the resume: the windows and the
    # count of steps taken in a row must come back
    ("adam-xtol", "adam", {"gtol": 0, "xtol": 0.01, "patience": 4}),
    ("adam-ftol", "adam", {"gtol": 0, "ftol": 0.01, "patience": 4}),
    ("spsa-xtol", "spsa", {"blocking": True, "allowed_increase": 1.0, "xtol": 0.01, "patience": 4}),
]
IDS = [case[0] for case in CASES]


def _options(method, extra):
    return {"maxiter": 60 if method == "spsa" else 40, "seed": 0, "history": True, **extra}


def _jac(case_id):
    return "central4" if case_id == "momentum-central4" else None


def _stop_at(k):
    def callback(intermediate_result):
        if intermediate_result.nit == k:
            raise StopIteration

    return callback


def assert_same_run(a, b):
    """Two results are the same run: iterates, values, counts, status and history."""
    for key in ("x", "x_last", "x_best", "jac"):
        assert np.array_equal(a[key], b[key]), key
    for key in ("fun", "fun_last", "nit", "nfev", "njev", "status", "message"):
        assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key
    assert a.history.keys() == b.history.keys()
    for key in a.history:
        assert np.array_equal(a.history[key], b.history[key], equal_nan=True), key


@pytest.mark.parametrize(("case_id", "method", "extra"), CASES, ids=IDS)
def test_stopped_and_resumed_run_is_the_uninterrupted_run(tmp_path, case_id, method, extra):
    options, jac = _options(method, extra), _jac(case_id)
    full = fdopt.minimize(Rosen(), X0, method=method, jac=jac, options=options)
    path = tmp_path / "run.ckpt"
    fun = Rosen()
    first = fdopt.minimize(
        fun,
        X0,
        method=method,
        jac=jac,
        callback=_stop_at(4),
        options={**options, "checkpoint": path},
    )
    assert first.status == 99
    assert first.nit == 4
    # the same file as checkpoint and resume: continue and keep checkpointing
    rest = fdopt.minimize(
        fun, X0, method=method, jac=jac, options={**options, "resume": path, "checkpoint": path}
    )
    assert_same_run(full, rest)
    assert fun.calls == full.nfev  # nothing evaluated twice, nothing lost
    assert torch.load(path, weights_only=True)["run"]["nit"] == full.nit


def test_stopped_twice_and_resumed_from_a_copy(tmp_path):
    options = _options("lbfgs", {})
    full = fdopt.minimize(Rosen(), X0, method="lbfgs", options=options)
    path, copy = tmp_path / "a.ckpt", tmp_path / "b.ckpt"
    fdopt.minimize(
        Rosen(), X0, method="lbfgs", callback=_stop_at(3), options={**options, "checkpoint": path}
    )
    fdopt.minimize(
        Rosen(),
        X0,
        method="lbfgs",
        callback=_stop_at(9),
        options={**options, "resume": path, "checkpoint": copy},
    )
    path.unlink()
    rest = fdopt.minimize(Rosen(), X0, method="lbfgs", options={**options, "resume": copy})
    assert_same_run(full, rest)


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_resume_from_every_iteration(tmp_path, method):
    """float32: the default forward differences stall and the run switches to central ones
    (and lbfgs restarts its memory); a resume from any iteration, before or after the
    switch, ends as the uninterrupted run does."""

    def fun(x):
        return float(np.sum((x - 1.0) ** 2 * np.array([1, 10, 100], dtype=x.dtype)))

    x0 = np.zeros(3, dtype=np.float32)
    # lbfgs with gtol 0: after the switch it stalls again and restarts its memory
    options = {"maxiter": 60, "seed": 0, "history": True, "gtol": 0 if method == "lbfgs" else 1e-6}
    full = fdopt.minimize(fun, x0, method=method, options=options)
    path, snapshots = tmp_path / "run.ckpt", []

    def keep(intermediate_result):  # the checkpoint of an iteration is on disk when the
        snapshots.append(path.read_bytes())  # callback sees that iteration

    again = fdopt.minimize(
        fun, x0, method=method, callback=keep, options={**options, "checkpoint": path}
    )
    assert_same_run(full, again)
    assert len(snapshots) == full.nit
    methods = {torch.load(path, weights_only=True)["estimator"]["method"]}
    for i, data in enumerate(snapshots):
        resume = tmp_path / f"at{i}.ckpt"
        resume.write_bytes(data)
        methods.add(torch.load(resume, weights_only=True)["estimator"]["method"])
        assert_same_run(
            full, fdopt.minimize(fun, x0, method=method, options={**options, "resume": resume})
        )
    assert methods == {"forward", "central"}  # resumed before and after the switch


def test_spsa_without_a_seed_goes_on_with_its_generator(tmp_path):
    """Seeded from entropy, SPSA's perturbations cannot be drawn again: the resumed run
    continues the generator's saved state, so it still ends as the uninterrupted run."""
    path, snapshots = tmp_path / "run.ckpt", []

    def keep(intermediate_result):
        snapshots.append(path.read_bytes())

    options = {"maxiter": 30, "seed": None, "history": True, "blocking": True}
    full = fdopt.minimize(
        Rosen(), X0, method="spsa", callback=keep, options={**options, "checkpoint": path}
    )
    path.write_bytes(snapshots[9])
    assert_same_run(
        full, fdopt.minimize(Rosen(), X0, method="spsa", options={**options, "resume": path})
    )


def test_noise_aware_adam_on_a_noisy_problem(tmp_path):
    """The noise level estimated at x0 (ECnoise) and the steps it set are restored, not
    estimated again; the noisy function is stateful, so the resumed run continues with
    the same function object, as a killed simulator's noise would."""

    def problem():
        return get_problem("beale", noise=1e-3, noise_kind="multiplicative", seed=0)

    options = {"maxfev": 200, "seed": 1, "history": True}
    full = fdopt.minimize(problem().fun, problem().x0, method="adam", options=options)
    path, noisy = tmp_path / "noisy.ckpt", problem()
    first = fdopt.minimize(
        noisy.fun,
        noisy.x0,
        method="adam",
        callback=_stop_at(4),
        options={**options, "checkpoint": path},
    )
    saved = torch.load(path, weights_only=True)
    assert saved["iteration"]["level"] > 1e-4  # the noise seen at x0
    # Forward differences (a first-order rule's) with a noise-aware step per coordinate,
    # not sqrt(eps).
    assert saved["estimator"]["method"] == "forward"
    assert min(saved["estimator"]["step"]) > 1e-3
    rest = fdopt.minimize(noisy.fun, noisy.x0, method="adam", options={**options, "resume": path})
    assert first.nfev < rest.nfev
    assert_same_run(full, rest)


@pytest.mark.parametrize("method", ["lbfgs", "adam", "momentum"])
def test_noisy_run_resumed_after_the_noise_was_measured_again(tmp_path, method):
    """Where |f| has fallen tenfold the noise and the steps are measured again (adam:
    the noise alone, its steps scaled by it; momentum: with the curvature, which sets
    its preconditioner too): a run resumed after that goes on with the new steps and
    ends as the uninterrupted one."""

    def problem():
        return get_problem("rosenbrock", noise=1e-3, noise_kind="multiplicative", seed=0)

    path, snapshots = tmp_path / "run.ckpt", []

    def keep(intermediate_result):
        snapshots.append(path.read_bytes())

    options = {"maxfev": 400, "seed": 0, "history": True}
    full = fdopt.minimize(problem().fun, problem().x0, method=method, options=options)
    noisy = problem()
    fdopt.minimize(
        noisy.fun, noisy.x0, method=method, callback=keep, options={**options, "checkpoint": path}
    )
    f0 = float(problem().fun(problem().x0))
    later = [
        k
        for k, snapshot in enumerate(snapshots)
        if torch.load(io.BytesIO(snapshot), weights_only=True)["iteration"]["f_measured"] < f0 / 100
    ]
    assert later
    assert later[0] < len(snapshots) - 2
    path.write_bytes(snapshots[later[0] + 1])
    again = problem()  # its noise stream replayed up to the snapshot's evaluations
    again.fun(np.zeros((torch.load(path, weights_only=True)["evaluator"]["nfev"], 2)))
    rest = fdopt.minimize(again.fun, again.x0, method=method, options={**options, "resume": path})
    assert_same_run(full, rest)


def test_blocking_spsa_on_a_noisy_problem(tmp_path):
    """With noise, blocking lets f rise by twice the spread of f(x0) (measured once, at
    the start): that allowance comes back with the resume."""

    def problem():
        return get_problem("rosenbrock", noise=1e-2, noise_kind="multiplicative", seed=0)

    options = {"maxiter": 60, "seed": 2, "history": True, "blocking": True}
    full = fdopt.minimize(problem().fun, problem().x0, method="spsa", options=options)
    path, noisy = tmp_path / "noisy.ckpt", problem()
    fdopt.minimize(
        noisy.fun,
        noisy.x0,
        method="spsa",
        callback=_stop_at(4),
        options={**options, "checkpoint": path},
    )
    assert torch.load(path, weights_only=True)["iteration"]["allowed"] > 0.1
    rest = fdopt.minimize(noisy.fun, noisy.x0, method="spsa", options={**options, "resume": path})
    assert_same_run(full, rest)


@pytest.mark.parametrize(("method", "fail_at"), [("adam", 57), ("lbfgs", 40), ("spsa", 31)])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt], ids=["raises", "killed"])
def test_crashed_or_killed_mid_iteration_then_resumed(tmp_path, method, fail_at, error):
    options = _options(method, {})
    full = fdopt.minimize(Rosen(), X0, method=method, options=options)
    path = tmp_path / "run.ckpt"
    expected = EvaluationError if error is RuntimeError else KeyboardInterrupt
    with pytest.raises(expected):
        fdopt.minimize(
            Rosen(fail_at=fail_at, error=error),
            X0,
            method=method,
            options={**options, "checkpoint": path},
        )
    saved = torch.load(path, weights_only=True)
    assert 0 < saved["evaluator"]["nfev"] < fail_at  # the last iteration done before
    rest = fdopt.minimize(Rosen(), X0, method=method, options={**options, "resume": path})
    assert_same_run(full, rest)


def test_more_iterations_or_evaluations_on_resume(tmp_path):
    """maxiter and maxfev may grow on resume: the run goes on as if they had been so."""
    path = tmp_path / "run.ckpt"
    short = fdopt.minimize(
        Rosen(), X0, method="adam", options={"maxiter": 10, "checkpoint": path, "seed": 0}
    )
    assert short.status == 3
    longer = fdopt.minimize(
        Rosen(), X0, method="adam", options={"maxiter": 30, "resume": path, "seed": 0}
    )
    assert_same_run_plain(
        fdopt.minimize(Rosen(), X0, method="adam", options={"maxiter": 30, "seed": 0}), longer
    )
    # the budget ends the run mid-iteration; the resume redoes that iteration
    budget = fdopt.minimize(
        Rosen(), X0, method="gd", options={"maxfev": 50, "checkpoint": path, "seed": 0}
    )
    assert budget.status == 4
    more = fdopt.minimize(
        Rosen(), X0, method="gd", options={"maxfev": 150, "resume": path, "seed": 0}
    )
    assert_same_run_plain(
        fdopt.minimize(Rosen(), X0, method="gd", options={"maxfev": 150, "seed": 0}), more
    )


def assert_same_run_plain(a, b):
    assert np.array_equal(a.x, b.x)
    assert (a.fun, a.nit, a.nfev, a.njev, a.status) == (b.fun, b.nit, b.nfev, b.njev, b.status)


@pytest.mark.parametrize(
    ("method", "options", "status"),
    [
        ("lbfgs", {"gtol": 1e-5}, 0),
        ("adam", {"gtol": 0, "ftol": 1e-3, "xtol": 0}, 1),
        ("spsa", {"xtol": 1.0, "patience": 3}, 2),
        ("lbfgs", {"gtol": 0, "ftol": 0, "xtol": 0}, 7),
    ],
)
def test_a_finished_run_resumes_to_its_result_without_evaluating(tmp_path, method, options, status):
    path, last = tmp_path / "run.ckpt", tmp_path / "last.ckpt"

    def keep(intermediate_result):  # the checkpoint of the last iteration, as it was
        last.write_bytes(path.read_bytes())  # written before the callback saw it

    options = {**options, "seed": 0, "history": True}
    done = fdopt.minimize(
        Bowl(), X0, method=method, callback=keep, options={**options, "checkpoint": path}
    )
    assert done.status == status
    fun = Bowl()
    again = fdopt.minimize(
        fun, X0, method=method, options={**options, "resume": path, "checkpoint": path}
    )
    assert fun.calls == 0
    assert_same_run(done, again)
    # A kill right after the last iteration: the run ends as it did, evaluating nothing
    # more when its last iteration met the test (a stalled one redoes its failed steps).
    fun = Bowl()
    assert_same_run(
        done, fdopt.minimize(fun, X0, method=method, options={**options, "resume": last})
    )
    assert (fun.calls == 0) == (status != 7)


def test_nonfinite_at_x0_is_a_finished_checkpoint(tmp_path):
    path = tmp_path / "run.ckpt"
    res = fdopt.minimize(lambda x: np.inf, X0, options={"checkpoint": path})
    assert res.status == 6
    assert torch.load(path, weights_only=True)["iteration"] is None
    again = fdopt.minimize(lambda x: pytest.fail("evaluated"), X0, options={"resume": path})
    assert (again.status, again.message, again.nfev) == (res.status, res.message, res.nfev)


def test_checkpoint_contents_load_without_pickled_code(tmp_path):
    path = tmp_path / "run.ckpt"
    res = fdopt.minimize(
        Rosen(), X0, method="lbfgs", options={"maxiter": 5, "checkpoint": str(path)}
    )
    saved = torch.load(path, weights_only=True)
    assert saved["evaluator"]["nfev"] == res.nfev
    assert torch.equal(saved["evaluator"]["best_x"], torch.from_numpy(res.x_best))
    assert saved["format"] == "fdopt-checkpoint"
    assert saved["version"] == _checkpoint.VERSION
    assert saved["fingerprint"]["method"] == "'lbfgs'"
    memory = saved["iteration"]["rule_state"]
    assert set(memory) == {"last_x", "last_g", "started", "pairs", "s", "y", "diagonal"}
    assert int(memory["pairs"]) > 0
    fdopt.minimize(Rosen(), X0, method="spsa", options={"maxiter": 5, "checkpoint": path})
    state = torch.load(path, weights_only=True)["iteration"]
    assert state["generator"].dtype == torch.uint8
    assert {"a", "stability", "allowed", "taken", "k"} <= set(state)


def test_torch_float32_in_and_vectorized_may_change(tmp_path):
    target = torch.tensor([1.0, -0.5, 2.0])

    def fun(x):
        return ((x - target) ** 2 * torch.tensor([1.0, 4.0, 9.0])).sum(-1)

    x0 = torch.zeros(3)
    options = {"maxiter": 30, "seed": 0, "history": True}
    full = fdopt.minimize(fun, x0, options=options)
    path = tmp_path / "run.ckpt"
    fdopt.minimize(fun, x0, callback=_stop_at(5), options={**options, "checkpoint": path})
    rest = fdopt.minimize(fun, x0, options={**options, "resume": path, "vectorized": True})
    assert rest.x.dtype == torch.float32
    assert torch.equal(full.x, rest.x)
    assert (full.nfev, full.nit) == (rest.nfev, rest.nit)


def test_scipy_bridge_checkpoints(tmp_path):
    from scipy.optimize import minimize

    path = tmp_path / "run.ckpt"
    minimize(Rosen(), X0, method=fdopt.method("adam"), options={"maxiter": 4, "checkpoint": path})
    assert torch.load(path, weights_only=True)["run"]["nit"] == 4


# --- atomic writes -------------------------------------------------------------------


def _first_part(tmp_path, method="adam"):
    path = tmp_path / "run.ckpt"
    options = _options(method, {})
    fdopt.minimize(
        Rosen(), X0, method=method, callback=_stop_at(5), options={**options, "checkpoint": path}
    )
    return path, options


@pytest.mark.parametrize("where", ["replace", "save"])
def test_a_failed_write_leaves_the_last_checkpoint_intact(tmp_path, monkeypatch, where):
    path, options = _first_part(tmp_path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        if where == "save":  # half a file, then the disk is full
            args[1].write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os if where == "replace" else torch, where, fail)
    with pytest.raises(OSError, match="No space left"):
        fdopt.minimize(Rosen(), X0, options={**options, "resume": path, "checkpoint": path})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]  # no temporary left
    full = fdopt.minimize(Rosen(), X0, options=options)
    assert_same_run(full, fdopt.minimize(Rosen(), X0, options={**options, "resume": path}))


def test_write_replaces_atomically(tmp_path):
    path = tmp_path / "file.pt"
    _checkpoint.write(path, {"a": torch.ones(2)})
    _checkpoint.write(path, {"a": torch.zeros(2)})
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["file.pt"]


# --- errors before any evaluation ----------------------------------------------------


MISMATCHES = [
    ({"method": "momentum"}, "method = 'adam' there, 'momentum' here"),
    ({"options": {"lr": 0.01}}, "optimizer.lr = 'auto' there, 0.01 here"),
    ({"options": {"beta1": 0.8}}, "optimizer.beta1"),
    ({"options": {"seed": 1}}, "seed = 0 there, 1 here"),
    ({"options": {"history": False}}, "history"),
    ({"options": {"noise": 0.0}}, "function.noise"),
    ({"options": {"step": 1e-4}}, "estimator.step"),
    ({"jac": "forward"}, "jac = None there, 'forward' here"),
    ({"jac": "central"}, "estimator.method"),
    ({"x0": np.array([-1.2, 1.5])}, "x0"),
    ({"x0": np.array([-1.2, 1.0, 0.0])}, "shape"),
    (
        {"x0": torch.tensor([-1.2, 1.0], dtype=torch.float64)},
        "x0 = numpy float64 shape (2,) on cpu",
    ),
    ({"bounds": [(-2, 2), (-2, 2)]}, "bounds = None there"),
]


@pytest.mark.parametrize(("change", "match"), MISMATCHES)
def test_resume_with_other_options_is_an_error(tmp_path, change, match):
    path, options = _first_part(tmp_path)
    change = dict(change)
    arguments = {"x0": X0, "method": "adam", "options": {**options, "resume": path}}
    arguments["options"].update(change.pop("options", {}))
    arguments.update(change)
    fun = Rosen()
    with pytest.raises(ArgumentValueError, match="other options") as info:
        fdopt.minimize(fun, **arguments)
    assert match in str(info.value)
    assert str(path) in str(info.value)
    assert fun.calls == 0


def test_stopping_and_evaluation_options_may_differ(tmp_path):
    path, options = _first_part(tmp_path)
    changed = {"gtol": 1e-3, "ftol": 1e-9, "patience": 4, "batch_size": 7, "vectorized": False}
    res = fdopt.minimize(Rosen(), X0, options={**options, **changed, "resume": path})
    assert res.nit > 5


def _bad_files(tmp_path):
    valid, _ = _first_part(tmp_path)
    data = valid.read_bytes()
    files = {}
    files["missing"] = (tmp_path / "nowhere.ckpt", "no checkpoint file")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00\x01 not a checkpoint")
    files["garbage"] = (garbage, "not a valid fdopt checkpoint")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    files["truncated"] = (truncated, "not a valid fdopt checkpoint")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"weights": torch.ones(3)}, foreign)
    files["foreign"] = (foreign, "not written by fdopt")
    code = tmp_path / "code.ckpt"
    torch.save({"format": "fdopt-checkpoint", "hook": pathlib.PurePosixPath("x")}, code)
    files["pickled code"] = (code, "not a valid fdopt checkpoint")
    newer = tmp_path / "newer.ckpt"
    saved = torch.load(valid, weights_only=True)
    torch.save({**saved, "version": 99}, newer)
    files["newer"] = (newer, "layout version 99")
    damaged = tmp_path / "damaged.ckpt"
    saved["iteration"]["rule_state"] = {"velocity": torch.zeros(2)}
    torch.save(saved, damaged)
    files["damaged state"] = (damaged, "Moments")
    wrong = tmp_path / "wrong.ckpt"
    saved = torch.load(valid, weights_only=True)
    saved["run"]["x"] = torch.zeros(3, dtype=torch.float64)
    torch.save(saved, wrong)
    files["damaged iterate"] = (wrong, r"shape \(2,\)")
    files["directory"] = (tmp_path, "cannot read")
    return files, _options("adam", {})


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "garbage",
        "truncated",
        "foreign",
        "pickled code",
        "newer",
        "damaged state",
        "damaged iterate",
        "directory",
    ],
)
def test_bad_resume_file_is_a_clear_error_before_any_evaluation(tmp_path, kind):
    files, options = _bad_files(tmp_path)
    path, match = files[kind]
    fun = Rosen()
    with pytest.raises(ArgumentValueError, match=match) as info:
        fdopt.minimize(fun, X0, options={**options, "resume": path})
    assert str(path) in str(info.value)
    assert fun.calls == 0


@pytest.mark.parametrize("value", [3, b"run.ckpt", "", ["run.ckpt"]])
@pytest.mark.parametrize("option", ["checkpoint", "resume"])
def test_path_options_are_validated(option, value):
    fun = Rosen()
    with pytest.raises(ValidationError, match=option):
        fdopt.minimize(fun, X0, options={option: value})
    assert fun.calls == 0


def test_checkpoint_path_must_be_writable_before_any_evaluation(tmp_path):
    fun = Rosen()
    with pytest.raises(ArgumentValueError, match="does not exist"):
        fdopt.minimize(fun, X0, options={"checkpoint": tmp_path / "no" / "run.ckpt"})
    with pytest.raises(ArgumentValueError, match="is a directory"):
        fdopt.minimize(fun, X0, options={"checkpoint": tmp_path})
    assert fun.calls == 0


def test_path_like_options(tmp_path):
    class Where(os.PathLike):
        def __fspath__(self):
            return str(tmp_path / "run.ckpt")

    res = fdopt.minimize(Rosen(), X0, options={"maxiter": 3, "checkpoint": Where()})
    again = fdopt.minimize(Rosen(), X0, options={"maxiter": 3, "resume": Where()})
    assert np.array_equal(res.x, again.x)


@pytest.mark.cuda
@pytest.mark.parametrize("method", ["adam", "spsa"])
def test_resume_on_cuda(tmp_path, cuda, method):
    """Tensors and the CUDA generator's state come back on the device of x0."""
    target = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64, device=cuda)

    def fun(x):
        return ((x - target) ** 2).sum(-1)

    x0 = torch.zeros(3, dtype=torch.float64, device=cuda)
    options = {"maxiter": 30, "seed": 0, "history": True, "vectorized": True}
    full = fdopt.minimize(fun, x0, method=method, options=options)
    path = tmp_path / "run.ckpt"
    fdopt.minimize(
        fun, x0, method=method, callback=_stop_at(5), options={**options, "checkpoint": path}
    )
    rest = fdopt.minimize(fun, x0, method=method, options={**options, "resume": path})
    assert rest.x.device.type == "cuda"
    assert torch.equal(full.x, rest.x)
    assert (full.nfev, full.nit) == (rest.nfev, rest.nit)
