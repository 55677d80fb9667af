"""The adapters and converters see the core through ``lrcore._internal`` (and the kind constructors where
they are defined, ``lrcore._kinds``) only, and every kind is exported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lrcore as lr
from lrcore import _internal
from lrcore._registry import KINDS

ROOT = Path(__file__).resolve().parent.parent
GLUE = sorted([*ROOT.glob("adapters/*.py"), *ROOT.glob("lrcore/convert/*.py")])


def _core_imports(path: Path) -> list[str]:
    """The private core modules (``lrcore._x``) that `path` imports, as dotted names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative, inside lrcore/convert: resolve against lrcore
                module = "lrcore." + module if node.level == 2 else "lrcore.convert." + module
            names = [module + "." + a.name for a in node.names] if module in ("lrcore", "lrcore.") else [module]
            found += names
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m.startswith("lrcore.") and m.split(".")[1].startswith("_")]


@pytest.mark.parametrize("path", GLUE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_glue_imports_only_the_internal_interface(path: Path) -> None:
    allowed = ("lrcore._internal", "lrcore._kinds", "lrcore.convert._")
    private = [m for m in _core_imports(path) if not m.startswith(allowed)]
    assert not private, f"{path.relative_to(ROOT)} imports private core names {private}; use lrcore._internal"


def test_the_glue_is_found() -> None:
    assert len(GLUE) >= 15 and any(p.name == "torch.py" for p in GLUE)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_exported_by_lrcore(kind: str) -> None:
    constructor = KINDS[kind].constructor
    assert getattr(lr, kind, None) is constructor, f"{kind}: add it to the imports and __all__ of lrcore/__init__.py"
    assert kind in lr.__all__, f"{kind}: add it to __all__ in lrcore/__init__.py"


def test_the_internal_interface_is_small() -> None:
    assert not set(_internal.__all__) & set(KINDS), "the kinds are lrcore's public names, not the interface's"
    assert all(hasattr(_internal, name) for name in _internal.__all__)


def test_a_private_import_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from lrcore._table import table\nfrom lrcore import _validate as check\nimport lrcore._numba\n")
    assert _core_imports(bad) == ["lrcore._table", "lrcore._validate", "lrcore._numba"]
