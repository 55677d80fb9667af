"""Random valid schedules, ordinary, extreme and deep, at ordinary and huge times (issue 9).

For every schedule construction accepts: evaluating it ends, the value is finite and
>= 0, and ``s.array(n, start=a)[i] == s(a + i)`` bit for bit (integer and fractional
starts, both the plain-Python and the compiled array paths, float32 equal to the float64
value rounded once).  Extreme means parameters at the ends of what construction accepts
(subnormal and huge lengths and values, growth factors up to 1e308); deep means up to
lrcore's nesting limit of 64 levels.

The properties run under hypothesis in a subprocess with a timeout, so a schedule whose
evaluation never ends fails the test (naming the last example tried) instead of stalling
the run.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numba
import numpy as np
import reference as R
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

import lrcore as lr
from lrcore._schedule import KERNEL_MIN

HERE = Path(__file__).resolve().parent
MAX = sys.float_info.max
DEPTH = 64  # lrcore's nesting limit
TIMEOUT = 600.0  # seconds for the whole subprocess; it needs well under a minute
JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
CI = bool(os.environ.get("CI"))
SETTINGS = settings(
    max_examples=60 if JIT_OFF else 200,
    deadline=None,
    derandomize=CI,  # CI explores the same examples on every run, as tests/conftest.py's "ci" profile
    database=None if CI else settings.default.database,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
# Deep examples are slow to evaluate and to shrink: fewer of them, reported as found
# (their repr is an expression lr.parse reads back).
DEEP_SETTINGS = settings(SETTINGS, max_examples=20 if JIT_OFF else 60,
                         phases=[Phase.explicit, Phase.reuse, Phase.generate])

# ---------------------------------------------------------------------------
# Extreme leaves: the ends of what each constructor accepts

TINY, SUB = 1e-300, 5e-324
LENGTHS = [SUB, TINY, 1e-10, 0.3, 1.0, 7.0, 1000.0, 1e10, 1e300, 1.7e308]
VALUES = [0.0, SUB, TINY, 1e-10, 3e-4, 0.1, 1.0, 2.5, 1e10, 1e300, MAX]
GAMMAS = [0.0, TINY, 0.1, 0.5, 0.999, 1.0, 1 + 2**-52, 1.001, 2.0, 1e10, 1e308]


# The corner values are drawn twice as often as arbitrary ones: that is where overflow lives.
def lengths() -> st.SearchStrategy[float]:
    corners = st.sampled_from(LENGTHS)
    return st.one_of(corners, corners, st.floats(SUB, 1.7e308), st.integers(1, 10**6).map(float))


def values() -> st.SearchStrategy[float]:
    corners = st.sampled_from(VALUES)
    return st.one_of(corners, corners, st.floats(0.0, 10.0), st.floats(0.0, MAX))


def gammas(lo: float = 0.0) -> st.SearchStrategy[float]:
    corners = st.sampled_from([g for g in GAMMAS if g >= lo])
    return st.one_of(corners, corners, st.floats(lo, 1e308))


def increasing(min_size: int, max_size: int) -> st.SearchStrategy[list[float]]:
    items = st.lists(st.one_of(lengths(), st.sampled_from(LENGTHS)), min_size=min_size, max_size=max_size)
    return items.map(lambda xs: sorted(set(xs))).filter(lambda xs: len(xs) >= min_size)


@st.composite
def extreme_leaves(draw: st.DrawFn) -> lr.Schedule:
    kind = draw(st.sampled_from(sorted(R.KIND_STRATEGIES)))
    v, n = values, lengths
    args: dict[str, Any]
    if kind == "constant":
        args = {"value": draw(v())}
    elif kind == "linear":
        args = {"start": draw(v()), "end": draw(v()), "steps": draw(n())}
    elif kind == "step":
        args = {"init": draw(v()), "step_size": draw(n()), "gamma": draw(gammas())}
    elif kind == "multistep":
        args = {"init": draw(v()), "milestones": draw(increasing(0, 6)), "gamma": draw(gammas())}
    elif kind == "exponential":
        init, gamma = draw(v()), draw(gammas(lo=TINY))
        end = draw(st.one_of(st.none(), v()))
        if end is not None and ((gamma < 1 and end > init) or (gamma > 1 and end < init)):
            end = init
        args = {"init": init, "gamma": gamma, "every": draw(n()), "staircase": draw(st.booleans()), "end": end}
    elif kind == "inverse_time":
        args = {"init": draw(v()), "rate": draw(st.one_of(st.just(0.0), v())), "every": draw(n()),
                "staircase": draw(st.booleans())}
    elif kind == "polynomial":
        args = {"init": draw(v()), "end": draw(v()), "steps": draw(n()), "power": draw(n()),
                "cycle": draw(st.booleans()), "k_decay": draw(n())}
    elif kind == "cosine":
        periodic = draw(st.booleans())
        args = {"init": draw(v()), "steps": draw(n()), "final": draw(v()), "exponent": draw(n()),
                "k_decay": 1.0 if periodic else draw(n()), "periodic": periodic}
    elif kind == "cosine_restarts":
        args = {"init": draw(v()), "period": draw(n()), "final": draw(v()), "period_mult": draw(gammas(lo=1.0)),
                "decay": draw(gammas()), "k_decay": draw(n())}
    elif kind == "one_cycle":
        three = draw(st.booleans())
        args = {"peak": draw(v()), "steps": draw(n()), "pct_start": draw(st.floats(SUB, 0.5 if three else 1.0,
                                                                                    exclude_max=True)),
                "div_factor": draw(n()), "final_div_factor": draw(n()), "anneal": draw(st.sampled_from(["cos",
                                                                                                        "linear"])),
                "three_phase": three}
    elif kind == "cyclic":
        args = {"base": draw(v()), "peak": draw(v()), "step_up": draw(n()),
                "step_down": draw(st.one_of(st.none(), st.just(0.0), n())),
                "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))}
        args["gamma"] = draw(gammas(TINY)) if args["mode"] == "exp_range" else 1.0
    elif kind == "piecewise_constant":
        bs = draw(increasing(0, 6))
        args = {"boundaries": bs, "values": draw(st.lists(v(), min_size=len(bs) + 1, max_size=len(bs) + 1))}
    elif kind == "interpolate":
        ts = [0.0, *draw(increasing(0, 5))]
        args = {"points": [(t, draw(v())) for t in ts], "shape": draw(st.sampled_from(["linear", "cosine"]))}
    elif kind == "inverse_sqrt":
        args = {"peak": draw(v()), "warmup": draw(st.one_of(st.just(0.0), n())),
                "timescale": draw(st.one_of(st.none(), n()))}
    elif kind == "wsd":
        steps = draw(n())
        warmup = draw(st.floats(0.0, steps))
        decay = draw(st.floats(0.0, steps - warmup))
        shapes = st.sampled_from(["linear", "cosine", "sqrt"])
        args = {"peak": draw(v()), "steps": steps, "warmup": warmup, "decay": decay, "final": draw(v()),
                "start": draw(v()), "warmup_shape": draw(shapes), "decay_shape": draw(shapes)}
    elif kind == "range_test":
        start = draw(st.floats(SUB, 1e308))
        args = {"start": start, "end": draw(st.floats(start, 1e308, exclude_min=True)),
                "steps": draw(st.integers(2, 2**62)), "shape": draw(st.sampled_from(["exponential", "linear"]))}
    elif kind == "tanh_decay":
        lower = draw(st.floats(-1e308, 1e308))
        args = {"init": draw(v()), "steps": draw(n()), "final": draw(v()), "lower": lower,
                "upper": draw(st.floats(lower, 1e308, exclude_min=True))}
    else:
        raise AssertionError(f"no extreme parameters for kind {kind!r}: add a branch for it")
    try:
        return lr.from_dict({"kind": kind, **args})
    except (ValueError, TypeError):
        reject()  # outside what construction accepts: refused is right, and not this test's subject
        raise AssertionError("unreachable") from None


def ordinary() -> st.SearchStrategy[lr.Schedule]:
    """The core suite's valid specs: every kind and three levels of combinators."""
    return R.specs(3).map(lr.from_dict)


