"""The numba evaluator: one compiled interpreter runs every schedule.

A schedule compiles (in ``_program.py``) to one flat float64 array, the
*program*; the kernels below read it and nothing else, so a new schedule never
triggers a new compilation.  Layout of a program ``prog``::

    prog[0]            number of nodes (node 0 is the root)
    prog[1]            stack size the interpreters need
    prog[2]            scratch rows the array interpreter needs
    prog[3 + 4*i ...]  node i: kind code, params offset, children offset, n children
    prog[children offset + j]  index of child j
    prog[params offset ...]    the node's float parameters (layout per kind below)

Every formula lives in ``_leaf`` (leaves) or in the combinator branches of the
two interpreters; the scalar interpreter ``_eval_one`` and the range
interpreter ``_fill_chunk`` call the same ``_leaf``.  Inputs were validated in
Python, so the kernels assume them valid.  Kind codes are literals of this
module so that editing them invalidates numba's cache together with the code.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import prange
from numba.extending import overload

from ._runtime import njit  # numba.njit, caching only where a cache directory is writable

# Leaves
CONSTANT = 0  # value
LINEAR = 1  # start, end, steps
STEP = 2  # init, step_size, gamma
MULTISTEP = 3  # init, gamma, m, milestones[m]
EXPONENTIAL = 4  # init, gamma, every, staircase, has_end, end
INVERSE_TIME = 5  # init, rate, every, staircase
POLYNOMIAL = 6  # init, end, steps, power, cycle, k_decay
COSINE = 7  # init, steps, final, exponent, k_decay, periodic
COSINE_RESTARTS = 8  # init, period, final, period_mult, decay, k_decay
ONE_CYCLE = 9  # peak, steps, pct_start, div_factor, final_div_factor, linear, three_phase
CYCLIC = 10  # base, peak, step_up, step_down, mode, gamma
PIECEWISE_CONSTANT = 11  # m, boundaries[m], values[m + 1]
INTERPOLATE = 12  # cosine, m, times[m], values[m]
INVERSE_SQRT = 13  # peak, warmup, timescale
WSD = 14  # peak, steps, warmup, decay, final, start, warmup_shape, decay_shape
TANH_DECAY = 15  # init, steps, final, lower, upper
CUSTOM = 16  # index into the schedule's table of functions (Python walk only)
# Combinators
JOIN = 20  # m, boundaries[m]; children: m + 1
WARMUP = 21  # steps, start, shape, target (= child(0)); children: 1
SCALE = 22  # factor; children: 1
ADD = 23  # offset; children: 1
CLIP = 24  # lo, hi; children: 1
SHIFT = 25  # by; children: 1
PRODUCT = 26  # children: 2
SUM = 27  # children: 2

# Shape codes shared by warmup, wsd and interpolate
SHAPE_LINEAR = 0
SHAPE_COSINE = 1
SHAPE_SQRT = 2
SHAPE_EXPONENTIAL = 3

# Cyclic modes
TRIANGULAR = 0
TRIANGULAR2 = 1
EXP_RANGE = 2

HEADER = 3
NODE_SIZE = 4


def call_custom(customs, index, t):
    """Evaluate a ``custom`` leaf; only the pure-Python interpreter gets here."""
    return float(customs[index](t))


@overload(call_custom)
def _call_custom_compiled(customs, index, t):
    # Schedules with custom leaves never reach the compiled interpreter (they
    # run through its pure-Python twin); this stub only lets it type-check.
    def impl(customs, index, t):
        return math.nan

    return impl


@njit(cache=True)
def _count_le(prog, start, m, t):
    """Number of the ``m`` sorted values at ``prog[start:]`` that are <= t."""
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) // 2
        if prog[start + mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


# Polynomial kernels of fdlibm's __kernel_sin / __kernel_cos, accurate to about
# one ulp on [0, pi/4].  Written as plain arithmetic (no libm call) so that LLVM
# vectorises the array loops, and used by the scalar path too, so both agree
# bit for bit.


@njit(cache=True)
def _sin_kernel(x):
    z = x * x
    r = 8.33333333332248946124e-03 + z * (
        -1.98412698298579493134e-04
        + z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10))
    )
    return x + z * x * (-1.66666666666666324348e-01 + z * r)


@njit(cache=True)
def _cos_kernel(x):
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
    return 1.0 - (0.5 * z - z * r)


@njit(cache=True)
def _sin_sq(v):
    """sin(pi v)**2 for v in [0, 1/2], accurate to a few ulps relative (no cancellation)."""
    low = v <= 0.25
    x = math.pi * (v if low else 0.5 - v)  # 0.5 - v is exact here
    c = _cos_kernel(x)
    s = _sin_kernel(x)
    r = s if low else c
    return r * r


@njit(cache=True)
def _cos_rise(p):
    """(1 - cos(pi p)) / 2 for p in [0, 1], computed as sin(pi p / 2)**2.

    Falling cosines call it with the fraction *remaining*, r = 1 - progress
    (computed as (end - t) / length, exact for whole steps), because
    (1 + cos(pi (1 - r))) / 2 = (1 - cos(pi r)) / 2: the value keeps full
    relative precision at both ends of the curve.
    """
    return _sin_sq(0.5 * p)


@njit(cache=True)
def _rest_power(p, rest, k):
    """1 - p**k, the remaining fraction after k-decay, from p and rest = 1 - p
    (both computed directly), using whichever keeps full precision."""
    if k == 1.0:
        return rest
    if p <= 0.0:
        return 1.0
    if p < 0.5:
        return -math.expm1(k * math.log(p))
    return -math.expm1(k * math.log1p(-rest))


@njit(cache=True)
def _ease(shape, p):
    """Rising shapes on p in [0, 1]: 0 at p=0, 1 at p=1."""
    if shape == SHAPE_COSINE:
        return _cos_rise(p)
    if shape == SHAPE_SQRT:
        return p / (1.0 + math.sqrt(1.0 - min(p, 1.0)))  # = 1 - sqrt(1 - p), exact near p = 0
    return p


@njit(cache=True)
def _fall(shape, p, rest):
    """Falling shapes at progress p, given also rest = 1 - p (each computed
    directly, so neither end loses precision): 1 at p=0, 0 at p=1."""
    if shape == SHAPE_COSINE:
        return _cos_rise(rest)
    if shape == SHAPE_SQRT:
        if p < 0.5:
            return 1.0 - math.sqrt(max(p, 0.0))
        return rest / (1.0 + math.sqrt(p))  # = 1 - sqrt(p), exact near p = 1
    return rest


@njit(cache=True)
def _anneal(cos, start, end, rest):
    """One-cycle annealing from start to end, with `rest` of the phase remaining."""
    if cos:
        return end + (start - end) * _cos_rise(rest)
    return end + (start - end) * rest


@njit(cache=True)
def _cosine_plain(init, steps, final, t):
    """The common cosine (exponent 1, no k-decay, not periodic); the array path's fast loop."""
    return final + (init - final) * _cos_rise((steps - min(t, steps)) / steps)


