"""Plots: ``lr.plot`` and the picture a notebook shows for a schedule.

A line is the scan of ``_steps`` (at most four points per pixel column, jumps
included), over the schedules' natural length unless told otherwise; the legend
never covers an axis label.  Files are written atomically (``_files``).
"""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from . import _validate as check
from ._files import save_figure
from ._registry import KINDS, natural_length
from ._schedule import Schedule
from ._steps import COLUMNS, scan, schedule_arg, steps_arg

REPR_PNG_MAX = 10**8  # a notebook's picture is not worth more steps than this
_LABEL_WIDTH = 70  # characters per legend line
_LABEL_LINES = 3
_FIGSIZE = (8.0, 4.5)


# -- plots ----------------------------------------------------------------------------


def _require_matplotlib() -> Any:
    """matplotlib, or an ImportError that names the extra to install."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("lrcore.plot needs matplotlib: pip install 'lrcore[plot]'") from err
    return matplotlib


def wrap_label(text: str) -> str:
    """A legend label: `text` wrapped to at most three lines of 70 characters."""
    return "\n".join(textwrap.wrap(text, _LABEL_WIDTH, max_lines=_LABEL_LINES, placeholder=" …")) or text


def _new_figure(pyplot: bool) -> Any:
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=_FIGSIZE, dpi=100, layout="constrained")
    # A Figure outside pyplot: no global state, no backend, nothing to close.
    from matplotlib.figure import Figure

    return Figure(figsize=_FIGSIZE, dpi=100, layout="constrained")


def _place_legend(ax: Any, own_figure: bool) -> Any:
    """A legend that covers no axis label or tick label and stays inside the figure.

    One-line labels go inside the axes where they hide the least ("best"), if the legend
    fits there with room to spare (a quarter of the axes at most). Otherwise the legend goes below the axes and their
    x decorations: for a figure of our own as a figure legend that the constrained
    layout makes room for (the figure grows taller when the legend needs it); in the
    caller's axes, anchored under the x tick labels and x label where the figure has
    room for it, else inside the axes; a warning when it fits neither.
    """
    fig = ax.figure
    legend = ax.legend(loc="best", fontsize="small")
    fig.draw_without_rendering()
    box, frame = legend.get_window_extent(), ax.bbox
    pad = 2.0
    inside = (
        all("\n" not in text.get_text() for text in legend.get_texts())
        and _within(box, frame, pad)
        and box.width * box.height <= 0.25 * frame.width * frame.height
    )
    if inside:
        return legend
    legend.remove()
    if own_figure:
        legend = fig.legend(loc="outside lower center", fontsize="small")
        fig.draw_without_rendering()
        need = legend.get_window_extent().height / fig.dpi  # inches
        height = fig.get_figheight()
        if need > 0.25 * height:
            fig.set_figheight(height + need)
        return legend
    from matplotlib.transforms import ScaledTranslation

    below = frame.y0 - ax.xaxis.get_tightbbox().y0 + 4.0  # pixels under the axes taken by x ticks and label
    offset = ScaledTranslation(0, -below / fig.dpi, fig.dpi_scale_trans)
    legend = ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=ax.transAxes + offset, fontsize="small"
    )
    fig.draw_without_rendering()
    if _within(legend.get_window_extent(), fig.bbox, 0.0):
        return legend
    # No room below in the caller's figure: inside the axes still covers no axis text.
    legend.remove()
    legend = ax.legend(loc="best", fontsize="small")
    fig.draw_without_rendering()
    if not _within(legend.get_window_extent(), frame, 0.0):
        warnings.warn(
            "plot: the legend of these long labels fits neither below the axes nor inside them; "
            "make the figure with layout='constrained' (it makes room below) or use shorter labels",
            stacklevel=4,
        )
    return legend


def _within(box: Any, frame: Any, pad: float) -> bool:
    """Whether `box` lies inside `frame`, at least `pad` pixels from its edges."""
    return (
        box.x0 >= frame.x0 + pad and box.x1 <= frame.x1 - pad and box.y0 >= frame.y0 + pad and box.y1 <= frame.y1 - pad
    )


def stepped(s: Schedule, t: np.ndarray, steps: int) -> bool:
    """Whether `s`'s line is drawn as steps: every step is kept (so a jump between two of them
    would show as a slope) and its record cannot promise that it never jumps.  Each value then
    holds from its step to the next, as the optimizer uses it."""
    return len(t) == steps and not KINDS[s.kind].continuous(s)


def _draw(
    lines: Mapping[str, tuple[np.ndarray, np.ndarray]],
    steps: int,
    ax: Any,
    *,
    own_figure: bool,
    log: bool,
    title: str | None,
    per_epoch: float | None = None,
    steps_drawn: Collection[str] = (),
) -> None:
    """The lines on `ax`, those labelled in `steps_drawn` as steps (see `stepped`); with `per_epoch`
    (optimizer updates per epoch) the x axis counts epochs."""
    from matplotlib.ticker import EngFormatter

    unit = 1.0 if per_epoch is None else per_epoch
    for label, (t, y) in lines.items():
        ax.plot(t / unit if per_epoch is not None else t, y, label=label, linewidth=1.6,
                drawstyle="steps-post" if label in steps_drawn else "default")
    if log:
        ax.set_yscale("log", nonpositive="mask")
    if not ax.get_xlabel():
        ax.set_xlabel("step t (optimizer updates applied)" if per_epoch is None
                      else f"epoch ({per_epoch:g} optimizer updates each)")
    if not ax.get_ylabel():
        ax.set_ylabel("learning rate")
    if own_figure:
        ax.set_title(f"learning rate, t = 0 … {steps - 1:,}" if title is None else title)
        ax.set_xlim(0, max(steps - 1, 1) / unit)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        if not log:
            ax.set_ylim(bottom=0)
    elif title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _place_legend(ax, own_figure)


def _items(schedules: Any) -> dict[str, Schedule]:
    if isinstance(schedules, Schedule):
        return {wrap_label(repr(schedules)): schedules}
    if isinstance(schedules, Mapping):
        items = {wrap_label(str(k)): schedule_arg("plot", v) for k, v in schedules.items()}
        if not items:
            raise check.fail("plot", "schedules", "must not be empty", schedules)
        if len(items) < len(schedules):
            raise check.fail("plot", "schedules", "must have keys that differ in their first 3 lines", schedules)
        return items
    raise check.fail("plot", "schedules", "must be a Schedule or a dict of them", schedules, TypeError)


def plot(
    schedules: Schedule | Mapping[str, Schedule],
    steps: int | None = None,
    ax: Any = None,
    path: Any = None,
    *,
    log: bool = False,
    title: str | None = None,
) -> Any:
    """Draw η(t) for t = 0, 1, …, steps-1 — one line per schedule — and return the matplotlib Axes.

    `schedules` is a Schedule (labelled by its repr) or a ``{label: schedule}`` dict;
    labels are wrapped to three lines of 70 characters. `steps` None takes the
    schedules' natural length (their horizon, or the length their parameters state,
    else 1000). Above 8192 steps each line keeps the first, lowest, highest and last
    value of each of 2048 columns of steps: the picture of every step, jumps included,
    computed a chunk at a time in bounded memory (10**9 steps take seconds). Below that, a
    schedule that may jump (a step decay, a join, a product with one) is drawn as steps, each
    value held until the next step, so a jump is vertical instead of a slope.
    With `ax`, the lines go into that Axes and only the lines, legend, grid and empty axis
    labels are added. Without it a new 8 × 4.5 inch figure is made, with a title
    (`title`, by default the step range) and step ticks such as ``2k``: through pyplot when
    `path` is None (so ``plt.show()`` shows it), else as a standalone Figure that touches no
    pyplot state and needs no display. With `path`, the figure is saved there; the format
    follows the extension (png, svg, pdf, …). `log` puts the rate on a log axis, where
    steps with η(t) = 0 (the start of a warmup from 0) are left out of the line.
    The legend sits inside the axes when it is small, else below them: never over the
    axis labels, tick labels or outside the figure.
    """
    items = _items(schedules)
    steps = natural_length(list(items.values())) if steps is None else steps_arg("plot", steps)
    log = check.flag("plot", "log", log)
    if title is not None and not isinstance(title, str):
        raise check.fail("plot", "title", "must be a string or None", title, TypeError)
    _require_matplotlib()
    lines = {label: scan(s, steps, columns=COLUMNS)[1:] for label, s in items.items()}
    steps_drawn = {label for label, s in items.items() if stepped(s, lines[label][0], steps)}
    own_figure = ax is None
    if own_figure:
        ax = _new_figure(pyplot=path is None).add_subplot()
    _draw(lines, steps, ax, own_figure=own_figure, log=log, title=title, steps_drawn=steps_drawn)
    if path is not None:
        save_figure(ax.figure, path)
    return ax


def png(s: Schedule) -> bytes | None:
    """The PNG a notebook shows for a schedule: its plot over its natural length.

    None (the text repr is shown instead) when matplotlib is not installed or the
    natural length is above REPR_PNG_MAX steps. Touches no pyplot state.
    """
    try:
        _require_matplotlib()
    except ImportError:
        return None
    steps = natural_length([s])
    if steps > REPR_PNG_MAX:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.5), dpi=100, layout="constrained")
    label = wrap_label(repr(s))
    line = {label: scan(s, steps, columns=COLUMNS)[1:]}
    steps_drawn = {label} if stepped(s, line[label][0], steps) else set()
    _draw(line, steps, fig.add_subplot(), own_figure=True, log=False, title=None, steps_drawn=steps_drawn)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
