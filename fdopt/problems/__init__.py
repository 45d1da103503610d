"""The built-in problem library: test functions with known minima, for benchmarks and the CLI.

Every problem is a :class:`Problem`: an objective ``fun`` that takes what fdopt hands a
user's function (a numpy or torch point ``(n,)`` or batch ``(k, n)``, returning the
same kind, differentiable by torch autograd), the standard starting point ``x0``, the
known minimum ``f_star``, natural ``bounds`` and a description. :data:`PROBLEMS` is the
one table of names; :func:`get_problem` builds a problem by name, and
:func:`list_problems` describes them all (``fdopt problems``).

- All 35 unconstrained problems of Moré, Garbow and Hillstrom (1981), with the paper's
  residuals, starting points and minima (``rosenbrock`` is the chained form of problem
  1, defined for any ``n >= 2``; problem 21 is ``extended_rosenbrock``).
- ``sphere`` and ``quadratic`` (rotated, of chosen condition number; also registered as
  ``quadratic_1e2`` and ``quadratic_1e4``).
- ``sampled``: a surface known only by grid samples, interpolated with the help of
  :func:`fdopt.gradient`.
- ``pid``: PID gains for a plant (by default Octave's optiPID example
  ``1/((s^2+s+1)(s+1)^4)``), the ITAE of the closed-loop step response plus an
  overshoot penalty, simulated in torch for a batch of gain sets at once.
- :func:`noisy` adds seeded Gaussian noise to any problem (also through
  ``get_problem(..., noise=...)``).

:data:`MGH_SET` names the ten small MGH problems the benchmarks run.

References
----------
J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
software", ACM Transactions on Mathematical Software 7(1), 17-41, 1981.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from fdopt._validate import check_int
from fdopt.errors import ArgumentValueError
from fdopt.problems._base import Dimensions, Problem
from fdopt.problems.mgh_classic import (
    beale,
    brown_badly_scaled,
    extended_powell,
    extended_rosenbrock,
    freudenstein_roth,
    helical_valley,
    powell_badly_scaled,
    powell_singular,
    rosenbrock,
    wood,
)
from fdopt.problems.mgh_fits import (
    bard,
    biggs_exp6,
    box_3d,
    brown_dennis,
    gaussian,
    gulf,
    jennrich_sampson,
    kowalik_osborne,
    meyer,
    osborne1,
    osborne2,
)
from fdopt.problems.mgh_scalable import (
    brown_almost_linear,
    chebyquad,
    penalty1,
    penalty2,
    trigonometric,
    variably_dimensioned,
    watson,
)
from fdopt.problems.mgh_systems import (
    broyden_banded,
    broyden_tridiagonal,
    discrete_boundary_value,
    discrete_integral,
    linear_full_rank,
    linear_rank1,
    linear_rank1_zero,
)
from fdopt.problems.noise import NoiseKind, noisy
from fdopt.problems.pid import pid
from fdopt.problems.sampled import sampled
from fdopt.problems.synthetic import quadratic, quadratic_1e2, quadratic_1e4, sphere

__all__ = [
    "MGH_SET",
    "PROBLEMS",
    "Dimensions",
    "NoiseKind",
    "Problem",
    "ProblemInfo",
    "ProblemSpec",
    "get_problem",
    "list_problems",
    "noisy",
]


@dataclass(frozen=True)
class ProblemSpec:
    """A registered problem: its factory and the dimensions it is defined for.

    Attributes
    ----------
    make : callable
        Builds the :class:`Problem`: ``make(n, **options)`` when the dimension is
        variable, ``make(**options)`` when it is fixed. Options are keyword-only.
    dimensions : Dimensions
        The allowed numbers of variables and the default.
    """

    make: Callable[..., Problem]
    dimensions: Dimensions

    @property
    def options(self) -> tuple[str, ...]:
        """The names of the factory's keyword options."""
        parameters = inspect.signature(self.make).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _table(*entries: tuple[str, Callable[..., Problem], Dimensions]) -> dict[str, ProblemSpec]:
    table: dict[str, ProblemSpec] = {}
    for name, make, dimensions in entries:
        if name in table:
            raise ValueError(f"problem {name!r} registered twice")
        table[name] = ProblemSpec(make, dimensions)
    return table


_ANY = Dimensions(default=10, minimum=1)

