"""An independent reference for every lrcore kind and combinator, in plain Python.

Written from the formulas of the public contract (the README and the constructors'
docstrings); it never imports lrcore.  Each ``ref_<kind>(t, **params)`` takes the
parameters under the names ``Schedule.to_dict()`` uses; combinators take
reference callables.  ``build(spec)`` turns a ``to_dict()``-shaped dict into a
reference callable, so one spec drives both lrcore and the reference.

The reference is exact where exactness is cheap: every floor, ceiling, cycle
index and position inside a period is computed on exact rationals
(``fractions.Fraction`` holds a float exactly), so boundaries and times as
large as 2**62 land on the mathematically right branch and phase.  Times may
be floats or Fractions; combinators hand their children exact times
(``t - boundary``, ``t + steps``).  The smooth
parts use forms that avoid cancellation (``1 - cos x = 2 sin^2(x/2)``, a
linear ramp anchored at its nearer end), so the reference is accurate to a few
ulps even where the value is tiny next to the schedule's scale.

The second half holds what the property tests derive from the same formulas:
``bounds`` (the range of values a spec can take), ``landmarks`` (its boundary
times) and hypothesis strategies that generate valid specs for every kind.
"""

from __future__ import annotations

import decimal
import math
import sys
from bisect import bisect_right
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

Ref = Callable[[Any], float]  # t -> value, t a float or an exact Fraction
Spec = dict[str, Any]

BIG_T = 2.0**62  # "far past the end": an exact float; t / 0.5 is already beyond int64 there


# ---------------------------------------------------------------------------
# Exact helpers


def _floor_div(t: float, d: float) -> int:
    """floor(t / d) on the exact values of the floats."""
    return math.floor(Fraction(t) / Fraction(d))


def _ceil_div(t: float, d: float) -> int:
    return math.ceil(Fraction(t) / Fraction(d))


def _ratio(a: Fraction | float, b: Fraction | float) -> float:
    """a / b rounded once from the exact quotient."""
    return float(Fraction(a) / Fraction(b))


def _scaled_power(init: float, gamma: float, x: float) -> float:
    """init * gamma ** x, without 0 * inf or an overflow in the intermediate power."""
    if init == 0.0 or gamma == 1.0 or x == 0.0:
        return init
    if gamma == 0.0:
        return 0.0
    try:
        g = gamma**x
    except OverflowError:
        g = math.inf
    if g == 0.0 or math.isinf(g):
        e = math.log(init) + x * math.log(gamma)
        if e < -746.0:
            return 0.0
        if e > 709.78:  # math.exp overflows just past log(max float) = 709.7827
            return math.inf
        return math.exp(e)
    return init * g


def _progress(frac: Fraction, k_decay: float) -> tuple[float, float]:
    """(p, 1 - p) for p = frac ** k_decay, the complement without cancellation."""
    if k_decay == 1.0:
        return float(frac), float(1 - frac)
    if frac == 0:
        return 0.0, 1.0
    if frac <= Fraction(1, 2):
        # log of the exact fraction: float(frac) can underflow to 0 for subnormal times.
        e = k_decay * (math.log(frac.numerator) - math.log(frac.denominator))
    else:
        e = k_decay * math.log1p(-float(1 - frac))  # 1 - frac is exact: no cancellation near 1
    return math.exp(e), -math.expm1(e)


def _fall_cos(p: float, q: float | None = None) -> float:
    """0.5 * (1 + cos(pi p)) = cos^2(pi p / 2); q = 1 - p when the caller has it exactly."""
    if q is None:
        q = 1.0 - p
    if p <= 0.5:
        return math.cos(0.5 * math.pi * p) ** 2
    return math.sin(0.5 * math.pi * q) ** 2


def _ease(shape: str, frac: Fraction | float) -> tuple[float, float]:
    """A rising shape at progress p in [0, 1] and its complement: (w, 1 - w), both without cancellation.

    linear w = p; cosine w = 0.5 (1 - cos pi p) = sin^2(pi p / 2); sqrt w = 1 - sqrt(1 - p).
    """
    frac = Fraction(frac)
    p, q = float(frac), float(1 - frac)
    if shape == "cosine":
        return math.sin(0.5 * math.pi * p) ** 2, math.sin(0.5 * math.pi * q) ** 2
    if shape == "sqrt":
        root = math.sqrt(q)
        return p / (1.0 + root), root
    return p, q


def _mix(a: float, b: float, w: tuple[float, float]) -> float:
    """a + (b - a) * w, anchored at the nearer end so that neither end loses precision."""
    weight, rest = w
    if weight <= 0.5:
        return a + (b - a) * weight
    return b + (a - b) * rest


# ---------------------------------------------------------------------------
# Leaves


def ref_constant(t: float, value: float) -> float:
    return value


def ref_linear(t: float, start: float, end: float, steps: float) -> float:
    """start + (end - start) * t / steps until steps, then end."""
    if t >= steps:
        return end
    return _mix(start, end, _ease("linear", Fraction(t) / Fraction(steps)))


def ref_step(t: float, init: float, step_size: float, gamma: float) -> float:
    """init * gamma ** floor(t / step_size)."""
    return _scaled_power(init, gamma, _floor_div(t, step_size))


def ref_multistep(t: float, init: float, milestones: Sequence[float], gamma: float) -> float:
    """init * gamma ** (number of milestones <= t); a repeated milestone counts twice."""
    return _scaled_power(init, gamma, bisect_right(list(milestones), t))


def ref_exponential(
    t: float, init: float, gamma: float, every: float, staircase: bool, end: float | None
) -> float:
    """init * gamma ** (t / every) (floored if staircase); end a floor if gamma < 1, else a ceiling (optax)."""
    x = float(_floor_div(t, every)) if staircase else _ratio(t, every)
    v = _scaled_power(init, gamma, x)
    if end is None:
        return v
    return max(v, end) if gamma < 1.0 else min(v, end)


def ref_inverse_time(t: float, init: float, rate: float, every: float, staircase: bool) -> float:
    """init / (1 + rate * t / every) (floored t / every if staircase)."""
    x = float(_floor_div(t, every)) if staircase else _ratio(t, every)
    return init / (1.0 + rate * x)


def ref_polynomial(
    t: float, init: float, end: float, steps: float, power: float, cycle: bool, k_decay: float
) -> float:
    """(init - end) * (1 - p) ** power + end with p = (t / span) ** k_decay.

    span = steps and t clamped to steps; with cycle (Keras) span is steps times
    ceil(t / steps) (at least 1), so the value returns to the top after each multiple.
    """
    if cycle:
        span = Fraction(steps) * max(1, _ceil_div(t, steps))
        frac = Fraction(t) / span
    else:
        frac = min(Fraction(t), Fraction(steps)) / Fraction(steps)
    rest = _progress(frac, k_decay)[1]
    if rest == 0.0:
        return end
    return (init - end) * rest**power + end


