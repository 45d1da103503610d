"""Run a :class:`~fdopt.settings.RunConfig` through :func:`fdopt.minimize`.

:func:`prepare` resolves a config to the arguments of :func:`fdopt.minimize`: the
objective (a built-in problem, or ``package.module:function`` imported now), the start
(the config's ``x0`` or the problem's, as a tensor on ``evaluation.device`` in
``evaluation.dtype`` when either is set, else a numpy array), the bounds (the config's
or the problem's natural ones), the estimator's name as ``jac`` and the flat
``options``. :func:`run_config` runs it, so a run from a file and the same run written
in Python give the same result to the last bit. Every problem with the config is
reported before the first evaluation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from scipy.optimize import OptimizeResult

from fdopt._version import __version__
from fdopt.api import minimize
from fdopt.errors import ArgumentTypeError, ArgumentValueError, FunctionError
from fdopt.loop import EVALUATION_OPTIONS
from fdopt.problems import get_problem
from fdopt.settings import EvaluationSettings, RunConfig

__all__ = ["Job", "minimize_options", "prepare", "run_config"]

Bounds = tuple[tuple[float, float], ...]


@dataclass(frozen=True, eq=False)
class Job:
    """A run config resolved to the arguments of :func:`fdopt.minimize`.

    Attributes
    ----------
    config : RunConfig
        The config with everything resolved filled in: ``x0``, ``bounds`` and, for a
        problem, its ``n``.
    name : str
        The problem's name (with its noise) or the objective's import path.
    fun : callable
        The objective.
    x0 : numpy.ndarray or torch.Tensor
        The start: a tensor on ``evaluation.device`` in ``evaluation.dtype`` when either
        is set, else a float64 numpy array.
    bounds : tuple of (low, high) or None
        The bounds passed to :func:`fdopt.minimize`.
    jac : str or None
        The estimator's name, or None for the default.
    options : dict
        The flat ``options`` of :func:`fdopt.minimize` (see :func:`minimize_options`).
    f_star : float or None
        The known minimum (problems only).
    """

    config: RunConfig
    name: str
    fun: Callable[..., Any]
    x0: Any
    bounds: Bounds | None
    jac: str | None
    options: dict[str, Any]
    f_star: float | None

    def run(self, callback: Callable[..., Any] | None = None) -> OptimizeResult:
        """Minimize; the result also holds ``config``, ``f_star`` and ``fdopt_version``.

        Parameters
        ----------
        callback : callable, optional
            As in :func:`fdopt.minimize`.

        Returns
        -------
        scipy.optimize.OptimizeResult
            :func:`fdopt.minimize`'s result plus ``config`` (the resolved config as a
            JSON-able dict), ``f_star`` (or None) and ``fdopt_version``.

        Raises
        ------
        FunctionError
            The function raised (``EvaluationError``) or returned something unusable
            (``FunctionOutputError``); its ``result`` carries the same fields.
        """
        try:
            result = minimize(
                self.fun,
                self.x0,
                method=self.config.method,
                jac=self.jac,
                bounds=self.bounds,
                callback=callback,
                options=self.options,
            )
        except FunctionError as error:
            if isinstance(error.result, OptimizeResult):
                self._annotate(error.result)
            raise
        return self._annotate(result)

    def _annotate(self, result: OptimizeResult) -> OptimizeResult:
        result.config = self.config.model_dump(mode="json")
        result.f_star = self.f_star
        result.fdopt_version = __version__
        return result


def _add(options: dict[str, Any], section: BaseModel, exclude: set[str]) -> None:
    for key, value in section.model_dump(exclude=exclude).items():
        if key in options:  # the flat options would be ambiguous
            raise RuntimeError(f"option {key!r} is in two sections of a run config")
        options[key] = value


def minimize_options(config: RunConfig) -> dict[str, Any]:
    """Return the flat ``options`` of :func:`fdopt.minimize` that a config stands for.

    The optimizer's, estimator's, stop, output and function settings, the evaluation's
    ``vectorized``, ``workers`` and ``batch_size``, and ``seed``: every value, defaults
    included.

    Parameters
    ----------
    config : RunConfig
        The config.

    Returns
    -------
    dict
        Option name -> value.

    Examples
    --------
    >>> options = minimize_options(RunConfig(problem="sphere", stop={"maxiter": 50}))
    >>> options["maxiter"], options["lr"], options["seed"]
    (50, 'auto', None)
    """
    options: dict[str, Any] = {}
    _add(options, config.optimizer, {"method"})
    if config.estimator is not None:
        _add(options, config.estimator, {"method", "seed"})
    for section in (config.stop, config.output, config.function):
        _add(options, section, set())
    evaluation = set(EvaluationSettings.model_fields) - set(EVALUATION_OPTIONS)
    _add(options, config.evaluation, evaluation)
    options["seed"] = config.seed
    return options


def _import(spec: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ArgumentValueError(
            f"objective {spec!r}: cannot import module {module_name!r} ({error})"
        ) from error
    except Exception as error:  # the module itself failed: say so, chained
        raise ArgumentValueError(
            f"objective {spec!r}: importing {module_name!r} raised {type(error).__name__}: {error}"
        ) from error
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as error:
            raise ArgumentValueError(
                f"objective {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from error
    if not callable(target):
        raise ArgumentTypeError(
            f"objective {spec!r}: {attribute!r} is a {type(target).__name__}, not a function"
        )
    fun: Callable[..., Any] = target
    return fun


def _start(values: Any, evaluation: EvaluationSettings) -> Any:
    """``x0`` as a float64 numpy array, or a tensor where a device or dtype is set."""
    if evaluation.device is None and evaluation.dtype is None:
        return np.array(values, dtype=np.float64)
    device = torch.device(evaluation.device or "cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ArgumentValueError(
                f"evaluation.device: {evaluation.device!r} is not available "
                "(torch.cuda.is_available() is False)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ArgumentValueError(
                f"evaluation.device: {evaluation.device!r} is not available "
                f"({torch.cuda.device_count()} CUDA device(s))"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ArgumentValueError(f"evaluation.device: {evaluation.device!r} is not available")
    dtype = getattr(torch, evaluation.dtype or "float64")
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device)


def _check_size(what: str, count: int, n: int, owner: str) -> None:
    if count != n:
        raise ArgumentValueError(f"{what}: {count} entries for {owner} of n={n}")


def prepare(config: RunConfig) -> Job:
    """Resolve a config to the arguments of :func:`fdopt.minimize`, without running it.

    Parameters
    ----------
    config : RunConfig
        The config (from :func:`fdopt.load_config` or built in Python).

    Returns
    -------
    Job
        The objective, start, bounds, ``jac`` and options; :meth:`Job.run` runs it.

    Raises
    ------
    ArgumentTypeError
        If ``config`` is not a :class:`RunConfig`, or the objective is not callable.
    ArgumentValueError
        An unknown problem or one of its options (the message starts with
        ``problem:``), an objective that cannot be imported (``objective ...:``),
        ``x0`` or ``bounds`` of the wrong size or ``x0`` outside the bounds, or a
        device that is not available (``evaluation.device:``).

    Examples
    --------
    >>> job = prepare(RunConfig(problem={"name": "rosenbrock", "n": 4}))
    >>> job.name, job.x0.shape, job.f_star
    ('rosenbrock', (4,), 0.0)
    """
    if not isinstance(config, RunConfig):
        raise ArgumentTypeError(f"config must be a RunConfig; got {type(config).__name__}")
    resolved = config.model_dump()
    f_star: float | None = None
    if config.problem is not None:
        spec = config.problem
        try:
            problem = get_problem(
                spec.name,
                spec.n,
                noise=spec.noise,
                noise_kind=spec.noise_kind,
                seed=spec.seed,
                **spec.options,
            )
        except (ArgumentValueError, ArgumentTypeError) as error:
            raise type(error)(f"problem: {error}") from error
        fun, name, f_star = problem.fun, problem.name, problem.f_star
        owner = f"problem {spec.name!r}"
        n = problem.n
        x0 = problem.x0.tolist() if config.x0 is None else list(config.x0)
        bounds = config.bounds if config.bounds is not None else problem.bounds
        resolved["problem"]["n"] = n
    else:
        assert config.objective is not None  # RunConfig asks for one of the two
        assert config.x0 is not None  # and for x0 with an objective
        fun, name = _import(config.objective), config.objective
        owner = f"objective {config.objective!r}"
        x0, n, bounds = list(config.x0), len(config.x0), config.bounds
    _check_size("x0", len(x0), n, owner)
    if bounds is not None:
        bounds = tuple((float(low), float(high)) for low, high in bounds)
        _check_size("bounds", len(bounds), n, owner)
        for i, (value, (low, high)) in enumerate(zip(x0, bounds, strict=True)):
            if not low <= value <= high:
                raise ArgumentValueError(
                    f"x0[{i}] = {value} lies outside bounds[{i}] = [{low}, {high}]"
                )
    resolved["x0"], resolved["bounds"] = x0, bounds
    options = minimize_options(config)
    starts: Any = x0
    if config.multistart.starts > 1:
        starts = _starts(x0, bounds, config)
        options["multistart"] = True
    return Job(
        config=RunConfig.model_validate(resolved),
        name=name,
        fun=fun,
        x0=_start(starts, config.evaluation),
        bounds=bounds,
        jac=None if config.estimator is None else config.estimator.method,
        options=options,
        f_star=f_star,
    )


def _starts(
    x0: list[float], bounds: tuple[tuple[float, float], ...] | None, config: RunConfig
) -> list[list[float]]:
    """``x0`` and ``starts - 1`` seeded normal perturbations of it, clipped to the bounds."""
    center = np.asarray(x0, dtype=np.float64)
    scale = config.multistart.radius * max(1.0, float(np.abs(center).max()))
    generator = np.random.default_rng(config.seed)
    others = center + scale * generator.standard_normal((config.multistart.starts - 1, center.size))
    if bounds is not None:
        low, high = np.asarray(bounds, dtype=np.float64).T
        others = np.clip(others, low, high)
    return [list(map(float, center)), *others.tolist()]


def run_config(config: RunConfig, *, callback: Callable[..., Any] | None = None) -> OptimizeResult:
    """Run a config: :func:`prepare` it, then :func:`fdopt.minimize`.

    Parameters
    ----------
    config : RunConfig
        The config.
    callback : callable, optional
        As in :func:`fdopt.minimize` (e.g. a :class:`fdopt.callbacks.Recorder`).

    Returns
    -------
    scipy.optimize.OptimizeResult
        :func:`fdopt.minimize`'s result, plus ``config`` (the resolved config: a
        JSON-able dict with ``x0``, ``bounds`` and the problem's ``n`` filled in),
        ``f_star`` (None when unknown) and ``fdopt_version``.

    Raises
    ------
    ArgumentValueError, ArgumentTypeError
        As :func:`prepare`, before any evaluation.
    FunctionError
        The function raised or returned something unusable; its ``result`` is the
        result at the best point seen.

    Examples
    --------
    >>> res = run_config(RunConfig(problem="sphere", method="gd", stop={"gtol": 1e-8}))
    >>> res.success, res.config["problem"]["n"], res.fun < 1e-12
    (True, 10, True)
    """
    return prepare(config).run(callback)
