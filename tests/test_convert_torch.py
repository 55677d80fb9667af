"""lr.from_torch against the real torch.optim.lr_scheduler, stepped on an SGD optimizer."""

from __future__ import annotations

import inspect
import random
from typing import Any

import numpy as np
import pytest
import torch
from peers import Expected, Tolerance, assert_round_trips, check, max_rel
from torch.optim import lr_scheduler as tls
from torch.optim import swa_utils

import lrcore as lr

RTOL = 1e-9
ATOL = 1e-12  # times the largest |lr| of the run, for values near 0
TOL = Tolerance(RTOL, ATOL)
SEED = 20240611
PER_NAME = 30

Config = tuple[str, float, dict[str, Any]]


def c(name: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """A child of SequentialLR / ChainedScheduler."""
    return name, kwargs


def seq(*children: tuple[str, dict[str, Any]], milestones: list[Any]) -> dict[str, Any]:
    return dict(schedulers=list(children), milestones=milestones)


def chain(*children: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(schedulers=list(children))


# ---------------------------------------------------------------------------
# torch's values


def _scheduler(optimizer: Any, name: str, kwargs: dict[str, Any]) -> Any:
    kwargs = dict(kwargs)
    if "schedulers" in kwargs:
        kwargs["schedulers"] = [_scheduler(optimizer, n, kw) for n, kw in kwargs["schedulers"]]
        if name == "ChainedScheduler":
            return tls.ChainedScheduler(**kwargs)
    if name == "SWALR":
        return swa_utils.SWALR(optimizer, **kwargs)
    return getattr(tls, name)(optimizer, **kwargs)


def torch_lrs(name: str, base: float, kwargs: dict[str, Any], n: int) -> np.ndarray:
    """param_groups[0]["lr"] after construction and 0, 1, ..., n-1 calls of step()."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)
    scheduler = _scheduler(optimizer, name, kwargs)
    optimizer.step()  # no gradient: only marks the optimizer as stepped, so torch does not warn about the order
    out = [optimizer.param_groups[0]["lr"]]
    for _ in range(n - 1):
        scheduler.step()
        out.append(optimizer.param_groups[0]["lr"])
    return np.array(out, dtype=np.float64)


def torch_fails(name: str, base: float, kwargs: dict[str, Any], n: int = 40) -> bool:
    try:
        torch_lrs(name, base, kwargs, n)
    except (ValueError, TypeError, ZeroDivisionError):
        return True
    return False


def _uses_linear_one_cycle(name: str, kwargs: dict[str, Any]) -> bool:
    children = kwargs.get("schedulers", [(name, kwargs)])
    return any(n == "OneCycleLR" and kw.get("anneal_strategy") == "linear" for n, kw in children)


# ---------------------------------------------------------------------------
# How far each scheduler runs: three times its natural length, or as far as torch allows.


def span(name: str, kw: dict[str, Any]) -> int:
    """The natural length of a scheduler: where it settles, one period, or a few decays."""
    if name in ("ConstantLR", "LinearLR", "PolynomialLR"):
        return kw.get("total_iters", 5)
    if name == "StepLR":
        return 4 * kw["step_size"]
    if name == "MultiStepLR":
        return int(max(kw["milestones"], default=0)) + 1
    if name == "ExponentialLR":
        return 30
    if name == "CosineAnnealingLR":
        return kw["T_max"]
    if name == "CosineAnnealingWarmRestarts":
        return kw["T_0"] * (1 + kw.get("T_mult", 1))
    if name == "CyclicLR":
        up = kw.get("step_size_up", 2000)
        down = kw.get("step_size_down")
        return int(np.ceil(up + (up if down is None else down)))
    if name == "OneCycleLR":
        return one_cycle_total(kw)
    if name == "SWALR":
        return max(kw.get("anneal_epochs", 10), 1)
    if name == "SequentialLR":
        children, ms = kw["schedulers"], kw["milestones"]
        return (ms[-1] if ms else 0) + span(*children[-1])
    return max(span(*child) for child in kw["schedulers"])


def one_cycle_total(kw: dict[str, Any]) -> int:
    return kw["total_steps"] if kw.get("total_steps") is not None else kw["epochs"] * kw["steps_per_epoch"]


def limit(name: str, kw: dict[str, Any]) -> float:
    """How many of torch's values to compare: OneCycleLR's t < total_steps.

    torch allows one more step, t = total_steps, where it extrapolates past the end (lrcore holds the value
    at total_steps - 1: see the tests below), and raises after it.
    """
    if name == "OneCycleLR":
        return one_cycle_total(kw)
    if name == "SequentialLR":
        children, ms = kw["schedulers"], kw["milestones"]
        return (ms[-1] if ms else 0) + limit(*children[-1])
    if name == "ChainedScheduler":
        return min(limit(*child) for child in kw["schedulers"])
    return np.inf


def steps(name: str, kw: dict[str, Any]) -> int:
    return int(min(3 * span(name, kw) + 3, limit(name, kw)))


def held(name: str, kw: dict[str, Any]) -> list[int]:
    """The steps where a SequentialLR runs a OneCycleLR child up to its total_steps: torch extrapolates
    there, lrcore holds the child's previous value."""
    if name != "SequentialLR":
        return []
    starts = [0, *kw["milestones"]]
    ends = [*kw["milestones"], np.inf]
    return [
        start + one_cycle_total(child)
        for (n, child), start, end in zip(kw["schedulers"], starts, ends, strict=True)
        if n == "OneCycleLR" and end - start == one_cycle_total(child) + 1
    ]


# ---------------------------------------------------------------------------
# Random configurations, one generator per name: (lr, kwargs)


def _lr(r: random.Random) -> float:
    return 10 ** r.uniform(-5, 0.5)


def _factor(r: random.Random) -> float:
    return r.choice([r.uniform(0.01, 1.0), r.uniform(0.01, 1.0), 1.0])


def g_constant(r: random.Random) -> dict[str, Any]:
    return dict(factor=_factor(r), total_iters=r.randint(1, 25))


def g_linear(r: random.Random) -> dict[str, Any]:
    end = r.choice([r.uniform(0.0, 1.0), r.uniform(0.0, 1.0), 0.0, 1.0])
    return dict(start_factor=_factor(r), end_factor=end, total_iters=r.randint(1, 30))


def g_step(r: random.Random) -> dict[str, Any]:
    gamma = r.choice([r.uniform(0.0, 1.0), r.uniform(0.0, 1.0), r.uniform(1.0, 1.3), 0.0, 1.0])
    return dict(step_size=r.randint(1, 10), gamma=gamma)


def g_multistep(r: random.Random) -> dict[str, Any]:
    milestones = [r.randint(0, 30) for _ in range(r.randint(0, 6))]  # unsorted, with repeats
    return dict(milestones=milestones, gamma=r.choice([r.uniform(0.0, 1.0), r.uniform(1.0, 1.5), 0.0]))


def g_exponential(r: random.Random) -> dict[str, Any]:
    return dict(gamma=r.choice([r.uniform(0.5, 1.0), r.uniform(0.5, 1.0), r.uniform(1.0, 1.05), 0.0, 1.0]))


def g_polynomial(r: random.Random) -> dict[str, Any]:
    return dict(total_iters=r.randint(1, 30), power=r.choice([r.uniform(0.1, 4.0), r.uniform(0.1, 4.0), 0.0, 1.0]))


def g_cosine(r: random.Random, base: float = 1.0) -> dict[str, Any]:
    return dict(T_max=r.randint(1, 50), eta_min=r.choice([0.0, r.uniform(0.0, 1.5 * base)]))


def g_restarts(r: random.Random, base: float = 1.0) -> dict[str, Any]:
    return dict(T_0=r.randint(1, 12), T_mult=r.randint(1, 3), eta_min=r.choice([0.0, r.uniform(0.0, base)]))


def g_cyclic(r: random.Random) -> dict[str, Any]:
    size = [r.randint(1, 10), r.uniform(0.5, 10.0)]
    return dict(
        base_lr=r.uniform(0.0, 0.5),
        max_lr=r.uniform(0.0, 1.0),
        step_size_up=r.choice(size),
        step_size_down=r.choice([None, *size]),
        mode=r.choice(["triangular", "triangular2", "exp_range"]),
        gamma=r.uniform(0.8, 1.0),
        scale_mode=r.choice(["cycle", "iterations"]),
        cycle_momentum=r.choice([True, False]),
        base_momentum=r.uniform(0.7, 0.8),
        max_momentum=r.uniform(0.8, 0.95),
    )


def g_one_cycle(r: random.Random) -> dict[str, Any]:
    three = r.random() < 0.4
    total = r.randint(1, 80)
    kw: dict[str, Any] = dict(
        max_lr=r.uniform(0.01, 2.0),
        pct_start=r.uniform(0.0, 0.499 if three else 0.95),
        anneal_strategy=r.choice(["cos", "linear"]),
        div_factor=r.uniform(1.0, 50.0),
        final_div_factor=r.choice([r.uniform(1.0, 1e4), 1e4]),
        three_phase=three,
        cycle_momentum=r.choice([True, False]),
    )
    if r.random() < 0.3:
        kw.update(epochs=r.randint(1, 8), steps_per_epoch=r.randint(1, 10))
    else:
        kw.update(total_steps=total)
    return kw


SIMPLE = {
    "ConstantLR": g_constant,
    "LinearLR": g_linear,
    "StepLR": g_step,
    "MultiStepLR": g_multistep,
    "ExponentialLR": g_exponential,
    "PolynomialLR": g_polynomial,
    "CosineAnnealingLR": g_cosine,
    "CosineAnnealingWarmRestarts": g_restarts,
    "CyclicLR": g_cyclic,
    "OneCycleLR": g_one_cycle,
}
MULTIPLICATIVE = ["ConstantLR", "LinearLR", "StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR"]
OVERWRITING = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


def g_sequential(r: random.Random) -> dict[str, Any]:
    names = r.sample(list(SIMPLE), r.randint(2, 3))
    children = [(n, SIMPLE[n](r)) for n in names]
    milestones, at = [], 0
    for name, kw in children[:-1]:
        gap = r.choice([0, r.randint(1, 15), r.randint(1, 15), r.randint(1, 15)])
        if name == "OneCycleLR":  # torch raises past total_steps
            gap = min(gap, one_cycle_total(kw) + 1)
        at += gap
        milestones.append(at)
    return dict(schedulers=children, milestones=milestones)


def g_chained(r: random.Random) -> dict[str, Any]:
    flavour = r.randint(0, 2)
    if flavour == 0:  # multiplicative children: a product
        names = [r.choice(MULTIPLICATIVE) for _ in range(r.randint(2, 3))]
        return dict(schedulers=[(n, SIMPLE[n](r)) for n in names])
    if flavour == 1:  # a cosine with eta_min=0 and children that settle by its T_max
        t_max = r.randint(10, 40)
        children = [
            c("CosineAnnealingLR", T_max=t_max),
            c("ConstantLR", factor=_factor(r), total_iters=r.randint(1, t_max)),
            c("LinearLR", start_factor=_factor(r), end_factor=r.uniform(0, 1), total_iters=r.randint(1, t_max)),
            c("PolynomialLR", total_iters=r.randint(1, t_max), power=r.uniform(0.5, 2)),
            c("MultiStepLR", milestones=[r.randint(0, t_max) for _ in range(3)], gamma=r.uniform(0, 1)),
        ]
        chosen = [children[0], *r.sample(children[1:], r.randint(1, 2))]
        r.shuffle(chosen)
        return dict(schedulers=chosen)
    # anything, then an overwriting scheduler last: only that one counts
    names = [r.choice([*MULTIPLICATIVE, *OVERWRITING]), r.choice(OVERWRITING)]
    return dict(schedulers=[(n, SIMPLE[n](r)) for n in names])


def g_swalr(r: random.Random) -> dict[str, Any]:
    kw: dict[str, Any] = dict(swa_lr=r.choice([0.0, 10 ** r.uniform(-5, 0.5)]), anneal_epochs=r.randint(0, 300))
    if r.random() < 0.8:
        kw["anneal_strategy"] = r.choice(["cos", "linear"])
    return kw


# SWALR last: the generators before it draw the same configurations as before it was added.
GENERATORS = {**SIMPLE, "SequentialLR": g_sequential, "ChainedScheduler": g_chained, "SWALR": g_swalr}


def random_configs() -> list[Config]:
    r = random.Random(SEED)
    return [(name, _lr(r), gen(r)) for name, gen in GENERATORS.items() for _ in range(PER_NAME)]


# ---------------------------------------------------------------------------
# Hand-picked edges: small totals, zero-length phases, t far past the end, torch's quirks.

EDGES: list[Config] = [
    ("ConstantLR", 0.1, dict(factor=1.0, total_iters=1)),
    ("ConstantLR", 0.1, dict(factor=0.5, total_iters=1)),
    ("ConstantLR", 0.0, dict()),
    ("LinearLR", 0.1, dict(start_factor=1.0, end_factor=0.0, total_iters=1)),
    ("LinearLR", 0.1, dict(start_factor=0.001, end_factor=0.0, total_iters=200)),
    ("LinearLR", 0.1, dict(start_factor=1.0, end_factor=1.0, total_iters=3)),
    ("LinearLR", 0.1, dict(total_iters=5.0)),
    ("StepLR", 0.1, dict(step_size=1, gamma=0.0)),
    ("StepLR", 0.1, dict(step_size=1, gamma=1.1)),
    ("StepLR", 0.1, dict(step_size=30.0)),
    ("MultiStepLR", 0.1, dict(milestones=[])),
    ("MultiStepLR", 0.1, dict(milestones=[0])),
    ("MultiStepLR", 0.1, dict(milestones=[7, 3, 3, 1, 0, 0], gamma=0.5)),
    ("MultiStepLR", 0.1, dict(milestones=(4, 4, 4), gamma=0.0)),
    ("ExponentialLR", 0.1, dict(gamma=0.0)),
    ("ExponentialLR", 0.1, dict(gamma=1.0)),
    ("ExponentialLR", 0.1, dict(gamma=0.999)),
    ("PolynomialLR", 0.1, dict(total_iters=1)),
    ("PolynomialLR", 0.1, dict(total_iters=10, power=0.0)),
    ("PolynomialLR", 0.1, dict(total_iters=10, power=0.5)),
    ("PolynomialLR", 0.1, dict(total_iters=7, power=9.0)),
    ("CosineAnnealingLR", 0.1, dict(T_max=1)),
    ("CosineAnnealingLR", 0.1, dict(T_max=2, eta_min=0.05)),
    ("CosineAnnealingLR", 0.1, dict(T_max=7, eta_min=0.3)),
    ("CosineAnnealingLR", 0.1, dict(T_max=5, eta_min=0.1)),
    ("CosineAnnealingLR", 0.0, dict(T_max=5)),
    ("CosineAnnealingLR", 0.1, dict(T_max=1000, eta_min=1e-4)),
    ("CosineAnnealingLR", 0.1, dict(T_max=3000)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=1)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=1, T_mult=2)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=3, T_mult=3, eta_min=0.01)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=50, T_mult=2, eta_min=0.2)),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, step_size_up=1)),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, step_size_up=2.5, step_size_down=0.5)),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, step_size_up=4, step_size_down=0)),
    ("CyclicLR", 0.1, dict(base_lr=1.0, max_lr=0.1, step_size_up=3, mode="triangular2")),
    ("CyclicLR", 0.1, dict(base_lr=0.0, max_lr=1.0, step_size_up=2, step_size_down=7, mode="exp_range", gamma=0.9)),
    ("CyclicLR", 0.1, dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=1.01)),
    ("CyclicLR", 0.1, dict(base_lr=0.01, max_lr=0.1, step_size_up=20, mode="triangular", gamma=0.0)),
    ("CyclicLR", 0.1, dict(base_lr=0.01, max_lr=0.1)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=1)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=2)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=3)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=3, anneal_strategy="linear")),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0.0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0.99)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=4, pct_start=0.2, three_phase=True)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0.45, three_phase=True)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=100, anneal_strategy="linear")),
    (
        "OneCycleLR",
        0.1,
        dict(max_lr=1.0, total_steps=100, anneal_strategy="linear", div_factor=2.0, final_div_factor=1.0),
    ),
    ("OneCycleLR", 0.1, dict(max_lr=0.5, epochs=7, steps_per_epoch=13, pct_start=0.25, three_phase=True)),
    ("OneCycleLR", 0.1, dict(max_lr=0.5, total_steps=2000)),
    # SWALR: torch steps its constructor as step 1 when anneal_epochs=0, so swa_lr is there from t = 0
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_epochs=0)),
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_epochs=1, anneal_strategy="linear")),
    ("SWALR", 0.1, dict(swa_lr=0.5, anneal_epochs=7)),
    ("SWALR", 0.1, dict(swa_lr=0.0, anneal_epochs=20, anneal_strategy="cos")),
    ("SWALR", 0.1, dict(swa_lr=0.1, anneal_epochs=5)),
    ("SWALR", 0.0, dict(swa_lr=0.02, anneal_epochs=4)),
    # SequentialLR: the usual warmup, empty intervals, and children that inherit another's initial_lr
    (
        "SequentialLR",
        0.1,
        seq(c("LinearLR", start_factor=0.01, total_iters=10), c("CosineAnnealingLR", T_max=30), milestones=[10]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(c("ConstantLR", factor=0.5, total_iters=3), c("ExponentialLR", gamma=0.9), milestones=[5]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(c("StepLR", step_size=2), c("ExponentialLR", gamma=0.9), c("ConstantLR"), milestones=[0, 5]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(c("StepLR", step_size=2), c("ExponentialLR", gamma=0.9), c("ConstantLR"), milestones=[3, 3]),
    ),
    ("SequentialLR", 0.1, seq(c("ExponentialLR", gamma=0.9), c("MultiStepLR", milestones=[0, 0, 4]), milestones=[4])),
    ("SequentialLR", 0.1, seq(c("CosineAnnealingLR", T_max=5), milestones=[])),
    (
        "SequentialLR",
        0.1,
        seq(c("CyclicLR", base_lr=0.01, max_lr=0.2, step_size_up=3), c("StepLR", step_size=2), milestones=[9]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(
            c("LinearLR", start_factor=0.1, total_iters=5), c("OneCycleLR", max_lr=1.0, total_steps=20), milestones=[5]
        ),
    ),
    (
        "SequentialLR",
        0.1,
        seq(c("CosineAnnealingLR", T_max=3, eta_min=0.01), c("OneCycleLR", max_lr=1.0, total_steps=9), milestones=[10]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(c("OneCycleLR", max_lr=1.0, total_steps=9), c("CosineAnnealingWarmRestarts", T_0=4), milestones=[10]),
    ),
    (
        "SequentialLR",
        0.1,
        seq(
            c("OneCycleLR", max_lr=1.0, total_steps=5),
            c("OneCycleLR", max_lr=1.0, total_steps=8, three_phase=True, pct_start=0.4),
            milestones=[6],
        ),
    ),
    # ChainedScheduler: torch's own example, products, the cosine's return past T_max, overwriting children
    ("ChainedScheduler", 1.0, chain(c("ConstantLR", factor=0.1, total_iters=2), c("ExponentialLR", gamma=0.9))),
    ("ChainedScheduler", 0.1, chain(c("LinearLR", start_factor=0.1, total_iters=4), c("CosineAnnealingLR", T_max=10))),
    (
        "ChainedScheduler",
        0.1,
        chain(c("CosineAnnealingLR", T_max=6), c("LinearLR", start_factor=0.2, end_factor=0.5, total_iters=6)),
    ),
    ("ChainedScheduler", 0.1, chain(c("PolynomialLR", total_iters=4, power=2.0), c("CosineAnnealingLR", T_max=8))),
    ("ChainedScheduler", 0.1, chain(c("CosineAnnealingLR", T_max=5, eta_min=0.02))),
    ("ChainedScheduler", 0.1, chain(c("StepLR", step_size=2), c("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3))),
    (
        "ChainedScheduler",
        0.1,
        chain(c("OneCycleLR", max_lr=1.0, total_steps=30), c("CosineAnnealingWarmRestarts", T_0=4)),
    ),
    (
        "ChainedScheduler",
        0.1,
        chain(c("CyclicLR", base_lr=0.3, max_lr=0.5, step_size_up=2), c("CosineAnnealingWarmRestarts", T_0=3)),
    ),
]


def _id(config: Config) -> str:
    return config[0]


RANDOM = random_configs()


# ---------------------------------------------------------------------------
# Equality with torch


def compare(config: Config) -> dict[str, float]:
    """Check s(t), s(ndarray) and s.array(n) against torch for t = 0 ... n-1, and the round trips;
    return the largest relative differences."""
    name, base, kwargs = config
    n = steps(name, kwargs)
    expected = torch_lrs(name, base, kwargs, n)
    scale = float(np.max(np.abs(expected)))
    # torch's recursions leave rounding noise such as -5e-22 where the lr reaches 0 (LinearLR to end_factor=0);
    # a real negative lr comes only from linear OneCycleLR at total_steps, where lrcore holds (see held()).
    assert not (expected < -ATOL * scale).any() or _uses_linear_one_cycle(name, kwargs)
    expected = np.where(expected < -ATOL * scale, 0.0, expected)
    for t in held(name, kwargs):
        expected[t] = expected[t - 1]
    s = lr.from_torch(name, base, **kwargs)
    worst = check(s, f"{name}(lr={base}, {kwargs}) = {s!r}", Expected(expected, TOL, scale=scale), peer="torch")
    assert_round_trips(s, n)
    return worst


@pytest.mark.parametrize("config", RANDOM, ids=_id)
def test_random_configuration_matches_torch(config: Config) -> None:
    compare(config)


@pytest.mark.parametrize("config", EDGES, ids=_id)
def test_edge_case_matches_torch(config: Config) -> None:
    compare(config)


def test_every_name_is_covered() -> None:
    names = {name for name, _, _ in RANDOM} | {name for name, _, _ in EDGES}
    rejected = {"LambdaLR", "MultiplicativeLR", "ReduceLROnPlateau", "LRScheduler"}
    assert names == (set(tls.__all__) - rejected) | {"SWALR"}


# ---------------------------------------------------------------------------
# Past the point where torch stops


def test_constant_lr_factor_zero_returns_lr_where_torch_divides_by_zero() -> None:
    kw = dict(factor=0.0, total_iters=4)
    assert torch_lrs("ConstantLR", 0.1, kw, 4).tolist() == [0.0] * 4
    with pytest.raises(ZeroDivisionError):
        torch_lrs("ConstantLR", 0.1, kw, 5)
    s = lr.from_torch("ConstantLR", 0.1, **kw)
    assert [s(t) for t in range(3, 7)] == [0.0, 0.1, 0.1, 0.1]


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("total", [1, 2, 10, 1000])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_holds_its_minimum_from_its_last_step_on(anneal: str, total: int, three_phase: bool) -> None:
    kw = dict(max_lr=0.1, total_steps=total, anneal_strategy=anneal, three_phase=three_phase)
    if three_phase and total < 4:
        kw["pct_start"] = 0.45
    values = torch_lrs("OneCycleLR", 0.1, kw, total + 1)
    with pytest.raises(ValueError, match="Tried to step"):
        torch_lrs("OneCycleLR", 0.1, kw, total + 2)
    s = lr.from_torch("OneCycleLR", 0.1, **kw)
    low = 0.1 / 25 / 1e4
    T = total
    assert values[T - 1] == pytest.approx(low, rel=RTOL) and s(T - 1) == pytest.approx(low, rel=RTOL)
    # At t = T torch extrapolates the last phase (no update of a T-step run uses it); lrcore holds.
    assert values[T] != pytest.approx(low, rel=1e-3)
    assert s(T - 1) == s(T) == s(T + 0.5) == s(10**6) and s.horizon <= T - 1
    assert s.array(3, start=T - 1).tolist() == [s(T - 1)] * 3


def test_one_cycle_past_its_end_the_issue_example() -> None:
    s = lr.from_torch("OneCycleLR", 0.1, max_lr=0.1, total_steps=10)
    assert s(9) == s(10) == s(10**6) == pytest.approx(4e-7, rel=RTOL)


def test_cosine_annealing_keeps_its_wave_far_past_t_max() -> None:
    kw = dict(T_max=7, eta_min=0.01)
    expected = torch_lrs("CosineAnnealingLR", 0.1, kw, 700)
    s = lr.from_torch("CosineAnnealingLR", 0.1, **kw)
    max_rel(s.array(700), expected, TOL, f"CosineAnnealingLR(lr=0.1, {kw}) array", peer="torch", scale=0.1)
    assert s.horizon is None


# ---------------------------------------------------------------------------
# Bad arguments

TORCH_REJECTS: list[Config] = [
    ("ConstantLR", 0.1, dict(factor=1.5)),
    ("ConstantLR", 0.1, dict(factor=-0.1)),
    ("LinearLR", 0.1, dict(start_factor=0.0)),
    ("LinearLR", 0.1, dict(start_factor=1.5)),
    ("LinearLR", 0.1, dict(end_factor=1.5)),
    ("LinearLR", 0.1, dict(end_factor=-0.5)),
    ("StepLR", 0.1, dict(step_size=0)),
    ("CosineAnnealingLR", 0.1, dict(T_max=0)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=0)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=2.5)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=3, T_mult=0)),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=3, T_mult=1.5)),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, mode="sine")),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, step_size_up=0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=2.5)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, epochs=0, steps_per_epoch=5)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=1.5)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0.1)),  # phase of length 0
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, anneal_strategy="exp")),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, div_factor=0.0)),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, final_div_factor=0.0)),
    ("SequentialLR", 0.1, seq(c("StepLR", step_size=2), c("ExponentialLR", gamma=0.9), milestones=[])),
    ("SequentialLR", 0.1, seq(milestones=[])),
    ("ChainedScheduler", 0.1, chain()),
    ("StepLR", -0.1, dict(step_size=2)),
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_epochs=-1)),
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_epochs=2.0)),
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_strategy="exp")),
    ("SWALR", 0.1, dict(anneal_epochs=3)),
]

