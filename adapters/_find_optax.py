"""optax: the LR range test on a loss function and parameters, with one jitted step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from lrcore import Suggestion
from lrcore._internal import DEFAULT_METHOD, check, check_run, run

W = "find_lr"


def find_lr(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    make_optimizer: Callable[[Any], Any],
    batches: Any,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run the LR range test from `params` and return ``lr.suggest``'s reading of it.

    ``make_optimizer(learning_rate)`` builds the optax transformation (``optax.adam``
    itself, or ``lambda lr: optax.chain(..., optax.sgd(lr))``); it is wrapped in
    ``optax.inject_hyperparams`` so the learning rate is an input of the step, which
    is jitted once (per batch shape: a shorter last batch compiles once more).  Step t
    computes ``loss_fn(params, batch)`` and its gradient on the t-th batch (cycled when
    `batches` has fewer than `steps`) and applies one
    update at ``lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)``
    (in the optimizer state's float dtype; a linear range may start at 0).  `batches`
    is a list, iterated again when it has fewer than `steps`, or an iterator that lasts
    the run (read once, never stored).  The run stops at the first non-finite loss or
    once the smoothed loss passes `diverge` times its minimum (the rule of
    ``lr.suggest``).  `progress` shows a tqdm bar where tqdm is installed.  `params`
    are only read: the run trains its own copies.  Every leaf of `params` must be a
    float array (``jax.grad`` differentiates floats only).
    """
    import optax

    # bad arguments fail before anything is traced
    check_run(W, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth, diverge=diverge,
              progress=progress)
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        dtype = getattr(leaf, "dtype", None)
        if not (isinstance(leaf, float) or (dtype is not None and jnp.issubdtype(dtype, jnp.floating))):
            rule = "must be a float array (jax.grad differentiates floats only)"
            raise check.fail(W, f"params{jax.tree_util.keystr(path)}", rule, leaf, TypeError)
    if not callable(loss_fn):
        raise check.fail(W, "loss_fn", "must be callable as loss_fn(params, batch)", loss_fn, TypeError)
    if not callable(make_optimizer):
        rule = "must be callable as make_optimizer(learning_rate)"
        raise check.fail(W, "make_optimizer", rule, make_optimizer, TypeError)

    def factory(learning_rate: Any) -> Any:
        return make_optimizer(learning_rate)

    made = make_optimizer(start)
    if not (callable(getattr(made, "init", None)) and callable(getattr(made, "update", None))):
        rule = "must return an optax GradientTransformation"
        raise check.fail(W, "make_optimizer", rule, f"<function returning {type(made).__name__}>", TypeError)
    optimizer = optax.inject_hyperparams(factory)(learning_rate=start)
    opt_state = optimizer.init(params)
    lr_dtype = jnp.asarray(opt_state.hyperparams["learning_rate"]).dtype

    @jax.jit
    def train_step(p: Any, state: Any, batch: Any, lr: Any) -> tuple[Any, Any, Any]:
        loss, grads = jax.value_and_grad(loss_fn)(p, batch)
        state = state._replace(hyperparams={**state.hyperparams, "learning_rate": lr})
        updates, state = optimizer.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    current = [params, opt_state]

    def one_step(lr: float, batch: Any) -> float:
        p, state, loss = train_step(current[0], current[1], batch, jnp.asarray(lr, dtype=lr_dtype))
        current[0], current[1] = p, state
        return float(loss)

    return run(
        W, one_step, batches, start=start, end=end, steps=steps, shape=shape, method=method,
        smooth=smooth, diverge=diverge, progress=progress,
    )
