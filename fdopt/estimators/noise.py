"""Noise estimation (ECnoise) and noise-aware finite-difference steps.

A function computed by a simulation, an iterative solver or a table lookup carries
*computational noise*: tiny, irregular errors far above machine precision. A
finite-difference step chosen for rounding error (``eps^(1/3)`` central) divides that
noise by a tiny step; :func:`auto_step` measures the noise with :func:`ecnoise` and
picks the step that balances it against the truncation error.

References
----------
J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM Journal on Scientific
Computing 33 (2011), 1292-1314.
J. J. Moré and S. M. Wild, "Estimating derivatives of noisy simulations", ACM
Transactions on Mathematical Software 38 (2012), 19:1-19:21.
"""

from __future__ import annotations

import math

import torch

from fdopt._validate import check_int
from fdopt.estimators._base import Bounds, Evaluate, default_step, magnitude
from fdopt.estimators._box import clip, room
from fdopt.estimators.stencil import fit_steps
from fdopt.evaluation import Evaluator
from fdopt.stencils import central_offsets, one_sided_offsets, weights

__all__ = ["auto_step", "ecnoise"]

_ATTEMPTS = 3
"""ECnoise tries: the first spacing, then up to two more 100 times larger or smaller."""

_TAU1, _TAU2 = 100.0, 0.1
"""Moré & Wild (2012): a difference must exceed ``_TAU1`` noise levels, and the values
it uses may differ by at most the fraction ``_TAU2``, for its derivative estimate to count."""
_WILD = 100.0
"""A coordinate whose values varied too much at Moré & Wild's second spacing, with a
difference this many times the unit derivative's, searches narrower spacings."""
_SEARCHES, _STRIDE = 4, 16.0
"""Tries beyond Moré & Wild's two for a spacing narrow enough to measure a derivative,
and the factor by which it shrinks while no narrower spacing is known."""


