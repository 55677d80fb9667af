"""``lrcore.adapters.keras.find_lr`` on small real problems (JAX backend here, torch in a subprocess)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from typing import Any

import keras
import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters.keras import Schedule, find_lr

BUDGET = 160  # updates: longer than the range test itself, as real training is


def classification() -> tuple[np.ndarray, np.ndarray, int, str]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 10)).astype(np.float32)
    y = (x @ rng.standard_normal((10, 3))).argmax(1)
    noisy = rng.random(512) < 0.2  # a fifth of the labels random: the loss has a floor
    return x, np.where(noisy, rng.integers(0, 3, 512), y), 32, "sparse_categorical_crossentropy"


def regression() -> tuple[np.ndarray, np.ndarray, int, str]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((512, 8)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.3 * rng.standard_normal((512, 1))).astype(np.float32)
    return x, y, 64, "mse"


def model_for(x: np.ndarray, n_out: int, loss: str, optimizer: Any, seed: int = 3, norm: bool = False) -> keras.Model:
    keras.utils.set_random_seed(seed)
    layers: list[Any] = [keras.Input((x.shape[1],)), keras.layers.Dense(32, activation="relu")]
    if norm:
        layers += [keras.layers.BatchNormalization(), keras.layers.Dropout(0.1)]
    layers.append(keras.layers.Dense(n_out))
    model = keras.Sequential(layers)
    if loss == "sparse_categorical_crossentropy":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def values(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v.numpy(), copy=True) for v in (*model.variables, *model.optimizer.variables)]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_state_restored_bit_for_bit() -> None:
    x, y, batch_size, loss = classification()
    model = model_for(x, 3, loss, keras.optimizers.AdamW(3e-3), norm=True)
    model.fit(x[:96], y[:96], batch_size=32, epochs=1, verbose=0)  # moments, step count, statistics, seed state
    before = values(model)
    s = find_lr(model, x, y, batch_size=batch_size, steps=60, progress=False)
    assert same(before, values(model))
    assert float(model.optimizer.learning_rate.numpy()) == np.float32(3e-3) and 0 < s.lr < 10


def test_an_unbuilt_optimizer_is_left_fresh() -> None:
    x, y, batch_size, loss = regression()
    model = model_for(x, 1, loss, keras.optimizers.Adam(1e-3))
    weights = [np.array(v.numpy(), copy=True) for v in model.variables]
    find_lr(model, x, y, batch_size=batch_size, steps=40, progress=False)
    assert same(weights, [np.array(v.numpy(), copy=True) for v in model.variables])
    assert int(model.optimizer.iterations.numpy()) == 0
    moments = [v.numpy() for v in model.optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert moments and all(not m.any() for m in moments)


def unbuilt(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])  # no keras.Input
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def test_a_model_built_on_first_call_is_built_as_fit_would_and_fits_afterwards() -> None:
    x, y, batch_size, _ = regression()
    model = unbuilt(seed=5)
    assert not model.built
    s = find_lr(model, x, y, batch_size=batch_size, steps=40, progress=False)
    assert model.built and 0 < s.lr < 10
    assert len(model.optimizer.variables) > 2 and int(model.optimizer.iterations.numpy()) == 0
    model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    alone = unbuilt(seed=5)  # the same model trained without the range test
    alone.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    assert same([np.asarray(v) for v in model.get_weights()], [np.asarray(v) for v in alone.get_weights()])


def test_lrs_follow_range_test_and_batches_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, _, loss = regression()
    x[:, 0] = np.arange(512)  # row ids, to see which batch each step trains on
    model = model_for(x, 1, loss, keras.optimizers.SGD(0.01))
    used: list[float] = []
    firsts: list[int] = []
    original = model.train_on_batch

    def spy(xb: Any, yb: Any, **kwargs: Any) -> Any:
        used.append(float(model.optimizer.learning_rate.numpy()))
        firsts.append(round(float(xb[0, 0]) * 1000))
        return original(xb, yb, **kwargs)

    monkeypatch.setattr(model, "train_on_batch", spy)
    s = find_lr(model, x * 1e-3, y, batch_size=100, start=1e-5, end=0.1, steps=30, diverge=math.inf, progress=False)
    want = lr.range_test(start=1e-5, end=0.1, steps=30)
    assert s.lrs.tolist() == [want(t) for t in range(30)]
    assert used == [float(np.float32(want(t))) for t in range(30)]  # the optimizer's float32 variable
    assert firsts == [100 * (t % 6) for t in range(30)]  # 6 batches (the last one short), cycled


def test_stops_at_divergence() -> None:
    x, y, batch_size, loss = regression()
    model = model_for(x, 1, loss, keras.optimizers.SGD(0.01))
    s = find_lr(model, x, y, batch_size=batch_size, start=1e-4, end=100.0, steps=100, smooth=0.5, progress=False)
    assert s.cut is not None and len(s.lrs) < 99


def final_losses(x: np.ndarray, y: np.ndarray, batch_size: int, model: keras.Model, rates: list[float]) -> list[float]:
    """The loss after BUDGET updates from the model's current state at each lr (compiled once, reset each time)."""
    start = values(model)
    variables = [*model.variables, *model.optimizer.variables]
    epochs = BUDGET * batch_size // len(x)
    out = []
    for rate in rates:
        for v, value in zip(variables, start, strict=True):
            v.assign(value)
        model.optimizer.learning_rate.assign(rate)
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
        final = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
        out.append(final if math.isfinite(final) else math.inf)
    return out


