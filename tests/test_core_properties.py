"""Properties every schedule has, checked with hypothesis over every kind and over combinators.

Finite, >= 0 and within the kind's own range (``reference.bounds``); the scalar,
ndarray and ``array`` paths agree; JSON, dict and repr round-trips rebuild an
equal schedule with an equal hash; continuous kinds move by no more than their
modulus of continuity (derived from the parameters below); monotone kinds never
turn back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest
import reference as R
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore as lr
from lrcore._registry import KINDS as REGISTRY

JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
SETTINGS = settings(
    max_examples=40 if JIT_OFF else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
# The registered leaves (custom(fn) runs a Python function and has its own tests).
KINDS = sorted(k for k, record in REGISTRY.items() if not record.children and k != "custom")
ALL = [*KINDS, "combined"]
T_MAX = 20_000.0


def finite_range(spec: R.Spec) -> float:
    """How far to look: T_MAX, or less where a growing kind (gamma > 1) would overflow before it."""
    t = T_MAX
    while R.bounds(spec, t)[1] > 1e250:
        t /= 2.0
    return t


def spec_strategy(kind: str) -> st.SearchStrategy[R.Spec]:
    return R.specs(3) if kind == "combined" else R.KIND_STRATEGIES[kind]


@st.composite
def times(draw: st.DrawFn, spec: R.Spec, t_max: float = T_MAX) -> list[float]:
    """Boundary times of the spec and random (fractional and integer) times up to t_max."""
    probes = [t for t in R.probe_times(spec) if t <= t_max]
    extra = draw(st.lists(st.one_of(st.floats(0.0, t_max), st.integers(0, int(t_max)).map(float)), max_size=20))
    return probes + extra


def slack(scale: float, value: float = 0.0) -> float:
    """Room for rounding in a difference of two computed values: twice the reference comparison's
    tolerance (1e-12 of the value plus 1e-13 of the schedule's scale)."""
    return 2.0 * (1e-12 * abs(value) + 1e-13 * scale) + 1e-300


# ---------------------------------------------------------------------------
# Values: finite, non-negative, within the kind's range


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data())
def test_values_are_finite_nonnegative_and_within_bounds(kind: str, data: st.DataObject) -> None:
    spec = data.draw(spec_strategy(kind), label="spec")
    s = lr.from_dict(spec)
    t_max = finite_range(spec)
    lo, hi = R.bounds(spec, t_max)
    ts = data.draw(times(spec, t_max), label="times")
    for t in ts:
        v = s(t)
        assert isinstance(v, float)
        assert math.isfinite(v), f"t={t!r}: {v!r}"
        assert v >= 0.0, f"t={t!r}: {v!r}"
        assert lo - slack(hi) <= v <= hi + slack(hi), f"t={t!r}: {v!r} outside [{lo!r}, {hi!r}]"


# ---------------------------------------------------------------------------
# The three evaluation paths agree


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data(), start=st.integers(0, 5_000), n=st.integers(0, 300), frac=st.floats(0.0, 1.0))
def test_scalar_array_and_ndarray_agree(kind: str, data: st.DataObject, start: int, n: int, frac: float) -> None:
    """array(n, start)[i] == s(start + i) bit for bit for integer start, within 1e-12 for a fractional one;
    s(ndarray) == s(t) element by element."""
    spec = data.draw(spec_strategy(kind), label="spec")
    s = lr.from_dict(spec)
    got = s.array(n, start=start)
    assert got.dtype == np.float64 and got.shape == (n,)
    want = np.array([s(start + i) for i in range(n)])
    np.testing.assert_array_equal(got, want)

    t0 = start + frac
    got = s.array(n, start=t0)
    want = np.array([s(t0 + i) for i in range(n)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)

    ts = data.draw(st.lists(st.floats(0.0, finite_range(spec)), max_size=20), label="ts")
    vector = s(np.array(ts, dtype=np.float64))
    np.testing.assert_array_equal(vector, np.array([s(t) for t in ts]))


# ---------------------------------------------------------------------------
# Value semantics: round-trips and hashes


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data())
def test_dict_json_and_repr_round_trips(kind: str, data: st.DataObject) -> None:
    spec = data.draw(spec_strategy(kind), label="spec")
    s = lr.from_dict(spec)
    assert s.to_dict() == spec
    for rebuilt in (lr.from_dict(s.to_dict()), lr.from_json(s.to_json()), lr.parse(repr(s))):
        assert rebuilt == s
        assert hash(rebuilt) == hash(s)
        assert rebuilt.to_dict() == spec
        assert repr(rebuilt) == repr(s)
    t = data.draw(st.floats(0.0, finite_range(spec)), label="t")
    np.testing.assert_array_equal(lr.parse(repr(s))(t), s(t))  # NaN is another test's concern


