"""The core as the adapters and converters see it: the one internal interface they import.

Anything else under ``lrcore._*`` may change shape without notice; these names keep
their meaning.  The kind constructors are the public ones (``lr.cosine``, ...): the
converters, inside the package, take them from ``lrcore._kinds``, where they are defined.
"""

from __future__ import annotations

from . import _validate as check
from ._find import RangeTest, check_run, run, run_steps
from ._numba import njit
from ._plateau import log_reduction
from ._schedule import Schedule
from ._suggest import DEFAULT_METHOD, check_options
from ._table import MAX_TABLE, require_finite, table

__all__ = [
    "DEFAULT_METHOD",
    "MAX_TABLE",
    "RangeTest",
    "Schedule",
    "check",
    "check_run",
    "check_options",
    "log_reduction",
    "njit",
    "require_finite",
    "run",
    "run_steps",
    "table",
]
