"""Reading a :class:`~fdopt.settings.run.RunConfig`: TOML file, environment, overrides.

:func:`load_config` reads a TOML file and layers overrides on it, highest first:

1. ``overrides`` (``fdopt run --set stop.maxfev=50``): ``KEY.PATH=VALUE`` strings;
2. environment variables, read by pydantic-settings: prefix ``FDOPT_``, ``__`` between
   levels (``FDOPT_STOP__MAXFEV=40`` sets ``[stop] maxfev``), names case-insensitive;
3. the file;
4. the defaults of the models.

Values from overrides and the environment are read as TOML values where they parse as
one (``50`` an int, ``1e-3`` a float, ``true`` a bool, ``[1, 2]`` an array), then as
JSON (``null`` is None), else as a bare string (``gd``). Unknown keys are errors at
every level, and every error names the field's path, the value and what was expected.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import (
    BaseModel,
    ValidationError,
    create_model,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from fdopt.errors import ArgumentTypeError, ArgumentValueError
from fdopt.settings.run import ESTIMATOR_METHODS, OPTIMIZER_METHODS, SCHEDULE_KINDS, RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ENV_PREFIX", "describe_validation_error", "load_config", "parse_value"]

ENV_PREFIX = "FDOPT_"
"""Prefix of the environment variables that override a config file."""
_ENV_DELIMITER = "__"
_KEY = re.compile(r"[A-Za-z_]\w*")
_UNION_TAGS = {
    "optimizer": frozenset(OPTIMIZER_METHODS),
    "estimator": frozenset(ESTIMATOR_METHODS),
    "schedule": frozenset(SCHEDULE_KINDS),
}


# -- errors ---------------------------------------------------------------------------

_TYPE_NAMES = frozenset({"bool", "int", "float", "str", "none", "dict", "list", "tuple"})


def _clean_path(loc: Sequence[int | str]) -> str:
    """Return the user's path of an error location, union members and tags left out."""
    parts: list[str] = []
    previous: int | str | None = None
    for part in loc:
        tags = _UNION_TAGS.get(previous, frozenset()) if isinstance(previous, str) else frozenset()
        previous = part
        if isinstance(part, str) and (
            part in tags or _KEY.fullmatch(part) is None or part in _TYPE_NAMES
        ):
            continue
        parts.append(f"[{part}]" if isinstance(part, int) else part)
    return ".".join(parts).replace(".[", "[") or "config"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def describe_validation_error(error: ValidationError) -> str:
    """Describe a settings error in one line: each field's path, what was wrong, the value.

    The alternatives of a union are joined with "or"; the tags of discriminated unions
    (``optimizer.adam.beta1``) are left out of the path (``optimizer.beta1``).

    Parameters
    ----------
    error : pydantic.ValidationError
        The error of a settings model.

    Returns
    -------
    str
        ``"PATH: WHAT (got VALUE); PATH: ..."``.

    Examples
    --------
    >>> try:
    ...     RunConfig(problem="rosenbrock", optimizer={"method": "adam", "beta1": 1.5})
    ... except ValidationError as error:
    ...     print(describe_validation_error(error))
    optimizer.beta1: Input should be less than 1 (got 1.5)
    """
    grouped: dict[str, tuple[list[str], Any]] = {}
    for item in error.errors():
        path = _clean_path(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        elif item["type"] == "union_tag_not_found":
            message = f"missing the {item['ctx']['discriminator']} that selects the settings"
        messages, _ = grouped.setdefault(path, ([], item.get("input")))
        if message not in messages:
            messages.append(message)
    lines = []
    for path, (messages, value) in grouped.items():
        text = ", or ".join(messages[:1] + [m[:1].lower() + m[1:] for m in messages[1:]])
        shown = "" if value is None or isinstance(value, dict) else f" (got {_short(value)})"
        lines.append(f"{path}: {text}{shown}")
    return "; ".join(lines)


# -- layers ---------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Read an override's value: a TOML value if it is one, else JSON, else the text.

    Parameters
    ----------
    text : str
        The value as written after ``=`` (or in an environment variable).

    Returns
    -------
    object
        An int, float, bool, list, dict, None (JSON ``null``) or str.

    Examples
    --------
    >>> parse_value("50"), parse_value("1e-3"), parse_value("true"), parse_value("gd")
    (50, 0.001, True, 'gd')
    >>> parse_value("[1, 2.5]"), parse_value('"50"'), parse_value("null")
    ([1, 2.5], '50', None)
    """
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _parse_leaves(item) for key, item in value.items()}
    return parse_value(value) if isinstance(value, str) else value


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for argument in get_args(annotation):
        yield from _models_in(argument)


def _field_names() -> dict[str, str]:
    """Lower-case name -> name of every field a run config can hold (``a`` -> ``A``)."""
    return {name.lower(): name for model in _models_in(RunConfig) for name in model.model_fields}


def _normalize(layer: dict[str, Any]) -> dict[str, Any]:
    """Expand a layer's shorthands so that layers merge key by key.

    ``problem = "name"`` becomes a table, and ``method`` and ``optimizer.method`` are
    set together, so that a higher layer naming the method replaces both.
    """
    layer = dict(layer)
    if isinstance(layer.get("problem"), str):
        layer["problem"] = {"name": layer["problem"]}
    optimizer = layer.get("optimizer")
    known = layer.get("method") in OPTIMIZER_METHODS
    if known and (optimizer is None or isinstance(optimizer, dict)):
        layer["optimizer"] = {"method": layer["method"], **(optimizer or {})}
    elif isinstance(optimizer, dict) and "method" in optimizer and "method" not in layer:
        layer["method"] = optimizer["method"]
    return layer


_DISCRIMINATORS = {"problem": "name", "optimizer": "method", "estimator": "method"}


def _merge(base: dict[str, Any], top: Mapping[str, Any], *, root: bool = True) -> dict[str, Any]:
    """Merge ``top`` over ``base`` key by key.

    A problem, optimizer or estimator table whose name (or method) changes replaces the
    table below it instead of merging with it: its other settings belong to another one.
    """
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, dict):
            name = _DISCRIMINATORS.get(key) if root else None
            if name is not None and name in value and value[name] != below.get(name):
                merged[key] = dict(value)
            else:
                merged[key] = _merge(below, value, root=False)
        else:
            merged[key] = value
    return merged


class _EnvironmentBase(BaseSettings):
    """What pydantic-settings needs to read ``FDOPT_*`` variables into nested dicts."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=_ENV_DELIMITER,
        case_sensitive=False,
        extra="ignore",
    )


