"""Keras: PlateauCallback's scale and counters survive a preemption (BackupAndRestore) and
save/load, like Keras' own ReduceLROnPlateau's learning rate; saved configs and states
that are wrong load with a clear error, never with wrong numbers.

As in test_adapter_keras.py, the model learns w in y_pred = w * x with x = 1, loss "mae"
and targets far above w: every gradient is exactly -1, so SGD adds the learning rate to w
at each update and w is the float32 running sum of the learning rates the train step used.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters.keras import PlateauCallback, Schedule

SAMPLES, BATCH = 64, 4  # 16 updates per epoch
STEPS_PER_EPOCH = SAMPLES // BATCH
X = np.ones((SAMPLES, 1), dtype=np.float32)
Y = np.full((SAMPLES, 1), 1e4, dtype=np.float32)

S = lr.warmup(lr.cosine(init=0.1, steps=112, final=0.001), steps=16)
# min mode, patience 1: a reduction after epoch 3; epoch 5 is bad, so the checkpoint written
# after it holds num_bad = 1, and epoch 6's bad value reduces again only if that survived.
METRICS = [1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.9, 0.9]
PLATEAU = lr.Plateau(factor=0.5, patience=1)
PREEMPTED_AT = 6  # the epoch whose start raises, as in BackupAndRestore's documented example


class Feed(keras.callbacks.Callback):
    """Puts the test's metric for the epoch in the logs (listed before the callbacks reading it)."""

    def on_epoch_end(self, epoch, logs=None):
        logs["fake_loss"] = METRICS[epoch]


class Record(keras.callbacks.Callback):
    """w after every update, and the learning rate each epoch started with."""

    def __init__(self):
        super().__init__()
        self.w: list[np.float32] = []
        self.epoch_lr: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.epoch_lr.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))

    def on_train_batch_end(self, batch, logs=None):
        self.w.append(_w(self.model))


class Preempt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == PREEMPTED_AT:
            raise RuntimeError("preempted")


def _w(model) -> np.float32:
    return np.float32(keras.ops.convert_to_numpy(model.weights[0].value).ravel()[0])


def _model(learning_rate) -> keras.Model:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mae")
    return model


def _fit(model, callbacks, epochs=8):
    return model.fit(X, Y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)


def _expected_w() -> list[np.float32]:
    """w after each update when epoch e trains with s(t) * (the scale set after epoch e-1)."""
    state, scales = PLATEAU.init(), []
    for metric in METRICS:
        scales.append(state.scale)
        state = PLATEAU.update(state, metric)
    values = S.array(len(METRICS) * STEPS_PER_EPOCH, dtype=np.float32)
    lrs = values * np.repeat(np.array(scales, dtype=np.float32), STEPS_PER_EPOCH)
    return list(np.cumsum(lrs, dtype=np.float32))  # float32 sums, one update at a time


def _final_state() -> lr.PlateauState:
    state = PLATEAU.init()
    for metric in METRICS:
        state = PLATEAU.update(state, metric)
    return state


