"""Hostile input never hangs, crashes or lies: loops that must end, bad nodes, nesting, huge numbers,
overflow, and arrays that must equal the scalar values.

Every case runs in a worker subprocess that reports each outcome on its own line;
a case that hangs (past CASE_TIMEOUT) or kills the worker (abort, segfault) is
recorded as such and the worker restarts after it, so a regression fails that case
instead of stalling or killing the test run.  Each case states its exact expected
outcome: a one-line ValueError/TypeError naming the place and the parameter, or a
finite value >= 0 (equal to one computed independently here where there is one).
The bad nodes come from the catalogue of bad input (``bad_inputs.py``): each of its
parameter cases and rules built as ``Schedule(kind, params)`` and as an edited pickle.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import pickle
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import bad_inputs as B
import numpy as np
import pytest
import reference as R
import test_core_records as records

import lrcore as lr
from lrcore._registry import KINDS

HERE = Path(__file__).resolve().parent
CASE_TIMEOUT = 20.0  # seconds for one case: every case takes milliseconds once lrcore is loaded
STARTUP_TIMEOUT = 180.0  # importing lrcore (and compiling its kernel if the cache is cold)
MAX = sys.float_info.max
DEPTH = 64  # lrcore's documented nesting limit

Outcome = dict[str, Any]
Expect = Callable[[Outcome], None]
CASES: dict[str, tuple[Callable[[], Any], Expect]] = {}


def case(name: str, expect: Expect) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def add(fn: Callable[[], Any]) -> Callable[[], Any]:
        assert name not in CASES, name
        CASES[name] = (fn, expect)
        return fn

    return add


def add(name: str, fn: Callable[[], Any], expect: Expect) -> None:
    case(name, expect)(fn)


# ---------------------------------------------------------------------------
# Expected outcomes (checked in the test process)


def refused(exc: type[Exception], where: str, name: str | None = None, *contains: str) -> Expect:
    """A one-line `exc` whose message starts with ``where:`` and names `name` as ``name`` and ``got name=``."""

    def check(out: Outcome) -> None:
        assert out.get("raised") == exc.__name__, out
        message = out["message"]
        assert "\n" not in message and len(message) < 1000, message
        assert message.startswith(where if where.startswith("schedule time") else f"{where}:"), message
        if name is not None:
            assert f"`{name}`" in message and f"got {name.split('[')[0]}" in message, message
        for text in contains:
            assert text in message, message

    return check


def meets(case: B.Bad) -> Expect:
    """The refusal the catalogue's case states (``bad_inputs.refusal_problems``)."""

    def check(out: Outcome) -> None:
        problems = B.refusal_problems(case, out.get("raised"), out.get("message", ""))
        assert not problems, (out, problems)

    return check


def starts(exc: type[Exception], prefix: str) -> Expect:
    """A one-line `exc` whose message starts with `prefix`."""

    def check(out: Outcome) -> None:
        assert out.get("raised") == exc.__name__, out
        assert "\n" not in out["message"] and out["message"].startswith(prefix), out

    return check


def _floats(out: Outcome) -> list[float]:
    assert "value" in out, out
    v = out["value"]
    values = v if isinstance(v, list) else [v]
    assert values and all(isinstance(x, float) for x in values), out
    return values


def equal(*expected: float, rel: float = 0.0) -> Expect:
    """Finite values >= 0 equal to `expected` (bit for bit unless `rel` is given)."""

    def check(out: Outcome) -> None:
        got = _floats(out)
        assert len(got) == len(expected), out
        for g, want in zip(got, expected, strict=True):
            assert math.isfinite(g) and g >= 0.0, out
            assert g == want if rel == 0.0 else abs(g - want) <= rel * abs(want), (g, want)

    return check


def within(lo: float, hi: float) -> Expect:
    """Finite values in [lo, hi] (where no closed form is practical, the kind's own range)."""

    def check(out: Outcome) -> None:
        for g in _floats(out):
            assert math.isfinite(g) and lo <= g <= hi, out

    return check


def finite() -> Expect:
    return within(0.0, MAX)


def holds() -> Expect:
    """The case's own checks (a dict of name -> bool, all True)."""

    def check(out: Outcome) -> None:
        assert "value" in out and isinstance(out["value"], dict), out
        failed = [k for k, ok in out["value"].items() if ok is not True]
        assert not failed, out

    return check


