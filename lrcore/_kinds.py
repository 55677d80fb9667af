"""Every kind of schedule and every combinator: one record each.

Each ``@kind`` is a kind's whole record (see ``_registry``): its parameters with
their bounds and docs, the kernel formula it encodes to, its horizon, stated
length, continuity and direction.  The decorated function's docstring states the
formula with an Example; its body is the kind's cross-parameter rule, run with
every argument already checked.  The formulas themselves live once, in ``_kernel``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

from . import _kernel as K
from . import _validate as check
from ._registry import (
    after,
    choice,
    fixed,
    flag,
    function,
    integer,
    kind,
    length,
    param,
    points,
    real,
    reals,
    schedule,
    schedules,
    stated_length,
    towards,
)
from ._schedule import Schedule

SHAPES = {"linear": K.SHAPE_LINEAR, "cosine": K.SHAPE_COSINE, "sqrt": K.SHAPE_SQRT, "exponential": K.SHAPE_EXPONENTIAL}
CYCLIC_MODES = {"triangular": K.TRIANGULAR, "triangular2": K.TRIANGULAR2, "exp_range": K.EXP_RANGE}
ANNEALS = {"cos": K.ANNEAL_COS, "linear": K.ANNEAL_LINEAR}


def _code(name: str, codes: dict[str, int]) -> Callable[[Schedule], int]:
    """A choice parameter as the kernel's code for it."""
    return lambda s: codes[s[name]]


def _count(name: str) -> Callable[[Schedule], int]:
    return lambda s: len(s[name])


def _none(s: Schedule) -> None:
    return None


def _later(b: float, h: float) -> float:
    """The first float x >= b + h at which a child started at b sees x - b >= h."""
    x = b + h
    while x - b < h:
        x = math.nextafter(x, math.inf)
    return x


def _by_factor(s: Schedule) -> int:
    """The direction of ``init * gamma ** n``."""
    if s["init"] == 0.0 or s["gamma"] == 1.0:
        return 0
    return -1 if s["gamma"] < 1.0 else 1


def _sorted(values: Sequence[float]) -> int | None:
    """The direction of a sequence of values, or None when it turns back."""
    vs = list(values)
    if vs == sorted(vs) or vs == sorted(vs, reverse=True):
        return towards(vs[0], vs[-1]) if vs[0] != vs[-1] else 0
    return None


INIT = real("the value at t = 0", ge=0)
PEAK_SHAPES = ("linear", "cosine", "sqrt")

# ---------------------------------------------------------------------------
# Leaves


@kind(
    params=dict(value=real("the learning rate", ge=0)),
    formula=K.constant,
    horizon=fixed(0.0),
    length=_none,
    continuous=True,
    monotone=0,
)
def constant(*, value: float) -> None:
    """The same learning rate at every step.

    Example:
        >>> import lrcore as lr
        >>> s = lr.constant(value=0.1)
        >>> s(0), s(1_000_000)
        (0.1, 0.1)
    """


@kind(
    params=dict(
        start=real("the value at t = 0", ge=0),
        end=real("the value reached at t = steps and held after", ge=0),
        steps=length("the length of the ramp, in steps (need not be whole)", gt=0),
    ),
    formula=K.linear,
    horizon=param("steps"),
    length=_none,
    continuous=True,
    monotone=lambda s: towards(s["start"], s["end"]),
)
def linear(*, start: float, end: float, steps: float) -> None:
    """``start + (end - start) * t / steps`` until `steps`, then `end`.

    Example:
        >>> import lrcore as lr
        >>> s = lr.linear(start=0.1, end=0.0, steps=100)
        >>> s(0), s(50), s(100), s(1_000)  # halfway: the mean of start and end
        (0.1, 0.05, 0.0, 0.0)
    """


def _step_horizon(s: Schedule) -> float | None:
    if s["gamma"] == 1.0 or s["init"] == 0.0:
        return 0.0
    return s["step_size"] if s["gamma"] == 0.0 else None


@kind(
    params=dict(
        init=real("the value for t < step_size", ge=0),
        step_size=length("the steps between two decays", gt=0),
        gamma=real("the factor applied at every multiple of `step_size`", ge=0, default_doc="0.1, as PyTorch's"),
    ),
    formula=K.step,
    horizon=_step_horizon,
    length=_none,
    continuous=False,
    monotone=_by_factor,
)
def step(*, init: float, step_size: float, gamma: float = 0.1) -> None:
    """``init * gamma ** floor(t / step_size)`` (PyTorch StepLR); unbounded in t.

    Example:
        >>> import lrcore as lr
        >>> s = lr.step(init=1.0, step_size=10, gamma=0.5)
        >>> s(9), s(10), s(25)
        (1.0, 0.5, 0.25)
    """


def _multistep_horizon(s: Schedule) -> float | None:
    ms = s["milestones"]
    if not ms or s["gamma"] == 1.0 or s["init"] == 0.0:
        return 0.0
    return ms[0] if s["gamma"] == 0.0 else ms[-1]


@kind(
    params=dict(
        init=real("the value before the first milestone", ge=0),
        milestones=reals(
            "the steps at which the value is multiplied by `gamma` (empty gives a constant `init`)",
            ge=0, increasing="weakly", length=True,
        ),
        gamma=real("the factor applied at each milestone", ge=0, default_doc="0.1, as PyTorch's MultiStepLR"),
    ),
    formula=K.multistep,
    rest=("milestones",),
    derive={"m": _count("milestones")},
    horizon=_multistep_horizon,
    length=_none,
    continuous=False,
    monotone=_by_factor,
)
def multistep(*, init: float, milestones: Sequence[float], gamma: float = 0.1) -> None:
    """``init * gamma ** (number of milestones <= t)``; a repeated milestone counts twice.

    Example:
        >>> import lrcore as lr
        >>> s = lr.multistep(init=1.0, milestones=[30, 80], gamma=0.5)
        >>> s(29), s(30), s(80)
        (1.0, 0.5, 0.25)
    """


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


STAIRCASE = flag("floor ``t / every``, so the value changes only at multiples of `every`")


