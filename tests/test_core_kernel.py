"""The evaluator: one compiled interpreter for every schedule, the plain-Python scalar
evaluator built from the same formulas (equal bit for bit), safe from many threads, and a
parallel path for long arrays that gives the serial path's bits."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest
import reference as R
import test_core_records as records

import lrcore as lr
from lrcore import _numba
from lrcore._schedule import KERNEL_MIN, PARALLEL_MIN

JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
ENTRY_POINTS = ("eval_many", "fill_serial", "fill_parallel")

MIXED = [
    lr.warmup(lr.cosine(init=3e-4, steps=9_000, final=3e-5), steps=1_000),
    lr.join([lr.linear(start=0.0, end=1.0, steps=7.5), lr.cyclic(base=0.1, peak=1.0, step_up=33, mode="triangular2")],
            boundaries=[7.5]) * 0.5,
    lr.product(lr.one_cycle(peak=1.0, steps=50_000, three_phase=True), lr.step(init=1.0, step_size=333, gamma=0.9)),
    lr.clip(lr.shift(lr.cosine_restarts(init=1.0, period=100, period_mult=1.5, k_decay=2.0), steps=12.5) + 0.01,
            lo=0.05, hi=0.8),
    lr.wsd(peak=1.0, steps=300_000, warmup=1_000.5, decay=50_000, decay_shape="sqrt"),
]


def _compiled_signatures() -> dict[str, int]:
    """How many compiled signatures each numba dispatcher of the compiled kernel holds."""
    out = {}
    for name, fn in _numba._compiled().items():
        signatures = getattr(fn, "signatures", None)
        if signatures is not None:
            out[name] = len(signatures)
    return out


def _distinct_schedules(count: int) -> list[lr.Schedule]:
    """`count` different schedules over every kind and combinator (catalogue parameters, varied)."""
    base = [lr.from_dict(spec) for kind in records.SERIALISABLE for spec in R.ORACLES[kind].catalogue]
    out = []
    for i in range(count):
        s = base[i % len(base)]
        out.append(lr.shift(s, steps=0.5 * i) * (1.0 + i / count) if i >= len(base) else s)
    assert len(set(out)) == count
    return out


def _exercise(s: lr.Schedule, parallel: bool) -> None:
    """Every entry point: scalar int and float, ndarray, array float64/float32 (plain Python and
    compiled, serial or parallel)."""
    s(3), s(3.5), s(np.float32(4.0))
    s(np.array([0.0, 1.5, 1e4]))
    s.array(100, start=7), s.array(100, start=2.25, dtype=np.float32)
    prog = s._program()[0]
    _numba.compiled("eval_many")(prog, np.array([0.0, 1.5, 1e4]), np.empty(3))
    fill = _numba.compiled("fill_serial")
    fill(prog, 2.25, np.empty(100)), fill(prog, 7.0, np.empty(100, np.float32))
    if parallel:
        s.array(PARALLEL_MIN, start=1), s.array(PARALLEL_MIN, start=1, dtype=np.float32)


def test_new_schedules_compile_nothing() -> None:
    """After one warm-up schedule, 100 distinct schedules through every entry point add no signature.

    With NUMBA_DISABLE_JIT=1 the kernels are plain Python functions: the same
    schedules must run through every entry point with nothing to compile.
    """
    _exercise(MIXED[0], parallel=True)
    if JIT_OFF:
        assert not any(hasattr(_numba.compiled(name), "signatures") for name in ENTRY_POINTS)
        for i, s in enumerate(_distinct_schedules(100)):
            _exercise(s, parallel=i % 10 == 0)
        return
    before = _compiled_signatures()
    assert all(before[name] >= 1 for name in ENTRY_POINTS), before
    schedules = _distinct_schedules(100)
    for i, s in enumerate(schedules):
        _exercise(s, parallel=i % 10 == 0)
    assert _compiled_signatures() == before


def test_entry_points_are_the_kernel_dispatchers() -> None:
    """The compiled entry points are numba dispatchers of the kernel's own functions (the same
    code objects the plain-Python path runs)."""
    from lrcore import _kernel

    for name in ENTRY_POINTS:
        fn = _numba.compiled(name)
        assert JIT_OFF or hasattr(fn, "signatures"), f"{name} is not a numba dispatcher"
        assert getattr(fn, "py_func", fn).__code__ is getattr(_kernel, name).__code__


def test_import_and_small_evaluations_load_no_numba() -> None:
    """import lrcore, s(t), s(ndarray) and arrays below KERNEL_MIN run in plain Python: no numba
    import, no compilation on first use."""
    code = (
        "import sys, numpy as np, lrcore as lr\n"
        "s = lr.warmup(lr.cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)\n"
        "s = s * lr.step(init=1, step_size=7, gamma=.5)\n"
        "s(5); s(5.5); s(np.arange(100)); s.array(1000); s.array(1000, start=0.5, dtype=np.float32)\n"
        "lr.summary(s, 10_000); lr.parse(repr(s))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite', 'lrcore')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = ast.literal_eval(out.stdout.strip())
    assert not [m for m in loaded if m.split(".")[0] in ("numba", "llvmlite")], loaded
    assert "lrcore._numba" in loaded, loaded  # its fork hook is in place, numba itself is not loaded
    assert "lrcore._scalar" in loaded, loaded


# ---------------------------------------------------------------------------
# The compiled interpreters equal the plain-Python evaluator bit for bit


def _offset_family() -> list[lr.Schedule]:
    """Joins, warmups and shifts with fractional offsets, nested, around leaves of every shape:
    each element's time is a chain of additions that both paths must perform alike."""
    leaves = [
        lr.linear(start=1.0, end=0.0, steps=1000),
        lr.cosine(init=1.0, steps=300.3, final=0.01),
        lr.step(init=1.0, step_size=3.3, gamma=0.7),
        lr.cosine_restarts(init=1.0, period=7.7, period_mult=1.3),
    ]
    offsets = [0.1, 1 / 3, 2.5, 1e-9, 0.7]
    out = []
    for leaf, a, b in itertools.product(leaves, offsets, offsets):
        out.append(lr.shift(lr.warmup(leaf, steps=a), steps=b))
        out.append(lr.join([lr.shift(leaf, steps=a), lr.warmup(leaf, steps=b)], boundaries=[a + b]))
        out.append(lr.warmup(lr.shift(lr.join([leaf, leaf * 0.5], boundaries=[b]), steps=a), steps=a + b))
    return out


