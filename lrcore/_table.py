"""The table of a schedule's values that graph adapters index (optax, Keras).

A compiled graph cannot call the numba kernel, so an adapter evaluates the schedule
once into ``values`` and looks step t up as ``values[min(t, len(values) - 1)]``.
Every value must be finite in the graph's float type: a schedule above float32's
range (about 3.4e38) would otherwise train with an infinite learning rate, so both
adapters refuse it through `require_finite`.  Core code: numpy and lrcore only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _validate as check
from ._schedule import Schedule

__all__ = ["MAX_TABLE", "require_finite", "table"]

MAX_TABLE = 10**8  # entries; 400 MB as float32, beyond what belongs in a compiled graph


def table(
    s: Schedule, steps: int | None = None, *, dtype: Any = np.float64, where: str = "table", name: str = "s"
) -> np.ndarray:
    """``values`` such that ``values[min(t, len(values) - 1)]`` is the learning rate at update t.

    The length is n = ceil(s.horizon) + 1 when the horizon is finite (the value
    holds from there on, so the lookup is exact for every t), capped at `steps`
    when given; a schedule without a finite horizon needs `steps` and is exact
    for t < steps, then holds s(steps - 1).  A table longer than `MAX_TABLE`
    raises ValueError: pass `steps`, the length of the run, and so does a table
    with a value that is not finite in `dtype`.  Errors about `s` call it `name`.
    """
    if not isinstance(s, Schedule):
        raise check.fail(where, name, "must be an lrcore Schedule", s, TypeError)
    horizon = s.horizon
    size = math.ceil(horizon) + 1 if horizon is not None and math.isfinite(horizon) else None
    if steps is not None:
        steps = check.count(where, "steps", steps)
        if steps == 0:
            raise check.fail(where, "steps", "must be > 0", steps)
        size = steps if size is None else min(size, steps)
    if size is None:
        rule = f"is required for a schedule without a finite horizon ({s.kind}); pass the run's length"
        raise check.fail(where, "steps", rule, steps)
    if size > MAX_TABLE:
        rule = f"must be <= {MAX_TABLE:.0e} (the table of values is held in memory)"
        if steps is None:
            rule = f"is required: horizon {horizon:g} needs a table longer than {MAX_TABLE:.0e}; pass the run's length"
        raise check.fail(where, "steps", rule, steps)
    with np.errstate(over="ignore"):  # a value that overflows the dtype is refused below, by name
        values = s.array(size, dtype=dtype)
    require_finite(values, values.dtype, where=where, name=name, s=s)
    return values


def require_finite(values: np.ndarray, dtype: Any, *, where: str, name: str, s: Any) -> None:
    """Raises ValueError naming `s` unless every one of `values` is finite once rounded to `dtype`.

    Rounding is monotone, so the largest and smallest values decide for all of them
    (NaN propagates through max and min): no rounded copy of the table is made.
    """
    kind = np.dtype(dtype)
    if values.size:
        with np.errstate(over="ignore"):
            finite = np.isfinite(kind.type(values.max())) and np.isfinite(kind.type(values.min()))
        if not finite:
            raise check.fail(where, name, f"must have values that are finite in {kind}", s)