def _environment() -> dict[str, Any]:
    """Read the ``FDOPT_*`` variables into a nested dict, through pydantic-settings."""
    names = set(RunConfig.model_fields)
    for variable in os.environ:
        if variable.lower().startswith(ENV_PREFIX.lower()):
            head = variable[len(ENV_PREFIX) :].split(_ENV_DELIMITER)[0].lower()
            if head not in names:
                raise ArgumentValueError(
                    f"environment variable {variable}: {head!r} is not a setting of a run "
                    f"config; valid: {', '.join(sorted(names))}"
                )
    # Tables are read as dicts, so that FDOPT_STOP__MAXFEV lands in stop.maxfev.
    fields: dict[str, Any] = {}
    for name, field in RunConfig.model_fields.items():
        table = any(True for _ in _models_in(field.annotation))
        fields[name] = ((dict[str, Any] | str | None) if table else Any, None)
    source_model = create_model("_Environment", __base__=_EnvironmentBase, **fields)
    found = EnvSettingsSource(source_model)()
    layer: dict[str, Any] = _fix_case(_parse_leaves(found), _field_names())
    return layer


def _fix_case(value: Any, names: Mapping[str, str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {names.get(key, key): _fix_case(item, names) for key, item in value.items()}


def _override_items(overrides: Mapping[str, str] | Sequence[str]) -> Iterator[tuple[str, Any]]:
    if isinstance(overrides, (str, bytes)):
        raise ArgumentTypeError(
            f"overrides must be a mapping or a sequence of 'KEY.PATH=VALUE' strings; got the "
            f"string {overrides!r}"
        )
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            yield key, parse_value(value) if isinstance(value, str) else value
        return
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ArgumentValueError(
                f"override {item!r}: expected KEY.PATH=VALUE, such as stop.maxfev=50"
            )
        key, _, text = item.partition("=")
        yield key.strip(), parse_value(text.strip())


def _overrides(overrides: Mapping[str, str] | Sequence[str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for key, value in _override_items(overrides):
        path = key.split(".") if isinstance(key, str) else []
        if not path or any(_KEY.fullmatch(part) is None for part in path):
            raise ArgumentValueError(
                f"override {key!r}: the key must be a dotted path of names, such as stop.maxfev"
            )
        table = layer
        for depth, part in enumerate(path[:-1]):
            below = table.setdefault(part, {})
            if not isinstance(below, dict):
                raise ArgumentValueError(
                    f"override {key!r}: {'.'.join(path[: depth + 1])} is set to a value, not "
                    f"a table, by another override"
                )
            table = below
        if isinstance(table.get(path[-1]), dict) and not isinstance(value, dict):
            raise ArgumentValueError(f"override {key!r}: {key} is a table, set by another override")
        table[path[-1]] = value
    return layer


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:  # OSError (missing, unreadable) goes to the caller
        try:
            data: dict[str, Any] = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ArgumentValueError(f"{path}: invalid TOML: {error}") from error
    return data


def load_config(
    path: str | os.PathLike[str],
    overrides: Mapping[str, str] | Sequence[str] = (),
) -> RunConfig:
    r"""Read a run config from a TOML file, with environment and command-line overrides.

    Precedence, highest first: ``overrides``, ``FDOPT_*`` environment variables, the
    file, the defaults. ``method`` set at a higher level replaces ``optimizer.method``
    too (and the other way round); ``problem = "name"`` merges with a ``[problem]``
    table of a lower level.

    Parameters
    ----------
    path : str or path-like
        The TOML file.
    overrides : mapping or sequence of str, default ()
        ``{"stop.maxfev": "50"}`` or ``["stop.maxfev=50", ...]``: dotted paths and
        values, read by :func:`parse_value` (so ``"50"`` is an int, ``"gd"`` a string
        and ``"null"`` None, which resets a table such as ``estimator``).

    Returns
    -------
    RunConfig
        The validated config.

    Raises
    ------
    OSError
        If the file cannot be read.
    ArgumentValueError
        Invalid TOML (with the line and column), a malformed override, or an
        ``FDOPT_*`` variable that names no setting.
    ArgumentTypeError
        If ``overrides`` is a single string.
    pydantic.ValidationError
        An unknown key or a bad value at any level; each error's location is the
        field's path (:func:`describe_validation_error` puts it in one line).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
    >>> _ = path.write_text('problem = "rosenbrock"\nmethod = "gd"\n[stop]\nmaxiter = 200\n')
    >>> config = load_config(path, ["stop.maxiter=50", "optimizer.lr=1e-3"])
    >>> config.stop.maxiter, config.optimizer.lr, config.method
    (50, 0.001, 'gd')
    """
    layers = [_read(Path(path)), _environment(), _overrides(overrides)]
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, _normalize(layer))
    return RunConfig.model_validate(merged)
