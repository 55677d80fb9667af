"""lrcore.adapters.optax.schedule resolves a template (lengths in "%", "ep", ...) from `steps` and
`steps_per_epoch`: under jax.jit, and through inject_hyperparams in a jitted training loop, the value
at every count is ``lr.resolve(s, ...)`` at that count, rounded once to float32."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrcore as lr
from lrcore.adapters.optax import schedule

N = 400  # the run: 16 epochs of 25 updates
PER_EPOCH = 25

TEMPLATES = {
    "warmup-cosine": (lr.warmup(lr.cosine(init=0.1, steps="95%", final=1e-3), steps="5%"), {"steps": N}),
    "one-cycle": (lr.one_cycle(peak=0.1, steps="100%"), {"steps": N}),
    "one-cycle-dur": (lr.one_cycle(peak=0.1, steps="0.5dur"), {"steps": N}),
    "step-epochs": (lr.step(init=0.1, step_size="3ep", gamma=0.5), {"steps": N, "steps_per_epoch": PER_EPOCH}),
    "multistep-mixed": (lr.multistep(init=0.1, milestones=["2ep", "50%", "300ba"], gamma=0.3),
                        {"steps": N, "steps_per_epoch": PER_EPOCH}),
    "momentum-cycle": (lr.interpolate(points=[(0, 0.95), ("30%", 0.85), ("100%", 0.95)], shape="cosine"),
                       {"steps": N}),
    "tokens-samples": (lr.warmup(lr.cosine(init=0.1, steps="4e5tok"), steps="6400sp"),
                       {"tokens_per_step": 1024, "samples_per_step": 64}),
}


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_is_resolved_from_the_run_and_read_under_jit(name):
    s, lengths = TEMPLATES[name]
    assert s.is_template
    plain = lr.resolve(s, **lengths)
    assert not plain.is_template
    f = schedule(s, **lengths)
    assert f.schedule == plain  # the resolved schedule is what the table holds
    expected = plain.array(N, dtype=np.float32)
    got = np.asarray(jax.jit(jax.vmap(f))(jnp.arange(N, dtype=jnp.int32)))
    assert got.tolist() == expected.tolist()
    assert len(set(expected.tolist())) > 3  # the lengths matter here

    # In training: inject_hyperparams reads s(count) before each update.
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=f)
    params = jnp.zeros(2)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        updates, state = opt.update(jnp.ones(2), state, params)
        return optax.apply_updates(params, updates), state

    seen = []
    for _ in range(N):
        params, state = step(params, state)
        seen.append(float(state.hyperparams["learning_rate"]))
    assert seen == expected.tolist()


def test_a_plain_schedule_ignores_steps_per_epoch_and_keeps_steps_as_the_table_cap():
    s = lr.cosine(init=0.1, steps=300)
    assert schedule(s, steps_per_epoch=7).size == 301
    assert schedule(s, 120, steps_per_epoch=7).size == 120


@pytest.mark.parametrize(("s", "lengths", "message"), [
    (lr.warmup(lr.cosine(init=0.1, steps="95%"), steps="5%"), {},
     "optax.schedule: cosine's `steps` is '95%', a length in percent of the run; give steps= "
     "(the run's optimizer updates)"),
    (lr.warmup(lr.cosine(init=0.1, steps=950), steps="5%"), {"steps_per_epoch": 10},
     "optax.schedule: warmup's `steps` is '5%', a length in percent of the run; give steps= "
     "(the run's optimizer updates)"),
    (lr.step(init=0.1, step_size="3ep"), {"steps": 100},
     "optax.schedule: step's `step_size` is '3ep', a length in epochs; give steps_per_epoch= "
     "(optimizer updates per epoch)"),
    (lr.cosine(init=0.1, steps="2e9tok"), {"steps": 100},
     "optax.schedule: cosine's `steps` is '2e9tok', a length in tokens; give tokens_per_step= "
     "(tokens per optimizer update)"),
    (lr.cosine(init=0.1, steps="50%"), {"steps": 0}, "optax.schedule: `steps` must be > 0; got steps=0"),
    (lr.cosine(init=0.1, steps="3ep"), {"steps_per_epoch": -1},
     "optax.schedule: `steps_per_epoch` must be > 0; got steps_per_epoch=-1"),
])
def test_a_template_without_what_it_needs_is_one_line_naming_the_length_and_the_argument(s, lengths, message):
    with pytest.raises(ValueError) as caught:
        schedule(s, **lengths)
    assert str(caught.value) == message


def test_steps_that_resolve_a_template_must_still_be_a_whole_table_length():
    s = lr.cosine(init=0.1, steps="100%")
    with pytest.raises(TypeError, match=r"^optax.schedule: `steps` must be an int; got steps=10.5$"):
        schedule(s, steps=10.5)
    assert schedule(s, steps=10).size == 10
