"""The compiled formulas: ``lrcore._native`` is ``_kernel.py`` compiled ahead of time by
mypyc (``setup.py``) for the scalar path.  The test install has it, built from the
current ``_kernel.py``; it equals the plain-Python formulas bit for bit over every kind;
a stale build or ``LRCORE_PURE=1`` falls back to plain Python; and without a C compiler
lrcore still installs and gives the same values."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numba
import numpy as np
import pytest
import reference as R
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrcore as lr
from lrcore import _kernel, _pure
from lrcore._schedule import compile_program

ROOT = Path(__file__).resolve().parents[1]
JIT_OFF = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]
PURE = os.environ.get("LRCORE_PURE") == "1"  # the JIT-off CI pass runs the plain-Python formulas
native = importlib.import_module("lrcore._native")  # the test command's install builds it


def bits(x: float) -> str:
    return float(x).hex()  # tells -0.0 from 0.0, unlike ==


def evaluators(s: lr.Schedule) -> tuple[_pure.Scalar, _pure.Scalar]:
    """s's scalar evaluator with the compiled formulas, and with the plain-Python ones."""
    _, customs, nodes = compile_program(s)
    return _pure.build(nodes, customs or (), native), _pure.build(nodes, customs or (), _kernel)


def assert_same(s: lr.Schedule, ts: list[float]) -> None:
    compiled, plain = evaluators(s)
    for t in ts:
        assert bits(compiled(t)) == bits(plain(t)), f"{s!r} at t={t!r}: {compiled(t)!r} != {plain(t)!r}"


def test_the_installed_formulas_are_compiled_and_current() -> None:
    digest = hashlib.sha256(Path(_kernel.__file__).read_bytes()).hexdigest()
    assert native.SOURCE == digest, "lrcore._native was built from another _kernel.py: reinstall (pip install -e .)"
    assert not hasattr(native.cosine_plain, "__code__")  # a compiled function, not interpreted bytecode
    assert [f.__name__ for f in native.LEAVES] == [f.__name__ for f in _kernel.LEAVES]
    expected = _kernel if PURE else native
    assert _pure.formulas() is expected
    s = lr.warmup(lr.cosine(init=0.1, steps=900), steps=100)
    assert bits(s(500.0)) == bits(evaluators(s)[0 if not PURE else 1](500.0))


KINDS = sorted(R.CATALOGUE)
GRID = [0.0, 0.5, 1.0, 2.0, 7.25, 99.0, 100.0, 101.0, 333.3, 1_000.0, 4_999.5, 1e5, 3e7 + 0.25, 1e12, 1e300, 1.7e308]


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_and_plain_formulas_agree_on_the_catalogue(kind: str) -> None:
    rng = np.random.default_rng(11)
    for spec in R.CATALOGUE[kind]:
        s = lr.from_dict(spec)
        ts = GRID + [float(t) for t in R.probe_times(spec)] + rng.uniform(0.0, 3e4, 200).tolist()
        assert_same(s, ts + [float(i) for i in range(300)])


SETTINGS = settings(
    max_examples=30 if JIT_OFF else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("kind", sorted(R.KIND_STRATEGIES) + ["combined"])
@SETTINGS
@given(data=st.data())
def test_compiled_and_plain_formulas_agree_on_random_schedules(kind: str, data: st.DataObject) -> None:
    spec = data.draw(R.specs(3) if kind == "combined" else R.KIND_STRATEGIES[kind], label="spec")
    ts = data.draw(st.lists(st.one_of(st.floats(0.0, 1e9), st.integers(0, 10**6).map(float)), max_size=30))
    assert_same(lr.from_dict(spec), [float(t) for t in R.probe_times(spec)] + ts)


def test_a_build_from_another_kernel_is_not_used() -> None:
    source = Path(_kernel.__file__).read_bytes()
    assert _pure.choose(native, source) is native
    assert _pure.choose(None, source) is _kernel  # not installed
    assert _pure.choose(native, None) is native  # installed without its sources: nothing to compare
    stale = types.ModuleType("lrcore._native")
    stale.SOURCE = hashlib.sha256(b"an older _kernel.py").hexdigest()  # type: ignore[attr-defined]
    stale.__file__ = "/site-packages/lrcore/_native.so"
    with pytest.warns(RuntimeWarning, match=r"built from another version .*Reinstall lrcore"):
        assert _pure.choose(stale, source) is _kernel
    unmarked = types.ModuleType("lrcore._native")  # a build without the source's digest
    unmarked.__file__ = "/site-packages/lrcore/_native.so"
    with pytest.warns(RuntimeWarning, match="built from another version"):
        assert _pure.choose(unmarked, source) is _kernel


PROBE = """
import sys
import lrcore as lr
from lrcore import _pure
s = lr.warmup(lr.cosine(init=0.1, steps=900), steps=100) * 0.5
print(_pure.formulas().__name__, "lrcore._native" in sys.modules, lr.__file__)
print(" ".join(float(s(t)).hex() for t in (0.0, 37.5, 100.0, 450.25, 999.0, 5e9)))
"""


def _expected() -> str:
    s = lr.warmup(lr.cosine(init=0.1, steps=900), steps=100) * 0.5
    compiled, plain = evaluators(s)
    values = [bits(compiled(t)) for t in (0.0, 37.5, 100.0, 450.25, 999.0, 5e9)]
    assert values == [bits(plain(t)) for t in (0.0, 37.5, 100.0, 450.25, 999.0, 5e9)]
    return " ".join(values)


def test_lrcore_pure_runs_the_plain_formulas_with_the_same_values() -> None:
    env = {**os.environ, "LRCORE_PURE": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    head, values = out.stdout.splitlines()
    assert head.split()[:2] == ["lrcore._kernel", "False"]
    assert values == _expected()
    env.pop("LRCORE_PURE")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    head, values = out.stdout.splitlines()
    assert head.split()[:2] == ["lrcore._native", "True"]
    assert values == _expected()


def test_without_a_c_compiler_lrcore_installs_as_plain_python(tmp_path: Path) -> None:
    """A wheel built where the C compiler fails has no extension, warns at build time, and
    imports and evaluates with the plain-Python formulas (the same values)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("lrcore", "adapters"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = {**os.environ, "CC": "false", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("LRCORE_PURE", None)  # the build must try the compiler (the JIT-off CI pass sets it)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
         str(src)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    log = build.stdout + build.stderr
    assert 'building extension "lrcore._native" failed' in log, log[-3000:]  # setuptools' warning
    (wheel,) = (tmp_path / "dist").glob("lrcore-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lrcore/_kernel.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))], names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    # -S: no site-packages .pth files, so the test install's editable lrcore is not importable there.
    deps = Path(np.__file__).resolve().parents[1]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{target}{os.pathsep}{deps}", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    head, values = out.stdout.splitlines()
    name, loaded, where = head.split()
    assert (name, loaded) == ("lrcore._kernel", "False")
    assert where.startswith(str(target))
    assert values == _expected()
