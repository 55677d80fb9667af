"""Converter from optax: ``lr.from_optax(name, **kwargs)`` for every schedule in ``optax.schedules``.

Each builder below takes the optax function's own keyword arguments and
returns the lrcore schedule with the same values at every count t >= 0.
Nothing here imports optax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._internal import Schedule, check
from .._kinds import constant, cosine, exponential, interpolate, join, linear, piecewise_constant, polynomial, warmup
from ._common import Builder, call_builder, lr_value, positive


def _delayed(s: Schedule, begin: float, init: float) -> Schedule:
    """`init` until `begin`, then ``s(t - begin)``: optax's ``transition_begin``."""
    return join([constant(value=init), s], [begin]) if begin > 0 else s


def _ramp_up(w: str, s: Schedule, steps: float, init: float, peak: float) -> Schedule:
    """optax's linear warmup from `init` to `peak` = s(0) over `steps`, joined to s."""
    if steps == 0:
        return s  # join_schedules at boundary 0 shows only the second schedule
    if init > peak:
        raise check.fail(w, "init_value", f"must be <= peak_value={peak:g} (a warmup rises to its peak)", init)
    return warmup(s, steps=steps, start=init)


def _exponential(
    w: str, init: float, init_name: str, steps: Any, rate: Any, begin: Any, staircase: Any, end_value: Any
) -> Schedule:
    steps = positive(w, "transition_steps", steps)
    rate = positive(w, "decay_rate", rate)
    begin = check.number(w, "transition_begin", begin, ge=0)
    end = None if end_value is None else lr_value(w, "end_value", end_value)
    # optax clips with max() when decay_rate < 1 and with min() otherwise, from t = 0 on.
    if end is not None and rate < 1 and end > init:
        raise check.fail(w, "end_value", f"must be <= {init_name}={init:g} (a floor, as decay_rate < 1)", end_value)
    if end is not None and rate >= 1 and end < init:
        raise check.fail(w, "end_value", f"must be >= {init_name}={init:g} (a ceiling, as decay_rate >= 1)", end_value)
    decay = exponential(init=init, gamma=rate, every=steps, staircase=check.flag(w, "staircase", staircase), end=end)
    return _delayed(decay, begin, init)


def _cumulative(w: str, init: float, boundaries_and_scales: Any) -> tuple[list[float], list[float]]:
    """Sorted boundaries > 0 and the running products ``init * scale_1 * ... * scale_i``.

    A boundary at 0 scales the value from the start, so it folds into the first value.
    """
    if boundaries_and_scales is None:
        return [], [init]
    if not isinstance(boundaries_and_scales, Mapping):
        raise check.fail(w, "boundaries_and_scales", "must be a dict {step: scale}", boundaries_and_scales, TypeError)
    name = "boundaries_and_scales"
    bounds = check.numbers_(w, name, list(boundaries_and_scales.keys()), ge=0)
    scales = check.numbers_(w, name, list(boundaries_and_scales.values()), ge=0)
    values = [init]
    kept: list[float] = []
    for b, scale in sorted(zip(bounds, scales, strict=True)):
        v = scale * values[-1]  # optax's order of multiplication
        if b == 0:
            values[0] = v
        else:
            kept.append(b)
            values.append(v)
    return kept, values


def _whole_steps(w: str, name: str, x: Any) -> float:
    steps = positive(w, name, x)
    if steps != int(steps):
        raise check.fail(w, name, "must be a whole number of steps (optax truncates the phase lengths to int)", x)
    return steps


# ---------------------------------------------------------------------------
# One builder per optax name, with optax's argument names and defaults.


def _constant_schedule(w: str, *, value: Any) -> Schedule:
    return constant(value=lr_value(w, "value", value))


def _polynomial_schedule(
    w: str, *, init_value: Any, end_value: Any, power: Any, transition_steps: Any, transition_begin: Any = 0
) -> Schedule:
    init, end = lr_value(w, "init_value", init_value), lr_value(w, "end_value", end_value)
    power = positive(w, "power", power)
    steps = check.number(w, "transition_steps", transition_steps)
    begin = check.number(w, "transition_begin", transition_begin, ge=0)
    if steps <= 0:
        return constant(value=init)  # optax documents this: the transition is disabled
    if power == 1:
        ramp = linear(start=init, end=end, steps=steps)
    else:
        ramp = polynomial(init=init, end=end, steps=steps, power=power)
    return _delayed(ramp, begin, init)


