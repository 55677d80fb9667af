"""Reading the documentation's pages in tests: a page, one section of it, its code blocks.

The pages under docs/ hold the guides' code; the tests that run a block with more than the page
gives it (a framework's data, a subprocess, torchrun) read it from here, and the page marks the
block ``<!-- run by tests/<file>.py -->`` so the docs' own test does not run it a second time.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HEADING = re.compile(r"^(#{1,6}) (.+)$")
# A line right before a block that the docs' own test must not run: not runnable as it stands,
# or run (with what it leaves to the reader) by the named test file.
NOT_RUN = re.compile(r"^<!-- (not run: .+|run by (?P<test>tests/[\w/]+\.py)) -->$")


def page(name: str) -> str:
    """The text of docs/<name>, e.g. ``page("guides/torch.md")``."""
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The lines below the one heading `heading` (any level, outside code blocks), up to the next
    heading of its level or above; its subsections included."""
    lines, fenced, found = text.splitlines(), False, []
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            found.append((i, len(m[1]), m[2].strip()))
    matches = [(i, level) for i, level, title in found if title == heading]
    assert len(matches) == 1, f"{len(matches)} headings {heading!r}, not 1"
    first, level = matches[0]
    last = next((i for i, lv, _ in found if i > first and lv <= level), len(lines))
    return "\n".join(lines[first + 1 : last]) + "\n"


def blocks(text: str, language: str = "python", *, marked: bool = True) -> list[str]:
    """The ```<language> blocks of `text`, in order; with ``marked=False``, less those right after a
    ``<!-- not run: ... -->`` or ``<!-- run by ... -->`` line."""
    out, lines, previous = [], text.splitlines(), ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if line.strip() == f"```{language}" and (marked or not NOT_RUN.match(previous)):
                out.append("\n".join(lines[i + 1 : end]) + "\n")
            i, previous = end + 1, ""
            continue
        if line.strip():
            previous = line.strip()
        i += 1
    return out