# Accepted by torch but crashing later, contradicting its own closed form, or not a schedule: rejected here.
LRCORE_REJECTS: list[tuple[str, float, dict[str, Any], str]] = [
    ("ConstantLR", 0.1, dict(total_iters=0), "total_iters"),
    ("LinearLR", 0.1, dict(total_iters=0), "total_iters"),
    ("PolynomialLR", 0.1, dict(total_iters=0), "total_iters"),
    ("PolynomialLR", 0.1, dict(power=-1.0), "power"),
    ("StepLR", 0.1, dict(step_size=2.5), "step_size"),
    ("StepLR", 0.1, dict(step_size=2, gamma=-0.5), "gamma"),
    ("MultiStepLR", 0.1, dict(milestones=[2.5]), "milestones"),
    ("MultiStepLR", 0.1, dict(milestones=[-1, 3]), "milestones"),
    ("ExponentialLR", 0.1, dict(gamma=-0.5), "gamma"),
    ("CosineAnnealingLR", 0.1, dict(T_max=2.5), "T_max"),
    ("CosineAnnealingLR", 0.1, dict(T_max=10, eta_min=-0.01), "eta_min"),
    ("CosineAnnealingWarmRestarts", 0.1, dict(T_0=10, eta_min=-0.01), "eta_min"),
    ("CyclicLR", 0.1, dict(base_lr=0.1, max_lr=1.0, mode="exp_range", gamma=0.0), "gamma"),
    ("CyclicLR", 0.1, dict(base_lr=-0.1, max_lr=1.0), "base_lr"),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=1.0), "pct_start"),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, pct_start=0.6, three_phase=True), "pct_start"),
    ("OneCycleLR", 0.1, dict(max_lr=1.0, total_steps=10, div_factor=-2.0), "div_factor"),
    (
        "SequentialLR",
        0.1,
        seq(c("StepLR", step_size=2), c("ConstantLR"), c("ExponentialLR", gamma=0.9), milestones=[5, 3]),
        "milestones",
    ),
    ("SequentialLR", 0.1, seq(c("StepLR", step_size=2), c("ExponentialLR", gamma=0.9), milestones=[-2]), "milestones"),
    ("SequentialLR", 0.1, seq(c("StepLR", step_size=2), c("ExponentialLR", gamma=0.9), milestones=[2.5]), "milestones"),
    (
        "SequentialLR",
        0.1,
        seq(c("OneCycleLR", max_lr=1.0, total_steps=9), c("OneCycleLR", max_lr=2.0, total_steps=9), milestones=[5]),
        "OneCycleLR",
    ),
    (
        "ChainedScheduler",
        0.1,
        chain(c("CyclicLR", base_lr=0.01, max_lr=0.1), c("ExponentialLR", gamma=0.9)),
        "overwrites",
    ),
    ("ChainedScheduler", 0.1, chain(c("CosineAnnealingLR", T_max=9, eta_min=0.01), c("LinearLR")), "eta_min"),
    ("ChainedScheduler", 0.1, chain(c("CosineAnnealingLR", T_max=9), c("ExponentialLR", gamma=0.9)), "settle"),
    ("ChainedScheduler", 0.1, chain(c("CosineAnnealingLR", T_max=9), c("LinearLR", total_iters=10)), "settle"),
    ("SWALR", 0.1, dict(swa_lr=-0.05), "swa_lr"),
    ("SWALR", 0.1, dict(swa_lr=0.05, anneal_epochs=True), "anneal_epochs"),
]