@njit(cache=True)
def _linear(start, end, steps, t):
    if t >= steps:
        return end
    # Anchored at the nearer end, so a ramp to 0 keeps full relative precision there.
    if t > 0.5 * steps:
        return end + (start - end) * ((steps - t) / steps)
    return start + (end - start) * (t / steps)


@njit(cache=True)
def _scaled_power(x, base, e):
    """x * base**e, also when base**e alone over- or underflows but the product does not."""
    if x == 0.0:
        return 0.0  # not 0 * inf
    if base == 0.0:
        return 0.0 if e > 0.0 else x
    z = e * math.log(base)
    if abs(z) < 700.0:
        return x * base**e  # base**e is in range: the direct form, rounded once
    w = math.log(x) + z
    if w > 709.0:
        return math.inf  # past the largest float (plain Python would raise instead)
    return math.exp(w)


@njit(cache=True)
def _floor_div(t, d):
    """floor(t / d) exactly, as Python's float // (t / d itself can round up to the next integer)."""
    return np.floor((t - np.fmod(t, d)) / d + 0.5)


@njit(cache=True)
def _restart_cycle(t, period, mult):
    """Cycle index i and the time since cycle i began, for cycle lengths period * mult**i."""
    if mult == 1.0:
        return _floor_div(t, period), np.fmod(t, period)  # fmod is exact: the phase survives any t
    i = np.floor(math.log(1.0 + t * (mult - 1.0) / period) / math.log(mult))
    if i < 0.0:
        i = 0.0
    # The logarithm can land one cycle off at the boundaries: settle it exactly.
    # The geometric sum is divided first, so cycle 1 starts at exactly `period`.
    start = period * ((mult**i - 1.0) / (mult - 1.0))
    while i > 0.0 and start > t:
        i -= 1.0
        start = period * ((mult**i - 1.0) / (mult - 1.0))
    nxt = period * ((mult ** (i + 1.0) - 1.0) / (mult - 1.0))
    while nxt <= t:
        i += 1.0
        start = nxt
        nxt = period * ((mult ** (i + 1.0) - 1.0) / (mult - 1.0))
    return i, t - start


