"""``lr.from_optax`` against optax itself: random and edge-case configurations of every schedule.

Golden values come from optax, evaluated over arrays of counts in float64
(``jax.enable_x64(True)``, relative tolerance 1e-9) and in float32 (1e-6).
The x64 mode is switched by a context manager around each optax evaluation,
so the results do not depend on how other test modules configured jax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax
import pytest
from peers import Expected, Tolerance, assert_round_trips, check, draw_steps, jax_values, landmarks, steps_to_compare

import lrcore as lr

RANDOM_CONFIGS = 30
# Near a zero of the schedule (the end of a cosine to 0) relative error is meaningless:
# an absolute floor, as a fraction of the schedule's largest value, covers those points.
X64 = Tolerance(rtol=1e-9, atol=1e-13)
F32 = Tolerance(rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------
# optax evaluated over arrays of counts


def optax_schedule(name: str, kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    if name == "join_schedules":
        parts = [optax_schedule(n, k) for n, k in kwargs["schedules"]]
        return optax.schedules.join_schedules(parts, kwargs["boundaries"])
    return getattr(optax.schedules, name)(**kwargs)


# These evaluate `bounds <= count` against their own boundary array, so they take one count at a time.
SCALAR_COUNT = {"piecewise_interpolate_schedule", "linear_onecycle_schedule", "cosine_onecycle_schedule"}


def scalar_count_only(name: str, kwargs: dict[str, Any]) -> bool:
    if name == "join_schedules":
        return any(scalar_count_only(n, k) for n, k in kwargs["schedules"])
    return name in SCALAR_COUNT


def optax_values(name: str, kwargs: dict[str, Any], t: np.ndarray, *, x64: bool) -> np.ndarray:
    """optax's values at the counts t (ints, or floats for fractional counts), as float64.

    Evaluated op by op on a vector of counts, as optax would inside ``jax.vmap``;
    see `stair_counts` for its rounding at exact staircase steps.
    """
    return jax_values(
        lambda: optax_schedule(name, kwargs),
        t,
        x64=x64,
        vmap=scalar_count_only(name, kwargs),
        int_result_ok=True,  # an int constant_schedule stays int
    )


def stair_counts(name: str, kw: dict[str, Any], offset: float = 0.0) -> list[float]:
    """Counts where an optax staircase steps down: ``(count - begin) / transition_steps`` is a whole k >= 1.

    jax divides by a Python-number divisor as a multiplication by its reciprocal,
    which can land one ulp below k; optax's floor then switches one count late.
    """
    if name in ("exponential_decay", "warmup_exponential_decay_schedule") and kw.get("staircase"):
        start = offset + kw.get("warmup_steps", 0) + kw.get("transition_begin", 0)
        return [start + k * kw["transition_steps"] for k in range(1, 20_000)]
    if name == "join_schedules":
        starts = [0, *kw["boundaries"]]
        return [c for (n, k), b in zip(kw["schedules"], starts, strict=True) for c in stair_counts(n, k, offset + b)]
    return []


def f32_slack(name: str, kw: dict[str, Any]) -> float:
    """optax in float32 leaves ``1 - count / T`` at ~1e-7 instead of 0 from the end of a polynomial
    transition on; a power below 1 magnifies that to about ``(I - E) * (2.4e-7) ** power``."""
    if name == "polynomial_schedule" and kw["power"] < 1:
        return abs(kw["init_value"] - kw["end_value"]) * 2.4e-7 ** kw["power"]
    if name == "join_schedules":
        return max(f32_slack(n, k) for n, k in kw["schedules"])
    return 0.0


# ---------------------------------------------------------------------------
# Random configurations per optax name, and the count after which optax's value stops changing


def _lr(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(1e-5), np.log(2.0))))


def _begin(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 50)) if rng.random() < 0.4 else 0


def draw_polynomial(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "init_value": _lr(rng),
        "end_value": _lr(rng) if rng.random() < 0.8 else 0.0,
        "power": float(rng.choice([1.0, 2.0, 0.5, rng.uniform(0.2, 4)])),
        "transition_steps": draw_steps(rng),
        "transition_begin": _begin(rng),
    }


def draw_linear(rng: np.random.Generator) -> dict[str, Any]:
    kw = draw_polynomial(rng)
    del kw["power"]
    return kw


def _exp_args(rng: np.random.Generator, init: float) -> dict[str, Any]:
    rate = float(rng.uniform(0.3, 0.99) if rng.random() < 0.75 else rng.uniform(1.01, 1.6))
    kw: dict[str, Any] = {"transition_steps": draw_steps(rng), "decay_rate": rate, "transition_begin": _begin(rng)}
    if rng.random() < 0.5:
        kw["staircase"] = True
    if rate > 1 or rng.random() < 0.5:  # a floor below init when decaying, a ceiling above it when growing
        kw["end_value"] = init * float(rng.uniform(0.05, 0.9) if rate < 1 else rng.uniform(1.1, 4))
    return kw


def draw_exponential(rng: np.random.Generator) -> dict[str, Any]:
    init = _lr(rng)
    return {"init_value": init, **_exp_args(rng, init)}


def draw_cosine(rng: np.random.Generator) -> dict[str, Any]:
    kw: dict[str, Any] = {"init_value": _lr(rng), "decay_steps": draw_steps(rng)}
    if rng.random() < 0.6:
        kw["alpha"] = float(rng.uniform(0, 1))
    if rng.random() < 0.4:
        kw["exponent"] = float(rng.uniform(0.3, 3))
    return kw


def draw_warmup_cosine(rng: np.random.Generator) -> dict[str, Any]:
    peak = _lr(rng)
    warm = int(rng.integers(0, 100)) if rng.random() < 0.8 else 0
    kw: dict[str, Any] = {
        "init_value": peak * float(rng.choice([0.0, rng.uniform(0, 1)])),
        "peak_value": peak,
        "warmup_steps": warm,
        "decay_steps": warm + draw_steps(rng),
    }
    if rng.random() < 0.6:
        kw["end_value"] = peak * float(rng.uniform(0, 1))
    if rng.random() < 0.3:
        kw["exponent"] = float(rng.uniform(0.3, 3))
    return kw


def draw_warmup_exponential(rng: np.random.Generator) -> dict[str, Any]:
    peak = _lr(rng)
    return {
        "init_value": peak * float(rng.uniform(0, 1)),
        "peak_value": peak,
        "warmup_steps": int(rng.integers(0, 100)),
        **_exp_args(rng, peak),
    }


def draw_warmup_constant(rng: np.random.Generator) -> dict[str, Any]:
    peak = _lr(rng)
    return {"init_value": peak * float(rng.uniform(0, 1)), "peak_value": peak, "warmup_steps": draw_steps(rng)}


def _scales(rng: np.random.Generator, whole: bool = False) -> dict[float, float]:
    k = int(rng.integers(0, 6))
    bounds = np.sort(rng.choice(np.arange(0, 400), size=k, replace=False)).astype(float)
    if not whole and rng.random() < 0.3:
        bounds = bounds * 1.5  # fractional boundaries, still at least one step apart
    return {float(b): float(rng.choice([0.1, 0.5, 2.0, rng.uniform(0, 3)])) for b in bounds}


def draw_piecewise_constant(rng: np.random.Generator) -> dict[str, Any]:
    return {"init_value": _lr(rng), "boundaries_and_scales": _scales(rng)}


def draw_piecewise_interpolate(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "interpolate_type": str(rng.choice(["linear", "cosine"])),
        "init_value": _lr(rng),
        "boundaries_and_scales": _scales(rng),
    }


def draw_linear_onecycle(rng: np.random.Generator) -> dict[str, Any]:
    while True:
        total = int(rng.integers(2, 20) if rng.random() < 0.3 else rng.integers(20, 3000))
        kw = {
            "transition_steps": total,
            "peak_value": _lr(rng),
            "pct_start": float(rng.uniform(0, 0.5)),
            "pct_final": float(rng.uniform(0.5, 1)),
            "div_factor": float(rng.uniform(2, 100)),
            "final_div_factor": float(rng.uniform(2, 1e5)),
        }
        if int(kw["pct_start"] * total) < int(kw["pct_final"] * total) < total:
            return kw


def draw_cosine_onecycle(rng: np.random.Generator) -> dict[str, Any]:
    total = int(rng.integers(1, 20) if rng.random() < 0.3 else rng.integers(20, 3000))
    return {
        "transition_steps": total,
        "peak_value": _lr(rng),
        "pct_start": float(rng.uniform(0, 0.9)),
        "div_factor": float(rng.uniform(2, 100)),
        "final_div_factor": float(rng.uniform(2, 1e5)),
    }


def draw_sgdr(rng: np.random.Generator) -> dict[str, Any]:
    return {"cosine_kwargs": [draw_warmup_cosine(rng) for _ in range(int(rng.integers(1, 5)))]}


def draw_join(rng: np.random.Generator) -> dict[str, Any]:
    names = [n for n in DRAWS if n != "join_schedules"]
    k = int(rng.integers(1, 4))
    schedules = [(n, DRAWS[n](rng)) for n in rng.choice(names, size=k)]
    bounds = np.cumsum(rng.integers(1, 300, size=k - 1)).tolist()
    if bounds and rng.random() < 0.2:
        bounds[0] = 0  # the first schedule is never shown
    return {"schedules": schedules, "boundaries": bounds}


DRAWS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "constant_schedule": lambda rng: {"value": _lr(rng)},
    "linear_schedule": draw_linear,
    "polynomial_schedule": draw_polynomial,
    "exponential_decay": draw_exponential,
    "cosine_decay_schedule": draw_cosine,
    "warmup_cosine_decay_schedule": draw_warmup_cosine,
    "warmup_exponential_decay_schedule": draw_warmup_exponential,
    "warmup_constant_schedule": draw_warmup_constant,
    "piecewise_constant_schedule": draw_piecewise_constant,
    "piecewise_interpolate_schedule": draw_piecewise_interpolate,
    "linear_onecycle_schedule": draw_linear_onecycle,
    "cosine_onecycle_schedule": draw_cosine_onecycle,
    "sgdr_schedule": draw_sgdr,
    "join_schedules": draw_join,
}


def peer_horizon(name: str, kw: dict[str, Any]) -> float:
    """A count from which optax's value no longer changes (exponentials: a few decay periods)."""
    if name in ("linear_schedule", "polynomial_schedule"):
        return kw.get("transition_begin", 0) + max(kw["transition_steps"], 0)
    if name == "exponential_decay":
        return kw.get("transition_begin", 0) + 4 * kw["transition_steps"]
    if name == "warmup_exponential_decay_schedule":
        return kw["warmup_steps"] + kw.get("transition_begin", 0) + 4 * kw["transition_steps"]
    if name in ("cosine_decay_schedule", "warmup_cosine_decay_schedule"):
        return kw["decay_steps"]
    if name == "warmup_constant_schedule":
        return kw["warmup_steps"]
    if name in ("piecewise_constant_schedule", "piecewise_interpolate_schedule"):
        return max(kw.get("boundaries_and_scales") or {0: 0})
    if name in ("linear_onecycle_schedule", "cosine_onecycle_schedule"):
        return kw["transition_steps"]
    if name == "sgdr_schedule":
        return sum(c["decay_steps"] for c in kw["cosine_kwargs"])
    if name == "join_schedules":
        last = kw["boundaries"][-1] if kw["boundaries"] else 0
        return last + peer_horizon(*kw["schedules"][-1])
    return 0.0


