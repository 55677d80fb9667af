"""The torch Scheduler's argument and checkpoint checks, the param-group settings it drives, its
lengths in units, its optimizer-step hook, the cross-rank metric mean and the unfed-plateau warning.

Kept apart so ``adapters/torch.py`` stays a thin ``LRScheduler``.  A checkpoint is
untrusted input: every field is checked (and every schedule evaluated at the saved t)
before the scheduler changes, so a bad file raises and leaves it as it was.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import weakref
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from lrcore import Plateau, PlateauState, Schedule, from_dict, resolve
from lrcore._internal import check

MAX_T = 2**62  # far beyond any run; keeps t + 1 an exact float for the kernel
UNFED_STEPS = 10_000
NEVER = 2**63  # an int t never reaches: keeps the per-step check one int comparison
KEYS = ("t", "schedules", "factors", "relative", "plateau", "plateau_state", "momentum")
OPTIONAL_KEYS = ("sync", "count", "hyper")  # absent from checkpoints written before they existed: the built values stay
COUNTS = ("step", "optimizer")  # what advances t: Scheduler.step(), or each update the optimizer applied
BETAS = {"beta1": 0, "beta2": 1}  # hyper keys for the entries of a group's "betas"
PLATEAU_KEYS = tuple(f.name for f in dataclasses.fields(Plateau))
PLATEAU_STATE_KEYS = tuple(f.name for f in dataclasses.fields(PlateauState))


class Loaded(NamedTuple):
    t: int
    schedules: list[Schedule]
    factors: list[float]
    relative: bool
    plateau: Plateau | None
    plateau_state: PlateauState | None
    momentum: list[Schedule] | None
    hyper: dict[str, list[Schedule]]
    counting: str  # the `count` argument (a NamedTuple has a count method)
    sync: bool


def per_group(where: str, name: str, value: Any, n: int) -> list[Schedule]:
    """One schedule for every param group, or a list with one per group."""
    items = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(items) != n:
        raise check.fail(where, name, f"must be one schedule or a list of {n} (one per param group)", value)
    if not all(isinstance(item, Schedule) for item in items):
        raise check.fail(where, name, "must hold lrcore Schedules", value, TypeError)
    return items


def check_momentum(where: str, optimizer: Any, momentum: Any) -> None:
    if momentum is not None and not all("betas" in g or "momentum" in g for g in optimizer.param_groups):
        rule = f"needs an optimizer with `momentum` or `betas`; {type(optimizer).__name__} has neither"
        raise check.fail(where, "momentum", rule, momentum)


def _is_setting(value: Any) -> bool:
    """A float setting a schedule can drive: a real number (not a bool) or a one-element tensor."""
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.is_floating_point()
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _has_setting(group: dict[str, Any], key: str) -> bool:
    if key in BETAS:
        betas = group.get("betas")
        return isinstance(betas, (tuple, list)) and len(betas) > BETAS[key] and _is_setting(betas[BETAS[key]])
    return key in group and _is_setting(group[key])


def settings(groups: list[dict[str, Any]]) -> list[str]:
    """The keys `hyper` may drive: the float settings every group has (beta1, beta2 for "betas"), not the lr."""
    keys = [*groups[0], *BETAS] if groups else []
    return [k for k in keys if k not in ("lr", "initial_lr") and all(_has_setting(g, k) for g in groups)]


def hyper(where: str, value: Any, groups: list[dict[str, Any]], momentum: bool) -> dict[str, list[Schedule]]:
    """`hyper` as {param-group key: one schedule per group}; a key the groups lack is refused by name."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        rule = 'must be a dict such as {"weight_decay": schedule} or None'
        raise check.fail(where, "hyper", rule, value, TypeError)
    out = {}
    for key, items in value.items():
        _check_key(where, "hyper", key, value, groups, momentum)
        out[key] = per_group(where, f"hyper[{key!r}]", items, len(groups))
    return out


def _check_key(where: str, name: str, key: Any, value: Any, groups: list[dict[str, Any]], momentum: bool) -> None:
    """`key` names a float setting of every group other than the lr (and momentum / beta1 if `momentum` drives it)."""
    if not isinstance(key, str):
        raise check.fail(where, name, f"keys must be param-group keys (str); {key!r} is not", value, TypeError)
    if key in ("lr", "initial_lr"):
        raise check.fail(where, name, f"key {key!r} is the lr, which `schedule` drives", value)
    if momentum and key in ("momentum", "beta1"):
        raise check.fail(where, name, f"key {key!r} is the one `momentum` drives: give it in one place", value)
    if not all(_has_setting(g, key) for g in groups):
        have = ", ".join(settings(groups)) or "none"
        raise check.fail(where, name, f"key {key!r} is not a float setting of every param group (they have: {have})",
                         value)


