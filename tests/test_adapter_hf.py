"""lrcore.adapters.hf.PlateauCallback in a real transformers.Trainer: lrs, plateau, checkpoint resume.

The eval set has x = 0, so a bias-free linear model predicts 0 there whatever it learns:
the eval loss is exactly 1.0 at every evaluation, a plateau.  The expected scale comes
from torch's own ReduceLROnPlateau fed the same eval losses.
"""

from __future__ import annotations

import logging
import os
import warnings

import docs_pages
import pytest
import torch
import transformers
from peers import torch_plateau

import lrcore as lr
from lrcore.adapters.hf import PlateauCallback
from lrcore.adapters.torch import Scheduler

S = lr.warmup(lr.cosine(init=0.1, steps=34, final=0.01), steps=6)  # horizon 40: the run
STEPS, EVERY, SAVE = 40, 4, 16  # the checkpoint at step 16 holds a plateau with one bad evaluation counted
PATIENCE, FACTOR = 1, 0.5
UNFED = "Scheduler: `plateau` has received no metric"  # the Scheduler's warning when a plateau is never fed


class Regression(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        pred = self.linear(x).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(pred, labels), "logits": pred}


def _data() -> tuple[list[dict], list[dict]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    train = [{"x": xi, "labels": xi @ torch.tensor([1.5, -2.0])} for xi in x]
    flat = [{"x": torch.zeros(2), "labels": torch.tensor(1.0)} for _ in range(8)]
    return train, flat


class Record(transformers.TrainerCallback):
    """The lr each optimizer step applies, by t (updates already applied)."""

    def __init__(self) -> None:
        self.lrs: dict[int, float] = {}
        self.reporters = (Reporter(), Reporter())  # listed before and after the PlateauCallbacks

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.lrs[state.global_step] = optimizer.param_groups[0]["lr"]


class Reporter(transformers.TrainerCallback):
    """What a reporting callback (TensorBoard, W&B) receives in on_log."""

    def __init__(self) -> None:
        self.logs: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append(dict(logs))


def _trainer(out, callback=True, metric="eval_loss", resume=None, steps=STEPS, feeders=1):
    transformers.set_seed(0)
    model = Regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = Scheduler(opt, S, plateau=lr.Plateau(patience=PATIENCE, factor=FACTOR))
    record = Record()
    feeding = [PlateauCallback(sched, metric=metric) for _ in range(feeders)] if callback else []
    callbacks = [record, record.reporters[0], *feeding, record.reporters[1]]
    train, flat = _data()
    args = transformers.TrainingArguments(
        output_dir=str(out), use_cpu=True, report_to=[], disable_tqdm=True, seed=0, max_steps=steps,
        per_device_train_batch_size=4, eval_strategy="steps", eval_steps=EVERY, save_strategy="steps",
        save_steps=SAVE, logging_steps=1, dataloader_num_workers=0, eval_on_start=resume is None,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=train, eval_dataset=flat,
                                   optimizers=(opt, sched), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer, sched, record


def _eval_losses(trainer) -> dict[int, float]:
    """The eval losses by the number of updates before them; eval_on_start's (step 0) is not fed."""
    return {row["step"]: row["eval_loss"] for row in trainer.state.log_history if "eval_loss" in row and row["step"]}


class Logged(logging.Handler):
    """The records of the "lrcore" logger while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    logged, logger = Logged(), logging.getLogger("lrcore")
    level = logger.level
    logger.addHandler(logged)
    logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=UNFED)
            return (*_trainer(tmp_path_factory.mktemp("full")), logged.records)
    finally:
        logger.removeHandler(logged)
        logger.setLevel(level)


def test_the_plateau_reduces_on_a_flat_eval_loss_and_every_lr_is_s_times_scale(full):
    trainer, sched, record, _ = full
    assert [row["step"] for row in trainer.state.log_history if "eval_loss" in row][0] == 0  # eval_on_start ran
    evals = _eval_losses(trainer)
    assert sorted(evals) == list(range(EVERY, STEPS + 1, EVERY)) and set(evals.values()) == {1.0}
    ref, scales = torch_plateau(evals.values(), factor=FACTOR, patience=PATIENCE)
    assert scales[-1] < 0.1 and sched.plateau_state.scale == scales[-1]
    assert sched.plateau_state.num_bad == ref.num_bad_epochs and sched.plateau_state.count == len(evals)

    def scale(t):  # an evaluation after update k sets the lr of the updates from t = k on
        return ([1.0] + [s for k, s in zip(evals, scales, strict=True) if k <= t])[-1]

    assert sorted(record.lrs) == list(range(STEPS))
    assert record.lrs == {t: S(t) * scale(t) for t in range(STEPS)}
    # Trainer logs the lr of the update just made: "step" counts updates, so t = step - 1.
    logged = {row["step"] - 1: row["learning_rate"] for row in trainer.state.log_history if "learning_rate" in row}
    assert logged == record.lrs


def test_the_checkpoint_holds_the_plateau_counters_and_resume_is_exact(full, tmp_path):
    trainer, sched, record, _ = full
    checkpoint = os.path.join(trainer.args.output_dir, f"checkpoint-{SAVE}")
    saved = torch.load(os.path.join(checkpoint, "scheduler.pt"), weights_only=True)
    ref, _ = torch_plateau([v for k, v in _eval_losses(trainer).items() if k <= SAVE], factor=FACTOR, patience=PATIENCE)
    assert saved["t"] == SAVE and saved["plateau_state"]["count"] == SAVE // EVERY
    assert saved["plateau_state"]["num_bad"] == ref.num_bad_epochs == 1  # mid-count: a reset would shift reductions
    assert saved["plateau_state"]["scale"] == ref.optimizer.param_groups[0]["lr"] == FACTOR
    assert saved["plateau_state"]["best"] == ref.best

    resumed, sched2, record2 = _trainer(tmp_path, resume=checkpoint)
    assert sorted(record2.lrs) == list(range(SAVE, STEPS))
    assert record2.lrs == {t: record.lrs[t] for t in range(SAVE, STEPS)}
    assert sched2.plateau_state == sched.plateau_state and sched2.last_epoch == sched.last_epoch == STEPS
    assert torch.equal(resumed.model.linear.weight, trainer.model.linear.weight)


def test_only_evaluations_while_training_are_fed(full):
    trainer, sched, _, _ = full
    before = sched.plateau_state
    trainer.evaluate()  # e.g. a final evaluation on a test set: Trainer's own plateau ignores it too
    assert sched.plateau_state == before


def test_each_log_has_the_plateau_scale_beside_the_lr_and_each_reduction_is_logged(full):
    trainer, sched, record, records = full
    evals = _eval_losses(trainer)
    _, scales = torch_plateau(evals.values(), factor=FACTOR, patience=PATIENCE)

    def scale(t):  # the scale the update at t used: evaluations after updates k <= t
        return ([1.0] + [s for k, s in zip(evals, scales, strict=True) if k <= t])[-1]

    rows = [row for row in trainer.state.log_history if "learning_rate" in row]
    assert len(rows) == STEPS  # logging_steps=1: a row per update, logged before that step's evaluation
    for row in rows:
        t = row["step"] - 1
        assert row["lr_scale"] == scale(t) and row["learning_rate"] == S(t) * row["lr_scale"], row
    assert "lr_scale" not in [k for row in trainer.state.log_history if "eval_loss" in row for k in row]
    # A reporter listed after the callback receives it; one listed before (as report_to's are) does not.
    before, after = ([row for row in r.logs if "learning_rate" in row] for r in record.reporters)
    assert [row["lr_scale"] for row in after] == [row["lr_scale"] for row in rows]
    assert all("lr_scale" not in row for row in before) and len(before) == STEPS
    # One INFO record per reduction, at the update count of the evaluation that made it.
    reductions = [(k, s) for k, s, before in zip(evals, scales, [1.0, *scales], strict=False) if s < before]
    assert len(reductions) >= 3
    assert [r.getMessage() for r in records] == [
        f"Scheduler: step {k}: plateau reducing the lr scale to {s:.6g} (metric 1, best 1)" for k, s in reductions]
    assert {(r.name, r.levelname) for r in records} == {("lrcore", "INFO")}


def test_a_second_plateau_callback_on_the_same_scheduler_is_refused_at_train_begin(tmp_path):
    # Both would feed each evaluation: with patience 1, every evaluation would count twice.
    with pytest.raises(ValueError, match=r"^hf.PlateauCallback: `scheduler` is fed by another PlateauCallback in "
                                         r"this run, which would feed the plateau each evaluation twice: keep one "
                                         r"per scheduler; got scheduler='Scheduler'$"):
        _trainer(tmp_path, feeders=2)


def test_the_same_callback_may_train_again(full):
    trainer, sched, _, _ = full
    callback = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, PlateauCallback))
    other = PlateauCallback(sched)
    for _ in range(2):  # a second train() of the same Trainer: a new state, the same feeder
        state = transformers.TrainerState()
        callback.on_train_begin(trainer.args, state, None, lr_scheduler=sched)
    with pytest.raises(ValueError, match="is fed by another PlateauCallback"):
        other.on_train_begin(trainer.args, state, None, lr_scheduler=sched)
    other.on_train_begin(trainer.args, transformers.TrainerState(), None, lr_scheduler=sched)  # a new run takes over
    for cb in (callback, other):
        cb.on_train_end(trainer.args, state, None)


def test_without_the_callback_trainer_never_feeds_the_plateau_and_the_scheduler_warns(tmp_path):
    with pytest.warns(UserWarning, match=rf"^{UNFED} in {STEPS} steps.*hf.PlateauCallback\(sched\)"):
        trainer, sched, record = _trainer(tmp_path, callback=False)
    assert set(_eval_losses(trainer).values()) == {1.0}  # ten flat evaluations
    assert sched.plateau_state == sched.plateau.init()  # and the plateau saw none of them
    assert record.lrs == {t: S(t) for t in range(STEPS)}


def test_a_missing_metric_warns_with_the_available_keys(tmp_path):
    with pytest.warns(UserWarning, match=r"no 'eval_accuracy' \(it has: .*eval_loss.*\).*not fed"):
        _, sched, _ = _trainer(tmp_path, metric="accuracy", steps=EVERY)
    assert sched.plateau_state.count == 0


def test_the_callback_must_feed_the_scheduler_the_trainer_steps(tmp_path):
    model = Regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = Scheduler(opt, S, plateau=lr.Plateau())
    args = transformers.TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], max_steps=2,
                                          disable_tqdm=True, save_strategy="no")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_data()[0], optimizers=(opt, None),
                                   callbacks=[PlateauCallback(sched)])
    with pytest.raises(ValueError, match=r"^hf.PlateauCallback: `scheduler` must be the Trainer's scheduler.*"
                                         r"optimizers=\(optimizer, scheduler\).*LambdaLR"):
        trainer.train()


def test_bad_arguments():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match=r"^hf.PlateauCallback: `scheduler` must be an lrcore.adapters.torch.Sch"):
        PlateauCallback(torch.optim.lr_scheduler.ReduceLROnPlateau(opt))
    with pytest.raises(ValueError, match=r"^hf.PlateauCallback: `scheduler` must be built with plateau="):
        PlateauCallback(Scheduler(opt, S))
    with pytest.raises(TypeError, match=r"^hf.PlateauCallback: `metric` must be a metric name.*got metric=None"):
        PlateauCallback(Scheduler(opt, S, plateau=lr.Plateau()), metric=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = Scheduler(opt, S, plateau=lr.Plateau())
        assert PlateauCallback(sched, metric="loss").metric == PlateauCallback(sched).metric == "eval_loss"
        assert PlateauCallback(sched, metric="eval_f1").metric == "eval_f1"


def test_the_guide_example_runs_as_written(tmp_path, monkeypatch):
    (code,) = docs_pages.blocks(docs_pages.page("guides/hf.md"))
    monkeypatch.chdir(tmp_path)
    train, flat = _data()
    namespace = {"model": Regression(), "train_set": train, "eval_set": flat}  # what the example leaves to you
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=UNFED)
        exec(compile(code, "docs/guides/hf.md", "exec"), namespace)
    sched = namespace["sched"]
    assert sched.schedules == [lr.resolve(namespace["s"], steps=300)]  # "10%" of the Trainer's 300 steps: 30
    assert sched.schedules[0] == lr.warmup(lr.cosine(init=3e-4, steps=270), steps=30)
    assert sched.last_epoch == 300 and sched.plateau_state.count == 6  # evaluated every 50 steps, each fed
    assert sched.plateau_state.scale < 1  # the flat eval loss lowered the lr
    saved = torch.load(tmp_path / "out" / "checkpoint-300" / "scheduler.pt", weights_only=True)
    assert saved["plateau_state"] == sched.plateau_state.to_dict()
