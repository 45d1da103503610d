"""Run configs: the RunConfig model, load_config's layers, and run_config."""

import itertools
import json
import sys
import textwrap

import numpy as np
import pytest
import torch
from pydantic import ValidationError

import fdopt
from fdopt.errors import ArgumentTypeError, ArgumentValueError, EvaluationError
from fdopt.optimizers import OPTIMIZERS
from fdopt.problems import get_problem
from fdopt.runner import minimize_options, prepare, run_config
from fdopt.settings import (
    AdamSettings,
    CentralSettings,
    GdSettings,
    ProblemSettings,
    RunConfig,
    Settings,
    SpsaOptimizerSettings,
    StopSettings,
    describe_validation_error,
    load_config,
    parse_value,
)
from fdopt.settings.run import ESTIMATOR_METHODS, OPTIMIZER_METHODS

BASIC = """\
problem = "rosenbrock"
method = "adam"
seed = 0

[optimizer]
lr = 0.01

[stop]
maxiter = 40
maxfev = 100
"""

OBJECTIVES = """\
import numpy as np

CALLS = {"n": 0}
NOT_CALLABLE = 3


def sphere(x):
    return float(np.sum((np.asarray(x) - 1.0) ** 2))


def failing(x):
    CALLS["n"] += 1
    if CALLS["n"] > 30:
        raise ValueError("the simulator crashed")
    return sphere(x)


class Nested:
    @staticmethod
    def sphere(x):
        return sphere(x)
"""


