"""The default reading on three of the benchmark's settings (``bench/finder.py``), in CI.

The benchmark chose the default over twenty settings; these three (an SGD+momentum
classifier, an SGD+momentum regression, an AdamW one-block transformer with warmup)
check on every run that it still trains within 3x of the best lr of a log grid, its lr
as a constant lr and its peak as a one-cycle peak, and no worse than torch-lr-finder's steepest
gradient.  One initialisation and a coarser grid than the benchmark's keep it to a
few seconds a setting.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import finder  # noqa: E402

import lrcore as lr  # noqa: E402
from lrcore._suggest import DEFAULT_METHOD  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHECKED = {
    "digits MLP, SGD+momentum, batch 32": finder.SETTINGS[0],
    "diabetes MLP, SGD+momentum, batch 16": finder.SETTINGS[8],
    "copy task transformer, AdamW + warmup, batch 16": finder.SETTINGS[18],
}
GRID = np.logspace(-4, 1, 16)  # 3 a decade


def ratios(setting: Any) -> dict[str, dict[str, float]]:
    """{shape: {"default": ratio, "torch-lr-finder": ratio}} against the grid's best, one initialisation
    (the default's lr as a constant, its peak as a one-cycle peak; torch-lr-finder's one lr for both)."""
    run = finder.Run(setting, finder.SETTINGS.index(setting), seeds=1)
    rates, losses = run.lrcore_record()
    found = lr.suggest(rates, losses)
    theirs = run.torch_lr_finder()
    assert theirs is not None
    out = {}
    for shape, ours in (("constant", found.lr), ("one-cycle", found.peak)):
        best = min(run.train(rate, shape) for rate in GRID.tolist())
        out[shape] = {"default": run.train(ours, shape) / best, "torch-lr-finder": run.train(theirs, shape) / best}
    return out


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, dict[str, float]]]:
    finder.quiet()
    return {name: ratios(setting) for name, setting in CHECKED.items()}


def test_the_settings_are_the_benchmarks() -> None:
    labels = [s.label(s.problem()) for s in CHECKED.values()]
    assert labels == [
        "digits, MLP, SGD+momentum, batch 32",
        "diabetes, MLP regression, SGD+momentum, batch 16",
        "copy task, transformer block, AdamW + warmup, batch 16",
    ]


@pytest.mark.parametrize("name", list(CHECKED))
def test_the_default_trains_within_3x_of_the_grids_best(measured: dict, name: str) -> None:
    for shape, found in measured[name].items():
        assert found["default"] <= 3.0, (name, shape, found, DEFAULT_METHOD)


def test_the_default_trains_no_worse_than_torch_lr_finders_steepest(measured: dict) -> None:
    ours = [r["default"] for by_shape in measured.values() for r in by_shape.values()]
    theirs = [r["torch-lr-finder"] for by_shape in measured.values() for r in by_shape.values()]
    geomean = [math.exp(float(np.mean(np.log(v)))) for v in (ours, theirs)]
    assert geomean[0] <= geomean[1], (measured, DEFAULT_METHOD)