@njit(cache=True)
def _leaf(prog, kind, o, t):
    """Value at t >= 0 of the leaf whose parameters start at prog[o]."""
    if kind == CONSTANT:
        return prog[o]
    if kind == LINEAR:
        return _linear(prog[o], prog[o + 1], prog[o + 2], t)
    if kind == STEP:
        return _scaled_power(prog[o], prog[o + 2], _floor_div(t, prog[o + 1]))
    if kind == MULTISTEP:
        m = int(prog[o + 2])
        return _scaled_power(prog[o], prog[o + 1], float(_count_le(prog, o + 3, m, t)))
    if kind == EXPONENTIAL:
        init, gamma, every = prog[o], prog[o + 1], prog[o + 2]
        e = _floor_div(t, every) if prog[o + 3] != 0.0 else t / every
        v = _scaled_power(init, gamma, e)
        if prog[o + 4] != 0.0:
            end = prog[o + 5]
            if gamma < 1.0:
                v = max(v, end)
            else:
                v = min(v, end)
        return v
    if kind == INVERSE_TIME:
        e = _floor_div(t, prog[o + 2]) if prog[o + 3] != 0.0 else t / prog[o + 2]
        return prog[o] / (1.0 + prog[o + 1] * e)
    if kind == POLYNOMIAL:
        init, end, steps, power, k = prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 5]
        # Progress p and rest = 1 - p, each computed directly (no cancellation at either end).
        if prog[o + 4] == 0.0:
            done = min(t, steps)
            p = done / steps
            rest = (steps - done) / steps
        else:
            # Keras' cycle: the horizon grows to the next multiple of steps,
            # span = m * steps with m = ceil(t / steps) (1 at t = 0).
            into = np.fmod(t, steps)
            if t == 0.0:
                p, rest = 0.0, 1.0
            elif into == 0.0:
                p, rest = 1.0, 0.0
            else:
                span = steps * (_floor_div(t, steps) + 1.0)
                p = t / span
                rest = (steps - into) / span
        return (init - end) * _rest_power(p, rest, k) ** power + end
    if kind == COSINE:
        init, steps, final, exponent, k = prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4]
        periodic = prog[o + 5] != 0.0
        if exponent == 1.0 and k == 1.0 and not periodic:
            return _cosine_plain(init, steps, final, t)
        if periodic:
            # The wave's phase (fmod is exact, so it survives any t), folded
            # onto one half-wave by the symmetry cos(pi (2 - p)) = cos(pi p).
            into = np.fmod(t, 2.0 * steps)
            if into > steps:
                into = 2.0 * steps - into
            rest = (steps - into) / steps
        else:
            done = min(t, steps)
            rest = _rest_power(done / steps, (steps - done) / steps, k)
        c = _cos_rise(rest)
        if exponent != 1.0:
            c = c**exponent
        return final + (init - final) * c
    if kind == COSINE_RESTARTS:
        init, period, final = prog[o], prog[o + 1], prog[o + 2]
        mult, decay, k = prog[o + 3], prog[o + 4], prog[o + 5]
        i, into = _restart_cycle(t, period, mult)
        length = period * mult**i
        into = min(into, length)
        rest = _rest_power(into / length, (length - into) / length, k)
        peak = _scaled_power(init, decay, i)
        return final + (peak - final) * _cos_rise(rest)
    if kind == ONE_CYCLE:
        peak, steps, pct = prog[o], prog[o + 1], prog[o + 2]
        initial = peak / prog[o + 3]
        low = initial / prog[o + 4]
        cos = prog[o + 5] == 0.0
        up = pct * steps
        if t >= steps:
            return low
        if t < up:
            return _anneal(cos, initial, peak, (up - t) / up)
        if prog[o + 6] != 0.0:
            if t < 2.0 * up:
                return _anneal(cos, peak, initial, (2.0 * up - t) / up)
            return _anneal(cos, initial, low, (steps - t) / (steps - 2.0 * up))
        return _anneal(cos, peak, low, (steps - t) / (steps - up))
    if kind == CYCLIC:
        base, peak, up, down = prog[o], prog[o + 1], prog[o + 2], prog[o + 3]
        total = up + down
        ratio = up / total
        into = np.fmod(t, total)  # exact, so the phase survives any t
        x = into / total
        if x <= ratio:
            s = x / ratio
        else:
            s = (x - 1.0) / (ratio - 1.0)
        mode = prog[o + 4]
        height = (peak - base) * s
        if height == 0.0:
            return base  # not 0 * inf for a growing envelope
        if mode == TRIANGULAR2:
            return base + height * 0.5 ** _floor_div(t, total)
        if mode == EXP_RANGE:
            return base + height * prog[o + 5] ** t
        return base + height
    if kind == PIECEWISE_CONSTANT:
        m = int(prog[o])
        return prog[o + 1 + m + _count_le(prog, o + 1, m, t)]
    if kind == INTERPOLATE:
        m = int(prog[o + 1])
        times = o + 2
        values = o + 2 + m
        i = _count_le(prog, times, m, t)  # >= 1: the first time is 0
        if i >= m:
            return prog[values + m - 1]
        t0, t1 = prog[times + i - 1], prog[times + i]
        v0, v1 = prog[values + i - 1], prog[values + i]
        rest = (t1 - t) / (t1 - t0)
        if prog[o] != 0.0:
            return v1 + (v0 - v1) * _cos_rise(rest)
        if rest < 0.5:  # anchored at the nearer point, as _linear
            return v1 + (v0 - v1) * rest
        return v0 + (v1 - v0) * ((t - t0) / (t1 - t0))
    if kind == INVERSE_SQRT:
        peak, warmup, timescale = prog[o], prog[o + 1], prog[o + 2]
        if t < warmup:
            return peak * (t / warmup)
        return peak / math.sqrt((t - warmup + timescale) / timescale)
    if kind == WSD:
        peak, steps, warmup, decay = prog[o], prog[o + 1], prog[o + 2], prog[o + 3]
        final, start = prog[o + 4], prog[o + 5]
        if t < warmup:
            return start + (peak - start) * _ease(int(prog[o + 6]), t / warmup)
        if t < steps - decay:
            return peak
        if t < steps:
            # Clamped: for a tiny decay, steps - t can round past the decay's length.
            p = max((t - (steps - decay)) / decay, 0.0)
            rest = min((steps - t) / decay, 1.0)
            return final + (peak - final) * _fall(int(prog[o + 7]), p, rest)
        return final
    if kind == TANH_DECAY:
        init, steps, final, lower, upper = prog[o], prog[o + 1], prog[o + 2], prog[o + 3], prog[o + 4]
        if t >= steps:
            return final
        r = t / steps
        return final + 0.5 * (init - final) * (1.0 - math.tanh(lower * (1.0 - r) + upper * r))
    return math.nan