@pytest.fixture(autouse=True)
def _no_fdopt_environment(monkeypatch):
    import os

    for name in list(os.environ):
        if name.upper().startswith("FDOPT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def write(tmp_path):
    def write(text, name="run.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def objectives(tmp_path, monkeypatch):
    """An importable module ``fdopt_test_objectives`` with a few objectives."""
    (tmp_path / "fdopt_test_objectives.py").write_text(OBJECTIVES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fdopt_test_objectives", raising=False)
    yield "fdopt_test_objectives"
    sys.modules.pop("fdopt_test_objectives", None)


def _error(**data):
    with pytest.raises(ValidationError) as info:
        RunConfig.model_validate(data)
    return describe_validation_error(info.value), info.value


# -- the model ------------------------------------------------------------------------


def test_shorthands_expand():
    config = RunConfig(problem="rosenbrock", method="gd")
    assert config.problem == ProblemSettings(name="rosenbrock")
    assert config.optimizer == GdSettings()
    assert config.estimator is None
    assert config.stop == StopSettings()


def test_method_comes_from_either_place():
    assert RunConfig(problem="sphere").optimizer == AdamSettings()
    from_table = RunConfig(problem="sphere", optimizer={"method": "gd", "lr": 0.1})
    assert from_table.method == "gd"
    assert from_table.optimizer == GdSettings(lr=0.1)
    from_model = RunConfig(problem="sphere", optimizer=SpsaOptimizerSettings(c=0.2))
    assert from_model.method == "spsa"
    assert RunConfig(problem="sphere", method="gd", optimizer={"lr": 0.5}).optimizer.lr == 0.5


def test_follows_the_settings_conventions():
    for model in (RunConfig, ProblemSettings):
        assert issubclass(model, Settings)
        assert model.model_config["extra"] == "forbid"
        assert model.model_config["frozen"] is True
    config = RunConfig(problem="sphere")
    with pytest.raises(ValidationError):
        config.seed = 3  # type: ignore[misc]


def test_tags_match_the_unions():
    assert tuple(OPTIMIZERS) == OPTIMIZER_METHODS
    assert "central" in ESTIMATOR_METHODS
    assert "spsa" in ESTIMATOR_METHODS


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({}, "objective", "a run needs problem = NAME"),
        ({"problem": "sphere", "objective": "m:f"}, "objective", "not both"),
        ({"objective": "no_colon", "x0": [1.0]}, "objective", "'package.module:function'"),
        ({"objective": "m:f"}, "x0", "x0 is required with objective"),
        ({"problem": "sphere", "method": "newton"}, "method", "must be one of 'gd'"),
        (
            {"problem": "sphere", "method": "adam", "optimizer": {"method": "gd"}},
            "optimizer",
            "optimizer.method 'gd' disagrees with method 'adam'",
        ),
        ({"problem": "sphere", "method": "gd", "optimizer": {"beta1": 0.5}}, "optimizer.beta1", ""),
        ({"problem": "sphere", "optimizer": {"lr": -1}}, "optimizer.lr", "greater than 0"),
        (
            {"problem": "sphere", "optimizer": {"schedule": {"kind": "cosine", "period": 0}}},
            "optimizer.schedule.period",
            "greater than or equal to 1",
        ),
        (
            {"problem": "sphere", "method": "spsa", "estimator": {"method": "central"}},
            "estimator",
            "remove [estimator]",
        ),
        (
            {"problem": "sphere", "estimator": {"method": "spsa", "seed": 1}},
            "estimator",
            "set the top-level seed",
        ),
        ({"problem": "sphere", "estimator": {"method": "fourier"}}, "estimator", "fourier"),
        ({"problem": "sphere", "estimator": {"step": 1e-3}}, "estimator", "missing the 'method'"),
        ({"problem": "sphere", "estimator": {"method": "central", "accuracy": 3}}, "", "2, 4"),
        ({"problem": "sphere", "stop": {"maxfev": 0}}, "stop.maxfev", "greater than or equal"),
        ({"problem": "sphere", "stop": {"maxfeval": 10}}, "stop.maxfeval", "unknown setting"),
        ({"problem": "sphere", "evaluation": {"device": "gpu"}}, "evaluation.device", "cuda:N"),
        ({"problem": "sphere", "evaluation": {"dtype": "float16"}}, "evaluation.dtype", "float32"),
        ({"problem": "sphere", "function": {"noise": -1}}, "function.noise", "'auto'"),
        ({"problem": "sphere", "bounds": [[1, 0]]}, "bounds", "low must not exceed high"),
        ({"problem": "sphere", "bounds": [[0, 1, 2]]}, "bounds[0]", "at most 2"),
        ({"problem": "sphere", "x0": [0.0, 1.0], "bounds": [[0, 1]]}, "bounds", "1 pairs"),
        ({"problem": "sphere", "x0": [2.0], "bounds": [[0, 1]]}, "bounds", "x0[0] = 2.0 lies"),
        ({"problem": "sphere", "x0": [0.0, float("nan")]}, "x0[1]", "finite"),
        ({"problem": "sphere", "x0": []}, "x0", "at least 1"),
        ({"problem": {"name": "sphere", "n": 0}}, "problem.n", "greater than or equal to 1"),
        ({"problem": {"name": "sphere", "noise": -0.1}}, "problem.noise", "greater than"),
        ({"problem": {"name": "sphere", "noise_kind": "pink"}}, "problem.noise_kind", "additive"),
        ({"problem": {"name": "quadratic", "options": {"seed": 1}}}, "problem.options", "seed"),
        ({"problem": {"n": 3}}, "problem.name", "Field required"),
        ({"problem": "sphere", "seed": "abc"}, "seed", "valid integer"),
        ({"problem": "sphere", "maxiter": 10}, "maxiter", "unknown setting"),
    ],
)
def test_bad_config_errors_name_the_field(data, path, message):
    text, _ = _error(**data)
    if path:
        assert text.split(": ")[0] == path
    assert message in text
    assert "\n" not in text


def test_error_values_are_shown_and_tags_left_out():
    text, error = _error(problem="sphere", optimizer={"method": "adam", "beta1": 1.5})
    assert error.errors()[0]["loc"] == ("optimizer", "adam", "beta1")  # pydantic's own
    assert text == "optimizer.beta1: Input should be less than 1 (got 1.5)"


# -- load_config ----------------------------------------------------------------------


def test_file_sets_what_it_names_and_defaults_fill_the_rest(write):
    config = load_config(write(BASIC))
    assert config.problem.name == "rosenbrock"
    assert config.optimizer == AdamSettings(lr=0.01)
    assert config.stop == StopSettings(maxiter=40, maxfev=100)
    assert config.stop.gtol == StopSettings().gtol  # default
    assert config.seed == 0


def test_precedence_set_over_environment_over_file_over_defaults(write, monkeypatch):
    path = write(BASIC)
    assert load_config(path).stop.patience == 10  # default
    assert load_config(path).stop.maxfev == 100  # file
    monkeypatch.setenv("FDOPT_STOP__MAXFEV", "40")
    monkeypatch.setenv("FDOPT_STOP__PATIENCE", "7")
    config = load_config(path)
    assert (config.stop.maxfev, config.stop.patience, config.stop.maxiter) == (40, 7, 40)
    config = load_config(path, ["stop.maxfev=50"])
    assert (config.stop.maxfev, config.stop.patience) == (50, 7)  # command line wins
    assert load_config(path, {"stop.maxfev": "60"}).stop.maxfev == 60


def test_override_values_are_typed(write):
    config = load_config(
        write(BASIC),
        [
            "stop.maxiter=50",
            "optimizer.lr=1e-3",
            "optimizer.amsgrad=true",
            "x0=[0.5, 0.5]",
            "problem.options={}",
            "stop.maxfev=null",
        ],
    )
    assert config.stop.maxiter == 50
    assert config.optimizer.lr == 1e-3
    assert config.optimizer.amsgrad is True
    assert config.x0 == (0.5, 0.5)
    assert config.stop.maxfev is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50", 50),
        ("1e-3", 1e-3),
        ("-2.5", -2.5),
        ("true", True),
        ("gd", "gd"),
        ('"50"', "50"),
        ("[1, 2]", [1, 2]),
        ("{ kind = 'cosine' }", {"kind": "cosine"}),
        ('{"kind": "cosine"}', {"kind": "cosine"}),
        ("null", None),
        ("inf", float("inf")),
        ("cuda:0", "cuda:0"),
        ("pkg.mod:fun", "pkg.mod:fun"),
    ],
)
def test_parse_value(text, value):
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_environment_is_case_insensitive_and_typed(write, monkeypatch):
    monkeypatch.setenv("FDOPT_METHOD", "spsa")
    monkeypatch.setenv("fdopt_optimizer__a", "12")  # SPSA's A, lower-cased by the environment
    monkeypatch.setenv("FDOPT_OPTIMIZER__BLOCKING", "true")
    monkeypatch.setenv("FDOPT_X0", "[0, 0.5]")
    monkeypatch.setenv("FDOPT_PROBLEM__NOISE", "1e-3")
    config = load_config(write(BASIC.replace("lr = 0.01", "")))
    assert config.optimizer == SpsaOptimizerSettings(A=12, blocking=True)
    assert config.x0 == (0.0, 0.5)
    assert config.problem == ProblemSettings(name="rosenbrock", noise=1e-3)


