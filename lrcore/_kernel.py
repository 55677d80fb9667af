"""The evaluator: every formula, the program format, and the interpreters that run any schedule.

This module is plain Python written in the subset numba compiles, and it
imports no numba.  ``_numba`` compiles these same functions into one
interpreter for every schedule (a new schedule never triggers a new
compilation), and ``_scalar`` builds each schedule's scalar evaluator from the
same formula functions without numba.  So the values of ``s(t)``, the compiled
arrays and the JIT-off run all come from one source, operation for operation.

A schedule compiles (``_registry.compile_program``, which lays the nodes out with
``write_program`` below) to one flat float64 array, the *program*; the
interpreters read it and nothing else::

    prog[0]            number of nodes (node 0 is the root)
    prog[1]            stack size the interpreters need
    prog[2]            scratch rows the array interpreter needs
    prog[3 + 4*i ...]  node i: kind code, params offset, children offset, n children
    prog[children offset + j]  index of child j
    prog[params offset ...]    the node's float parameters (a leaf's: its formula's
                               arguments; a combinator's: the comment at its code)

Inputs were validated in Python, so the formulas assume them valid; they never
loop without bound and never return NaN or inf for valid parameters (growing
kinds saturate at the largest float).  Kind codes are defined here (a leaf's is
its formula's position in ``LEAVES``, and ``_leaf`` dispatches on it) so that
editing them invalidates numba's cache together with the code, which numba keys
on this file.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

prange = range  # numba's prange where compiled (``_numba``)

# Leaf kinds are numbered by their formula's position in LEAVES (below); the
# combinators' codes follow them, from 100.
JOIN: Final = 100  # m, boundaries[m]; children: m + 1
WARMUP: Final = 101  # steps, start, shape, target (= child(0)); children: 1
SCALE: Final = 102  # factor; children: 1
ADD: Final = 103  # offset; children: 1
CLIP: Final = 104  # lo, hi; children: 1
SHIFT: Final = 105  # steps; children: 1
PRODUCT: Final = 106  # children: 2
SUM: Final = 107  # children: 2

# Shape codes shared by warmup, wsd and interpolate
SHAPE_LINEAR: Final = 0
SHAPE_COSINE: Final = 1
SHAPE_SQRT: Final = 2
SHAPE_EXPONENTIAL: Final = 3

# Cyclic modes
TRIANGULAR: Final = 0
TRIANGULAR2: Final = 1
EXP_RANGE: Final = 2

# One-cycle annealing
ANNEAL_COS: Final = 0
ANNEAL_LINEAR: Final = 1

HEADER: Final = 3
NODE_SIZE: Final = 4

BIG: Final = 1.7976931348623157e308  # the largest float: where growth saturates instead of reaching inf
LOG_BIG: Final = 709.78  # a little below log(BIG), so exp() of anything up to it is finite
LOG_2: Final = 0.6931471805599453  # log(2)
EXACT: Final = 4503599627370496.0  # 2**52: every float at least this large is an integer
PI: Final = math.pi


def _floor(x: float) -> float:
    """floor(x) as a float, exact for every float (math.floor would return an int)."""
    if not abs(x) < EXACT:
        return x  # already an integer (or inf)
    return x - x % 1.0  # % follows Python's sign rule, so this is floor for negatives too


def _count_le(prog, start, m, t):
    """Number of the ``m`` sorted values at ``prog[start:]`` that are <= t (a bounded bisection)."""
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) // 2
        if prog[start + mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _cos_rise(p: float) -> float:
    """(1 - cos(pi p)) / 2 for p in [0, 1], computed as sin(pi p / 2)**2 (no cancellation).

    Falling cosines call it with the fraction *remaining*, r = 1 - progress
    (computed as (end - t) / length, exact for whole steps), because
    (1 + cos(pi (1 - r))) / 2 = (1 - cos(pi r)) / 2: the value keeps full
    relative precision at both ends of the curve.

    sin and cos on [0, pi/4] are the polynomial kernels of fdlibm's __kernel_sin and
    __kernel_cos (about one ulp), written out as plain arithmetic rather than libm
    calls so that LLVM vectorises the array loops; the scalar path runs the same
    operations.  Inline here, as the scalar path pays for every Python call.
    """
    v = 0.5 * p
    if v <= 0.25:
        x = PI * v
        z = x * x
        r = 8.33333333332248946124e-03 + z * (
            -1.98412698298579493134e-04
            + z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10))
        )
        s = x + z * x * (-1.66666666666666324348e-01 + z * r)
        return s * s
    x = PI * (0.5 - v)  # 0.5 - v is exact here
    z = x * x
    r = z * (
        4.16666666666666019037e-02
        + z
        * (
            -1.38888888888741095749e-03
            + z
            * (
                2.48015872894767294178e-05
                + z * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11))
            )
        )
    )
    c = 1.0 - (0.5 * z - z * r)
    return c * c


def _rest_power(p: float, rest: float, k: float) -> float:
    """1 - p**k, the remaining fraction after k-decay, from p and rest = 1 - p
    (both computed directly), using whichever keeps full precision."""
    if k == 1.0:
        return rest
    if p <= 0.0:
        return 1.0
    if p < 0.5:
        return -math.expm1(k * math.log(p))
    return -math.expm1(k * math.log1p(-rest))


def _ease(shape: float, p: float) -> float:
    """Rising shapes on p in [0, 1]: 0 at p=0, 1 at p=1."""
    if shape == SHAPE_COSINE:
        return _cos_rise(p)
    if shape == SHAPE_SQRT:
        return p / (1.0 + math.sqrt(1.0 - min(p, 1.0)))  # = 1 - sqrt(1 - p), exact near p = 0
    return p


def _fall(shape: float, p: float, rest: float) -> float:
    """Falling shapes at progress p, given also rest = 1 - p (each computed
    directly, so neither end loses precision): 1 at p=0, 0 at p=1."""
    if shape == SHAPE_COSINE:
        return _cos_rise(rest)
    if shape == SHAPE_SQRT:
        if p < 0.5:
            return 1.0 - math.sqrt(max(p, 0.0))
        return rest / (1.0 + math.sqrt(p))  # = 1 - sqrt(p), exact near p = 1
    return rest


def _anneal(cos: bool, start: float, end: float, rest: float) -> float:
    """One-cycle annealing from start to end, with `rest` of the phase remaining."""
    if cos:
        return end + (start - end) * _cos_rise(rest)
    return end + (start - end) * rest


def _scaled_power(x: float, base: float, e: float) -> float:
    """x * base**e, also when base**e alone over- or underflows but the product does
    not; saturates at BIG where the product itself is past the largest float."""
    if x == 0.0:
        return 0.0  # not 0 * inf
    if base == 1.0 or e == 0.0:
        return x  # also for e = inf, where e * log(base) would be nan
    if base == 0.0:
        return 0.0 if e > 0.0 else x
    z = e * math.log(base)
    if abs(z) < 700.0:
        return min(x * base**e, BIG)  # base**e is in range: the direct form, rounded once
    w = math.log(x) + z
    if w > LOG_BIG:
        return BIG
    return math.exp(w)


def _floor_div(t: float, d: float) -> float:
    """floor(t / d) exactly, as Python's float // (t / d itself can round up to the next integer)."""
    return _floor((t - t % d) / d + 0.5)


