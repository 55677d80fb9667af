"""Lightning: lengths resolved from the Trainer's count of optimizer steps, and a fed plateau.

Lightning steps an lrcore ``Scheduler`` like any ``LRScheduler`` (``"interval": "step"`` or
``"epoch"``) and saves and restores its ``state_dict`` (t and the plateau state) in each
checkpoint, but it hands metrics only to torch's ``ReduceLROnPlateau``: a ``"monitor"`` key
beside an lrcore scheduler is ignored, and ``"reduce_on_plateau": True`` would call
``step(metric)`` (t advances with every feed, and per step the metric does not exist yet).
`PlateauCallback` feeds the plateau instead, once after each validation run.  `run_size`
gives ``Scheduler`` the run's size in ``configure_optimizers``, from
``trainer.estimated_stepping_batches``, to resolve lengths such as ``"5%"``.
"""

from __future__ import annotations

import math
from typing import Any

from lrcore._internal import check

try:
    from lightning.pytorch import Callback
except ModuleNotFoundError as err:
    if err.name is None or err.name.split(".")[0] != "lightning":
        raise
    raise ModuleNotFoundError("lrcore.adapters.lightning needs Lightning: pip install 'lrcore[lightning]'",
                              name="lightning") from err

from . import _torch_state as ckpt
from ._find_lightning import find_lr
from .torch import Scheduler

__all__ = ["PlateauCallback", "find_lr", "run_size"]

W = "lightning.PlateauCallback"


def run_size(trainer: Any, interval: str = "step") -> dict[str, float | None]:
    """``steps`` and ``steps_per_epoch`` of the run for ``Scheduler(..., **run_size(self.trainer))``.

    In t's unit for the scheduler config's `interval`: optimizer steps for ``"step"``
    (``trainer.estimated_stepping_batches``, which counts gradient accumulation and
    ``max_steps``, and the optimizer steps of one epoch), epochs for ``"epoch"`` (the run's
    epochs, fractional when ``max_steps`` ends it mid-epoch, and 1).  A quantity the
    Trainer cannot know (an infinite run, a dataloader without a length) is None, and a
    length that needs it raises when the Scheduler resolves it.
    """
    check.choice("lightning.run_size", "interval", interval, ("step", "epoch"))
    total = trainer.estimated_stepping_batches  # loads the train dataloader if it is not yet
    batches = trainer.num_training_batches
    per_epoch = None if math.isinf(batches) else math.ceil(batches / trainer.accumulate_grad_batches)
    steps = None if math.isinf(total) else float(total)
    if interval == "step":
        return {"steps": steps, "steps_per_epoch": per_epoch}
    return {"steps": None if steps is None or per_epoch is None else steps / per_epoch, "steps_per_epoch": 1.0}


class PlateauCallback(Callback):
    """After each validation run, ``observe(trainer.callback_metrics[monitor])`` on every
    lrcore ``Scheduler`` built with ``plateau=`` in ``trainer.lr_scheduler_configs``.

    The new scale applies from the next optimizer step on, and the checkpoint that
    ``ModelCheckpoint`` saves after the same validation holds it.  Only validations
    during ``fit`` are fed (not the sanity check, not ``trainer.validate()``).

    After each feed the scale is logged to the Trainer's loggers as ``lr-scale`` (``lr-scale-1``,
    ... for more schedulers), beside what ``LearningRateMonitor`` logs.

    At fit start it raises a ``ValueError`` when no lrcore scheduler has a plateau, when
    a config sets ``"reduce_on_plateau": True`` (Lightning would feed that plateau too)
    or names another ``"monitor"``, or when another PlateauCallback feeds the same
    scheduler; after a validation run that did not log `monitor` itself (a value that
    only ``training_step`` logged is not a validation metric), it raises one naming the
    metrics that validation logged.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        if not isinstance(monitor, str) or not monitor:
            raise check.fail(W, "monitor", "must be the name of a logged metric such as 'val_loss'", monitor,
                             TypeError)
        self.monitor = monitor
        self._before: dict[str, Any] = {}

    def schedulers(self, trainer: Any) -> list[Scheduler]:
        """The lrcore Schedulers with a plateau that this callback feeds; checks their configs."""
        found = []
        for config in trainer.lr_scheduler_configs:
            sched = config.scheduler
            if not isinstance(sched, Scheduler) or sched.plateau is None:
                continue
            if config.reduce_on_plateau:
                rule = "must be left out of the scheduler config (Lightning would feed the plateau a second time)"
                raise check.fail(W, "reduce_on_plateau", rule, True)
            if config.monitor not in (None, self.monitor):
                rule = f"of the scheduler config must be this callback's ({self.monitor!r}) or left out"
                raise check.fail(W, "monitor", rule, config.monitor)
            found.append(sched)
        if not found:
            kinds = [type(config.scheduler).__name__ for config in trainer.lr_scheduler_configs]
            rule = "must hold an lrcore Scheduler built with plateau=lr.Plateau(...) (nothing to feed)"
            raise check.fail(W, "trainer.lr_scheduler_configs", rule, kinds)
        return found

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        for sched in self.schedulers(trainer):
            ckpt.claim(W, sched, trainer, self)

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        # callback_metrics merges what training and validation logged; validation replaces the
        # values it logs, so a value still the same object afterwards was not logged by it.
        self._before = dict(trainer.callback_metrics)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":  # not trainer.validate(), not the sanity check
            return
        metrics = trainer.callback_metrics
        logged = sorted(k for k, v in metrics.items() if self._before.get(k) is not v)
        self._before = {}
        if self.monitor not in logged:
            rule = f"must name a metric logged in validation (logged: {', '.join(logged) or 'none'})"
            raise check.fail(W, "monitor", rule, self.monitor)
        for i, sched in enumerate(self.schedulers(trainer)):
            sched.observe(metrics[self.monitor])
            assert sched.plateau_state is not None
            for logger in trainer.loggers:
                logger.log_metrics({f"lr-scale-{i}" if i else "lr-scale": sched.plateau_state.scale},
                                   step=trainer.global_step)
