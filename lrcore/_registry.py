"""The registry: each kind of schedule is one record (``Kind``), made by ``@kind``.

A kind's record says everything lrcore knows about it: its parameters (``Param``:
type, bounds, default, doc line, whether it is a length in steps), the kernel
formula it encodes to (or, for a combinator, its kernel code and layout), and its
properties: horizon, stated length, continuity and monotone direction.  From the
record come the constructor's validation, its defaults, the Args section of its
docstring, the names ``from_dict`` and ``parse`` accept and the length a plot
shows; the tests derive their bad-input cases and strategies from it too.

A constructor is written once, as the function ``@kind`` decorates: its signature
gives the parameters' order and defaults, its docstring the formula and an
Example, and its body is the kind's cross-parameter rule, called with every
argument already checked (it raises, or returns a dict of values to store instead).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec

from . import _kernel, _units
from . import _validate as check

if TYPE_CHECKING:
    from ._schedule import Schedule

P = ParamSpec("P")
REQUIRED: Any = inspect.Parameter.empty
DEFAULT_LENGTH = 1000  # steps shown when nothing in a schedule states its length


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a kind: what it accepts, what it means, and whether it is a length."""

    type: str  # one of TYPES
    doc: str  # what it is, for the docstring's Args (bounds and default are added)
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    increasing: str | None = None  # "weakly" or "strictly", for "reals"
    optional: bool = False  # None is also accepted (its meaning is in `default_doc`)
    length: bool = False  # a number of steps (or, for "reals" and "points", times in steps)
    default_doc: str | None = None  # how the docs state the default when its value alone says too little
    name: str = ""  # set by @kind
    default: Any = REQUIRED  # set by @kind, from the signature

    def check(self, where: str, value: Any) -> Any:
        """`value` validated (and normalised) for this parameter of kind `where`."""
        if value is None and self.optional:
            return None
        if self.length and isinstance(value, str):  # "5%", "3ep", ...: a template's length
            return _units.check_length(self, where, value)
        return _CHECKS[self.type](self, where, value)

    def rule(self) -> str:
        """The constraint as the docs state it, e.g. ``>= 0`` or ``"cos" or "linear"``."""
        bounds = [f"{op} {v:g}" for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le))
                  if v is not None]
        if self.type == "reals":
            each = f"each {' and '.join(bounds)}" if bounds else ""
            order = {"weakly": "non-decreasing", "strictly": "strictly increasing"}.get(self.increasing or "", "")
            return ", ".join(x for x in (each, order) if x)
        if self.type == "choice":
            quoted = [f'"{c}"' for c in self.choices]
            return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        if self.type == "int":
            return " and ".join(["an int", *bounds])
        return " and ".join(bounds)

    def doc_line(self) -> str:
        rule = self.rule()
        if self.type == "choice":
            text = f"{self.doc}: {rule}"
        elif rule and self.doc.endswith(")"):  # one parenthesis: "(0 starts at `peak`; >= 0)"
            text = f"{self.doc[:-1]}; {rule})"
        else:
            text = self.doc + (f" ({rule})" if rule else "")
        if self.default is not REQUIRED:
            shown = self.default_doc or _shown(self.default)
            text += f"; default {shown}"
        return f"{self.name}: {text}."


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def real(doc: str, **rule: Any) -> Param:
    """A finite real number (not a bool), stored as a float."""
    return Param("real", doc, **rule)


def length(doc: str, **rule: Any) -> Param:
    """A real number of steps."""
    return Param("real", doc, length=True, **rule)


def integer(doc: str, **rule: Any) -> Param:
    """A whole number (an int, not a bool)."""
    return Param("int", doc, **rule)


def flag(doc: str, **rule: Any) -> Param:
    return Param("flag", doc, **rule)


def choice(doc: str, *options: str) -> Param:
    return Param("choice", doc, choices=options)


