"""Looking at a schedule: summary statistics, iteration and plots."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import _validate as check
from ._schedule import Schedule

_LABEL_WIDTH = 70  # characters per legend line


def _schedule(where: str, s: Any) -> Schedule:
    if not isinstance(s, Schedule):
        raise check.fail(where, "schedule", "must be an lrcore Schedule", s, TypeError)
    return s


def summary(s: Schedule, steps: int) -> dict[str, float | int]:
    """min, max, final, argmax, mean, sum (∑η) and sum_sq (∑η²) over t = 0 … steps-1."""
    s = _schedule("summary", s)
    steps = check.count("summary", "steps", steps)
    if steps == 0:
        raise check.fail("summary", "steps", "must be > 0", steps)
    values = s.array(steps)
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "final": float(values[-1]),
        "argmax": int(values.argmax()),
        "mean": float(values.mean()),
        "sum": float(values.sum()),
        "sum_sq": float(np.dot(values, values)),
    }


def iterate(s: Schedule, start: int = 0, *, chunk: int = 4096) -> Iterator[float]:
    """Yield s(start), s(start + 1), … for ever, computed a chunk at a time."""
    s = _schedule("iterate", s)
    t = check.count("iterate", "start", start)
    chunk = check.count("iterate", "chunk", chunk)
    if chunk == 0:
        raise check.fail("iterate", "chunk", "must be > 0", chunk)
    while True:
        yield from s.array(chunk, start=t).tolist()
        t += chunk


def _require_matplotlib() -> Any:
    """matplotlib, or an ImportError that names the extra to install."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("lrcore.plot needs matplotlib: pip install 'lrcore[plot]'") from err
    return matplotlib


def _label(s: Schedule) -> str:
    """The schedule's repr, wrapped to at most three legend lines."""
    return "\n".join(textwrap.wrap(repr(s), _LABEL_WIDTH, max_lines=3, placeholder=" …"))


def plot(
    schedules: Schedule | Mapping[str, Schedule],
    steps: int,
    ax: Any = None,
    path: Any = None,
    *,
    log: bool = False,
    title: str | None = None,
) -> Any:
    """Draw η(t) for t = 0, 1, …, steps-1 — one line per schedule — and return the matplotlib Axes.

    `schedules` is a Schedule (labelled by its repr) or a ``{label: schedule}`` dict.
    With `ax`, the lines go into that Axes and only the lines, legend, grid and empty axis
    labels are added. Without it a new 8 × 4.5 inch figure is made, with a title
    (`title`, by default the step range) and step ticks such as ``2k``: through pyplot when
    `path` is None (so ``plt.show()`` shows it), else as a standalone Figure that touches no
    pyplot state and needs no display. With `path`, the figure is saved there; the format
    follows the extension (png, svg, pdf, …). `log` puts the rate on a log axis, where
    steps with η(t) = 0 (the start of a warmup from 0) are left out of the line.
    """
    steps = check.count("plot", "steps", steps)
    if steps == 0:
        raise check.fail("plot", "steps", "must be > 0", steps)
    log = check.flag("plot", "log", log)
    if title is not None and not isinstance(title, str):
        raise check.fail("plot", "title", "must be a string or None", title, TypeError)
    if isinstance(schedules, Schedule):
        items = {_label(schedules): schedules}
    elif isinstance(schedules, Mapping):
        items = {str(k): _schedule("plot", v) for k, v in schedules.items()}
        if not items:
            raise check.fail("plot", "schedules", "must not be empty", schedules)
    else:
        raise check.fail("plot", "schedules", "must be a Schedule or a dict of them", schedules, TypeError)
    _require_matplotlib()
    from matplotlib.ticker import EngFormatter

    own_figure = ax is None
    if own_figure:
        if path is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4.5), dpi=100, layout="constrained")
        else:
            # A Figure outside pyplot: no global state, no backend, nothing to close.
            from matplotlib.figure import Figure

            ax = Figure(figsize=(8, 4.5), dpi=100, layout="constrained").add_subplot()
    t = np.arange(steps)
    for label, s in items.items():
        ax.plot(t, s.array(steps), label=label, linewidth=1.6)
    if log:
        ax.set_yscale("log", nonpositive="mask")
    if not ax.get_xlabel():
        ax.set_xlabel("step t (optimizer updates applied)")
    if not ax.get_ylabel():
        ax.set_ylabel("learning rate")
    if own_figure:
        ax.set_title(f"learning rate, t = 0 … {steps - 1:,}" if title is None else title)
        ax.set_xlim(0, max(steps - 1, 1))
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        if not log:
            ax.set_ylim(bottom=0)
    elif title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        ax.figure.savefig(path)
    return ax
