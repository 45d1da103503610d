"""Randomized gradient estimators: simultaneous perturbation (SPSA) and Gaussian smoothing.

Both perturb every coordinate at once along random directions ``u`` and average
``samples`` directional differences, so one estimate costs ``2 samples`` evaluations
(``samples + 1`` one-sided) whatever ``n``. Randomness comes only from a
``torch.Generator`` seeded from the settings (never torch's global generator): the same
seed gives the same estimate.

Bounds: every point stays in the box. A coordinate whose perturbation radius ``c``
exceeds half the box width gets ``c`` shrunk to it, and a coordinate closer than ``c``
to a bound has the centre of the perturbation moved inward to ``lower + c`` (or
``upper - c``): the estimate there is, in effect, one-sided, with an ``O(c)`` bias
instead of ``O(c^2)``. Gaussian directions are unbounded, so a sample whose direction
would still leave the box is scaled down as a whole (its difference quotient divides by
the smaller step, which keeps it unbiased on quadratics).
"""

from __future__ import annotations

import math

import torch

from fdopt.errors import ArgumentValueError
from fdopt.estimators._base import Bounds, Estimate, Evaluate, default_step, magnitude
from fdopt.estimators._box import clip, room
from fdopt.settings import SmoothingSettings, SpsaSettings

__all__ = ["make_generator", "smoothing", "spsa"]


def make_generator(seed: int | None, device: torch.device) -> torch.Generator:
    """Return a fresh generator on ``device``, seeded with ``seed`` (None: from entropy)."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def spsa(
    evaluate: Evaluate,
    x: torch.Tensor,
    settings: SpsaSettings,
    *,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""Simultaneous-perturbation (SPSA) Jacobian estimate.

    With Rademacher directions :math:`\Delta_k \in \{-1, +1\}^n` and perturbation size
    :math:`c`,

    .. math::

        \hat g = \frac{1}{K} \sum_{k=1}^{K}
            \frac{f(x + c \Delta_k) - f(x - c \Delta_k)}{2 c} \, \Delta_k

    (:math:`1 / \Delta_{ki} = \Delta_{ki}`), unbiased for linear functions and with
    :math:`O(c^2)` bias otherwise. All ``2 K`` points go out in one batch.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` point, floating dtype.
    settings : SpsaSettings
        ``step`` (``c`` relative to ``max(1, |x|_inf)``; default ``eps^(1/3)``),
        ``samples`` K and ``seed``.
    bounds : Bounds, optional
        Box the points must stay in (see the module notes).
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``; not needed (two-sided), passed through.
    generator : torch.Generator, optional
        Draw the directions from this generator instead of one seeded with
        ``settings.seed`` (an optimizer loop passes one that advances between calls).

    Returns
    -------
    Estimate
        ``value``: ``(m, n)``; ``error``: its standard error across samples (None for
        one sample); ``nfev``: ``2 K``; ``step``: the ``(n,)`` perturbation sizes.

    References
    ----------
    J. C. Spall, "Multivariate stochastic approximation using a simultaneous
    perturbation gradient approximation", IEEE Transactions on Automatic Control 37
    (1992), 332-341.

    Examples
    --------
    >>> a = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    >>> est = spsa(lambda X: X @ a[:, None], torch.zeros(3, dtype=torch.float64),
    ...            SpsaSettings(samples=20000, seed=0))
    >>> bool(((est.value[0] - a).abs() < 5 * est.error[0]).all()), est.nfev
    (True, 40000)
    """
    generator = generator or make_generator(settings.seed, x.device)
    shape = (settings.samples, x.numel())
    directions = torch.randint(0, 2, shape, generator=generator, device=x.device).to(x.dtype)
    directions = 2.0 * directions - 1.0
    step = settings.step if settings.step is not None else default_step(2, x.dtype)
    return _directional(evaluate, x, directions, step, bounds, antithetic=True, f0=f0)


