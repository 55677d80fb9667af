"""The catalogue of bad input: every case a suite feeds lrcore to be refused, in one place.

- ``parameter_cases(kind)``: for each parameter of the kind (lrcore's ``Param``), bad values
  derived from its type, bounds, ``optional`` and ``choices``: the wrong type, a bool, None,
  NaN, +-inf, ints too large for a float, a value just past each bound, a choice it does not
  take, an empty, unsorted, repeated or two-dimensional sequence, an element of the wrong
  type...  Each is one bad argument to an otherwise valid call (the kind's first catalogue
  spec), so a new kind or parameter gets its cases without a line written here.
- ``RULES``: what only a kind's cross-parameter rule refuses (written by hand), and operators.
- ``TOOLS``: the arguments of evaluation and of the tools.
- ``TIMES`` and ``TIME_ARRAYS``: bad times.
- ``NODES``: malformed ``Schedule(kind, params)`` nodes (what an edited pickle holds).

Every refusal is a one-line ValueError or TypeError that starts with the place, names the
parameter and shows the value: ``cosine: `steps` must be > 0; got steps=0.0``
(``refusal_problems`` checks that).  ``test_core_bad_inputs.py`` runs each case's call;
``test_hostile.py`` builds each parameter case and rule as a node (``Schedule(kind,
params)``, unpickling) in its worker process, with the structural ``NODES``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import reference as R

import lrcore as lr
from lrcore._registry import KINDS, REQUIRED, Param

NAN, INF = math.nan, math.inf
COS = lr.cosine(init=1.0, steps=10)
C1 = lr.constant(value=1.0)


@dataclasses.dataclass(frozen=True)
class Bad:
    """One bad input: the call that makes it and the refusal it must meet."""

    name: str
    call: Callable[[], Any]
    exc: type[Exception]
    where: str  # the message starts with "where:"
    param: str | None  # named as `param`, with "got param=" before the value
    shown: str = ""  # how the message shows the value
    contains: tuple[str, ...] = ()
    node: tuple[str, dict[str, Any]] | None = None  # (kind, arguments): the same input as a node


def refusal_problems(case: Bad, raised: str | None, message: str) -> list[str]:
    """Why an outcome (the exception's type name and message) is not the refusal `case` expects."""
    problems = []
    if raised != case.exc.__name__:
        problems.append(f"raised {raised}, not {case.exc.__name__}")
    if "\n" in message or len(message) >= 1000:
        problems.append("the message is not one short line")
    if not message.startswith(f"{case.where}:"):
        problems.append(f"the message does not start with {case.where + ':'!r}")
    if case.param is not None:
        got = f"got {case.param}="
        if f"`{case.param}`" not in message or got not in message:
            problems.append(f"the message does not name `{case.param}` and {got!r}")
        elif case.shown and case.shown not in message.split(got, 1)[1]:
            problems.append(f"the message does not show the value as {case.shown!r}")
    problems += [f"the message does not say {text!r}" for text in case.contains if text not in message]
    return problems


# ---------------------------------------------------------------------------
# Per parameter, from lrcore's Params

HUGE, HUGE_NEGATIVE = 10**400, -(10**5000)
COLUMN = "<column>"  # the message names the parameter and shows the column of numbers it checked


def _shown(value: Any) -> str:
    """How a message shows a value: its repr on one line, an int too large for a float as its
    magnitude, and a long repr by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**300:
        return f"{'-' if value < 0 else ''}1e+{round(math.log10(abs(value)))} (an int)"
    text = " ".join(line.strip() for line in repr(value).splitlines())
    return text if len(text) <= 200 else f"({len(text)} characters)"


def _past(p: Param) -> list[tuple[str, Any]]:
    """A number just past each of the parameter's bounds."""
    out = []
    if p.gt is not None:
        out.append(("at-lower-bound", float(p.gt)))
    if p.ge is not None:
        out.append(("below-lower-bound", math.nextafter(float(p.ge), -INF)))
    if p.lt is not None:
        out.append(("at-upper-bound", float(p.lt)))
    if p.le is not None:
        out.append(("above-upper-bound", math.nextafter(float(p.le), INF)))
    return out


def _other_choice(p: Param) -> str:
    """A choice some other parameter of lrcore takes, but not this one."""
    others = sorted({c for record in KINDS.values() for q in record.params for c in q.choices} - set(p.choices))
    return others[0] if others else "nope"


def bad_values(p: Param) -> list[tuple[str, Any, type[Exception], str | None]]:
    """(label, value, exception, what the message names if not p.name and the value) for each bad
    value of `p`; COLUMN: p.name, with the value shown as the column of numbers it checked."""
    V, T = ValueError, TypeError
    out: list[tuple[str, Any, type[Exception], str | None]] = []
    if not p.optional:
        out.append(("none", None, T, None))
    if p.length:
        # A length may be a string with a unit ("5%", "3ep"): any other string is a bad length.
        out += [("str-without-unit", "0.1", V, None), ("unknown-unit", "3parsecs", V, None),
                ("nan-with-unit", "nan%", V, None), ("negative-with-unit", "-1ep", V, None)]
        if p.gt == 0:
            out.append(("zero-with-unit", "0ep", V, None))
    if p.type == "real":
        out += [] if p.length else [("str", "0.1", T, None)]
        out += [("bool", True, T, None), ("complex", 1j, T, None),
                ("nan", NAN, V, None), ("inf", INF, V, None), ("-inf", -INF, V, None),
                ("huge-int", HUGE, V, None), ("huge-negative-int", HUGE_NEGATIVE, V, None)]
        out += [(label, x, V, None) for label, x in _past(p)]
    elif p.type == "int":
        valid = int(p.ge if p.ge is not None else (p.gt + 1 if p.gt is not None else 1))
        out += [] if p.length else [("str", str(valid), T, None)]
        out += [("float", float(valid), T, None), ("bool", True, T, None), ("nan", NAN, T, None),
                ("negative", -1, V, None)]
        if p.ge is not None and p.ge > 0:
            out.append(("below-lower-bound", int(p.ge) - 1, V, None))
        if p.gt is not None and p.gt >= 0:
            out.append(("at-lower-bound", int(p.gt), V, None))
        if p.lt is not None:
            out.append(("at-upper-bound", int(p.lt), V, None))
        if p.le is not None:
            out.append(("above-upper-bound", int(p.le) + 1, V, None))
    elif p.type == "flag":
        out += [("int", 1, T, None), ("float", 0.0, T, None), ("str", "yes", T, None)]
    elif p.type == "choice":
        out += [("other-choice", _other_choice(p), V, None), ("upper-case", p.choices[0].upper(), V, None),
                ("int", 1, T, None)]
    elif p.type == "reals":
        lo = p.gt if p.gt is not None else p.ge
        x = 1.0 if lo is None else float(lo) + 1.0
        out += [] if p.length else [("str", "3,6", T, None)]
        out += [("set", {x}, T, None), ("2d-array", np.ones((2, 2)) * x, V, None),
                ("element-str", [x, "6"], V, f"{p.name}[1]") if p.length else ("element-str", [x, "6"], T, None),
                ("element-bool", [True], T, None),
                ("element-nan", [x, NAN], V, None), ("element-inf", [INF], V, None),
                ("element-huge-int", [x, HUGE], V, None)]
        out += [(f"element-{label}", [bound], V, None) for label, bound in _past(p)]
        if p.increasing:
            out.append(("unsorted", [x + 4.0, x + 2.0], V, None))
        if p.increasing == "strictly":
            out.append(("repeated", [x + 2.0, x + 2.0], V, None))
    elif p.type == "points":
        out += [("empty", [], V, None), ("not-pairs", [(0.0, 0.1, 3.0)], T, None),
                ("t-str", [(0.0, 0.1), ("x", 0.2)], V, f"{p.name}[1][0]"),
                ("pair-str", ["ab"], T, None), ("not-at-zero", [(1.0, 0.1), (5.0, 0.2)], V, None),
                ("unsorted", [(0.0, 0.1), (5.0, 0.2), (4.0, 0.3)], V, COLUMN),
                ("repeated-t", [(0.0, 0.1), (0.0, 0.2)], V, COLUMN),
                ("negative-value", [(0.0, 0.1), (5.0, -5e-324)], V, COLUMN),
                ("nan-t", [(0.0, 0.1), (NAN, 0.2)], V, COLUMN), ("inf-value", [(0.0, INF)], V, COLUMN)]
    elif p.type == "schedule":
        out += [("float", 0.1, T, None), ("str", "cos", T, None), ("dict", {"kind": "constant", "value": 1.0}, T, None)]
    elif p.type == "schedules":
        out += [("empty", [], V, None), ("str", "cos", T, None),
                ("element-float", [COS, 0.1], T, f"{p.name}[1]"),
                ("element-dict", [{"kind": "constant", "value": 1.0}], T, f"{p.name}[0]")]
    elif p.type == "function":
        out += [("float", 0.1, T, None), ("str", "print", T, None)]
    return out


def _valid(p: Param) -> Any:
    """Some value the parameter accepts (for a kind without a catalogue spec)."""
    lo = p.gt if p.gt is not None else p.ge
    hi = p.lt if p.lt is not None else p.le
    number = (lo + hi) / 2 if lo is not None and hi is not None else (
        lo + 1 if lo is not None else (hi - 1 if hi is not None else 1.0))
    return {
        "real": float(number), "int": int(math.ceil(number)), "flag": False,
        "choice": p.choices[0] if p.choices else "", "reals": [], "points": [[0.0, 1.0]],
        "schedule": C1, "schedules": [C1], "function": lambda t: 0.1,
    }[p.type]


def valid_arguments(kind: str) -> dict[str, Any]:
    """Arguments the kind's constructor accepts: its first catalogue spec's, or each parameter's default
    or some value it accepts."""
    record = R.ORACLES.get(kind)
    if record is not None and record.catalogue:
        return lr.from_dict(record.catalogue[0]).args
    return {p.name: _valid(p) for p in KINDS[kind].params if p.default is REQUIRED}


def _call(kind: str, args: dict[str, Any]) -> Callable[[], Any]:
    return lambda: KINDS[kind].constructor(**args)


def parameter_cases(kind: str) -> list[Bad]:
    """One bad argument at a time to an otherwise valid call of the kind's constructor."""
    base = valid_arguments(kind)
    cases = []
    for p in KINDS[kind].params:
        for label, value, exc, named in bad_values(p):
            args = {**base, p.name: value}
            param = p.name if named in (None, COLUMN) else named
            shown = _shown(value) if named is None else ""
            cases.append(Bad(f"{kind}-{p.name}-{label}", _call(kind, args), exc, kind, param, shown,
                             node=(kind, args)))
    return cases


# ---------------------------------------------------------------------------
# Written by hand: what the kinds' cross-parameter rules refuse, and the operators


def rule(name: str, kind: str, args: dict[str, Any], exc: type[Exception], param: str, *contains: str) -> Bad:
    return Bad(f"{kind}-{name}", _call(kind, args), exc, kind, param, contains=contains, node=(kind, args))


V = ValueError
RULES: list[Bad] = [
    rule("floor-above-init", "exponential", dict(init=1.0, gamma=0.5, end=2.0), V, "end"),
    rule("ceiling-below-init", "exponential", dict(init=1.0, gamma=2.0, end=0.5), V, "end"),
    rule("periodic-k_decay", "cosine", dict(init=1.0, steps=10, periodic=True, k_decay=2), V, "k_decay"),
    rule("pct-half-three-phase", "one_cycle", dict(peak=1.0, steps=100, pct_start=0.5, three_phase=True), V,
         "pct_start"),
    rule("initial-overflows", "one_cycle", dict(peak=1.0, steps=100, div_factor=1e-320), V, "div_factor"),
    rule("final-overflows", "one_cycle", dict(peak=1e300, steps=100, div_factor=1, final_div_factor=1e-20), V,
         "final_div_factor"),
    rule("final-underflow-overflows", "one_cycle", dict(peak=1.0, steps=100, div_factor=1e-200,
                                                        final_div_factor=1e-200), V, "final_div_factor"),
    rule("gamma-without-envelope", "cyclic", dict(base=0.1, peak=1.0, step_up=4, mode="triangular2", gamma=0.5), V,
         "gamma"),
    rule("period-overflows", "cyclic", dict(base=0.1, peak=1.0, step_up=1.7e308, step_down=1.7e308), V, "step_down"),
    rule("default-period-overflows", "cyclic", dict(base=0.1, peak=1.0, step_up=1e308), V, "step_up"),
    rule("fewer-values", "piecewise_constant", dict(boundaries=[3, 6], values=[1.0, 0.1]), V, "values"),
    rule("more-boundaries", "piecewise_constant", dict(boundaries=(1.0, 2.0, 3.0), values=(1.0,)), V, "values"),
    rule("too-long", "wsd", dict(peak=1.0, steps=100, warmup=60, decay=50), V, "decay"),
    rule("upper-not-above-lower", "tanh_decay", dict(init=1.0, steps=10, lower=3, upper=3), V, "upper"),
    rule("end-below-start", "range_test", dict(start=1.0, end=0.5), V, "end"),
    rule("end-equals-start", "range_test", dict(start=0.1, end=0.1), V, "end"),
    rule("ratio-overflows", "range_test", dict(start=1e-300, end=1e300), V, "end"),
    rule("no-room-to-increase", "range_test", dict(start=1.0, end=1 + 1e-12, steps=10_000), V, "steps",
         "2**-36", "start=1.0", "end=1.000000000001"),
    rule("fewer-boundaries", "join", dict(schedules=[COS, COS], boundaries=[]), V, "boundaries"),
    rule("more-boundaries", "join", dict(schedules=(C1,), boundaries=tuple(map(float, range(1, 200)))), V,
         "boundaries"),
    rule("exponential-from-zero", "warmup", dict(schedule=COS, steps=10, shape="exponential"), V, "start"),
    rule("exponential-to-zero", "warmup", dict(schedule=lr.constant(value=0.0), steps=10, start=0.1,
                                               shape="exponential"), V, "schedule"),
    rule("exponential-ratio-overflows", "warmup", dict(schedule=lr.constant(value=0.1), steps=10, start=1e-310,
                                                       shape="exponential"), V, "start"),
    rule("exponential-ratio-underflows", "warmup", dict(schedule=lr.constant(value=1e-300), steps=10, start=1e300,
                                                        shape="exponential"), V, "start"),
    rule("hi-below-lo", "clip", dict(schedule=COS, lo=0.5, hi=0.1), V, "hi"),
    # A long value is shown shortened, on one line.
    rule("long-unsorted-value", "multistep", dict(init=1.0, milestones=list(range(100_000, 0, -1))), V,
         "milestones", "characters"),
    # The operators build scale, product and add nodes.
    Bad("scale-operator-negative", lambda: COS * -2.0, V, "scale", "factor", "-2.0"),
    Bad("scale-operator-huge-int", lambda: COS * 10**400, V, "scale", "factor", "1e+400 (an int)"),
    Bad("add-operator-negative", lambda: COS + -0.5, V, "constant", "value", "-0.5"),
]


# ---------------------------------------------------------------------------
# Evaluation and the tools

T = TypeError
TOOLS: list[Bad] = [
    Bad("array-n-negative", lambda: COS.array(-1), V, "array", "n"),
    Bad("array-n-float", lambda: COS.array(10.0), T, "array", "n"),
    Bad("array-n-bool", lambda: COS.array(True), T, "array", "n"),
    Bad("array-n-str", lambda: COS.array("10"), T, "array", "n"),
    Bad("array-start-negative", lambda: COS.array(10, start=-1), V, "array", "start"),
    Bad("array-start-nan", lambda: COS.array(10, start=NAN), V, "array", "start"),
    Bad("array-start-inf", lambda: COS.array(10, start=INF), V, "array", "start"),
    Bad("array-start-str", lambda: COS.array(10, start="0"), T, "array", "start"),
    Bad("array-start-huge-int", lambda: COS.array(10, start=10**400), V, "array", "start", "1e+400 (an int)"),
    Bad("array-dtype-int", lambda: COS.array(10, dtype=np.int32), V, "array", "dtype"),
    Bad("array-dtype-float16", lambda: COS.array(10, dtype=np.float16), V, "array", "dtype"),
    Bad("array-dtype-complex", lambda: COS.array(10, dtype=complex), V, "array", "dtype"),
    Bad("chunks-size-zero", lambda: next(COS.chunks(10, size=0)), V, "chunks", "size"),
    Bad("chunks-n-negative", lambda: next(COS.chunks(-10)), V, "chunks", "n"),
    Bad("summary-steps-zero", lambda: lr.summary(COS, 0), V, "summary", "steps"),
    Bad("summary-steps-float", lambda: lr.summary(COS, 10.5), T, "summary", "steps"),
    Bad("summary-not-schedule", lambda: lr.summary(0.1, 10), T, "summary", "schedule"),
    Bad("iterate-start-negative", lambda: next(lr.iterate(COS, -1)), V, "iterate", "start"),
    Bad("iterate-chunk-zero", lambda: next(lr.iterate(COS, 0, chunk=0)), V, "iterate", "chunk"),
]


# ---------------------------------------------------------------------------
# Times: (t, exception, how the message shows it)

TIMES: list[tuple[Any, type[Exception], str]] = [
    (-1, V, "-1"),
    (-0.5, V, "-0.5"),
    (-1e-300, V, "-1e-300"),
    (NAN, V, "nan"),
    (INF, V, "inf"),
    (-INF, V, "-inf"),
    (np.float64(NAN), V, "nan"),
    (np.float32(-2.0), V, "-2.0"),
    (np.int64(-3), V, "-3"),
    ("5", T, "'5'"),
    (True, T, "True"),
    (False, T, "False"),
    (np.bool_(True), T, "True"),
    (1 + 2j, T, "(1+2j)"),
    (None, T, "None"),
    (object(), T, "object"),
    (10**400, V, "1e+400"),
    (-(10**400), V, "-1e+400"),
    (Fraction(10**400, 3), V, "Fraction"),
]

TIME_ARRAYS: list[tuple[Any, type[Exception], str]] = [
    (np.array([0.0, 1.0, -1.0]), V, "-1.0"),
    (np.array([0.0, NAN]), V, "nan"),
    (np.array([[0.0, 1.0], [INF, 2.0]]), V, "inf"),
    ([0, 1, -2], V, "-2"),
    ((0.0, NAN), V, "nan"),
    (np.array([True, False]), T, "bool"),
    (np.array([1 + 0j, 2]), T, "complex"),
    (np.array(["0", "1"]), T, "dtype"),
    ([0, "1"], T, "dtype"),
    (np.array([0.0, None], dtype=object), T, "object"),
    (np.array([10**400], dtype=object), T, "object"),
]


# ---------------------------------------------------------------------------
# Malformed nodes: (name, kind, params, exception, the message's start)

NODES: list[tuple[str, Any, Any, type[Exception], str]] = [
    ("unknown-kind", "bogus", (), V, "Schedule: unknown schedule kind 'bogus'"),
    ("kind-not-str", 3, (), V, "Schedule: unknown schedule kind 3"),
    ("unknown-param", "constant", (("valu", 1.0),), V, "Schedule: constant has no parameter(s) 'valu'"),
    ("missing-param", "linear", (("start", 1.0),), V, "Schedule: linear is missing required parameter(s) end, steps"),
    ("repeated-param", "constant", (("value", 1.0), ("value", 2.0)), V, "Schedule: parameter 'value' is given twice"),
    ("params-str", "constant", "value=1", T, "Schedule: `params` must be a tuple of (name, value) pairs"),
    ("params-not-pairs", "constant", ((("value", 1.0, 2.0)),), T, "Schedule: `params` must hold (name, value) pairs"),
    ("param-name-int", "constant", ((1, 2.0),), T, "Schedule: parameter names of constant must be strings"),
    ("param-name-list", "constant", (([1], 2.0),), T, "Schedule: parameter names must be strings"),
]


def node_cases(kinds: list[str]) -> list[Bad]:
    """Every parameter case and rule of the kinds that is a node's arguments."""
    cases = [case for kind in kinds for case in parameter_cases(kind)] + RULES
    return [case for case in cases if case.node is not None and case.node[0] in kinds]
