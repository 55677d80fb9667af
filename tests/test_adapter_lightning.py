"""lrcore.adapters.lightning.PlateauCallback in a real lightning.Trainer: lrs, plateau, ckpt_path resume.

The validation set has x = 0, so a bias-free linear model predicts 0 there whatever it
learns: val_loss is exactly 1.0 at every validation, a plateau.  The expected scale
comes from torch's own ReduceLROnPlateau fed the same validation losses.  Validation
runs twice per epoch (``val_check_interval``), so for ``"interval": "step"`` the scale
changes mid-epoch, and for ``"epoch"`` within an epoch whose t does not move.
"""

from __future__ import annotations

import warnings

import docs_pages
import lightning
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from peers import torch_plateau

import lrcore as lr
from lrcore.adapters.lightning import PlateauCallback
from lrcore.adapters.torch import Scheduler

BATCHES, EPOCHS, VAL_EVERY = 8, 5, 4  # 40 updates, 10 validations
PATIENCE, FACTOR = 1, 0.5
UNFED = "Scheduler: `plateau` has received no metric"  # the Scheduler's warning when a plateau is never fed
SCHEDULES = {  # t counts updates ("step") or epochs ("epoch")
    "step": lr.warmup(lr.cosine(init=0.1, steps=34, final=0.01), steps=6),  # horizon 40: the run
    "epoch": lr.cosine(init=0.1, steps=EPOCHS, final=0.01),
}
# The checkpoint saved by the validation at the end of epoch 1: its plateau has one bad
# validation counted, so a resume that lost the counters would reduce one validation late.
RESUME_STEP = 2 * BATCHES


def _loader(x: torch.Tensor, y: torch.Tensor) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4, shuffle=False)


class Regression(lightning.LightningModule):
    def __init__(self, interval: str, plateau: bool = True, **config) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(2, 1, bias=False)
        self.interval, self.plateau, self.config = interval, plateau, config
        self.lrs: dict[int, float] = {}

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), y)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def on_before_optimizer_step(self, optimizer):
        self.lrs[self.trainer.global_step] = optimizer.param_groups[0]["lr"]

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        plateau = lr.Plateau(patience=PATIENCE, factor=FACTOR) if self.plateau else None
        self.sched = Scheduler(opt, SCHEDULES[self.interval], plateau=plateau)
        config = {"scheduler": self.sched, "interval": self.interval, "monitor": "val_loss", **self.config}
        return {"optimizer": opt, "lr_scheduler": config}

    def train_dataloader(self):
        x = torch.randn(4 * BATCHES, 2, generator=torch.Generator().manual_seed(0))
        return _loader(x, x @ torch.tensor([1.5, -2.0]))

    def val_dataloader(self):
        return _loader(torch.zeros(8, 2), torch.ones(8))


class Record(lightning.pytorch.Callback):
    """Each validation's val_loss, by the number of updates made before it."""

    def __init__(self) -> None:
        self.val_losses: dict[int, float] = {}

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.val_losses[trainer.global_step] = float(trainer.callback_metrics["val_loss"])


def _fit(module, root, callbacks=(), ckpt_path=None, epochs=EPOCHS):
    record = Record()
    checkpoints = ModelCheckpoint(dirpath=root, filename="{step}", save_top_k=-1)
    trainer = lightning.Trainer(
        accelerator="cpu", devices=1, max_epochs=epochs, val_check_interval=VAL_EVERY, logger=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[record, *callbacks, checkpoints],
        default_root_dir=root,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers).*")
        trainer.fit(module, ckpt_path=ckpt_path)
    return trainer, record


@pytest.fixture(scope="module", params=["step", "epoch"])
def full(request, tmp_path_factory):
    module = Regression(request.param)
    root = tmp_path_factory.mktemp(request.param)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=UNFED)
        trainer, record = _fit(module, root, [PlateauCallback("val_loss")])
    return request.param, module, record, root, trainer


