"""Callbacks for ``scipy.optimize.minimize`` and ``fdopt.minimize``: record, stop early, show.

Each callback is called once per iteration as ``callback(intermediate_result)`` with an
``OptimizeResult`` holding at least ``x`` and usually ``fun`` (``fdopt.minimize`` adds
``nit``, ``nfev`` and ``jac`` when known). The same object works unchanged with both:

- ``scipy.optimize.minimize`` inspects the callback's signature; a callable whose only
  parameter is named ``intermediate_result`` (as here) is called
  ``callback(intermediate_result=OptimizeResult(x=..., fun=...))``, anything else
  ``callback(xk)`` with a copy of the point. scipy 1.17 passes only ``x`` and ``fun`` for
  Nelder-Mead, Powell, CG, BFGS, Newton-CG, L-BFGS-B, SLSQP and COBYQA; COBYLA adds
  ``nit`` and ``nfev``; trust-constr passes its whole state. TNC always calls
  ``callback(xk)``: the callbacks accept a bare array too, as a result with only ``x``.
- ``fdopt.minimize`` calls ``callback(intermediate_result)`` positionally.

A callback stops a run by raising ``StopIteration`` (what :class:`EarlyStopping` does).
scipy 1.17 then returns the last iterate with ``success=False``, ``status=99`` and
``message="`callback` raised `StopIteration`."`` for Nelder-Mead, Powell, CG, BFGS,
Newton-CG, L-BFGS-B and SLSQP. Other methods answer in their own words: trust-constr
``status=3``, ``success=False`` (same message); COBYLA ``status=30``, ``success=False``;
COBYQA ``status=3`` with ``success=True``; TNC does not catch it, so ``StopIteration``
propagates out of ``minimize``.

Where the intermediate result has no ``nit`` (most scipy methods), the callbacks count
their own calls instead, starting at 1. scipy's Nelder-Mead counts its initial simplex as
an iteration, so there the callback runs ``res.nit - 1`` times; for the other methods it
runs ``res.nit`` times.

A :class:`Recorder` is a sequence, so an empty one is falsy: an optimizer that accepts
these callbacks should test ``callback is None``, not ``if callback``.
"""

from fdopt.callbacks.early_stopping import EarlyStopping
from fdopt.callbacks.progress import ProgressBar
from fdopt.callbacks.recorder import Record, Recorder

__all__ = ["EarlyStopping", "ProgressBar", "Record", "Recorder"]
