"""PyTorch: an ``LRScheduler`` that sets each param group's lr from an lrcore schedule.

After t calls of ``step()`` group i has ``lr = s_i(t) * base_i * scale``, where
base_i is the group's initial lr when ``relative=True`` (LambdaLR style) and 1
otherwise, and scale is the plateau controller's multiplier (1 without one).
"""

from __future__ import annotations

import warnings
from typing import Any

from lrcore import Plateau, PlateauState, Schedule
from lrcore._internal import check

try:
    import torch
except ModuleNotFoundError as err:
    if err.name != "torch":
        raise
    raise ModuleNotFoundError("lrcore.adapters.torch needs PyTorch: pip install 'lrcore[torch]'", name="torch") from err

from . import _torch_state as ckpt
from ._find_torch import find_lr

__all__ = ["Scheduler", "find_lr"]

W = "Scheduler"


def _per_group(name: str, value: Any, n: int) -> list[Schedule]:
    items = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(items) != n:
        raise check.fail(W, name, f"must be one schedule or a list of {n} (one per param group)", value)
    if not all(isinstance(item, Schedule) for item in items):
        raise check.fail(W, name, "must hold lrcore Schedules", value, TypeError)
    return items


class Scheduler(torch.optim.lr_scheduler.LRScheduler):
    """Drive `optimizer` from `schedule` (one Schedule, or a list with one per param group).

    ``step()`` after ``optimizer.step()`` advances t by one; ``step(metric)`` also feeds
    `plateau` (an ``lr.Plateau``) first, and ``observe(metric)`` feeds it without advancing
    t (a per-update schedule with a per-epoch metric).  `momentum` (one schedule or one per
    group) sets SGD's ``momentum`` or Adam's beta1 every step.  Tensor lrs and betas are
    filled in place, so a ``torch.compile``'d optimizer step is not recompiled; ``step``,
    ``observe`` and ``load_state_dict`` are opaque to ``torch.compile``, as torch's own
    schedulers are.  Under ``torch.distributed`` (a process group of more than one rank) a
    metric is averaged across ranks before the plateau sees it, so every rank keeps the same
    lr; every rank must pass its metric (``sync=False`` opts out).  A plateau that has had no
    metric after 10,000 steps (or the end of a shorter decaying schedule) warns once.
    ``get_last_lr()`` returns floats.
    """

    @classmethod
    def from_torch(cls, optimizer: torch.optim.Optimizer, name: str, **kwargs: Any) -> Scheduler:
        """The drop-in for ``torch.optim.lr_scheduler.<name>(optimizer, **kwargs)``.

        Every group's ``lr`` and, where torch cycles it (OneCycleLR, CyclicLR with
        ``cycle_momentum=True``), ``momentum`` or ``betas[0]`` equal torch's after construction
        and every ``step()``: one ``lr.from_torch`` schedule per group, from the group's initial
        lr and its entry of each per-group list (``max_lr=[...]``, ``base_momentum=[...]``, ...),
        SequentialLR / ChainedScheduler children as ``schedulers=[(name, kwargs), ...]``.
        OneCycleLR holds its last lr and momentum from ``total_steps - 1`` on (torch
        extrapolates one more step, then raises).
        """
        from ._torch_migrate import schedules

        lrs, momenta = schedules(optimizer, name, kwargs)
        return cls(optimizer, lrs, momentum=momenta)

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | list[Schedule], *, relative: bool = False,
                 plateau: Plateau | None = None, momentum: Schedule | list[Schedule] | None = None,
                 sync: bool = True) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise check.fail(W, "optimizer", "must be a torch.optim.Optimizer", optimizer, TypeError)
        groups = optimizer.param_groups
        self.schedules = _per_group("schedule", schedule, len(groups))
        self.relative = check.flag(W, "relative", relative)
        if plateau is not None and not isinstance(plateau, Plateau):
            raise check.fail(W, "plateau", "must be an lrcore Plateau or None", plateau, TypeError)
        self.plateau = plateau
        self.plateau_state: PlateauState | None = None if plateau is None else plateau.init()
        self.momentum = None if momentum is None else _per_group("momentum", momentum, len(groups))
        if self.momentum is not None and not all("betas" in g or "momentum" in g for g in groups):
            rule = f"needs an optimizer with `momentum` or `betas`; {type(optimizer).__name__} has neither"
            raise check.fail(W, "momentum", rule, momentum)
        self.factors = [float(g.get("initial_lr", g["lr"])) if self.relative else 1.0 for g in groups]
        self.sync = check.flag(W, "sync", sync)
        self._arm_unfed_warning()
        # Records initial_lr, wraps optimizer.step and calls step() once: t = 0.
        super().__init__(optimizer)

    # step, observe and load_state_dict are opaque to dynamo, as torch's own schedulers are (it skips
    # lr_scheduler.py): traced, step() would break the graph at the kernel and recompile for every new
    # lr.  Under compilation each calls its ``torch._disable_dynamo`` twin, where dynamo breaks the
    # graph and runs it eagerly; outside, the check costs ~0.3 us, the twin's wrapper ~14 us.
    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """Advance t by one (call after ``optimizer.step()``); feed `metric` to the plateau first."""
        if torch.compiler.is_compiling():
            return self._eager_step(metric)
        if metric is not None:
            self._feed(f"{W}.step", metric)
        self._step_count += 1
        self.last_epoch += 1
        if self.last_epoch >= self._unfed_at:
            self._warn_unfed()
        self._apply()

    _eager_step = torch._disable_dynamo(step)

    def observe(self, metric: Any) -> None:
        """Feed `metric` to the plateau controller without advancing t; the new scale applies at once."""
        if torch.compiler.is_compiling():
            return self._eager_observe(metric)
        self._feed(f"{W}.observe", metric)
        self._apply()

    _eager_observe = torch._disable_dynamo(observe)

    def _feed(self, where: str, metric: Any) -> None:
        if self.plateau is None or self.plateau_state is None:
            raise check.fail(where, "metric", "needs a scheduler built with plateau=lr.Plateau(...)", metric)
        if self.sync:
            metric = ckpt.mean_across_ranks(where, metric)
        self.plateau_state = self.plateau.update(self.plateau_state, metric)
        self._unfed_at = ckpt.NEVER

    def _arm_unfed_warning(self) -> None:
        """Set the t at which a plateau that was never fed warns (once per scheduler object)."""
        quiet = self.plateau_state is None or self.plateau_state.count > 0 or getattr(self, "_unfed_warned", False)
        self._unfed_at = ckpt.NEVER if quiet else ckpt.unfed_limit(self.schedules)

    def _warn_unfed(self) -> None:
        self._unfed_warned, self._unfed_at = True, ckpt.NEVER
        warnings.warn(ckpt.unfed_message(self.last_epoch), UserWarning, stacklevel=3)  # the caller of step()

    def get_lr(self) -> list[float | torch.Tensor]:
        """The learning rates at the current t (floats)."""
        t, first = self.last_epoch, self.schedules[0]
        scale = 1.0 if self.plateau_state is None else self.plateau_state.scale
        shared = first(t) * scale  # groups usually share one schedule: evaluate it once
        if len(self.schedules) == 1 and not self.relative:
            return [shared]
        pairs = zip(self.schedules, self.factors, strict=True)
        return [(shared if s is first else s(t) * scale) * base for s, base in pairs]

    def _apply(self) -> None:
        self._last_lr = lrs = self.get_lr()
        for group, value in zip(self.optimizer.param_groups, lrs, strict=True):
            _set(group, "lr", value)
        for group, s in zip(self.optimizer.param_groups, self.momentum or (), strict=self.momentum is not None):
            if "betas" not in group:
                _set(group, "momentum", s(self.last_epoch))
            elif isinstance(group["betas"][0], torch.Tensor):
                group["betas"][0].fill_(s(self.last_epoch))
            else:
                group["betas"] = (s(self.last_epoch), *group["betas"][1:])

    def state_dict(self) -> dict[str, Any]:
        """t, the schedules as dicts and the plateau state: plain Python values only."""
        return {
            "t": self.last_epoch,
            "schedules": [ckpt.saved(s) for s in self.schedules],
            "factors": list(self.factors),
            "relative": self.relative,
            "plateau": None if self.plateau is None else self.plateau.to_dict(),
            "plateau_state": None if self.plateau_state is None else self.plateau_state.to_dict(),
            "momentum": None if self.momentum is None else [ckpt.saved(s) for s in self.momentum],
            "sync": self.sync,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at the saved t with the saved schedules, in O(1); sets the groups' lrs.

        Every field is checked first: a bad checkpoint raises and leaves the scheduler unchanged.
        """
        if torch.compiler.is_compiling():
            return self._eager_load_state_dict(state_dict)
        new = ckpt.parse(f"{W}.load_state_dict", state_dict, self)
        self.schedules, self.momentum, self.factors = new.schedules, new.momentum, new.factors
        self.relative, self.sync = new.relative, new.sync
        self.plateau, self.plateau_state = new.plateau, new.plateau_state
        self.last_epoch = new.t
        self._step_count = self.last_epoch + 1
        self._arm_unfed_warning()
        self._apply()

    _eager_load_state_dict = torch._disable_dynamo(load_state_dict)


def _set(group: dict[str, Any], key: str, value: float | torch.Tensor) -> None:
    if isinstance(group[key], torch.Tensor):
        group[key].fill_(value)  # in place: a compiled optimizer step guards on this tensor
    else:
        group[key] = value