def _cycle_start(i: float, period: float, mult: float) -> float:
    """Where cycle i of lengths period * mult**j begins: period (mult**i - 1) / (mult - 1).

    The geometric sum is divided first, so cycle 1 starts at exactly `period`.
    While mult**i < 2, mult**i - 1 would cancel most of its digits (mult near 1):
    there it is expm1(i log1p(mult - 1)), with mult - 1 exact.  Past the float
    range the start is inf (later than any t).
    """
    if i <= 1.0:
        return period * i  # 0, or exactly period
    z = i * math.log(mult)
    if z < LOG_2:
        return period * (math.expm1(i * math.log1p(mult - 1.0)) / (mult - 1.0))
    if z < 700.0:
        return period * ((mult**i - 1.0) / (mult - 1.0))
    w = math.log(period) + z - math.log(mult - 1.0)  # the - 1 is far below rounding here
    if w > LOG_BIG:
        return math.inf
    return math.exp(w)


def _restart_cycle(t: float, period: float, mult: float) -> tuple[float, float]:
    """Cycle index i and the time since cycle i began, for cycle lengths period * mult**i."""
    if mult == 1.0:
        return _floor_div(t, period), t % period  # % is exact: the phase survives any t
    x = t * (mult - 1.0) / period
    if x < 1e300:
        i = _floor(math.log(1.0 + x) / math.log(mult))
    else:  # the same logarithm, taken apart so that nothing overflows
        i = _floor((math.log(t) + math.log(mult - 1.0) - math.log(period)) / math.log(mult))
    if i < 0.0:
        i = 0.0
    # The logarithm can land a cycle off at the boundaries: settle it exactly.  Each
    # settling loop is bounded: where i is past 2**53 (i - 1 == i) or the starts are
    # rounded beyond recognition, the nearest estimate stands.
    start = _cycle_start(i, period, mult)
    for _ in range(4):
        if not (i > 0.0 and start > t):
            break
        i -= 1.0
        start = _cycle_start(i, period, mult)
    nxt = _cycle_start(i + 1.0, period, mult)
    for _ in range(4):
        if not nxt <= t:
            break
        i += 1.0
        start = nxt
        nxt = _cycle_start(i + 1.0, period, mult)
    return i, t - start


