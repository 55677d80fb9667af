"""lrcore in a real lightning.Trainer: lengths in units from ``run_size``, and what the loggers show.

``configure_optimizers`` runs with the Trainer attached, so ``run_size(self.trainer)`` gives the
Scheduler the run's optimizer steps (``estimated_stepping_batches``: epochs, batches, gradient
accumulation, ``max_steps``) and the steps of one epoch.  The lrs are checked step by step against
the resolved schedule and against torch's CosineAnnealingLR sized the way Lightning's docs size
OneCycleLR; ``LearningRateMonitor`` and the plateau's ``lr-scale`` are read back from a CSVLogger.
"""

from __future__ import annotations

import csv
import logging
import warnings

import lightning
import pytest
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import CSVLogger

import lrcore as lr
from lrcore.adapters.lightning import PlateauCallback, run_size
from lrcore.adapters.torch import Scheduler

BATCHES, ACCUMULATE = 10, 3  # 4 optimizer steps an epoch (the last accumulates one batch)


class Module(lightning.LightningModule):
    def __init__(self, make, interval="step", val_x=None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(2, 1, bias=False)
        self.make, self.interval, self.val_x = make, interval, val_x
        self.lrs: dict[int, float] = {}

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y))

    def on_before_optimizer_step(self, optimizer):
        self.lrs[self.trainer.global_step] = optimizer.param_groups[0]["lr"]

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0)
        self.sched = self.make(opt, self.trainer)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": self.sched, "interval": self.interval}}

    def train_dataloader(self):
        x = torch.randn(4 * BATCHES, 2, generator=torch.Generator().manual_seed(0))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x @ torch.tensor([1.5, -2.0])),
                                           batch_size=4)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(8, 2), torch.ones(8)),
                                           batch_size=4)


def _fit(module, root, *, callbacks=(), logger=False, **settings):
    trainer = lightning.Trainer(accelerator="cpu", devices=1, logger=logger, enable_progress_bar=False,
                                enable_model_summary=False, enable_checkpointing=False, default_root_dir=root,
                                accumulate_grad_batches=ACCUMULATE, callbacks=list(callbacks), **settings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers|val_dataloader).*")
        trainer.fit(module)
    return trainer


def test_percent_of_the_run_equals_cosine_annealing_over_estimated_stepping_batches(tmp_path):
    template = lr.cosine(init=0.1, steps="100%")
    ours = Module(lambda opt, trainer: Scheduler(opt, template, **run_size(trainer)))
    trainer = _fit(ours, tmp_path, max_epochs=3, limit_val_batches=0)
    peer = Module(lambda opt, trainer: torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=trainer.estimated_stepping_batches))
    _fit(peer, tmp_path, max_epochs=3, limit_val_batches=0)
    assert trainer.estimated_stepping_batches == trainer.global_step == 12
    assert ours.sched.schedules == [lr.resolve(template, steps=12)] == [lr.cosine(init=0.1, steps=12)]
    assert sorted(ours.lrs) == sorted(peer.lrs) == list(range(12))
    assert ours.lrs == {t: ours.sched.schedules[0](t) for t in range(12)}
    assert [ours.lrs[t] for t in range(12)] == pytest.approx([peer.lrs[t] for t in range(12)], rel=1e-12, abs=1e-15)


def test_epoch_lengths_use_the_optimizer_steps_of_one_epoch(tmp_path):
    template = lr.warmup(lr.step(init=0.1, step_size="1ep", gamma=0.5), steps="2ba", start=0.01)
    module = Module(lambda opt, trainer: Scheduler(opt, template, **run_size(trainer)))
    trainer = _fit(module, tmp_path, max_epochs=3, limit_val_batches=0)
    assert run_size(trainer) == {"steps": 12.0, "steps_per_epoch": 4}
    resolved = lr.resolve(template, steps_per_epoch=4)
    assert module.lrs == {t: resolved(t) for t in range(12)}
    assert module.lrs[6] == 0.05 and module.lrs[10] == 0.025  # step_size 4, shifted by the 2-update warmup