# Hand-picked edge cases: small totals, zero-length phases optax allows, boundaries at 0 and 1 apart.
EDGES: dict[str, list[dict[str, Any]]] = {
    "constant_schedule": [{"value": 0.0}, {"value": 3}],
    "linear_schedule": [
        {"init_value": 1.0, "end_value": 0.0, "transition_steps": 1},
        {"init_value": 0.0, "end_value": 1.0, "transition_steps": 3, "transition_begin": 1},
        {"init_value": 0.5, "end_value": 0.5, "transition_steps": 10},
        {"init_value": 0.3, "end_value": 0.1, "transition_steps": 0},  # optax: constant init_value
        {"init_value": 0.3, "end_value": 0.1, "transition_steps": -4, "transition_begin": 7},
    ],
    "polynomial_schedule": [
        {"init_value": 1.0, "end_value": 0.01, "power": 2, "transition_steps": 1},
        {"init_value": 1.0, "end_value": 0.0, "power": 0.5, "transition_steps": 2, "transition_begin": 2},
        {"init_value": 0.1, "end_value": 0.2, "power": 3, "transition_steps": 0},
    ],
    "exponential_decay": [
        {"init_value": 1.0, "transition_steps": 1, "decay_rate": 0.5},
        {"init_value": 1.0, "transition_steps": 1, "decay_rate": 0.5, "staircase": True, "end_value": 0.125},
        {"init_value": 1.0, "transition_steps": 3, "decay_rate": 1.0, "end_value": 2.0},
        {"init_value": 1.0, "transition_steps": 3, "decay_rate": 2.0, "end_value": 5.0, "transition_begin": 4},
        {"init_value": 0.0, "transition_steps": 2, "decay_rate": 0.5},
        {"init_value": 0.1, "transition_steps": 2.5, "decay_rate": 0.9, "staircase": True, "transition_begin": 1},
    ],
    "cosine_decay_schedule": [
        {"init_value": 1.0, "decay_steps": 1},
        {"init_value": 1.0, "decay_steps": 2, "alpha": 1.0},
        {"init_value": 1.0, "decay_steps": 0.5, "alpha": 0.5, "exponent": 2},
        {"init_value": 0.0, "decay_steps": 5},
    ],
    "warmup_cosine_decay_schedule": [
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0, "decay_steps": 1},
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 1, "decay_steps": 2},
        {"init_value": 0.5, "peak_value": 1.0, "warmup_steps": 9, "decay_steps": 10, "end_value": 1.0},
        {"init_value": 0.0, "peak_value": 0.0, "warmup_steps": 3, "decay_steps": 10},
        {"init_value": 1.0, "peak_value": 1.0, "warmup_steps": 5, "decay_steps": 6.5, "exponent": 0.5},
    ],
    "warmup_exponential_decay_schedule": [
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0, "transition_steps": 1, "decay_rate": 0.5},
        {
            "init_value": 0.0,
            "peak_value": 1.0,
            "warmup_steps": 1,
            "transition_steps": 2,
            "decay_rate": 0.5,
            "transition_begin": 3,
            "staircase": True,
            "end_value": 0.1,
        },
    ],
    "warmup_constant_schedule": [
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 1},
        {"init_value": 1.0, "peak_value": 1.0, "warmup_steps": 4},
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0.5},
    ],
    "piecewise_constant_schedule": [
        {"init_value": 1.0},
        {"init_value": 1.0, "boundaries_and_scales": None},
        {"init_value": 1.0, "boundaries_and_scales": {}},
        {"init_value": 1.0, "boundaries_and_scales": {0: 0.5}},
        {"init_value": 1.0, "boundaries_and_scales": {1: 0.5, 2: 0.5, 3: 0.0, 4: 3.0}},
        {"init_value": 1.0, "boundaries_and_scales": {10: 0.1, 5: 0.2, 0: 2.0}},
    ],
    "piecewise_interpolate_schedule": [
        {"interpolate_type": "linear", "init_value": 1.0, "boundaries_and_scales": None},
        {"interpolate_type": "cosine", "init_value": 1.0, "boundaries_and_scales": {0: 0.5}},
        {"interpolate_type": "linear", "init_value": 1.0, "boundaries_and_scales": {1: 0.5, 2: 0.5, 3: 0.0}},
        {"interpolate_type": "cosine", "init_value": 1.0, "boundaries_and_scales": {0: 2.0, 1: 0.5, 7: 0.1}},
        {"interpolate_type": "linear", "init_value": 1.0, "boundaries_and_scales": {4: 0.1, 8: 0.01}},
    ],
    "linear_onecycle_schedule": [
        {"transition_steps": 2, "peak_value": 1.0},
        {"transition_steps": 3, "peak_value": 1.0},
        {"transition_steps": 7, "peak_value": 1.0},
        {"transition_steps": 10, "peak_value": 1.0, "pct_start": 0.0, "pct_final": 0.9},
        {"transition_steps": 100.0, "peak_value": 0.1},
    ],
    "cosine_onecycle_schedule": [
        {"transition_steps": 1, "peak_value": 1.0},
        {"transition_steps": 2, "peak_value": 1.0},
        {"transition_steps": 10, "peak_value": 1.0, "pct_start": 0.0},
        {"transition_steps": 10, "peak_value": 1.0, "pct_start": 0.95},
        {"transition_steps": 100, "peak_value": 0.1},
    ],
    "sgdr_schedule": [
        {"cosine_kwargs": [{"init_value": 1.0, "peak_value": 1.0, "warmup_steps": 0, "decay_steps": 1}] * 3},
        {
            "cosine_kwargs": [
                {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 2, "decay_steps": 10, "end_value": 0.1},
                {"init_value": 0.1, "peak_value": 0.5, "warmup_steps": 0, "decay_steps": 20},
            ]
        },
    ],
    "join_schedules": [
        {"schedules": [("constant_schedule", {"value": 1.0})], "boundaries": []},
        {
            "schedules": [("constant_schedule", {"value": 1.0}), ("constant_schedule", {"value": 2.0})],
            "boundaries": [0],
        },
        {
            "schedules": [
                ("linear_schedule", {"init_value": 0.0, "end_value": 1.0, "transition_steps": 10}),
                ("constant_schedule", {"value": 1.0}),
                ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 20}),
            ],
            "boundaries": [10, 11],
        },
        {
            "schedules": [
                ("constant_schedule", {"value": 0.5}),
                ("join_schedules", {"schedules": [("constant_schedule", {"value": 1.0})] * 2, "boundaries": [3]}),
            ],
            "boundaries": [1.5],
        },
    ],
}