def leaves() -> st.SearchStrategy[lr.Schedule]:
    return st.one_of(extreme_leaves(), R.leaves().map(lr.from_dict))


# Second operands inside deep chains: fixed, so a 64-level chain stays a small example.
SIBLINGS = [
    lr.constant(value=0.0), lr.constant(value=1.0), lr.constant(value=MAX), lr.constant(value=SUB),
    lr.linear(start=1.0, end=0.0, steps=SUB), lr.linear(start=MAX, end=0.0, steps=1.7e308),
    lr.cosine(init=1.0, steps=7.0, final=0.1), lr.step(init=1.0, step_size=1.0, gamma=1e308),
    lr.exponential(init=1.0, gamma=0.5, every=TINY), lr.cosine_restarts(init=1.0, period=1.0, period_mult=1e308),
    lr.cyclic(base=0.0, peak=1.0, step_up=SUB, mode="exp_range", gamma=1e308),
    lr.piecewise_constant(boundaries=[SUB, 1.0, 1e300], values=[1.0, 0.0, MAX, 1.0]),
    lr.inverse_sqrt(peak=1e300, warmup=0.0, timescale=SUB),
]


@st.composite
def deep(draw: st.DrawFn) -> lr.Schedule:
    """A leaf wrapped in random combinators up to the nesting limit."""
    levels = draw(st.one_of(st.integers(DEPTH - 8, DEPTH), st.integers(2, DEPTH)))
    s = draw(leaves())
    for _ in range(levels - 1):
        how = draw(st.sampled_from(["warmup", "join-after", "join-before", "scale", "product", "add", "clip",
                                    "shift"]))
        try:
            if how == "warmup":
                s = lr.warmup(s, steps=draw(lengths()), start=draw(values()),
                              shape=draw(st.sampled_from(["linear", "cosine", "exponential"])))
            elif how.startswith("join"):
                other = draw(st.sampled_from(SIBLINGS))
                pair = [other, s] if how == "join-after" else [s, other]
                s = lr.join(pair, boundaries=[draw(lengths())])
            elif how == "scale":
                s = s * draw(st.one_of(st.floats(0.0, 2.0), st.sampled_from([0.0, 1e-300, 1e300])))
            elif how == "product":
                s = s * draw(st.sampled_from(SIBLINGS))
            elif how == "add":
                s = s + draw(st.sampled_from(SIBLINGS))
            elif how == "clip":
                lo = draw(values())
                s = lr.clip(s, lo=lo, hi=draw(st.one_of(st.none(), st.floats(lo, MAX))))
            else:
                s = lr.shift(s, steps=draw(st.one_of(st.just(0.0), lengths())))
        except ValueError:
            pass  # e.g. an exponential warmup whose ratio overflows: keep the schedule so far
    return s


