"""lr.from_deepspeed against the installed deepspeed.runtime.lr_schedules, stepped on an Adam optimizer.

DeepSpeed's engine builds the scheduler from the ds_config "scheduler" entry
(``getattr(lr_schedules, type)(optimizer, **params)``) and steps it after every update it
applies, so lrcore's s(t) must be the optimizer's lr after construction and t calls of
``step()``; ``part="momentum"`` must be OneCycle's ``betas[0]``.  Configurations are drawn
from a seeded generator per type and compared step by step to three times each schedule's
length.  The CLI reads a ds_config JSON file (one with a "scheduler" key).
"""

from __future__ import annotations

import json
import logging
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import docs_pages
import numpy as np
import pytest
import torch
from deepspeed.runtime import lr_schedules
from peers import Expected, Tolerance, assert_round_trips, check

import lrcore as lr

logging.getLogger("DeepSpeed").setLevel(logging.ERROR)  # its warning at every construction before step 1

RTOL = 1e-9
ATOL = 1e-12  # times the run's largest value: near a cosine's zero a relative error means nothing
TOL = Tolerance(RTOL, ATOL)
SEED = 20260901
PER_TYPE = 40
ROOT = Path(__file__).resolve().parents[1]

Config = tuple[str, float, dict[str, Any]]  # type, the optimizer's lr, params


def deepspeed_values(kind: str, base: float, params: dict[str, Any], n: int, part: str = "lr") -> np.ndarray:
    """The optimizer's lr (or betas[0]) after construction and 0, 1, ..., n-1 calls of step()."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=base)
    scheduler = getattr(lr_schedules, kind)(optimizer, **params)

    def value() -> float:
        group = optimizer.param_groups[0]
        return float(group["lr"] if part == "lr" else group["betas"][0])

    out = [value()]
    for _ in range(n - 1):
        scheduler.step()
        out.append(value())
    return np.array(out)


def deepspeed_fails(kind: str, base: float, params: dict[str, Any]) -> bool:
    try:
        deepspeed_values(kind, base, params, 5)
    except (ValueError, TypeError, ZeroDivisionError):
        return True
    return False


def warmup_steps(params: dict[str, Any]) -> int:
    return max(2, params.get("warmup_num_steps", 1000))


def length(kind: str, params: dict[str, Any]) -> int:
    """The schedule's natural length: where it settles, or a few of its decay intervals."""
    if kind == "WarmupLR":
        return warmup_steps(params) + 1
    if kind in ("WarmupDecayLR", "WarmupCosineLR"):
        return params["total_num_steps"] + 1
    if kind == "OneCycle":
        first = params.get("cycle_first_step_size", 2000)
        second = params.get("cycle_second_step_size")
        return int(first + (first if second is None else second) + 3 * max(1, params.get("decay_step_size", 0)))
    return 10 * params.get("lr_range_test_step_size", 2000)


# ---------------------------------------------------------------------------
# Seeded configurations, one generator per type


def _lr(r: random.Random) -> float:
    return 10 ** r.uniform(-6, 0)


def _maybe(r: random.Random, params: dict[str, Any], key: str, value: Any) -> None:
    """Give the parameter most of the time; else leave DeepSpeed's default."""
    if r.random() < 0.8:
        params[key] = value