def reals(doc: str, **rule: Any) -> Param:
    """A list of finite real numbers, stored as a tuple of floats."""
    return Param("reals", doc, **rule)


def points(doc: str) -> Param:
    """(t, value) pairs: t in steps from 0, strictly increasing; values >= 0."""
    return Param("points", doc, length=True)


def schedule(doc: str) -> Param:
    return Param("schedule", doc)


def schedules(doc: str) -> Param:
    """A non-empty list of schedules."""
    return Param("schedules", doc)


def function(doc: str) -> Param:
    return Param("function", doc)


def _bounded(p: Param, where: str, x: Any) -> Any:
    for op, bound, ok in ((">", p.gt, lambda: x > p.gt), (">=", p.ge, lambda: x >= p.ge),
                          ("<", p.lt, lambda: x < p.lt), ("<=", p.le, lambda: x <= p.le)):
        if bound is not None and not ok():
            raise check.fail(where, p.name, f"must be {op} {bound:g}", x)
    return x


def _check_real(p: Param, where: str, value: Any) -> float:
    return check.number(where, p.name, value, gt=p.gt, ge=p.ge, lt=p.lt, le=p.le)


def _check_int(p: Param, where: str, value: Any) -> int:
    return _bounded(p, where, check.count(where, p.name, value))


def _check_reals(p: Param, where: str, value: Any) -> tuple[Any, ...]:
    items = check.sequence(where, p.name, value)
    if p.length and any(isinstance(v, str) for v in items):
        # Lengths with units are ordered only once resolved (the constructor runs again then).
        each = dataclasses.replace(p, type="real")
        return tuple(_units.check_length(each, where, v, f"{p.name}[{i}]") if isinstance(v, str)
                     else _check_real(dataclasses.replace(each, name=f"{p.name}[{i}]"), where, v)
                     for i, v in enumerate(items))
    return check.numbers_(where, p.name, value, gt=p.gt, ge=p.ge, increasing=p.increasing)


def _check_points(p: Param, where: str, value: Any) -> tuple[tuple[Any, float], ...]:
    items = check.sequence(where, p.name, value)
    if not items:
        raise check.fail(where, p.name, "must have at least one (t, value) pair", value)
    for i, item in enumerate(items):
        if isinstance(item, (str, bytes)) or not isinstance(item, (list, tuple)) or len(item) != 2:
            raise check.fail(where, p.name, f"must hold (t, value) pairs (element {i} is {item!r})", value, TypeError)
    vs = check.numbers_(where, p.name, [q[1] for q in items], ge=0)
    if any(isinstance(q[0], str) for q in items):  # times with units: ordered once resolved
        each = dataclasses.replace(p, type="real", ge=0)
        times: list[Any] = [_units.check_length(each, where, q[0], f"{p.name}[{i}][0]") if isinstance(q[0], str)
                 else check.number(where, p.name, q[0], ge=0) for i, q in enumerate(items)]
        return tuple(zip(times, vs, strict=True))
    ts = check.numbers_(where, p.name, [q[0] for q in items], ge=0, increasing="strictly")
    if ts[0] != 0.0:
        raise check.fail(where, p.name, f"must start at t=0 (the first point is at t={ts[0]:g})", value)
    return tuple(zip(ts, vs, strict=True))


def _check_schedule(p: Param, where: str, value: Any) -> Schedule:
    from ._schedule import Schedule

    if not isinstance(value, Schedule):
        raise check.fail(where, p.name, "must be an lrcore Schedule", value, TypeError)
    return value


def _check_schedules(p: Param, where: str, value: Any) -> tuple[Schedule, ...]:
    items = check.sequence(where, p.name, value)
    if not items:
        raise check.fail(where, p.name, "must hold at least one schedule", value)
    each = dataclasses.replace(p, type="schedule")
    for i, item in enumerate(items):
        _check_schedule(dataclasses.replace(each, name=f"{p.name}[{i}]"), where, item)
    return tuple(items)


