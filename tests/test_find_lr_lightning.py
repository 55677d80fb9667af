"""``lrcore.adapters.lightning.find_lr`` with a real ``lightning.Trainer`` on tiny models (CPU)."""

from __future__ import annotations

import copy
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from same_state import rngs, same
from torch import nn

import lrcore as lr
from lrcore.adapters.lightning import find_lr

F = nn.functional
pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # Lightning: "does not have many workers", ...
    pytest.mark.filterwarnings("ignore:.*LeafSpec"),  # Lightning's own use of torch's pytree
]
logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)


def data(rows: int = 256, seed: int = 0) -> torch.utils.data.TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=g)
    y = torch.sin(x[:, :1]) + 0.3 * x[:, 1:2] ** 2 + 0.1 * torch.randn(rows, 1, generator=g)
    return torch.utils.data.TensorDataset(x, y)


def loader(batch_size: int = 32, shuffle: bool = True) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(data(), batch_size=batch_size, shuffle=shuffle)


class Regressor(pl.LightningModule):
    """Dropout and batch norm (random numbers, running statistics), AdamW and a step-wise scheduler."""

    def __init__(self, seed: int = 0, schedule: bool = True) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
        self.schedule = schedule
        self.losses: list[float] = []

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        loss = F.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        self.losses.append(float(loss))
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        self.log("val_loss", F.mse_loss(self.net(batch[0]), batch[1]))

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.parameters(), lr=3e-3, weight_decay=0.01)
        if not self.schedule:
            return opt
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def trainer(tmp_path: Path, **kwargs: Any) -> pl.Trainer:
    options: dict[str, Any] = dict(
        accelerator="cpu", devices=1, max_epochs=2, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path, logger=pl.loggers.CSVLogger(tmp_path), log_every_n_steps=1,
    )
    options.update(kwargs)
    return pl.Trainer(**options)


def snapshot(t: pl.Trainer, model: pl.LightningModule) -> dict[str, Any]:
    return {
        "weights": copy.deepcopy(model.state_dict()),
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "modes": [m.training for m in model.modules()],
        "optimizers": [copy.deepcopy(o.state_dict()) for o in t.optimizers],
        "optimizer objects": [id(o) for o in t.optimizers],
        "schedulers": [copy.deepcopy(c.scheduler.state_dict()) for c in t.lr_scheduler_configs],
        "loop": copy.deepcopy(t.fit_loop.state_dict()),
        "counters": (t.global_step, t.current_epoch),
        "state": (t.state.status, t.state.fn, t.state.stage, t.should_stop),
        "callbacks": [id(c) for c in t.callbacks],
        "loggers": [id(c) for c in t.loggers],
        "limits": (t.limit_val_batches, t.num_sanity_val_steps, t.fit_loop.max_epochs, t.fit_loop.max_steps),
        "module trainer": id(model._trainer),
        "rng": rngs(),
    }


def test_training_after_the_range_test_is_bit_for_bit_the_training_without_it(tmp_path: Path) -> None:
    """A fresh trainer and module: find_lr, then fit, ends where fit alone ends (shuffling, dropout),
    and the range test neither logged nor checkpointed anything."""
    torch.manual_seed(5)
    alone = Regressor()
    t_alone = trainer(tmp_path / "alone")
    t_alone.fit(alone, loader())
    torch.manual_seed(5)
    model = Regressor()
    t = trainer(tmp_path / "tested")
    s = find_lr(t, model, loader(), progress=False)
    assert t.global_step == 0 and t.optimizers == [] and model.training
    assert not (tmp_path / "tested").exists()  # no logger folder, no checkpoint
    model.losses.clear()
    t.fit(model, loader())
    assert t.global_step == t_alone.global_step == 16
    assert same(alone.state_dict(), model.state_dict())
    assert model.losses == alone.losses
    assert sorted(p.name for p in (tmp_path / "tested" / "lightning_logs").iterdir()) == ["version_0"]
    assert 0 < s.lr < 10 and len(s.lrs) > 50


def test_every_state_restored_after_a_fit(tmp_path: Path) -> None:
    model = Regressor()
    checkpoints = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss")
    t = trainer(tmp_path, callbacks=[checkpoints], max_epochs=1, limit_val_batches=2)
    t.fit(model, loader(), val_dataloaders=loader(shuffle=False))  # optimizer moments, scheduler steps, counters
    loss = F.mse_loss(model.net(data()[:8][0]), data()[:8][1])
    loss.backward()  # a pending gradient
    model.eval()
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    before = snapshot(t, model)
    best = checkpoints.best_model_score
    s = find_lr(t, model, loader(), start=1e-6, end=1.0, steps=40, progress=False)
    assert same(before, snapshot(t, model))
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == files and checkpoints.best_model_score == best
    assert s.total == 40


