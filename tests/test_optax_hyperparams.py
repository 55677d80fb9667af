"""lrcore.adapters.optax.schedule drives b1, momentum and weight_decay through optax.inject_hyperparams
inside jax.jit, as it drives the learning rate: every update uses s(count), checked against loops
written out by hand; and a scheduled value takes the parameters' dtype, so the optimizer state keeps
its types (bfloat16 parameters, float32 parameters under jax_enable_x64) and a lax.scan loop runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrcore as lr
from lrcore.adapters import sgd
from lrcore.adapters.optax import schedule

N = 200
LR = lr.one_cycle(peak=0.05, steps=N)
# One-cycle's momentum: from 0.95 down to 0.85 while the lr rises, back to 0.95 while it falls.
CYCLE = lr.interpolate(points=[(0, 0.95), (0.3 * N, 0.85), (N, 0.95)], shape="cosine")
WD = lr.cosine(init=0.02, steps=N, final=0.002)

rng = np.random.default_rng(3)
A = rng.normal(size=(32, 4))
Y = A @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=32)


def _grad64(w):
    return A.T @ (A @ w - Y) / A.shape[0]


def _loss(w):
    residual = jnp.asarray(A, jnp.float32) @ w - jnp.asarray(Y, jnp.float32)
    return 0.5 * jnp.mean(residual**2)


def _run(opt, steps=N):
    """w after every jitted update from zeros, and the hyperparameters inject_hyperparams recorded."""
    w = jnp.zeros(4, jnp.float32)
    state = opt.init(w)

    @jax.jit
    def step(w, state):
        updates, state = opt.update(jax.grad(_loss)(w), state, w)
        return optax.apply_updates(w, updates), state

    trajectory, hyper = [], []
    for _ in range(steps):
        w, state = step(w, state)
        trajectory.append(np.asarray(w, np.float64))
        hyper.append({k: float(v) for k, v in state.hyperparams.items()})
    return np.array(trajectory), hyper


def _f32(s, n=N):
    """The values the in-graph table holds: s(t) rounded once to float32."""
    return s.array(n, dtype=np.float32).astype(np.float64)


def test_adamw_with_scheduled_lr_b1_and_weight_decay_follows_a_loop_written_out():
    opt = optax.inject_hyperparams(optax.adamw)(learning_rate=schedule(LR), b1=schedule(CYCLE),
                                                weight_decay=schedule(WD))
    trajectory, hyper = _run(opt)
    lrs, b1s, wds = _f32(LR), _f32(CYCLE), _f32(WD)
    assert [h["learning_rate"] for h in hyper] == lrs.tolist()
    assert [h["b1"] for h in hyper] == b1s.tolist()
    assert [h["weight_decay"] for h in hyper] == wds.tolist()

    # optax.adamw by hand, in float64, with the same values: bias correction with each step's own b1.
    b2, eps = 0.999, 1e-8
    w, mu, nu, expected = np.zeros(4), np.zeros(4), np.zeros(4), []
    for t in range(N):
        g = _grad64(w)
        mu = b1s[t] * mu + (1 - b1s[t]) * g
        nu = b2 * nu + (1 - b2) * g * g
        mu_hat, nu_hat = mu / (1 - b1s[t] ** (t + 1)), nu / (1 - b2 ** (t + 1))
        w = w - lrs[t] * (mu_hat / (np.sqrt(nu_hat) + eps) + wds[t] * w)
        expected.append(w)
    np.testing.assert_allclose(trajectory, np.array(expected), rtol=2e-5, atol=2e-6)

    # Each schedule takes effect: held at its first value instead, the run ends elsewhere.
    for name, fixed in (("b1", {"b1": 0.95}), ("weight_decay", {"weight_decay": 0.02})):
        kwargs = {"learning_rate": schedule(LR), "b1": schedule(CYCLE), "weight_decay": schedule(WD), **fixed}
        other, _ = _run(optax.inject_hyperparams(optax.adamw)(**kwargs))
        assert np.abs(other[-1] - trajectory[-1]).max() > 1e-3, name


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_with_a_scheduled_momentum_follows_the_plain_loop(nesterov):
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(LR), momentum=schedule(CYCLE), nesterov=nesterov)
    trajectory, hyper = _run(opt)
    lrs, momenta = _f32(LR), _f32(CYCLE)
    assert [h["momentum"] for h in hyper] == momenta.tolist()
    # optax.trace is torch's form (b = m b + g; x -= lr b), which lrcore's plain loop follows in float64.
    w, _ = sgd.sgd_numpy(lambda w: (0.0, _grad64(w)), np.zeros(4), lrs, momentum=momenta, nesterov=nesterov)
    np.testing.assert_allclose(trajectory[-1], w, rtol=1e-5, atol=1e-6)
    constant, _ = sgd.sgd_numpy(lambda w: (0.0, _grad64(w)), np.zeros(4), lrs, momentum=0.95, nesterov=nesterov)
    assert np.abs(constant - w).max() > 1e-3  # the schedule is what ran


def _scan_train(params, opt, steps):
    """steps updates inside lax.scan: its carry must keep the dtypes the optimizer state started with."""
    state = opt.init(params)

    def body(carry, _):
        params, state = carry
        grads = jax.tree.map(lambda p: jnp.ones_like(p), params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), state.hyperparams

    (params, state_out), hyper = jax.jit(lambda p, s: jax.lax.scan(body, (p, s), None, length=steps))(params, state)
    return state, state_out, hyper


def _dtypes(tree):
    return jax.tree.map(lambda x: jnp.asarray(x).dtype, tree)


def test_scheduled_hyperparameters_take_the_dtype_of_bfloat16_parameters():
    opt = optax.inject_hyperparams(optax.adamw)(learning_rate=schedule(LR), b1=schedule(CYCLE),
                                                weight_decay=schedule(WD))
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    before, after, hyper = _scan_train(params, opt, 50)
    assert _dtypes(after) == _dtypes(before)
    assert after.inner_state[0].mu["w"].dtype == jnp.bfloat16
    for name, s in (("learning_rate", LR), ("b1", CYCLE), ("weight_decay", WD)):
        assert hyper[name].dtype == jnp.bfloat16, name
        # each value is s(t) in float32, then in bfloat16
        expected = s.array(50, dtype=np.float32).astype(jnp.bfloat16).astype(np.float32)
        assert np.asarray(hyper[name], np.float32).tolist() == expected.tolist(), name


def test_the_values_are_weakly_typed_like_a_python_float():
    f = schedule(CYCLE)
    value = f(jnp.int32(7))
    assert value.dtype == jnp.float32 and value.weak_type
    assert jax.jit(f)(jnp.int32(7)).weak_type
    assert (jnp.ones(2, jnp.bfloat16) * value).dtype == jnp.bfloat16  # no promotion of what it multiplies


def test_under_x64_float32_parameters_keep_float32_state_and_float64_ones_read_s_exactly():
    # jax_enable_x64 is process-wide: run in a fresh interpreter.
    code = textwrap.dedent(
        f"""
        import runpy, jax, jax.numpy as jnp, numpy as np, optax
        assert jax.config.jax_enable_x64
        ns = runpy.run_path({__file__!r})
        schedule = ns["schedule"]
        opt = optax.inject_hyperparams(optax.adamw)(learning_rate=schedule(ns["LR"]), b1=schedule(ns["CYCLE"]),
                                                    weight_decay=schedule(ns["WD"]))
        for dtype in (jnp.float32, jnp.float64):
            before, after, hyper = ns["_scan_train"]({{"w": jnp.ones(3, dtype)}}, opt, 50)
            assert ns["_dtypes"](after) == ns["_dtypes"](before), dtype
            assert after.inner_state[0].mu["w"].dtype == dtype
            for name in ("learning_rate", "b1", "weight_decay"):
                s = ns[{{"learning_rate": "LR", "b1": "CYCLE", "weight_decay": "WD"}}[name]]
                assert hyper[name].dtype == dtype, (name, dtype)
                # float64: s(t) exactly; float32: s(t) rounded once
                assert np.asarray(hyper[name]).tolist() == s.array(50, dtype=dtype).tolist(), (name, dtype)
        print("ok")
        """
    )
    env = dict(os.environ, JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1] == "ok"


def test_the_guide_one_cycle_adamw_example_runs_as_written():
    import docs_pages  # here, not at the top: a child process runs this file without tests/ on its path

    blocks = docs_pages.blocks(docs_pages.page("guides/optax.md"))
    code = next(block for block in blocks if "b1=" in block)
    namespace: dict = {}
    exec(compile(code, "docs/guides/optax.md", "exec"), namespace)
    state, steps = namespace["state"], namespace["steps"]
    lr_s, b1_s = lr.resolve(namespace["lr_s"], steps=steps), lr.resolve(namespace["b1_s"], steps=steps)
    assert float(state.hyperparams["learning_rate"]) == float(np.float32(lr_s(steps - 1)))
    assert float(state.hyperparams["b1"]) == float(np.float32(b1_s(steps - 1)))
    assert namespace["train_step"]._cache_size() == 1
    assert float(namespace["loss"](namespace["params"])) < 0.01 * float(namespace["loss"]({"w": jnp.zeros(3)}))