@njit(cache=True)
def _ramp(steps, start, shape, target, t):
    p = t / steps
    if shape == SHAPE_EXPONENTIAL:
        return start * (target / start) ** p
    return start + (target - start) * _ease(shape, p)


@njit(cache=True)
def _warmup_ramp(prog, o, t):
    return _ramp(prog[o], prog[o + 1], int(prog[o + 2]), prog[o + 3], t)


@njit(cache=True)
def _post(kind, prog, o, v):
    """The pointwise operation of a one-child value combinator."""
    if kind == SCALE:
        return v * prog[o]
    if kind == ADD:
        return v + prog[o]
    return min(max(v, prog[o]), prog[o + 1])  # CLIP


@njit(cache=True)
def _eval_stack(prog, root, t, customs):
    """Value of the subtree at `root` at time t, for trees with pointwise operations."""
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
        if kind == CUSTOM:
            ret = call_custom(customs, int(prog[o]), tt)
            sp -= 1
        elif kind < JOIN:
            ret = _leaf(prog, kind, o, tt)
            sp -= 1
        elif kind == JOIN:
            i = _count_le(prog, o + 1, int(prog[o]), tt)
            s_node[top] = int(prog[kids + i])
            if i > 0:
                s_t[top] = tt - prog[o + i]
        elif kind == WARMUP:
            if tt < prog[o]:
                ret = _warmup_ramp(prog, o, tt)
                sp -= 1
            else:
                s_node[top] = int(prog[kids])
                s_t[top] = tt - prog[o]
        elif kind == SHIFT:
            s_node[top] = int(prog[kids])
            s_t[top] = tt + prog[o]
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
                ret = s_val[top] * ret if kind == PRODUCT else s_val[top] + ret
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