@pytest.mark.parametrize(("max_steps", "epochs"), [(-1, 3.0), (10, 2.5)], ids=["max_epochs", "max_steps"])
def test_an_epoch_interval_counts_the_run_in_epochs(tmp_path, max_steps, epochs):
    template = lr.linear(start=0.1, end=0.0, steps="100%")
    module = Module(lambda opt, trainer: Scheduler(opt, template, **run_size(trainer, "epoch")), interval="epoch")
    _fit(module, tmp_path, max_epochs=3, max_steps=max_steps, limit_val_batches=0)
    assert module.sched.schedules == [lr.linear(start=0.1, end=0.0, steps=epochs)]
    assert sorted(module.lrs) == list(range(4 * 3 if max_steps < 0 else max_steps))
    assert module.lrs == {t: module.sched.schedules[0](t // 4) for t in module.lrs}  # t counts epochs


def test_an_infinite_run_leaves_percent_unresolvable():
    class Endless:
        estimated_stepping_batches = float("inf")
        num_training_batches = float("inf")
        accumulate_grad_batches = 1

    assert run_size(Endless()) == {"steps": None, "steps_per_epoch": None}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"^Scheduler: `schedule` is a template: cosine's `steps` is '50%'.*give "
                                         r"steps="):
        Scheduler(opt, lr.cosine(init=0.1, steps="50%"), **run_size(Endless()))
    with pytest.raises(ValueError, match=r"^lightning.run_size: `interval` must be one of 'step', 'epoch'"):
        run_size(Endless(), "batch")


def _csv(trainer) -> list[dict[str, str]]:
    with open(trainer.logger.log_dir + "/metrics.csv") as f:
        return list(csv.DictReader(f))


def test_learning_rate_monitor_shows_scheduled_momentum_and_weight_decay_and_the_plateau_scale(tmp_path, caplog):
    s, momentum = lr.cosine(init=0.1, steps="100%"), lr.linear(start=0.95, end=0.85, steps="100%")
    decay = lr.linear(start=1e-2, end=1e-3, steps="1ep")
    plateau = lr.Plateau(patience=0, factor=0.5)

    def make(opt, trainer):
        return Scheduler(opt, s, momentum=momentum, hyper={"weight_decay": decay}, plateau=plateau,
                         **run_size(trainer))

    module = Module(make)
    logger = CSVLogger(tmp_path, name="run")
    monitor = LearningRateMonitor(logging_interval="step", log_momentum=True, log_weight_decay=True)
    with caplog.at_level(logging.INFO, logger="lrcore"):
        trainer = _fit(module, tmp_path, callbacks=[monitor, PlateauCallback("val_loss")], logger=logger,
                       max_epochs=3, log_every_n_steps=1, num_sanity_val_steps=0)
    rows = _csv(trainer)
    logged = {int(r["step"]): r for r in rows if r.get("lr-SGD")}
    assert sorted(logged) == list(range(12))  # one row before each optimizer step
    sched = module.sched
    m, w = sched.momentum[0], sched.hyper["weight_decay"][0]
    assert w == lr.linear(start=1e-2, end=1e-3, steps=4)
    scale = {0: 1.0, 4: 1.0, 8: 0.5, 12: 0.25}  # validations at 4, 8, 12: the val loss is flat, patience 0
    for t, row in logged.items():
        applied = scale[4 * (t // 4)]
        assert float(row["lr-SGD"]) == pytest.approx(sched.schedules[0](t) * applied, rel=1e-12)
        assert float(row["lr-SGD-momentum"]) == pytest.approx(m(t), rel=1e-12)
        assert float(row["lr-SGD-weight_decay"]) == pytest.approx(w(t), rel=1e-12)
    scales = {int(r["step"]): float(r["lr-scale"]) for r in rows if r.get("lr-scale")}
    assert scales == {4: 1.0, 8: 0.5, 12: 0.25}
    assert [r.getMessage() for r in caplog.records if r.name == "lrcore"] == [
        "Scheduler: step 8: plateau reducing the lr scale to 0.5 (metric 1, best 1)",
        "Scheduler: step 12: plateau reducing the lr scale to 0.25 (metric 1, best 1)"]
