"""Bad input is refused where it enters, with the exception type and a one-line message that names the
place, the parameter and the value: ``cosine: `steps` must be > 0; got steps=0.0``.

The cases come from the catalogue in ``bad_inputs.py``: per parameter of every kind (derived from
lrcore's parameters), the kinds' cross-parameter rules, the tools' arguments and bad times.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import bad_inputs as B
import docs_pages
import numpy as np
import pytest
import test_core_records as records

import lrcore as lr
from lrcore._registry import KINDS

COS = B.COS
CASES = [case for kind in records.COMPLETE for case in B.parameter_cases(kind)] + B.RULES + B.TOOLS
# Where the catalogue's cases are refused besides the kinds' constructors: evaluation and the tools.
TOOLS = {"array", "chunks", "summary", "iterate"}


def test_cases_have_unique_names_and_known_places() -> None:
    assert len({case.name for case in CASES}) == len(CASES)
    unknown = {case.where for case in CASES} - set(KINDS) - TOOLS
    assert not unknown, f"cases refused at places that are neither a registered kind nor a tool: {unknown}"


@pytest.mark.parametrize("kind", records.COMPLETE)
def test_every_parameter_of_every_kind_has_bad_cases(kind: str) -> None:
    """Each parameter of each kind, from its lrcore Param: its type's bad values, and a value just past each
    of its bounds."""
    cases = B.parameter_cases(kind)
    for p in KINDS[kind].params:
        prefix = f"{kind}-{p.name}-"
        mine = [case.name.removeprefix(prefix) for case in cases if case.name.startswith(prefix)]
        assert mine, f"{kind}: no bad values for `{p.name}` (a {p.type} parameter)"
        bounds = sum(b is not None for b in (p.gt, p.ge, p.lt, p.le))
        assert sum("bound" in label for label in mine) >= (bounds if p.type in ("real", "int", "reals") else 0), mine


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_bad_argument_is_refused_with_its_name(case: B.Bad) -> None:
    with pytest.raises(Exception) as info:
        case.call()
    problems = B.refusal_problems(case, type(info.value).__name__, str(info.value))
    assert not problems, f"{str(info.value)!r}: {'; '.join(problems)}"


# ---------------------------------------------------------------------------
# Times


@pytest.mark.parametrize(("t", "exc", "shown"), [pytest.param(*case, id=repr(case[0])[:40]) for case in B.TIMES])
@pytest.mark.parametrize("s", [COS, lr.warmup(COS, steps=3) * 0.5, lr.product(COS, lr.step(init=1, step_size=2))],
                         ids=["leaf", "combined", "product"])
def test_bad_time_is_refused_naming_it(s: lr.Schedule, t: Any, exc: type[Exception], shown: str) -> None:
    with pytest.raises(exc) as info:
        s(t)
    message = str(info.value)
    assert message.startswith("schedule time `t`") and "\n" not in message, message
    assert "got t=" in message and shown in message, message


@pytest.mark.parametrize(("ts", "exc", "shown"), [pytest.param(*c, id=f"{i}") for i, c in enumerate(B.TIME_ARRAYS)])
def test_bad_time_inside_an_array_is_refused(ts: Any, exc: type[Exception], shown: str) -> None:
    with pytest.raises(exc) as info:
        COS(ts)
    assert str(info.value).startswith("schedule times") and shown in str(info.value)


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
# Every way of building a node validates (the malformed nodes are test_hostile's), and nests at most 64 levels


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


def test_the_untrusted_input_snippet_prints_what_it_says() -> None:
    block = next(b for b in docs_pages.blocks(docs_pages.page("guides/reliability.md")) if "from a config file" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(block, {})
    promised = [line.split("# ", 1)[1] for line in block.splitlines() if line.strip().startswith("print(err)")]
    assert out.getvalue().splitlines() == promised
