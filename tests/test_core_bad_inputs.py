"""Bad input is refused where it enters, with the exception type and a message that names the place,
the parameter and the value: ``cosine: `steps` must be > 0; got steps=0``."""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrcore as lr
from lrcore._registry import KINDS as REGISTRY

COS = lr.cosine(init=1.0, steps=10)
NAN, INF = math.nan, math.inf

# (call, exception type, where, parameter): each call is one bad argument to an otherwise valid call.
BAD: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    # constant
    ("constant-negative", lambda: lr.constant(value=-0.1), ValueError, "constant", "value"),
    ("constant-nan", lambda: lr.constant(value=NAN), ValueError, "constant", "value"),
    ("constant-inf", lambda: lr.constant(value=INF), ValueError, "constant", "value"),
    ("constant-str", lambda: lr.constant(value="0.1"), TypeError, "constant", "value"),
    ("constant-bool", lambda: lr.constant(value=True), TypeError, "constant", "value"),
    ("constant-none", lambda: lr.constant(value=None), TypeError, "constant", "value"),
    ("constant-complex", lambda: lr.constant(value=1j), TypeError, "constant", "value"),
    ("constant-huge-int", lambda: lr.constant(value=10**400), ValueError, "constant", "value"),
    # linear
    ("linear-steps-zero", lambda: lr.linear(start=0.0, end=1.0, steps=0), ValueError, "linear", "steps"),
    ("linear-steps-negative", lambda: lr.linear(start=0.0, end=1.0, steps=-5), ValueError, "linear", "steps"),
    ("linear-start-negative", lambda: lr.linear(start=-1.0, end=1.0, steps=5), ValueError, "linear", "start"),
    ("linear-end-nan", lambda: lr.linear(start=0.0, end=NAN, steps=5), ValueError, "linear", "end"),
    ("linear-steps-bool", lambda: lr.linear(start=0.0, end=1.0, steps=True), TypeError, "linear", "steps"),
    # step / multistep
    ("step-size-zero", lambda: lr.step(init=1.0, step_size=0), ValueError, "step", "step_size"),
    ("step-gamma-negative", lambda: lr.step(init=1.0, step_size=3, gamma=-0.1), ValueError, "step", "gamma"),
    ("step-init-inf", lambda: lr.step(init=INF, step_size=3), ValueError, "step", "init"),
    ("multistep-unsorted", lambda: lr.multistep(init=1.0, milestones=[5, 3]), ValueError, "multistep", "milestones"),
    ("multistep-negative", lambda: lr.multistep(init=1.0, milestones=[-1, 3]), ValueError, "multistep",
     "milestones"),
    ("multistep-nan", lambda: lr.multistep(init=1.0, milestones=[1, NAN]), ValueError, "multistep", "milestones"),
    ("multistep-str", lambda: lr.multistep(init=1.0, milestones="3,6"), TypeError, "multistep", "milestones"),
    ("multistep-set", lambda: lr.multistep(init=1.0, milestones={3, 6}), TypeError, "multistep", "milestones"),
    ("multistep-element-str", lambda: lr.multistep(init=1.0, milestones=[3, "6"]), TypeError, "multistep",
     "milestones"),
    ("multistep-gamma-negative", lambda: lr.multistep(init=1.0, milestones=[3], gamma=-1), ValueError, "multistep",
     "gamma"),
    ("multistep-huge-int-milestone", lambda: lr.multistep(init=1.0, milestones=[3, 10**400]), ValueError, "multistep",
     "milestones"),
    ("multistep-init-negative", lambda: lr.multistep(init=-1.0, milestones=[3]), ValueError, "multistep", "init"),
    # exponential / inverse_time
    ("exponential-gamma-zero", lambda: lr.exponential(init=1.0, gamma=0), ValueError, "exponential", "gamma"),
    ("exponential-init-nan", lambda: lr.exponential(init=NAN, gamma=0.5), ValueError, "exponential", "init"),
    ("exponential-every-zero", lambda: lr.exponential(init=1.0, gamma=0.5, every=0), ValueError, "exponential",
     "every"),
    ("exponential-floor-above-init", lambda: lr.exponential(init=1.0, gamma=0.5, end=2.0), ValueError,
     "exponential", "end"),
    ("exponential-ceiling-below-init", lambda: lr.exponential(init=1.0, gamma=2.0, end=0.5), ValueError,
     "exponential", "end"),
    ("exponential-staircase-int", lambda: lr.exponential(init=1.0, gamma=0.5, staircase=1), TypeError,
     "exponential", "staircase"),
    ("inverse_time-rate-negative", lambda: lr.inverse_time(init=1.0, rate=-1), ValueError, "inverse_time", "rate"),
    ("inverse_time-every-negative", lambda: lr.inverse_time(init=1.0, rate=1, every=-2), ValueError,
     "inverse_time", "every"),
    ("inverse_time-init-negative", lambda: lr.inverse_time(init=-1.0, rate=0.5), ValueError, "inverse_time",
     "init"),
    ("inverse_time-staircase-str", lambda: lr.inverse_time(init=1.0, rate=0.5, staircase="no"), TypeError,
     "inverse_time", "staircase"),
    # polynomial
    ("polynomial-power-zero", lambda: lr.polynomial(init=1.0, end=0.0, steps=10, power=0), ValueError, "polynomial",
     "power"),
    ("polynomial-k_decay-zero", lambda: lr.polynomial(init=1.0, end=0.0, steps=10, k_decay=0), ValueError,
     "polynomial", "k_decay"),
    ("polynomial-cycle-str", lambda: lr.polynomial(init=1.0, end=0.0, steps=10, cycle="yes"), TypeError,
     "polynomial", "cycle"),
    ("polynomial-end-negative", lambda: lr.polynomial(init=1.0, end=-1e-9, steps=10), ValueError, "polynomial",
     "end"),
    ("polynomial-init-inf", lambda: lr.polynomial(init=INF, end=0.0, steps=10), ValueError, "polynomial", "init"),
    ("polynomial-steps-zero", lambda: lr.polynomial(init=1.0, end=0.0, steps=0), ValueError, "polynomial", "steps"),
    # cosine
    ("cosine-steps-zero", lambda: lr.cosine(init=1.0, steps=0), ValueError, "cosine", "steps"),
    ("cosine-final-negative", lambda: lr.cosine(init=1.0, steps=10, final=-0.1), ValueError, "cosine", "final"),
    ("cosine-exponent-zero", lambda: lr.cosine(init=1.0, steps=10, exponent=0), ValueError, "cosine", "exponent"),
    ("cosine-periodic-k_decay", lambda: lr.cosine(init=1.0, steps=10, periodic=True, k_decay=2), ValueError,
     "cosine", "k_decay"),
    ("cosine-periodic-none", lambda: lr.cosine(init=1.0, steps=10, periodic=None), TypeError, "cosine", "periodic"),
    ("cosine-init-str", lambda: lr.cosine(init="1e-3", steps=10), TypeError, "cosine", "init"),
    # cosine_restarts
    ("cosine_restarts-period-zero", lambda: lr.cosine_restarts(init=1.0, period=0), ValueError, "cosine_restarts",
     "period"),
    ("cosine_restarts-mult-below-one", lambda: lr.cosine_restarts(init=1.0, period=10, period_mult=0.5), ValueError,
     "cosine_restarts", "period_mult"),
    ("cosine_restarts-decay-negative", lambda: lr.cosine_restarts(init=1.0, period=10, decay=-0.5), ValueError,
     "cosine_restarts", "decay"),
    ("cosine_restarts-k_decay-negative", lambda: lr.cosine_restarts(init=1.0, period=10, k_decay=-1), ValueError,
     "cosine_restarts", "k_decay"),
    ("cosine_restarts-init-negative", lambda: lr.cosine_restarts(init=-1.0, period=10), ValueError,
     "cosine_restarts", "init"),
    ("cosine_restarts-final-nan", lambda: lr.cosine_restarts(init=1.0, period=10, final=NAN), ValueError,
     "cosine_restarts", "final"),
    # one_cycle
    ("one_cycle-steps-zero", lambda: lr.one_cycle(peak=1.0, steps=0), ValueError, "one_cycle", "steps"),
    ("one_cycle-peak-negative", lambda: lr.one_cycle(peak=-1.0, steps=100), ValueError, "one_cycle", "peak"),
    ("one_cycle-three_phase-int", lambda: lr.one_cycle(peak=1.0, steps=100, three_phase=1), TypeError, "one_cycle",
     "three_phase"),
    ("one_cycle-pct-zero", lambda: lr.one_cycle(peak=1.0, steps=100, pct_start=0), ValueError, "one_cycle",
     "pct_start"),
    ("one_cycle-pct-one", lambda: lr.one_cycle(peak=1.0, steps=100, pct_start=1.0), ValueError, "one_cycle",
     "pct_start"),
    ("one_cycle-pct-half-three-phase", lambda: lr.one_cycle(peak=1.0, steps=100, pct_start=0.5, three_phase=True),
     ValueError, "one_cycle", "pct_start"),
    ("one_cycle-anneal", lambda: lr.one_cycle(peak=1.0, steps=100, anneal="cosine"), ValueError, "one_cycle",
     "anneal"),
    ("one_cycle-div-zero", lambda: lr.one_cycle(peak=1.0, steps=100, div_factor=0), ValueError, "one_cycle",
     "div_factor"),
    ("one_cycle-final-div-negative", lambda: lr.one_cycle(peak=1.0, steps=100, final_div_factor=-1), ValueError,
     "one_cycle", "final_div_factor"),
    ("one_cycle-anneal-not-str", lambda: lr.one_cycle(peak=1.0, steps=100, anneal=1), TypeError, "one_cycle",
     "anneal"),
    ("one_cycle-initial-overflows", lambda: lr.one_cycle(peak=1.0, steps=100, div_factor=1e-320), ValueError,
     "one_cycle", "div_factor"),
    ("one_cycle-final-overflows", lambda: lr.one_cycle(peak=1.0, steps=100, div_factor=1e-200, final_div_factor=1e-200),
     ValueError, "one_cycle", "final_div_factor"),
    # cyclic
    ("cyclic-step_up-zero", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=0), ValueError, "cyclic", "step_up"),
    ("cyclic-step_down-negative", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=4, step_down=-1), ValueError,
     "cyclic", "step_down"),
    ("cyclic-mode", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=4, mode="triangle"), ValueError, "cyclic",
     "mode"),
    ("cyclic-gamma-zero", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=4, mode="exp_range", gamma=0), ValueError,
     "cyclic", "gamma"),
    ("cyclic-gamma-without-envelope", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=4, mode="triangular2", gamma=0.5),
     ValueError, "cyclic", "gamma"),
    ("cyclic-base-negative", lambda: lr.cyclic(base=-0.1, peak=1.0, step_up=4), ValueError, "cyclic", "base"),
    ("cyclic-peak-inf", lambda: lr.cyclic(base=0.1, peak=INF, step_up=4), ValueError, "cyclic", "peak"),
    ("cyclic-period-overflows", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=1.7e308, step_down=1.7e308), ValueError,
     "cyclic", "step_down"),
    ("cyclic-default-period-overflows", lambda: lr.cyclic(base=0.1, peak=1.0, step_up=1e308), ValueError, "cyclic",
     "step_up"),
    # piecewise_constant / interpolate
    ("piecewise-lengths", lambda: lr.piecewise_constant(boundaries=[3, 6], values=[1.0, 0.1]), ValueError,
     "piecewise_constant", "values"),
    ("piecewise-zero-boundary", lambda: lr.piecewise_constant(boundaries=[0, 6], values=[1.0, 0.1, 0.01]),
     ValueError, "piecewise_constant", "boundaries"),
    ("piecewise-repeated", lambda: lr.piecewise_constant(boundaries=[3, 3], values=[1.0, 0.1, 0.01]), ValueError,
     "piecewise_constant", "boundaries"),
    ("piecewise-negative-value", lambda: lr.piecewise_constant(boundaries=[3], values=[1.0, -0.1]), ValueError,
     "piecewise_constant", "values"),
    ("piecewise-2d-array", lambda: lr.piecewise_constant(boundaries=np.ones((2, 2)), values=[1.0]), ValueError,
     "piecewise_constant", "boundaries"),
    ("interpolate-empty", lambda: lr.interpolate(points=[]), ValueError, "interpolate", "points"),
    ("interpolate-not-at-zero", lambda: lr.interpolate(points=[(1, 0.1), (5, 0.2)]), ValueError, "interpolate",
     "points"),
    ("interpolate-not-pairs", lambda: lr.interpolate(points=[(0, 0.1, 3)]), TypeError, "interpolate", "points"),
    ("interpolate-unsorted", lambda: lr.interpolate(points=[(0, 0.1), (5, 0.2), (4, 0.3)]), ValueError,
     "interpolate", "points"),
    ("interpolate-negative-value", lambda: lr.interpolate(points=[(0, 0.1), (5, -0.2)]), ValueError, "interpolate",
     "points"),
    ("interpolate-shape", lambda: lr.interpolate(points=[(0, 0.1)], shape="sqrt"), ValueError, "interpolate",
     "shape"),
    # inverse_sqrt / wsd / tanh_decay
    ("inverse_sqrt-warmup-negative", lambda: lr.inverse_sqrt(peak=1.0, warmup=-1), ValueError, "inverse_sqrt",
     "warmup"),
    ("inverse_sqrt-timescale-zero", lambda: lr.inverse_sqrt(peak=1.0, warmup=10, timescale=0), ValueError,
     "inverse_sqrt", "timescale"),
    ("inverse_sqrt-peak-negative", lambda: lr.inverse_sqrt(peak=-1.0, warmup=10), ValueError, "inverse_sqrt",
     "peak"),
    ("wsd-too-long", lambda: lr.wsd(peak=1.0, steps=100, warmup=60, decay=50), ValueError, "wsd", "decay"),
    ("wsd-warmup-negative", lambda: lr.wsd(peak=1.0, steps=100, warmup=-1, decay=50), ValueError, "wsd", "warmup"),
    ("wsd-shape", lambda: lr.wsd(peak=1.0, steps=100, warmup=10, decay=50, decay_shape="exponential"), ValueError,
     "wsd", "decay_shape"),
    ("wsd-warmup-shape", lambda: lr.wsd(peak=1.0, steps=100, warmup=10, decay=50, warmup_shape="cos"), ValueError,
     "wsd", "warmup_shape"),
    ("wsd-start-negative", lambda: lr.wsd(peak=1.0, steps=100, warmup=10, decay=50, start=-1.0), ValueError, "wsd",
     "start"),
    ("wsd-peak-nan", lambda: lr.wsd(peak=NAN, steps=100, warmup=10, decay=50), ValueError, "wsd", "peak"),
    ("wsd-steps-zero", lambda: lr.wsd(peak=1.0, steps=0, warmup=0, decay=0), ValueError, "wsd", "steps"),
    ("wsd-final-negative", lambda: lr.wsd(peak=1.0, steps=100, warmup=10, decay=50, final=-0.1), ValueError, "wsd",
     "final"),
    ("tanh-bounds", lambda: lr.tanh_decay(init=1.0, steps=10, lower=3, upper=3), ValueError, "tanh_decay", "upper"),
    ("tanh-lower-nan", lambda: lr.tanh_decay(init=1.0, steps=10, lower=NAN), ValueError, "tanh_decay", "lower"),
    ("tanh-steps-zero", lambda: lr.tanh_decay(init=1.0, steps=0), ValueError, "tanh_decay", "steps"),
    ("tanh-init-negative", lambda: lr.tanh_decay(init=-1.0, steps=10), ValueError, "tanh_decay", "init"),
    ("tanh-final-inf", lambda: lr.tanh_decay(init=1.0, steps=10, final=INF), ValueError, "tanh_decay", "final"),
    # range_test
    ("range_test-start-zero", lambda: lr.range_test(start=0.0), ValueError, "range_test", "start"),
    ("range_test-end-below-start", lambda: lr.range_test(start=1.0, end=0.5), ValueError, "range_test", "end"),
    ("range_test-end-equals-start", lambda: lr.range_test(start=0.1, end=0.1), ValueError, "range_test", "end"),
    ("range_test-end-nan", lambda: lr.range_test(end=NAN), ValueError, "range_test", "end"),
    ("range_test-ratio-overflows", lambda: lr.range_test(start=1e-300, end=1e300), ValueError, "range_test", "end"),
    ("range_test-steps-one", lambda: lr.range_test(steps=1), ValueError, "range_test", "steps"),
    ("range_test-steps-float", lambda: lr.range_test(steps=100.0), TypeError, "range_test", "steps"),
    ("range_test-steps-bool", lambda: lr.range_test(steps=True), TypeError, "range_test", "steps"),
    ("range_test-shape", lambda: lr.range_test(shape="cosine"), ValueError, "range_test", "shape"),
    # custom
    ("custom-not-callable", lambda: lr.custom(0.1), TypeError, "custom", "fn"),
    # combinators
    ("join-empty", lambda: lr.join([], boundaries=[]), ValueError, "join", "schedules"),
    ("join-lengths", lambda: lr.join([COS, COS], boundaries=[]), ValueError, "join", "boundaries"),
    ("join-not-schedule", lambda: lr.join([COS, 0.1], boundaries=[5]), TypeError, "join", "schedules[1]"),
    ("join-zero-boundary", lambda: lr.join([COS, COS], boundaries=[0]), ValueError, "join", "boundaries"),
    ("join-unsorted", lambda: lr.join([COS, COS, COS], boundaries=[5, 2]), ValueError, "join", "boundaries"),
    ("warmup-not-schedule", lambda: lr.warmup(0.1, steps=10), TypeError, "warmup", "schedule"),
    ("warmup-steps-zero", lambda: lr.warmup(COS, steps=0), ValueError, "warmup", "steps"),
    ("warmup-shape", lambda: lr.warmup(COS, steps=10, shape="sqrt"), ValueError, "warmup", "shape"),
    ("warmup-exponential-from-zero", lambda: lr.warmup(COS, steps=10, shape="exponential"), ValueError, "warmup",
     "start"),
    ("warmup-exponential-to-zero", lambda: lr.warmup(lr.constant(value=0.0), steps=10, start=0.1,
                                                     shape="exponential"), ValueError, "warmup", "schedule"),
    ("warmup-exponential-ratio-overflows", lambda: lr.warmup(lr.constant(value=0.1), steps=10, start=1e-310,
                                                             shape="exponential"), ValueError, "warmup", "start"),
    ("warmup-exponential-ratio-underflows", lambda: lr.warmup(lr.constant(value=1e-300), steps=10, start=1e300,
                                                              shape="exponential"), ValueError, "warmup", "start"),
    ("scale-huge-int", lambda: COS * 10**400, ValueError, "scale", "factor"),
    ("scale-negative", lambda: lr.scale(COS, factor=-1.0), ValueError, "scale", "factor"),
    ("scale-operator-negative", lambda: COS * -2.0, ValueError, "scale", "factor"),
    ("add-operator-negative", lambda: COS + -0.5, ValueError, "constant", "value"),
    ("scale-not-schedule", lambda: lr.scale("cos", factor=2.0), TypeError, "scale", "schedule"),
    ("product-not-schedule", lambda: lr.product(COS, 2.0), TypeError, "product", "second"),
    ("product-first-not-schedule", lambda: lr.product("cos", COS), TypeError, "product", "first"),
    ("add-not-schedule", lambda: lr.add(None, COS), TypeError, "add", "first"),
    ("add-second-not-schedule", lambda: lr.add(COS, 0.1), TypeError, "add", "second"),
    ("clip-hi-below-lo", lambda: lr.clip(COS, lo=0.5, hi=0.1), ValueError, "clip", "hi"),
    ("clip-lo-negative", lambda: lr.clip(COS, lo=-0.5), ValueError, "clip", "lo"),
    ("clip-not-schedule", lambda: lr.clip(0.5, lo=0.1), TypeError, "clip", "schedule"),
    ("shift-negative", lambda: lr.shift(COS, steps=-1), ValueError, "shift", "steps"),
    ("shift-nan", lambda: lr.shift(COS, steps=NAN), ValueError, "shift", "steps"),
    ("shift-not-schedule", lambda: lr.shift(None, steps=1), TypeError, "shift", "schedule"),
    # evaluation and tools
    ("array-n-negative", lambda: COS.array(-1), ValueError, "array", "n"),
    ("array-n-float", lambda: COS.array(10.0), TypeError, "array", "n"),
    ("array-n-bool", lambda: COS.array(True), TypeError, "array", "n"),
    ("array-n-str", lambda: COS.array("10"), TypeError, "array", "n"),
    ("array-start-negative", lambda: COS.array(10, start=-1), ValueError, "array", "start"),
    ("array-start-nan", lambda: COS.array(10, start=NAN), ValueError, "array", "start"),
    ("array-start-inf", lambda: COS.array(10, start=INF), ValueError, "array", "start"),
    ("array-start-str", lambda: COS.array(10, start="0"), TypeError, "array", "start"),
    ("array-start-huge-int", lambda: COS.array(10, start=10**400), ValueError, "array", "start"),
    ("array-dtype-int", lambda: COS.array(10, dtype=np.int32), ValueError, "array", "dtype"),
    ("array-dtype-float16", lambda: COS.array(10, dtype=np.float16), ValueError, "array", "dtype"),
    ("array-dtype-complex", lambda: COS.array(10, dtype=complex), ValueError, "array", "dtype"),
    ("chunks-size-zero", lambda: next(COS.chunks(10, size=0)), ValueError, "chunks", "size"),
    ("chunks-n-negative", lambda: next(COS.chunks(-10)), ValueError, "chunks", "n"),
    ("summary-steps-zero", lambda: lr.summary(COS, 0), ValueError, "summary", "steps"),
    ("summary-steps-float", lambda: lr.summary(COS, 10.5), TypeError, "summary", "steps"),
    ("summary-not-schedule", lambda: lr.summary(0.1, 10), TypeError, "summary", "schedule"),
    ("iterate-start-negative", lambda: next(lr.iterate(COS, -1)), ValueError, "iterate", "start"),
    ("iterate-chunk-zero", lambda: next(lr.iterate(COS, 0, chunk=0)), ValueError, "iterate", "chunk"),
]