# -- one formula per kind ---------------------------------------------------------
# A formula's arguments are its parameters, in the order they sit in the program,
# then t: its signature *is* its layout, and the dispatchers below are generated
# from it.  A variable-length tail is one last argument named ``rest`` (a view of
# the program from that parameter on; pure Python passes a tuple).


def constant(value: float, t: float) -> float:
    return value


def linear(start: float, end: float, steps: float, t: float) -> float:
    if t >= steps:
        return end
    # Anchored at the nearer end, so a ramp to 0 keeps full relative precision there.
    if t > 0.5 * steps:
        return end + (start - end) * ((steps - t) / steps)
    return start + (end - start) * (t / steps)


def step(init: float, step_size: float, gamma: float, t: float) -> float:
    return _scaled_power(init, gamma, _floor_div(t, step_size))


def multistep(init: float, gamma: float, m: float, rest: Sequence[float], t: float) -> float:
    # rest: the m milestones
    return _scaled_power(init, gamma, float(_count_le(rest, 0, int(m), t)))


def exponential(
    init: float, gamma: float, every: float, staircase: float, has_end: float, end: float, t: float
) -> float:
    e = _floor_div(t, every) if staircase != 0.0 else t / every
    v = _scaled_power(init, gamma, e)
    if has_end != 0.0:
        if gamma < 1.0:
            v = max(v, end)
        else:
            v = min(v, end)
    return v


def inverse_time(init: float, rate: float, every: float, staircase: float, t: float) -> float:
    if rate == 0.0:
        return init  # no decay, also where t / every overflows (0 * inf)
    e = _floor_div(t, every) if staircase != 0.0 else t / every
    return init / (1.0 + rate * e)


def polynomial(init: float, end: float, steps: float, power: float, cycle: float, k_decay: float, t: float) -> float:
    # Progress p and rest = 1 - p, each computed directly (no cancellation at either end).
    if cycle == 0.0:
        done = min(t, steps)
        p = done / steps
        rest = (steps - done) / steps
    else:
        # Keras' cycle: the horizon grows to the next multiple of steps,
        # span = m * steps with m = ceil(t / steps) (1 at t = 0).
        into = t % steps
        if t == 0.0:
            p, rest = 0.0, 1.0
        elif into == 0.0:
            p, rest = 1.0, 0.0
        else:
            span = steps * (_floor_div(t, steps) + 1.0)
            p = t / span
            rest = (steps - into) / span
    return (init - end) * _rest_power(p, rest, k_decay) ** power + end


def cosine_plain(init: float, steps: float, final: float, t: float) -> float:
    """The common cosine (exponent 1, no k-decay, not periodic): the same operations as
    ``cosine`` takes for it, with fewer arguments (the encoder picks it)."""
    return final + (init - final) * _cos_rise((steps - min(t, steps)) / steps)


def cosine(
    init: float, steps: float, final: float, exponent: float, k_decay: float, periodic: float, t: float
) -> float:
    if periodic != 0.0:
        # The wave's phase (% is exact, so it survives any t), folded onto one
        # half-wave by the symmetry cos(pi (2 - p)) = cos(pi p).
        into = t % (2.0 * steps)
        if into > steps:
            into = 2.0 * steps - into
        rest = (steps - into) / steps
    else:
        done = min(t, steps)
        rest = _rest_power(done / steps, (steps - done) / steps, k_decay)
    c = _cos_rise(rest)
    if exponent != 1.0:
        c = c**exponent
    return final + (init - final) * c