def _linear_schedule(
    w: str, *, init_value: Any, end_value: Any, transition_steps: Any, transition_begin: Any = 0
) -> Schedule:
    return _polynomial_schedule(
        w,
        init_value=init_value,
        end_value=end_value,
        power=1,
        transition_steps=transition_steps,
        transition_begin=transition_begin,
    )


def _exponential_decay(
    w: str,
    *,
    init_value: Any,
    transition_steps: Any,
    decay_rate: Any,
    transition_begin: Any = 0,
    staircase: Any = False,
    end_value: Any = None,
) -> Schedule:
    init = lr_value(w, "init_value", init_value)
    return _exponential(w, init, "init_value", transition_steps, decay_rate, transition_begin, staircase, end_value)


def _cosine_decay_schedule(
    w: str, *, init_value: Any, decay_steps: Any, alpha: Any = 0.0, exponent: Any = 1.0
) -> Schedule:
    init = lr_value(w, "init_value", init_value)
    alpha = check.number(w, "alpha", alpha, ge=0, le=1)  # the floor as a fraction of init_value
    return cosine(
        init=init,
        steps=positive(w, "decay_steps", decay_steps),
        final=alpha * init,
        exponent=positive(w, "exponent", exponent),
    )


def _warmup_cosine_decay_schedule(
    w: str,
    *,
    init_value: Any,
    peak_value: Any,
    warmup_steps: Any,
    decay_steps: Any,
    end_value: Any = 0.0,
    exponent: Any = 1.0,
) -> Schedule:
    init, peak = lr_value(w, "init_value", init_value), lr_value(w, "peak_value", peak_value)
    warm = check.number(w, "warmup_steps", warmup_steps, ge=0)
    total = check.number(w, "decay_steps", decay_steps)
    if not total > warm:
        raise check.fail(w, "decay_steps", f"must be > warmup_steps={warm:g} (it includes the warmup)", decay_steps)
    end = lr_value(w, "end_value", end_value)
    if end > peak:
        raise check.fail(w, "end_value", f"must be <= peak_value={peak:g} (the floor of the decay)", end_value)
    decay = cosine(init=peak, steps=total - warm, final=end, exponent=positive(w, "exponent", exponent))
    return _ramp_up(w, decay, warm, init, peak)


def _warmup_exponential_decay_schedule(
    w: str,
    *,
    init_value: Any,
    peak_value: Any,
    warmup_steps: Any,
    transition_steps: Any,
    decay_rate: Any,
    transition_begin: Any = 0,
    staircase: Any = False,
    end_value: Any = None,
) -> Schedule:
    init, peak = lr_value(w, "init_value", init_value), lr_value(w, "peak_value", peak_value)
    warm = check.number(w, "warmup_steps", warmup_steps, ge=0)
    decay = _exponential(w, peak, "peak_value", transition_steps, decay_rate, transition_begin, staircase, end_value)
    return _ramp_up(w, decay, warm, init, peak)


def _warmup_constant_schedule(w: str, *, init_value: Any, peak_value: Any, warmup_steps: Any) -> Schedule:
    init, peak = lr_value(w, "init_value", init_value), lr_value(w, "peak_value", peak_value)
    # optax turns warmup_steps=0 into a constant init_value, dropping peak_value.
    steps = check.number(w, "warmup_steps", warmup_steps, gt=0)
    return _ramp_up(w, constant(value=peak), steps, init, peak)


def _piecewise_constant_schedule(w: str, *, init_value: Any, boundaries_and_scales: Any = None) -> Schedule:
    bounds, values = _cumulative(w, lr_value(w, "init_value", init_value), boundaries_and_scales)
    return piecewise_constant(boundaries=bounds, values=values) if bounds else constant(value=values[0])


def _piecewise_interpolate_schedule(
    w: str, *, interpolate_type: Any, init_value: Any, boundaries_and_scales: Any = None
) -> Schedule:
    shape = check.choice(w, "interpolate_type", interpolate_type, ("linear", "cosine"))
    bounds, values = _cumulative(w, lr_value(w, "init_value", init_value), boundaries_and_scales)
    times = [0.0, *bounds]
    if any(b - a < 1 for a, b in zip(times, times[1:], strict=False)):
        # optax divides by max(interval, 1): a shorter interval would never reach its end value.
        rule = "must have boundaries at least 1 apart (and from 0)"
        raise check.fail(w, "boundaries_and_scales", rule, boundaries_and_scales)
    if not bounds:
        return constant(value=values[0])
    return interpolate(points=list(zip(times, values, strict=True)), shape=shape)