def ref_cosine(
    t: float, init: float, steps: float, final: float, exponent: float, k_decay: float, periodic: bool
) -> float:
    """final + (init - final) * (0.5 * (1 + cos(pi p))) ** exponent, p = (min(t, steps) / steps) ** k_decay.

    periodic: p = t / steps without the clamp (the wave has period 2 * steps).
    """
    T = Fraction(steps)
    if periodic:
        frac = (Fraction(t) % (2 * T)) / T  # in [0, 2): cos(pi p) is even about p = 1
        if frac > 1:
            frac = 2 - frac
    else:
        frac = min(Fraction(t), T) / T
    c = _fall_cos(*_progress(frac, k_decay))
    return final + (init - final) * c**exponent


def _restart_cycle(t: float, period: float, mult: float) -> tuple[int, Fraction, Fraction]:
    """SGDR cycle index i, its exact start and exact length period * mult ** i."""
    P, M, T = Fraction(period), Fraction(mult), Fraction(t)
    if mult == 1.0:
        i = math.floor(T / P)
        return i, i * P, P
    # Starts are period * (mult**i - 1) / (mult - 1): estimate i by logarithms, then settle it exactly.
    i = max(0, math.floor(math.log1p(t * (mult - 1.0) / period) / math.log(mult)))

    def start(k: int) -> Fraction:
        return P * (M**k - 1) / (M - 1)

    while i > 0 and start(i) > T:
        i -= 1
    while start(i + 1) <= T:
        i += 1
    return i, start(i), P * M**i


def ref_cosine_restarts(
    t: float, init: float, period: float, final: float, period_mult: float, decay: float, k_decay: float
) -> float:
    """SGDR: cycle i lasts period * period_mult ** i and anneals from init * decay ** i to final.

    Inside cycle i at local time u: final + (peak_i - final) * 0.5 * (1 + cos(pi (u / length_i) ** k_decay)).
    """
    i, start, length = _restart_cycle(t, period, period_mult)
    frac = (Fraction(t) - start) / length
    peak = _scaled_power(init, decay, i)
    return final + (peak - final) * _fall_cos(*_progress(frac, k_decay))


def _anneal(cos: bool, a: float, b: float, frac: Fraction) -> float:
    """From a at p = 0 to b at p = 1: half cosine or straight line."""
    return _mix(a, b, _ease("cosine" if cos else "linear", frac))


def ref_one_cycle(
    t: float,
    peak: float,
    steps: float,
    pct_start: float,
    div_factor: float,
    final_div_factor: float,
    anneal: str,
    three_phase: bool,
) -> float:
    """1cycle, clean form: peak/div_factor at 0 -> peak at up = pct_start * steps -> low at steps, held.

    low = peak / (div_factor * final_div_factor) (as peak/div_factor/final_div_factor); three_phase goes
    back to peak/div_factor at 2 * up, then to low at steps.
    """
    initial = peak / div_factor
    low = initial / final_div_factor
    cos = anneal == "cos"
    up, T, end = Fraction(pct_start) * Fraction(steps), Fraction(t), Fraction(steps)
    if T >= end:
        return low
    if T < up:
        return _anneal(cos, initial, peak, T / up)
    if three_phase:
        if T < 2 * up:
            return _anneal(cos, peak, initial, (T - up) / up)
        return _anneal(cos, initial, low, (T - 2 * up) / (end - 2 * up))
    return _anneal(cos, peak, low, (T - up) / (end - up))


def ref_cyclic(
    t: float, base: float, peak: float, step_up: float, step_down: float | None, mode: str, gamma: float
) -> float:
    """PyTorch CyclicLR: base + (peak - base) * s * f.

    The cycle lasts P = up + down, the float sum (the length a float
    implementation has).  Cycle c = floor(t / P) (0-based), u = t - c P;
    s = u / up while rising, (P - u) / (P - up) while falling.  f = 1
    (triangular), 0.5 ** c (triangular2), gamma ** t (exp_range).
    """
    down = step_up if step_down is None else step_down
    U, P = Fraction(step_up), Fraction(step_up + down)
    c = math.floor(Fraction(t) / P)
    u = Fraction(t) - c * P
    s = float(u / U) if u <= U else float((P - u) / (P - U))
    if s == 0.0 or peak == base:
        return base  # a zero amplitude stays zero under any envelope (not 0 * inf)
    if mode == "triangular":
        f = 1.0
    elif mode == "triangular2":
        f = 0.5**c
    else:
        try:
            f = gamma ** float(t)
        except OverflowError:
            f = math.inf
    return base + (peak - base) * s * f


def ref_piecewise_constant(t: float, boundaries: Sequence[float], values: Sequence[float]) -> float:
    """values[i] on [boundaries[i-1], boundaries[i])."""
    return values[bisect_right(list(boundaries), t)]


def ref_interpolate(t: float, points: Sequence[Sequence[float]], shape: str) -> float:
    """Through the (t_i, v_i) points (t_0 = 0); linear or half-cosine between neighbours; holds the last."""
    ts = [p[0] for p in points]
    vs = [p[1] for p in points]
    if t >= ts[-1]:
        return vs[-1]
    i = bisect_right(ts, t) - 1
    frac = (Fraction(t) - Fraction(ts[i])) / (Fraction(ts[i + 1]) - Fraction(ts[i]))
    return _mix(vs[i], vs[i + 1], _ease(shape, frac))


def ref_inverse_sqrt(t: float, peak: float, warmup: float, timescale: float | None) -> float:
    """peak * t / warmup while t < warmup, then peak / sqrt((t - warmup + timescale) / timescale).

    timescale defaults to warmup, or 10 000 when warmup is 0.
    """
    if timescale is None:
        timescale = warmup if warmup > 0.0 else 10_000.0
    if t < warmup:
        return peak * _ratio(t, warmup)
    x = (Fraction(t) - Fraction(warmup) + Fraction(timescale)) / Fraction(timescale)
    return peak / math.sqrt(float(x))


