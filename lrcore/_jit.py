"""The compiled interpreters: ``_kernel``'s functions, compiled by numba.

Imported only when an evaluation is large enough to pay for numba (see
``Schedule.array``), so ``import lrcore`` and scalar calls never load numba.
Each function of ``_kernel.COMPILED`` is compiled from its own code object with
globals in which its callees are the compiled versions, so the compiled code and
the plain-Python code are the same functions.  numba compiles each entry point on
its first call (or loads it from the cache): an array call compiles
``fill_serial`` only, and the parallel kernel waits for the first parallel call.

``serial``, ``parallel`` and ``many`` are the entry points the library calls.  A
process's first call of each (where numba compiles, or loads from the cache)
holds an inter-process lock: processes that start together on an empty cache
then compile once, while the others wait and load the result, instead of all
compiling at once on the same cores.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import types
from collections.abc import Iterator
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


_ready: set[tuple[str, str]] = set()  # set.add is atomic: threads need no lock of their own


@contextlib.contextmanager
def _compiling() -> Iterator[None]:
    """An exclusive lock shared by this user's processes (a no-op where files cannot be locked)."""
    try:
        import fcntl

        fd = os.open(os.path.join(tempfile.gettempdir(), f"lrcore-numba-{os.getuid()}.lock"), os.O_RDWR | os.O_CREAT)
    except (ImportError, OSError, AttributeError):  # no fcntl (Windows), no writable temp dir
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _call(name: str, key: str, *args: Any) -> Any:
    """Call the compiled entry point `name`; the first call per argument type holds the lock."""
    if (name, key) in _ready:
        return _globals[name](*args)
    with _compiling():
        result = _globals[name](*args)
    _ready.add((name, key))
    return result


def serial(prog: Any, t0: float, out: Any) -> None:
    _call("fill_serial", out.dtype.char, prog, t0, out)


def parallel(prog: Any, t0: float, out: Any, threads: int) -> None:
    _call("fill_parallel", out.dtype.char, prog, t0, out, threads)


def many(prog: Any, ts: Any, out: Any) -> None:
    _call("eval_many", ts.dtype.char, prog, ts, out)


def ready() -> bool:
    """Whether the serial array kernel is already compiled or loaded in this process."""
    return bool(getattr(fill_serial, "signatures", ()))
