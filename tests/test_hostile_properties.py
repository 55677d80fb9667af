"""Random valid schedules, ordinary, extreme and deep, at ordinary and huge times.

For every schedule construction accepts: evaluating it ends, the value is finite and
>= 0, and ``s.array(n, start=a)[i] == s(a + i)`` bit for bit (integer and fractional
starts, both the plain-Python and the compiled array paths, float32 equal to the float64
value rounded once).  Extreme means parameters at the ends of what construction accepts
(subnormal and huge lengths and values, growth factors up to 1e308); deep means up to
lrcore's nesting limit of 64 levels.  The extreme ranges are each kind's oracle record's
(``extreme``) where it gives them, else derived from lrcore's parameters
(``test_core_records.extreme``).

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

import numba
import numpy as np
import reference as R
import test_core_records as records
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

import lrcore as lr
from lrcore._registry import KINDS
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

MAX, SUB, TINY = R.MAX, R.SUB, R.TINY


@st.composite
def extreme_leaves(draw: st.DrawFn) -> lr.Schedule:
    spec = draw(st.sampled_from(records.LEAVES).flatmap(records.extreme))
    try:
        return lr.from_dict(spec)
    except (ValueError, TypeError):
        reject()  # outside what construction accepts: refused is right, and not this test's subject
        raise AssertionError("unreachable") from None


def ordinary() -> st.SearchStrategy[lr.Schedule]:
    """The core suite's valid specs: every kind and three levels of combinators."""
    return records.specs(3).map(lr.from_dict)


def leaves() -> st.SearchStrategy[lr.Schedule]:
    return st.one_of(extreme_leaves(), records.leaves().map(lr.from_dict))


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
    """A leaf wrapped in random combinators up to the nesting limit: each level a combinator with
    extreme parameters, the schedule so far in one of its child slots and fixed siblings in the others."""
    levels = draw(st.one_of(st.integers(DEPTH - 8, DEPTH), st.integers(2, DEPTH)))
    s = draw(leaves())
    siblings = st.sampled_from(SIBLINGS)
    for _ in range(levels - 1):
        spec = dict(draw(st.sampled_from(records.COMBINATORS).flatmap(lambda k: records.extreme(k, siblings))))
        kind = spec.pop("kind")
        slots = [(name, i) for name in KINDS[kind].children
                 for i in (range(len(spec[name])) if isinstance(spec[name], list) else [None])]
        name, i = draw(st.sampled_from(slots))
        if i is None:
            spec[name] = s
        else:
            spec[name] = [s if j == i else child for j, child in enumerate(spec[name])]
        try:
            s = KINDS[kind].constructor(**spec)
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