def _check_function(p: Param, where: str, value: Any) -> Callable[[float], float]:
    if not callable(value):
        raise check.fail(where, p.name, "must be callable", value, TypeError)
    return value


_CHECKS: dict[str, Callable[[Param, str, Any], Any]] = {
    "real": _check_real,
    "int": _check_int,
    "flag": lambda p, where, value: check.flag(where, p.name, value),
    "choice": lambda p, where, value: check.choice(where, p.name, value, p.choices),
    "reals": _check_reals,
    "points": _check_points,
    "schedule": _check_schedule,
    "schedules": _check_schedules,
    "function": _check_function,
}
TYPES = tuple(_CHECKS)
CHILD_TYPES = ("schedule", "schedules")


@dataclasses.dataclass(frozen=True)
class Kind:
    """Everything lrcore knows about one kind of schedule: its one record.

    A leaf names its kernel formula (``_kernel.LEAVES``): the formula's arguments
    are the node's layout, so its code and the floats it reads come from there.
    A combinator gives its kernel code and layout.  Each layout name is the
    parameter of that name, or ``derive[name](node)`` when the kernel reads it in
    another form (a default resolved, a choice as its code, a length).
    """

    name: str
    constructor: Callable[..., Schedule]
    params: tuple[Param, ...]
    # Properties of a node of this kind:
    horizon: Callable[[Schedule], float | None]  # a t from which the value never changes, or None
    length: Callable[[Schedule], float | None]  # steps its parameters state where the horizon is not finite
    continuous: Callable[[Schedule], bool]  # whether the value never jumps
    monotone: Callable[[Schedule], int | None]  # +1 never decreases, -1 never increases, None either way
    formula: Callable[..., float] | None = None  # leaves
    # Other formulas some nodes encode to, each with the test that picks it.
    variants: tuple[tuple[Callable[[Schedule], bool], Callable[..., float]], ...] = ()
    code: int | None = None  # combinators
    layout: tuple[str, ...] = ()  # combinators; "rest" = the sequences in `rest`, one after another
    rest: tuple[str, ...] = ()  # what a layout's trailing ``rest`` holds
    derive: Mapping[str, Callable[[Schedule], Any]] = dataclasses.field(default_factory=dict)
    fold: int | None = None  # a product/sum: the one-child code a constant operand becomes
    lower: Callable[[Schedule], Schedule] | None = None  # encoded as this other node
    serialisable: bool = True
    rates: tuple[str, ...] = ()  # parameters that are factors per step: a stretch takes their root

    @functools.cached_property
    def children(self) -> tuple[str, ...]:
        """Parameters holding the schedules the kernel walks into."""
        return tuple(p.name for p in self.params if p.type in CHILD_TYPES)

    @functools.cached_property
    def positional(self) -> tuple[str, ...]:
        """Parameters repr writes without their name: a combinator's operands, a custom function."""
        return tuple(p.name for p in self.params if p.type in ("schedule", "function"))

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.default is not REQUIRED}

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def formulas(self) -> tuple[Callable[..., float], ...]:
        return (() if self.formula is None else (self.formula,)) + tuple(f for _, f in self.variants)

    def encode(self, s: Schedule) -> tuple[int, list[float], list[Schedule]]:
        """The node's kernel code, its floats in layout order and its children."""
        if self.lower is not None:
            lowered = self.lower(s)
            return KINDS[lowered.kind].encode(lowered)
        children: list[Schedule] = []
        for name in self.children:
            value = s[name]
            children.extend(value if isinstance(value, tuple) else (value,))
        if self.fold is not None:
            # A constant operand becomes a pointwise post-operation: no second evaluation.
            for operand, other in ((children[1], children[0]), (children[0], children[1])):
                if operand.kind == "constant":
                    return self.fold, [operand["value"]], [other]
        if self.formula is None:
            assert self.code is not None
            code, names = self.code, self.layout
        else:
            formula = self.formula
            for test, variant in self.variants:
                if test(s):
                    formula = variant
                    break
            code, names = _kernel.LEAVES.index(formula), _kernel.layout(formula)[0]
        floats: list[float] = []
        for name in names:
            if name == "rest":
                for part in self.rest:
                    floats.extend(float(v) for v in self.value(s, part))
            else:
                floats.append(float(self.value(s, name)))
        return code, floats, children

    def value(self, s: Schedule, name: str) -> Any:
        """Layout entry `name` of node s."""
        how = self.derive.get(name)
        return s[name] if how is None else how(s)


