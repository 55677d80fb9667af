"""Converter from timm's schedulers (``timm.scheduler``).

timm's schedulers are stateless: ``step_update(num_updates=t)`` (or ``step(epoch=t)``) sets
``_get_lr(t)``, so ``s(t)`` here is that value for the optimizer learning rate `lr` (timm's base
value).  Every scheduler shares one warmup, ``warmup_lr_init + t * (lr - warmup_lr_init) / warmup_t``
for t < warmup_t.  With ``warmup_prefix=True`` the main schedule starts after it (sees
``t - warmup_t``); with False it runs from t = 0 underneath the warmup, which hides its start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._internal import Schedule, check
from .._kinds import (
    add,
    clip,
    constant,
    cosine,
    cosine_restarts,
    inverse_sqrt,
    inverse_time,
    join,
    linear,
    multistep,
    polynomial,
    product,
    scale,
    shift,
    step,
    tanh_decay,
)
from ._common import check_arguments, pick

WHERE = "from_timm"
MAX_CYCLES = 1000  # Tanh and Poly build one join piece per cycle (lrcore restarts only cosines)

# Arguments of every timm scheduler that leave its values alone (the noise settings act only when
# noise_range_t is set, which is refused); checked, then ignored.
INERT: dict[str, Callable[[str, str, Any], Any]] = {
    "t_in_epochs": check.flag,
    "initialize": check.flag,
    "noise_pct": check.number,
    "noise_std": check.number,
    "noise_seed": check.count,
}

Leaf = Callable[[float, float], Schedule]  # (peak, length) -> one cycle


def _with_warmup(
    main: Schedule, base: float, warmup_t: float, warmup_lr_init: float, prefix: bool, target: float | None = None
) -> Schedule:
    """timm's linear warmup from `warmup_lr_init` to `target` (default `base`) over `warmup_t`, then `main`."""
    if warmup_t == 0.0:
        return main
    ramp = linear(start=warmup_lr_init, end=base if target is None else target, steps=warmup_t)
    return join([ramp, main if prefix else shift(main, warmup_t)], [warmup_t])


def _cycle_start(t_initial: float, cycle_mul: float, i: int) -> float:
    """Where cycle i starts, as timm computes it: ``t_initial * (1 - m**i) / (1 - m)`` (``t_initial * i`` for m = 1)."""
    if cycle_mul == 1.0:
        return t_initial * i
    try:
        return (1.0 - cycle_mul**i) / (1.0 - cycle_mul) * t_initial
    except OverflowError:
        return math.inf


def _cycles(
    leaf: Leaf, base: float, t_initial: float, lr_min: float, cycle_mul: float, cycle_decay: float, cycle_limit: int
) -> Schedule:
    """timm's restarts: cycle i lasts ``t_initial * cycle_mul**i`` from ``base * cycle_decay**i``; lr_min after
    `cycle_limit` cycles.  One join piece per cycle; each leaf holds lr_min from its end on."""
    if cycle_limit == 0:
        return constant(value=lr_min)
    # Cycles that would start past the largest float are never reached.
    starts = [s for s in (_cycle_start(t_initial, cycle_mul, i) for i in range(1, cycle_limit)) if math.isfinite(s)]
    pieces = [leaf(base * cycle_decay**i, t_initial * cycle_mul**i) for i in range(len(starts) + 1)]
    return join(pieces, starts) if starts else pieces[0]


def _cycle_args(
    t_initial: Any, lr_min: Any, cycle_mul: Any, cycle_decay: Any, cycle_limit: Any, most: int | None = MAX_CYCLES
) -> tuple[float, float, float, float, int]:
    t_initial = check.number(WHERE, "t_initial", t_initial, gt=0)
    lr_min = check.number(WHERE, "lr_min", lr_min, ge=0)
    # timm takes log base cycle_mul of 1 - t / t_initial * (1 - cycle_mul): with cycle_mul < 1 it fails
    # (math domain error) once t passes t_initial / (1 - cycle_mul).
    cycle_mul = check.number(WHERE, "cycle_mul", cycle_mul, ge=1)
    cycle_decay = check.number(WHERE, "cycle_decay", cycle_decay, ge=0)
    cycle_limit = check.count(WHERE, "cycle_limit", cycle_limit)
    if most is not None and cycle_limit > most:
        raise check.fail(WHERE, "cycle_limit", f"must be <= {most} (one schedule piece per cycle)", cycle_limit)
    return t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit


def _warmup_args(warmup_t: Any, warmup_lr_init: Any, warmup_prefix: Any = True) -> tuple[float, float, bool]:
    return (
        check.number(WHERE, "warmup_t", warmup_t, ge=0),
        check.number(WHERE, "warmup_lr_init", warmup_lr_init, ge=0),
        check.flag(WHERE, "warmup_prefix", warmup_prefix),
    )


# ---------------------------------------------------------------------------
# One builder per scheduler class, with timm's defaults.


def _cosine(
    base: float,
    *,
    t_initial: float,
    lr_min: float = 0.0,
    cycle_mul: float = 1.0,
    cycle_decay: float = 1.0,
    cycle_limit: int = 1,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
    warmup_prefix: bool = False,
    k_decay: float = 1.0,
) -> Schedule:
    """``lr_min + 0.5 * (peak_i - lr_min) * (1 + cos(pi * t_cur**k / t_i**k))`` in cycle i (SGDR)."""
    t0, floor, mul, dec, limit = _cycle_args(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, most=None)
    k = check.number(WHERE, "k_decay", k_decay, gt=0)
    if limit <= 1:
        main = cosine(init=base, steps=t0, final=floor, k_decay=k) if limit else constant(value=floor)
    else:
        main = cosine_restarts(init=base, period=t0, final=floor, period_mult=mul, decay=dec, k_decay=k)
        end = _cycle_start(t0, mul, limit)
        if math.isfinite(end):
            main = join([main, constant(value=floor)], [end])
    w, init, prefix = _warmup_args(warmup_t, warmup_lr_init, warmup_prefix)
    return _with_warmup(main, base, w, init, prefix)


