"""The documentation site: it builds with ``mkdocs build --strict``, its gallery has a page and a
picture for every kind, its API reference every public name, and its code runs.

Code blocks: every ```python block of every page under docs/ runs (a page's blocks in order, in one
namespace, in a fresh interpreter), except one right after a ``<!-- not run: reason -->`` line or
a ``<!-- run by tests/X.py -->`` line (that test runs it, with what the page leaves to the reader);
and so does the code each gallery page shows.  The README's python block is run by
tests/test_readme.py.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docs_pages
import pytest

from lrcore._registry import KINDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ADAPTERS = ("torch", "optax", "keras", "hf", "lightning", "sgd")
# Runs each page's blocks in one namespace of its own, from a fresh interpreter.
DRIVER = """
import json, sys
for page, blocks in json.loads(sys.stdin.read()).items():
    scope = {"__name__": "__main__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"<{page}, python block {i + 1}>", "exec"), scope)
"""
ENV = dict(os.environ, MPLBACKEND="Agg", NO_MKDOCS_2_WARNING="1")


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


def python_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a page that its own test runs: all but those marked."""
    return docs_pages.blocks(markdown, marked=False)


def run_pages(pages: dict[str, list[str]], cwd: Path, timeout: float) -> None:
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(pages), cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_the_python_blocks_of_a_page_run(page: Path, tmp_path: Path) -> None:
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    if blocks:
        run_pages({str(page.relative_to(ROOT)): blocks}, tmp_path, timeout=300)


def test_the_code_of_every_gallery_page_runs(tmp_path: Path) -> None:
    peers = hooks.peer_calls()
    generated = {f"gallery/{name}.md": python_blocks(hooks.kind_page(name, peers)) for name in KINDS}
    assert all(generated.values())  # each shows the code that drew it
    run_pages(generated, tmp_path, timeout=300)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{name}.png" for name in KINDS)


def test_a_not_run_mark_skips_the_next_block_only() -> None:
    page = "```python\na = 1\n```\n\n<!-- not run: needs a GPU -->\n\n```python\nb = 2\n```\n\n```python\nc = 3\n```\n"
    assert python_blocks(page) == ["a = 1\n", "c = 3\n"]
    elsewhere = page.replace("not run: needs a GPU", "run by tests/test_adapter_torch.py")
    assert python_blocks(elsewhere) == ["a = 1\n", "c = 3\n"]
    assert docs_pages.blocks(elsewhere) == ["a = 1\n", "b = 2\n", "c = 3\n"]


def test_a_block_run_elsewhere_is_run_by_the_test_it_names() -> None:
    """A ``<!-- run by tests/X.py -->`` mark names a test file that exists and reads that page, so a
    block the docs' own test leaves out is still run."""
    marks = 0
    for path in pages():
        name = path.relative_to(DOCS).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            m = docs_pages.NOT_RUN.match(line.strip())
            if m and m["test"]:
                marks += 1
                test = ROOT / m["test"]
                assert test.is_file(), (name, m["test"])
                assert f'"{name}"' in test.read_text(encoding="utf-8"), f"{m['test']} does not read {name}"
    assert marks


def test_every_readme_include_of_the_docs_resolves() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in pages():
        text = page.read_text(encoding="utf-8")
        resolved = hooks.include_readme(text, readme, page.relative_to(DOCS).as_posix())
        assert "<!-- readme:" not in resolved, page


def test_a_readme_section_takes_the_place_of_the_heading_above_it() -> None:
    readme = (
        "# tool\n\nintro\n\n## Usage\n\nfirst\n\n```python\n# a comment, not a heading\n```\n\n"
        "### Details\n\n![plot](docs/lr.png)\n\nlast\n\n## Next\n\nnot included\n"
    )
    page = '# Usage guide\n\n<!-- readme: "Usage" from "```python" to "last" -->\n'
    assert hooks.include_readme(page, readme, "guides/usage.md") == (
        "# Usage guide\n\n```python\n# a comment, not a heading\n```\n\n## Details\n\n![plot](../lr.png)\n\n"
    )
    with pytest.raises(Exception, match="no line of the section starts with 'nowhere'"):
        hooks.include_readme('# x\n<!-- readme: "Usage" to "nowhere" -->\n', readme, "x.md")
    with pytest.raises(Exception, match="0 headings 'Missing'"):
        hooks.include_readme('# x\n<!-- readme: "Missing" -->\n', readme, "x.md")


def test_nothing_the_build_generates_is_in_docs() -> None:
    generated = [DOCS / "gallery" / f"{name}{ext}" for name in KINDS for ext in (".md", ".png")]
    assert [p for p in generated if p.exists()] == []


def _public_names(module: Path) -> list[str]:
    """A module's ``__all__``, read without importing it (an adapter imports its framework)."""
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["__all__"]:
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no __all__")


def test_the_site_builds_strictly_from_a_copy_with_every_kind_and_public_name(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("docs", "lrcore", "adapters"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for name in ("mkdocs.yml", "README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, repo / name)
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=repo, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    assert not (repo / "site").exists()

    index = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    for name in KINDS:
        page = (site / "gallery" / name / "index.html").read_text(encoding="utf-8")
        assert f'<img alt="{name}" src="../{name}.png"' in page, name
        assert (site / "gallery" / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
        assert f'<img alt="{name}" src="{name}.png"' in index, name

    api = (site / "api" / "lrcore" / "index.html").read_text(encoding="utf-8")
    for name in _public_names(ROOT / "lrcore" / "__init__.py"):
        assert f'id="lrcore.{name}"' in api, name
    for adapter in ADAPTERS:
        html = (site / "api" / adapter / "index.html").read_text(encoding="utf-8")
        for name in _public_names(ROOT / "adapters" / f"{adapter}.py"):
            assert f'id="adapters.{adapter}.{name}"' in html, f"{adapter}.{name}"

    # Public names only: a module's __all__, and of its classes no private or protocol name.
    for module, source in [("lrcore", ROOT / "lrcore" / "__init__.py")] + [
            (f"adapters.{a}", ROOT / "adapters" / f"{a}.py") for a in ADAPTERS]:
        page = site / "api" / (module.rsplit(".", 1)[-1]) / "index.html"
        shown = re.findall(r'<h[23] id="([^"]+)"', page.read_text(encoding="utf-8"))
        names = [s.removeprefix(module + ".").split(".") for s in shown if s.startswith(module + ".")]
        assert {n[0] for n in names} <= set(_public_names(source)), module
        members = [n[-1] for n in names if len(n) > 1]
        assert [m for m in members if m.startswith("_") and m not in ("__call__", "__getitem__")] == [], module


def test_every_session_shown_as_text_says_what_lrcore_says() -> None:
    """A ```text block written as a session (``>>> expression`` then its error line) shows the
    error that expression raises, word for word."""
    import lrcore as lr

    shown = 0
    for path in pages():
        for block in docs_pages.blocks(path.read_text(encoding="utf-8"), "text"):
            lines = block.splitlines()
            for prompt, said in zip(lines, lines[1:], strict=False):
                if not prompt.startswith(">>> "):
                    continue
                with pytest.raises(Exception) as caught:
                    eval(prompt[4:], {"lr": lr})
                assert said == f"{type(caught.value).__name__}: {caught.value}", path
                shown += 1
    assert shown
