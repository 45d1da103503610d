"""What every update rule shares: the ``(init, update)`` pair and its state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch

__all__ = ["Rule", "State", "Update"]

State = Any
"""A rule's state: a NamedTuple of tensors (``state._asdict()`` is a checkpoint)."""

Update = Callable[[torch.Tensor, State, torch.Tensor, float], "tuple[torch.Tensor, State]"]
"""``update(g, state, x, lr) -> (delta, new_state)``: the step ``x_new = x + delta``.

Pure: it returns new tensors and never modifies ``g``, ``state`` or ``x``. ``delta`` is
proportional to ``lr``, so a step can be rescaled (line search, backtracking after a
rejected point, ``lr="auto"``) by calling ``update`` again with another ``lr``.
"""


class Rule(NamedTuple):
    """An update rule: ``init(x) -> state`` and ``update(g, state, x, lr)``.

    ``precondition(state, d)``, where a rule has it, returns the state with ``d``
    (``(n,)``, positive), the inverse curvature along each coordinate when the loop
    knows it, as its preconditioner: L-BFGS's initial inverse Hessian, the heavy-ball
    rules' scaling of the gradient.
    ``restart(state)``, where a rule has it (Adam), returns the state started again
    after steps that overshot: the momentum dropped, what scales the step kept; without
    it the loop starts again from ``init(x)``.
    """

    init: Callable[[torch.Tensor], State]
    update: Update
    precondition: Callable[[State, torch.Tensor], State] | None = None
    restart: Callable[[State], State] | None = None
