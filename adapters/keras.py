"""Keras 3: an lrcore schedule as a ``LearningRateSchedule``, and three callbacks.

`Schedule` is evaluated in the compiled train step by table lookup with ``keras.ops``
(``lrcore.adapters.sgd.table``), ``lr(step) = scale * values[clip(step, 0, n - 1)]``, on
every backend, and is saved with the model.  `Callback` is Keras' LearningRateScheduler in
lrcore form; `PlateauCallback` is reduce-on-plateau for a `Schedule`-driven optimizer, whose
scale and state ``BackupAndRestore`` and ``load_model`` restore (``_keras_state``);
`HyperCallback` schedules momentum, beta_1 and weight decay so that the update applied
uses them on the JAX backend too, whose compiled train step would keep a Python float.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from lrcore import Plateau, PlateauState
from lrcore import Schedule as LRSchedule
from lrcore._internal import check, log_reduction, table

try:
    import keras
except ModuleNotFoundError as err:
    if err.name != "keras":
        raise
    raise ModuleNotFoundError("lrcore.adapters.keras needs Keras 3: pip install 'lrcore[keras]'", name="keras") from err

from . import _keras_state as saved  # noqa: E402
from ._find_keras import find_lr  # noqa: E402

__all__ = ["Callback", "HyperCallback", "PlateauCallback", "Schedule", "find_lr"]


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


WH = "keras.HyperCallback"
OWNER = "_lrcore_hyper_callback"  # the optimizer attribute naming the HyperCallback that drives it
# What each hyperparameter may be at every step, and the rule's words.  Keras' torch SGD skips
# its momentum buffer at a step whose momentum is 0 (its JAX SGD does not): momentum stays > 0.
BOUNDS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "momentum": (lambda v: (v > 0) & (v <= 1), "in (0, 1]"),
    "beta_1": (lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
}


def _op(name: str, field: str, reflected: bool = False) -> Callable[[Any, Any], Any]:
    f = getattr(operator, name)
    if reflected:
        return lambda self, other: f(other, getattr(self, field))
    return lambda self, other: f(getattr(self, field), other)


class _InGraph:
    """A hyperparameter inside the traced update (JAX).  In arithmetic and in ``keras.ops`` it is
    this step's value, traced; compared with a number, as Keras' optimizers do to choose the
    shape of their update (SGD keeps a momentum buffer only if ``momentum != 0``), it is the
    value the optimizer was built with, so the update keeps that shape."""

    __slots__ = ("value", "built")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: Any, built: Any) -> None:
        self.value, self.built = value, built

    def __jax_array__(self) -> Any:
        return self.value

    def __float__(self) -> float:
        raise TypeError("a scheduled hyperparameter read as a Python float would be constant in the compiled update")

    def __bool__(self) -> bool:
        return bool(self.built)

    def __neg__(self) -> Any:
        return -self.value

    __eq__, __ne__ = _op("eq", "built"), _op("ne", "built")  # type: ignore[assignment]
    __lt__, __le__, __gt__, __ge__ = _op("lt", "built"), _op("le", "built"), _op("gt", "built"), _op("ge", "built")
    __add__, __radd__ = _op("add", "value"), _op("add", "value", reflected=True)
    __sub__, __rsub__ = _op("sub", "value"), _op("sub", "value", reflected=True)
    __mul__, __rmul__ = _op("mul", "value"), _op("mul", "value", reflected=True)
    __truediv__, __rtruediv__ = _op("truediv", "value"), _op("truediv", "value", reflected=True)
    __pow__, __rpow__ = _op("pow", "value"), _op("pow", "value", reflected=True)


def _unread(apply: Callable[[dict[str, Any]], Any], keys: list[str]) -> list[str]:
    """The keys that `apply` (the optimizer's update, given their values) never reads: traced once
    with jax, an input that no output depends on."""
    import jax
    from jax.extend.core import Var

    jaxpr = jax.make_jaxpr(lambda values: apply(dict(zip(keys, values, strict=True))))(
        [np.float32(0.5)] * len(keys)).jaxpr
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    for eqn in reversed(jaxpr.eqns):  # an equation with a live output reads all its inputs
        if any(v in live for v in eqn.outvars):
            live.update(v for v in eqn.invars if isinstance(v, Var))
    return [key for key, var in zip(keys, jaxpr.invars, strict=True) if var not in live]


class HyperCallback(keras.callbacks.Callback):
    """Schedule the optimizer's ``momentum``, ``beta_1`` and ``weight_decay``: each update uses s(t).

    `schedules` maps each hyperparameter (``momentum`` of SGD and RMSprop, ``beta_1`` of the
    Adam family and Lion, ``weight_decay`` of any optimizer) to an lrcore schedule; t is the
    optimizer's iteration count (``per="batch"``) or the epoch (``per="epoch"``), and a template
    is resolved when the fit starts, as for `Callback`.  Values are float32, each rounded once.

    On the torch backend the train step reads the optimizer's attributes at every update, so
    the callback sets them before each batch or epoch.  On JAX the train step is compiled and
    would keep the float it was traced with; there the optimizer's update reads the value in
    the graph: ``values[iterations]`` from a table (per batch: no sync, no recompilation), or
    the epoch's value (per epoch: the step is recompiled when it changes).  Before training, a
    hyperparameter the optimizer does not have or its update would not read (an SGD built with
    momentum 0 keeps no momentum buffer) raises ValueError.  After each epoch the values last
    applied are the optimizer's floats, so ``model.save`` and ``ModelCheckpoint`` keep them, and
    ``logs[name]``; a resumed fit (``BackupAndRestore``) continues from the restored iterations
    or epoch.  With ``jit_compile=True`` on torch, ``torch.compile`` guards on the floats and
    compiles again for each new value (past its limit it runs the step eagerly): right, but slow.
    """

    def __init__(self, schedules: dict[str, LRSchedule], per: str = "batch") -> None:
        super().__init__()
        if not isinstance(schedules, dict) or not schedules:
            rule = f"must be a non-empty dict from hyperparameter names ({', '.join(BOUNDS)}) to lrcore Schedules"
            kind = TypeError if not isinstance(schedules, dict) else ValueError
            raise check.fail(WH, "schedules", rule, schedules, kind)
        for key, s in schedules.items():
            if key not in BOUNDS:
                rule = (f"must have keys among {', '.join(BOUNDS)} (the learning rate: Schedule or Callback); "
                        f"{check.show(key)} is not")
                raise check.fail(WH, "schedules", rule, schedules)
            if not isinstance(s, LRSchedule):
                raise check.fail(WH, f"schedules[{key!r}]", "must be an lrcore Schedule", s, TypeError)
        self.schedules = dict(schedules)
        self.per = check.choice(WH, "per", per, ("batch", "epoch"))
        self.values: dict[str, np.ndarray] = {}  # float32: one per update (per batch) or per epoch
        self.last: dict[str, float] = {}
        self._in_graph: dict[str, Any] = {}  # JAX, per epoch: the values the compiled step holds
        self._previous_apply: Any = None
        self._source: Callable[[], dict[str, Any]] = dict

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        optimizer, backend = self.model.optimizer, keras.backend.backend()
        if backend not in ("jax", "torch"):
            raise ValueError(f"{WH}: drives hyperparameters on the JAX and torch backends; got backend {backend!r}")
        owner = vars(optimizer).get(OWNER)
        if owner is not None and owner is not self and owner.params is self.params:
            raise ValueError(f"{WH}: another HyperCallback drives this optimizer in this fit; give one HyperCallback "
                             "all the schedules")
        if owner is not None:  # left by a fit that ended with an error
            owner._release(optimizer)
        built = {key: self._built_with(optimizer, key) for key in self.schedules}
        self.values = {key: self._values(key, s, optimizer) for key, s in self.schedules.items()}
        self._in_graph = {}
        object.__setattr__(optimizer, OWNER, self)
        if backend == "jax":
            self._install(optimizer, built)
            unread = _unread(lambda values: self._dry_run(optimizer, values), list(built))
            if unread:
                self._release(optimizer)
                raise ValueError(f"{WH}: the update of {type(optimizer).__name__} never reads `{unread[0]}` here, "
                                 f"so a schedule for it would change nothing")
            self.model.make_train_function(force=True)  # a step traced before would hold the old floats

    def _built_with(self, optimizer: Any, key: str) -> Any:
        name = type(optimizer).__name__
        value = getattr(optimizer, key, None)
        if not (isinstance(value, float) or (key == "weight_decay" and value is None)):
            raise ValueError(f"{WH}: `{key}` is not a float hyperparameter of {name}; got {key}={check.show(value)}")
        if key == "momentum" and not (value is not None and value > 0):
            raise ValueError(f"{WH}: `momentum` needs an optimizer built with momentum > 0 ({name} keeps no momentum "
                             f"buffer at 0: {name}(momentum=0.9, ...)); got momentum={value!r}")
        if key == "weight_decay" and not any(optimizer._use_weight_decay(v) for v in self.model.trainable_variables):
            raise ValueError(f"{WH}: `weight_decay` would change nothing: {name} excludes every variable from it")
        return value

    def _values(self, key: str, s: LRSchedule, optimizer: Any) -> np.ndarray:
        s = _for_fit(WH, s, self.per, self.params)
        epochs, steps, name = self.params.get("epochs") or 1, self.params.get("steps"), f"schedules[{key!r}]"
        if self.per == "epoch":
            values = table(s, epochs, dtype=np.float32, where=WH, name=name)
        else:
            run = None if steps is None else int(optimizer.iterations) + epochs * steps  # the last t, and more
            if run is None and (s.horizon is None or s.horizon == float("inf")):
                raise ValueError(f"{WH}: {name} = {s!r} has no end, and fit does not know the steps of an epoch of "
                                 "this data: pass fit(..., steps_per_epoch=...)")
            values = table(s, run, dtype=np.float32, where=WH, name=name)
        ok, rule = BOUNDS[key]
        bad = ~ok(values)
        if bad.any():
            t = int(np.argmax(bad))
            raise ValueError(f"{WH}: `{key}` must be {rule} at every step; its schedule gives {float(values[t])!r} "
                             f"at t={t}: {name}={s!r}")
        return values

    def _value(self, key: str, t: int) -> float:
        values = self.values[key]
        return float(values[min(t, values.shape[0] - 1)])

    def _reader(self, optimizer: Any) -> dict[str, Any]:
        """Each hyperparameter's value for the update being traced."""
        if self.per == "epoch":
            return {key: keras.ops.convert_to_tensor(np.float32(v)) for key, v in self._in_graph.items()}
        out = {}
        for key, values in self.values.items():
            index = keras.ops.clip(keras.ops.convert_to_tensor(optimizer.iterations), 0, values.shape[0] - 1)
            out[key] = keras.ops.take(keras.ops.convert_to_tensor(values), index)
        return out

    def _install(self, optimizer: Any, built: dict[str, Any]) -> None:
        """Give `optimizer` (JAX) an `apply` that holds the scheduled values while its update is traced."""
        self._previous_apply = vars(optimizer).get("apply")
        original = self._previous_apply or type(optimizer).apply.__get__(optimizer)
        self._source = lambda: self._reader(optimizer)

        def apply(grads: Any, trainable_variables: Any = None) -> Any:
            held = {key: getattr(optimizer, key) for key in built}
            try:
                for key, value in self._source().items():
                    object.__setattr__(optimizer, key, _InGraph(value, built[key]))
                return original(grads, trainable_variables)
            finally:
                for key, value in held.items():
                    object.__setattr__(optimizer, key, value)

        object.__setattr__(optimizer, "apply", apply)

    def _release(self, optimizer: Any) -> None:
        """Leave `optimizer` as it was before this callback's fit (its floats: the last values applied)."""
        if vars(optimizer).get(OWNER) is not self:
            return
        object.__delattr__(optimizer, OWNER)
        if keras.backend.backend() == "jax":
            if self._previous_apply is None:
                object.__delattr__(optimizer, "apply")
            else:
                object.__setattr__(optimizer, "apply", self._previous_apply)

    def _dry_run(self, optimizer: Any, values: dict[str, Any]) -> Any:
        """One update of the optimizer, without changing a variable, with `values` as the hyperparameters."""
        reader, self._source = self._source, lambda: values
        try:
            trainable = [v.value for v in self.model.trainable_variables]
            grads = [keras.ops.zeros_like(v) for v in trainable]
            return optimizer.stateless_apply([v.value for v in optimizer.variables], grads, trainable)
        finally:
            self._source = reader

    def _set(self, t: int) -> None:
        optimizer = self.model.optimizer
        for key in self.values:
            self.last[key] = self._value(key, t)
            setattr(optimizer, key, self.last[key])

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per != "epoch":
            return
        self._set(epoch)
        if keras.backend.backend() == "jax" and self._in_graph != self.last:
            self._in_graph = dict(self.last)
            self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "batch" and keras.backend.backend() == "torch":
            self._set(int(self.model.optimizer.iterations))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "batch":  # the values of the last update (on JAX the host learns them here)
            self._set(max(int(self.model.optimizer.iterations) - 1, 0))
        if logs is not None:
            logs.update(self.last)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._release(self.model.optimizer)
        if keras.backend.backend() == "jax":
            self.model.make_train_function(force=True)  # a later fit without this callback traces afresh