def g_warmup(r: random.Random, decay: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {}
    _maybe(r, p, "warmup_min_lr", r.choice([0.0, _lr(r)]))
    if decay or r.random() < 0.7:
        p["warmup_max_lr"] = _lr(r)
    p["warmup_num_steps"] = r.choice([1, 2, 3, r.randint(1, 60), r.randint(50, 400)])
    _maybe(r, p, "warmup_type", r.choice(["log", "linear"]))
    if decay:
        p["total_num_steps"] = warmup_steps(p) + r.choice([0, 1, r.randint(1, 500)])
    return p


def g_cosine(r: random.Random) -> dict[str, Any]:
    p: dict[str, Any] = {"warmup_num_steps": r.choice([1, 2, r.randint(1, 60), r.randint(50, 400)])}
    p["total_num_steps"] = warmup_steps(p) + r.choice([0, 1, r.randint(1, 600)])
    _maybe(r, p, "warmup_min_ratio", r.choice([0.0, r.uniform(0.0, 1.0), r.uniform(1.0, 2.0)]))
    _maybe(r, p, "cos_min_ratio", r.choice([0.0, r.uniform(0.0, 0.5), 1.0]))
    _maybe(r, p, "warmup_type", r.choice(["log", "linear"]))
    return p


def g_one_cycle(r: random.Random) -> dict[str, Any]:
    low, high = _lr(r), _lr(r)
    p: dict[str, Any] = {"cycle_min_lr": min(low, high), "cycle_max_lr": max(low, high)}
    if r.random() < 0.1:
        p["cycle_min_lr"], p["cycle_max_lr"] = p["cycle_max_lr"], p["cycle_min_lr"]  # an inverted cycle
    p["cycle_first_step_size"] = r.choice([1, 2, r.randint(1, 40), r.randint(20, 300)])
    _maybe(r, p, "cycle_second_step_size", r.choice([None, 0, 1, r.randint(1, 40), r.randint(20, 300)]))
    _maybe(r, p, "cycle_first_stair_count", r.choice([0, -1, 1, r.randint(1, 12), r.randint(10, 400)]))
    _maybe(r, p, "cycle_second_stair_count", r.choice([None, 0, 1, r.randint(1, 12), r.randint(10, 400)]))
    _maybe(r, p, "decay_step_size", r.choice([0, 1, r.randint(1, 100)]))
    _maybe(r, p, "decay_lr_rate", r.choice([0.0, r.uniform(0.0, 1.0), r.uniform(0.0, 20.0)]))
    _maybe(r, p, "cycle_min_mom", r.uniform(0.5, 0.9))
    _maybe(r, p, "cycle_max_mom", r.uniform(0.85, 0.99))
    _maybe(r, p, "decay_mom_rate", r.choice([0.0, r.uniform(0.0, 0.01)]))
    return p


def g_range_test(r: random.Random) -> dict[str, Any]:
    p: dict[str, Any] = {}
    _maybe(r, p, "lr_range_test_min_lr", _lr(r))
    p["lr_range_test_step_size"] = r.choice([1, r.randint(1, 30), r.randint(20, 200)])
    _maybe(r, p, "lr_range_test_step_rate", r.choice([0.0, r.uniform(0.0, 2.0), r.uniform(1.0, 50.0)]))
    _maybe(r, p, "lr_range_test_staircase", r.choice([True, False]))
    return p


GENERATORS = {
    "WarmupLR": g_warmup,
    "WarmupDecayLR": lambda r: g_warmup(r, decay=True),
    "WarmupCosineLR": g_cosine,
    "OneCycle": g_one_cycle,
    "LRRangeTest": g_range_test,
}


def random_configs() -> list[Config]:
    r = random.Random(SEED)
    return [(kind, _lr(r), gen(r)) for kind, gen in GENERATORS.items() for _ in range(PER_TYPE)]


RANDOM = random_configs()

EDGES: list[Config] = [
    ("WarmupLR", 0.1, {}),  # every default: a log warmup from 0 to the optimizer's lr over 1000 steps
    ("WarmupLR", 0.1, {"warmup_min_lr": 0.05, "warmup_max_lr": 0.01, "warmup_num_steps": 10}),  # downhill
    ("WarmupLR", 0.1, {"warmup_num_steps": 1, "warmup_type": "linear"}),  # max(2, 1)
    ("WarmupDecayLR", 0.1, {"total_num_steps": 10, "warmup_num_steps": 10, "warmup_type": "linear"}),
    ("WarmupDecayLR", 0.1, {"total_num_steps": 2, "warmup_num_steps": 1}),
    ("WarmupDecayLR", 0.1, {"total_num_steps": 3000}),
    ("WarmupCosineLR", 0.1, {"total_num_steps": 10, "warmup_num_steps": 10}),
    ("WarmupCosineLR", 0.1, {"total_num_steps": 11, "warmup_num_steps": 10, "warmup_type": "linear"}),
    ("WarmupCosineLR", 3e-4, {"total_num_steps": 5000, "warmup_num_steps": 100, "cos_min_ratio": 0.0}),
    ("WarmupCosineLR", 0.0, {"total_num_steps": 50, "warmup_num_steps": 5}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1}),  # 2000 up, 2000 down
    ("OneCycle", 0.1, {"cycle_min_lr": 0.0, "cycle_max_lr": 0.1, "cycle_first_step_size": 1,
                       "cycle_second_step_size": 0, "decay_step_size": 1, "decay_lr_rate": 0.5}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 10,
                       "cycle_first_stair_count": 3, "cycle_second_stair_count": 0}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 7,
                       "cycle_second_step_size": 13, "cycle_first_stair_count": 0, "cycle_second_stair_count": 4}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 5,
                       "cycle_first_stair_count": 50}),  # more stairs than steps
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 5.0,
                       "cycle_second_step_size": 3.0, "decay_step_size": 2.0, "decay_lr_rate": 0.1}),
    ("LRRangeTest", 0.1, {}),
    ("LRRangeTest", 0.1, {"lr_range_test_min_lr": 0.0, "lr_range_test_step_size": 1}),
    ("LRRangeTest", 0.1, {"lr_range_test_step_size": 3, "lr_range_test_staircase": True,
                          "lr_range_test_step_rate": 0.0}),
]


