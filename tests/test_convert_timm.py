"""from_timm against timm's schedulers, stepped per update on a torch SGD optimizer."""

from __future__ import annotations

import inspect
import math
import random
import types
import zlib
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from peers import Expected, Tolerance, assert_round_trips, check

import lrcore as lr
from lrcore.convert._timm import BUILDERS

TOL = Tolerance(rtol=1e-9, atol=1e-12)  # atol times lr: the floor for values that are (almost) 0
DRAWS = 30
CYCLIC = ("CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler")


def make_peer(timm_scheduler: types.ModuleType, name: str, base: float, kwargs: dict[str, Any]) -> Any:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    return getattr(timm_scheduler, name)(opt, t_in_epochs=False, **kwargs)


def peer_values(timm_scheduler: types.ModuleType, name: str, base: float, kwargs: dict[str, Any], n: int):
    """The optimizer's lr after ``step_update(num_updates=t)`` for t = 0 .. n - 1."""
    sched = make_peer(timm_scheduler, name, base, kwargs)
    out = np.empty(n)
    for t in range(n):
        sched.step_update(num_updates=t)
        out[t] = sched.optimizer.param_groups[0]["lr"]
    return out


def span(name: str, kwargs: dict[str, Any]) -> int:
    """Steps to compare: three times the end of the schedule (warmup, every cycle, the last milestone)."""
    warmup = kwargs.get("warmup_t", 0)
    if name in CYCLIC:
        t0, mul = kwargs["t_initial"], kwargs.get("cycle_mul", 1.0)
        end = i = 0
        while i < max(1, kwargs.get("cycle_limit", 1)) and end < 20_000:
            end, i = end + t0 * mul**i, i + 1
    elif name == "WSDLRScheduler":
        end = kwargs["t_initial"]
    elif name == "StepLRScheduler":
        end = 10 * kwargs["decay_t"]
    else:
        end = max(kwargs["decay_t"], default=1)
    return int(min(3 * (end + warmup), 20_000)) + 5  # the cap is for the edge cases with thousands of cycles


def cycle_slips(name: str, kwargs: dict[str, Any], n: int) -> set[int]:
    """Steps where timm's float cycle index ``floor(log(1 + t / t_initial * (m - 1), m))`` misses the exact
    one (log(1000, 10) is 2.9999999999999996): there timm ends a cycle where it should restart.  lrcore
    restarts; these steps are checked apart."""
    mul = kwargs.get("cycle_mul", 1.0)
    if name not in CYCLIC or mul == 1.0:
        return set()
    t0, w = kwargs["t_initial"], kwargs.get("warmup_t", 0)
    prefix = kwargs.get("warmup_prefix", False)
    slips = set()

    def start(i: int) -> Fraction:
        return Fraction(t0) * (Fraction(mul) ** i - 1) / (Fraction(mul) - 1)

    for t in range(math.ceil(w), n):
        tt = t - w if prefix else t
        rough = math.floor(math.log(1 - tt / t0 * (1 - mul), mul))
        if not start(rough) <= tt < start(rough + 1):
            slips.add(t)
    return slips


def compare(timm_scheduler: types.ModuleType, name: str, base: float, kwargs: dict[str, Any]) -> dict[str, float]:
    """Assert s(t), s(ndarray) and s.array(n) match timm at every update (but at its cycle slips);
    return the largest relative differences."""
    n = span(name, kwargs)
    ref = peer_values(timm_scheduler, name, base, kwargs, n)
    s = lr.from_timm(name, base, **kwargs)
    slips = np.isin(np.arange(n), list(cycle_slips(name, kwargs, n)))
    return check(s, f"{name} lr={base} {kwargs}", Expected(ref, TOL, scale=base, skip=slips), peer="timm")


# ---------------------------------------------------------------------------
# Parameter sets: random ones with a fixed seed per name, then hand-picked edge cases.