def test_environment_errors_name_the_variable_or_field(write, monkeypatch):
    path = write(BASIC)
    monkeypatch.setenv("FDOPT_STOP__MAXFEV", "lots")
    with pytest.raises(ValidationError) as info:
        load_config(path)
    assert describe_validation_error(info.value).startswith("stop.maxfev: ")
    monkeypatch.delenv("FDOPT_STOP__MAXFEV")
    monkeypatch.setenv("FDOPT_MAXFEV", "40")  # belongs in [stop]
    with pytest.raises(ArgumentValueError, match="FDOPT_MAXFEV: 'maxfev' is not a setting"):
        load_config(path)


def test_a_new_method_replaces_the_optimizer_table_and_the_same_one_merges(write):
    path = write(BASIC)
    assert load_config(path, ["method=adam"]).optimizer == AdamSettings(lr=0.01)
    assert load_config(path, ["method=gd"]).optimizer == GdSettings()  # adam's lr dropped
    assert load_config(path, ["optimizer.method=gd"]).method == "gd"
    config = load_config(path, ["method=gd", "optimizer.shrink=0.3"])
    assert config.optimizer == GdSettings(shrink=0.3)
    with pytest.raises(ValidationError, match="disagrees"):
        load_config(path, ["method=gd", "optimizer.method=adam"])


