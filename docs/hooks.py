"""The documentation site's build-time pages (a mkdocs hook, see mkdocs.yml).

- **The gallery**: one page per entry of ``lrcore._registry.KINDS``, so a new kind
  appears by itself: its formula and description (its docstring), its parameters (its
  ``Param`` records), its properties, a plot that lrcore draws at build time from the
  docstring Example's first ``s = lr.<kind>(...)``, and the converter calls whose
  result is that kind or holds it.  An index shows them all as thumbnails.
- **README sections**: a page line ``<!-- readme: "Heading" -->`` is replaced by that
  README section (``from "..."`` / ``to "..."`` cut it at the first line starting with
  that text), so what the landing page says (its commands, tour and adapters) has one copy.

Nothing generated is written into docs/: pages and plots exist only in the build.
"""

from __future__ import annotations

import ast
import inspect
import math
import posixpath
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import lrcore as lr
from lrcore._registry import KINDS, REQUIRED, Kind, Param, _shown, stated_length
from lrcore.convert import _hf, _keras, _optax, _timm, _torch

GALLERY = "gallery"

# -- README sections ------------------------------------------------------------------

INCLUDE = re.compile(r"^<!-- readme: (?P<spec>.*?) -->$", re.M)
SPEC = re.compile(r'^"(?P<title>[^"]+)"(?: from "(?P<start>[^"]+)")?(?: to "(?P<end>[^"]+)")?$')
HEADING = re.compile(r"^(#{1,6}) (.+)$")


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of each heading outside fenced code (a ``# comment`` in a block is none)."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            found.append((i, len(m[1]), m[2].strip()))
    return found


def readme_section(readme: str, spec: str) -> tuple[int, list[str]]:
    """The level of the heading `spec` names and the lines of its section below it (its subsections
    included), cut as `spec` says.  A heading or a cut that is not there is an error, so a README
    edit that moves a section the docs show fails the build instead of emptying a page."""
    m = SPEC.match(spec)
    if not m:
        raise PluginError(f'readme include {spec!r}: write "Heading" [from "text"] [to "text"]')
    lines = readme.splitlines()
    headings = _headings(lines)
    matches = [(i, level) for i, level, text in headings if text == m["title"]]
    if len(matches) != 1:
        raise PluginError(f"readme include {spec!r}: README.md has {len(matches)} headings {m['title']!r}, not 1")
    first, level = matches[0]
    last = next((i for i, lv, _ in headings if i > first and lv <= level), len(lines))
    body = lines[first + 1 : last]
    for cut, keep_from in ((m["start"], True), (m["end"], False)):
        if cut is None:
            continue
        at = next((i for i, line in enumerate(body) if line.lstrip().startswith(cut)), None)
        if at is None:
            raise PluginError(f"readme include {spec!r}: no line of the section starts with {cut!r}")
        body = body[at:] if keep_from else body[:at]
    return level, body


def include_readme(markdown: str, readme: str, page_uri: str) -> str:
    """`markdown` with each include line replaced by its README section.  The section takes the
    place of the page's heading above the line (its subsections one level below that heading), and
    its links into docs/ are made relative to the page."""
    out: list[str] = []
    page_level = 1
    for line in markdown.splitlines():
        m = INCLUDE.match(line)
        if not m:
            if h := HEADING.match(line):
                page_level = len(h[1])
            out.append(line)
            continue
        level, body = readme_section(readme, m["spec"])
        shift = page_level - level
        fenced = False
        for text in body:
            if text.startswith("```"):
                fenced = not fenced
            elif not fenced and (h := HEADING.match(text)):
                text = "#" * max(1, len(h[1]) + shift) + " " + h[2]
            out.append(_docs_links(text, page_uri))
    return "\n".join(out) + "\n"


def _docs_links(line: str, page_uri: str) -> str:
    """README links to ``docs/X`` (its images) as links from the page at `page_uri` to X; a link to
    another file of the repository (not part of the site) becomes its text and the file's path."""
    here = posixpath.dirname(page_uri) or "."
    line = re.sub(r"(?<!!)\[([^\]]+)\]\((?!docs/|https?:|mailto:|#)([^)\s]+)\)",
                  lambda m: m[1] if m[1].strip("`") == m[2] else f"{m[1]} (`{m[2]}` in the repository)", line)
    return re.sub(r"\]\(docs/([^)]+)\)", lambda m: f"]({posixpath.relpath(m[1], here)})", line)


# -- the gallery ----------------------------------------------------------------------


def is_combinator(record: Kind) -> bool:
    return bool(record.children)


def description(name: str) -> tuple[str, str]:
    """The kind's formula (its docstring's first paragraph) and the paragraphs after it, up to Args."""
    doc = inspect.cleandoc(KINDS[name].constructor.__doc__ or "")
    head = doc.split("\n\nArgs:\n", 1)[0]
    formula, _, rest = head.partition("\n\n")
    return formula, rest


def example(name: str) -> str:
    """The docstring's Example, as written (a doctest the test command runs)."""
    doc = inspect.cleandoc(KINDS[name].constructor.__doc__ or "")
    return inspect.cleandoc(doc.partition("\nExample:")[2])


def example_spec(name: str) -> str:
    """The expression of the Example's first ``s = lr.<name>(...)``: the schedule the gallery draws."""
    for line in example(name).splitlines():
        if not line.startswith(">>> "):
            continue
        source = line[4:]
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        node = tree.body[0] if len(tree.body) == 1 else None
        if (
            isinstance(node, ast.Assign)
            and [ast.unparse(t) for t in node.targets] == ["s"]
            and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func) == f"lr.{name}"
        ):
            spec = ast.get_source_segment(source, node.value)
            assert spec is not None
            return spec
    raise PluginError(f"{name}: its docstring's Example has no line `s = lr.{name}(...)` for the gallery to draw")