def _id(config: Config) -> str:
    return config[0]


# ---------------------------------------------------------------------------
# Equality with DeepSpeed


def compare(config: Config, part: str = "lr") -> dict[str, float]:
    kind, base, params = config
    n = 3 * length(kind, params)
    expected = deepspeed_values(kind, base, params, n, part)
    s = lr.from_deepspeed({"type": kind, "params": params}, lr=base, part=part)
    worst = check(s, f"{kind}({params}, lr={base}) {part} = {s!r}", Expected(expected, TOL), peer="deepspeed")
    assert_round_trips(s, min(n, 2000))
    return worst


@pytest.mark.parametrize("config", RANDOM + EDGES, ids=_id)
def test_equals_deepspeed_step_by_step(config: Config) -> None:
    compare(config)


MOMENTUM = [config for config in RANDOM + EDGES if config[0] == "OneCycle"]


@pytest.mark.parametrize("config", MOMENTUM, ids=_id)
def test_one_cycle_momentum_equals_deepspeeds_beta1(config: Config) -> None:
    compare(config, part="momentum")


def test_every_type_is_covered_and_the_stairs_are_drawn() -> None:
    kinds = {kind for kind, _, _ in RANDOM}
    assert kinds == set(lr_schedules.VALID_LR_SCHEDULES) == set(lr.convert._deepspeed.TYPES)
    stairs = [p for kind, _, p in RANDOM if kind == "OneCycle" and p.get("cycle_first_stair_count", 0) > 0]
    assert len(stairs) >= 8


def test_the_conventions_on_a_small_example() -> None:
    """WarmupLR's first step gives its minimum again; WarmupCosineLR is 0 before its first step and its
    cosine starts at t = warmup_num_steps; OneCycle's momentum starts at cycle_min_mom."""
    s = lr.from_deepspeed(type="WarmupLR", params={"warmup_min_lr": 0.01, "warmup_max_lr": 0.11,
                                                   "warmup_num_steps": 10, "warmup_type": "linear"})
    assert [round(s(t), 12) for t in (0, 1, 2, 10, 11, 12)] == [0.01, 0.01, 0.02, 0.1, 0.11, 0.11]
    c = lr.from_deepspeed(type="WarmupCosineLR", params={"total_num_steps": 20, "warmup_num_steps": 10,
                                                         "cos_min_ratio": 0.0}, lr=1.0)
    assert c(0) == 0.0 and c(10) == pytest.approx(1.0) and c(15) == pytest.approx(0.5) and c(20) == 0.0
    m = lr.from_deepspeed(type="OneCycle", params={"cycle_min_lr": 0.1, "cycle_max_lr": 1.0,
                                                   "cycle_first_step_size": 4}, part="momentum")
    assert [round(m(t), 12) for t in (0, 1, 4, 8, 9)] == [0.8, 0.875, 0.8, 0.9, 0.9]


