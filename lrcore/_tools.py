"""Looking at a schedule: summary statistics, iteration, plots and its natural length.

Everything here walks the steps a chunk at a time, so memory stays bounded whatever the
number of steps, and a plot keeps at most four points per pixel column (the first, the
lowest, the highest and the last value of the steps it covers), which draws the same
picture as every step would, jumps included.
"""

from __future__ import annotations

import io
import math
import textwrap
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import _validate as check
from ._schedule import Schedule

DEFAULT_LENGTH = 1000  # steps shown when nothing in a schedule states its length
REPR_PNG_MAX = 10**8  # a notebook's picture is not worth more steps than this
_LABEL_WIDTH = 70  # characters per legend line
_LABEL_LINES = 3
_CHUNK = 1 << 20  # values computed at a time
_COLUMNS = 2048  # plot columns: several per pixel of an 8-inch figure at 100-200 dpi
_EXACT_UP_TO = 4 * _COLUMNS  # up to here every step is drawn as it is
_FIGSIZE = (8.0, 4.5)


def _schedule(where: str, s: Any) -> Schedule:
    if not isinstance(s, Schedule):
        raise check.fail(where, "schedule", "must be an lrcore Schedule", s, TypeError)
    return s


# -- the natural length --------------------------------------------------------------


def _after(offset: float, inner: float | None) -> float | None:
    """The length of a part that starts at `offset` and states `inner` steps (or nothing)."""
    if inner is not None:
        return offset + inner
    # A stated offset followed by a part that states nothing: show the part at the default length.
    return offset + DEFAULT_LENGTH if offset > 0 else None


def stated_length(s: Schedule) -> float | None:
    """The number of steps a schedule's parameters state, or None when they state none.

    Its horizon when finite and > 0. Otherwise the walk goes down the tree through the
    public ``kind``/``params``: one period of a periodic part (`steps` of a periodic
    cosine or a cycling polynomial, `period` of cosine_restarts, ``step_up + step_down``
    of cyclic), after the offsets of the joins, warmups and shifts around it; the
    longest operand of a sum or product. Kinds that state no length (step, exponential,
    inverse_time, custom, constant) give None; after a stated offset (a join boundary,
    a warmup, inverse_sqrt's warmup) such a part counts DEFAULT_LENGTH steps.
    """
    h = s.horizon
    if h is not None and math.isfinite(h):
        return h if h > 0 else None
    kind = s.kind
    if kind in ("cosine", "polynomial"):
        return float(s["steps"])
    if kind == "cosine_restarts":
        return float(s["period"])
    if kind == "cyclic":
        down = s["step_down"]
        return float(s["step_up"] + (s["step_up"] if down is None else down))
    if kind == "inverse_sqrt":
        return _after(float(s["warmup"]), None)
    if kind == "join":
        boundaries = s["boundaries"]
        return _after(float(boundaries[-1]) if boundaries else 0.0, stated_length(s["schedules"][-1]))
    if kind == "warmup":
        return _after(float(s["steps"]), stated_length(s["schedule"]))
    if kind == "shift":
        inner = stated_length(s["schedule"])
        rest = None if inner is None else inner - float(s["steps"])
        return rest if rest is not None and rest > 0 else None
    if kind in ("scale", "clip"):
        return stated_length(s["schedule"])
    if kind in ("product", "add"):
        lengths = [x for x in (stated_length(s["first"]), stated_length(s["second"])) if x is not None]
        return max(lengths) if lengths else None
    return None


def natural_length(schedules: Schedule | Mapping[Any, Schedule] | list[Schedule]) -> int:
    """The steps to show by default: the longest stated length rounded up (at least 1),
    or DEFAULT_LENGTH when no schedule states one (see `stated_length`).

    ``from_hf('cosine', 3e-4, num_warmup_steps=100, num_training_steps=5000)`` gives
    5000: HF's cosine is periodic (no horizon), but its join states 100 + 4900 steps.
    """
    if isinstance(schedules, Schedule):
        items = [schedules]
    elif isinstance(schedules, Mapping):
        items = list(schedules.values())
    else:
        items = list(schedules)
    lengths = [x for x in (stated_length(_schedule("natural_length", s)) for s in items) if x is not None]
    return max(1, math.ceil(max(lengths))) if lengths else DEFAULT_LENGTH