# Where BAD's cases are refused besides the kinds' constructors: evaluation and the tools.
TOOLS = {"array", "chunks", "summary", "iterate"}


def test_cases_have_unique_names_and_known_places() -> None:
    assert len({name for name, *_ in BAD}) == len(BAD)
    unknown = {where for *_, where, _ in BAD} - set(REGISTRY) - TOOLS
    assert not unknown, f"cases refused at places that are neither a registered kind nor a tool: {unknown}"


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_parameter_of_every_kind_has_a_bad_case(kind: str) -> None:
    """Each registered kind's constructor, parameter by parameter: a kind added to the registry fails here
    until BAD refuses a bad value of each of its parameters."""
    params = inspect.signature(REGISTRY[kind].constructor).parameters
    covered = {name.split("[")[0] for _, _, _, where, name in BAD if where == kind}
    lacking = [p for p in params if p not in covered]
    assert not lacking, f"BAD has no case for {kind}'s {', '.join(lacking)}"


@pytest.mark.parametrize(("call", "exc", "where", "name"), [pytest.param(*case[1:], id=case[0]) for case in BAD])
def test_bad_argument_is_refused_with_its_name(
    call: Callable[[], Any], exc: type[Exception], where: str, name: str
) -> None:
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{where}:"), message
    assert f"`{name}`" in message, message
    assert f"got {name.split('[')[0]}" in message, message


