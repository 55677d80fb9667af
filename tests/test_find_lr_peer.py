"""The torch range test against the peer, ``torch-lr-finder`` (``torch_lr_finder.LRFinder``), on the same
model, data and lr range.

torch-lr-finder sets the lr before iteration i with its own ``ExponentialLR``
(``start * (end / start) ** (i / (num_iter - 1))``, the scheduler's first step
happening in its constructor) and records that lr in ``history["lr"][i]``
after the step; with ``smooth_f=0`` ``history["loss"][i]`` is the raw loss of
that step.  Its suggestion (``plot(suggest_lr=True)``) is the steepest
``np.gradient`` of its smoothed losses (``loss = smooth_f * loss + (1 -
smooth_f) * previous``, no bias correction) per iteration, skipping 10 points
at the start and 5 at the end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from test_find_lr_torch import classification, mlp, regression, train
from torch_lr_finder import LRFinder

import lrcore as lr
from lrcore.adapters.torch import find_lr

START, END, STEPS = 1e-6, 10.0, 100


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def setup(problem: str) -> tuple[list, Any, Any, Any]:
    """(batches, loss_fn, a DataLoader over the same batches in order, make(lr) -> model, optimizer)."""
    batches, loss_fn = classification() if problem == "classification" else regression()
    n_in, n_out = batches[0][0].shape[1], 3 if problem == "classification" else 1
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    dataset = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(dataset, batch_size=len(batches[0][0]), shuffle=False)

    def make(rate: float) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = mlp(n_in, n_out, seed=7)
        if problem == "classification":
            return model, torch.optim.Adam(model.parameters(), lr=rate)
        return model, torch.optim.SGD(model.parameters(), lr=rate, momentum=0.9)

    return batches, loss_fn, loader, make


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_same_lrs_and_same_losses(problem: str) -> None:
    _, loss_fn, loader, make = setup(problem)
    model, opt = make(1e-3)
    used: list[float] = []
    opt.register_step_pre_hook(lambda o, args, kwargs: used.append(o.param_groups[0]["lr"]))
    finder = LRFinder(model, opt, loss_fn, device="cpu")
    finder.range_test(loader, start_lr=START, end_lr=END, num_iter=STEPS, step_mode="exp", smooth_f=0.0,
                      diverge_th=1e30)
    assert used == finder.history["lr"]  # the lr it records is the lr iteration i ran with

    model, opt = make(1e-3)
    ours = find_lr(model, opt, loader, loss_fn, start=START, end=END, steps=STEPS, diverge=math.inf, progress=False)
    theirs_lr, theirs_loss = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    n = len(ours.lrs)
    # Where the lrs agree, the losses agree.  Measured: the lrs agree bit for bit at every
    # step (start * (end / start) ** (i / 99) both ways), and so do the losses.
    agree = int(np.argmin(theirs_lr[:n] == ours.lrs)) if not (theirs_lr[:n] == ours.lrs).all() else n
    assert agree == n
    np.testing.assert_array_equal(ours.losses[:agree], theirs_loss[:agree])
    # Both runs stop at the same point: a non-finite loss (regression) or the end of the range.
    assert len(theirs_loss) == n + (ours.cut is not None)


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_our_steepest_reads_its_curve_as_it_does(problem: str) -> None:
    """Fed torch-lr-finder's own smoothed record, ``method='steepest'`` (slope against log lr, the first
    tenth skipped) finds the lr of its suggestion (slope per iteration, 10 skipped): exp steps are even in log lr."""
    _, loss_fn, loader, make = setup(problem)
    model, opt = make(1e-3)
    finder = LRFinder(model, opt, loss_fn, device="cpu")
    finder.range_test(loader, start_lr=START, end_lr=END, num_iter=STEPS, step_mode="exp")
    _, theirs = finder.plot(ax=Figure().add_subplot(), suggest_lr=True)
    hist = finder.history
    keep = len(hist["lr"]) - 5  # it leaves out the last 5 points; lr.suggest reads to the cut
    ours = lr.suggest(hist["lr"][:keep], hist["loss"][:keep], method="steepest", smooth=0.0, diverge=math.inf)
    assert ours.lr == theirs


SETTINGS = [(p, o, h) for p in ("classification", "regression") for o in ("adam", "sgd") for h in (False, True)]
BUDGET = 160  # updates: longer than the range test itself, as real training is


def run_setting(problem: str, optimizer: str, halve: bool) -> tuple[float, float, float, float]:
    """(our lr, its lr, final loss at ours, final loss at its) for one problem, optimizer and batch size."""
    batches, loss_fn = classification() if problem == "classification" else regression()
    if halve:  # the same data in batches half as large: noisier losses
        h = len(batches[0][0]) // 2
        batches = [(b[0][k : k + h], b[1][k : k + h]) for b in batches for k in (0, h)]
    n_in, n_out = batches[0][0].shape[1], 3 if problem == "classification" else 1

    def make(rate: float) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = mlp(n_in, n_out, seed=7)
        if optimizer == "adam":
            return model, torch.optim.Adam(model.parameters(), lr=rate)
        return model, torch.optim.SGD(model.parameters(), lr=rate, momentum=0.9)

    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=len(batches[0][0]))
    model, opt = make(1e-3)
    finder = LRFinder(model, opt, loss_fn, device="cpu")
    finder.range_test(loader, start_lr=START, end_lr=END, num_iter=STEPS, step_mode="exp")  # its defaults
    _, theirs = finder.plot(ax=Figure().add_subplot(), suggest_lr=True)
    model, opt = make(1e-3)
    ours = find_lr(model, opt, loader, loss_fn, start=START, end=END, steps=STEPS, progress=False).lr  # our default
    finals = []
    for rate in (ours, theirs):
        model, opt = make(rate)
        final = train(model, opt, batches, loss_fn, epochs=BUDGET // len(batches))
        finals.append(final if math.isfinite(final) else math.inf)
    return ours, theirs, finals[0], finals[1]


def test_our_default_suggestion_trains_no_worse_than_its_steepest() -> None:
    """Over eight settings (classification and regression, Adam and SGD with momentum, two batch sizes),
    training from the same initialisation for the same budget at our default (blend) suggestion ends,
    on the geometric mean, no higher than at torch-lr-finder's steepest-gradient suggestion.  These
    problems are the tests' own: the default was chosen on bench/finder.py's, never on these.

    Measured (final loss, ours vs its): classification/Adam 0.448 vs 0.438 and 0.509 vs 0.563,
    classification/SGD 0.487 vs 0.829 and 0.544 vs 0.779, regression/Adam 0.116 vs 0.093 and 0.099 vs
    0.138, regression/SGD 0.136 vs 0.178 and 0.194 vs 0.158: a geometric-mean ratio of 0.87 (fastai's
    valley, the default before, made 0.89).  So "no worse" holds over the set, not in every setting.
    """
    rows = {setting: run_setting(*setting) for setting in SETTINGS}
    ratios = [ours_loss / theirs_loss for _, _, ours_loss, theirs_loss in rows.values()]
    assert all(math.isfinite(r) for r in ratios), rows
    assert math.exp(float(np.mean(np.log(ratios)))) <= 1.0, rows
