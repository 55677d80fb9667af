"""lrcore against the independent reference in ``reference.py``, kind by kind.

Agreement means: ``|lrcore - ref| <= 1e-12 |ref| + 1e-13 * scale`` (+1e-300), where
scale is the largest value the schedule takes up to t.  The scale term admits
the last few ulps of a value that is itself tiny next to the schedule (a decay
at 1e-6 of its peak computed as ``start + (end - start) * p``); everywhere else
the bound is 1e-12 relative.  Within a few ulps of a branch point that is not a
float (3 * 0.1, period * (1 + mult)) a float evaluation may land on either side
of it, so there the value must be one the reference takes within those ulps.
Values that are parameters (held ends, piecewise values) must come back bit
for bit at integer boundaries.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numba
import pytest
import reference as R
import test_core_records as records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore as lr

JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
EXAMPLES = 50 if JIT_OFF else 150
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

REL = 1e-12
SCALE_REL = 1e-13


def disagreement(spec: R.Spec, ref: R.Ref, t: float, got: Any) -> str | None:
    """None when `got` is an acceptable lrcore value at t, else why not."""
    want = ref(t)
    if got == want:
        return None
    if not isinstance(got, float) or math.isnan(got) or math.isinf(got) or math.isinf(want):
        return f"t={t!r}: got {got!r}, want {want!r}"
    t_max = max([t, *(float(b) for b in R.landmarks(spec))])
    lo, hi = R.bounds(spec, t_max)
    scale = max(abs(lo), abs(hi))
    if not math.isfinite(scale):
        scale = abs(want)
    tol = REL * abs(want) + SCALE_REL * scale + 1e-300
    if abs(got - want) <= tol:
        return None
    landmark = R.near_landmark(spec, t)
    if landmark is not None:
        near = R.values_near(ref, t, landmark)
        if min(near) - tol <= got <= max(near) + tol:
            return None
    shift = R.time_slack(spec, t)  # where the kind's own rounding may put t (a far cycle start)
    if shift is not None:
        near = [ref(Fraction(t) - shift), ref(Fraction(t) + shift)]
        if min(near) - tol <= got <= max(near) + tol:
            return None
    return f"t={t!r}: got {got!r}, want {want!r} (relative error {abs(got - want) / max(abs(want), 1e-300):.3g})"


def assert_matches(spec: R.Spec, times: list[float]) -> None:
    s = lr.from_dict(spec)
    ref = R.build(spec)
    problems = [p for t in times if (p := disagreement(spec, ref, t, s(t)))]
    assert not problems, f"{spec}\n" + "\n".join(problems[:10])


CATALOGUE = records.catalogue_cases()


@pytest.mark.parametrize("spec", CATALOGUE)
def test_catalogue_matches_reference(spec: R.Spec) -> None:
    """Every hand-picked schedule at 0, at each boundary b and b - 1, b + 1, its float neighbours, b + 1/4,
    and on a grid of fractional times."""
    grid = [k * 0.37 for k in range(200)] + [k * 13.0 for k in range(100)]
    assert_matches(spec, R.probe_times(spec) + grid)


@pytest.mark.parametrize("spec", CATALOGUE)
def test_catalogue_exact_at_boundaries(spec: R.Spec) -> None:
    """At t = b - 1, b, b + 1 for every boundary b that is a float, a value that is one of the
    schedule's own parameters (a held end, a piecewise value, a peak) comes back bit for bit."""
    s = lr.from_dict(spec)
    ref = R.build(spec)
    params = R.held(spec)
    checked = 0
    for b in R.landmarks(spec):
        if Fraction(float(b)) != b:
            continue
        for t in (float(b) - 1.0, float(b), float(b) + 1.0):
            if t >= 0.0 and ref(t) in params:
                assert s(t) == ref(t), f"{spec} at t={t!r}"
                checked += 1
    if R.ORACLES[spec["kind"]].exact_at_landmarks:
        assert checked or not R.landmarks(spec), (
            f"{spec['kind']}: at no landmark of {spec} is the value one of its parameters or of the values the "
            "oracle record's 'held' lists (give it 'held', or exact_at_landmarks=False)")


@st.composite
def times_for(draw: st.DrawFn, spec: R.Spec) -> list[float]:
    """The spec's probe times and random times (fractional, integer) up to past its last boundary."""
    end = max([10.0, *(float(b) for b in R.landmarks(spec))]) * 2.0
    extra = draw(st.lists(st.one_of(st.floats(0.0, end), st.integers(0, int(end)).map(float)), max_size=12))
    return R.probe_times(spec) + extra


@pytest.mark.parametrize("kind", records.LEAVES)
@SETTINGS
@given(data=st.data())
def test_kind_matches_reference(kind: str, data: st.DataObject) -> None:
    """Random valid parameters of each kind, at its boundaries and at random times."""
    spec = data.draw(records.strategy(kind), label="spec")
    assert_matches(spec, data.draw(times_for(spec), label="times"))


