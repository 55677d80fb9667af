"""An independent reference for every lrcore kind and combinator, in plain Python: one record per kind.

Written from the formulas of the public contract (the docs and the constructors'
docstrings); it never imports lrcore.  Each ``ref_<kind>(t, **params)`` takes the
parameters under the names ``Schedule.to_dict()`` uses; combinators take
reference callables (the parameters annotated ``Ref``).  ``build(spec)`` turns a
``to_dict()``-shaped dict into a reference callable, so one spec drives both
lrcore and the reference.

The reference is exact where exactness is cheap: every floor, ceiling, cycle
index and position inside a period is computed on exact rationals
(``fractions.Fraction`` holds a float exactly), so boundaries and times as
large as 2**62 land on the mathematically right branch and phase.  Times may
be floats or Fractions; combinators hand their children exact times
(``t - boundary``, ``t + steps``).  The smooth
parts use forms that avoid cancellation (``1 - cos x = 2 sin^2(x/2)``, a
linear ramp anchored at its nearer end), so the reference is accurate to a few
ulps even where the value is tiny next to the schedule's scale.

Everything the tests know about a kind sits in its record, made by ``@oracle(...)``
on its formula and collected in ``ORACLES``:

- ``defaults``: the contract's defaults; ``catalogue``: hand-picked specs (the
  parameters that differ from the defaults);
- ``bounds(spec, t_max)``: the range of values up to t_max; ``landmarks(spec)``: the
  exact times where the formula switches branch;
- ``modulus(spec, t, dt)``: a bound on ``|value(t + dt) - value(t)|`` (None where the
  spec may jump); lrcore's own record says which specs are continuous and which way
  they move, and the tests hold those claims against the formula;
- ``horizon(spec)``: where the value stops changing; ``unbounded(spec)``: why a spec
  may have no horizon (PERIODIC: it repeats, so it states its period; ENDLESS);
- ``strategy`` and ``extreme``: hypothesis ranges where a hand-tuned range matters
  (ordinary specs, and the ends of what construction accepts).  Whatever a record
  leaves out there is derived in ``test_core_records.py`` from lrcore's parameters
  (their types and bounds), as are the bad inputs (``bad_inputs.py``);
- a few flags for the exact-value tests (``exact_at_landmarks``, ``held``, ``near``,
  ``time_slack``).

``test_core_records.py`` fails, naming the kind and the piece, for a registered
kind whose record lacks one.
"""

from __future__ import annotations

import dataclasses
import decimal
import inspect
import math
import struct
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, TypeVar

from hypothesis import strategies as st

Ref = Callable[[Any], float]  # t -> value, t a float or an exact Fraction
Spec = dict[str, Any]
F = TypeVar("F", bound=Callable[..., float])

BIG_T = 2.0**62  # "far past the end": an exact float; t / 0.5 is already beyond int64 there
BIG = sys.float_info.max
MAX = BIG

# Why a spec may have no horizon (``Oracle.unbounded``).
PERIODIC = "periodic"  # it repeats: its parameters state the length of its first cycle
ENDLESS = "endless"  # it keeps approaching a limit, or growing, without reaching it


# ---------------------------------------------------------------------------
# The records


@dataclasses.dataclass(frozen=True)
class Oracle:
    """What the tests know about one kind, next to its formula (see the module's docstring).

    A piece left None is missing (``test_core_records.py`` says which are required);
    ``strategy`` and ``extreme`` are None where the test modules derive them whole.
    """

    name: str
    fn: Callable[..., float]
    children: tuple[str, ...]  # parameters holding schedules (reference callables for `fn`)
    defaults: Mapping[str, Any] | None = None
    catalogue: tuple[Spec, ...] = ()
    # A leaf's strategy: a dict of per-parameter strategies (the rest derived), or a function
    # returning a strategy of whole specs; a combinator's takes the children's strategy.
    strategy: Mapping[str, Any] | Callable[..., st.SearchStrategy[Spec]] | None = None
    extreme: Mapping[str, Any] | Callable[..., st.SearchStrategy[Spec]] | None = None
    bounds: Callable[[Spec, float], tuple[float, float]] | None = None
    landmarks: Callable[[Spec], list[Fraction]] | None = None
    modulus: Callable[[Spec, float, float], float | None] | None = None
    horizon: Callable[[Spec], float | None] | None = None
    unbounded: Callable[[Spec], str | None] | None = None  # None: has a horizon (a combinator: as its children)
    exact_at_landmarks: bool = True  # some landmark's value is one of the spec's own parameters
    held: Callable[[Spec], Iterable[float]] | None = None  # values it holds exactly besides its parameters
    near: Callable[[Spec, float], list[Fraction]] | None = None  # branch points near t beyond the landmarks
    time_slack: Callable[[Spec, float], Fraction | None] | None = None  # rounding in where t falls

    @property
    def combinator(self) -> bool:
        return bool(self.children)


ORACLES: dict[str, Oracle] = {}


def _children(fn: Callable[..., float]) -> tuple[str, ...]:
    """The parameters of a formula that take reference callables (annotated ``Ref``)."""
    return tuple(name for name, p in inspect.signature(fn).parameters.items()
                 if isinstance(p.annotation, str) and p.annotation in ("Ref", "Sequence[Ref]"))


def oracle(
    *, defaults: Mapping[str, Any] | None = None, catalogue: Sequence[Mapping[str, Any]] = (), **pieces: Any
) -> Callable[[F], F]:
    """Record the decorated ``ref_<kind>`` with its pieces in ``ORACLES[<kind>]``; each catalogue
    entry gives the parameters that differ from `defaults`."""

    def register(fn: F) -> F:
        name = fn.__name__.removeprefix("ref_")
        assert name not in ORACLES, f"two oracles for {name}"
        full = tuple({"kind": name, **(defaults or {}), **entry} for entry in catalogue)
        ORACLES[name] = Oracle(name=name, fn=fn, children=_children(fn), defaults=defaults, catalogue=full,
                               **pieces)
        return fn

    return register


def spec(kind: str, **params: Any) -> Spec:
    """A full spec of `kind`: the given parameters over the contract's defaults."""
    return {"kind": kind, **(ORACLES[kind].defaults or {}), **params}


def children_of(spec: Spec) -> list[Spec]:
    """The specs of a spec's child schedules."""
    out: list[Spec] = []
    for name in ORACLES[spec["kind"]].children:
        value = spec[name]
        out.extend(value if isinstance(value, list) else [value])
    return out


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


def _x(s: Spec, name: str) -> Fraction:
    return Fraction(s[name])


def _to_float(x: Fraction | int) -> float:
    """float(x), or inf past the float range."""
    try:
        return float(x)
    except OverflowError:
        return math.inf


def _settles(ref: Ref, later: float) -> float:
    """The smallest float t >= 0 from which ref (which never turns back) keeps its value at `later`,
    by bisection over the floats in order (their bit patterns)."""
    final = ref(later)
    if ref(0.0) == final:
        return 0.0
    lo, hi = 0, int.from_bytes(struct.pack("<d", later), "little")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ref(struct.unpack("<d", mid.to_bytes(8, "little"))[0]) == final:
            hi = mid
        else:
            lo = mid
    return float(struct.unpack("<d", hi.to_bytes(8, "little"))[0])


# ---------------------------------------------------------------------------
# Pieces the records share: ranges, landmarks, moduli


def _between(a: str, b: str) -> Callable[[Spec, float], tuple[float, float]]:
    """Bounds of a kind whose values stay between parameters a and b."""
    return lambda s, t_max: (min(s[a], s[b]), max(s[a], s[b]))


def _ends(repeats: str) -> Callable[[Spec], list[Fraction]]:
    """steps, and 2 steps and 3 steps when the flag `repeats` makes the kind periodic."""
    return lambda s: [k * _x(s, "steps") for k in ((1, 2, 3) if s[repeats] else (1,))]


def _staircase(s: Spec) -> list[Fraction]:
    return [k * _x(s, "every") for k in (1, 2, 3)] if s["staircase"] else []