@pytest.mark.parametrize("config", TORCH_REJECTS, ids=_id)
def test_arguments_torch_rejects_are_rejected(config: Config) -> None:
    name, base, kwargs = config
    assert torch_fails(name, base, kwargs)
    with pytest.raises((ValueError, TypeError), match="from_torch"):
        lr.from_torch(name, base, **kwargs)


@pytest.mark.parametrize("case", LRCORE_REJECTS, ids=lambda case: f"{case[0]}-{case[3]}")
def test_arguments_torch_lets_through_are_rejected_with_a_reason(case: tuple[str, float, dict[str, Any], str]) -> None:
    name, base, kwargs, fragment = case
    torch_lrs(name, base, kwargs, 1)  # torch builds it
    with pytest.raises((ValueError, TypeError), match=fragment) as info:
        lr.from_torch(name, base, **kwargs)
    assert str(info.value).startswith(f"from_torch({name}")


@pytest.mark.parametrize(
    ("name", "kwargs", "replacement"),
    [
        ("LambdaLR", dict(lr_lambda=lambda t: 0.9**t), "lr.custom"),
        ("MultiplicativeLR", dict(lr_lambda=lambda t: 0.9), "lr.custom"),
        ("ReduceLROnPlateau", dict(patience=3), "lr.Plateau"),
        ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, scale_fn=lambda x: 0.5**x), "lr.custom"),
        (
            "SequentialLR",
            seq(c("StepLR", step_size=2), c("ReduceLROnPlateau"), milestones=[3]),
            "lr.Plateau",
        ),
        ("ChainedScheduler", chain(c("LambdaLR", lr_lambda=abs)), "lr.custom"),
    ],
)
def test_names_without_a_pure_form_point_to_the_replacement(name: str, kwargs: dict, replacement: str) -> None:
    with pytest.raises(ValueError, match=replacement):
        lr.from_torch(name, 0.1, **kwargs)