def ref_wsd(
    t: float,
    peak: float,
    steps: float,
    warmup: float,
    decay: float,
    final: float,
    start: float,
    warmup_shape: str,
    decay_shape: str,
) -> float:
    """start -> peak over [0, warmup), peak until steps - decay, -> final over [steps - decay, steps), then final.

    Warmup start + (peak - start) * ease(t / warmup); decay final + (peak - final) * fall(p),
    p = (t - (steps - decay)) / decay.  ease: p, 0.5 (1 - cos pi p), 1 - sqrt(1 - p);
    fall: 1 - p, 0.5 (1 + cos pi p), 1 - sqrt(p).
    """
    if t < warmup:
        return _mix(start, peak, _ease(warmup_shape, Fraction(t) / Fraction(warmup)))
    knee = Fraction(steps) - Fraction(decay)
    if t < knee:
        return peak
    if t < steps:
        # The weight of `final` is 1 - fall(p): p (linear), sin^2(pi p / 2) (cosine), sqrt(p) (sqrt);
        # for sqrt that is the complement of ease_sqrt(1 - p) = 1 - sqrt(p).
        frac = (Fraction(t) - knee) / Fraction(decay)
        if decay_shape == "sqrt":
            fall, weight = _ease("sqrt", 1 - frac)
            return _mix(peak, final, (weight, fall))
        return _mix(peak, final, _ease(decay_shape, frac))
    return final


def ref_tanh_decay(t: float, init: float, steps: float, final: float, lower: float, upper: float) -> float:
    """final + (init - final) / 2 * (1 - tanh(lower + (upper - lower) * t / steps)) for t < steps, then final."""
    if t >= steps:
        return final
    x = lower + (upper - lower) * _ratio(t, steps)
    # 1 - tanh(x) = 2 / (1 + exp(2x)): no cancellation when tanh(x) is close to 1.
    return final + (init - final) / 2.0 * (2.0 / (1.0 + math.exp(min(2.0 * x, 700.0))))


def ref_range_test(t: float, start: float, end: float, steps: int, shape: str) -> float:
    """start * (end / start) ** (t / (steps - 1)) (exponential) or start + (end - start) * t / (steps - 1)
    (linear) until t = steps - 1, then end.

    Exact: the geometric value is computed in 40-digit decimal arithmetic and rounded once.
    """
    span = steps - 1
    if t >= span:
        return end
    p = Fraction(t) / span
    if shape == "linear":
        return _mix(start, end, _ease("linear", p))
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        a, b = decimal.Decimal(start), decimal.Decimal(end)
        x = decimal.Decimal(p.numerator) / decimal.Decimal(p.denominator)
        return float((a.ln() * (1 - x) + b.ln() * x).exp())


# ---------------------------------------------------------------------------
# Combinators (their schedules are reference callables)


def ref_join(t: float, schedules: Sequence[Ref], boundaries: Sequence[float]) -> float:
    """schedules[i](t - boundaries[i-1]) on [boundaries[i-1], boundaries[i]); schedules[0](t) before the first."""
    i = bisect_right(list(boundaries), t)
    return schedules[i](t if i == 0 else Fraction(t) - Fraction(boundaries[i - 1]))


def ref_warmup(t: float, schedule: Ref, steps: float, start: float, shape: str) -> float:
    """A ramp from start to schedule(0) over [0, steps), then schedule(t - steps).

    linear: start + (target - start) p; cosine: start + (target - start) * 0.5 (1 - cos pi p);
    exponential: start * (target / start) ** p; p = t / steps.
    """
    if t >= steps:
        return schedule(Fraction(t) - Fraction(steps))
    target = schedule(0.0)
    frac = Fraction(t) / Fraction(steps)
    if shape == "exponential":
        if frac == 0:
            return start
        # In logs: target / start overflows for a subnormal start.
        return math.exp(math.log(start) + float(frac) * (math.log(target) - math.log(start)))
    return _mix(start, target, _ease(shape, frac))


def ref_scale(t: float, schedule: Ref, factor: float) -> float:
    return factor * schedule(t)


def ref_product(t: float, first: Ref, second: Ref) -> float:
    return first(t) * second(t)


def ref_add(t: float, first: Ref, second: Ref) -> float:
    return first(t) + second(t)


def ref_clip(t: float, schedule: Ref, lo: float, hi: float | None) -> float:
    """min(max(schedule(t), lo), hi); hi None is no upper bound."""
    v = max(schedule(t), lo)
    return v if hi is None else min(v, hi)


def ref_shift(t: float, schedule: Ref, steps: float) -> float:
    """schedule(t + steps)."""
    return schedule(Fraction(t) + Fraction(steps))


LEAVES: dict[str, Callable[..., float]] = {
    "constant": ref_constant,
    "linear": ref_linear,
    "step": ref_step,
    "multistep": ref_multistep,
    "exponential": ref_exponential,
    "inverse_time": ref_inverse_time,
    "polynomial": ref_polynomial,
    "cosine": ref_cosine,
    "cosine_restarts": ref_cosine_restarts,
    "one_cycle": ref_one_cycle,
    "cyclic": ref_cyclic,
    "piecewise_constant": ref_piecewise_constant,
    "interpolate": ref_interpolate,
    "inverse_sqrt": ref_inverse_sqrt,
    "wsd": ref_wsd,
    "tanh_decay": ref_tanh_decay,
    "range_test": ref_range_test,
}
COMBINATORS: dict[str, Callable[..., float]] = {
    "join": ref_join,
    "warmup": ref_warmup,
    "scale": ref_scale,
    "product": ref_product,
    "add": ref_add,
    "clip": ref_clip,
    "shift": ref_shift,
}
SCHEDULE_PARAMS = ("schedule", "first", "second")


BIG = sys.float_info.max


def _saturate(v: float) -> float:
    """Values past the largest float are the largest float (no schedule returns inf)."""
    return min(v, BIG)


def build(spec: Spec) -> Ref:
    """The reference callable t -> value of a ``to_dict()``-shaped spec (every parameter present).

    Every node's value saturates at the largest float, so that a growing kind under a
    product or a sum stays finite (0 times a saturated value is 0, not nan).
    """
    kind = spec["kind"]
    params = {k: v for k, v in spec.items() if k != "kind"}
    if kind in LEAVES:
        fn = LEAVES[kind]
        return lambda t: _saturate(fn(_time(t), **params))
    for name in SCHEDULE_PARAMS:
        if name in params:
            params[name] = build(params[name])
    if "schedules" in params:
        params["schedules"] = [build(s) for s in params["schedules"]]
    fn = COMBINATORS[kind]
    return lambda t: _saturate(fn(_time(t), **params))


def _time(t: Any) -> float | Fraction:
    return t if isinstance(t, Fraction) else float(t)


# ---------------------------------------------------------------------------
# Specs: the contract's defaults and a hand-picked catalogue

