"""The README is the landing page: short, its two set-up commands, a tour that runs as written,
and links that lead somewhere."""

from __future__ import annotations

import re

import docs_pages
import pytest

import lrcore as lr

README = (docs_pages.ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_a_landing_page() -> None:
    assert len(README.splitlines()) <= 250


def test_two_commands_one_draws_one_tests() -> None:
    draw, test = docs_pages.blocks(docs_pages.section(README, "Two commands"), "bash")
    assert draw.startswith("pip install -e '.[plot]' && python -m lrcore plot ") and "\n" not in draw.strip()
    assert test.strip() == (
        "pip install -r requirements-dev.txt && pip install --no-deps -r requirements-nodeps.txt && python -m pytest"
    )


def test_the_tour_runs_and_shows_what_it_says() -> None:
    (tour,) = docs_pages.blocks(docs_pages.section(README, "A short tour"))
    scope: dict = {"__name__": "__main__"}
    exec(compile(tour, "README.md", "exec"), scope)
    s = scope["s"]
    assert "(0.0, 0.00015, 3e-05)" in tour and (s(0), s(500), s(10_000)) == pytest.approx((0.0, 0.00015, 3e-05))
    assert "# 10000.0" in tour and s.horizon == 10_000.0
    assert s == lr.parse(repr(s)) == lr.from_json(s.to_json())


def test_every_link_of_the_readme_leads_to_a_file() -> None:
    links = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", README)
    assert links
    missing = [link for link in links if not link.startswith("http") and not (docs_pages.ROOT / link).exists()]
    assert missing == []


def test_the_error_it_quotes_is_the_one_lrcore_raises() -> None:
    (quoted,) = re.findall(r"``(cosine: [^`]*`[^`]*`[^`]*)``", README)
    with pytest.raises(ValueError) as caught:
        lr.cosine(init=0.1, steps=0)
    assert str(caught.value) == quoted
