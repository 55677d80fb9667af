"""lrcore.adapters.optax.schedule inside jax.jit, optax.sgd and optax.inject_hyperparams."""

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
from lrcore.adapters.optax import schedule

WARMUP_COSINE = lr.warmup(lr.cosine(init=0.1, steps=150, final=0.001), steps=30)
INT32_MAX = 2**31 - 1

# (schedule, steps): bounded ones need no `steps`; the others are exact below it.
CASES = [
    (WARMUP_COSINE, None),
    (lr.one_cycle(peak=0.3, steps=97.5), None),
    (lr.piecewise_constant(boundaries=[10, 40.5, 90], values=[0.1, 0.05, 0.01, 0.001]), None),
    (lr.join([lr.linear(start=0, end=1, steps=20), lr.constant(value=1.0)], boundaries=[20]) * 0.01, None),
    (lr.exponential(init=0.1, gamma=0.97), 250),
    (lr.cyclic(base=0.001, peak=0.01, step_up=17), 250),
    (lr.inverse_sqrt(peak=0.01, warmup=25), 250),
]


def _float32(s, n):
    return s.array(n, dtype=np.float32)


@pytest.mark.parametrize(("s", "steps"), CASES, ids=lambda c: getattr(c, "kind", str(c)))
def test_values_equal_the_schedule_to_float32_rounding(s, steps):
    f = schedule(s, steps)
    n = 300
    counts = jnp.arange(n, dtype=jnp.int32)
    eager = np.array([float(f(jnp.int32(t))) for t in range(0, n, 7)])
    jitted = np.asarray(jax.jit(jax.vmap(f))(counts))
    assert np.asarray(f(counts)).dtype == np.float32
    if steps is None:  # exact at every count, past the horizon too
        assert jitted.tolist() == _float32(s, n).tolist()
        assert eager.tolist() == _float32(s, n)[::7].tolist()
    else:  # exact below `steps`, then s(steps - 1) held
        assert jitted[:steps].tolist() == _float32(s, steps).tolist()
        assert (jitted[steps:] == np.float32(s(steps - 1))).all()


def test_counts_saturating_at_int32_max_and_negative_counts_are_clipped():
    f = schedule(WARMUP_COSINE)
    final = np.float32(WARMUP_COSINE(180))
    for count in (INT32_MAX, INT32_MAX - 1, 2**30):
        assert f(jnp.int32(count)) == final
        assert jax.jit(f)(jnp.int32(count)) == final
    assert f(INT32_MAX + 10) == final == f(np.int64(2**40))  # host integers beyond int32
    assert f(jnp.int32(-5)) == np.float32(WARMUP_COSINE(0))
    # optax's own counter saturates at INT32_MAX: drive a state that sits there.
    opt = optax.scale_by_schedule(schedule(lr.exponential(init=1.0, gamma=0.5), steps=40))
    state = optax.ScaleByScheduleState(count=jnp.asarray(INT32_MAX - 1, dtype=jnp.int32))
    update = jax.jit(opt.update)
    for _ in range(3):
        updates, state = update(jnp.ones(2), state)
        assert (np.asarray(updates) == np.float32(0.5**39)).all()
    assert int(state.count) == INT32_MAX


def test_inject_hyperparams_sees_the_schedule_every_step():
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(WARMUP_COSINE))
    params = jnp.zeros(3)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        updates, state = opt.update(jnp.ones(3), state, params)
        return optax.apply_updates(params, updates), state

    seen = []
    for _ in range(200):
        params, state = step(params, state)
        seen.append(float(state.hyperparams["learning_rate"]))
    # inject_hyperparams evaluates the schedule at the count before the update, then increments it.
    assert seen == _float32(WARMUP_COSINE, 200).tolist()


def test_sgd_with_the_schedule_takes_exactly_its_steps():
    opt = optax.sgd(learning_rate=schedule(WARMUP_COSINE))
    params = jnp.zeros((), dtype=jnp.float32)
    state = opt.init(params)
    update = jax.jit(opt.update)
    expected = np.float32(0.0)
    for lr_t in _float32(WARMUP_COSINE, 150):
        updates, state = update(jnp.float32(-1.0), state, params)  # gradient -1: x grows by lr_t
        params = optax.apply_updates(params, updates)
        expected = np.float32(expected + lr_t)
        assert float(params) == float(expected)


