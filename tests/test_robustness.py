"""Unusual input and output across the public API: a result, or an error of fdopt's.

Every call either returns or raises an ``FdoptError`` (``ValueError`` / ``TypeError``
subclasses among them) or a pydantic ``ValidationError``: never an error from numpy,
torch or Python's internals (an ``IndexError``, a ``RuntimeError``, an
``OverflowError``), which would say nothing about what was wrong. Each case here raised
one of those before it was fixed.
"""

import contextlib
import warnings

import numpy as np
import pytest
import torch
from pydantic import ValidationError

import fdopt
from fdopt.errors import FdoptError


def square(x):
    return (x**2).sum() if isinstance(x, torch.Tensor) else float(np.sum(np.asarray(x) ** 2))


CALLS = {
    "grad": lambda f, x: fdopt.grad(f, x),
    "grad complex": lambda f, x: fdopt.grad(f, x, method="complex"),
    "grad richardson": lambda f, x: fdopt.grad(f, x, method="richardson"),
    "grad spsa": lambda f, x: fdopt.grad(f, x, method="spsa", seed=0),
    "grad auto": lambda f, x: fdopt.grad(f, x, step="auto"),
    "jacobian": lambda f, x: fdopt.jacobian(f, x),
    "hessian": lambda f, x: fdopt.hessian(f, x),
    "minimize adam": lambda f, x: fdopt.minimize(f, x, options={"maxiter": 3}),
    "minimize lbfgs": lambda f, x: fdopt.minimize(f, x, method="lbfgs", options={"maxiter": 3}),
    "minimize spsa": lambda f, x: fdopt.minimize(
        f, x, method="spsa", options={"maxiter": 3, "seed": 0}
    ),
    "Gradient": lambda f, x: fdopt.Gradient(f)(x),
    "Gradient.fun": lambda f, x: fdopt.Gradient(f).fun(x),
}

POINTS = {
    "empty": np.array([]),
    "empty tensor": torch.zeros(0, dtype=torch.float64),
    "bfloat16": torch.tensor([1.0, 2.0], dtype=torch.bfloat16),
    "float16": torch.tensor([1.0, 2.0], dtype=torch.float16),
    "nan": np.array([np.nan, 1.0]),
    "complex": np.array([1 + 1j, 2.0]),
    "booleans": np.array([True, False]),
    "text": "ab",
    "matrix": np.ones((2, 2)),
    "objects": np.array([1.0, "a"], dtype=object),
}

OUTPUTS = {
    "none": lambda x: None,
    "text": lambda x: "a",
    "two values": lambda x: [1.0, 2.0],
    "no value": lambda x: np.array([]),
    "complex": lambda x: 1j * float(np.sum(np.asarray(x))),
    "huge int": lambda x: 10**400,
    "boolean": lambda x: True,
}


def _outcome(call):
    with warnings.catch_warnings(), contextlib.suppress(FdoptError, ValidationError):
        warnings.simplefilter("ignore")
        call()


@pytest.mark.parametrize("point", POINTS, ids=str)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_unusual_points_return_or_raise_fdopts_errors(call, point):
    _outcome(lambda: CALLS[call](square, POINTS[point]))


@pytest.mark.parametrize("output", OUTPUTS, ids=str)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_unusual_outputs_return_or_raise_fdopts_errors(call, output):
    _outcome(lambda: CALLS[call](OUTPUTS[output], np.array([1.0, 2.0])))