def test_a_whole_ds_config_and_its_optimizers_lr() -> None:
    ds_config = {
        "train_batch_size": 32,
        "optimizer": {"type": "AdamW", "params": {"lr": 3e-4, "betas": [0.9, 0.999]}},
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 500, "warmup_num_steps": 50}},
    }
    s = lr.from_deepspeed(ds_config)
    assert s == lr.from_deepspeed(ds_config["scheduler"], lr=3e-4)
    assert lr.from_deepspeed(ds_config, lr=1e-3) == lr.from_deepspeed(ds_config["scheduler"], lr=1e-3)
    np.testing.assert_allclose(s.array(1500), deepspeed_values("WarmupCosineLR", 3e-4, ds_config["scheduler"]["params"],
                                                               1500), rtol=RTOL, atol=1e-16)


def test_a_torch_scheduler_type_is_from_torch() -> None:
    """DeepSpeed's engine also builds a torch.optim.lr_scheduler class named as the type."""
    s = lr.from_deepspeed({"type": "StepLR", "params": {"step_size": 10, "gamma": 0.5}}, lr=0.1)
    assert s == lr.from_torch("StepLR", 0.1, step_size=10, gamma=0.5)
    with pytest.raises(ValueError, match="from_deepspeed: `lr` must be given for StepLR"):
        lr.from_deepspeed({"type": "StepLR", "params": {"step_size": 10}})
    with pytest.raises(ValueError, match="lr.Plateau"):
        lr.from_deepspeed({"type": "ReduceLROnPlateau", "params": {}}, lr=0.1)


