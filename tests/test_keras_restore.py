"""Keras: PlateauCallback's scale and counters survive a preemption (BackupAndRestore) and
save/load, like Keras' own ReduceLROnPlateau's learning rate; saved configs and states
that are wrong load with a clear error, never with wrong numbers.

As in test_adapter_keras.py, the model learns w in y_pred = w * x with x = 1, loss "mae"
and targets far above w: every gradient is exactly -1, so SGD adds the learning rate to w
at each update and w is the float32 running sum of the learning rates the train step used.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
        _fit(model, [Feed(), PlateauCallback(PLATEAU, monitor="fake_loss"),
                     keras.callbacks.BackupAndRestore(backup), second])
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
