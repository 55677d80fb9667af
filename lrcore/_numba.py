"""Everything numba: the compiled interpreters, where they may cache, and where the parallel kernel may run.

The interpreters are ``_kernel``'s functions compiled by numba, built on the first
evaluation large enough to pay for numba (see ``Schedule.array``), so ``import
lrcore`` and scalar calls never load numba.  Each function of
``_kernel.COMPILED`` is compiled from its own code object with globals in which
its callees are the compiled versions, so the compiled code and the plain-Python
code are the same functions.  numba compiles each entry point on its first call
(or loads it from the cache): an array call compiles ``fill_serial`` only, and
the parallel kernel waits for the first parallel call.  ``serial``, ``parallel``
and ``many`` are the entry points the library calls.  A process's first call of
each holds an inter-process lock: processes that start together on an empty
cache then compile once, while the others wait and load the result.

Two facts about the machine that numba leaves to its callers:

* ``cache=True`` raises when the function is decorated if no cache
  directory is writable: read-only installs, ``HOME`` unwritable or unset,
  ``NUMBA_CACHE_DIR`` unwritable.  ``njit`` below caches where numba can and
  compiles in memory where it cannot.
* numba's threading layers are not all safe everywhere.  The ``workqueue``
  layer aborts the process ("Concurrent access has been detected") when two
  threads enter a parallel region at once; GNU OpenMP (the ``omp`` layer on
  Linux) kills a forked child that enters one after its parent used the layer
  ("fork() called from a process already using GNU OpenMP").  ``parallel_threads``
  decides, in Python and before the call, whether the parallel kernel may run
  now; where it may not, the caller runs the serial kernel, which computes the
  same values.

This module loads numba only when asked to compile or to run the parallel
kernel, so importing it early (with ``lrcore``) is free and puts its fork hook
in place before the first fork.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from . import _kernel

# Layers that numba documents as safe when parallel regions are entered from
# several Python threads (the calls are still serialised by _busy, below).
_THREADSAFE = frozenset({"tbb", "omp"})
_KNOWN = _THREADSAFE | {"workqueue"}

_warned_no_cache = False


def njit(func: Callable[..., Any] | None = None, /, *, cache: bool = False, **options: Any) -> Any:
    """``numba.njit``, except that ``cache=True`` means "cache where numba can".

    numba looks for a writable cache directory (``NUMBA_CACHE_DIR``, the
    package's ``__pycache__``, the user's cache folder) and raises
    ``RuntimeError`` when there is none.  Here the function then compiles once
    per process instead, and one warning says how to get the cache back.
    """

    import numba

    def decorate(f: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(f)
        enable = getattr(dispatcher, "enable_caching", None)  # absent with NUMBA_DISABLE_JIT
        if cache and enable is not None:
            try:
                enable()
            except RuntimeError as exc:
                _warn_no_cache(exc)
        return dispatcher

    return decorate if func is None else decorate(func)


def _warn_no_cache(exc: RuntimeError) -> None:
    global _warned_no_cache
    if _warned_no_cache:
        return
    _warned_no_cache = True
    where = os.environ.get("NUMBA_CACHE_DIR")
    configured = f"NUMBA_CACHE_DIR={where!r} is not writable; " if where else ""
    warnings.warn(
        f"lrcore: numba cannot cache its compiled kernels here ({configured}numba: {exc}); "
        "each process compiles them again, which takes a few seconds. "
        "Set NUMBA_CACHE_DIR to a writable directory to cache them.",
        RuntimeWarning,
        stacklevel=3,
    )


# --- the parallel kernel ----------------------------------------------------

# Held while a parallel kernel runs.  A second caller does not wait for it:
# it runs the serial kernel (same values), so the layers never see two
# parallel regions at once and two callers never oversubscribe the cores.
_busy = threading.Lock()
# Set in a forked child whose parent had started a layer that is not fork-safe;
# inherited by the child's own children.
_fork_unsafe = False
# The layer numba started (known once its threads are launched; fixed after that).
_layer: str | None = None
_warned_no_layer = False


def _started_layer() -> str | None:
    """The layer numba's threads run on, or None if they were never started."""
    numba = sys.modules.get("numba")
    if numba is None:  # not even imported
        return None
    try:
        return str(numba.threading_layer())
    except (AttributeError, ValueError):  # ValueError: "Threading layer is not initialized"
        return None


