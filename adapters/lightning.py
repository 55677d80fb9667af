"""Lightning: feed the monitored validation metric to every lrcore Scheduler of the module.

Lightning steps an lrcore ``Scheduler`` like any ``LRScheduler`` (``"interval": "step"`` or
``"epoch"``) and saves and restores its ``state_dict`` (t and the plateau state) in each
checkpoint, but it hands metrics only to torch's ``ReduceLROnPlateau``: a ``"monitor"`` key
beside an lrcore scheduler is ignored, and ``"reduce_on_plateau": True`` would call
``step(metric)`` (t advances with every feed, and per step the metric does not exist yet).
`PlateauCallback` feeds the plateau instead, once after each validation run.
"""

from __future__ import annotations

from typing import Any

from lrcore._internal import check

try:
    from lightning.pytorch import Callback
except ModuleNotFoundError as err:
    if err.name is None or err.name.split(".")[0] != "lightning":
        raise
    raise ModuleNotFoundError("lrcore.adapters.lightning needs Lightning: pip install 'lrcore[lightning]'",
                              name="lightning") from err

from .torch import Scheduler

__all__ = ["PlateauCallback"]

W = "lightning.PlateauCallback"


class PlateauCallback(Callback):
    """After each validation run, ``observe(trainer.callback_metrics[monitor])`` on every
    lrcore ``Scheduler`` built with ``plateau=`` in ``trainer.lr_scheduler_configs``.

    The new scale applies from the next optimizer step on, and the checkpoint that
    ``ModelCheckpoint`` saves after the same validation holds it.  Only validations
    during ``fit`` are fed (not the sanity check, not ``trainer.validate()``).

    At fit start it raises a ``ValueError`` when no lrcore scheduler has a plateau, when
    a config sets ``"reduce_on_plateau": True`` (Lightning would feed that plateau too)
    or names another ``"monitor"``; after a validation run that did not log `monitor`,
    it raises one naming the metrics that were logged.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        if not isinstance(monitor, str) or not monitor:
            raise check.fail(W, "monitor", "must be the name of a logged metric such as 'val_loss'", monitor,
                             TypeError)
        self.monitor = monitor

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
        self.schedulers(trainer)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":  # not trainer.validate(), not the sanity check
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            rule = f"must name a metric logged in validation (logged: {', '.join(sorted(metrics)) or 'none'})"
            raise check.fail(W, "monitor", rule, self.monitor)
        for sched in self.schedulers(trainer):
            sched.observe(metrics[self.monitor])
