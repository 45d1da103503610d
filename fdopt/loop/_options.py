"""Options of a run: one flat dict (or a settings model) split into validated parts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.estimators import ESTIMATORS
from fdopt.evaluation import Workers
from fdopt.optimizers import OPTIMIZERS
from fdopt.settings import (
    EstimatorSettings,
    FunctionSettings,
    OutputSettings,
    Settings,
    SpsaOptimizerSettings,
    StopSettings,
)

__all__ = ["EVALUATION_OPTIONS", "Options", "is_spsa", "parse_options"]

EVALUATION_OPTIONS = ("vectorized", "workers", "batch_size")
"""Options of how the user's function is called (checked by the evaluator)."""
_SHARED = ("seed",)
_DEFAULT_JAC = "forward"  # n evaluations a gradient: the loop knows f(x) already


@dataclass(frozen=True)
class Options:
    """A run's validated options.

    Attributes
    ----------
    method : str
        Name of the update rule (a key of :data:`fdopt.optimizers.OPTIMIZERS`).
    optimizer : Settings
        The rule's settings.
    estimator : Settings or None
        The gradient estimator's settings; None when ``jac`` is a callable.
    jac : callable or None
        The user's gradient function, when given.
    stop, output : StopSettings, OutputSettings
        When to stop and what the result holds.
    function : FunctionSettings
        What is known of the function (its noise level).
    default_jac : bool
        Whether the estimator is the default one (no ``jac`` given, no ``step`` set):
        the loop may then set its steps from the noise and curvature it measures, and
        switch from forward to central differences when the descent stalls.
    vectorized, workers, batch_size
        How the function is called (see :class:`fdopt.evaluation.Evaluator`).
    seed : int or None
        Seed of the run's random numbers.
    """

    method: str
    optimizer: Settings
    estimator: EstimatorSettings | None
    jac: Callable[..., Any] | None
    stop: StopSettings
    output: OutputSettings
    function: FunctionSettings
    default_jac: bool = False
    vectorized: bool = False
    workers: Workers = None
    batch_size: int | None = None
    seed: int | None = None


def _fields(model: type[Settings]) -> set[str]:
    return set(model.model_fields) - {"method"}


def _estimator_name(method: str, jac: Any) -> str | None:
    if callable(jac):
        return None
    if method == "spsa":
        if jac not in (None, "spsa"):
            raise ArgumentValueError(
                f"jac: method 'spsa' estimates its own gradients; got jac={jac!r}"
            )
        return "spsa"
    if jac is None:
        return _DEFAULT_JAC
    if isinstance(jac, bool):
        raise ArgumentTypeError(
            "jac=True (fun returning (f, g)) is not supported: pass the gradient as a "
            "callable jac(x, *args), or a method name"
        )
    if not isinstance(jac, str):
        raise ArgumentTypeError(
            f"jac must be None, a method name or a callable; got {type(jac).__name__}"
        )
    if jac not in ESTIMATORS:
        raise ArgumentValueError(
            f"jac must be one of {', '.join(map(repr, ESTIMATORS))} or a callable; got {jac!r}"
        )
    return jac


def _as_dict(method: str, options: Any) -> tuple[str, dict[str, Any]]:
    if options is None:
        return method, {}
    if isinstance(options, Settings):
        own = getattr(options, "method", None)
        if own not in OPTIMIZERS:
            raise ArgumentTypeError(
                f"options must be a dict or an optimizer's settings model; got "
                f"{type(options).__name__}"
            )
        # A settings model names its method; the default method yields to it.
        if method not in ("adam", own):
            raise ArgumentValueError(
                f"options is a {type(options).__name__} (method {own!r}) but method={method!r}"
            )
        return own, options.model_dump(exclude={"method"}, exclude_unset=True)
    if not isinstance(options, Mapping):
        raise ArgumentTypeError(
            f"options must be a dict or a settings model; got {type(options).__name__}"
        )
    bad = [key for key in options if not isinstance(key, str)]
    if bad:
        raise ArgumentTypeError(f"options keys must be strings; got {bad[0]!r}")
    return method, dict(options)