def test_parse_and_the_cli_read_deepspeed(tmp_path: Path) -> None:
    text = 'from_deepspeed({"type": "WarmupDecayLR", "params": {"total_num_steps": 300, "warmup_num_steps": 30}})'
    s = lr.parse(text)
    assert s == lr.from_deepspeed(type="WarmupDecayLR", params={"total_num_steps": 300, "warmup_num_steps": 30})
    config = tmp_path / "ds_config.json"
    config.write_text(json.dumps({
        "optimizer": {"type": "Adam", "params": {"lr": 0.002}},
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 300, "warmup_num_steps": 30}},
    }))
    for spec in (text, str(config)):
        done = subprocess.run([sys.executable, "-m", "lrcore", "table", spec, "--every", "100", "--format", "json"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        want = lr.parse(text) if spec == text else lr.from_deepspeed(json.loads(config.read_text()))
        # Its natural length: where it settles (t = 301 for WarmupDecayLR's decay, 300 for the cosine).
        assert out["steps"] == math.ceil(want.horizon) > 250 and out["lr"] == [want(t) for t in out["t"]], out
    plot = tmp_path / "lr.png"
    done = subprocess.run([sys.executable, "-m", "lrcore", "plot", str(config), "-o", str(plot)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert plot.read_bytes().startswith(b"\x89PNG")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 300}}}))
    done = subprocess.run([sys.executable, "-m", "lrcore", "plot", str(bad), "-o", str(plot)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "`lr` must be given" in done.stderr, done.stderr


# ---------------------------------------------------------------------------
# What is refused, and why

# DeepSpeed raises on these as well.
DEEPSPEED_REJECTS: list[Config] = [
    ("WarmupLR", 0.1, {"warmup_num_steps": 0}),
    ("WarmupLR", 0.1, {"warmup_num_steps": 10.0}),
    ("WarmupLR", 0.1, {"warmup_step": 10}),
    ("WarmupDecayLR", 0.1, {}),
    ("WarmupCosineLR", 0.1, {"total_num_steps": 100, "warmup_num_steps": -5}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 0}),
    ("OneCycle", 0.1, {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_second_step_size": -1}),
    ("LRRangeTest", 0.1, {"lr_range_test_step_size": 0}),
    ("LRRangeTest", 0.1, {"lr_range_test_step_size": 2.5}),
]


@pytest.mark.parametrize("config", DEEPSPEED_REJECTS, ids=_id)
def test_what_deepspeed_rejects_is_rejected(config: Config) -> None:
    kind, base, params = config
    assert deepspeed_fails(kind, base, params)
    with pytest.raises((ValueError, TypeError), match=r"^from_deepspeed\('" + kind) as info:
        lr.from_deepspeed(type=kind, params=params, lr=base)
    assert "\n" not in str(info.value)


# DeepSpeed accepts these, and warns, falls back or grows negative: refused with a reason, naming the field.
LRCORE_REJECTS: list[tuple[str, dict[str, Any], str]] = [
    ("WarmupLR", {"warmup_type": "cosine"}, "warmup_type"),
    ("WarmupLR", {"warmup_num_steps": True}, "warmup_num_steps"),
    ("WarmupLR", {"warmup_min_lr": -0.01}, "warmup_min_lr"),
    ("WarmupLR", {"warmup_max_lr": [0.1, 0.2]}, "warmup_max_lr"),
    ("WarmupLR", {"warmup_num_steps": "auto"}, "warmup_num_steps"),
    ("WarmupLR", {"last_batch_iteration": 50}, "last_batch_iteration"),
    ("WarmupDecayLR", {"total_num_steps": 500, "warmup_num_steps": 1000}, "total_num_steps"),
    ("WarmupDecayLR", {"total_num_steps": 1500.5}, "total_num_steps"),
    ("WarmupCosineLR", {"total_num_steps": 100, "warmup_num_steps": 10, "cos_min_ratio": -0.1}, "cos_min_ratio"),
    ("OneCycle", {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "decay_lr_rate": -0.5, "decay_step_size": 5},
     "decay_lr_rate"),
    ("OneCycle", {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_stair_count": 2.5},
     "cycle_first_stair_count"),
    ("OneCycle", {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 10**7,
                  "cycle_first_stair_count": 10**6}, "cycle_first_stair_count"),
    ("LRRangeTest", {"lr_range_test_step_rate": -1.0}, "lr_range_test_step_rate"),
]


@pytest.mark.parametrize("case", LRCORE_REJECTS, ids=lambda case: f"{case[0]}-{case[2]}")
def test_what_deepspeed_lets_through_is_refused_naming_the_field(case: tuple[str, dict[str, Any], str]) -> None:
    kind, params, field = case
    with pytest.raises((ValueError, TypeError)) as info:
        lr.from_deepspeed(type=kind, params=params, lr=0.1)
    message = str(info.value)
    assert message.startswith(f"from_deepspeed('{kind}'): `{field}`") and "\n" not in message, message


@pytest.mark.parametrize(
    ("call", "exc", "fragment"),
    [
        (lambda: lr.from_deepspeed({"type": "Cosine", "params": {}}), ValueError, "`type` must be one of"),
        (lambda: lr.from_deepspeed({"type": 3, "params": {}}), TypeError, "`type` must be one of"),
        (lambda: lr.from_deepspeed({"params": {}}), ValueError, "`type` is missing"),
        (lambda: lr.from_deepspeed({"type": "WarmupLR"}), ValueError, "`params` is missing"),
        (lambda: lr.from_deepspeed({"type": "WarmupLR", "params": [1]}), TypeError, "`params` must be a dict"),
        (lambda: lr.from_deepspeed({"type": "WarmupLR", "params": {}, "lr": 1}), ValueError, "unknown keys 'lr'"),
        (lambda: lr.from_deepspeed("WarmupLR"), TypeError, "`config` must be a dict"),
        (lambda: lr.from_deepspeed({"type": "WarmupLR", "params": {}}, type="WarmupLR"), TypeError, "`config`"),
        (lambda: lr.from_deepspeed(), TypeError, "`type` must be given"),
        (lambda: lr.from_deepspeed(type="WarmupLR"), ValueError, "`lr` must be given for WarmupLR"),
        (lambda: lr.from_deepspeed(type="WarmupCosineLR", params={"total_num_steps": 9, "warmup_num_steps": 5}),
         ValueError, "`lr` must be given for WarmupCosineLR: it scales"),
        (lambda: lr.from_deepspeed(type="WarmupLR", params={"warmup_max_lr": 0.1}, lr=-1.0), ValueError, "`lr`"),
        (lambda: lr.from_deepspeed(type="WarmupLR", params={"warmup_max_lr": 0.1}, part="momentum"), ValueError,
         "only OneCycle cycles the momentum"),
        (lambda: lr.from_deepspeed(type="OneCycle", params={"cycle_min_lr": 0.1, "cycle_max_lr": 1.0,
                                                            "cycle_momentum": False}, part="momentum"),
         ValueError, "`cycle_momentum` is False"),
        (lambda: lr.from_deepspeed({"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 9}},
                                    "optimizer": {"params": {"lr": "auto"}}}), ValueError, "`lr` is 'auto'"),
    ],
)
def test_config_mistakes_are_one_line_errors(call: Any, exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    assert message.startswith("from_deepspeed") and fragment in message and "\n" not in message, message


def test_momentum_decay_grows_as_deepspeeds() -> None:
    """Past the cycle DeepSpeed multiplies cycle_max_mom by 1 + decay_mom_rate * t' / decay_step_size:
    it grows without bound (past 1 at t' = 1112 here), and so does the momentum schedule."""
    params = {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 5, "decay_step_size": 10,
              "decay_mom_rate": 0.01}
    n = 1200
    want = deepspeed_values("OneCycle", 0.1, params, n, "momentum")
    m = lr.from_deepspeed(type="OneCycle", params=params, part="momentum")
    np.testing.assert_allclose(m.array(n), want, rtol=RTOL)
    assert want[-1] > 1.0 and m.horizon is None and math.isfinite(m(1e12))


def test_the_guide_rows_are_what_the_converter_builds() -> None:
    text = docs_pages.page("guides/migrating.md")
    linear = "lr.join([lr.constant(value=0), lr.linear(start=0, end=0.1, steps=100)], [1])"
    log = 'lr.join([lr.constant(value=0), lr.growth(start=0, rate=0.1 / math.log(100), shape="log", end=0.1)], [1])'
    cycle = "lr.cyclic(base=0.01, peak=0.1, step_up=1000)"
    growth = "lr.growth(start=1e-3, rate=1e-3, every=2000)"
    rows = [  # (config, what it builds, what the migration guide shows of it)
        ({"type": "WarmupLR", "params": {"warmup_max_lr": 0.1, "warmup_num_steps": 100, "warmup_type": "linear"}},
         linear, linear),
        ({"type": "WarmupLR", "params": {"warmup_max_lr": 0.1, "warmup_num_steps": 100}}, log, log),
        ({"type": "OneCycle", "params": {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1, "cycle_first_step_size": 1000}},
         f"lr.join([{cycle}, lr.constant(value=0.01)], [2000])", cycle),
        ({"type": "LRRangeTest", "params": {}}, growth, growth),
    ]
    for config, expression, shown in rows:
        assert lr.from_deepspeed(config) == eval(expression, {"lr": lr, "math": math}), expression
        assert f"`{shown}`" in text, shown
    assert lr.from_torch("SWALR", 0.1, swa_lr=0.05, anneal_epochs=10) == lr.cosine(init=0.1, steps=10, final=0.05)
    assert "`lr.cosine(init=0.1, steps=10, final=0.05)`" in text
