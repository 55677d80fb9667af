"""``lrcore.adapters.hf.find_lr`` with a real ``transformers.Trainer`` on a tiny model (CPU)."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from same_state import rngs, same
from torch import nn

import lrcore as lr
from lrcore.adapters.hf import find_lr

F = nn.functional
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Net(nn.Module):
    """A model as Trainer expects one: keyword inputs, ``labels``, and a dict with the loss."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(6, 32), nn.LayerNorm(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
        self.losses: list[float] = []

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out = self.net(x)
        result = {"logits": out}
        if labels is not None:
            result["loss"] = F.mse_loss(out, labels)
            self.losses.append(float(result["loss"].detach()))
        return result


class Rows(torch.utils.data.Dataset):
    def __init__(self, rows: int = 256, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(rows, 6, generator=g)
        self.y = torch.sin(self.x[:, :1]) + 0.3 * self.x[:, 1:2] ** 2 + 0.1 * torch.randn(rows, 1, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


def make(tmp_path: Path, model: nn.Module, rows: int = 256, **kwargs: Any) -> transformers.Trainer:
    options: dict[str, Any] = dict(
        output_dir=str(tmp_path), per_device_train_batch_size=16, num_train_epochs=2, report_to=[],
        save_strategy="no", logging_strategy="no", use_cpu=True, seed=3, disable_tqdm=True,
    )
    trainer_kwargs = {k: kwargs.pop(k) for k in ("optimizers",) if k in kwargs}
    options.update(kwargs)
    args = transformers.TrainingArguments(**options)
    return transformers.Trainer(model=model, args=args, train_dataset=Rows(rows), **trainer_kwargs)


def snapshot(t: transformers.Trainer) -> dict[str, Any]:
    model = t.model
    return {
        "weights": copy.deepcopy(model.state_dict()),
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "modes": [m.training for m in model.modules()],
        "optimizer": None if t.optimizer is None else copy.deepcopy(t.optimizer.state_dict()),
        "scheduler": None if t.lr_scheduler is None else copy.deepcopy(t.lr_scheduler.state_dict()),
        "objects": (id(t.optimizer), id(t.lr_scheduler)),
        "state": repr(dataclasses.asdict(t.state)),
        "rng": rngs(),
    }


@pytest.mark.parametrize("accumulate", [1, 2])
def test_training_after_the_range_test_is_bit_for_bit_the_training_without_it(tmp_path: Path, accumulate: int) -> None:
    """A Trainer with no optimizer yet: find_lr leaves none, and train() then ends where it ends alone."""
    alone = make(tmp_path / "a", Net(), gradient_accumulation_steps=accumulate)
    alone.train()
    t = make(tmp_path / "b", Net(), gradient_accumulation_steps=accumulate)
    before = snapshot(t)
    s = find_lr(t, progress=False)
    assert same(before, snapshot(t)) and t.optimizer is None and t.lr_scheduler is None
    t.model.losses.clear()
    t.train()
    assert t.state.global_step == alone.state.global_step
    assert same(alone.model.state_dict(), t.model.state_dict()) and alone.model.losses == t.model.losses
    assert 0 < s.lr < 10


def test_every_state_restored_with_the_trainers_own_optimizer_and_scheduler(tmp_path: Path) -> None:
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    t = make(tmp_path, model, optimizers=(opt, sched), num_train_epochs=1)
    t.train()  # moments, scheduler steps, trainer state
    out = model(Rows(8).x, labels=Rows(8).y)
    out["loss"].backward()  # a pending gradient
    model.eval()
    before = snapshot(t)
    s = find_lr(t, start=1e-6, end=1.0, steps=40, progress=False)
    assert same(before, snapshot(t))
    assert t.optimizer.param_groups[0]["lr"] == before["optimizer"]["param_groups"][0]["lr"]
    assert s.total == 40


def test_lrs_follow_range_test_accumulation_and_clipping(tmp_path: Path) -> None:
    model = Net()
    t = make(tmp_path, model, rows=96, gradient_accumulation_steps=2, max_grad_norm=0.5)  # 6 batches: 3 steps an epoch
    seen: list[float] = []
    norms: list[float] = []
    original = t.create_optimizer

    def create_optimizer(*args: Any, **kwargs: Any) -> torch.optim.Optimizer:
        opt = original(*args, **kwargs)

        def hook(o: torch.optim.Optimizer, a: Any, k: Any) -> None:
            seen.append(o.param_groups[0]["lr"])
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))

        opt.register_step_pre_hook(hook)
        return opt

    t.create_optimizer = create_optimizer  # type: ignore[method-assign]
    s = find_lr(t, start=1e-5, end=0.1, steps=30, diverge=math.inf, progress=False)
    want = lr.range_test(start=1e-5, end=0.1, steps=30)
    assert seen == [want(i) for i in range(30)] == s.lrs.tolist()
    assert max(norms) <= 0.5 + 1e-6  # clipped as train() clips
    losses = model.losses
    assert len(losses) == 60  # two batches a step, the dataloader iterated again and again
    assert s.losses.tolist() == pytest.approx([(a + b) / 2 for a, b in zip(losses[::2], losses[1::2], strict=True)],
                                              rel=1e-6)


def test_a_subclass_compute_loss_is_the_loss_measured(tmp_path: Path) -> None:
    class Scaled(transformers.Trainer):
        def compute_loss(self, model: nn.Module, inputs: dict, return_outputs: bool = False, **kwargs: Any) -> Any:
            out = model(inputs["x"])
            loss = 100.0 * F.l1_loss(out["logits"], inputs["labels"])
            return (loss, out) if return_outputs else loss

    args = transformers.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=16, report_to=[],
                                          use_cpu=True, disable_tqdm=True)
    t = Scaled(model=Net(), args=args, train_dataset=Rows())
    s = find_lr(t, start=1e-6, end=1e-5, steps=20, diverge=math.inf, progress=False)
    assert s.losses.min() > 20  # a hundred times an L1 loss of about 0.7, not the model's own MSE


def test_stops_at_the_cut_and_restores_when_the_step_raises(tmp_path: Path) -> None:
    t = make(tmp_path, Net())
    s = find_lr(t, start=1e-4, end=1e4, steps=100, smooth=0.5, progress=False)
    assert s.cut is not None and len(s.lrs) < 99
    before = snapshot(t)

    class Boom(Exception):
        pass

    calls = [0]
    original = t.training_step

    def failing(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls[0] += 1
        if calls[0] == 7:
            raise Boom
        return original(*args, **kwargs)

    t.training_step = failing  # type: ignore[method-assign]
    with pytest.raises(Boom):
        find_lr(t, progress=False)
    assert same(before, snapshot(t)) and t.optimizer is None


def test_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    find_lr(make(tmp_path, Net()), steps=20)
    assert "LR range test" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda t: find_lr("trainer"), TypeError, "hf.find_lr: `trainer` must be a transformers.Trainer"),
        (lambda t: find_lr(t, method="x"), ValueError, "hf.find_lr: `method` must be one of"),
        (lambda t: find_lr(t, steps=1), ValueError, "range_test: `steps` must be >= 2"),
        (lambda t: find_lr(t, progress=None), TypeError, "hf.find_lr: `progress` must be True or False"),
        (lambda t: find_lr(t, start=1.0, end=1e6, steps=20), ValueError, "hf.find_lr: the run stopped after"),
    ],
)
def test_bad_input(tmp_path: Path, call: Any, exc: type, message: str) -> None:
    t = make(tmp_path, Net())
    before = snapshot(t)
    with pytest.raises(exc) as info:
        call(t)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert same(before, snapshot(t))
