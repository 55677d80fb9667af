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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _validate as check
from ._files import save_figure

METHODS = ("blend", "descent", "minimum", "valley", "steepest")
DEFAULT_METHOD = "blend"  # chosen on bench/finder.py's twenty settings: see bench/results/finder.md
# blend's lr: sqrt(descent's lr * the lr at the smoothed minimum / BLEND_DIVISOR), chosen on
# bench/finder.py (bench/results/finder.md: the same value is chosen leaving out any one setting).
BLEND_DIVISOR = 20.0
MINIMUM_DIVISOR = 10.0  # minimum's lr: the lr at the smoothed minimum over this (fastai's minimum)
# An annealed schedule (one-cycle, cosine, warmup then decay) runs on average at about half its
# peak (lr.one_cycle at 0.51 of it), so a peak twice the constant lr gives the same mean lr.
PEAK_PER_LR = 2.0
MIN_POINTS = 5  # fewer points in the analysed window cannot show a valley
CUT_NONFINITE = "non-finite loss"
CUT_DIVERGED = "diverged"
RATIO_BLIND_FIX = "pass diverge=math.inf to say so"  # the command line words it as its flag


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

    `lr` is the suggestion for a constant learning rate; `peak` (``2 * lr``) for the peak of
    an annealed schedule (``lr.one_cycle``'s `peak`, the top of a cosine or of warmup then
    decay), which runs on average at about half its peak: the same mean lr as `lr` held.
    `lrs`, `losses` (raw) and `smoothed` hold the points before the cut, the part of the
    run the suggestion was read from (read-only arrays); `total` is the number of points
    given and `cut` says why the rest was dropped (``"non-finite loss"``,
    ``"diverged"``: the smoothed loss passed `diverge` times its minimum) or is None.
    The methods look at points ``first ...`` (the first tenth of the run is skipped, as
    fastai and torch-lr-finder do: the smoothed loss is still noisy there); `index` is
    the point the method picked: ``lr == lrs[index]`` for descent, valley and steepest,
    ``lrs[index] / 10`` for minimum, and for blend the point nearest to its lr (a
    geometric mean, between the points).
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

    @property
    def peak(self) -> float:
        """The peak of an annealed schedule with the mean lr of `lr` held: ``2 * lr``."""
        return PEAK_PER_LR * self.lr

    def __repr__(self) -> str:
        return (
            f"Suggestion(lr={self.lr:.6g}, peak={self.peak:.6g}, method={self.method!r}, "
            f"points={len(self.lrs)} of {self.total}, "
            f"cut={self.cut!r})"
        )

    def describe(self) -> str:
        """One line: the lr and the peak (at most 10 significant digits), the method, the points used
        and the cut."""
        used = len(self.lrs)
        if self.cut is None:
            where = "not cut"
        else:
            reason = "a non-finite loss" if self.cut == CUT_NONFINITE else "the smoothed loss diverged"
            where = f"cut at point {used} of {self.total} ({reason})"
        return (
            f"suggested lr {self.lr:.10g} (method {self.method}); peak {self.peak:.10g} for a one-cycle, "
            f"cosine or warmup-decay schedule; "
            f"points {self.first}-{used - 1} of {self.total} analysed; {where}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: plain floats, ints, strings and lists."""
        return {
            "lr": self.lr,
            "peak": self.peak,
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
        """Loss against lr on a log axis, the lr and the peak marked and labelled; returns the Axes.

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
        shown = self.lrs > 0  # a log axis has no place for a linear range's lr of 0
        lrs, losses, smoothed = self.lrs[shown], self.losses[shown], self.smoothed[shown]
        ax.plot(lrs, losses, color="0.6", alpha=0.5, linewidth=0.8, label="loss")
        ax.plot(lrs, smoothed, color="C0", linewidth=1.8, label="smoothed loss")
        # the peak's label right of and below its mark, the lr's left of and above its own: 2x apart, they
        # would overlap on one side
        marks = ((self.peak, f"peak (annealed) = {self.peak:.3g}", "C1", "s", (8, -14), "left"),
                 (self.lr, f"{self.method}: lr = {self.lr:.3g}", "C3", "o", (-8, 8), "right"))
        for rate, label, color, shape, offset, align in marks:
            at = float(np.interp(math.log(rate), np.log(lrs), smoothed))
            ax.axvline(rate, color=color, linestyle=":", linewidth=1.2)
            ax.plot([rate], [at], shape, color=color, markersize=7, zorder=3, label=label)
            ax.annotate(label, (rate, at), xytext=offset, textcoords="offset points", color=color, ha=align)
        ax.set_xscale("log")
        # The y range follows the smoothed curve: a few raw spikes before the cut would flatten it.
        low = min(float(smoothed.min()), float(np.percentile(losses, 2)))
        high = float(smoothed.max())
        pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        cut = "" if self.cut is None else f", cut: {self.cut}"
        ax.set_title(f"LR range test ({len(self.lrs)} of {self.total} points{cut})")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="best", fontsize="small")
        if target is not None:
            _save(ax.figure, target)
        return ax


def _save(figure: Any, target: Path) -> None:
    """Write the figure through the one atomic writer, in the format the extension names (a file
    already there keeps its permission bits; a symbolic link keeps pointing where it did)."""
    save_figure(figure, target)


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
    """A 1-d float64 array of real numbers; strings, bools, complex numbers and other
    objects are refused rather than converted."""
    rule = "must be a 1-d sequence of real numbers"
    if isinstance(value, (str, bytes)) or value is None:
        raise check.fail("suggest", name, rule, value, TypeError)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a torch tensor that requires grad
        raise check.fail("suggest", name, rule, short(value), TypeError) from None
    if raw.ndim != 1:
        raise check.fail("suggest", name, f"must be 1-d (it has shape {raw.shape})", short(value))
    mixed = isinstance(value, (list, tuple)) and raw.dtype.kind == "f"
    if mixed and any(isinstance(v, (bool, np.bool_)) for v in value):  # numpy made the bool 1.0 or 0.0
        raise check.fail("suggest", name, f"{rule} (it holds a bool)", short(value), TypeError)
    if raw.dtype.kind == "O":
        if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in raw.tolist()):
            raise check.fail("suggest", name, rule, short(value), TypeError)
    elif raw.dtype.kind not in "iuf":
        what = {"b": "bools", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(raw.dtype.kind, raw.dtype)
        raise check.fail("suggest", name, f"{rule} (it holds {what})", short(value), TypeError)
    return raw.astype(np.float64)


class _Shown:
    """Text an error message shows as it is (no quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def short(value: Any) -> Any:
    """A value as an error message shows it: at most 80 characters, and a long sequence by
    its length and first values (its whole repr is never built)."""
    if (isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim >= 1)) and len(value) > 8:
        head = ", ".join(check.show(v) for v in list(value[:3]))
        return _Shown(f"<{type(value).__name__} of {len(value)} values: {head}, ...>")
    text = check.show(value)
    return _Shown(text if len(text) <= 80 else text[:77] + "...")


def _check_lrs(lrs: np.ndarray) -> None:
    bad = ~(np.isfinite(lrs) & (lrs > 0))
    if len(lrs) and lrs[0] == 0:
        bad[0] = False  # a linear range test may start at 0
    if bad.any():
        i = int(np.argmax(bad))
        rule = "must be finite and > 0" + (" (only lrs[0] may be 0)" if i else "")
        raise check.fail("suggest", f"lrs[{i}]", rule, float(lrs[i]))
    steps = np.diff(lrs) <= 0
    if steps.any():
        i = int(np.argmax(steps)) + 1
        rule = f"must be > lrs[{i - 1}]={float(lrs[i - 1])!r} (lrs must be strictly increasing)"
        raise check.fail("suggest", f"lrs[{i}]", rule, float(lrs[i]))


def _log_slope(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy / d(log x), as ``np.gradient(y, np.log(x))`` computes it (second order inside,
    first order at the ends), from spacings ``log(x[i + 1] / x[i])`` taken as
    ``log1p((x[i + 1] - x[i]) / x[i])``: always > 0 for increasing x, where two
    logs of large neighbouring lrs can round to the same value and divide by zero."""
    h = np.log1p(np.diff(x) / x[:-1])
    g = np.empty(len(y))
    with np.errstate(over="ignore", invalid="ignore"):
        g[0] = (y[1] - y[0]) / h[0]
        g[-1] = (y[-1] - y[-2]) / h[-1]
        h1, h2 = h[:-1], h[1:]
        g[1:-1] = (-h2 / (h1 * (h1 + h2)) * y[:-2] + (h2 - h1) / (h1 * h2) * y[1:-1]
                   + h1 / (h2 * (h1 + h2)) * y[2:])
    return g


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


def _zero_lag(y: np.ndarray, total: int) -> np.ndarray:
    """The losses smoothed without lag: the mean of a forward and a backward bias-corrected
    moving average, each over about a twentieth of the run's `total` points (weight
    1 - 20 / total on the past: 0.8 for 100 points), so the window spans the same share of
    the lr range whatever the number of points.  Multiplicative noise is smoothed in log space when every loss is
    > 0 (a loss falls by factors), else the losses are smoothed as they are."""
    positive = bool((y > 0).all())
    z = np.log(y) if positive else y
    weight = min(max(1.0 - 20.0 / total, 0.5), 0.98)

    def ema(v: np.ndarray) -> np.ndarray:
        out, avg = np.empty(len(v)), 0.0
        for i, value in enumerate(v.tolist()):
            avg = weight * avg + (1.0 - weight) * value
            out[i] = avg / (1.0 - weight ** (i + 1))
        return out

    return (ema(z) + ema(z[::-1])[::-1]) / 2.0


def _descent(x: np.ndarray, y: np.ndarray, first: int, used: int) -> int:
    """The point where the zero-lag smoothed loss falls fastest against log lr, searched from
    `first` up to, not at, that curve's minimum (past it the fall is the run diverging).  The
    slopes are those of the whole curve: at the minimum it is flat, where a slope taken from the
    points up to it alone would be the fall into it, so a noisy dip would read as the steepest."""
    curve = _zero_lag(y[:used], len(y))
    low = first + int(np.argmin(curve[first:used]))
    if low - first < 2:
        return low
    return first + int(np.nanargmin(_log_slope(curve[first:used], x[first:used])[: low - first]))


def blend_lr(descent_lr: float, lr_at_minimum: float, divisor: float = BLEND_DIVISOR) -> float:
    """blend's reading from descent's lr and the lr at the smoothed minimum (minimum's lr is that
    over MINIMUM_DIVISOR): between the two, ``sqrt(descent_lr * lr_at_minimum / divisor)``."""
    return math.sqrt(descent_lr * lr_at_minimum / divisor)


def _read(method: str, x: np.ndarray, y: np.ndarray, smoothed: np.ndarray, first: int, used: int) -> tuple[int, float]:
    """(index, lr) by `method` on points first ... used - 1."""
    xs, ys = x[first:used], smoothed[first:used]
    if method == "valley":
        index = first + _valley(ys)
        return index, float(x[index])
    if method == "steepest":
        index = first + int(np.nanargmin(_log_slope(ys, xs)))
        return index, float(x[index])
    low = first + int(np.argmin(ys))
    if method == "minimum":
        return low, float(x[low]) / MINIMUM_DIVISOR
    fall = _descent(x, y, first, used)
    if method == "descent":
        return fall, float(x[fall])
    lr = blend_lr(float(x[fall]), float(x[low]))
    return first + int(np.argmin(np.abs(np.log(xs / lr)))), lr


def suggest(
    lrs: Any, losses: Any, method: str = DEFAULT_METHOD, smooth: float = 0.98, diverge: float = 4.0
) -> Suggestion:
    """Suggest a learning rate from an LR range test's (lr, loss) record.

    1. The losses are smoothed by a bias-corrected exponential moving average
       (``smooth`` its weight on the past, as fastai's 0.98; 0 keeps the raw losses).
    2. The run is cut at the first non-finite loss, or where the smoothed loss exceeds
       ``diverge`` times its running minimum (``math.inf``: no such cut); only the points
       before the cut are kept.
    3. Skipping the first tenth of the run (and an lr of 0), the method reads the curve:

       - ``minimum``: a tenth of the lr at the smallest smoothed loss;
       - ``descent``: the lr where the loss falls fastest against log lr, searched up to
         (not at) its minimum, on a curve smoothed without lag: the mean of a forward and a
         backward bias-corrected moving average of the log losses (of the losses when
         one is <= 0) with weight ``1 - 20 / n`` on the past for n points, so the window
         is a twentieth of the run whatever n is (0.8 for 100 points); ``smooth`` does
         not change it;
       - ``blend`` (the default): ``sqrt(descent_lr * lr_at_minimum / 20)``, between those
         two readings (the geometric mean of descent's lr and half of minimum's).  Their
         errors are only partly correlated, so it scatters less than either; over the
         twenty settings of ``bench/finder.py`` it trained best on the geometric mean of all
         readings measured there (lrcore's, fastai's valley, torch-lr-finder's and
         Lightning's) and within 3x of the best lr of a log grid in every run;
       - ``valley`` (fastai's default): the middle of the longest strictly falling
         stretch of the smoothed curve;
       - ``steepest``: the lr where the smoothed loss falls fastest against log lr
         (torch-lr-finder's reading; the moving average lags, so this sits late).

    4. ``Suggestion.lr`` is that reading, for a constant lr; ``Suggestion.peak`` is twice it,
       for the peak of an annealed schedule (one-cycle, cosine, warmup then decay), which
       runs on average at about half its peak: the same mean lr.

    `lrs` must be finite and strictly increasing, > 0 but for ``lrs[0]``, which may be 0
    (a linear range from 0); `losses` as many real numbers; at least 5 points must remain
    to analyse.  ``Suggestion.index`` is the point read (for ``blend`` the one nearest to
    its lr on the log axis).  Returns a :class:`Suggestion`.
    """
    method, smooth, diverge = check_options("suggest", method, smooth, diverge)
    x = _vector("lrs", lrs)
    y = _vector("losses", losses)
    if len(x) != len(y):
        raise check.fail("suggest", "losses", f"must have as many values as lrs ({len(x)})", f"<{len(y)} values>")
    _check_lrs(x)
    if len(y) and not np.isfinite(y).any():
        raise check.fail("suggest", "losses", "must hold at least one finite value", short(y.tolist()))
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
            f"minimum) cannot detect divergence; {RATIO_BLIND_FIX}",
            UserWarning,
            stacklevel=2,
        )
    first = max(len(y) // 10, 1 if len(x) and x[0] == 0 else 0)  # log lr needs lr > 0
    if used - first < MIN_POINTS:
        why = "" if cut is None else f" before the cut ({cut} at point {used})"
        skipped = f", after skipping the first {first}" if first else ""
        raise check.fail(
            "suggest",
            "losses",
            f"must leave at least {MIN_POINTS} points to analyse{why}{skipped}; {max(used - first, 0)} remain",
            f"<{len(y)} values>",
        )
    index, lr = _read(method, x, y, smoothed, first, used)
    arrays = [np.array(a[:used]) for a in (x, y, smoothed)]
    for a in arrays:
        a.setflags(write=False)
    return Suggestion(lr, method, arrays[0], arrays[1], arrays[2], index, first, len(y), cut)