def either(*checks: Expect) -> Expect:
    """Any one of the outcomes (where the contract allows refusing or computing)."""

    def check(out: Outcome) -> None:
        errors = []
        for c in checks:
            try:
                c(out)
                return
            except AssertionError as err:
                errors.append(str(err))
        raise AssertionError(f"{out} matches none of the expected outcomes: {errors}")

    return check


def cli_exit(status: int, *contains: str) -> Expect:
    """The command line's exit status; on status 2 exactly one line on stderr and no traceback."""

    def check(out: Outcome) -> None:
        assert "value" in out, out
        got = out["value"]
        assert got["status"] == status, got
        if status == 2:
            lines = got["err"].splitlines()
            assert len(lines) == 1 and lines[0].startswith("lrcore: error: "), got
            assert "Traceback" not in got["err"]
        for text in contains:
            assert text in got["err"] + got["out"], got

    return check


# ---------------------------------------------------------------------------
# Helpers run in the worker


def cli(*argv: str) -> dict[str, Any]:
    from lrcore._cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return {"status": status, "out": out.getvalue()[-2000:], "err": err.getvalue()[-2000:]}


def cli_file(text: str, *argv: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp, "spec.json")
        spec.write_text(text)
        return cli(argv[0], str(spec), *argv[1:])


class Tampered:
    """Pickles as ``Schedule(kind, params)``: what an edited pickle file would hold."""

    def __init__(self, kind: Any, params: Any) -> None:
        self.kind, self.params = kind, params

    def __reduce__(self) -> tuple[Any, ...]:
        return (lr.Schedule, (self.kind, self.params))


def unpickle(kind: Any, params: Any) -> Any:
    return pickle.loads(pickle.dumps(Tampered(kind, params)))


C1 = lr.constant(value=1.0)


def chain(wrap: Callable[[lr.Schedule], lr.Schedule], depth: int, leaf: lr.Schedule = C1) -> lr.Schedule:
    """`leaf` wrapped depth - 1 times: a schedule `depth` levels deep."""
    s = leaf
    for _ in range(depth - 1):
        s = wrap(s)
    return s


def wrapper(kind: str) -> Callable[[lr.Schedule], lr.Schedule]:
    """Wrap a schedule in combinator `kind` one level deeper: the kind's first catalogue spec with the
    schedule in place of its first child (the last of a list of schedules)."""
    args = lr.from_dict(R.ORACLES[kind].catalogue[0]).args
    slot = KINDS[kind].children[0]

    def wrap(s: lr.Schedule) -> lr.Schedule:
        value = args[slot]
        return KINDS[kind].constructor(**{**args, slot: (*value[:-1], s) if isinstance(value, tuple) else s})

    return wrap


WRAPS = {kind: wrapper(kind) for kind in records.COMBINATORS}


def at_the_limit(kind: str) -> dict[str, bool]:
    """Every operation works on a schedule exactly DEPTH levels deep."""
    s = chain(WRAPS[kind], DEPTH)
    twin = chain(WRAPS[kind], DEPTH)
    values = s.array(5)
    return {
        "eq": s == twin and not (s != twin),
        "hash": hash(s) == hash(twin),
        "repr-parse": lr.parse(repr(s)) == s,
        "json": lr.from_json(s.to_json()) == s,
        "dict": lr.from_dict(json.loads(json.dumps(s.to_dict()))) == s,
        "pickle": pickle.loads(pickle.dumps(s)) == s,
        "Schedule()": lr.Schedule(s.kind, s.params) == s,
        "copy": copy.copy(s) is s and copy.deepcopy(s) is s and copy.deepcopy([s])[0] is s,
        "values": bool(np.isfinite(values).all()) and [s(i) for i in range(5)] == values.tolist(),
        "horizon": s.horizon is None or math.isfinite(s.horizon),
    }


def one_past_the_limit(kind: str) -> Any:
    return WRAPS[kind](chain(WRAPS[kind], DEPTH))


def nested_json(depth: int) -> str:
    inner = '{"kind": "constant", "value": 1}'
    return '{"kind": "scale", "factor": 1, "schedule": ' * (depth - 1) + inner + "}" * (depth - 1)


