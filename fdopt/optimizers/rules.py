"""First-order update rules: pure tensor math, state in, state out.

Each factory takes its settings model and returns a :class:`~fdopt.optimizers.Rule`.
``update(g, state, x, lr)`` returns ``(delta, new_state)`` with ``x_new = x + delta``;
the step size ``lr`` is given per call, so a schedule, a line search or a backtrack is
the caller's business and composes with every rule.

References
----------
.. [1] B. T. Polyak, "Some methods of speeding up the convergence of iteration
   methods", USSR Comp. Math. and Math. Phys. 4(5), 1964 (heavy ball).
.. [2] Y. Nesterov, "A method for solving the convex programming problem with
   convergence rate O(1/k^2)", Soviet Math. Dokl. 27, 1983.
.. [3] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
.. [4] S. J. Reddi, S. Kale and S. Kumar, "On the convergence of Adam and beyond",
   ICLR 2018 (AMSGrad).
.. [5] I. Loshchilov and F. Hutter, "Decoupled weight decay regularization", ICLR 2019.
.. [6] J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods", JMLR 12, 2011.
.. [7] J. Nocedal, "Updating quasi-Newton matrices with limited storage", Math. Comp.
   35(151), 1980; J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
   Springer, 2006, algorithm 7.4 (two-loop recursion).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from fdopt._tensor import matmul
from fdopt.optimizers._base import Rule
from fdopt.settings import (
    AdagradSettings,
    AdamSettings,
    GdSettings,
    LbfgsSettings,
    MomentumSettings,
    NesterovSettings,
    RmspropSettings,
    SpsaOptimizerSettings,
)

__all__ = ["adagrad", "adam", "gd", "lbfgs", "momentum", "nesterov", "rmsprop", "spsa"]


class Empty(NamedTuple):
    """The state of a rule without memory."""


class Velocity(NamedTuple):
    """Momentum buffer ``v`` and the diagonal ``D`` that scales the gradient (all 1: none)."""

    velocity: torch.Tensor
    diagonal: torch.Tensor


class Moments(NamedTuple):
    """Adam's state: step count, first and second moments, running max of the second."""

    steps: torch.Tensor
    first: torch.Tensor
    second: torch.Tensor
    max_second: torch.Tensor


class Accumulator(NamedTuple):
    """A running (RMSProp) or total (AdaGrad) sum of squared gradients."""

    squares: torch.Tensor


def _descent(settings: GdSettings | SpsaOptimizerSettings) -> Rule:
    def init(x: torch.Tensor) -> Empty:
        return Empty()

    def update(
        g: torch.Tensor, state: Empty, x: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, Empty]:
        return -lr * g, state

    return Rule(init, update)


def gd(settings: GdSettings) -> Rule:
    """Gradient descent: ``x <- x - lr g``.

    The Armijo line search (``line_search=True``) is run by the loop, which calls
    ``update`` with shrinking ``lr``.

    Examples
    --------
    >>> rule = gd(GdSettings())
    >>> rule.update(torch.tensor([2.0]), rule.init(torch.zeros(1)), torch.zeros(1), 0.5)[0]
    tensor([-1.])
    """
    return _descent(settings)


def spsa(settings: SpsaOptimizerSettings) -> Rule:
    """SPSA's step ``x <- x - a_k g_k``: descent along the perturbation estimate.

    The gains ``a_k`` and perturbations ``c_k`` come from
    :func:`fdopt.optimizers.schedules.spsa_gains`.
    """
    return _descent(settings)


def _heavy_ball(beta: float, lookahead: bool) -> Rule:
    def init(x: torch.Tensor) -> Velocity:
        return Velocity(torch.zeros_like(x), torch.ones_like(x))

    def update(
        g: torch.Tensor, state: Velocity, x: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, Velocity]:
        scaled = state.diagonal * g  # exactly g while D is all 1
        velocity = beta * state.velocity + scaled
        direction = scaled + beta * velocity if lookahead else velocity
        return -lr * direction, state._replace(velocity=velocity)

    def precondition(state: Velocity, diagonal: torch.Tensor) -> Velocity:
        return state._replace(diagonal=diagonal.to(state.diagonal))

    return Rule(init, update, precondition)