PROBLEMS = _table(
    # Moré, Garbow & Hillstrom (1981), in the paper's order.
    ("rosenbrock", rosenbrock, Dimensions(default=2, minimum=2)),
    ("freudenstein_roth", freudenstein_roth, Dimensions.fixed(2)),
    ("powell_badly_scaled", powell_badly_scaled, Dimensions.fixed(2)),
    ("brown_badly_scaled", brown_badly_scaled, Dimensions.fixed(2)),
    ("beale", beale, Dimensions.fixed(2)),
    ("jennrich_sampson", jennrich_sampson, Dimensions.fixed(2)),
    ("helical_valley", helical_valley, Dimensions.fixed(3)),
    ("bard", bard, Dimensions.fixed(3)),
    ("gaussian", gaussian, Dimensions.fixed(3)),
    ("meyer", meyer, Dimensions.fixed(3)),
    ("gulf", gulf, Dimensions.fixed(3)),
    ("box_3d", box_3d, Dimensions.fixed(3)),
    ("powell_singular", powell_singular, Dimensions.fixed(4)),
    ("wood", wood, Dimensions.fixed(4)),
    ("kowalik_osborne", kowalik_osborne, Dimensions.fixed(4)),
    ("brown_dennis", brown_dennis, Dimensions.fixed(4)),
    ("osborne1", osborne1, Dimensions.fixed(5)),
    ("biggs_exp6", biggs_exp6, Dimensions.fixed(6)),
    ("osborne2", osborne2, Dimensions.fixed(11)),
    ("watson", watson, Dimensions(default=6, minimum=2, maximum=31)),
    ("extended_rosenbrock", extended_rosenbrock, Dimensions(default=10, minimum=2, step=2)),
    ("extended_powell", extended_powell, Dimensions(default=8, minimum=4, step=4)),
    ("penalty1", penalty1, _ANY),
    ("penalty2", penalty2, _ANY),
    ("variably_dimensioned", variably_dimensioned, _ANY),
    ("trigonometric", trigonometric, _ANY),
    ("brown_almost_linear", brown_almost_linear, _ANY),
    ("discrete_boundary_value", discrete_boundary_value, _ANY),
    ("discrete_integral", discrete_integral, _ANY),
    ("broyden_tridiagonal", broyden_tridiagonal, _ANY),
    ("broyden_banded", broyden_banded, _ANY),
    ("linear_full_rank", linear_full_rank, _ANY),
    ("linear_rank1", linear_rank1, _ANY),
    ("linear_rank1_zero", linear_rank1_zero, Dimensions(default=10, minimum=3)),
    ("chebyquad", chebyquad, _ANY),
    # Synthetic.
    ("sphere", sphere, _ANY),
    ("quadratic", quadratic, _ANY),
    ("quadratic_1e2", quadratic_1e2, _ANY),
    ("quadratic_1e4", quadratic_1e4, _ANY),
    # Known by samples.
    ("sampled", sampled, Dimensions.fixed(2)),
    # Controller tuning.
    ("pid", pid, Dimensions.fixed(3)),
)
"""Problem name -> (factory, allowed dimensions)."""

MGH_SET: tuple[str, ...] = (
    "rosenbrock",
    "freudenstein_roth",
    "beale",
    "helical_valley",
    "box_3d",
    "powell_singular",
    "wood",
    "kowalik_osborne",
    "osborne1",
    "biggs_exp6",
)
"""Ten MGH problems in 2 to 6 variables that the benchmarks run: curved valleys
(rosenbrock, wood, helical_valley), a local minimum beside the global one
(freudenstein_roth, biggs_exp6), flat regions (beale), a singular Hessian
(powell_singular) and data fits with exponentials and rational models (box_3d,
kowalik_osborne, osborne1)."""


class ProblemInfo(NamedTuple):
    """One row of :func:`list_problems`."""

    name: str
    """The registered name."""
    n: int
    """The default number of variables."""
    dimensions: str
    """The allowed numbers of variables, as text (``"2"``, ``"2..31"``, ``">= 1"``)."""
    f_star: float | None
    """The known minimum at the default dimension, or None."""
    description: str
    """One line."""


def get_problem(
    name: str,
    n: int | None = None,
    *,
    noise: float | None = None,
    noise_kind: NoiseKind = "additive",
    seed: int = 0,
    **options: Any,
) -> Problem:
    """Build a registered problem by name.

    Parameters
    ----------
    name : str
        A key of :data:`PROBLEMS`.
    n : int or None, default None
        Number of variables; None means the problem's default. Problems of fixed size
        accept only their own ``n``.
    noise : float or None, default None
        If given, the level of Gaussian noise added by :func:`noisy`.
    noise_kind : {"additive", "multiplicative"}, default "additive"
        How the noise enters.
    seed : int, default 0
        Seed of the noise, and of the problem itself where it has a ``seed`` option
        (the rotation of ``quadratic``).
    **options
        The problem's own options, such as ``m`` (number of residuals) or ``condition``.

    Returns
    -------
    Problem
        The problem.

    Raises
    ------
    ArgumentValueError
        (a ``ValueError``) for an unknown name (the message lists the valid ones), an
        ``n`` the problem is not defined for, an option it does not take, or a bad
        option value.
    ArgumentTypeError
        (a ``TypeError``) for an ``n`` or option of the wrong type.

    Examples
    --------
    >>> from fdopt.problems import get_problem
    >>> problem = get_problem("rosenbrock")
    >>> problem.n, problem.f_star
    (2, 0.0)
    >>> problem.fun(problem.x0)
    24.2
    >>> get_problem("watson").n
    6
    >>> get_problem("quadratic", 3, condition=1e4).fun([1.0, 1.0, 1.0])
    0.0
    >>> get_problem("rosenbrock", noise=1e-3, noise_kind="multiplicative", seed=0).name
    'rosenbrock+noise(multiplicative,1e-3)'
    """
    spec = PROBLEMS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ArgumentValueError(
            f"unknown problem {name!r}; valid names: {', '.join(sorted(PROBLEMS))}"
        )
    dimensions = spec.dimensions
    size = dimensions.default if n is None else check_int(n, "n")
    if not dimensions.allows(size):
        raise ArgumentValueError(
            f"problem {name!r} is not defined for n={size}; n must be {dimensions}"
        )
    accepted = spec.options
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ArgumentValueError(
            f"problem {name!r} takes no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(accepted) or 'none'}"
        )
    if "seed" in accepted:
        options["seed"] = seed
    problem = spec.make(size, **options) if dimensions.variable else spec.make(**options)
    if noise is None:
        return problem
    return noisy(problem, kind=noise_kind, level=noise, seed=seed)


def list_problems() -> list[ProblemInfo]:
    """Describe every registered problem at its default dimension, in table order.

    Returns
    -------
    list of ProblemInfo
        ``(name, n, dimensions, f_star, description)`` for each problem.
    """
    rows = []
    for name, spec in PROBLEMS.items():
        problem = get_problem(name)
        rows.append(
            ProblemInfo(name, problem.n, str(spec.dimensions), problem.f_star, problem.description)
        )
    return rows
