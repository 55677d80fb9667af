"""lrcore.adapters.hf.Scheduler in a real transformers.Trainer: lengths in units resolved from the Trainer's run.

The Trainer counts the run's optimizer steps inside ``train()`` (``max_steps``, or
``num_train_epochs`` times the optimizer steps per epoch, with gradient accumulation), after
the scheduler passed in ``optimizers=`` was built; ``hf.Scheduler`` resolves "10%" and "1ep"
from that count at train begin.  Its lrs are checked update by update against the resolved
schedule and against transformers' own linear warmup schedule.
"""

from __future__ import annotations

import os

import pytest
import torch
import transformers

import lrcore as lr
from lrcore.adapters.hf import Scheduler


class Regression(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(2, 1, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        pred = self.linear(x).squeeze(-1)
        return {"loss": torch.nn.functional.mse_loss(pred, labels), "logits": pred}


def _data(n: int) -> list[dict]:
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    return [{"x": xi, "labels": xi @ torch.tensor([1.5, -2.0])} for xi in x]


class Record(transformers.TrainerCallback):
    """The lr each optimizer step applies, by t (updates already applied)."""

    def __init__(self) -> None:
        self.lrs: dict[int, float] = {}

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.lrs[state.global_step] = optimizer.param_groups[0]["lr"]


def _train(out, make_sched, *, samples, callback=True, resume=None, **arguments):
    """(trainer, scheduler, lrs by t) of a Trainer run with the scheduler `make_sched(optimizer)` (None: HF's own)."""
    transformers.set_seed(0)
    model = Regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = None if make_sched is None else make_sched(opt)
    record = Record()
    settings = {"per_device_train_batch_size": 4, "save_strategy": "no", "learning_rate": 0.1, **arguments}
    args = transformers.TrainingArguments(output_dir=str(out), use_cpu=True, report_to=[], disable_tqdm=True, seed=0,
                                          logging_steps=1, dataloader_num_workers=0, **settings)
    callbacks = [record] + ([sched] if callback and sched is not None else [])
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_data(samples), optimizers=(opt, sched),
                                   callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer, sched, record.lrs


def test_percent_lengths_equal_transformers_own_linear_warmup(tmp_path):
    # 40 samples in batches of 4, 2 accumulated: 5 updates an epoch, 20 in 4 epochs; 10% warmup is 2 updates.
    run = {"samples": 40, "num_train_epochs": 4, "gradient_accumulation_steps": 2}
    template = lr.warmup(lr.linear(start=0.1, end=0.0, steps="90%"), steps="10%")
    trainer, sched, ours = _train(tmp_path / "ours", lambda opt: Scheduler(opt, template), **run)
    peer, _, theirs = _train(tmp_path / "hf", None, lr_scheduler_type="linear", warmup_steps=0.1, **run)
    assert trainer.state.max_steps == peer.state.max_steps == 20
    assert sched.schedules == [lr.resolve(template, steps=20)]
    assert sorted(ours) == sorted(theirs) == list(range(20))
    assert [ours[t] for t in range(20)] == pytest.approx([theirs[t] for t in range(20)], rel=1e-12, abs=1e-15)


def test_epoch_lengths_follow_the_trainers_updates_per_epoch_with_accumulation(tmp_path):
    # 44 samples: 11 batches an epoch; accumulating 2, the epoch's last update takes one: 6 updates an epoch.
    template = lr.step(init=0.1, step_size="1ep", gamma=0.5)
    momentum = lr.linear(start=0.95, end=0.85, steps="50%")

    def make(opt):
        opt.param_groups[0]["momentum"] = 0.9
        return Scheduler(opt, template, momentum=momentum)

    trainer, sched, lrs = _train(tmp_path, make, samples=44, num_train_epochs=3, gradient_accumulation_steps=2)
    assert trainer.state.max_steps == 18 and trainer.state.global_step == 18
    resolved = lr.resolve(template, steps=18, steps_per_epoch=6)
    assert sched.schedules == [resolved] and sched.momentum == [lr.resolve(momentum, steps=18)]
    assert lrs == {t: resolved(t) for t in range(18)} == {t: 0.1 * 0.5 ** (t // 6) for t in range(18)}
    assert sched.optimizer.param_groups[0]["momentum"] == lr.resolve(momentum, steps=18)(18)


def test_max_steps_is_the_run_and_given_quantities_are_kept(tmp_path):
    template = lr.cosine(init=0.1, steps="100%")
    trainer, sched, lrs = _train(tmp_path, lambda opt: Scheduler(opt, template), samples=40, max_steps=7)
    assert sched.schedules == [lr.cosine(init=0.1, steps=7)] and lrs == {t: sched.schedules[0](t) for t in range(7)}
    # steps= given: resolved at construction, and the Trainer's count does not replace it.
    _, sched, lrs = _train(tmp_path, lambda opt: Scheduler(opt, template, steps=50), samples=40, max_steps=7)
    assert sched.schedules == [lr.cosine(init=0.1, steps=50)] and lrs == {t: sched.schedules[0](t) for t in range(7)}


def test_until_train_begin_the_optimizer_keeps_its_values_and_an_update_is_refused():
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=0.3)
    sched = Scheduler(opt, lr.cosine(init=0.1, steps="100%"))
    assert sched.pending and opt.param_groups[0]["lr"] == 0.3 and sched.get_last_lr() == [0.3]
    p.grad = torch.ones(2)
    with pytest.raises(ValueError, match=r"^hf.Scheduler: the schedules hold lengths in units of the run .*"
                                         r"Trainer\(optimizers=\(optimizer, sched\), callbacks=\[sched\]\)$"):
        opt.step()
    assert torch.equal(p, torch.ones(2))  # refused before the update
    with pytest.raises(ValueError, match=r"^hf.Scheduler: the schedules hold lengths"):
        sched.step()


def test_a_template_scheduler_left_out_of_the_callbacks_fails_before_the_first_update(tmp_path):
    template = lr.cosine(init=0.1, steps="100%")
    with pytest.raises(ValueError, match=r"callbacks=\[sched\]"):
        _train(tmp_path, lambda opt: Scheduler(opt, template), samples=16, max_steps=3, callback=False)


def test_the_scheduler_must_be_the_one_the_trainer_steps(tmp_path):
    model = Regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = Scheduler(opt, lr.cosine(init=0.1, steps="100%"))
    args = transformers.TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], max_steps=2,
                                          disable_tqdm=True, save_strategy="no")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_data(8), optimizers=(opt, None),
                                   callbacks=[sched])
    with pytest.raises(ValueError, match=r"^hf.Scheduler: `scheduler` must be the Trainer's scheduler.*LambdaLR"):
        trainer.train()


def test_resume_from_checkpoint_continues_the_resolved_run_exactly(tmp_path):
    template = lr.warmup(lr.cosine(init=0.1, steps="80%", final=0.01), steps="20%")
    run = {"samples": 40, "num_train_epochs": 3, "save_strategy": "steps", "save_steps": 7}
    trainer, sched, whole = _train(tmp_path, lambda opt: Scheduler(opt, template), **run)
    assert trainer.state.max_steps == 30 and whole == {t: lr.resolve(template, steps=30)(t) for t in range(30)}
    checkpoint = os.path.join(tmp_path, "checkpoint-14")
    saved = torch.load(os.path.join(checkpoint, "scheduler.pt"), weights_only=True)
    assert saved["t"] == 14 and lr.from_dict(saved["schedules"][0]) == lr.resolve(template, steps=30)
    resumed, sched2, rest = _train(tmp_path / "resumed", lambda opt: Scheduler(opt, template), resume=checkpoint,
                                   **run)
    assert rest == {t: whole[t] for t in range(14, 30)}
    assert sched2.schedules == sched.schedules and sched2.last_epoch == 30
    assert torch.equal(resumed.model.linear.weight, trainer.model.linear.weight)
