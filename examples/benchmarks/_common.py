"""Pieces the optimization benchmarks share: the budget signal and nevergrad, made to run.

Imported by ``optimize.py`` and ``data_profiles.py``, which run as scripts from this
folder (so ``_common`` is found on ``sys.path``); not part of the fdopt package.

- :func:`markdown_table` prints a right-aligned markdown table.
- :class:`Exhausted` ends a solver that cannot be held to a hard budget of evaluations.
- ``nevergrad`` is the nevergrad module, or None when the optional peer is not
  installed (the ``benchmark`` extra). Importing this module works around a crash of
  nevergrad 1.0.12 under numpy 2.x: its meta-model calls ``float()`` on a 1-element
  array, a ``TypeError`` that escapes ``ask()``; it is turned into the
  ``MetaModelFailure`` that NGOpt already falls back on.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["Exhausted", "markdown_table", "nevergrad"]

nevergrad: ModuleType | None
try:
    import nevergrad
    from nevergrad.optimization import metamodel, optimizerlib
except ImportError:  # an optional peer (the `benchmark` extra)
    nevergrad = None
else:
    _learn_on_k_best = metamodel.learn_on_k_best

    def _learn_or_fail(*args: Any, **kwargs: Any) -> Any:
        # nevergrad 1.0.12's meta-model calls float() on a 1-element array, a TypeError
        # under numpy 2.x; report it as the MetaModelFailure NGOpt already falls back on.
        try:
            return _learn_on_k_best(*args, **kwargs)
        except TypeError as error:
            raise metamodel.MetaModelFailure(str(error)) from error

    optimizerlib.learn_on_k_best = _learn_or_fail


class Exhausted(Exception):
    """The budget is spent: ends a peer that cannot be given a hard budget."""


def markdown_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print ``title``, then ``header`` and ``rows`` as a right-aligned markdown table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}\n")
    for cells in (header, *rows):
        print("| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |")
        if cells is header:
            print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