def test_unknown_names_and_arguments() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'CosineLR'; known: .*StepLR"):
        lr.from_torch("CosineLR", 0.1)
    with pytest.raises(TypeError, match="`name` must be a string naming a scheduler"):
        lr.from_torch(tls.StepLR, 0.1, step_size=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"from_torch\(StepLR\): unexpected argument\(s\) optimizer, foo"):
        lr.from_torch("StepLR", 0.1, step_size=3, optimizer=None, foo=1)
    with pytest.raises(TypeError, match=r"missing required argument\(s\) step_size"):
        lr.from_torch("StepLR", 0.1)
    with pytest.raises(ValueError, match="last_epoch"):
        lr.from_torch("StepLR", 0.1, step_size=3, last_epoch=4)
    assert lr.from_torch("StepLR", 0.1, step_size=3, last_epoch=-1) == lr.from_torch("StepLR", 0.1, step_size=3)
    with pytest.raises(TypeError, match="element 1 is .ConstantLR."):
        lr.from_torch("SequentialLR", 0.1, schedulers=[c("StepLR", step_size=2), "ConstantLR"], milestones=[3])
    with pytest.raises(ValueError, match=r"schedulers\[0\]: StepLR\): `step_size`"):
        lr.from_torch("ChainedScheduler", 0.1, schedulers=[c("StepLR", step_size=0)])
    with pytest.raises(ValueError, match="cannot nest"):
        lr.from_torch("ChainedScheduler", 0.1, schedulers=[("ChainedScheduler", chain(c("ConstantLR")))])


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_torch_arguments_and_defaults_are_accepted(name: str) -> None:
    """Every argument of torch's signature is accepted, and passing its default changes nothing."""
    kwargs = next(config for config in EDGES + RANDOM if config[0] == name)[2]
    reference = lr.from_torch(name, 0.1, **kwargs)
    for p in inspect.signature(getattr(tls, name)).parameters.values():
        if p.name in ("optimizer", "last_epoch"):
            continue
        if p.default is inspect.Parameter.empty:
            assert p.name in kwargs
        elif p.name not in kwargs:
            assert lr.from_torch(name, 0.1, **kwargs, **{p.name: p.default}) == reference, p.name