def _power_modulus(x: float, power: float) -> float:
    """A bound on |a**power - b**power| for a, b in [0, 1] with |a - b| <= x."""
    return power * x if power >= 1.0 else x**power


def _progress_modulus(s: Spec, dt: float) -> float:
    """A bound on the change of the progress (t / steps) ** k_decay over dt (at most 1)."""
    k = s["k_decay"]
    progress = k * dt / s["steps"] if k >= 1.0 else (min(dt, s["steps"]) / s["steps"]) ** k
    return min(progress, 1.0)


def _times(factor: float, slope: float) -> float:
    """factor * slope, where a zero factor flattens even an infinite slope (a subnormal ramp)."""
    return 0.0 if factor == 0.0 else factor * slope


def _growth_modulus(rate: float, spec: Spec, t: float, dt: float) -> float:
    """The modulus of a value that grows or decays at `rate` times itself per step."""
    ref = build(spec)
    return rate * dt * max(ref(t), ref(t + dt))


def _always(reason: str | None) -> Callable[[Spec], str | None]:
    return lambda s: reason


def _when(flag: str) -> Callable[[Spec], str | None]:
    """PERIODIC when the flag `flag` makes the spec repeat."""
    return lambda s: PERIODIC if s[flag] else None


# ---------------------------------------------------------------------------
# Hypothesis pieces: ordinary ranges


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


# Named so that the test modules derive a parameter's strategy from its lrcore bounds with these.
ordinary_value = _value
ordinary_length = _length
ordinary_increasing = _increasing
ordinary_number = _num


# ---------------------------------------------------------------------------
# Hypothesis pieces: the ends of what construction accepts (subnormal and huge lengths and
# values, growth factors up to 1e308).  The corner values are drawn twice as often as
# arbitrary ones: that is where overflow lives.

TINY, SUB = 1e-300, 5e-324
LENGTHS = [SUB, TINY, 1e-10, 0.3, 1.0, 7.0, 1000.0, 1e10, 1e300, 1.7e308]
VALUES = [0.0, SUB, TINY, 1e-10, 3e-4, 0.1, 1.0, 2.5, 1e10, 1e300, MAX]
GAMMAS = [0.0, TINY, 0.1, 0.5, 0.999, 1.0, 1 + 2**-52, 1.001, 2.0, 1e10, 1e308]


def extreme_lengths() -> st.SearchStrategy[float]:
    corners = st.sampled_from(LENGTHS)
    return st.one_of(corners, corners, st.floats(SUB, 1.7e308), st.integers(1, 10**6).map(float))


def extreme_values() -> st.SearchStrategy[float]:
    corners = st.sampled_from(VALUES)
    return st.one_of(corners, corners, st.floats(0.0, 10.0), st.floats(0.0, MAX))


def extreme_gammas(lo: float = 0.0) -> st.SearchStrategy[float]:
    corners = st.sampled_from([g for g in GAMMAS if g >= lo])
    return st.one_of(corners, corners, st.floats(lo, 1e308))


def extreme_increasing(min_size: int, max_size: int) -> st.SearchStrategy[list[float]]:
    items = st.lists(st.one_of(extreme_lengths(), st.sampled_from(LENGTHS)), min_size=min_size, max_size=max_size)
    return items.map(lambda xs: sorted(set(xs))).filter(lambda xs: len(xs) >= min_size)


# ---------------------------------------------------------------------------
# Leaves


def _expected_constant(s: Spec) -> float | None:
    return 0.0


@oracle(
    defaults={},
    catalogue=[dict(value=0.3), dict(value=0.0)],
    bounds=_between("value", "value"),
    landmarks=lambda s: [],
    modulus=lambda s, t, dt: 0.0,
    horizon=_expected_constant,
    exact_at_landmarks=False,
)
def ref_constant(t: float, value: float) -> float:
    return value


@oracle(
    defaults={},
    catalogue=[dict(start=0.0, end=1.0, steps=10.0), dict(start=0.3, end=0.1, steps=7.5),
               dict(start=1.0, end=0.0, steps=1e6)],
    bounds=_between("start", "end"),
    landmarks=lambda s: [_x(s, "steps")],
    modulus=lambda s, t, dt: abs(s["end"] - s["start"]) / s["steps"] * dt,
    horizon=lambda s: s["steps"],
)
def ref_linear(t: float, start: float, end: float, steps: float) -> float:
    """start + (end - start) * t / steps until steps, then end."""
    if t >= steps:
        return end
    return _mix(start, end, _ease("linear", Fraction(t) / Fraction(steps)))


def _power_bounds(s: Spec, count: int) -> tuple[float, float]:
    """step and multistep: init times gamma to the number of decays so far."""
    far = _scaled_power(s["init"], s["gamma"], count)
    return min(s["init"], far) if s["gamma"] > 1.0 else 0.0, max(s["init"], far)


def _expected_step(s: Spec) -> float | None:
    if s["gamma"] == 1.0 or s["init"] == 0.0:
        return 0.0
    return s["step_size"] if s["gamma"] == 0.0 else None  # the rate is 0 from step_size on


@oracle(
    defaults={"gamma": 0.1},
    catalogue=[dict(init=1.0, step_size=3.0), dict(init=0.5, step_size=2.5, gamma=0.5),
               dict(init=1e-3, step_size=10.0, gamma=1.5), dict(init=1.0, step_size=1.0, gamma=0.0)],
    strategy={"step_size": _length(0.5, 500.0),
              "gamma": st.one_of(st.sampled_from([0.1, 0.5, 1.0, 0.0]), _num(0.0, 1.0), _num(1.0, 1.5))},
    extreme={"gamma": extreme_gammas()},
    bounds=lambda s, t_max: _power_bounds(s, _floor_div(t_max, s["step_size"])),
    landmarks=lambda s: [k * _x(s, "step_size") for k in (1, 2, 3)],
    horizon=_expected_step,
    unbounded=_always(ENDLESS),
)
def ref_step(t: float, init: float, step_size: float, gamma: float) -> float:
    """init * gamma ** floor(t / step_size)."""
    return _scaled_power(init, gamma, _floor_div(t, step_size))


@st.composite
def _milestones(draw: st.DrawFn) -> list[float]:
    milestones = draw(_increasing(0.0, 3_000.0, 0, 5, strict=False))
    repeat = draw(st.booleans())
    if milestones and repeat:
        milestones = sorted([*milestones, milestones[0]])  # a repeated milestone counts twice
    return milestones


@oracle(
    defaults={"gamma": 0.1},
    catalogue=[dict(init=1.0, milestones=[3.0, 6.0]), dict(init=0.2, milestones=[2.0, 2.0, 5.5], gamma=0.5),
               dict(init=1.0, milestones=[], gamma=0.5)],
    strategy={"milestones": _milestones(),
              "gamma": st.one_of(st.sampled_from([0.1, 0.5, 1.0, 0.0, 2.0]), _num(0.0, 3.0))},
    extreme={"gamma": extreme_gammas()},
    bounds=lambda s, t_max: _power_bounds(s, len(s["milestones"])),
    landmarks=lambda s: [Fraction(m) for m in s["milestones"]],
    horizon=lambda s: s["milestones"][-1] if s["milestones"] else 0.0,
)
def ref_multistep(t: float, init: float, milestones: Sequence[float], gamma: float) -> float:
    """init * gamma ** (number of milestones <= t); a repeated milestone counts twice."""
    return _scaled_power(init, gamma, bisect_right(list(milestones), t))


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
def _exponential_extreme(draw: st.DrawFn) -> Spec:
    init, gamma = draw(extreme_values()), draw(extreme_gammas(lo=TINY))
    end = draw(st.one_of(st.none(), extreme_values()))
    if end is not None and ((gamma < 1 and end > init) or (gamma > 1 and end < init)):
        end = init
    return {"kind": "exponential", "init": init, "gamma": gamma, "every": draw(extreme_lengths()),
            "staircase": draw(st.booleans()), "end": end}