def ecnoise(
    evaluate: Evaluate,
    x: torch.Tensor,
    *,
    direction: torch.Tensor | None = None,
    points: int = 9,
    h: float | None = None,
    generator: torch.Generator | None = None,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, int]:
    r"""Estimate the noise level of a function at ``x`` (Moré & Wild's ECnoise).

    The function is sampled at :math:`x + i h p`, ``i = 0, ..., points - 1``, along a
    unit direction :math:`p`. For a smooth function plus noise of standard deviation
    :math:`\epsilon_f`, the ``k``-th differences of these values soon consist of noise
    alone, and

    .. math::

        \sigma_k = \sqrt{\gamma_k \operatorname{mean}\big((\Delta^k f)^2\big)}, \qquad
        \gamma_k = \frac{(k!)^2}{(2k)!}

    estimates :math:`\epsilon_f`. Following Moré & Wild, the estimate is the first
    :math:`\sigma_k` that agrees within a factor 4 with :math:`\sigma_{k+1}` and
    :math:`\sigma_{k+2}` and whose differences change sign. When the values vary by more
    than 10% the spacing is too large; when half the first differences are zero it is too
    small: the procedure then retries with ``h / 100`` or ``100 h`` (twice at most).

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` point, floating dtype.
    direction : torch.Tensor, optional
        ``(n,)`` sampling direction (normalized here); default: random with positive
        components, as in Moré & Wild's driver, its signs turned toward the side of each
        bound with more room.
    points : int
        Number of values in the difference table, at least 4 (Moré & Wild: 7 or more).
    h : float, optional
        Absolute spacing; default ``eps^(1/3) max(1, |x|_inf)``. Shortened so that the
        points stay within ``bounds``.
    generator : torch.Generator, optional
        Source of the random direction; default: one seeded with 0 (deterministic).
    bounds : Bounds, optional
        Box the points must stay in.
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, reused instead of evaluated.

    Returns
    -------
    noise : torch.Tensor
        ``(m,)`` noise level (standard deviation) per output; NaN where no noise was
        detected (Moré & Wild's ``inform`` 2 or 3 after the retries).
    nfev : int
        Function evaluations spent.

    References
    ----------
    J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM Journal on
    Scientific Computing 33 (2011), 1292-1314.

    Examples
    --------
    >>> x = torch.tensor([0.3, 0.7], dtype=torch.float64)
    >>> noise, nfev = ecnoise(lambda X: torch.exp(X).sum(1, keepdim=True), x)
    >>> bool(noise[0] < 1e-14), nfev
    (True, 9)
    """
    check_int(points, "points", minimum=4)
    down, up = room(x, bounds)
    if direction is None:
        if generator is None:
            generator = torch.Generator(device=x.device).manual_seed(0)
        direction = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        direction = torch.where(up >= down, direction, -direction)
    direction = direction.to(x) / torch.linalg.vector_norm(direction)
    along = torch.where(direction > 0, up, down) / (direction.abs() * (points - 1))
    limit = float(torch.where(direction != 0, along, float("inf")).min())
    spacing = h if h is not None else default_step(2, x.dtype) * float(magnitude(x.abs().max()))
    spacing = min(spacing, limit)

    steps = torch.arange(points, dtype=x.dtype, device=x.device)[:, None] * direction

    def sample(spacing: float) -> tuple[torch.Tensor, torch.Tensor, int]:
        nonlocal f0
        table = clip(x + spacing * steps, bounds)
        if f0 is None:
            values = evaluate(table)
            f0 = values[0]
            count = points
        else:
            values, count = torch.cat([f0[None], evaluate(table[1:])]), points - 1
        Evaluator.require_real("the noise estimate (step='auto')", values)
        return (*_ecnoise_table(values), count)

    noise, inform, nfev = sample(spacing)
    for _ in range(1, _ATTEMPTS):
        missing = inform[noise.isnan()]
        if missing.numel() == 0 or not bool((missing == missing[0]).all()):
            break
        # inform 2 (spacing too small) asks for 100 h, inform 3 (too large) for h / 100.
        wanted = min(spacing * (100.0 if int(missing[0]) == 2 else 0.01), limit)
        if wanted == spacing:
            break
        spacing = wanted
        estimate, inform, cost = sample(spacing)
        noise = torch.where(noise.isnan(), estimate, noise)
        nfev += cost
    return noise, nfev