def test_problem_shorthand_merges_with_tables_of_other_levels(write):
    path = write(BASIC)
    assert load_config(path, ["problem.n=4"]).problem == ProblemSettings(name="rosenbrock", n=4)
    table = write('[problem]\nname = "rosenbrock"\nn = 4\n', "table.toml")
    assert load_config(table, ["problem.noise=0.01"]).problem.n == 4
    # another problem replaces the table: its n and options were the old problem's
    assert load_config(table, ["problem=sphere"]).problem == ProblemSettings(name="sphere")


def test_a_table_can_be_reset(write):
    path = write(BASIC + '\n[estimator]\nmethod = "central"\n')
    assert load_config(path).estimator == CentralSettings()
    assert load_config(path, ["estimator=null"]).estimator is None
    assert load_config(path, ["method=spsa", "estimator=null"]).method == "spsa"


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (["stop.maxfev"], ArgumentValueError, "expected KEY.PATH=VALUE"),
        (["=3"], ArgumentValueError, "dotted path of names"),
        (["stop..maxfev=3"], ArgumentValueError, "dotted path of names"),
        (["stop.max-fev=3"], ArgumentValueError, "dotted path of names"),
        (["stop=3", "stop.maxfev=4"], ArgumentValueError, "stop is set to a value"),
        (["stop.maxfev=4", "stop=3"], ArgumentValueError, "stop is a table"),
        ([3], ArgumentValueError, "expected KEY.PATH=VALUE"),
        ("stop.maxfev=4", ArgumentTypeError, "overrides must be a mapping or a sequence"),
        (["stop.maxfev=0"], ValidationError, "stop.maxfev"),
        (["stop.bogus=1"], ValidationError, "bogus"),
    ],
)
def test_bad_overrides(write, overrides, error, message):
    with pytest.raises(error, match=message.replace(".", r"\.")):
        load_config(write(BASIC), overrides)


def test_file_errors(write, tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ArgumentValueError, match=r"bad\.toml: invalid TOML: .*line 2"):
        load_config(write('problem = "sphere"\nmethod = \n', "bad.toml"))
    with pytest.raises(ValidationError) as info:
        load_config(write('problem = "sphere"\n[stop]\nmaxiters = 3\n', "typo.toml"))
    assert describe_validation_error(info.value) == "stop.maxiters: unknown setting (got 3)"


# -- running ----------------------------------------------------------------------------


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a.x), np.asarray(b.x))
    assert a.fun == b.fun
    assert (a.nfev, a.nit, a.status, a.message) == (b.nfev, b.nit, b.status, b.message)
    assert ("history" in a) == ("history" in b)
    for name in a.get("history", {}):
        np.testing.assert_array_equal(a.history[name], b.history[name])


def test_a_file_run_and_the_same_run_in_python_are_bit_identical(write):
    path = write(
        BASIC
        + """
[estimator]
method = "central"

[output]
history = true
"""
    )
    from_file = run_config(load_config(path))
    problem = get_problem("rosenbrock")
    by_hand = fdopt.minimize(
        problem.fun,
        problem.x0,
        method="adam",
        jac="central",
        options={"lr": 0.01, "maxiter": 40, "maxfev": 100, "seed": 0, "history": True},
    )
    _same(from_file, by_hand)
    built = RunConfig(
        problem="rosenbrock",
        optimizer=AdamSettings(lr=0.01),
        estimator=CentralSettings(),
        stop=StopSettings(maxiter=40, maxfev=100),
        output={"history": True},
        seed=0,
    )
    _same(run_config(built), from_file)


