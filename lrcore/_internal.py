"""The core as the adapters and converters see it: the one internal interface they import.

Anything else under ``lrcore._*`` may change shape without notice; these names keep
their meaning.  The kind constructors are the public ones (``lr.cosine``, ...).
"""

from __future__ import annotations

from . import _validate as check
from ._kinds import (
    add,
    clip,
    constant,
    cosine,
    cosine_restarts,
    custom,
    cyclic,
    exponential,
    interpolate,
    inverse_sqrt,
    inverse_time,
    join,
    linear,
    multistep,
    one_cycle,
    piecewise_constant,
    polynomial,
    product,
    range_test,
    scale,
    shift,
    step,
    stretch,
    tanh_decay,
    warmup,
    wsd,
)
from ._numba import njit
from ._schedule import Schedule
from ._suggest import check_options, run
from ._table import MAX_TABLE, require_finite, table

__all__ = [
    "MAX_TABLE",
    "Schedule",
    "add",
    "check",
    "check_options",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "custom",
    "cyclic",
    "exponential",
    "interpolate",
    "inverse_sqrt",
    "inverse_time",
    "join",
    "linear",
    "multistep",
    "njit",
    "one_cycle",
    "piecewise_constant",
    "polynomial",
    "product",
    "range_test",
    "require_finite",
    "run",
    "scale",
    "shift",
    "step",
    "stretch",
    "table",
    "tanh_decay",
    "warmup",
    "wsd",
]