DEFAULTS: dict[str, dict[str, Any]] = {
    "constant": {},
    "linear": {},
    "step": {"gamma": 0.1},
    "multistep": {"gamma": 0.1},
    "exponential": {"every": 1.0, "staircase": False, "end": None},
    "inverse_time": {"every": 1.0, "staircase": False},
    "polynomial": {"power": 1.0, "cycle": False, "k_decay": 1.0},
    "cosine": {"final": 0.0, "exponent": 1.0, "k_decay": 1.0, "periodic": False},
    "cosine_restarts": {"final": 0.0, "period_mult": 1.0, "decay": 1.0, "k_decay": 1.0},
    "one_cycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "anneal": "cos",
                  "three_phase": False},
    "cyclic": {"step_down": None, "mode": "triangular", "gamma": 1.0},
    "piecewise_constant": {},
    "interpolate": {"shape": "linear"},
    "inverse_sqrt": {"timescale": None},
    "wsd": {"final": 0.0, "start": 0.0, "warmup_shape": "linear", "decay_shape": "linear"},
    "tanh_decay": {"final": 0.0, "lower": -7.0, "upper": 3.0},
    "range_test": {"start": 1e-7, "end": 10.0, "steps": 100, "shape": "exponential"},
    "join": {},
    "warmup": {"start": 0.0, "shape": "linear"},
    "scale": {},
    "product": {},
    "add": {},
    "clip": {"lo": 0.0, "hi": None},
    "shift": {},
}


def spec(kind: str, **params: Any) -> Spec:
    """A full spec of `kind`: the given parameters over the contract's defaults."""
    return {"kind": kind, **DEFAULTS[kind], **params}


def _catalogue() -> dict[str, list[Spec]]:
    c = spec
    cos = c("cosine", init=1.0, steps=100.0, final=0.1)
    return {
        "constant": [c("constant", value=0.3), c("constant", value=0.0)],
        "linear": [c("linear", start=0.0, end=1.0, steps=10.0), c("linear", start=0.3, end=0.1, steps=7.5),
                   c("linear", start=1.0, end=0.0, steps=1e6)],
        "step": [c("step", init=1.0, step_size=3.0), c("step", init=0.5, step_size=2.5, gamma=0.5),
                 c("step", init=1e-3, step_size=10.0, gamma=1.5), c("step", init=1.0, step_size=1.0, gamma=0.0)],
        "multistep": [c("multistep", init=1.0, milestones=[3.0, 6.0]),
                      c("multistep", init=0.2, milestones=[2.0, 2.0, 5.5], gamma=0.5),
                      c("multistep", init=1.0, milestones=[], gamma=0.5)],
        "exponential": [c("exponential", init=1.0, gamma=0.5), c("exponential", init=1.0, gamma=0.9, every=10.0,
                                                                   staircase=True),
                        c("exponential", init=1.0, gamma=0.5, end=0.1),
                        c("exponential", init=0.01, gamma=2.0, every=3.0, end=1.0),
                        c("exponential", init=0.3, gamma=1.0, end=0.2)],
        "inverse_time": [c("inverse_time", init=1.0, rate=0.5), c("inverse_time", init=0.1, rate=2.0, every=10.0,
                                                                   staircase=True)],
        "polynomial": [c("polynomial", init=1.0, end=0.0, steps=10.0), c("polynomial", init=0.3, end=0.1, steps=8.0,
                                                                        power=2.0),
                       c("polynomial", init=1.0, end=0.0, steps=10.0, cycle=True),
                       c("polynomial", init=1.0, end=0.1, steps=20.0, power=0.5, k_decay=2.0),
                       c("polynomial", init=0.1, end=1.0, steps=5.5, power=3.0, cycle=True, k_decay=0.5)],
        "cosine": [c("cosine", init=1.0, steps=10.0), cos, c("cosine", init=0.1, steps=10.0, final=1.0, periodic=True),
                   c("cosine", init=1.0, steps=20.0, exponent=2.0, k_decay=1.5),
                   c("cosine", init=3e-4, steps=9000.0, final=3e-5), c("cosine", init=1.0, steps=7.25, periodic=True),
                   c("cosine", init=1.0, steps=10.0, final=0.2, exponent=2.0, periodic=True)],
        "cosine_restarts": [c("cosine_restarts", init=1.0, period=10.0),
                            c("cosine_restarts", init=1.0, period=10.0, final=0.1, period_mult=2.0, decay=0.5),
                            c("cosine_restarts", init=1.0, period=4.0, period_mult=1.5, k_decay=2.0),
                            c("cosine_restarts", init=0.5, period=2.5, final=0.2, decay=0.0)],
        "one_cycle": [c("one_cycle", peak=1.0, steps=100.0), c("one_cycle", peak=0.1, steps=1000.0, pct_start=0.25,
                                                                anneal="linear"),
                      c("one_cycle", peak=1.0, steps=100.0, three_phase=True),
                      c("one_cycle", peak=2.0, steps=37.5, pct_start=0.4, div_factor=4.0, final_div_factor=2.0,
                        anneal="linear", three_phase=True)],
        "cyclic": [c("cyclic", base=0.1, peak=1.0, step_up=4.0), c("cyclic", base=0.1, peak=1.0, step_up=3.0,
                                                                    step_down=5.0, mode="triangular2"),
                   c("cyclic", base=0.0, peak=1.0, step_up=2.5, mode="exp_range", gamma=0.99),
                   c("cyclic", base=1.0, peak=0.2, step_up=1.5, step_down=0.5)],
        "piecewise_constant": [c("piecewise_constant", boundaries=[3.0, 6.0], values=[1.0, 0.1, 0.01]),
                               c("piecewise_constant", boundaries=[], values=[0.5]),
                               c("piecewise_constant", boundaries=[0.5, 2.25], values=[0.0, 1.0, 0.3])],
        "interpolate": [c("interpolate", points=[[0.0, 0.0], [10.0, 1.0], [30.0, 0.1]]),
                        c("interpolate", points=[[0.0, 0.1], [2.5, 0.3], [7.0, 0.3], [9.0, 0.0]], shape="cosine"),
                        c("interpolate", points=[[0.0, 0.7]])],
        "inverse_sqrt": [c("inverse_sqrt", peak=1.0, warmup=10.0), c("inverse_sqrt", peak=0.1, warmup=0.0),
                         c("inverse_sqrt", peak=1.0, warmup=4.0, timescale=100.0)],
        "wsd": [c("wsd", peak=1.0, steps=100.0, warmup=10.0, decay=20.0),
                c("wsd", peak=1.0, steps=100.0, warmup=10.0, decay=20.0, final=0.1, start=0.01, warmup_shape="cosine",
                  decay_shape="sqrt"),
                c("wsd", peak=0.5, steps=10.0, warmup=0.0, decay=10.0, decay_shape="cosine"),
                c("wsd", peak=0.5, steps=10.0, warmup=2.5, decay=0.0, warmup_shape="sqrt")],
        "tanh_decay": [c("tanh_decay", init=1.0, steps=100.0), c("tanh_decay", init=1.0, steps=10.0, final=0.1,
                                                                  lower=-3.0, upper=5.0)],
        "range_test": [c("range_test"), c("range_test", start=1e-4, end=1.0, steps=5),
                       # start * (end / start) rounds below end here: the last step must still be end.
                       c("range_test", start=1e-5, end=1.0, steps=7),
                       c("range_test", start=0.01, end=0.5, steps=11, shape="linear")],
        "join": [c("join", schedules=[c("linear", start=0.0, end=1.0, steps=10.0), cos], boundaries=[10.0]),
                 c("join", schedules=[c("constant", value=0.1), c("constant", value=0.2), cos],
                   boundaries=[2.5, 7.0])],
        "warmup": [c("warmup", schedule=cos, steps=10.0), c("warmup", schedule=cos, steps=5.5, start=0.01,
                                                             shape="cosine"),
                   c("warmup", schedule=cos, steps=8.0, start=0.001, shape="exponential")],
        "scale": [c("scale", schedule=cos, factor=0.5)],
        "product": [c("product", first=cos, second=c("step", init=1.0, step_size=7.0, gamma=0.5)),
                    c("product", first=c("constant", value=0.5), second=cos)],
        "add": [c("add", first=cos, second=c("constant", value=0.01)),
                c("add", first=cos, second=c("cyclic", base=0.0, peak=0.1, step_up=5.0))],
        "clip": [c("clip", schedule=c("linear", start=0.0, end=1.0, steps=10.0), lo=0.2, hi=0.7)],
        "shift": [c("shift", schedule=cos, steps=30.0), c("shift", schedule=cos, steps=2.5)],
    }


