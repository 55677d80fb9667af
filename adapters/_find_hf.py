"""Hugging Face Trainer: the LR range test with the Trainer's own training step, every state put back."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import numpy as np
import torch
import transformers

from lrcore import Suggestion
from lrcore._internal import DEFAULT_METHOD, check, check_run, run_steps

from ._find_torch import TorchState, set_lr

W = "hf.find_lr"
_UNSET = object()


def _batches(trainer: transformers.Trainer) -> Generator[Any, None, None]:
    """The Trainer's train dataloader, epoch after epoch (``set_epoch`` as its loop calls it)."""
    loader = trainer.get_train_dataloader()
    registered = getattr(trainer.accelerator, "_dataloaders", None)
    try:
        epoch = 0
        while True:
            if hasattr(loader, "set_epoch"):
                loader.set_epoch(epoch)
            empty = True
            for batch in loader:
                empty = False
                yield batch
            if empty:
                raise check.fail(W, "trainer", "has a train dataloader that yields no batch", "train_dataset")
            epoch += 1
    finally:  # the accelerator keeps every dataloader it prepares; this one is done
        if isinstance(registered, list) and any(d is loader for d in registered):
            registered[:] = [d for d in registered if d is not loader]


def find_lr(
    trainer: transformers.Trainer,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run the LR range test on a ``transformers.Trainer`` and return ``lr.suggest``'s reading of it.

    Optimizer step t takes ``args.gradient_accumulation_steps`` batches of the Trainer's
    train dataloader through ``trainer.training_step`` (its ``compute_loss``, data
    collator, autocast and loss scaling, so a subclass's own loss is the one measured),
    clips the gradients to ``args.max_grad_norm`` as ``train`` does, and steps the
    optimizer at ``lr = lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)``
    in every param group (a linear range may start at 0).  The optimizer is the
    Trainer's (``optimizers=`` or set before), else the one ``create_optimizer`` makes
    from ``args``; the lr scheduler does not step.  The dataloader is iterated again when
    it has fewer batches than the run needs.  The run stops at the first non-finite loss
    or once the smoothed loss passes `diverge` times its minimum (the rule of
    ``lr.suggest``).  `progress` shows a tqdm bar where tqdm is installed.

    Afterwards, also when the run raises, everything is as before: the model's parameters,
    buffers, gradients and train/eval modes, the optimizer's state (or no optimizer, when
    the Trainer had none: ``train`` then makes its own as usual), the scheduler (never
    stepped), ``trainer.state`` (never advanced), and the random number generators of
    torch, numpy and ``random``.
    """
    if not isinstance(trainer, transformers.Trainer):
        raise check.fail(W, "trainer", "must be a transformers.Trainer", type(trainer).__name__, TypeError)
    check_run(W, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth, diverge=diverge,
              progress=progress)
    if getattr(trainer.accelerator, "scaler", None) is not None:
        rule = "must not scale the loss for fp16 (a GradScaler); run the range test in bf16 or fp32"
        raise check.fail(W, "trainer", rule, "fp16")
    model: Any = trainer.model
    if not isinstance(model, torch.nn.Module):
        raise check.fail(W, "trainer", "must hold its model (trainer.model)", type(model).__name__, TypeError)
    given: Any = trainer.optimizer
    own = given is None
    state = TorchState(model, [] if own else [given])
    rngs = (random.getstate(), np.random.get_state())
    accumulated = getattr(trainer, "current_gradient_accumulation_steps", _UNSET)
    feed: Generator[Any, None, None] | None = None

    def step(rate: float) -> float:
        optimizer: Any = trainer.optimizer
        set_lr(optimizer, rate)
        assert feed is not None
        samples = [next(feed) for _ in range(trainer.args.gradient_accumulation_steps)]
        samples, items = trainer.get_batch_samples(iter(samples), len(samples), trainer.args.device)
        trainer.current_gradient_accumulation_steps = len(samples)
        # each batch's loss comes back divided by the number of batches (or of items): their sum is the mean
        loss = sum(float(trainer.training_step(trainer.model_wrapped, inputs, items)) for inputs in samples)
        if trainer.args.max_grad_norm is not None and trainer.args.max_grad_norm > 0:
            trainer.accelerator.clip_grad_norm_(model.parameters(), trainer.args.max_grad_norm)
        optimizer.step()
        model.zero_grad()
        return loss

    try:
        if own:
            trainer.create_optimizer()
        feed = _batches(trainer)
        return run_steps(
            W, step, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth,
            diverge=diverge, progress=progress,
        )
    finally:
        if feed is not None:
            feed.close()
        if own:
            trainer.optimizer = None
        if accumulated is _UNSET:
            trainer.__dict__.pop("current_gradient_accumulation_steps", None)
        else:
            trainer.current_gradient_accumulation_steps = accumulated
        state.restore()
        random.setstate(rngs[0])
        np.random.set_state(rngs[1])
