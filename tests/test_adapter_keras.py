"""lrcore.adapters.keras: the Schedule in fit/save/load on the JAX and torch backends, and the callbacks.

The models here learn w in y_pred = w * x with x = 1, loss "mae" and targets far above
w, so every gradient is exactly -1 and plain SGD adds the learning rate to w at each
update: w is the float32 running sum of the learning rates the train step used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters.keras import Callback, PlateauCallback, Schedule

WARMUP_COSINE = lr.warmup(lr.cosine(init=0.1, steps=100, final=0.001), steps=20)
SAMPLES, BATCH = 64, 4  # 16 updates per epoch; a power-of-two batch keeps the mean gradient exact
X = np.ones((SAMPLES, 1), dtype=np.float32)
Y = np.full((SAMPLES, 1), 1e4, dtype=np.float32)


def _model(optimizer) -> keras.Model:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss="mae")
    return model


def _w(model) -> np.float32:
    return np.float32(keras.ops.convert_to_numpy(model.weights[0].value).ravel()[0])


def _running_sum(values) -> list[np.float32]:
    """w after each update: SGD's float32 w + lr."""
    w, out = np.float32(0.0), []
    for v in np.asarray(values, dtype=np.float32):
        w = np.float32(w + v)
        out.append(w)
    return out


def fit_save_load_fit(directory: str) -> None:
    """Fit 4 epochs, save, load, fit 4 more: w follows the schedule's 128 values exactly."""
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(WARMUP_COSINE)))
    model.fit(X, Y, batch_size=BATCH, epochs=4, verbose=0, shuffle=False)
    expected = _running_sum(WARMUP_COSINE.array(128, dtype=np.float32))
    assert _w(model) == expected[63], (_w(model), expected[63])
    path = str(Path(directory) / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, Schedule) and schedule.schedule == WARMUP_COSINE
    assert int(loaded.optimizer.iterations) == 64
    loaded.fit(X, Y, batch_size=BATCH, epochs=4, verbose=0, shuffle=False)
    assert int(loaded.optimizer.iterations) == 128
    assert _w(loaded) == expected[127], (_w(loaded), expected[127])


def test_fit_save_load_fit_on_jax(tmp_path):
    assert keras.backend.backend() == "jax"
    fit_save_load_fit(str(tmp_path))


def test_fit_save_load_fit_and_plateau_on_torch(tmp_path):
    code = (
        f"import runpy, keras; assert keras.backend.backend() == 'torch'; scenarios = runpy.run_path({__file__!r}); "
        f"scenarios['fit_save_load_fit']({str(tmp_path / 'a')!r}); "
        f"scenarios['plateau_fit_save_load_fit']({str(tmp_path / 'b')!r})"
    )
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize(("s", "steps"), [(WARMUP_COSINE, None), (lr.cyclic(base=0.01, peak=0.1, step_up=7), 150)])
def test_values_equal_the_schedule_eagerly_and_under_jit(s, steps):
    import jax

    k = Schedule(s, steps)
    n = 300
    expected = s.array(n, dtype=np.float32)
    if steps is not None:
        expected[steps:] = np.float32(s(steps - 1))
    counts = np.arange(n, dtype=np.int32)
    assert keras.ops.convert_to_numpy(k(counts)).tolist() == expected.tolist()
    assert np.asarray(jax.jit(k)(counts)).tolist() == expected.tolist()
    assert float(k(keras.Variable(2**31 - 1, dtype="int32", trainable=False))) == expected[-1]


def test_config_round_trip_and_registration():
    k = Schedule(lr.exponential(init=0.1, gamma=0.99), steps=500, scale=0.5)
    config = k.get_config()
    assert config == {"schedule": lr.exponential(init=0.1, gamma=0.99).to_dict(), "steps": 500,
                      "steps_per_epoch": None, "tokens_per_step": None, "samples_per_step": None, "scale": 0.5,
                      "plateau_state": None}
    again = Schedule.from_config(config)
    assert (again.schedule, again.steps, again.scale, again.plateau_state) == (k.schedule, 500, 0.5, None)
    # A config saved before the lengths and plateau_state existed still loads.
    older = Schedule.from_config({key: config[key] for key in ("schedule", "steps", "scale")})
    assert older.get_config() == config
    assert keras.saving.get_registered_name(Schedule) == "lrcore>Schedule"
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(k))
    assert isinstance(revived, Schedule) and revived.get_config() == config
    assert float(revived(10)) == np.float32(0.5 * 0.1 * 0.99**10)