def parse_options(method: str, options: Any, jac: Any) -> Options:
    """Validate ``method``, ``jac`` and ``options`` and split the options by component.

    Parameters
    ----------
    method : str
        The update rule's name.
    options : dict, settings model or None
        Flat options: the rule's (``lr``, ``momentum``, ``beta1``, ...), the stopping
        tests' (``maxiter``, ``maxfev``, ``gtol``, ...), the estimator's (``step``,
        ``accuracy``, ...), the output's (``history``, ...), ``vectorized``, ``workers``,
        ``batch_size`` and ``seed``. A model (``AdamSettings(...)``) sets the rule's.
    jac : None, str or callable
        The gradient: estimated by the default method, by the named one, or the user's.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError
        Unknown method or option (listing the valid ones), a bad ``jac``.
    pydantic.ValidationError
        An option with an invalid value (names the field).
    """
    if not isinstance(method, str):
        raise ArgumentTypeError(f"method must be a string; got {type(method).__name__}")
    method, flat = _as_dict(method, options)
    if method not in OPTIMIZERS:
        raise ArgumentValueError(
            f"method must be one of {', '.join(map(repr, OPTIMIZERS))}; got {method!r}"
        )
    estimator_name = _estimator_name(method, jac)
    optimizer_model = OPTIMIZERS[method].settings
    estimator_model = None if estimator_name is None else ESTIMATORS[estimator_name].settings
    groups: dict[str, set[str]] = {
        "optimizer": _fields(optimizer_model),
        "estimator": set() if estimator_model is None else _fields(estimator_model),
        "stop": _fields(StopSettings),
        "output": _fields(OutputSettings),
        "function": _fields(FunctionSettings),
        "evaluation": set(EVALUATION_OPTIONS),
    }
    if method == "spsa":  # its perturbations come from c, gamma and resamplings
        groups["estimator"] = set()
    valid = set().union(*groups.values(), _SHARED)
    unknown = sorted(set(flat) - valid)
    if unknown:
        raise ArgumentValueError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for method {method!r} (jac {estimator_name or 'callable'!r}); valid options: "
            f"{', '.join(sorted(valid))}"
        )
    seed = flat.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ArgumentTypeError(f"seed must be an int or None; got {seed!r}")

    def pick(group: str) -> dict[str, Any]:
        return {key: flat[key] for key in groups[group] if key in flat}

    estimator = None
    if estimator_model is not None:
        chosen = pick("estimator")
        if "seed" in _fields(estimator_model) and seed is not None:
            chosen["seed"] = seed
        estimator = cast(
            EstimatorSettings,
            estimator_model.model_validate({"method": estimator_name, **chosen}),
        )
    optimizer = optimizer_model.model_validate({"method": method, **pick("optimizer")})
    evaluation = pick("evaluation")
    vectorized = evaluation.get("vectorized", False)
    if not isinstance(vectorized, bool):
        raise ArgumentTypeError(f"vectorized must be a bool; got {vectorized!r}")
    return Options(
        method=method,
        optimizer=optimizer,
        estimator=estimator,
        jac=jac if callable(jac) else None,
        default_jac=jac is None and "step" not in flat,
        stop=StopSettings.model_validate(pick("stop")),
        output=OutputSettings.model_validate(pick("output")),
        function=FunctionSettings.model_validate(pick("function")),
        vectorized=vectorized,
        workers=evaluation.get("workers"),
        batch_size=evaluation.get("batch_size"),
        seed=seed,
    )


def is_spsa(options: Options) -> bool:
    """Whether the run is SPSA's (its own gains and perturbations)."""
    return isinstance(options.optimizer, SpsaOptimizerSettings)