@kind(
    params=dict(
        init=INIT,
        gamma=real("the factor per `every` steps: below 1 decays, above 1 grows", gt=0),
        every=length("the steps over which the value is multiplied by `gamma`", gt=0),
        staircase=STAIRCASE,
        end=real(
            "the floor (gamma < 1, <= init) or ceiling (gamma > 1, >= init) of the value",
            ge=0, optional=True, default_doc="None, no bound",
        ),
    ),
    formula=K.exponential,
    derive={"has_end": lambda s: s["end"] is not None, "end": lambda s: s["end"] or 0.0},
    horizon=_exponential_horizon,
    length=_none,
    continuous=lambda s: not s["staircase"],
    monotone=_by_factor,
)
def exponential(
    *, init: float, gamma: float, every: float = 1.0, staircase: bool = False, end: float | None = None
) -> None:
    """``init * gamma ** (t / every)`` (floored exponent if `staircase`).

    `end` bounds the value: from below when gamma < 1, from above when gamma > 1.

    Example:
        >>> import lrcore as lr
        >>> s = lr.exponential(init=1.0, gamma=0.5, every=10)
        >>> s(10), s(20), round(s(5), 6)  # t = 5: 0.5 ** 0.5
        (0.5, 0.25, 0.707107)
        >>> lr.exponential(init=1.0, gamma=0.5, every=10, end=0.1)(40)  # 0.0625, floored at end
        0.1
    """
    w = "exponential"
    if end is not None:
        if gamma < 1.0 and end > init:
            raise check.fail(w, "end", f"must be <= init={init:g} when gamma < 1 (it is a floor)", end)
        if gamma > 1.0 and end < init:
            raise check.fail(w, "end", f"must be >= init={init:g} when gamma > 1 (it is a ceiling)", end)


@kind(
    params=dict(
        init=INIT,
        rate=real("the decay rate (0 gives a constant)", ge=0),
        every=length("the steps that make one unit of decay time", gt=0),
        staircase=STAIRCASE,
    ),
    formula=K.inverse_time,
    horizon=lambda s: 0.0 if s["rate"] == 0.0 or s["init"] == 0.0 else None,
    length=_none,
    continuous=lambda s: not s["staircase"],
    monotone=lambda s: 0 if s["rate"] == 0.0 or s["init"] == 0.0 else -1,
)
def inverse_time(*, init: float, rate: float, every: float = 1.0, staircase: bool = False) -> None:
    """``init / (1 + rate * t / every)`` (floored t / every if `staircase`); Keras InverseTimeDecay.

    Example:
        >>> import lrcore as lr
        >>> s = lr.inverse_time(init=1.0, rate=1.0, every=10)
        >>> s(0), s(10), s(30)
        (1.0, 0.5, 0.25)
    """


K_DECAY = real("the exponent on the progress", gt=0)


@kind(
    params=dict(
        init=INIT,
        end=real("the value reached at t = steps, held after unless `cycle`", ge=0),
        steps=length("the length of the decay, in steps", gt=0),
        power=real("the polynomial's power", gt=0, default_doc="1, a straight line"),
        cycle=flag("restart the decay past `steps` over the next multiple of `steps`"),
        k_decay=real("the exponent on the progress", gt=0, default_doc="1, the progress itself"),
    ),
    formula=K.polynomial,
    horizon=lambda s: None if s["cycle"] else s["steps"],
    length=param("steps"),
    continuous=lambda s: not s["cycle"],
    monotone=lambda s: None if s["cycle"] else towards(s["init"], s["end"]),
)
def polynomial(
    *,
    init: float,
    end: float,
    steps: float,
    power: float = 1.0,
    cycle: bool = False,
    k_decay: float = 1.0,
) -> None:
    """``(init - end) * (1 - p) ** power + end`` with ``p = (min(t, steps) / steps) ** k_decay``.

    `cycle` (as Keras): past `steps` the horizon grows to the next multiple of
    `steps`, so the value jumps back up and decays again.  `k_decay` is timm's
    k-decay exponent on the progress.

    Example:
        >>> import lrcore as lr
        >>> s = lr.polynomial(init=1.0, end=0.0, steps=100, power=2)
        >>> s(50), s(100), s(200)  # halfway: (1 - 0.5) ** 2
        (0.25, 0.0, 0.0)
        >>> lr.polynomial(init=1.0, end=0.0, steps=100, cycle=True)(150)  # decaying over 200 steps now
        0.25
    """


def _plain_cosine(s: Schedule) -> bool:
    return s["exponent"] == 1.0 and s["k_decay"] == 1.0 and not s["periodic"]


@kind(
    params=dict(
        init=INIT,
        steps=length("the length of the decay, in steps", gt=0),
        final=real("the value reached at t = steps", ge=0),
        exponent=real("the power on the cosine factor", gt=0, default_doc="1, the plain cosine"),
        k_decay=real("the exponent on the progress (must be 1 when `periodic`)", gt=0),
        periodic=flag("go on past `steps` as a wave instead of holding `final`"),
    ),
    formula=K.cosine,
    variants=((_plain_cosine, K.cosine_plain),),
    horizon=lambda s: None if s["periodic"] else s["steps"],
    length=param("steps"),
    continuous=True,
    monotone=lambda s: None if s["periodic"] else towards(s["init"], s["final"]),
)
def cosine(
    *,
    init: float,
    steps: float,
    final: float = 0.0,
    exponent: float = 1.0,
    k_decay: float = 1.0,
    periodic: bool = False,
) -> None:
    """``final + (init - final) * (0.5 * (1 + cos(pi * p))) ** exponent``, ``p = (min(t, steps) / steps) ** k_decay``.

    Holds `final` from t = steps on, unless `periodic`: then the cosine wave goes
    on (back up to `init` at 2 * steps), as PyTorch's CosineAnnealingLR does.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cosine(init=1.0, steps=100, final=0.1)
        >>> s(0), round(s(50), 6), s(100), s(1_000)  # halfway: the mean of init and final
        (1.0, 0.55, 0.1, 0.1)
        >>> lr.cosine(init=1.0, steps=100, periodic=True)(200)  # back up at 2 * steps
        1.0
    """
    if periodic and k_decay != 1.0:
        raise check.fail("cosine", "k_decay", "must be 1 when periodic=True", k_decay)


