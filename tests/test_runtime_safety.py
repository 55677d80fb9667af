"""The compiled kernels under fork, threads and read-only installs.

Each scenario runs in a fresh interpreter with a timeout, so a hang (a fork
``Pool`` waiting for a killed worker) or an abort (numba's workqueue layer,
GNU OpenMP after fork) fails the test instead of stalling or killing the run.
Every value is compared with the one this process computes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lrcore as lr
from lrcore._schedule import KERNEL_MIN, PARALLEL_MIN

ROOT = Path(__file__).resolve().parents[1]
BIG = max(KERNEL_MIN, PARALLEL_MIN) + 3  # on the compiled parallel path
SCHEDULE = "lr.warmup(lr.cosine(init=0.1, steps=10**6, final=1e-4), steps=1000)"
TIMES = (0, 3, 999.5, 1000, 123456.75, 10**6, 10**7)
LAYERS = ("default", "omp", "workqueue")


def schedule() -> lr.Schedule:
    return eval(SCHEDULE, {"lr": lr})  # the children build it from the same text


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


EXPECTED: dict[str, object] = {}


def expected() -> dict[str, object]:
    """This process's values: scalars (as float.hex), and digests of the two arrays."""
    if not EXPECTED:
        s = schedule()
        EXPECTED.update(
            scalars=[float(s(t)).hex() for t in TIMES],
            small=digest(s.array(1000)),
            big=digest(s.array(BIG)),
        )
    return EXPECTED


# Prepended to every child script: the same schedule and digests as above.
PRELUDE = f"""
import hashlib, os, sys, threading
import numpy as np
import lrcore as lr
BIG = {BIG}
TIMES = {TIMES!r}
def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
s = {SCHEDULE}
"""