# ---------------------------------------------------------------------------
# Times


BAD_TIMES: list[tuple[Any, type[Exception], str]] = [
    (-1, ValueError, "-1"),
    (-0.5, ValueError, "-0.5"),
    (-1e-300, ValueError, "-1e-300"),
    (NAN, ValueError, "nan"),
    (INF, ValueError, "inf"),
    (-INF, ValueError, "-inf"),
    (np.float64(NAN), ValueError, "nan"),
    (np.float32(-2.0), ValueError, "-2.0"),
    (np.int64(-3), ValueError, "-3"),
    ("5", TypeError, "'5'"),
    (True, TypeError, "True"),
    (False, TypeError, "False"),
    (np.bool_(True), TypeError, "True"),
    (1 + 2j, TypeError, "(1+2j)"),
    (None, TypeError, "None"),
    (object(), TypeError, "object"),
    (10**400, ValueError, "1e+400"),
    (-(10**400), ValueError, "-1e+400"),
]


@pytest.mark.parametrize(("t", "exc", "shown"), [pytest.param(*case, id=repr(case[0])) for case in BAD_TIMES])
@pytest.mark.parametrize("s", [COS, lr.warmup(COS, steps=3) * 0.5, lr.product(COS, lr.step(init=1, step_size=2))],
                         ids=["leaf", "combined", "product"])