@pytest.mark.parametrize(("problem", "optimizer"), [(classification, "adam"), (regression, "sgd")])
def test_the_suggestion_trains_well(problem: Any, optimizer: str) -> None:
    """Training from the same initialisation at the suggested lr for a fixed budget ends within
    3x of the best final loss over a log grid of lrs, and below the grid's median."""
    x, y, batch_size, loss = problem()
    opt = keras.optimizers.Adam(1e-3) if optimizer == "adam" else keras.optimizers.SGD(1e-3, momentum=0.9)
    model = model_for(x, 3 if loss != "mse" else 1, loss, opt)
    model.optimizer.build(model.trainable_variables)
    s = find_lr(model, x, y, batch_size=batch_size, start=1e-6, end=10.0, steps=100, progress=False)
    grid = np.logspace(-4, 0.5, 10).tolist()
    *finals, ours = final_losses(x, y, batch_size, model, [*grid, s.lr])
    table = dict(zip(grid, finals, strict=True))
    assert ours <= 3 * min(finals) and ours < float(np.median(finals)), (s.lr, ours, table)


def test_a_schedule_learning_rate_is_refused() -> None:
    x, y, batch_size, loss = regression()
    for schedule in (
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
        Schedule(lr.cosine(init=0.1, steps=100)),
    ):
        model = model_for(x, 1, loss, keras.optimizers.SGD(learning_rate=schedule))
        before = values(model)
        with pytest.raises(ValueError, match=r"find_lr: `model` needs an optimizer with a float learning rate"):
            find_lr(model, x, y)
        assert same(before, values(model))


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda m, x, y: find_lr("m", x, y), TypeError, "find_lr: `model` must be a keras.Model"),
        (lambda m, x, y: find_lr(keras.Sequential([keras.layers.Dense(1)]), x, y), ValueError,
         "find_lr: `model` must be compiled"),
        (lambda m, x, y: find_lr(m, x, y, batch_size=0), ValueError, "find_lr: `batch_size` must be > 0"),
        (lambda m, x, y: find_lr(m, x, y, batch_size=2.5), TypeError, "find_lr: `batch_size` must be an int"),
        (lambda m, x, y: find_lr(m, x[:0], y[:0]), ValueError, "find_lr: `x` must have at least one row"),
        (lambda m, x, y: find_lr(m, 3.0, y), TypeError, "find_lr: `x` must be an array"),
        (lambda m, x, y: find_lr(m, x, None), TypeError,
         "find_lr: `y` must hold the targets, one row per row of x; got y=None"),
        (lambda m, x, y: find_lr(m, x, y[:100]), ValueError,
         "find_lr: `y` must have as many rows as x (512); got y='<100 rows>'"),
        (lambda m, x, y: find_lr(m, {"a": x, "b": x[:10]}, y), ValueError,
         "find_lr: `x` must hold arrays with the same number of rows"),
        (lambda m, x, y: find_lr(m, x, y, progress="no"), TypeError, "find_lr: `progress` must be True or False"),
        (lambda m, x, y: find_lr(unbuilt(0), x, y, steps=1), ValueError, "range_test: `steps` must be >= 2"),
        (lambda m, x, y: find_lr(m, x, y, method="x"), ValueError, "find_lr: `method` must be one of"),
        (lambda m, x, y: find_lr(m, x, y, steps=1), ValueError, "range_test: `steps` must be >= 2"),
    ],
)
def test_bad_input(call: Any, exc: type, message: str) -> None:
    x, y, _, loss = regression()
    model = model_for(x, 1, loss, keras.optimizers.SGD(0.01))
    before = values(model)
    with pytest.raises(exc) as info:
        call(model, x, y)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert same(before, values(model))


def test_a_refused_unbuilt_model_is_left_unbuilt() -> None:
    x, y, _, _ = regression()
    model = unbuilt(seed=1)
    with pytest.raises(ValueError, match=r"range_test: `steps` must be >= 2"):
        find_lr(model, x, y, steps=1)
    assert not model.built and not model.optimizer.built
    model.fit(x, y, epochs=1, verbose=0)  # fit still builds and trains it
    assert len(model.optimizer.variables) > 2


def test_torch_backend_in_a_subprocess() -> None:
    code = textwrap.dedent(
        """
        import numpy as np, keras, lrcore as lr
        from lrcore.adapters.keras import find_lr
        assert keras.backend.backend() == "torch"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((256, 6)).astype("float32")
        y = (x[:, :1] ** 2 + 0.1 * rng.standard_normal((256, 1))).astype("float32")
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
        snap = lambda: [np.array(v.numpy(), copy=True) for v in (*model.variables, *model.optimizer.variables)]
        before = snap()
        used = []
        original = model.train_on_batch
        def spy(xb, yb, **kw):
            used.append(float(model.optimizer.learning_rate.numpy()))
            return original(xb, yb, **kw)
        model.train_on_batch = spy
        s = find_lr(model, x, y, batch_size=32, start=1e-6, end=10.0, steps=60)
        after = snap()
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(before, after)), "not restored"
        want = lr.range_test(start=1e-6, end=10.0, steps=60)
        assert s.lrs.tolist() == [want(t) for t in range(len(s.lrs))]
        assert used[: len(s.lrs)] == [float(np.float32(want(t))) for t in range(len(s.lrs))]
        assert 1e-6 < s.lr < 10.0
        print("ok", s.lr, len(s.lrs))
        """
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("ok ")