def nested_dict(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": "constant", "value": 1.0}
    for _ in range(depth - 1):
        d = {"kind": "warmup", "schedule": d, "steps": 1.0}
    return d


def nested_list(depth: int) -> list[Any]:
    out: list[Any] = []
    for _ in range(depth - 1):
        out = [out]
    return out


def torch_resume_at(t: int) -> list[float]:
    import torch

    from lrcore.adapters.torch import Scheduler

    def fresh() -> tuple[Any, Any]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        return opt, Scheduler(opt, lr.cosine_restarts(init=1, period=1, period_mult=3))

    _, saved = fresh()
    state = saved.state_dict()
    state["t"] = t
    opt, sched = fresh()
    sched.load_state_dict(state)
    return [float(g["lr"]) for g in opt.param_groups]


def keras_from_config(schedule: dict[str, Any], steps: int) -> list[float]:
    """What keras.saving.load_model does with a saved lrcore Schedule (its config from the file)."""
    from lrcore.adapters.keras import Schedule

    restored = Schedule.from_config({"schedule": schedule, "steps": steps, "scale": 1.0, "plateau_state": None})
    return [float(restored(t)) for t in range(steps)]


def array_equals_scalar(s: lr.Schedule, n: int, start: float) -> dict[str, bool]:
    got = s.array(n, start=start)
    return {f"t={start + i!r}": float(got[i]) == s(start + i) for i in range(n)}


# ---------------------------------------------------------------------------
# Kernel loops that never ended (every loop must be bounded)

CR = lr.cosine_restarts
add("restarts-mult-1e308-t2", lambda: CR(init=1, period=1, period_mult=1e308)(2), equal(1.0))
add("restarts-mult-1e308-array", lambda: CR(init=1, period=1, period_mult=1e308).array(4).tolist(),
    equal(1.0, 1.0, 1.0, 1.0))
add("restarts-mult-3-t1e308", lambda: CR(init=1, period=1, period_mult=3)(1e308), within(0.0, 1.0))
add("restarts-mult-1+ulp-t1e17", lambda: CR(init=1, period=1, period_mult=1 + 2**-52)(1e17), within(0.0, 1.0))
add("restarts-mult-1+ulp-array-1e17", lambda: CR(init=1, period=1, period_mult=1 + 2**-52).array(3, start=1e17)
    .tolist(), within(0.0, 1.0))
add("restarts-mult-2-t-max", lambda: CR(init=1, period=1, period_mult=2)(MAX), within(0.0, 1.0))
add("restarts-tiny-period-t1e300", lambda: CR(init=1, period=5e-324, period_mult=1.5)(1e300), within(0.0, 1.0))
add("restarts-tiny-period-mult1", lambda: CR(init=1, period=5e-324)(1e300), within(0.0, 1.0))
add("restarts-decay-huge-t", lambda: CR(init=1, period=1, period_mult=2, decay=0.5, final=0.01)(1e300),
    within(0.0, 1.0))
add("restarts-in-join-huge-t", lambda: lr.join([C1, CR(init=1, period=1, period_mult=1e308)], boundaries=[1])(1e308),
    within(0.0, 1.0))
add("restarts-cli-table", lambda: cli("table", "cosine_restarts(init=1, period=1, period_mult=1e308)", "--steps", "3"),
    cli_exit(0))
add("restarts-keras-load", lambda: keras_from_config(CR(init=1, period=1, period_mult=1e308).to_dict(), 3),
    equal(1.0, 1.0, 1.0))
add("restarts-torch-resume-huge-t", lambda: torch_resume_at(10**300),
    either(refused(ValueError, "Scheduler.load_state_dict", "t"), within(0.0, 1.0)))
add("restarts-torch-resume-2**60", lambda: torch_resume_at(2**60),
    either(refused(ValueError, "Scheduler.load_state_dict", "t"), within(0.0, 1.0)))
# The same shape in every other loop or search: cycles, staircases, long tables.
add("cyclic-triangular2-t1e308", lambda: lr.cyclic(base=0.1, peak=1, step_up=2, mode="triangular2")(1e308),
    equal(0.1))
add("cyclic-tiny-steps-t1e300", lambda: lr.cyclic(base=0.1, peak=1, step_up=5e-324)(1e300), within(0.1, 1.0))
add("step-t1e308", lambda: lr.step(init=1, step_size=1, gamma=0.5)(1e308), equal(0.0))
add("step-tiny-size-t-max", lambda: lr.step(init=1, step_size=5e-324, gamma=0.5)(MAX), equal(0.0))
add("exponential-staircase-t1e308", lambda: lr.exponential(init=1, gamma=0.9, staircase=True)(1e308), equal(0.0))
add("polynomial-cycle-t1e308", lambda: lr.polynomial(init=1, end=0.1, steps=3, cycle=True)(1e308),
    within(0.1, 1.0))
add("cosine-periodic-t1e308", lambda: lr.cosine(init=1, steps=3, periodic=True)(1e308), within(0.0, 1.0))
add("multistep-10000-milestones", lambda: lr.multistep(init=1, milestones=list(range(1, 10_001)), gamma=0.999)(5000.5),
    equal(0.999**5000, rel=1e-12))
add("piecewise-10000-boundaries", lambda: lr.piecewise_constant(
    boundaries=list(range(1, 10_001)), values=[1 / (i + 1) for i in range(10_001)]).array(3, start=7777.5).tolist(),
    equal(1 / 7778, 1 / 7779, 1 / 7780))
add("interpolate-5000-points-huge-t", lambda: lr.interpolate(points=[(i, i % 7) for i in range(5000)])(1e300),
    equal(4999 % 7))
add("join-200-huge-t", lambda: lr.join([lr.constant(value=i) for i in range(200)],
                                       boundaries=list(range(1, 200)))(1e308), equal(199.0))


# ---------------------------------------------------------------------------
# Every way of building a node validates (a bad node corrupted memory): the catalogue's bad arguments
# and rules as hand-made nodes and edited pickles, and malformed nodes

for _case in B.node_cases(records.COMPLETE):
    assert _case.node is not None
    _kind, _args = _case.node
    add(f"Schedule-{_case.name}", lambda k=_kind, a=_args: lr.Schedule(k, tuple(a.items())), meets(_case))
    add(f"unpickle-{_case.name}", lambda k=_kind, a=_args: unpickle(k, tuple(a.items())), meets(_case))
for _name, _kind, _params, _exc, _prefix in B.NODES:
    add(f"Schedule-{_name}", lambda k=_kind, p=_params: lr.Schedule(k, p), starts(_exc, _prefix))
    add(f"unpickle-{_name}", lambda k=_kind, p=_params: unpickle(k, p), starts(_exc, _prefix))

add("Schedule-valid-equals-constructor", lambda: {
    "leaf": lr.Schedule("cosine", (("init", 1), ("steps", 10))) == lr.cosine(init=1, steps=10),
    "numpy": lr.Schedule("multistep", (("init", 1.0), ("milestones", np.array([2, 4])))) == lr.multistep(
        init=1, milestones=[2, 4]),
    "nested": lr.Schedule("warmup", (("schedule", C1), ("steps", 2))) == lr.warmup(C1, steps=2),
    "pickle": all(pickle.loads(pickle.dumps(s)) == s for s in (
        lr.cosine(init=1, steps=10), lr.join([C1, C1], boundaries=[3]), lr.cyclic(base=0.1, peak=1, step_up=2),
        lr.interpolate(points=[(0, 1), (3, 0)]), lr.warmup(lr.exponential(init=1, gamma=0.9), steps=3, start=0.1,
                                                            shape="exponential"))),
}, holds())


# ---------------------------------------------------------------------------
# Depth.  Construction refuses more than DEPTH levels everywhere; at DEPTH all works.

for _kind in WRAPS:
    add(f"depth-{_kind}-at-limit", lambda k=_kind: at_the_limit(k), holds())
    add(f"depth-{_kind}-past-limit", lambda k=_kind: one_past_the_limit(k),
        refused(ValueError, _kind, None, f"would nest {DEPTH + 1}", f"at most {DEPTH} levels"))
add("depth-Schedule-past-limit", lambda: lr.Schedule("warmup", (("schedule", chain(WRAPS["warmup"], DEPTH)),
                                                                ("steps", 1.0))),
    refused(ValueError, "warmup", None, f"at most {DEPTH} levels"))
add("depth-unpickle-past-limit", lambda: unpickle("warmup", (("schedule", chain(WRAPS["warmup"], DEPTH)),
                                                             ("steps", 1.0))),
    refused(ValueError, "warmup", None, f"at most {DEPTH} levels"))
SUM_300 = " + ".join(["constant(value=1)"] * 300)
add("depth-parse-sum-300", lambda: lr.parse(SUM_300),
    refused(ValueError, "parse", None, "300 levels", f"at most {DEPTH} levels"))
add("depth-parse-sum-988", lambda: lr.parse(" + ".join(["constant(value=1)"] * 988)),
    refused(ValueError, "parse", None, "988 levels"))
add("depth-parse-sum-5000", lambda: lr.parse("+".join(["constant(value=1)"] * 5000)),
    refused(ValueError, "parse", None, f"schedules nest at most {DEPTH} levels"))  # Python's parser may give up first
add("depth-parse-product-65", lambda: lr.parse("constant(value=1)" + " * 0.5" * 64),
    refused(ValueError, "parse", None, "65 levels"))
add("depth-parse-warmup-988", lambda: lr.parse("warmup(" * 988 + "constant(value=1)" + ", steps=1)" * 988),
    refused(ValueError, "parse"))
add("depth-parse-repr-of-64", lambda: {k: lr.parse(repr(s)) == s for k, s in
                                        (("join", chain(WRAPS["join"], DEPTH)),)}, holds())
add("depth-from_json-400", lambda: lr.from_json(nested_json(400)),
    refused(ValueError, "from_json", None, "400 levels", f"at most {DEPTH} levels"))
add("depth-from_json-65", lambda: lr.from_json(nested_json(65)), refused(ValueError, "from_json", None, "65 levels"))
add("depth-from_json-64", lambda: lr.from_json(nested_json(64))(1), equal(1.0))
add("depth-from_json-100000", lambda: lr.from_json(nested_json(100_000)), refused(ValueError, "from_json"))
add("depth-from_json-lists-100000", lambda: lr.from_json('{"kind": "constant", "value": ' + "[" * 100_000
                                                         + "]" * 100_000 + "}"), refused(ValueError, "from_json"))
add("depth-from_dict-400", lambda: lr.from_dict(nested_dict(400)), refused(ValueError, "from_dict", None, "400"))
add("depth-from_dict-lists-5000", lambda: lr.from_dict({"kind": "multistep", "init": 1.0,
                                                        "milestones": nested_list(5000)}),
    refused(ValueError, "from_dict", None, "5001 levels"))
add("depth-cli-json-400", lambda: cli_file(nested_json(400), "table", "--steps", "3"),
    cli_exit(2, "400 levels"))
add("depth-cli-sum-300", lambda: cli("table", SUM_300, "--steps", "3"), cli_exit(2, "300 levels"))


# ---------------------------------------------------------------------------
# Huge numbers and long text: one-line errors naming the parameter and the value (the kinds'
# parameters take theirs in bad_inputs.py)

add("huge-int-json", lambda: lr.from_json('{"kind": "constant", "value": 1' + "0" * 400 + "}"),
    refused(ValueError, "constant", "value"))
add("huge-float-json", lambda: lr.from_json('{"kind": "constant", "value": 1e400}'),
    refused(ValueError, "constant", "value"))
add("huge-int-json-5000-digits", lambda: lr.from_json('{"kind": "constant", "value": 1' + "0" * 5000 + "}"),
    refused(ValueError, "from_json"))
add("huge-int-parse-5000-digits", lambda: lr.parse("constant(value=1" + "0" * 5000 + ")"),
    refused(ValueError, "parse", None, "5001 digits"))
add("huge-int-parse", lambda: lr.parse("constant(value=1" + "0" * 400 + ")"), refused(ValueError, "constant", "value"))
add("fraction-time", lambda: lr.linear(start=0, end=1, steps=3)(Fraction(3, 2)), equal(0.5))
SIGNS = "constant(value=" + "-" * 10_000 + "1)"
add("signs-10000", lambda: lr.parse(SIGNS), refused(ValueError, "parse", None, "10000 signs"))
add("signs-3000-plus", lambda: lr.parse("constant(value=" + "+" * 3000 + "1)"), refused(ValueError, "parse"))
add("signs-cli", lambda: cli("table", SIGNS, "--steps", "3"), cli_exit(2, "signs"))
add("signs-two-allowed", lambda: lr.parse("constant(value=--1)")(0), equal(1.0))
add("cyclic-period-max-ok", lambda: lr.cyclic(base=0.1, peak=1, step_up=8e307)(8e307), equal(1.0))
add("multistep-growth-fits", lambda: lr.multistep(init=1, milestones=[1, 2], gamma=1e150)(5), equal(1e300, rel=1e-15))
add("parse-times-true", lambda: lr.parse("constant(value=1) * True"), refused(TypeError, "parse", None, "True"))
add("parse-true-times", lambda: lr.parse("True * constant(value=1)"), refused(TypeError, "parse", None, "True"))
add("parse-plus-str", lambda: lr.parse("constant(value=1) + 'a'"), refused(TypeError, "parse", None, "'a'"))
add("parse-plus-none", lambda: lr.parse("constant(value=1) + None"), refused(TypeError, "parse", None, "None"))
add("parse-times-list", lambda: lr.parse("constant(value=1) * [2]"), refused(TypeError, "parse", None, "[2]"))
add("parse-repeated-keyword", lambda: lr.parse("cosine(init=.1, steps=10, steps=1000)"),
    refused(ValueError, "parse", None, "'steps' repeated"))
add("parse-repeated-keyword-nested", lambda: lr.parse("warmup(constant(value=1, value=2), steps=1)"),
    refused(ValueError, "parse", None, "'value' repeated"))
add("parse-dict-list-key", lambda: lr.parse("constant(value={[1]: 2})"), refused(TypeError, "parse", None, "[1]"))
add("from_dict-int-key", lambda: lr.from_dict({"kind": "constant", 1: 2, "value": 1}),
    refused(TypeError, "from_dict", None, "strings", "got 1"))
add("from_dict-tuple-key", lambda: lr.from_dict({"kind": "constant", ("value",): 1}),
    refused(TypeError, "from_dict", None, "strings"))
add("from_dict-nested-int-key", lambda: lr.from_dict({"kind": "warmup", "steps": 1, "schedule": {
    "kind": "constant", "value": 1, None: 3}}), refused(TypeError, "from_dict", None, "None"))
add("from_dict-list-kind", lambda: lr.from_dict({"kind": ["constant"], "value": 1}),
    refused(ValueError, "from_dict", None, "unknown schedule kind ['constant']"))
add("from_dict-dict-kind", lambda: lr.from_dict({"kind": {"a": 1}, "value": 1}),
    refused(ValueError, "from_dict", None, "unknown schedule kind"))
add("from_dict-custom", lambda: lr.from_dict({"kind": "custom", "fn": "print"}),
    refused(ValueError, "from_dict", None, "custom"))


# ---------------------------------------------------------------------------
# Accepted parameters never give NaN or inf (refused, or computed without overflow)

add("warmup-exponential-start-1e-310", lambda: lr.warmup(lr.constant(value=0.1), steps=10, shape="exponential",
                                                         start=1e-310)(5),
    either(refused(ValueError, "warmup", "start"), equal(math.sqrt(1e-310 * 0.1), rel=1e-12)))
add("warmup-exponential-start-huge", lambda: lr.warmup(lr.constant(value=1e-300), steps=10, shape="exponential",
                                                       start=1e300)(5),
    either(refused(ValueError, "warmup", "start"), equal(1.0, rel=1e-12)))
add("zero-times-growing-step", lambda: (lr.constant(value=0) * lr.step(init=1, step_size=1, gamma=1e308))
    .array(5).tolist(), equal(0.0, 0.0, 0.0, 0.0, 0.0))
add("zero-times-growing-step-scalar", lambda: (lr.constant(value=0) * lr.step(init=1, step_size=1, gamma=1e308))(3),
    equal(0.0))
add("zero-times-growing-exponential", lambda: [(lr.constant(value=0) * lr.exponential(init=1, gamma=1e308))(t)
                                               for t in (0, 1.5, 10)], equal(0.0, 0.0, 0.0))
add("step-subnormal-size-gamma-1", lambda: lr.step(init=1e-310, step_size=1e-310, gamma=1)(1), equal(1e-310))
add("step-subnormal-size-gamma-1-array", lambda: lr.step(init=1e-310, step_size=1e-310, gamma=1).array(3).tolist(),
    equal(1e-310, 1e-310, 1e-310))
add("exponential-tiny-every-gamma-1", lambda: lr.exponential(init=1, gamma=1, every=1e-310)(1), equal(1.0))
add("inverse_time-tiny-every-rate-0", lambda: lr.inverse_time(init=1, rate=0, every=1e-310)(1), equal(1.0))
add("step-growing-huge-t", lambda: lr.step(init=1, step_size=1, gamma=1e308)(5), finite())
add("multistep-growing-past-max", lambda: lr.multistep(init=1, milestones=[1, 2], gamma=1e308).array(4).tolist(),
    within(1.0, MAX))
add("exponential-growing-huge-t", lambda: lr.exponential(init=1, gamma=1e308)(1e300), finite())
add("restarts-growing-peak", lambda: CR(init=1, period=1, decay=1e308)(10.5), finite())
add("cyclic-exp-range-growing", lambda: lr.cyclic(base=0, peak=1, step_up=1, mode="exp_range", gamma=1e308)(20.5),
    finite())
add("scale-overflow", lambda: (lr.constant(value=1e308) * 4.0)(0), finite())
add("add-overflow", lambda: (lr.constant(value=1e308) + lr.constant(value=1e308))(0), finite())
add("product-overflow", lambda: (lr.constant(value=1e200) * lr.constant(value=1e200)).array(2).tolist(), finite())
add("shift-past-max", lambda: lr.shift(lr.linear(start=1, end=0.25, steps=10), steps=1.7e308)(1.7e308), equal(0.25))
# A shift past the largest float: the child must not be evaluated at an infinite time.
SHIFTED: list[tuple[str, lr.Schedule, float, float]] = [
    ("step", lr.step(init=1, step_size=2), 0.0, 1.0),
    ("step-growing", lr.step(init=1, step_size=1, gamma=1e308), 0.0, MAX),
    ("restarts", CR(init=1, period=1, period_mult=1e308), 0.0, 1.0),
    ("cosine-periodic", lr.cosine(init=1, steps=10, periodic=True), 0.0, 1.0),
    ("polynomial-cycle", lr.polynomial(init=1, end=0, steps=3, cycle=True), 0.0, 1.0),
    ("cyclic", lr.cyclic(base=0.1, peak=1, step_up=2), 0.1, 1.0),
    ("cyclic-exp-range", lr.cyclic(base=0, peak=1, step_up=5e-324, mode="exp_range", gamma=1e308), 0.0, MAX),
]
for _name, _s, _lo, _hi in SHIFTED:
    add(f"shift-past-max-{_name}", lambda s=_s: lr.shift(s, steps=1.7e308)(1.7e308), within(_lo, _hi))
    add(f"shift-past-max-{_name}-times-zero", lambda s=_s: (lr.shift(s, steps=1.7e308) * lr.constant(value=0))
        .array(3, start=1.7e308).tolist(), equal(0.0, 0.0, 0.0))
add("inverse_sqrt-huge-timescale", lambda: lr.inverse_sqrt(peak=1, warmup=0, timescale=1.7e308)(1.7e308),
    equal(1 / math.sqrt(2), rel=1e-15))


# ---------------------------------------------------------------------------
# s.array(n, start)[i] == s(start + i), bit for bit, with fractional offsets

OFFSETS = lr.shift(lr.warmup(lr.linear(start=1, end=0, steps=1000), steps=0.1), steps=0.1)
add("array-equals-scalar-offsets-at-64", lambda: [float(OFFSETS.array(100)[64]), OFFSETS(64)],
    equal(OFFSETS(64), OFFSETS(64)))
for _start in (0, 0.5, 63.3, 999.95):
    add(f"array-equals-scalar-shift-warmup-{_start}", lambda a=_start: array_equals_scalar(OFFSETS, 50, a), holds())
    add(f"array-equals-scalar-join-{_start}", lambda a=_start: array_equals_scalar(lr.join(
        [lr.linear(start=1, end=0.5, steps=10), lr.warmup(lr.cosine(init=0.5, steps=700), steps=0.3)],
        boundaries=[10.7]), 60, a), holds())


# ---------------------------------------------------------------------------
# The worker and its runner


def _encode(value: Any) -> Any:
    if isinstance(value, (bool, str, type(None))):
        return value
    if isinstance(value, (int, float, np.floating, np.integer)):
        return {"float": float(value).hex()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): _encode(v) for k, v in value.items()}}
    return {"repr": repr(value)[:500]}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "float" in value:
            return float.fromhex(value["float"])
        if "dict" in value:
            return {k: _decode(v) for k, v in value["dict"].items()}
        return value
    return value