@njit(cache=True)
def _eval_one(prog, t):
    """Value of the program at one time t >= 0 (programs without custom leaves).

    Joins, warmups and shifts only pick a branch and move t, so the walk follows
    them with no stack; the first pointwise operation hands over to _eval_stack.
    """
    node = 0
    while True:
        rec = HEADER + NODE_SIZE * node
        kind = int(prog[rec])
        o = int(prog[rec + 1])
        kids = int(prog[rec + 2])
        if kind < JOIN:
            return _leaf(prog, kind, o, t)
        if kind == JOIN:
            i = _count_le(prog, o + 1, int(prog[o]), t)
            node = int(prog[kids + i])
            if i > 0:
                t = t - prog[o + i]
        elif kind == WARMUP:
            if t < prog[o]:
                return _warmup_ramp(prog, o, t)
            node = int(prog[kids])
            t = t - prog[o]
        elif kind == SHIFT:
            node = int(prog[kids])
            t = t + prog[o]
        else:
            return _eval_stack(prog, node, t, None)


@njit(cache=True)
def _fill_leaf(prog, kind, o, a, dst, off, n):
    """dst[off + k] = leaf value at a + k.  The common kinds get a loop of their
    own with the parameters hoisted (LLVM vectorises it); same formulas as _leaf."""
    if kind == CONSTANT:
        v = prog[o]
        for k in range(n):
            dst[off + k] = v
    elif kind == COSINE and prog[o + 3] == 1.0 and prog[o + 4] == 1.0 and prog[o + 5] == 0.0:
        init, steps, final = prog[o], prog[o + 1], prog[o + 2]
        for k in range(n):
            dst[off + k] = _cosine_plain(init, steps, final, a + k)
    elif kind == LINEAR:
        start, end, steps = prog[o], prog[o + 1], prog[o + 2]
        for k in range(n):
            dst[off + k] = _linear(start, end, steps, a + k)
    else:
        for k in range(n):
            dst[off + k] = _leaf(prog, kind, o, a + k)


@njit(cache=True)
def _fill_ramp(prog, o, a, dst, off, n):
    """dst[off + k] = warmup ramp at a + k, for a + k below the warmup's end."""
    steps, start, shape, target = prog[o], prog[o + 1], int(prog[o + 2]), prog[o + 3]
    if shape == SHAPE_LINEAR:
        # The shape as a literal lets LLVM drop the other shapes and vectorise this loop.
        for k in range(n):
            dst[off + k] = _ramp(steps, start, SHAPE_LINEAR, target, a + k)
    else:
        for k in range(n):
            dst[off + k] = _ramp(steps, start, shape, target, a + k)


@njit(cache=True)
def _first_at_or_after(t0, n, b):
    """Smallest k in [0, n] with t0 + k >= b, computed as the scalar path compares."""
    if t0 >= b:
        return 0
    k = int(min(float(n), max(0.0, np.ceil(b - t0))))
    while k > 0 and t0 + (k - 1) >= b:
        k -= 1
    while k < n and t0 + k < b:
        k += 1
    return k