def test_bad_time_is_refused_naming_it(s: lr.Schedule, t: Any, exc: type[Exception], shown: str) -> None:
    with pytest.raises(exc) as info:
        s(t)
    assert "`t`" in str(info.value) and "got t=" in str(info.value)
    assert shown in str(info.value)


BAD_TIME_ARRAYS: list[tuple[Any, type[Exception], str]] = [
    (np.array([0.0, 1.0, -1.0]), ValueError, "-1.0"),
    (np.array([0.0, NAN]), ValueError, "nan"),
    (np.array([[0.0, 1.0], [INF, 2.0]]), ValueError, "inf"),
    ([0, 1, -2], ValueError, "-2"),
    ((0.0, NAN), ValueError, "nan"),
    (np.array([True, False]), TypeError, "bool"),
    (np.array([1 + 0j, 2]), TypeError, "complex"),
    (np.array(["0", "1"]), TypeError, "dtype"),
    ([0, "1"], TypeError, "dtype"),
    (np.array([0.0, None], dtype=object), TypeError, "object"),
]


@pytest.mark.parametrize(("ts", "exc", "shown"), [pytest.param(*c, id=f"{i}") for i, c in enumerate(BAD_TIME_ARRAYS)])
def test_bad_time_inside_an_array_is_refused(ts: Any, exc: type[Exception], shown: str) -> None:
    with pytest.raises(exc) as info:
        COS(ts)
    assert shown in str(info.value)