def _onecycle_levels(
    w: str, transition_steps: Any, peak_value: Any, pct_start: Any, div_factor: Any, final_div_factor: Any
) -> tuple[float, float, float, float, int]:
    """The one-cycle arguments both optax builders share: total, peak, div, final div, int(pct_start * total)."""
    total = _whole_steps(w, "transition_steps", transition_steps)
    peak, div = lr_value(w, "peak_value", peak_value), positive(w, "div_factor", div_factor)
    fdiv = positive(w, "final_div_factor", final_div_factor)
    up = int(check.number(w, "pct_start", pct_start, ge=0) * total)
    return total, peak, div, fdiv, up


def _linear_onecycle_schedule(
    w: str,
    *,
    transition_steps: Any,
    peak_value: Any,
    pct_start: Any = 0.3,
    pct_final: Any = 0.85,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Schedule:
    total, peak, div, fdiv, up = _onecycle_levels(
        w, transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    down = int(check.number(w, "pct_final", pct_final) * total)
    # Equal truncated steps would collide as keys of optax's dict and silently drop a phase.
    if not up < down:
        rule = f"must give int(pct_final * transition_steps) > int(pct_start * transition_steps) = {up}"
        raise check.fail(w, "pct_final", rule, pct_final)
    if not down < total:
        rule = f"must give int(pct_final * transition_steps) < transition_steps={total:g}"
        raise check.fail(w, "pct_final", rule, pct_final)
    scales = {up: div, down: 1 / div, total: 1 / fdiv}
    return _piecewise_interpolate_schedule(
        w, interpolate_type="linear", init_value=peak / div, boundaries_and_scales=scales
    )


def _cosine_onecycle_schedule(
    w: str,
    *,
    transition_steps: Any,
    peak_value: Any,
    pct_start: Any = 0.3,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
) -> Schedule:
    total, peak, div, fdiv, up = _onecycle_levels(
        w, transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    if not up < total:
        rule = f"must give int(pct_start * transition_steps) < transition_steps={total:g}"
        raise check.fail(w, "pct_start", rule, pct_start)
    scales = {up: div, total: 1 / (div * fdiv)}
    return _piecewise_interpolate_schedule(
        w, interpolate_type="cosine", init_value=peak / div, boundaries_and_scales=scales
    )


def _sgdr_schedule(w: str, *, cosine_kwargs: Any) -> Schedule:
    cycles = check.sequence(w, "cosine_kwargs", cosine_kwargs)
    if not cycles:
        rule = "must hold at least one dict of warmup_cosine_decay_schedule arguments"
        raise check.fail(w, "cosine_kwargs", rule, cosine_kwargs)
    parts, ends = [], [0.0]
    for kwargs in cycles:
        parts.append(call_builder("from_optax", BUILDERS, INSTEAD, "warmup_cosine_decay_schedule", kwargs))
        ends.append(ends[-1] + float(kwargs["decay_steps"]))
    return join(parts, ends[1:-1]) if len(parts) > 1 else parts[0]


def _join_schedules(w: str, *, schedules: Any, boundaries: Any) -> Schedule:
    items = check.sequence(w, "schedules", schedules)
    if not items:
        raise check.fail(w, "schedules", "must hold at least one (name, kwargs) pair", schedules)
    parts = []
    for i, item in enumerate(items):
        if isinstance(item, (str, bytes)) or not isinstance(item, (list, tuple)) or len(item) != 2:
            raise check.fail(w, f"schedules[{i}]", "must be a (name, kwargs) pair", item, TypeError)
        parts.append(call_builder("from_optax", BUILDERS, INSTEAD, item[0], item[1]))
    bounds = check.numbers_(w, "boundaries", boundaries, ge=0, increasing="strictly")
    if len(bounds) != len(parts) - 1:
        # optax zips them and would silently ignore the extra schedules or boundaries.
        raise check.fail(w, "boundaries", f"must have len(schedules) - 1 = {len(parts) - 1} elements", boundaries)
    if bounds and bounds[0] == 0:
        parts, bounds = parts[1:], bounds[1:]  # the schedule from boundary 0 hides the first one
    return join(parts, bounds) if bounds else parts[0]


BUILDERS: dict[str, Builder] = {
    "constant_schedule": _constant_schedule,
    "linear_schedule": _linear_schedule,
    "polynomial_schedule": _polynomial_schedule,
    "exponential_decay": _exponential_decay,
    "cosine_decay_schedule": _cosine_decay_schedule,
    "warmup_cosine_decay_schedule": _warmup_cosine_decay_schedule,
    "warmup_exponential_decay_schedule": _warmup_exponential_decay_schedule,
    "warmup_constant_schedule": _warmup_constant_schedule,
    "piecewise_constant_schedule": _piecewise_constant_schedule,
    "piecewise_interpolate_schedule": _piecewise_interpolate_schedule,
    "linear_onecycle_schedule": _linear_onecycle_schedule,
    "cosine_onecycle_schedule": _cosine_onecycle_schedule,
    "sgdr_schedule": _sgdr_schedule,
    "join_schedules": _join_schedules,
}

INSTEAD = {
    "inject_hyperparams": "wrap an lrcore schedule with lrcore.adapters.optax.schedule(s) and inject that",
    "inject_stateful_hyperparams": "wrap an lrcore schedule with lrcore.adapters.optax.schedule(s) and inject that",
    "reduce_on_plateau": "it follows a metric, not the step count: use lr.Plateau",
}


def from_optax(name: str, /, **kwargs: Any) -> Schedule:
    """The lrcore schedule equal to ``getattr(optax.schedules, name)(**kwargs)`` at every count t >= 0.

    `name` is one of constant_schedule, linear_schedule, polynomial_schedule,
    exponential_decay, cosine_decay_schedule, warmup_cosine_decay_schedule,
    warmup_exponential_decay_schedule, warmup_constant_schedule,
    piecewise_constant_schedule, piecewise_interpolate_schedule,
    linear_onecycle_schedule, cosine_onecycle_schedule, sgdr_schedule and
    join_schedules (``schedules=[(name, kwargs), ...]``, ``boundaries=[...]``);
    kwargs are optax's own, with its defaults.  The formulas are optax's:

    - polynomial: ``(I - E) * (1 - clip(t - B, 0, T) / T) ** power + E`` (linear: power 1);
      ``transition_steps <= 0`` gives the constant `init_value`, as optax documents.
    - exponential_decay: ``I * rate ** ((t - B) / T)`` (floored if staircase) for
      t > B, else I; `end_value` bounds it (a floor when rate < 1, else a ceiling).
    - cosine_decay: ``I * ((1 - alpha) * (0.5 * (1 + cos(pi * min(t, T) / T))) ** exponent + alpha)``.
    - warmup_*: a linear ramp from `init_value` to `peak_value` over `warmup_steps`,
      then the decay on ``t - warmup_steps``; warmup_cosine's `decay_steps`
      includes the warmup.
    - piecewise_constant: `init_value` times every scale whose boundary is <= t
      (the value switches AT the boundary); piecewise_interpolate: linear or
      cosine between those running products; the one-cycle schedules are
      optax's piecewise_interpolate with boundaries ``int(pct * transition_steps)``.
    - sgdr: warmup_cosine_decay cycles joined end to end; join_schedules:
      schedule i sees ``t - boundaries[i - 1]``.

    Rejected with a ValueError where optax logs and falls back, or silently
    computes something its own documentation rules out: exponential_decay with
    ``transition_steps <= 0`` or ``decay_rate <= 0`` (optax returns the constant
    init_value for 0), negative ``transition_begin`` or ``warmup_steps``;
    ``warmup_constant_schedule(warmup_steps=0)`` (optax then holds init_value and
    never reaches peak_value); a warmup with ``init_value > peak_value``; an
    `end_value` on the wrong side of the value it bounds; ``alpha`` outside
    [0, 1] and warmup_cosine's ``end_value > peak_value`` (a floor above the
    peak); negative or less-than-one-step-apart interpolation boundaries;
    one-cycle phase boundaries that truncate to the same step (optax's dict
    would drop a phase) and non-whole ``transition_steps``; join boundaries that
    are negative, not increasing, or not one fewer than the schedules.

    Args:
        name: the schedule function's name in ``optax.schedules``, e.g. "warmup_cosine_decay_schedule".
        **kwargs: the function's own keyword arguments, with optax's defaults; step counts
            (``decay_steps``, ``warmup_steps``, ``transition_steps``, ...) are in optimizer updates.

    Returns:
        A ``Schedule``: ``s(t)`` is the optax schedule's value at count t.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_optax(
        ...     "warmup_cosine_decay_schedule", init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=110
        ... )
        >>> s(5), s(10), round(s(60), 6), round(s(110), 6)  # decay_steps includes the warmup
        (0.5, 1.0, 0.5, 0.0)
    """
    return call_builder("from_optax", BUILDERS, INSTEAD, name, kwargs)