def _bounds_exponential(s: Spec, t_max: float) -> tuple[float, float]:
    init, gamma, end = s["init"], s["gamma"], s["end"]
    far = _scaled_power(init, gamma, t_max / s["every"])
    if end is not None:
        far = max(far, end) if gamma < 1.0 else min(far, end)
        if gamma == 1.0:
            return far, far
    return min(init, far), max(init, far)


def _landmarks_exponential(s: Spec) -> list[Fraction]:
    out = _staircase(s)
    if s["end"] is not None and s["gamma"] != 1.0 and s["init"] > 0.0 and s["end"] > 0.0:
        ratio = s["end"] / s["init"]
        if 0.0 < ratio < math.inf:  # end / init can overflow or underflow for subnormal values
            out.append(Fraction(s["every"] * math.log(ratio) / math.log(s["gamma"])))
    return out


def _modulus_exponential(s: Spec, t: float, dt: float) -> float | None:
    if s["staircase"]:
        return None
    return _growth_modulus(abs(math.log(s["gamma"])) / s["every"], s, t, dt)


def _expected_exponential(s: Spec) -> float | None:
    if s["gamma"] == 1.0:
        return 0.0
    if s["end"] is None:
        return None
    crossing = math.log(s["end"] / s["init"]) / math.log(s["gamma"])
    return s["every"] * (math.ceil(crossing) if s["staircase"] else crossing)


@oracle(
    defaults={"every": 1.0, "staircase": False, "end": None},
    catalogue=[dict(init=1.0, gamma=0.5), dict(init=1.0, gamma=0.9, every=10.0, staircase=True),
               dict(init=1.0, gamma=0.5, end=0.1), dict(init=0.01, gamma=2.0, every=3.0, end=1.0),
               dict(init=0.3, gamma=1.0, end=0.2)],
    strategy=_exponential,
    extreme=_exponential_extreme,
    bounds=_bounds_exponential,
    landmarks=_landmarks_exponential,
    modulus=_modulus_exponential,
    horizon=_expected_exponential,
    unbounded=_always(ENDLESS),
    exact_at_landmarks=False,
)
def ref_exponential(
    t: float, init: float, gamma: float, every: float, staircase: bool, end: float | None
) -> float:
    """init * gamma ** (t / every) (floored if staircase); end a floor if gamma < 1, else a ceiling (optax)."""
    x = float(_floor_div(t, every)) if staircase else _ratio(t, every)
    v = _scaled_power(init, gamma, x)
    if end is None:
        return v
    return max(v, end) if gamma < 1.0 else min(v, end)


@oracle(
    defaults={"every": 1.0, "staircase": False},
    catalogue=[dict(init=1.0, rate=0.5), dict(init=0.1, rate=2.0, every=10.0, staircase=True)],
    strategy={"rate": st.one_of(st.just(0.0), _num(0.0, 5.0)), "every": _length(0.5, 200.0)},
    extreme={"rate": st.one_of(st.just(0.0), extreme_values())},
    bounds=lambda s, t_max: (0.0, s["init"]),
    landmarks=_staircase,
    modulus=lambda s, t, dt: None if s["staircase"] else s["init"] * s["rate"] / s["every"] * dt,
    horizon=lambda s: None,
    unbounded=_always(ENDLESS),
    exact_at_landmarks=False,
)
def ref_inverse_time(t: float, init: float, rate: float, every: float, staircase: bool) -> float:
    """init / (1 + rate * t / every) (floored t / every if staircase)."""
    x = float(_floor_div(t, every)) if staircase else _ratio(t, every)
    return init / (1.0 + rate * x)


def _modulus_polynomial(s: Spec, t: float, dt: float) -> float | None:
    if s["cycle"]:
        return None
    return abs(s["init"] - s["end"]) * _power_modulus(_progress_modulus(s, dt), s["power"])


@oracle(
    defaults={"power": 1.0, "cycle": False, "k_decay": 1.0},
    catalogue=[dict(init=1.0, end=0.0, steps=10.0), dict(init=0.3, end=0.1, steps=8.0, power=2.0),
               dict(init=1.0, end=0.0, steps=10.0, cycle=True),
               dict(init=1.0, end=0.1, steps=20.0, power=0.5, k_decay=2.0),
               dict(init=0.1, end=1.0, steps=5.5, power=3.0, cycle=True, k_decay=0.5)],
    strategy={"power": st.one_of(st.sampled_from([1.0, 2.0, 0.5]), _num(0.1, 4.0)),
              "k_decay": st.one_of(st.just(1.0), _num(0.2, 4.0))},
    bounds=_between("init", "end"),
    landmarks=_ends("cycle"),
    modulus=_modulus_polynomial,
    horizon=lambda s: None if s["cycle"] else s["steps"],
    unbounded=_when("cycle"),
)
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


@st.composite
def _cosine(draw: st.DrawFn) -> Spec:
    periodic = draw(st.booleans())
    return {"kind": "cosine", "init": draw(_value()), "steps": draw(_length()), "final": draw(_value()),
            "exponent": draw(st.one_of(st.just(1.0), _num(0.1, 4.0))),
            "k_decay": 1.0 if periodic else draw(st.one_of(st.just(1.0), _num(0.2, 4.0))),
            "periodic": periodic}


@st.composite
def _cosine_extreme(draw: st.DrawFn) -> Spec:
    periodic = draw(st.booleans())
    return {"kind": "cosine", "init": draw(extreme_values()), "steps": draw(extreme_lengths()),
            "final": draw(extreme_values()), "exponent": draw(extreme_lengths()),
            "k_decay": 1.0 if periodic else draw(extreme_lengths()), "periodic": periodic}


def _modulus_cosine(s: Spec, t: float, dt: float) -> float | None:
    progress = _progress_modulus(s, dt)
    return abs(s["init"] - s["final"]) * _power_modulus(min(math.pi / 2 * progress, 1.0), s["exponent"])


@oracle(
    defaults={"final": 0.0, "exponent": 1.0, "k_decay": 1.0, "periodic": False},
    catalogue=[dict(init=1.0, steps=10.0), dict(init=1.0, steps=100.0, final=0.1),
               dict(init=0.1, steps=10.0, final=1.0, periodic=True),
               dict(init=1.0, steps=20.0, exponent=2.0, k_decay=1.5),
               dict(init=3e-4, steps=9000.0, final=3e-5), dict(init=1.0, steps=7.25, periodic=True),
               dict(init=1.0, steps=10.0, final=0.2, exponent=2.0, periodic=True)],
    strategy=_cosine,
    extreme=_cosine_extreme,
    bounds=_between("init", "final"),
    landmarks=_ends("periodic"),
    modulus=_modulus_cosine,
    horizon=lambda s: None if s["periodic"] else s["steps"],
    unbounded=_when("periodic"),
)
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


COS = spec("cosine", init=1.0, steps=100.0, final=0.1)  # the child of many catalogue combinators


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


def _bounds_cosine_restarts(s: Spec, t_max: float) -> tuple[float, float]:
    i_max = _restart_cycle(t_max, s["period"], s["period_mult"])[0]
    peaks = [s["init"], _scaled_power(s["init"], s["decay"], i_max)]
    return min(s["final"], *peaks), max(s["final"], *peaks)


def _landmarks_cosine_restarts(s: Spec) -> list[Fraction]:
    out, start, length = [], Fraction(0), _x(s, "period")
    for _ in range(3):
        start += length
        length *= _x(s, "period_mult")
        out.append(start)
    return out


def _restart_near(s: Spec, t: float) -> list[Fraction]:
    """The exact cycle starts of a non-uniform cosine_restarts around t (past 2**53 they are no floats)."""
    if s["period_mult"] == 1.0:
        return []
    _, start, length = _restart_cycle(t, s["period"], s["period_mult"])
    return [start, start + length]