def cosine_restarts(
    init: float, period: float, final: float, period_mult: float, decay: float, k_decay: float, t: float
) -> float:
    i, into = _restart_cycle(t, period, period_mult)
    length = _scaled_power(period, period_mult, i)
    into = min(max(into, 0.0), length)
    rest = _rest_power(into / length, (length - into) / length, k_decay)
    peak = _scaled_power(init, decay, i)
    return final + (peak - final) * _cos_rise(rest)


def one_cycle(
    peak: float,
    steps: float,
    pct_start: float,
    div_factor: float,
    final_div_factor: float,
    anneal: float,
    three_phase: float,
    t: float,
) -> float:
    initial = peak / div_factor
    low = initial / final_div_factor
    cos = anneal == ANNEAL_COS
    up = pct_start * steps
    if t >= steps:
        return low
    if t < up:
        return _anneal(cos, initial, peak, (up - t) / up)
    if three_phase != 0.0:
        if t < 2.0 * up:
            return _anneal(cos, peak, initial, (2.0 * up - t) / up)
        return _anneal(cos, initial, low, (steps - t) / (steps - 2.0 * up))
    return _anneal(cos, peak, low, (steps - t) / (steps - up))


def cyclic(base: float, peak: float, step_up: float, step_down: float, mode: float, gamma: float, t: float) -> float:
    total = step_up + step_down
    ratio = step_up / total
    into = t % total  # exact, so the phase survives any t
    x = into / total
    if x <= ratio:
        s = x / ratio
    else:
        s = (x - 1.0) / (ratio - 1.0)
    height = (peak - base) * s
    if height == 0.0:
        return base  # not 0 * inf for a growing envelope
    if mode == TRIANGULAR2:
        return base + height * 0.5 ** _floor_div(t, total)
    if mode == EXP_RANGE:
        if gamma > 1.0:  # a growing envelope (height > 0 here): saturates, never inf
            return min(base + _scaled_power(height, gamma, t), BIG)
        return base + height * gamma**t
    return base + height


def piecewise_constant(m: float, rest: Sequence[float], t: float) -> float:
    # rest: the m boundaries, then the m + 1 values
    n = int(m)
    return rest[n + _count_le(rest, 0, n, t)]


def interpolate(shape: float, m: float, rest: Sequence[float], t: float) -> float:
    # rest: the m times (the first is 0), then the m values
    n = int(m)
    i = _count_le(rest, 0, n, t)  # >= 1: the first time is 0
    if i >= n:
        return rest[n + n - 1]
    t0, t1 = rest[i - 1], rest[i]
    v0, v1 = rest[n + i - 1], rest[n + i]
    r = (t1 - t) / (t1 - t0)
    if shape == SHAPE_COSINE:
        return v1 + (v0 - v1) * _cos_rise(r)
    if r < 0.5:  # anchored at the nearer point, as linear
        return v1 + (v0 - v1) * r
    return v0 + (v1 - v0) * ((t - t0) / (t1 - t0))


def inverse_sqrt(peak: float, warmup: float, timescale: float, t: float) -> float:
    if t < warmup:
        return peak * (t / warmup)
    span = t - warmup + timescale
    if span > BIG:  # overflowed: the same ratio, taken apart
        return peak / math.sqrt((t - warmup) / timescale + 1.0)
    return peak / math.sqrt(span / timescale)


def wsd(
    peak: float,
    steps: float,
    warmup: float,
    decay: float,
    final: float,
    start: float,
    warmup_shape: float,
    decay_shape: float,
    t: float,
) -> float:
    if t < warmup:
        return start + (peak - start) * _ease(int(warmup_shape), t / warmup)
    if t < steps - decay:
        return peak
    if t < steps:
        # Clamped: for a tiny decay, steps - t can round past the decay's length.
        p = max((t - (steps - decay)) / decay, 0.0)
        rest = min((steps - t) / decay, 1.0)
        return final + (peak - final) * _fall(int(decay_shape), p, rest)
    return final


def tanh_decay(init: float, steps: float, final: float, lower: float, upper: float, t: float) -> float:
    if t >= steps:
        return final
    r = t / steps
    return final + 0.5 * (init - final) * (1.0 - math.tanh(lower * (1.0 - r) + upper * r))


# growth's h(u), beside the warmup shapes' codes
SHAPE_LOG: Final = 4  # log(1 + u)
SHAPE_SATURATING: Final = 5  # 1 - exp(-u)