def draw(name: str, rng: random.Random) -> tuple[float, dict[str, Any]]:
    base = 10 ** rng.uniform(-5, 0)
    kwargs: dict[str, Any] = {
        "warmup_t": rng.choice([0, 1, rng.randint(1, 30)]),
        "warmup_lr_init": rng.choice([0.0, base * rng.uniform(0, 1.2)]),
    }
    if name in CYCLIC:
        kwargs["t_initial"] = rng.choice([rng.randint(1, 5), rng.randint(1, 60)])
        kwargs["lr_min"] = rng.choice([0.0, base * rng.uniform(0, 0.5)])
        kwargs["cycle_mul"] = rng.choice([1.0, 1.0, 2.0, rng.uniform(1, 3)])
        kwargs["cycle_decay"] = rng.choice([1.0, rng.uniform(0, 1.2)])
        kwargs["cycle_limit"] = rng.choice([1, rng.randint(0, 5)])
        kwargs["warmup_prefix"] = rng.random() < 0.5
        if name == "TanhLRScheduler" and rng.random() < 0.5:
            kwargs["lb"], kwargs["ub"] = rng.uniform(-10, 0), rng.uniform(0.5, 6)
        if name != "TanhLRScheduler":
            kwargs["k_decay"] = rng.choice([1.0, rng.uniform(0.2, 3)])
        if name == "PolyLRScheduler":
            kwargs["power"] = rng.choice([0.5, rng.uniform(0.1, 4)])
    elif name == "StepLRScheduler":
        kwargs["decay_t"] = rng.choice([rng.randint(1, 30), rng.uniform(0.5, 20)])
        kwargs["decay_rate"] = rng.uniform(0, 1)
        kwargs["warmup_prefix"] = rng.random() < 0.5
    elif name == "MultiStepLRScheduler":
        kwargs["decay_t"] = sorted(rng.randint(0, 60) for _ in range(rng.randint(0, 5)))
        kwargs["decay_rate"] = rng.uniform(0, 1)
        kwargs["warmup_prefix"] = rng.random() < 0.5
    else:
        assert name == "WSDLRScheduler"
        kwargs["t_initial"] = rng.randint(1, 80)
        kwargs["decay_t"] = rng.randint(1, kwargs["t_initial"])
        kwargs["lr_min"] = rng.choice([0.0, base * rng.uniform(0, 0.5)])
        kwargs["stable_fn"] = rng.choice(["constant", "rsqrt", "power"])
        kwargs["decay_fn"] = rng.choice(["linear", "1-sqrt", "cosine", "power"])
        kwargs["decay_power"] = rng.uniform(0.1, 3)
        if kwargs["stable_fn"] == "power":
            kwargs["stable_power"] = rng.choice([0.5, 1.0])
        if kwargs["stable_fn"] != "constant" and (kwargs["warmup_t"] == 0 or rng.random() < 0.5):
            kwargs["stable_timescale"] = rng.randint(1, 50)
    return base, kwargs