@njit(cache=True)
def _fill_chunk(prog, t0, n, buf):
    """Write the program's values at t0, t0+1, ..., t0+n-1 into buf[0, :n].

    The range interpreter: a join or warmup splits a range into sub-ranges that
    each run one branch as a straight loop, so branches are chosen per range,
    not per element.  A product or sum evaluates its second factor into the
    next scratch row at the same columns.
    """
    size = int(prog[1]) + 1
    f_node = np.empty(size, np.int64)
    f_t0 = np.empty(size)
    f_off = np.empty(size, np.int64)
    f_len = np.empty(size, np.int64)
    f_row = np.empty(size, np.int64)
    f_stage = np.empty(size, np.int64)
    sp = 1
    f_node[0] = 0
    f_t0[0] = t0
    f_off[0] = 0
    f_len[0] = n
    f_row[0] = 0
    f_stage[0] = 0
    while sp > 0:
        top = sp - 1
        node = f_node[top]
        a = f_t0[top]
        off = f_off[top]
        ln = f_len[top]
        row = f_row[top]
        rec = HEADER + NODE_SIZE * node
        kind = int(prog[rec])
        o = int(prog[rec + 1])
        kids = int(prog[rec + 2])
        if kind < JOIN:
            _fill_leaf(prog, kind, o, a, buf[row], off, ln)
            sp -= 1
        elif kind == JOIN:
            m = int(prog[o])
            sp -= 1
            lo = 0
            for i in range(m + 1):
                hi = ln if i == m else _first_at_or_after(a, ln, prog[o + 1 + i])
                if hi > lo:
                    f_node[sp] = int(prog[kids + i])
                    f_t0[sp] = a + lo if i == 0 else (a + lo) - prog[o + i]
                    f_off[sp] = off + lo
                    f_len[sp] = hi - lo
                    f_row[sp] = row
                    f_stage[sp] = 0
                    sp += 1
                    lo = hi
        elif kind == WARMUP:
            steps = prog[o]
            split = _first_at_or_after(a, ln, steps)
            _fill_ramp(prog, o, a, buf[row], off, split)
            sp -= 1
            if split < ln:
                f_node[sp] = int(prog[kids])
                f_t0[sp] = (a + split) - steps
                f_off[sp] = off + split
                f_len[sp] = ln - split
                f_row[sp] = row
                f_stage[sp] = 0
                sp += 1
        elif kind == SHIFT:
            f_node[top] = int(prog[kids])
            f_t0[top] = a + prog[o]
        else:
            stage = f_stage[top]
            binary = kind == PRODUCT or kind == SUM
            if stage == 0 or (binary and stage == 1):
                f_stage[top] = stage + 1
                f_node[sp] = int(prog[kids + stage])
                f_t0[sp] = a
                f_off[sp] = off
                f_len[sp] = ln
                f_row[sp] = row + stage
                f_stage[sp] = 0
                sp += 1
            else:
                if kind == PRODUCT:
                    for k in range(off, off + ln):
                        buf[row, k] *= buf[row + 1, k]
                elif kind == SUM:
                    for k in range(off, off + ln):
                        buf[row, k] += buf[row + 1, k]
                else:
                    for k in range(off, off + ln):
                        buf[row, k] = _post(kind, prog, o, buf[row, k])
                sp -= 1



@njit(cache=True)
def _fill_range(prog, t0, out, first, last, chunk):
    buf = np.empty((int(prog[2]), chunk))
    for c in range(first, last):
        lo = c * chunk
        ln = min(chunk, out.shape[0] - lo)
        _fill_chunk(prog, t0 + lo, ln, buf)
        for k in range(ln):
            out[lo + k] = buf[0, k]


@njit(cache=True)
def fill_serial(prog, t0, out):
    """out[k] = value at t0 + k, evaluated chunk by chunk (float64 or float32 out)."""
    chunk = 2048
    _fill_range(prog, t0, out, 0, (out.shape[0] + chunk - 1) // chunk, chunk)


@njit(cache=True, parallel=True)
def fill_parallel(prog, t0, out, n_blocks):
    """As fill_serial, with the chunks split into n_blocks contiguous blocks run in parallel.

    Each element is computed by the same code from the same inputs whatever the
    number of threads, so the result is identical to fill_serial's.
    """
    chunk = 2048
    n_chunks = (out.shape[0] + chunk - 1) // chunk
    per = (n_chunks + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        _fill_range(prog, t0, out, min(b * per, n_chunks), min((b + 1) * per, n_chunks), chunk)


@njit(cache=True)
def eval_one(prog, t):
    """Value of the program at t (compiled path)."""
    return _eval_one(prog, t)


@functools.cache
def scalar_evaluator():
    """eval_one's compiled entry point for the program type, skipping the
    dispatcher's per-call type resolution (the larger part of a scalar call's
    cost); eval_one itself where that is not available (JIT disabled)."""
    overloads = getattr(eval_one, "overloads", None)
    if overloads is None:
        return eval_one
    prog = np.zeros(HEADER + NODE_SIZE + 1)
    prog[0] = prog[1] = prog[2] = 1.0
    prog[HEADER + 1] = HEADER + NODE_SIZE
    prog.setflags(write=False)
    eval_one(prog, 0.0)  # compile (or load from cache) the one signature
    for signature, result in overloads.items():
        if signature[0] == numba.typeof(prog):
            return result.entry_point
    return eval_one


@njit(cache=True)
def eval_many(prog, ts, out):
    """out[i] = value at ts[i] for arbitrary times."""
    for i in range(ts.shape[0]):
        out[i] = _eval_one(prog, ts[i])


def eval_one_python(prog, t, customs):
    """The stack interpreter run as plain Python, for schedules with custom leaves.

    Its leaves and combinators still call the compiled helpers; only the walk
    itself runs in Python, so it can call the user's functions.
    """
    walk = getattr(_eval_stack, "py_func", _eval_stack)
    return walk(prog, 0, t, customs)
