"""Plain loops driven by an lrcore schedule, and the LR table that graph adapters index.

A loop asks for its learning rates once, as an array: ``lrs = s.array(n)`` (or
``table(s, steps)``), and step t uses ``lrs[t]``.  The SGD update follows
``torch.optim.SGD`` (dampening 0), with the momentum m_t of step t a number or one
per step (``m.array(n)`` of a momentum schedule, as one-cycle drives it)::

    b_t = m_t * b_{t-1} + g_t               (b_{-1} = 0)
    d_t = g_t + m_t * b_t if nesterov else b_t
    x_{t+1} = x_t - lr_t * d_t

A step whose momentum is 0 takes d_t = g_t and leaves b as it was, as torch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrcore import iterate
from lrcore._internal import (  # the table graph adapters index; public here as before
    MAX_TABLE,
    check,
    njit,  # numba's njit, caching only where a cache directory is writable
    table,
)

__all__ = ["MAX_TABLE", "iterate", "sgd_least_squares_numba", "sgd_numpy", "table"]

def _lrs(where: str, lrs: Any) -> np.ndarray:
    values = np.asarray(lrs, dtype=np.float64)
    if values.ndim != 1:
        raise check.fail(where, "lrs", "must be a 1-d array of learning rates", lrs)
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise check.fail(where, "lrs", "must hold finite numbers >= 0", lrs)
    return values


def _momentum(where: str, momentum: Any, nesterov: bool, n: int) -> tuple[np.ndarray, bool]:
    """The momentum of each of the n steps: a number for all of them, or an array of n."""
    nesterov = check.flag(where, "nesterov", nesterov)
    if isinstance(momentum, (list, tuple, np.ndarray)):
        raw = np.asarray(momentum)
        if raw.dtype.kind not in "iuf":
            raise check.fail(where, "momentum", "must be a number or an array of numbers", momentum, TypeError)
        values = raw.astype(np.float64)
        if values.shape != (n,):
            rule = f"must be a number or a 1-d array of length {n} (one per step, as lrs); its shape is {raw.shape}"
            raise check.fail(where, "momentum", rule, momentum)
        bad = ~((values >= 0) & (values < 1))  # NaN fails both
        if bad.any():
            i = int(np.argmax(bad))
            rule = f"must hold numbers in [0, 1) (element {i} is {float(values[i])!r})"
            raise check.fail(where, "momentum", rule, momentum)
    else:
        values = np.full(n, check.number(where, "momentum", momentum, ge=0, lt=1))
    if nesterov and not (values > 0).all():
        raise check.fail(where, "nesterov", "needs momentum > 0 at every step", nesterov)
    return values, nesterov


def sgd_numpy(
    grad_fn: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: Any,
    lrs: Any,
    momentum: Any = 0.0,
    nesterov: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """SGD with momentum for ``len(lrs)`` steps; `grad_fn(x)` returns ``(loss, gradient)``.

    `momentum` is a number in [0, 1) or an array with one per step (``len(lrs)`` of them).
    Returns the final x and ``history[t]``, the loss at x_t (before update t).
    """
    w = "sgd_numpy"
    if not callable(grad_fn):
        raise check.fail(w, "grad_fn", "must be callable", grad_fn, TypeError)
    values = _lrs(w, lrs)
    momenta, nesterov = _momentum(w, momentum, nesterov, values.shape[0])
    x = np.array(x0, dtype=np.float64)
    buf = np.zeros_like(x)
    history = np.empty(values.shape[0])
    for t, (lr, m) in enumerate(zip(values.tolist(), momenta.tolist(), strict=True)):
        loss, grad = grad_fn(x)
        history[t] = loss
        if m:
            buf = m * buf + grad
            grad = grad + m * buf if nesterov else buf
        x = x - lr * grad
    return x, history


@njit(cache=True)
def _least_squares(a, b, x, lrs, momenta, nesterov, history):
    # Plain loops rather than `@`: numba's matrix product needs SciPy's BLAS, which lrcore does not require.
    m, d = a.shape
    buf = np.zeros(d)
    grad = np.empty(d)
    for t in range(lrs.shape[0]):
        grad[:] = 0.0
        loss = 0.0
        for i in range(m):
            r = -b[i]
            for j in range(d):
                r += a[i, j] * x[j]
            loss += r * r
            for j in range(d):
                grad[j] += a[i, j] * r
        history[t] = 0.5 * loss / m
        mu = momenta[t]
        for j in range(d):
            g = grad[j] / m
            if mu != 0.0:
                buf[j] = mu * buf[j] + g
                g = g + mu * buf[j] if nesterov else buf[j]
            x[j] -= lrs[t] * g
    return x


def sgd_least_squares_numba(
    A: Any, b: Any, x0: Any, lrs: Any, momentum: Any = 0.0, nesterov: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """`sgd_numpy` on ``f(x) = ||A x - b||^2 / (2 m)`` (A is m x d), compiled with numba.

    The gradient is ``A^T (A x - b) / m``; `momentum` is a number or one per step, as for
    `sgd_numpy`.  Returns the final x and the loss history.
    """
    w = "sgd_least_squares_numba"
    a = np.ascontiguousarray(A, dtype=np.float64)
    rhs = np.ascontiguousarray(b, dtype=np.float64)
    x = np.array(x0, dtype=np.float64)
    if a.ndim != 2:
        raise check.fail(w, "A", "must be a 2-d array", A)
    if rhs.shape != (a.shape[0],):
        raise check.fail(w, "b", f"must have shape ({a.shape[0]},) to match A", b)
    if x.shape != (a.shape[1],):
        raise check.fail(w, "x0", f"must have shape ({a.shape[1]},) to match A", x0)
    values = _lrs(w, lrs)
    momenta, nesterov = _momentum(w, momentum, nesterov, values.shape[0])
    history = np.empty(values.shape[0])
    x = _least_squares(a, rhs, x, values, momenta, nesterov, history)
    return x, history
