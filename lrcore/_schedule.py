"""The Schedule value: an immutable tree of (kind, parameters) nodes.

A schedule is data.  Each kind has one record in ``KINDS`` (``Kind``: its
constructor, kernel formula or code, layout and horizon), registered in
``_kinds.py``.  Constructors validate their arguments and build a node; the node
compiles once (lazily), through its kind's record, to the flat program of
``_kernel.py``, which ``_pure`` evaluates in plain Python (``s(t)``, short
arrays) and ``_jit`` runs compiled by numba (long arrays).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from . import _kernel, _pure, _runtime
from . import _validate as check


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
    horizon: Callable[[Schedule], float | None]
    formula: Callable[..., float] | None = None  # leaves
    # Other formulas some nodes encode to, each with the test that picks it.
    variants: tuple[tuple[Callable[[Schedule], bool], Callable[..., float]], ...] = ()
    code: int | None = None  # combinators
    layout: tuple[str, ...] = ()  # combinators; "rest" = the sequences in `rest`, one after another
    rest: tuple[str, ...] = ()  # what a layout's trailing ``rest`` holds
    derive: Mapping[str, Callable[[Schedule], Any]] = dataclasses.field(default_factory=dict)
    children: tuple[str, ...] = ()  # parameters holding the schedules the kernel walks into
    positional: tuple[str, ...] = ()  # parameters repr writes without their name
    fold: int | None = None  # a product/sum: the one-child code a constant operand becomes
    lower: Callable[[Schedule], Schedule] | None = None  # encoded as this other node

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


# The registry: kind name -> its record, filled by ``register``.
KINDS: dict[str, Kind] = {}

# Levels a schedule may nest: far beyond any real schedule, and shallow enough that every
# recursive operation (repr, ==, hash, pickle, JSON, compilation) stays well inside
# Python's recursion limit.  Every way of building a node checks it.
MAX_DEPTH = 64
PARALLEL_MIN = 1 << 18  # below this, threads cost more than they save
# Evaluations of fewer values than this run in plain Python (a few tenths of a µs a value
# for a warmup-cosine, so well under a second) unless the compiled kernel is already
# loaded: loading numba and the cached kernel takes most of a second, and compiling it on
# an empty cache about ten, more than the loop costs.  So the tables of the optax and Keras
# adapters, plots and summaries of runs up to a million steps never wait for numba.
KERNEL_MIN = 1 << 20
_INT_FAST = 1 << 62  # ints up to here convert to float without overflow
_INF = math.inf


def _kernel_for(n: int) -> Any:
    """The compiled interpreters (``_jit``) when an evaluation of n values should use
    them, else None (evaluate with the schedule's plain-Python evaluator)."""
    jit = sys.modules.get("lrcore._jit")
    if n >= KERNEL_MIN or (jit is not None and n >= 64 and jit.ready()):
        from . import _jit

        return _jit
    return None


def _float_type(where: str, dtype: Any) -> np.dtype:
    kind = np.dtype(dtype)
    if kind not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise check.fail(where, "dtype", "must be float64 or float32", dtype)
    return kind


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


# Kinds whose constructor is running in this thread (see ``Schedule.__init__``).
_building = threading.local()


class Schedule:
    """A learning rate as a pure function of the step ``t``.

    Build one with a constructor (``lr.cosine(...)``, ``lr.warmup(...)``, ...);
    schedules are immutable, hashable and equal when their parameters are.
    """

    __slots__ = ("kind", "params", "_hash", "_compiled", "_scalar", "_depth")

    kind: str
    params: tuple[tuple[str, Any], ...]
    _hash: int | None
    _compiled: tuple[np.ndarray, tuple[Callable[[float], float], ...] | None, Callable[..., float]] | None
    _scalar: Callable[[float], float] | None  # _compiled[2], for the scalar fast path
    _depth: int

    def __init__(self, kind: str, params: tuple[tuple[str, Any], ...]) -> None:
        """The node ``kind(**dict(params))``, built through that kind's constructor.

        Every argument is validated as ``lr.<kind>(...)`` validates it, so a node
        made by hand or by unpickling is as safe to evaluate as any other.
        """
        active = getattr(_building, "kinds", None)
        if active and active[-1] == kind:
            # The kind's own constructor, building its node from arguments it has just checked.
            self._set(kind, tuple(params))
            return
        node = _rebuild("Schedule", kind, params)
        self._set(node.kind, node.params)

    @classmethod
    def _make(cls, kind: str, params: tuple[tuple[str, Any], ...]) -> Schedule:
        """A node from arguments its constructor has validated (constructors only)."""
        node = object.__new__(cls)
        node._set(kind, params)
        return node

    def _set(self, kind: str, params: tuple[tuple[str, Any], ...]) -> None:
        frozen = tuple((k, _freeze(v)) for k, v in params)
        depth, deepest = 0, ""
        for key, value in frozen:
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, Schedule) and child._depth > depth:
                    depth, deepest = child._depth, key
        if depth >= MAX_DEPTH:
            raise ValueError(
                f"{kind}: `{deepest}` nests {depth} levels deep, so this {kind} would nest {depth + 1}; "
                f"schedules nest at most {MAX_DEPTH} levels"
            )
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", frozen)
        object.__setattr__(self, "_hash", None)
        object.__setattr__(self, "_compiled", None)
        object.__setattr__(self, "_scalar", None)
        object.__setattr__(self, "_depth", depth + 1)

    # -- value semantics -------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Schedule is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Schedule is immutable")

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Schedule):
            return NotImplemented
        return self.kind == other.kind and self._depth == other._depth and self.params == other.params

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self.kind, self.params))
            object.__setattr__(self, "_hash", h)
        return h

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling calls Schedule(kind, params): validated like any other construction.
        return (Schedule, (self.kind, self.params))

    def __copy__(self) -> Schedule:
        return self  # an immutable value is its own copy

    def __deepcopy__(self, memo: dict[int, Any]) -> Schedule:
        return self

    def __getitem__(self, name: str) -> Any:
        """A parameter by name: ``lr.cosine(init=1, steps=9)["steps"] == 9.0``."""
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"{self.kind} has no parameter {name!r}")

    @property
    def args(self) -> dict[str, Any]:
        """The parameters as a dict (a copy)."""
        return dict(self.params)

    # -- evaluation --------------------------------------------------------
    def _program(self) -> tuple[np.ndarray, tuple[Callable[[float], float], ...] | None, Callable[[float], float]]:
        """(program, custom functions or None, plain-Python scalar evaluator), built on first use."""
        compiled = self._compiled
        if compiled is None:
            prog, customs, nodes = compile_program(self)
            compiled = (prog, customs, _pure.build(nodes, customs or ()))
            object.__setattr__(self, "_compiled", compiled)
            object.__setattr__(self, "_scalar", compiled[2])
        return compiled

    def __call__(self, t: Any) -> Any:
        """The learning rate at t (a float), or at each element of an array of times."""
        # Fast path for the common scalar call: a plain float or int in range.
        if type(t) is float and 0.0 <= t < _INF:
            return (self._scalar or self._program()[2])(t)
        if type(t) is int and 0 <= t <= _INT_FAST:
            return (self._scalar or self._program()[2])(float(t))
        if isinstance(t, (np.ndarray, list, tuple)):
            ts = check.times(np.asarray(t))
            prog, customs, scalar = self._program()
            flat = ts.reshape(-1)
            jit = None if customs is not None else _kernel_for(flat.shape[0])
            if jit is None:
                out = np.fromiter((scalar(x) for x in flat.tolist()), np.float64, flat.shape[0])
            else:
                out = np.empty(flat.shape[0])
                jit.many(prog, flat, out)
            return out.reshape(ts.shape)
        return self._program()[2](check.time(t))

    def array(self, n: int, *, start: float = 0, dtype: Any = np.float64) -> np.ndarray:
        """Values at start, start+1, ..., start+n-1 as an ndarray of `dtype`.

        float32 output stores each value rounded once from float64, with no
        float64 temporary of size n.
        """
        n = check.count("array", "n", n)
        t0 = check.number("array", "start", start, ge=0)
        return self._values(n, t0, _float_type("array", dtype), n)

    def _values(self, n: int, t0: float, kind: np.dtype, total: int) -> np.ndarray:
        """Values at t0, ..., t0 + n - 1 in an ndarray of `kind`; `total`, the number of values
        the whole evaluation needs (a chunk's whole run), decides whether numba pays."""
        prog, customs, scalar = self._program()
        jit = None if customs is not None else _kernel_for(total)
        if jit is None:
            return np.fromiter((scalar(t0 + i) for i in range(n)), kind, n)
        out = np.empty(n, dtype=kind)
        if n >= PARALLEL_MIN:
            # Only where numba's threading layer is safe now (thread, fork); else serial, same values.
            threads = _runtime.parallel_threads()
            if threads:
                try:
                    jit.parallel(prog, t0, out, threads)
                finally:
                    _runtime.release_parallel()
                return out
        jit.serial(prog, t0, out)
        return out

    def chunks(self, n: int, size: int = 1 << 20, *, start: float = 0, dtype: Any = np.float64) -> Iterator[np.ndarray]:
        """The values of ``array(n, start=start)`` as consecutive arrays of at most `size`.

        Memory stays bounded by `size` whatever n is (10**9 steps are fine).
        """
        n = check.count("chunks", "n", n)
        size = check.count("chunks", "size", size)
        if size == 0:
            raise check.fail("chunks", "size", "must be > 0", size)
        t0 = check.number("chunks", "start", start, ge=0)
        kind = _float_type("chunks", dtype)
        for lo in range(0, n, size):
            yield self._values(min(size, n - lo), t0 + lo, kind, n)

    @property
    def horizon(self) -> float | None:
        """A t from which the value never changes (the smallest one for every kind
        whose end is known in closed form), or None for periodic/unbounded kinds."""
        return KINDS[self.kind].horizon(self)

    def _repr_png_(self) -> bytes | None:
        """The plot a notebook shows for a schedule at the end of a cell (None without matplotlib)."""
        from ._tools import png

        return png(self)

    # -- composition -------------------------------------------------------
    def __mul__(self, other: Any) -> Schedule:
        if isinstance(other, Schedule):
            return KINDS["product"].constructor(self, other)
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return KINDS["scale"].constructor(self, factor=other)
        return NotImplemented

    __rmul__ = __mul__

    def __add__(self, other: Any) -> Schedule:
        if isinstance(other, Schedule):
            return KINDS["add"].constructor(self, other)
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return KINDS["add"].constructor(self, KINDS["constant"].constructor(value=other))
        return NotImplemented

    __radd__ = __add__

    # -- serialisation -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with a "kind" key; ``lr.from_dict`` rebuilds an equal schedule."""
        out: dict[str, Any] = {"kind": self.kind}
        for key, value in self.params:
            out[key] = _encode_value(self.kind, key, value)
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __repr__(self) -> str:
        positional = KINDS[self.kind].positional
        defaults = _defaults(self.kind)
        parts = []
        for key, value in self.params:
            text = _repr_value(value)
            if key in positional:
                parts.append(text)
            elif key not in defaults or defaults[key] != value:
                parts.append(f"{key}={text}")
        return f"{self.kind}({', '.join(parts)})"