CATALOGUE: dict[str, list[Spec]] = _catalogue()


# ---------------------------------------------------------------------------
# Ranges and landmarks derived from the formulas: one entry per kind in BOUNDS and
# LANDMARKS, so a kind without them is visible (the registry tests list what a kind lacks).


def bounds(spec: Spec, t_max: float) -> tuple[float, float]:
    """(lo, hi) with lo <= value(t) <= hi for every t in [0, t_max]."""
    return BOUNDS[spec["kind"]](spec, t_max)


def _bounds_power(s: Spec, t_max: float) -> tuple[float, float]:
    """step and multistep: init times gamma to the number of decays so far."""
    count = _floor_div(t_max, s["step_size"]) if s["kind"] == "step" else len(s["milestones"])
    far = _scaled_power(s["init"], s["gamma"], count)
    return min(s["init"], far) if s["gamma"] > 1.0 else 0.0, max(s["init"], far)


def _bounds_exponential(s: Spec, t_max: float) -> tuple[float, float]:
    init, gamma, end = s["init"], s["gamma"], s["end"]
    far = _scaled_power(init, gamma, t_max / s["every"])
    if end is not None:
        far = max(far, end) if gamma < 1.0 else min(far, end)
        if gamma == 1.0:
            return far, far
    return min(init, far), max(init, far)


def _bounds_cosine_restarts(s: Spec, t_max: float) -> tuple[float, float]:
    i_max = _restart_cycle(t_max, s["period"], s["period_mult"])[0]
    peaks = [s["init"], _scaled_power(s["init"], s["decay"], i_max)]
    return min(s["final"], *peaks), max(s["final"], *peaks)


def _bounds_one_cycle(s: Spec, t_max: float) -> tuple[float, float]:
    initial = s["peak"] / s["div_factor"]
    low = initial / s["final_div_factor"]
    return min(initial, low, s["peak"]), max(initial, low, s["peak"])


def _bounds_cyclic(s: Spec, t_max: float) -> tuple[float, float]:
    base, peak = s["base"], s["peak"]
    f = _scaled_power(1.0, s["gamma"], t_max) if s["mode"] == "exp_range" and s["gamma"] > 1.0 else 1.0
    far = base + (peak - base) * f
    return min(base, peak, far), max(base, peak, far)


def _bounds_wsd(s: Spec, t_max: float) -> tuple[float, float]:
    ends = (s["start"], s["peak"], s["final"]) if s["warmup"] > 0.0 else (s["peak"], s["final"])
    return min(ends), max(ends)


def _between(a: str, b: str) -> Callable[[Spec, float], tuple[float, float]]:
    """Bounds of a kind whose values stay between parameters a and b."""
    return lambda s, t_max: (min(s[a], s[b]), max(s[a], s[b]))


def _bounds_join(s: Spec, t_max: float) -> tuple[float, float]:
    parts = [bounds(child, t_max) for child in s["schedules"]]
    return min(p[0] for p in parts), max(p[1] for p in parts)


