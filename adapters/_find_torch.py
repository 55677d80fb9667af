"""PyTorch: the LR range test on a model and its optimizer, leaving both as they were."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from lrcore import Suggestion
from lrcore._internal import DEFAULT_METHOD, check, run

W = "find_lr"


class TorchState:
    """Everything a range test changes around a model and its optimizers, to put back exactly:
    the values and gradients of the model's parameters and buffers and of any tensor an
    optimizer holds beside them (a temperature in the loss), each module's train/eval
    mode, each optimizer's state dict and its param groups' lr objects, and torch's
    random number generators (dropout and a shuffling DataLoader draw from them)."""

    def __init__(self, model: torch.nn.Module, optimizers: list[torch.optim.Optimizer]) -> None:
        self.model = model
        self.params: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}
        self.grads: dict[int, torch.Tensor | None] = {}
        self._hold(model.parameters())
        self.buffers = [(b, b.detach().clone()) for b in model.buffers()]
        self.modes = [(m, m.training) for m in model.modules()]
        self.optimizers: list[tuple[torch.optim.Optimizer, dict[str, Any], list[Any]]] = []
        self.add_optimizers(optimizers)
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def _hold(self, params: Any) -> None:
        for p in params:
            if torch.nn.parameter.is_lazy(p):
                rule = ("has parameters that are not initialised yet (a lazy module such as LazyLinear): run one "
                        "forward pass, model(inputs), before the range test")
                raise check.fail(W, "model", rule, type(self.model).__name__)
            if id(p) not in self.params:
                self.params[id(p)] = p
                self.values[id(p)] = p.detach().clone()
                self.grads[id(p)] = None if p.grad is None else p.grad.detach().clone()

    def add_optimizers(self, optimizers: list[torch.optim.Optimizer]) -> None:
        """Also put back these optimizers and the tensors they update (once each)."""
        for optimizer in optimizers:
            if any(optimizer is known for known, _, _ in self.optimizers):
                continue
            self._hold([p for group in optimizer.param_groups for p in group["params"]])
            lrs = [group["lr"] for group in optimizer.param_groups]
            self.optimizers.append((optimizer, copy.deepcopy(optimizer.state_dict()), lrs))

    def restore(self) -> None:
        with torch.no_grad():
            for key, p in self.params.items():
                p.copy_(self.values[key])
            for buffer, value in self.buffers:
                buffer.copy_(value)
        for key, p in self.params.items():
            p.grad = self.grads[key]
        for module, training in self.modes:
            module.training = training
        for optimizer, state, lrs in self.optimizers:
            optimizer.load_state_dict(state)
            for group, original in zip(optimizer.param_groups, lrs, strict=True):
                if isinstance(original, torch.Tensor):  # the same tensor as before, holding its old value
                    original.copy_(group["lr"])
                    group["lr"] = original
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """`lr` in every param group; a tensor lr stays the same tensor (torch.compile)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


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
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run the LR range test and return ``lr.suggest``'s reading of it.

    Step t trains on one batch ``(inputs, targets)`` with
    ``loss = loss_fn(model(inputs), targets)`` and one ``optimizer.step()`` at
    ``lr = lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)`` in
    every param group (a linear range may start at 0).  `batches` is a list or a
    DataLoader, iterated again when it has fewer than `steps`, or an iterator that
    lasts the run (read once, never stored).  The run stops at the first non-finite
    loss or once the smoothed loss passes `diverge` times its minimum (the rule of
    ``lr.suggest``).  `progress` shows a tqdm bar where tqdm is installed.

    Afterwards every parameter, buffer and gradient (the model's, and any other
    tensor the optimizer updates), each module's train/eval mode, the optimizer's
    state dict (step counts, moments, param-group lrs) and torch's random number
    generators are restored exactly, also when the run raises.
    """
    if not isinstance(model, torch.nn.Module):
        raise check.fail(W, "model", "must be a torch.nn.Module", model, TypeError)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise check.fail(W, "optimizer", "must be a torch.optim.Optimizer", optimizer, TypeError)
    if not callable(loss_fn):
        raise check.fail(W, "loss_fn", "must be callable as loss_fn(outputs, targets)", loss_fn, TypeError)
    saved = TorchState(model, [optimizer])

    def one_step(lr: float, batch: Any) -> torch.Tensor:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise check.fail(W, "batches", "must yield (inputs, targets) pairs", type(batch).__name__, TypeError)
        inputs, targets = batch
        set_lr(optimizer, lr)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise check.fail(W, "loss_fn", "must return the loss as a one-element tensor", type(loss).__name__,
                             TypeError)
        loss.backward()
        optimizer.step()
        return loss.detach()

    model.train()
    try:
        return run(
            W, one_step, batches, start=start, end=end, steps=steps, shape=shape, method=method,
            smooth=smooth, diverge=diverge, progress=progress,
        )
    finally:
        saved.restore()