@functools.cache
def _defaults(kind: str) -> dict[str, Any]:
    import inspect

    sig = inspect.signature(KINDS[kind].constructor)
    return {
        name: _freeze(p.default)
        for name, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _repr_value(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_repr_value(v) for v in value) + "]"
    return repr(value)


def _encode_value(kind: str, key: str, value: Any) -> Any:
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_encode_value(kind, key, v) for v in value]
    if value is None or isinstance(value, (bool, str, float, int)):
        return value
    raise TypeError(
        f"{kind}: parameter `{key}` holds {value!r}, which cannot be saved as JSON; "
        "a custom(fn) schedule is not serialisable: rebuild it in code after loading"
    )


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return _from_dict(value)
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _arguments(where: str, kind: Any, named: dict[Any, Any]) -> dict[str, Any]:
    """Check that `kind` is a kind and `named` holds only and all of its required parameter names."""
    import inspect

    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(k for k in KINDS if k != "custom"))
        raise ValueError(f"{where}: unknown schedule kind {check.show(kind)}; known kinds: {known}")
    for key in named:
        if not isinstance(key, str):
            raise TypeError(f"{where}: parameter names of {kind} must be strings; got {check.show(key)}")
    sig = inspect.signature(KINDS[kind].constructor)
    unknown = [k for k in named if k not in sig.parameters]
    if unknown:
        takes = ", ".join(sig.parameters)
        shown = ", ".join(check.show(k) for k in unknown)
        raise ValueError(f"{where}: {kind} has no parameter(s) {shown}; it takes {takes}")
    missing = [n for n, p in sig.parameters.items() if p.default is inspect.Parameter.empty and n not in named]
    if missing:
        raise ValueError(f"{where}: {kind} is missing required parameter(s) {', '.join(missing)}")
    return named


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. comparisons that do not reduce to one bool
        return False


