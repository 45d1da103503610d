"""fdopt: gradient-free optimization with finite-difference derivative estimates.

The public API is described in ``DESIGN.md``; what exists today:

- :func:`gradient` — a drop-in for ``torch.gradient`` / ``numpy.gradient`` with
  higher-order stencils and strict input checks (more in :mod:`fdopt.grid`).
- :func:`grad`, :func:`jacobian`, :func:`hessian` — black-box derivatives of a
  function by finite differences, complex step, Richardson, SPSA or smoothing.
- :func:`minimize` — first-order methods (gd, momentum, nesterov, adam, rmsprop,
  adagrad, spsa) on estimated gradients, returning ``scipy.optimize.OptimizeResult``;
  :func:`method` and :class:`Gradient` plug fdopt into ``scipy.optimize.minimize``,
  :mod:`fdopt.callbacks` gives callbacks that work in both.
- :func:`load_config` and :func:`run_config` — a whole run as a validated
  :class:`~fdopt.settings.RunConfig`, from a TOML file with ``FDOPT_*`` environment
  overrides (the ``fdopt run`` command).
- :mod:`fdopt.stencils` — finite-difference weights for any order and offsets.
- :mod:`fdopt.errors` — the exception classes.
"""

from fdopt import callbacks, settings
from fdopt._version import __version__
from fdopt.api import EstimateInfo, grad, hessian, jacobian, minimize
from fdopt.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BudgetExhaustedError,
    EvaluationError,
    FdoptError,
    FunctionOutputError,
)
from fdopt.grid import derivative, gradient, laplacian
from fdopt.runner import run_config
from fdopt.scipy_compat import Gradient, method
from fdopt.settings import load_config

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "BudgetExhaustedError",
    "EstimateInfo",
    "EvaluationError",
    "FdoptError",
    "FunctionOutputError",
    "Gradient",
    "__version__",
    "callbacks",
    "derivative",
    "grad",
    "gradient",
    "hessian",
    "jacobian",
    "laplacian",
    "load_config",
    "method",
    "minimize",
    "run_config",
    "settings",
]