def _restart_slack(s: Spec, t: float) -> Fraction | None:
    """Past 2**53 a non-uniform cycle start period * (mult**i - 1) / (mult - 1) is itself a rounded
    float (mult**i rounds once, relatively): the position in the cycle carries that error, allowed
    up to 1e-12 of t."""
    if s["period_mult"] != 1.0 and t > 2.0**53:
        return Fraction(t) * Fraction(1, 2**40)
    return None


@oracle(
    defaults={"final": 0.0, "period_mult": 1.0, "decay": 1.0, "k_decay": 1.0},
    catalogue=[dict(init=1.0, period=10.0), dict(init=1.0, period=10.0, final=0.1, period_mult=2.0, decay=0.5),
               dict(init=1.0, period=4.0, period_mult=1.5, k_decay=2.0),
               dict(init=0.5, period=2.5, final=0.2, decay=0.0)],
    strategy={"period": _length(0.5, 1_000.0),
              # A multiplier a hair above 1 puts t = 2**62 some 10**9 cycles in, past what exact
              # Fractions can settle; 1.01 already means thousands of cycles there.
              "period_mult": st.one_of(st.sampled_from([1.0, 2.0, 1.5, 3.0]), _num(1.01, 4.0)),
              "decay": st.one_of(st.sampled_from([1.0, 0.5, 0.0]), _num(0.0, 1.0)),
              "k_decay": st.one_of(st.just(1.0), _num(0.2, 4.0))},
    extreme={"decay": extreme_gammas()},
    bounds=_bounds_cosine_restarts,
    landmarks=_landmarks_cosine_restarts,
    horizon=lambda s: None,
    unbounded=_always(PERIODIC),
    near=_restart_near,
    time_slack=_restart_slack,
)
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
def _one_cycle_extreme(draw: st.DrawFn) -> Spec:
    three = draw(st.booleans())
    return {"kind": "one_cycle", "peak": draw(extreme_values()), "steps": draw(extreme_lengths()),
            "pct_start": draw(st.floats(SUB, 0.5 if three else 1.0, exclude_max=True)),
            "div_factor": draw(extreme_lengths()), "final_div_factor": draw(extreme_lengths()),
            "anneal": draw(st.sampled_from(["cos", "linear"])), "three_phase": three}


def _one_cycle_ends(s: Spec) -> tuple[float, float]:
    """The start value peak / div_factor and the end value start / final_div_factor."""
    initial = s["peak"] / s["div_factor"]
    return initial, initial / s["final_div_factor"]


def _bounds_one_cycle(s: Spec, t_max: float) -> tuple[float, float]:
    initial, low = _one_cycle_ends(s)
    return min(initial, low, s["peak"]), max(initial, low, s["peak"])


def _landmarks_one_cycle(s: Spec) -> list[Fraction]:
    up = _x(s, "pct_start") * _x(s, "steps")
    return [_x(s, "steps"), up, 2 * up] if s["three_phase"] else [_x(s, "steps"), up]


def _modulus_one_cycle(s: Spec, t: float, dt: float) -> float | None:
    initial, low = _one_cycle_ends(s)
    up, steps = s["pct_start"] * s["steps"], s["steps"]
    if s["three_phase"]:
        slopes = [abs(s["peak"] - initial) / up, abs(initial - low) / (steps - 2 * up)]
    else:
        slopes = [abs(s["peak"] - initial) / up, abs(s["peak"] - low) / (steps - up)]
    return max(slopes) * (math.pi / 2 if s["anneal"] == "cos" else 1.0) * dt


