"""Each registered kind's record against the kernel formula that reads its floats.

A leaf's floats are its formula's arguments in order (``_kernel.layout``), a combinator's
its record's ``layout``; ``Kind.encode`` fills them from the node's parameters or from
``Kind.derive``.  These tests catch a layout name that resolves to nothing, a ``rest`` tail
without sequences (or sequences without a tail), an encoder that yields a different number
of floats than its formula reads, puts a parameter in another parameter's slot or loses a
parameter on the way, and a kernel formula that no kind encodes to.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import reference as R
import test_core_records as records

import lrcore as lr
from lrcore import _kernel
from lrcore._registry import KINDS, Kind, compile_program
from lrcore._schedule import Schedule

ALL = sorted(KINDS)
# Kinds with catalogue specs to sample (a kind that is not serialisable, custom(fn), has its own tests).
SAMPLED = records.SERIALISABLE


def parameters(kind: str) -> set[str]:
    return set(inspect.signature(KINDS[kind].constructor).parameters)


def layouts(record: Kind) -> list[tuple[str, ...]]:
    """Every layout a node of the kind can encode to: its formula's and each variant's, or its own
    (none for a kind that is encoded as another kind's node)."""
    if record.formula is not None:
        return [_kernel.layout(f)[0] for f in record.formulas()]
    if record.code is not None:
        return [record.layout]
    return []


@pytest.mark.parametrize("kind", ALL)
def test_every_layout_name_resolves_to_a_parameter_or_a_derivation(kind: str) -> None:
    record = KINDS[kind]
    params = parameters(kind)
    assert set(record.children) <= params and set(record.positional) <= params
    if record.lower is not None:
        # Encoded as another kind's node (test_encode_... checks it): nothing of its own to lay out.
        assert record.formula is None and record.code is None and not record.variants
        assert not record.layout and not record.rest and not record.derive
        return
    assert (record.formula is None) != (record.code is None), "a kind is a leaf formula or a combinator code"
    assert not (record.formula is not None and record.layout), "a leaf's layout is its formula's signature"
    for names in layouts(record):
        assert ("rest" in names) == bool(record.rest), f"{names}: a `rest` tail iff Kind.rest={record.rest}"
        assert "rest" not in names[:-1], f"{names}: `rest` is the last entry, once"
        assert len(set(names)) == len(names), f"{names}: an entry read twice"
        for name in (*(n for n in names if n != "rest"), *record.rest):
            assert name in params or name in record.derive, f"{kind}: layout entry `{name}` is no parameter of " \
                f"lr.{kind}({', '.join(sorted(params))}) and has no derivation"
    read = {name for names in layouts(record) for name in names} | set(record.rest)
    assert set(record.derive) <= read, f"{kind} derives {set(record.derive) - read}, which no layout reads"


@pytest.mark.parametrize("kind", records.COMPLETE)
def test_constructor_defaults_are_the_contracts(kind: str) -> None:
    """The oracle record's defaults (the contract's) are exactly the defaults of the registered constructor."""
    signature = inspect.signature(KINDS[kind].constructor).parameters.values()
    defaults = {p.name: p.default for p in signature if p.default is not inspect.Parameter.empty}
    assert defaults == R.ORACLES[kind].defaults


def test_warmup_layout_is_the_ramp_signature() -> None:
    assert KINDS["warmup"].layout == _kernel.layout(_kernel._ramp)[0] == ("steps", "start", "shape", "target")


def test_every_kernel_formula_belongs_to_exactly_one_kind() -> None:
    owners: dict[str, list[str]] = {f.__name__: [] for f in _kernel.LEAVES}
    for kind, record in KINDS.items():
        for formula in record.formulas():
            assert formula in _kernel.LEAVES, f"{kind} encodes to {formula.__name__}, which is not in _kernel.LEAVES"
            owners[formula.__name__].append(kind)
    for name, kinds in owners.items():
        assert kinds, f"{name}: a kernel formula in _kernel.LEAVES that no kind encodes to (a @kind with " \
            f"formula=K.{name} in lrcore/_kinds.py)"
        assert len(kinds) == 1, f"{name}: the kernel formula of several kinds: {kinds}"


def test_combinator_codes_are_distinct_and_past_the_leaves() -> None:
    codes = [r.code for r in KINDS.values() if r.code is not None]
    assert len(codes) == len(set(codes))
    assert all(code >= len(_kernel.LEAVES) for code in codes)
    folds = [r.fold for r in KINDS.values() if r.fold is not None]
    assert not set(folds) & set(range(len(_kernel.LEAVES))), "a fold is a one-child combinator code, not a leaf"


# ---------------------------------------------------------------------------
# Sample nodes: the reference catalogue's specs


def encoded_as(node: Schedule) -> tuple[Kind, Schedule]:
    """The record and node the kernel sees for `node` (a lowered kind's equivalent node)."""
    record = KINDS[node.kind]
    while record.lower is not None:
        node = record.lower(node)
        record = KINDS[node.kind]
    return record, node


def layout_of(record: Kind, code: int) -> tuple[str, ...]:
    """The layout the kernel reads for `code`, which must be the record's formula, a variant or its code."""
    if code < len(_kernel.LEAVES):
        formula = _kernel.LEAVES[code]
        assert formula in record.formulas(), f"{record.name} encoded to {formula.__name__}, not one of its formulas"
        return _kernel.layout(formula)[0]
    assert code == record.code, f"{record.name} encoded to code {code}"
    return record.layout


def folded(record: Kind, node: Schedule, code: int) -> bool:
    return record.fold is not None and code == record.fold


def children_of(record: Kind, node: Schedule) -> list[Schedule]:
    out: list[Schedule] = []
    for name in record.children:
        value = node[name]
        out.extend(value if isinstance(value, tuple) else (value,))
    return out


@pytest.mark.parametrize("kind", SAMPLED)
def test_encode_yields_the_floats_its_layout_reads(kind: str) -> None:
    """Scalars plus the tail sequences' lengths, in one of the kind's own layouts, and the children it names."""
    for spec in R.ORACLES[kind].catalogue:
        node = lr.from_dict(spec)
        code, floats, children = KINDS[kind].encode(node)
        record, seen = encoded_as(node)
        if seen is not node:
            assert seen.kind != kind and (code, floats, children) == record.encode(seen)
        if folded(record, seen, code):
            # A constant operand is folded into a one-float pointwise operation on the other operand.
            first, second = seen["first"], seen["second"]
            operand, other = (second, first) if second.kind == "constant" else (first, second)
            assert operand.kind == "constant" and floats == [operand["value"]] and children == [other], spec
            continue
        names = layout_of(record, code)
        scalars = [n for n in names if n != "rest"]
        tail = sum(len(record.value(seen, part)) for part in record.rest) if "rest" in names else 0
        assert len(floats) == len(scalars) + tail, f"{spec}: {floats} for layout {names}"
        assert children == children_of(record, seen), spec
        for i, name in enumerate(scalars):
            if name not in record.derive:
                assert floats[i] == float(seen[name]), f"{spec}: slot {i} ({name}) holds {floats[i]}"


# The choices lrcore's kinds take (each construction decides which are valid for its parameter).
CHOICES = sorted({c for record in KINDS.values() for p in record.params for c in p.choices})


def alternatives(value: Any) -> list[Any]:
    """Other values to try for a parameter (each construction decides whether it is valid)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, 2 * value]
    if isinstance(value, float):
        return [x for x in (2.0 * value, 0.5 * value, value + 1.0, 0.9 * value, value + 0.5, 0.5, 2.0) if x != value]
    if value is None:
        return [0.5, 1.0, 2.0, 20.0]
    if isinstance(value, str):
        return [c for c in CHOICES if c != value]
    if isinstance(value, list) and value and not isinstance(value[0], dict):  # numbers, or (t, value) points
        return [[[p[0], 2.0 * p[1] + 0.5] for p in value] if isinstance(value[0], list) else [2.0 * x for x in value]]
    return []


# Kinds with a layout of their own (a lowered kind's node is checked as the node it lowers to, above).
SLOTTED = [k for k in SAMPLED if KINDS[k].lower is None]


def with_constant_operand(spec: R.Spec, value: float) -> R.Spec | None:
    """The product/sum spec with its constant operand (the one encode folds) set to `value`."""
    for key in ("second", "first"):
        if spec[key]["kind"] == "constant":
            return {**spec, key: {**spec[key], "value": value}}
    return None


@pytest.mark.parametrize("kind", SLOTTED)
def test_each_parameter_lands_in_its_own_slot(kind: str) -> None:
    """Building a catalogue node with one plain parameter changed changes the float at that parameter's
    position in the layout, to the new value, and no other plain parameter's float (derived entries may
    follow the parameter they derive from); a folded constant operand is the fold's one float.  Every
    plain scalar of every layout the kind can encode to, and its fold, is exercised by some catalogue node."""
    record = KINDS[kind]
    exercised: set[tuple[int, str]] = set()
    for spec in R.ORACLES[kind].catalogue:
        node = lr.from_dict(spec)
        code, floats, _ = record.encode(node)
        if folded(record, node, code):
            changed_spec = with_constant_operand(spec, floats[0] + 1.0)
            assert changed_spec is not None
            new_code, new_floats, _ = record.encode(lr.from_dict(changed_spec))
            assert (new_code, new_floats) == (code, [floats[0] + 1.0]), changed_spec
            exercised.add((code, "constant operand"))
            continue
        scalars = [n for n in layout_of(record, code) if n != "rest"]
        for i, name in enumerate(scalars):
            if name in record.derive:
                continue
            for new in alternatives(node[name]):
                try:
                    changed = lr.from_dict({**spec, name: new})
                except (ValueError, TypeError):
                    continue  # not a valid value here
                new_code, new_floats, _ = record.encode(changed)
                if new_code != code:
                    continue  # another variant: another layout
                assert new_floats[i] == float(new), f"{spec} with {name}={new!r}: slot {i} holds {new_floats[i]}"
                moved = [other for j, other in enumerate(scalars)
                         if j != i and other not in record.derive and new_floats[j] != floats[j]]
                assert not moved, f"{spec} with {name}={new!r} also changed the slots of {moved}"
                exercised.add((code, name))
                break
    codes = [_kernel.LEAVES.index(f) for f in record.formulas()] if record.formula else [record.code]
    wanted = {(code, n) for code in codes if code is not None
              for n in layout_of(record, code) if n != "rest" and n not in record.derive}
    if record.fold is not None:
        wanted.add((record.fold, "constant operand"))
    assert wanted <= exercised, f"no catalogue spec of {kind} exercises {sorted(wanted - exercised)}"


@pytest.mark.parametrize("kind", SAMPLED)
def test_every_parameter_reaches_the_floats(kind: str) -> None:
    """No parameter is lost on the way to the kernel: for each constructor parameter that is not a child
    schedule, some catalogue node built with it changed compiles to another program (another formula or other
    floats, in the node or, for a kind lowered to other nodes, in theirs); a parameter that is also a scalar
    layout entry (a default resolved, a choice as its code) changes that
    entry's float."""
    record = KINDS[kind]
    pending = parameters(kind) - set(record.children)
    for spec in R.ORACLES[kind].catalogue:
        node = lr.from_dict(spec)
        code, floats, _ = record.encode(node)
        target, seen = encoded_as(node)
        names = () if folded(target, seen, code) else layout_of(target, code)
        for name in sorted(pending):
            for new in alternatives(spec[name]):
                try:
                    changed = lr.from_dict({**spec, name: new})
                except (ValueError, TypeError):
                    continue
                if changed == node:
                    continue
                new_code, new_floats, _ = record.encode(changed)
                # A lowered kind may carry the parameter into a child of the node it becomes: the whole program.
                program, new_program = compile_program(node)[0], compile_program(changed)[0]
                assert not np.array_equal(program, new_program), f"{spec} with {name}={new!r} encodes the same"
                if new_code == code and name in names and target is record:
                    i = names.index(name)
                    assert new_floats[i] != floats[i], f"{spec} with {name}={new!r} left slot {i} ({name}) as it was"
                pending.discard(name)
                break
    assert not pending, f"no catalogue spec of {kind} shows where {sorted(pending)} go"