EDGES: dict[str, list[dict[str, Any]]] = {
    "CosineLRScheduler": [
        {"t_initial": 1},
        {"t_initial": 10, "warmup_t": 10},
        {"t_initial": 10, "warmup_t": 15, "warmup_lr_init": 0.05},  # warmup hides the whole cycle
        {"t_initial": 10, "warmup_t": 3, "warmup_prefix": True, "lr_min": 0.01},
        {"t_initial": 10, "cycle_limit": 0, "lr_min": 0.02},
        {"t_initial": 7, "cycle_limit": 4, "cycle_decay": 0.5, "lr_min": 0.001},
        {"t_initial": 5, "cycle_limit": 4, "cycle_mul": 2.0, "k_decay": 2.0},
        {"t_initial": 3, "cycle_limit": 4, "cycle_mul": 1.5, "warmup_t": 2, "warmup_prefix": True},
        {"t_initial": 1, "cycle_limit": 4, "cycle_mul": 10.0, "cycle_decay": 0.5},  # timm slips at t = 111
        {"t_initial": 4, "cycle_limit": 5000, "cycle_decay": 0.9},
        {"t_initial": 4, "cycle_limit": 2000, "cycle_mul": 1.5},  # the end of the last cycle overflows a float
        {"t_initial": 2.5, "cycle_limit": 3, "warmup_t": 1.5},
    ],
    "TanhLRScheduler": [
        {"t_initial": 1},
        {"t_initial": 10, "warmup_t": 4},  # warmup ends on the main schedule's value at t = 4
        {"t_initial": 10, "warmup_t": 4, "warmup_prefix": True, "lr_min": 0.01},
        {"t_initial": 10, "warmup_t": 25, "warmup_lr_init": 0.2},
        {"t_initial": 6, "cycle_limit": 3, "cycle_mul": 2.0, "cycle_decay": 0.5, "lb": -3.0, "ub": 1.0},
        {"t_initial": 6, "cycle_limit": 0},
    ],
    "PolyLRScheduler": [
        {"t_initial": 1},
        {"t_initial": 10, "power": 1.0, "warmup_t": 10},
        {"t_initial": 10, "power": 2.0, "k_decay": 0.5, "lr_min": 0.01, "warmup_t": 2, "warmup_prefix": True},
        {"t_initial": 4, "cycle_limit": 5, "cycle_mul": 1.5, "cycle_decay": 0.7},
        {"t_initial": 4, "cycle_limit": 0, "lr_min": 0.003},
    ],
    "StepLRScheduler": [
        {"decay_t": 1, "decay_rate": 0.5},
        {"decay_t": 3, "decay_rate": 0.0},
        {"decay_t": 5, "decay_rate": 0.1, "warmup_t": 5, "warmup_lr_init": 0.001},
        {"decay_t": 5, "decay_rate": 0.1, "warmup_t": 7, "warmup_prefix": False},
        {"decay_t": 2.5, "decay_rate": 0.9, "warmup_t": 1},
        {"decay_t": 4},
    ],
    "MultiStepLRScheduler": [
        {"decay_t": []},
        {"decay_t": [0, 1, 2], "decay_rate": 0.5},  # milestones 0 and 1 apply from the start
        {"decay_t": [3, 3, 8], "decay_rate": 0.1},  # a repeated milestone counts twice
        {"decay_t": [10, 20], "decay_rate": 0.1, "warmup_t": 5, "warmup_lr_init": 0.01},
        {"decay_t": [10, 20], "decay_rate": 0.1, "warmup_t": 12, "warmup_prefix": False},
        {"decay_t": [2.5, 4.0], "decay_rate": 0.3},
    ],
    "WSDLRScheduler": [
        {"t_initial": 1, "decay_t": 1},
        {"t_initial": 10, "decay_t": 10, "decay_fn": "linear", "warmup_t": 3},
        {"t_initial": 10, "decay_t": 4, "decay_fn": "cosine", "lr_min": 0.01, "warmup_t": 1, "warmup_lr_init": 0.02},
        {"t_initial": 10, "decay_t": 4, "decay_fn": "power", "decay_power": 2.0},
        {"t_initial": 20, "decay_t": 5, "stable_fn": "rsqrt", "warmup_t": 5},
        {"t_initial": 20, "decay_t": 20, "stable_fn": "rsqrt", "stable_timescale": 3, "lr_min": 0.02},
        {"t_initial": 20, "decay_t": 6, "stable_fn": "power", "stable_power": 1.0, "stable_timescale": 2},
        {"t_initial": 20, "decay_t": 6, "stable_fn": "rsqrt", "stable_timescale": 1, "lr_min": 0.05},  # lr_min clips
        {"t_initial": 12, "decay_t": 5, "lr_min": 0.2},  # lr_min above lr: timm holds max(lr, lr_min)
    ],
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_matches_timm(timm_scheduler: types.ModuleType, name: str) -> None:
    rng = random.Random(zlib.crc32(name.encode()))
    configs = [draw(name, rng) for _ in range(DRAWS)] + [(0.1, kwargs) for kwargs in EDGES[name]]
    for base, kwargs in configs:
        compare(timm_scheduler, name, base, kwargs)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_fractional_times_match_get_lr(timm_scheduler: types.ModuleType, name: str) -> None:
    # timm's _get_lr is a function of a real t (epoch-wise schedules are stepped with t_in_epochs=True).
    rng = random.Random(zlib.crc32(name.encode()) + 1)
    for base, kwargs in [draw(name, rng) for _ in range(10)]:
        sched = make_peer(timm_scheduler, name, base, kwargs)
        start = rng.uniform(0.01, 0.99)
        ref = np.array([sched._get_lr(float(t))[0] for t in start + np.arange(span(name, kwargs))])
        s = lr.from_timm(name, base, **kwargs)
        check(s, f"{name} lr={base} {kwargs}", Expected(ref, TOL, start=start, scale=base), peer="timm _get_lr")


def test_every_timm_scheduler_is_converted_or_refused(timm_scheduler: types.ModuleType) -> None:
    classes = {n for n, c in vars(timm_scheduler).items() if inspect.isclass(c) and n.endswith("LRScheduler")}
    assert classes == set(BUILDERS) | {"PlateauLRScheduler"}


def test_builders_take_timm_arguments(timm_scheduler: types.ModuleType) -> None:
    # Same names and defaults as timm's constructors (less the optimizer and the value-neutral arguments).
    for name, builder in BUILDERS.items():
        ours = {p.name: p.default for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY}
        theirs = inspect.signature(getattr(timm_scheduler, name)).parameters
        for key, default in ours.items():
            assert key in theirs, (name, key)
            assert theirs[key].default == default, (name, key)


def test_cycle_slip_is_timm_rounding(timm_scheduler: types.ModuleType) -> None:
    # Cycles of 1, 10, 100, 1000 steps: cycle 3 starts at t = 111, but timm's log(1000, 10) = 2.999...
    # puts t = 111 at the end of cycle 2 (lr_min); lrcore starts cycle 3 there, at 0.5 ** 3.
    kwargs = {"t_initial": 1, "cycle_limit": 4, "cycle_mul": 10.0, "cycle_decay": 0.5}
    ref = peer_values(timm_scheduler, "CosineLRScheduler", 1.0, kwargs, 113)
    s = lr.from_timm("CosineLRScheduler", 1.0, **kwargs)
    assert ref[111] == 0.0 and ref[112] == pytest.approx(0.125, rel=1e-5)
    assert s(111) == 0.125
    assert cycle_slips("CosineLRScheduler", kwargs, 113) == {111}


# ---------------------------------------------------------------------------
# Bad input


def peer_fails(timm_scheduler: types.ModuleType, name: str, kwargs: dict[str, Any]) -> bool:
    """Whether timm refuses the arguments, at construction or while stepping."""
    try:
        peer_values(timm_scheduler, name, 0.1, kwargs, 500)
    except (AssertionError, ValueError, TypeError, ZeroDivisionError):
        return True
    return False


PEER_INVALID = [
    ("CosineLRScheduler", {"t_initial": 0}, "t_initial"),
    ("CosineLRScheduler", {"t_initial": 10, "lr_min": -0.1}, "lr_min"),
    ("CosineLRScheduler", {"t_initial": 10, "cycle_mul": 0.5}, "cycle_mul"),  # math domain error from t = 20
    ("CosineLRScheduler", {"t_initial": 10, "k_decay": -1.0}, "k_decay"),  # 0 ** -1 at t = 0
    ("CosineLRScheduler", {}, "t_initial"),
    ("CosineLRScheduler", {"t_initial": 10, "eta_min": 0.0}, "eta_min"),
    ("TanhLRScheduler", {"t_initial": 10, "lb": 3.0, "ub": 3.0}, "ub"),
    ("TanhLRScheduler", {"t_initial": 10, "cycle_limit": -1}, "cycle_limit"),
    ("TanhLRScheduler", {"t_initial": 10, "warmup_t": -1}, "warmup_t"),
    ("TanhLRScheduler", {"t_initial": 10, "warmup_lr_init": -1.0, "warmup_t": 2}, "warmup_lr_init"),
    ("PolyLRScheduler", {"t_initial": -5}, "t_initial"),
    ("StepLRScheduler", {"decay_t": 0}, "decay_t"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 11}, "decay_t"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 0}, "decay_t"),
    ("WSDLRScheduler", {"t_initial": 0, "decay_t": 1}, "t_initial"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "stable_fn": "cosine"}, "stable_fn"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "decay_fn": "step"}, "decay_fn"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "decay_ratio": 1.0}, "decay_ratio"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "decay_power": 0.0}, "decay_power"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "stable_fn": "power", "stable_power": 0.0}, "stable_power"),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "stable_fn": "rsqrt"}, "stable_timescale"),  # no warmup
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "lr_min": -1.0}, "lr_min"),
    ("WSDLRScheduler", {"t_initial": 10}, "decay_t"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), PEER_INVALID)
