r"""Complex-step derivatives: exact to rounding, for analytic functions.

For a function analytic at ``x`` and real on the reals, a Taylor expansion along the
imaginary axis gives

.. math::

    f(x + i h e_k) = f(x) + i h \, \partial_k f(x) - \frac{h^2}{2} \partial_k^2 f(x)
    + O(h^3),

so :math:`\partial_k f(x) = \operatorname{Im} f(x + i h e_k) / h + O(h^2)` with no
subtraction, hence no cancellation: the step can be tiny (default ``1e-20``) and the
result is exact to rounding.

References
----------
J. R. R. A. Martins, P. Sturdza and J. J. Alonso, "The complex-step derivative
approximation", ACM Transactions on Mathematical Software 29 (2003), 245-262.

W. Squire and G. Trapp, "Using complex variables to estimate derivatives of real
functions", SIAM Review 40 (1998), 110-112.
"""

from __future__ import annotations

import math

import torch

from fdopt.errors import ArgumentValueError, FunctionOutputError
from fdopt.estimators._base import Bounds, Estimate, Evaluate, magnitude
from fdopt.settings import ComplexSettings

__all__ = ["complex_step", "default_complex_step"]

DEFAULT_STEP = 1e-20
"""Relative imaginary step in float64 and float32: far below any truncation error, far
above underflow. See :func:`default_complex_step` for the others."""


def default_complex_step(dtype: torch.dtype) -> float:
    """Return the default relative imaginary step for ``x`` of ``dtype``.

    :data:`DEFAULT_STEP`, or the square root of the smallest normal number where that is
    larger: in float16 (smallest normal 6e-5) a step of 1e-20 is 0 and every derivative
    NaN, where ``h = 8e-3`` errs by ``h^2`` relative, below float16's rounding.
    """
    return max(DEFAULT_STEP, math.sqrt(torch.finfo(dtype).tiny))


def complex_step(
    evaluate: Evaluate,
    x: torch.Tensor,
    settings: ComplexSettings,
    *,
    bounds: Bounds | None = None,
    f0: torch.Tensor | None = None,
) -> Estimate:
    r"""Jacobian by the complex step: ``J[:, k] = Im f(x + i h_k e_k) / h_k``.

    .. math::

        J_{:, k} = \frac{\operatorname{Im} f(x + i h_k e_k)}{h_k} + O(h_k^2),
        \qquad h_k = 10^{-20} \max(1, |x_k|) \text{ by default}

    (larger in float16: :func:`default_complex_step`).

    Costs ``n`` evaluations of ``fun`` at complex points (the complex dtype of ``x``'s
    precision), all in one batch. With the default step (any relative step up to
    ``sqrt(eps)``) the real parts equal ``f(x)`` to rounding, so ``f0`` comes for free.

    Parameters
    ----------
    evaluate : Evaluate
        Evaluates a ``(k, n)`` batch of complex points, returning ``(k, m)`` complex
        values.
    x : torch.Tensor
        ``(n,)`` real point.
    settings : ComplexSettings
        ``step``: the imaginary step relative to ``max(1, |x_k|)``.
    bounds : Bounds, optional
        Ignored: the real part of every point is ``x``, which the caller has checked is
        inside the box.
    f0 : torch.Tensor, optional
        ``(m,)`` values at ``x``, if known; passed through to the estimate.

    Returns
    -------
    Estimate
        ``(m, n)`` Jacobian, ``nfev = n``, ``f0``, absolute ``step``.

    Raises
    ------
    FunctionOutputError
        When ``fun`` returns real values for complex points: it drops the imaginary part.
        A function that discards it yet returns a complex dtype (``np.real`` inside,
        then ``+ 0j``) cannot be told apart from one with a zero derivative; its
        Jacobian comes out as zeros.

    References
    ----------
    J. R. R. A. Martins, P. Sturdza and J. J. Alonso, ACM TOMS 29 (2003), 245-262.

    Examples
    --------
    >>> x = torch.tensor([0.5, 2.0], dtype=torch.float64)
    >>> fun = lambda points: torch.exp(points).sum(1, keepdim=True)
    >>> estimate = complex_step(fun, x, ComplexSettings())
    >>> estimate.value, torch.exp(x)
    (tensor([[1.6487, 7.3891]], dtype=torch.float64), tensor([1.6487, 7.3891], dtype=torch.float64))
    >>> float((estimate.value[0] - torch.exp(x)).abs().max()) < 1e-15
    True
    """
    relative = default_complex_step(x.dtype) if settings.step is None else settings.step
    h = relative * magnitude(x)
    if not h.min().item() > 0:
        raise ArgumentValueError(
            f"step={relative!r} underflows to 0 in {x.dtype}; take a relative step of at "
            f"least {torch.finfo(x.dtype).tiny:.1e} there, or the default"
        )
    complex_dtype = torch.promote_types(x.dtype, torch.complex64)
    points = x.to(complex_dtype).repeat(x.shape[0], 1) + torch.diag(h).to(complex_dtype) * 1j
    values = evaluate(points)
    if not values.is_complex():
        raise FunctionOutputError(
            f"method='complex' needs fun to propagate complex numbers, but it returned "
            f"{values.dtype} values for complex points: it drops the imaginary part (for "
            f"example with float(), abs(), np.real or a cast to a real dtype). Make fun "
            f"analytic in x, or use method='central'."
        )
    if f0 is None and relative <= torch.finfo(x.dtype).eps ** 0.5:
        f0 = values[0].real.to(x.dtype)
    value = (values.imag.to(x.dtype) / h[:, None]).T
    return Estimate(value, nfev=points.shape[0], f0=f0, step=h)