def configs(name: str) -> list[dict[str, Any]]:
    rng = np.random.default_rng(sorted(DRAWS).index(name))
    return EDGES[name] + [DRAWS[name](rng) for _ in range(RANDOM_CONFIGS)]


def compare(name: str, kw: dict[str, Any]) -> dict[str, float]:
    """Check one configuration in every evaluation path; return the largest relative differences."""
    s = lr.from_optax(name, **kw)
    h = peer_horizon(name, kw)
    n = steps_to_compare(h)
    ints = np.arange(n)
    grid = np.concatenate([ints, ints + 0.5]).astype(float)
    both = optax_values(name, kw, grid, x64=True)
    stairs = np.isin(grid, stair_counts(name, kw))
    alt = np.where(stairs, s(np.maximum(grid - 1e-6, 0.0)), np.nan)  # the value just before the step
    ref, alt_int = both[:n], alt[:n]
    worst = check(
        s,
        f"{name}({kw})",
        Expected(ref, X64, alt=alt_int, paths=("array", "s(ndarray)", "s(t)"), scalar_at=landmarks(n, h)),
        Expected(both[n:], X64, start=0.5, alt=alt[n:], paths=("array", "s(ndarray)")),
        Expected(
            optax_values(name, kw, ints, x64=False),
            F32,
            alt=alt_int,
            slack=f32_slack(name, kw),
            paths=("array", "array(float32)"),
            label="float32",
        ),
        peer="optax",
    )
    worst["late"] = int(np.sum(stairs[:n] & (np.abs(s.array(n) - ref) > X64.rtol * np.abs(ref))))
    assert_round_trips(s, n)
    return worst


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_matches_optax(name: str) -> None:
    for kw in configs(name):
        compare(name, kw)