@SETTINGS
@given(data=st.data())
def test_combinators_match_reference(data: st.DataObject) -> None:
    """join, warmup, scale, product, add, clip and shift nested up to three deep over every kind."""
    spec = data.draw(records.specs(3), label="spec")
    assert_matches(spec, data.draw(times_for(spec), label="times"))


# ---------------------------------------------------------------------------
# Far past the end: t = 2**62 is an exact float, so every kind has an exact value there.

FAR_SPECS = [
    *(spec for kind in records.SERIALISABLE for spec in R.ORACLES[kind].catalogue),
    # Lengths below 1 put floor(t / length) beyond 2**63 at t = 2**62.
    R.spec("step", init=1.0, step_size=0.5, gamma=0.5),
    R.spec("step", init=0.0, step_size=0.5, gamma=0.5),
    R.spec("exponential", init=1.0, gamma=0.5, every=0.5, staircase=True),
    R.spec("exponential", init=1.0, gamma=0.5, every=0.5, staircase=True, end=0.1),
    R.spec("inverse_time", init=1.0, rate=1.0, every=0.5, staircase=True),
    R.spec("polynomial", init=1.0, end=0.1, steps=0.5, cycle=True),
    R.spec("polynomial", init=1.0, end=0.0, steps=3.0, power=0.5, cycle=True),
    # A zero start times an overflowing growth is still zero.
    R.spec("step", init=0.0, step_size=10.0, gamma=2.0),
    R.spec("exponential", init=0.0, gamma=1.5),
    R.spec("cyclic", base=0.1, peak=1.0, step_up=2.0, mode="exp_range", gamma=1.5),
    # Periodic kinds keep their phase: t = 2**62 is 1 mod 3, 4 mod 20.
    R.spec("cosine", init=1.0, steps=3.0, periodic=True),
    R.spec("cyclic", base=0.0, peak=1.0, step_up=1.5),
    R.spec("cyclic", base=0.0, peak=1.0, step_up=10.0, mode="triangular2"),
    R.spec("cosine_restarts", init=1.0, period=3.0),
    R.spec("cosine_restarts", init=1.0, period=20.0, k_decay=0.5),
    R.spec("cosine_restarts", init=1.0, period=5.0, period_mult=2.0, final=0.1),
]


@pytest.mark.parametrize("spec", [pytest.param(s, id=f"{s['kind']}-{i}") for i, s in enumerate(FAR_SPECS)])
def test_far_past_the_end(spec: R.Spec) -> None:
    """The exact value at t = 2**62 and 2**62 + 2**11 (no NaN, no overflow, no lost phase)."""
    assert_matches(spec, [R.BIG_T, R.BIG_T + 2.0**11, 1e15 + 0.5])


@pytest.mark.parametrize("kind", records.LEAVES)
@SETTINGS
@given(data=st.data())
def test_kind_far_past_the_end(kind: str, data: st.DataObject) -> None:
    """Random valid parameters of each kind at t = 2**62."""
    spec = data.draw(records.strategy(kind), label="spec")
    assert_matches(spec, [R.BIG_T])


# ---------------------------------------------------------------------------
# Reproductions of NaNs found at ordinary times (each a value the reference gives exactly)


@pytest.mark.parametrize(
    ("spec", "t"),
    [
        # t / period rounds up to 17 while 17 * period (rounded) is above t: a negative cycle position.
        pytest.param(R.spec("cosine_restarts", init=1.0, period=0.1, k_decay=0.5), 1.7, id="cosine_restarts-0.1"),
        pytest.param(R.spec("cosine_restarts", init=1.0, period=0.7, k_decay=0.5), math.nextafter(3.5, 0.0),
                     id="cosine_restarts-0.7"),
        # t / steps rounds down to 3 while 3 * steps (rounded) is below t: progress above 1.
        pytest.param(R.spec("polynomial", init=1.0, end=0.0, steps=0.3, power=0.5, cycle=True), 0.9,
                     id="polynomial-cycle-0.3"),
        pytest.param(R.spec("polynomial", init=1.0, end=0.0, steps=1.1, power=0.5, cycle=True), 5.500000000000001,
                     id="polynomial-cycle-1.1"),
    ],
)
def test_no_nan_next_to_a_cycle_boundary(spec: R.Spec, t: float) -> None:
    s = lr.from_dict(spec)
    assert math.isfinite(s(t)), f"{spec} at t={t!r} gave {s(t)!r}"
    assert_matches(spec, [t])
    assert math.isfinite(s.array(1, start=t)[0])


# ---------------------------------------------------------------------------
# A few values worked by hand from the contract's formulas (and the peers' documented numbers)


