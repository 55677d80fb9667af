"""``lr.range_test``: a schedule kind like any other, exact against ``reference.ref_range_test``."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import reference as R

import lrcore as lr


def _short_products(count: int) -> list[tuple[float, float]]:
    """(start, end) pairs where the rounded start * (end / start) falls short of end."""
    rng = random.Random(14)
    found = []
    while len(found) < count:
        start = rng.uniform(1.0, 2.0) * 10.0 ** rng.randint(-9, -3)
        end = rng.uniform(1.0, 2.0) * 10.0 ** rng.randint(-2, 1)
        if start * (end / start) < end:
            found.append((start, end))
    return found


CASES = [
    (1e-7, 10.0, 100),
    (1e-5, 1.0, 37),
    (3e-4, 0.3, 1000),
    (1e-8, 100.0, 2),
    (0.1, 0.3, 7),
    (2.5e-6, 4.0, 250),
    *((a, b, 101) for a, b in _short_products(6)),
]
PARAMS = [
    pytest.param(a, b, n, shape, id=f"{shape}-{a:.3g}-{b:.3g}-{n}")
    for a, b, n in CASES
    for shape in ("exponential", "linear")
]


@pytest.mark.parametrize(("start", "end", "steps", "shape"), PARAMS)
def test_exact_at_every_step_and_past_the_end(start: float, end: float, steps: int, shape: str) -> None:
    s = lr.range_test(start=start, end=end, steps=steps, shape=shape)
    times = [*range(steps + 3), steps - 1.5, steps - 0.25, 0.5, 1e6, 2.0**62]
    for t in times:
        want = R.ref_range_test(t, start, end, steps, shape)
        got = s(t)
        # A few ulps: the geometric value is start * growth ** p, with growth = end / start rounded.
        assert abs(got - want) <= 16 * math.ulp(want), (t, got, want)
    values = s.array(steps + 3)
    assert values[0] == start and values[steps - 1] == end  # bit for bit at both ends
    assert (values[steps - 1 :] == end).all() and s(1e9) == end
    assert (np.diff(values[:steps]) > 0).all()  # strictly increasing up to the end
    assert values.tolist() == [s(t) for t in range(steps + 3)]  # array path == scalar path
    assert s.horizon == steps - 1


def test_the_short_product_cases_do_occur_and_are_handled() -> None:
    # Without the care taken in the encoding these would end one ulp below `end`.
    for start, end in _short_products(3):
        assert start * (end / start) < end
        assert lr.range_test(start=start, end=end, steps=50)(49) == end


def test_defaults_are_fastais() -> None:
    s = lr.range_test()
    assert (s["start"], s["end"], s["steps"], s["shape"]) == (1e-7, 10.0, 100, "exponential")
    # fastai / torch-lr-finder: start * (end / start) ** (i / (n - 1))
    for i in range(100):
        assert s(i) == pytest.approx(1e-7 * (10.0 / 1e-7) ** (i / 99), rel=1e-14)


@pytest.mark.parametrize(
    "s",
    [
        lr.range_test(),
        lr.range_test(start=1e-5, end=1.0, steps=300, shape="linear"),
        lr.range_test(start=3e-7, end=0.25, steps=17),
    ],
    ids=repr,
)
def test_a_kind_like_any_other(s: lr.Schedule) -> None:
    assert lr.parse(repr(s)) == s and hash(lr.parse(repr(s))) == hash(s)
    assert lr.from_json(s.to_json()) == s
    assert lr.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s.to_dict()["kind"] == "range_test" and isinstance(s.to_dict()["steps"], int)
    assert (0.5 * s)(3) == 0.5 * s(3)
    w = lr.warmup(s, steps=10)
    assert w(10) == s(0) and lr.parse(repr(w)) == w


def test_repr() -> None:
    assert repr(lr.range_test()) == "range_test()"
    assert repr(lr.range_test(start=1e-5, end=1, steps=50, shape="linear")) == (
        "range_test(start=1e-05, end=1, steps=50, shape='linear')"
    )
    assert lr.parse("range_test(start=1e-6, end=1.0, steps=200)") == lr.range_test(start=1e-6, end=1.0, steps=200)


def test_plot(tmp_path) -> None:
    path = tmp_path / "rt.png"
    ax = lr.plot(lr.range_test(steps=100), 120, path=path, log=True)
    assert path.stat().st_size > 1000
    (line,) = ax.get_lines()
    assert line.get_ydata()[99] == 10.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"start": 0.0}, ValueError,
         "range_test: `start` must be > 0 (a geometric range cannot start at 0; a linear one can); got start=0.0"),
        ({"start": -1e-7}, ValueError, "range_test: `start` must be >= 0; got start=-1e-07"),
        ({"start": -1e-7, "shape": "linear"}, ValueError, "range_test: `start` must be >= 0; got start=-1e-07"),
        ({"start": math.nan}, ValueError, "range_test: `start` must be finite; got start=nan"),
        ({"start": "1e-7"}, TypeError, "range_test: `start` must be a real number; got start='1e-7'"),
        ({"end": math.inf}, ValueError, "range_test: `end` must be finite; got end=inf"),
        ({"end": 1e-7}, ValueError, "range_test: `end` must be > start=1e-07; got end=1e-07"),
        ({"start": 1.0, "end": 0.5}, ValueError, "range_test: `end` must be > start=1; got end=0.5"),
        ({"start": 1e-300, "end": 1e300}, ValueError, "range_test: `end` must be a finite multiple of start"),
        ({"steps": 1}, ValueError, "range_test: `steps` must be >= 2; got steps=1"),
        ({"steps": 0}, ValueError, "range_test: `steps` must be >= 2; got steps=0"),
        ({"steps": -5}, ValueError, "range_test: `steps` must be >= 0; got steps=-5"),
        ({"steps": 100.0}, TypeError, "range_test: `steps` must be an int; got steps=100.0"),
        ({"steps": True}, TypeError, "range_test: `steps` must be an int; got steps=True"),
        ({"shape": "cosine"}, ValueError, "range_test: `shape` must be one of 'exponential', 'linear'; got shape="),
        ({"shape": None}, TypeError, "range_test: `shape` must be one of 'exponential', 'linear'; got shape=None"),
        ({"gamma": 2.0}, TypeError, "gamma"),
    ],
)
def test_bad_arguments(kwargs: dict, exc: type, message: str) -> None:
    with pytest.raises(exc) as info:
        lr.range_test(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_numpy_integer_steps_and_from_dict_validation() -> None:
    assert lr.range_test(steps=np.int64(50)) == lr.range_test(steps=50)
    with pytest.raises(ValueError, match="range_test: `end` must be > start"):
        lr.from_dict({"kind": "range_test", "start": 1.0, "end": 0.1, "steps": 10, "shape": "linear"})
    with pytest.raises(ValueError, match="range_test: `steps` must be >= 2"):
        lr.parse("range_test(steps=1)")


def test_a_linear_range_may_start_at_zero() -> None:
    s = lr.range_test(start=0, end=1.0, steps=5, shape="linear")
    assert [s(t) for t in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert list(s.array(6)) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert s == lr.parse(repr(s)) == lr.from_json(s.to_json()) and s.horizon == 4.0