def plot_steps(s: lr.Schedule) -> int:
    """Steps that show a schedule's shape: a quarter past its horizon (the value it holds), three
    of its stated lengths when it has no horizon (a few periods), else five of its longest length
    parameter (a few decays of an unbounded kind), at least 20."""
    horizon = s.horizon
    if horizon is not None and math.isfinite(horizon) and horizon > 0:
        return max(20, math.ceil(1.25 * horizon))
    stated = stated_length(s)
    if stated is not None:
        return max(20, math.ceil(3 * stated))
    lengths = [float(s[p.name]) for p in KINDS[s.kind].params if p.length and isinstance(s[p.name], (int, float))]
    return max(20, math.ceil(5 * max(lengths))) if lengths else 100


def wide(s: lr.Schedule, steps: int) -> bool:
    """Whether a schedule rises over more than three decades in `steps` (a range test's geometric
    ramp): a log axis shows its shape, where a linear one shows a spike at the end."""
    values = s.array(steps)
    return KINDS[s.kind].monotone(s) == 1 and values.min() > 0 and values.max() > 1e3 * values.min()


def drawing(name: str) -> str:
    """The code that draws the kind's picture, as the gallery shows it (and the test command runs it)."""
    spec = example_spec(name)
    s = eval(spec, {"lr": lr})  # our own doctested Example, not outside input
    steps = plot_steps(s)
    log = ", log=True" if wide(s, steps) else ""
    return f'import lrcore as lr\n\ns = {spec}\nlr.plot(s, steps={steps}{log}, path="{name}.png")\n'


_OPEN = object()  # a property that is a rule of the parameters, not a fixed value


def _closure(fn: Callable[..., Any], maker: str) -> Any:
    """The value a ``_registry.<maker>(value)`` property closed over, or _OPEN for any other function."""
    if getattr(fn, "__qualname__", "").startswith(f"{maker}.<locals>") and fn.__closure__:
        return fn.__closure__[0].cell_contents
    return _OPEN


DIRECTION = {1: "never decreases", -1: "never increases", 0: "constant", None: "neither, in general"}


def properties(name: str, s: lr.Schedule) -> list[tuple[str, str]]:
    """(property, what the record says) rows: a fixed value holds for every schedule of the kind,
    a rule of the parameters is shown with its value for the drawn example."""
    record = KINDS[name]
    h = s.horizon
    if (value := _closure(record.horizon, "fixed")) is not _OPEN:
        horizon = f"always {value:g}: the value never changes"
    elif (param := _closure(record.horizon, "param")) is not _OPEN:
        horizon = f"`{param}`: the value is held from there on"
    elif getattr(record.horizon, "__name__", "") == "_none":
        horizon = "none: the value keeps changing (periodic, or unbounded in t)"
    else:
        horizon = f"depends on the parameters; here {'none' if h is None else f'{h:g}'}"
    rows = [("horizon (a t from which the value never changes)", horizon)]
    if h is None:
        length = stated_length(s)
        rows.append((
            "stated length (what plots and tables show when there is no horizon)",
            "none: 1000 steps are shown" if length is None else f"here {length:g} steps",
        ))
    continuous = _closure(record.continuous, "fixed")
    if continuous is _OPEN:
        continuous = f"depends on the parameters; here {'yes' if record.continuous(s) else 'no'}"
    rows.append(("continuous", {True: "always", False: "no: it may jump"}.get(continuous, continuous)))
    monotone = _closure(record.monotone, "fixed")
    if monotone is _OPEN:
        monotone = f"depends on the parameters; here {DIRECTION[record.monotone(s)]}"
    rows.append(("monotone", DIRECTION.get(monotone, monotone)))
    return rows


