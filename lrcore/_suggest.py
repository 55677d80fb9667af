"""Reading an LR range test: smoothing, the divergence cut and the suggested learning rate.

Pure numpy; matplotlib is imported only by ``Suggestion.plot``.  The runners
(``lrcore.adapters.<framework>.find_lr``) stop a run with the same rule,
through ``Watch``, so a run they stop is cut at the same point here.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _validate as check
from ._files import save_figure

METHODS = ("valley", "steepest", "minimum")
MIN_POINTS = 5  # fewer points in the analysed window cannot show a valley
CUT_NONFINITE = "non-finite loss"
CUT_DIVERGED = "diverged"


def check_options(where: str, method: Any, smooth: Any, diverge: Any) -> tuple[str, float, float]:
    """Validated (method, smooth, diverge); `diverge` may be ``math.inf`` (no divergence cut)."""
    method = check.choice(where, "method", method, METHODS)
    smooth = check.number(where, "smooth", smooth, ge=0, lt=1)
    if isinstance(diverge, numbers.Real) and not isinstance(diverge, bool) and float(diverge) == math.inf:
        return method, smooth, math.inf
    diverge = check.number(where, "diverge", diverge, gt=1)
    return method, smooth, diverge


class Watch:
    """The running form of the cut: feed losses one at a time, learn when a run has diverged.

    ``add(loss)`` returns the smoothed loss and whether this point is past the cut:
    a non-finite loss, or a smoothed loss above ``diverge`` times the smallest
    smoothed loss so far.  The smoothing is the bias-corrected exponential
    moving average of fastai and torch-lr-finder,
    ``avg = smooth * avg + (1 - smooth) * loss``, ``smoothed = avg / (1 - smooth ** (i + 1))``
    (``smooth = 0``: the raw losses).
    """

    def __init__(self, smooth: float, diverge: float) -> None:
        self.smooth, self.diverge = smooth, diverge
        self.count = 0
        self.avg = 0.0
        self.best = math.inf
        self.ratio_blind = False  # the minimum reached <= 0, where a ratio to it means nothing

    def add(self, loss: float) -> tuple[float, bool]:
        loss = float(loss)
        if not math.isfinite(loss):
            return loss, True
        self.count += 1
        self.avg = self.smooth * self.avg + (1.0 - self.smooth) * loss
        smoothed = self.avg / (1.0 - self.smooth**self.count)
        self.best = min(self.best, smoothed)
        if self.best <= 0.0:
            self.ratio_blind = True
            return smoothed, False
        return smoothed, smoothed > self.diverge * self.best


@dataclass(frozen=True, eq=False)
class Suggestion:
    """The outcome of ``lr.suggest``: the learning rate and the curve it was read from.

    `lrs`, `losses` (raw) and `smoothed` hold the points before the cut, the part of the
    run the suggestion was read from (read-only arrays); `total` is the number of points
    given and `cut` says why the rest was dropped (``"non-finite loss"``,
    ``"diverged"``: the smoothed loss passed `diverge` times its minimum) or is None.
    The methods look at points ``first ...`` (the first tenth of the run is skipped, as
    fastai and torch-lr-finder do: the smoothed loss is still noisy there); `index` is
    the point the method picked: ``lr == lrs[index]`` for valley and steepest,
    ``lrs[index] / 10`` for minimum.
    """

    lr: float
    method: str
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    index: int
    first: int
    total: int
    cut: str | None

    def __repr__(self) -> str:
        return (
            f"Suggestion(lr={self.lr:.6g}, method={self.method!r}, points={len(self.lrs)} of {self.total}, "
            f"cut={self.cut!r})"
        )

    def describe(self) -> str:
        """One line: the lr (at most 10 significant digits), the method, the points used and the cut."""
        used = len(self.lrs)
        if self.cut is None:
            where = "not cut"
        else:
            reason = "a non-finite loss" if self.cut == CUT_NONFINITE else "the smoothed loss diverged"
            where = f"cut at point {used} of {self.total} ({reason})"
        return (
            f"suggested lr {self.lr:.10g} (method {self.method}); "
            f"points {self.first}-{used - 1} of {self.total} analysed; {where}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: plain floats, ints, strings and lists."""
        return {
            "lr": self.lr,
            "method": self.method,
            "index": self.index,
            "first": self.first,
            "total": self.total,
            "cut": self.cut,
            "lrs": self.lrs.tolist(),
            "losses": self.losses.tolist(),
            "smoothed": self.smoothed.tolist(),
        }

    def plot(self, path: Any = None, ax: Any = None) -> Any:
        """Loss against lr on a log axis, the suggestion marked and labelled; returns the Axes.

        The raw losses are drawn faintly under the smoothed curve.  With `ax` the curves go
        into that Axes; otherwise a new figure is made, through pyplot when `path` is None,
        else as a standalone Figure (no pyplot state, no display).  With `path` the figure
        is written there atomically (a temporary file beside it, then a rename); the
        extension names the format.
        """
        target = None if path is None else _output_path(path)
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError("Suggestion.plot needs matplotlib: pip install 'lrcore[plot]'") from err
        if ax is None:
            if target is None:
                import matplotlib.pyplot as plt

                _, ax = plt.subplots(figsize=(6.4, 4), dpi=100, layout="constrained")
            else:
                ax = Figure(figsize=(6.4, 4), dpi=100, layout="constrained").add_subplot()
        ax.plot(self.lrs, self.losses, color="0.6", alpha=0.5, linewidth=0.8, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", linewidth=1.8, label="smoothed loss")
        at = float(np.interp(math.log(self.lr), np.log(self.lrs), self.smoothed))
        label = f"{self.method}: lr = {self.lr:.3g}"
        ax.axvline(self.lr, color="C3", linestyle=":", linewidth=1.2)
        ax.plot([self.lr], [at], "o", color="C3", markersize=8, zorder=3, label=label)
        ax.annotate(label, (self.lr, at), xytext=(8, 8), textcoords="offset points", color="C3")
        ax.set_xscale("log")
        # The y range follows the smoothed curve: a few raw spikes before the cut would flatten it.
        low = min(float(self.smoothed.min()), float(np.percentile(self.losses, 2)))
        high = float(self.smoothed.max())
        pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        cut = "" if self.cut is None else f", cut: {self.cut}"
        ax.set_title(f"LR range test ({len(self.lrs)} of {self.total} points{cut})")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="best", fontsize="small")
        if target is not None:
            save_figure(ax.figure, target)
        return ax