def _tanh(
    base: float,
    *,
    t_initial: float,
    lb: float = -7.0,
    ub: float = 3.0,
    lr_min: float = 0.0,
    cycle_mul: float = 1.0,
    cycle_decay: float = 1.0,
    cycle_limit: int = 1,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
    warmup_prefix: bool = False,
) -> Schedule:
    """``lr_min + 0.5 * (peak_i - lr_min) * (1 - tanh(lb * (1 - r) + ub * r))``, ``r = t_cur / t_i``, in cycle i.

    Without warmup_prefix the warmup ends at the main schedule's value at warmup_t (timm's choice).
    """
    t0, floor, mul, dec, limit = _cycle_args(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
    lower, upper = check.number(WHERE, "lb", lb), check.number(WHERE, "ub", ub)
    if not lower < upper:
        raise check.fail(WHERE, "ub", f"must be > lb={lower:g}", ub)

    def leaf(peak: float, length: float) -> Schedule:
        return tanh_decay(init=peak, steps=length, final=floor, lower=lower, upper=upper)

    main = _cycles(leaf, base, t0, floor, mul, dec, limit)
    w, init, prefix = _warmup_args(warmup_t, warmup_lr_init, warmup_prefix)
    return _with_warmup(main, base, w, init, prefix, target=None if prefix or w == 0.0 else main(w))


def _poly(
    base: float,
    *,
    t_initial: float,
    power: float = 0.5,
    lr_min: float = 0.0,
    cycle_mul: float = 1.0,
    cycle_decay: float = 1.0,
    cycle_limit: int = 1,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
    warmup_prefix: bool = False,
    k_decay: float = 1.0,
) -> Schedule:
    """``lr_min + (peak_i - lr_min) * (1 - t_cur**k / t_i**k) ** power`` in cycle i."""
    t0, floor, mul, dec, limit = _cycle_args(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
    pw = check.number(WHERE, "power", power, gt=0)
    k = check.number(WHERE, "k_decay", k_decay, gt=0)

    def leaf(peak: float, length: float) -> Schedule:
        return polynomial(init=peak, end=floor, steps=length, power=pw, k_decay=k)

    main = _cycles(leaf, base, t0, floor, mul, dec, limit)
    w, init, prefix = _warmup_args(warmup_t, warmup_lr_init, warmup_prefix)
    return _with_warmup(main, base, w, init, prefix)


def _step(
    base: float,
    *,
    decay_t: float,
    decay_rate: float = 1.0,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
    warmup_prefix: bool = True,
) -> Schedule:
    """``lr * decay_rate ** (t // decay_t)``."""
    main = step(
        init=base,
        step_size=check.number(WHERE, "decay_t", decay_t, gt=0),
        gamma=check.number(WHERE, "decay_rate", decay_rate, ge=0),
    )
    w, init, prefix = _warmup_args(warmup_t, warmup_lr_init, warmup_prefix)
    return _with_warmup(main, base, w, init, prefix)


def _multistep(
    base: float,
    *,
    decay_t: list[float],
    decay_rate: float = 1.0,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
    warmup_prefix: bool = True,
) -> Schedule:
    """``lr * decay_rate ** bisect_right(decay_t, t + 1)``: milestone m applies from t = m - 1, one step
    before PyTorch's MultiStepLR (timm keeps this on purpose); milestones below 1 apply from the start."""
    milestones = check.numbers_(WHERE, "decay_t", decay_t, ge=0, increasing="weakly")
    rate = check.number(WHERE, "decay_rate", decay_rate, ge=0)
    early = sum(1 for m in milestones if m < 1.0)
    main = multistep(init=base * rate**early, milestones=[m - 1.0 for m in milestones[early:]], gamma=rate)
    w, init, prefix = _warmup_args(warmup_t, warmup_lr_init, warmup_prefix)
    return _with_warmup(main, base, w, init, prefix)


def _decay_curve(fn: str, start: float, end: float, steps: float, power: float) -> Schedule:
    """``end + (start - end) * decay(t / steps)`` for timm's WSD decay functions, then `end`."""
    if fn == "linear":
        return linear(start=start, end=end, steps=steps)
    if fn == "cosine":
        return cosine(init=start, steps=steps, final=end)
    # '1-sqrt' is 1 - frac**0.5, 'power' is 1 - frac**decay_power
    return polynomial(init=start, end=end, steps=steps, k_decay=0.5 if fn == "1-sqrt" else power)


def _wsd(
    base: float,
    *,
    t_initial: float,
    decay_t: float,
    lr_min: float = 0.0,
    stable_fn: str = "constant",
    stable_timescale: float | None = None,
    stable_power: float = 0.5,
    decay_fn: str = "1-sqrt",
    decay_power: float = 0.5,
    decay_ratio: float = 0.1,
    warmup_t: float = 0,
    warmup_lr_init: float = 0.0,
) -> Schedule:
    """Warmup (always a prefix), then ``lr_min + (max(lr * stable(u), lr_min) - lr_min) * decay(frac)``.

    ``u = t - warmup_t``, ``frac = clip((u - (t_initial - decay_t)) / decay_t, 0, 1)``;
    stable is 1 ('constant'), ``(1 + u / timescale) ** -0.5`` ('rsqrt') or ``** -stable_power`` ('power',
    here only for stable_power 0.5 and 1); decay is linear, 1-sqrt, cosine or power ('exp' is refused).
    """
    t0 = check.number(WHERE, "t_initial", t_initial, gt=0)
    length = check.number(WHERE, "decay_t", decay_t, gt=0, le=t0)
    floor = check.number(WHERE, "lr_min", lr_min, ge=0)
    shape = check.choice(WHERE, "stable_fn", stable_fn, ("constant", "rsqrt", "power"))
    exponent = 0.5 if shape == "rsqrt" else check.number(WHERE, "stable_power", stable_power, gt=0)
    if not isinstance(decay_fn, str):
        raise check.fail(WHERE, "decay_fn", "must be a name (for your own function use lr.custom)", decay_fn, TypeError)
    fn = check.choice(WHERE, "decay_fn", decay_fn, ("linear", "1-sqrt", "cosine", "power", "exp"))
    power = check.number(WHERE, "decay_power", decay_power, gt=0)
    check.number(WHERE, "decay_ratio", decay_ratio, gt=0, lt=1)
    if fn == "exp":
        # (r**frac - r) / (1 - r) needs a negative offset, which lrcore's non-negative kinds cannot build.
        raise check.fail(
            WHERE, "decay_fn", "must be 'linear', '1-sqrt', 'cosine' or 'power' ('exp' has no lrcore form)", decay_fn
        )
    w, init, _ = _warmup_args(warmup_t, warmup_lr_init)
    hold = t0 - length
    if shape == "constant":
        peak = max(base, floor)
        main = _decay_curve(fn, peak, floor, length, power)
        main = join([constant(value=peak), main], [hold]) if hold else main
        return _with_warmup(main, base, w, init, True)
    timescale = w if stable_timescale is None else stable_timescale
    timescale = check.number(WHERE, "stable_timescale", timescale, gt=0)
    if exponent == 0.5:
        stable = inverse_sqrt(peak=base, warmup=0.0, timescale=timescale)
    elif exponent == 1.0:
        stable = inverse_time(init=base, rate=1.0, every=timescale)
    else:
        raise check.fail(
            WHERE, "stable_power", "must be 0.5 or 1 (lrcore has no (1 + t / timescale) ** -p kind)", stable_power
        )
    stable = clip(stable, lo=floor)
    # lr_min + (S - lr_min) * D = S * D + lr_min * (1 - D): a sum of non-negative terms.
    decay = product(shift(stable, hold) if hold else stable, _decay_curve(fn, 1.0, 0.0, length, power))
    if floor:
        decay = add(decay, scale(_decay_curve(fn, 0.0, 1.0, length, power), floor))
    main = join([stable, decay], [hold]) if hold else decay
    return _with_warmup(main, base, w, init, True)


INSTEAD = {
    "PlateauLRScheduler": "it is driven by a metric, not by t: use lr.Plateau (a multiplier on any schedule)",
}

BUILDERS: dict[str, Callable[..., Schedule]] = {
    "CosineLRScheduler": _cosine,
    "TanhLRScheduler": _tanh,
    "StepLRScheduler": _step,
    "MultiStepLRScheduler": _multistep,
    "PolyLRScheduler": _poly,
    "WSDLRScheduler": _wsd,
}


def from_timm(name: str, lr: float, **kwargs: Any) -> Schedule:
    """The schedule of timm's scheduler class `name` (keyword arguments as its constructor's, without the
    optimizer) on an optimizer whose learning rate is `lr`: ``s(t)`` is timm's ``_get_lr(t)``.

    Names: CosineLRScheduler, TanhLRScheduler, StepLRScheduler, MultiStepLRScheduler, PolyLRScheduler,
    WSDLRScheduler.  PlateauLRScheduler is metric-driven: use lr.Plateau.  ``t_in_epochs`` (per epoch
    or per update, the values are the same function of t), ``initialize`` and the noise settings are
    accepted but noise itself (``noise_range_t``) is refused: lrcore has no kind that draws timm's
    per-step seeded noise (``1 + noise`` from a generator seeded with ``noise_seed + t``).

    Stricter than timm: lengths > 0, rates and learning rates >= 0, cycle_mul >= 1 (timm fails past
    ``t_initial / (1 - cycle_mul)`` otherwise), k_decay and power > 0, sorted milestones.  Cycles
    restart at their exact start; timm's float cycle index can be one short right at a restart
    (``log(1000, 10) < 3`` with cycle_mul=10, or ``1 // 0.1 == 9`` with t_initial=0.1), and there
    timm is at the end of the previous cycle.

    Args:
        name: the scheduler's class name in ``timm.scheduler``, e.g. "CosineLRScheduler".
        lr: the optimizer's learning rate, timm's base value (>= 0).
        **kwargs: the class's own constructor arguments without the optimizer, with timm's defaults;
            lengths (``t_initial``, ``warmup_t``, ``decay_t``, ...) are in the units t counts.

    Returns:
        A ``Schedule``: ``s(t)`` is timm's ``_get_lr(t)``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_timm("CosineLRScheduler", 1.0, t_initial=100, lr_min=0.1)
        >>> s(0), round(s(50), 6), s(100)  # halfway: the mean of lr and lr_min
        (1.0, 0.55, 0.1)
    """
    builder = pick(WHERE, BUILDERS, INSTEAD, name, "scheduler")
    base = check.number(WHERE, "lr", lr, ge=0)
    noise = kwargs.get("noise_range_t")
    if noise is not None:
        rule = (
            "must be None: timm multiplies the lr by 1 + a draw from a generator seeded with noise_seed + t, "
            "and lrcore has no per-step seeded-noise kind (lr.custom(fn) can make that draw)"
        )
        raise check.fail(WHERE, "noise_range_t", rule, noise)
    for key in INERT.keys() & kwargs.keys():
        INERT[key](WHERE, key, kwargs[key])
    own = {k: v for k, v in kwargs.items() if k not in INERT and k != "noise_range_t"}
    check_arguments(f"{WHERE}({name!r})", name, builder, own, 1)
    return builder(base, **own)
