"""Schedules as values: serialisation, safe parsing, hashing, pickling, horizon, the tools
(summary, iterate), the array interface (dtype, start, chunks) and custom schedules."""

from __future__ import annotations

import copy
import json
import math
import pickle
from typing import Any

import numba
import numpy as np
import pytest
import reference as R
import test_core_records as records

import lrcore as lr

CATALOGUE = records.catalogue_cases()
COS = lr.cosine(init=1.0, steps=100, final=0.1)
WARM = lr.warmup(lr.cosine(init=3e-4, steps=9_000, final=3e-5), steps=1_000)


# ---------------------------------------------------------------------------
# Serialisation


@pytest.mark.parametrize("spec", CATALOGUE)
def test_dict_json_and_repr_round_trip(spec: R.Spec) -> None:
    s = lr.from_dict(spec)
    d = s.to_dict()
    assert d == spec and d["kind"] == s.kind
    text = json.dumps(d, allow_nan=False)  # strict JSON: no NaN or Infinity
    assert lr.from_dict(json.loads(text)) == s
    assert lr.from_json(s.to_json()) == s
    assert lr.from_json(s.to_json().encode()) == s
    assert json.loads(s.to_json(indent=2)) == d
    assert lr.parse(repr(s)) == s
    assert repr(lr.parse(repr(s))) == repr(s)


def test_repr_is_a_call_expression_with_only_non_default_arguments() -> None:
    assert repr(lr.cosine(init=1.0, steps=10)) == "cosine(init=1, steps=10)"
    assert repr(lr.cosine(init=0.5, steps=10.5, final=0.1)) == "cosine(init=0.5, steps=10.5, final=0.1)"
    assert repr(WARM) == "warmup(cosine(init=0.0003, steps=9000, final=3e-05), steps=1000)"


@pytest.mark.parametrize(
    "build",
    [
        lambda: COS * 0.5,
        lambda: 0.5 * COS,
        lambda: COS + 0.1,
        lambda: 0.1 + COS,
        lambda: COS * lr.step(init=1.0, step_size=10),
        lambda: COS + lr.cyclic(base=0.0, peak=0.1, step_up=5),
        lambda: (WARM * 2 + 1e-5) * lr.constant(value=0.5),
        lambda: lr.join([COS, WARM, lr.constant(value=0.0)], boundaries=[10, 12.5]),
        lambda: lr.clip(lr.shift(COS * 3, steps=7), lo=0.1, hi=2.0),
    ],
    ids=["scale", "rscale", "add", "radd", "product", "sum", "nested", "join", "clip-shift"],
)
def test_operators_build_values_that_round_trip(build: Any) -> None:
    s = build()
    assert lr.parse(repr(s)) == s
    assert lr.from_json(s.to_json()) == s
    t = np.linspace(0.0, 200.0, 57)
    np.testing.assert_array_equal(lr.parse(repr(s))(t), s(t))


def test_operators_mean_what_they_say() -> None:
    t = np.arange(0.0, 150.0, 0.5)
    other = lr.step(init=1.0, step_size=10)
    np.testing.assert_allclose((COS * 0.5)(t), 0.5 * COS(t), rtol=1e-15)
    np.testing.assert_allclose((0.5 * COS)(t), 0.5 * COS(t), rtol=1e-15)
    np.testing.assert_allclose((COS + 0.1)(t), COS(t) + 0.1, rtol=1e-15)
    np.testing.assert_allclose((COS * other)(t), COS(t) * other(t), rtol=1e-15)
    np.testing.assert_allclose((COS + other)(t), COS(t) + other(t), rtol=1e-15)
    with pytest.raises(TypeError):
        _ = COS * "2"
    with pytest.raises(TypeError):
        _ = COS + None
    with pytest.raises(TypeError):
        _ = COS * True


def test_to_dict_of_a_custom_schedule_raises_a_clear_type_error() -> None:
    s = lr.custom(lambda t: 0.1)
    for call in (s.to_dict, s.to_json, lambda: (s * 2).to_dict(), lambda: lr.warmup(s, steps=3).to_json()):
        with pytest.raises(TypeError, match=r"custom.*not serialisable|not serialisable.*custom") as info:
            call()
        assert "fn" in str(info.value)


