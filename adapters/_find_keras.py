"""Keras 3: the LR range test on a compiled model, leaving its weights and optimizer as they were."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from lrcore import Suggestion
from lrcore._internal import check, run

W = "find_lr"


def find_lr(
    model: keras.Model,
    x: Any,
    y: Any,
    *,
    batch_size: int = 32,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = "valley",
    smooth: float = 0.98,
    diverge: float = 4.0,
) -> Suggestion:
    """Run the LR range test on a compiled model and return ``lr.suggest``'s reading of it.

    Step t is one ``model.train_on_batch`` on the t-th slice of `batch_size` rows of
    (x, y) (in order, cycled when there are fewer than `steps` batches), with the
    optimizer's learning rate set to ``lr.range_test(start=start, end=end, steps=steps,
    shape=shape)(t)`` (stored in its float32 variable).  The run stops at the first
    non-finite loss or once the smoothed loss passes `diverge` times its minimum (the
    rule of ``lr.suggest``).  Afterwards every model variable (weights, statistics,
    seed states) and optimizer variable (step count, moments, learning rate) holds its
    old value again, also when the run raises; an optimizer not yet built is built
    first (as the first ``fit`` would), so its fresh state is what is restored.

    The optimizer must have a float learning rate: one from a ``LearningRateSchedule``
    (or a callable) cannot be set per step, and the range test refuses it.
    """
    if not isinstance(model, keras.Model):
        raise check.fail(W, "model", "must be a keras.Model", type(model).__name__, TypeError)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        raise check.fail(W, "model", "must be compiled (model.compile(optimizer=..., loss=...))", model.name)
    if not isinstance(optimizer.learning_rate, keras.Variable):
        raise check.fail(
            W,
            "model",
            "needs an optimizer with a float learning rate (the range test sets it each step; a "
            "LearningRateSchedule would override it): compile a copy with e.g. keras.optimizers.Adam(1e-3)",
            type(getattr(optimizer, "_learning_rate", optimizer.learning_rate)).__name__,
        )
    batch_size = check.count(W, "batch_size", batch_size)
    if batch_size == 0:
        raise check.fail(W, "batch_size", "must be > 0", batch_size)
    leaves = keras.tree.flatten(x)
    if not leaves or not hasattr(leaves[0], "shape") or len(leaves[0].shape) == 0:
        rule = "must be an array (or a structure of arrays) with one row per sample"
        raise check.fail(W, "x", rule, type(x).__name__, TypeError)
    rows = int(leaves[0].shape[0])
    if rows == 0:
        raise check.fail(W, "x", "must have at least one row", f"<{rows} rows>")
    batches = [
        (keras.tree.map_structure(lambda a, i=i: a[i : i + batch_size], x),
         keras.tree.map_structure(lambda a, i=i: a[i : i + batch_size], y))
        for i in range(0, rows, batch_size)
    ]

    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    model_vars, opt_vars = list(model.variables), list(optimizer.variables)
    saved = [np.array(v.numpy(), copy=True) for v in (*model_vars, *opt_vars)]

    def one_step(lr: float, batch: Any) -> float:
        optimizer.learning_rate.assign(lr)
        logs = model.train_on_batch(batch[0], batch[1], return_dict=True)
        loss = logs.get("loss")
        return math.nan if loss is None else float(loss)

    try:
        return run(
            W, one_step, batches, start=start, end=end, steps=steps, shape=shape, method=method,
            smooth=smooth, diverge=diverge,
        )
    finally:
        for variable, value in zip((*model_vars, *opt_vars), saved, strict=True):
            variable.assign(value)
        model.reset_metrics()
