"""lrcore.adapters.optax.schedule on two devices: jax.pmap, and jax.jit over a 2-device NamedSharding mesh.

Also runs the optax guide's example (one device, in this process).

XLA splits the host CPU into two devices only when ``XLA_FLAGS`` says so before jax is
imported, so each run happens in a fresh interpreter.  The child prints, for every
step, the lr that each device saw (read from its own shard); the values must be equal
across devices and equal ``s(step)``, rounded once to float32 (float64 under x64).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import docs_pages
import numpy as np
import pytest

import lrcore as lr

STEPS = 200
# Bounded: exact at every step, past the horizon (180) too.  Unbounded: exact below `steps`.
CASES = {
    "warmup-cosine": ("warmup(cosine(init=0.1, steps=150, final=0.001), steps=30)", None),
    "exponential": ("exponential(init=0.1, gamma=0.99)", 250),
}

CHILD = """
import json, sys
import jax, jax.numpy as jnp, numpy as np, optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import lrcore as lr
from lrcore.adapters.optax import schedule

devices = jax.devices()
assert len(devices) == 2 and all(d.platform == "cpu" for d in devices), devices

def per_device(x):
    # One row per device, from the shard that device holds.
    shards = sorted(x.addressable_shards, key=lambda sh: sh.device.id)
    assert [sh.device for sh in shards] == sorted(devices, key=lambda d: d.id)
    return [np.asarray(sh.data).ravel().tolist() for sh in shards]

def run(spec, steps, n):
    f = schedule(lr.parse(spec), steps)
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=f)
    out = {"dtype": str(jnp.asarray(f(0)).dtype)}
    # pmap: both devices evaluate every count, and run an inject_hyperparams SGD with a pmean'd gradient.
    counts = jnp.arange(n, dtype=jnp.int32)
    out["pmap_values"] = np.asarray(jax.pmap(jax.vmap(f))(jnp.stack([counts, counts]))).tolist()

    def train_step(params, state):
        grads = jax.lax.pmean(jnp.ones_like(params), "i")
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, updates

    p_step = jax.pmap(train_step, axis_name="i")
    params = jnp.zeros((2, 3))
    state = jax.pmap(opt.init)(params)
    hyper, applied = [], []
    for _ in range(n):
        params, state, updates = p_step(params, state)
        hyper.append(np.asarray(state.hyperparams["learning_rate"]).tolist())  # one per device
        applied.append((-np.asarray(updates)[:, 0]).tolist())  # gradient 1: the update is -lr
    out["pmap_hyper"], out["pmap_applied"] = hyper, applied

    # jit over a 2-device mesh: counts sharded across devices, then SGD on sharded params.
    mesh = Mesh(np.array(devices), ("d",))
    split, replicated = NamedSharding(mesh, P("d")), NamedSharding(mesh, P())
    sharded_counts = jax.device_put(counts, split)
    values = jax.jit(jax.vmap(f), out_shardings=split)(sharded_counts)
    assert values.sharding.is_equivalent_to(split, 1), values.sharding
    out["sharded_values"] = per_device(values)  # device 0 holds the first half of the counts
    out["replicated_values"] = per_device(jax.jit(jax.vmap(f), out_shardings=replicated)(sharded_counts))

    @jax.jit
    def sharded_step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, updates

    params, grads = jax.device_put(jnp.zeros(4), split), jax.device_put(jnp.ones(4), split)
    state = jax.device_put(opt.init(params), replicated)  # the count and the injected lr on both devices
    hyper, applied = [], []
    for _ in range(n):
        params, state, updates = sharded_step(params, state, grads)
        assert updates.sharding.is_equivalent_to(split, 1)
        hyper.append([row[0] for row in per_device(state.hyperparams["learning_rate"])])
        applied.append([-row[0] for row in per_device(updates)])
    out["jit_hyper"], out["jit_applied"] = hyper, applied
    return out

n, cases = int(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({name: run(spec, steps, n) for name, (spec, steps) in cases.items()}))
"""


@pytest.fixture(scope="module", params=[False, True], ids=["float32", "x64"])
def child(request) -> tuple[bool, dict]:
    """Every case, run once per dtype in a fresh interpreter with two host devices."""
    x64 = request.param
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    env["JAX_ENABLE_X64"] = "1" if x64 else "0"
    args = [sys.executable, "-c", textwrap.dedent(CHILD), str(STEPS), json.dumps(CASES)]
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return x64, json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_both_devices_see_s_of_step_under_pmap_and_a_sharded_jit(case, child):
    x64, results = child
    spec, steps = CASES[case]
    s = lr.parse(spec)
    dtype = np.float64 if x64 else np.float32
    # The documented values: each s(t) rounded once to the table dtype; past `steps`, s(steps - 1) held.
    expected = s.array(STEPS, dtype=dtype).astype(np.float64).tolist()
    assert steps is None or steps > STEPS  # every step here is an exact one
    assert expected[0] != expected[-1] and len(set(expected)) > STEPS // 2

    out = results[case]
    assert out["dtype"] == np.dtype(dtype).name
    both = [[v, v] for v in expected]
    assert out["pmap_values"] == [expected, expected]
    assert out["pmap_hyper"] == both  # inject_hyperparams: s(count) before the update
    assert out["pmap_applied"] == both
    half = STEPS // 2
    assert out["sharded_values"] == [expected[:half], expected[half:]]
    assert out["replicated_values"] == [expected, expected]
    assert out["jit_hyper"] == both
    assert out["jit_applied"] == both


def test_the_guide_example_runs_as_written():
    code = docs_pages.blocks(docs_pages.page("guides/optax.md"))[0]
    namespace: dict = {}
    exec(compile(code, "docs/guides/optax.md", "exec"), namespace)
    state, s, p_state = namespace["state"], namespace["s"], namespace["p_state"]
    assert namespace["train_step"]._cache_size() == 1  # ten new scales, no retrace
    assert p_state.count == 10 and p_state.scale < 1
    assert float(state[0].hyperparams["learning_rate"]) == float(np.float32(s(999)))
    assert float(state[1].hyperparams["step_size"]) == float(np.float32(p_state.scale))
