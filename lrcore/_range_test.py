"""The LR range test's schedule: the learning rate grows from `start` to `end`.

``range_test(start, end, steps, shape)`` is a kind like any other (repr, parse,
JSON, plot, ``array``); its analysis is ``lr.suggest`` and its runners are the
adapters' ``find_lr``.  Its record lowers it to an existing leaf, so it adds
no kernel code.
"""

from __future__ import annotations

import math

from . import _validate as check
from ._kinds import exponential, linear
from ._schedule import Schedule, register

RANGE_SHAPES = ("exponential", "linear")

def _growth(start: float, end: float) -> float:
    """end / start, nudged up by the ulps needed for ``start * growth >= end``.

    The exponential kind evaluates ``start * growth ** (t / every)`` capped at
    `end`; at t = steps - 1 the exponent is exactly 1, so the rounded product
    must not fall short of `end` or the last step would miss it by an ulp.  The
    nudge changes earlier values by at most a few ulps.
    """
    growth = end / start
    while start * growth < end:
        growth = math.nextafter(growth, math.inf)
    return growth


def _lower(s: Schedule) -> Schedule:
    """The equivalent linear or capped exponential leaf, which the kernel evaluates."""
    start, end, span = s["start"], s["end"], float(s["steps"] - 1)
    if s["shape"] == "linear":
        return linear(start=start, end=end, steps=span)
    # The cap at `end` holds the value from t = steps - 1 on.
    return exponential(init=start, gamma=_growth(start, end), every=span, end=end)


def _horizon(s: Schedule) -> float | None:
    return float(s["steps"] - 1)


@register("range_test", lower=_lower, horizon=_horizon)
def range_test(
    *, start: float = 1e-7, end: float = 10.0, steps: int = 100, shape: str = "exponential"
) -> Schedule:
    """The learning rate of an LR range test: `start` at t = 0, `end` at t = steps - 1, held after.

    ``exponential`` (geometric, the default, as fastai, Lightning and
    torch-lr-finder): ``start * (end / start) ** (t / (steps - 1))``;
    ``linear``: ``start + (end - start) * t / (steps - 1)``.  Values are
    strictly increasing up to t = steps - 1, where they equal `end` exactly.

    Args:
        start: the learning rate of the first step, t = 0 (> 0); default 1e-7.
        end: the learning rate of the last step, t = steps - 1 (> start); default 10.
        steps: the number of steps (learning rates) the test tries, an int >= 2; default 100.
        shape: "exponential" (default) or "linear".

    Returns:
        A ``Schedule``: ``s(t)`` is the learning rate after t updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.range_test(start=1e-4, end=1.0, steps=5)
        >>> [round(s(t), 12) for t in range(6)]  # a factor 10 per step, then held
        [0.0001, 0.001, 0.01, 0.1, 1.0, 1.0]
        >>> round(lr.range_test(start=0.1, end=0.5, steps=5, shape="linear")(2), 12)  # halfway: the mean
        0.3
    """
    w = "range_test"
    start = check.number(w, "start", start, gt=0)
    end = check.number(w, "end", end, gt=0)
    if not end > start:
        raise check.fail(w, "end", f"must be > start={start:g}", end)
    if not math.isfinite(end / start):
        raise check.fail(w, "end", f"must be a finite multiple of start={start:g} (end / start overflows)", end)
    steps = check.count(w, "steps", steps)
    if steps < 2:
        raise check.fail(w, "steps", "must be >= 2", steps)
    shape = check.choice(w, "shape", shape, RANGE_SHAPES)
    return Schedule(w, (("start", start), ("end", end), ("steps", steps), ("shape", shape)))