def _output_path(path: Any) -> Path:
    w = "Suggestion.plot"
    if not isinstance(path, (str, os.PathLike)):
        raise check.fail(w, "path", "must be a file name", path, TypeError)
    target = Path(path)
    if target.is_dir():
        raise check.fail(w, "path", "is a folder; give a file name such as finder.png", str(path))
    if not target.parent.is_dir():
        raise check.fail(w, "path", f"needs an existing folder ({str(target.parent)!r} is not)", str(path))
    if not target.suffix:
        raise check.fail(w, "path", "needs an extension naming the format, such as .png", str(path))
    return target


def _vector(name: str, value: Any) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise check.fail("suggest", name, "must be a 1-d sequence of numbers", value, TypeError)
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise check.fail("suggest", name, "must be a 1-d sequence of numbers", _short(value), TypeError) from None
    if x.ndim != 1:
        raise check.fail("suggest", name, f"must be 1-d (it has shape {x.shape})", _short(value))
    return x


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_lrs(lrs: np.ndarray) -> None:
    bad = ~(np.isfinite(lrs) & (lrs > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise check.fail("suggest", f"lrs[{i}]", "must be finite and > 0", float(lrs[i]))
    steps = np.diff(lrs) <= 0
    if steps.any():
        i = int(np.argmax(steps)) + 1
        rule = f"must be > lrs[{i - 1}]={float(lrs[i - 1])!r} (lrs must be strictly increasing)"
        raise check.fail("suggest", f"lrs[{i}]", rule, float(lrs[i]))


def _valley(y: np.ndarray) -> int:
    """fastai's ``valley``: the middle of the longest valley (strictly decreasing subsequence).

    lds[i] is the length of the longest strictly decreasing subsequence ending at i;
    the valley ends at the first i of the longest one and is taken to start lds[i]
    points earlier; the suggestion sits halfway in (fastai: start + ⌊len/3⌋ + ⌊len/6⌋).
    fastai's O(n²) loop is computed here in O(n log n) with a prefix-maximum tree over
    the values' ranks (largest value first), with the same result.
    """
    n = len(y)
    values = np.unique(y)  # ascending
    above = len(values) - np.searchsorted(values, y, side="right")  # count of distinct values > y[i]
    tree = [0] * (len(values) + 1)
    lds = np.empty(n, dtype=np.int64)
    for i in range(n):
        k, best = int(above[i]), 0
        while k > 0:  # max of lds over the values strictly above y[i] seen so far
            best = max(best, tree[k])
            k -= k & -k
        lds[i] = best + 1
        k = int(above[i]) + 1
        while k <= len(values):
            tree[k] = max(tree[k], int(lds[i]))
            k += k & -k
    end = int(np.argmax(lds))  # the first index of the longest (fastai updates on a strict increase)
    start = end - int(lds[end])
    sections = (end - start) / 3
    return min(max(start + int(sections) + int(sections / 2), 0), n - 1)


def suggest(
    lrs: Any, losses: Any, method: str = "valley", smooth: float = 0.98, diverge: float = 4.0
) -> Suggestion:
    """Suggest a learning rate from an LR range test's (lr, loss) record.

    1. The losses are smoothed by a bias-corrected exponential moving average
       (``smooth`` its weight on the past, as fastai's 0.98; 0 keeps the raw losses).
    2. The run is cut at the first non-finite loss, or where the smoothed loss exceeds
       ``diverge`` times its running minimum (``math.inf``: no such cut); only the points
       before the cut are kept.
    3. Skipping the first tenth of the run, the method reads the smoothed curve:
       ``valley`` (fastai's default) the middle of the longest valley; ``steepest`` the
       lr where the smoothed loss falls fastest against log lr (``np.gradient``, as
       torch-lr-finder); ``minimum`` a tenth of the lr at the smallest smoothed loss.

    `lrs` must be finite, > 0 and strictly increasing, `losses` as long; at least
    5 points must remain to analyse.  Returns a :class:`Suggestion`.
    """
    method, smooth, diverge = check_options("suggest", method, smooth, diverge)
    x = _vector("lrs", lrs)
    y = _vector("losses", losses)
    if len(x) != len(y):
        raise check.fail("suggest", "losses", f"must have as many values as lrs ({len(x)})", f"<{len(y)} values>")
    _check_lrs(x)
    if len(y) and not np.isfinite(y).any():
        raise check.fail("suggest", "losses", "must hold at least one finite value", _short(y.tolist()))
    watch = Watch(smooth, diverge)
    smoothed = np.empty(len(y))
    cut: str | None = None
    used = len(y)
    for i, loss in enumerate(y.tolist()):
        smoothed[i], past = watch.add(loss)
        if past:
            cut = CUT_DIVERGED if math.isfinite(loss) else CUT_NONFINITE
            used = i
            break
    if watch.ratio_blind and diverge != math.inf:
        warnings.warn(
            f"suggest: the smoothed loss reached {watch.best:.6g} <= 0, where `diverge` (a ratio to the "
            "minimum) cannot detect divergence; pass diverge=math.inf to say so",
            UserWarning,
            stacklevel=2,
        )
    first = len(y) // 10
    if used - first < MIN_POINTS:
        why = "" if cut is None else f" before the cut ({cut} at point {used})"
        skipped = f", after skipping the first {first}" if first else ""
        raise check.fail(
            "suggest",
            "losses",
            f"must leave at least {MIN_POINTS} points to analyse{why}{skipped}; {max(used - first, 0)} remain",
            f"<{len(y)} values>",
        )
    xs, ys = x[first:used], smoothed[first:used]
    if method == "valley":
        index = first + _valley(ys)
        lr = float(x[index])
    elif method == "steepest":
        index = first + int(np.argmin(np.gradient(ys, np.log(xs))))
        lr = float(x[index])
    else:
        index = first + int(np.argmin(ys))
        lr = float(x[index]) / 10.0
    arrays = [np.array(a[:used]) for a in (x, y, smoothed)]
    for a in arrays:
        a.setflags(write=False)
    return Suggestion(lr, method, arrays[0], arrays[1], arrays[2], index, first, len(y), cut)


def cycle(where: str, batches: Any) -> Iterator[Any]:
    """The batches for ever: a re-iterable (a list, a DataLoader) is iterated again when it
    ends; a one-shot iterator's batches are kept and replayed."""
    if isinstance(batches, (str, bytes)) or not isinstance(batches, Iterable):
        raise check.fail(where, "batches", "must be an iterable of batches", _short(batches), TypeError)
    source: Iterable[Any] = batches
    if isinstance(batches, Iterator):
        seen = []
        for batch in batches:
            seen.append(batch)
            yield batch
        source = seen
    while True:
        empty = True
        for batch in source:
            empty = False
            yield batch
        if empty:
            raise check.fail(where, "batches", "must yield at least one batch", _short(batches))


def run(
    where: str,
    one_step: Callable[[float, Any], float],
    batches: Any,
    *,
    start: float,
    end: float,
    steps: int,
    shape: str,
    method: str,
    smooth: float,
    diverge: float,
) -> Suggestion:
    """The range test's loop, shared by the runners: ``loss = one_step(lr, batch)`` for
    lr = range_test(...)(t), t = 0, 1, ..., stopping after the first point past the cut."""
    from ._kinds import range_test

    method, smooth, diverge = check_options(where, method, smooth, diverge)
    lrs = range_test(start=start, end=end, steps=steps, shape=shape).array(steps).tolist()
    watch = Watch(smooth, diverge)
    losses: list[float] = []
    for lr, batch in zip(lrs, cycle(where, batches), strict=False):  # the batches never end
        loss = float(one_step(lr, batch))
        losses.append(loss)
        if watch.add(loss)[1]:
            break
    try:
        return suggest(lrs[: len(losses)], losses, method=method, smooth=smooth, diverge=diverge)
    except ValueError as err:
        raise ValueError(
            f"{where}: the run stopped after {len(losses)} of {steps} steps (last lr {lrs[len(losses) - 1]:.3g}, "
            f"loss {losses[-1]:.4g}), too early to suggest: start lower or use more steps ({err})"
        ) from None
