"""Every schedule kind and combinator: its record, constructor and horizon.

Each ``@register`` gives one kind's record (``_schedule.Kind``): the kernel
formula it encodes to (whose arguments are its layout), the layout entries
derived from its parameters, and its horizon.  The constructor below it checks
all of its arguments and returns a ``Schedule`` node.  The formulas themselves
live once, in ``_kernel``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from . import _kernel as K
from . import _validate as check
from ._schedule import Schedule, register

SHAPES = {"linear": K.SHAPE_LINEAR, "cosine": K.SHAPE_COSINE, "sqrt": K.SHAPE_SQRT, "exponential": K.SHAPE_EXPONENTIAL}
CYCLIC_MODES = {"triangular": K.TRIANGULAR, "triangular2": K.TRIANGULAR2, "exp_range": K.EXP_RANGE}
ANNEALS = {"cos": K.ANNEAL_COS, "linear": K.ANNEAL_LINEAR}


def _node(kind: str, **params: Any) -> Schedule:
    return Schedule._make(kind, tuple(params.items()))


def _code(name: str, codes: dict[str, int]) -> Callable[[Schedule], int]:
    """A choice parameter as the kernel's code for it."""
    return lambda s: codes[s[name]]


def _length(name: str) -> Callable[[Schedule], int]:
    return lambda s: len(s[name])


def _schedule_arg(where: str, name: str, value: Any) -> Schedule:
    if not isinstance(value, Schedule):
        raise check.fail(where, name, "must be an lrcore Schedule", value, TypeError)
    return value


def _fixed(value: float) -> Callable[[Schedule], float | None]:
    return lambda s: value


def _param(name: str) -> Callable[[Schedule], float | None]:
    return lambda s: s[name]


def _unbounded(s: Schedule) -> float | None:
    return None


def _later(b: float, h: float) -> float:
    """The first float x >= b + h at which a child started at b sees x - b >= h."""
    x = b + h
    while x - b < h:
        x = math.nextafter(x, math.inf)
    return x


# ---------------------------------------------------------------------------
# Leaves


@register("constant", formula=K.constant, horizon=_fixed(0.0))
def constant(*, value: float) -> Schedule:
    """The same learning rate at every step.

    Args:
        value: the learning rate (>= 0).

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.constant(value=0.1)
        >>> s(0), s(1_000_000)
        (0.1, 0.1)
    """
    return _node("constant", value=check.number("constant", "value", value, ge=0))


@register("linear", formula=K.linear, horizon=_param("steps"))
def linear(*, start: float, end: float, steps: float) -> Schedule:
    """``start + (end - start) * t / steps`` until `steps`, then `end`.

    Args:
        start: the value at t = 0 (>= 0).
        end: the value reached at t = steps and held after (>= 0).
        steps: the length of the ramp, in steps (> 0; need not be whole).

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.linear(start=0.1, end=0.0, steps=100)
        >>> s(0), s(50), s(100), s(1_000)  # halfway: the mean of start and end
        (0.1, 0.05, 0.0, 0.0)
    """
    w = "linear"
    return _node(
        w,
        start=check.number(w, "start", start, ge=0),
        end=check.number(w, "end", end, ge=0),
        steps=check.number(w, "steps", steps, gt=0),
    )


def _step_horizon(s: Schedule) -> float | None:
    if s["gamma"] == 1.0 or s["init"] == 0.0:
        return 0.0
    return s["step_size"] if s["gamma"] == 0.0 else None


@register("step", formula=K.step, horizon=_step_horizon)
def step(*, init: float, step_size: float, gamma: float = 0.1) -> Schedule:
    """``init * gamma ** floor(t / step_size)`` (PyTorch StepLR); unbounded in t.

    Args:
        init: the value for t < step_size (>= 0).
        step_size: the steps between two decays (> 0).
        gamma: the factor applied at every multiple of `step_size` (>= 0); default 0.1, as PyTorch's.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.step(init=1.0, step_size=10, gamma=0.5)
        >>> s(9), s(10), s(25)
        (1.0, 0.5, 0.25)
    """
    w = "step"
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        step_size=check.number(w, "step_size", step_size, gt=0),
        gamma=check.number(w, "gamma", gamma, ge=0),
    )


def _multistep_horizon(s: Schedule) -> float | None:
    ms = s["milestones"]
    if not ms or s["gamma"] == 1.0 or s["init"] == 0.0:
        return 0.0
    return ms[0] if s["gamma"] == 0.0 else ms[-1]