def lrcore_resumes_exactly(directory: str) -> None:
    """Uninterrupted run vs preempted + resumed (same model object, and a new one as after a
    restart): the same w after every update, the same scale and counters at the end."""
    record = Record()
    model = _model(Schedule(S))
    _fit(model, [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"), record])
    expected = _expected_w()
    assert record.w == expected
    assert model.optimizer._learning_rate.plateau_state == _final_state()

    for same_model in (True, False):
        backup = str(Path(directory) / f"backup_{same_model}")
        first, second = Record(), Record()
        model = _model(Schedule(S))
        with pytest.raises(RuntimeError, match="preempted"):
            _fit(model, [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"),
                         keras.callbacks.BackupAndRestore(backup), first, Preempt()])
        assert first.w == expected[: PREEMPTED_AT * STEPS_PER_EPOCH]
        if not same_model:
            model = _model(Schedule(S))  # everything the run knew now comes from the backup
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fit(model, [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"),
                         keras.callbacks.BackupAndRestore(backup), second])
        assert not [w for w in caught if "PlateauCallback" in str(w.message)]
        assert second.w == expected[PREEMPTED_AT * STEPS_PER_EPOCH :], same_model
        schedule = model.optimizer._learning_rate
        assert schedule.plateau_state == _final_state() and schedule.scale == _final_state().scale


def test_lrcore_plateau_survives_backup_and_restore_on_jax(tmp_path):
    assert keras.backend.backend() == "jax"
    lrcore_resumes_exactly(str(tmp_path))


def test_lrcore_plateau_survives_backup_and_restore_on_torch(tmp_path):
    code = (
        "import runpy, keras; assert keras.backend.backend() == 'torch'; "
        f"runpy.run_path({__file__!r})['lrcore_resumes_exactly']({str(tmp_path)!r})"
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


def test_keras_reduce_lr_on_plateau_keeps_its_learning_rate_across_the_same_preemption(tmp_path):
    """The peer: Keras' ReduceLROnPlateau writes the optimizer's lr variable, which the backup
    holds, so the resumed run starts with the reduced lr (its counters are not kept)."""
    def callbacks():
        # patience 2 in Keras (wait >= patience) is lrcore's / torch's patience 1 (num_bad > patience)
        return [Feed(), keras.callbacks.ReduceLROnPlateau(monitor="fake_loss", mode="min", factor=0.5,
                                                           patience=2, min_delta=0)]

    whole = Record()
    _fit(_model(0.1), [*callbacks(), whole])
    assert whole.epoch_lr[PREEMPTED_AT] == np.float32(0.05)  # reduced once before the preemption
    first, second = Record(), Record()
    model = _model(0.1)
    backup = str(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="preempted"):
        _fit(model, [*callbacks(), keras.callbacks.BackupAndRestore(backup), first, Preempt()])
    _fit(_model(0.1), [*callbacks(), keras.callbacks.BackupAndRestore(backup), second])
    assert second.epoch_lr[0] == whole.epoch_lr[PREEMPTED_AT]
    assert second.w[:STEPS_PER_EPOCH] == whole.w[PREEMPTED_AT * STEPS_PER_EPOCH : (PREEMPTED_AT + 1) * STEPS_PER_EPOCH]


def test_scale_and_counters_are_saved_with_the_model(tmp_path):
    model = _model(Schedule(S))
    _fit(model, [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss")], epochs=PREEMPTED_AT)
    saved = model.optimizer._learning_rate
    assert saved.scale == 0.5 and saved.plateau_state.num_bad == 1
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    schedule = loaded.optimizer._learning_rate
    assert (schedule.scale, schedule.plateau_state) == (saved.scale, saved.plateau_state)
    assert int(loaded.optimizer.iterations) == PREEMPTED_AT * STEPS_PER_EPOCH
    # The loaded model continues exactly as the uninterrupted run (epochs 6 and 7).
    record = Record()
    loaded.fit(X, Y, batch_size=BATCH, epochs=len(METRICS), initial_epoch=PREEMPTED_AT, verbose=0,
               shuffle=False, callbacks=[Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"), record])
    assert record.w == _expected_w()[PREEMPTED_AT * STEPS_PER_EPOCH :]
    assert schedule.plateau_state == _final_state()


# -- checked loading: configs and checkpoint states ---------------------------------------

BAD_VALUES = [None, True, "0.5", b"1", [], {}, -1, -0.5, math.nan, math.inf, -math.inf, 1e308, 10**400, 2**63,
              0, 3, 0.5]


def _real_config() -> dict:
    """A Schedule's config after a PlateauCallback has reduced the scale once and counted."""
    model = _model(Schedule(lr.warmup(lr.cosine(init=0.1, steps=30, final=0.001), steps=5), steps=40))
    model.fit(X, Y, batch_size=SAMPLES, epochs=PREEMPTED_AT, verbose=0,
              callbacks=[Feed(), PlateauCallback(PLATEAU, monitor="fake_loss")])
    config = model.optimizer._learning_rate.get_config()
    assert config["scale"] == 0.5 and config["plateau_state"]["num_bad"] == 1
    return config


def _mutations(config: dict):
    """(field, mutated config): every field, nested schedule parameters included, set to every
    bad value; each required key removed; an unknown key added."""
    def nested(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from nested(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from nested(item, (*path, i))
        if path:
            yield path

    def replaced(data, path, new):
        if not path:
            return new
        copy = dict(data) if isinstance(data, dict) else list(data)
        copy[path[0]] = replaced(data[path[0]], path[1:], new)
        return copy

    for path in nested(config, ()):
        field = path[0] if path[0] != "plateau_state" or len(path) == 1 else f"plateau_state.{path[1]}"
        for bad in BAD_VALUES:
            yield field, replaced(config, path, bad)
    for key in ("schedule", "steps", "scale"):
        yield key, {k: v for k, v in config.items() if k != key}
    yield "extra", {**config, "extra": 1}
    yield "plateau_state", {**config, "plateau_state": {**config["plateau_state"], "extra": 0}}


def test_every_mutated_config_loads_the_same_numbers_or_names_the_field():
    config = _real_config()
    loaded_counts = {"loaded": 0, "refused": 0}
    for field, mutated in _mutations(config):
        try:
            schedule = Schedule.from_config(mutated)
        except (ValueError, TypeError) as err:
            message = str(err)
            assert message.startswith(f"keras.Schedule.from_config: `{field}`"), (field, mutated, message)
            assert "\n" not in message and len(message) < 1000, message
            loaded_counts["refused"] += 1
            continue
        # Loaded: the learning rates are exactly s(t) * scale for the config's own values.
        s, steps, scale = lr.from_dict(mutated["schedule"]), mutated["steps"], mutated["scale"]
        size = math.ceil(s.horizon) + 1 if s.horizon is not None and math.isfinite(s.horizon) else steps
        size = size if steps is None else min(size, steps)  # the table; later steps hold its last value
        expected = s.array(size + 5, dtype=np.float32)
        expected[size:] = expected[size - 1]
        expected = expected * np.float32(scale)
        got = keras.ops.convert_to_numpy(schedule(np.arange(size + 5, dtype=np.int32)))
        assert got.tolist() == expected.tolist(), (field, mutated)
        assert schedule.get_config() == {"plateau_state": None, **mutated}, (field, mutated)
        loaded_counts["loaded"] += 1
    assert loaded_counts["loaded"] > 10 and loaded_counts["refused"] > 100, loaded_counts


@pytest.mark.parametrize(("config", "message"), [
    ("not a dict", "keras.Schedule.from_config: `config` must be a dict (from get_config); got config='not a dict'"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": 0.5, "plateau_state": {"best": 0.5}},
     "keras.Schedule.from_config: `plateau_state` must be None or a dict with exactly the keys best, num_bad, "
     "cooldown, count, epoch; got plateau_state={'best': 0.5}"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": 2.0,
      "plateau_state": {"best": 0.5, "num_bad": 0, "cooldown": 0, "count": 1, "epoch": 0}},
     "keras.Schedule.from_config: `scale` must be <= 1 under a plateau (whose scale starts at 1 and only shrinks; "
     "scale the schedule instead); got scale=2.0"),
    ({"schedule": {"kind": "cosine", "init": 0.1, "steps": -5}, "steps": None, "scale": 1.0},
     "keras.Schedule.from_config: `schedule` must be an lrcore schedule dict (cosine: `steps` must be > 0; "
     "got steps=-5); got schedule={'kind': 'cosine', 'init': 0.1, 'steps': -5}"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": -3.0},
     "keras.Schedule.from_config: `scale` must be >= 0; got scale=-3.0"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": 1e39},
     "keras.Schedule.from_config: `scale` must keep the learning rate finite in float32 (the schedule peaks at 0.1); "
     "got scale=1e+39"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": True},
     "keras.Schedule.from_config: `scale` must be a real number; got scale=True"),
    ({"schedule": {"kind": "exponential", "init": 0.1, "gamma": 0.9}, "steps": 10.0, "scale": 1.0},
     "keras.Schedule.from_config: `steps` must be an int; got steps=10.0"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "scale": 1.0},
     "keras.Schedule.from_config: `steps` is missing from the config; got keys ['scale', 'schedule']"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": 1.0,
      "plateau_state": {"best": math.nan, "num_bad": 0, "cooldown": 0, "count": 1, "epoch": 0}},
     "keras.Schedule.from_config: `plateau_state.best` must not be NaN; got plateau_state.best=nan"),
    ({"schedule": {"kind": "constant", "value": 0.1}, "steps": None, "scale": 1.0,
      "plateau_state": {"best": 0.5, "num_bad": "1", "cooldown": 0, "count": 1, "epoch": 0}},
     "keras.Schedule.from_config: `plateau_state.num_bad` must be an int; got plateau_state.num_bad='1'"),
])
def test_bad_config_messages(config, message):
    with pytest.raises((ValueError, TypeError)) as caught:
        Schedule.from_config(config)
    assert str(caught.value) == message


def test_every_mutated_checkpoint_state_loads_exactly_or_names_the_field():
    from adapters._keras_state import PlateauSaver

    config = _real_config()
    store: dict = {}
    PlateauSaver(Schedule.from_config(config)).save_own_variables(store)
    assert sorted(store) == ["best", "cooldown", "count", "epoch", "num_bad", "scale"]
    bad_arrays = [np.array([v], dtype=np.float64) for v in (-1.0, math.nan, math.inf, 1e308, 0.25, 2.0)]
    bad_arrays += [np.array([3, 4]), np.array([True]), np.array(["1"]), np.array([-2]), np.array([7]), np.zeros(0)]
    cases = [(key, {**store, key: bad}) for key in store for bad in bad_arrays]
    cases += [("fields", {k: v for k, v in store.items() if k != key}) for key in store if key != "scale"]
    cases += [("fields", {**store, "epoch": np.array([1])})]
    unchanged = Schedule.from_config(config)
    PlateauSaver(unchanged).load_own_variables({})  # a checkpoint from a run without PlateauCallback
    assert unchanged.get_config() == config
    refused = 0
    for field, mutated in cases:
        target = Schedule.from_config(config)
        before = (target.scale, target.plateau_state)
        try:
            PlateauSaver(target).load_own_variables(mutated)
        except (ValueError, TypeError) as err:
            assert str(err).startswith(f"keras.PlateauCallback checkpoint: `{field}`"), (field, mutated, err)
            assert (target.scale, target.plateau_state) == before  # unchanged
            refused += 1
            continue
        values = {k: np.asarray(v)[0].item() for k, v in mutated.items()}
        assert target.get_config()["plateau_state"] == {k: v for k, v in values.items() if k != "scale"}
        assert target.scale == values["scale"] == target.plateau_state.scale, (field, mutated)
    assert refused > 30


def test_a_corrupted_backup_stops_the_resumed_fit_with_a_clear_error(tmp_path):
    import h5py

    backup = str(tmp_path / "backup")
    callbacks = [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"), keras.callbacks.BackupAndRestore(backup)]
    with pytest.raises(RuntimeError, match="preempted"):
        _fit(_model(Schedule(S)), [*callbacks, Preempt()])
    with h5py.File(Path(backup) / "latest.weights.h5", "r+") as f:
        f["optimizer/lrcore_plateau_state/vars/scale"][0] = -3.0
    model = _model(Schedule(S))
    with pytest.raises(ValueError, match=r"keras.PlateauCallback checkpoint: `scale` must be >= 0; got scale=-3.0"):
        _fit(model, callbacks)
    assert int(model.optimizer.iterations) == PREEMPTED_AT * STEPS_PER_EPOCH  # restored, then refused: no update


HOSTILE = [
    lr.cosine_restarts(init=1, period=1, period_mult=1e308).to_dict(),
    lr.cosine_restarts(init=1, period=1, period_mult=1 + 2**-52).to_dict(),
    {"kind": "join", "schedules": [{"kind": "constant", "value": 1.0}], "boundaries": list(map(float, range(1, 200)))},
]


def test_load_model_of_hostile_schedules_ends_quickly(tmp_path):
    """.keras files whose schedule was edited load with finite values or are refused by name;
    none hangs or crashes (one subprocess with a timeout loads them all)."""
    model = _model(Schedule(lr.constant(value=0.1), steps=1000))
    model.save(tmp_path / "good.keras")
    paths = []
    for i, schedule in enumerate(HOSTILE):
        paths.append(str(tmp_path / f"bad{i}.keras"))
        with zipfile.ZipFile(tmp_path / "good.keras") as source, zipfile.ZipFile(paths[-1], "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "config.json":
                    text = data.decode().replace(json.dumps({"kind": "constant", "value": 0.1}), json.dumps(schedule))
                    assert json.dumps(schedule) in text
                    data = text.encode()
                target.writestr(item, data)
    code = (
        "import sys, numpy as np, keras, lrcore.adapters.keras\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        model = keras.saving.load_model(path)\n"
        "    except (ValueError, TypeError) as err:\n"
        "        print('refused:', str(err).splitlines()[-1])\n"
        "    else:\n"
        "        values = model.optimizer._learning_rate.values\n"
        "        assert np.isfinite(values).all() and (values >= 0).all(), values\n"
        "        print('loaded')\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")
    run = subprocess.run([sys.executable, "-c", code, *paths], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    outcomes = run.stdout.splitlines()
    assert len(outcomes) == len(HOSTILE), run.stdout
    for outcome in outcomes:
        assert outcome == "loaded" or outcome.startswith("refused: keras.Schedule.from_config: `schedule`"), outcome


def test_a_backup_written_before_the_plateau_saw_the_epoch_warns_on_resume(tmp_path):
    """BackupAndRestore listed first saves at the epoch's end before PlateauCallback updates:
    the resumed run would miss that epoch's metric, and says so."""
    backup = str(tmp_path / "backup")

    def callbacks():
        return [Feed(), keras.callbacks.BackupAndRestore(backup), PlateauCallback(PLATEAU, monitor="fake_loss")]

    with pytest.raises(RuntimeError, match="preempted"):
        _fit(_model(Schedule(S)), [*callbacks(), Preempt()])
    with pytest.warns(UserWarning, match=r"resumes at epoch 6 but the plateau state is from epoch 4: the metric of "
                                         r"epoch 5 was never seen \(list PlateauCallback before BackupAndRestore"):
        _fit(_model(Schedule(S)), callbacks())


def test_the_guide_keras_example_runs_as_written(tmp_path):
    import docs_pages  # here, not at the top: a child process runs this file without tests/ on its path

    code = docs_pages.blocks(docs_pages.page("guides/keras.md"))[0]
    env = dict(os.environ, KERAS_BACKEND="jax")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "model.keras").exists() and not (tmp_path / "backup").exists()  # fit ended: backup removed