def _rebuild(where: str, kind: Any, params: Any) -> Schedule:
    """``lr.<kind>(**dict(params))``, refusing anything that does not come back equal."""
    if not isinstance(params, (tuple, list)):
        raise TypeError(f"{where}: `params` must be a tuple of (name, value) pairs; got params={check.show(params)}")
    named: dict[Any, Any] = {}
    for item in params:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{where}: `params` must hold (name, value) pairs; got {check.show(item)}")
        key, value = item
        try:
            repeated = key in named
        except TypeError:  # unhashable
            raise TypeError(f"{where}: parameter names must be strings; got {check.show(key)}") from None
        if repeated:
            raise ValueError(f"{where}: parameter {check.show(key)} is given twice")
        named[key] = value
    kwargs = _arguments(where, kind, named)
    active = getattr(_building, "kinds", None)
    if active is None:
        active = _building.kinds = []
    active.append(kind)
    try:
        node = KINDS[kind].constructor(**kwargs)
    finally:
        active.pop()
    if not isinstance(node, Schedule) or node.kind != kind:
        raise ValueError(f"{where}: the {kind} constructor did not return a {kind} node; got {check.show(node)}")
    for key, value in kwargs.items():
        if not _same(node[key], _freeze(value)):
            raise ValueError(
                f"{where}: {kind}'s `{key}` does not rebuild to the value given "
                f"({check.show(node[key])}); got {key}={check.show(value)}"
            )
    return node