@register(
    "multistep",
    formula=K.multistep,
    rest=("milestones",),
    derive={"m": _length("milestones")},
    horizon=_multistep_horizon,
)
def multistep(*, init: float, milestones: Sequence[float], gamma: float = 0.1) -> Schedule:
    """``init * gamma ** (number of milestones <= t)``; a repeated milestone counts twice.

    Args:
        init: the value before the first milestone (>= 0).
        milestones: the steps at which the value is multiplied by `gamma` (each >= 0, non-decreasing;
            empty gives a constant `init`).
        gamma: the factor applied at each milestone (>= 0); default 0.1, as PyTorch's MultiStepLR.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.multistep(init=1.0, milestones=[30, 80], gamma=0.5)
        >>> s(29), s(30), s(80)
        (1.0, 0.5, 0.25)
    """
    w = "multistep"
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        milestones=check.numbers_(w, "milestones", milestones, ge=0, increasing="weakly"),
        gamma=check.number(w, "gamma", gamma, ge=0),
    )


def _exponential_horizon(s: Schedule) -> float | None:
    init, gamma, end = s["init"], s["gamma"], s["end"]
    if gamma == 1.0 or init == 0.0:
        return 0.0
    if end is None:
        return None
    if end == 0.0 or (gamma < 1.0 and init <= end) or (gamma > 1.0 and init >= end):
        return None if end == 0.0 else 0.0
    ratio = end / init
    if not 0.0 < ratio < math.inf:  # end / init over- or underflows for subnormal values
        return None
    exponent = math.log(ratio) / math.log(gamma)
    every = s["every"]
    # Round outwards: the exact crossing may sit a few ulps past the float estimate.
    if s["staircase"]:
        steps = math.ceil(exponent * (1 + 1e-12))
        h = every * steps
        while h // every < steps:  # the kernel floors t / every exactly, as Python's //
            h = math.nextafter(h, math.inf)
        return h
    return every * exponent * (1 + 1e-12)


@register(
    "exponential",
    formula=K.exponential,
    derive={"has_end": lambda s: s["end"] is not None, "end": lambda s: s["end"] or 0.0},
    horizon=_exponential_horizon,
)
def exponential(
    *, init: float, gamma: float, every: float = 1.0, staircase: bool = False, end: float | None = None
) -> Schedule:
    """``init * gamma ** (t / every)`` (floored exponent if `staircase`).

    `end` bounds the value: from below when gamma < 1, from above when gamma > 1.

    Args:
        init: the value at t = 0 (>= 0).
        gamma: the factor per `every` steps (> 0): below 1 decays, above 1 grows.
        every: the steps over which the value is multiplied by `gamma` (> 0); default 1, every step.
        staircase: floor ``t / every``, so the value changes only at multiples of `every`; default
            False, a smooth curve.
        end: the floor (gamma < 1, <= init) or ceiling (gamma > 1, >= init) of the value; default
            None, no bound.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.exponential(init=1.0, gamma=0.5, every=10)
        >>> s(10), s(20), round(s(5), 6)  # t = 5: 0.5 ** 0.5
        (0.5, 0.25, 0.707107)
        >>> lr.exponential(init=1.0, gamma=0.5, every=10, end=0.1)(40)  # 0.0625, floored at end
        0.1
    """
    w = "exponential"
    init = check.number(w, "init", init, ge=0)
    gamma = check.number(w, "gamma", gamma, gt=0)
    if end is not None:
        end = check.number(w, "end", end, ge=0)
        if gamma < 1.0 and end > init:
            raise check.fail(w, "end", f"must be <= init={init:g} when gamma < 1 (it is a floor)", end)
        if gamma > 1.0 and end < init:
            raise check.fail(w, "end", f"must be >= init={init:g} when gamma > 1 (it is a ceiling)", end)
    return _node(
        w,
        init=init,
        gamma=gamma,
        every=check.number(w, "every", every, gt=0),
        staircase=check.flag(w, "staircase", staircase),
        end=end,
    )


@register(
    "inverse_time", formula=K.inverse_time, horizon=lambda s: 0.0 if s["rate"] == 0.0 or s["init"] == 0.0 else None
)
def inverse_time(*, init: float, rate: float, every: float = 1.0, staircase: bool = False) -> Schedule:
    """``init / (1 + rate * t / every)`` (floored t / every if `staircase`); Keras InverseTimeDecay.

    Args:
        init: the value at t = 0 (>= 0).
        rate: the decay rate (>= 0; 0 gives a constant).
        every: the steps that make one unit of decay time (> 0); default 1.
        staircase: floor ``t / every`` (the value changes only at multiples of `every`); default False.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.inverse_time(init=1.0, rate=1.0, every=10)
        >>> s(0), s(10), s(30)
        (1.0, 0.5, 0.25)
    """
    w = "inverse_time"
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        rate=check.number(w, "rate", rate, ge=0),
        every=check.number(w, "every", every, gt=0),
        staircase=check.flag(w, "staircase", staircase),
    )