def test_every_optax_schedule_is_covered() -> None:
    not_schedules = {"inject_hyperparams", "inject_stateful_hyperparams"}
    names = {
        n
        for n in dir(optax.schedules)
        if not n.startswith("_") and callable(getattr(optax.schedules, n)) and n[0].islower()
    }
    assert names - not_schedules == set(DRAWS)
    for n in names - not_schedules:
        lr.from_optax(n, **DRAWS[n](np.random.default_rng(0)))


def test_nested_join_and_sgdr_compose() -> None:
    cycles = [{"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 2, "decay_steps": 10}] * 2
    s = lr.from_optax(
        "join_schedules",
        schedules=[("sgdr_schedule", {"cosine_kwargs": cycles}), ("constant_schedule", {"value": 0.25})],
        boundaries=[20],
    )
    assert s.horizon == 20
    assert s(0) == 0.0 and s(2) == 1.0 and s(12) == 1.0 and s(20) == 0.25


def test_staircase_steps_at_each_multiple_of_transition_steps() -> None:
    # optax documents `count / transition_steps` as an integer division under staircase=True.
    kw = {"init_value": 1.0, "transition_steps": 947, "decay_rate": 0.5, "staircase": True, "transition_begin": 3}
    s = lr.from_optax("exponential_decay", **kw)
    assert [s(3 + k * 947) for k in range(4)] == [1.0, 0.5, 0.25, 0.125]
    assert s(3 + 947 - 1) == 1.0
    with jax.enable_x64(True):
        assert float(optax.exponential_decay(**kw)(3 + 947)) == 0.5  # a scalar count divides exactly


def test_json_round_trip_keeps_values() -> None:
    s = lr.from_optax("warmup_cosine_decay_schedule", init_value=0.0, peak_value=1e-3, warmup_steps=10, decay_steps=100)
    assert_round_trips(s, 300)


W = "from_optax\\('{}'\\): "

# (name, kwargs, expected message, what optax raises when built and called at 0; None: it accepts them)
INVALID: list[tuple[str, dict[str, Any], str, type[Exception] | None]] = [
    (
        "cosine_decay_schedule",
        {"init_value": 1.0, "decay_steps": 0},
        "`decay_steps` must be > 0; got decay_steps=0",
        ValueError,
    ),
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 10, "decay_steps": 10},
        "`decay_steps` must be > warmup_steps=10 \\(it includes the warmup\\); got decay_steps=10",
        ValueError,
    ),
    (
        "linear_onecycle_schedule",
        {"transition_steps": 0, "peak_value": 1.0},
        "`transition_steps` must be > 0",
        ValueError,
    ),
    (
        "cosine_onecycle_schedule",
        {"transition_steps": -3, "peak_value": 1.0},
        "`transition_steps` must be > 0",
        ValueError,
    ),
    (
        "piecewise_constant_schedule",
        {"init_value": 1.0, "boundaries_and_scales": {5: -0.1}},
        "`boundaries_and_scales` must hold numbers >= 0",
        ValueError,
    ),
    (
        "piecewise_interpolate_schedule",
        {"interpolate_type": "quadratic", "init_value": 1.0},
        "`interpolate_type` must be one of 'linear', 'cosine'; got interpolate_type='quadratic'",
        ValueError,
    ),
    # optax logs and returns the constant init_value for these two; its docstring says "must".
    (
        "exponential_decay",
        {"init_value": 1.0, "transition_steps": 0, "decay_rate": 0.5},
        "`transition_steps` must be > 0; got transition_steps=0",
        None,
    ),
    (
        "exponential_decay",
        {"init_value": 1.0, "transition_steps": 5, "decay_rate": 0},
        "`decay_rate` must be > 0; got decay_rate=0",
        None,
    ),
    (
        "exponential_decay",
        {"init_value": 1.0, "transition_steps": 5, "decay_rate": 0.5, "transition_begin": -1},
        "`transition_begin` must be >= 0",
        None,
    ),
    (
        "exponential_decay",
        {"init_value": 1.0, "transition_steps": 5, "decay_rate": 0.5, "end_value": 2.0},
        "`end_value` must be <= init_value=1 \\(a floor, as decay_rate < 1\\); got end_value=2.0",
        None,
    ),
    (
        "warmup_exponential_decay_schedule",
        {
            "init_value": 0.0,
            "peak_value": 1.0,
            "warmup_steps": 5,
            "transition_steps": 5,
            "decay_rate": 2.0,
            "end_value": 0.5,
        },
        "`end_value` must be >= peak_value=1 \\(a ceiling, as decay_rate >= 1\\)",
        None,
    ),
    (
        "warmup_constant_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0},
        "`warmup_steps` must be > 0; got warmup_steps=0",
        None,
    ),
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 2.0, "peak_value": 1.0, "warmup_steps": 5, "decay_steps": 10},
        "`init_value` must be <= peak_value=1 \\(a warmup rises to its peak\\); got init_value=2.0",
        None,
    ),
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 5, "decay_steps": 10, "end_value": 1.5},
        "`end_value` must be <= peak_value=1",
        None,
    ),
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": -1, "decay_steps": 10},
        "`warmup_steps` must be >= 0",
        None,
    ),
    ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 5, "alpha": 1.5}, "`alpha` must be <= 1", None),
    ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 5, "alpha": -0.5}, "`alpha` must be >= 0", None),
    ("cosine_decay_schedule", {"init_value": 1.0, "decay_steps": 5, "exponent": 0}, "`exponent` must be > 0", None),
    (
        "polynomial_schedule",
        {"init_value": 1.0, "end_value": 0.0, "power": 0, "transition_steps": 5},
        "`power` must be > 0",
        None,
    ),
    (
        "linear_schedule",
        {"init_value": -1.0, "end_value": 0.0, "transition_steps": 5},
        "`init_value` must be >= 0",
        None,
    ),
    (
        "piecewise_constant_schedule",
        {"init_value": 1.0, "boundaries_and_scales": {-5: 0.1}},
        "`boundaries_and_scales` must hold numbers >= 0",
        None,
    ),
    (
        "piecewise_interpolate_schedule",
        {"interpolate_type": "linear", "init_value": 1.0, "boundaries_and_scales": {2: 0.5, 2.5: 0.1}},
        "`boundaries_and_scales` must have boundaries at least 1 apart",
        None,
    ),
    (
        "linear_onecycle_schedule",
        {"transition_steps": 1, "peak_value": 1.0},
        "`pct_final` must give int\\(pct_final \\* transition_steps\\) > int\\(pct_start \\* transition_steps\\) = 0",
        None,
    ),
    (
        "linear_onecycle_schedule",
        {"transition_steps": 10, "peak_value": 1.0, "pct_final": 1.0},
        "`pct_final` must give int\\(pct_final \\* transition_steps\\) < transition_steps=10",
        None,
    ),
    (
        "linear_onecycle_schedule",
        {"transition_steps": 100.5, "peak_value": 1.0},
        "`transition_steps` must be a whole number of steps",
        None,
    ),
    (
        "cosine_onecycle_schedule",
        {"transition_steps": 10, "peak_value": 1.0, "pct_start": 1.0},
        "`pct_start` must give int\\(pct_start \\* transition_steps\\) < transition_steps=10",
        None,
    ),
    ("sgdr_schedule", {"cosine_kwargs": []}, "`cosine_kwargs` must hold at least one dict", IndexError),
    (
        "join_schedules",
        {"schedules": [("constant_schedule", {"value": 1.0})] * 3, "boundaries": [5]},
        "`boundaries` must have len\\(schedules\\) - 1 = 2 elements; got boundaries=\\[5\\]",
        None,
    ),
    (
        "join_schedules",
        {"schedules": [("constant_schedule", {"value": 1.0})] * 3, "boundaries": [5, 5]},
        "`boundaries` must be strictly increasing",
        None,
    ),
    (
        "join_schedules",
        {"schedules": [("constant_schedule", {"value": 1.0})] * 2, "boundaries": [-1]},
        "`boundaries` must hold numbers >= 0",
        None,
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "message", "optax_raises"), INVALID)
def test_invalid_arguments_raise_with_our_message(
    name: str, kwargs: dict[str, Any], message: str, optax_raises: type[Exception] | None
) -> None:
    with pytest.raises(ValueError, match=W.format(name) + message):
        lr.from_optax(name, **kwargs)
    if optax_raises is None:  # optax accepts it (and logs, or computes what its docs rule out)
        optax_schedule(name, kwargs)(0)
    else:
        with pytest.raises(optax_raises):
            optax_schedule(name, kwargs)(0)