def growth(
    start: float, rate: float, every: float, shape: float, staircase: float, has_end: float, end: float, t: float
) -> float:
    u = _floor_div(t, every) if staircase != 0.0 else t / every
    if shape == SHAPE_LOG:
        h = math.log1p(u)
    elif shape == SHAPE_SATURATING:
        h = -math.expm1(-u)  # 1 - exp(-u) without cancelling its digits at small u
    else:
        h = u
    if rate == 0.0 or h == 0.0:
        return start  # not 0 * inf where t / every overflows
    v = start + rate * h
    if has_end != 0.0:
        v = min(v, end) if rate > 0.0 else max(v, end)
    return min(v, BIG)  # an unbounded growth saturates at the largest float


# The leaf formulas: a leaf's kind code is its position here, and ``_leaf`` calls it at
# that code.  A new formula goes at the end of this tuple and gets its line in ``_leaf``.
LEAVES = (
    constant, linear, step, multistep, exponential, inverse_time, polynomial, cosine, cosine_plain,
    cosine_restarts, one_cycle, cyclic, piecewise_constant, interpolate, inverse_sqrt, wsd, tanh_decay, growth,
)
CUSTOM = len(LEAVES)  # a Python function of t (pure-Python evaluation only)
# The leaves whose array loop gets the parameters hoisted out (LLVM vectorises these).
HOISTED = (constant, linear, cosine_plain)


@functools.cache  # read on every encode and scalar build; a signature costs tens of µs
def layout(formula):
    """(parameter names, whether the last is the variable tail ``rest``) of a leaf formula."""
    names = tuple(inspect.signature(formula).parameters)[:-1]  # all but t
    return names, bool(names) and names[-1] == "rest"


def _leaf(prog, kind, o, t):
    """Value at t >= 0 of the leaf whose parameters start at prog[o]: one call per formula of
    LEAVES, at its code, reading its arguments in its signature's order (a tail: the rest)."""
    if kind == 0:
        return constant(prog[o], t)
    if kind == 1:
        return linear(prog[o], prog[o + 1], prog[o + 2], t)
    if kind == 2:
        return step(prog[o], prog[o + 1], prog[o + 2], t)
    if kind == 3:
        return multistep(prog[o], prog[o + 1], prog[o + 2], prog[o + 3 :], t)
    if kind == 4:
        return exponential(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], t)
    if kind == 5:
        return inverse_time(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], t)
    if kind == 6:
        return polynomial(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], t)
    if kind == 7:
        return cosine(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], t)
    if kind == 8:
        return cosine_plain(prog[o], prog[o + 1], prog[o + 2], t)
    if kind == 9:
        return cosine_restarts(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], t)
    if kind == 10:
        return one_cycle(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], prog[o + 6], t)
    if kind == 11:
        return cyclic(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], t)
    if kind == 12:
        return piecewise_constant(prog[o], prog[o + 1 :], t)
    if kind == 13:
        return interpolate(prog[o], prog[o + 1], prog[o + 2 :], t)
    if kind == 14:
        return inverse_sqrt(prog[o], prog[o + 1], prog[o + 2], t)
    if kind == 15:
        return wsd(
            prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], prog[o + 6], prog[o + 7], t
        )
    if kind == 16:
        return tanh_decay(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], t)
    if kind == 17:
        return growth(prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4], prog[o + 5], prog[o + 6], t)
    return 0.0  # CUSTOM: programs with custom leaves never reach the compiled interpreters


def write_program(nodes, depth, rows):
    """The program (see the module's docstring) of `nodes`, a list of (kind code, float
    parameters, child indices) with node 0 the root, needing a stack of `depth` frames
    and `rows` scratch rows: a read-only float64 array."""
    total_nodes = len(nodes)
    head = HEADER + NODE_SIZE * total_nodes
    prog = [float(total_nodes), float(depth + total_nodes), float(rows)]
    tail = []
    for code, floats, kid_ids in nodes:
        kids_at = head + len(tail)
        tail.extend(float(k) for k in kid_ids)
        params_at = head + len(tail)
        tail.extend(floats)
        prog.extend([float(code), float(params_at), float(kids_at), float(len(kid_ids))])
    array = np.asarray(prog + tail, dtype=np.float64)
    array.setflags(write=False)
    return array


# -- the combinators' pieces ----------------------------------------------------


def _ramp(steps: float, start: float, shape: float, target: float, t: float) -> float:
    p = t / steps
    if shape == SHAPE_EXPONENTIAL:
        ratio = target / start
        if ratio <= BIG:
            return start * ratio**p
        if p == 0.0:
            return start
        # target / start is past the float range (a subnormal start): the same curve in logs.
        return math.exp(math.log(start) + p * (math.log(target) - math.log(start)))
    return start + (target - start) * _ease(shape, p)


