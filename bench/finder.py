"""How well each LR range test reading trains, on problems no reading was tuned on.

    python bench/finder.py                     # every setting: about 12 minutes of CPU
    python bench/finder.py --jobs 2            # the same on two processes
    python bench/finder.py --docs --jobs 2     # the same, then the range test guide's table is rewritten from it
    python bench/finder.py --smoke             # three settings, one seed, a coarse grid: under a minute

For each setting (a data set, a model, an optimizer and a batch size) every method
reads an LR range test from one fixed initialisation; the model is then trained for a
fixed budget of optimizer steps at the suggested lr as a constant lr, and at the
suggested peak as the peak of a one-cycle schedule (lrcore's ``Suggestion.peak``; a peer
that states one number has it used for both, as its users would), from three fixed
initialisations (their mean final
training loss is the result: one run alone can be lucky or not).  The ratio to the best
result over a log grid of lrs (the same budget, schedule shape and initialisations) says
how well the reading did: 1 means as well as the grid's best.  A run that diverges
counts with the untrained model's loss.

Methods: every ``lr.suggest`` method on one lrcore range test with its defaults;
torch-lr-finder's steepest gradient and Lightning's ``Tuner.lr_find`` suggestion, each
from its own range test with its own defaults; and fastai's ``valley`` as its
documentation describes it (on lrcore's record: smoothed with beta 0.98, the first tenth
and the last 5 points left out, the point a third and a sixth into the longest strictly
falling stretch).

``blend`` is also measured with its one tuned constant, the divisor, at half-octave steps
around its value: the results file shows each, and which the other settings would choose
for each setting left out (a leave-one-setting-out check of the choice).

Data ships with scikit-learn (digits, breast cancer, wine, diabetes) or is generated
with fixed seeds (Friedman #1, circles, blobs, spirals, a copy task for a one-block
transformer trained with AdamW and a warmup); a tenth of each classification set's
labels are drawn at random, so no training loss reaches 0.  These problems are not the
tests' (``tests/test_find_lr_*.py`` train their own); ``tests/test_find_lr_ranking.py``
checks the default on three of these settings.  Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import io
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import lrcore as lr
from lrcore._suggest import BLEND_DIVISOR, DEFAULT_METHOD, METHODS, MINIMUM_DIVISOR, PEAK_PER_LR, blend_lr

F = nn.functional
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "docs" / "guides" / "range-test.md"  # the finder table's page
BEGIN = "<!-- finder:begin: written by `python bench/finder.py --docs` from the run it just made -->"
END = "<!-- finder:end -->"

BUDGET = 300  # optimizer steps of each training run: three times the range test's 100
GRID = (-4.0, 1.0, 5)  # log10 lr from, to, points per decade
SEEDS = 3  # initialisations each final loss is averaged over (one run alone can be lucky or not)
NOISE = 0.1  # the share of a classification set's labels replaced at random
WITHIN = 3.0  # the bar every setting must meet: final loss within 3x of the grid's best
# blend's one tuned constant, the divisor of sqrt(descent_lr * lr_at_minimum / divisor), is also
# measured at these values (half-octave steps around it) for the leave-one-setting-out check.
DIVISORS = (10.0, 14.142, 20.0, 28.284, 40.0)
Batch = tuple[torch.Tensor, torch.Tensor]


# ---------------------------------------------------------------------------
# Problems


@dataclasses.dataclass(frozen=True)
class Problem:
    name: str
    x: torch.Tensor
    y: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    model: Callable[[], nn.Module]


def _standard(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(0)) / a.std(0)


def _tensors(x: np.ndarray, y: np.ndarray, classes: bool) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    if classes:  # a tenth of the labels drawn at random: the training loss has a floor, never 0
        y = np.where(rng.random(len(y)) < NOISE, rng.integers(0, int(y.max()) + 1, len(y)), y)
    order = rng.permutation(len(x))  # one fixed order: every run sees the same batches
    xt = torch.tensor(x[order], dtype=torch.float32)
    yt = torch.tensor(y[order], dtype=torch.int64) if classes else torch.tensor(y[order], dtype=torch.float32)
    return xt, yt


def mlp(n_in: int, n_out: int, width: int = 64) -> Callable[[], nn.Module]:
    return lambda: nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, n_out))


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 16, 10),
    )


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out.squeeze(-1), y)


def digits(conv: bool = False) -> Problem:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data / 16.0
    xt, yt = _tensors(x, data.target, True)
    if conv:
        return Problem("digits, CNN", xt.reshape(-1, 1, 8, 8), yt, F.cross_entropy, cnn)
    return Problem("digits, MLP", xt, yt, F.cross_entropy, mlp(64, 10))


def breast_cancer() -> Problem:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    xt, yt = _tensors(_standard(data.data), data.target, True)
    return Problem("breast cancer, MLP", xt, yt, F.cross_entropy, mlp(30, 2, 32))


def wine() -> Problem:
    from sklearn.datasets import load_wine

    data = load_wine()
    xt, yt = _tensors(_standard(data.data), data.target, True)
    return Problem("wine, MLP", xt, yt, F.cross_entropy, mlp(13, 3, 32))


def diabetes() -> Problem:
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    xt, yt = _tensors(_standard(data.data), _standard(data.target), False)
    return Problem("diabetes, MLP regression", xt, yt, mse, mlp(10, 1))


def friedman() -> Problem:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=1000, n_features=10, noise=1.0, random_state=0)
    xt, yt = _tensors(_standard(x), _standard(y), False)
    return Problem("Friedman #1, MLP regression", xt, yt, mse, mlp(10, 1))


def circles() -> Problem:
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=1000, noise=0.15, factor=0.5, random_state=0)
    xt, yt = _tensors(_standard(x), y, True)
    return Problem("circles, MLP", xt, yt, F.cross_entropy, mlp(2, 2, 32))


def blobs() -> Problem:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=1500, centers=6, n_features=8, cluster_std=3.0, random_state=0)
    xt, yt = _tensors(_standard(x), y, True)
    return Problem("blobs, MLP", xt, yt, F.cross_entropy, mlp(8, 6))


def spirals() -> Problem:
    rng = np.random.default_rng(1)
    n, arms = 300, 3
    t = np.sqrt(rng.random((arms, n))) * 3.0 * np.pi  # denser towards the centre
    angle = t + 2.0 * np.pi * np.arange(arms)[:, None] / arms
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], -1).reshape(-1, 2) / (3.0 * np.pi)
    x += 0.04 * rng.standard_normal(x.shape)
    xt, yt = _tensors(x, np.repeat(np.arange(arms), n), True)
    return Problem("spirals, MLP", xt, yt, F.cross_entropy, mlp(2, arms))


VOCAB, HALF = 16, 8


class TinyTransformer(nn.Module):
    """One pre-norm causal transformer block with learned positions, as a small language model."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, width)
        self.position = nn.Parameter(0.02 * torch.randn(2 * HALF - 1, width))
        self.block = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, VOCAB)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(2 * HALF - 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.position
        return self.head(self.norm(self.block(h, src_mask=self.mask, is_causal=True)))


def next_token(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.reshape(-1, VOCAB), y.reshape(-1), ignore_index=-100)


def copy_task() -> Problem:
    """Eight random tokens, then the same eight again, a tenth of them replaced at random: only the
    repeat is predictable (and scored), down to the floor the replaced tokens set."""
    rng = np.random.default_rng(2)
    first = rng.integers(0, VOCAB, (2048, HALF))
    second = np.where(rng.random(first.shape) < 0.1, rng.integers(0, VOCAB, first.shape), first)
    tokens = np.concatenate([first, second], 1)
    x, y = tokens[:, :-1], tokens[:, 1:].copy()
    y[:, : HALF - 1] = -100  # the first half is noise to the model: not scored
    return Problem("copy task, transformer block", torch.tensor(x), torch.tensor(y), next_token, TinyTransformer)


@dataclasses.dataclass(frozen=True)
class Setting:
    problem: Callable[[], Problem]
    optimizer: str  # sgd, momentum, adam, adamw
    batch_size: int
    warmup: bool = False  # the constant-lr runs warm up linearly over the first 10 % (as LLMs train)

    def label(self, problem: Problem) -> str:
        names = {"sgd": "SGD", "momentum": "SGD+momentum", "adam": "Adam", "adamw": "AdamW"}
        extra = " + warmup" if self.warmup else ""
        return f"{problem.name}, {names[self.optimizer]}{extra}, batch {self.batch_size}"


def optimizer_for(name: str, params: Any, rate: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=rate)
    if name == "momentum":
        return torch.optim.SGD(params, lr=rate, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=rate)
    return torch.optim.AdamW(params, lr=rate, weight_decay=0.01)


SETTINGS = [
    *(Setting(digits, "momentum", b) for b in (32, 128)),
    *(Setting(lambda: digits(conv=True), "adam", b) for b in (32, 64)),
    *(Setting(breast_cancer, "sgd", b) for b in (16, 64)),
    *(Setting(wine, "adamw", b) for b in (16, 64)),
    *(Setting(diabetes, "momentum", b) for b in (16, 64)),
    *(Setting(friedman, "adam", b) for b in (32, 128)),
    *(Setting(circles, "sgd", b) for b in (32, 128)),
    *(Setting(blobs, "adamw", b) for b in (32, 128)),
    *(Setting(spirals, "momentum", b) for b in (32, 128)),
    *(Setting(copy_task, "adamw", b, warmup=True) for b in (16, 64)),
]
SMOKE = [SETTINGS[0], SETTINGS[8], SETTINGS[18]]


# ---------------------------------------------------------------------------
# Training and the range tests


class Run:
    """One setting: its batches, fresh models from fixed initialisations, training for the budget.

    The range tests start from the first initialisation; a final loss is the mean over SEEDS
    initialisations, a run that diverges counting as its untrained loss."""

    def __init__(self, setting: Setting, seed: int, seeds: int = SEEDS) -> None:
        self.setting = setting
        self.seeds = seeds
        self.problem = setting.problem()
        self.seed = seed
        x, y, b = self.problem.x, self.problem.y, setting.batch_size
        self.batches: list[Batch] = [(x[i : i + b], y[i : i + b]) for i in range(0, len(x) - b + 1, b)]
        self.finals: dict[tuple[float, str], float] = {}  # methods that agree train once

    def model(self, k: int = 0) -> nn.Module:
        torch.manual_seed(1000 * self.seed + k)
        return self.problem.model()

    def initial(self) -> float:
        """The untrained models' mean loss."""
        return float(np.mean([self.evaluate(self.model(k)) for k in range(self.seeds)]))

    def loader(self) -> torch.utils.data.DataLoader:
        """The same batches, in the same order, as a DataLoader (for the peers that need one)."""
        n = len(self.batches) * self.setting.batch_size
        data = torch.utils.data.TensorDataset(self.problem.x[:n], self.problem.y[:n])
        return torch.utils.data.DataLoader(data, batch_size=self.setting.batch_size, shuffle=False)

    def evaluate(self, model: nn.Module) -> float:
        with torch.no_grad():
            model.eval()
            loss = float(self.problem.loss(model(self.problem.x), self.problem.y))
        return loss if math.isfinite(loss) else math.inf

    def train(self, rate: float, shape: str) -> float:
        """The training loss after BUDGET steps at `rate` (a constant, or the peak of a one-cycle)."""
        key = (rate, shape)
        if key not in self.finals:
            self.finals[key] = float(np.mean([self._train(rate, shape, k) for k in range(self.seeds)]))
        return self.finals[key]

    def _train(self, rate: float, shape: str, k: int) -> float:
        if shape == "one-cycle":
            schedule = lr.one_cycle(peak=rate, steps=BUDGET)
        elif self.setting.warmup:
            schedule = lr.warmup(lr.constant(value=rate), steps=BUDGET // 10)
        else:
            schedule = lr.constant(value=rate)
        rates = schedule.array(BUDGET).tolist()
        model = self.model(k)
        untrained = self.evaluate(model)
        opt = optimizer_for(self.setting.optimizer, model.parameters(), rate)
        model.train()
        for t in range(BUDGET):
            x, y = self.batches[t % len(self.batches)]
            for group in opt.param_groups:
                group["lr"] = rates[t]
            opt.zero_grad()
            loss = self.problem.loss(model(x), y)
            if not torch.isfinite(loss):
                return untrained
            loss.backward()
            opt.step()
        return min(self.evaluate(model), untrained)

    def lrcore_record(self) -> tuple[list[float], list[float]]:
        """lrcore's range test with its defaults: the (lr, loss) of every step run."""
        from lrcore.adapters.torch import find_lr

        seen: list[float] = []

        def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            loss = self.problem.loss(out, y)
            seen.append(float(loss.detach()))
            return loss

        model = self.model()
        opt = optimizer_for(self.setting.optimizer, model.parameters(), 1e-3)
        find_lr(model, opt, self.batches, loss_fn, progress=False)
        rates = lr.range_test().array(len(seen)).tolist()
        return rates, seen

    def torch_lr_finder(self) -> float | None:
        from matplotlib.figure import Figure
        from torch_lr_finder import LRFinder

        model = self.model()
        opt = optimizer_for(self.setting.optimizer, model.parameters(), 1e-3)
        finder = LRFinder(model, opt, self.problem.loss, device="cpu")
        with contextlib.redirect_stdout(io.StringIO()):
            finder.range_test(self.loader(), start_lr=1e-7, end_lr=10.0, num_iter=100)
            try:
                _, suggestion = finder.plot(ax=Figure().add_subplot(), suggest_lr=True)
            except ValueError:  # too few points before its divergence stop
                suggestion = None
        finder.reset()
        return None if suggestion is None else float(suggestion)

    def lightning(self) -> float | None:
        import lightning.pytorch as pl
        from lightning.pytorch.tuner import Tuner

        for name in list(logging.root.manager.loggerDict):  # its info lines ("GPU available", ...) off
            if name.startswith("lightning"):
                logging.getLogger(name).setLevel(logging.ERROR)
        run = self

        class Module(pl.LightningModule):
            def __init__(self) -> None:
                super().__init__()
                self.net = run.model()

            def training_step(self, batch: Batch, index: int) -> torch.Tensor:
                return run.problem.loss(self.net(batch[0]), batch[1])

            def configure_optimizers(self) -> torch.optim.Optimizer:
                return optimizer_for(run.setting.optimizer, self.parameters(), 1e-3)

        chatter = io.StringIO()
        with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(chatter), \
                contextlib.redirect_stderr(chatter):
            trainer = pl.Trainer(
                accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, default_root_dir=folder, max_epochs=-1,
            )
            found = Tuner(trainer).lr_find(Module(), train_dataloaders=self.loader(), update_attr=False)
            suggestion = None if found is None else found.suggestion()
        return None if suggestion is None else float(suggestion)


def fastai_valley(lrs: list[float], raw: list[float], num_it: int = 100) -> float:
    """fastai's valley suggestion, written from its documentation: the Recorder's losses are
    the bias-corrected moving average (beta 0.98); ``lr_find`` leaves out the first
    ``num_it // 10`` and the last 5 points; the suggestion is the point a third and a
    sixth of the way into the longest strictly decreasing subsequence."""
    smoothed, avg = [], 0.0
    for i, loss in enumerate(raw):
        avg = 0.98 * avg + 0.02 * loss
        smoothed.append(avg / (1 - 0.98 ** (i + 1)))
    lrs_, losses = lrs[num_it // 10 : -5], smoothed[num_it // 10 : -5]
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return float(lrs_[max_start + int(sections) + int(sections / 2)])


PEERS = ("torch-lr-finder steepest", "Lightning lr_find", "fastai valley")


def suggestions(run: Run) -> tuple[dict[str, float | None], dict[str, float | None], dict[str, Any]]:
    """Every method's suggested lr for this setting (None where a method found none), and its
    suggested one-cycle peak: lrcore's ``Suggestion.peak``, a peer's single number."""
    rates, losses = run.lrcore_record()
    out: dict[str, float | None] = {}
    peaks: dict[str, float | None] = {}
    for method in METHODS:
        try:
            found = lr.suggest(rates, losses, method=method)
            out[f"lrcore {method}"], peaks[f"lrcore {method}"] = found.lr, found.peak
        except ValueError:
            out[f"lrcore {method}"] = peaks[f"lrcore {method}"] = None
    # fastai's lr_find records the point that crossed its stop rule, as lrcore's record does
    finite = [loss if math.isfinite(loss) else 1e300 for loss in losses]
    out["fastai valley"] = fastai_valley(rates, finite) if len(rates) > 20 else None
    out["torch-lr-finder steepest"] = run.torch_lr_finder()
    out["Lightning lr_find"] = run.lightning()
    for peer in PEERS:
        peaks[peer] = out[peer]
    return out, peaks, {"lrs": rates, "losses": losses}


def divisor_finals(run: Run, found: dict[str, float | None]) -> dict[str, dict[str, float]]:
    """blend as it would read with each of DIVISORS: {divisor: {"lr", "constant", "one-cycle"}}, the
    finals at lr as a constant and at PEAK_PER_LR * lr as a one-cycle peak (minimum's lr is the lr
    at the smoothed minimum / MINIMUM_DIVISOR)."""
    descent, minimum = found["lrcore descent"], found["lrcore minimum"]
    if descent is None or minimum is None:
        return {}
    out = {}
    for divisor in DIVISORS:
        rate = blend_lr(descent, minimum * MINIMUM_DIVISOR, divisor)
        out[f"{divisor:g}"] = {"lr": rate, "constant": run.train(rate, "constant"),
                               "one-cycle": run.train(PEAK_PER_LR * rate, "one-cycle")}
    return out


def _measure(index: int, grid: np.ndarray, seeds: int) -> dict[str, Any]:
    row = measure(SETTINGS[index], index, grid, seeds)
    print(f"{row['setting']}: {row['seconds']:.1f} s", file=sys.stderr, flush=True)
    return row


def measure(setting: Setting, seed: int, grid: np.ndarray, seeds: int = SEEDS) -> dict[str, Any]:
    run = Run(setting, seed, seeds)
    label = setting.label(run.problem)
    began = time.perf_counter()
    lrs_by_method, peaks, record = suggestions(run)
    initial = run.initial()
    row: dict[str, Any] = {"setting": label, "initial": initial, "record": record, "grid": grid.tolist(),
                           "suggested": lrs_by_method, "peak": peaks, "final": {}, "grid_final": {}}
    for shape, rates in (("constant", lrs_by_method), ("one-cycle", peaks)):
        row["grid_final"][shape] = [run.train(rate, shape) for rate in grid.tolist()]
        finals = {}
        for method, rate in rates.items():
            finals[method] = initial if rate is None else run.train(rate, shape)
        row["final"][shape] = finals
    row["divisors"] = divisor_finals(run, lrs_by_method)
    row["seconds"] = time.perf_counter() - began
    return row


# ---------------------------------------------------------------------------
# Tables


def ratios(row: dict[str, Any], shape: str) -> dict[str, float]:
    best = min(row["grid_final"][shape])
    return {method: final / best for method, final in row["final"][shape].items()}  # the noise keeps best > 0


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, float, float, float, float, float, int]]:
    """Per method: geometric mean and worst ratio, constant and one-cycle, the geometric mean over
    both, and the runs within WITHIN; best first."""
    methods = list(rows[0]["final"]["constant"])
    out = []
    for method in methods:
        const = [ratios(row, "constant")[method] for row in rows]
        cycle = [ratios(row, "one-cycle")[method] for row in rows]
        both = const + cycle
        within = sum(r <= WITHIN for r in both)
        out.append((method, _geomean(both), _geomean(const), max(const), _geomean(cycle), max(cycle), within))
    return sorted(out, key=lambda r: r[1])


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _name(method: str) -> str:
    return f"**{method}** (default)" if method == f"lrcore {DEFAULT_METHOD}" else method


def summary_table(rows: list[dict[str, Any]]) -> str:
    n = 2 * len(rows)
    lines = [
        "| method | all runs: geometric mean | constant lr: geometric mean | worst | one-cycle peak: geometric mean "
        f"| worst | runs within {WITHIN:g}× of the grid's best |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for method, g, gc, wc, go, wo, within in summary(rows):
        cells = " | ".join(f"{v:.2f}×" for v in (g, gc, wc, go, wo))
        lines.append(f"| {_name(method)} | {cells} | {within} of {n} |")
    return "\n".join(lines)


def default_misses(rows: list[dict[str, Any]]) -> str:
    """A sentence on the default's runs beyond WITHIN."""
    method = f"lrcore {DEFAULT_METHOD}"
    misses = [
        f"{row['setting']}, {shape} ({ratios(row, shape)[method]:.2f}×)"
        for row in rows
        for shape in ("constant", "one-cycle")
        if ratios(row, shape)[method] > WITHIN
    ]
    if not misses:
        worst = max(((ratios(row, shape)[method], row["setting"], shape) for row in rows
                     for shape in ("constant", "one-cycle")), key=lambda r: r[0])
        return (f"The default, `{DEFAULT_METHOD}`, is within {WITHIN:g}× of the grid's best in every run (the "
                f"worst: {worst[1]}, {worst[2]}, {worst[0]:.2f}×).")
    return (f"The default, `{DEFAULT_METHOD}`, is beyond {WITHIN:g}× of the grid's best in {len(misses)} of "
            f"{2 * len(rows)} runs: {'; '.join(misses)}.")


def detail_table(rows: list[dict[str, Any]]) -> str:
    methods = [m for m, *_ in summary(rows)]
    head = "| setting | grid best lr (constant / one-cycle) | " + " | ".join(methods) + " |"
    lines = [head, "|---|---|" + "---|" * len(methods)]
    for row in rows:
        bests = []
        for shape in ("constant", "one-cycle"):
            finals = row["grid_final"][shape]
            bests.append(f"{row['grid'][int(np.argmin(finals))]:.2g}")
        cells = []
        for method in methods:
            rate, peak = row["suggested"][method], row.get("peak", row["suggested"])[method]
            rc, ro = ratios(row, "constant")[method], ratios(row, "one-cycle")[method]
            shown = "none" if rate is None else f"{rate:.2g}"
            if rate is not None and peak is not None and peak != rate:
                shown += f" (peak {peak:.2g})"
            cells.append(f"{shown}: {rc:.2f}× / {ro:.2f}×")
        lines.append(f"| {row['setting']} | {' / '.join(bests)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def divisor_check(rows: list[dict[str, Any]]) -> str:
    """blend at each of DIVISORS over every setting, and the leave-one-setting-out check: the divisor
    chosen on the other settings (fewest runs beyond WITHIN, then the best geometric mean), scored
    on the setting left out.  Empty for a run without these measurements."""
    if not rows or not all(row.get("divisors") for row in rows):
        return ""
    keys = list(rows[0]["divisors"])
    per = {key: [[row["divisors"][key][shape] / min(row["grid_final"][shape]) for shape in ("constant", "one-cycle")]
                 for row in rows] for key in keys}

    def score(key: str, keep: list[int]) -> tuple[int, float]:
        runs = [r for i in keep for r in per[key][i]]
        return sum(r > WITHIN for r in runs), _geomean(runs)

    everyone = list(range(len(rows)))
    lines = ["| divisor | all runs: geometric mean | worst | runs within "
             f"{WITHIN:g}× of the grid's best |", "|---:|---:|---:|---:|"]
    for key in keys:
        runs = [r for pair in per[key] for r in pair]
        mark = " (blend's)" if float(key) == BLEND_DIVISOR else ""
        lines.append(f"| {key}{mark} | {_geomean(runs):.2f}× | {max(runs):.2f}× | "
                     f"{sum(r <= WITHIN for r in runs)} of {len(runs)} |")
    clear = [key for key in keys if score(key, everyone)[0] == 0]
    if len(clear) == 1:
        margin = (f"Only the divisor {clear[0]} keeps every run within {WITHIN:g}×; its neighbours miss "
                  f"{score(keys[max(keys.index(clear[0]) - 1, 0)], everyone)[0]} and "
                  f"{score(keys[min(keys.index(clear[0]) + 1, len(keys) - 1)], everyone)[0]} runs: the margin "
                  "is narrow. ")
    else:
        margin = f"{len(clear)} of these keep every run within {WITHIN:g}×. "
    chosen, held = [], []
    for out in everyone:
        keep = [i for i in everyone if i != out]
        key = min(keys, key=lambda k: score(k, keep))
        chosen.append(key)
        held += per[key][out]
    counts = ", ".join(f"{key} for {chosen.count(key)}" for key in keys if chosen.count(key))
    by_mean = [min(keys, key=lambda k: score(k, [i for i in everyone if i != out])[1]) for out in everyone]
    held_mean = [r for out, key in zip(everyone, by_mean, strict=True) for r in per[key][out]]
    counts_mean = ", ".join(f"{key} for {by_mean.count(key)}" for key in keys if by_mean.count(key))
    return (
        f"blend's one tuned constant is the divisor in sqrt(descent_lr × lr_at_minimum / divisor) "
        f"(the peak is {PEAK_PER_LR:g} × lr by its reason, not tuned). Measured at half-octave steps around it, "
        f"as a constant lr and with {PEAK_PER_LR:g} × that lr as the one-cycle peak:\n\n" + "\n".join(lines) + "\n\n"
        f"{margin}Leave one setting out: the divisor chosen on the other {len(rows) - 1} settings (fewest runs beyond "
        f"{WITHIN:g}×, then the best geometric mean) is {counts} of the {len(rows)} settings left out; scored on "
        f"the setting left out, the {2 * len(rows)} held-out runs have a geometric mean of {_geomean(held):.2f}×, "
        f"worst {max(held):.2f}×, {sum(r <= WITHIN for r in held)} of {len(held)} within {WITHIN:g}×. Chosen on "
        f"the geometric mean alone, the divisor is {counts_mean}; held out: {_geomean(held_mean):.2f}×, worst "
        f"{max(held_mean):.2f}×, {sum(r <= WITHIN for r in held_mean)} of {len(held_mean)} within {WITHIN:g}×."
    )


def versions() -> str:
    from importlib import metadata

    names = ("torch", "torch-lr-finder", "lightning", "scikit-learn")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def report(run: dict[str, Any]) -> tuple[str, str]:
    """(the results file's markdown, the guide's block) for a run's record."""
    rows = run["rows"]
    lo, hi, per = GRID
    seeds = run["seeds"]
    how = (
        f"{len(rows)} settings{' (smoke: a coarse grid)' if run['smoke'] else ''}; at each reading's lr the model "
        f"trains {BUDGET} optimizer steps from {seeds} fixed initialisation{'s' * (seeds > 1)} (the mean final "
        f"training loss counts), as a constant lr, and at its peak (lrcore's `Suggestion.peak`, {PEAK_PER_LR:g} × "
        f"its lr; a peer's one lr, as its users would) as the peak of `lr.one_cycle`; ratio = that loss / the best "
        f"over a log grid of lrs (10^{lo:g} to 10^{hi:g}, {per:g} per decade) with the same budget and schedule "
        f"shape: 1.00× trains as well as the grid's best lr, lower is better."
    )
    block = f"{how}\n\n{summary_table(rows)}\n\n{default_misses(rows)}"
    check = divisor_check(rows)
    check = f"{check}\n\n" if check else ""
    text = (
        f"# LR range test readings against a grid of lrs\n\nMeasured {run['date']} with `python bench/finder.py"
        f"{' --smoke' if run['smoke'] else ''}` in {run['seconds'] / 60:.1f} min ({run['jobs']} process"
        f"{'es' * (run['jobs'] > 1)}) on {run['machine']}, load average {run['load']:.1f} at the end; "
        f"{run['versions']}.\n\n{block}\n\n{check}"
        "Per setting: the suggested lr (and lrcore's peak), then the ratio as a constant lr / as a one-cycle "
        "peak.\n\n"
        f"{detail_table(rows)}\n"
    )
    return text, block


def rewrite_page(page: Path, block: str) -> None:
    """Put `block` between the page's finder markers (they must be there, once)."""
    from run import rewrite_between  # bench/run.py, beside this file

    rewrite_between(page, block, BEGIN, END)


def quiet() -> None:
    """Tiny models: one thread each; the peers' own chatter (Lightning's logs and warnings) off."""
    torch.set_num_threads(1)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="three settings and a coarse grid (for CI)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for finder.md / finder.json")
    parser.add_argument("--docs", action="store_true",
                        help=f"rewrite the finder table in {PAGE.relative_to(ROOT)} from this run")
    parser.add_argument("--jobs", type=int, default=1, help="settings measured at once, one process each (default 1)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="write the results file (and with --docs the table) again from a run's finder.json")
    args = parser.parse_args(argv)
    if args.docs and args.smoke:
        parser.error("--docs takes the full run's numbers, not --smoke's")
    if args.render is not None:
        run = json.loads(args.render.read_text(encoding="utf-8"))
        if args.docs and run["smoke"]:
            parser.error("--docs takes the full run's numbers, not --smoke's")
        return publish(run, args.render.with_suffix(".md"), args.docs)
    quiet()
    lo, hi, per = GRID
    grid = np.logspace(lo, hi, int((hi - lo) * (1 if args.smoke else per)) + 1)
    began = time.perf_counter()
    settings = SMOKE if args.smoke else SETTINGS
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "finder-smoke" if args.smoke else "finder"
    jobs = [(SETTINGS.index(setting), grid, 1 if args.smoke else SEEDS) for setting in settings]
    if args.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.jobs, initializer=quiet) as pool:
            rows = pool.starmap(_measure, jobs)
    else:
        rows = [_measure(*job) for job in jobs]
    run = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "seconds": time.perf_counter() - began,
        "jobs": args.jobs,
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "versions": versions(),
        "smoke": args.smoke,
        "seeds": 1 if args.smoke else SEEDS,
        "rows": rows,
    }
    (args.out / f"{stem}.json").write_text(json.dumps(run), encoding="utf-8")
    return publish(run, args.out / f"{stem}.md", args.docs)


def publish(run: dict[str, Any], path: Path, docs: bool) -> int:
    """Write a run's results file (and the guide's table), and print it."""
    text, block = report(run)
    print(text)
    path.write_text(text, encoding="utf-8")
    if docs:
        rewrite_page(PAGE, block)
        print(f"rewrote the finder table in {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