# The registry: kind name -> its record, filled by ``@kind``.
KINDS: dict[str, Kind] = {}


def kind(
    *,
    params: Mapping[str, Param],
    horizon: Callable[[Schedule], float | None],
    length: Callable[[Schedule], float | None],
    continuous: bool | Callable[[Schedule], bool],
    monotone: int | None | Callable[[Schedule], int | None],
    **record: Any,
) -> Callable[[Callable[P, Any]], Callable[P, Schedule]]:
    """Register the decorated function as a kind: its name, signature and docstring are the
    constructor's, its body the cross-parameter rule (see the module's docstring)."""

    def wrap(rule: Callable[P, Any]) -> Callable[P, Schedule]:
        name = rule.__name__
        sig = inspect.signature(rule)
        if list(sig.parameters) != list(params):
            raise TypeError(f"kind {name}: the signature's parameters {list(sig.parameters)} and the record's "
                            f"{list(params)} must be the same, in the same order")
        declared = tuple(
            dataclasses.replace(p, name=n, default=sig.parameters[n].default) for n, p in params.items()
        )
        from ._schedule import Schedule

        names = frozenset(params)
        required = frozenset(p.name for p in declared if p.default is REQUIRED)

        @functools.wraps(rule)
        def constructor(*args: Any, **kwargs: Any) -> Schedule:
            if args or not required <= kwargs.keys() <= names:  # positional, missing or unknown arguments
                try:
                    bound = sig.bind(*args, **kwargs)
                except TypeError as err:
                    raise TypeError(f"{name}(): {err}") from None
                bound.apply_defaults()
                kwargs = bound.arguments
            values = {p.name: p.check(name, kwargs[p.name] if p.name in kwargs else p.default) for p in declared}
            if not any(_templated(v) for v in values.values()):
                # A template's rule runs when it is resolved, on lengths in updates.
                changed = rule(**values)  # type: ignore[call-arg]
                if changed:
                    values.update(changed)
            return Schedule._make(name, tuple(values.items()))

        constructor.__doc__ = _docstring(name, rule.__doc__ or "", declared)
        KINDS[name] = Kind(
            name=name,
            constructor=constructor,
            params=declared,
            horizon=horizon,
            length=length,
            continuous=continuous if callable(continuous) else fixed(bool(continuous)),
            monotone=monotone if callable(monotone) else fixed(monotone),
            **record,
        )
        return constructor  # type: ignore[return-value]

    return wrap


def _templated(value: Any) -> bool:
    """Whether a checked parameter value holds a length with a unit, itself or in a child schedule."""
    if isinstance(value, str):
        return _units.split(value) is not None
    if isinstance(value, tuple):
        return any(_templated(v) for v in value)
    return bool(getattr(value, "is_template", False))


def _docstring(name: str, doc: str, params: Sequence[Param]) -> str:
    """`doc` (the formula, then an ``Example:`` section) with Args and Returns placed before the example."""
    doc = inspect.cleandoc(doc)
    head, sep, example = doc.partition("\nExample:")
    if not sep:
        raise TypeError(f"kind {name}: the docstring needs an 'Example:' section with a doctest")
    args = "\n".join(textwrap.fill(p.doc_line(), 100, initial_indent="    ", subsequent_indent="        ")
                     for p in params)
    returns = "Returns:\n    A ``Schedule``: ``s(t)`` is the learning rate after t updates."
    return f"{head.rstrip()}\n\nArgs:\n{args}\n\n{returns}\n\nExample:{example}"


