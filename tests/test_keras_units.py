"""Keras: lengths in the units a run is configured in ("5%", "3ep").  `Schedule`, built before
``fit``, resolves a template from `steps` (the run's updates) and `steps_per_epoch`, and refuses one
without them when it is built; `Callback` and `HyperCallback` resolve from fit's epochs and steps.
Checked lr by lr in real fits on the JAX backend and, in a subprocess, on torch.

As in test_adapter_keras.py, the model learns w in y_pred = w * x with x = 1, loss "mae" and
targets far above w: every gradient is exactly -1, so SGD adds the learning rate to w at each
update, and w is the float32 running sum of the learning rates the train step used.
"""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters.keras import Callback, Schedule

SAMPLES, BATCH, EPOCHS = 64, 4, 5  # 16 updates per epoch, 80 in the run
PER_EPOCH = SAMPLES // BATCH
RUN = EPOCHS * PER_EPOCH
X = np.ones((SAMPLES, 1), dtype=np.float32)
Y = np.full((SAMPLES, 1), 1e4, dtype=np.float32)

WARMUP_COSINE = lr.warmup(lr.cosine(init=0.1, steps="90%", final=0.001), steps="10%")
EPOCH_STEPS = lr.multistep(init=0.1, milestones=["2ep", "3.5ep"], gamma=0.5)


class Record(keras.callbacks.Callback):
    """w after every update."""

    def __init__(self):
        super().__init__()
        self.w: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.w.append(float(keras.ops.convert_to_numpy(self.model.weights[0].value).ravel()[0]))


def _fit(learning_rate, callbacks=()):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mae")
    record = Record()
    model.fit(X, Y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=False, callbacks=[*callbacks, record])
    return model, record.w


def _running_sum(lrs) -> list[float]:
    return [float(v) for v in np.cumsum(np.asarray(lrs, dtype=np.float32), dtype=np.float32)]


def schedule_resolves_from_steps_and_steps_per_epoch() -> None:
    for s, lengths in ((WARMUP_COSINE, {"steps": RUN}), (EPOCH_STEPS, {"steps": RUN, "steps_per_epoch": PER_EPOCH}),
                       (EPOCH_STEPS, {"steps_per_epoch": PER_EPOCH})):
        plain = lr.resolve(s, **lengths)
        _, w = _fit(Schedule(s, **lengths))
        assert w == _running_sum(plain.array(RUN, dtype=np.float32)), (s, lengths)


def callback_resolves_from_fit() -> None:
    # per="batch": t counts updates, "10%" is 8 of the run's 80 and "2ep" 32 updates.
    for s in (WARMUP_COSINE, EPOCH_STEPS):
        _, w = _fit(0.5, [Callback(s, per="batch")])
        plain = lr.resolve(s, steps=RUN, steps_per_epoch=PER_EPOCH)
        assert w == _running_sum(plain.array(RUN, dtype=np.float32)), s
    # per="epoch": t counts epochs, "10%" is half an epoch of the 5 and "2ep" two epochs.
    for s in (WARMUP_COSINE, EPOCH_STEPS):
        _, w = _fit(0.5, [Callback(s, per="epoch")])
        plain = lr.resolve(s, steps=EPOCHS, steps_per_epoch=1)
        assert w == _running_sum(np.repeat(plain.array(EPOCHS, dtype=np.float32), PER_EPOCH)), s


def test_schedule_resolves_a_template_on_jax():
    schedule_resolves_from_steps_and_steps_per_epoch()


def test_callback_resolves_a_template_from_fit_on_jax():
    callback_resolves_from_fit()


def test_both_on_torch(tmp_path):
    code = (f"import runpy, keras; assert keras.backend.backend() == 'torch'; ns = runpy.run_path({__file__!r}); "
            "ns['schedule_resolves_from_steps_and_steps_per_epoch'](); ns['callback_resolves_from_fit'](); print('ok')")
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1] == "ok"