def test_optax_quirks_that_are_rejected_here() -> None:
    # What optax does with the arguments rejected above: a constant init_value, peak_value never reached.
    assert float(optax.exponential_decay(0.5, transition_steps=0, decay_rate=0.1)(100)) == 0.5
    assert float(optax.exponential_decay(0.5, transition_steps=10, decay_rate=0)(100)) == 0.5
    assert float(optax.warmup_constant_schedule(0.0, 1.0, warmup_steps=0)(100)) == 0.0
    # linear_onecycle with transition_steps=1: both phase boundaries truncate to 0 and the peak is dropped.
    f = optax.linear_onecycle_schedule(1, peak_value=1.0)
    assert max(float(f(t)) for t in range(3)) < 1.0 / 25


def test_argument_names_and_types_are_checked() -> None:
    with pytest.raises(TypeError, match=W.format("cosine_decay_schedule") + "unexpected argument\\(s\\) steps; "):
        lr.from_optax("cosine_decay_schedule", init_value=1.0, steps=10)
    with pytest.raises(
        TypeError, match="missing required argument\\(s\\) decay_steps; .* takes init_value, decay_steps"
    ):
        lr.from_optax("cosine_decay_schedule", init_value=1.0)
    with pytest.raises(TypeError, match="`init_value` must be a real number; got init_value=True"):
        lr.from_optax("cosine_decay_schedule", init_value=True, decay_steps=10)
    with pytest.raises(TypeError, match="`staircase` must be True or False"):
        lr.from_optax("exponential_decay", init_value=1.0, transition_steps=5, decay_rate=0.5, staircase=1)
    with pytest.raises(TypeError, match="`boundaries_and_scales` must be a dict"):
        lr.from_optax("piecewise_constant_schedule", init_value=1.0, boundaries_and_scales=[(5, 0.1)])
    with pytest.raises(TypeError, match="`schedules\\[0\\]` must be a \\(name, kwargs\\) pair"):
        lr.from_optax("join_schedules", schedules=["constant_schedule"], boundaries=[])
    with pytest.raises(TypeError, match="`name` must be a string"):
        lr.from_optax(optax.constant_schedule, value=1.0)  # type: ignore[arg-type]


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown schedule 'cosine_schedule'; known: constant_schedule, ") as info:
        lr.from_optax("cosine_schedule", init_value=1.0)
    for name in DRAWS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="'inject_hyperparams' is not a pure schedule; .*adapters.optax"):
        lr.from_optax("inject_hyperparams")
    with pytest.raises(ValueError, match="unknown schedule 'join_schedules_v2'"):
        lr.from_optax("join_schedules", schedules=[("join_schedules_v2", {})], boundaries=[])


def test_parse_reads_from_optax_calls() -> None:
    text = "from_optax('piecewise_constant_schedule', init_value=0.1, boundaries_and_scales={100: 0.5, 200: 0.5})"
    assert lr.parse(text) == lr.piecewise_constant(boundaries=[100, 200], values=[0.1, 0.05, 0.025])