def _cell(text: str) -> str:
    """Text for a table cell: a pipe would end the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """Docstring text as Markdown: outside code spans a ``*`` (``pct_start*steps``) is no emphasis."""
    parts = re.split(r"(``.*?``|`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("*", "\\*") for p in parts)


TYPE_WORDS = {  # the rule of a parameter whose type alone constrains it
    "real": "a real number",
    "flag": "True or False",
    "points": "(t, value) pairs",
    "schedule": "a Schedule",
    "schedules": "a list of Schedules",
    "function": "a callable",
}


def _rule(p: Param) -> str:
    return p.rule() or TYPE_WORDS.get(p.type, p.type)


def _default(p: Param) -> str:
    """The default as the docstring's Args state it."""
    if p.default is REQUIRED:
        return "required"
    return p.default_doc or _shown(p.default)


# The converter calls whose results the gallery groups by kind: one at least for each name each
# converter knows (the build fails naming a name without one), with the arguments of the README's
# migration tables where it has them.  Written as `lr.parse` reads them.
PEER_CALLS = [
    'from_torch("ConstantLR", 0.1, factor=0.5, total_iters=4)',
    'from_torch("LinearLR", 0.1, start_factor=0.1, total_iters=5)',
    'from_torch("StepLR", 0.1, step_size=30)',
    'from_torch("MultiStepLR", 0.1, milestones=[30, 80])',
    'from_torch("ExponentialLR", 0.1, gamma=0.95)',
    'from_torch("PolynomialLR", 0.1, total_iters=100, power=2)',
    'from_torch("CosineAnnealingLR", 0.1, T_max=100, eta_min=1e-3)',
    'from_torch("CosineAnnealingWarmRestarts", 0.1, T_0=10, T_mult=2)',
    'from_torch("CyclicLR", 0.01, base_lr=0.01, max_lr=0.1, step_size_up=20)',
    'from_torch("OneCycleLR", 0.1, max_lr=0.1, total_steps=100)',
    'from_torch("SWALR", 0.1, swa_lr=0.05, anneal_epochs=10)',
    'from_torch("SequentialLR", 0.1, schedulers=[("LinearLR", {"start_factor": 0.1, "total_iters": 5}),'
    ' ("CosineAnnealingLR", {"T_max": 95})], milestones=[5])',
    'from_torch("ChainedScheduler", 0.1, schedulers=[("ConstantLR", {"factor": 0.5, "total_iters": 4}),'
    ' ("ExponentialLR", {"gamma": 0.9})])',
    'from_optax("constant_schedule", value=0.1)',
    'from_optax("linear_schedule", init_value=0.1, end_value=0.0, transition_steps=100)',
    'from_optax("polynomial_schedule", init_value=0.1, end_value=0.0, power=2, transition_steps=100)',
    'from_optax("exponential_decay", init_value=0.1, transition_steps=10, decay_rate=0.5, end_value=0.01)',
    'from_optax("cosine_decay_schedule", init_value=0.1, decay_steps=100, alpha=0.1)',
    'from_optax("warmup_cosine_decay_schedule", init_value=0.0, peak_value=0.1, warmup_steps=10, decay_steps=100)',
    'from_optax("warmup_exponential_decay_schedule", init_value=0.0, peak_value=0.1, warmup_steps=10,'
    ' transition_steps=10, decay_rate=0.5)',
    'from_optax("warmup_constant_schedule", init_value=0.0, peak_value=0.1, warmup_steps=10)',
    'from_optax("piecewise_constant_schedule", init_value=0.1, boundaries_and_scales={30: 0.1, 60: 0.1})',
    'from_optax("piecewise_interpolate_schedule", interpolate_type="cosine", init_value=0.1,'
    ' boundaries_and_scales={30: 0.1, 60: 0.1})',
    'from_optax("linear_onecycle_schedule", transition_steps=100, peak_value=0.1)',
    'from_optax("cosine_onecycle_schedule", transition_steps=100, peak_value=0.1)',
    'from_optax("sgdr_schedule", cosine_kwargs=[{"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5,'
    ' "decay_steps": 50}, {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5, "decay_steps": 50}])',
    'from_optax("join_schedules", schedules=[("constant_schedule", {"value": 0.1}), ("linear_schedule",'
    ' {"init_value": 0.1, "end_value": 0.0, "transition_steps": 50})], boundaries=[50])',
    'from_keras("ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)',
    'from_keras("PiecewiseConstantDecay", boundaries=[30, 60], values=[0.1, 0.01, 0.001])',
    'from_keras("PolynomialDecay", initial_learning_rate=0.1, decay_steps=100)',
    'from_keras("InverseTimeDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)',
    'from_keras("CosineDecay", initial_learning_rate=0.0, decay_steps=90, alpha=0.01, warmup_target=0.1,'
    ' warmup_steps=10)',
    'from_keras("CosineDecayRestarts", initial_learning_rate=0.1, first_decay_steps=10, m_mul=0.5, alpha=0.01)',
    'from_hf("linear", 0.1, num_warmup_steps=10, num_training_steps=100)',
    'from_hf("cosine", 0.1, num_warmup_steps=10, num_training_steps=100)',
    'from_hf("cosine_with_restarts", 0.1, num_warmup_steps=10, num_training_steps=100, num_cycles=2)',
    'from_hf("polynomial", 0.1, num_warmup_steps=10, num_training_steps=100, power=2)',
    'from_hf("constant", 0.1)',
    'from_hf("constant_with_warmup", 0.1, num_warmup_steps=10)',
    'from_hf("inverse_sqrt", 0.1, num_warmup_steps=10)',
    'from_hf("cosine_with_min_lr", 0.1, num_warmup_steps=10, num_training_steps=100, min_lr=1e-3)',
    'from_hf("cosine_warmup_with_min_lr", 0.1, num_warmup_steps=10, num_training_steps=100, min_lr=1e-3)',
    'from_hf("warmup_stable_decay", 0.1, num_warmup_steps=10, num_training_steps=100, num_decay_steps=20)',
    'from_timm("CosineLRScheduler", 0.1, t_initial=100, lr_min=1e-3, warmup_t=5)',
    'from_timm("TanhLRScheduler", 0.1, t_initial=100)',
    'from_timm("StepLRScheduler", 0.1, decay_t=30, decay_rate=0.5)',
    'from_timm("MultiStepLRScheduler", 0.1, decay_t=[30, 60], decay_rate=0.5)',
    'from_timm("PolyLRScheduler", 0.1, t_initial=100)',
    'from_timm("WSDLRScheduler", 0.1, t_initial=100, decay_t=20)',
]
PEERS = {  # converter: (the peer's name, the names it converts)
    "from_torch": ("PyTorch", _torch._BUILDERS),
    "from_optax": ("optax", _optax.BUILDERS),
    "from_keras": ("Keras", _keras.BUILDERS),
    "from_hf": ("Hugging Face", _hf.BUILDERS),
    "from_timm": ("timm", _timm.BUILDERS),
}


