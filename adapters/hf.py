"""Hugging Face Trainer: feed each evaluation's metric to an lrcore Scheduler's plateau.

``Trainer(optimizers=(opt, Scheduler(opt, s, plateau=...)))`` steps the scheduler after
every optimizer step, logs its lr and saves ``scheduler.state_dict()`` (t and the plateau
state) in each checkpoint, loaded again by ``train(resume_from_checkpoint=...)``.  But
Trainer hands evaluation metrics only to torch's ``ReduceLROnPlateau``: without
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

from .torch import Scheduler

__all__ = ["PlateauCallback"]

W = "hf.PlateauCallback"


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
    """

    def __init__(self, scheduler: Scheduler, metric: str = "eval_loss") -> None:
        if not isinstance(scheduler, Scheduler):
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
        # Feeding a scheduler the Trainer does not step would change nothing, silently.
        if lr_scheduler is not self.scheduler and getattr(lr_scheduler, "scheduler", None) is not self.scheduler:
            rule = "must be the Trainer's scheduler: pass Trainer(optimizers=(optimizer, scheduler))"
            raise check.fail(W, "scheduler", f"{rule}; the Trainer steps {type(lr_scheduler).__name__}", self.scheduler)
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
