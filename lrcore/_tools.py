"""Looking at a schedule: summary statistics, iteration and plots."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import _validate as check
from ._schedule import Schedule


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


def plot(
    schedules: Schedule | Mapping[str, Schedule],
    steps: int,
    ax: Any = None,
    path: Any = None,
    *,
    log: bool = False,
) -> Any:
    """Plot one schedule or a {label: schedule} dict over t = 0 … steps-1; return the Axes.

    With `path`, the figure is also saved there (PNG, SVG, PDF by extension).
    """
    try:
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("lrcore.plot needs matplotlib: pip install 'lrcore[plot]'") from err
    steps = check.count("plot", "steps", steps)
    if steps == 0:
        raise check.fail("plot", "steps", "must be > 0", steps)
    if isinstance(schedules, Schedule):
        items = {repr(schedules) if len(repr(schedules)) <= 60 else schedules.kind: schedules}
    elif isinstance(schedules, Mapping):
        items = {str(k): _schedule("plot", v) for k, v in schedules.items()}
        if not items:
            raise check.fail("plot", "schedules", "must not be empty", schedules)
    else:
        raise check.fail("plot", "schedules", "must be a Schedule or a dict of them", schedules, TypeError)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    t = np.arange(steps)
    for label, s in items.items():
        ax.plot(t, s.array(steps), label=label, linewidth=1.6)
    ax.set_xlabel("step t (optimizer updates applied)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path)
    return ax
