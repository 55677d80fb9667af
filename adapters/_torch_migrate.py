"""``Scheduler.from_torch``: a ``torch.optim.lr_scheduler`` name and its arguments -> one lr schedule per
param group and, where torch cycles it, one momentum schedule per group.

Each group's schedules come from ``lr.from_torch`` with the group's initial lr (``initial_lr`` if a
scheduler already recorded it, else ``lr``) and that group's entry of every argument torch takes per group.
SWALR is the exception: it anneals from the group's current ``lr``, which an earlier scheduler may have lowered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from lrcore import Schedule, from_torch
from lrcore._internal import check

# The arguments torch takes as one value or a list with one per param group (its _format_param).
_PER_GROUP = {
    "CyclicLR": ("base_lr", "max_lr", "base_momentum", "max_momentum"),
    "OneCycleLR": ("max_lr", "base_momentum", "max_momentum"),
    "SWALR": ("swa_lr",),
}
_CYCLERS = ("CyclicLR", "OneCycleLR")  # the schedulers that cycle momentum
_COMPOSITES = ("SequentialLR", "ChainedScheduler")


def _is_child(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], Mapping)


def _children(kwargs: Mapping[str, Any]) -> list[Any]:
    items = kwargs.get("schedulers")
    return list(items) if isinstance(items, (list, tuple)) else []


def _for_group(where: str, name: Any, kwargs: Mapping[str, Any], i: int, n: int) -> dict[str, Any]:
    """Group i's arguments: entry i of each per-group list, in the children of a SequentialLR too."""
    out = dict(kwargs)
    for key in _PER_GROUP.get(name, ()):
        value = out.get(key)
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise check.fail(where, key, f"must be one value or a list of {n} (one per param group)", value)
            out[key] = value[i]
    if name in _COMPOSITES and isinstance(out.get("schedulers"), (list, tuple)):
        out["schedulers"] = [
            (c[0], _for_group(f"{where[:-1]} schedulers[{j}]: {c[0]})", c[0], c[1], i, n)) if _is_child(c) else c
            for j, c in enumerate(out["schedulers"])
        ]
    return out


def _cycles_momentum(name: Any, kwargs: Mapping[str, Any]) -> bool:
    if name in _COMPOSITES:
        return any(_is_child(c) and _cycles_momentum(c[0], c[1]) for c in _children(kwargs))
    return name in _CYCLERS and bool(kwargs.get("cycle_momentum", True))


def schedules(optimizer: Any, name: Any, kwargs: dict[str, Any]) -> tuple[list[Schedule], list[Schedule] | None]:
    """The lr schedules and the momentum schedules (None where torch leaves momentum alone), per group."""
    where = f"Scheduler.from_torch({name})"
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise check.fail(where, "optimizer", "must be a torch.optim.Optimizer", optimizer, TypeError)
    if "part" in kwargs:
        rule = "is lr.from_torch's choice of one part; Scheduler.from_torch drives the lr and the momentum"
        raise check.fail(where, "part", rule, kwargs["part"], TypeError)
    if "last_epoch" in kwargs and kwargs["last_epoch"] != -1:
        rule = "resumes a torch scheduler; resume this one with load_state_dict(a saved state_dict())"
        raise check.fail(where, "last_epoch", rule, kwargs["last_epoch"])
    groups = optimizer.param_groups
    args = [_for_group(where, name, kwargs, i, len(groups)) for i in range(len(groups))]
    bases = [float(g["lr"] if name == "SWALR" else g.get("initial_lr", g["lr"])) for g in groups]
    lrs = [from_torch(name, base, **kw) for base, kw in zip(bases, args, strict=True)]
    if not _cycles_momentum(name, kwargs):
        return lrs, None
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        kind = type(optimizer).__name__
        rule = f"needs an optimizer with `momentum` or `betas`, as torch's does ({kind} has neither); "
        rule += "pass cycle_momentum=False"
        raise check.fail(where, "cycle_momentum", rule, True)
    momenta = [from_torch(name, base, part="momentum", **kw) for base, kw in zip(bases, args, strict=True)]
    return lrs, momenta