# ---------------------------------------------------------------------------
# Continuity: |s(t + dt) - s(t)| <= modulus(dt)


def _power_modulus(x: float, power: float) -> float:
    """A bound on |a**power - b**power| for a, b in [0, 1] with |a - b| <= x."""
    return power * x if power >= 1.0 else x**power


def modulus(spec: R.Spec, t: float, dt: float) -> float | None:
    """A bound on |value(t + dt) - value(t)| from the formula, or None where the kind may jump."""
    kind = spec["kind"]
    g: Callable[[str], Any] = spec.__getitem__
    if kind == "constant":
        return 0.0
    if kind == "linear":
        return abs(g("end") - g("start")) / g("steps") * dt
    if kind in ("exponential", "inverse_time") and g("staircase"):
        return None
    if kind == "exponential":
        ref = R.build(spec)
        return abs(math.log(g("gamma"))) / g("every") * dt * max(ref(t), ref(t + dt))
    if kind == "inverse_time":
        return g("init") * g("rate") / g("every") * dt
    if kind == "polynomial" and not g("cycle"):
        k = g("k_decay")
        progress = k * dt / g("steps") if k >= 1.0 else (min(dt, g("steps")) / g("steps")) ** k
        return abs(g("init") - g("end")) * _power_modulus(min(progress, 1.0), g("power"))
    if kind == "cosine":
        k = g("k_decay")
        progress = k * dt / g("steps") if k >= 1.0 else (min(dt, g("steps")) / g("steps")) ** k
        return abs(g("init") - g("final")) * _power_modulus(min(math.pi / 2 * progress, 1.0), g("exponent"))
    if kind == "one_cycle":
        initial = g("peak") / g("div_factor")
        low = initial / g("final_div_factor")
        up, steps = g("pct_start") * g("steps"), g("steps")
        if g("three_phase"):
            slopes = [abs(g("peak") - initial) / up, abs(initial - low) / (steps - 2 * up)]
        else:
            slopes = [abs(g("peak") - initial) / up, abs(g("peak") - low) / (steps - up)]
        return max(slopes) * (math.pi / 2 if g("anneal") == "cos" else 1.0) * dt
    if kind == "cyclic":
        up = g("step_up")
        down = up if g("step_down") is None else g("step_down")
        amplitude = abs(g("peak") - g("base"))
        if down == 0.0:
            return None if amplitude else 0.0  # a sawtooth drops back at once
        if g("mode") != "exp_range":
            return amplitude / min(up, down) * dt
        envelope = g("gamma") ** (t + dt if g("gamma") > 1.0 else t)
        return amplitude * envelope * (1.0 / min(up, down) + abs(math.log(g("gamma")))) * dt
    if kind == "interpolate":
        pts = g("points")
        slopes = [abs(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(pts, pts[1:], strict=False)]
        return max(slopes, default=0.0) * (math.pi / 2 if g("shape") == "cosine" else 1.0) * dt
    if kind == "inverse_sqrt":
        timescale = g("timescale") or (g("warmup") if g("warmup") > 0.0 else 10_000.0)
        slopes = [g("peak") / (2.0 * timescale)] + ([g("peak") / g("warmup")] if g("warmup") > 0.0 else [])
        return max(slopes) * dt
    if kind == "wsd":
        if g("decay") == 0.0 and g("peak") != g("final"):
            return None
        total = 0.0
        for length, rise, shape in ((g("warmup"), abs(g("peak") - g("start")), g("warmup_shape")),
                                    (g("decay"), abs(g("peak") - g("final")), g("decay_shape"))):
            if length > 0.0:
                x = min(dt / length, 1.0)
                total += rise * (math.sqrt(x) if shape == "sqrt" else (math.pi / 2 if shape == "cosine" else 1.0) * x)
        return total
    if kind == "range_test":
        span = g("steps") - 1
        if g("shape") == "linear":
            return (g("end") - g("start")) / span * dt
        ref = R.build(spec)  # the slope of start * (end / start) ** (t / span) is its value times this rate
        return math.log(g("end") / g("start")) / span * dt * max(ref(t), ref(t + dt))
    if kind == "scale":
        inner = modulus(g("schedule"), t, dt)
        if inner is None:
            return None
        return _times(g("factor"), inner)
    if kind == "clip":
        return modulus(g("schedule"), t, dt)
    if kind == "shift":
        return modulus(g("schedule"), t + g("steps"), dt)
    if kind in ("add", "product"):
        a, b = modulus(g("first"), t, dt), modulus(g("second"), t, dt)
        if a is None or b is None:
            return None
        if kind == "add":
            return a + b
        top_a, top_b = R.bounds(g("first"), t + dt)[1], R.bounds(g("second"), t + dt)[1]
        return _times(top_a, b) + _times(top_b, a)
    return None


def _times(factor: float, slope: float) -> float:
    """factor * slope, where a zero factor flattens even an infinite slope (a subnormal ramp)."""
    return 0.0 if factor == 0.0 else factor * slope


CONTINUOUS = ["constant", "linear", "exponential", "inverse_time", "polynomial", "cosine", "one_cycle", "cyclic",
              "interpolate", "inverse_sqrt", "wsd", "range_test"]


@st.composite
def continuous_specs(draw: st.DrawFn, kind: str) -> R.Spec:
    if kind != "combined":
        return draw(R.KIND_STRATEGIES[kind].filter(lambda s: modulus(s, 0.0, 1.0) is not None))
    leaf = st.sampled_from(CONTINUOUS).flatmap(continuous_specs)
    one = st.one_of(
        st.builds(lambda s, f: R.spec("scale", schedule=s, factor=f), leaf, st.floats(0.0, 4.0)),
        st.builds(lambda s, k: R.spec("shift", schedule=s, steps=k), leaf, st.floats(0.0, 500.0)),
        st.builds(lambda s, lo: R.spec("clip", schedule=s, lo=lo, hi=lo + 1.0), leaf, st.floats(0.0, 1.0)),
        st.builds(lambda a, b: R.spec("add", first=a, second=b), leaf, leaf),
        st.builds(lambda a, b: R.spec("product", first=a, second=b), leaf, leaf),
    )
    return draw(one)


@pytest.mark.parametrize("kind", [*CONTINUOUS, "combined"])
@SETTINGS
@given(data=st.data())
def test_continuous_kinds_move_within_their_modulus(kind: str, data: st.DataObject) -> None:
    """Small dt, small change: |s(t + dt) - s(t)| <= the bound the formula gives (Lipschitz, or Hölder for
    sqrt shapes, exponents and k-decay below 1)."""
    spec = data.draw(continuous_specs(kind), label="spec")
    s = lr.from_dict(spec)
    t_max = finite_range(spec)
    scale = R.bounds(spec, t_max + 1.0)[1]
    dts = st.one_of(st.floats(1e-9, 1e-3), st.floats(1e-3, 1.0), st.sampled_from([1e-6, 0.5, 1.0]))
    pairs = data.draw(st.lists(st.tuples(st.floats(0.0, t_max), dts), min_size=1, max_size=15), label="t, dt")
    pairs += [(max(float(b) - 0.5 * dt, 0.0), dt) for b in R.landmarks(spec) if b < t_max for dt in (1e-7, 0.3)]
    for t, dt in pairs:
        dt = (t + dt) - t  # the step the float times really take (exact: Sterbenz)
        bound = modulus(spec, t, dt)  # not None: continuous_specs draws only specs with a modulus
        v0, v1 = s(t), s(t + dt)
        change = abs(v1 - v0)
        assert change <= bound * (1 + 1e-9) + slack(scale, max(v0, v1)), f"t={t!r} dt={dt!r}: {change!r} > {bound!r}"


# ---------------------------------------------------------------------------
# Monotonicity


def direction(spec: R.Spec) -> int | None:
    """+1 (never decreases), -1 (never increases) or None (may go both ways), from the parameters."""
    kind = spec["kind"]
    g: Callable[[str], Any] = spec.__getitem__

    def towards(a: float, b: float) -> int:
        return 1 if b >= a else -1

    if kind == "constant":
        return -1
    if kind == "linear":
        return towards(g("start"), g("end"))
    if kind in ("step", "multistep", "exponential"):
        return -1 if g("gamma") <= 1.0 else 1
    if kind == "inverse_time":
        return -1
    if kind == "polynomial" and not g("cycle"):
        return towards(g("init"), g("end"))
    if kind == "cosine" and not g("periodic"):
        return towards(g("init"), g("final"))
    if kind == "tanh_decay":
        return towards(g("init"), g("final"))
    if kind == "range_test":
        return 1
    if kind == "inverse_sqrt" and g("warmup") == 0.0:
        return -1
    if kind == "piecewise_constant" and sorted(g("values")) in (g("values"), g("values")[::-1]):
        return towards(g("values")[0], g("values")[-1])
    if kind == "interpolate":
        vs = [p[1] for p in g("points")]
        if sorted(vs) in (vs, vs[::-1]):
            return towards(vs[0], vs[-1])
    if kind == "wsd":
        if g("warmup") == 0.0 or g("start") == g("peak"):
            return towards(g("peak"), g("final"))
        if g("final") == g("peak"):
            return towards(g("start"), g("peak"))
    if kind in ("scale", "clip", "shift"):
        return direction(g("schedule"))
    return None


MONOTONE = ["constant", "linear", "step", "multistep", "exponential", "inverse_time", "polynomial", "cosine",
            "tanh_decay", "inverse_sqrt", "piecewise_constant", "interpolate", "wsd", "range_test"]


@st.composite
def monotone_specs(draw: st.DrawFn, kind: str) -> R.Spec:
    if kind != "combined":
        return draw(R.KIND_STRATEGIES[kind].filter(lambda s: direction(s) is not None))
    leaf = st.sampled_from(MONOTONE).flatmap(monotone_specs)
    return draw(st.one_of(
        st.builds(lambda s, f: R.spec("scale", schedule=s, factor=f), leaf, st.floats(0.0, 4.0)),
        st.builds(lambda s, k: R.spec("shift", schedule=s, steps=k), leaf, st.floats(0.0, 500.0)),
        st.builds(lambda s, lo, w: R.spec("clip", schedule=s, lo=lo, hi=lo + w), leaf, st.floats(0.0, 1.0),
                  st.floats(0.0, 2.0)),
    ))


@pytest.mark.parametrize("kind", [*MONOTONE, "combined"])
@SETTINGS
@given(data=st.data())
def test_monotone_kinds_never_turn_back(kind: str, data: st.DataObject) -> None:
    spec = data.draw(monotone_specs(kind), label="spec")
    s = lr.from_dict(spec)
    sign = direction(spec)
    t_max = finite_range(spec)
    ts = sorted(set(data.draw(times(spec, t_max), label="times")))
    values = [s(t) for t in ts]
    scale = R.bounds(spec, t_max)[1]
    for (t0, v0), (t1, v1) in zip(zip(ts, values, strict=True), zip(ts[1:], values[1:], strict=True), strict=False):
        step = (v1 - v0) * sign
        assert step >= -slack(scale, v0), f"{v0!r} at t={t0!r} then {v1!r} at t={t1!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_continuity_and_monotonicity_cover_every_kind_with_a_formula_for_them(kind: str) -> None:
    """A registered leaf is in CONTINUOUS exactly when ``modulus`` bounds some catalogue spec of it, and in
    MONOTONE exactly when ``direction`` knows one's direction: a kind given a modulus or a direction is tested
    with it, and a kind listed has a formula for it."""
    specs = R.CATALOGUE[kind]
    assert any(modulus(s, 0.0, 1.0) is not None for s in specs) == (kind in CONTINUOUS)
    assert any(direction(s) is not None for s in specs) == (kind in MONOTONE)


# ---------------------------------------------------------------------------
# Horizon: nothing changes from it on


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data())
def test_value_is_fixed_from_the_horizon_on(kind: str, data: st.DataObject) -> None:
    spec = data.draw(spec_strategy(kind), label="spec")
    s = lr.from_dict(spec)
    h = s.horizon
    if h is None:
        assert may_be_unbounded(spec), "a schedule with a known end must have a finite horizon"
        return
    assert math.isfinite(h) and h >= 0.0
    at = s(h)
    later = data.draw(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=10), label="later")
    for x in [*later, 1.0, 1e12]:
        assert s(h + x) == at, f"horizon {h!r}: s({h + x!r}) = {s(h + x)!r} != s(h) = {at!r}"


def may_be_unbounded(spec: R.Spec) -> bool:
    """Whether the contract lets the spec's horizon be None (periodic or unbounded parts)."""
    kind = spec["kind"]
    if kind in ("step", "exponential", "inverse_time", "cosine_restarts", "cyclic", "inverse_sqrt"):
        return True
    if kind in ("polynomial", "cosine"):
        return bool(spec.get("cycle") or spec.get("periodic"))
    children = [spec[k] for k in R.SCHEDULE_PARAMS if k in spec] + list(spec.get("schedules", []))
    return any(may_be_unbounded(c) for c in children)