@kind(
    params=dict(
        init=real("the value at t = 0, the start of the first cycle", ge=0),
        period=length("the length of the first cycle, in steps", gt=0),
        final=real("the value each cycle anneals towards", ge=0),
        period_mult=real("the factor on each next cycle's length", ge=1, default_doc="1, equal cycles"),
        decay=real("the factor on each next cycle's starting value", ge=0,
                   default_doc="1, every restart at `init`"),
        k_decay=real("the exponent on the progress within a cycle", gt=0),
    ),
    formula=K.cosine_restarts,
    horizon=_none,
    length=param("period"),
    continuous=False,
    monotone=None,
)
def cosine_restarts(
    *,
    init: float,
    period: float,
    final: float = 0.0,
    period_mult: float = 1.0,
    decay: float = 1.0,
    k_decay: float = 1.0,
) -> None:
    """SGDR: cycle i lasts ``period * period_mult ** i`` and anneals from ``init * decay ** i`` to `final`.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cosine_restarts(init=1.0, period=100, period_mult=2, decay=0.5)
        >>> round(s(50), 6), s(100), round(s(200), 6)  # cycle 1 spans t = 100 ... 300, from 0.5
        (0.5, 0.5, 0.25)
    """


@kind(
    params=dict(
        peak=real("the largest value, reached at t = pct_start * steps", ge=0),
        steps=length("the length of the whole cycle, in steps", gt=0),
        pct_start=real("the fraction of `steps` spent rising (below 0.5 if `three_phase`)", gt=0, lt=1),
        div_factor=real("the start value is ``peak / div_factor``", gt=0),
        final_div_factor=real("the end value is ``peak / (div_factor * final_div_factor)``", gt=0),
        anneal=choice("the shape of every phase", "cos", "linear"),
        three_phase=flag("come back down to the start value before the final annealing"),
    ),
    formula=K.one_cycle,
    derive={"anneal": _code("anneal", ANNEALS)},
    horizon=param("steps"),
    length=_none,
    continuous=True,
    monotone=None,
)
def one_cycle(
    *,
    peak: float,
    steps: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> None:
    """1cycle: peak/div_factor -> peak at pct_start*steps -> peak/(div_factor*final_div_factor) at steps.

    `three_phase` goes back down to peak/div_factor at 2*pct_start*steps before
    the final annealing.  `anneal` is "cos" or "linear".  Holds its end value.

    Example:
        >>> import lrcore as lr
        >>> s = lr.one_cycle(peak=1.0, steps=100)
        >>> round(s(0), 9), s(30), round(s(100), 9)  # 1 / 25, then 1 / 25 / 1e4
        (0.04, 1.0, 4e-06)
        >>> round(lr.one_cycle(peak=1.0, steps=100, anneal="linear")(15), 9)  # halfway up: (0.04 + 1) / 2
        0.52
    """
    w = "one_cycle"
    if three_phase and not pct_start < 0.5:
        raise check.fail(w, "pct_start", "must be < 0.5", pct_start)
    initial = peak / div_factor
    if not math.isfinite(initial):
        raise check.fail(w, "div_factor", f"must leave peak / div_factor finite (peak={peak:g})", div_factor)
    if not math.isfinite(initial / final_div_factor):
        raise check.fail(
            w, "final_div_factor", f"must leave peak / div_factor / final_div_factor finite (peak={peak:g}, "
            f"div_factor={div_factor:g})", final_div_factor,
        )


@kind(
    params=dict(
        base=real("the value at the start of each cycle", ge=0),
        peak=real("the value at the top of the first cycle", ge=0),
        step_up=length("the steps from `base` to `peak`", gt=0),
        step_down=length("the steps from `peak` back to `base`", ge=0, optional=True,
                         default_doc="None, the same as `step_up`"),
        mode=choice("the envelope", *CYCLIC_MODES),
        gamma=real(
            "the amplitude's factor per step in \"exp_range\" mode", gt=0,
            default_doc="1, the only value the other modes take (they have no envelope, so another gamma "
            "raises ValueError)",
        ),
    ),
    formula=K.cyclic,
    rates=("gamma",),
    derive={
        "step_down": lambda s: s["step_up"] if s["step_down"] is None else s["step_down"],
        "mode": _code("mode", CYCLIC_MODES),
    },
    horizon=_none,
    length=lambda s: s["step_up"] + (s["step_up"] if s["step_down"] is None else s["step_down"]),
    continuous=lambda s: s["step_down"] != 0.0 or s["base"] == s["peak"],
    monotone=None,
)
def cyclic(
    *,
    base: float,
    peak: float,
    step_up: float,
    step_down: float | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> None:
    """PyTorch's CyclicLR: a triangle wave between `base` and `peak`.

    `mode` "triangular2" halves the amplitude each cycle, "exp_range" scales it
    by ``gamma ** t``.  `step_down` defaults to `step_up`; 0 makes a sawtooth.

    Example:
        >>> import lrcore as lr
        >>> s = lr.cyclic(base=0.1, peak=1.0, step_up=10)
        >>> s(0), round(s(5), 6), s(10), s(20)
        (0.1, 0.55, 1.0, 0.1)
        >>> lr.cyclic(base=0.0, peak=1.0, step_up=10, mode="triangular2")(30)  # the second peak, halved
        0.5
    """
    w = "cyclic"
    if mode != "exp_range" and gamma != 1.0:
        # PyTorch ignores gamma here; a configured decay that never happens is refused instead.
        raise check.fail(w, "gamma", f"only applies to mode='exp_range' (mode={mode!r} has no envelope)", gamma)
    if mode == "exp_range" and gamma > 1.0 and peak < base:
        # The growing envelope would take an inverted wave below 0.
        raise check.fail(w, "gamma", f"must be <= 1 for mode='exp_range' when peak={peak:g} < base={base:g}", gamma)
    if step_down is None:
        if not math.isfinite(2.0 * step_up):
            raise check.fail(w, "step_up", "must leave the period 2 * step_up finite", step_up)
    elif not math.isfinite(step_up + step_down):
        raise check.fail(w, "step_down", f"plus step_up={step_up:g} (the period) must be finite", step_down)


@kind(
    params=dict(
        boundaries=reals("the steps at which the value switches", gt=0, increasing="strictly", length=True),
        values=reals("the value on each piece, one more than `boundaries`", ge=0),
    ),
    formula=K.piecewise_constant,
    rest=("boundaries", "values"),
    derive={"m": _count("boundaries")},
    horizon=lambda s: s["boundaries"][-1] if s["boundaries"] else 0.0,
    length=_none,
    continuous=lambda s: len(set(s["values"])) == 1,
    monotone=lambda s: _sorted(s["values"]),
)
def piecewise_constant(*, boundaries: Sequence[float], values: Sequence[float]) -> None:
    """``values[i]`` on ``[boundaries[i-1], boundaries[i])``: the value switches at each boundary.

    Example:
        >>> import lrcore as lr
        >>> s = lr.piecewise_constant(boundaries=[10, 20], values=[1.0, 0.5, 0.1])
        >>> s(9), s(10), s(20)
        (1.0, 0.5, 0.1)
    """
    if len(values) != len(boundaries) + 1:
        raise check.fail(
            "piecewise_constant", "values", f"must have len(boundaries) + 1 = {len(boundaries) + 1} elements", values
        )


@kind(
    params=dict(
        points=points("(t, value) pairs, t in steps starting at 0 and strictly increasing, values >= 0"),
        shape=choice("the curve between neighbouring points", "linear", "cosine"),
    ),
    formula=K.interpolate,
    rest=("times", "values"),
    derive={
        "shape": _code("shape", SHAPES),
        "m": _count("points"),
        "times": lambda s: [p[0] for p in s["points"]],
        "values": lambda s: [p[1] for p in s["points"]],
    },
    horizon=lambda s: s["points"][-1][0],
    length=_none,
    continuous=True,
    monotone=lambda s: _sorted([p[1] for p in s["points"]]),
)
def interpolate(*, points: Sequence[Sequence[float]], shape: str = "linear") -> None:
    """Through the (t, value) `points`, the first at t = 0; holds the last value.

    `shape` "linear" or "cosine" (a half cosine between neighbouring points).

    Example:
        >>> import lrcore as lr
        >>> s = lr.interpolate(points=[(0, 0.0), (10, 1.0), (30, 0.0)])
        >>> s(5), s(10), s(20), s(100)
        (0.5, 1.0, 0.5, 0.0)
    """


def _timescale(s: Schedule) -> float:
    if s["timescale"] is not None:
        return float(s["timescale"])
    return s["warmup"] if s["warmup"] > 0 else 10_000.0


@kind(
    params=dict(
        peak=real("the value at t = warmup", ge=0),
        warmup=length("the length of the linear warmup, in steps (0 starts at `peak`)", ge=0),
        timescale=length(
            "the steps after the warmup in which the value falls by a factor of the square root of 2",
            gt=0, optional=True, default_doc="None, as above",
        ),
    ),
    formula=K.inverse_sqrt,
    derive={"timescale": _timescale},
    horizon=lambda s: 0.0 if s["peak"] == 0.0 else None,
    length=lambda s: after(s["warmup"], None),
    continuous=True,
    monotone=lambda s: 0 if s["peak"] == 0.0 else (-1 if s["warmup"] == 0.0 else None),
)
def inverse_sqrt(*, peak: float, warmup: float, timescale: float | None = None) -> None:
    """Linear warmup from 0 to `peak`, then ``peak / sqrt((t - warmup + timescale) / timescale)``.

    `timescale` defaults to `warmup`, or 10 000 when warmup is 0.

    Example:
        >>> import lrcore as lr
        >>> s = lr.inverse_sqrt(peak=1.0, warmup=100)
        >>> s(50), s(100), s(400)  # t = 400: 1 / sqrt(4)
        (0.5, 1.0, 0.5)
    """


def _wsd_monotone(s: Schedule) -> int | None:
    if s["warmup"] == 0.0 or s["start"] == s["peak"]:
        return towards(s["peak"], s["final"]) if s["peak"] != s["final"] else 0
    if s["final"] == s["peak"]:
        return towards(s["start"], s["peak"])
    return None


@kind(
    params=dict(
        peak=real("the stable value", ge=0),
        steps=length("the length of the whole schedule, in steps", gt=0),
        warmup=length("the length of the warmup, in steps", ge=0),
        decay=length("the length of the final decay, in steps (warmup + decay <= steps)", ge=0),
        final=real("the value reached at t = steps and held after", ge=0),
        start=real("the value at t = 0", ge=0),
        warmup_shape=choice("the warmup's curve", *PEAK_SHAPES),
        decay_shape=choice("the decay's curve", *PEAK_SHAPES),
    ),
    formula=K.wsd,
    derive={"warmup_shape": _code("warmup_shape", SHAPES), "decay_shape": _code("decay_shape", SHAPES)},
    horizon=param("steps"),
    length=_none,
    continuous=lambda s: not (s["decay"] == 0.0 and s["peak"] != s["final"]),
    monotone=_wsd_monotone,
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
) -> None:
    """Warmup-stable-decay: `start` -> `peak` over `warmup`, stable, then to `final` over the last `decay` steps.

    Shapes are "linear", "cosine" or "sqrt" (decay ``1 - sqrt(p)``; warmup ``1 - sqrt(1 - p)``).

    Example:
        >>> import lrcore as lr
        >>> s = lr.wsd(peak=1.0, steps=100, warmup=10, decay=20)
        >>> s(5), s(50), s(90), s(100)  # the decay runs over t = 80 ... 100
        (0.5, 1.0, 0.5, 0.0)
    """
    if warmup + decay > steps:
        raise check.fail("wsd", "decay", f"plus warmup={warmup:g} must be <= steps={steps:g}", decay)


@kind(
    params=dict(
        init=real("the value the curve starts near", ge=0),
        steps=length("the length of the decay, in steps", gt=0),
        final=real("the value from t = steps on", ge=0),
        lower=real("the tanh argument at t = 0", default_doc="-7, timm's"),
        upper=real("the tanh argument at t = steps (> lower)", default_doc="3, timm's"),
    ),
    formula=K.tanh_decay,
    horizon=param("steps"),
    length=_none,
    continuous=False,
    monotone=lambda s: towards(s["init"], s["final"]),
)
def tanh_decay(*, init: float, steps: float, final: float = 0.0, lower: float = -7.0, upper: float = 3.0) -> None:
    """timm's tanh schedule, then `final` from t = steps on:
    ``final + (init - final)/2 * (1 - tanh(lower + (upper - lower) * t/steps))``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.tanh_decay(init=1.0, steps=100, lower=-3.0, upper=3.0)
        >>> round(s(50), 6), s(100)  # tanh(0) = 0 halfway
        (0.5, 0.0)
    """
    if not lower < upper:
        raise check.fail("tanh_decay", "upper", f"must be > lower={lower:g}", upper)


def _growth(start: float, end: float) -> float:
    """end / start, nudged up by the ulps needed for ``start * growth >= end``.

    The exponential kind evaluates ``start * growth ** (t / every)`` capped at
    `end`; at t = steps - 1 the exponent is exactly 1, so the rounded product
    must not fall short of `end` or the last step would miss it by an ulp.  The
    nudge changes earlier values by at most a few ulps.
    """
    growth = end / start
    while start * growth < end:
        growth = math.nextafter(growth, math.inf)
    return growth


def _range_lower(s: Schedule) -> Schedule:
    """The equivalent linear or capped exponential leaf, which the kernel evaluates."""
    start, end, span = s["start"], s["end"], float(s["steps"] - 1)
    if s["shape"] == "linear":
        return linear(start=start, end=end, steps=span)
    # The cap at `end` holds the value from t = steps - 1 on.
    return exponential(init=start, gamma=_growth(start, end), every=span, end=end)


RANGE_SHAPES = ("exponential", "linear")


@kind(
    params=dict(
        start=real("the learning rate of the first step, t = 0 (> 0; a linear range may start at 0)", ge=0),
        end=real("the learning rate of the last step, t = steps - 1 (> start)", gt=0),
        steps=integer("the number of steps (learning rates) the test tries", ge=2, le=2**53),
        shape=choice("how the learning rate grows", *RANGE_SHAPES),
    ),
    lower=_range_lower,
    horizon=lambda s: float(s["steps"] - 1),
    length=_none,
    continuous=True,
    monotone=1,
)
def range_test(*, start: float = 1e-7, end: float = 10.0, steps: int = 100, shape: str = "exponential") -> None:
    """The learning rate of an LR range test: `start` at t = 0, `end` at t = steps - 1, held after.

    ``exponential`` (geometric, the default, as fastai, Lightning and
    torch-lr-finder): ``start * (end / start) ** (t / (steps - 1))``;
    ``linear``: ``start + (end - start) * t / (steps - 1)``.  Values are
    strictly increasing up to t = steps - 1, where they equal `end` exactly.
    Its analysis is ``lr.suggest``; its runners are the adapters' ``find_lr``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.range_test(start=1e-4, end=1.0, steps=5)
        >>> [round(s(t), 12) for t in range(6)]  # a factor 10 per step, then held
        [0.0001, 0.001, 0.01, 0.1, 1.0, 1.0]
        >>> round(lr.range_test(start=0.1, end=0.5, steps=5, shape="linear")(2), 12)  # halfway: the mean
        0.3
        >>> lr.range_test(start=0, end=1.0, steps=5, shape="linear")(1)  # a linear range may start at 0
        0.25
    """
    w = "range_test"
    if shape == "exponential" and not start > 0:
        raise check.fail(w, "start", "must be > 0 (a geometric range cannot start at 0; a linear one can)", start)
    if not end > start:
        raise check.fail(w, "end", f"must be > start={start:g}", end)
    if shape == "exponential" and not math.isfinite(end / start):
        raise check.fail(w, "end", f"must be a finite multiple of start={start:g} (end / start overflows)", end)
    # Consecutive lrs must differ by at least 2**-36 of the larger, so float64 rounding cannot make
    # the range flat or step back: an exponential range is start * growth ** p, off by a few ulps
    # times log(end / start), and stays strictly increasing down to a step of 2**-43 (failing at
    # 2**-44); 2**-36 keeps a 128-fold margin and allows about 10**12 steps over 8 decades.
    if shape == "exponential":
        rise, rule = math.log(end / start) / (steps - 1), "log(end / start) / (steps - 1)"
    else:
        rise, rule = (end - start) / (steps - 1) / end, "(end - start) / (steps - 1) / end"
    if not rise >= 2.0**-36:
        raise ValueError(
            f"{w}: `steps` must leave the learning rates room to increase: {rule} is {rise:.3g}, below 2**-36 "
            f"(float64 would repeat or reverse some of them); got steps={steps} for start={start!r}, end={end!r}: "
            f"widen the range or use fewer steps"
        )


@kind(
    params=dict(fn=function("a callable taking t (a float, in steps) and returning the learning rate")),
    code=K.CUSTOM,
    horizon=_none,
    length=_none,
    continuous=False,
    monotone=None,
    serialisable=False,
)
def custom(fn: Callable[[float], float]) -> None:
    """A schedule from your own function of t: a numba ``@njit`` function or plain Python.

    Not serialisable; ``to_dict`` raises.  Inside other schedules it runs through
    the Python interpreter path, so it is much slower than the built-in kinds.

    Example:
        >>> import lrcore as lr
        >>> s = lr.custom(lambda t: 1.0 / (1.0 + t))
        >>> s(0), s(1), s(9)
        (1.0, 0.5, 0.1)
    """


# ---------------------------------------------------------------------------
# Combinators


def _child(name: str, prop: str) -> Callable[[Schedule], Any]:
    """A property of the child schedule in parameter `name`, from its kind's record."""
    from ._registry import KINDS

    return lambda s: getattr(KINDS[s[name].kind], prop)(s[name])


def _join_horizon(s: Schedule) -> float | None:
    last = s["schedules"][-1].horizon
    bs = s["boundaries"]
    return None if last is None else _later(bs[-1] if bs else 0.0, last)


@kind(
    params=dict(
        schedules=schedules("the schedules to run one after another (at least one)"),
        boundaries=reals("the steps at which the next schedule takes over, one fewer than `schedules`",
                         gt=0, increasing="strictly", length=True),
    ),
    code=K.JOIN,
    layout=("m", "rest"),
    rest=("boundaries",),
    derive={"m": _count("boundaries")},
    horizon=_join_horizon,
    length=lambda s: after(s["boundaries"][-1] if s["boundaries"] else 0.0, stated_length(s["schedules"][-1])),
    continuous=False,
    monotone=None,
)
def join(schedules: Sequence[Schedule], boundaries: Sequence[float]) -> None:
    """``schedules[i](t - boundaries[i-1])`` on ``[boundaries[i-1], boundaries[i])`` (optax join_schedules).

    Example:
        >>> import lrcore as lr
        >>> s = lr.join([lr.constant(value=1.0), lr.linear(start=1.0, end=0.0, steps=10)], boundaries=[5])
        >>> s(4), s(10), s(15)  # the linear part sees t - 5
        (1.0, 0.5, 0.0)
    """
    if len(boundaries) != len(schedules) - 1:
        raise check.fail("join", "boundaries", f"must have len(schedules) - 1 = {len(schedules) - 1} elements",
                         boundaries)


def _warmup_horizon(s: Schedule) -> float | None:
    h = s["schedule"].horizon
    return None if h is None else _later(s["steps"], h)


@kind(
    params=dict(
        schedule=schedule("the schedule that follows the warmup"),
        steps=length("the length of the warmup, in steps", gt=0),
        start=real("the value at t = 0", ge=0),
        shape=choice("the ramp", "linear", "cosine", "exponential"),
    ),
    code=K.WARMUP,
    layout=("steps", "start", "shape", "target"),
    derive={"shape": _code("shape", SHAPES), "target": lambda s: s["schedule"](0.0)},
    horizon=_warmup_horizon,
    length=lambda s: after(s["steps"], stated_length(s["schedule"])),
    continuous=_child("schedule", "continuous"),
    monotone=None,
)
def warmup(schedule: Schedule, steps: float, start: float = 0.0, shape: str = "linear") -> None:
    """A ramp from `start` to ``schedule(0)`` over `steps`, then ``schedule(t - steps)``.

    `shape` is "linear", "cosine" or "exponential" (geometric; needs start > 0).

    Example:
        >>> import lrcore as lr
        >>> s = lr.warmup(lr.cosine(init=1.0, steps=100), steps=10)
        >>> s(0), s(5), s(10), round(s(60), 6)  # the cosine sees t - 10
        (0.0, 0.5, 1.0, 0.5)
    """
    w = "warmup"
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


@kind(
    params=dict(schedule=schedule("the schedule to scale"), factor=real("the constant factor", ge=0)),
    code=K.SCALE,
    layout=("factor",),
    horizon=lambda s: s["schedule"].horizon,
    length=lambda s: stated_length(s["schedule"]),
    continuous=_child("schedule", "continuous"),
    monotone=lambda s: 0 if s["factor"] == 0.0 else _child("schedule", "monotone")(s),
)
def scale(schedule: Schedule, factor: float) -> None:
    """``factor * schedule(t)``; what ``schedule * factor`` builds.

    Example:
        >>> import lrcore as lr
        >>> s = lr.scale(lr.cosine(init=1.0, steps=100), 0.5)
        >>> s(0), round(s(50), 6), s == lr.cosine(init=1.0, steps=100) * 0.5
        (0.5, 0.25, True)
    """


def _binary_horizon(s: Schedule) -> float | None:
    a, b = s["first"].horizon, s["second"].horizon
    return None if a is None or b is None else max(a, b)


def _longer(s: Schedule) -> float | None:
    lengths = [x for x in (stated_length(s["first"]), stated_length(s["second"])) if x is not None]
    return max(lengths) if lengths else None


def _both_continuous(s: Schedule) -> bool:
    return _child("first", "continuous")(s) and _child("second", "continuous")(s)


def _same_direction(s: Schedule) -> int | None:
    a, b = _child("first", "monotone")(s), _child("second", "monotone")(s)
    if a is None or b is None:
        return None
    return a if b in (0, a) else (b if a == 0 else None)


# The record fields product and add share.
_BINARY: dict[str, Any] = dict(horizon=_binary_horizon, length=_longer, continuous=_both_continuous)
_OPERANDS: dict[str, Any] = dict(first=schedule("a schedule"), second=schedule("the other schedule, at the same t"))


@kind(params=_OPERANDS, code=K.PRODUCT, fold=K.SCALE, monotone=None, **_BINARY)
def product(first: Schedule, second: Schedule) -> None:
    """``first(t) * second(t)``; what ``first * second`` builds.

    Example:
        >>> import lrcore as lr
        >>> s = lr.product(lr.constant(value=0.5), lr.linear(start=1.0, end=0.0, steps=10))
        >>> s(0), s(5)
        (0.5, 0.25)
    """


@kind(params=_OPERANDS, code=K.SUM, fold=K.ADD, monotone=_same_direction, **_BINARY)
def add(first: Schedule, second: Schedule) -> None:
    """``first(t) + second(t)``; what ``first + second`` and ``first + c`` build.

    Example:
        >>> import lrcore as lr
        >>> s = lr.add(lr.cosine(init=1.0, steps=100), lr.constant(value=0.1))
        >>> s(0), round(s(50), 6), s(100), s == lr.cosine(init=1.0, steps=100) + 0.1
        (1.1, 0.6, 0.1, True)
    """


@kind(
    params=dict(
        schedule=schedule("the schedule to clip"),
        lo=real("the lower bound", ge=0),
        hi=real("the upper bound (>= lo)", ge=0, optional=True, default_doc="None, no upper bound"),
    ),
    code=K.CLIP,
    layout=("lo", "hi"),
    derive={"hi": lambda s: math.inf if s["hi"] is None else s["hi"]},
    horizon=lambda s: s["schedule"].horizon,
    length=lambda s: stated_length(s["schedule"]),
    continuous=_child("schedule", "continuous"),
    monotone=_child("schedule", "monotone"),
)
def clip(schedule: Schedule, lo: float = 0.0, hi: float | None = None) -> None:
    """``min(max(schedule(t), lo), hi)``; `hi` None means no upper bound.

    Example:
        >>> import lrcore as lr
        >>> s = lr.clip(lr.cosine(init=1.0, steps=100), lo=0.1, hi=0.8)
        >>> s(0), round(s(50), 6), s(100)
        (0.8, 0.5, 0.1)
    """
    if hi is not None and hi < lo:
        raise check.fail("clip", "hi", f"must be >= lo={lo:g}", hi)


def _shift_horizon(s: Schedule) -> float | None:
    h = s["schedule"].horizon
    if h is None:
        return None
    x = max(0.0, h - s["steps"])
    while x + s["steps"] < h:
        x = math.nextafter(x, math.inf)
    return x


def _shift_length(s: Schedule) -> float | None:
    inner = stated_length(s["schedule"])
    rest = None if inner is None else inner - float(s["steps"])
    return rest if rest is not None and rest > 0 else None


@kind(
    params=dict(schedule=schedule("the schedule to shift"), steps=length("how many of its steps to skip", ge=0)),
    code=K.SHIFT,
    layout=("steps",),
    horizon=_shift_horizon,
    length=_shift_length,
    continuous=_child("schedule", "continuous"),
    monotone=_child("schedule", "monotone"),
)
def shift(schedule: Schedule, steps: float) -> None:
    """``schedule(t + steps)``: the schedule entered `steps` steps in.

    Example:
        >>> import lrcore as lr
        >>> s = lr.shift(lr.cosine(init=1.0, steps=100), 50)
        >>> round(s(0), 6), s(50)  # starts halfway down the cosine
        (0.5, 0.0)
    """


def _stretched(s: Schedule) -> Schedule:
    """A stretch node as the equivalent tree with every length of its schedule × factor: each
    kind's record marks its lengths, and a rate per step (cyclic's gamma) becomes its factor-th root."""
    from ._registry import KINDS

    factor = s["factor"]

    def visit(node: Schedule) -> Schedule:
        record = KINDS[node.kind]
        if record.lower is not None:
            return visit(record.lower(node))
        if not record.serialisable:
            raise check.fail("stretch", "schedule", f"cannot hold a {node.kind} schedule, whose lengths it cannot "
                             "see (wrap its function instead: custom(lambda t: fn(t / factor)))", node, TypeError)
        kwargs: dict[str, Any] = {}
        for p in record.params:
            value = node[p.name]
            if p.type == "schedule":
                value = visit(value)
            elif p.type == "schedules":
                value = [visit(child) for child in value]
            elif p.length:
                if value is None:  # a default length (cyclic's step_down, inverse_sqrt's timescale)
                    value = record.value(node, p.name)
                value = _times(value, factor)
            elif p.name in record.rates:
                try:
                    value = value ** (1.0 / factor)
                except OverflowError:
                    raise check.fail(node.kind, p.name, f"to the power 1 / factor={factor:g} is past the largest float",
                                     value) from None
            kwargs[p.name] = value
        return record.constructor(**kwargs)

    return visit(s["schedule"])


def _times(value: Any, factor: float) -> Any:
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):  # (t, value) points
            return [(t * factor, v) for t, v in value]
        return [v * factor for v in value]
    return value * factor


@kind(
    params=dict(
        schedule=schedule("the schedule to run slower"),
        factor=real("how many times slower (below 1: faster)", gt=0),
    ),
    lower=_stretched,
    horizon=lambda s: _stretched(s).horizon,
    length=lambda s: stated_length(_stretched(s)),
    continuous=_child("schedule", "continuous"),
    monotone=_child("schedule", "monotone"),
)
def stretch(schedule: Schedule, factor: float) -> None:
    """``schedule(t / factor)``: the schedule run `factor` times slower, every length × factor
    (Composer's ``scale_schedule_ratio``).

    Example:
        >>> import lrcore as lr
        >>> s = lr.stretch(lr.cosine(init=1.0, steps=100), 2)
        >>> round(s(100), 6), s(200), s.horizon  # halfway at 100 now
        (0.5, 0.0, 200.0)
    """
    try:
        _stretched(_make_stretch(schedule, factor))
    except ValueError as err:
        raise check.fail("stretch", "factor", f"leaves no valid schedule ({err})", factor) from None


def _make_stretch(schedule: Schedule, factor: float) -> Schedule:
    return Schedule._make("stretch", (("schedule", schedule), ("factor", factor)))


# ---------------------------------------------------------------------------
# growth, and the untuned warmups encoded through it

GROWTH_SHAPES = {"linear": K.SHAPE_LINEAR, "log": K.SHAPE_LOG, "saturating": K.SHAPE_SATURATING}


def _growth_value(s: Schedule, t: float) -> float:
    return K.growth(s["start"], s["rate"], s["every"], GROWTH_SHAPES[s["shape"]], float(s["staircase"]),
                    float(s["end"] is not None), s["end"] or 0.0, t)


def _growth_horizon(s: Schedule) -> float | None:
    """The smallest t from which the value stays: where it reaches `end`, or where "saturating" stops
    moving (1 - exp(-u) rounds to 1 by u = 37.43, and start + rate * h may settle sooner).

    The formula never turns back, so the value at a later time settles it; the time itself is then the
    smallest float with that value, found by bisection on the formula.
    """
    start, rate, end, shape = s["start"], s["rate"], s["end"], s["shape"]
    if rate == 0.0 or end == start:
        return 0.0
    if end is None:
        if shape != "saturating":
            return None  # unbounded
        u = 38.0
    else:
        x = (end - start) / rate  # > 0: the h(u) at which the value meets end
        if shape == "linear":
            u = x
        elif shape == "log":
            u = math.expm1(x) if x < 709.0 else math.inf
        else:
            u = -math.log1p(-x) if x < 1.0 else 38.0
    later = s["every"] * (math.ceil(u) + 1.0) * 2.0 if math.isfinite(u) else math.inf
    if not math.isfinite(later):
        return None  # past the float range: it never settles at a float time
    final = _growth_value(s, later)
    if _growth_value(s, 0.0) == final:
        return 0.0
    # The smallest t with the final value, between 0 (not yet) and `later`, on the floats' order.
    lo, hi = 0, _bits(later)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _growth_value(s, _float(mid)) == final:
            hi = mid
        else:
            lo = mid
    return _float(hi)


def _bits(x: float) -> int:
    """A float >= 0 as an int, in the same order."""
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _float(n: int) -> float:
    return struct.unpack("<d", struct.pack("<q", n))[0]


@kind(
    params=dict(
        start=real("the value at t = 0", ge=0),
        rate=real("the change per unit of h: > 0 grows, < 0 falls (towards `end`, which is then required)"),
        every=length("the steps that make one unit of u = t / every", gt=0),
        shape=choice("h(u)", *GROWTH_SHAPES),
        staircase=flag("floor ``t / every``, so the value changes only at multiples of `every`"),
        end=real(
            "the ceiling (rate > 0, >= start) or floor (rate < 0, <= start) of the value",
            ge=0, optional=True, default_doc="None, no bound",
        ),
    ),
    formula=K.growth,
    derive={
        "shape": _code("shape", GROWTH_SHAPES),
        "has_end": lambda s: s["end"] is not None,
        "end": lambda s: s["end"] or 0.0,
    },
    horizon=_growth_horizon,
    length=_none,
    continuous=lambda s: not s["staircase"],
    monotone=lambda s: 0 if s["rate"] == 0.0 else (1 if s["rate"] > 0.0 else -1),
)
def growth(
    *,
    start: float,
    rate: float,
    every: float = 1.0,
    shape: str = "linear",
    staircase: bool = False,
    end: float | None = None,
) -> None:
    """``start + rate * h(t / every)``, bounded by `end`: h(u) = u ("linear"), log(1 + u) ("log") or
    1 - exp(-u) ("saturating", which approaches ``start + rate``).

    A "linear" growth without `end` grows without bound (DeepSpeed's LRRangeTest; `staircase` floors
    ``t / every``); with `end` it is a ramp that holds `end`.  "log" is DeepSpeed's log warmup.

    Example:
        >>> import lrcore as lr
        >>> s = lr.growth(start=0.1, rate=0.1, every=10)
        >>> s(0), s(10), round(s(95), 6)  # + 0.1 every 10 steps, for ever
        (0.1, 0.2, 1.05)
        >>> s = lr.growth(start=0.0, rate=0.2, every=10, staircase=True, end=0.5)
        >>> [s(t) for t in (9, 10, 25, 40)], s.horizon  # 0.2 per 10 steps, up to end
        ([0.0, 0.2, 0.4, 0.5], 30.0)
    """
    w = "growth"
    if end is None and rate < 0.0:
        raise check.fail(w, "rate", "must be >= 0 without `end` (a falling growth needs end as its floor)", rate)
    if end is not None:
        if rate > 0.0 and end < start:
            raise check.fail(w, "end", f"must be >= start={start:g} when rate > 0 (it is a ceiling)", end)
        if rate < 0.0 and end > start:
            raise check.fail(w, "end", f"must be <= start={start:g} when rate < 0 (it is a floor)", end)


UNTUNED_SHAPES = ("linear", "exponential")


def untuned_period(beta2: float, shape: str) -> float:
    """pytorch_warmup's warmup period, computed as it computes it: ``int(2.0 / (1.0 - beta2))`` for the
    linear warmup, ``int(1.0 / (1.0 - beta2))`` for the exponential one (1999 and 999 at beta2=0.999,
    since 1 - 0.999 rounds above 0.001)."""
    return float(int((2.0 if shape == "linear" else 1.0) / (1.0 - beta2)))


def _untuned_factor(s: Schedule) -> Schedule:
    """The warmup factor at t, pytorch_warmup's at its step t: min(1, (t + 1) / period) or
    1 - exp(-(t + 1) / period), a growth in u = (t + 1) / period (a shift by the one step)."""
    period = untuned_period(s["beta2"], s["shape"])
    if s["shape"] == "linear":
        return shift(growth(start=0.0, rate=1.0, every=period, end=1.0), steps=1.0)
    return shift(growth(start=0.0, rate=1.0, every=period, shape="saturating"), steps=1.0)


def _untuned_lower(s: Schedule) -> Schedule:
    return product(s["schedule"], _untuned_factor(s))


@kind(
    params=dict(
        schedule=schedule("the schedule the warmup dampens"),
        beta2=real("Adam's second-moment decay, which sets the warmup's length", ge=0, lt=1),
        shape=choice("the warmup factor", *UNTUNED_SHAPES),
    ),
    lower=_untuned_lower,
    horizon=lambda s: _untuned_lower(s).horizon,
    length=lambda s: stated_length(_untuned_lower(s)),
    continuous=_child("schedule", "continuous"),
    monotone=lambda s: 1 if _child("schedule", "monotone")(s) in (0, 1) else None,
)
def untuned_warmup(schedule: Schedule, beta2: float = 0.999, shape: str = "linear") -> None:
    """``schedule(t) * omega(t)``: pytorch_warmup's untuned warmups for Adam, ``UntunedLinearWarmup``
    (``omega = min(1, (t + 1) / period)``, ``period = int(2 / (1 - beta2))``) and
    ``UntunedExponentialWarmup`` (``omega = 1 - exp(-(t + 1) / period)``, ``period = int(1 / (1 - beta2))``).

    t is lrcore's (updates already applied): pytorch_warmup dampens the lr of update t with its
    ``last_step = t``, whose factor counts ``t + 1`` (the paper's 1-based step), so the first update
    already gets ``schedule(0) / period``, not 0.

    Example:
        >>> import lrcore as lr
        >>> s = lr.untuned_warmup(lr.constant(value=1.0))  # beta2=0.999: a 1999-step linear warmup
        >>> s(0) == 1 / 1999, s(999) == 1000 / 1999, s(1998), s(5000)
        (True, True, 1.0, 1.0)
        >>> round(lr.untuned_warmup(lr.constant(value=1.0), shape="exponential")(998), 6)  # 1 - exp(-1)
        0.632121
    """
