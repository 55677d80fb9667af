"""What the Keras adapter gets back after a restart, checked before it is used.

A `Schedule`'s config (``model.save``/``load_model``) holds the lrcore schedule (a template
keeps its lengths as written, with the `steps` and `steps_per_epoch` that resolve them), `steps`,
`scale` and the plateau state; `PlateauSaver` puts the scale and plateau state into the
optimizer's weights, which ``keras.callbacks.BackupAndRestore`` and ``save_weights`` write
and ``load_weights`` reads back.  Either way a wrong value raises a one-line
ValueError/TypeError naming the field, and nothing changes until every field is valid.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
import numpy as np

from lrcore import PlateauState, from_dict, resolve
from lrcore import Schedule as LRSchedule
from lrcore._internal import check, table

SAVER = "lrcore_plateau_state"  # the optimizer attribute; Keras saves it under optimizer/<SAVER>
# With the schedule's scale, what a PlateauCallback resumes from; epoch: the last one it saw.
FIELDS = ("best", "num_bad", "cooldown", "count", "epoch")
REQUIRED = ("schedule", "steps", "scale")
LENGTHS = ("steps_per_epoch", "tokens_per_step", "samples_per_step")  # what resolves a template, with steps
OPTIONAL = (*LENGTHS, "plateau_state")  # absent from configs saved before they existed

Plateau = tuple[PlateauState, int]  # the state and the epoch of its last update


def table_values(where: str, name: str, s: Any, steps: Any, lengths: dict[str, Any]) -> np.ndarray:
    """The lookup table of `s` in Keras' float type; `table` refuses a value not finite there.

    A template is resolved first, with `steps` (the run's updates) and `lengths` (`LENGTHS`);
    one that needs what is not given raises ValueError naming the length and the argument."""
    for key, value in lengths.items():
        if value is not None:
            check.number(where, key, value, gt=0)
    if isinstance(s, LRSchedule) and s.is_template:
        s = resolved(where, s, steps=None if steps is None else check.count(where, "steps", steps), **lengths)
    dtype = np.dtype(keras.config.floatx())
    return table(s, steps, dtype=dtype if dtype == np.float32 else np.float64, where=where, name=name)


def resolved(where: str, s: LRSchedule, **lengths: Any) -> LRSchedule:
    """``lr.resolve(s, **lengths)``, its errors worded for `where`."""
    try:
        return resolve(s, **lengths)
    except ValueError as err:
        raise ValueError(f"{where}: {str(err).removeprefix('resolve: ')}") from None


def scale(where: str, value: Any, values: np.ndarray) -> float:
    """A scale >= 0 that keeps ``scale * values`` finite in the table's dtype."""
    x = check.number(where, "scale", value, ge=0)
    dtype = values.dtype.type
    peak = values.max(initial=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.isfinite(dtype(x)) and np.isfinite(dtype(x) * peak)
    if not finite:
        rule = f"must keep the learning rate finite in {values.dtype} (the schedule peaks at {float(peak):g})"
        raise check.fail(where, "scale", rule, value)
    return x


def plateau_scale(where: str, scale: float) -> None:
    if scale > 1:
        rule = "must be <= 1 under a plateau (whose scale starts at 1 and only shrinks; scale the schedule instead)"
        raise check.fail(where, "scale", rule, scale)


def plateau(where: str, prefix: str, data: dict[str, Any], scale: float) -> Plateau:
    """The plateau state held in `data` (exactly `FIELDS`), with the schedule's scale."""
    plateau_scale(where, scale)
    value = data["best"]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise check.fail(where, f"{prefix}best", "must be a real number", value, TypeError)
    try:
        best = float(value)  # ±inf before the first improvement
    except OverflowError:
        raise check.fail(where, f"{prefix}best", "must be a float (it is too large)", value) from None
    if math.isnan(best):
        raise check.fail(where, f"{prefix}best", "must not be NaN", value)
    counts = {key: check.count(where, f"{prefix}{key}", data[key]) for key in FIELDS[1:]}
    epoch = counts.pop("epoch")
    return PlateauState(best=best, scale=scale, **counts), epoch


def plateau_config(state: Plateau | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"best": state[0].best, "num_bad": state[0].num_bad, "cooldown": state[0].cooldown,
            "count": state[0].count, "epoch": state[1]}


def read_config(config: Any) -> tuple[LRSchedule, Any, dict[str, Any], Any, Any]:
    """The lrcore schedule and the raw steps, `LENGTHS`, scale and plateau state of a `Schedule` config."""
    where = "keras.Schedule.from_config"
    if not isinstance(config, dict):
        raise check.fail(where, "config", "must be a dict (from get_config)", config, TypeError)
    missing = [key for key in REQUIRED if key not in config]
    if missing:
        raise ValueError(f"{where}: `{missing[0]}` is missing from the config; got keys {sorted(map(str, config))}")
    extra = [key for key in config if key not in (*REQUIRED, *OPTIONAL)]
    if extra:
        rule = f"is not a config key (the keys are {', '.join((*REQUIRED, *OPTIONAL))})"
        raise check.fail(where, str(extra[0]), rule, config[extra[0]])
    try:
        s = from_dict(config["schedule"])
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        rule = f"must be an lrcore schedule dict ({err})"
        raise check.fail(where, "schedule", rule, config["schedule"], kind) from None
    state = config.get("plateau_state")
    if state is not None and not (isinstance(state, dict) and set(state) == set(FIELDS)):
        rule = f"must be None or a dict with exactly the keys {', '.join(FIELDS)}"
        raise check.fail(where, "plateau_state", rule, state, TypeError if not isinstance(state, dict) else ValueError)
    return s, config["steps"], {key: config.get(key) for key in LENGTHS}, config["scale"], state


class PlateauSaver(keras.layers.Layer):
    """Saves a `Schedule`'s scale and plateau state with the optimizer's weights.

    Set as an attribute of the optimizer, it is saved and loaded wherever the optimizer's
    weights are: Keras' saver walks an optimizer's attributes and saves the saveable ones
    (a Layer is one) under ``optimizer/<attribute>``.  Not an optimizer variable: an
    optimizer loads none of its variables from a file holding one more than it has, so
    ``load_model`` (which builds the optimizer from its config) would lose the step count.
    A checkpoint without this entry (a run with no PlateauCallback) changes nothing.
    """

    def __init__(self, schedule: Any) -> None:
        super().__init__(name=SAVER, trainable=False)
        self.schedule = schedule

    def save_own_variables(self, store: Any) -> None:
        store["scale"] = np.array([self.schedule.scale], dtype=np.float64)
        saved = plateau_config(self.schedule._plateau)
        for key, value in (saved or {}).items():
            store[key] = np.array([value], dtype=np.float64 if key == "best" else np.int64)

    def load_own_variables(self, store: Any) -> None:
        keys = set(store.keys())
        if not keys:
            return
        where = "keras.PlateauCallback checkpoint"
        fields = {key: _scalar(where, key, store[key]) for key in sorted(keys)}
        if keys not in ({"scale"}, {"scale", *FIELDS}):
            raise check.fail(where, "fields", f"must be scale, or scale, {', '.join(FIELDS)}", sorted(keys))
        new_scale = scale(where, fields["scale"], self.schedule.values)
        self.schedule._restore(new_scale, plateau(where, "", fields, new_scale) if "best" in keys else None)


def _scalar(where: str, name: str, stored: Any) -> Any:
    value = np.asarray(stored)
    if value.shape != (1,) or value.dtype.kind not in "fi":
        raise check.fail(where, name, "must be one number", value)
    return value[0].item() if value.dtype.kind == "f" else value[0]