def _fork_safe(layer: str) -> bool:
    if layer != "omp":
        return layer in _KNOWN  # tbb and workqueue survive fork
    # Only GNU OpenMP refuses to run in a forked child; other OpenMP runtimes
    # (Intel, LLVM) are fork-safe.  Unknown vendor: assume the worst.
    omppool = sys.modules.get("numba.np.ufunc.omppool")
    return getattr(omppool, "openmp_vendor", "GNU") != "GNU"


def _after_fork_in_child() -> None:
    global _busy, _fork_unsafe
    # A thread of the parent may have held the lock at the fork; that thread
    # does not exist here.
    _busy = threading.Lock()
    layer = _started_layer()
    if layer is not None and not _fork_safe(layer):
        _fork_unsafe = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def _resolve_layer() -> str | None:
    """Start numba's threads if needed and return their layer (None: none can start)."""
    global _layer, _warned_no_layer
    import numba

    try:
        numba.get_num_threads()  # starts the threads (numba picks the layer) if not yet started
    except ValueError as exc:  # the configured NUMBA_THREADING_LAYER cannot be loaded
        if not _warned_no_layer:
            _warned_no_layer = True
            warnings.warn(
                f"lrcore: numba's threading layer cannot start ({exc}); Schedule.array runs single-threaded. "
                "Set NUMBA_THREADING_LAYER to an available layer (tbb, omp, workqueue).",
                RuntimeWarning,
                stacklevel=4,
            )
        return None
    _layer = _started_layer()
    return _layer


def parallel_threads() -> int:
    """Claim the parallel kernel: its thread count, or 0 where it is not safe now.

    A nonzero result must be followed by ``release_parallel()`` once the
    kernel returns (``try``/``finally``).  0 means: run the serial kernel.
    The parallel kernel is refused

    * in a forked child whose parent started a fork-unsafe layer (GNU OpenMP);
    * off the main thread with the ``workqueue`` layer, which is not
      thread-safe (other numba code of the process may use it from the main
      thread), and with any layer numba did not document;
    * while another thread runs it;
    * when numba has a single thread, or no layer can start.
    """
    if _fork_unsafe:
        return 0
    layer = _layer or _resolve_layer()
    if layer not in _THREADSAFE:
        if layer != "workqueue" or threading.current_thread() is not threading.main_thread():
            return 0
    threads = sys.modules["numba"].get_num_threads()
    if threads < 2 or not _busy.acquire(blocking=False):
        return 0
    return threads


def release_parallel() -> None:
    """End a claim that ``parallel_threads()`` granted."""
    _busy.release()


# --- the compiled interpreters ------------------------------------------------


@functools.cache  # built once per process, on the first large evaluation
def _compiled() -> dict[str, Any]:
    """``_kernel``'s globals with every function of ``_kernel.COMPILED`` replaced by its numba dispatcher."""
    import numba

    compiled: dict[str, Any] = dict(vars(_kernel))
    compiled["prange"] = numba.prange
    for name in _kernel.COMPILED:
        fn = getattr(_kernel, name)
        copy = types.FunctionType(fn.__code__, compiled, name, fn.__defaults__, fn.__closure__)
        copy.__qualname__ = fn.__qualname__
        copy.__doc__ = fn.__doc__
        compiled[name] = njit(copy, cache=True, parallel=name == "fill_parallel")
    return compiled


def compiled(name: str) -> Any:
    """The numba dispatcher of the kernel function `name` (compiled, or loaded, on its first call)."""
    return _compiled()[name]


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
        return compiled(name)(*args)
    with _compiling():
        result = compiled(name)(*args)
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
    return _compiled.cache_info().currsize > 0 and bool(getattr(compiled("fill_serial"), "signatures", ()))