def _post(kind: int, prog: Sequence[float], o: int, v: float) -> float:
    """The pointwise operation of a one-child value combinator."""
    if kind == SCALE:
        return min(v * prog[o], BIG)
    if kind == ADD:
        return min(v + prog[o], BIG)
    return min(max(v, prog[o]), prog[o + 1])  # CLIP


def _combine(kind: int, a: float, b: float) -> float:
    """A product's or a sum's value from its two operands' values."""
    if kind == PRODUCT:
        return min(a * b, BIG)
    return min(a + b, BIG)


def _branch(prog, kind, o, kids, t):
    """Where a join, warmup or shift sends t: (child node, the child's t), or (-1, 0.0)
    when a warmup's own ramp answers at t.  The scalar walks and the array walk
    all move t through here, so every element sees the same operations."""
    if kind == JOIN:
        i = _count_le(prog, o + 1, int(prog[o]), t)
        if i > 0:
            t = t - prog[o + i]
        return int(prog[kids + i]), t
    if kind == WARMUP:
        if t < prog[o]:
            return -1, 0.0
        return int(prog[kids]), t - prog[o]
    return int(prog[kids]), min(t + prog[o], BIG)  # SHIFT; a time past the largest float is the largest float


# -- the scalar interpreter -------------------------------------------------------


def _eval_stack(prog, root, t):
    """Value of the subtree at `root` at time t >= 0 (the compiled scalar path, used by
    ``s(ndarray)`` over large arrays; ``_scalar`` evaluates single calls)."""
    size = int(prog[1]) + 1
    s_node = np.empty(size, np.int64)
    s_t = np.empty(size)
    s_stage = np.empty(size, np.int64)
    s_val = np.empty(size)
    sp = 1
    s_node[0] = root
    s_t[0] = t
    s_stage[0] = 0
    ret = 0.0
    while sp > 0:
        top = sp - 1
        node = s_node[top]
        tt = s_t[top]
        rec = HEADER + NODE_SIZE * node
        kind = int(prog[rec])
        o = int(prog[rec + 1])
        kids = int(prog[rec + 2])
        if kind < JOIN:
            ret = _leaf(prog, kind, o, tt)
            sp -= 1
        elif kind == JOIN or kind == WARMUP or kind == SHIFT:
            child, ct = _branch(prog, kind, o, kids, tt)
            if child < 0:
                ret = _ramp(prog[o], prog[o + 1], int(prog[o + 2]), prog[o + 3], tt)
                sp -= 1
            else:
                s_node[top] = child
                s_t[top] = ct
        elif kind == PRODUCT or kind == SUM:
            stage = s_stage[top]
            if stage < 2:
                if stage == 1:
                    s_val[top] = ret
                s_stage[top] = stage + 1
                s_node[sp] = int(prog[kids + stage])
                s_t[sp] = tt
                s_stage[sp] = 0
                sp += 1
            else:
                ret = _combine(kind, s_val[top], ret)
                sp -= 1
        else:  # SCALE, ADD, CLIP
            if s_stage[top] == 0:
                s_stage[top] = 1
                s_node[sp] = int(prog[kids])
                s_t[sp] = tt
                s_stage[sp] = 0
                sp += 1
            else:
                ret = _post(kind, prog, o, ret)
                sp -= 1
    return ret


def _eval_one(prog, t):
    """Value of the program at one time t >= 0.  Joins, warmups and shifts only pick a
    branch and move t, so the walk follows them with no stack; the first pointwise
    operation hands over to _eval_stack."""
    node = 0
    while True:
        rec = HEADER + NODE_SIZE * node
        kind = int(prog[rec])
        o = int(prog[rec + 1])
        if kind < JOIN:
            return _leaf(prog, kind, o, t)
        if kind != JOIN and kind != WARMUP and kind != SHIFT:
            return _eval_stack(prog, node, t)
        child, ct = _branch(prog, kind, o, int(prog[rec + 2]), t)
        if child < 0:
            return _ramp(prog[o], prog[o + 1], int(prog[o + 2]), prog[o + 3], t)
        node = child
        t = ct


def eval_many(prog, ts, out):
    """out[i] = value at ts[i] for arbitrary times (the compiled path of ``s(ndarray)``)."""
    for i in range(ts.shape[0]):
        out[i] = _eval_one(prog, ts[i])