def peer_calls() -> list[tuple[str, str, str, lr.Schedule]]:
    """(peer, peer's name, converter call, result) for every call of PEER_CALLS."""
    rows = []
    for call in PEER_CALLS:
        node = ast.parse(call, mode="eval").body
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        converter, name = node.func.id, ast.literal_eval(node.args[0])
        rows.append((PEERS[converter][0], name, f"lr.{call}", lr.parse(call)))
    for converter, (peer, names) in PEERS.items():
        missing = sorted(set(names) - {name for p, name, *_ in rows if p == peer})
        if missing:
            raise PluginError(f"docs/hooks.py: PEER_CALLS has no {converter} call for {', '.join(missing)}")
    return rows


def _kinds_in(s: lr.Schedule) -> set[str]:
    """The kinds of every node below the root of s."""
    found: set[str] = set()
    for name in KINDS[s.kind].children:
        value = s[name]
        for child in value if isinstance(value, tuple) else (value,):
            found |= {child.kind} | _kinds_in(child)
    return found


def peer_table(rows: list[tuple[str, str, str, lr.Schedule]], link: bool) -> str:
    lines = ["| peer | converter call | gives |", "|---|---|---|"]
    for peer, name, call, s in rows:
        gives = f"[`{s.kind}`]({s.kind}.md): `{_cell(repr(s))}`" if link else f"`{_cell(repr(s))}`"
        lines.append(f"| {peer} `{name}` | `{_cell(call)}` | {gives} |")
    return "\n".join(lines)