def _check_nesting(where: str, data: Any) -> None:
    """Refuse data nested deeper than any schedule can be, before recursing into it."""
    limit_containers = 4 * MAX_DEPTH  # a join adds a list per level; interpolate points two
    deepest_dicts, deepest_all = 0, 0
    stack = [(data, 0, 0)]
    while stack:
        item, dicts, containers = stack.pop()
        if isinstance(item, dict):
            dicts, containers = dicts + 1, containers + 1
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            containers += 1
            children = list(item)
        else:
            continue
        deepest_dicts, deepest_all = max(deepest_dicts, dicts), max(deepest_all, containers)
        stack.extend((child, dicts, containers) for child in children)
    if deepest_dicts > MAX_DEPTH:
        raise ValueError(
            f"{where}: the schedule nests {deepest_dicts} levels deep; schedules nest at most {MAX_DEPTH} levels"
        )
    if deepest_all > limit_containers:
        raise ValueError(
            f"{where}: lists and dicts nest {deepest_all} levels deep; at most {limit_containers} are allowed "
            f"(schedules nest at most {MAX_DEPTH} levels)"
        )


def from_dict(data: Any) -> Schedule:
    """Rebuild a schedule from ``Schedule.to_dict()``; every argument is validated again.

    Args:
        data: a dict with a ``"kind"`` key and that kind's arguments, child schedules as nested dicts
            (the form ``to_dict`` writes).

    Returns:
        The ``Schedule`` that `data` describes, built through its kind's constructor.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_dict({"kind": "linear", "start": 0.1, "end": 0.0, "steps": 100})
        >>> s, s(50)
        (linear(start=0.1, end=0, steps=100), 0.05)
        >>> lr.from_dict(s.to_dict()) == s
        True
    """
    if not isinstance(data, dict):
        raise TypeError(f"from_dict: expected a dict with a 'kind' key; got {type(data).__name__}: {check.show(data)}")
    _check_nesting("from_dict", data)
    return _from_dict(data)