def _bounds_warmup(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    return min(lo, s["start"]), max(hi, s["start"])


def _bounds_scale(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    return lo * s["factor"], hi * s["factor"]


def _bounds_product(s: Spec, t_max: float) -> tuple[float, float]:
    (a, b), (c, d) = bounds(s["first"], t_max), bounds(s["second"], t_max)
    return a * c, b * d


def _bounds_add(s: Spec, t_max: float) -> tuple[float, float]:
    (a, b), (c, d) = bounds(s["first"], t_max), bounds(s["second"], t_max)
    return a + c, b + d


def _bounds_clip(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    top = math.inf if s["hi"] is None else s["hi"]
    return min(max(lo, s["lo"]), top), min(max(hi, s["lo"]), top)


BOUNDS: dict[str, Callable[[Spec, float], tuple[float, float]]] = {
    "constant": _between("value", "value"),
    "linear": _between("start", "end"),
    "step": _bounds_power,
    "multistep": _bounds_power,
    "exponential": _bounds_exponential,
    "inverse_time": lambda s, t_max: (0.0, s["init"]),
    "polynomial": _between("init", "end"),
    "cosine": _between("init", "final"),
    "cosine_restarts": _bounds_cosine_restarts,
    "one_cycle": _bounds_one_cycle,
    "cyclic": _bounds_cyclic,
    "piecewise_constant": lambda s, t_max: (min(s["values"]), max(s["values"])),
    "interpolate": lambda s, t_max: (min(p[1] for p in s["points"]), max(p[1] for p in s["points"])),
    "inverse_sqrt": lambda s, t_max: (0.0, s["peak"]),
    "wsd": _bounds_wsd,
    "tanh_decay": _between("init", "final"),
    "range_test": _between("start", "end"),
    "join": _bounds_join,
    "warmup": _bounds_warmup,
    "scale": _bounds_scale,
    "product": _bounds_product,
    "add": _bounds_add,
    "clip": _bounds_clip,
    "shift": lambda s, t_max: bounds(s["schedule"], t_max + s["steps"]),
}


def landmarks(spec: Spec) -> list[Fraction]:
    """The exact times where the spec's formula switches branch (phase ends, milestones, cycle starts)."""
    return sorted({y for y in LANDMARKS[spec["kind"]](spec) if 0 < y < 10**15})


def _x(s: Spec, name: str) -> Fraction:
    return Fraction(s[name])


def _ends(repeats: str) -> Callable[[Spec], list[Fraction]]:
    """steps, and 2 steps and 3 steps when the flag `repeats` makes the kind periodic."""
    return lambda s: [k * _x(s, "steps") for k in ((1, 2, 3) if s[repeats] else (1,))]


def _staircase(s: Spec) -> list[Fraction]:
    return [k * _x(s, "every") for k in (1, 2, 3)] if s["staircase"] else []


def _landmarks_exponential(s: Spec) -> list[Fraction]:
    out = _staircase(s)
    if s["end"] is not None and s["gamma"] != 1.0 and s["init"] > 0.0 and s["end"] > 0.0:
        ratio = s["end"] / s["init"]
        if 0.0 < ratio < math.inf:  # end / init can overflow or underflow for subnormal values
            out.append(Fraction(s["every"] * math.log(ratio) / math.log(s["gamma"])))
    return out


def _landmarks_cosine_restarts(s: Spec) -> list[Fraction]:
    out, start, length = [], Fraction(0), _x(s, "period")
    for _ in range(3):
        start += length
        length *= _x(s, "period_mult")
        out.append(start)
    return out


def _landmarks_one_cycle(s: Spec) -> list[Fraction]:
    up = _x(s, "pct_start") * _x(s, "steps")
    return [_x(s, "steps"), up, 2 * up] if s["three_phase"] else [_x(s, "steps"), up]


def _landmarks_cyclic(s: Spec) -> list[Fraction]:
    up = _x(s, "step_up")
    total = up + (up if s["step_down"] is None else _x(s, "step_down"))
    return [up, total, total + up, 2 * total]


def _landmarks_join(s: Spec) -> list[Fraction]:
    out = [Fraction(b) for b in s["boundaries"]]
    for b, child in zip([0.0, *s["boundaries"]], s["schedules"], strict=True):
        out += [Fraction(b) + y for y in landmarks(child)]
    return out


LANDMARKS: dict[str, Callable[[Spec], list[Fraction]]] = {
    "constant": lambda s: [],
    "linear": lambda s: [_x(s, "steps")],
    "step": lambda s: [k * _x(s, "step_size") for k in (1, 2, 3)],
    "multistep": lambda s: [Fraction(m) for m in s["milestones"]],
    "exponential": _landmarks_exponential,
    "inverse_time": _staircase,
    "polynomial": _ends("cycle"),
    "cosine": _ends("periodic"),
    "cosine_restarts": _landmarks_cosine_restarts,
    "one_cycle": _landmarks_one_cycle,
    "cyclic": _landmarks_cyclic,
    "piecewise_constant": lambda s: [Fraction(b) for b in s["boundaries"]],
    "interpolate": lambda s: [Fraction(p[0]) for p in s["points"][1:]],
    "inverse_sqrt": lambda s: [_x(s, "warmup")],
    "wsd": lambda s: [_x(s, "steps"), _x(s, "warmup"), _x(s, "steps") - _x(s, "decay")],
    "tanh_decay": lambda s: [_x(s, "steps")],
    "range_test": lambda s: [Fraction(s["steps"] - 1)],
    "join": _landmarks_join,
    "warmup": lambda s: [_x(s, "steps"), *(_x(s, "steps") + y for y in landmarks(s["schedule"]))],
    "scale": lambda s: landmarks(s["schedule"]),
    "product": lambda s: landmarks(s["first"]) + landmarks(s["second"]),
    "add": lambda s: landmarks(s["first"]) + landmarks(s["second"]),
    "clip": lambda s: landmarks(s["schedule"]),
    "shift": lambda s: [y - _x(s, "steps") for y in landmarks(s["schedule"]) if y > _x(s, "steps")],
}


def probe_times(spec: Spec) -> list[float]:
    """0, each landmark b (rounded to a float) with b - 1, b + 1, its float neighbours and b + 1/4,
    and a few fractional times."""
    ts = {0.0, 0.5, 1.0, 2.0, 3.7}
    for exact in landmarks(spec):
        b = float(exact)
        for y in (b - 1.0, b, b + 1.0, math.nextafter(b, 0.0), math.nextafter(b, math.inf), b + 0.25):
            if y >= 0.0:
                ts.add(y)
    return sorted(ts)


def _restart_near(spec: Spec, t: float) -> list[Fraction]:
    """The exact cycle starts of a non-uniform cosine_restarts around t (past 2**53 they are no floats)."""
    if spec["kind"] != "cosine_restarts" or spec["period_mult"] == 1.0:
        return []
    _, start, length = _restart_cycle(t, spec["period"], spec["period_mult"])
    return [start, start + length]


def near_landmark(spec: Spec, t: float, ulps: int = 8) -> Fraction | None:
    """The landmark within `ulps` float steps of t, if any."""
    for b in [*landmarks(spec), *_restart_near(spec, t)]:
        if abs(Fraction(t) - b) <= ulps * Fraction(math.ulp(max(t, float(b)))):
            return b
    return None


def values_near(ref: Ref, t: float, landmark: Fraction, ulps: int = 8) -> list[float]:
    """The reference at t, at the floats within `ulps` steps of t, at the exact landmark and at
    exact times between t and the landmark.

    Where a branch point is not a float (3 * 0.1, a cycle start period * (1 + mult)), a float
    evaluation may put t on either side of it or see it a fraction of an ulp away; near such a
    point these are the values it may legitimately produce.
    """
    out = [ref(t), ref(landmark)]
    lo = hi = t
    for _ in range(ulps):
        lo, hi = max(math.nextafter(lo, 0.0), 0.0), math.nextafter(hi, math.inf)
        out += [ref(lo), ref(hi)]
    gap = landmark - Fraction(t)
    out += [ref(Fraction(t) + gap * j / 16) for j in range(1, 16)]
    return out


# ---------------------------------------------------------------------------
# Hypothesis strategies: one per kind, every draw valid for its constructor


def _num(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _length(lo: float = 0.5, hi: float = 2_000.0) -> st.SearchStrategy[float]:
    """Lengths: small integers, large integers and fractional values."""
    return st.one_of(
        st.integers(1, 20).map(float),
        st.integers(21, int(hi)).map(float),
        _num(lo, hi),
    )


def _value() -> st.SearchStrategy[float]:
    """Learning-rate-like values: 0, round numbers and wide magnitudes."""
    return st.one_of(
        st.just(0.0),
        st.sampled_from([1.0, 0.1, 3e-4, 1e-3, 2.5]),
        _num(0.0, 10.0),
        st.floats(-9.0, 1.0).map(lambda e: 10.0**e),
    )


def _increasing(
    lo: float, hi: float, min_size: int, max_size: int, strict: bool = True
) -> st.SearchStrategy[list[float]]:
    items = st.lists(st.one_of(st.integers(int(lo) + 1, int(hi)).map(float), _num(lo, hi)), min_size=min_size,
                     max_size=max_size)
    if strict:
        return items.map(lambda xs: sorted(set(x for x in xs if x > lo))).filter(lambda xs: len(xs) >= min_size)
    return items.map(lambda xs: sorted(x for x in xs if x > lo)).filter(lambda xs: len(xs) >= min_size)


@st.composite
def _constant(draw: st.DrawFn) -> Spec:
    return {"kind": "constant", "value": draw(_value())}


@st.composite
def _linear(draw: st.DrawFn) -> Spec:
    return {"kind": "linear", "start": draw(_value()), "end": draw(_value()), "steps": draw(_length())}


@st.composite
def _step(draw: st.DrawFn) -> Spec:
    gamma = draw(st.one_of(st.sampled_from([0.1, 0.5, 1.0, 0.0]), _num(0.0, 1.0), _num(1.0, 1.5)))
    return {"kind": "step", "init": draw(_value()), "step_size": draw(_length(0.5, 500.0)), "gamma": gamma}


@st.composite
def _multistep(draw: st.DrawFn) -> Spec:
    milestones = draw(_increasing(0.0, 3_000.0, 0, 5, strict=False))
    repeat = draw(st.booleans())
    if milestones and repeat:
        milestones = sorted([*milestones, milestones[0]])  # a repeated milestone counts twice
    gamma = draw(st.one_of(st.sampled_from([0.1, 0.5, 1.0, 0.0, 2.0]), _num(0.0, 3.0)))
    return {"kind": "multistep", "init": draw(_value()), "milestones": milestones, "gamma": gamma}


@st.composite
def _exponential(draw: st.DrawFn) -> Spec:
    init = draw(_value())
    gamma = draw(st.one_of(st.sampled_from([0.5, 0.9, 0.99, 1.0, 1.01]), _num(0.01, 1.0), _num(1.0, 1.05)))
    end = None
    if draw(st.booleans()):
        if gamma < 1.0:
            end = draw(_num(0.0, init))  # a floor
        elif gamma > 1.0:
            end = draw(_num(init, init * 10 + 1))  # a ceiling
        else:
            end = draw(_value())
    every = draw(_length(0.5, 200.0))
    return {"kind": "exponential", "init": init, "gamma": gamma, "every": every,
            "staircase": draw(st.booleans()), "end": end}


@st.composite
def _inverse_time(draw: st.DrawFn) -> Spec:
    return {"kind": "inverse_time", "init": draw(_value()), "rate": draw(st.one_of(st.just(0.0), _num(0.0, 5.0))),
            "every": draw(_length(0.5, 200.0)), "staircase": draw(st.booleans())}


@st.composite
def _polynomial(draw: st.DrawFn) -> Spec:
    return {"kind": "polynomial", "init": draw(_value()), "end": draw(_value()), "steps": draw(_length()),
            "power": draw(st.one_of(st.sampled_from([1.0, 2.0, 0.5]), _num(0.1, 4.0))),
            "cycle": draw(st.booleans()),
            "k_decay": draw(st.one_of(st.just(1.0), _num(0.2, 4.0)))}


@st.composite
def _cosine(draw: st.DrawFn) -> Spec:
    periodic = draw(st.booleans())
    return {"kind": "cosine", "init": draw(_value()), "steps": draw(_length()), "final": draw(_value()),
            "exponent": draw(st.one_of(st.just(1.0), _num(0.1, 4.0))),
            "k_decay": 1.0 if periodic else draw(st.one_of(st.just(1.0), _num(0.2, 4.0))),
            "periodic": periodic}


@st.composite
def _cosine_restarts(draw: st.DrawFn) -> Spec:
    return {"kind": "cosine_restarts", "init": draw(_value()), "period": draw(_length(0.5, 1_000.0)),
            "final": draw(_value()),
            # A multiplier a hair above 1 puts t = 2**62 some 10**9 cycles in, past what exact
            # Fractions can settle; 1.01 already means thousands of cycles there.
            "period_mult": draw(st.one_of(st.sampled_from([1.0, 2.0, 1.5, 3.0]), _num(1.01, 4.0))),
            "decay": draw(st.one_of(st.sampled_from([1.0, 0.5, 0.0]), _num(0.0, 1.0))),
            "k_decay": draw(st.one_of(st.just(1.0), _num(0.2, 4.0)))}


@st.composite
def _one_cycle(draw: st.DrawFn) -> Spec:
    three = draw(st.booleans())
    limit = 0.5 if three else 1.0
    pct = draw(st.one_of(st.sampled_from([0.3, 0.25, 0.1]), _num(0.01, limit - 0.01)))
    return {"kind": "one_cycle", "peak": draw(_value()), "steps": draw(_length(1.0, 5_000.0)), "pct_start": pct,
            "div_factor": draw(st.one_of(st.just(25.0), _num(0.5, 1e3))),
            "final_div_factor": draw(st.one_of(st.just(1e4), _num(0.5, 1e5))),
            "anneal": draw(st.sampled_from(["cos", "linear"])), "three_phase": three}


@st.composite
def _cyclic(draw: st.DrawFn) -> Spec:
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    base, peak = draw(_value()), draw(_value())
    # A growing exp_range envelope over a wave below base (peak < base) goes negative: the constructor
    # accepts it, test_core_bad_inputs.test_cyclic_exp_range_cannot_produce_a_negative_rate covers it.
    gamma = draw(st.one_of(st.just(1.0), _num(0.9, 1.0), _num(1.0, 1.01))) if mode == "exp_range" else 1.0
    if gamma > 1.0 and peak < base:
        base, peak = peak, base
    return {"kind": "cyclic", "base": base, "peak": peak, "step_up": draw(_length(0.5, 500.0)),
            "step_down": draw(st.one_of(st.none(), st.just(0.0), _length(0.5, 500.0))), "mode": mode,
            "gamma": gamma}


@st.composite
def _piecewise_constant(draw: st.DrawFn) -> Spec:
    bs = draw(_increasing(0.0, 3_000.0, 0, 5))
    values = draw(st.lists(_value(), min_size=len(bs) + 1, max_size=len(bs) + 1))
    return {"kind": "piecewise_constant", "boundaries": bs, "values": values}


@st.composite
def _interpolate(draw: st.DrawFn) -> Spec:
    ts = [0.0, *draw(_increasing(0.0, 3_000.0, 0, 5))]
    vs = draw(st.lists(_value(), min_size=len(ts), max_size=len(ts)))
    if draw(st.booleans()):
        vs = sorted(vs, reverse=draw(st.booleans()))  # monotone sequences make monotone schedules
    return {"kind": "interpolate", "points": [[a, b] for a, b in zip(ts, vs, strict=True)],
            "shape": draw(st.sampled_from(["linear", "cosine"]))}


@st.composite
def _inverse_sqrt(draw: st.DrawFn) -> Spec:
    return {"kind": "inverse_sqrt", "peak": draw(_value()),
            "warmup": draw(st.one_of(st.just(0.0), _length(0.5, 2_000.0))),
            "timescale": draw(st.one_of(st.none(), _length(0.5, 20_000.0)))}


@st.composite
def _wsd(draw: st.DrawFn) -> Spec:
    steps = draw(_length(1.0, 5_000.0))
    warmup = draw(st.one_of(st.just(0.0), _num(0.0, steps)))
    decay = draw(st.one_of(st.just(0.0), st.just(steps - warmup), _num(0.0, steps - warmup)))
    while warmup + decay > steps:  # steps - warmup rounded up
        decay = math.nextafter(decay, 0.0)
    shapes = st.sampled_from(["linear", "cosine", "sqrt"])
    return {"kind": "wsd", "peak": draw(_value()), "steps": steps, "warmup": warmup, "decay": decay,
            "final": draw(_value()), "start": draw(_value()), "warmup_shape": draw(shapes),
            "decay_shape": draw(shapes)}


@st.composite
def _tanh_decay(draw: st.DrawFn) -> Spec:
    lower = draw(st.one_of(st.just(-7.0), _num(-10.0, 5.0)))
    upper = 3.0 if lower < 3.0 and draw(st.booleans()) else draw(_num(lower + 0.01, lower + 15.0))
    return {"kind": "tanh_decay", "init": draw(_value()), "steps": draw(_length()), "final": draw(_value()),
            "lower": lower, "upper": upper}


@st.composite
def _range_test(draw: st.DrawFn) -> Spec:
    start = draw(st.one_of(st.sampled_from([1e-7, 1e-5, 3e-4, 0.1]), st.floats(-9.0, 1.0).map(lambda e: 10.0**e)))
    ends = [e for e in (1.0, 10.0) if e > start]
    growth = st.floats(0.0, 12.0).map(lambda e: start * 10.0**e)
    end = draw(st.one_of(growth, *([st.sampled_from(ends)] if ends else [])))
    if not end > start:  # 10 ** 0, or a product rounded down to start
        end = math.nextafter(start, math.inf)
    return {"kind": "range_test", "start": start, "end": end,
            "steps": draw(st.one_of(st.integers(2, 20), st.integers(21, 3_000))),
            "shape": draw(st.sampled_from(["exponential", "linear"]))}


KIND_STRATEGIES: dict[str, st.SearchStrategy[Spec]] = {
    "constant": _constant(),
    "linear": _linear(),
    "step": _step(),
    "multistep": _multistep(),
    "exponential": _exponential(),
    "inverse_time": _inverse_time(),
    "polynomial": _polynomial(),
    "cosine": _cosine(),
    "cosine_restarts": _cosine_restarts(),
    "one_cycle": _one_cycle(),
    "cyclic": _cyclic(),
    "piecewise_constant": _piecewise_constant(),
    "interpolate": _interpolate(),
    "inverse_sqrt": _inverse_sqrt(),
    "wsd": _wsd(),
    "tanh_decay": _tanh_decay(),
    "range_test": _range_test(),
}


def leaves() -> st.SearchStrategy[Spec]:
    return st.one_of(*KIND_STRATEGIES.values())


Children = st.SearchStrategy[Spec]


@st.composite
def _join(draw: st.DrawFn, children: Children) -> Spec:
    bs = draw(_increasing(0.0, 2_000.0, 1, 3))
    return {"kind": "join", "schedules": [draw(children) for _ in range(len(bs) + 1)], "boundaries": bs}


@st.composite
def _warmup(draw: st.DrawFn, children: Children) -> Spec:
    child = draw(children)
    shape = draw(st.sampled_from(["linear", "cosine", "exponential"]))
    start = draw(_value())
    if shape == "exponential" and (start == 0.0 or build(child)(0.0) == 0.0):
        shape = "linear"
    return {"kind": "warmup", "schedule": child, "steps": draw(_length(0.5, 1_000.0)), "start": start,
            "shape": shape}


@st.composite
def _scale(draw: st.DrawFn, children: Children) -> Spec:
    return {"kind": "scale", "schedule": draw(children), "factor": draw(_num(0.0, 4.0))}


@st.composite
def _product(draw: st.DrawFn, children: Children) -> Spec:
    return {"kind": "product", "first": draw(children), "second": draw(children)}


@st.composite
def _add(draw: st.DrawFn, children: Children) -> Spec:
    return {"kind": "add", "first": draw(children), "second": draw(children)}


@st.composite
def _clip(draw: st.DrawFn, children: Children) -> Spec:
    lo = draw(st.one_of(st.just(0.0), _num(0.0, 2.0)))
    hi = draw(st.one_of(st.none(), _num(lo, lo + 5.0)))
    return {"kind": "clip", "schedule": draw(children), "lo": lo, "hi": hi}


@st.composite
def _shift(draw: st.DrawFn, children: Children) -> Spec:
    return {"kind": "shift", "schedule": draw(children), "steps": draw(st.one_of(st.just(0.0), _length()))}


# One level of each combinator over the children's strategy.
COMBINATOR_STRATEGIES: dict[str, Callable[[Children], st.SearchStrategy[Spec]]] = {
    "join": _join,
    "warmup": _warmup,
    "scale": _scale,
    "product": _product,
    "add": _add,
    "clip": _clip,
    "shift": _shift,
}


def _combine(children: Children) -> st.SearchStrategy[Spec]:
    """One combinator level over `children`."""
    return st.one_of(*(make(children) for make in COMBINATOR_STRATEGIES.values()))


def specs(depth: int = 3) -> st.SearchStrategy[Spec]:
    """A leaf, or combinators nested at most `depth` deep over leaves."""
    out = leaves()
    for _ in range(depth):
        out = st.one_of(leaves(), _combine(out))
    return out
