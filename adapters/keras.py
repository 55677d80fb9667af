"""Keras 3: an lrcore schedule as a ``LearningRateSchedule``, and two callbacks.

`Schedule` is evaluated in the compiled train step by table lookup with ``keras.ops``
(``lrcore.adapters.sgd.table``), ``lr(step) = scale * values[clip(step, 0, n - 1)]``, on
every backend, and is saved with the model.  `Callback` is Keras' LearningRateScheduler in
lrcore form; `PlateauCallback` is reduce-on-plateau for a `Schedule`-driven optimizer.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from lrcore import Plateau, PlateauState, from_dict
from lrcore import Schedule as LRSchedule
from lrcore import _validate as check

from .sgd import table

try:
    import keras
except ModuleNotFoundError as err:
    if err.name != "keras":
        raise
    raise ModuleNotFoundError("lrcore.adapters.keras needs Keras 3: pip install 'lrcore[keras]'", name="keras") from err

__all__ = ["Callback", "PlateauCallback", "Schedule"]


@keras.saving.register_keras_serializable(package="lrcore")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """`s` at the optimizer's step, times `scale`; `steps` as in ``lrcore.adapters.optax.schedule``.

    Exact to float32 rounding (the values are rounded once from float64) for every step
    when `s` has a finite horizon, else for steps < `steps` (later ones hold s(steps - 1)).
    """

    def __init__(self, s: LRSchedule, steps: int | None = None, *, scale: float = 1.0) -> None:
        if not isinstance(s, LRSchedule):
            raise check.fail("keras.Schedule", "s", "must be an lrcore Schedule", s, TypeError)
        self.schedule = s
        self.steps = steps
        # A Python float, compiled into the train step: PlateauCallback rebuilds the step when it changes.
        self.scale = check.number("keras.Schedule", "scale", scale, ge=0)
        dtype = np.dtype(keras.config.floatx())
        values = table(s, steps, dtype=dtype if dtype == np.float32 else np.float64, where="keras.Schedule")
        self.size = int(values.shape[0])
        self._values = keras.ops.convert_to_tensor(values, dtype=keras.config.floatx())

    def __call__(self, step: Any) -> Any:
        index = keras.ops.cast(keras.ops.clip(step, 0, self.size - 1), "int32")
        return keras.ops.take(self._values, index) * self.scale

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict(), "steps": self.steps, "scale": self.scale}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Schedule:
        return cls(from_dict(config["schedule"]), steps=config.get("steps"), scale=config.get("scale", 1.0))


class Callback(keras.callbacks.Callback):
    """Set the optimizer's (float) learning rate to s(t) at the start of each epoch or batch.

    With ``per="epoch"`` t is the epoch index; with ``per="batch"`` t is the optimizer's
    iteration count (updates applied).  The value set is logged as ``logs["lr"]``.  On JAX
    each batch then syncs the train state to the model: a `Schedule` is the faster way.
    """

    def __init__(self, s: LRSchedule, per: str = "epoch") -> None:
        super().__init__()
        if not isinstance(s, LRSchedule):
            raise check.fail("keras.Callback", "s", "must be an lrcore Schedule", s, TypeError)
        self.schedule = s
        self.per = check.choice("keras.Callback", "per", per, ("epoch", "batch"))
        self.last: float | None = None

    def _set(self, t: int | None) -> None:
        # self.model (not a stored optimizer) syncs the JAX state, so the next step sees the new value.
        optimizer = self.model.optimizer
        if t is None:
            t = int(optimizer.iterations)
        self.last = self.schedule(t)
        optimizer.learning_rate = self.last

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "epoch":
            self._set(epoch)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "batch":
            self._set(None)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "batch" and logs is not None:
            logs["lr"] = self.last

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None and self.last is not None:
            logs["lr"] = self.last


class PlateauCallback(keras.callbacks.Callback):
    """Reduce-on-plateau for an optimizer driven by a `Schedule`: multiplies its `scale`.

    At each epoch's end the `monitor` value feeds `plateau` (``lr.Plateau()`` by default);
    when the scale changes, the schedule's `scale` is set and the train step rebuilt (JAX
    compiles the scale in).  The scale is saved with the model; the controller's counters
    are not (like Keras' callbacks) and restart from the saved scale.  Logs ``lr_scale``.
    """

    def __init__(self, plateau: Plateau | None = None, monitor: str = "val_loss") -> None:
        super().__init__()
        if plateau is not None and not isinstance(plateau, Plateau):
            raise check.fail("keras.PlateauCallback", "plateau", "must be an lrcore Plateau", plateau, TypeError)
        if not isinstance(monitor, str):
            raise check.fail("keras.PlateauCallback", "monitor", "must be a str", monitor, TypeError)
        self.plateau = Plateau() if plateau is None else plateau
        self.monitor = monitor
        self.state: PlateauState | None = None

    def _schedule(self) -> Schedule:
        # Keras keeps the optimizer's schedule in `_learning_rate`; `learning_rate` evaluates it.
        s = getattr(self.model.optimizer, "_learning_rate", None)
        if not isinstance(s, Schedule):
            raise TypeError(
                "keras.PlateauCallback: the optimizer's learning rate must be an lrcore.adapters.keras.Schedule; "
                f"got {s!r} (for a float learning rate use keras.callbacks.ReduceLROnPlateau)"
            )
        return s

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.state = replace(self.plateau.init(), scale=self._schedule().scale)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        metric = logs.get(self.monitor)
        if metric is None:
            available = ", ".join(logs)
            warnings.warn(f"keras.PlateauCallback: `{self.monitor}` is not in the logs (available: {available}); "
                          "the scale is left unchanged", stacklevel=2)
            return
        schedule = self._schedule()
        state = self.state or replace(self.plateau.init(), scale=schedule.scale)
        self.state = self.plateau.update(state, metric)
        if self.state.scale != schedule.scale:
            schedule.scale = self.state.scale
            self.model.make_train_function(force=True)
        logs["lr_scale"] = schedule.scale
