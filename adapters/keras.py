"""Keras 3: an lrcore schedule as a ``LearningRateSchedule``, and two callbacks.

`Schedule` is evaluated in the compiled train step by table lookup with ``keras.ops``
(``lrcore.adapters.sgd.table``), ``lr(step) = scale * values[clip(step, 0, n - 1)]``, on
every backend, and is saved with the model.  `Callback` is Keras' LearningRateScheduler in
lrcore form; `PlateauCallback` is reduce-on-plateau for a `Schedule`-driven optimizer, whose
scale and state ``BackupAndRestore`` and ``load_model`` restore (``_keras_state``).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

from lrcore import Plateau, PlateauState
from lrcore import Schedule as LRSchedule
from lrcore._internal import check, log_reduction

try:
    import keras
except ModuleNotFoundError as err:
    if err.name != "keras":
        raise
    raise ModuleNotFoundError("lrcore.adapters.keras needs Keras 3: pip install 'lrcore[keras]'", name="keras") from err

from . import _keras_state as saved  # noqa: E402
from ._find_keras import find_lr  # noqa: E402

__all__ = ["Callback", "PlateauCallback", "Schedule", "find_lr"]


@keras.saving.register_keras_serializable(package="lrcore")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """`s` at the optimizer's step, times `scale`; `steps` as in ``lrcore.adapters.optax.schedule``.

    Exact to float32 rounding (the values are rounded once from float64) for every step
    when `s` has a finite horizon, else for steps < `steps` (later ones hold s(steps - 1)).
    A template (lengths such as "5%", "3ep" or "2e9tok") is resolved here, before
    ``compile``, from `steps` (the run's updates: epochs x steps per epoch),
    `steps_per_epoch`, `tokens_per_step` and `samples_per_step`, as torch's ``Scheduler``
    resolves it; one without what it needs raises ValueError naming the length and the
    argument.  The config holds `s` as written, `steps`, those lengths, `scale` and a
    `PlateauCallback`'s state.  Keras finds the class by its registered name
    "lrcore>Schedule", so ``import lrcore.adapters.keras`` must run before
    ``keras.saving.load_model`` of a model that uses it.
    """

    def __init__(self, s: LRSchedule, steps: int | None = None, *, steps_per_epoch: float | None = None,
                 tokens_per_step: float | None = None, samples_per_step: float | None = None,
                 scale: float = 1.0) -> None:
        lengths = {"steps_per_epoch": steps_per_epoch, "tokens_per_step": tokens_per_step,
                   "samples_per_step": samples_per_step}
        self._setup("keras.Schedule", "s", s, steps, lengths, scale, None)

    def _setup(self, where: str, name: str, s: Any, steps: Any, lengths: dict[str, Any], scale: Any,
               state: Any) -> None:
        values = saved.table_values(where, name, s, steps, lengths)
        self.schedule, self.steps, self.values, self.size = s, steps, values, int(values.shape[0])
        self.lengths = lengths
        self._scale = saved.scale(where, scale, values)
        self._plateau = None if state is None else saved.plateau(where, "plateau_state.", state, self._scale)
        self._values = keras.ops.convert_to_tensor(values, dtype=keras.config.floatx())

    @property
    def scale(self) -> float:
        """Multiplies every value; set by `PlateauCallback` (JAX compiles it into the train step)."""
        return self._scale

    @property
    def plateau_state(self) -> PlateauState | None:
        """The `PlateauCallback` state (with `scale`), or None before its first update."""
        return None if self._plateau is None else self._plateau[0]

    def _restore(self, scale: float, state: saved.Plateau | None) -> None:
        self._scale, self._plateau = scale, state

    def __call__(self, step: Any) -> Any:
        index = keras.ops.cast(keras.ops.clip(step, 0, self.size - 1), "int32")
        return keras.ops.take(self._values, index) * self._scale

    def __repr__(self) -> str:
        lengths = "".join(f", {key}={value!r}" for key, value in self.lengths.items() if value is not None)
        return f"keras.Schedule({self.schedule!r}, steps={self.steps!r}{lengths}, scale={self._scale!r})"

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_dict(), "steps": self.steps, **self.lengths, "scale": self._scale,
                "plateau_state": saved.plateau_config(self._plateau)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Schedule:
        """Every field is checked: a bad one raises ValueError/TypeError naming it."""
        s, steps, lengths, scale, state = saved.read_config(config)
        schedule = cls.__new__(cls)
        schedule._setup("keras.Schedule.from_config", "schedule", s, steps, lengths, scale, state)
        return schedule


def _for_fit(where: str, s: LRSchedule, per: str, params: dict[str, Any]) -> LRSchedule:
    """`s` with its lengths resolved for this fit: in updates for ``per="batch"`` (a fraction of
    epochs x steps, "3ep" x steps), in epochs for ``per="epoch"`` (a fraction of the epochs)."""
    if not s.is_template:
        return s
    epochs, steps = params.get("epochs"), params.get("steps")
    if per == "epoch":
        return saved.resolved(where, s, steps=epochs, steps_per_epoch=1)
    if steps is None:
        raise ValueError(f"{where}: {s!r} is a template, and fit does not know the steps of an epoch of this "
                         "data to resolve it: pass fit(..., steps_per_epoch=...) or lr.resolve it first")
    return saved.resolved(where, s, steps=epochs * steps, steps_per_epoch=steps)


class Callback(keras.callbacks.Callback):
    """Set the optimizer's (float) learning rate to s(t) at the start of each epoch or batch.

    With ``per="epoch"`` t is the epoch index; with ``per="batch"`` t is the optimizer's
    iteration count (updates applied).  A template is resolved when the fit starts, in the
    unit t counts: with ``per="batch"`` "50%" is half of epochs x steps per epoch and "3ep"
    three epochs of updates; with ``per="epoch"`` "50%" is half of the epochs.  The value
    set is logged as ``logs["lr"]``.  On JAX each batch then syncs the train state to the
    model: a `Schedule` is the faster way.
    """

    def __init__(self, s: LRSchedule, per: str = "epoch") -> None:
        super().__init__()
        if not isinstance(s, LRSchedule):
            raise check.fail("keras.Callback", "s", "must be an lrcore Schedule", s, TypeError)
        self.schedule = s
        self.per = check.choice("keras.Callback", "per", per, ("epoch", "batch"))
        self.last: float | None = None
        self._resolved = s

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # A float learning rate is a Variable; Keras refuses to set a schedule or a callable.
        current = self.model.optimizer._learning_rate
        if not isinstance(current, keras.Variable):
            rule = ("is already a schedule: use it (e.g. lrcore.adapters.keras.Schedule) or this Callback "
                    "with a float learning rate, not both")
            raise check.fail("keras.Callback", "learning_rate", rule, current)
        self._resolved = _for_fit("keras.Callback", self.schedule, self.per, self.params)

    def _set(self, t: int | None) -> None:
        # self.model (not a stored optimizer) syncs the JAX state, so the next step sees the new value.
        optimizer = self.model.optimizer
        if t is None:
            t = int(optimizer.iterations)
        self.last = self._resolved(t)
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

    At each epoch's end the `monitor` value feeds `plateau` (``lr.Plateau()`` by default)
    and the schedule's scale and state follow; the train step is rebuilt before the next
    epoch when the scale changed (JAX compiles it in).  Scale and state are saved with the
    optimizer's weights (``BackupAndRestore``, ``save_weights``; restored inside `fit`) and
    in the schedule's config (``model.save``), so a resumed run continues exactly.  List
    it before ``BackupAndRestore``/``ModelCheckpoint``, which also save at the epoch's end
    (a resume that finds an epoch's update missing warns).  Logs ``lr_scale``, and each
    reduction on the ``"lrcore"`` logger at INFO, as ``ReduceLROnPlateau(verbose=1)`` prints it.
    """

    def __init__(self, plateau: Plateau | None = None, monitor: str = "val_loss") -> None:
        super().__init__()
        if plateau is not None and not isinstance(plateau, Plateau):
            raise check.fail("keras.PlateauCallback", "plateau", "must be an lrcore Plateau", plateau, TypeError)
        if not isinstance(monitor, str):
            raise check.fail("keras.PlateauCallback", "monitor", "must be a str", monitor, TypeError)
        self.plateau = Plateau() if plateau is None else plateau
        self.monitor = monitor
        self._compiled_scale: float | None = None
        self._resuming = False

    def set_model(self, model: Any) -> None:
        # Runs before any on_train_begin, so BackupAndRestore's load finds the saver.
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        schedule, saver = getattr(optimizer, "_learning_rate", None), getattr(optimizer, saved.SAVER, None)
        if isinstance(schedule, Schedule) and getattr(saver, "schedule", None) is not schedule:
            setattr(optimizer, saved.SAVER, saved.PlateauSaver(schedule))

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
        saved.plateau_scale("keras.PlateauCallback", self._schedule().scale)
        self._compiled_scale = None  # a train step kept from an earlier fit may hold another scale
        self._resuming = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # After every on_train_begin, so after BackupAndRestore has restored the state.
        schedule = self._schedule()
        last = None if schedule._plateau is None else schedule._plateau[1]
        if self._resuming and last is not None and last < epoch - 1:
            warnings.warn(f"keras.PlateauCallback: training resumes at epoch {epoch} but the plateau state is "
                          f"from epoch {last}: the metric of epoch {epoch - 1} was never seen (list PlateauCallback "
                          "before BackupAndRestore and ModelCheckpoint, which save at the same epoch end)",
                          stacklevel=2)
        self._resuming = False
        if schedule.scale != self._compiled_scale:
            self.model.make_train_function(force=True)
            self._compiled_scale = schedule.scale

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        metric = logs.get(self.monitor)
        if metric is None:
            available = ", ".join(logs)
            warnings.warn(f"keras.PlateauCallback: `{self.monitor}` is not in the logs (available: {available}); "
                          "the scale is left unchanged", stacklevel=2)
            return
        schedule = self._schedule()
        before = replace(schedule.plateau_state or self.plateau.init(), scale=schedule.scale)
        state = self.plateau.update(before, metric)
        log_reduction("keras.PlateauCallback", epoch, metric, before, state, unit="epoch")
        schedule._restore(state.scale, (state, epoch))
        logs["lr_scale"] = state.scale