def test_lrs_are_s_times_the_scale_and_the_scale_drops_on_a_flat_val_loss(full):
    interval, module, record, _, _ = full
    steps = BATCHES * EPOCHS
    assert sorted(record.val_losses) == list(range(VAL_EVERY, steps + 1, VAL_EVERY))  # sanity check not fed
    assert set(record.val_losses.values()) == {1.0}
    ref, scales = torch_plateau(record.val_losses.values(), factor=FACTOR, patience=PATIENCE)
    state = module.sched.plateau_state
    assert scales[-1] == FACTOR**4 == state.scale and state.num_bad == ref.num_bad_epochs and state.count == 10

    def scale(g):  # a validation after update k sets the lr of the updates from k on
        return ([1.0] + [s for k, s in zip(record.val_losses, scales, strict=True) if k <= g])[-1]

    s = SCHEDULES[interval]
    t = (lambda g: g) if interval == "step" else (lambda g: g // BATCHES)
    assert sorted(module.lrs) == list(range(steps))
    assert module.lrs == {g: s(t(g)) * scale(g) for g in range(steps)}
    assert module.sched.last_epoch == (steps if interval == "step" else EPOCHS)


def test_ckpt_path_resume_continues_exactly(full, tmp_path):
    interval, module, record, root, _ = full
    checkpoint = root / f"step={RESUME_STEP}.ckpt"
    saved = torch.load(checkpoint, weights_only=False)["lr_schedulers"][0]
    fed = [v for k, v in record.val_losses.items() if k <= RESUME_STEP]
    ref, _ = torch_plateau(fed, factor=FACTOR, patience=PATIENCE)
    assert saved["plateau_state"]["num_bad"] == ref.num_bad_epochs == 1
    assert saved["plateau_state"]["scale"] == ref.optimizer.param_groups[0]["lr"] == FACTOR
    assert saved["plateau_state"]["count"] == RESUME_STEP // VAL_EVERY

    resumed = Regression(interval)
    _fit(resumed, tmp_path, [PlateauCallback("val_loss")], ckpt_path=checkpoint)
    assert sorted(resumed.lrs) == list(range(RESUME_STEP, BATCHES * EPOCHS))
    assert resumed.lrs == {g: module.lrs[g] for g in resumed.lrs}
    assert resumed.sched.plateau_state == module.sched.plateau_state
    assert resumed.sched.last_epoch == module.sched.last_epoch
    assert torch.equal(resumed.linear.weight, module.linear.weight)


def test_only_validations_during_fit_are_fed(full):
    _, module, _, _, trainer = full
    before = module.sched.plateau_state
    trainer.validate(module, verbose=False)
    assert module.sched.plateau_state == before


def test_without_the_callback_lightning_never_feeds_the_plateau_and_the_scheduler_warns(tmp_path):
    module = Regression("step")
    steps = BATCHES * EPOCHS
    match = rf"^{UNFED} in {steps} steps.*lightning.PlateauCallback\(monitor=\"val_loss\"\)"
    with pytest.warns(UserWarning, match=match):
        _, record = _fit(module, tmp_path)
    assert len(record.val_losses) == 10 and set(record.val_losses.values()) == {1.0}
    assert module.sched.plateau_state == module.sched.plateau.init()
    assert module.lrs == {g: SCHEDULES["step"](g) for g in range(steps)}


@pytest.mark.parametrize(
    ("module", "callback", "match"),
    [
        (Regression("step", plateau=False), PlateauCallback(), r"`trainer.lr_scheduler_configs` must hold an lrcore "
         r"Scheduler built with plateau=lr.Plateau\(...\) \(nothing to feed\); got .*\['Scheduler'\]"),
        (Regression("epoch", reduce_on_plateau=True), PlateauCallback(), r"`reduce_on_plateau` must be left out of the "
         r"scheduler config \(Lightning would feed the plateau a second time\); got reduce_on_plateau=True"),
        (Regression("step"), PlateauCallback("val_acc"), r"`monitor` of the scheduler config must be this "
         r"callback's \('val_acc'\) or left out; got monitor='val_loss'"),
        (Regression("step", monitor=None), PlateauCallback("val_acc"), r"`monitor` must name a metric logged in "
         r"validation \(logged: val_loss\); got monitor='val_acc'"),
    ],
    ids=["no-plateau", "reduce_on_plateau", "other-monitor", "metric-not-logged"],
)
def test_misconfigurations_fail_at_fit_start_or_first_validation(module, callback, match, tmp_path):
    with pytest.raises(ValueError, match=rf"^lightning.PlateauCallback: {match}"):
        _fit(module, tmp_path, [callback], epochs=1)
    assert module.sched.plateau is None or module.sched.plateau_state.count == 0


def test_a_second_plateau_callback_on_the_same_scheduler_is_refused_at_fit_start(tmp_path):
    # Both would feed each validation: with patience 0, 3 validations would make 6 reductions.
    module = Regression("step", monitor=None)
    with pytest.raises(ValueError, match=r"^lightning.PlateauCallback: `scheduler` is fed by another PlateauCallback "
                                         r"in this run, which would feed the plateau each evaluation twice: keep one "
                                         r"per scheduler; got scheduler='Scheduler'$"):
        _fit(module, tmp_path, [PlateauCallback("val_loss"), PlateauCallback("val_loss")], epochs=1)
    assert module.lrs == {} and module.sched.plateau_state.count == 0  # refused before the first update


class TrainLogged(Regression):
    """Logs "val_loss" from training_step only; validation logs another name."""

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("val_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_mse", self._loss(batch))


def test_a_monitor_that_only_training_logged_is_refused_after_the_first_validation(tmp_path):
    module = TrainLogged("step", monitor=None)
    with pytest.raises(ValueError, match=r"^lightning.PlateauCallback: `monitor` must name a metric logged in "
                                         r"validation \(logged: val_mse\); got monitor='val_loss'$"):
        _fit(module, tmp_path, [PlateauCallback("val_loss")], epochs=1)
    assert module.sched.plateau_state.count == 0  # the training value was never fed
    assert len(module.lrs) == VAL_EVERY  # it stopped at the first validation


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"^lightning.PlateauCallback: `monitor` must be the name .*got monitor=3"):
        PlateauCallback(3)


def test_the_guide_example_runs_as_written(tmp_path, monkeypatch):
    (code,) = docs_pages.blocks(docs_pages.page("guides/lightning.md"))
    monkeypatch.chdir(tmp_path)
    x = torch.randn(800, 8, generator=torch.Generator().manual_seed(0))
    data = torch.utils.data.TensorDataset(x, torch.zeros(800, 1))
    namespace = {  # what the example leaves to you: 50 batches an epoch, and a validation set
        "train_loader": torch.utils.data.DataLoader(data, batch_size=16),
        "val_loader": torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:64], torch.ones(64, 1))),
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=UNFED)
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers).*")
        exec(compile(code, "docs/guides/lightning.md", "exec"), namespace)
    sched = namespace["trainer"].lr_scheduler_configs[0].scheduler
    assert sched.schedules == [lr.warmup(lr.cosine(init=3e-4, steps=270), steps=30)]  # of max_steps=300
    assert sched.last_epoch == 300 and sched.plateau_state.count == 6  # validated every 50 steps, each fed
