"""The LR range test's loop, shared by ``lr.find_lr`` and every framework's ``find_lr``.

A runner supplies one training step, ``loss = step(lr)``; the loop walks the range
test's learning rates, stops at ``lr.suggest``'s cut (through ``Watch``, the same
rule), shows a progress bar and returns ``lr.suggest``'s reading.  Memory stays
bounded whatever `steps` is: the learning rates are drawn in chunks as the run
reaches them, the losses are kept as packed floats, and batches are never stored
(a re-iterable is iterated again; a one-shot iterator is read once).
"""

from __future__ import annotations

import math
import numbers
import operator
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from . import _validate as check
from ._suggest import DEFAULT_METHOD, Suggestion, Watch, check_options, short, suggest

CHUNK = 4096  # learning rates drawn at a time


def batches_for(where: str, batches: Any, steps: int) -> Iterator[Any]:
    """The batches, one per step, never stored: a re-iterable (a list, a DataLoader) is
    iterated again each time it ends; a one-shot iterator is read once and must last the
    run (one known to be shorter is refused before training)."""
    if isinstance(batches, (str, bytes)) or not isinstance(batches, Iterable):
        raise check.fail(where, "batches", "must be an iterable of batches", short(batches), TypeError)
    if isinstance(batches, Iterator):
        known = operator.length_hint(batches, -1)
        if 0 <= known < steps:
            raise _ran_out(where, known, steps)
        return _once(where, batches, steps)
    return _again(where, batches)


def _ran_out(where: str, count: int, steps: int) -> ValueError:
    fewer = f" or steps={count}" if count >= 2 else ""
    return ValueError(
        f"{where}: `batches` is a one-shot iterator of {count} batches, fewer than the {steps} steps of the test; "
        f"pass a list or a DataLoader (iterated again when it ends){fewer}"
    )


def _once(where: str, batches: Iterator[Any], steps: int) -> Iterator[Any]:
    count = 0
    for batch in batches:
        count += 1
        yield batch
    raise _ran_out(where, count, steps)