@pytest.mark.parametrize(
    ("expr", "t", "want"),
    [
        ("warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)", 500, 1.5e-4),
        ("warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)", 1000, 3e-4),
        ("warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)", 10_000, 3e-5),
        ("warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)", 5500, 1.65e-4),
        ("cyclic(base=0.1, peak=1.0, step_up=4)", 0, 0.1),
        ("cyclic(base=0.1, peak=1.0, step_up=4)", 4, 1.0),
        ("cyclic(base=0.1, peak=1.0, step_up=4)", 8, 0.1),
        ("cyclic(base=0.1, peak=1.0, step_up=4, mode='triangular2')", 12, 0.55),
        ("polynomial(init=1.0, end=0.0, steps=10, cycle=True)", 10, 0.0),
        ("polynomial(init=1.0, end=0.0, steps=10, cycle=True)", 11, 0.45),
        ("polynomial(init=1.0, end=0.0, steps=10, cycle=True)", 21, 0.3),
        ("cosine(init=1.0, steps=10, final=0.1, periodic=True)", 15, 0.55),
        ("cosine(init=1.0, steps=10, final=0.1, periodic=True)", 20, 1.0),
        ("multistep(init=1.0, milestones=[3, 6])", 3, 0.1),
        ("multistep(init=1.0, milestones=[3, 6])", 6, 0.01),
        ("piecewise_constant(boundaries=[3, 6], values=[1.0, 0.1, 0.01])", 2.999, 1.0),
        ("piecewise_constant(boundaries=[3, 6], values=[1.0, 0.1, 0.01])", 3, 0.1),
        ("join([constant(value=1.0), linear(start=0.0, end=1.0, steps=10)], boundaries=[5])", 10, 0.5),
        ("inverse_sqrt(peak=1.0, warmup=100)", 50, 0.5),
        ("inverse_sqrt(peak=1.0, warmup=100)", 400, 0.5),
        ("inverse_sqrt(peak=1.0, warmup=0)", 30_000, 0.5),
        ("one_cycle(peak=1.0, steps=100)", 30, 1.0),
        ("one_cycle(peak=1.0, steps=100)", 0, 0.04),
        ("one_cycle(peak=1.0, steps=100)", 100, 4e-6),
        ("one_cycle(peak=1.0, steps=100, three_phase=True)", 60, 0.04),
        ("wsd(peak=1.0, steps=100, warmup=10, decay=20, final=0.1)", 90, 0.55),
        ("tanh_decay(init=1.0, steps=10, lower=-1, upper=1)", 5, 0.5),
        ("cosine_restarts(init=1.0, period=10, period_mult=2, decay=0.5)", 30, 0.25),
        ("cosine_restarts(init=1.0, period=10, period_mult=2, decay=0.5)", 20, 0.25),
        ("exponential(init=1.0, gamma=0.5, end=0.2)", 2, 0.25),
        ("exponential(init=1.0, gamma=0.5, end=0.2)", 3, 0.2),
        ("inverse_time(init=1.0, rate=0.5, every=2, staircase=True)", 5, 0.5),
        ("shift(linear(start=0.0, end=1.0, steps=10), steps=4)", 2, 0.6),
        ("clip(linear(start=0.0, end=1.0, steps=10), lo=0.2, hi=0.7)", 9, 0.7),
    ],
)
def test_hand_worked_values(expr: str, t: float, want: float) -> None:
    s = lr.parse(expr)
    assert s(t) == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert R.build(s.to_dict())(t) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("spec", "t"),
    [
        # init = 0 times a growth that overflows is 0, not 0 * inf = NaN.
        pytest.param(R.spec("step", init=0.0, step_size=1.0, gamma=1.5), 2000.0, id="step"),
        pytest.param(R.spec("exponential", init=0.0, gamma=1.05), 15_000.0, id="exponential"),
        # At a cycle start (s = 0) the exp_range envelope gamma ** t does not matter: the value is base.
        pytest.param(R.spec("cyclic", base=0.1, peak=1.0, step_up=2.0, mode="exp_range", gamma=1.5), 2000.0,
                     id="cyclic-exp_range"),
    ],
)
def test_zero_times_unbounded_growth_is_zero(spec: R.Spec, t: float) -> None:
    assert_matches(spec, [t])


@pytest.mark.parametrize(
    ("spec", "t"),
    [
        # triangular2 halves the amplitude 1024 times: the factor underflows to 0 (no overflow of 2 ** 1024).
        pytest.param(R.spec("cyclic", base=0.0, peak=1.0, step_up=1.0, mode="triangular2"), 2049.0,
                     id="cyclic-triangular2"),
        # Unbounded growth past the float range is +inf, in the compiled and the pure-Python kernel alike.
        pytest.param(R.spec("exponential", init=1.0, gamma=2.0), 2000.0, id="exponential"),
        pytest.param(R.spec("step", init=1.0, step_size=1.0, gamma=2.0), 2000.0, id="step"),
        pytest.param(R.spec("multistep", init=1.0, milestones=[1.0, 2.0], gamma=1e300), 3.0, id="multistep"),
    ],
)
def test_overflowing_growth_raises_nothing(spec: R.Spec, t: float) -> None:
    assert_matches(spec, [t])