def test_good_times_of_every_numeric_type_agree() -> None:
    """Python and numpy ints and floats, and exact rationals, are times; all give the float value."""
    from fractions import Fraction

    want = COS(3.0)
    for t in (3, 3.0, np.int8(3), np.uint64(3), np.int64(3), np.float32(3.0), np.float64(3.0), Fraction(3, 1)):
        assert COS(t) == want, repr(t)
        assert isinstance(COS(t), float)
    assert COS(np.array(3.0)) == want  # a 0-d array keeps its shape
    assert COS(np.array(3.0)).shape == ()


def test_bad_dtype_name_names_the_value() -> None:
    with pytest.raises(TypeError, match="not-a-dtype"):
        COS.array(10, dtype="not-a-dtype")


# ---------------------------------------------------------------------------
# Values that the contract forbids a valid schedule to produce


def test_cyclic_exp_range_cannot_produce_a_negative_rate() -> None:
    """A growing exp_range envelope (gamma > 1) on a wave that falls below base (peak < base) goes negative:
    base + (peak - base) * s * gamma**t < 0 once gamma**t > base / (base - peak).  Such a schedule must be refused
    at construction, or never yield a negative value."""
    try:
        s = lr.cyclic(base=1.0, peak=0.5, step_up=1.0, mode="exp_range", gamma=2.0)
    except ValueError as err:
        assert "cyclic:" in str(err)
        return
    values = s.array(40)
    assert (values >= 0.0).all(), f"negative learning rates: {values[values < 0.0][:3]}"


