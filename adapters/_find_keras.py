"""Keras 3: the LR range test on a compiled model, leaving its weights and optimizer as they were."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from lrcore import Suggestion
from lrcore._internal import DEFAULT_METHOD, check, check_run, run

W = "find_lr"


def _rows(name: str, value: Any) -> int:
    """The number of rows (samples) of every array in `value`, which must agree."""
    leaves = keras.tree.flatten(value)
    if not leaves or not all(hasattr(a, "shape") and len(a.shape) > 0 for a in leaves):
        rule = "must be an array (or a structure of arrays) with one row per sample"
        raise check.fail(W, name, rule, type(value).__name__, TypeError)
    counts = {int(a.shape[0]) for a in leaves}
    if len(counts) != 1:
        raise check.fail(W, name, "must hold arrays with the same number of rows", f"<rows {sorted(counts)}>")
    return counts.pop()


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
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run the LR range test on a compiled model and return ``lr.suggest``'s reading of it.

    Step t is one ``model.train_on_batch`` on the t-th slice of `batch_size` rows of
    (x, y) (in order, cycled when there are fewer than `steps` batches), with the
    optimizer's learning rate set to ``lr.range_test(start=start, end=end, steps=steps,
    shape=shape)(t)`` (stored in its float32 variable; a linear range may start at 0).
    The run stops at the first non-finite loss or once the smoothed loss passes
    `diverge` times its minimum (the rule of ``lr.suggest``).  `progress` shows a tqdm
    bar where tqdm is installed.

    Afterwards every model variable (weights, statistics, seed states) and optimizer
    variable (step count, moments, learning rate) holds its old value again, also when
    the run raises.  A model not built yet (no ``keras.Input``) is built on the first
    batch and an optimizer not built yet is built for its weights, as the first ``fit``
    would, so their fresh state is what is restored and ``fit`` works afterwards.

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
    check_run(W, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth, diverge=diverge,
              progress=progress)
    batch_size = check.count(W, "batch_size", batch_size)
    if batch_size == 0:
        raise check.fail(W, "batch_size", "must be > 0", batch_size)
    rows = _rows("x", x)
    if rows == 0:
        raise check.fail(W, "x", "must have at least one row", f"<{rows} rows>")
    if y is None:
        raise check.fail(W, "y", "must hold the targets, one row per row of x", y, TypeError)
    if _rows("y", y) != rows:
        raise check.fail(W, "y", f"must have as many rows as x ({rows})", f"<{_rows('y', y)} rows>")
    batches = [
        (keras.tree.map_structure(lambda a, i=i: a[i : i + batch_size], x),
         keras.tree.map_structure(lambda a, i=i: a[i : i + batch_size], y))
        for i in range(0, rows, batch_size)
    ]

    if not model.built:  # as the first fit would: build on a batch, with its fresh weights
        model(batches[0][0])
    if not model.trainable_variables:
        raise check.fail(W, "model", "has no trainable weights to train", model.name)
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
            smooth=smooth, diverge=diverge, progress=progress,
        )
    finally:
        for variable, value in zip((*model_vars, *opt_vars), saved, strict=True):
            variable.assign(value)
        model.reset_metrics()
