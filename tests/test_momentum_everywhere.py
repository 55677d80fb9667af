"""One-cycle with its momentum, run in four places on one least-squares problem: a torch loop driven by
``lrcore.adapters.torch.Scheduler(opt, s, momentum=m)``, optax through ``inject_hyperparams`` under
jit, Keras on the JAX backend with ``Schedule`` and ``HyperCallback``, and the plain numba loop.

Every update uses the same lr and momentum in all four (s(t) and m(t), rounded once to float32
where the framework trains in float32), read from what each one applied: torch's param group and
optax's injected hyperparameters at every step, Keras' weights after every step.  torch, optax and
the plain loop apply SGD in torch's form (b = m b + g; w -= lr b) and end on the same weights.  Keras'
SGD keeps the lr inside its velocity (v = m v - lr g; w += v), a different method once the lr
changes from step to step; it is held to that form, step by step, and shown to differ from torch's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import torch

import lrcore as lr
from lrcore.adapters import sgd
from lrcore.adapters.keras import HyperCallback, Schedule
from lrcore.adapters.optax import schedule
from lrcore.adapters.torch import Scheduler

N = 60  # updates, one per full batch
PEAK = 0.1
S = lr.one_cycle(peak=PEAK, steps=N)
# One-cycle's momentum: 0.95 down to 0.85 while the lr rises (30 % of the run), back up while it falls.
M = lr.interpolate(points=[(0, 0.95), (0.3 * N, 0.85), (N, 0.95)], shape="cosine")

rng = np.random.default_rng(11)
A = rng.normal(size=(32, 4)).astype(np.float32).astype(np.float64)  # data every framework holds exactly
B = (A @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=32)).astype(np.float32).astype(np.float64)
ROWS = A.shape[0]


def _grad(w):
    """Of f(w) = |A w - b|^2 / (2 m), the objective sgd_least_squares_numba minimises."""
    return A.T @ (A @ w - B) / ROWS


def run_torch():
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=PEAK, momentum=0.9)
    sched = Scheduler(opt, S, momentum=M)
    at, bt = torch.from_numpy(A), torch.from_numpy(B)
    lrs, momenta = [], []
    for _ in range(N):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.zero_grad()
        (0.5 * ((at @ w - bt) ** 2).mean()).backward()
        opt.step()
        sched.step()
    return w.detach().numpy(), np.array(lrs), np.array(momenta)


def run_optax():
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(S), momentum=schedule(M))
    a, b = jnp.asarray(A, jnp.float32), jnp.asarray(B, jnp.float32)

    @jax.jit
    def step(w, state):
        grads = jax.grad(lambda w: 0.5 * jnp.mean((a @ w - b) ** 2))(w)
        updates, state = opt.update(grads, state, w)
        return optax.apply_updates(w, updates), state

    w = jnp.zeros(4, jnp.float32)
    state = opt.init(w)
    lrs, momenta = [], []
    for _ in range(N):
        w, state = step(w, state)
        lrs.append(float(state.hyperparams["learning_rate"]))  # what this update used
        momenta.append(float(state.hyperparams["momentum"]))
    return np.asarray(w, np.float64), np.array(lrs), np.array(momenta)


class _Weights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.w = []

    def on_train_batch_end(self, batch, logs=None):
        self.w.append(keras.ops.convert_to_numpy(self.model.weights[0].value).ravel().astype(np.float64))


def run_keras():
    assert keras.backend.backend() == "jax"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=Schedule(S), momentum=0.9),
                  loss=lambda y, p: 0.5 * keras.ops.mean(keras.ops.square(p - y)))
    weights = _Weights()
    model.fit(A.astype(np.float32), B.astype(np.float32)[:, None], batch_size=ROWS, epochs=N, verbose=0,
              shuffle=False, callbacks=[HyperCallback({"momentum": M}, per="batch"), weights])
    return np.array(weights.w)


def _keras_form(lrs, momenta):
    """Keras' SGD written out: the weights after every update."""
    w, v, out = np.zeros(4), np.zeros(4), []
    for lr_t, m_t in zip(lrs, momenta, strict=True):
        v = m_t * v - lr_t * _grad(w)
        w = w + v
        out.append(w)
    return np.array(out)


def test_one_cycle_with_its_momentum_runs_the_same_in_torch_optax_keras_and_the_plain_loop():
    lrs, momenta = S.array(N), M.array(N)
    lrs32, momenta32 = S.array(N, dtype=np.float32), M.array(N, dtype=np.float32)

    w_torch, torch_lrs, torch_momenta = run_torch()
    w_optax, optax_lrs, optax_momenta = run_optax()
    w_loop, _ = sgd.sgd_least_squares_numba(A, B, np.zeros(4), lrs, momentum=momenta)
    keras_trajectory = run_keras()

    # The same lr and momentum at every update.
    np.testing.assert_allclose(torch_lrs, lrs, rtol=1e-15, atol=0)
    np.testing.assert_allclose(torch_momenta, momenta, rtol=1e-15, atol=0)
    assert optax_lrs.tolist() == lrs32.tolist() and optax_momenta.tolist() == momenta32.tolist()
    assert lrs.max() == PEAK and momenta.min() == 0.85 and momenta[0] == 0.95  # one-cycle, the momentum inverse
    assert np.argmax(lrs) == np.argmin(momenta) == 0.3 * N

    # torch's form: the same weights after N updates.
    np.testing.assert_allclose(w_torch, w_loop, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_optax, w_loop, rtol=1e-5, atol=1e-6)

    # Keras: its own form with the same values at every step (a different value at any step would
    # leave this trajectory from there on) ...
    expected = _keras_form(lrs32.astype(np.float64), momenta32.astype(np.float64))
    np.testing.assert_allclose(keras_trajectory, expected, rtol=1e-5, atol=1e-6)
    # ... which is not torch's once the lr varies (with a constant lr the two are one method).
    assert np.abs(keras_trajectory[-1] - w_loop).max() > 1e-3
    constant = sgd.sgd_least_squares_numba(A, B, np.zeros(4), np.full(N, 0.05), momentum=momenta)[0]
    np.testing.assert_allclose(_keras_form(np.full(N, 0.05), momenta)[-1], constant, rtol=1e-12)

    loss = lambda w: 0.5 * np.mean((A @ w - B) ** 2)  # noqa: E731
    assert loss(w_loop) < 0.05 * loss(np.zeros(4))  # it trains