def _ecnoise_table(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Moré & Wild's ECnoise on ``(points, m)`` equally spaced values, per column.

    Returns the noise estimate (NaN unless detected) and ``inform``: 1 noise detected,
    2 spacing too small, 3 spacing too large.
    """
    points = values.shape[0]
    fmax, fmin = values.amax(dim=0), values.amin(dim=0)
    too_large = (fmax - fmin) > 0.1 * torch.maximum(fmax.abs(), fmin.abs())
    levels, sign_change = [], []
    differences, gamma = values, 1.0
    too_small = torch.zeros_like(too_large)
    for k in range(1, points):
        differences = differences[1:] - differences[:-1]
        if k == 1:
            too_small = (differences == 0).sum(dim=0) >= points / 2
        gamma *= 0.5 * k / (2 * k - 1)
        levels.append(torch.sqrt(gamma * (differences**2).mean(dim=0)))
        sign_change.append(differences.amin(dim=0) * differences.amax(dim=0) < 0)
    level = torch.stack(levels)
    windows = level.unfold(0, 3, 1)  # (points - 3, m, 3)
    consistent = (windows.amax(dim=-1) <= 4 * windows.amin(dim=-1)) & torch.stack(
        sign_change[: points - 3]
    )
    found = consistent.any(dim=0)
    first = consistent.to(torch.int8).argmax(dim=0)
    noise = level.gather(0, first[None])[0]
    inform = torch.where(too_small, 2, torch.where(found, 1, 3))
    inform = torch.where(too_large, 3, inform)
    return torch.where(inform == 1, noise, float("nan")), inform


def auto_step(
    evaluate: Evaluate,
    x: torch.Tensor,
    *,
    order: int,
    one_sided: bool,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    r"""Choose steps that balance truncation and noise error (``step="auto"``).

    A first-derivative stencil of order :math:`p` with weights :math:`w_j` at offsets
    :math:`o_j` (in steps) errs by about :math:`K \mu h^p` (truncation, with
    :math:`K = |\sum_j w_j o_j^{p+1}| / (p+1)!` and :math:`\mu = |f^{(p+1)}|`) plus
    :math:`\|w\|_2 \epsilon_f / h` (noise of level :math:`\epsilon_f`). The sum is
    smallest at

    .. math::

        h = \left(\frac{\|w\|_2\, \epsilon_f}{p K \mu}\right)^{1/(p+1)},

    which is Moré & Wild's :math:`8^{1/4} (\epsilon_f / \mu_2)^{1/2}` for forward
    differences, and about :math:`(3 \epsilon_f / \mu_3)^{1/3}` for central ones.
    :math:`\epsilon_f` comes from :func:`ecnoise`, clamped below at
    :math:`\epsilon_{mach} \max(|f(x)|, 1)` (so a noise-free function gets the usual
    rounding-balanced step). :math:`\mu` is estimated per coordinate by a
    :math:`(p+1)`-th difference with Moré & Wild's (2012) safeguards, generalized from
    :math:`p = 1`: spacing :math:`H = \epsilon_f^{1/(p+3)}` (relative to
    :math:`\max(|f|, 1)` and :math:`\max(1, |x_i|)`), accepted when the difference
    exceeds 100 noise levels and the values vary by at most 10%; otherwise one retry at
    :math:`(\epsilon_f / \mu)^{1/(p+3)}`, accepted by the same test or when both
    estimates agree within a factor 2. Where no estimate is accepted, :math:`\mu` falls
    back to :math:`\max(|f(x)|, 1) / \max(1, |x_i|)^{p+1}`. For several outputs the
    step is the geometric mean of the outputs' steps.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of points, returning ``(k, m)`` values.
    x : torch.Tensor
        ``(n,)`` point, floating dtype.
    order : int
        Order of accuracy of the stencil the steps are for (even when central).
    one_sided : bool
        The stencil is one-sided (forward or backward) rather than central.
    bounds : Bounds, optional
        Box the points must stay in.
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, reused instead of evaluated.
    generator : torch.Generator, optional
        Source of :func:`ecnoise`'s random direction.
    noise : torch.Tensor, optional
        ``(m,)`` noise levels already measured at ``x``: :func:`ecnoise` is not run.

    Returns
    -------
    steps : torch.Tensor
        ``(n,)`` absolute steps.
    noise : torch.Tensor
        ``(m,)`` noise levels from :func:`ecnoise` (NaN where none was detected).
    nfev : int
        Function evaluations spent: ``ecnoise``'s plus ``(p + 1) n`` (more for retries).

    References
    ----------
    J. J. Moré and S. M. Wild, "Estimating derivatives of noisy simulations", ACM
    Transactions on Mathematical Software 38 (2012), 19:1-19:21.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> steps, noise, nfev = auto_step(lambda X: torch.exp(X).sum(1, keepdim=True), x,
    ...                                order=2, one_sided=False)
    >>> bool((steps > 1e-7).all() and (steps < 1e-3).all()), nfev
    (True, 15)
    """
    order = check_int(order, "order", minimum=1)
    if f0 is None:
        f0 = evaluate(x[None])[0]
        nfev = 1
    else:
        nfev = 0
    if noise is None:
        noise, cost = ecnoise(evaluate, x, generator=generator, bounds=bounds, f0=f0)
        nfev += cost
    eps = torch.finfo(x.dtype).eps
    scale = f0.abs().clamp(min=1.0)  # (m,)
    level = torch.maximum(torch.nan_to_num(noise, nan=0.0), eps * scale)

    q = order + 1
    mu, cost = _derivative_magnitude(evaluate, x, f0, q, level, scale, bounds)
    nfev += cost

    offsets = (
        one_sided_offsets(1, order, side="forward") if one_sided else central_offsets(1, order)
    )
    w = weights(1, offsets)
    truncation = abs(sum(wj * oj**q for wj, oj in zip(w, offsets, strict=True))) / math.factorial(q)
    amplification = math.sqrt(sum(wj * wj for wj in w))
    steps = (amplification * level[:, None] / (order * truncation * mu)) ** (1.0 / q)
    return _geometric_mean(steps), noise, nfev


def _derivative_magnitude(
    evaluate: Evaluate,
    x: torch.Tensor,
    f0: torch.Tensor,
    q: int,
    level: torch.Tensor,
    scale: torch.Tensor,
    bounds: Bounds | None,
) -> tuple[torch.Tensor, int]:
    """Estimate ``|d^q f / dx_i^q|`` per output and coordinate, ``(m, n)``, and the cost.

    Moré & Wild's (2012) two tries for the second derivative, generalized to order
    ``q``, in variables scaled by ``max(|f(x)|, 1)`` and ``max(1, |x_i|)``: their
    ``h_a = eps_f^(1/4)`` assumes a unit derivative, ``h_b = (eps_f / mu_a)^(1/4)``
    corrects for the one found. A coordinate whose values still varied too much, with
    a difference ``_WILD`` times the unit derivative's (an exponential's rate, say),
    is tried again at spacings ``_STRIDE`` times narrower, up to ``_SEARCHES`` times, or
    halfway (geometrically) to a spacing at which its difference was lost in the
    noise. Such a spacing ``H`` bounds the derivative by ``_TAU1 eps_f / H^q``: that
    bound stands in where the search ends unmeasured. Elsewhere an unmeasured
    derivative falls back to the unit one, ``max(|f(x)|, 1) / max(1, |x_i|)^q``.
    """
    unit = scale[:, None] / magnitude(x) ** q  # (m, n): the derivative h_a assumes
    relative = (level / scale).clamp(max=1.0)
    spacing = _geometric_mean(relative[:, None] ** (1.0 / (q + 2))) * magnitude(x)
    coords = torch.arange(x.numel(), device=x.device)
    first, big, varied, nfev = _difference(evaluate, x, f0, q, coords, spacing, level, bounds)
    mu = torch.where(big & (varied <= _TAU2), first, math.nan)
    retry = mu.isnan().any(dim=0)
    if bool(retry.any()):
        first = first[:, retry]
        correction = _geometric_mean((unit[:, retry] / first) ** (1.0 / (q + 2)))
        spacing = spacing[retry] * correction.nan_to_num(nan=1.0).clamp(0.01, 100.0)
        second, big, varied, cost = _difference(
            evaluate, x, f0, q, coords[retry], spacing, level, bounds
        )
        agree = (first - second).abs() <= 0.5 * torch.maximum(first, second)
        accepted = (big & (varied <= _TAU2)) | agree
        mu[:, retry] = torch.where(mu[:, retry].isnan() & accepted, second, mu[:, retry])
        nfev += cost
        # Far more curved than the unit derivative, and too wide to tell: search.
        wild = (varied > _TAU2).any(dim=0) & (second > _WILD * unit[:, retry]).any(dim=0)
        wild &= mu[:, retry].isnan().any(dim=0)
        if bool(wild.any()):
            mu, cost = _narrower(
                evaluate, x, f0, q, level, bounds, mu, coords[retry][wild], spacing[wild]
            )
            nfev += cost
    mu = torch.where(mu.isnan() | (mu <= 0), unit, mu)
    return mu, nfev


def _narrower(
    evaluate: Evaluate,
    x: torch.Tensor,
    f0: torch.Tensor,
    q: int,
    level: torch.Tensor,
    bounds: Bounds | None,
    mu: torch.Tensor,
    coords: torch.Tensor,
    wide: torch.Tensor,
) -> tuple[torch.Tensor, int]:
    """Search spacings narrower than ``wide`` along ``coords``, where values varied too much.

    ``mu`` (``(m, n)``, NaN where unmeasured) is returned completed where a narrower
    spacing measures the derivative or bounds it, with the points evaluated.
    """
    narrow = torch.full_like(wide, math.nan)  # widest spacing lost in the noise
    nfev = 0
    for _ in range(_SEARCHES):
        todo = mu[:, coords].isnan().any(dim=0)
        if not bool(todo.any()):
            break
        coords, low, high = coords[todo], narrow[todo], wide[todo]
        spacing = torch.where(low.isnan(), high / _STRIDE, (low * high).sqrt())
        found, big, varied, cost = _difference(evaluate, x, f0, q, coords, spacing, level, bounds)
        nfev += cost
        smooth = varied <= _TAU2
        mu[:, coords] = torch.where(mu[:, coords].isnan() & big & smooth, found, mu[:, coords])
        rough = ~smooth.all(dim=0)  # too wide still; else lost in the noise
        wide, narrow = torch.where(rough, spacing, high), torch.where(rough, low, spacing)
    # A spacing lost in the noise bounds the derivative (NaN where none was).
    bound = _TAU1 * level[:, None] / narrow**q
    mu[:, coords] = torch.where(mu[:, coords].isnan(), bound, mu[:, coords])
    return mu, nfev


def _geometric_mean(values: torch.Tensor) -> torch.Tensor:
    """Geometric mean over the first axis (the outputs)."""
    return values.log().mean(dim=0).exp()


def _difference(
    evaluate: Evaluate,
    x: torch.Tensor,
    f0: torch.Tensor,
    q: int,
    coords: torch.Tensor,
    spacing: torch.Tensor,
    level: torch.Tensor,
    bounds: Bounds | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """``|q-th difference| / H^q`` along ``coords`` at spacings ``H``, and its two tests.

    Uses ``q + 1`` consecutive points including ``x``: centred when they fit in the box,
    else toward the side with more room. Accepted (Moré & Wild 2012): the difference
    exceeds ``_TAU1`` noise levels and the values differ by at most the fraction
    ``_TAU2``. Returns ``(m, c)`` magnitudes, whether each difference is big enough and
    how much its values varied (their spread over the largest), and the points evaluated.
    """
    sub = None if bounds is None else Bounds(bounds.lower[coords], bounds.upper[coords])
    starts = (-(q // 2), 0, -q)  # centred, forward, backward
    stencils = [tuple(range(s, s + q + 1)) for s in starts]
    kind, h = fit_steps(x[coords], spacing, sub, stencils)
    if kind is None:  # no bounds: centred everywhere
        kind = torch.zeros_like(coords)
    start = x.new_tensor(starts, dtype=torch.long)[kind]  # (c,)
    # The q offsets other than 0, in increasing order.
    offsets = start + torch.arange(q, device=x.device)[:, None]
    offsets = offsets + (offsets >= 0).to(offsets.dtype)  # (q, c)
    c, n = coords.numel(), x.numel()
    points = x.expand(q * c, n).clone()
    moves = (offsets * h).to(x.dtype)
    points.view(q, c, n)[:, torch.arange(c, device=x.device), coords] += moves
    values = evaluate(clip(points, bounds)).reshape(q, c, -1).permute(0, 2, 1)  # (q, m, c)

    binomial = x.new_tensor(weights(q, range(q + 1)))  # q-th difference weights
    difference = (binomial[offsets - start][:, None, :] * values).sum(dim=0)
    difference = difference + binomial[-start] * f0[:, None]
    magnitudes = torch.cat([values.abs(), f0.abs()[None, :, None].expand(1, -1, c)])
    largest = magnitudes.amax(dim=0)
    spread = largest - magnitudes.amin(dim=0)
    big = difference.abs() >= _TAU1 * level[:, None]
    varied = torch.where(largest > 0, spread / largest, 0.0)
    return difference.abs() / h**q, big, varied, points.shape[0]
