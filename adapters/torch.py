"""PyTorch: an ``LRScheduler`` that sets each param group's lr from an lrcore schedule.

After t calls of ``step()`` group i has ``lr = s_i(t) * base_i * scale``, where
base_i is the group's initial lr when ``relative=True`` (LambdaLR style) and 1
otherwise, and scale is the plateau controller's multiplier (1 without one).
"""

from __future__ import annotations

from typing import Any

from lrcore import Plateau, PlateauState, Schedule, from_dict
from lrcore import _validate as check

try:
    import torch
except ModuleNotFoundError as err:
    if err.name != "torch":
        raise
    raise ModuleNotFoundError("lrcore.adapters.torch needs PyTorch: pip install 'lrcore[torch]'", name="torch") from err

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


def _dict(s: Schedule) -> dict[str, Any] | None:
    # custom(fn) cannot be saved: like LambdaLR's plain functions it is left out, and kept on loading.
    try:
        return s.to_dict()
    except TypeError:
        return None


class Scheduler(torch.optim.lr_scheduler.LRScheduler):
    """Drive `optimizer` from `schedule` (one Schedule, or a list with one per param group).

    ``step()`` after ``optimizer.step()`` advances t by one; ``step(metric)`` also feeds
    `plateau` (an ``lr.Plateau``) first, and ``observe(metric)`` feeds it without advancing
    t (a per-update schedule with a per-epoch metric).  `momentum` (one schedule or one per
    group) sets SGD's ``momentum`` or Adam's beta1 every step.  Tensor lrs and betas are
    filled in place, so a ``torch.compile``'d optimizer step is not recompiled.
    ``get_last_lr()`` returns floats.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | list[Schedule], *, relative: bool = False,
                 plateau: Plateau | None = None, momentum: Schedule | list[Schedule] | None = None) -> None:
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
        # Records initial_lr, wraps optimizer.step and calls step() once: t = 0.
        super().__init__(optimizer)

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """Advance t by one (call after ``optimizer.step()``); feed `metric` to the plateau first."""
        if metric is not None:
            self._feed(f"{W}.step", metric)
        self._step_count += 1
        self.last_epoch += 1
        self._apply()

    def observe(self, metric: Any) -> None:
        """Feed `metric` to the plateau controller without advancing t; the new scale applies at once."""
        self._feed(f"{W}.observe", metric)
        self._apply()

    def _feed(self, where: str, metric: Any) -> None:
        if self.plateau is None or self.plateau_state is None:
            raise check.fail(where, "metric", "needs a scheduler built with plateau=lr.Plateau(...)", metric)
        self.plateau_state = self.plateau.update(self.plateau_state, metric)

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
            "schedules": [_dict(s) for s in self.schedules],
            "factors": list(self.factors),
            "relative": self.relative,
            "plateau": None if self.plateau is None else self.plateau.to_dict(),
            "plateau_state": None if self.plateau_state is None else self.plateau_state.to_dict(),
            "momentum": None if self.momentum is None else [_dict(s) for s in self.momentum],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at the saved t with the saved schedules, in O(1); sets the groups' lrs."""
        where = f"{W}.load_state_dict"
        missing = set(self.state_dict()) - set(state_dict)
        if missing:
            raise check.fail(where, "state_dict", f"lacks {', '.join(sorted(missing))}", sorted(state_dict))
        self.schedules = _restore(where, state_dict["schedules"], self.schedules)
        momentum = state_dict["momentum"]
        self.momentum = None if momentum is None else _restore(where, momentum, self.momentum)
        self.factors = [float(b) for b in state_dict["factors"]]
        self.relative = bool(state_dict["relative"])
        self.plateau = None if state_dict["plateau"] is None else Plateau.from_dict(state_dict["plateau"])
        self.plateau_state = None if (ps := state_dict["plateau_state"]) is None else PlateauState.from_dict(ps)
        self.last_epoch = check.count(where, "t", state_dict["t"])
        self._step_count = self.last_epoch + 1
        self._apply()


def _set(group: dict[str, Any], key: str, value: float | torch.Tensor) -> None:
    if isinstance(group[key], torch.Tensor):
        group[key].fill_(value)  # in place: a compiled optimizer step guards on this tensor
    else:
        group[key] = value


def _restore(where: str, saved: list[dict[str, Any] | None], built: list[Schedule] | None) -> list[Schedule]:
    """The saved schedules, or the built ones where a custom schedule was left out."""
    mine: list[Schedule | None] = list(built) if built is not None else [None] * len(saved)
    if len(saved) != len(mine):
        raise check.fail(where, "state_dict", f"holds {len(saved)} schedules for {len(mine)} param groups", saved)
    out = [b if d is None else from_dict(d) for d, b in zip(saved, mine, strict=True)]
    if any(s is None for s in out):
        raise check.fail(where, "state_dict", "holds an unsaved custom schedule; build the scheduler with it", saved)
    return out  # type: ignore[return-value]