def set_value(group: dict[str, Any], key: str, value: float | torch.Tensor) -> None:
    """Set a group's setting; a tensor is filled in place (a compiled optimizer step guards on it)."""
    if key in BETAS:
        i, betas = BETAS[key], group["betas"]
        if isinstance(betas[i], torch.Tensor):
            betas[i].fill_(value)
        else:
            group["betas"] = (*betas[:i], value, *betas[i + 1:])
    elif isinstance(group[key], torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


def run_size(where: str, **quantities: Any) -> dict[str, float | None]:
    """The run's size as given (each None or a number > 0), for resolving lengths in units."""
    return {k: None if v is None else check.number(where, k, v, gt=0) for k, v in quantities.items()}


def unresolved(sched: Any, run: dict[str, float | None], *, defer: bool) -> bool:
    """Resolve every schedule of `sched` holding lengths in units ("5%") with `run`, in place.

    A quantity missing raises a ValueError naming the schedule, the length and the argument to
    give, unless `defer`: then nothing changes and the answer is True (the run is not known yet).
    """
    parts = {"schedule": sched.schedules, "momentum": sched.momentum or [],
             **{f"hyper[{key!r}]": items for key, items in sched.hyper.items()}}
    if not any(s.is_template for items in parts.values() for s in items):
        return False
    given = {k: v for k, v in run.items() if v is not None}
    try:
        done = {name: [_resolved(sched, name, s, given) for s in items] for name, items in parts.items()}
    except ValueError:
        if defer:
            return True
        raise
    sched.schedules = done.pop("schedule")
    sched.momentum = done.pop("momentum") if sched.momentum is not None else None
    sched.hyper = {key: done[f"hyper[{key!r}]"] for key in sched.hyper}
    return False


def _resolved(sched: Any, name: str, s: Schedule, given: dict[str, float]) -> Schedule:
    try:
        return resolve(s, **given)
    except ValueError as err:
        why = str(err).removeprefix("resolve: ")
        raise ValueError(f"{type(sched).__name__}: `{name}` is a template: {why}") from None


def count_hook(ref: weakref.ReferenceType[Any]) -> Callable[..., None]:
    """The optimizer step post-hook of ``count="optimizer"``: t advances after each applied update."""
    def after_update(optimizer: Any, args: Any, kwargs: Any) -> None:
        sched = ref()
        if sched is not None:
            sched._after_optimizer_step()
    return after_update


def pending_guard(ref: weakref.ReferenceType[Any]) -> Callable[..., None]:
    """An optimizer step pre-hook that refuses an update while the lengths wait for the run."""
    def before_update(optimizer: Any, args: Any, kwargs: Any) -> None:
        sched = ref()
        if sched is not None and sched.pending:
            raise sched._pending_error()
    return before_update


def saved(s: Schedule) -> dict[str, Any] | None:
    """`s` as a dict, or None for a schedule that cannot be saved (custom(fn), like LambdaLR's functions)."""
    try:
        return s.to_dict()
    except TypeError:
        return None


def parse(where: str, state: Any, sched: Any) -> Loaded:
    """Every field of `state` checked against `sched` (read, never changed)."""
    if not isinstance(state, dict):
        raise check.fail(where, "state_dict", "must be a dict from Scheduler.state_dict()", state, TypeError)
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise check.fail(where, "state_dict", f"lacks {', '.join(missing)}", sorted(map(str, state)))
    unknown = [k for k in state if k not in KEYS + OPTIONAL_KEYS]
    if unknown:
        rule = f"has unknown keys {', '.join(map(repr, unknown))} (not a lrcore Scheduler checkpoint?)"
        raise check.fail(where, "state_dict", rule, sorted(map(str, state)))
    groups = sched.optimizer.param_groups
    t = _int(where, "t", state["t"], MAX_T)
    relative = check.flag(where, "relative", state["relative"])
    factors = list(check.numbers_(where, "factors", state["factors"], gt=0))
    if len(factors) != len(groups):
        raise check.fail(where, "factors", f"must hold {len(groups)} numbers (one per param group)", state["factors"])
    if not relative and any(f != 1.0 for f in factors):
        raise check.fail(where, "factors", "must all be 1.0 when relative=False", state["factors"])
    schedules = _schedules(where, "schedules", state["schedules"], sched.schedules, len(groups))
    momentum = None
    if state["momentum"] is not None:
        momentum = _schedules(where, "momentum", state["momentum"], sched.momentum, len(groups))
        if not all("betas" in g or "momentum" in g for g in groups):
            rule = f"needs an optimizer with `momentum` or `betas`; {type(sched.optimizer).__name__} has neither"
            raise check.fail(where, "momentum", rule, state["momentum"])
    hyper_ = _hyper(where, state["hyper"], sched, momentum is not None) if "hyper" in state else sched.hyper
    plateau, plateau_state = _plateau(where, state["plateau"], state["plateau_state"])
    count = check.choice(where, "count", state["count"], COUNTS) if "count" in state else sched.count
    sync = check.flag(where, "sync", state["sync"]) if "sync" in state else sched.sync
    parts = [("schedules", schedules), ("momentum", momentum or []),
             *((f"hyper[{key!r}]", items) for key, items in hyper_.items())]
    for name, items in parts:
        for i, s in enumerate(items):  # a schedule that cannot be evaluated at t fails here, not half-loaded
            try:
                value = s(t)
            except (ValueError, TypeError, OverflowError) as err:
                raise check.fail(where, "t", f"is out of reach of {name}[{i}] ({err})", t) from None
            if not (math.isfinite(value) and value >= 0):
                raise check.fail(where, "t", f"gives {name}[{i}]={value!r}", t)
    return Loaded(t, schedules, factors, relative, plateau, plateau_state, momentum, hyper_, count, sync)


def _hyper(where: str, value: Any, sched: Any, momentum: bool) -> dict[str, list[Schedule]]:
    """The saved `hyper`: None, or {param-group key: one schedule dict per group}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise check.fail(where, "hyper", "must be a dict of schedule lists or None", value, TypeError)
    groups = sched.optimizer.param_groups
    out = {}
    for key, items in value.items():
        _check_key(where, "hyper", key, sorted(map(str, value)), groups, momentum)
        out[key] = _schedules(where, f"hyper[{key!r}]", items, sched.hyper.get(key), len(groups))
    return out


def _int(where: str, name: str, value: Any, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise check.fail(where, name, "must be an int", value, TypeError)
    if not 0 <= int(value) <= hi:
        raise check.fail(where, name, f"must be an int in [0, {'2**62' if hi == MAX_T else hi}]", value)
    return int(value)


def _schedules(where: str, name: str, value: Any, built: list[Schedule] | None, n: int) -> list[Schedule]:
    """The saved schedules; None (a custom schedule left out) keeps the scheduler's own custom one."""
    if not isinstance(value, (list, tuple)):
        raise check.fail(where, name, "must be a list of schedule dicts", value, TypeError)
    if len(value) != n:
        raise check.fail(where, name, f"must hold {n} schedules (one per param group)", value)
    out = []
    for i, item in enumerate(value):
        if item is None:
            own = None if built is None else built[i]
            if own is None or saved(own) is not None:
                rule = "is None (a custom schedule left out), so the scheduler must be built with that custom schedule"
                raise check.fail(where, f"{name}[{i}]", rule, item)
            out.append(own)
        elif isinstance(item, dict):
            try:
                out.append(from_dict(item))
            except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as err:
                raise check.fail(where, f"{name}[{i}]", f"is not a valid schedule ({err})", item) from None
        else:
            raise check.fail(where, f"{name}[{i}]", "must be a schedule dict or None", item, TypeError)
    return out


def _exact_keys(where: str, name: str, value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise check.fail(where, name, "must be a dict or None", value, TypeError)
    missing, unknown = [k for k in keys if k not in value], [k for k in value if k not in keys]
    if missing or unknown:
        rule = f"lacks {', '.join(missing)}" if missing else f"has unknown keys {', '.join(map(repr, unknown))}"
        raise check.fail(where, name, f"{rule} (it holds exactly {', '.join(keys)})", value)
    return value


def _plateau(where: str, saved_plateau: Any, saved_state: Any) -> tuple[Plateau | None, PlateauState | None]:
    if (saved_plateau is None) != (saved_state is None):
        rule = "and `plateau` must both be None or both be saved"
        raise check.fail(where, "plateau_state", rule, saved_state)
    if saved_plateau is None:
        return None, None
    data = _exact_keys(where, "plateau", saved_plateau, PLATEAU_KEYS)
    try:
        plateau = Plateau.from_dict(data)
    except (ValueError, TypeError) as err:
        raise check.fail(where, "plateau", f"is not a valid Plateau ({err})", data) from None
    raw = _exact_keys(where, "plateau_state", saved_state, PLATEAU_STATE_KEYS)
    # Every state a run of this plateau can reach, and nothing else (scale never leaves [min_scale, 1]).
    best = raw["best"]
    if isinstance(best, (bool, np.bool_)) or not isinstance(best, numbers.Real):
        raise check.fail(where, "plateau_state.best", "must be a real number", best, TypeError)
    if math.isnan(best):
        raise check.fail(where, "plateau_state.best", "must not be NaN", best)
    _int(where, "plateau_state.num_bad", raw["num_bad"], plateau.patience)
    _int(where, "plateau_state.cooldown", raw["cooldown"], plateau.cooldown)
    _int(where, "plateau_state.count", raw["count"], MAX_T)
    check.number(where, "plateau_state.scale", raw["scale"], ge=plateau.min_scale, le=1)
    try:
        state = PlateauState.from_dict(raw)
    except (ValueError, TypeError) as err:
        raise check.fail(where, "plateau_state", f"is not a valid PlateauState ({err})", raw) from None
    return plateau, state


def unfed_limit(schedules: list[Schedule]) -> int:
    """The t at which a plateau that has had no metric warns: 10,000 steps, or the schedules' end if sooner.

    The end is the largest finite horizon of a schedule that ends below its peak (it decays: the
    run is over there).  A schedule that ends at its peak (constant, warmup then constant) runs on
    at that value for as long as training does, so its horizon says nothing about the run.
    """
    ends = []
    for s in schedules:
        h = s.horizon
        if h is not None and 0 < h < UNFED_STEPS:
            end = math.ceil(h)
            if s(end) < float(s.array(end + 1).max()):
                ends.append(end)
    return max(ends, default=UNFED_STEPS)


def unfed_message(t: int) -> str:
    return (
        f"Scheduler: `plateau` has received no metric in {t} steps, so it never lowers the learning rate. "
        "Feed it the validation metric: `sched.step(metric)` or `sched.observe(metric)` in a plain loop; "
        "`callbacks=[lrcore.adapters.hf.PlateauCallback(sched)]` with a Hugging Face Trainer; "
        '`callbacks=[lrcore.adapters.lightning.PlateauCallback(monitor="val_loss")]` with Lightning.'
    )


def mean_across_ranks(where: str, metric: Any) -> Any:
    """The mean of `metric` over the ranks of the default process group; `metric` itself outside one.

    Every rank must call this (it is a collective), as every rank calls ``step``.
    """
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() <= 1:
        return metric
    if isinstance(metric, (bool, np.bool_)):
        raise check.fail(where, "metric", "must be a real number, not a bool", metric, TypeError)
    try:
        value = float(metric)  # numbers, 0-d arrays and one-element tensors (also on a GPU)
    except (TypeError, ValueError, RuntimeError):
        raise check.fail(where, "metric", "must be a real number", metric, TypeError) from None
    # NCCL reduces only CUDA tensors; gloo (and mixed "cpu:gloo,cuda:nccl" groups) take CPU ones.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    total = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(total)  # a sum: gloo has no AVG
    return float(total.item()) / dist.get_world_size()


def claim(where: str, sched: Any, run: Any, feeder: Any) -> None:
    """Record that `feeder` feeds the plateau of `sched` in `run` (a training run: a Trainer's state, a
    Lightning Trainer); a second feeder in the same run raises, as it would feed each evaluation twice."""
    held = getattr(sched, "_plateau_feeder", None)
    if held is not None:
        held_run, held_feeder = held[0](), held[1]()
        if held_run is run and held_feeder is not None and held_feeder is not feeder:
            rule = (f"is fed by another {type(held_feeder).__name__} in this run, which would feed the plateau "
                    "each evaluation twice: keep one per scheduler")
            raise check.fail(where, "scheduler", rule, type(sched).__name__)
    sched._plateau_feeder = (weakref.ref(run), weakref.ref(feeder))