N_PARALLEL = max(KERNEL_MIN, PARALLEL_MIN)  # arrays this long take the compiled parallel path
KERNEL_CASES = [lr.from_dict(spec) for kind in records.SERIALISABLE for spec in R.ORACLES[kind].catalogue] + MIXED
N_KERNEL = 700 if JIT_OFF else 4_500  # past two chunk boundaries (2048) with the JIT on


@pytest.mark.parametrize("start", [0.0, 0.1, 7.25, 1e6 + 0.3])
def test_compiled_arrays_equal_the_scalar_evaluator(start: float) -> None:
    for s in KERNEL_CASES + (_offset_family() if start in (0.0, 0.1) else []):
        prog = s._program()[0]
        want = np.array([s(start + i) for i in range(N_KERNEL)])
        got = np.empty(N_KERNEL)
        _numba.compiled("fill_serial")(prog, start, got)
        np.testing.assert_array_equal(got, want, err_msg=repr(s))
        np.testing.assert_array_equal(s.array(N_KERNEL, start=start), want, err_msg=repr(s))
        if start == 0.1:
            got32 = np.empty(N_KERNEL, np.float32)
            _numba.compiled("fill_serial")(prog, start, got32)
            with np.errstate(over="ignore"):  # values past float32 become inf in both
                np.testing.assert_array_equal(got32, want.astype(np.float32), err_msg=repr(s))
            par = np.empty(N_KERNEL)
            _numba.compiled("fill_parallel")(prog, start, par, 3)
            np.testing.assert_array_equal(par, want, err_msg=repr(s))
            ts = np.random.default_rng(5).uniform(0.0, 3 * N_KERNEL, 64)
            many = np.empty(64)
            _numba.compiled("eval_many")(prog, ts, many)
            np.testing.assert_array_equal(many, [s(float(t)) for t in ts], err_msg=repr(s))


def test_offsets_keep_the_scalar_bits_in_long_arrays() -> None:
    """The evaluation guide's promise through the public API, on the compiled path (n >= KERNEL_MIN)."""
    s = lr.shift(lr.warmup(lr.linear(start=1, end=0, steps=1000), steps=0.1), steps=0.1)
    n = 300 if JIT_OFF else KERNEL_MIN
    a = s.array(n) if not JIT_OFF else np.empty(n)
    if JIT_OFF:
        _numba.compiled("fill_serial")(s._program()[0], 0.0, a)
    assert a[64] == s(64) == 0.936
    np.testing.assert_array_equal(a, [s(i) for i in range(n)])