BAD_DICTS: list[tuple[Any, type[Exception], str]] = [
    ({"init": 1.0, "steps": 10.0}, ValueError, "kind"),
    ({"kind": "cosinus", "init": 1.0, "steps": 10.0}, ValueError, "cosinus"),
    ({"kind": 3}, ValueError, "3"),
    ({"kind": "custom", "fn": "print"}, ValueError, "custom"),
    ({"kind": "cosine", "init": 1.0, "steps": 10.0, "warmup": 3}, ValueError, "warmup"),
    ({"kind": "cosine", "init": 1.0}, ValueError, "steps"),
    ({"kind": "cosine", "init": 1.0, "steps": -1.0}, ValueError, "steps"),
    ({"kind": "cosine", "init": "1.0", "steps": 10.0}, TypeError, "init"),
    ({"kind": "warmup", "schedule": {"kind": "nope"}, "steps": 3}, ValueError, "nope"),
    ({"kind": "warmup", "schedule": {"kind": "cosine", "init": 1.0, "steps": 10.0}, "steps": 3, "extra": 1},
     ValueError, "extra"),
    ({"kind": "join", "schedules": [{"kind": "constant"}], "boundaries": []}, ValueError, "value"),
    (["cosine", 1.0, 10.0], TypeError, "list"),
    ("cosine(init=1, steps=10)", TypeError, "str"),
    (None, TypeError, "None"),
]


@pytest.mark.parametrize(("data", "exc", "shown"), [pytest.param(*c, id=str(i)) for i, c in enumerate(BAD_DICTS)])
def test_from_dict_refuses_bad_dicts(data: Any, exc: type[Exception], shown: str) -> None:
    with pytest.raises(exc, match="from_dict|" + shown) as info:
        lr.from_dict(data)
    assert shown in str(info.value)


