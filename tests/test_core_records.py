"""Each registered kind's two records, complete, and what the tests derive from them.

lrcore's record (``lrcore._registry.KINDS[kind]``) says what a kind takes and claims; the tests'
record (``reference.ORACLES[kind]``, an ``@oracle(...)`` on ``def ref_<kind>``) holds its exact
formula and what the core tests need besides.  ``test_every_kind_has_both_records_complete``
is the one test a kind with a missing piece fails, naming the kind and the piece; every other
core test runs over the kinds whose records are complete (``COMPLETE`` and the lists below),
so a new kind is neither skipped nor a bare KeyError there.

Derived here from lrcore's parameters (their type, bounds, optional and choices), where a
record gives no hand-tuned range: the hypothesis strategy of ordinary specs (``strategy``)
and of specs at the ends of what construction accepts (``extreme``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import reference as R
from hypothesis import strategies as st

import lrcore as lr
from lrcore._registry import CHILD_TYPES, KINDS, Param, stated_length

Strategy = st.SearchStrategy[Any]


# ---------------------------------------------------------------------------
# Strategies derived from lrcore's parameters


def _bounds(p: Param) -> tuple[float | None, float | None]:
    return (p.gt if p.gt is not None else p.ge), (p.lt if p.lt is not None else p.le)


def _within(p: Param) -> Callable[[float], bool]:
    """Whether a number satisfies the parameter's bounds (a strategy's range may overlap an open end)."""
    return lambda x: ((p.gt is None or x > p.gt) and (p.ge is None or x >= p.ge)
                      and (p.lt is None or x < p.lt) and (p.le is None or x <= p.le))


def _ordinary(p: Param, children: Strategy | None) -> Strategy | None:
    """Ordinary values of one parameter (None: lrcore's type gives no way to draw one)."""
    lo, hi = _bounds(p)
    base: Strategy | None
    if p.type == "real":
        if p.length:
            base = R.ordinary_length()
            if lo is not None and lo <= 0.0 and p.gt is None:
                base = st.one_of(st.just(0.0), base)  # a length that may be 0 often is
        elif lo == 0.0 and hi is None:
            base = R.ordinary_value() if p.gt is None else st.one_of(st.just(1.0), R.ordinary_number(0.1, 4.0))
        elif lo is not None and hi is None:
            base = st.one_of(st.just(lo), R.ordinary_number(lo, lo + 3.0))
        elif lo is None and hi is not None:
            base = R.ordinary_number(hi - 10.0, hi)
        elif lo is not None and hi is not None:
            base = R.ordinary_number(lo, hi)
        else:
            base = R.ordinary_number(-10.0, 10.0)
        base = base.filter(_within(p))
    elif p.type == "int":
        first = int(p.ge if p.ge is not None else (p.gt + 1 if p.gt is not None else 0))
        base = st.one_of(st.integers(first, first + 18), st.integers(first + 19, first + 3_000)).filter(_within(p))
    elif p.type == "flag":
        base = st.booleans()
    elif p.type == "choice":
        base = st.sampled_from(p.choices)
    elif p.type == "reals":
        if p.increasing:
            base = R.ordinary_increasing(lo or 0.0, 3_000.0, 0, 5, strict=p.increasing == "strictly")
        else:
            base = st.lists(R.ordinary_value(), min_size=1, max_size=5)
    elif p.type == "points":
        base = _points(R.ordinary_increasing(0.0, 3_000.0, 0, 5), R.ordinary_value())
    elif p.type == "schedule":
        base = children
    elif p.type == "schedules":
        base = None if children is None else st.lists(children, min_size=1, max_size=3)
    else:
        base = None
    if base is not None and p.optional:
        base = st.one_of(st.none(), base)
    return base


def _extreme(p: Param, children: Strategy | None) -> Strategy | None:
    """Values of one parameter at the ends of what its bounds accept (subnormal, huge)."""
    lo, hi = _bounds(p)
    base: Strategy | None
    if p.type == "real":
        if p.length:
            base = R.extreme_lengths()
            if lo is not None and lo <= 0.0 and p.gt is None:
                base = st.one_of(st.just(0.0), base)
        elif p.ge == 1.0 and hi is None:
            base = R.extreme_gammas(lo=1.0)
        elif lo == 0.0 and hi is None:
            base = R.extreme_values() if p.gt is None else R.extreme_lengths()
        else:
            base = st.floats(-1e308 if lo is None else lo, 1e308 if hi is None else hi,
                             exclude_min=p.gt is not None, exclude_max=p.lt is not None)
    elif p.type == "int":
        first = int(p.ge if p.ge is not None else (p.gt + 1 if p.gt is not None else 0))
        base = st.integers(first, 2**62).filter(_within(p))
    elif p.type in ("flag", "choice"):
        base = _ordinary(p, children)
    elif p.type == "reals":
        base = R.extreme_increasing(0, 6) if p.increasing else st.lists(R.extreme_values(), min_size=1, max_size=6)
    elif p.type == "points":
        base = _points(R.extreme_increasing(0, 5), R.extreme_values())
    else:
        return _ordinary(p, children)
    if base is not None and p.optional:
        base = st.one_of(st.none(), base)
    return base


def _points(times: Strategy, values: Strategy) -> Strategy:
    """(t, value) pairs from t = 0."""
    return times.flatmap(lambda ts: st.tuples(*(st.tuples(st.just(t), values).map(list) for t in [0.0, *ts])))\
        .map(list)


def constructs(spec: R.Spec) -> bool:
    try:
        lr.from_dict(spec)
    except (ValueError, TypeError):
        return False
    return True


def _derived(kind: str, override: Any, children: Strategy | None, extreme: bool) -> Strategy:
    """Specs of `kind`: the record's per-parameter strategies, the others derived from lrcore's parameters,
    kept when lrcore constructs them (its cross-parameter rules decide)."""
    if callable(override):
        return override(children) if KINDS[kind].children else override()
    given = dict(override or {})
    derive = _extreme if extreme else _ordinary
    parts = {}
    for p in KINDS[kind].params:
        part = given[p.name] if p.name in given else derive(p, children)
        if part is None:
            raise LookupError(f"{kind}: the oracle record has no {'extreme' if extreme else 'strategy'} for "
                              f"`{p.name}` (a {p.type} parameter gives none)")
        parts[p.name] = part
    return st.fixed_dictionaries({"kind": st.just(kind), **parts}).filter(constructs)


def strategy(kind: str, children: Strategy | None = None) -> st.SearchStrategy[R.Spec]:
    """Valid ordinary specs of `kind` (a combinator's children drawn from `children`)."""
    if children is None:
        return _leaf_strategy(kind)
    return _derived(kind, R.ORACLES[kind].strategy, children, extreme=False)


@functools.cache
def _leaf_strategy(kind: str) -> st.SearchStrategy[R.Spec]:
    return _derived(kind, R.ORACLES[kind].strategy, None, extreme=False)


def extreme(kind: str, children: Strategy | None = None) -> st.SearchStrategy[R.Spec]:
    """Specs of `kind` at the ends of what each parameter accepts (construction may still refuse one)."""
    return _derived(kind, R.ORACLES[kind].extreme, children, extreme=True)


# ---------------------------------------------------------------------------
# The checks of a kind's records


def _catalogue_nodes(kind: str, record: R.Oracle) -> tuple[list[lr.Schedule], list[str]]:
    """lrcore's nodes of the record's catalogue specs, and the specs it refuses."""
    nodes, problems = [], []
    for i, spec in enumerate(record.catalogue):
        try:
            nodes.append(lr.from_dict(spec))
        except Exception as err:  # noqa: BLE001 - reported as the kind's problem, not an import error
            problems.append(f"{kind}: catalogue spec {i} is refused by lrcore: {type(err).__name__}: {err}")
    return nodes, problems


def record_problems(kind: str, record: R.Oracle | None) -> list[str]:
    """What the tests' record of `kind` lacks (empty when complete)."""
    if record is None:
        return [f"{kind}: no oracle record in tests/reference.py (an @oracle(...) on def ref_{kind})"]
    lrcore_record = KINDS[kind]
    problems = []
    if set(record.children) != set(lrcore_record.children):
        problems.append(f"{kind}: the oracle's schedule parameters {record.children} (annotated Ref) are not "
                        f"lrcore's {lrcore_record.children}")
    if record.defaults is None:
        problems.append(f"{kind}: the oracle record has no 'defaults'")
    if not lrcore_record.serialisable:
        return problems  # no dict specs: its own tests take functions
    for piece in ("catalogue", "bounds", "landmarks", "horizon"):
        if not getattr(record, piece):
            problems.append(f"{kind}: the oracle record has no {piece!r}")
    for p in lrcore_record.params:
        for name, given, derive in (("strategy", record.strategy, _ordinary), ("extreme", record.extreme, _extreme)):
            children = st.nothing() if p.type in CHILD_TYPES else None
            if not callable(given) and p.name not in (given or {}) and derive(p, children) is None:
                problems.append(f"{kind}: the oracle record has no {name!r} for `{p.name}` (lrcore's {p.type} "
                                "parameters give none)")
    nodes, refused = _catalogue_nodes(kind, record)
    problems += refused
    for node in nodes:
        if record.modulus is None and lrcore_record.continuous(node):
            problems.append(f"{kind}: the oracle record has no 'modulus' (lrcore says {kind} is continuous: {node!r})")
            break
    for node in nodes:
        if not record.combinator and record.unbounded is None and node.horizon is None:
            problems.append(f"{kind}: the oracle record has no 'unbounded' (lrcore gives {node!r} no horizon)")
            break
    return problems


def lrcore_problems(kind: str) -> list[str]:
    """What lrcore's side of `kind` lacks: the export and the docs (the docs' gallery page is generated)."""
    problems = []
    if getattr(lr, kind, None) is not KINDS[kind].constructor or kind not in lr.__all__:
        problems.append(f"{kind}: not exported as lr.{kind} (lrcore/__init__.py and its __all__)")
    doc = inspect.getdoc(KINDS[kind].constructor) or ""
    for part, what in (("Args:", "an Args section"), ("Example:", "an Example"), (">>> ", "a doctest")):
        if part not in doc:
            problems.append(f"{kind}: lr.{kind}'s docstring has no {what}")
    for p in KINDS[kind].params:
        if not p.doc.strip():
            problems.append(f"{kind}: parameter `{p.name}` has no doc")
    return problems


def problems(kind: str) -> list[str]:
    return record_problems(kind, R.ORACLES.get(kind)) + lrcore_problems(kind)


# The kinds whose records are complete, in lrcore's order; the core tests run over these.
COMPLETE = [k for k in KINDS if not record_problems(k, R.ORACLES.get(k))]
SERIALISABLE = [k for k in COMPLETE if KINDS[k].serialisable]  # kinds with dict specs
LEAVES = [k for k in SERIALISABLE if not KINDS[k].children]
COMBINATORS = [k for k in SERIALISABLE if KINDS[k].children]


def leaves() -> st.SearchStrategy[R.Spec]:
    return st.one_of(*(strategy(k) for k in LEAVES))


def combine(children: st.SearchStrategy[R.Spec], kinds: list[str] | None = None) -> st.SearchStrategy[R.Spec]:
    """One combinator level over `children`."""
    return st.one_of(*(strategy(k, children) for k in (COMBINATORS if kinds is None else kinds)))


def specs(depth: int = 3) -> st.SearchStrategy[R.Spec]:
    """A leaf, or combinators nested at most `depth` deep over leaves."""
    out = leaves()
    for _ in range(depth):
        out = st.one_of(leaves(), combine(out))
    return out


def catalogue_cases(kinds: list[str] | None = None) -> list[Any]:
    """Every catalogue spec of the complete kinds, as pytest parameters named kind-i."""
    return [pytest.param(spec, id=f"{kind}-{i}") for kind in (kinds or SERIALISABLE)
            for i, spec in enumerate(R.ORACLES[kind].catalogue)]


# ---------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_has_both_records_complete(kind: str) -> None:
    """A registered kind is ``lr.<kind>``, documented (Args, each parameter,
    an Example the test command runs), and has an oracle record with every piece the core tests need:
    the formula, defaults, a catalogue, bounds, landmarks, its horizon, a modulus wherever lrcore calls
    it continuous, why it may have no horizon wherever lrcore gives none, and a strategy for each parameter."""
    found = problems(kind)
    assert not found, "\n".join(found)


def test_the_completeness_check_names_each_missing_piece() -> None:
    """What the test above reports for a new kind with an empty record, and with none."""
    blank = R.Oracle(name="cosine", fn=R.ref_cosine, children=())
    assert record_problems("cosine", blank) == [
        "cosine: the oracle record has no 'defaults'",
        "cosine: the oracle record has no 'catalogue'",
        "cosine: the oracle record has no 'bounds'",
        "cosine: the oracle record has no 'landmarks'",
        "cosine: the oracle record has no 'horizon'",
    ]
    assert record_problems("rex", None) == [
        "rex: no oracle record in tests/reference.py (an @oracle(...) on def ref_rex)"]
    record = R.ORACLES["cyclic"]
    partial = dataclasses.replace(record, modulus=None, unbounded=None)
    assert [p.split(" (")[0] for p in record_problems("cyclic", partial)] == [
        "cyclic: the oracle record has no 'modulus'", "cyclic: the oracle record has no 'unbounded'"]


def test_every_record_is_of_a_registered_kind_and_builds_its_catalogue() -> None:
    """The records name only registered kinds; each catalogue spec is of its record's kind, is complete
    (every parameter present), and lrcore builds it back to the same dict; the catalogue covers every kind."""
    assert set(R.ORACLES) <= set(KINDS), f"records of kinds lrcore does not register: {set(R.ORACLES) - set(KINDS)}"
    built = set()
    for kind in SERIALISABLE:
        for spec in R.ORACLES[kind].catalogue:
            assert spec["kind"] == kind and set(spec) == {"kind", *KINDS[kind].names}, spec
            node = lr.from_dict(spec)
            assert node.to_dict() == spec
            built |= {kind, *(c["kind"] for c in R.children_of(spec))}
    assert built == set(SERIALISABLE)


def test_periodic_specs_state_their_period() -> None:
    """A catalogue spec the record calls periodic has no horizon, but its parameters state a length
    (one period), which plots and tables show by default."""
    periodic = 0
    for kind in SERIALISABLE:
        for spec in R.ORACLES[kind].catalogue:
            if R.unbounded(spec) == R.PERIODIC:
                periodic += 1
                length = stated_length(lr.from_dict(spec))
                assert length is not None and length > 0, f"{spec}: stated length {length!r}"
    assert periodic
