"""fdopt: gradient-free optimization with finite-difference derivative estimates.

The public API is described in ``DESIGN.md``; what exists today:

- :func:`gradient` — a drop-in for ``torch.gradient`` / ``numpy.gradient`` with
  higher-order stencils and strict input checks (more in :mod:`fdopt.grid`).
- :func:`grad`, :func:`jacobian`, :func:`hessian` — black-box derivatives of a
  function by finite differences, complex step, Richardson, SPSA or smoothing.
- :mod:`fdopt.stencils` — finite-difference weights for any order and offsets.
- :mod:`fdopt.errors` — the exception classes.
"""

from fdopt._version import __version__
from fdopt.api import EstimateInfo, grad, hessian, jacobian
from fdopt.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BudgetExhaustedError,
    EvaluationError,
    FdoptError,
    FunctionOutputError,
)
from fdopt.grid import derivative, gradient, laplacian

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "BudgetExhaustedError",
    "EstimateInfo",
    "EvaluationError",
    "FdoptError",
    "FunctionOutputError",
    "__version__",
    "derivative",
    "grad",
    "gradient",
    "hessian",
    "jacobian",
    "laplacian",
]
