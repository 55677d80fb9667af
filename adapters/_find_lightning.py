"""Lightning: the LR range test through ``Trainer.fit``, as ``Tuner.lr_find`` runs it, every state put back."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from lrcore import Suggestion
from lrcore._internal import DEFAULT_METHOD, RangeTest, check

from ._find_torch import TorchState, set_lr

W = "lightning.find_lr"
LOOPS = ("fit_loop", "validate_loop", "test_loop", "predict_loop")


class _RangeTest(Callback):
    """Sets each optimizer step's lr before its first batch and records the step's loss after its
    last one; the only callback of the test's fit."""

    def __init__(self, test: RangeTest, state: TorchState) -> None:
        self.test, self.state = test, state
        self.rates = test.rates()
        self.first_step = 0
        self.step, self.rate, self.window = -1, 0.0, 0.0

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.first_step = trainer.global_step
        self.state.add_optimizers(trainer.optimizers)
        trainer.strategy.lr_scheduler_configs = []  # the module's schedulers sit the test out

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step - self.first_step  # the same for every batch an accumulated step takes
        if step != self.step:
            self.step, self.window = step, 0.0
            rate = next(self.rates, None)
            if rate is None:  # max_steps stops the fit before this; never train past the range
                trainer.should_stop = True
                return
            self.rate = rate
            for optimizer in trainer.optimizers:
                set_lr(optimizer, rate)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if loss is None:
            if pl_module.automatic_optimization:  # Lightning skipped this batch: no step was taken
                return
            rule = "must return the loss from training_step (the range test records it)"
            raise check.fail(W, "model", rule, type(pl_module).__name__)
        # automatic optimization divides each batch's loss by accumulate_grad_batches: their sum is the mean
        self.window += float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if trainer.global_step - self.first_step > self.step:  # the optimizer stepped after this batch
            stop = self.test.add(self.rate, self.window)
            trainer.should_stop = bool(trainer.strategy.broadcast(stop))


class _TrainerState:
    """What a fit changes on the trainer, saved before the test's fit and put back after it."""

    def __init__(self, trainer: Any, model: LightningModule) -> None:
        self.trainer, self.model = trainer, model
        loop = trainer.fit_loop
        self.settings = {
            "callbacks": list(trainer.callbacks),
            "limit_val_batches": trainer.limit_val_batches,
            "num_sanity_val_steps": trainer.num_sanity_val_steps,
            "should_stop": trainer.should_stop,
            "datamodule": getattr(trainer, "datamodule", None),
        }
        self.loggers = list(trainer.loggers)
        self.limits = (loop.max_epochs, loop.min_epochs, loop.epoch_loop.max_steps, loop.epoch_loop.min_steps)
        self.progress = deepcopy(loop.state_dict())  # global_step, current_epoch, batch counters
        self.status = (trainer.state.status, trainer.state.fn, trainer.state.stage)
        self.strategy = (list(trainer.strategy.optimizers), list(trainer.strategy.lr_scheduler_configs))
        self.connections = {name: getattr(trainer.strategy, name, None) for name in ("_lightning_module", "_model")}
        self.module_trainer = model._trainer
        self.data = [self._data(loop) for loop in self._loops()]
        self.hooks = getattr(trainer._data_connector, "_datahook_selector", None)

    def _loops(self) -> list[Any]:
        loops = [getattr(self.trainer, name) for name in LOOPS]
        return [*loops, self.trainer.fit_loop.epoch_loop.val_loop]

    @staticmethod
    def _data(loop: Any) -> tuple[Any, Any]:
        return getattr(loop, "_combined_loader", None), getattr(getattr(loop, "_data_source", None), "instance", None)

    def set_aside(self, steps: int) -> None:
        """Only the test's callback, no logger, no validation; the fit runs `steps` optimizer steps."""
        trainer, loop = self.trainer, self.trainer.fit_loop
        trainer.callbacks = []
        trainer.loggers = []
        trainer.limit_val_batches = 0
        trainer.num_sanity_val_steps = 0
        loop.max_epochs, loop.min_epochs = -1, None
        loop.epoch_loop.max_steps, loop.epoch_loop.min_steps = trainer.global_step + steps, None

    def restore(self) -> None:
        trainer, loop = self.trainer, self.trainer.fit_loop
        for name, value in self.settings.items():
            setattr(trainer, name, value)
        trainer.loggers = self.loggers
        loop.max_epochs, loop.min_epochs, loop.epoch_loop.max_steps, loop.epoch_loop.min_steps = self.limits
        loop.load_state_dict(deepcopy(self.progress))
        loop.restarting = False
        trainer.state.status, trainer.state.fn, trainer.state.stage = self.status
        trainer.strategy.optimizers, trainer.strategy.lr_scheduler_configs = self.strategy
        for name, value in self.connections.items():
            if hasattr(trainer.strategy, name):
                setattr(trainer.strategy, name, value)
        self.model.trainer = self.module_trainer
        for each, (combined, source) in zip(self._loops(), self.data, strict=True):
            if hasattr(each, "_combined_loader"):
                each._combined_loader = combined
            if hasattr(each, "_data_source"):
                each._data_source.instance = source
        if self.hooks is not None:
            trainer._data_connector._datahook_selector = self.hooks