def kind_page(name: str, peers: list[tuple[str, str, str, lr.Schedule]]) -> str:
    """The gallery page of one kind (its picture is ``<name>.png`` beside it)."""
    record = KINDS[name]
    formula, rest = description(name)
    code = drawing(name)
    s = eval(example_spec(name), {"lr": lr})
    what = "combinator" if is_combinator(record) else "kind"
    parts = [
        f"# {name}",
        f"_{what}_ · [`lr.{name}`][lrcore.{name}] in the API reference",
        _prose(formula),
        *([_prose(rest)] if rest else []),
        f"![{name}]({name}.png)",
        "Drawn by lrcore at build time:",
        f"```python\n{code}```",
        "## Parameters",
        "| name | rule | default | meaning |\n|---|---|---|---|\n" + "\n".join(
            f"| `{p.name}` | {_cell(_rule(p))} | {_cell(_default(p))} | {_cell(_prose(p.doc))} |"
            for p in record.params
        ),
        "## Properties",
        "| property | for this kind |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in properties(name, s)),
        "## Example",
        "From the docstring; the test command runs it.",
        f"```pycon\n{example(name)}\n```",
        "## From other libraries",
    ]
    exact = [row for row in peers if row[3].kind == name]
    inside = [row for row in peers if row[3].kind != name and name in _kinds_in(row[3])]
    if exact:
        parts += ["These converter calls give this kind:", peer_table(exact, link=False)]
    if inside:
        parts += ["These give a schedule with this kind inside:", peer_table(inside, link=True)]
    if not exact and not inside:
        parts.append("No converter call gives this kind.")
    return "\n\n".join(parts) + "\n"


def ordered_kinds() -> list[str]:
    """Kinds first, then combinators, each in the registry's order."""
    return sorted(KINDS, key=lambda n: is_combinator(KINDS[n]))


def thumbnails(names: list[str]) -> str:
    cards = "\n".join(f"-   [![{n}]({n}.png)]({n}.md)\n\n    [**{n}**]({n}.md)\n" for n in names)
    return f'<div class="grid cards" markdown>\n\n{cards}\n</div>'


def gallery_markdown(markdown: str, peers: list[tuple[str, str, str, lr.Schedule]]) -> str:
    """The gallery index's placeholders filled: the thumbnails of kinds and of combinators, every peer call."""
    names = ordered_kinds()
    fills = {
        "kinds": thumbnails([n for n in names if not is_combinator(KINDS[n])]),
        "combinators": thumbnails([n for n in names if is_combinator(KINDS[n])]),
        "peers": peer_table(peers, link=True),
    }
    return re.sub(r"^<!-- gallery: (\w+) -->$", lambda m: fills[m[1]], markdown, flags=re.M)


def draw(name: str, folder: Path) -> Path:
    """The kind's picture, drawn by running its gallery code in `folder`."""
    path = folder / f"{name}.png"
    code = drawing(name).replace(f'path="{name}.png"', f"path={str(path)!r}")
    exec(compile(code, f"<gallery {name}>", "exec"), {})  # the code the page shows, saving into `folder`
    return path


# -- mkdocs events --------------------------------------------------------------------

_pictures: tempfile.TemporaryDirectory[str] | None = None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """The nav's gallery entry becomes a section: its index, then a page per kind and per combinator."""
    index = f"{GALLERY}/index.md"
    names = ordered_kinds()
    section = [
        index,
        {"Kinds": [{n: f"{GALLERY}/{n}.md"} for n in names if not is_combinator(KINDS[n])]},
        {"Combinators": [{n: f"{GALLERY}/{n}.md"} for n in names if is_combinator(KINDS[n])]},
    ]
    for entry in config.nav or []:
        if isinstance(entry, dict):
            for title, value in entry.items():
                if value == index:
                    entry[title] = section
                    return config
    raise PluginError(f"mkdocs.yml: the nav needs an entry `Gallery: {index}`")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    global _pictures
    if _pictures is not None:
        _pictures.cleanup()
    _pictures = tempfile.TemporaryDirectory(prefix="lrcore-gallery-")
    folder = Path(_pictures.name)
    peers = peer_calls()
    for name in KINDS:
        files.append(File.generated(config, f"{GALLERY}/{name}.md", content=kind_page(name, peers)))
        files.append(File.generated(config, f"{GALLERY}/{name}.png", abs_src_path=str(draw(name, folder))))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri == f"{GALLERY}/index.md":
        markdown = gallery_markdown(markdown, peer_calls())
    if INCLUDE.search(markdown):
        readme = (Path(config.config_file_path).parent / "README.md").read_text(encoding="utf-8")
        markdown = include_readme(markdown, readme, page.file.src_uri)
    return markdown


def on_post_build(config: MkDocsConfig) -> None:
    global _pictures
    if _pictures is not None:
        _pictures.cleanup()
        _pictures = None