def test_invalid_for_timm_is_invalid_here(
    timm_scheduler: types.ModuleType, name: str, kwargs: dict[str, Any], param: str
) -> None:
    assert peer_fails(timm_scheduler, name, kwargs)
    with pytest.raises((ValueError, TypeError), match=_names(name, param)):
        lr.from_timm(name, 0.1, **kwargs)


REFUSED = [
    # Arguments timm takes but lrcore refuses: noise, and what lrcore's kinds cannot express.
    ("CosineLRScheduler", {"t_initial": 10, "noise_range_t": 5}, "noise_range_t", ValueError),
    ("StepLRScheduler", {"decay_t": 3, "noise_range_t": (2, 8)}, "noise_range_t", ValueError),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "decay_fn": "exp"}, "decay_fn", ValueError),
    ("WSDLRScheduler", {"t_initial": 10, "decay_t": 3, "decay_fn": lambda f: 1 - f}, "decay_fn", TypeError),
    (
        "WSDLRScheduler",
        {"t_initial": 10, "decay_t": 3, "stable_fn": "power", "stable_power": 0.7, "warmup_t": 2},
        "stable_power",
        ValueError,
    ),
    ("TanhLRScheduler", {"t_initial": 10, "cycle_limit": 1001}, "cycle_limit", ValueError),
    ("MultiStepLRScheduler", {"decay_t": [5, 3]}, "decay_t", ValueError),  # timm bisects an unsorted list
    ("MultiStepLRScheduler", {"decay_t": [-2, 3]}, "decay_t", ValueError),
    ("StepLRScheduler", {"decay_t": 3, "decay_rate": -0.5}, "decay_rate", ValueError),
    ("StepLRScheduler", {"decay_t": 3, "t_in_epochs": "yes"}, "t_in_epochs", TypeError),
    ("CosineLRScheduler", {"t_initial": 10, "cycle_decay": -1.0}, "cycle_decay", ValueError),
    ("CosineLRScheduler", {"t_initial": 10, "k_decay": 0.0}, "k_decay", ValueError),  # timm: lr_min after t = 0
    ("PolyLRScheduler", {"t_initial": 10, "power": -1.0}, "power", ValueError),  # timm: grows without bound
]