def schedules() -> st.SearchStrategy[lr.Schedule]:
    """Ordinary and extreme schedules (deep ones get their own runs: mixed in, hypothesis
    favours the smaller examples and draws few of them)."""
    return st.one_of(ordinary(), extreme_leaves(), extreme_leaves())


@st.composite
def times(draw: st.DrawFn, s: lr.Schedule) -> float:
    """Up to 10 horizons (or 10**4 where there is none), and huge times up to 1e300."""
    h = s.horizon
    span = 1e4 if h is None or h == 0.0 else min(10.0 * h, MAX)
    return draw(st.one_of(
        st.floats(0.0, span),
        st.integers(0, int(min(span, 2**62))).map(float),
        st.floats(0.0, span).map(lambda x: float(math.floor(x))),
        st.floats(1e15, 1e300),
        st.sampled_from([0.0, 1.0, 2.0**53, 1e300]),
    ))


# ---------------------------------------------------------------------------
# The properties (run in the subprocess)

PROGRESS = os.environ.get("LRCORE_PROPERTY_PROGRESS")


def note(s: lr.Schedule, what: str) -> None:
    """Record the example being evaluated, so a hang names it."""
    if PROGRESS:
        Path(PROGRESS).write_text(f"{what} of {s!r}\n")


def values_are_finite_and_nonnegative(s: lr.Schedule, data: st.DataObject) -> None:
    ts = data.draw(st.lists(times(s), min_size=1, max_size=12), label="ts")
    for t in ts:
        note(s, f"s({t!r})")
        v = s(t)
        assert isinstance(v, float) and math.isfinite(v) and v >= 0.0, f"s({t!r}) = {v!r}"
    note(s, f"s(ndarray of {ts!r})")
    vector = s(np.array(ts))
    assert np.array_equal(vector, np.array([s(t) for t in ts])), vector