# -- one pass over the steps ----------------------------------------------------------


class _Stats:
    """The summary of values seen a chunk at a time, in order."""

    def __init__(self) -> None:
        self.low = math.inf
        self.high = -math.inf
        self.argmax = 0
        self.final = math.nan
        self.sums: list[float] = []
        self.squares: list[float] = []

    def add(self, lo: int, values: np.ndarray, extremes: tuple[float, int] | None = None) -> None:
        """Values from t = lo on; `extremes` (their minimum, the index of their first maximum)
        when already known."""
        low, i = (float(values.min()), int(values.argmax())) if extremes is None else extremes
        self.low = min(self.low, low)
        if values[i] > self.high:  # strictly: argmax is the first t of the maximum
            self.high = float(values[i])
            self.argmax = lo + i
        self.final = float(values[-1])
        self.sums.append(float(values.sum()))
        # einsum's own loop: BLAS's dot is no more exact and slows down badly on a busy machine.
        self.squares.append(float(np.einsum("i,i->", values, values)))

    def result(self, steps: int) -> dict[str, float | int]:
        # fsum adds the per-chunk sums exactly: 10**9 steps lose no more than one chunk's rounding.
        total = math.fsum(self.sums)
        return {
            "min": self.low,
            "max": self.high,
            "final": self.final,
            "argmax": self.argmax,
            "mean": total / steps,
            "sum": total,
            "sum_sq": math.fsum(self.squares),
        }


