"""A schedule's scalar evaluator in plain Python, from the kernel's own formulas.

``build`` turns a compiled program's nodes into nested Python callables, one per
node, each calling the same formula functions of ``_kernel`` that numba compiles
for the arrays, with the node's parameters bound.  No numba is imported or
compiled, so ``s(t)`` is fast from the first call, and every value equals the
compiled interpreters' operation for operation (the tests compare them over
every kind).  Custom leaves are ordinary calls here.

The formulas come from ``_native`` where it is installed: ``_kernel.py`` itself,
compiled ahead of time by mypyc (``setup.py``), so a call runs no interpreted
arithmetic and needs no compilation at run time.  ``formulas`` falls back to
``_kernel`` when there is no build, when ``LRCORE_PURE=1`` is set, or when the
build was made from another version of ``_kernel.py`` (with a warning).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import importlib
import os
import types
import warnings
from collections.abc import Callable, Sequence

from . import _kernel as K

Scalar = Callable[[float], float]
Node = tuple[int, list[float], list[int]]


def choose(native: types.ModuleType | None, source: bytes | None) -> types.ModuleType:
    """The module whose formulas ``build`` binds: `native` (the compiled ``_native``, or
    None where it is not installed) if it was built from `source` (the bytes of
    ``_kernel.py``, or None where they cannot be read), else ``_kernel``."""
    if native is None:
        return K
    if source is not None and getattr(native, "SOURCE", None) != hashlib.sha256(source).hexdigest():
        warnings.warn(
            f"lrcore: the compiled formulas ({native.__file__}) were built from another version of "
            f"{K.__file__}; evaluating the plain-Python formulas instead (same values, slower s(t)). "
            "Reinstall lrcore (pip install -e .) to rebuild them.",
            RuntimeWarning,
            stacklevel=2,
        )
        return K
    return native


@functools.cache  # decided once per process
def formulas() -> types.ModuleType:
    """``_native`` or ``_kernel`` (see ``choose``)."""
    native: types.ModuleType | None = None
    if os.environ.get("LRCORE_PURE") != "1":
        try:
            native = importlib.import_module("lrcore._native")
        except ImportError:
            pass
    source: bytes | None = None
    if native is not None and K.__file__.endswith(".py"):  # else installed without its sources
        try:
            with open(K.__file__, "rb") as f:
                source = f.read()
        except OSError:  # unreadable: nothing to compare against
            pass
    return choose(native, source)


def _leaf(F: types.ModuleType, code: int, p: tuple[float, ...]) -> Scalar:
    """The leaf's formula with its parameters bound, as ``_kernel._leaf`` reads them."""
    formula: Callable[..., float] = F.LEAVES[code]
    names, tail = K.layout(K.LEAVES[code])
    if tail:
        scalars = len(names) - 1
        return functools.partial(formula, *p[:scalars], p[scalars:])
    return functools.partial(formula, *p)


def _join(bounds: tuple[float, ...], kids: list[Scalar]) -> Scalar:
    first = kids[0]
    right = bisect.bisect_right  # the number of boundaries <= t, as _kernel._count_le

    def join(t: float) -> float:
        i = right(bounds, t)
        if i == 0:
            return first(t)
        return kids[i](t - bounds[i - 1])

    return join


def _warmup(F: types.ModuleType, p: tuple[float, ...], child: Scalar) -> Scalar:
    steps, start, shape, target = p[0], p[1], int(p[2]), p[3]
    ramp = F._ramp

    def warmup(t: float) -> float:
        if t < steps:
            return ramp(steps, start, shape, target, t)
        return child(t - steps)

    return warmup


def _shift(by: float, child: Scalar) -> Scalar:
    big = K.BIG
    return lambda t: child(min(t + by, big))  # as _kernel._branch


def _post(F: types.ModuleType, code: int, p: tuple[float, ...], child: Scalar) -> Scalar:
    post = F._post
    return lambda t: post(code, p, 0, child(t))


def _binary(F: types.ModuleType, code: int, first: Scalar, second: Scalar) -> Scalar:
    combine = F._combine
    return lambda t: combine(code, first(t), second(t))


def _custom(fn: Callable[[float], float]) -> Scalar:
    return lambda t: float(fn(t))


def build(
    nodes: list[Node], customs: Sequence[Callable[[float], float]], F: types.ModuleType | None = None
) -> Scalar:
    """The evaluator of node 0 of `nodes` (as ``compile_program`` lists them), with the
    formulas of `F` (``_native`` or ``_kernel``; by default the one ``formulas`` picks)."""
    if F is None:
        F = formulas()

    def make(index: int) -> Scalar:
        code, floats, kid_ids = nodes[index]
        p = tuple(floats)
        if code < K.CUSTOM:
            return _leaf(F, code, p)
        if code == K.CUSTOM:
            return _custom(customs[int(p[0])])
        kids = [make(k) for k in kid_ids]
        if code == K.JOIN:
            return _join(p[1:], kids)
        if code == K.WARMUP:
            return _warmup(F, p, kids[0])
        if code == K.SHIFT:
            return _shift(p[0], kids[0])
        if code == K.PRODUCT or code == K.SUM:
            return _binary(F, code, kids[0], kids[1])
        return _post(F, code, p, kids[0])  # SCALE, ADD, CLIP

    return make(0)