def test_a_template_is_saved_as_written_and_loads_resolved(tmp_path):
    model, w = _fit(Schedule(EPOCH_STEPS, steps_per_epoch=PER_EPOCH))
    config = model.optimizer._learning_rate.get_config()
    assert config["schedule"] == EPOCH_STEPS.to_dict() and config["schedule"]["milestones"] == ["2ep", "3.5ep"]
    assert config["steps_per_epoch"] == PER_EPOCH and config["steps"] is None
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    schedule = loaded.optimizer._learning_rate
    assert schedule.schedule == EPOCH_STEPS and schedule.lengths["steps_per_epoch"] == PER_EPOCH
    steps = np.arange(RUN + 10, dtype=np.int32)
    expected = lr.resolve(EPOCH_STEPS, steps_per_epoch=PER_EPOCH).array(RUN + 10, dtype=np.float32)
    assert keras.ops.convert_to_numpy(schedule(steps)).tolist() == expected.tolist()
    assert repr(schedule) == f"keras.Schedule({EPOCH_STEPS!r}, steps=None, steps_per_epoch=16, scale=1.0)"


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Schedule(WARMUP_COSINE),
     "keras.Schedule: cosine's `steps` is '90%', a length in percent of the run; give steps= "
     "(the run's optimizer updates)"),
    (lambda: Schedule(EPOCH_STEPS, steps=100),
     "keras.Schedule: multistep's `milestones` is '2ep', a length in epochs; give steps_per_epoch= "
     "(optimizer updates per epoch)"),
    (lambda: Schedule(EPOCH_STEPS, steps_per_epoch=0),
     "keras.Schedule: `steps_per_epoch` must be > 0; got steps_per_epoch=0"),
    (lambda: Schedule(WARMUP_COSINE, steps=0), "keras.Schedule: `steps` must be > 0; got steps=0"),
    (lambda: Schedule(lr.cosine(init=0.1, steps="1e6sp"), steps=100),
     "keras.Schedule: cosine's `steps` is '1e6sp', a length in samples; give samples_per_step= "
     "(samples per optimizer update)"),
    (lambda: Schedule(lr.cosine(init=0.1, steps="1e6tok"), tokens_per_step=-2),
     "keras.Schedule: `tokens_per_step` must be > 0; got tokens_per_step=-2"),
])
def test_a_schedule_template_without_what_it_needs_is_refused_when_built(make, message):
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value) == message


def test_tokens_and_samples_resolve_too():
    s = lr.warmup(lr.cosine(init=0.1, steps="4e5tok"), steps="6400sp")
    k = Schedule(s, tokens_per_step=1024, samples_per_step=64)
    plain = lr.resolve(s, tokens_per_step=1024, samples_per_step=64)
    assert k.values.tolist() == plain.array(k.size, dtype=np.float32).tolist() and k.size == 492
    again = Schedule.from_config(k.get_config())
    assert again.get_config() == k.get_config() and again.values.tolist() == k.values.tolist()


def test_steps_must_be_an_int_for_a_template_too():
    with pytest.raises(TypeError, match=r"^keras.Schedule: `steps` must be an int; got steps=80.0$"):
        Schedule(WARMUP_COSINE, steps=80.0)
    with pytest.raises(TypeError, match=r"^keras.Schedule: `steps_per_epoch` must be a real number; got "):
        Schedule(EPOCH_STEPS, steps_per_epoch="16")


def test_a_callback_template_fit_cannot_size_is_refused_before_training():
    def batches():  # no length: fit cannot know the steps of an epoch
        while True:
            yield X[:BATCH], Y[:BATCH]

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mae")
    with pytest.raises(ValueError, match=r"^keras.Callback: warmup\(cosine\(.*\) is a template, and fit does not know "
                                         r"the steps of an epoch of this data to resolve it: pass fit\(\.\.\., "
                                         r"steps_per_epoch=\.\.\.\) or lr.resolve it first$"):
        model.fit(batches(), epochs=2, verbose=0, shuffle=False, callbacks=[Callback(WARMUP_COSINE, per="batch")])
    assert int(model.optimizer.iterations) == 0
    # With steps_per_epoch given to fit, it is resolved from it.
    record = Record()
    model.fit(batches(), epochs=2, steps_per_epoch=8, verbose=0, shuffle=False,
              callbacks=[Callback(WARMUP_COSINE, per="batch"), record])
    assert len(record.w) == 16