class _Columns:
    """First, lowest, highest and last value (with their t) of each column of `width` steps."""

    def __init__(self, steps: int, width: int) -> None:
        self.steps, self.width = steps, width
        n = -(-steps // width)
        self.t = np.empty((n, 4), dtype=np.int64)  # first, argmin, argmax, last
        self.y = np.empty((n, 4))

    def add_rows(self, lo: int, rows: np.ndarray) -> tuple[float, int]:
        """Whole columns, one per row, the first starting at t = lo; returns their minimum
        and the index of their first maximum in ``rows.reshape(-1)``."""
        c = lo // self.width
        k, w = rows.shape
        at = w * np.arange(k, dtype=np.int64)
        low, high = rows.argmin(axis=1), rows.argmax(axis=1)
        r = np.arange(k)
        lows, highs = rows[r, low], rows[r, high]
        self.t[c : c + k] = lo + np.stack([at, at + low, at + high, at + w - 1], axis=1)
        self.y[c : c + k] = np.stack([rows[:, 0], lows, highs, rows[:, -1]], axis=1)
        top = int(highs.argmax())
        return float(lows.min()), int(at[top] + high[top])

    def add_part(self, lo: int, values: np.ndarray) -> None:
        """Consecutive values inside one column, from t = lo."""
        c = lo // self.width
        t, y = self.t[c], self.y[c]
        low, high = int(values.argmin()), int(values.argmax())
        if lo % self.width == 0:
            t[:] = lo, lo + low, lo + high, lo
            y[:] = values[0], values[low], values[high], values[0]
        else:  # strict comparisons keep the first t of a repeated extreme
            if values[low] < y[1]:
                t[1], y[1] = lo + low, values[low]
            if values[high] > y[2]:
                t[2], y[2] = lo + high, values[high]
        t[3], y[3] = lo + len(values) - 1, values[-1]

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept points in the order of t, each t once."""
        order = np.argsort(self.t, axis=1, kind="stable")
        t = np.take_along_axis(self.t, order, axis=1).reshape(-1)
        y = np.take_along_axis(self.y, order, axis=1).reshape(-1)
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = t[1:] != t[:-1]
        return t[keep], y[keep]


def _scan(s: Schedule, steps: int, *, columns: int = 0) -> tuple[dict[str, float | int], np.ndarray, np.ndarray]:
    """One pass over s(0) … s(steps-1): its summary and (with `columns`) the points to plot.

    Every step is kept when steps <= 4 * columns; otherwise each column of steps (a
    power of two, at most `columns` of them) keeps its first, lowest, highest and last value.
    """
    stats = _Stats()
    if columns == 0 or steps <= 4 * columns:
        exact: list[np.ndarray] | None = [] if columns else None
        for lo in range(0, steps, _CHUNK):
            values = s.array(min(_CHUNK, steps - lo), start=lo)
            stats.add(lo, values)
            if exact is not None:
                exact.append(values)
        if exact is None:
            return stats.result(steps), np.empty(0, dtype=np.int64), np.empty(0)
        return stats.result(steps), np.arange(steps), np.concatenate(exact)
    # A power of two: columns tile the chunks (or chunks the columns), so the chunks are
    # those of `summary` and the printed sums are the same floats.
    width = 1 << (-(-steps // columns) - 1).bit_length()
    chunk = _CHUNK
    cols = _Columns(steps, width)
    for lo in range(0, steps, chunk):
        values = s.array(min(chunk, steps - lo), start=lo)
        whole = len(values) // width
        if whole * width == len(values):  # whole columns only: their extremes are the chunk's
            stats.add(lo, values, cols.add_rows(lo, values.reshape(whole, width)))
            continue
        stats.add(lo, values)
        if whole:
            cols.add_rows(lo, values[: whole * width].reshape(whole, width))
        cols.add_part(lo + whole * width, values[whole * width :])
    t, y = cols.points()
    return stats.result(steps), t, y


def _steps_arg(where: str, steps: Any) -> int:
    steps = check.count(where, "steps", steps)
    if steps == 0:
        raise check.fail(where, "steps", "must be > 0", steps)
    return steps


def summary(s: Schedule, steps: int) -> dict[str, float | int]:
    """min, max, final, argmax, mean, sum (∑η) and sum_sq (∑η²) over t = 0 … steps-1.

    Computed a chunk of 2**20 steps at a time: memory stays bounded for any `steps`.
    """
    s = _schedule("summary", s)
    steps = _steps_arg("summary", steps)
    return _scan(s, steps)[0]


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


def _draw(
    lines: Mapping[str, tuple[np.ndarray, np.ndarray]],
    steps: int,
    ax: Any,
    *,
    own_figure: bool,
    log: bool,
    title: str | None,
) -> None:
    from matplotlib.ticker import EngFormatter

    for label, (t, y) in lines.items():
        ax.plot(t, y, label=label, linewidth=1.6)
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
    _place_legend(ax, own_figure)


def _items(schedules: Any) -> dict[str, Schedule]:
    if isinstance(schedules, Schedule):
        return {wrap_label(repr(schedules)): schedules}
    if isinstance(schedules, Mapping):
        items = {wrap_label(str(k)): _schedule("plot", v) for k, v in schedules.items()}
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
    computed a chunk at a time in bounded memory (10**9 steps take seconds).
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
    steps = natural_length(list(items.values())) if steps is None else _steps_arg("plot", steps)
    log = check.flag("plot", "log", log)
    if title is not None and not isinstance(title, str):
        raise check.fail("plot", "title", "must be a string or None", title, TypeError)
    _require_matplotlib()
    lines = {label: _scan(s, steps, columns=_COLUMNS)[1:] for label, s in items.items()}
    own_figure = ax is None
    if own_figure:
        ax = _new_figure(pyplot=path is None).add_subplot()
    _draw(lines, steps, ax, own_figure=own_figure, log=log, title=title)
    if path is not None:
        ax.figure.savefig(path)
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
    line = {wrap_label(repr(s)): _scan(s, steps, columns=_COLUMNS)[1:]}
    _draw(line, steps, fig.add_subplot(), own_figure=True, log=False, title=None)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
