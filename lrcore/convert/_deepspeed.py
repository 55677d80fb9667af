"""Converter from DeepSpeed's ``deepspeed.runtime.lr_schedules``: a ds_config "scheduler" entry -> a schedule.

``from_deepspeed(config)(t)`` is the optimizer's lr after the scheduler is built and stepped t times, which is
how DeepSpeed's engine drives it: the lr after construction serves the first update, and
``engine.step()`` steps the scheduler once after every update it applies (not after one skipped for an
fp16 overflow), so t counts the updates applied, as everywhere in lrcore.

DeepSpeed's schedules count ``last_batch_iteration``, which is -1 after construction and t - 1 after t
steps.  The constructors set the lr without stepping: WarmupLR and WarmupDecayLR to warmup_min_lr,
WarmupCosineLR to 0 (its ratio before the first step), OneCycle to cycle_min_lr, LRRangeTest to
lr_range_test_min_lr.  So a warmup's first step (last_batch_iteration 0) gives warmup_min_lr again:
each warmup below starts one step late, at t = 1, as DeepSpeed's does.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

from .._internal import Schedule, check
from .._kinds import constant, cosine, cyclic, growth, inverse_time, join, linear, piecewise_constant, shift
from . import _torch
from ._common import check_arguments

W = "from_deepspeed"
TYPES = ("LRRangeTest", "OneCycle", "WarmupLR", "WarmupDecayLR", "WarmupCosineLR")
MAX_STAIRS = 100_000  # pieces one staircase of a OneCycle half may take


# ---------------------------------------------------------------------------
# Checks, worded as everywhere in lrcore; DeepSpeed's "auto" (filled in by the HF Trainer) named as such.


def _auto(w: str, name: str, value: Any) -> None:
    if isinstance(value, str) and value == "auto":
        raise check.fail(w, name, "is 'auto', which the Hugging Face Trainer fills in; give the number", value)


def _one(w: str, name: str, value: Any, **bounds: Any) -> float:
    """One number: DeepSpeed's per-group lists belong to one param group each here."""
    _auto(w, name, value)
    if isinstance(value, (list, tuple)):
        rule = "must be one number: from_deepspeed gives one param group's schedule (convert each group's own)"
        raise check.fail(w, name, rule, value, TypeError)
    return check.number(w, name, value, **bounds)


