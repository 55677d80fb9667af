"""``lrcore.adapters.optax.find_lr`` on small real problems: params untouched, one trace, exact lrs, a good lr."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrcore as lr
from lrcore.adapters.optax import find_lr


def classification() -> tuple[list, Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 10)).astype(np.float32)
    y = (x @ rng.standard_normal((10, 3))).argmax(1)
    noisy = rng.random(512) < 0.2  # a fifth of the labels random: the loss has a floor
    y = np.where(noisy, rng.integers(0, 3, 512), y)
    batches = [(x[i : i + 32], y[i : i + 32], np.int32(i // 32)) for i in range(0, 512, 32)]

    def loss_fn(p: dict, batch: tuple) -> jax.Array:
        logits = forward(p, batch[0])
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch[1]).mean()

    return batches, loss_fn, init(10, 3, seed=1)


def regression() -> tuple[list, Any, Any]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((512, 8)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.3 * rng.standard_normal((512, 1))).astype(np.float32)
    batches = [(x[i : i + 64], y[i : i + 64], np.int32(i // 64)) for i in range(0, 512, 64)]

    def loss_fn(p: dict, batch: tuple) -> jax.Array:
        return jnp.mean((forward(p, batch[0]) - batch[1]) ** 2)

    return batches, loss_fn, init(8, 1, seed=2)


def init(n_in: int, n_out: int, seed: int) -> dict:
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return {
        "w1": jax.random.normal(k1, (n_in, 32)) / math.sqrt(n_in),
        "b1": jnp.zeros(32),
        "w2": jax.random.normal(k2, (32, n_out)) / math.sqrt(32),
        "b2": jnp.zeros(n_out),
    }


def forward(p: dict, x: jax.Array) -> jax.Array:
    return jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]


def recording(log: list[float], inner: Any) -> Any:
    """make_optimizer that also records the learning rate each update runs with."""

    def make(learning_rate: Any) -> optax.GradientTransformation:
        def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
            jax.debug.callback(lambda v: log.append(float(v)), learning_rate)
            return updates, state

        return optax.chain(optax.GradientTransformation(lambda p: optax.EmptyState(), update), inner(learning_rate))

    return make


@pytest.mark.parametrize("problem", [classification, regression])
def test_params_untouched_one_trace_exact_lrs_and_cycled_batches(problem: Any) -> None:
    batches, loss_fn, params = problem()
    before = jax.tree.map(lambda a: np.array(a, copy=True), params)
    traces, seen, used = [0], [], []

    def counted(p: dict, batch: tuple) -> jax.Array:
        traces[0] += 1  # runs once per trace, not per step
        jax.debug.callback(lambda i: seen.append(int(i)), batch[2])
        return loss_fn(p, batch)

    s = find_lr(counted, params, recording(used, optax.sgd), batches, start=1e-5, end=0.5, steps=40,
                diverge=math.inf, progress=False)
    assert traces[0] == 1
    want = lr.range_test(start=1e-5, end=0.5, steps=40)
    assert s.lrs.tolist() == [want(t) for t in range(40)]
    assert used == [float(np.float32(want(t))) for t in range(40)]  # the float32 lr of the state, rounded once
    assert seen == [t % len(batches) for t in range(40)]
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), b), params, before)
    assert not any(a.is_deleted() for a in jax.tree.leaves(params))


def test_a_one_shot_iterator_is_read_once_and_a_linear_range_may_start_at_zero() -> None:
    batches, loss_fn, params = regression()
    used: list[float] = []
    s = find_lr(loss_fn, params, recording(used, optax.sgd), iter(batches * 4), start=0.0, end=0.05, steps=30,
                shape="linear", diverge=math.inf, progress=False)
    assert used == [float(np.float32(v)) for v in lr.linear(start=0.0, end=0.05, steps=29).array(30)]
    assert s.lrs[0] == 0.0 and 0 < s.lr <= 0.05


def test_stops_at_divergence_with_suggests_rule() -> None:
    batches, loss_fn, params = regression()
    used: list[float] = []
    s = find_lr(loss_fn, params, recording(used, optax.sgd), batches, start=1e-4, end=100.0, steps=100, smooth=0.5,
                progress=False)
    assert s.cut is not None and len(used) == len(s.lrs) + 1 < 100


BUDGET = 160  # updates: longer than the range test itself, as real training is


def final_losses(loss_fn: Any, params: dict, make: Any, batches: list, rates: list[float]) -> list[float]:
    """The mean loss over the batches after BUDGET updates from `params` at each lr (one compiled, vmapped run)."""
    xs = [np.stack([b[k] for b in batches]) for k in range(3)]
    order = np.arange(BUDGET) % len(batches)
    stream = tuple(a[order] for a in xs)

    def run_one(rate: jax.Array) -> jax.Array:
        opt = optax.inject_hyperparams(make)(learning_rate=rate)

        def step(carry: tuple, batch: tuple) -> tuple[tuple, None]:
            p, state = carry
            grads = jax.grad(loss_fn)(p, batch)
            updates, state = opt.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), None

        (p, _), _ = jax.lax.scan(step, (params, opt.init(params)), stream)
        return jax.vmap(lambda *b: loss_fn(p, b))(*xs).mean()

    out = jax.jit(jax.vmap(run_one))(jnp.asarray(rates, dtype=jnp.float32))
    return [float(v) if math.isfinite(float(v)) else math.inf for v in out]


@pytest.mark.parametrize(("problem", "make"), [(classification, "adam"), (regression, "sgd")])
def test_the_suggestion_trains_well(problem: Any, make: str) -> None:
    """Training from the same initialisation at the suggested lr for a fixed budget ends within
    3x of the best final loss over a log grid of lrs, and below the grid's median."""
    batches, loss_fn, params = problem()

    def optimizer(learning_rate: Any) -> optax.GradientTransformation:
        if make == "adam":
            return optax.adam(learning_rate)
        return optax.sgd(learning_rate, momentum=0.9)

    s = find_lr(loss_fn, params, optimizer, batches, start=1e-6, end=10.0, steps=100, progress=False)
    grid = np.logspace(-4, 0.5, 10).tolist()
    *finals, ours = final_losses(loss_fn, params, optimizer, batches, [*grid, s.lr])
    table = dict(zip(grid, finals, strict=True))
    assert ours <= 3 * min(finals) and ours < float(np.median(finals)), (s.lr, ours, table)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"loss_fn": None}, TypeError, "find_lr: `loss_fn` must be callable"),
        ({"make_optimizer": 0.1}, TypeError, "find_lr: `make_optimizer` must be callable"),
        ({"make_optimizer": lambda lr: lr}, TypeError, "find_lr: `make_optimizer` must return an optax"),
        ({"batches": []}, ValueError, "find_lr: `batches` must yield at least one batch"),
        ({"method": "x"}, ValueError, "find_lr: `method` must be one of"),
        ({"diverge": 0.5}, ValueError, "find_lr: `diverge` must be > 1"),
        ({"end": -1.0}, ValueError, "range_test: `end` must be > 0"),
        ({"shape": "cos"}, ValueError, "range_test: `shape` must be one of"),
        ({"batches": "abc"}, TypeError, "find_lr: `batches` must be an iterable of batches"),
        ({"progress": 0}, TypeError, "find_lr: `progress` must be True or False"),
        ({"params": {"w": jnp.zeros((8, 1)), "steps": 3}}, TypeError,
         "find_lr: `params['steps']` must be a float array (jax.grad differentiates floats only); "
         "got params['steps']=3"),
        ({"params": {"w": jnp.zeros((8, 1)), "mask": jnp.ones(8, dtype=jnp.int32)}}, TypeError,
         "find_lr: `params['mask']` must be a float array"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, message: str) -> None:
    batches, loss_fn, params = regression()
    args = {"loss_fn": loss_fn, "params": params, "make_optimizer": optax.sgd, "batches": batches, **kwargs}
    with pytest.raises(exc) as info:
        find_lr(args.pop("loss_fn"), args.pop("params"), args.pop("make_optimizer"), args.pop("batches"), **args)
    assert message in str(info.value) and "\n" not in str(info.value)
