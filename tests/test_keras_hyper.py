"""Keras: HyperCallback schedules momentum, beta_1 and weight decay, and the update applied uses them,
on the JAX backend (in this process) and on torch (in a subprocess running the same scenarios).

Checked by the weights, not by reading an attribute: a small least-squares model (Dense(1) on three
features, loss "mse", four batches an epoch, no shuffling) is trained by Keras, and the same updates
are written out here in float64 following Keras' own formulas, with each step's lr and hyperparameters
rounded once to float32 as the train step holds them.  A callback that only sets ``optimizer.momentum``
to a Python float changes nothing on JAX, whose compiled step holds the float it was traced with: the
first test shows it, and why the callback reads the value in the graph there.
"""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters.keras import HyperCallback, Schedule

BATCH, EPOCHS = 16, 6
rng = np.random.default_rng(5)
X = rng.normal(size=(4 * BATCH, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]
PER_EPOCH = X.shape[0] // BATCH
RUN = EPOCHS * PER_EPOCH

LR = lr.one_cycle(peak=0.05, steps=RUN)
# Swings wider than one-cycle's 0.95 -> 0.85 -> 0.95, so that each schedule shows in the weights.
MOMENTUM = lr.interpolate(points=[(0, 0.95), (0.3 * RUN, 0.5), (RUN, 0.9)], shape="cosine")
BETA_1 = lr.linear(start=0.9, end=0.3, steps=RUN)
WEIGHT_DECAY = lr.cosine(init=0.5, steps=RUN, final=0.05)
RTOL, ATOL = 1e-4, 1e-6  # float32 training against the float64 loop; a wrong schedule is off by far more


def _model(optimizer, learning_rate=None) -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _w(model) -> np.ndarray:
    return keras.ops.convert_to_numpy(model.weights[0].value).ravel().astype(np.float64)


def _fit(model, callbacks=(), epochs=EPOCHS, **kwargs):
    return model.fit(X, Y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False, callbacks=list(callbacks),
                     **kwargs)


def _per_update(s, per, n=RUN) -> np.ndarray:
    """The float32 value of each update: s(t) per batch, s(epoch) per epoch."""
    if per == "batch":
        return s.array(n, dtype=np.float32).astype(np.float64)
    return np.repeat(s.array(EPOCHS, dtype=np.float32), PER_EPOCH)[:n].astype(np.float64)


def reference(kind, lrs, momentum=None, beta_1=None, weight_decay=None, nesterov=False, start=0, w=None, slots=None):
    """Keras' update written out, from update `start` on: SGD (velocity = m v - lr g; w += velocity) or
    Adam (bias correction with this step's beta_1), decoupled weight decay (w -= w wd lr) first."""
    n = len(lrs)
    w = np.zeros(3) if w is None else w.copy()
    m, v = (np.zeros(3), np.zeros(3)) if slots is None else slots
    for t in range(start, n):
        xb, yb = X[(t % PER_EPOCH) * BATCH:][:BATCH].astype(np.float64), Y[(t % PER_EPOCH) * BATCH:][:BATCH, 0]
        g = 2.0 / BATCH * xb.T @ (xb @ w - yb)
        if weight_decay is not None:
            w = w - w * weight_decay[t] * lrs[t]
        if kind == "sgd":
            m = m * momentum[t] - g * lrs[t]
            w = w + (m * momentum[t] - g * lrs[t] if nesterov else m)
        else:
            b1, b2, eps = beta_1[t], 0.999, 1e-7
            alpha = lrs[t] * np.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
            m = m + (g - m) * (1 - b1)
            v = v + (g * g - v) * (1 - b2)
            w = w - m * alpha / (np.sqrt(v) + eps)
    return w


class NaiveMomentum(keras.callbacks.Callback):
    """What looks like it works: set the optimizer's momentum float before each batch."""

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        optimizer.momentum = float(MOMENTUM(int(optimizer.iterations)))


def a_float_set_by_a_callback_reaches_the_update_only_on_torch() -> None:
    lrs = _per_update(LR, "batch")
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
    _fit(model, [NaiveMomentum()])
    scheduled = reference("sgd", lrs, momentum=_per_update(MOMENTUM, "batch"))
    # On JAX the step was traced at the first batch, after the callback had set MOMENTUM(0): it keeps that.
    held = reference("sgd", lrs, momentum=np.full(RUN, np.float32(MOMENTUM(0))))
    assert np.abs(scheduled - held).max() > 100 * RTOL * np.abs(held).max()  # the two are far apart
    expected = held if keras.backend.backend() == "jax" else scheduled
    np.testing.assert_allclose(_w(model), expected, rtol=RTOL, atol=ATOL)


def sgd_momentum_takes_effect() -> None:
    lrs = _per_update(LR, "batch")
    for per in ("batch", "epoch"):
        for nesterov in (False, True):
            model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9, nesterov=nesterov))
            history = _fit(model, [HyperCallback({"momentum": MOMENTUM}, per=per)])
            momenta = _per_update(MOMENTUM, per)
            expected = reference("sgd", lrs, momentum=momenta, nesterov=nesterov)
            np.testing.assert_allclose(_w(model), expected, rtol=RTOL, atol=ATOL, err_msg=f"{per} {nesterov}")
            held = reference("sgd", lrs, momentum=np.full(RUN, np.float32(0.9)), nesterov=nesterov)
            assert np.abs(expected - held).max() > 100 * RTOL * np.abs(held).max()
            # The values of each epoch's last update are logged, and left as the optimizer's floats.
            assert history.history["momentum"] == momenta[PER_EPOCH - 1 :: PER_EPOCH].tolist()
            assert model.optimizer.momentum == momenta[-1] and isinstance(model.optimizer.momentum, float)


