"""The release artefacts: ``python -m build`` makes an sdist and one pure wheel, and the wheel
installs into a clean virtual environment and runs.

The build runs on a copy of the repository's own files (what ``git ls-files`` lists, as they
are in the working tree, plus new files under ``lrcore/`` and ``adapters/`` that git does not
ignore), so build folders and other untracked files never reach the artefacts.  Every step
runs in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import numba
import numpy as np
import pytest

import lrcore

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("lrcore", "adapters")  # where new, not yet committed source files may be


def _git(command: str, *args: str) -> list[str]:
    """The file names `git <command> -z <args>` prints (-z before any `--` that `args` hold)."""
    cmd = ["git", "-C", str(ROOT), command, "-z", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return [name for name in done.stdout.split("\0") if name]


def _copy_sources(dest: Path) -> None:
    """The working-tree versions of the tracked files, and untracked ones under the package folders."""
    names = _git("ls-files") + _git("ls-files", "--others", "--exclude-standard", "--", *PACKAGE_DIRS)
    for name in names:
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_version_has_one_source() -> None:
    """pyproject.toml takes the version from lrcore.__version__ and writes none of its own."""
    text = (ROOT / "pyproject.toml").read_text()  # (tomllib is Python 3.11+; lrcore supports 3.10)
    assert re.search(r'^dynamic = \["version"\]', text, re.M)
    assert re.search(r'^version = \{ ?attr = "lrcore\.__version__" ?\}', text, re.M)
    assert not re.search(r"^version = \"", text, re.M)
    assert re.search(r'^requires = \["setuptools>=68"\]', text, re.M)  # no compiler, no mypy to build
    assert re.fullmatch(r"\d+\.\d+\.\d+", lrcore.__version__)


def test_build_makes_a_pure_wheel_that_installs_into_a_clean_venv(tmp_path: Path) -> None:
    src, dist = tmp_path / "src", tmp_path / "dist"
    _copy_sources(src)
    assert not (src / "setup.py").exists()
    _run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(src)], timeout=300)

    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    version = lrcore.__version__
    assert wheel.name == f"lrcore-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = Parser().parsestr(zf.read(f"lrcore-{version}.dist-info/METADATA").decode())
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".c"))], names
    assert "lrcore/_kernel.py" in names and "lrcore/py.typed" in names
    assert any(n.startswith("lrcore/adapters/") for n in names), names
    assert any(n.startswith("lrcore/convert/") for n in names), names
    assert metadata["Name"] == "lrcore" and metadata["Version"] == version
    with tarfile.open(sdist) as tf:
        members = set(tf.getnames())
    assert {f"lrcore-{version}/README.md", f"lrcore-{version}/pyproject.toml"} <= members, sorted(members)

    # A clean venv: none of this environment's packages, so not its (editable) lrcore either.  The
    # dependencies come from this environment's site-packages through a path file, which adds the
    # folder without running the path files in it (such as an editable install's).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], timeout=60)
    deps = {str(Path(module.__file__).resolve().parents[1]) for module in (np, numba)}
    (Path(purelib.stdout.strip()) / "lrcore_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], timeout=180)

    probe = "import lrcore as lr; print(lr.__version__, lr.__file__, repr(lr.cosine(init=1.0, steps=10)(5)))"
    done = _run([str(python), "-c", probe], timeout=120, cwd=tmp_path)  # not the repository: its lrcore/
    installed, where, value = done.stdout.split()
    assert installed == version
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert float(value) == pytest.approx(0.5, rel=1e-15)  # half way down a cosine from 1
    assert value == repr(lrcore.cosine(init=1.0, steps=10)(5))  # and the very value of the sources
    assert (venv / "bin" / "lrcore").exists()  # the console script