# -- the array interpreter ----------------------------------------------------------
# Element k of a range is at time t0 + k; a join, warmup or shift adds a constant to
# its children's times.  Each frame keeps the constants added so far (its chain), and
# every element's time is computed from t0 + k by adding them in order, exactly as
# the scalar walk moves t: so s.array(n, start=t0)[k] == s(t0 + k) bit for bit, for
# fractional offsets too.


def _time(t0, i, chain, nc):
    x = t0 + i
    for j in range(nc):
        x = min(x + chain[j], BIG)  # as _branch: a shift past the largest float stops there
    return x


def _first_at_or_after(t0, i0, chain, nc, n, b):
    """Smallest k in [0, n] whose element time is >= b (times never decrease with k)."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if _time(t0, i0 + mid, chain, nc) >= b:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fill_leaf(prog, kind, o, t0, i0, chain, nc, dst, off, n):
    """dst[off + k] = leaf value at element i0 + k.  With at most one constant in the
    chain (the common case), the kinds of HOISTED read their parameters once, before a
    loop of their own that LLVM vectorises.  Adding the constant 0.0 leaves a time
    unchanged (times are never -0.0), and a join's or a warmup's negative constant never
    reaches BIG, so min(..., BIG) matches _branch.  Every other case shares one loop,
    so _leaf is compiled into this function once."""
    c = chain[0] if nc == 1 else 0.0
    if nc <= 1 and kind == 0:  # constant
        value = prog[o]
        for k in range(n):
            dst[off + k] = constant(value, min((t0 + (i0 + k)) + c, BIG))
        return
    if nc <= 1 and kind == 1:  # linear
        start = prog[o]
        end = prog[o + 1]
        steps = prog[o + 2]
        for k in range(n):
            dst[off + k] = linear(start, end, steps, min((t0 + (i0 + k)) + c, BIG))
        return
    if nc <= 1 and kind == 8:  # cosine_plain
        init = prog[o]
        steps = prog[o + 1]
        final = prog[o + 2]
        for k in range(n):
            dst[off + k] = cosine_plain(init, steps, final, min((t0 + (i0 + k)) + c, BIG))
        return
    for k in range(n):
        dst[off + k] = _leaf(prog, kind, o, _time(t0, i0 + k, chain, nc))


def _fill_ramp(prog, o, t0, i0, chain, nc, dst, off, n):
    """dst[off + k] = warmup ramp at element i0 + k, for elements before the warmup's end."""
    steps, start, shape, target = prog[o], prog[o + 1], int(prog[o + 2]), prog[o + 3]
    if nc <= 1 and shape == SHAPE_LINEAR:
        c = chain[0] if nc == 1 else 0.0
        # The shape as a literal lets LLVM drop the other shapes and vectorise this loop.
        for k in range(n):
            dst[off + k] = _ramp(steps, start, SHAPE_LINEAR, target, min((t0 + (i0 + k)) + c, BIG))
    else:
        for k in range(n):
            dst[off + k] = _ramp(steps, start, shape, target, _time(t0, i0 + k, chain, nc))


def _push(frames, chains, sp, node, i0, off, ln, row, parent, nc):
    """Push a frame for `node` over elements i0 .. i0 + ln - 1 with the chain of frame `parent`."""
    frames[sp, 0] = node
    frames[sp, 1] = i0
    frames[sp, 2] = off
    frames[sp, 3] = ln
    frames[sp, 4] = row
    frames[sp, 5] = 0
    frames[sp, 6] = nc
    for j in range(nc):
        chains[sp, j] = chains[parent, j]