@register("polynomial", formula=K.polynomial, horizon=lambda s: None if s["cycle"] else s["steps"])
def polynomial(
    *,
    init: float,
    end: float,
    steps: float,
    power: float = 1.0,
    cycle: bool = False,
    k_decay: float = 1.0,
) -> Schedule:
    """``(init - end) * (1 - p) ** power + end`` with ``p = (min(t, steps) / steps) ** k_decay``.

    `cycle` (as Keras): past `steps` the horizon grows to the next multiple of
    `steps`, so the value jumps back up and decays again.  `k_decay` is timm's
    k-decay exponent on the progress.

    Args:
        init: the value at t = 0 (>= 0).
        end: the value reached at t = steps (>= 0), held after unless `cycle`.
        steps: the length of the decay, in steps (> 0).
        power: the polynomial's power (> 0); default 1, a straight line.
        cycle: restart the decay past `steps` over the next multiple of `steps`; default False.
        k_decay: the exponent on the progress (> 0); default 1, the progress itself.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.polynomial(init=1.0, end=0.0, steps=100, power=2)
        >>> s(50), s(100), s(200)  # halfway: (1 - 0.5) ** 2
        (0.25, 0.0, 0.0)
        >>> lr.polynomial(init=1.0, end=0.0, steps=100, cycle=True)(150)  # decaying over 200 steps now
        0.25
    """
    w = "polynomial"
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        end=check.number(w, "end", end, ge=0),
        steps=check.number(w, "steps", steps, gt=0),
        power=check.number(w, "power", power, gt=0),
        cycle=check.flag(w, "cycle", cycle),
        k_decay=check.number(w, "k_decay", k_decay, gt=0),
    )


def _plain_cosine(s: Schedule) -> bool:
    return s["exponent"] == 1.0 and s["k_decay"] == 1.0 and not s["periodic"]


@register(
    "cosine",
    formula=K.cosine,
    variants=((_plain_cosine, K.cosine_plain),),
    horizon=lambda s: None if s["periodic"] else s["steps"],
)
def cosine(
    *,
    init: float,
    steps: float,
    final: float = 0.0,
    exponent: float = 1.0,
    k_decay: float = 1.0,
    periodic: bool = False,
) -> Schedule:
    """``final + (init - final) * (0.5 * (1 + cos(pi * p))) ** exponent``, ``p = (min(t, steps) / steps) ** k_decay``.

    Holds `final` from t = steps on, unless `periodic`: then the cosine wave goes
    on (back up to `init` at 2 * steps), as PyTorch's CosineAnnealingLR does.

    Args:
        init: the value at t = 0 (>= 0).
        steps: the length of the decay, in steps (> 0).
        final: the value reached at t = steps (>= 0); default 0.
        exponent: the power on the cosine factor (> 0); default 1, the plain cosine.
        k_decay: the exponent on the progress (> 0; must be 1 when `periodic`); default 1.
        periodic: go on past `steps` as a wave instead of holding `final`; default False.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cosine(init=1.0, steps=100, final=0.1)
        >>> s(0), round(s(50), 6), s(100), s(1_000)  # halfway: the mean of init and final
        (1.0, 0.55, 0.1, 0.1)
        >>> lr.cosine(init=1.0, steps=100, periodic=True)(200)  # back up at 2 * steps
        1.0
    """
    w = "cosine"
    periodic = check.flag(w, "periodic", periodic)
    k_decay = check.number(w, "k_decay", k_decay, gt=0)
    if periodic and k_decay != 1.0:
        raise check.fail(w, "k_decay", "must be 1 when periodic=True", k_decay)
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        steps=check.number(w, "steps", steps, gt=0),
        final=check.number(w, "final", final, ge=0),
        exponent=check.number(w, "exponent", exponent, gt=0),
        k_decay=k_decay,
        periodic=periodic,
    )


@register("cosine_restarts", formula=K.cosine_restarts, horizon=_unbounded)
def cosine_restarts(
    *,
    init: float,
    period: float,
    final: float = 0.0,
    period_mult: float = 1.0,
    decay: float = 1.0,
    k_decay: float = 1.0,
) -> Schedule:
    """SGDR: cycle i lasts ``period * period_mult ** i`` and anneals from ``init * decay ** i`` to `final`.

    Args:
        init: the value at t = 0, the start of the first cycle (>= 0).
        period: the length of the first cycle, in steps (> 0).
        final: the value each cycle anneals towards (>= 0); default 0.
        period_mult: the factor on each next cycle's length (>= 1); default 1, equal cycles.
        decay: the factor on each next cycle's starting value (>= 0); default 1, every restart at `init`.
        k_decay: the exponent on the progress within a cycle (> 0); default 1.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cosine_restarts(init=1.0, period=100, period_mult=2, decay=0.5)
        >>> round(s(50), 6), s(100), round(s(200), 6)  # cycle 1 spans t = 100 ... 300, from 0.5
        (0.5, 0.5, 0.25)
    """
    w = "cosine_restarts"
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        period=check.number(w, "period", period, gt=0),
        final=check.number(w, "final", final, ge=0),
        period_mult=check.number(w, "period_mult", period_mult, ge=1),
        decay=check.number(w, "decay", decay, ge=0),
        k_decay=check.number(w, "k_decay", k_decay, gt=0),
    )


