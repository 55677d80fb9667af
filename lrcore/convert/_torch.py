"""Converter from ``torch.optim.lr_scheduler``: a scheduler's name and arguments -> a schedule with its numbers.

``from_torch(name, lr, **kwargs)(t)`` is ``optimizer.param_groups[0]["lr"]`` after the scheduler is built on an
optimizer with learning rate `lr` and stepped t times.  torch updates most schedulers recursively (each step
multiplies the current lr); the closed forms below equal those recursions up to rounding (well within 1e-9
relative in the tests).  Where torch's recursion departs from its own closed form, the builder says so and follows the
recursion, since that is what training runs see.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from functools import reduce
from itertools import pairwise
from typing import Any

from .._internal import Schedule, check
from .._kinds import (
    constant,
    cosine,
    cosine_restarts,
    cyclic,
    exponential,
    interpolate,
    join,
    linear,
    multistep,
    piecewise_constant,
    polynomial,
    product,
    shift,
    step,
)
from ._common import check_arguments, pick

# Names torch accepts whose schedule is not a pure function of t, and what to use instead.
_REPLACEMENTS = {
    "LambdaLR": "use lr.custom(fn) with fn(t) = lr * lr_lambda(t) instead",
    "MultiplicativeLR": "use lr.custom(fn) with fn(t) = lr * the product of lr_lambda(1) ... lr_lambda(t) instead",
    "ReduceLROnPlateau": "use lr.Plateau, a metric-driven multiplier for any schedule, instead",
}
# Schedulers whose step multiplies the current lr (ChainedScheduler composes them); the others overwrite it.
_MULTIPLICATIVE = {"ConstantLR", "LinearLR", "StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR"}
_CHAINABLE = _MULTIPLICATIVE | {"CosineAnnealingLR"}


def _whole(w: str, name: str, value: Any, ge: int = 1) -> int:
    """A whole number >= ge: an int or an integral float (torch's step arithmetic treats both alike)."""
    x = check.number(w, name, value, ge=ge)
    if not x.is_integer():
        raise check.fail(w, name, "must be a whole number (torch compares it with integer step counts)", value)
    return int(x)


def _count(w: str, name: str, value: Any) -> int:
    """An int >= 1, for the arguments torch checks with isinstance(value, int)."""
    n = check.count(w, name, value)
    if n < 1:
        raise check.fail(w, name, "must be >= 1", value)
    return n


def _total_iters(w: str, value: Any) -> int:
    x = check.number(w, "total_iters", value)
    if x < 1:
        rule = "must be >= 1 (below 1 torch's recursion never leaves its first value, unlike its closed form)"
        raise check.fail(w, "total_iters", rule, value)
    return _whole(w, "total_iters", value)


def _after(head: Schedule, wave: Schedule, steps: float) -> Schedule:
    """`head` before `steps`, then `wave` from its own time `steps` on: ``wave(t)`` for t >= steps."""
    return join([head, shift(wave, steps=steps)], boundaries=[steps])


# ---------------------------------------------------------------------------
# One builder per scheduler: its torch arguments (with torch's defaults) -> a schedule.


def _constant_lr(w: str, lr: float, *, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``lr * factor`` for t < total_iters, then ``lr``.

    factor=0 is accepted: torch then divides by zero at t = total_iters; the schedule returns lr from there,
    as torch's closed form does.
    """
    factor = check.number(w, "factor", factor, ge=0, le=1)
    return piecewise_constant(boundaries=[_total_iters(w, total_iters)], values=[lr * factor, lr])


def _linear_lr(
    w: str, lr: float, *, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> Schedule:
    """``lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``."""
    start = check.number(w, "start_factor", start_factor, gt=0, le=1)
    end = check.number(w, "end_factor", end_factor, ge=0, le=1)
    return linear(start=lr * start, end=lr * end, steps=_total_iters(w, total_iters))


def _step_lr(w: str, lr: float, *, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** floor(t / step_size)``."""
    return step(init=lr, step_size=_whole(w, "step_size", step_size), gamma=check.number(w, "gamma", gamma, ge=0))


def _multistep_lr(w: str, lr: float, *, milestones: Any, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (number of milestones <= t)``: torch counts milestones, so a repeated one decays twice,
    and their order does not matter."""
    ms = check.numbers_(w, "milestones", milestones, ge=0)
    if not all(m.is_integer() for m in ms):
        raise check.fail(w, "milestones", "must hold whole numbers (torch compares them with step counts)", milestones)
    return multistep(init=lr, milestones=sorted(ms), gamma=check.number(w, "gamma", gamma, ge=0))


def _exponential_lr(w: str, lr: float, *, gamma: float) -> Schedule:
    """``lr * gamma ** t``."""
    gamma = check.number(w, "gamma", gamma, ge=0)
    # gamma = 0 zeroes the lr from the first step: a one-step staircase says so without 0 ** fraction.
    return exponential(init=lr, gamma=gamma) if gamma > 0 else step(init=lr, step_size=1, gamma=0.0)


def _polynomial_lr(w: str, lr: float, *, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """``lr * (1 - min(t, total_iters) / total_iters) ** power``; power=0 is a constant lr, as in torch."""
    steps = _total_iters(w, total_iters)
    # A negative power divides by zero in torch at t = total_iters.
    power = check.number(w, "power", power, ge=0)
    return polynomial(init=lr, end=0.0, steps=steps, power=power) if power > 0 else constant(value=lr)


def _cosine_annealing_lr(w: str, lr: float, *, T_max: int, eta_min: float = 0.0) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`` for every t.

    Past T_max torch's recursion goes on along the same wave (back up to lr at 2 * T_max) instead of holding
    eta_min, hence the periodic cosine.  The recursion equals this closed form up to its rounding, which
    restarts at every minimum (it sets eta_min exactly there): below 1e-10 relative over 2e5 steps when
    eta_min <= lr; with eta_min far above lr, about 1e-16 * eta_min per step.
    """
    return cosine(
        init=lr,
        steps=_whole(w, "T_max", T_max),
        final=check.number(w, "eta_min", eta_min, ge=0),
        periodic=True,
    )


def _cosine_warm_restarts(w: str, lr: float, *, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    """SGDR: cycle i lasts ``T_0 * T_mult ** i`` steps and anneals from lr to eta_min by a half cosine."""
    return cosine_restarts(
        init=lr,
        period=_count(w, "T_0", T_0),
        final=check.number(w, "eta_min", eta_min, ge=0),
        period_mult=_count(w, "T_mult", T_mult),
    )


def _cyclic_lr(
    w: str,
    lr: float,
    *,
    base_lr: float,
    max_lr: float,
    step_size_up: float = 2000,
    step_size_down: float | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    scale_fn: Callable[[float], float] | None = None,
    scale_mode: str = "cycle",
    cycle_momentum: bool = True,
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
) -> Schedule:
    """torch's CyclicLR: a triangle wave between base_lr and max_lr (see ``lr.cyclic``).

    The constructor sets the optimizer's lr to base_lr, so `lr` plays no part.  `scale_mode` only matters with
    a custom `scale_fn`, which is rejected; the momentum arguments shape ``part="momentum"`` only.
    """
    check.flag(w, "cycle_momentum", cycle_momentum)
    if scale_fn is not None:
        raise check.fail(w, "scale_fn", "is an arbitrary function of the cycle; use lr.custom(fn) instead", scale_fn)
    check.choice(w, "scale_mode", scale_mode, ("cycle", "iterations"))
    mode = check.choice(w, "mode", mode, ("triangular", "triangular2", "exp_range"))
    gamma = check.number(w, "gamma", gamma)
    down = step_size_down
    return cyclic(
        base=check.number(w, "base_lr", base_lr, ge=0),
        peak=check.number(w, "max_lr", max_lr, ge=0),
        step_up=check.number(w, "step_size_up", step_size_up, gt=0),
        step_down=None if down is None else check.number(w, "step_size_down", down, ge=0),
        mode=mode,
        # gamma only shapes exp_range; torch ignores it otherwise.
        gamma=check.number(w, "gamma", gamma, gt=0) if mode == "exp_range" else 1.0,
    )


def _one_cycle_lr(
    w: str,
    lr: float,
    *,
    max_lr: float,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """torch's OneCycleLR, as the (cosine or linear) interpolation through its phase ends.

    With T = total_steps (or epochs * steps_per_epoch), initial = max_lr / div_factor and
    low = initial / final_div_factor, the points are (0, initial), (pct_start*T - 1, max_lr),
    [(2*pct_start*T - 2, initial) if three_phase], (T - 1, low): torch's phases end one step before the
    clean ``lr.one_cycle`` (peak at pct_start*T, low at T).  When pct_start*T < 1 the first phase ends
    before t = 0 and torch starts part-way along the next one; so does this schedule.

    The schedule holds low from t = T - 1 on, the last step of a T-step run.  torch allows one more
    ``step()``, to t = T, where it extrapolates the last phase one step further (above low with
    anneal_strategy="cos", below it, usually negative, with "linear"); no update of a T-step run uses
    that value, and torch raises after it.  `lr` plays no part; the momentum arguments shape
    ``part="momentum"`` only.
    """
    check.flag(w, "cycle_momentum", cycle_momentum)
    peak = check.number(w, "max_lr", max_lr, ge=0)
    initial = peak / check.number(w, "div_factor", div_factor, gt=0)
    low = initial / check.number(w, "final_div_factor", final_div_factor, gt=0)
    steps = _one_cycle_steps(w, total_steps, epochs, steps_per_epoch)
    return _one_cycle_curve(w, steps, pct_start, anneal_strategy, three_phase, (initial, peak, low))


def _one_cycle_steps(w: str, total_steps: Any, epochs: Any, steps_per_epoch: Any) -> int:
    if total_steps is not None:
        return _count(w, "total_steps", total_steps)
    if epochs is not None and steps_per_epoch is not None:
        return _count(w, "epochs", epochs) * _count(w, "steps_per_epoch", steps_per_epoch)
    raise check.fail(w, "total_steps", "must be given, or else both epochs and steps_per_epoch", total_steps)


def _one_cycle_curve(
    w: str, T: int, pct_start: Any, anneal_strategy: Any, three_phase: Any, levels: tuple[float, float, float]
) -> Schedule:
    """OneCycleLR's phases over T steps through `levels` = (start, turn, end): start -> turn -> end, or with
    three_phase start -> turn -> start -> end; the lr's levels are (initial, max_lr, low), the momentum's
    (max_momentum, base_momentum, max_momentum)."""
    if not isinstance(pct_start, float):
        raise check.fail(w, "pct_start", "must be a float, as torch requires", pct_start, TypeError)
    pct = check.number(w, "pct_start", pct_start, ge=0, le=1)
    cos = check.choice(w, "anneal_strategy", anneal_strategy, ("cos", "linear")) == "cos"
    start, turn, end = levels
    # torch's phase ends, computed as torch computes them, and the levels they reach.
    if check.flag(w, "three_phase", three_phase):
        ends, values = [pct * T - 1, 2 * pct * T - 2, T - 1.0], [start, turn, start, end]
    else:
        ends, values = [pct * T - 1, T - 1.0], [start, turn, end]
    # Step 0 lies in the first phase that ends at or after it.
    i = next(k for k, t in enumerate(ends) if t >= 0)
    origin = 0.0 if i == 0 else ends[i - 1]
    points = [(origin, values[i]), *zip(ends[i:], values[i + 1 :], strict=True)]
    for (t0, _), (t1, _) in pairwise(points):
        if t1 <= t0:
            rule = f"leaves a phase of length {t1 - t0:g} at total_steps={T} (torch divides by it or never anneals)"
            raise check.fail(w, "pct_start", rule, pct_start)
    # interpolate holds its last point, (T - 1, end), for every later t.
    curve = interpolate(points=[(t - origin, v) for t, v in points], shape="cosine" if cos else "linear")
    return shift(curve, steps=-origin) if origin < 0 else curve


def _swalr(w: str, lr: float, *, swa_lr: float, anneal_epochs: int = 10, anneal_strategy: str = "cos") -> Schedule:
    """torch.optim.swa_utils.SWALR: from `lr` to swa_lr over anneal_epochs steps, then swa_lr:
    ``lr + (swa_lr - lr) * f(min(t / anneal_epochs, 1))``, f(p) = (1 - cos(pi p)) / 2 or p.

    `lr` is the group's lr when SWALR is built: SWALR anneals from the lr it finds there (which another
    scheduler may have lowered), not from the group's "initial_lr".  torch recovers that starting lr
    from the current one at every step (``(lr_t - alpha * swa_lr) / (1 - alpha)``); the closed form
    equals its recursion to within that rounding.  anneal_epochs=0 gives swa_lr from the constructor's
    own step on (torch steps it as step 1).
    """
    swa = check.number(w, "swa_lr", swa_lr, ge=0)
    steps = check.count(w, "anneal_epochs", anneal_epochs)
    strategy = check.choice(w, "anneal_strategy", anneal_strategy, ("cos", "linear"))
    if steps == 0:
        return constant(value=swa)
    if strategy == "cos":
        return cosine(init=lr, steps=steps, final=swa)
    return linear(start=lr, end=swa, steps=steps)


def _sequential_lr(w: str, lr: float, *, schedulers: Any, milestones: Any) -> Schedule:
    """SequentialLR: child i runs from milestone i-1, its own time restarting at 0 (``lr.join``).

    The children see the param group as their constructors left it: the first one constructed sets
    "initial_lr" (to lr, or to its base_lr for a CyclicLR), every OneCycleLR overwrites it with
    max_lr / div_factor, and a child's base lr is initial_lr as that child's constructor found it.  The child
    running at t = 0 starts from the final initial_lr; later children restart from their closed form at 0.
    A milestone of 0, or a repeated one, leaves a child that never runs, as in torch.
    """
    children = _children(w, schedulers)
    ms = check.numbers_(w, "milestones", milestones, ge=0, increasing="weakly")
    if not all(m.is_integer() for m in ms):
        raise check.fail(w, "milestones", "must hold whole numbers (torch compares them with step counts)", milestones)
    if len(ms) != len(children) - 1:
        raise check.fail(w, "milestones", f"must have len(schedulers) - 1 = {len(children) - 1} elements", milestones)
    levels = {_one_cycle_levels(kw) for name, kw in children if name == "OneCycleLR"}
    if len(levels) > 1:
        rule = "holds OneCycleLRs with different max_lr/div_factor/final_div_factor (torch's last one overwrites all)"
        raise check.fail(w, "schedulers", rule, schedulers)
    bases, initial = _replay(children, lr)
    starts, ends = [0.0, *ms], [*ms, math.inf]
    running = [i for i in range(len(children)) if starts[i] < ends[i]]
    parts = []
    for i in running:
        name, kw = children[i]
        base = initial if i == running[0] and name in _CHAINABLE else bases[i]
        s = _build(_child(w, i, name), name, kw, base)
        if base != bases[i] and name == "CosineAnnealingLR":
            # torch's recursion scales the first half wave from the group's lr, then climbs back to base_lrs.
            s = _after(s, _build(_child(w, i, name), name, kw, bases[i]), s["steps"])
        parts.append(s)
    return parts[0] if len(parts) == 1 else join(parts, boundaries=[starts[i] for i in running[1:]])


def _chained_scheduler(w: str, lr: float, *, schedulers: Any) -> Schedule:
    """ChainedScheduler: every child steps at each step, in order.

    Chainable children (ConstantLR, LinearLR, StepLR, MultiStepLR, ExponentialLR, PolynomialLR,
    CosineAnnealingLR) multiply the current lr, so they compose as a ``lr.product``.  CyclicLR, OneCycleLR
    and CosineAnnealingWarmRestarts overwrite it: the last of them alone sets the value (a CyclicLR built
    after another scheduler gives the group's initial_lr at t = 0: its constructor steps before it sets its
    own base_lrs).

    Rejected, because torch's result is then no product of schedules: a chainable child after an overwriting
    one (torch applies only its one-step ratio), and a CosineAnnealingLR beside other children unless
    eta_min=0 and every other child has settled by T_max (past T_max torch's cosine climbs back to lr and the
    others no longer scale it).
    """
    children = _children(w, schedulers)
    names = [name for name, _ in children]
    bases, _ = _replay(children, lr)
    last = max((i for i, name in enumerate(names) if name not in _CHAINABLE), default=-1)
    if last >= 0:
        if last < len(names) - 1:
            rule = f"has {names[last + 1]} after {names[last]}, which overwrites the lr at every step"
            raise check.fail(w, "schedulers", rule, schedulers)
        name, kw = children[last]
        s = _build(_child(w, last, name), name, kw, bases[last])
        if name == "CyclicLR" and bases[last] != s["base"]:
            # Its constructor steps before it sets its own base_lrs, so t = 0 gives the group's initial_lr.
            s = _after(constant(value=bases[last]), s, 1)
        return s
    factors = [_build(_child(w, i, n), n, kw, lr if i == 0 else 1.0) for i, (n, kw) in enumerate(children)]
    chained = reduce(product, factors)
    if "CosineAnnealingLR" not in names or len(names) == 1:
        return chained
    c = names.index("CosineAnnealingLR")
    steps = factors[c]["steps"]
    if factors[c]["final"] != 0 or any(f.horizon is None or f.horizon > steps for i, f in enumerate(factors) if i != c):
        rule = "has a CosineAnnealingLR beside schedulers that do not settle by its T_max, or with eta_min > 0"
        raise check.fail(w, "schedulers", rule, schedulers)
    return _after(chained, _build(_child(w, c, names[c]), names[c], children[c][1], lr), steps)


# ---------------------------------------------------------------------------
# part="momentum": the momentum (or Adam's beta1) that OneCycleLR and CyclicLR write into the param group.


def _cycles_momentum(name: str, kwargs: Mapping[str, Any]) -> bool:
    return name in ("OneCycleLR", "CyclicLR") and bool(kwargs.get("cycle_momentum", True))


def _momentum_levels(w: str, args: dict[str, Any]) -> tuple[float, float]:
    if not args["cycle_momentum"]:
        rule = "is False: torch leaves the momentum alone, so there is no momentum schedule (use part='lr')"
        raise check.fail(w, "cycle_momentum", rule, args["cycle_momentum"])
    return (
        check.number(w, "base_momentum", args["base_momentum"], ge=0),
        check.number(w, "max_momentum", args["max_momentum"], ge=0),
    )


def _one_cycle_momentum(w: str, args: dict[str, Any]) -> Schedule:
    """max_momentum -> base_momentum over the first phase and back to max_momentum over the last (three_phase:
    back over the second, then held), through the same phase ends as the lr; held from t = T - 1 on."""
    base, top = _momentum_levels(w, args)
    steps = _one_cycle_steps(w, args["total_steps"], args["epochs"], args["steps_per_epoch"])
    return _one_cycle_curve(w, steps, args["pct_start"], args["anneal_strategy"], args["three_phase"], (top, base, top))


def _cyclic_momentum(w: str, args: dict[str, Any]) -> Schedule:
    """The lr's wave upside down: ``max_momentum - (max_momentum - base_momentum) * wave``, where the lr is
    ``base_lr + (max_lr - base_lr) * wave``: ``lr.cyclic(base=max_momentum, peak=base_momentum, ...)``."""
    base, top = _momentum_levels(w, args)
    mode, gamma = args["mode"], float(args["gamma"]) if args["mode"] == "exp_range" else 1.0
    if mode == "exp_range" and gamma > 1 and base < top:
        rule = "must be <= 1 for the momentum with mode='exp_range' (torch's falls below 0): or cycle_momentum=False"
        raise check.fail(w, "gamma", rule, args["gamma"])
    down = args["step_size_down"]
    return cyclic(
        base=top,
        peak=base,
        step_up=float(args["step_size_up"]),
        step_down=None if down is None else float(down),
        mode=mode,
        gamma=gamma,
    )


def _sequential_momentum(w: str, args: dict[str, Any]) -> Schedule:
    """Each running child that cycles momentum sets it from its own time 0, as for the lr; the others leave
    it as the previous child left it.  Before that, it is what the constructors left: every OneCycleLR and
    CyclicLR sets it as it is built, and SequentialLR then steps the child running at t = 0 once more.

    A OneCycleLR reads its momentum levels from the param group, where every cycling constructor writes its
    own: every OneCycleLR child cycles between the base_momentum and max_momentum of the last child built
    with cycle_momentum=True (a CyclicLR keeps its own)."""
    children = _children(w, args["schedulers"])
    ms = [float(m) for m in args["milestones"]]
    cyclers = [i for i, (name, kw) in enumerate(children) if _cycles_momentum(name, kw)]
    if not cyclers:
        raise _no_momentum(w, "SequentialLR", args["schedulers"])
    starts, ends = [0.0, *ms], [*ms, math.inf]
    running = [i for i in range(len(children)) if starts[i] < ends[i]]
    last_name, last_kw = children[cyclers[-1]]
    levels = {p: _default(last_name, last_kw, p) for p in ("base_momentum", "max_momentum")}
    own = {}
    for i in cyclers:
        name, kw = children[i]
        own[i] = _momentum(_child(w, i, name), name, {**kw, **levels} if name == "OneCycleLR" else kw, 1.0)
    first = running[0] if running[0] in own else cyclers[-1]
    value, parts = own[first](0), []
    for k, i in enumerate(running):
        part = own[i] if i in own else constant(value=value)
        parts.append(part)
        if k + 1 < len(running):
            value = part(starts[running[k + 1]] - 1 - starts[i])  # what this child leaves to the next
    return parts[0] if len(parts) == 1 else join(parts, boundaries=[starts[i] for i in running[1:]])


def _chained_momentum(w: str, args: dict[str, Any]) -> Schedule:
    """Every child steps at each step, in order: the last one that cycles momentum sets it."""
    children = _children(w, args["schedulers"])
    cyclers = [i for i, (name, kw) in enumerate(children) if _cycles_momentum(name, kw)]
    if not cyclers:
        raise _no_momentum(w, "ChainedScheduler", args["schedulers"])
    last = cyclers[-1]
    return _momentum(_child(w, last, children[last][0]), *children[last], 1.0)


def _no_momentum(w: str, name: str, schedulers: Any) -> Exception:
    rule = f"holds no OneCycleLR or CyclicLR with cycle_momentum=True, so {name} leaves the momentum alone"
    return check.fail(w, "schedulers", rule, schedulers)


_MOMENTUM: dict[str, Callable[[str, dict[str, Any]], Schedule]] = {
    "OneCycleLR": _one_cycle_momentum,
    "CyclicLR": _cyclic_momentum,
    "SequentialLR": _sequential_momentum,
    "ChainedScheduler": _chained_momentum,
}


_COMPOSITES = "SequentialLR or ChainedScheduler"


def _momentum(w: str, name: str, kwargs: dict[str, Any], lr: float) -> Schedule:
    _build(w, name, kwargs, lr)  # every argument checked as for the lr
    if name not in _MOMENTUM:
        rule = f"must be 'lr' for {name}: only OneCycleLR and CyclicLR (alone or in a {_COMPOSITES}) cycle momentum"
        raise check.fail(w, "part", rule, "momentum")
    bound = inspect.signature(_BUILDERS[name]).bind_partial(**{k: v for k, v in kwargs.items() if k != "last_epoch"})
    bound.apply_defaults()
    return _MOMENTUM[name](w, dict(bound.arguments))


_BUILDERS: dict[str, Callable[..., Schedule]] = {
    "ConstantLR": _constant_lr,
    "LinearLR": _linear_lr,
    "StepLR": _step_lr,
    "MultiStepLR": _multistep_lr,
    "ExponentialLR": _exponential_lr,
    "PolynomialLR": _polynomial_lr,
    "CosineAnnealingLR": _cosine_annealing_lr,
    "CosineAnnealingWarmRestarts": _cosine_warm_restarts,
    "CyclicLR": _cyclic_lr,
    "OneCycleLR": _one_cycle_lr,
    "SWALR": _swalr,
    "SequentialLR": _sequential_lr,
    "ChainedScheduler": _chained_scheduler,
}


# ---------------------------------------------------------------------------
# Dispatch and the param-group bookkeeping of SequentialLR / ChainedScheduler.


def _build(w: str, name: Any, kwargs: dict[str, Any], lr: float) -> Schedule:
    builder = pick(w, _BUILDERS, _REPLACEMENTS, name, "scheduler")
    kwargs = dict(kwargs)
    if kwargs.pop("last_epoch", -1) != -1:
        raise ValueError(f"{w}: `last_epoch` resumes a scheduler; a schedule has no state: evaluate it from that t")
    check_arguments(w, name, builder, kwargs, 2)
    return builder(w, lr, **kwargs)


def _child(w: str, i: int, name: str) -> str:
    return f"{w[:-1]} schedulers[{i}]: {name})"


def _children(w: str, schedulers: Any) -> list[tuple[str, dict[str, Any]]]:
    items = check.sequence(w, "schedulers", schedulers)
    if not items:
        raise check.fail(w, "schedulers", "must hold at least one (name, kwargs) pair", schedulers)
    out = []
    for i, item in enumerate(items):
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], Mapping)):
            rule = f"must hold (name, kwargs) pairs (element {i} is {item!r})"
            raise check.fail(w, "schedulers", rule, schedulers, TypeError)
        if item[0] in ("SequentialLR", "ChainedScheduler"):
            raise check.fail(w, "schedulers", f"cannot nest {item[0]} (element {i})", schedulers)
        if item[0] == "SWALR":
            rule = (f"holds SWALR (element {i}), which anneals from the lr the schedulers before it leave; "
                    "use lr.join([..., lr.from_torch('SWALR', lr_at_the_switch, ...)], boundaries) instead")
            raise check.fail(w, "schedulers", rule, schedulers)
        # Validate every child up front, with its own name in the messages.
        _build(_child(w, i, str(item[0])), item[0], dict(item[1]), 1.0)
        out.append((item[0], dict(item[1])))
    return out


def _default(name: str, kwargs: dict[str, Any], param: str) -> Any:
    return kwargs.get(param, inspect.signature(_BUILDERS[name]).parameters[param].default)


def _one_cycle_levels(kwargs: dict[str, Any]) -> tuple[float, float, float]:
    """The (max_lr, div_factor, final_div_factor) that a OneCycleLR writes into the param group."""
    peak, div, final_div = (
        float(_default("OneCycleLR", kwargs, p)) for p in ("max_lr", "div_factor", "final_div_factor")
    )
    return peak, div, final_div


def _replay(children: list[tuple[str, dict[str, Any]]], lr: float) -> tuple[list[float], float]:
    """Each child's base lr and the group's final "initial_lr", replaying the constructors in order."""
    initial: float | None = None
    bases = []
    for name, kw in children:
        if name == "OneCycleLR":
            peak, div, _ = _one_cycle_levels(kw)
            initial = peak / div
        elif initial is None:
            initial = float(kw["base_lr"]) if name == "CyclicLR" else lr
        bases.append(initial)
    assert initial is not None
    return bases, initial


def from_torch(name: str, lr: float, *, part: str = "lr", **kwargs: Any) -> Schedule:
    """The schedule of ``torch.optim.lr_scheduler.<name>(optimizer, **kwargs)`` on an optimizer with lr `lr`.

    ``s(t)`` equals ``optimizer.param_groups[0]["lr"]`` after construction and t calls of
    ``scheduler.step()``.  Names: ConstantLR, LinearLR, StepLR, MultiStepLR, ExponentialLR, PolynomialLR,
    CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SWALR (from
    ``torch.optim.swa_utils``; `lr` is the group's lr when it is built, which SWALR anneals from), and
    SequentialLR / ChainedScheduler with ``schedulers=[(name, kwargs), ...]``.  LambdaLR, MultiplicativeLR,
    ReduceLROnPlateau and a custom CyclicLR scale_fn raise ValueError naming the lrcore replacement.
    Arguments torch rejects are rejected, and so are some it accepts but that crash later or contradict its
    own closed form (each builder says which).  OneCycleLR holds its last value from t = total_steps - 1
    on, where torch extrapolates one more step (t = total_steps) and then raises.

    ``part="momentum"`` gives instead the momentum torch writes into the param group (SGD's ``momentum``,
    Adam's ``betas[0]``), for the schedulers that cycle it: OneCycleLR (base_momentum=0.85,
    max_momentum=0.95 by default) and CyclicLR (0.8, 0.9), both with ``cycle_momentum=True`` (the default),
    and SequentialLR / ChainedScheduler holding one (a SequentialLR child that does not cycle momentum
    leaves it where the previous child left it; in a ChainedScheduler the last child that cycles it sets
    it).  Other names, or ``cycle_momentum=False``, raise ValueError: torch leaves the momentum alone.
    ``lrcore.adapters.torch.Scheduler.from_torch`` drives both parts, per param group.

    Args:
        name: the scheduler's class name in ``torch.optim.lr_scheduler``, e.g. "StepLR".
        lr: the optimizer's learning rate, which the scheduler starts from (>= 0).
        part: "lr" (default) for the learning rate, or "momentum" for the momentum the scheduler cycles.
        **kwargs: the scheduler's own arguments without the optimizer, with torch's defaults; step
            counts (``step_size``, ``T_max``, ``total_steps``, ...) are in scheduler steps.

    Returns:
        A ``Schedule``: ``s(t)`` is the value after t calls of ``scheduler.step()``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_torch("StepLR", 0.1, step_size=30)  # gamma=0.1 by default
        >>> s(29), s(30)
        (0.1, 0.010000000000000002)
        >>> m = lr.from_torch("OneCycleLR", 0.1, part="momentum", max_lr=0.1, total_steps=100)
        >>> m(0), m(29), m(99)  # max_momentum, base_momentum at the peak, max_momentum again
        (0.95, 0.85, 0.95)
    """
    lr = check.number("from_torch", "lr", lr, ge=0)
    where = f"from_torch({name})"
    if check.choice(where, "part", part, ("lr", "momentum")) == "momentum":
        return _momentum(where, name, kwargs, lr)
    return _build(where, name, kwargs, lr)
