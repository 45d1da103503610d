"""fdopt: gradient-free optimization with finite-difference derivative estimates.

The public API is described in ``DESIGN.md``; what exists today:

- :func:`gradient` — a drop-in for ``torch.gradient`` / ``numpy.gradient`` with
  higher-order stencils and strict input checks (more in :mod:`fdopt.grid`).
- :mod:`fdopt.stencils` — finite-difference weights for any order and offsets.
- :mod:`fdopt.errors` — the exception classes.
"""

from fdopt._version import __version__
from fdopt.errors import ArgumentTypeError, ArgumentValueError, FdoptError
from fdopt.grid import derivative, gradient, laplacian

__all__ = [
    "ArgumentTypeError",
    "ArgumentValueError",
    "FdoptError",
    "__version__",
    "derivative",
    "gradient",
    "laplacian",
]