def _again(where: str, batches: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise check.fail(where, "batches", "must yield at least one batch", short(batches))


def _bar(steps: int, progress: bool) -> Any:
    """A tqdm progress bar on stderr, or None without tqdm (or with progress=False)."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=steps, desc="LR range test", unit="step", dynamic_ncols=True)


def loss_value(where: str, loss: Any) -> float:
    """A step's loss as a float: a real number, or a one-element tensor or array of reals.
    Anything else (None, a bool, a complex, a string, several values) is refused, naming
    what came back."""
    if isinstance(loss, (bool, np.bool_)):
        raise _bad_loss(where, loss)
    if isinstance(loss, numbers.Real):
        return float(loss)
    numel = getattr(loss, "numel", None)  # torch counts with numel(); numpy and jax with size
    count = numel() if callable(numel) else getattr(loss, "size", None)
    dtype = str(getattr(loss, "dtype", ""))
    if count != 1 or not any(kind in dtype for kind in ("float", "int", "half")) or "complex" in dtype:
        raise _bad_loss(where, loss)
    item = getattr(loss, "item", None)  # a one-element array of any shape (float() takes 0-d only)
    return float(item() if callable(item) else loss)


def _bad_loss(where: str, loss: Any) -> TypeError:
    return TypeError(f"{where}: the step must return the loss, one real number; got {short(loss)}")


class RangeTest:
    """The loop's state, for runners driven by their framework's own loop (Lightning's
    hooks) as much as by ``run_steps``: the learning rates in order (``rates()``),
    ``add(lr, loss)`` after each step (True once the run is past the cut), ``close()``
    and the reading, ``result()``.

    Every argument is checked, and a range that cannot increase refused, on construction,
    before the first step; construction has no other effect (the progress bar opens with the
    first learning rate drawn), so it is also how a runner checks its arguments before it
    touches the model or the batches."""

    def __init__(
        self, where: str, *, start: Any, end: Any, steps: Any, shape: Any, method: Any, smooth: Any, diverge: Any,
        progress: Any,
    ) -> None:
        self.where = where
        self.method, self.smooth, self.diverge = check_options(where, method, smooth, diverge)
        self.progress = check.flag(where, "progress", progress)
        from ._kinds import range_test  # its record refuses a range float64 cannot keep increasing

        self.schedule = range_test(start=start, end=end, steps=steps, shape=shape)
        self.steps = int(steps)
        self.watch = Watch(self.smooth, self.diverge)
        self.lrs, self.losses = array("d"), array("d")  # packed: 16 bytes a step
        self.stopped = False
        self.bar: Any = None

    def rates(self) -> Iterator[float]:
        """The learning rates, drawn CHUNK at a time as the run reaches them (plain-Python
        evaluation: a chunk is too short for the kernel to pay)."""
        self.bar = _bar(self.steps, self.progress)
        last = -math.inf
        for t0 in range(0, self.steps, CHUNK):
            chunk = self.schedule.array(min(CHUNK, self.steps - t0), start=t0)
            if not (chunk[0] > last and (np.diff(chunk) > 0).all()):  # unreachable by the rule; never train on it
                raise ValueError(f"{self.where}: the range test's learning rates are not strictly increasing near "
                                 f"step {t0}; widen the range or use fewer steps")
            last = float(chunk[-1])
            yield from chunk.tolist()

    def add(self, rate: float, loss: float) -> bool:
        """Record one step; True when the run should stop here (past the cut)."""
        self.lrs.append(rate)
        self.losses.append(loss)
        smoothed, self.stopped = self.watch.add(loss)
        if self.bar is not None:
            self.bar.set_postfix(lr=f"{rate:.3g}", loss=f"{smoothed:.4g}", refresh=False)
            self.bar.update()
        return self.stopped

    def close(self) -> None:
        if self.bar is not None:
            if self.stopped:
                self.bar.set_postfix_str("stopped: the loss diverged", refresh=False)
            self.bar.close()
            self.bar = None

    def run(self, step: Callable[[float], float]) -> Suggestion:
        """The loop: ``loss = step(lr)`` for each learning rate in order, stopping after the
        first point past the cut; the bar is closed however it ends; returns ``result()``."""
        try:
            for rate in self.rates():
                if self.add(rate, step(rate)):
                    break
        finally:
            self.close()
        return self.result()

    def result(self) -> Suggestion:
        """``lr.suggest``'s reading of the steps run; a ValueError when too few were run."""
        used = len(self.losses)
        lrs, losses = np.frombuffer(self.lrs), np.frombuffer(self.losses)
        try:
            return suggest(lrs, losses, method=self.method, smooth=self.smooth, diverge=self.diverge)
        except ValueError as err:
            last = f" (last lr {lrs[-1]:.3g}, loss {losses[-1]:.4g})" if used else ""
            raise ValueError(
                f"{self.where}: the run stopped after {used} of {self.steps} steps{last}, too early to suggest: "
                f"start lower or use more steps ({err})"
            ) from None


def run_steps(
    where: str,
    step: Callable[[float], float],
    *,
    start: Any,
    end: Any,
    steps: Any,
    shape: Any,
    method: Any,
    smooth: Any,
    diverge: Any,
    progress: Any,
) -> Suggestion:
    """``RangeTest.run``: ``loss = step(lr)`` for each learning rate of the range test, in order,
    stopping after the first point past the cut; returns ``lr.suggest``'s reading."""
    return RangeTest(where, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth,
                     diverge=diverge, progress=progress).run(step)


def check_run(
    where: str, *, start: Any, end: Any, steps: Any, shape: Any, method: Any, smooth: Any, diverge: Any,
    progress: Any = True,
) -> None:
    """Every argument of a range test checked, as the loop checks them, for a runner that
    must refuse bad ones before it touches the model."""
    RangeTest(where, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth, diverge=diverge,
              progress=progress)


def run(
    where: str,
    one_step: Callable[[float, Any], Any],
    batches: Any,
    *,
    start: Any,
    end: Any,
    steps: Any,
    shape: Any,
    method: Any,
    smooth: Any,
    diverge: Any,
    progress: Any = True,
) -> Suggestion:
    """``run_steps`` with ``loss = one_step(lr, batch)`` on the next batch of `batches`
    (see ``batches_for``); the adapters' loop.  Every argument is checked before the batches
    are touched."""
    test = RangeTest(where, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth,
                     diverge=diverge, progress=progress)
    feed = batches_for(where, batches, test.steps)
    return test.run(lambda rate: loss_value(where, one_step(rate, next(feed))))


def find_lr(
    step_fn: Callable[[float], Any],
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    shape: str = "exponential",
    method: str = DEFAULT_METHOD,
    smooth: float = 0.98,
    diverge: float = 4.0,
    progress: bool = True,
) -> Suggestion:
    """Run an LR range test through your own training step and return ``lr.suggest``'s reading.

    ``step_fn(lr)`` trains one step at learning rate `lr` and returns that step's loss
    (a float, or a one-element tensor or array).  It is called for
    ``lr = lr.range_test(start=start, end=end, steps=steps, shape=shape)(t)``,
    t = 0, 1, ..., until the run ends or passes ``lr.suggest``'s cut (the first
    non-finite loss, or the smoothed loss above `diverge` times its minimum).
    A linear range may start at 0.  Saving and restoring the model is the caller's
    part: the steps train it.  `progress` shows a tqdm bar on stderr where tqdm is
    installed.

    Example:
        >>> import lrcore as lr
        >>> w = [3.0]
        >>> def step(rate):  # gradient descent on (w - 1)**2
        ...     loss = (w[0] - 1.0) ** 2
        ...     w[0] -= rate * 2.0 * (w[0] - 1.0)
        ...     return loss
        >>> s = lr.find_lr(step, start=1e-4, end=10.0, steps=60, progress=False)
        >>> 1e-3 < s.lr < 1.0  # a constant lr; s.peak, twice it, for a one-cycle or cosine peak
        True
    """
    where = "find_lr"
    if not callable(step_fn):
        raise check.fail(where, "step_fn", "must be callable as step_fn(lr) -> loss", short(step_fn), TypeError)

    def step(rate: float) -> float:
        return loss_value(where, step_fn(rate))

    return run_steps(
        where, step, start=start, end=end, steps=steps, shape=shape, method=method, smooth=smooth,
        diverge=diverge, progress=progress,
    )