def child_env(layer: str = "default", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_NUM_THREADS"] = "2"  # the parallel path has threads to use on any machine
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    env.update(extra)
    return env


def run(code: str, env: dict[str, str], timeout: float = 240, prefix: tuple[str, ...] = ()) -> str:
    """Run PRELUDE + code in a fresh interpreter; its stdout, then its stderr after a
    ``stderr=`` line; or a failure naming how it died."""
    cmd = [*prefix, sys.executable, "-c", PRELUDE + textwrap.dedent(code)]
    try:
        proc = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung for {timeout} s; stderr:\n{exc.stderr!r}")
    if proc.returncode != 0:
        pytest.fail(f"exit code {proc.returncode}; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout + "\nstderr=\n" + proc.stderr


def lines(out: str) -> dict[str, str]:
    """The ``key=value`` lines the child printed (before its stderr)."""
    stdout = out.split("\nstderr=\n", 1)[0]
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


# --- fork -------------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS)
def test_forked_child_after_parallel_call_runs_and_matches(layer: str) -> None:
    # The parent runs the parallel kernel, then forks; the child (and its own
    # child) run it again.  With GNU OpenMP numba kills such a child with
    # "fork() called from a process already using GNU OpenMP".
    out = run(
        """
        import numba
        parent = digest(s.array(BIG))
        print("layer=" + numba.threading_layer())

        def forked(body):
            pid = os.fork()
            if pid == 0:
                code = 70  # body raised
                try:
                    code = body()
                finally:
                    os._exit(code)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

        def child():
            if digest(s.array(BIG)) != parent:
                return 3
            return forked(lambda: 0 if digest(s.array(BIG)) == parent else 3)  # grandchild

        print("child=%d" % forked(child))
        print("big=" + parent)
        """,
        child_env(layer),
        timeout=240,
    )
    got = lines(out)
    assert got["child"] == "0", out  # 0: both descendants computed the parent's values
    assert got["big"] == expected()["big"]
    if layer != "default":
        assert got["layer"] == layer


def test_forked_child_after_other_numba_code_started_the_threads() -> None:
    # The parent's threads were started by someone else's parallel function,
    # before lrcore ever ran its parallel kernel; lrcore must still know that
    # the fork came after GNU OpenMP started.
    out = run(
        """
        import numba

        @numba.njit(parallel=True)
        def elsewhere(x):
            for i in numba.prange(x.shape[0]):
                x[i] = i

        elsewhere(np.zeros(10))
        print("layer=" + numba.threading_layer())
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                print("child_big=" + digest(s.array(BIG)), flush=True)
                code = 0
            finally:
                os._exit(code)
        print("child=%d" % os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        """,
        child_env(),
        timeout=240,
    )
    got = lines(out)
    assert got["child"] == "0", out
    assert got["child_big"] == expected()["big"]


def test_fork_pool_after_parallel_call_does_not_hang() -> None:
    out = run(
        """
        import multiprocessing, numba
        parent = digest(s.array(BIG))
        print("layer=" + numba.threading_layer())

        def work(start):
            return digest(s.array(BIG, start=start))

        with multiprocessing.get_context("fork").Pool(2) as pool:
            got = pool.map(work, [0, 0, 5, 5])
        print("pool=" + ",".join(got))
        print("shifted=" + digest(s.array(BIG, start=5)))
        print("big=" + parent)
        """,
        child_env(),
        timeout=240,
    )
    got = lines(out)
    big, shifted = got["big"], got["shifted"]
    assert big == expected()["big"]
    assert got["pool"].split(",") == [big, big, shifted, shifted]


# --- threads ----------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS)
def test_threads_on_the_parallel_path(layer: str) -> None:
    # Four threads and the main thread call the parallel path at once, over
    # and over.  The workqueue layer aborts the process (exit 134, "Concurrent
    # access has been detected") if two of them enter the parallel kernel.
    out = run(
        """
        import numba
        reference = digest(s.array(BIG))
        bad = []

        def loop():
            for _ in range(6):
                if digest(s.array(BIG)) != reference:
                    bad.append(threading.current_thread().name)

        threads = [threading.Thread(target=loop) for _ in range(4)]
        for t in threads:
            t.start()
        loop()
        for t in threads:
            t.join()
        print("bad=%d" % len(bad))
        print("layer=" + numba.threading_layer())
        print("big=" + reference)
        """,
        child_env(layer),
        timeout=300,
    )
    got = lines(out)
    assert got["bad"] == "0", out
    assert got["big"] == expected()["big"]
    if layer != "default":
        assert got["layer"] == layer


@pytest.mark.parametrize("layer", ("omp", "workqueue"))
def test_parallel_claims(layer: str) -> None:
    # The decision itself: the parallel kernel is granted where it is safe
    # (so it is really used) and refused where it is not.
    out = run(
        """
        import numba
        from lrcore import _numba as _runtime

        n = _runtime.parallel_threads()
        print("main=%d" % n)
        print("while_held=%d" % _runtime.parallel_threads())  # a second caller runs serially
        _runtime.release_parallel()
        print("after_release=%d" % _runtime.parallel_threads())
        _runtime.release_parallel()

        seen = []

        def claim():
            k = _runtime.parallel_threads()
            if k:
                _runtime.release_parallel()
            seen.append(k)

        t = threading.Thread(target=claim)
        t.start()
        t.join()
        print("thread=%d" % seen[0])

        pid = os.fork()
        if pid == 0:
            claim()
            os._exit(10 + seen[-1])
        print("forked=%d" % (os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) - 10))
        print("layer=" + numba.threading_layer())
        """,
        child_env(layer),
        timeout=120,
    )
    got = lines(out)
    assert got["layer"] == layer
    assert (got["main"], got["while_held"], got["after_release"]) == ("2", "0", "2")
    if layer == "workqueue":
        # Not thread-safe: only the main thread; fork-safe: a child may use it.
        assert (got["thread"], got["forked"]) == ("0", "2")
    else:
        # GNU OpenMP (numba's Linux wheels): thread-safe, but a forked child
        # of a process that started it must stay serial.
        assert (got["thread"], got["forked"]) == ("2", "0")


def test_unavailable_threading_layer_warns_and_runs_serially() -> None:
    out = run(
        """
        import importlib, warnings
        try:
            importlib.import_module("numba.np.ufunc.tbbpool")
            print("tbb=1")
        except ImportError:
            print("tbb=0")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print("big=" + digest(s.array(BIG)))
            s.array(BIG)
        print("warnings=%d" % sum("threading layer cannot start" in str(w.message) for w in caught))
        """,
        child_env("tbb"),
        timeout=240,
    )
    got = lines(out)
    assert got["big"] == expected()["big"]
    # Where TBB cannot load, one warning says the configured layer does nothing.
    assert got["warnings"] == ("0" if got["tbb"] == "1" else "1"), out


# --- read-only install ---------------------------------------------------------

RO_USER = "lrcore-ro"


def unprivileged() -> tuple[str, ...]:
    """A command prefix that runs as a user without write access to anything here.

    Root ignores file permissions, so as root the child runs as ``RO_USER``
    (created here if needed).  The interpreter lives wherever pip put it (here,
    under /root, mode 700), so the child keeps CAP_DAC_READ_SEARCH: it may read
    and list any file, and write none that its permissions forbid.
    """
    if os.geteuid() != 0:
        return ()  # already unprivileged
    if subprocess.run(["id", "-u", RO_USER], capture_output=True).returncode != 0:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/false", RO_USER],
            capture_output=True,
            text=True,
        )
        if made.returncode not in (0, 9):  # 9: created meanwhile by another process
            pytest.fail(f"useradd {RO_USER} failed: {made.stderr}")
    return (
        "setpriv",
        f"--reuid={RO_USER}",
        f"--regid={RO_USER}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
    )


@pytest.fixture
def read_only_install():
    """A copy of the package (lrcore + lrcore.adapters) and a cache dir and home, all unwritable."""
    top = Path(tempfile.mkdtemp(prefix="lrcore-ro-"))
    top.chmod(0o755)
    site = top / "site"
    shutil.copytree(ROOT / "lrcore", site / "lrcore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "adapters", site / "lrcore" / "adapters", ignore=shutil.ignore_patterns("__pycache__"))
    (top / "cache").mkdir()
    (top / "home").mkdir()
    paths = [top / "cache", top / "home", *site.rglob("*"), site]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield top
    finally:
        for p in paths:
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(top)


@pytest.mark.parametrize("home", ("unwritable", "unset"))
def test_read_only_install_imports_and_evaluates(read_only_install: Path, home: str) -> None:
    top = read_only_install
    site = top / "site"
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(site),
        "NUMBA_CACHE_DIR": str(top / "cache"),
        "NUMBA_NUM_THREADS": "2",
    }
    if home == "unwritable":
        env["HOME"] = str(top / "home")
    code = """
        import os
        from numba.misc.appdirs import user_cache_dir

        def writable(d):
            try:
                os.makedirs(d, exist_ok=True)
                open(os.path.join(d, ".probe"), "w").close()
            except OSError:
                return False
            os.remove(os.path.join(d, ".probe"))
            return True

        # Every place numba could cache in: NUMBA_CACHE_DIR, the package's
        # __pycache__, the user's cache folder (from HOME, else the passwd entry).
        places = [os.environ["NUMBA_CACHE_DIR"], os.path.join(os.path.dirname(lr.__file__), "__pycache__"),
                  user_cache_dir(appname="numba")]
        print("writable=" + ",".join(p for p in places if writable(p)))
        print("file=" + lr.__file__)
        import lrcore.adapters
        print("adapters=" + lrcore.adapters.__file__)
        print("scalars=" + ",".join(float(s(t)).hex() for t in TIMES))
        print("small=" + digest(s.array(1000)))
        print("big=" + digest(s.array(BIG)))
        print("big_again=" + digest(s.array(BIG)))
    """
    env["PYTHONWARNINGS"] = "always"  # every warning reaches stderr, wherever it is raised
    prefix = unprivileged()
    out = run(textwrap.dedent(code), env, timeout=400, prefix=prefix)
    got = lines(out)
    assert got["file"] == str(site / "lrcore" / "__init__.py")
    assert got["adapters"] == str(site / "lrcore" / "adapters" / "__init__.py")
    if prefix:  # as RO_USER nothing is writable; a plain user may still own a writable home
        assert got["writable"] == "", out
    want = expected()
    assert got["scalars"].split(",") == want["scalars"]
    assert got["small"] == want["small"]
    assert got["big"] == got["big_again"] == want["big"]
    # Without any cache location, one warning says so (not silently slow); with one, none.
    assert out.count("numba cannot cache its compiled kernels") == (0 if got["writable"] else 1), out
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before  # nothing written
    assert not list((top / "cache").iterdir())


def test_read_only_install_sgd_adapter(read_only_install: Path) -> None:
    from lrcore.adapters.sgd import sgd_least_squares_numba

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((8, 3)), rng.standard_normal(8)
    want_x, want_loss = sgd_least_squares_numba(a, b, np.zeros(3), schedule().array(50), momentum=0.9)
    site = read_only_install / "site"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(site),
        "NUMBA_CACHE_DIR": str(read_only_install / "cache"),
        "HOME": str(read_only_install / "home"),
    }
    code = f"""
        from lrcore.adapters.sgd import sgd_least_squares_numba
        a, b = np.array({a.tolist()!r}), np.array({b.tolist()!r})
        x, loss = sgd_least_squares_numba(a, b, np.zeros(3), s.array(50), momentum=0.9)
        print("x=" + ",".join(v.hex() for v in x.tolist()))
        print("loss=" + digest(loss))
    """
    got = lines(run(code, env, timeout=240, prefix=unprivileged()))
    assert got["x"].split(",") == [v.hex() for v in want_x.tolist()]
    assert got["loss"] == digest(want_loss)