def _from_dict(data: dict[Any, Any]) -> Schedule:
    if "kind" not in data:
        keys = ", ".join(check.show(k) for k in data)
        raise ValueError(f"from_dict: the dict has no 'kind' key; got keys {keys}")
    kind = data["kind"]
    if kind == "custom":
        raise ValueError("from_dict: a custom(fn) schedule is not serialisable: rebuild it in code after loading")
    named = {k: v for k, v in data.items() if k != "kind"}
    kwargs = _arguments("from_dict", kind, named)
    return KINDS[kind].constructor(**{k: _decode_value(v) for k, v in kwargs.items()})


def from_json(text: str | bytes) -> Schedule:
    """Rebuild a schedule from ``Schedule.to_json()``.

    Args:
        text: JSON text (str or bytes) holding one schedule's dict, as ``to_json`` writes it.

    Returns:
        The ``Schedule`` it describes; every argument is validated as by ``from_dict``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_json('{"kind": "step", "init": 1.0, "step_size": 10, "gamma": 0.5}')
        >>> s, s(25)
        (step(init=1, step_size=10, gamma=0.5), 0.25)
        >>> lr.from_json(s.to_json()) == s
        True
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"from_json: expected JSON text; got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"from_json: malformed JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"from_json: {err}") from None
    except RecursionError:
        raise ValueError(
            f"from_json: the JSON nests deeper than Python's recursion limit ({sys.getrecursionlimit()}); "
            f"schedules nest at most {MAX_DEPTH} levels"
        ) from None
    if isinstance(data, dict):
        _check_nesting("from_json", data)
    return from_dict(data)


def compile_program(
    root: Schedule,
) -> tuple[np.ndarray, tuple[Callable[[float], float], ...] | None, list[tuple[int, list[float], list[int]]]]:
    """Flatten a schedule tree into the kernel's program (see ``_kernel``); also return the
    custom functions (or None) and the nodes (code, parameters, children) for ``_pure``."""
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
    total_nodes = len(nodes)
    head = _kernel.HEADER + _kernel.NODE_SIZE * total_nodes
    prog: list[float] = [float(total_nodes), float(depth + total_nodes), float(rows)]
    tail: list[float] = []
    for code, floats, kid_ids in nodes:
        kids_at = head + len(tail)
        tail.extend(float(k) for k in kid_ids)
        params_at = head + len(tail)
        tail.extend(floats)
        prog.extend([float(code), float(params_at), float(kids_at), float(len(kid_ids))])
    array = np.asarray(prog + tail, dtype=np.float64)
    array.setflags(write=False)
    return array, (tuple(customs) if customs else None), nodes


def register(name: str, **record: Any) -> Callable[[Callable[..., Schedule]], Callable[..., Schedule]]:
    """Register the decorated constructor as kind `name`, with the rest of its ``Kind`` record."""

    def wrap(ctor: Callable[..., Schedule]) -> Callable[..., Schedule]:
        KINDS[name] = Kind(name=name, constructor=ctor, **record)
        return ctor

    return wrap
