"""What the Keras adapter gets back after a restart, checked before it is used.

A `Schedule`'s config (``model.save``/``load_model``) holds the lrcore schedule, `steps`,
`scale` and the plateau counters; `PlateauSaver` puts the scale and counters into the
optimizer's weights, which ``keras.callbacks.BackupAndRestore`` and ``save_weights`` write
and ``load_weights`` reads back.  Either way a wrong value raises a one-line
ValueError/TypeError naming the field; nothing is changed until every field is valid.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
import numpy as np

from lrcore import PlateauState, from_dict
from lrcore import Schedule as LRSchedule
from lrcore import _validate as check

SAVER = "lrcore_plateau_state"  # the optimizer attribute; Keras saves it under optimizer/<SAVER>
COUNTERS = ("num_bad", "cooldown", "count")
REQUIRED = ("schedule", "steps", "scale")


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


def plateau_state(where: str, data: Any, scale: float) -> PlateauState:
    """The counters ``{best, num_bad, cooldown, count}`` of a config, with the schedule's scale."""
    keys = ("best", *COUNTERS)
    if not isinstance(data, dict):
        raise check.fail(where, "plateau_state", f"must be None or a dict with keys {', '.join(keys)}", data, TypeError)
    if set(data) != set(keys):
        rule = f"must have exactly the keys {', '.join(keys)}"
        raise check.fail(where, "plateau_state", rule, data)
    plateau_scale(where, scale)
    return PlateauState(best=best(where, "plateau_state.best", data["best"]), scale=scale,
                        **{k: check.count(where, f"plateau_state.{k}", data[k]) for k in COUNTERS})


def plateau_scale(where: str, scale: float) -> None:
    if scale > 1:
        rule = "must be <= 1 under a plateau (whose scale starts at 1 and only shrinks; scale the schedule instead)"
        raise check.fail(where, "scale", rule, scale)


def best(where: str, name: str, value: Any) -> float:
    """The best metric so far: a real number, ±inf before the first improvement, never NaN."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise check.fail(where, name, "must be a real number", value, TypeError)
    try:
        x = float(value)
    except OverflowError:
        raise check.fail(where, name, "must be a float (it is too large)", value) from None
    if math.isnan(x):
        raise check.fail(where, name, "must not be NaN", value)
    return x


def read_config(config: Any) -> tuple[LRSchedule, Any, Any, Any]:
    """The lrcore schedule and the raw steps, scale and plateau state of a `Schedule` config."""
    where = "keras.Schedule.from_config"
    if not isinstance(config, dict):
        raise check.fail(where, "config", "must be a dict (from get_config)", config, TypeError)
    missing = [key for key in REQUIRED if key not in config]
    if missing:
        raise ValueError(f"{where}: `{missing[0]}` is missing from the config; got keys {sorted(map(str, config))}")
    extra = [key for key in config if key not in (*REQUIRED, "plateau_state")]
    if extra:
        rule = f"is not a config key (the keys are {', '.join(REQUIRED)}, plateau_state)"
        raise check.fail(where, str(extra[0]), rule, config[extra[0]])
    try:
        s = from_dict(config["schedule"])
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        rule = f"must be an lrcore schedule dict ({err})"
        raise check.fail(where, "schedule", rule, config["schedule"], kind) from None
    return s, config["steps"], config["scale"], config.get("plateau_state")


class PlateauSaver(keras.layers.Layer):
    """Saves a `Schedule`'s scale and plateau counters with the optimizer's weights.

    Set as an attribute of the optimizer, it is saved and loaded wherever the optimizer's
    weights are (Keras saves such attributes as part of their owner).  A checkpoint without
    it (a run with no PlateauCallback) leaves the schedule as it is.
    """

    def __init__(self, schedule: Any) -> None:
        super().__init__(name=SAVER, trainable=False)
        self.schedule = schedule

    def save_own_variables(self, store: Any) -> None:
        state = self.schedule.plateau_state
        store["scale"] = np.array([self.schedule.scale], dtype=np.float64)
        if state is not None:
            store["best"] = np.array([state.best], dtype=np.float64)
            for key in COUNTERS:
                store[key] = np.array([getattr(state, key)], dtype=np.int64)

    def load_own_variables(self, store: Any) -> None:
        keys = set(store.keys())
        if not keys:
            return
        where = "keras.PlateauCallback checkpoint"
        fields = {key: _scalar(where, key, store[key]) for key in sorted(keys)}
        full = {"scale", "best", *COUNTERS}
        if keys not in ({"scale"}, full):
            rule = f"must hold scale, or scale, best, {', '.join(COUNTERS)}"
            raise check.fail(where, "fields", rule, sorted(keys))
        new_scale = scale(where, fields["scale"], self.schedule.values)
        state = None
        if keys == full:
            plateau_scale(where, new_scale)
            state = PlateauState(best=best(where, "best", fields["best"]), scale=new_scale,
                                 **{k: check.count(where, k, fields[k]) for k in COUNTERS})
        self.schedule._restore(new_scale, state)


def _scalar(where: str, name: str, stored: Any) -> Any:
    value = np.asarray(stored)
    if value.shape != (1,) or value.dtype.kind not in "fi":
        raise check.fail(where, name, "must be one number", value)
    return value[0].item() if value.dtype.kind == "f" else value[0]