def test_noisy_spsa_runs_are_bit_identical_and_seeded(write):
    text = """\
    seed = 3
    method = "spsa"
    problem = { name = "sphere", n = 3, noise = 1e-3, seed = 1 }
    [optimizer]
    resamplings = 2
    [stop]
    maxiter = 30
    [output]
    history = true
    """
    from_file = run_config(load_config(write(text)))
    problem = get_problem("sphere", 3, noise=1e-3, seed=1)
    by_hand = fdopt.minimize(
        problem.fun,
        problem.x0,
        method="spsa",
        options={"seed": 3, "resamplings": 2, "maxiter": 30, "history": True},
    )
    _same(from_file, by_hand)
    again = run_config(load_config(write(text)))
    _same(again, from_file)
    other = run_config(load_config(write(text), ["seed=4"]))
    assert not np.array_equal(other.x, from_file.x)


def test_result_records_the_resolved_config_and_version():
    config = RunConfig(problem={"name": "sampled"}, method="gd", stop={"maxiter": 5})
    result = run_config(config)
    assert result.fdopt_version == fdopt.__version__
    assert result.f_star == get_problem("sampled").f_star
    resolved = result.config
    json.dumps(resolved, allow_nan=False)  # JSON-able
    assert resolved["problem"]["n"] == 2
    assert resolved["x0"] == [-0.5, 0.5]
    assert resolved["bounds"] == [list(pair) for pair in get_problem("sampled").bounds]
    assert resolved["optimizer"]["method"] == "gd"
    assert resolved["stop"]["maxiter"] == 5
    assert resolved["stop"]["gtol"] == StopSettings().gtol
    # the resolved config is a config, and runs the same run
    _same(run_config(RunConfig.model_validate(resolved)), result)


def test_config_bounds_and_start_replace_the_problems():
    config = RunConfig(problem="sphere", x0=[0.5, 0.5, 0.5], bounds=[[0.2, 1]] * 3)
    with pytest.raises(ArgumentValueError, match="x0: 3 entries for problem 'sphere' of n=10"):
        prepare(config)  # the problem's default n
    config = config.model_copy(update={"problem": ProblemSettings(name="sphere", n=3)})
    job = prepare(config)
    np.testing.assert_array_equal(job.x0, [0.5, 0.5, 0.5])
    assert job.bounds == ((0.2, 1.0),) * 3
    result = run_config(config)
    assert np.all(result.x >= 0.2)
    np.testing.assert_allclose(result.x, 0.2)  # sphere's minimum 0 lies outside


def test_problem_x0_outside_the_configs_bounds():
    config = RunConfig(problem="sampled", bounds=[[0, 1], [0, 1]])
    with pytest.raises(ArgumentValueError, match=r"x0\[0\] = -0\.5 lies outside bounds\[0\]"):
        prepare(config)


@pytest.mark.parametrize(
    ("problem", "error", "message"),
    [
        ({"name": "rosenbrok"}, ArgumentValueError, "problem: unknown problem 'rosenbrok'"),
        ({"name": "beale", "n": 3}, ArgumentValueError, "problem: problem 'beale' is not defined"),
        ({"name": "sphere", "options": {"m": 3}}, ArgumentValueError, "takes no option 'm'"),
    ],
)
def test_problem_errors_before_any_evaluation(problem, error, message):
    with pytest.raises(error, match=message):
        prepare(RunConfig(problem=problem))


def test_objective_import(objectives):
    config = RunConfig(objective=f"{objectives}:sphere", x0=[0.0, 0.0], method="gd")
    result = run_config(config)
    assert result.success
    np.testing.assert_allclose(result.x, 1.0, atol=1e-6)
    assert result.f_star is None
    assert result.config["objective"] == f"{objectives}:sphere"
    nested = run_config(config.model_copy(update={"objective": f"{objectives}:Nested.sphere"}))
    _same(nested, result)


