"""PyTorch: the LR range test on a model and its optimizer, leaving both as they were."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from lrcore import Suggestion
from lrcore._internal import check, run

W = "find_lr"


def find_lr(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Any,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = "valley",
    smooth: float = 0.98,
    diverge: float = 4.0,
) -> Suggestion:
    """Run the LR range test and return ``lr.suggest``'s reading of it.

    Step t trains on one batch ``(inputs, targets)`` with
    ``loss = loss_fn(model(inputs), targets)`` and one ``optimizer.step()`` at
    ``lr = lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)`` in
    every param group; `batches` (a list, a DataLoader, an iterator) is cycled when
    it has fewer than `steps`.  The run stops at the first non-finite loss or once the
    smoothed loss passes `diverge` times its minimum (the rule of ``lr.suggest``).
    Afterwards every parameter, buffer and gradient, each module's train/eval mode and
    the optimizer's state dict (step counts, moments, param-group lrs) are restored
    exactly, also when the run raises.
    """
    if not isinstance(model, torch.nn.Module):
        raise check.fail(W, "model", "must be a torch.nn.Module", model, TypeError)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise check.fail(W, "optimizer", "must be a torch.optim.Optimizer", optimizer, TypeError)
    if not callable(loss_fn):
        raise check.fail(W, "loss_fn", "must be callable as loss_fn(outputs, targets)", loss_fn, TypeError)

    tensors = [*model.parameters(), *model.buffers()]
    saved = [t.detach().clone() for t in tensors]
    grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    opt_state = copy.deepcopy(optimizer.state_dict())
    group_lrs = [group["lr"] for group in optimizer.param_groups]

    def one_step(lr: float, batch: Any) -> float:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise check.fail(W, "batches", "must yield (inputs, targets) pairs", type(batch).__name__, TypeError)
        inputs, targets = batch
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)  # a tensor lr stays the same tensor (torch.compile)
            else:
                group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    model.train()
    try:
        return run(
            W, one_step, batches, start=start, end=end, steps=steps, shape=shape, method=method,
            smooth=smooth, diverge=diverge,
        )
    finally:
        with torch.no_grad():
            for tensor, value in zip(tensors, saved, strict=True):
                tensor.copy_(value)
        for p, grad in zip(model.parameters(), grads, strict=True):
            p.grad = grad
        for module, training in modes:
            module.training = training
        optimizer.load_state_dict(opt_state)
        for group, original in zip(optimizer.param_groups, group_lrs, strict=True):
            if isinstance(original, torch.Tensor):  # the same tensor as before, holding its old value
                original.copy_(group["lr"])
                group["lr"] = original
