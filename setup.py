"""lrcore's one compiled piece; everything else is declared in pyproject.toml.

``lrcore._native`` is ``lrcore/_kernel.py`` (the formulas) compiled ahead of time by
mypyc, for the scalar path ``s(t)``; ``lrcore._pure`` binds its functions when it is
installed and up to date.  The source is compiled as it is, plus one line recording
its SHA-256, so a build left behind by an edit of ``_kernel.py`` is recognised and
not used.  The extension is optional: where it cannot be built (no C compiler) or
``LRCORE_PURE=1`` is set, lrcore installs as plain Python, the same formulas
interpreted, with the same values.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def native_extensions() -> list:
    if os.environ.get("LRCORE_PURE") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("lrcore: mypyc is not available, installing the plain-Python formulas", file=sys.stderr)
        return []
    source = (HERE / "lrcore" / "_kernel.py").read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    # mypyc names a module by its path, so the copy sits in a package of its own.
    package = HERE / "build" / "native" / "lrcore"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "_native.py").write_bytes(source + f'\nSOURCE: Final = "{digest}"\n'.encode())
    try:
        extensions = mypycify(
            ["--ignore-missing-imports", str(package / "_native.py")],
            opt_level="3",
            target_dir=str(HERE / "build" / "native-c"),
        )
    except Exception as error:  # noqa: BLE001 - any failure here means: install plain Python
        print(f"lrcore: mypyc failed ({error}), installing the plain-Python formulas", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: a warning, and plain Python
        if os.name != "nt":
            # The compiled formulas must round exactly as Python and numba do: one
            # rounding per operation, never a fused multiply-add.
            extension.extra_compile_args = [*extension.extra_compile_args, "-ffp-contract=off"]
    return extensions


setup(ext_modules=native_extensions())