@pytest.mark.parametrize(
    ("text", "exc"),
    [
        ("", ValueError),
        ("{", ValueError),
        ('{"kind": "cosine", "init": 1.0, "steps": }', ValueError),
        ('{"kind": "cosine", "init": 1.0, "steps": 10.0', ValueError),
        ("[1, 2", ValueError),
        ("cosine(init=1, steps=10)", ValueError),
        ('{"kind": "cosine", "init": NaN, "steps": 10.0}', ValueError),
        ('{"kind": "cosine", "init": Infinity, "steps": 10.0}', ValueError),
        ("[]", TypeError),
        ('"cosine"', TypeError),
        (3, TypeError),
        (None, TypeError),
    ],
)
def test_from_json_refuses_malformed_json(text: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        lr.from_json(text)
    assert str(info.value).startswith(("from_json", "from_dict", "cosine"))


# ---------------------------------------------------------------------------
# Parsing is safe


REFUSED = [
    "__import__('os').system('touch /tmp/lrcore-parse-was-here')",
    "cosine(init=1, steps=10).__class__",
    "cosine(init=1, steps=10).__reduce__()",
    "lr.cosine(init=1, steps=10)",
    "os.system('true')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x = 1')",
    "getattr(cosine, '__globals__')",
    "Schedule('cosine', ())",
    "compile_program(constant(value=1))",
    "_node('constant', value=1)",
    "(lambda: 1)()",
    "lambda t: 0.1",
    "[cosine(init=1, steps=s) for s in [1, 2]][0]",
    "{k: 1 for k in 'ab'}",
    "(x for x in [1])",
    "f'{1}'",
    "[constant(value=1)][0]",
    "cosine(init=1, steps=10)[0]",
    "constant(value=1) if 1 else constant(value=2)",
    "constant(value=1) and constant(value=2)",
    "constant(value=1) ** 2",
    "constant(value=1) / 2",
    "constant(value=1) - 0.1",
    "-constant(value=1)",
    "not constant(value=1)",
    "constant(value=1) < constant(value=2)",
    "(x := constant(value=1))",
    "constant(*[1])",
    "constant(**{'value': 1})",
    "cosine",
    "x",
    "True",
    "1 + 2",
    "0.1",
    "'cosine'",
    "[constant(value=1)]",
    "{'kind': 'constant', 'value': 1}",
    "constant(value=b'1')",
    "constant(value=1j)",
    "constant(value=...)",
    "constant(value=1); constant(value=2)",
    "import os",
    "from_dict({'kind': 'constant', 'value': 1})",
    "parse('constant(value=1)')",
    "cosine(init=1, steps=10) @ 2",
    "await constant(value=1)",
    "constant(value=1)\n.kind",
    "warmup(" * 5_000 + "constant(value=1)" + ", steps=1)" * 5_000,
    "constant(value=1) + " * 30_000 + "constant(value=1)",
]


@pytest.mark.parametrize("text", REFUSED, ids=[f"{i}" for i in range(len(REFUSED))])
def test_parse_refuses_anything_but_constructor_calls(text: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        lr.parse(text)
    assert str(info.value).startswith("parse:"), str(info.value)


def test_parse_runs_nothing(tmp_path: Any) -> None:
    target = tmp_path / "was-here"
    for text in (f"__import__('os').system('touch {target}')", f"open('{target}', 'w')",
                 f"cosine(init=1, steps=__import__('os').system('touch {target}'))"):
        with pytest.raises((ValueError, TypeError)):
            lr.parse(text)
    assert not target.exists()


def test_parse_refuses_non_strings_and_validates_arguments() -> None:
    with pytest.raises(TypeError, match="parse"):
        lr.parse(b"constant(value=1)")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cosine: `steps` must be > 0"):
        lr.parse("cosine(init=1, steps=0)")
    with pytest.raises(TypeError, match="parse:"):
        lr.parse("cosine(init=1, stepz=10)")
    with pytest.raises(TypeError, match="parse:"):
        lr.parse("cosine(1, 10)")


def test_parse_reads_what_people_write() -> None:
    s = lr.parse("  warmup(cosine(init=0.1, steps=900), steps=100) * 0.5  ")
    assert s == lr.warmup(lr.cosine(init=0.1, steps=900), steps=100) * 0.5
    assert lr.parse("cosine(init=+1e-3, steps=1_000, final=0)") == lr.cosine(init=1e-3, steps=1000)
    assert lr.parse("piecewise_constant(boundaries=(3, 6), values=[1, 0.1, 0.01])") == lr.piecewise_constant(
        boundaries=[3, 6], values=[1, 0.1, 0.01]
    )
    assert lr.parse("interpolate(points=[(0, 0), [10, 1.0]], shape='cosine')")(5) == pytest.approx(0.5)


# ---------------------------------------------------------------------------
# Equality, hashing, immutability, pickling


def test_equal_parameters_make_equal_schedules_with_equal_hashes() -> None:
    a = lr.warmup(lr.cosine(init=1, steps=10), steps=3)
    b = lr.warmup(lr.cosine(init=1.0, steps=10.0, final=0.0), steps=3.0, start=0.0, shape="linear")
    assert a == b and hash(a) == hash(b)
    assert len({a, b, lr.from_dict(a.to_dict())}) == 1
    assert {a: 1}[b] == 1
    assert lr.multistep(init=1, milestones=[3, 6]) == lr.multistep(init=1, milestones=(3.0, 6.0))
    assert lr.multistep(init=1, milestones=np.array([3, 6])) == lr.multistep(init=1, milestones=[3, 6])


@pytest.mark.parametrize(
    "other",
    [
        lr.warmup(lr.cosine(init=1, steps=10), steps=4),
        lr.warmup(lr.cosine(init=1, steps=11), steps=3),
        lr.warmup(lr.cosine(init=1, steps=10), steps=3, shape="cosine"),
        lr.warmup(lr.linear(start=1, end=0, steps=10), steps=3),
        lr.cosine(init=1, steps=10),
    ],
)
def test_different_parameters_make_different_schedules(other: lr.Schedule) -> None:
    a = lr.warmup(lr.cosine(init=1, steps=10), steps=3)
    assert a != other
    assert (a == "warmup") is False
    assert a != a.to_dict()


def test_schedules_are_immutable() -> None:
    s = lr.cosine(init=1, steps=10)
    with pytest.raises(AttributeError):
        s.kind = "linear"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.params = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del s.kind
    args = s.args
    args["steps"] = 99.0
    assert s["steps"] == 10.0 and s.args["steps"] == 10.0
    assert s["init"] == 1.0 and s.kind == "cosine"
    with pytest.raises(KeyError, match="warmup"):
        s["warmup"]


@pytest.mark.parametrize("spec", CATALOGUE)
def test_pickle_and_copy_keep_the_value(spec: R.Spec) -> None:
    s = lr.from_dict(spec)
    s(1.0)  # a compiled program must not leak into the pickle
    t = np.linspace(0.0, 300.0, 41)
    for twin in (pickle.loads(pickle.dumps(s)), copy.copy(s), copy.deepcopy(s)):
        assert twin == s and hash(twin) == hash(s)
        np.testing.assert_array_equal(twin(t), s(t))


# ---------------------------------------------------------------------------
# Horizon


@pytest.mark.parametrize("spec", CATALOGUE)
def test_horizon_is_where_the_value_stops_changing(spec: R.Spec) -> None:
    """lrcore's horizon is the one the oracle record expects, and nothing changes from it on."""
    s = lr.from_dict(spec)
    want = R.horizon(spec)
    if want is None:
        assert s.horizon is None
        return
    assert s.horizon == pytest.approx(want, rel=1e-9, abs=0.0)
    h = s.horizon
    for later in (0.0, 0.5, 1.0, 7.25, 1e6, 1e12, R.BIG_T):
        assert s(h + later) == s(h), f"s({h + later!r}) != s({h!r})"
    if h > 0.0 and not R.ORACLES[spec["kind"]].combinator:  # a combinator's may be later (clip reaches hi early)
        assert s(h * (1 - 1e-4)) != s(h), "a smaller horizon would do"


# ---------------------------------------------------------------------------
# summary and iterate


@pytest.mark.parametrize("spec", CATALOGUE)
def test_summary_matches_the_reference(spec: R.Spec) -> None:
    s = lr.from_dict(spec)
    steps = 257
    ref = R.build(spec)
    values = np.array([ref(t) for t in range(steps)])
    got = lr.summary(s, steps)
    assert set(got) == {"min", "max", "final", "argmax", "mean", "sum", "sum_sq"}
    scale = max(float(np.abs(values).max()), 1e-300)
    assert got["min"] == pytest.approx(values.min(), rel=1e-12, abs=1e-13 * scale)
    assert got["max"] == pytest.approx(values.max(), rel=1e-12, abs=1e-13 * scale)
    assert got["final"] == pytest.approx(values[-1], rel=1e-12, abs=1e-13 * scale)
    assert values[got["argmax"]] == pytest.approx(values.max(), rel=1e-12, abs=1e-13 * scale)
    assert got["mean"] == pytest.approx(values.mean(), rel=1e-11, abs=1e-13 * scale)
    assert got["sum"] == pytest.approx(math.fsum(values), rel=1e-11, abs=1e-13 * scale * steps)
    assert got["sum_sq"] == pytest.approx(math.fsum(values**2), rel=1e-11, abs=1e-13 * scale**2 * steps)
    assert all(isinstance(got[k], float) for k in ("min", "max", "final", "mean", "sum", "sum_sq"))
    assert isinstance(got["argmax"], int)


def test_summary_robbins_monro_sums_by_hand() -> None:
    got = lr.summary(lr.linear(start=1.0, end=0.0, steps=4), 5)  # 1, .75, .5, .25, 0
    assert got == {"min": 0.0, "max": 1.0, "final": 0.0, "argmax": 0, "mean": 0.5, "sum": 2.5, "sum_sq": 1.875}


@pytest.mark.parametrize("start", [0, 3, 4095, 10_000])
def test_iterate_yields_the_array_values_across_chunks(start: int) -> None:
    import itertools

    for chunk in (1, 7, 4096):
        got = list(itertools.islice(lr.iterate(WARM, start, chunk=chunk), 100))
        assert got == WARM.array(100, start=start).tolist()
        assert all(type(v) is float for v in got)
    assert list(itertools.islice(lr.iterate(WARM), 3)) == [WARM(0), WARM(1), WARM(2)]


# ---------------------------------------------------------------------------
# array: dtype, start, chunks


@pytest.mark.parametrize("spec", CATALOGUE)
def test_array_equals_scalar_calls_and_float32_rounds_once(spec: R.Spec) -> None:
    s = lr.from_dict(spec)
    n = 300
    values = s.array(n)
    assert values.dtype == np.float64 and values.shape == (n,)
    np.testing.assert_array_equal(values, [s(i) for i in range(n)])
    for dtype in (np.float32, "float32", np.dtype("float32")):
        single = s.array(n, dtype=dtype)
        assert single.dtype == np.float32
        np.testing.assert_array_equal(single, np.float32(values))
    np.testing.assert_array_equal(s.array(n, dtype="float64"), values)
    start = 12.375
    shifted = s.array(n, start=start)
    np.testing.assert_allclose(shifted, [s(start + i) for i in range(n)], rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(s.array(n - 40, start=40), values[40:])
    np.testing.assert_array_equal(s.array(5, start=np.int64(3)), values[3:8])


def test_array_of_nothing_is_empty() -> None:
    for dtype in (np.float64, np.float32):
        out = COS.array(0, dtype=dtype)
        assert out.shape == (0,) and out.dtype == dtype
    assert list(COS.chunks(0)) == []


@pytest.mark.parametrize(("n", "size", "start"), [(1000, 1, 0), (1000, 333, 0), (1000, 1000, 5), (1001, 250, 2.5),
                                                  (5, 1 << 20, 0)])
def test_chunks_concatenate_to_the_array(n: int, size: int, start: float) -> None:
    for dtype in (np.float64, np.float32):
        parts = list(WARM.chunks(n, size, start=start, dtype=dtype))
        assert all(1 <= len(p) <= size for p in parts)
        assert all(p.dtype == dtype for p in parts)
        np.testing.assert_array_equal(np.concatenate(parts), WARM.array(n, start=start, dtype=dtype))


def test_chunks_are_lazy_and_bounded() -> None:
    """10**9 steps in chunks of 2**16 start at once and never hold more than one chunk."""
    it = WARM.chunks(10**9, 1 << 16)
    first = next(it)
    second = next(it)
    assert first.shape == second.shape == (1 << 16,)
    np.testing.assert_array_equal(second, WARM.array(1 << 16, start=1 << 16))


# ---------------------------------------------------------------------------
# custom


def _python_fn(t: float) -> float:
    return 0.1 / (1.0 + t) ** 0.5


_numba_fn = numba.njit(_python_fn)


@pytest.mark.parametrize("fn", [_python_fn, _numba_fn, lambda t: 0.25], ids=["python", "njit", "lambda"])
def test_custom_schedules_evaluate_the_function(fn: Any) -> None:
    s = lr.custom(fn)
    ts = [0.0, 1.0, 2.5, 99.0, 1e6]
    assert [s(t) for t in ts] == [float(fn(t)) for t in ts]
    np.testing.assert_array_equal(s.array(50), [float(fn(float(i))) for i in range(50)])
    np.testing.assert_array_equal(s(np.array(ts)), [float(fn(t)) for t in ts])
    single = np.array([fn(float(i)) for i in range(4)], dtype=np.float32)
    np.testing.assert_array_equal(s.array(4, dtype=np.float32), single)
    assert s.kind == "custom" and s["fn"] is fn
    assert s == lr.custom(fn) and hash(s) == hash(lr.custom(fn))
    assert s.horizon is None


def test_custom_inside_combinators_matches_the_reference() -> None:
    inner = lr.custom(_python_fn)
    s = lr.join([lr.warmup(inner, steps=10, shape="cosine") * 2.0, lr.constant(value=0.01)], boundaries=[50.5])
    s = lr.clip(s + inner, lo=0.02)
    ref_inner: R.Ref = lambda t: _python_fn(float(t))  # noqa: E731
    ref_warm: R.Ref = lambda t: R.ref_warmup(t, ref_inner, 10.0, 0.0, "cosine")  # noqa: E731
    ref_join: R.Ref = lambda t: R.ref_join(t, [lambda u: 2.0 * ref_warm(u), lambda u: 0.01], [50.5])  # noqa: E731
    ts = [0.0, 3.3, 9.999, 10.0, 10.5, 50.0, 50.5, 51.0, 500.0]
    for t in ts:
        want = max(ref_join(t) + ref_inner(t), 0.02)
        assert s(t) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(s.array(80), [s(i) for i in range(80)])


CUSTOM = lr.custom(_python_fn)


@pytest.mark.parametrize(
    ("s", "ref"),
    [
        (CUSTOM * 2.0, lambda t: 2.0 * _python_fn(t)),
        (CUSTOM + 0.1, lambda t: _python_fn(t) + 0.1),
        (lr.clip(CUSTOM, lo=0.05), lambda t: max(_python_fn(t), 0.05)),
        (CUSTOM + lr.constant(value=0.0) + COS, lambda t: _python_fn(t) + R.build(COS.to_dict())(t)),
        (CUSTOM * COS, lambda t: _python_fn(t) * R.build(COS.to_dict())(t)),
        (lr.warmup(CUSTOM, steps=4), lambda t: R.ref_warmup(t, _python_fn, 4.0, 0.0, "linear")),
        (lr.shift(CUSTOM, steps=2.5), lambda t: _python_fn(t + 2.5)),
        (lr.join([COS, CUSTOM], boundaries=[5]), lambda t: R.build(COS.to_dict())(t) if t < 5 else _python_fn(t - 5)),
    ],
    ids=["scale", "add-constant", "clip", "sum", "product", "warmup", "shift", "join"],
)
def test_custom_inside_each_combinator(s: lr.Schedule, ref: Any) -> None:
    ts = [0.0, 1.0, 2.5, 4.0, 5.0, 7.75, 300.0]
    assert [s(t) for t in ts] == pytest.approx([ref(t) for t in ts], rel=1e-12)
    np.testing.assert_allclose(s.array(20), [ref(float(i)) for i in range(20)], rtol=1e-12)