def array_equals_scalar(s: lr.Schedule, data: st.DataObject) -> None:
    start = data.draw(st.one_of(times(s), times(s).map(lambda t: t + 0.5), st.floats(0.0, 1.0)), label="start")
    # Short arrays run in Python, longer ones in the compiled kernel, 2**18 and more in parallel.
    sizes = [st.integers(1, 8), st.integers(64, 300), st.integers(64, 300)]
    if not JIT_OFF:  # without numba the parallel path is the serial Python loop: no news, and slow
        sizes.append(st.just((1 << 18) + 3))
    n = data.draw(st.one_of(sizes), label="n")
    if not math.isfinite(start + n):
        return
    note(s, f"array({n}, start={start!r})")
    got = s.array(n, start=start)
    note(s, f"array({n}, start={start!r}, dtype=float32)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float32 overflows to inf, as rounding once must
        got32 = s.array(n, start=start, dtype=np.float32)
        assert np.array_equal(got32, got.astype(np.float32)), "float32 is not the float64 value rounded once"
    sample = st.lists(st.integers(0, n - 1), max_size=40)
    indices = range(n) if n <= 300 else sorted(set(data.draw(sample, label="indices")) | {0, n - 1})
    note(s, f"s(start + i) for each i, start={start!r}, n={n}")
    for i in indices:
        want = s(start + i)
        assert math.isfinite(got[i]) and got[i] >= 0.0, (i, got[i])
        assert got[i] == want, f"array({n}, start={start!r})[{i}] = {got[i]!r} but s({start + i!r}) = {want!r}"


CHECKS = {
    f"{prop.__name__}-{family}": chosen(given(s=strategy(), data=st.data())(prop))
    for prop in (values_are_finite_and_nonnegative, array_equals_scalar)
    for family, strategy, chosen in (("ordinary-and-extreme", schedules, SETTINGS), ("deep", deep, DEEP_SETTINGS))
}


def run(names: list[str]) -> None:
    s = lr.linear(start=1, end=0, steps=10)
    s.array(KERNEL_MIN)  # the compiled kernel is loaded: arrays of 64 values or more use it from here on
    for name in names:
        CHECKS[name]()


# ---------------------------------------------------------------------------
# The test: each property in a subprocess with a timeout


def test_properties_hold_and_every_evaluation_ends() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        progress = Path(tmp, "progress")
        env = {**os.environ, "LRCORE_PROPERTY_PROGRESS": str(progress)}
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_hostile_properties as m; "
                f"m.run({list(CHECKS)!r})")
        try:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                  timeout=TIMEOUT, cwd=HERE.parent)
        except subprocess.TimeoutExpired as err:
            last = progress.read_text() if progress.exists() else "(nothing recorded)"
            raise AssertionError(f"no answer within {TIMEOUT:.0f} s; the last evaluation started: {last}") from err
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
