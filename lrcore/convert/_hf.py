"""Converter from Hugging Face transformers' ``get_scheduler`` names.

Every transformers schedule is a ``LambdaLR`` multiplier on the optimizer's
learning rate, stepped once after each optimizer update, so ``s(t)`` here is
``lr * lambda(t)``.  W is ``num_warmup_steps``, T ``num_training_steps`` and
``u = t - W`` the time since the warmup ended.  The warmup, shared by every
name except ``cosine_warmup_with_min_lr``, is ``t / W`` for t < W: it starts at
0, as in transformers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from .._internal import Schedule, check
from .._kinds import constant, cosine, inverse_sqrt, join, linear, polynomial, shift, wsd
from ._common import check_arguments, pick

WHERE = "from_hf"
MAX_CYCLES = 1000  # cosine_with_restarts builds one join piece per cycle

# transformers' warmup/decay type names -> lrcore wsd shapes
WSD_SHAPES = {"linear": "linear", "cosine": "cosine", "1-sqrt": "sqrt"}

METRIC_DRIVEN = {
    "reduce_lr_on_plateau": "it is ReduceLROnPlateau, driven by a metric: use lr.Plateau",
    "greedy": "GreedyLR raises and lowers the learning rate from a metric, so it is no function of t; "
    "lr.Plateau is the closest (it only lowers)",
}


def _warmup(base: float, warmup: int, main: Schedule) -> Schedule:
    """``base * t / W`` for t < W (0 at t = 0), then ``main(t - W)``."""
    if not warmup:
        return main
    return join([linear(start=0.0, end=base, steps=warmup), main], [warmup])


def _cosine_wave(base: float, final: float, length: int, num_cycles: float) -> Schedule:
    """``final + (base - final) * 0.5 * (1 + cos(2 pi num_cycles u / length))``, periodic for every u.

    transformers' cosine never clamps its progress, so past the end the wave goes on.
    """
    if num_cycles == 0.0:
        return constant(value=base)
    return cosine(init=base, steps=length / (2.0 * num_cycles), final=final, periodic=True)


# ---------------------------------------------------------------------------
# One builder per name: (base lr, W, T, the name's own keyword arguments).
# W and T are checked ints (or None where the name does without one).


def _constant(base: float, warmup: int | None, total: int | None) -> Schedule:
    """``lr``; transformers ignores W and T for this name (a warmup W > 0 warns: it never happens)."""
    if warmup:
        _ignored(
            "constant",
            f"transformers ignores num_warmup_steps={warmup} for this name, so no warmup happens; "
            "use 'constant_with_warmup' for a warmup",
        )
    return constant(value=base)


def _constant_with_warmup(base: float, warmup: int | None, total: int | None) -> Schedule:
    """``lr * t / W`` for t < W, then ``lr``; T is ignored."""
    return _warmup(base, _need_warmup(warmup), constant(value=base))


def _linear(base: float, warmup: int | None, total: int | None) -> Schedule:
    """``lr * max(0, (T - t) / max(1, T - W))`` after the warmup: 0 from t = T on."""
    w, length = _need_both(warmup, total)
    main = linear(start=base, end=0.0, steps=length) if length else constant(value=0.0)
    return _warmup(base, w, main)


def _cosine(base: float, warmup: int | None, total: int | None, *, num_cycles: float = 0.5) -> Schedule:
    """``lr * 0.5 * (1 + cos(2 pi num_cycles u / max(1, T - W)))`` after the warmup (periodic past T)."""
    w, length = _need_both(warmup, total)
    nc = _cycles(num_cycles)
    return _warmup(base, w, _cosine_wave(base, 0.0, max(1, length), nc))


def _cosine_with_restarts(base: float, warmup: int | None, total: int | None, *, num_cycles: float = 1) -> Schedule:
    """``lr * 0.5 * (1 + cos(pi * ((num_cycles * p) mod 1)))``, ``p = u / max(1, T - W)``; 0 once p >= 1.

    One cosine per cycle, joined at the restart times ``k * span / num_cycles``: these are exact
    when they fall on a whole step, where one cosine_restarts with the rounded period
    ``span / num_cycles`` could restart a step late.  (transformers' own float product
    ``num_cycles * p`` can land just below such a whole number, 22 * (15 / 22) say, and end
    a cycle where it should restart; lrcore restarts there.)
    """
    w, length = _need_both(warmup, total)
    nc, span = _cycles(num_cycles, most=MAX_CYCLES), max(1, length)
    if nc == 0.0:
        return _warmup(base, w, join([constant(value=base), constant(value=0.0)], [span]))
    n = math.ceil(nc)
    wave = cosine(init=base, steps=span / nc)
    restarts = [k * span / nc for k in range(1, n)]
    return _warmup(base, w, join([wave] * n + [constant(value=0.0)], [*restarts, span]))


def _polynomial(
    base: float, warmup: int | None, total: int | None, *, lr_end: float = 1e-7, power: float = 1.0
) -> Schedule:
    """``(lr - lr_end) * (1 - u / (T - W)) ** power + lr_end`` after the warmup; ``lr_end`` from t = T on."""
    w, length = _need_both(warmup, total)
    if length == 0:
        # transformers divides by T - W here (ZeroDivisionError at t = T).
        raise check.fail(WHERE, "num_warmup_steps", f"must be < num_training_steps={total} for 'polynomial'", w)
    end = check.number(WHERE, "lr_end", lr_end, ge=0)
    if not base > end:
        raise check.fail(WHERE, "lr_end", f"must be < lr={base:g} (transformers raises otherwise)", lr_end)
    power = check.number(WHERE, "power", power, gt=0)
    return _warmup(base, w, polynomial(init=base, end=end, steps=length, power=power))


def _inverse_sqrt(base: float, warmup: int | None, total: int | None, *, timescale: float | None = None) -> Schedule:
    """``lr * t / W`` for t < W, then ``lr / sqrt((t - W + timescale) / timescale)``; T is ignored.

    `timescale` defaults to W, or 10 000 when W is 0 (lrcore's inverse_sqrt has that rule too).
    """
    w = _need_warmup(warmup)
    if timescale is not None:
        timescale = check.number(WHERE, "timescale", timescale, gt=0)
    return inverse_sqrt(peak=base, warmup=w, timescale=timescale)


def _cosine_with_min_lr(
    base: float,
    warmup: int | None,
    total: int | None,
    *,
    num_cycles: float = 0.5,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
) -> Schedule:
    """``lr * (c * (1 - r) + r)``, ``c = 0.5 * (1 + cos(2 pi num_cycles u / max(1, T - W)))``, r the min_lr rate."""
    w, length = _need_both(warmup, total)
    nc, rate = _cycles(num_cycles), _min_rate(base, min_lr, min_lr_rate)
    return _warmup(base, w, _cosine_wave(base, base * rate, max(1, length), nc))


def _cosine_warmup_with_min_lr(
    base: float,
    warmup: int | None,
    total: int | None,
    *,
    num_cycles: float = 0.5,
    min_lr: float | None = None,
    min_lr_rate: float | None = None,
    warmup_lr_rate: float | None = None,
) -> Schedule:
    """As cosine_with_min_lr, one step ahead: progress ``(u + 1) / max(1, T - W)`` (the floor is at t = T - 1).

    Warmup ``lr * (t + 1) / W``, or with `warmup_lr_rate` q: ``lr * (q + (1 - q) * t / max(1, W - 1))``.
    """
    w, length = _need_both(warmup, total)
    nc, rate = _cycles(num_cycles), _min_rate(base, min_lr, min_lr_rate)
    main = shift(_cosine_wave(base, base * rate, max(1, length), nc), 1.0)
    if not w:
        return main
    if warmup_lr_rate is None:
        ramp = shift(linear(start=0.0, end=base, steps=w), 1.0)
    else:
        q = check.number(WHERE, "warmup_lr_rate", warmup_lr_rate, ge=0, le=1)
        ramp = linear(start=base * q, end=base, steps=max(1, w - 1))
    return join([ramp, main], [w])


def _warmup_stable_decay(
    base: float,
    warmup: int | None,
    total: int | None,
    *,
    num_decay_steps: int | None = None,
    num_stable_steps: int | None = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: float = 0.0,
    num_cycles: float = 0.5,
) -> Schedule:
    """Warmup from ``r * lr`` over W, stable at ``lr`` over S, decay to ``r * lr`` over D, then ``r * lr``.

    S defaults to ``T - W - D``; when both S and T are given S wins (as in transformers).
    The cosine decay is ``0.5 * (1 + cos(2 pi num_cycles p))`` over p in [0, 1).
    """
    w = _need_warmup(warmup)
    if num_decay_steps is None:
        raise check.fail(WHERE, "num_decay_steps", "is required for 'warmup_stable_decay'", None, TypeError)
    d = check.count(WHERE, "num_decay_steps", num_decay_steps)
    if num_stable_steps is not None:
        s = check.count(WHERE, "num_stable_steps", num_stable_steps)
    elif total is None:
        raise check.fail(
            WHERE, "num_training_steps", "or `num_stable_steps` is required for 'warmup_stable_decay'", None
        )
    else:
        s = total - w - d
        if s < 0:
            rule = f"must be >= num_warmup_steps + num_decay_steps = {w + d}"
            raise check.fail(WHERE, "num_training_steps", rule, total)
    if w + s + d == 0:
        raise check.fail(WHERE, "num_training_steps", "must be > 0 (warmup, stable and decay are all empty)", w + s + d)
    up = WSD_SHAPES[check.choice(WHERE, "warmup_type", warmup_type, tuple(WSD_SHAPES))]
    down = WSD_SHAPES[check.choice(WHERE, "decay_type", decay_type, tuple(WSD_SHAPES))]
    floor = base * check.number(WHERE, "min_lr_ratio", min_lr_ratio, ge=0, le=1)
    nc = _cycles(num_cycles)
    if num_stable_steps is not None and total is not None and total != w + s + d:
        _ignored(
            "warmup_stable_decay",
            f"transformers ignores num_training_steps={total} when num_stable_steps={s} is given, so the "
            f"decay ends at step num_warmup_steps + num_stable_steps + num_decay_steps = {w + s + d}; "
            "drop one of the two or make them agree",
        )
    if down != "cosine" and nc != 0.5:
        _ignored(
            "warmup_stable_decay",
            f"transformers ignores num_cycles={num_cycles!r} with decay_type={decay_type!r}, so it changes nothing; "
            "drop it or use decay_type='cosine'",
        )
    if down != "cosine" or nc == 0.5 or d == 0:
        return wsd(
            peak=base, steps=w + s + d, warmup=w, decay=d, final=floor, start=floor, warmup_shape=up, decay_shape=down
        )
    tail = join([_cosine_wave(base, floor, d, nc), constant(value=floor)], [d])
    if w + s == 0:
        return tail
    head = wsd(peak=base, steps=w + s, warmup=w, decay=0, start=floor, warmup_shape=up)
    return join([head, tail], [w + s])


BUILDERS: dict[str, Callable[..., Schedule]] = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _cosine_with_restarts,
    "polynomial": _polynomial,
    "constant": _constant,
    "constant_with_warmup": _constant_with_warmup,
    "inverse_sqrt": _inverse_sqrt,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
    "warmup_stable_decay": _warmup_stable_decay,
}


# ---------------------------------------------------------------------------
# Argument checks shared by the builders


def _ignored(key: str, what: str) -> None:
    """Warn, at the caller of from_hf, that transformers silently ignores an argument set to matter."""
    warnings.warn(f"{WHERE}({key!r}): {what}", UserWarning, stacklevel=4)  # _ignored < builder < from_hf < caller


def _need_warmup(warmup: int | None) -> int:
    if warmup is None:
        raise check.fail(WHERE, "num_warmup_steps", "is required for this schedule (transformers raises too)", None)
    return warmup


def _need_both(warmup: int | None, total: int | None) -> tuple[int, int]:
    """W and the decay length T - W; W > T is refused (transformers would run a warmup past the end)."""
    w = _need_warmup(warmup)
    if total is None:
        raise check.fail(WHERE, "num_training_steps", "is required for this schedule (transformers raises too)", None)
    if total == 0:
        raise check.fail(WHERE, "num_training_steps", "must be > 0", total)
    if w > total:
        raise check.fail(WHERE, "num_warmup_steps", f"must be <= num_training_steps={total}", w)
    return w, total - w


def _cycles(num_cycles: Any, most: float | None = None) -> float:
    return check.number(WHERE, "num_cycles", num_cycles, ge=0, le=most)


def _min_rate(base: float, min_lr: Any, min_lr_rate: Any) -> float:
    """The floor as a fraction of lr; exactly one of `min_lr` and `min_lr_rate`, as transformers requires."""
    if min_lr is not None and min_lr_rate is not None:
        raise check.fail(WHERE, "min_lr", f"and min_lr_rate={min_lr_rate!r} cannot both be given", min_lr)
    if min_lr is None and min_lr_rate is None:
        raise check.fail(WHERE, "min_lr_rate", "or `min_lr` is required for this schedule", None)
    if min_lr_rate is not None:
        return check.number(WHERE, "min_lr_rate", min_lr_rate, ge=0, le=1)
    floor = check.number(WHERE, "min_lr", min_lr, ge=0)
    if base == 0.0 or floor > base:
        raise check.fail(WHERE, "min_lr", f"must be <= lr={base:g} and lr must be > 0", min_lr)
    return floor / base


def from_hf(
    name: str,
    lr: float,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    *,
    warmup_ratio: float | None = None,
    **kwargs: Any,
) -> Schedule:
    """The schedule ``transformers.get_scheduler(name, optimizer, num_warmup_steps, num_training_steps,
    scheduler_specific_kwargs=kwargs)`` sets on an optimizer whose learning rate is `lr`.

    ``s(t)`` equals the optimizer's lr after t calls of ``scheduler.step()``.  Names:
    linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup,
    inverse_sqrt, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay.
    The metric-driven reduce_lr_on_plateau and greedy raise ValueError (use lr.Plateau).

    Stricter than transformers: step counts are ints >= 0; num_warmup_steps <= num_training_steps
    (and < for polynomial, where transformers divides by zero at the end); num_cycles >= 0;
    min_lr, min_lr_rate, min_lr_ratio and warmup_lr_rate within [0, lr] or [0, 1]; power > 0;
    and keyword arguments the name does not take are refused (transformers ignores them for
    constant and constant_with_warmup).  Where transformers ignores a setting that would
    matter, the values stay transformers' and a UserWarning names it: num_warmup_steps > 0 for
    constant (no warmup happens), and for warmup_stable_decay a num_training_steps that disagrees
    with a given num_stable_steps or a num_cycles other than 0.5 with a decay_type other than cosine.

    Args:
        name: the transformers scheduler name (a string or ``SchedulerType``), e.g. "cosine".
        lr: the optimizer's learning rate (>= 0).
        num_warmup_steps: W, the warmup's length in steps (an int >= 0); None where the name takes
            none (transformers raises for a name that needs it, and so does this).
        num_training_steps: T, the total length in steps (an int >= 0); None as above.
        warmup_ratio: W as a fraction of T instead of `num_warmup_steps` (in [0, 1)): transformers'
            own rounding, ``W = ceil(T * warmup_ratio)`` (``TrainingArguments.get_warmup_steps``).
        **kwargs: transformers' ``scheduler_specific_kwargs`` (``num_cycles``, ``power``, ``min_lr``, ...).

    Returns:
        A ``Schedule``: ``s(t)`` is the optimizer's lr after t calls of ``scheduler.step()``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_hf("cosine", 1.0, num_warmup_steps=10, num_training_steps=110)
        >>> s(5), s(10), round(s(60), 6), round(s(110), 6)  # the cosine spans t = 10 ... 110
        (0.5, 1.0, 0.5, 0.0)
    """
    key = getattr(name, "value", name)  # transformers' SchedulerType is a str Enum
    builder = pick(WHERE, BUILDERS, METRIC_DRIVEN, key, "schedule")
    base = check.number(WHERE, "lr", lr, ge=0)
    warmup = None if num_warmup_steps is None else check.count(WHERE, "num_warmup_steps", num_warmup_steps)
    total = None if num_training_steps is None else check.count(WHERE, "num_training_steps", num_training_steps)
    if warmup_ratio is not None:
        ratio = check.number(WHERE, "warmup_ratio", warmup_ratio, ge=0, lt=1)
        if warmup is not None:
            raise check.fail(WHERE, "warmup_ratio", f"and num_warmup_steps={warmup} cannot both be given", ratio)
        if total is None:
            raise check.fail(WHERE, "warmup_ratio", "needs num_training_steps (the ratio is of it)", ratio)
        warmup = math.ceil(total * ratio)
    check_arguments(f"{WHERE}({key!r})", key, builder, kwargs, 3)
    return builder(base, warmup, total, **kwargs)