def compile_program(
    root: Schedule,
) -> tuple[Any, tuple[Callable[[float], float], ...] | None, list[tuple[int, list[float], list[int]]]]:
    """A schedule tree encoded node by node through each kind's record and laid out as the
    kernel's program (``_kernel.write_program``); also the custom functions (or None) and
    the nodes (code, parameters, children) for ``_scalar``."""
    nodes: list[tuple[int, list[float], list[int]]] = []
    customs: list[Callable[[float], float]] = []

    def visit(s: Schedule) -> tuple[int, int, int]:
        """Add s and its subtree; return (index, stack depth, scratch rows)."""
        index = len(nodes)
        nodes.append((0, [], []))
        code, floats, children = KINDS[s.kind].encode(s)
        if code == _kernel.CUSTOM:
            floats = [float(len(customs))]
            customs.append(s["fn"])
        binary = code in (_kernel.PRODUCT, _kernel.SUM)
        kid_ids, depth, rows = [], 0, 1
        for j, child in enumerate(children):
            kid, d, r = visit(child)
            kid_ids.append(kid)
            # The second operand of a product/sum writes one scratch row further down.
            depth = max(depth, d)
            rows = max(rows, r + (j if binary else 0))
        nodes[index] = (code, floats, kid_ids)
        return index, depth + 1, rows

    _, depth, rows = visit(root)
    return _kernel.write_program(nodes, depth, rows), (tuple(customs) if customs else None), nodes


# -- properties a kind's record is made of ---------------------------------------------


def fixed(value: Any) -> Callable[[Schedule], Any]:
    return lambda s: value


def param(name: str) -> Callable[[Schedule], Any]:
    return lambda s: s[name]


def towards(start: float, end: float) -> int:
    """The direction from `start` to `end`: +1 up (or level), -1 down."""
    return 1 if end >= start else -1


def stated_length(s: Schedule) -> float | None:
    """The number of steps a schedule's parameters state, or None when they state none.

    Its horizon when finite and > 0; otherwise its kind's ``length`` rule: one period
    of a periodic part, after the offsets of the joins, warmups and shifts around it,
    the longest operand of a sum or product.  Kinds that state no length (step,
    exponential, inverse_time, custom, constant) give None; after a stated offset (a
    join boundary, a warmup, inverse_sqrt's warmup) such a part counts DEFAULT_LENGTH steps.
    """
    h = s.horizon
    if h is not None and math.isfinite(h):
        return h if h > 0 else None
    return KINDS[s.kind].length(s)


def after(offset: float, inner: float | None) -> float | None:
    """The length of a part that starts at `offset` and states `inner` steps (or nothing)."""
    if inner is not None:
        return offset + inner
    # A stated offset followed by a part that states nothing: show the part at the default length.
    return offset + DEFAULT_LENGTH if offset > 0 else None


def natural_length(schedules: Any) -> int:
    """The steps to show by default: the longest stated length rounded up (at least 1),
    or DEFAULT_LENGTH when no schedule states one (see `stated_length`).

    ``from_hf('cosine', 3e-4, num_warmup_steps=100, num_training_steps=5000)`` gives
    5000: HF's cosine is periodic (no horizon), but its join states 100 + 4900 steps.
    """
    from ._schedule import Schedule

    if isinstance(schedules, Schedule):
        items = [schedules]
    elif isinstance(schedules, Mapping):
        items = list(schedules.values())
    else:
        items = list(schedules)
    lengths = []
    for s in items:
        if not isinstance(s, Schedule):
            raise check.fail("natural_length", "schedule", "must be an lrcore Schedule", s, TypeError)
        x = stated_length(s)
        if x is not None:
            lengths.append(x)
    return max(1, math.ceil(max(lengths))) if lengths else DEFAULT_LENGTH