# ---------------------------------------------------------------------------
# Threads


def _run_in_threads(work: Callable[[int], Any], threads: int = 8) -> list[Any]:
    """Run work(i) in `threads` threads released together; return the results in order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as err:  # noqa: BLE001 - reported to the main thread
            errors.append(err)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("index", range(len(MIXED)))
def test_eight_threads_get_identical_arrays(index: int) -> None:
    s = MIXED[index]
    n = 5_000 if JIT_OFF else 200_000
    want = s.array(n)

    def work(i: int) -> np.ndarray:
        # Half the threads share the schedule; the others rebuild it, so its program is compiled concurrently.
        mine = s if i % 2 else lr.from_dict(s.to_dict())
        return mine.array(n)

    for got in _run_in_threads(work):
        np.testing.assert_array_equal(got, want)


def test_eight_threads_of_scalar_calls_and_fresh_schedules() -> None:
    ts = np.linspace(0.0, 60_000.0, 97)
    want = [[s(t) for t in ts] for s in MIXED]

    def work(i: int) -> list[list[float]]:
        rebuilt = [lr.parse(repr(s)) for s in MIXED]
        return [[s(t) for t in ts] for s in rebuilt]

    for got in _run_in_threads(work):
        assert got == want


def test_eight_threads_on_the_parallel_path() -> None:
    s = MIXED[1]
    want = s.array(N_PARALLEL + 17)
    for got in _run_in_threads(lambda i: s.array(N_PARALLEL + 17)):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------
# Parallel path == serial path


PARALLEL_CASES = MIXED if not JIT_OFF else MIXED[:1]


@pytest.mark.parametrize("index", range(len(PARALLEL_CASES)))
def test_parallel_path_equals_serial_path(index: int) -> None:
    """n >= 2**18 runs in numba threads; the result is bit for bit the serial one (arrays below the
    threshold, concatenated) and equals the scalar values."""
    s = PARALLEL_CASES[index]
    n = N_PARALLEL + 4_099
    for start in (1.5,) if JIT_OFF else (0, 7, 1.5):
        for dtype in (np.float64,) if JIT_OFF else (np.float64, np.float32):
            big = s.array(n, start=start, dtype=dtype)
            serial = np.concatenate(list(s.chunks(n, PARALLEL_MIN - 1, start=start, dtype=dtype)))
            np.testing.assert_array_equal(big, serial)
        picks = np.array([0, 1, 2047, 2048, 65_536, PARALLEL_MIN - 1, PARALLEL_MIN, n - 1])
        big = s.array(n, start=start)
        np.testing.assert_array_equal(big[picks], [s(start + int(i)) for i in picks])
    if not JIT_OFF:
        np.testing.assert_array_equal(s.array(n, dtype=np.float32), np.float32(s.array(n)))


def test_parallel_result_does_not_depend_on_the_thread_count() -> None:
    """The blocks follow numba's thread count; each element is the same whatever the split."""
    s = MIXED[2]
    n = N_PARALLEL + 1
    previous = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, 2, previous}):
            numba.set_num_threads(threads)
            results.append(s.array(n))
    finally:
        numba.set_num_threads(previous)
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])


def test_ndarray_calls_keep_shape_and_order() -> None:
    s = MIXED[3]
    rng = np.random.default_rng(7)
    ts = rng.uniform(0.0, 5_000.0, size=(3, 4, 5))
    ts[0, 0, 0] = ts[2, 3, 4]  # repeated times, unsorted order
    got = s(ts)
    assert got.shape == ts.shape and got.dtype == np.float64
    np.testing.assert_array_equal(got.ravel(), [s(float(t)) for t in ts.ravel()])
    assert s(np.array([], dtype=np.float64)).shape == (0,)
    np.testing.assert_array_equal(s(np.arange(10)), s(np.arange(10, dtype=np.float32)))
    np.testing.assert_array_equal(s([0, 1, 2.5]), [s(0), s(1), s(2.5)])


def test_first_compilations_of_concurrent_processes_take_turns(tmp_path: Any) -> None:
    """Processes starting together hold the compile lock one at a time (so one compiles and the
    others load its cache, rather than all compiling at once): their locked spans never overlap."""
    code = (
        "import sys, time, lrcore._numba as j\n"
        "with j._compiling():\n"
        "    a = time.monotonic(); time.sleep(0.3); b = time.monotonic()\n"
        "print(a, b)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    spans = sorted(tuple(map(float, p.communicate(timeout=120)[0].split())) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert end <= begin, spans