def _fill_chunk(prog, t0, i0, n, buf, frames, chains):
    """Write the program's values at elements i0 .. i0 + n - 1 (times t0 + i) into buf[0, :n].

    The range interpreter: a join or warmup splits a range into sub-ranges that
    each run one branch as a straight loop, so branches are chosen per range,
    not per element.  A product or sum evaluates its second operand into the
    next scratch row at the same columns.  Frame columns: node, first element,
    buffer offset, length, row, stage, chain length.
    """
    sp = 1
    frames[0, 0] = 0
    frames[0, 1] = i0
    frames[0, 2] = 0
    frames[0, 3] = n
    frames[0, 4] = 0
    frames[0, 5] = 0
    frames[0, 6] = 0
    while sp > 0:
        top = sp - 1
        node = frames[top, 0]
        a = frames[top, 1]
        off = frames[top, 2]
        ln = frames[top, 3]
        row = frames[top, 4]
        nc = frames[top, 6]
        chain = chains[top]
        rec = HEADER + NODE_SIZE * node
        kind = int(prog[rec])
        o = int(prog[rec + 1])
        kids = int(prog[rec + 2])
        if kind < JOIN:
            _fill_leaf(prog, kind, o, t0, a, chain, nc, buf[row], off, ln)
            sp -= 1
        elif kind == JOIN:
            m = int(prog[o])
            # The branches' frames overwrite this one from its own slot on, so copy the
            # chain out of the way first (into the slot above the last branch).
            spare = top + m + 1
            for j in range(nc):
                chains[spare, j] = chain[j]
            sp -= 1
            lo = 0
            for i in range(m + 1):
                hi = ln if i == m else _first_at_or_after(t0, a, chains[spare], nc, ln, prog[o + 1 + i])
                if hi > lo:
                    _push(frames, chains, sp, int(prog[kids + i]), a + lo, off + lo, hi - lo, row, spare, nc)
                    if i > 0:
                        chains[sp, nc] = -prog[o + i]
                        frames[sp, 6] = nc + 1
                    sp += 1
                    lo = hi
        elif kind == WARMUP:
            steps = prog[o]
            split = _first_at_or_after(t0, a, chain, nc, ln, steps)
            _fill_ramp(prog, o, t0, a, chain, nc, buf[row], off, split)
            if split < ln:
                frames[top, 0] = int(prog[kids])
                frames[top, 1] = a + split
                frames[top, 2] = off + split
                frames[top, 3] = ln - split
                chains[top, nc] = -steps
                frames[top, 6] = nc + 1
            else:
                sp -= 1
        elif kind == SHIFT:
            frames[top, 0] = int(prog[kids])
            chains[top, nc] = prog[o]
            frames[top, 6] = nc + 1
        else:
            stage = frames[top, 5]
            binary = kind == PRODUCT or kind == SUM
            if stage == 0 or (binary and stage == 1):
                frames[top, 5] = stage + 1
                _push(frames, chains, sp, int(prog[kids + stage]), a, off, ln, row + stage, top, nc)
                sp += 1
            else:
                if binary:
                    for k in range(off, off + ln):
                        buf[row, k] = _combine(kind, buf[row, k], buf[row + 1, k])
                else:
                    for k in range(off, off + ln):
                        buf[row, k] = _post(kind, prog, o, buf[row, k])
                sp -= 1


CHUNK: Final = 2048


def _fill_range(prog, t0, out, first, last):
    """out[k] = value at t0 + k for the chunks first .. last - 1."""
    size = int(prog[1]) + int(prog[0]) + 2
    buf = np.empty((int(prog[2]), CHUNK))
    frames = np.zeros((size, 7), np.int64)
    chains = np.zeros((size, int(prog[0]) + 1))
    for c in range(first, last):
        lo = c * CHUNK
        ln = min(CHUNK, out.shape[0] - lo)
        _fill_chunk(prog, t0, lo, ln, buf, frames, chains)
        for k in range(ln):
            out[lo + k] = buf[0, k]


def fill_serial(prog, t0, out):
    """out[k] = value at t0 + k, evaluated chunk by chunk (float64 or float32 out)."""
    _fill_range(prog, t0, out, 0, (out.shape[0] + CHUNK - 1) // CHUNK)


def fill_parallel(prog, t0, out, n_blocks):
    """As fill_serial, with the chunks split into n_blocks contiguous blocks run in parallel.

    Each element is computed by the same code from the same inputs whatever the
    number of threads, so the result is identical to fill_serial's.
    """
    n_chunks = (out.shape[0] + CHUNK - 1) // CHUNK
    per = (n_chunks + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        _fill_range(prog, t0, out, min(b * per, n_chunks), min((b + 1) * per, n_chunks))


# The functions ``_numba`` compiles, callees first.
COMPILED = (
    "_floor", "_count_le", "_cos_rise", "_rest_power", "_ease", "_fall", "_anneal", "_scaled_power",
    "_floor_div", "_cycle_start", "_restart_cycle",
    *(f.__name__ for f in LEAVES),
    "_leaf", "_ramp", "_post", "_combine", "_branch", "_eval_stack", "_eval_one", "eval_many", "_time",
    "_first_at_or_after", "_fill_leaf", "_fill_ramp", "_push", "_fill_chunk", "_fill_range", "fill_serial",
    "fill_parallel",
)