# ---------------------------------------------------------------------------
# SWALR: its recursion, inside composites, and Scheduler.from_torch


def test_swalr_is_refused_inside_sequential_and_chained() -> None:
    for name, kwargs in (("SequentialLR", seq(c("StepLR", step_size=2), c("SWALR", swa_lr=0.01), milestones=[5])),
                         ("ChainedScheduler", chain(c("SWALR", swa_lr=0.01)))):
        with pytest.raises(ValueError, match=r"`schedulers` holds SWALR .*lr\.join"):
            lr.from_torch(name, 0.1, **kwargs)


def test_swalr_closed_form_against_its_recursion_far_past_the_annealing() -> None:
    """torch recovers the starting lr from the current one at every step; over 2000 steps after a 500-step
    cosine annealing its value stays within rounding of the closed form, and settles at swa_lr exactly."""
    kwargs = dict(swa_lr=0.003, anneal_epochs=500)
    got = torch_lrs("SWALR", 0.2, kwargs, 2500)
    s = lr.from_torch("SWALR", 0.2, **kwargs)
    np.testing.assert_allclose(s.array(2500), got, rtol=1e-12, atol=0.0)
    assert (got[501:] == 0.003).all() and s(1e9) == 0.003


def _swalr_twins(steps_before: int) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Two SGD optimizers with two param groups whose lrs a StepLR lowered for `steps_before` steps."""
    out = []
    for _ in range(2):
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3},
                  {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.02}]
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
        before = tls.StepLR(opt, step_size=2, gamma=0.5)
        for _ in range(steps_before):
            opt.step()
            before.step()
        out.append(opt)
    return out[0], out[1]


@pytest.mark.parametrize("steps_before", [0, 5])
@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.01, anneal_epochs=6),
                                    dict(swa_lr=[0.05, 0.001], anneal_epochs=9, anneal_strategy="linear"),
                                    dict(swa_lr=[0.05, 0.5], anneal_epochs=0)])
def test_scheduler_from_torch_drops_in_for_swalr(steps_before: int, kwargs: dict[str, Any]) -> None:
    """Every group anneals from its current lr (which the StepLR before it lowered, so not its initial_lr)
    to its own swa_lr, and the momentum is left alone, as torch's SWALR does."""
    from lrcore.adapters.torch import Scheduler

    theirs, mine = _swalr_twins(steps_before)
    swa = swa_utils.SWALR(theirs, **kwargs)
    sched = Scheduler.from_torch(mine, "SWALR", **kwargs)
    assert sched.momentum is None
    for t in range(25):
        for a, b in zip(theirs.param_groups, mine.param_groups, strict=True):
            assert b["lr"] == pytest.approx(a["lr"], rel=1e-12), (t, a["lr"], b["lr"])
            assert b["momentum"] == a["momentum"] == 0.9
        theirs.step()
        mine.step()
        swa.step()
        sched.step()


def test_scheduler_from_torch_swalr_per_group_list_must_match_the_groups() -> None:
    from lrcore.adapters.torch import Scheduler

    _, mine = _swalr_twins(0)
    with pytest.raises(ValueError, match="`swa_lr` must be one value or a list of 2"):
        Scheduler.from_torch(mine, "SWALR", swa_lr=[0.1, 0.2, 0.3])
