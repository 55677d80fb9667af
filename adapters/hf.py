"""Hugging Face Trainer: lrcore schedules whose lengths the Trainer's run resolves, and a fed plateau.

``Trainer(optimizers=(opt, Scheduler(opt, s, plateau=...)))`` steps the scheduler after
every optimizer step, logs its lr and saves ``scheduler.state_dict()`` (t and the plateau
state) in each checkpoint, loaded again by ``train(resume_from_checkpoint=...)``.  The
Trainer counts the run's optimizer steps only inside ``train()``, after the scheduler is
built: `Scheduler` (also passed in ``callbacks``) resolves lengths such as ``"5%"`` then.
And Trainer hands evaluation metrics only to torch's ``ReduceLROnPlateau``: without
`PlateauCallback` an lrcore plateau is never fed.
"""

from __future__ import annotations

import warnings
from typing import Any

from lrcore._internal import check

try:
    import transformers
except ModuleNotFoundError as err:
    if err.name != "transformers":
        raise
    message = "lrcore.adapters.hf needs transformers: pip install 'lrcore[hf]'"
    raise ModuleNotFoundError(message, name="transformers") from err

from . import _torch_state as ckpt
from . import torch as torch_adapter
from ._find_hf import find_lr

__all__ = ["PlateauCallback", "Scheduler", "find_lr"]

W = "hf.PlateauCallback"


def _check_stepped(where: str, sched: Any, lr_scheduler: Any) -> None:
    """`sched` must be the scheduler the Trainer steps (it may wrap it, as accelerate does)."""
    if lr_scheduler is not sched and getattr(lr_scheduler, "scheduler", None) is not sched:
        rule = "must be the Trainer's scheduler: pass Trainer(optimizers=(optimizer, scheduler))"
        raise check.fail(where, "scheduler", f"{rule}; the Trainer steps {type(lr_scheduler).__name__}", sched)


def updates_per_epoch(args: Any, train_dataloader: Any) -> int | None:
    """Optimizer steps per epoch as the Trainer counts them (None for a dataloader without a length)."""
    try:
        batches = len(train_dataloader)
    except TypeError:
        return None
    accumulation = args.gradient_accumulation_steps
    return max(batches // accumulation + int(batches % accumulation > 0), 1)


class Scheduler(torch_adapter.Scheduler, transformers.TrainerCallback):
    """``lrcore.adapters.torch.Scheduler`` for a Trainer: lengths in units of the run resolve at train begin.

    Pass it twice, ``Trainer(optimizers=(optimizer, sched), callbacks=[sched])``.  A schedule
    holding lengths such as ``"5%"`` or ``"3ep"`` (see ``lr.resolve``) waits, leaving the
    optimizer's values alone, until ``on_train_begin``, where the Trainer has counted the
    run: ``steps`` is ``state.max_steps`` (``max_steps``, or ``num_train_epochs`` times the
    optimizer steps per epoch, with gradient accumulation) and ``steps_per_epoch`` the
    optimizer steps per epoch.  Quantities given here (``tokens_per_step=``, or ``steps=``
    to override) are used as given.  A checkpoint loaded by ``resume_from_checkpoint``
    holds the resolved schedules and is resumed as saved.  An optimizer step taken while
    the lengths still wait raises.  Everything else is the torch ``Scheduler``'s.
    """

    _defer_units = True

    def on_train_begin(self, args: Any, state: Any, control: Any, lr_scheduler: Any = None,
                       train_dataloader: Any = None, **kwargs: Any) -> None:
        _check_stepped("hf.Scheduler", self, lr_scheduler)
        if self.pending:
            self._resolve({"steps": state.max_steps, "steps_per_epoch": updates_per_epoch(args, train_dataloader)})

    def _pending_error(self) -> ValueError:
        return ValueError("hf.Scheduler: the schedules hold lengths in units of the run (such as \"5%\"), which "
                          "the Trainer resolves at train begin: pass the scheduler as "
                          "Trainer(optimizers=(optimizer, sched), callbacks=[sched])")


class PlateauCallback(transformers.TrainerCallback):
    """Feed `metric` from each evaluation during ``Trainer.train`` to ``scheduler.observe``.

    `scheduler` is the ``lrcore.adapters.torch.Scheduler`` (built with ``plateau=``) passed
    to the Trainer in ``optimizers=(optimizer, scheduler)``.  `metric` is read with or
    without the ``eval_`` prefix, as Trainer reads ``metric_for_best_model``.  The new
    scale applies from the next optimizer step on; a checkpoint saved after an evaluation
    holds the plateau state including that evaluation.

    As with Trainer's own ``ReduceLROnPlateau``, only the evaluations made while training
    are fed (not ``eval_on_start``'s, not a later ``trainer.evaluate(test_set)``).  An evaluation during training
    that lacks `metric` warns and names the keys it has (with several eval datasets, those
    of the other datasets lack it: name the one to follow, e.g. ``"eval_valid_loss"``).
    A second PlateauCallback on the same scheduler raises at train begin (each
    evaluation would be fed twice).

    Each log that has ``learning_rate`` gets the plateau's scale as ``lr_scale``: in
    ``trainer.state.log_history`` and for the callbacks after this one, such as the console
    printer.  Trainer sets up the integrations of ``report_to`` before the callbacks you
    pass, so to see ``lr_scale`` in TensorBoard or W&B, pass ``report_to="none"`` and list
    their callback after this one.
    """

    def __init__(self, scheduler: torch_adapter.Scheduler, metric: str = "eval_loss") -> None:
        if not isinstance(scheduler, torch_adapter.Scheduler):
            raise check.fail(W, "scheduler", "must be an lrcore.adapters.torch.Scheduler", scheduler, TypeError)
        if scheduler.plateau is None:
            rule = "must be built with plateau=lr.Plateau(...) (there is nothing to feed)"
            raise check.fail(W, "scheduler", rule, scheduler)
        if not isinstance(metric, str) or not metric:
            raise check.fail(W, "metric", "must be a metric name such as 'eval_loss'", metric, TypeError)
        self.scheduler = scheduler
        self.metric = metric if metric.startswith("eval_") else f"eval_{metric}"
        self._training = False

    def on_train_begin(self, args: Any, state: Any, control: Any, lr_scheduler: Any = None, **kwargs: Any) -> None:
        _check_stepped(W, self.scheduler, lr_scheduler)  # feeding a scheduler the Trainer does not step changes nothing
        ckpt.claim(W, self.scheduler, state, self)  # a second PlateauCallback would feed each evaluation twice
        self._training = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = False

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
                    **kwargs: Any) -> None:
        if not self._training or state.global_step == 0:  # eval_on_start: Trainer's own plateau skips it too
            return
        metrics = metrics or {}
        if self.metric not in metrics:
            keys = ", ".join(sorted(metrics)) or "none"
            warnings.warn(f"{W}: this evaluation has no {self.metric!r} (it has: {keys}), so the plateau was not "
                          f"fed; pass PlateauCallback(scheduler, metric=...) one of those names", UserWarning,
                          stacklevel=2)
            return
        self.scheduler.observe(metrics[self.metric])

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Add the plateau's scale, ``lr_scale``, beside each logged ``learning_rate``."""
        if not self._training or logs is None or "learning_rate" not in logs or self.scheduler.plateau_state is None:
            return
        logs["lr_scale"] = self.scheduler.plateau_state.scale
        if state.log_history and state.log_history[-1].get("learning_rate") == logs["learning_rate"]:
            state.log_history[-1]["lr_scale"] = logs["lr_scale"]  # Trainer recorded a copy before the callbacks ran