def serve(names: list[str]) -> None:
    """Run the named cases in order, one line per event on the original stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a case that aborts leaves no core file behind
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else writes to stdout cannot garble the channel
    for name in names:
        channel.write(json.dumps({"start": name}) + "\n")
        try:
            out = {"value": _encode(CASES[name][0]())}
        except Exception as err:
            out = {"raised": type(err).__name__, "message": str(err)}
        channel.write(json.dumps({"done": name, **out}) + "\n")


WORKER = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_hostile; test_hostile.serve(sys.argv[1:])"


def run_cases(names: list[str], case_timeout: float = CASE_TIMEOUT) -> dict[str, Outcome]:
    """Outcomes of the named cases; a hang or a dead worker is the outcome of the case it was running."""
    results: dict[str, Outcome] = {}
    pending = list(names)
    while pending:
        with tempfile.TemporaryFile() as errors, tempfile.TemporaryDirectory() as cwd:
            proc = subprocess.Popen([sys.executable, "-c", WORKER, *pending], stdout=subprocess.PIPE,
                                    stderr=errors, cwd=cwd)
            assert proc.stdout is not None
            fd, buffer, current = proc.stdout.fileno(), b"", None
            deadline = time.monotonic() + STARTUP_TIMEOUT
            try:
                while True:
                    if b"\n" not in buffer:
                        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                        if not ready:
                            results[current or pending[0]] = {"hang": f"no answer within {case_timeout} s"}
                            break
                        chunk = os.read(fd, 1 << 16)
                        if not chunk:
                            status = proc.wait()
                            errors.seek(0)
                            tail = errors.read()[-1500:].decode(errors="replace")
                            if current is not None or pending:
                                results[current or pending[0]] = {"crash": status, "stderr": tail}
                            break
                        buffer += chunk
                        continue
                    line, buffer = buffer.split(b"\n", 1)
                    event = json.loads(line)
                    if "start" in event:
                        current = event["start"]
                    else:
                        name = event.pop("done")
                        if "value" in event:
                            event["value"] = _decode(event["value"])
                        results[name] = event
                        current = None
                        pending.remove(name)
                        if not pending:
                            break
                    deadline = time.monotonic() + case_timeout
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        pending = [n for n in pending if n not in results]
    return results


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Every selected case, run once in the worker."""
    wanted = [item.callspec.params["name"] for item in request.session.items
              if getattr(item, "module", None) is request.module  # doctests of lrcore/ have no module
              and hasattr(item, "callspec") and "name" in item.callspec.params]
    return run_cases(wanted)


# The runner's own checks (not part of the catalogue).
add("_hangs", lambda: time.sleep(3600), equal(0.0))
add("_dies", lambda: os.abort(), equal(0.0))


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("_")])
def test_case(name: str, outcomes: dict[str, Outcome]) -> None:
    out = outcomes[name]
    assert "hang" not in out and "crash" not in out, f"{name}: {out}"
    CASES[name][1](out)


def test_a_hang_or_crash_fails_only_its_case() -> None:
    """The runner itself: a worker that hangs or dies is restarted after the case it was running."""
    results = run_cases(["signs-two-allowed", "_hangs", "Schedule-constant-value-huge-int", "_dies", "fraction-time"],
                        3.0)
    assert results["Schedule-constant-value-huge-int"]["raised"] == "ValueError"
    assert "hang" in results["_hangs"] and "crash" in results["_dies"]
    assert results["_dies"]["crash"] != 0
    assert results["signs-two-allowed"] == {"value": 1.0}
    assert results["fraction-time"] == {"value": 0.5}