def test_lrs_follow_range_test_and_an_accumulated_step_reads_its_batches_mean(tmp_path: Path) -> None:
    model = Regressor(schedule=False)
    t = trainer(tmp_path, accumulate_grad_batches=2)
    seen: list[float] = []
    losses: list[float] = []

    class Spy(pl.Callback):
        def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            trainer.optimizers[0].register_step_pre_hook(lambda o, a, k: seen.append(o.param_groups[0]["lr"]))

    original = model.training_step

    def training_step(batch: Any, index: int = 0) -> torch.Tensor:
        loss = original(batch, index)
        losses.append(float(loss))
        return loss

    model.training_step = training_step  # type: ignore[method-assign]
    model.configure_callbacks = lambda: [Spy()]  # type: ignore[method-assign]
    small = torch.utils.data.DataLoader(data(96), batch_size=16, shuffle=True)  # 6 batches: 3 steps an epoch
    s = find_lr(t, model, small, start=1e-5, end=0.1, steps=30, diverge=math.inf, progress=False)
    want = lr.range_test(start=1e-5, end=0.1, steps=30)
    assert seen == [want(i) for i in range(30)] == s.lrs.tolist()  # 30 steps over 10 epochs of 3
    assert len(losses) == 60
    assert s.losses.tolist() == pytest.approx([(a + b) / 2 for a, b in zip(losses[::2], losses[1::2], strict=True)],
                                              rel=1e-6)


def test_stops_at_the_cut(tmp_path: Path) -> None:
    model = Regressor()
    t = trainer(tmp_path)
    steps: list[int] = []

    class Count(pl.Callback):
        def on_before_optimizer_step(self, *args: Any) -> None:
            steps.append(1)

    model.configure_callbacks = lambda: [Count()]  # type: ignore[method-assign]
    s = find_lr(t, model, loader(), start=1e-4, end=1e4, steps=100, smooth=0.5, progress=False)
    assert s.cut is not None and len(steps) == len(s.lrs) + 1 < 100


def test_a_datamodule(tmp_path: Path) -> None:
    class Data(pl.LightningDataModule):
        def train_dataloader(self) -> torch.utils.data.DataLoader:
            return loader()

    model = Regressor()
    t = trainer(tmp_path)
    before = copy.deepcopy(model.state_dict())
    s = find_lr(t, model, datamodule=Data(), steps=50, progress=False)
    assert same(before, model.state_dict()) and t.global_step == 0 and getattr(t, "datamodule", None) is None
    assert s.total == 50 or s.cut is not None


def test_restored_when_training_step_raises(tmp_path: Path) -> None:
    model = Regressor()
    t = trainer(tmp_path, max_epochs=1)
    t.fit(model, loader())
    before = snapshot(t, model)

    def failing(batch: Any, index: int = 0) -> torch.Tensor:
        if len(model.losses) > 40:
            raise RuntimeError("boom")
        return Regressor.training_step(model, batch, index)

    model.training_step = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="boom"):
        find_lr(t, model, loader(), progress=False)
    del model.training_step
    assert same(before, snapshot(t, model))


def test_progress_bar_is_the_range_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    find_lr(trainer(tmp_path), Regressor(), loader(), steps=30)
    err = capsys.readouterr().err
    assert "LR range test" in err and "Epoch" not in err  # ours, not Lightning's


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda t, m: find_lr("trainer", m), TypeError,
         "lightning.find_lr: `trainer` must be a lightning.pytorch.Trainer"),
        (lambda t, m: find_lr(t, "model"), TypeError, "lightning.find_lr: `model` must be a lightning.pytorch"),
        (lambda t, m: find_lr(t, m, loader(), method="x"), ValueError, "lightning.find_lr: `method` must be one of"),
        (lambda t, m: find_lr(t, m, loader(), steps=1), ValueError, "range_test: `steps` must be >= 2"),
        (lambda t, m: find_lr(t, m, loader(), start=1.0, end=1e6, steps=20), ValueError,
         "lightning.find_lr: the run stopped after"),
    ],
)
def test_bad_input(tmp_path: Path, call: Any, exc: type, message: str) -> None:
    model = Regressor()
    t = trainer(tmp_path)
    before = snapshot(t, model)
    with pytest.raises(exc) as info:
        call(t, model)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert same(before, snapshot(t, model))


def test_a_fast_dev_run_trainer_is_refused(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = trainer(tmp_path, fast_dev_run=True, logger=False)
    with pytest.raises(ValueError, match=r"lightning.find_lr: `trainer` must not be a fast_dev_run trainer"):
        find_lr(t, Regressor(), loader())