@pytest.mark.parametrize("per", ["epoch", "batch"])
def test_callback_sets_a_float_learning_rate(per):
    s = lr.exponential(init=0.1, gamma=0.9)
    model = _model(keras.optimizers.SGD(learning_rate=1.0))
    history = model.fit(X, Y, batch_size=BATCH, epochs=3, verbose=0, shuffle=False, callbacks=[Callback(s, per=per)])
    if per == "epoch":
        lrs = np.repeat(s.array(3, dtype=np.float32), SAMPLES // BATCH)
        assert history.history["lr"] == [s(0), s(1), s(2)]
    else:
        lrs = s.array(48, dtype=np.float32)
        assert history.history["lr"][-1] == s(47)
    assert _w(model) == _running_sum(lrs)[-1]


def plateau_fit_save_load_fit(directory: str) -> None:
    """PlateauCallback's scale reaches the train step, and is saved and loaded with the model."""
    metrics = [1.0, 0.8, 0.9, 0.9, 0.7, 0.75, 0.8, 0.8]
    plateau = lr.Plateau(factor=0.5, patience=1)

    class Feed(keras.callbacks.Callback):  # a monitored value the test controls
        def on_epoch_end(self, epoch, logs=None):
            logs["fake_loss"] = metrics[epoch]

    s = lr.constant(value=0.1)
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(s)))
    callback = PlateauCallback(plateau, monitor="fake_loss")
    history = model.fit(X, Y, batch_size=BATCH, epochs=len(metrics), verbose=0, shuffle=False,
                        callbacks=[Feed(), callback])
    scales, state = [], plateau.init()
    for m in metrics:
        scales.append(state.scale)  # epoch e trains with the scale set after epoch e-1
        state = plateau.update(state, m)
    assert history.history["lr_scale"] == scales[1:] + [state.scale]
    assert min(scales) < 1.0
    lrs = np.repeat(np.float32(0.1) * np.array(scales, dtype=np.float32), SAMPLES // BATCH)
    assert _w(model) == _running_sum(lrs)[-1]

    # The scale is saved with the model and keeps driving training after loading.
    model.save(Path(directory) / "m.keras")
    loaded = keras.models.load_model(Path(directory) / "m.keras")
    assert loaded.optimizer._learning_rate.scale == state.scale
    before = _w(loaded)
    loaded.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    assert _w(loaded) == _running_sum(np.r_[[before], np.full(16, np.float32(0.1) * np.float32(state.scale))])[-1]


def test_plateau_callback_scales_the_schedule_the_train_step_uses(tmp_path):
    plateau_fit_save_load_fit(str(tmp_path))


def test_plateau_callback_logs_each_reduction(caplog):
    metrics = [1.0, 0.8, 0.9, 0.9, 0.9]

    class Feed(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["fake_loss"] = metrics[epoch]

    model = _model(keras.optimizers.SGD(learning_rate=Schedule(lr.constant(value=0.1))))
    with caplog.at_level("INFO", logger="lrcore"):
        model.fit(X, Y, batch_size=SAMPLES, epochs=len(metrics), verbose=0,
                  callbacks=[Feed(), PlateauCallback(lr.Plateau(factor=0.5, patience=1), monitor="fake_loss")])
    assert [r.getMessage() for r in caplog.records if r.name == "lrcore"] == [
        "keras.PlateauCallback: epoch 3: plateau reducing the lr scale to 0.5 (metric 0.9, best 0.8)"]


def test_plateau_callback_needs_an_lrcore_schedule_and_the_monitored_value():
    model = _model(keras.optimizers.SGD(learning_rate=0.1))
    with pytest.raises(TypeError, match="must be an lrcore.adapters.keras.Schedule"):
        model.fit(X, Y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[PlateauCallback()])
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(WARMUP_COSINE)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[PlateauCallback(monitor="val_loss")])
    assert any("`val_loss` is not in the logs" in str(w.message) for w in caught)


KERAS_DECAY = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)


@pytest.mark.parametrize("schedule", [Schedule(WARMUP_COSINE), KERAS_DECAY], ids=["lrcore", "keras"])
def test_callback_on_an_optimizer_already_driven_by_a_schedule_says_to_use_one(schedule):
    model = _model(keras.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(ValueError, match=r"keras.Callback: `learning_rate` is already a schedule: use it .* not both"):
        model.fit(X, Y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[Callback(WARMUP_COSINE)])
    assert int(model.optimizer.iterations) == 0  # refused before any update


def test_plateau_callback_refuses_a_schedule_scaled_above_one():
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(WARMUP_COSINE, scale=2.0)))
    with pytest.raises(ValueError, match=r"keras.PlateauCallback: `scale` must be <= 1 under a plateau"):
        model.fit(X, Y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[PlateauCallback()])


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="keras.Schedule: `s` must be an lrcore Schedule"):
        Schedule(0.1)
    with pytest.raises(ValueError, match="keras.Schedule: `steps` is required for a schedule without a finite horizon"):
        Schedule(lr.step(init=0.1, step_size=10))
    with pytest.raises(ValueError, match="keras.Schedule: `scale` must be >= 0"):
        Schedule(WARMUP_COSINE, scale=-1.0)
    with pytest.raises(ValueError, match=r"keras.Schedule: `s` must have values that are finite in float32; got s="):
        Schedule(lr.constant(value=1e300))
    with pytest.raises(ValueError, match=r"keras.Schedule: `scale` must keep the learning rate finite in float32"):
        Schedule(lr.constant(value=1e30), scale=1e10)
    with pytest.raises(ValueError, match="keras.Callback: `per` must be one of 'epoch', 'batch'"):
        Callback(WARMUP_COSINE, per="step")
    with pytest.raises(TypeError, match="keras.PlateauCallback: `plateau` must be an lrcore Plateau"):
        PlateauCallback(keras.callbacks.ReduceLROnPlateau())
