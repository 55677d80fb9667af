"""Properties every schedule has, checked with hypothesis over every kind and over combinators.

Finite, >= 0 and within the kind's own range (``reference.bounds``); the scalar,
ndarray and ``array`` paths agree; JSON, dict and repr round-trips rebuild an
equal schedule with an equal hash; the value is fixed from the horizon on.  What
lrcore's record claims is held against the formulas: a kind it calls continuous
moves by no more than the modulus of continuity its oracle record gives, and one
it gives a direction never turns back (0: never changes).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from unittest import mock

import numba
import numpy as np
import pytest
import reference as R
import test_core_records as records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore as lr
from lrcore import _numba, _schedule
from lrcore._registry import KINDS, stated_length

JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
SETTINGS = settings(
    max_examples=40 if JIT_OFF else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
COMBINED = "combined"  # specs nested up to three combinators deep over every kind
ALL = [*records.LEAVES, COMBINED]
T_MAX = 20_000.0


def finite_range(spec: R.Spec) -> float:
    """How far to look: T_MAX, or less where a growing kind (gamma > 1) would overflow before it."""
    t = T_MAX
    while R.bounds(spec, t)[1] > 1e250:
        t /= 2.0
    return t


def spec_strategy(kind: str) -> st.SearchStrategy[R.Spec]:
    return records.specs(3) if kind == COMBINED else records.strategy(kind)


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


@contextlib.contextmanager
def through_the_kernel() -> Iterator[dict[str, int]]:
    """Arrays and ndarrays of any length run in the kernel's interpreters (``_numba.serial`` and
    ``_numba.many``: compiled by numba, or the same functions as Python under NUMBA_DISABLE_JIT),
    not in the plain-Python scalar evaluator that shorter ones use below ``KERNEL_MIN``; yields the
    number of calls of each, so a test can assert which path ran."""
    calls = {"serial": 0, "many": 0}
    serial, many = _numba.serial, _numba.many

    def counted_serial(prog: np.ndarray, t0: float, out: np.ndarray) -> None:
        calls["serial"] += 1
        serial(prog, t0, out)

    def counted_many(prog: np.ndarray, ts: np.ndarray, out: np.ndarray) -> None:
        calls["many"] += 1
        many(prog, ts, out)

    with mock.patch.object(_schedule, "KERNEL_MIN", 1), mock.patch.object(_numba, "serial", counted_serial), \
            mock.patch.object(_numba, "many", counted_many):
        yield calls


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data(), start=st.integers(0, 5_000), n=st.integers(0, 300), frac=st.floats(0.0, 1.0))
def test_scalar_array_and_ndarray_agree(kind: str, data: st.DataObject, start: int, n: int, frac: float) -> None:
    """The kernel's array path (``fill_serial``) gives s.array(n, start)[i] == s(start + i), the plain-Python
    scalar evaluator, bit for bit for integer start, within 1e-12 for a fractional one; its ndarray path
    (``eval_many``) gives s(ndarray) == s(t) element by element."""
    spec = data.draw(spec_strategy(kind), label="spec")
    s = lr.from_dict(spec)
    t0 = start + frac
    ts = data.draw(st.lists(st.floats(0.0, finite_range(spec)), max_size=20), label="ts")
    scalar = [np.array([s(x + i) for i in range(n)]) for x in (start, t0)]
    with through_the_kernel() as calls:
        got = s.array(n, start=start)
        shifted = s.array(n, start=t0)
        vector = s(np.array(ts, dtype=np.float64))
    assert calls == {"serial": 2 if n else 0, "many": 1 if ts else 0}, "not the kernel's paths"
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_array_equal(got, scalar[0])
    np.testing.assert_allclose(shifted, scalar[1], rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(vector, np.array([s(t) for t in ts]))
    np.testing.assert_array_equal(s.array(n, start=start), got)  # the path an array of n takes by default


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
# Continuity: what lrcore calls continuous moves by no more than the oracle's modulus

# Kinds lrcore calls continuous for some catalogue spec (checked below for every spec).
CONTINUOUS = [k for k in records.LEAVES if any(KINDS[k].continuous(lr.from_dict(s)) for s in R.ORACLES[k].catalogue)]
CONTINUOUS_COMBINATORS = [k for k in records.COMBINATORS
                          if any(KINDS[k].continuous(lr.from_dict(s)) for s in R.ORACLES[k].catalogue)]


def claims_continuous(spec: R.Spec) -> bool:
    return KINDS[spec["kind"]].continuous(lr.from_dict(spec))


def continuous_specs(kind: str) -> st.SearchStrategy[R.Spec]:
    """Specs lrcore calls continuous: of one kind, or one combinator over such leaves."""
    if kind != COMBINED:
        return records.strategy(kind).filter(claims_continuous)
    leaf = st.sampled_from(CONTINUOUS).flatmap(continuous_specs)
    return records.combine(leaf, CONTINUOUS_COMBINATORS).filter(claims_continuous)


def assert_modulus_matches_the_claim(spec: R.Spec) -> None:
    """lrcore calls a spec continuous exactly when its oracle record bounds how fast it moves."""
    kind, bound = spec["kind"], R.modulus(spec, 0.0, 1.0)
    if claims_continuous(spec):
        assert R.ORACLES[kind].modulus is not None, f"{kind}: the oracle record has no 'modulus' " \
            f"(lrcore says {kind} is continuous: {spec})"
        assert bound is not None, f"lrcore calls {spec} continuous, but its oracle's modulus says it may jump"
    else:
        assert bound is None, f"the oracle bounds how fast {spec} moves, but lrcore says it may jump"


@pytest.mark.parametrize("spec", records.catalogue_cases())
def test_lrcore_calls_continuous_what_the_modulus_bounds(spec: R.Spec) -> None:
    assert_modulus_matches_the_claim(spec)


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data())
def test_lrcore_calls_continuous_what_the_modulus_bounds_for_random_specs(kind: str, data: st.DataObject) -> None:
    assert_modulus_matches_the_claim(data.draw(spec_strategy(kind), label="spec"))


@pytest.mark.parametrize("kind", [*CONTINUOUS, COMBINED])
@SETTINGS
@given(data=st.data())
def test_continuous_kinds_move_within_their_modulus(kind: str, data: st.DataObject) -> None:
    """Small dt, small change: |s(t + dt) - s(t)| <= the bound the formula gives (Lipschitz, or Hölder for
    sqrt shapes, exponents and k-decay below 1), for every spec lrcore calls continuous."""
    spec = data.draw(continuous_specs(kind), label="spec")
    s = lr.from_dict(spec)
    t_max = finite_range(spec)
    scale = R.bounds(spec, t_max + 1.0)[1]
    dts = st.one_of(st.floats(1e-9, 1e-3), st.floats(1e-3, 1.0), st.sampled_from([1e-6, 0.5, 1.0]))
    pairs = data.draw(st.lists(st.tuples(st.floats(0.0, t_max), dts), min_size=1, max_size=15), label="t, dt")
    pairs += [(max(float(b) - 0.5 * dt, 0.0), dt) for b in R.landmarks(spec) if b < t_max for dt in (1e-7, 0.3)]
    for t, dt in pairs:
        dt = (t + dt) - t  # the step the float times really take (exact: Sterbenz)
        bound = R.modulus(spec, t, dt)
        assert bound is not None, f"lrcore calls {spec} continuous, but its oracle's modulus says it may jump"
        v0, v1 = s(t), s(t + dt)
        change = abs(v1 - v0)
        assert change <= bound * (1 + 1e-9) + slack(scale, max(v0, v1)), f"t={t!r} dt={dt!r}: {change!r} > {bound!r}"


# ---------------------------------------------------------------------------
# Direction: what lrcore says never decreases (+1), never increases (-1) or never changes (0)

# Kinds lrcore gives a direction for some catalogue spec.
MONOTONE = [k for k in records.LEAVES
            if any(KINDS[k].monotone(lr.from_dict(s)) is not None for s in R.ORACLES[k].catalogue)]
MONOTONE_COMBINATORS = [k for k in records.COMBINATORS
                        if any(KINDS[k].monotone(lr.from_dict(s)) is not None for s in R.ORACLES[k].catalogue)]


def claimed_direction(spec: R.Spec) -> int | None:
    return KINDS[spec["kind"]].monotone(lr.from_dict(spec))


def monotone_specs(kind: str) -> st.SearchStrategy[R.Spec]:
    """Specs lrcore gives a direction: of one kind, or one combinator over such leaves."""
    if kind != COMBINED:
        return records.strategy(kind).filter(lambda s: claimed_direction(s) is not None)
    leaf = st.sampled_from(MONOTONE).flatmap(monotone_specs)
    return records.combine(leaf, MONOTONE_COMBINATORS).filter(lambda s: claimed_direction(s) is not None)


def assert_never_turns_back(sign: int, ts: list[float], values: list[float], scale: float, what: str) -> None:
    for t0, v0, t1, v1 in zip(ts, values, ts[1:], values[1:], strict=False):
        if sign == 0:
            assert v1 == v0, f"{what}: said to never change, but {v0!r} at t={t0!r} then {v1!r} at t={t1!r}"
        else:
            assert (v1 - v0) * sign >= -slack(scale, v0), f"{what}: {v0!r} at t={t0!r} then {v1!r} at t={t1!r}"


def check_direction(spec: R.Spec, ts: list[float]) -> None:
    """The direction lrcore claims for the spec holds for the oracle's values and for lrcore's."""
    sign = claimed_direction(spec)
    if sign is None:
        return
    ts = sorted(set(ts))
    scale = R.bounds(spec, max(ts))[1]
    ref = R.build(spec)
    s = lr.from_dict(spec)
    assert_never_turns_back(sign, ts, [ref(t) for t in ts], scale, f"the oracle of {spec} (lrcore says {sign:+d})")
    assert_never_turns_back(sign, ts, [s(t) for t in ts], scale, f"lrcore's {spec} (lrcore says {sign:+d})")


@pytest.mark.parametrize("spec", records.catalogue_cases())
def test_catalogue_specs_move_the_way_lrcore_says(spec: R.Spec) -> None:
    check_direction(spec, R.probe_times(spec) + [k * 0.37 for k in range(200)] + [k * 13.0 for k in range(100)])


@pytest.mark.parametrize("kind", [*MONOTONE, COMBINED])
@SETTINGS
@given(data=st.data())
def test_monotone_kinds_never_turn_back(kind: str, data: st.DataObject) -> None:
    spec = data.draw(monotone_specs(kind), label="spec")
    check_direction(spec, data.draw(times(spec, finite_range(spec)), label="times"))


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
        why = R.unbounded(spec)
        assert why, f"{spec['kind']}: lrcore gives {spec} no horizon, but the oracle record's 'unbounded' says it " \
            "has an end"
        if why == R.PERIODIC:
            length = stated_length(s)
            assert length is not None and length > 0, f"periodic {spec} states no period ({length!r})"
        return
    assert math.isfinite(h) and h >= 0.0
    at = s(h)
    later = data.draw(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=10), label="later")
    for x in [*later, 1.0, 1e12]:
        assert s(h + x) == at, f"horizon {h!r}: s({h + x!r}) = {s(h + x)!r} != s(h) = {at!r}"