@register("one_cycle", formula=K.one_cycle, derive={"anneal": _code("anneal", ANNEALS)}, horizon=_param("steps"))
def one_cycle(
    *,
    peak: float,
    steps: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    """1cycle: peak/div_factor -> peak at pct_start*steps -> peak/(div_factor*final_div_factor) at steps.

    `three_phase` goes back down to peak/div_factor at 2*pct_start*steps before
    the final annealing.  `anneal` is "cos" or "linear".  Holds its end value.

    Args:
        peak: the largest value, reached at t = pct_start * steps (>= 0).
        steps: the length of the whole cycle, in steps (> 0).
        pct_start: the fraction of `steps` spent rising (in (0, 1), or (0, 0.5) if `three_phase`);
            default 0.3.
        div_factor: the start value is ``peak / div_factor`` (> 0); default 25.
        final_div_factor: the end value is ``peak / (div_factor * final_div_factor)`` (> 0); default 1e4.
        anneal: the shape of every phase, "cos" (default) or "linear".
        three_phase: come back down to the start value before the final annealing; default False.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.one_cycle(peak=1.0, steps=100)
        >>> round(s(0), 9), s(30), round(s(100), 9)  # 1 / 25, then 1 / 25 / 1e4
        (0.04, 1.0, 4e-06)
        >>> round(lr.one_cycle(peak=1.0, steps=100, anneal="linear")(15), 9)  # halfway up: (0.04 + 1) / 2
        0.52
    """
    w = "one_cycle"
    three_phase = check.flag(w, "three_phase", three_phase)
    limit = 0.5 if three_phase else 1.0
    pct = check.number(w, "pct_start", pct_start, gt=0, lt=limit)
    peak = check.number(w, "peak", peak, ge=0)
    div_factor = check.number(w, "div_factor", div_factor, gt=0)
    final_div_factor = check.number(w, "final_div_factor", final_div_factor, gt=0)
    initial = peak / div_factor
    if not math.isfinite(initial):
        raise check.fail(w, "div_factor", f"must leave peak / div_factor finite (peak={peak:g})", div_factor)
    if not math.isfinite(initial / final_div_factor):
        raise check.fail(
            w, "final_div_factor", f"must leave peak / div_factor / final_div_factor finite (peak={peak:g}, "
            f"div_factor={div_factor:g})", final_div_factor,
        )
    return _node(
        w,
        peak=peak,
        steps=check.number(w, "steps", steps, gt=0),
        pct_start=pct,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        anneal=check.choice(w, "anneal", anneal, ("cos", "linear")),
        three_phase=three_phase,
    )


@register(
    "cyclic",
    formula=K.cyclic,
    derive={
        "step_down": lambda s: s["step_up"] if s["step_down"] is None else s["step_down"],
        "mode": _code("mode", CYCLIC_MODES),
    },
    horizon=_unbounded,
)
def cyclic(
    *,
    base: float,
    peak: float,
    step_up: float,
    step_down: float | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """PyTorch's CyclicLR: a triangle wave between `base` and `peak`.

    `mode` "triangular2" halves the amplitude each cycle, "exp_range" scales it
    by ``gamma ** t``.  `step_down` defaults to `step_up`; 0 makes a sawtooth.

    Args:
        base: the value at the start of each cycle (>= 0).
        peak: the value at the top of the first cycle (>= 0).
        step_up: the steps from `base` to `peak` (> 0).
        step_down: the steps from `peak` back to `base` (>= 0); default None, the same as `step_up`.
        mode: "triangular" (default), "triangular2" or "exp_range".
        gamma: the amplitude's factor per step in "exp_range" mode (> 0); default 1, the only value the
            other modes take (they have no envelope, so another gamma raises ValueError).

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cyclic(base=0.1, peak=1.0, step_up=10)
        >>> s(0), round(s(5), 6), s(10), s(20)
        (0.1, 0.55, 1.0, 0.1)
        >>> lr.cyclic(base=0.0, peak=1.0, step_up=10, mode="triangular2")(30)  # the second peak, halved
        0.5
    """
    w = "cyclic"
    base = check.number(w, "base", base, ge=0)
    peak = check.number(w, "peak", peak, ge=0)
    mode = check.choice(w, "mode", mode, tuple(CYCLIC_MODES))
    gamma = check.number(w, "gamma", gamma, gt=0)
    if mode != "exp_range" and gamma != 1.0:
        # PyTorch ignores gamma here; a configured decay that never happens is refused instead.
        raise check.fail(w, "gamma", f"only applies to mode='exp_range' (mode={mode!r} has no envelope)", gamma)
    if mode == "exp_range" and gamma > 1.0 and peak < base:
        # The growing envelope would take an inverted wave below 0.
        raise check.fail(w, "gamma", f"must be <= 1 for mode='exp_range' when peak={peak:g} < base={base:g}", gamma)
    step_up = check.number(w, "step_up", step_up, gt=0)
    if step_down is None:
        if not math.isfinite(2.0 * step_up):
            raise check.fail(w, "step_up", "must leave the period 2 * step_up finite", step_up)
    else:
        step_down = check.number(w, "step_down", step_down, ge=0)
        if not math.isfinite(step_up + step_down):
            raise check.fail(w, "step_down", f"plus step_up={step_up:g} (the period) must be finite", step_down)
    return _node(w, base=base, peak=peak, step_up=step_up, step_down=step_down, mode=mode, gamma=gamma)


@register(
    "piecewise_constant",
    formula=K.piecewise_constant,
    rest=("boundaries", "values"),
    derive={"m": _length("boundaries")},
    horizon=lambda s: s["boundaries"][-1] if s["boundaries"] else 0.0,
)
def piecewise_constant(*, boundaries: Sequence[float], values: Sequence[float]) -> Schedule:
    """``values[i]`` on ``[boundaries[i-1], boundaries[i])``: the value switches at each boundary.

    Args:
        boundaries: the steps at which the value switches (each > 0, strictly increasing).
        values: the value on each piece (each >= 0), one more than `boundaries`.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.piecewise_constant(boundaries=[10, 20], values=[1.0, 0.5, 0.1])
        >>> s(9), s(10), s(20)
        (1.0, 0.5, 0.1)
    """
    w = "piecewise_constant"
    bs = check.numbers_(w, "boundaries", boundaries, gt=0, increasing="strictly")
    vs = check.numbers_(w, "values", values, ge=0)
    if len(vs) != len(bs) + 1:
        raise check.fail(w, "values", f"must have len(boundaries) + 1 = {len(bs) + 1} elements", values)
    return _node(w, boundaries=bs, values=vs)


@register(
    "interpolate",
    formula=K.interpolate,
    rest=("times", "values"),
    derive={
        "shape": _code("shape", SHAPES),
        "m": _length("points"),
        "times": lambda s: [p[0] for p in s["points"]],
        "values": lambda s: [p[1] for p in s["points"]],
    },
    horizon=lambda s: s["points"][-1][0],
)
def interpolate(*, points: Sequence[Sequence[float]], shape: str = "linear") -> Schedule:
    """Through the (t, value) `points`, the first at t = 0; holds the last value.

    `shape` "linear" or "cosine" (a half cosine between neighbouring points).

    Args:
        points: (t, value) pairs, t in steps starting at 0 and strictly increasing, values >= 0.
        shape: "linear" (default) or "cosine".

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.interpolate(points=[(0, 0.0), (10, 1.0), (30, 0.0)])
        >>> s(5), s(10), s(20), s(100)
        (0.5, 1.0, 0.5, 0.0)
    """
    w = "interpolate"
    items = check.sequence(w, "points", points)
    if not items:
        raise check.fail(w, "points", "must have at least one (t, value) pair", points)
    pairs = []
    for i, item in enumerate(items):
        if isinstance(item, (str, bytes)) or not isinstance(item, (list, tuple)) or len(item) != 2:
            raise check.fail(w, "points", f"must hold (t, value) pairs (element {i} is {item!r})", points, TypeError)
        pairs.append(item)
    ts = check.numbers_(w, "points", [p[0] for p in pairs], ge=0, increasing="strictly")
    vs = check.numbers_(w, "points", [p[1] for p in pairs], ge=0)
    if ts[0] != 0.0:
        raise check.fail(w, "points", f"must start at t=0 (the first point is at t={ts[0]:g})", points)
    return _node(w, points=tuple(zip(ts, vs, strict=True)), shape=check.choice(w, "shape", shape, ("linear", "cosine")))


def _timescale(s: Schedule) -> float:
    if s["timescale"] is not None:
        return float(s["timescale"])
    return s["warmup"] if s["warmup"] > 0 else 10_000.0


@register(
    "inverse_sqrt",
    formula=K.inverse_sqrt,
    derive={"timescale": _timescale},
    horizon=lambda s: 0.0 if s["peak"] == 0.0 else None,
)
def inverse_sqrt(*, peak: float, warmup: float, timescale: float | None = None) -> Schedule:
    """Linear warmup from 0 to `peak`, then ``peak / sqrt((t - warmup + timescale) / timescale)``.

    `timescale` defaults to `warmup`, or 10 000 when warmup is 0.

    Args:
        peak: the value at t = warmup (>= 0).
        warmup: the length of the linear warmup, in steps (>= 0; 0 starts at `peak`).
        timescale: the steps after the warmup over which the value falls by a factor sqrt(2) (> 0);
            default None, as above.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.inverse_sqrt(peak=1.0, warmup=100)
        >>> s(50), s(100), s(400)  # t = 400: 1 / sqrt(4)
        (0.5, 1.0, 0.5)
    """
    w = "inverse_sqrt"
    return _node(
        w,
        peak=check.number(w, "peak", peak, ge=0),
        warmup=check.number(w, "warmup", warmup, ge=0),
        timescale=None if timescale is None else check.number(w, "timescale", timescale, gt=0),
    )


@register(
    "wsd",
    formula=K.wsd,
    derive={"warmup_shape": _code("warmup_shape", SHAPES), "decay_shape": _code("decay_shape", SHAPES)},
    horizon=_param("steps"),
)
def wsd(
    *,
    peak: float,
    steps: float,
    warmup: float,
    decay: float,
    final: float = 0.0,
    start: float = 0.0,
    warmup_shape: str = "linear",
    decay_shape: str = "linear",
) -> Schedule:
    """Warmup-stable-decay: `start` -> `peak` over `warmup`, stable, then to `final` over the last `decay` steps.

    Shapes are "linear", "cosine" or "sqrt" (decay ``1 - sqrt(p)``; warmup ``1 - sqrt(1 - p)``).

    Args:
        peak: the stable value (>= 0).
        steps: the length of the whole schedule, in steps (> 0).
        warmup: the length of the warmup, in steps (>= 0).
        decay: the length of the final decay, in steps (>= 0; warmup + decay <= steps).
        final: the value reached at t = steps and held after (>= 0); default 0.
        start: the value at t = 0 (>= 0); default 0.
        warmup_shape: "linear" (default), "cosine" or "sqrt".
        decay_shape: "linear" (default), "cosine" or "sqrt".

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.wsd(peak=1.0, steps=100, warmup=10, decay=20)
        >>> s(5), s(50), s(90), s(100)  # the decay runs over t = 80 ... 100
        (0.5, 1.0, 0.5, 0.0)
    """
    w = "wsd"
    steps = check.number(w, "steps", steps, gt=0)
    warmup = check.number(w, "warmup", warmup, ge=0)
    decay = check.number(w, "decay", decay, ge=0)
    if warmup + decay > steps:
        raise check.fail(w, "decay", f"plus warmup={warmup:g} must be <= steps={steps:g}", decay)
    return _node(
        w,
        peak=check.number(w, "peak", peak, ge=0),
        steps=steps,
        warmup=warmup,
        decay=decay,
        final=check.number(w, "final", final, ge=0),
        start=check.number(w, "start", start, ge=0),
        warmup_shape=check.choice(w, "warmup_shape", warmup_shape, ("linear", "cosine", "sqrt")),
        decay_shape=check.choice(w, "decay_shape", decay_shape, ("linear", "cosine", "sqrt")),
    )


@register("tanh_decay", formula=K.tanh_decay, horizon=_param("steps"))
def tanh_decay(*, init: float, steps: float, final: float = 0.0, lower: float = -7.0, upper: float = 3.0) -> Schedule:
    """timm's tanh schedule, then `final` from t = steps on:
    ``final + (init - final)/2 * (1 - tanh(lower + (upper - lower) * t/steps))``.

    Args:
        init: the value the curve starts near (>= 0).
        steps: the length of the decay, in steps (> 0).
        final: the value from t = steps on (>= 0); default 0.
        lower: the tanh argument at t = 0; default -7, timm's.
        upper: the tanh argument at t = steps (> lower); default 3, timm's.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.tanh_decay(init=1.0, steps=100, lower=-3.0, upper=3.0)
        >>> round(s(50), 6), s(100)  # tanh(0) = 0 halfway
        (0.5, 0.0)
    """
    w = "tanh_decay"
    lower = check.number(w, "lower", lower)
    upper = check.number(w, "upper", upper)
    if not lower < upper:
        raise check.fail(w, "upper", f"must be > lower={lower:g}", upper)
    return _node(
        w,
        init=check.number(w, "init", init, ge=0),
        steps=check.number(w, "steps", steps, gt=0),
        final=check.number(w, "final", final, ge=0),
        lower=lower,
        upper=upper,
    )


@register("custom", code=K.CUSTOM, horizon=_unbounded, positional=("fn",))
def custom(fn: Callable[[float], float]) -> Schedule:
    """A schedule from your own function of t: a numba ``@njit`` function or plain Python.

    Not serialisable; ``to_dict`` raises.  Inside other schedules it runs through
    the Python interpreter path, so it is much slower than the built-in kinds.

    Args:
        fn: a callable taking t (a float, in steps) and returning the learning rate.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.custom(lambda t: 1.0 / (1.0 + t))
        >>> s(0), s(1), s(9)
        (1.0, 0.5, 0.1)
    """
    if not callable(fn):
        raise check.fail("custom", "fn", "must be callable", fn, TypeError)
    return _node("custom", fn=fn)


# ---------------------------------------------------------------------------
# Combinators


def _join_horizon(s: Schedule) -> float | None:
    last = s["schedules"][-1].horizon
    bs = s["boundaries"]
    return None if last is None else _later(bs[-1] if bs else 0.0, last)


@register(
    "join",
    code=K.JOIN,
    layout=("m", "rest"),
    rest=("boundaries",),
    derive={"m": _length("boundaries")},
    children=("schedules",),
    horizon=_join_horizon,
)
def join(schedules: Sequence[Schedule], boundaries: Sequence[float]) -> Schedule:
    """``schedules[i](t - boundaries[i-1])`` on ``[boundaries[i-1], boundaries[i])`` (optax join_schedules).

    Args:
        schedules: the schedules to run one after another (at least one).
        boundaries: the steps at which the next schedule takes over (each > 0, strictly increasing),
            one fewer than `schedules`.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.join([lr.constant(value=1.0), lr.linear(start=1.0, end=0.0, steps=10)], boundaries=[5])
        >>> s(4), s(10), s(15)  # the linear part sees t - 5
        (1.0, 0.5, 0.0)
    """
    w = "join"
    items = check.sequence(w, "schedules", schedules)
    if not items:
        raise check.fail(w, "schedules", "must hold at least one schedule", schedules)
    for i, item in enumerate(items):
        _schedule_arg(w, f"schedules[{i}]", item)
    bs = check.numbers_(w, "boundaries", boundaries, gt=0, increasing="strictly")
    if len(bs) != len(items) - 1:
        raise check.fail(w, "boundaries", f"must have len(schedules) - 1 = {len(items) - 1} elements", boundaries)
    return _node(w, schedules=tuple(items), boundaries=bs)


def _warmup_horizon(s: Schedule) -> float | None:
    h = s["schedule"].horizon
    return None if h is None else _later(s["steps"], h)


@register(
    "warmup",
    code=K.WARMUP,
    layout=("steps", "start", "shape", "target"),
    derive={"shape": _code("shape", SHAPES), "target": lambda s: s["schedule"](0.0)},
    children=("schedule",),
    positional=("schedule",),
    horizon=_warmup_horizon,
)
def warmup(schedule: Schedule, steps: float, start: float = 0.0, shape: str = "linear") -> Schedule:
    """A ramp from `start` to ``schedule(0)`` over `steps`, then ``schedule(t - steps)``.

    `shape` is "linear", "cosine" or "exponential" (geometric; needs start > 0).

    Args:
        schedule: the schedule that follows the warmup.
        steps: the length of the warmup, in steps (> 0).
        start: the value at t = 0 (>= 0); default 0.
        shape: "linear" (default), "cosine" or "exponential".

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.warmup(lr.cosine(init=1.0, steps=100), steps=10)
        >>> s(0), s(5), s(10), round(s(60), 6)  # the cosine sees t - 10
        (0.0, 0.5, 1.0, 0.5)
    """
    w = "warmup"
    schedule = _schedule_arg(w, "schedule", schedule)
    steps = check.number(w, "steps", steps, gt=0)
    start = check.number(w, "start", start, ge=0)
    shape = check.choice(w, "shape", shape, ("linear", "cosine", "exponential"))
    if shape == "exponential":
        if start == 0.0:
            raise check.fail(w, "start", "must be > 0 for shape='exponential'", start)
        target = schedule(0.0)
        if target == 0.0:
            raise check.fail(w, "schedule", "must start above 0 for shape='exponential'", schedule)
        if not 0.0 < target / start < math.inf:
            # The geometric ramp start * (target / start) ** p needs the ratio as a float.
            raise check.fail(
                w, "start", f"must be within a float's range of schedule(0)={target:g} for shape='exponential'", start
            )
    return _node(w, schedule=schedule, steps=steps, start=start, shape=shape)


@register(
    "scale",
    code=K.SCALE,
    layout=("factor",),
    children=("schedule",),
    positional=("schedule",),
    horizon=lambda s: s["schedule"].horizon,
)
def scale(schedule: Schedule, factor: float) -> Schedule:
    """``factor * schedule(t)``; what ``schedule * factor`` builds.

    Args:
        schedule: the schedule to scale.
        factor: the constant factor (>= 0).

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.scale(lr.cosine(init=1.0, steps=100), 0.5)
        >>> s(0), round(s(50), 6), s == lr.cosine(init=1.0, steps=100) * 0.5
        (0.5, 0.25, True)
    """
    w = "scale"
    return _node(w, schedule=_schedule_arg(w, "schedule", schedule), factor=check.number(w, "factor", factor, ge=0))


def _binary_horizon(s: Schedule) -> float | None:
    a, b = s["first"].horizon, s["second"].horizon
    return None if a is None or b is None else max(a, b)


# The record fields product and add share.
_BINARY: dict[str, Any] = dict(children=("first", "second"), positional=("first", "second"), horizon=_binary_horizon)


@register("product", code=K.PRODUCT, fold=K.SCALE, **_BINARY)
def product(first: Schedule, second: Schedule) -> Schedule:
    """``first(t) * second(t)``; what ``first * second`` builds.

    Args:
        first: a schedule.
        second: the schedule it is multiplied by, at the same t.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.product(lr.constant(value=0.5), lr.linear(start=1.0, end=0.0, steps=10))
        >>> s(0), s(5)
        (0.5, 0.25)
    """
    w = "product"
    return _node(w, first=_schedule_arg(w, "first", first), second=_schedule_arg(w, "second", second))


@register("add", code=K.SUM, fold=K.ADD, **_BINARY)
def add(first: Schedule, second: Schedule) -> Schedule:
    """``first(t) + second(t)``; what ``first + second`` and ``first + c`` build.

    Args:
        first: a schedule.
        second: the schedule added to it, at the same t.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.add(lr.cosine(init=1.0, steps=100), lr.constant(value=0.1))
        >>> s(0), round(s(50), 6), s(100), s == lr.cosine(init=1.0, steps=100) + 0.1
        (1.1, 0.6, 0.1, True)
    """
    w = "add"
    return _node(w, first=_schedule_arg(w, "first", first), second=_schedule_arg(w, "second", second))


@register(
    "clip",
    code=K.CLIP,
    layout=("lo", "hi"),
    derive={"hi": lambda s: math.inf if s["hi"] is None else s["hi"]},
    children=("schedule",),
    positional=("schedule",),
    horizon=lambda s: s["schedule"].horizon,
)
def clip(schedule: Schedule, lo: float = 0.0, hi: float | None = None) -> Schedule:
    """``min(max(schedule(t), lo), hi)``; `hi` None means no upper bound.

    Args:
        schedule: the schedule to clip.
        lo: the lower bound (>= 0); default 0.
        hi: the upper bound (>= lo); default None, no upper bound.

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.clip(lr.cosine(init=1.0, steps=100), lo=0.1, hi=0.8)
        >>> s(0), round(s(50), 6), s(100)
        (0.8, 0.5, 0.1)
    """
    w = "clip"
    schedule = _schedule_arg(w, "schedule", schedule)
    lo = check.number(w, "lo", lo, ge=0)
    if hi is not None:
        hi = check.number(w, "hi", hi, ge=0)
        if hi < lo:
            raise check.fail(w, "hi", f"must be >= lo={lo:g}", hi)
    return _node(w, schedule=schedule, lo=lo, hi=hi)


def _shift_horizon(s: Schedule) -> float | None:
    h = s["schedule"].horizon
    if h is None:
        return None
    x = max(0.0, h - s["steps"])
    while x + s["steps"] < h:
        x = math.nextafter(x, math.inf)
    return x


@register(
    "shift",
    code=K.SHIFT,
    layout=("steps",),
    children=("schedule",),
    positional=("schedule",),
    horizon=_shift_horizon,
)
def shift(schedule: Schedule, steps: float) -> Schedule:
    """``schedule(t + steps)``: the schedule entered `steps` steps in.

    Args:
        schedule: the schedule to shift.
        steps: how many of its steps to skip (>= 0).

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.shift(lr.cosine(init=1.0, steps=100), 50)
        >>> round(s(0), 6), s(50)  # starts halfway down the cosine
        (0.5, 0.0)
    """
    w = "shift"
    return _node(w, schedule=_schedule_arg(w, "schedule", schedule), steps=check.number(w, "steps", steps, ge=0))