def smoothing(
    evaluate: Evaluate,
    x: torch.Tensor,
    settings: SmoothingSettings,
    *,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""Gaussian-smoothing Jacobian estimate.

    With directions :math:`u_k \sim N(0, I)` and smoothing radius :math:`\sigma`,
    antithetic (``settings.antithetic``, the default):

    .. math::

        \hat g = \frac{1}{K} \sum_{k=1}^{K}
            \frac{f(x + \sigma u_k) - f(x - \sigma u_k)}{2 \sigma} \, u_k,

    otherwise :math:`\frac{1}{K} \sum_k (f(x + \sigma u_k) - f(x)) u_k / \sigma`, with
    ``f(x)`` evaluated once (or taken from ``f0``). Both are unbiased estimates of the
    gradient of the smoothed function :math:`E_u f(x + \sigma u)`, hence of the
    gradient itself for quadratics. All points go out in one batch.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` point, floating dtype.
    settings : SmoothingSettings
        ``step`` (:math:`\sigma` relative to ``max(1, |x|_inf)``; default
        ``eps^(1/3)`` antithetic, ``eps^(1/2)`` one-sided), ``samples`` K,
        ``antithetic`` and ``seed``.
    bounds : Bounds, optional
        Box the points must stay in (see the module notes).
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, reused by the one-sided form.
    generator : torch.Generator, optional
        Draw the directions from this generator instead of one seeded with
        ``settings.seed``.

    Returns
    -------
    Estimate
        ``value``: ``(m, n)``; ``error``: its standard error across samples (None for
        one sample); ``nfev``: ``2 K`` antithetic, else ``K + 1`` (``K`` with ``f0``);
        ``step``: the ``(n,)`` radii; ``f0``: values at ``x`` when known.

    References
    ----------
    Y. Nesterov and V. Spokoiny, "Random gradient-free minimization of convex
    functions", Foundations of Computational Mathematics 17 (2017), 527-566.

    Examples
    --------
    >>> est = smoothing(lambda X: (X**2).sum(1, keepdim=True),
    ...                 torch.tensor([1.0, -1.0], dtype=torch.float64),
    ...                 SmoothingSettings(samples=20000, seed=0))
    >>> bool(((est.value[0] - torch.tensor([2.0, -2.0])).abs() < 5 * est.error[0]).all())
    True
    """
    generator = generator or make_generator(settings.seed, x.device)
    shape = (settings.samples, x.numel())
    directions = torch.randn(shape, generator=generator, dtype=x.dtype, device=x.device)
    order = 2 if settings.antithetic else 1
    step = settings.step if settings.step is not None else default_step(order, x.dtype)
    return _directional(
        evaluate, x, directions, step, bounds, antithetic=settings.antithetic, f0=f0
    )


def _directional(
    evaluate: Evaluate,
    x: torch.Tensor,
    directions: torch.Tensor,
    step: float,
    bounds: Bounds | None,
    *,
    antithetic: bool,
    f0: torch.Tensor | None,
) -> Estimate:
    """Average the directional differences along the ``(K, n)`` ``directions``.

    Coordinate ``i`` moves by ``s_k r_i u_ki``: ``r`` the radius (``step`` relative to
    ``max(1, |x|_inf)``, shrunk to half the box width), ``s_k <= 1`` the per-sample
    scale that keeps the points in the box around the (possibly moved) centre.
    """
    samples = directions.shape[0]
    down, up = room(x, bounds)
    radius = torch.minimum(step * magnitude(x.abs().max()).expand_as(x), (down + up) / 2)
    if bool((radius <= 0).any()):
        index = int(torch.nonzero(radius <= 0)[0, 0])
        raise ArgumentValueError(
            f"bounds leave no room to perturb coordinate {index}: lower == upper"
        )
    # Move the centre inward where a bound is closer than the radius.
    centre = torch.minimum(torch.maximum(x, x - down + radius), x + up - radius)
    shift = centre - x
    reach = torch.minimum(down + shift, up - shift) / radius  # >= 1, in radii
    scale = (reach / directions.abs()).amin(dim=1).clamp(max=1.0)  # (K,)
    moves = scale[:, None] * radius * directions

    at_x = not bool(shift.any())
    if antithetic:
        points = torch.cat([centre + moves, centre - moves])
        values = evaluate(clip(points, bounds))
        quotients = (values[:samples] - values[samples:]) / (2.0 * scale[:, None])
    else:
        base = f0 if at_x else None
        points = centre + moves if base is not None else torch.cat([centre[None], centre + moves])
        values = evaluate(clip(points, bounds))
        if base is None:
            base, values = values[0], values[1:]
            f0 = base if at_x else f0
        quotients = (values - base) / scale[:, None]
    per_sample = quotients[:, :, None] * (directions / radius)[:, None, :]  # (K, m, n)
    error = None
    if samples >= 2:
        error = per_sample.std(dim=0) / math.sqrt(samples)
    return Estimate(
        value=per_sample.mean(dim=0), nfev=points.shape[0], error=error, f0=f0, step=radius
    )