@oracle(
    defaults={"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "anneal": "cos", "three_phase": False},
    catalogue=[dict(peak=1.0, steps=100.0), dict(peak=0.1, steps=1000.0, pct_start=0.25, anneal="linear"),
               dict(peak=1.0, steps=100.0, three_phase=True),
               dict(peak=2.0, steps=37.5, pct_start=0.4, div_factor=4.0, final_div_factor=2.0, anneal="linear",
                    three_phase=True)],
    strategy=_one_cycle,
    extreme=_one_cycle_extreme,
    bounds=_bounds_one_cycle,
    landmarks=_landmarks_one_cycle,
    modulus=_modulus_one_cycle,
    horizon=lambda s: s["steps"],
    held=_one_cycle_ends,
)
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


@st.composite
def _cyclic(draw: st.DrawFn) -> Spec:
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    base, peak = draw(_value()), draw(_value())
    # A growing exp_range envelope over a wave below base (peak < base) goes negative: the constructor
    # refuses it; test_core_bad_inputs.test_cyclic_exp_range_cannot_produce_a_negative_rate covers it.
    gamma = draw(st.one_of(st.just(1.0), _num(0.9, 1.0), _num(1.0, 1.01))) if mode == "exp_range" else 1.0
    if gamma > 1.0 and peak < base:
        base, peak = peak, base
    return {"kind": "cyclic", "base": base, "peak": peak, "step_up": draw(_length(0.5, 500.0)),
            "step_down": draw(st.one_of(st.none(), st.just(0.0), _length(0.5, 500.0))), "mode": mode,
            "gamma": gamma}


@st.composite
def _cyclic_extreme(draw: st.DrawFn) -> Spec:
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    return {"kind": "cyclic", "base": draw(extreme_values()), "peak": draw(extreme_values()),
            "step_up": draw(extreme_lengths()),
            "step_down": draw(st.one_of(st.none(), st.just(0.0), extreme_lengths())), "mode": mode,
            "gamma": draw(extreme_gammas(TINY)) if mode == "exp_range" else 1.0}


def _bounds_cyclic(s: Spec, t_max: float) -> tuple[float, float]:
    base, peak = s["base"], s["peak"]
    f = _scaled_power(1.0, s["gamma"], t_max) if s["mode"] == "exp_range" and s["gamma"] > 1.0 else 1.0
    far = base + (peak - base) * f
    return min(base, peak, far), max(base, peak, far)


def _landmarks_cyclic(s: Spec) -> list[Fraction]:
    up = _x(s, "step_up")
    total = up + (up if s["step_down"] is None else _x(s, "step_down"))
    return [up, total, total + up, 2 * total]


def _modulus_cyclic(s: Spec, t: float, dt: float) -> float | None:
    up = s["step_up"]
    down = up if s["step_down"] is None else s["step_down"]
    amplitude = abs(s["peak"] - s["base"])
    if down == 0.0:
        return None if amplitude else 0.0  # a sawtooth drops back at once
    if s["mode"] != "exp_range":
        return amplitude / min(up, down) * dt
    envelope = s["gamma"] ** (t + dt if s["gamma"] > 1.0 else t)
    return amplitude * envelope * (1.0 / min(up, down) + abs(math.log(s["gamma"]))) * dt


@oracle(
    defaults={"step_down": None, "mode": "triangular", "gamma": 1.0},
    catalogue=[dict(base=0.1, peak=1.0, step_up=4.0),
               dict(base=0.1, peak=1.0, step_up=3.0, step_down=5.0, mode="triangular2"),
               dict(base=0.0, peak=1.0, step_up=2.5, mode="exp_range", gamma=0.99),
               dict(base=1.0, peak=0.2, step_up=1.5, step_down=0.5)],
    strategy=_cyclic,
    extreme=_cyclic_extreme,
    bounds=_bounds_cyclic,
    landmarks=_landmarks_cyclic,
    modulus=_modulus_cyclic,
    horizon=lambda s: None,
    unbounded=_always(PERIODIC),
)
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


@st.composite
def _piecewise_constant(draw: st.DrawFn) -> Spec:
    bs = draw(_increasing(0.0, 3_000.0, 0, 5))
    values = draw(st.lists(_value(), min_size=len(bs) + 1, max_size=len(bs) + 1))
    return {"kind": "piecewise_constant", "boundaries": bs, "values": values}


@st.composite
def _piecewise_constant_extreme(draw: st.DrawFn) -> Spec:
    bs = draw(extreme_increasing(0, 6))
    values = draw(st.lists(extreme_values(), min_size=len(bs) + 1, max_size=len(bs) + 1))
    return {"kind": "piecewise_constant", "boundaries": bs, "values": values}


@oracle(
    defaults={},
    catalogue=[dict(boundaries=[3.0, 6.0], values=[1.0, 0.1, 0.01]), dict(boundaries=[], values=[0.5]),
               dict(boundaries=[0.5, 2.25], values=[0.0, 1.0, 0.3])],
    strategy=_piecewise_constant,
    extreme=_piecewise_constant_extreme,
    bounds=lambda s, t_max: (min(s["values"]), max(s["values"])),
    landmarks=lambda s: [Fraction(b) for b in s["boundaries"]],
    modulus=lambda s, t, dt: 0.0 if len(set(s["values"])) == 1 else None,
    horizon=lambda s: s["boundaries"][-1] if s["boundaries"] else 0.0,
)
def ref_piecewise_constant(t: float, boundaries: Sequence[float], values: Sequence[float]) -> float:
    """values[i] on [boundaries[i-1], boundaries[i])."""
    return values[bisect_right(list(boundaries), t)]


@st.composite
def _interpolate(draw: st.DrawFn) -> Spec:
    ts = [0.0, *draw(_increasing(0.0, 3_000.0, 0, 5))]
    vs = draw(st.lists(_value(), min_size=len(ts), max_size=len(ts)))
    if draw(st.booleans()):
        vs = sorted(vs, reverse=draw(st.booleans()))  # monotone sequences make monotone schedules
    return {"kind": "interpolate", "points": [[a, b] for a, b in zip(ts, vs, strict=True)],
            "shape": draw(st.sampled_from(["linear", "cosine"]))}


def _modulus_interpolate(s: Spec, t: float, dt: float) -> float | None:
    pts = s["points"]
    slopes = [abs(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(pts, pts[1:], strict=False)]
    return max(slopes, default=0.0) * (math.pi / 2 if s["shape"] == "cosine" else 1.0) * dt


@oracle(
    defaults={"shape": "linear"},
    catalogue=[dict(points=[[0.0, 0.0], [10.0, 1.0], [30.0, 0.1]]),
               dict(points=[[0.0, 0.1], [2.5, 0.3], [7.0, 0.3], [9.0, 0.0]], shape="cosine"),
               dict(points=[[0.0, 0.7]])],
    strategy=_interpolate,
    bounds=lambda s, t_max: (min(p[1] for p in s["points"]), max(p[1] for p in s["points"])),
    landmarks=lambda s: [Fraction(p[0]) for p in s["points"][1:]],
    modulus=_modulus_interpolate,
    horizon=lambda s: s["points"][-1][0],
)
def ref_interpolate(t: float, points: Sequence[Sequence[float]], shape: str) -> float:
    """Through the (t_i, v_i) points (t_0 = 0); linear or half-cosine between neighbours; holds the last."""
    ts = [p[0] for p in points]
    vs = [p[1] for p in points]
    if t >= ts[-1]:
        return vs[-1]
    i = bisect_right(ts, t) - 1
    frac = (Fraction(t) - Fraction(ts[i])) / (Fraction(ts[i + 1]) - Fraction(ts[i]))
    return _mix(vs[i], vs[i + 1], _ease(shape, frac))


def _modulus_inverse_sqrt(s: Spec, t: float, dt: float) -> float | None:
    timescale = s["timescale"] or (s["warmup"] if s["warmup"] > 0.0 else 10_000.0)
    slopes = [s["peak"] / (2.0 * timescale)] + ([s["peak"] / s["warmup"]] if s["warmup"] > 0.0 else [])
    return max(slopes) * dt


@oracle(
    defaults={"timescale": None},
    catalogue=[dict(peak=1.0, warmup=10.0), dict(peak=0.1, warmup=0.0), dict(peak=1.0, warmup=4.0, timescale=100.0)],
    strategy={"timescale": st.one_of(st.none(), _length(0.5, 20_000.0))},
    bounds=lambda s, t_max: (0.0, s["peak"]),
    landmarks=lambda s: [_x(s, "warmup")],
    modulus=_modulus_inverse_sqrt,
    horizon=lambda s: None,
    unbounded=_always(ENDLESS),
)
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
def _wsd_extreme(draw: st.DrawFn) -> Spec:
    steps = draw(extreme_lengths())
    warmup = draw(st.floats(0.0, steps))
    decay = draw(st.floats(0.0, steps - warmup))
    shapes = st.sampled_from(["linear", "cosine", "sqrt"])
    return {"kind": "wsd", "peak": draw(extreme_values()), "steps": steps, "warmup": warmup, "decay": decay,
            "final": draw(extreme_values()), "start": draw(extreme_values()), "warmup_shape": draw(shapes),
            "decay_shape": draw(shapes)}


def _bounds_wsd(s: Spec, t_max: float) -> tuple[float, float]:
    ends = (s["start"], s["peak"], s["final"]) if s["warmup"] > 0.0 else (s["peak"], s["final"])
    return min(ends), max(ends)


def _modulus_wsd(s: Spec, t: float, dt: float) -> float | None:
    if s["decay"] == 0.0 and s["peak"] != s["final"]:
        return None
    total = 0.0
    for length, rise, shape in ((s["warmup"], abs(s["peak"] - s["start"]), s["warmup_shape"]),
                                (s["decay"], abs(s["peak"] - s["final"]), s["decay_shape"])):
        if length > 0.0:
            x = min(dt / length, 1.0)
            total += rise * (math.sqrt(x) if shape == "sqrt" else (math.pi / 2 if shape == "cosine" else 1.0) * x)
    return total


@oracle(
    defaults={"final": 0.0, "start": 0.0, "warmup_shape": "linear", "decay_shape": "linear"},
    catalogue=[dict(peak=1.0, steps=100.0, warmup=10.0, decay=20.0),
               dict(peak=1.0, steps=100.0, warmup=10.0, decay=20.0, final=0.1, start=0.01, warmup_shape="cosine",
                    decay_shape="sqrt"),
               dict(peak=0.5, steps=10.0, warmup=0.0, decay=10.0, decay_shape="cosine"),
               dict(peak=0.5, steps=10.0, warmup=2.5, decay=0.0, warmup_shape="sqrt")],
    strategy=_wsd,
    extreme=_wsd_extreme,
    bounds=_bounds_wsd,
    landmarks=lambda s: [_x(s, "steps"), _x(s, "warmup"), _x(s, "steps") - _x(s, "decay")],
    modulus=_modulus_wsd,
    horizon=lambda s: s["steps"],
)
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


@st.composite
def _tanh_decay(draw: st.DrawFn) -> Spec:
    lower = draw(st.one_of(st.just(-7.0), _num(-10.0, 5.0)))
    upper = 3.0 if lower < 3.0 and draw(st.booleans()) else draw(_num(lower + 0.01, lower + 15.0))
    return {"kind": "tanh_decay", "init": draw(_value()), "steps": draw(_length()), "final": draw(_value()),
            "lower": lower, "upper": upper}


@st.composite
def _tanh_decay_extreme(draw: st.DrawFn) -> Spec:
    lower = draw(st.floats(-1e308, 1e308, exclude_max=True))  # room for an upper above it
    return {"kind": "tanh_decay", "init": draw(extreme_values()), "steps": draw(extreme_lengths()),
            "final": draw(extreme_values()), "lower": lower, "upper": draw(st.floats(lower, 1e308, exclude_min=True))}


@oracle(
    defaults={"final": 0.0, "lower": -7.0, "upper": 3.0},
    catalogue=[dict(init=1.0, steps=100.0), dict(init=1.0, steps=10.0, final=0.1, lower=-3.0, upper=5.0)],
    strategy=_tanh_decay,
    extreme=_tanh_decay_extreme,
    bounds=_between("init", "final"),
    landmarks=lambda s: [_x(s, "steps")],
    horizon=lambda s: s["steps"],
)
def ref_tanh_decay(t: float, init: float, steps: float, final: float, lower: float, upper: float) -> float:
    """final + (init - final) / 2 * (1 - tanh(lower + (upper - lower) * t / steps)) for t < steps, then final."""
    if t >= steps:
        return final
    x = lower + (upper - lower) * _ratio(t, steps)
    # 1 - tanh(x) = 2 / (1 + exp(2x)): no cancellation when tanh(x) is close to 1.
    return final + (init - final) / 2.0 * (2.0 / (1.0 + math.exp(min(2.0 * x, 700.0))))


@st.composite
def _range_test(draw: st.DrawFn) -> Spec:
    start = draw(st.one_of(st.sampled_from([1e-7, 1e-5, 3e-4, 0.1]), st.floats(-9.0, 1.0).map(lambda e: 10.0**e)))
    ends = [e for e in (1.0, 10.0) if e > start]
    growth = st.floats(0.0, 12.0).map(lambda e: start * 10.0**e)
    end = draw(st.one_of(growth, *([st.sampled_from(ends)] if ends else [])))
    steps = draw(st.one_of(st.integers(2, 20), st.integers(21, 3_000)))
    shape = draw(st.sampled_from(["exponential", "linear"]))
    if shape == "linear" and draw(st.booleans()):  # a linear range may start at 0
        return {"kind": "range_test", "start": 0.0, "end": end, "steps": steps, "shape": shape}
    # the narrowest range the record allows: consecutive lrs at least 2**-36 apart (relative)
    rise = 2.0**-36 * (steps - 1) * 1.001  # a little above: end / start rounds by 2**-53
    narrowest = start * math.exp(rise) if shape == "exponential" else start / (1.0 - rise)
    end = max(end, math.nextafter(narrowest, math.inf))
    return {"kind": "range_test", "start": start, "end": end, "steps": steps, "shape": shape}


@st.composite
def _range_test_extreme(draw: st.DrawFn) -> Spec:
    start = draw(st.floats(SUB, 1e308))
    return {"kind": "range_test", "start": start, "end": draw(st.floats(start, 1e308, exclude_min=True)),
            "steps": draw(st.integers(2, 2**62)), "shape": draw(st.sampled_from(["exponential", "linear"]))}


def _modulus_range_test(s: Spec, t: float, dt: float) -> float | None:
    span = s["steps"] - 1
    if s["shape"] == "linear":
        return (s["end"] - s["start"]) / span * dt
    # The slope of start * (end / start) ** (t / span) is its value times this rate.
    return _growth_modulus(math.log(s["end"] / s["start"]) / span, s, t, dt)


@oracle(
    defaults={"start": 1e-7, "end": 10.0, "steps": 100, "shape": "exponential"},
    catalogue=[{}, dict(start=1e-4, end=1.0, steps=5),
               # start * (end / start) rounds below end here: the last step must still be end.
               dict(start=1e-5, end=1.0, steps=7),
               dict(start=0.01, end=0.5, steps=11, shape="linear"),
               dict(start=0.0, end=1.0, steps=5, shape="linear")],
    strategy=_range_test,
    extreme=_range_test_extreme,
    bounds=_between("start", "end"),
    landmarks=lambda s: [Fraction(s["steps"] - 1)],
    modulus=_modulus_range_test,
    horizon=lambda s: float(s["steps"] - 1),
)
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


GROWTH_SHAPES = ("linear", "log", "saturating")


@st.composite
def _growth(draw: st.DrawFn) -> Spec:
    start = draw(_value())
    rate = draw(st.one_of(st.just(0.0), st.sampled_from([0.1, 1.0, -0.5]), _num(-2.0, 2.0)))
    end = None
    if rate < 0.0:
        end = draw(_num(0.0, start))  # a floor, which a falling growth needs
    elif draw(st.booleans()):
        end = draw(_num(start, start * 10 + 1))  # a ceiling
    return {"kind": "growth", "start": start, "rate": rate, "every": draw(_length(0.5, 200.0)),
            "shape": draw(st.sampled_from(GROWTH_SHAPES)), "staircase": draw(st.booleans()), "end": end}


def _growth_crossing(s: Spec) -> float | None:
    """The u = t / every at which the value meets `end` (None: it never does, or has no end)."""
    if s["end"] is None or s["rate"] == 0.0:
        return None
    x = (s["end"] - s["start"]) / s["rate"]  # the h(u) at which start + rate * h(u) = end
    if s["shape"] == "log":
        return math.expm1(x) if x < 709.0 else math.inf
    if s["shape"] == "saturating":
        return -math.log1p(-x) if x < 1.0 else None
    return x


def _landmarks_growth(s: Spec) -> list[Fraction]:
    out = _staircase(s)
    u = _growth_crossing(s)
    if u is not None and 0.0 < s["every"] * u < math.inf:
        out.append(Fraction(s["every"] * (math.ceil(u) if s["staircase"] else u)))
    return out


def _expected_growth(s: Spec) -> float | None:
    """Where the value meets `end`, or where a "saturating" one stops moving (1 - exp(-u) rounds to 1
    by u = 37.5): the smallest float with the final value; None for a growth without end."""
    if s["rate"] == 0.0 or s["end"] == s["start"]:
        return 0.0
    u = _growth_crossing(s)
    if u is None and s["shape"] != "saturating":
        return None
    later = s["every"] * (math.ceil(38.0 if u is None else u) + 1.0) * 2.0
    return _settles(build(s), later) if math.isfinite(later) else None


@oracle(
    defaults={"every": 1.0, "shape": "linear", "staircase": False, "end": None},
    catalogue=[dict(start=0.1, rate=0.1, every=10.0), dict(start=0.0, rate=0.2, every=10.0, staircase=True, end=0.5),
               dict(start=1e-3, rate=1.0, every=100.0, shape="log"),
               dict(start=0.0, rate=1.0, every=50.0, shape="saturating"),
               dict(start=1.0, rate=-0.5, every=4.0, end=0.2),
               dict(start=0.0, rate=2.0, every=3.0, shape="saturating", end=1.5)],
    strategy=_growth,
    bounds=lambda s, t_max: (min(s["start"], build(s)(t_max)), max(s["start"], build(s)(t_max))),
    landmarks=_landmarks_growth,
    modulus=lambda s, t, dt: None if s["staircase"] else abs(s["rate"]) / s["every"] * dt,  # |h'| <= 1
    horizon=_expected_growth,
    unbounded=lambda s: ENDLESS if s["rate"] != 0.0 else None,
)
def ref_growth(
    t: float, start: float, rate: float, every: float, shape: str, staircase: bool, end: float | None
) -> float:
    """start + rate * h(u), u = t / every (floored if staircase); h(u) = u (linear), log(1 + u) (log) or
    1 - exp(-u) (saturating); end a ceiling when rate > 0, a floor when rate < 0."""
    exact = Fraction(t) / Fraction(every)
    u = _to_float(math.floor(exact)) if staircase else _to_float(exact)
    if shape == "log":
        h = math.log1p(u)
    elif shape == "saturating":
        h = -math.expm1(-u)
    else:
        h = u
    if rate == 0.0 or h == 0.0:
        return start
    v = start + rate * h
    if end is None:
        return v
    return min(v, end) if rate > 0.0 else max(v, end)


@oracle(defaults={})
def ref_custom(t: float, fn: Callable[[float], float]) -> float:
    """fn(t): the user's own function (not serialisable, so it has no dict specs)."""
    return float(fn(float(t)))


# ---------------------------------------------------------------------------
# Combinators (their schedules are reference callables)

Children = st.SearchStrategy[Spec]


@st.composite
def _join(draw: st.DrawFn, children: Children) -> Spec:
    bs = draw(_increasing(0.0, 2_000.0, 1, 3))
    return {"kind": "join", "schedules": [draw(children) for _ in range(len(bs) + 1)], "boundaries": bs}


@st.composite
def _join_extreme(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> Spec:
    return {"kind": "join", "schedules": [draw(children), draw(children)], "boundaries": [draw(extreme_lengths())]}


def _bounds_join(s: Spec, t_max: float) -> tuple[float, float]:
    parts = [bounds(child, t_max) for child in s["schedules"]]
    return min(p[0] for p in parts), max(p[1] for p in parts)


def _landmarks_join(s: Spec) -> list[Fraction]:
    out = [Fraction(b) for b in s["boundaries"]]
    for b, child in zip([0.0, *s["boundaries"]], s["schedules"], strict=True):
        out += [Fraction(b) + y for y in landmarks(child)]
    return out


def _expected_join(s: Spec) -> float | None:
    last = horizon(s["schedules"][-1])
    return None if last is None else (s["boundaries"] or [0.0])[-1] + last


@oracle(
    defaults={},
    catalogue=[dict(schedules=[spec("linear", start=0.0, end=1.0, steps=10.0), COS], boundaries=[10.0]),
               dict(schedules=[spec("constant", value=0.1), spec("constant", value=0.2), COS],
                    boundaries=[2.5, 7.0])],
    strategy=_join,
    extreme=_join_extreme,
    bounds=_bounds_join,
    landmarks=_landmarks_join,
    horizon=_expected_join,
)
def ref_join(t: float, schedules: Sequence[Ref], boundaries: Sequence[float]) -> float:
    """schedules[i](t - boundaries[i-1]) on [boundaries[i-1], boundaries[i]); schedules[0](t) before the first."""
    i = bisect_right(list(boundaries), t)
    return schedules[i](t if i == 0 else Fraction(t) - Fraction(boundaries[i - 1]))


@st.composite
def _warmup(draw: st.DrawFn, children: Children) -> Spec:
    child = draw(children)
    shape = draw(st.sampled_from(["linear", "cosine", "exponential"]))
    start = draw(_value())
    if shape == "exponential" and (start == 0.0 or build(child)(0.0) == 0.0):
        shape = "linear"
    return {"kind": "warmup", "schedule": child, "steps": draw(_length(0.5, 1_000.0)), "start": start,
            "shape": shape}


def _bounds_warmup(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    return min(lo, s["start"]), max(hi, s["start"])


def _modulus_warmup(s: Spec, t: float, dt: float) -> float | None:
    """The ramp's slope bound while t is in the ramp, plus the child's modulus once t + dt is past it."""
    steps, start = s["steps"], s["start"]
    inner = modulus(s["schedule"], max(t - steps, 0.0), dt)
    if inner is None:
        return None  # the child may jump
    total = inner if t + dt > steps else 0.0
    if t < steps:
        target = build(s["schedule"])(0.0)
        if s["shape"] == "exponential":
            total += abs(math.log(target) - math.log(start)) / steps * dt * max(start, target)
        else:
            total += abs(target - start) / steps * (math.pi / 2 if s["shape"] == "cosine" else 1.0) * dt
    return total


def _expected_warmup(s: Spec) -> float | None:
    inner = horizon(s["schedule"])
    return None if inner is None else s["steps"] + inner


@oracle(
    defaults={"start": 0.0, "shape": "linear"},
    catalogue=[dict(schedule=COS, steps=10.0), dict(schedule=COS, steps=5.5, start=0.01, shape="cosine"),
               dict(schedule=COS, steps=8.0, start=0.001, shape="exponential")],
    strategy=_warmup,
    bounds=_bounds_warmup,
    landmarks=lambda s: [_x(s, "steps"), *(_x(s, "steps") + y for y in landmarks(s["schedule"]))],
    modulus=_modulus_warmup,
    horizon=_expected_warmup,
)
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


def _bounds_scale(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    return lo * s["factor"], hi * s["factor"]


def _modulus_scale(s: Spec, t: float, dt: float) -> float | None:
    inner = modulus(s["schedule"], t, dt)
    return None if inner is None else _times(s["factor"], inner)


@oracle(
    defaults={},
    catalogue=[dict(schedule=COS, factor=0.5)],
    strategy={"factor": _num(0.0, 4.0)},
    extreme={"factor": st.one_of(st.floats(0.0, 2.0), st.sampled_from([0.0, 1e-300, 1e300]))},
    bounds=_bounds_scale,
    landmarks=lambda s: landmarks(s["schedule"]),
    modulus=_modulus_scale,
    horizon=lambda s: horizon(s["schedule"]),
    exact_at_landmarks=False,
)
def ref_scale(t: float, schedule: Ref, factor: float) -> float:
    return factor * schedule(t)


def _bounds_product(s: Spec, t_max: float) -> tuple[float, float]:
    (a, b), (c, d) = bounds(s["first"], t_max), bounds(s["second"], t_max)
    return a * c, b * d


def _modulus_product(s: Spec, t: float, dt: float) -> float | None:
    a, b = modulus(s["first"], t, dt), modulus(s["second"], t, dt)
    if a is None or b is None:
        return None
    top_a, top_b = bounds(s["first"], t + dt)[1], bounds(s["second"], t + dt)[1]
    return _times(top_a, b) + _times(top_b, a)


def _expected_binary(s: Spec) -> float | None:
    a, b = horizon(s["first"]), horizon(s["second"])
    return None if a is None or b is None else max(a, b)


@oracle(
    defaults={},
    catalogue=[dict(first=COS, second=spec("step", init=1.0, step_size=7.0, gamma=0.5)),
               dict(first=spec("constant", value=0.5), second=COS)],
    bounds=_bounds_product,
    landmarks=lambda s: landmarks(s["first"]) + landmarks(s["second"]),
    modulus=_modulus_product,
    horizon=_expected_binary,
    exact_at_landmarks=False,
)
def ref_product(t: float, first: Ref, second: Ref) -> float:
    return first(t) * second(t)


def _bounds_add(s: Spec, t_max: float) -> tuple[float, float]:
    (a, b), (c, d) = bounds(s["first"], t_max), bounds(s["second"], t_max)
    return a + c, b + d


def _modulus_add(s: Spec, t: float, dt: float) -> float | None:
    a, b = modulus(s["first"], t, dt), modulus(s["second"], t, dt)
    return None if a is None or b is None else a + b


@oracle(
    defaults={},
    catalogue=[dict(first=COS, second=spec("constant", value=0.01)),
               dict(first=COS, second=spec("cyclic", base=0.0, peak=0.1, step_up=5.0))],
    bounds=_bounds_add,
    landmarks=lambda s: landmarks(s["first"]) + landmarks(s["second"]),
    modulus=_modulus_add,
    horizon=_expected_binary,
    exact_at_landmarks=False,
)
def ref_add(t: float, first: Ref, second: Ref) -> float:
    return first(t) + second(t)


@st.composite
def _clip(draw: st.DrawFn, children: Children) -> Spec:
    lo = draw(st.one_of(st.just(0.0), _num(0.0, 2.0)))
    hi = draw(st.one_of(st.none(), _num(lo, lo + 5.0)))
    return {"kind": "clip", "schedule": draw(children), "lo": lo, "hi": hi}


@st.composite
def _clip_extreme(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> Spec:
    lo = draw(extreme_values())
    return {"kind": "clip", "schedule": draw(children), "lo": lo, "hi": draw(st.one_of(st.none(), st.floats(lo, MAX)))}


def _bounds_clip(s: Spec, t_max: float) -> tuple[float, float]:
    lo, hi = bounds(s["schedule"], t_max)
    top = math.inf if s["hi"] is None else s["hi"]
    return min(max(lo, s["lo"]), top), min(max(hi, s["lo"]), top)


@oracle(
    defaults={"lo": 0.0, "hi": None},
    catalogue=[dict(schedule=spec("linear", start=0.0, end=1.0, steps=10.0), lo=0.2, hi=0.7)],
    strategy=_clip,
    extreme=_clip_extreme,
    bounds=_bounds_clip,
    landmarks=lambda s: landmarks(s["schedule"]),
    modulus=lambda s, t, dt: modulus(s["schedule"], t, dt),
    horizon=lambda s: horizon(s["schedule"]),
)
def ref_clip(t: float, schedule: Ref, lo: float, hi: float | None) -> float:
    """min(max(schedule(t), lo), hi); hi None is no upper bound."""
    v = max(schedule(t), lo)
    return v if hi is None else min(v, hi)


def _expected_shift(s: Spec) -> float | None:
    inner = horizon(s["schedule"])
    return None if inner is None else max(0.0, inner - s["steps"])


@oracle(
    defaults={},
    catalogue=[dict(schedule=COS, steps=30.0), dict(schedule=COS, steps=2.5)],
    bounds=lambda s, t_max: bounds(s["schedule"], t_max + s["steps"]),
    landmarks=lambda s: [y - _x(s, "steps") for y in landmarks(s["schedule"]) if y > _x(s, "steps")],
    modulus=lambda s, t, dt: modulus(s["schedule"], t + s["steps"], dt),
    horizon=_expected_shift,
    exact_at_landmarks=False,
)
def ref_shift(t: float, schedule: Ref, steps: float) -> float:
    """schedule(t + steps)."""
    return schedule(Fraction(t) + Fraction(steps))


def _expected_stretch(s: Spec) -> float | None:
    inner = horizon(s["schedule"])
    return None if inner is None else inner * s["factor"]


@oracle(
    defaults={},
    catalogue=[dict(schedule=COS, factor=2.0),
               dict(schedule=spec("cyclic", base=0.1, peak=1.0, step_up=3.0, mode="exp_range", gamma=0.99),
                    factor=0.5),
               dict(schedule=spec("step", init=1.0, step_size=3.0, gamma=0.5), factor=1.5)],
    bounds=lambda s, t_max: bounds(s["schedule"], t_max / s["factor"]),
    landmarks=lambda s: [y * _x(s, "factor") for y in landmarks(s["schedule"])],
    modulus=lambda s, t, dt: modulus(s["schedule"], t / s["factor"], dt / s["factor"]),
    horizon=_expected_stretch,
    exact_at_landmarks=False,
)
def ref_stretch(t: float, schedule: Ref, factor: float) -> float:
    """schedule(t / factor): the schedule run factor times slower."""
    return schedule(Fraction(t) / Fraction(factor))


def _untuned_period(s: Spec) -> float:
    """pytorch_warmup's period, computed as it computes it: int(2 / (1 - beta2)) for the linear
    warmup, int(1 / (1 - beta2)) for the exponential one."""
    return float(int((2.0 if s["shape"] == "linear" else 1.0) / (1.0 - s["beta2"])))


def _modulus_untuned_warmup(s: Spec, t: float, dt: float) -> float | None:
    """|d(child * omega)| <= max |child| * |d omega| + |d child|, with |omega'| <= 1 / period and omega <= 1."""
    inner = modulus(s["schedule"], t, dt)
    if inner is None:
        return None
    return _times(bounds(s["schedule"], t + dt)[1], dt / _untuned_period(s)) + inner


def _expected_untuned_warmup(s: Spec) -> float | None:
    inner = horizon(s["schedule"])
    if inner is None:
        return None
    period = _untuned_period(s)
    if s["shape"] == "linear":
        return max(inner, period - 1.0)
    omega: Ref = lambda t: -math.expm1(-_to_float((Fraction(t) + 1) / Fraction(period)))  # noqa: E731
    return max(inner, _settles(omega, period * 80.0))


@oracle(
    defaults={"beta2": 0.999, "shape": "linear"},
    catalogue=[dict(schedule=spec("constant", value=1.0)), dict(schedule=COS, beta2=0.99, shape="exponential"),
               dict(schedule=COS, beta2=0.9)],
    strategy={"beta2": st.one_of(st.sampled_from([0.999, 0.99, 0.9, 0.0]), _num(0.0, 0.9999))},
    bounds=lambda s, t_max: (0.0, bounds(s["schedule"], t_max)[1]),
    landmarks=lambda s: [*landmarks(s["schedule"]),
                         *([Fraction(_untuned_period(s)) - 1] if s["shape"] == "linear" else [])],
    modulus=_modulus_untuned_warmup,
    horizon=_expected_untuned_warmup,
    exact_at_landmarks=False,
)
def ref_untuned_warmup(t: float, schedule: Ref, beta2: float, shape: str) -> float:
    """schedule(t) * omega(t): pytorch_warmup's untuned warmups, omega = min(1, (t + 1) / period) (linear) or
    1 - exp(-(t + 1) / period) (exponential), period as pytorch_warmup computes it."""
    u = (Fraction(t) + 1) / Fraction(_untuned_period({"beta2": beta2, "shape": shape}))
    omega = min(1.0, _to_float(u)) if shape == "linear" else -math.expm1(-_to_float(u))
    return schedule(t) * omega


# ---------------------------------------------------------------------------
# A spec's reference and what the records say about it


def _saturate(v: float) -> float:
    """Values past the largest float are the largest float (no schedule returns inf)."""
    return min(v, BIG)


def build(spec: Spec) -> Ref:
    """The reference callable t -> value of a ``to_dict()``-shaped spec (every parameter present).

    Every node's value saturates at the largest float, so that a growing kind under a
    product or a sum stays finite (0 times a saturated value is 0, not nan).
    """
    record = ORACLES[spec["kind"]]
    params = {k: v for k, v in spec.items() if k != "kind"}
    for name in record.children:
        value = params[name]
        params[name] = [build(s) for s in value] if isinstance(value, list) else build(value)
    fn = record.fn
    return lambda t: _saturate(fn(_time(t), **params))


def _time(t: Any) -> float | Fraction:
    return t if isinstance(t, Fraction) else float(t)


def _piece(spec: Spec, name: str) -> Callable[..., Any]:
    piece = getattr(ORACLES[spec["kind"]], name)
    if piece is None:
        raise LookupError(f"{spec['kind']}: the oracle record has no {name!r}")
    return piece


def bounds(spec: Spec, t_max: float) -> tuple[float, float]:
    """(lo, hi) with lo <= value(t) <= hi for every t in [0, t_max]."""
    return _piece(spec, "bounds")(spec, t_max)


def landmarks(spec: Spec) -> list[Fraction]:
    """The exact times where the spec's formula switches branch (phase ends, milestones, cycle starts)."""
    return sorted({y for y in _piece(spec, "landmarks")(spec) if 0 < y < 10**15})


def modulus(spec: Spec, t: float, dt: float) -> float | None:
    """A bound on |value(t + dt) - value(t)| from the formula, or None where the spec may jump."""
    piece = ORACLES[spec["kind"]].modulus
    return None if piece is None else piece(spec, t, dt)


def horizon(spec: Spec) -> float | None:
    """The contract's horizon of a (non-degenerate) spec: where it reaches its end value, or None."""
    return _piece(spec, "horizon")(spec)


def unbounded(spec: Spec) -> str | None:
    """Why the contract lets the spec's horizon be None (PERIODIC or ENDLESS), or None when it may not;
    a combinator without a rule of its own may have none where one of its children may."""
    record = ORACLES[spec["kind"]]
    if record.unbounded is not None:
        return record.unbounded(spec)
    return ENDLESS if any(unbounded(c) for c in children_of(spec)) else None


def held(spec: Any) -> set[float]:
    """The numbers a spec holds, with the values its records say it holds exactly (one-cycle ends)."""
    if isinstance(spec, float):
        return {spec}
    if isinstance(spec, dict):
        out = set().union(*(held(v) for v in spec.values()))
        extra = ORACLES[spec["kind"]].held
        return out | set(extra(spec)) if extra is not None else out
    if isinstance(spec, list):
        return set().union(set(), *(held(v) for v in spec))
    return set()


def time_slack(spec: Spec, t: float) -> Fraction | None:
    """How far from t the spec's own rounding may put a float evaluation (None: not at all)."""
    piece = ORACLES[spec["kind"]].time_slack
    return None if piece is None else piece(spec, t)


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


def near_landmark(spec: Spec, t: float, ulps: int = 8) -> Fraction | None:
    """The landmark within `ulps` float steps of t, if any."""
    near = ORACLES[spec["kind"]].near
    for b in [*landmarks(spec), *(near(spec, t) if near is not None else [])]:
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