# ---------------------------------------------------------------------------
# Every way of building a node validates, and nests at most 64 levels


@pytest.mark.parametrize(
    ("kind", "params", "exc", "shown"),
    [
        ("join", (("schedules", (COS,)), ("boundaries", (1.0, 2.0))), ValueError, "join: `boundaries`"),
        ("piecewise_constant", (("boundaries", (1.0, 2.0)), ("values", (1.0,))), ValueError,
         "piecewise_constant: `values`"),
        ("constant", (("value", -1.0),), ValueError, "constant: `value`"),
        ("cyclic", (("base", 0.1), ("peak", 1.0), ("step_up", 2.0), ("mode", "x")), ValueError, "cyclic: `mode`"),
        ("nope", (), ValueError, "Schedule: unknown schedule kind 'nope'"),
        ("constant", (("value", 1.0), ("value", 2.0)), ValueError, "Schedule: parameter 'value' is given twice"),
        ("constant", (("vale", 1.0),), ValueError, "Schedule: constant has no parameter(s) 'vale'"),
        ("constant", "value=1", TypeError, "Schedule: `params`"),
    ],
)
def test_schedule_constructor_and_unpickling_validate(kind: Any, params: Any, exc: type[Exception], shown: str) -> None:
    import pickle

    class Edited:  # what an edited pickle holds
        def __reduce__(self) -> tuple[Any, ...]:
            return (lr.Schedule, (kind, params))

    with pytest.raises(exc) as info:
        lr.Schedule(kind, params)
    assert str(info.value).startswith(shown), str(info.value)
    with pytest.raises(exc) as info:
        pickle.loads(pickle.dumps(Edited()))
    assert str(info.value).startswith(shown), str(info.value)