def momentum(settings: MomentumSettings) -> Rule:
    """Heavy ball [1]_: ``v <- momentum v + D g``, ``x <- x - lr v``.

    ``D`` is 1 unless the loop preconditions the rule (``precondition(state, D)``: the
    inverse curvature along each coordinate, which noisy runs measure).

    Examples
    --------
    >>> rule = momentum(MomentumSettings(momentum=0.5))
    >>> x, g = torch.zeros(1), torch.ones(1)
    >>> delta, state = rule.update(g, rule.init(x), x, 1.0)
    >>> rule.update(g, state, x + delta, 1.0)[0]
    tensor([-1.5000])
    """
    return _heavy_ball(settings.momentum, lookahead=False)


def nesterov(settings: NesterovSettings) -> Rule:
    """Nesterov momentum [2]_: ``v <- momentum v + D g``, ``x <- x - lr (D g + momentum v)``.

    ``D`` as in :func:`momentum`.
    """
    return _heavy_ball(settings.momentum, lookahead=True)


def adam(settings: AdamSettings) -> Rule:
    """Adam [3]_, with AMSGrad [4]_ and decoupled weight decay [5]_ as options.

    ``m <- b1 m + (1 - b1) g``, ``s <- b2 s + (1 - b2) g^2``, ``t <- t + 1``,
    ``x <- x - lr (m / (1 - b1^t)) / (sqrt(s' / (1 - b2^t)) + eps) - lr wd x``, where
    ``s'`` is ``s`` or (AMSGrad) the running maximum of ``s``. ``restart`` (after steps
    that overshot) sets ``m`` to 0 and keeps ``s`` and ``t``: the next step is
    ``lr (1 - b1) g / (1 - b1^t) / (sqrt(s' / (1 - b2^t)) + eps)``, scaled as before
    rather than ``lr sign(g)``.

    Examples
    --------
    >>> rule = adam(AdamSettings())
    >>> x = torch.zeros(2)
    >>> rule.update(torch.tensor([3.0, -0.5]), rule.init(x), x, 0.1)[0]
    tensor([-0.1000,  0.1000])
    """
    b1, b2, eps = settings.beta1, settings.beta2, settings.eps
    amsgrad, decay = settings.amsgrad, settings.weight_decay

    def init(x: torch.Tensor) -> Moments:
        zeros = torch.zeros_like(x)
        return Moments(torch.zeros((), dtype=x.dtype, device=x.device), zeros, zeros, zeros)

    def update(
        g: torch.Tensor, state: Moments, x: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, Moments]:
        steps = state.steps + 1
        first = b1 * state.first + (1 - b1) * g
        second = b2 * state.second + (1 - b2) * g * g
        max_second = torch.maximum(state.max_second, second) if amsgrad else state.max_second
        denominator = ((max_second if amsgrad else second) / (1 - b2**steps)).sqrt() + eps
        delta = -lr * (first / (1 - b1**steps)) / denominator
        if decay:
            delta = delta - lr * decay * x
        return delta, Moments(steps, first, second, max_second)

    def restart(state: Moments) -> Moments:
        return state._replace(first=torch.zeros_like(state.first))

    return Rule(init, update, restart=restart)


def _scaled_by_squares(decay: float | None, eps: float) -> Rule:
    def init(x: torch.Tensor) -> Accumulator:
        return Accumulator(torch.zeros_like(x))

    def update(
        g: torch.Tensor, state: Accumulator, x: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, Accumulator]:
        if decay is None:
            squares = state.squares + g * g
        else:
            squares = decay * state.squares + (1 - decay) * g * g
        return -lr * g / (squares.sqrt() + eps), Accumulator(squares)

    return Rule(init, update)


def rmsprop(settings: RmspropSettings) -> Rule:
    """RMSProp: ``s <- alpha s + (1 - alpha) g^2``, ``x <- x - lr g / (sqrt(s) + eps)``."""
    return _scaled_by_squares(settings.alpha, settings.eps)


def adagrad(settings: AdagradSettings) -> Rule:
    """AdaGrad [6]_: ``s <- s + g^2``, ``x <- x - lr g / (sqrt(s) + eps)``."""
    return _scaled_by_squares(None, settings.eps)