@pytest.mark.parametrize(
    ("objective", "error", "message"),
    [
        ("fdopt_no_such_module:f", ArgumentValueError, "cannot import module"),
        ("{mod}:missing", ArgumentValueError, "has no attribute 'missing'"),
        ("{mod}:NOT_CALLABLE", ArgumentTypeError, "'NOT_CALLABLE' is a int, not a function"),
        ("fdopt.settings.loading:ENV_PREFIX", ArgumentTypeError, "is a str"),
    ],
)
def test_objective_errors(objectives, objective, error, message):
    config = RunConfig(objective=objective.format(mod=objectives), x0=[0.0])
    with pytest.raises(error, match=message):
        prepare(config)


def test_objective_module_that_raises_on_import(tmp_path, monkeypatch):
    (tmp_path / "fdopt_test_broken.py").write_text("1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = RunConfig(objective="fdopt_test_broken:f", x0=[0.0])
    with pytest.raises(ArgumentValueError, match="raised ZeroDivisionError") as info:
        prepare(config)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_a_raising_objective_keeps_the_config_on_the_result(objectives):
    config = RunConfig(objective=f"{objectives}:failing", x0=[0.0, 0.0], method="gd")
    with pytest.raises(EvaluationError) as info:
        run_config(config)
    assert info.value.result.status == 8
    assert info.value.result.config["objective"] == f"{objectives}:failing"
    assert info.value.result.fdopt_version == fdopt.__version__


def test_dtype_gives_a_tensor_start():
    config = RunConfig(
        problem={"name": "sphere", "n": 3},
        method="gd",
        evaluation={"dtype": "float32"},
        stop={"maxiter": 20},
    )
    job = prepare(config)
    assert isinstance(job.x0, torch.Tensor)
    assert job.x0.dtype == torch.float32
    assert job.x0.device.type == "cpu"
    result = run_config(config)
    assert isinstance(result.x, torch.Tensor)
    assert result.x.dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_an_unavailable_device_is_an_error_naming_it():
    config = RunConfig(problem="sphere", evaluation={"device": "cuda:0"})
    with pytest.raises(ArgumentValueError, match=r"evaluation\.device: 'cuda:0' is not available"):
        prepare(config)


@pytest.mark.cuda
def test_a_cuda_run_matches_the_python_run_on_cuda(cuda):
    config = RunConfig(
        problem={"name": "rosenbrock"},
        evaluation={"device": "cuda", "vectorized": True},
        stop={"maxiter": 30},
        seed=0,
    )
    result = run_config(config)
    assert result.x.device.type == "cuda"
    problem = get_problem("rosenbrock")
    by_hand = fdopt.minimize(
        problem.fun,
        torch.tensor(problem.x0, device=cuda),
        options={"maxiter": 30, "seed": 0, "vectorized": True},
    )
    assert torch.equal(result.x, by_hand.x)
    assert result.nfev == by_hand.nfev


def test_run_config_takes_a_run_config():
    with pytest.raises(ArgumentTypeError, match="config must be a RunConfig; got dict"):
        run_config({"problem": "sphere"})


def test_minimize_options_are_unambiguous_for_every_method_and_estimator():
    for method, estimator in itertools.product(OPTIMIZER_METHODS, (None, *ESTIMATOR_METHODS)):
        if method == "spsa" and estimator is not None:
            continue
        config = RunConfig(
            problem="sphere",
            method=method,
            estimator=None if estimator is None else {"method": estimator},
        )
        options = minimize_options(config)  # raises on a name in two sections
        assert options["seed"] is None
        assert "method" not in options
        assert "device" not in options
        assert "dtype" not in options


def test_load_config_is_exported():
    assert fdopt.load_config is load_config
    assert fdopt.run_config is run_config
