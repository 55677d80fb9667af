"""The Schedule value: an immutable tree of (kind, parameters) nodes, and how it is evaluated.

A schedule is data.  Each kind has one record in ``_registry.KINDS``, made in
``_kinds.py``; a constructor validates its arguments and builds a node.  The
node compiles once (lazily), through its kind's record, to the flat program of
``_kernel.py``: ``_scalar`` evaluates it in plain Python (``s(t)``, short
arrays) and ``_numba`` runs it compiled (long arrays).  Saving and rebuilding
(JSON, pickle) is ``_serialize``'s.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _numba, _scalar, _units
from . import _validate as check
from ._registry import KINDS, compile_program

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
    """The compiled interpreters (``_numba``) when an evaluation of n values should use
    them, else None (evaluate with the schedule's plain-Python evaluator)."""
    if n >= KERNEL_MIN or (n >= 64 and _numba.ready()):
        return _numba
    return None


def _float_type(where: str, dtype: Any) -> np.dtype:
    kind = np.dtype(dtype)
    if kind not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise check.fail(where, "dtype", "must be float64 or float32", dtype)
    return kind


def freeze(value: Any) -> Any:
    """A parameter value as a node stores it: lists and arrays become tuples."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


class Schedule:
    """A learning rate as a pure function of the step ``t``.

    Build one with a constructor (``lr.cosine(...)``, ``lr.warmup(...)``, ...);
    schedules are immutable, hashable and equal when their parameters are.
    """

    __slots__ = ("kind", "params", "_hash", "_compiled", "_scalar", "_depth", "_template")

    kind: str
    params: tuple[tuple[str, Any], ...]
    _hash: int | None
    _compiled: tuple[np.ndarray, tuple[Callable[[float], float], ...] | None, Callable[..., float]] | None
    _scalar: Callable[[float], float] | None  # _compiled[2], for the scalar fast path
    _depth: int
    _template: bool

    def __init__(self, kind: str, params: tuple[tuple[str, Any], ...]) -> None:
        """The node ``kind(**dict(params))``, built through that kind's constructor.

        Every argument is validated as ``lr.<kind>(...)`` validates it, so a node
        made by hand or by unpickling is as safe to evaluate as any other.
        """
        from ._serialize import rebuild

        node = rebuild("Schedule", kind, params)
        self._set(node.kind, node.params)

    @classmethod
    def _make(cls, kind: str, params: tuple[tuple[str, Any], ...]) -> Schedule:
        """A node from arguments its constructor has validated (constructors only)."""
        node = object.__new__(cls)
        node._set(kind, params)
        return node

    def _set(self, kind: str, params: tuple[tuple[str, Any], ...]) -> None:
        frozen = tuple((k, freeze(v)) for k, v in params)
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
        object.__setattr__(self, "_template", _holds_unit(kind, frozen))

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
    @property
    def is_template(self) -> bool:
        """Whether a length is written in a unit ("5%", "3ep", ...) that ``lr.resolve`` must turn into updates."""
        return self._template

    def _program(self) -> tuple[np.ndarray, tuple[Callable[[float], float], ...] | None, Callable[[float], float]]:
        """(program, custom functions or None, plain-Python scalar evaluator), built on first use."""
        compiled = self._compiled
        if compiled is None:
            if self._template:
                raise _units.unresolved(self)
            prog, customs, nodes = compile_program(self)
            compiled = (prog, customs, _scalar.build(nodes, customs or ()))
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
            threads = _numba.parallel_threads()
            if threads:
                try:
                    jit.parallel(prog, t0, out, threads)
                finally:
                    _numba.release_parallel()
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
        if self._template:
            raise _units.unresolved(self)
        return KINDS[self.kind].horizon(self)

    def _repr_png_(self) -> bytes | None:
        """The plot a notebook shows for a schedule at the end of a cell (None without matplotlib)."""
        from ._plot import png

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
        record = KINDS[self.kind]
        positional, defaults = record.positional, record.defaults
        parts = []
        for key, value in self.params:
            text = _repr_value(value)
            if key in positional:
                parts.append(text)
            elif key not in defaults or defaults[key] != value:
                parts.append(f"{key}={text}")
        return f"{self.kind}({', '.join(parts)})"


def _holds_unit(kind: str, params: tuple[tuple[str, Any], ...]) -> bool:
    """Whether a node's lengths, or its children's, hold a unit string."""
    record = KINDS.get(kind)
    if record is None:
        return False
    for key, value in params:
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, Schedule) and child._template:
                return True
        if _units.holds_unit(value) and record.param(key).length:
            return True
    return False


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