class Memory(NamedTuple):
    """L-BFGS's state: the last point and gradient, and the curvature pairs (oldest first).

    ``pairs`` of the ``memory`` rows of ``s`` and ``y`` are in use (the last ones).
    ``diagonal`` is the initial inverse Hessian's diagonal (all 0: ``(s'y / y'y) I``).
    """

    last_x: torch.Tensor
    last_g: torch.Tensor
    started: torch.Tensor
    pairs: torch.Tensor
    s: torch.Tensor
    y: torch.Tensor
    diagonal: torch.Tensor


def lbfgs(settings: LbfgsSettings) -> Rule:
    """L-BFGS [7]_: the direction ``-H g`` by the two-loop recursion.

    ``update(g, state, x, lr)`` first stores the pair ``s = x - x_last``,
    ``y = g - g_last`` when ``s'y > 1e-10 |s| |y|`` (else skips it), then returns
    ``lr * d`` with ``d = -H g``, ``H`` built from the pairs on ``H0 = (s'y / y'y) I``
    of the newest one; without pairs ``d = -g``. The loop's line search picks ``lr``.
    ``precondition(state, D)`` sets a diagonal ``D`` (inverse curvatures) in place of
    ``I``: ``H0 = (s'y / y'D y) D``, and ``d = -D g`` without pairs, so that a coordinate
    far stiffer than the others no longer dominates the direction.

    Examples
    --------
    >>> rule = lbfgs(LbfgsSettings())
    >>> A = torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64))
    >>> x0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> x1 = torch.tensor([0.5, 0.2], dtype=torch.float64)
    >>> _, state = rule.update(A @ x0, rule.init(x0), x0, 0.1)
    >>> delta, state = rule.update(A @ x1, state, x1, 1.0)
    >>> bool(int(state.pairs) == 1)
    True
    """
    memory = settings.memory

    def init(x: torch.Tensor) -> Memory:
        zeros = torch.zeros((memory, x.numel()), dtype=x.dtype, device=x.device)
        flag = torch.zeros((), dtype=torch.int64, device=x.device)
        return Memory(x.clone(), torch.zeros_like(x), flag, flag, zeros, zeros, zeros[0])

    def store(g: torch.Tensor, state: Memory, x: torch.Tensor) -> Memory:
        if not bool(state.started):
            return state
        s, y = x - state.last_x, g - state.last_g
        if not float(matmul(s, y)) > 1e-10 * float(s.norm() * y.norm()):
            return state  # curvature not safely positive: skip the pair
        pairs = min(int(state.pairs) + 1, memory)
        s_rows = torch.cat([state.s[1:], s[None]])
        y_rows = torch.cat([state.y[1:], y[None]])
        count = torch.tensor(pairs, dtype=torch.int64, device=x.device)
        return state._replace(pairs=count, s=s_rows, y=y_rows)

    def direction(g: torch.Tensor, state: Memory) -> torch.Tensor:
        pairs = int(state.pairs)
        diagonal = state.diagonal if state.diagonal.count_nonzero().item() else None
        if pairs == 0:
            return -g if diagonal is None else -diagonal * g
        s, y = state.s[-pairs:], state.y[-pairs:]
        rho = 1.0 / (s * y).sum(dim=1)
        q = g.clone()
        alphas = []
        for i in range(pairs - 1, -1, -1):
            alpha = rho[i] * matmul(s[i], q)
            q = q - alpha * y[i]
            alphas.append(alpha)
        if diagonal is None:
            r = q * (matmul(s[-1], y[-1]) / matmul(y[-1], y[-1]))
        else:
            r = diagonal * q * (matmul(s[-1], y[-1]) / matmul(y[-1], diagonal * y[-1]))
        for i, alpha in zip(range(pairs), reversed(alphas), strict=True):
            beta = rho[i] * matmul(y[i], r)
            r = r + s[i] * (alpha - beta)
        return -r

    def update(
        g: torch.Tensor, state: Memory, x: torch.Tensor, lr: float
    ) -> tuple[torch.Tensor, Memory]:
        stored = store(g, state, x)
        started = torch.ones((), dtype=torch.int64, device=x.device)
        return lr * direction(g, stored), stored._replace(
            last_x=x.clone(), last_g=g.clone(), started=started
        )

    def precondition(state: Memory, diagonal: torch.Tensor) -> Memory:
        return state._replace(diagonal=diagonal.to(state.diagonal))

    return Rule(init, update, precondition)