def find_lr(
    trainer: Trainer,
    model: LightningModule,
    train_dataloaders: Any = None,
    *,
    datamodule: Any = None,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run the LR range test with ``trainer.fit`` and return ``lr.suggest``'s reading of it.

    As ``Tuner(trainer).lr_find(model, train_dataloaders, datamodule=...)``: the fit sets
    up the module as usual (``configure_optimizers``, precision, gradient accumulation and
    clipping as configured), then optimizer step t runs at
    ``lr = lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)`` in every
    param group of every optimizer (a linear range may start at 0), its loss being what
    ``training_step`` returns (averaged over the batches an accumulated step takes).
    The dataloader is iterated again when it has fewer batches than `steps`.  The run
    stops at the first non-finite loss or once the smoothed loss passes `diverge` times
    its minimum (the rule of ``lr.suggest``).  During the test the trainer's callbacks
    and loggers are set aside (nothing is logged, checkpointed or shown but the range
    test's own tqdm bar, with `progress`), validation is off, and the module's
    learning-rate schedulers do not step.

    Afterwards, also when the run raises, everything is as before: the module's
    parameters, buffers, gradients and train/eval modes, the state of the optimizers the
    fit used, the trainer's optimizers, scheduler configs, callbacks, loggers, limits,
    step and epoch counters, state and attached data, and the random number generators
    of torch, numpy and ``random``.  Only what the module's own hooks do to its other
    attributes (``setup``, ``on_fit_start``, ...) is the module's business, as in any fit.
    """
    if not isinstance(trainer, Trainer):
        raise check.fail(W, "trainer", "must be a lightning.pytorch.Trainer", type(trainer).__name__, TypeError)
    if not isinstance(model, LightningModule):
        raise check.fail(W, "model", "must be a lightning.pytorch.LightningModule", type(model).__name__, TypeError)
    if getattr(trainer, "fast_dev_run", False):
        raise check.fail(W, "trainer", "must not be a fast_dev_run trainer (it runs a single batch)", "fast_dev_run")
    test = RangeTest(W, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth,
                     diverge=diverge, progress=progress)
    state = TorchState(model, [])
    rngs = (random.getstate(), np.random.get_state())
    saved = _TrainerState(trainer, model)
    callback = _RangeTest(test, state)
    chatter = logging.getLogger("lightning.pytorch")
    level = chatter.level
    try:
        saved.set_aside(test.steps)
        trainer.callbacks = [callback]  # type: ignore[attr-defined]
        chatter.setLevel(logging.WARNING)  # not "Trainer.fit stopped: max_steps reached" after a range test
        trainer.fit(model, train_dataloaders=train_dataloaders, datamodule=datamodule)
    finally:
        chatter.setLevel(level)
        test.close()
        saved.restore()
        state.restore()
        random.setstate(rngs[0])
        np.random.set_state(rngs[1])
    return test.result()