def test_no_host_callback_in_the_traced_update():
    opt = optax.inject_hyperparams(optax.adamw)(learning_rate=schedule(WARMUP_COSINE))
    params = {"w": jnp.zeros(4)}
    state = opt.init(params)
    text = str(jax.make_jaxpr(opt.update)(params, state, params))
    assert "callback" not in text
    assert "callback" not in str(jax.make_jaxpr(schedule(lr.cyclic(base=0.1, peak=1, step_up=3), 100))(jnp.int32(5)))


def test_float64_values_with_jax_enable_x64():
    # jax_enable_x64 is process-wide: set it in a fresh interpreter.
    code = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np, optax, lrcore as lr
        from lrcore.adapters.optax import schedule
        assert jax.config.jax_enable_x64
        s = lr.warmup(lr.cosine(init=0.1, steps=150, final=0.001), steps=30)
        f = schedule(s)
        got = np.asarray(jax.jit(jax.vmap(f))(jnp.arange(300, dtype=jnp.int64)))
        assert got.dtype == np.float64 and got.tolist() == s.array(300).tolist(), got
        assert float(f(jnp.int64(2**40))) == s(180)
        e = lr.exponential(init=0.1, gamma=0.99)
        assert np.asarray(jax.jit(jax.vmap(schedule(e, steps=500)))(jnp.arange(500))).tolist() == e.array(500).tolist()
        # Beyond float32's range but finite in float64: accepted, and real optax reads it as it is.
        big = lr.constant(value=1e39)
        opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(big))
        assert float(opt.init(jnp.zeros(2)).hyperparams["learning_rate"]) == 1e39
        # Switched to float32 later, the table is refused where it is first needed, not filled with inf.
        jax.config.update("jax_enable_x64", False)
        try:
            opt.init(jnp.zeros(2, jnp.float32))
        except ValueError as err:
            print(err)
        print("ok")
        """
    )
    env = dict(os.environ, JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    refused = "optax.schedule: `s` must have values that are finite in float32; got s=constant(value=1e+39)"
    assert run.stdout.splitlines() == [refused, "ok"]


def test_values_beyond_float32_are_refused_by_name():
    # float32 (jax_enable_x64 off) overflows to inf from 2**128 - 2**103 (a tie, rounded to even, up):
    # numpy's cast is the reference for where a value stops being finite.
    tie = 2.0**128 - 2.0**103
    below = float(np.nextafter(tie, 0))
    with np.errstate(over="ignore"):
        assert np.isinf(np.float32(tie)) and np.float32(below) == np.finfo(np.float32).max
    for s in (lr.constant(value=tie), lr.one_cycle(peak=1e39, steps=99), lr.exponential(init=1e30, gamma=10.0)):
        with pytest.raises(ValueError) as err:
            schedule(s, steps=20)
        assert str(err.value) == f"optax.schedule: `s` must have values that are finite in float32; got s={s!r}"
    # The largest value that rounds to a finite float32 passes, and real optax reads it rounded once.
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule(lr.constant(value=below)))
    lr0 = opt.init(jnp.zeros(2)).hyperparams["learning_rate"]
    assert lr0.dtype == jnp.float32 and float(lr0) == float(np.finfo(np.float32).max)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"optax.schedule: `steps` is required for a schedule without a finite hor"):
        schedule(lr.exponential(init=0.1, gamma=0.9))
    with pytest.raises(ValueError, match=r"`steps` is required: horizon 1e\+12 needs a table longer than 1e\+08"):
        schedule(lr.cosine(init=0.1, steps=1e12))
    assert schedule(lr.cosine(init=0.1, steps=1e12), steps=1000).size == 1000
    with pytest.raises(ValueError, match=r"`steps` must be <= 1e\+08"):
        schedule(lr.exponential(init=0.1, gamma=0.9), steps=10**9)
    with pytest.raises(ValueError, match="`steps` must be > 0; got steps=0"):
        schedule(WARMUP_COSINE, steps=0)
    with pytest.raises(TypeError, match="`steps` must be an int"):
        schedule(WARMUP_COSINE, steps=10.0)
    with pytest.raises(TypeError, match="optax.schedule: `s` must be an lrcore Schedule"):
        schedule(optax.constant_schedule(0.1))
    with pytest.raises(TypeError, match="`count` must be an integer step count"):
        schedule(WARMUP_COSINE)(jnp.float32(3.0))
    # `steps` caps a bounded schedule's table; its horizon shortens an over-long one.
    assert schedule(WARMUP_COSINE, steps=50).size == 50
    assert schedule(WARMUP_COSINE, steps=10**6).size == 181