def _names(name: str, param: str) -> str:
    """The message names `param`: a bad value, or an argument `name` does not take / needs."""
    return rf"^from_timm(: `{param}`|\('{name}'\): (unexpected|missing required) argument\(s\) {param}\b)"


@pytest.mark.parametrize(("name", "kwargs", "param", "error"), REFUSED)
def test_refused_arguments(name: str, kwargs: dict[str, Any], param: str, error: type[Exception]) -> None:
    with pytest.raises(error, match=_names(name, param)):
        lr.from_timm(name, 0.1, **kwargs)


def test_value_neutral_arguments_are_accepted() -> None:
    s = lr.from_timm(
        "CosineLRScheduler",
        0.1,
        t_initial=10,
        t_in_epochs=True,
        noise_range_t=None,
        noise_pct=0.5,
        noise_std=2.0,
        noise_seed=3,
        initialize=False,
    )
    assert s == lr.from_timm("CosineLRScheduler", 0.1, t_initial=10)


def test_plateau_points_to_lr_plateau() -> None:
    with pytest.raises(ValueError, match=r"^from_timm: 'PlateauLRScheduler' .*lr\.Plateau"):
        lr.from_timm("PlateauLRScheduler", 0.1, decay_rate=0.5)


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="^from_timm: unknown scheduler 'CosineAnnealingLR'; known: CosineLRScheduler"):
        lr.from_timm("CosineAnnealingLR", 0.1, t_initial=10)
    with pytest.raises(ValueError, match="^from_timm: `lr` must be >= 0"):
        lr.from_timm("StepLRScheduler", -0.1, decay_t=3)


# ---------------------------------------------------------------------------
# Serialisation


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_json_round_trip(name: str) -> None:
    rng = random.Random(11)
    for base, kwargs in [draw(name, rng) for _ in range(5)] + [(0.1, kwargs) for kwargs in EDGES[name]]:
        assert_round_trips(lr.from_timm(name, base, **kwargs), span(name, kwargs))