def test_schedule_constructor_rebuilds_the_canonical_node() -> None:
    s = lr.Schedule("cosine", (("init", 1), ("steps", 10)))
    assert s == lr.cosine(init=1, steps=10) and s.params == lr.cosine(init=1, steps=10).params
    assert lr.Schedule("multistep", (("init", 1.0), ("milestones", np.array([2, 4])))) == lr.multistep(
        init=1, milestones=[2, 4])


def test_depth_limit_everywhere() -> None:
    import copy
    import pickle

    s = lr.constant(value=1.0)
    for _ in range(63):
        s = lr.warmup(s, steps=2)
    for same in (lr.parse(repr(s)), lr.from_json(s.to_json()), pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert same == s and hash(same) == hash(s)
    assert copy.deepcopy(s) is s and copy.copy(s) is s
    with pytest.raises(ValueError, match="warmup: `schedule` nests 64 levels deep, so this warmup would nest 65; "
                                         "schedules nest at most 64 levels"):
        lr.warmup(s, steps=2)
    with pytest.raises(ValueError, match="parse: the expression nests schedules 65 levels deep"):
        lr.parse(f"warmup({s!r}, steps=2)")
    with pytest.raises(ValueError, match="from_dict: the schedule nests 65 levels deep"):
        lr.from_dict({"kind": "warmup", "schedule": s.to_dict(), "steps": 2})


def test_readme_untrusted_input_snippet_prints_what_it_says() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "from a config file" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(block, {})
    promised = [line.split("# ", 1)[1] for line in block.splitlines() if line.strip().startswith("print(err)")]
    assert out.getvalue().splitlines() == promised
