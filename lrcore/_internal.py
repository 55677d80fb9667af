"""The core as the adapters and converters see it: the one internal interface they import.

Anything else under ``lrcore._*`` may change shape without notice; these names keep
their meaning.  The kind constructors are the public ones (``lr.cosine``, ...): the
converters, inside the package, take them from ``lrcore._kinds``, where they are defined.
"""

from __future__ import annotations

from . import _validate as check
from ._numba import njit
from ._plateau import log_reduction
from ._schedule import Schedule
from ._suggest import check_options, run
from ._table import MAX_TABLE, require_finite, table

__all__ = [
    "MAX_TABLE",
    "Schedule",
    "check",
    "check_options",
    "log_reduction",
    "njit",
    "require_finite",
    "run",
    "table",
]
