"""Walking a schedule's steps: summary statistics, iteration, and the columns a plot draws.

Everything here walks the steps a chunk at a time, so memory stays bounded whatever the
number of steps, and a plot's scan keeps at most four points per pixel column (the first,
the lowest, the highest and the last value of the steps it covers), which draws the same
picture as every step would, jumps included.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _validate as check
from ._schedule import Schedule

_CHUNK = 1 << 20  # values computed at a time
COLUMNS = 2048  # plot columns: several per pixel of an 8-inch figure at 100-200 dpi
_EXACT_UP_TO = 4 * COLUMNS  # up to here every step is drawn as it is


def schedule_arg(where: str, s: Any) -> Schedule:
    if not isinstance(s, Schedule):
        raise check.fail(where, "schedule", "must be an lrcore Schedule", s, TypeError)
    return s


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


def scan(s: Schedule, steps: int, *, columns: int = 0) -> tuple[dict[str, float | int], np.ndarray, np.ndarray]:
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


def steps_arg(where: str, steps: Any) -> int:
    steps = check.count(where, "steps", steps)
    if steps == 0:
        raise check.fail(where, "steps", "must be > 0", steps)
    return steps


def summary(s: Schedule, steps: int) -> dict[str, float | int]:
    """min, max, final, argmax, mean, sum (∑η) and sum_sq (∑η²) over t = 0 … steps-1.

    Computed a chunk of 2**20 steps at a time: memory stays bounded for any `steps`.
    """
    s = schedule_arg("summary", s)
    steps = steps_arg("summary", steps)
    return scan(s, steps)[0]


def iterate(s: Schedule, start: int = 0, *, chunk: int = 4096) -> Iterator[float]:
    """Yield s(start), s(start + 1), … for ever, computed a chunk at a time."""
    s = schedule_arg("iterate", s)
    t = check.count("iterate", "start", start)
    chunk = check.count("iterate", "chunk", chunk)
    if chunk == 0:
        raise check.fail("iterate", "chunk", "must be > 0", chunk)
    while True:
        yield from s.array(chunk, start=t).tolist()
        t += chunk