def adamw_beta_1_and_weight_decay_take_effect() -> None:
    lrs = _per_update(LR, "batch")
    for per in ("batch", "epoch"):
        model = _model(keras.optimizers.AdamW(learning_rate=Schedule(LR), weight_decay=0.1))
        history = _fit(model, [HyperCallback({"beta_1": BETA_1, "weight_decay": WEIGHT_DECAY}, per=per)])
        b1s, wds = _per_update(BETA_1, per), _per_update(WEIGHT_DECAY, per)
        expected = reference("adam", lrs, beta_1=b1s, weight_decay=wds)
        np.testing.assert_allclose(_w(model), expected, rtol=RTOL, atol=ATOL, err_msg=per)
        for name, alone in (("beta_1", {"beta_1": np.full(RUN, np.float32(0.9)), "weight_decay": wds}),
                            ("weight_decay", {"beta_1": b1s, "weight_decay": np.full(RUN, np.float32(0.1))})):
            other = reference("adam", lrs, **alone)
            assert np.abs(expected - other).max() > 100 * RTOL * np.abs(other).max(), name
        assert history.history["beta_1"][-1] == b1s[-1] and history.history["weight_decay"][-1] == wds[-1]


def sgd_without_weight_decay_gets_the_scheduled_one() -> None:
    lrs = _per_update(LR, "batch")
    model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
    assert model.optimizer.weight_decay is None
    _fit(model, [HyperCallback({"momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY})])
    expected = reference("sgd", lrs, momentum=_per_update(MOMENTUM, "batch"),
                         weight_decay=_per_update(WEIGHT_DECAY, "batch"))
    np.testing.assert_allclose(_w(model), expected, rtol=RTOL, atol=ATOL)
    assert model.optimizer.weight_decay == np.float32(WEIGHT_DECAY(RUN - 1))


class Preempt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise RuntimeError("preempted")


def resumes_and_saves(directory: str) -> None:
    """A preempted fit resumed by BackupAndRestore, and a model saved, loaded and trained on, end where
    the uninterrupted fit does; after the fit the optimizer holds the last values, and a later fit
    without the callback trains with them."""
    lrs = _per_update(LR, "batch")
    for per in ("batch", "epoch"):
        momenta = _per_update(MOMENTUM, per)
        expected = reference("sgd", lrs, momentum=momenta)
        backup = os.path.join(directory, f"backup-{per}")
        model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
        with pytest.raises(RuntimeError, match="preempted"):
            _fit(model, [HyperCallback({"momentum": MOMENTUM}, per=per), keras.callbacks.BackupAndRestore(backup),
                         Preempt()])
        resumed = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
        _fit(resumed, [HyperCallback({"momentum": MOMENTUM}, per=per), keras.callbacks.BackupAndRestore(backup)])
        np.testing.assert_allclose(_w(resumed), expected, rtol=RTOL, atol=ATOL, err_msg=per)

        # The same model object after the error trains on with a new callback.
        _fit(model, [HyperCallback({"momentum": MOMENTUM}, per=per)], epochs=EPOCHS, initial_epoch=3)
        np.testing.assert_allclose(_w(model), expected, rtol=RTOL, atol=ATOL, err_msg=per)

        # Saved after 3 epochs: the optimizer's momentum is the last applied; loaded, it trains on.
        model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
        _fit(model, [HyperCallback({"momentum": MOMENTUM}, per=per)], epochs=3)
        path = os.path.join(directory, f"m-{per}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert loaded.optimizer.momentum == momenta[3 * PER_EPOCH - 1]
        _fit(loaded, [HyperCallback({"momentum": MOMENTUM}, per=per)], initial_epoch=3)
        np.testing.assert_allclose(_w(loaded), expected, rtol=RTOL, atol=ATOL, err_msg=per)

    # Without the callback, a later fit trains with the optimizer's float: the last value applied.
    model = _model(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    _fit(model, [HyperCallback({"momentum": MOMENTUM})], epochs=1)
    after_one = _w(model)
    last = np.float32(MOMENTUM(PER_EPOCH - 1))
    assert model.optimizer.momentum == last
    _fit(model, epochs=1)
    lrs, momenta = np.full(2 * PER_EPOCH, np.float32(0.01)), _per_update(MOMENTUM, "batch", 2 * PER_EPOCH)
    momenta[PER_EPOCH:] = last
    np.testing.assert_allclose(_w(model), reference("sgd", lrs, momentum=momenta), rtol=RTOL, atol=ATOL)
    assert np.abs(after_one - _w(model)).max() > 0


def test_a_float_set_by_a_callback_reaches_the_update_only_on_torch():
    assert keras.backend.backend() == "jax"
    a_float_set_by_a_callback_reaches_the_update_only_on_torch()


def test_sgd_momentum_per_batch_and_per_epoch_on_jax():
    sgd_momentum_takes_effect()


def test_adamw_beta_1_and_weight_decay_on_jax():
    adamw_beta_1_and_weight_decay_take_effect()


def test_a_weight_decay_the_optimizer_was_built_without_on_jax():
    sgd_without_weight_decay_gets_the_scheduled_one()


def test_resume_save_and_load_on_jax(tmp_path):
    resumes_and_saves(str(tmp_path))


def test_every_scenario_on_torch(tmp_path):
    code = (
        f"import runpy, keras; assert keras.backend.backend() == 'torch'; ns = runpy.run_path({__file__!r}); "
        "ns['a_float_set_by_a_callback_reaches_the_update_only_on_torch'](); ns['sgd_momentum_takes_effect'](); "
        "ns['adamw_beta_1_and_weight_decay_take_effect'](); ns['sgd_without_weight_decay_gets_the_scheduled_one'](); "
        f"ns['resumes_and_saves']({str(tmp_path)!r}); ns['refusals'](); print('ok')"
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1] == "ok"


def test_a_template_is_resolved_from_fit():
    # "30%" and "100%" of the run: 7.2 and 24 updates per batch, 1.8 and 6 epochs per epoch.
    template = lr.interpolate(points=[(0, 0.95), ("30%", 0.5), ("100%", 0.9)], shape="cosine")
    lrs = _per_update(LR, "batch")
    for per, lengths in (("batch", {"steps": RUN, "steps_per_epoch": PER_EPOCH}), ("epoch", {"steps": EPOCHS})):
        model = _model(keras.optimizers.SGD(learning_rate=Schedule(LR), momentum=0.9))
        _fit(model, [HyperCallback({"momentum": template}, per=per)])
        momenta = _per_update(lr.resolve(template, **lengths), per)
        np.testing.assert_allclose(_w(model), reference("sgd", lrs, momentum=momenta), rtol=RTOL, atol=ATOL)


def refusals() -> None:
    """Each refusal comes at on_train_begin, before any update, as one line naming what is wrong."""
    def refused(optimizer, callbacks, message, error=ValueError):
        model = _model(optimizer)
        with pytest.raises(error) as caught:
            _fit(model, callbacks)
        text = str(caught.value)
        assert text.startswith("keras.HyperCallback: ") and message in text and "\n" not in text, text
        assert int(model.optimizer.iterations) == 0

    refused(keras.optimizers.SGD(learning_rate=0.01), [HyperCallback({"momentum": MOMENTUM})],
            "`momentum` needs an optimizer built with momentum > 0 (SGD keeps no momentum buffer at 0: "
            "SGD(momentum=0.9, ...)); got momentum=0.0")
    refused(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), [HyperCallback({"beta_1": BETA_1})],
            "`beta_1` is not a float hyperparameter of SGD; got beta_1=None")
    refused(keras.optimizers.Adam(learning_rate=0.01), [HyperCallback({"momentum": MOMENTUM})],
            "`momentum` is not a float hyperparameter of Adam; got momentum=None")
    refused(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
            [HyperCallback({"momentum": lr.linear(start=0.9, end=0.0, steps=20)})],
            "`momentum` must be in (0, 1] at every step; its schedule gives 0.0 at t=20: "
            f"schedules['momentum']={lr.linear(start=0.9, end=0.0, steps=20)!r}")
    refused(keras.optimizers.Adam(learning_rate=0.01), [HyperCallback({"beta_1": lr.constant(value=1.0)})],
            "`beta_1` must be in [0, 1) at every step; its schedule gives 1.0 at t=0")
    refused(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
            [HyperCallback({"momentum": lr.constant(value=1.5)}, per="epoch")],
            "`momentum` must be in (0, 1] at every step; its schedule gives 1.5 at t=0")
    refused(keras.optimizers.AdamW(learning_rate=0.01), [HyperCallback({"weight_decay": lr.constant(value=1e39)})],
            "`schedules['weight_decay']` must have values that are finite in float32; "
            "got schedules['weight_decay']=constant(value=1e+39)")
    refused(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
            [HyperCallback({"momentum": MOMENTUM}), HyperCallback({"weight_decay": WEIGHT_DECAY})],
            "another HyperCallback drives this optimizer in this fit; give one HyperCallback all the schedules")
    optimizer = keras.optimizers.AdamW(learning_rate=0.01)
    optimizer.exclude_from_weight_decay(var_names=["kernel"])
    refused(optimizer, [HyperCallback({"weight_decay": WEIGHT_DECAY})],
            "`weight_decay` would change nothing: AdamW excludes every variable from it")


def test_refusals_on_jax():
    refusals()


def test_an_unbounded_schedule_fit_cannot_size_is_refused():
    def batches():
        while True:
            yield X[:BATCH], Y[:BATCH]

    model = _model(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    with pytest.raises(ValueError, match=r"^keras.HyperCallback: schedules\['momentum'\] = cyclic\(.*\) has no end, "
                                         r"and fit does not know the steps of an epoch of this data: pass "
                                         r"fit\(\.\.\., steps_per_epoch=\.\.\.\)$"):
        model.fit(batches(), epochs=2, verbose=0, shuffle=False,
                  callbacks=[HyperCallback({"momentum": lr.cyclic(base=0.8, peak=0.9, step_up=5)})])
    assert int(model.optimizer.iterations) == 0
    model.fit(batches(), epochs=2, steps_per_epoch=3, verbose=0, shuffle=False,
              callbacks=[HyperCallback({"momentum": lr.cyclic(base=0.8, peak=0.9, step_up=5)})])
    assert model.optimizer.momentum == np.float32(lr.cyclic(base=0.8, peak=0.9, step_up=5)(5))


@pytest.mark.parametrize(("args", "error", "message"), [
    (({"learning_rate": LR},), ValueError,
     "keras.HyperCallback: `schedules` must have keys among momentum, beta_1, weight_decay (the learning rate: "
     "Schedule or Callback); 'learning_rate' is not; got schedules={'learning_rate': one_cycle(peak=0.05, steps=24)}"),
    (({"momentum": 0.9},), TypeError,
     "keras.HyperCallback: `schedules['momentum']` must be an lrcore Schedule; got schedules['momentum']=0.9"),
    (({},), ValueError, "keras.HyperCallback: `schedules` must be a non-empty dict from hyperparameter names "
                        "(momentum, beta_1, weight_decay) to lrcore Schedules; got schedules={}"),
    ((MOMENTUM,), TypeError, "keras.HyperCallback: `schedules` must be a non-empty dict"),
    (({"momentum": MOMENTUM}, "step"), ValueError, "keras.HyperCallback: `per` must be one of 'batch', 'epoch'; "
                                                   "got per='step'"),
])
def test_bad_arguments_are_named(args, error, message):
    with pytest.raises(error) as caught:
        HyperCallback(*args)
    assert str(caught.value).startswith(message), str(caught.value)


def test_the_guide_hyper_callback_example_runs_as_written_on_jax_and_torch(tmp_path):
    import docs_pages  # here, not at the top: a child process runs this file without tests/ on its path

    blocks = docs_pages.blocks(docs_pages.page("guides/keras.md"))
    code = next(block for block in blocks if "HyperCallback(" in block)
    code += "\nprint(repr(model.optimizer.momentum), int(model.optimizer.iterations))\n"
    momentum = lr.interpolate(points=[(0, 0.95), ("30%", 0.85), ("100%", 0.95)], shape="cosine")
    last = float(np.float32(lr.resolve(momentum, steps=80)(79)))
    for backend in ("jax", "torch"):
        env = dict(os.environ, KERAS_BACKEND=backend)
        run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split() == [repr(last), "80"], (backend, run.stdout)
