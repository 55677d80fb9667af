"""The compiled interpreters: ``_kernel``'s functions, compiled by numba.

Imported only when an evaluation is large enough to pay for numba (see
``Schedule.array``), so ``import lrcore`` and scalar calls never load numba.
Each function of ``_kernel.COMPILED`` is compiled from its own code object with
globals in which its callees are the compiled versions, so the compiled code and
the plain-Python code are the same functions.  numba compiles each entry point on
its first call (or loads it from the cache): an array call compiles
``fill_serial`` only, and the parallel kernel waits for the first parallel call.
"""

from __future__ import annotations

import types
from typing import Any

import numba

from . import _kernel
from ._runtime import njit

_globals: dict[str, Any] = dict(vars(_kernel))
_globals["prange"] = numba.prange
for _name in _kernel.COMPILED:
    _fn = getattr(_kernel, _name)
    _copy = types.FunctionType(_fn.__code__, _globals, _name, _fn.__defaults__, _fn.__closure__)
    _copy.__qualname__ = _fn.__qualname__
    _copy.__doc__ = _fn.__doc__
    _globals[_name] = njit(_copy, cache=True, parallel=_name == "fill_parallel")

fill_serial = _globals["fill_serial"]
fill_parallel = _globals["fill_parallel"]
eval_many = _globals["eval_many"]


def ready() -> bool:
    """Whether the serial array kernel is already compiled or loaded in this process."""
    return bool(getattr(fill_serial, "signatures", ()))
