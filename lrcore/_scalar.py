"""A schedule's scalar evaluator in plain Python, from the kernel's own formulas.

``build`` turns a compiled program's nodes into nested Python callables, one per
node, each calling the same formula functions of ``_kernel`` that numba compiles
for the arrays, with the node's parameters bound.  No numba is imported or
compiled, so ``s(t)`` is fast from the first call, and every value equals the
compiled interpreters' operation for operation (the tests compare them over
every kind).  Custom leaves are ordinary calls here.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Sequence

from . import _kernel as K

Scalar = Callable[[float], float]
Node = tuple[int, list[float], list[int]]


def _leaf(code: int, p: tuple[float, ...]) -> Scalar:
    """The leaf's formula with its parameters bound, as ``_kernel._leaf`` reads them."""
    formula: Callable[..., float] = K.LEAVES[code]
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


def _warmup(p: tuple[float, ...], child: Scalar) -> Scalar:
    steps, start, shape, target = p[0], p[1], int(p[2]), p[3]
    ramp = K._ramp

    def warmup(t: float) -> float:
        if t < steps:
            return ramp(steps, start, shape, target, t)
        return child(t - steps)

    return warmup


def _shift(by: float, child: Scalar) -> Scalar:
    big = K.BIG
    return lambda t: child(min(t + by, big))  # as _kernel._branch


def _post(code: int, p: tuple[float, ...], child: Scalar) -> Scalar:
    post = K._post
    return lambda t: post(code, p, 0, child(t))


def _binary(code: int, first: Scalar, second: Scalar) -> Scalar:
    combine = K._combine
    return lambda t: combine(code, first(t), second(t))


def _custom(fn: Callable[[float], float]) -> Scalar:
    return lambda t: float(fn(t))


def build(
    nodes: list[Node], customs: Sequence[Callable[[float], float]]) -> Scalar:
    """The evaluator of node 0 of `nodes` (as ``compile_program`` lists them)."""

    def make(index: int) -> Scalar:
        code, floats, kid_ids = nodes[index]
        p = tuple(floats)
        if code < K.CUSTOM:
            return _leaf(code, p)
        if code == K.CUSTOM:
            return _custom(customs[int(p[0])])
        kids = [make(k) for k in kid_ids]
        if code == K.JOIN:
            return _join(p[1:], kids)
        if code == K.WARMUP:
            return _warmup(p, kids[0])
        if code == K.SHIFT:
            return _shift(p[0], kids[0])
        if code == K.PRODUCT or code == K.SUM:
            return _binary(code, kids[0], kids[1])
        return _post(code, p, kids[0])  # SCALE, ADD, CLIP

    return make(0)