def _int(w: str, name: str, value: Any, ge: int) -> int:
    """An int >= ge, as DeepSpeed checks warmup_num_steps and lr_range_test_step_size (a bool is refused)."""
    _auto(w, name, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise check.fail(w, name, "must be an int, as DeepSpeed requires", value, TypeError)
    if value < ge:
        raise check.fail(w, name, f"must be >= {ge}", value)
    return value


def _whole(w: str, name: str, value: Any, ge: int) -> int:
    """A whole number of steps >= ge (an int or an integral float: DeepSpeed documents these as ints)."""
    _auto(w, name, value)
    x = check.number(w, name, value, ge=ge)
    if not x.is_integer():
        raise check.fail(w, name, "must be a whole number of steps (DeepSpeed counts them in int steps)", value)
    return int(x)


def _stairs(w: str, name: str, value: Any) -> int:
    """A stair count: an int; 0 or less moves every step (DeepSpeed's command line defaults to -1)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise check.fail(w, name, "must be an int (0 or less: no stairs)", value, TypeError)
    return value


def _warmup_type(w: str, value: Any) -> str:
    # DeepSpeed logs a warning for another name and warms up as "log": a typo would change the schedule.
    return check.choice(w, "warmup_type", value, ("log", "linear"))


def _kind(w: str) -> str:
    """The type in a builder's label, "from_deepspeed('WarmupLR')"."""
    return w[len(W) + 2 : -2]


def _needs_lr(kind: str, lr: float | None, why: str) -> float:
    if lr is None:
        raise check.fail(W, "lr", f"must be given for {kind}: {why}", lr)
    return lr


# ---------------------------------------------------------------------------
# Pieces


def _pieces(parts: list[tuple[float, Schedule]]) -> Schedule:
    """Each schedule from its start on, its own time from 0 there (``lr.join``); a part that never runs
    (the next one starts at the same step) is left out."""
    kept = [(t, s) for i, (t, s) in enumerate(parts) if i + 1 == len(parts) or parts[i + 1][0] > t]
    if len(kept) == 1:
        return kept[0][1]
    return join([s for _, s in kept], boundaries=[t for t, _ in kept[1:]])


def _steps_warmup(w: str, n: Any) -> int:
    """DeepSpeed's warmup length: warmup_num_steps, at least 2 (it takes max(2, warmup_num_steps))."""
    return max(2, _int(w, "warmup_num_steps", n, ge=1))


def _ramp(kind: str, low: float, high: float, steps: int) -> Schedule:
    """DeepSpeed's warmup from its first step (t = 1) on: low + (high - low) * gamma, where gamma is
    (t - 1) / steps ("linear", high at t = steps + 1) or log(t) / log(steps) ("log", high at t = steps);
    high is held after."""
    if kind == "linear":
        return linear(start=low, end=high, steps=steps)
    # log(t) = log(1 + (t - 1)): a growth in the warmup's own time t - 1, reaching high at t - 1 = steps - 1
    return growth(start=low, rate=(high - low) / math.log(steps), shape="log", end=high)


# ---------------------------------------------------------------------------
# One builder per type, with DeepSpeed's parameters and defaults


def _warmup_lr(
    w: str,
    lr: float | None,
    *,
    warmup_min_lr: float = 0.0,
    warmup_max_lr: float | None = None,
    warmup_num_steps: int = 1000,
    warmup_type: str = "log",
    last_batch_iteration: int = -1,
) -> Schedule:
    """warmup_min_lr up to warmup_max_lr (the optimizer's lr when None), then held.

    t = 0 and t = 1 give warmup_min_lr; then "log" reaches warmup_max_lr at t = W and "linear" at
    t = W + 1, where W = max(2, warmup_num_steps).
    """
    low, high = _levels(w, lr, warmup_min_lr, warmup_max_lr)
    steps, kind = _steps_warmup(w, warmup_num_steps), _warmup_type(w, warmup_type)
    return _pieces([(0, constant(value=low)), (1, _ramp(kind, low, high, steps))])


def _levels(w: str, lr: float | None, warmup_min_lr: Any, warmup_max_lr: Any) -> tuple[float, float]:
    low = _one(w, "warmup_min_lr", warmup_min_lr, ge=0)
    if warmup_max_lr is None:
        return low, _needs_lr(_kind(w), lr, "warmup_max_lr=None warms up to the optimizer's lr")
    return low, _one(w, "warmup_max_lr", warmup_max_lr, ge=0)


def _warmup_decay_lr(
    w: str,
    lr: float | None,
    *,
    total_num_steps: int,
    warmup_min_lr: float = 0.0,
    warmup_max_lr: float | None = 0.001,
    warmup_num_steps: int = 1000,
    warmup_type: str = "log",
    last_batch_iteration: int = -1,
) -> Schedule:
    """WarmupLR, then a linear decay from warmup_max_lr at t = W + 1 to warmup_min_lr at
    t = total_num_steps + 1, held after (W = max(2, warmup_num_steps)).

    total_num_steps below W is refused: DeepSpeed warns and drops to warmup_min_lr right after the warmup.
    """
    low, high = _levels(w, lr, warmup_min_lr, warmup_max_lr)
    steps, kind = _steps_warmup(w, warmup_num_steps), _warmup_type(w, warmup_type)
    total = _total(w, total_num_steps, steps)
    decay = linear(start=high, end=low, steps=total - steps) if total > steps else constant(value=low)
    return _pieces([(0, constant(value=low)), (1, _ramp(kind, low, high, steps)), (steps + 1, decay)])


def _total(w: str, value: Any, steps: int) -> int:
    total = _whole(w, "total_num_steps", value, ge=0)
    if total < steps:
        rule = (f"must be >= the warmup's {steps} steps (max(2, warmup_num_steps)); DeepSpeed warns and "
                "leaves no decay")
        raise check.fail(w, "total_num_steps", rule, value)
    return total


def _warmup_cosine_lr(
    w: str,
    lr: float | None,
    *,
    total_num_steps: int,
    warmup_min_ratio: float = 0.0,
    warmup_num_steps: int = 1000,
    cos_min_ratio: float = 0.0001,
    warmup_type: str = "log",
    last_batch_iteration: int = -1,
) -> Schedule:
    """Ratios of the optimizer's lr: 0 at t = 0 (DeepSpeed's ratio before its first step), then the warmup
    from warmup_min_ratio to 1 as WarmupLR's, then a cosine from 1 at t = W to cos_min_ratio at
    t = total_num_steps, held after; its first value, at t = W + 1, is already one step down the cosine.
    """
    base = _needs_lr(_kind(w), lr, "it scales the optimizer's lr")
    start = _one(w, "warmup_min_ratio", warmup_min_ratio, ge=0)
    floor = _one(w, "cos_min_ratio", cos_min_ratio, ge=0)
    steps, kind = _steps_warmup(w, warmup_num_steps), _warmup_type(w, warmup_type)
    total = _total(w, total_num_steps, steps)
    wave = cosine(init=base, steps=max(1, total - steps), final=base * floor)
    return _pieces([
        (0, constant(value=0.0)),
        (1, _ramp(kind, base * start, base, steps)),
        (steps + 1, shift(wave, steps=1)),
    ])


def _lr_range_test(
    w: str,
    lr: float | None,
    *,
    lr_range_test_min_lr: float = 1e-3,
    lr_range_test_step_size: int = 2000,
    lr_range_test_step_rate: float = 1.0,
    lr_range_test_staircase: bool = False,
    last_batch_iteration: int = -1,
) -> Schedule:
    """``min_lr * (1 + step_rate * t / step_size)``, t / step_size floored with the staircase: a linear
    growth without end."""
    low = _one(w, "lr_range_test_min_lr", lr_range_test_min_lr, ge=0)
    size = _int(w, "lr_range_test_step_size", lr_range_test_step_size, ge=1)
    rate = _one(w, "lr_range_test_step_rate", lr_range_test_step_rate, ge=0)
    stairs = check.flag(w, "lr_range_test_staircase", lr_range_test_staircase)
    return growth(start=low, rate=low * rate, every=size, staircase=stairs)


def _one_cycle(
    w: str,
    lr: float | None,
    *,
    cycle_min_lr: float,
    cycle_max_lr: float,
    decay_lr_rate: float = 0.0,
    cycle_first_step_size: int = 2000,
    cycle_second_step_size: int | None = None,
    cycle_first_stair_count: int = 0,
    cycle_second_stair_count: int | None = None,
    decay_step_size: int = 0,
    cycle_momentum: bool = True,
    cycle_min_mom: float = 0.8,
    cycle_max_mom: float = 0.9,
    decay_mom_rate: float = 0.0,
    last_batch_iteration: int = -1,
) -> Schedule:
    """One triangle from cycle_min_lr up to cycle_max_lr over cycle_first_step_size steps and back over
    cycle_second_step_size (default: the first), then ``cycle_min_lr / (1 + decay_lr_rate * t' /
    decay_step_size)`` at t' steps past the cycle (cycle_min_lr held when either is 0).  A stair count
    above 0 holds each of that many levels of its half for equal stretches, as DeepSpeed floors them.

    The momentum arguments shape ``part="momentum"`` only.
    """
    shape = _cycle_shape(w, cycle_first_step_size, cycle_second_step_size, cycle_first_stair_count,
                         cycle_second_stair_count)
    low = _one(w, "cycle_min_lr", cycle_min_lr, ge=0)
    high = _one(w, "cycle_max_lr", cycle_max_lr, ge=0)
    rate = _one(w, "decay_lr_rate", decay_lr_rate, ge=0)
    every = _whole(w, "decay_step_size", decay_step_size, ge=0)
    check.flag(w, "cycle_momentum", cycle_momentum)
    _one(w, "cycle_min_mom", cycle_min_mom, ge=0)
    _one(w, "cycle_max_mom", cycle_max_mom, ge=0)
    _one(w, "decay_mom_rate", decay_mom_rate, ge=0)
    cycle = _cycle(shape, lambda scale: low + (high - low) * scale)
    after = constant(value=low) if rate == 0.0 or every == 0 else inverse_time(init=low, rate=rate, every=every)
    return _pieces([(0, cycle), (shape[0] + shape[1], after)])


Shape = tuple[int, int, int, int]  # first and second step sizes, first and second stair counts


def _cycle_shape(w: str, first: Any, second: Any, first_stairs: Any, second_stairs: Any) -> Shape:
    up = _whole(w, "cycle_first_step_size", first, ge=1)
    down = up if second is None else _whole(w, "cycle_second_step_size", second, ge=0)
    stairs_up = _stairs(w, "cycle_first_stair_count", first_stairs)
    stairs_down = stairs_up if second_stairs is None else _stairs(w, "cycle_second_stair_count", second_stairs)
    for name, count, size in (("cycle_first_stair_count", stairs_up, up),
                              ("cycle_second_stair_count", stairs_down, down)):
        if min(count, size) > MAX_STAIRS:
            raise check.fail(w, name, f"makes more than {MAX_STAIRS} stairs in a half cycle of {size} steps", count)
    return up, down, stairs_up, stairs_down


def _cycle(shape: Shape, value: Callable[[float], float]) -> Schedule:
    """The cycle over t = 0 ... first + second, as DeepSpeed's ``_get_scale_factor`` at batch t: the
    level ``value(scale)`` with scale rising 0 -> 1 over the first half and falling back over the second,
    continuous or floored to ``k / stairs`` (from the integer step within the half, as DeepSpeed does)."""
    up, down, stairs_up, stairs_down = shape
    if stairs_up <= 0 and stairs_down <= 0:
        return cyclic(base=value(0.0), peak=value(1.0), step_up=up, step_down=None if down == up else down)
    if stairs_up > 0:
        # floor(t * stairs / up) = k from the first t with t * stairs >= k * up
        changes = [(-(-k * up // stairs_up), k) for k in range(1, stairs_up)]
        rising = _staircase([(t, value(k / stairs_up)) for t, k in changes if t < up], value(0.0))
    else:
        rising = linear(start=value(0.0), end=value(1.0), steps=up)
    if down == 0:
        return rising
    if stairs_down > 0:
        # floor((total - t) * stairs / down) drops below k from t = total - ceil(k * down / stairs) + 1
        changes = [(down - -(-k * down // stairs_down) + 1, k - 1) for k in range(stairs_down, 0, -1)]
        falling = _staircase([(t, value(k / stairs_down)) for t, k in changes], value(1.0))
    else:
        falling = linear(start=value(1.0), end=value(0.0), steps=down)
    return _pieces([(0, rising), (up, falling)])


def _staircase(changes: list[tuple[int, float]], first: float) -> Schedule:
    """`first`, then each (t, value) from t on; of several changes at one t the last holds."""
    at: dict[int, float] = {}
    for t, v in changes:
        at[t] = v
    bounds = sorted(t for t in at if t > 0)
    if 0 in at:
        first = at[0]
    if not bounds:
        return constant(value=first)
    return piecewise_constant(boundaries=bounds, values=[first, *(at[t] for t in bounds)])


def _one_cycle_momentum(w: str, args: dict[str, Any]) -> Schedule:
    """beta1 of an optimizer with ``betas`` (DeepSpeed cycles no SGD momentum): cycle_min_mom after
    construction, then ``cycle_max_mom - (cycle_max_mom - cycle_min_mom) * scale`` over the cycle, then
    ``cycle_max_mom * (1 + decay_mom_rate * t' / decay_step_size)``, which grows without bound (past 1
    where DeepSpeed's does), or cycle_max_mom held when either is 0.  DeepSpeed also sets beta2 to 0.99,
    which no momentum schedule carries."""
    if not args["cycle_momentum"]:
        rule = "is False: DeepSpeed leaves the momentum alone, so there is no momentum schedule (use part='lr')"
        raise check.fail(w, "cycle_momentum", rule, args["cycle_momentum"])
    shape = _cycle_shape(w, args["cycle_first_step_size"], args["cycle_second_step_size"],
                         args["cycle_first_stair_count"], args["cycle_second_stair_count"])
    low, high = float(args["cycle_min_mom"]), float(args["cycle_max_mom"])
    rate, every = float(args["decay_mom_rate"]), _whole(w, "decay_step_size", args["decay_step_size"], ge=0)
    cycle = _cycle(shape, lambda scale: high - (high - low) * scale)
    if rate == 0.0 or every == 0:
        after = constant(value=high)
    else:
        after = growth(start=high, rate=high * rate, every=every)
    return _pieces([(0, constant(value=low)), (1, shift(cycle, steps=1)), (shape[0] + shape[1], after)])


BUILDERS: dict[str, Callable[..., Schedule]] = {
    "LRRangeTest": _lr_range_test,
    "OneCycle": _one_cycle,
    "WarmupLR": _warmup_lr,
    "WarmupDecayLR": _warmup_decay_lr,
    "WarmupCosineLR": _warmup_cosine_lr,
}


# ---------------------------------------------------------------------------
# The config


def _entry(config: Any, type: Any, params: Any, lr: Any) -> tuple[Any, Any, Any]:
    """(type, params, lr) from a "scheduler" entry, a whole ds_config or the keywords."""
    if config is None:
        if type is None:
            raise check.fail(W, "type", "must be given (or a config dict with a \"type\")", type, TypeError)
        if params is not None and not isinstance(params, Mapping):
            raise check.fail(W, "params", "must be a dict of the scheduler's parameters", params, TypeError)
        return type, dict(params or {}), lr
    if type is not None or params is not None:
        raise check.fail(W, "config", "must not be given with type= or params= (one or the other)", config, TypeError)
    if not isinstance(config, Mapping):
        rule = 'must be a dict: a ds_config "scheduler" entry {"type": ..., "params": {...}} or a whole ds_config'
        raise check.fail(W, "config", rule, config, TypeError)
    if "scheduler" in config:  # a whole ds_config: its optimizer's lr, unless lr= says otherwise
        if lr is None:
            optimizer = config.get("optimizer")
            settings = optimizer.get("params") if isinstance(optimizer, Mapping) else None
            lr = settings.get("lr") if isinstance(settings, Mapping) else None
            if lr is not None:
                _auto(W, "lr", lr)
        config = config["scheduler"]
        if not isinstance(config, Mapping):
            raise check.fail(W, "scheduler", 'must be a dict {"type": ..., "params": {...}}', config, TypeError)
    unknown = [k for k in config if k not in ("type", "params")]
    if unknown:
        raise check.fail(W, "config", f"has unknown keys {', '.join(map(repr, unknown))} (a scheduler entry holds "
                         "type and params)", dict(config))
    if "type" not in config:
        raise check.fail(W, "type", "is missing from the scheduler entry", dict(config))
    if "params" not in config:
        # DeepSpeed's engine calls the scheduler with **params: without them it fails.
        raise check.fail(W, "params", 'is missing from the scheduler entry ("params": {} takes the defaults)',
                         dict(config))
    if not isinstance(config["params"], Mapping):
        raise check.fail(W, "params", "must be a dict of the scheduler's parameters", config["params"], TypeError)
    return config["type"], dict(config["params"]), lr


def from_deepspeed(
    config: Mapping[str, Any] | None = None,
    lr: float | None = None,
    *,
    type: str | None = None,
    params: Mapping[str, Any] | None = None,
    part: str = "lr",
) -> Schedule:
    """The schedule of a DeepSpeed scheduler, ``deepspeed.runtime.lr_schedules.<type>(optimizer, **params)``.

    ``s(t)`` is the optimizer's lr after the scheduler is built and stepped t times: what DeepSpeed's
    engine uses for update t (it steps the scheduler after every update it applies).  Types: WarmupLR
    ("log" and "linear" warmups), WarmupDecayLR, WarmupCosineLR, OneCycle (stairs, post-cycle decay and,
    with ``part="momentum"``, its beta1) and LRRangeTest (linear growth, staircase).  A type that names a
    ``torch.optim.lr_scheduler`` class, which DeepSpeed's engine builds too, is ``lr.from_torch(type, lr,
    **params)``.

    DeepSpeed's conventions are kept: a warmup's first step gives warmup_min_lr again (its
    ``last_batch_iteration`` is 0 there, and log(1) = 0), so the warmup reaches its top at t =
    warmup_num_steps ("log") or warmup_num_steps + 1 ("linear"); warmup_num_steps is at least 2;
    WarmupCosineLR gives 0 at t = 0 and starts its cosine at t = warmup_num_steps; OneCycle's stairs
    follow DeepSpeed's integer steps.  Refused, each naming the field: a parameter DeepSpeed refuses, an
    unknown ``warmup_type`` (DeepSpeed warns and uses "log"), a ``total_num_steps`` below the warmup
    (DeepSpeed warns), per-group lists (one schedule per group), "auto" (the HF Trainer's placeholder),
    and ``last_batch_iteration`` other than -1 (resume by evaluating the schedule from that t + 1).

    Args:
        config: the "scheduler" entry of a ds_config, ``{"type": "WarmupCosineLR", "params": {...}}``, or
            the whole ds_config (a dict with a "scheduler" key), whose optimizer's "lr" then serves as `lr`.
        lr: the optimizer's learning rate (>= 0), which WarmupCosineLR scales and WarmupLR warms up to
            when warmup_max_lr is None; those raise ValueError naming `lr` without it.
        type: the scheduler's type, when `config` is not given.
        params: its parameters, when `config` is not given (default: DeepSpeed's defaults).
        part: "lr" (default), or "momentum" for the beta1 that OneCycle cycles.

    Returns:
        A ``Schedule``: ``s(t)`` is the value after t calls of the scheduler's ``step()``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_deepspeed({"type": "WarmupLR", "params": {"warmup_max_lr": 0.01, "warmup_num_steps": 100,
        ...                                                       "warmup_type": "linear"}})
        >>> s(0), s(1), s(51), s(101)  # one step late: (t - 1) / 100 of the way
        (0.0, 0.0, 0.005, 0.01)
        >>> c = lr.from_deepspeed(type="WarmupCosineLR", params={"total_num_steps": 1000, "warmup_num_steps": 100},
        ...                       lr=0.1)
        >>> c(0), c(100), round(c(1000), 12)  # 0 before the first step, lr at the top, cos_min_ratio=1e-4 at the end
        (0.0, 0.1, 1e-05)
    """
    kind, args, lr = _entry(config, type, params, lr)
    if lr is not None:
        lr = check.number(W, "lr", lr, ge=0)
    if isinstance(kind, str) and kind not in BUILDERS and kind in _torch._BUILDERS.keys() | _torch._REPLACEMENTS.keys():
        if kind != "SWALR":  # torch.optim.swa_utils, not torch.optim.lr_scheduler: DeepSpeed cannot build it
            base = _needs_lr(kind, lr, "torch's schedulers start from the optimizer's lr")
            return _torch.from_torch(kind, base, part=part, **args)
    if kind not in BUILDERS:
        known = ", ".join(TYPES)
        rule = f"must be one of DeepSpeed's schedulers ({known}) or a torch.optim.lr_scheduler class name"
        raise check.fail(W, "type", rule, kind, TypeError if not isinstance(kind, str) else ValueError)
    where = f"{W}({kind!r})"
    builder = BUILDERS[kind]
    check_arguments(where, kind, builder, args, 2)
    if args.get("last_batch_iteration", -1) != -1:
        rule = "resumes a scheduler; a schedule has no state: evaluate it from t = last_batch_iteration + 1"
        raise check.fail(where, "last_batch_iteration", rule, args["last_batch_iteration"])
    if check.choice(W, "part", part, ("lr", "momentum")) == "lr":
        return builder(where, lr, **args)
    if kind != "OneCycle":
        raise check.fail(where, "part", f"must be 'lr' for {kind}: only OneCycle cycles the momentum", part)
    builder(where, lr, **args)  # every argument checked as for the lr
    bound = inspect.signature(builder).bind_partial(**args)
    bound.apply_defaults()
    return _one_cycle_momentum(where, dict(bound.arguments))
