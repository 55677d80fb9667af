"""``lr.from_keras`` against Keras itself: random and edge-case configurations of every schedule class.

Keras computes in float32 (on the JAX backend, forced with ``jax.enable_x64(False)``
whatever other test modules configured), so values are compared with a relative
tolerance of 2e-5 plus an absolute floor of 1e-6 of the schedule's largest value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
from peers import Expected, Tolerance, assert_round_trips, check, draw_steps, jax_values, landmarks, steps_to_compare

import lrcore as lr

SCHEDULES = keras.optimizers.schedules

RANDOM_CONFIGS = 30
RTOL, ATOL = 2e-5, 1e-6
TOL = Tolerance(RTOL, ATOL)


def keras_values(name: str, kwargs: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """Keras' values at the integer steps t, as float64.

    vmap, because CosineDecay's warmup branch is an ``ops.cond`` on the step;
    op by op, with the int32 steps a Keras optimizer counts.
    """
    return jax_values(lambda: getattr(SCHEDULES, name)(**kwargs), t, x64=False, vmap=True)


def switch_alternatives(name: str, kw: dict[str, Any], s: lr.Schedule, t: np.ndarray) -> np.ndarray:
    """The values Keras' float32 arithmetic may land on at a jump of the schedule, NaN elsewhere.

    At a step where the exact quotient is a whole number, Keras' float32 may
    round it just past the jump: a staircase or a restart one step late (the
    value just before the jump), or, as PolynomialDecay divides by a Python
    number (a multiplication by its reciprocal), a cycle one step early (the
    value just after it).
    """
    alt = np.full(t.shape, np.nan)
    if name in ("ExponentialDecay", "InverseTimeDecay") and kw.get("staircase"):
        jumps, side = np.arange(1, t.size) * kw["decay_steps"], -1e-6
    elif name == "PolynomialDecay" and kw.get("cycle"):
        jumps, side = np.arange(1, t.size) * kw["decay_steps"], 1e-6
    elif name == "CosineDecayRestarts":
        period, mult = kw["first_decay_steps"], kw.get("t_mul", 2.0)
        lengths = period * mult ** np.arange(min(t.size, 200))
        jumps, side = np.cumsum(lengths), -1e-6
    else:
        return alt
    j = np.clip(np.searchsorted(jumps, t), 1, jumps.size - 1)
    hit = np.minimum(np.abs(jumps[j] - t), np.abs(jumps[j - 1] - t)) <= 1e-9 * np.maximum(t, 1)
    alt[hit] = s(np.maximum(t[hit] + side, 0.0))
    return alt


def f32_slack(name: str, kw: dict[str, Any]) -> float:
    """Keras divides the step by a constant decay_steps as a multiplication by its float32
    reciprocal, so ``1 - p`` can stay ~1e-7 where it should be 0 (at and after the end of
    PolynomialDecay); a power below 1 magnifies that to about ``(init - end) * (2.4e-7) ** power``."""
    if name == "PolynomialDecay" and kw.get("power", 1.0) < 1:
        drop = kw["initial_learning_rate"] - kw.get("end_learning_rate", 1e-4)
        return drop * 2.4e-7 ** kw["power"]
    return 0.0


# ---------------------------------------------------------------------------
# Random configurations per Keras class, and the step after which its value stops changing


def _lr(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(1e-4), np.log(2.0))))


def draw_exponential(rng: np.random.Generator) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "initial_learning_rate": _lr(rng),
        "decay_steps": draw_steps(rng),
        "decay_rate": float(rng.uniform(0.3, 0.99) if rng.random() < 0.8 else rng.uniform(1.01, 1.3)),
    }
    if rng.random() < 0.5:
        kw["staircase"] = True
    return kw


def draw_piecewise(rng: np.random.Generator) -> dict[str, Any]:
    k = int(rng.integers(1, 7))
    bounds = np.sort(rng.choice(np.arange(0, 400), size=k, replace=False))
    return {"boundaries": bounds.tolist(), "values": [_lr(rng) if rng.random() < 0.9 else 0.0 for _ in range(k + 1)]}


def draw_polynomial(rng: np.random.Generator) -> dict[str, Any]:
    init = _lr(rng)
    kw: dict[str, Any] = {"initial_learning_rate": init, "decay_steps": draw_steps(rng)}
    if init < 1e-4 or rng.random() < 0.7:  # else Keras' default end 1e-4
        kw["end_learning_rate"] = init * float(rng.choice([0.0, rng.uniform(0, 1)]))
    if rng.random() < 0.7:
        kw["power"] = float(rng.choice([2.0, 0.5, rng.uniform(0.3, 4)]))
    if rng.random() < 0.5:
        kw["cycle"] = True
    return kw


def draw_inverse_time(rng: np.random.Generator) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "initial_learning_rate": _lr(rng),
        "decay_steps": draw_steps(rng),
        "decay_rate": float(rng.uniform(0, 5)),
    }
    if rng.random() < 0.5:
        kw["staircase"] = True
    return kw


def draw_cosine(rng: np.random.Generator) -> dict[str, Any]:
    init = _lr(rng)
    kw: dict[str, Any] = {"initial_learning_rate": init, "decay_steps": draw_steps(rng)}
    if rng.random() < 0.6:
        kw["alpha"] = float(rng.uniform(0, 1))
    if rng.random() < 0.6:
        kw["initial_learning_rate"] = init * float(rng.choice([0.0, rng.uniform(0, 1)]))
        kw["warmup_target"] = init
        kw["warmup_steps"] = int(rng.integers(0, 200))
    return kw


def draw_restarts(rng: np.random.Generator) -> dict[str, Any]:
    kw: dict[str, Any] = {"initial_learning_rate": _lr(rng), "first_decay_steps": draw_steps(rng)}
    # Keras' float32 log(1 - f * (1 - t_mul)) loses digits for t_mul just above 1.
    kw["t_mul"] = float(rng.choice([1.0, 1.5, 2.0, 3.0, rng.uniform(1.2, 3)]))
    if rng.random() < 0.7:
        kw["m_mul"] = float(rng.uniform(0.3, 1.3))
    if rng.random() < 0.7:
        kw["alpha"] = float(rng.uniform(0, 1))
    return kw


DRAWS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "ExponentialDecay": draw_exponential,
    "PiecewiseConstantDecay": draw_piecewise,
    "PolynomialDecay": draw_polynomial,
    "InverseTimeDecay": draw_inverse_time,
    "CosineDecay": draw_cosine,
    "CosineDecayRestarts": draw_restarts,
}


def peer_horizon(name: str, kw: dict[str, Any]) -> float:
    """A step after which Keras' value no longer changes (decays and restarts: a few periods)."""
    if name in ("ExponentialDecay", "InverseTimeDecay"):
        return 5 * kw["decay_steps"]
    if name == "PiecewiseConstantDecay":
        return kw["boundaries"][-1] + 1
    if name == "PolynomialDecay":
        return kw["decay_steps"]
    if name == "CosineDecay":
        return kw["decay_steps"] + (kw.get("warmup_steps", 0) if kw.get("warmup_target") is not None else 0)
    period, mult = kw["first_decay_steps"], kw.get("t_mul", 2.0)
    return min(period * (1 + mult + mult**2 + mult**3), 6000.0)


# Hand-picked edge cases: one-step periods, boundaries at 0 and 1 apart, zero-length warmup, the defaults.
EDGES: dict[str, list[dict[str, Any]]] = {
    "ExponentialDecay": [
        {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 0.5},
        {"initial_learning_rate": 1.0, "decay_steps": 2.5, "decay_rate": 0.5, "staircase": True},
        {"initial_learning_rate": 1.0, "decay_steps": 3, "decay_rate": 1.0},
        {"initial_learning_rate": 0.0, "decay_steps": 3, "decay_rate": 0.5, "name": "exp"},
    ],
    "PiecewiseConstantDecay": [
        {"boundaries": [0], "values": [1.0, 0.5]},
        {"boundaries": [0, 1, 2], "values": [1.0, 0.5, 0.0, 2.0]},
        {"boundaries": [1000], "values": [0.1, 0.01]},
        {"boundaries": (5, 10), "values": (0.3, 0.2, 0.1), "name": "steps"},
    ],
    "PolynomialDecay": [
        {"initial_learning_rate": 1.0, "decay_steps": 1},
        {"initial_learning_rate": 1.0, "decay_steps": 1, "cycle": True, "end_learning_rate": 0.0},
        {"initial_learning_rate": 1.0, "decay_steps": 3, "cycle": True, "power": 0.3},
        {"initial_learning_rate": 0.5, "decay_steps": 10, "end_learning_rate": 0.5},
        {"initial_learning_rate": 1e-4, "decay_steps": 10},
    ],
    "InverseTimeDecay": [
        {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 0.0},
        {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 1.0, "staircase": True},
        {"initial_learning_rate": 1.0, "decay_steps": 2.5, "decay_rate": 3.0, "staircase": True},
    ],
    "CosineDecay": [
        {"initial_learning_rate": 1.0, "decay_steps": 1},
        {"initial_learning_rate": 1.0, "decay_steps": 10, "alpha": 1.0},
        {"initial_learning_rate": 0.0, "decay_steps": 1, "warmup_target": 1.0, "warmup_steps": 1},
        {"initial_learning_rate": 0.5, "decay_steps": 10, "warmup_target": 0.5, "warmup_steps": 5, "alpha": 0.1},
        {"initial_learning_rate": 0.5, "decay_steps": 10, "warmup_target": 1.0, "warmup_steps": 0},
        {"initial_learning_rate": 0.1, "decay_steps": 10, "warmup_steps": 50},  # no warmup_target: no warmup
        {"initial_learning_rate": 0.0, "decay_steps": 7.5, "warmup_target": 1.0, "warmup_steps": 2.5},
    ],
    "CosineDecayRestarts": [
        {"initial_learning_rate": 1.0, "first_decay_steps": 1, "t_mul": 1.0},
        {"initial_learning_rate": 1.0, "first_decay_steps": 1},
        {"initial_learning_rate": 1.0, "first_decay_steps": 4, "t_mul": 1.5, "m_mul": 0.0},
        {"initial_learning_rate": 1.0, "first_decay_steps": 10, "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.2},
        {"initial_learning_rate": 1.0, "first_decay_steps": 10, "alpha": 1.0},
        {"initial_learning_rate": 1.0, "first_decay_steps": 8, "t_mul": 1.5, "m_mul": 0.9, "alpha": 0.1},
        # A t_mul whose (t_mul - 1) does not divide back exactly: the second cycle still starts at step 10.
        {"initial_learning_rate": 1.0, "first_decay_steps": 10, "t_mul": 1.4543151870667594, "m_mul": 0.7},
    ],
}


def configs(name: str) -> list[dict[str, Any]]:
    rng = np.random.default_rng(100 + sorted(DRAWS).index(name))
    return EDGES[name] + [DRAWS[name](rng) for _ in range(RANDOM_CONFIGS)]


def compare(name: str, kw: dict[str, Any]) -> dict[str, float]:
    """Check one configuration in every evaluation path; return the largest relative differences."""
    s = lr.from_keras(name, **kw)
    h = peer_horizon(name, kw)
    n = steps_to_compare(h)
    t = np.arange(n)
    ref = keras_values(name, kw, t)
    alt = switch_alternatives(name, kw, s, t)
    worst = check(
        s,
        f"{name}({kw})",
        Expected(
            ref,
            TOL,
            alt=alt,
            slack=f32_slack(name, kw),
            paths=("array", "s(ndarray)", "array(float32)", "s(t)"),
            scalar_at=landmarks(n, h),
        ),
        peer="Keras",
    )
    assert_round_trips(s, n)
    # A Keras schedule's config converts to the same schedule.
    keras_schedule = getattr(SCHEDULES, name)(**kw)
    assert lr.from_keras(type(keras_schedule).__name__, **keras_schedule.get_config()) == s
    worst["switch"] = int(np.sum(~np.isnan(alt) & (np.abs(s.array(n) - ref) > RTOL * np.abs(ref))))
    return worst


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_matches_keras(name: str) -> None:
    for kw in configs(name):
        compare(name, kw)


def test_every_keras_schedule_is_covered() -> None:
    base = SCHEDULES.LearningRateSchedule
    names = {
        n
        for n in dir(SCHEDULES)
        if isinstance(getattr(SCHEDULES, n), type) and issubclass(getattr(SCHEDULES, n), base) and n != base.__name__
    }
    assert names == set(DRAWS)


def test_piecewise_switches_one_step_after_the_boundary() -> None:
    kw = {"boundaries": [5, 8], "values": [1.0, 0.5, 0.25]}
    s = lr.from_keras("PiecewiseConstantDecay", **kw)
    np.testing.assert_array_equal(keras_values("PiecewiseConstantDecay", kw, np.arange(4, 11)), s.array(7, start=4))
    assert (s(5), s(6), s(8), s(9)) == (1.0, 0.5, 0.5, 0.25)


def test_restarts_floor_is_not_scaled_by_m_mul() -> None:
    # Keras: init * ((1 - alpha) * m_mul**i * c + alpha): late cycles bottom out at alpha * init.
    kw = {"initial_learning_rate": 1.0, "first_decay_steps": 10, "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.2}
    s = lr.from_keras("CosineDecayRestarts", **kw)
    assert s(30) == pytest.approx(0.2 + 0.8 * 0.125)
    assert s(39.999999) == pytest.approx(0.2)
    assert keras_values("CosineDecayRestarts", kw, np.array([30]))[0] == pytest.approx(0.3, rel=RTOL)


@pytest.mark.parametrize("t_mul", [1.45, 1.49, 1.81, 2.62, 1.4543151870667594])
def test_restarts_second_cycle_starts_at_first_decay_steps(t_mul: float) -> None:
    kw = {"initial_learning_rate": 1.0, "first_decay_steps": 10, "t_mul": t_mul, "m_mul": 0.5}
    s = lr.from_keras("CosineDecayRestarts", **kw)
    assert s(10) == pytest.approx(0.5)  # the peak of cycle 1, init * m_mul
    assert keras_values("CosineDecayRestarts", kw, np.array([10]))[0] == pytest.approx(0.5, rel=RTOL)


def test_json_round_trip_keeps_values() -> None:
    s = lr.from_keras("CosineDecay", initial_learning_rate=0.0, decay_steps=90, warmup_target=1e-3, warmup_steps=10)
    assert_round_trips(s, 300)


W = "from_keras\\('{}'\\): "

# (name, kwargs, expected message, what Keras raises when built and called at 0; None: it accepts them)
INVALID: list[tuple[str, dict[str, Any], str, type[Exception] | None]] = [
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5},
        "`decay_steps` must be > 0; got decay_steps=0",
        ValueError,
    ),
    (
        "PolynomialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": -1},
        "`decay_steps` must be > 0; got decay_steps=-1",
        ValueError,
    ),
    (
        "InverseTimeDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5},
        "`decay_steps` must be > 0",
        ValueError,
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 0}, "`decay_steps` must be > 0", ValueError),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 0},
        "`first_decay_steps` must be > 0; got first_decay_steps=0",
        ValueError,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [5], "values": [1.0]},
        "`values` must have len\\(boundaries\\) \\+ 1 = 2 elements; got values=\\[1.0\\]",
        ValueError,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [], "values": [1.0]},
        "`boundaries` must have at least 1 element",
        IndexError,
    ),
    # Keras' name scope rejects these when the schedule is called.
    (
        "CosineDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "name": "a/b"},
        "`name` must not contain '/'",
        ValueError,
    ),
    # Keras accepts these.
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.0},
        "`decay_rate` must be > 0; got decay_rate=0.0",
        None,
    ),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": -0.5},
        "`decay_rate` must be > 0",
        None,
    ),
    (
        "InverseTimeDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": -0.5},
        "`decay_rate` must be >= 0",
        None,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [10, 5], "values": [1.0, 0.5, 0.1]},
        "`boundaries` must be strictly increasing",
        None,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [-1], "values": [1.0, 0.5]},
        "`boundaries` must hold numbers >= 0",
        None,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [2.5], "values": [1.0, 0.5]},
        "`boundaries` must hold whole numbers",
        None,
    ),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [5], "values": [1.0, -0.5]},
        "`values` must hold numbers >= 0",
        None,
    ),
    (
        "PolynomialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "power": 0.0},
        "`power` must be > 0",
        None,
    ),
    (
        "PolynomialDecay",
        {"initial_learning_rate": 1e-5, "decay_steps": 5},
        "`end_learning_rate` must be <= initial_learning_rate=1e-05 \\(use lr.polynomial for a rising ramp\\); "
        "got end_learning_rate=0.0001",
        None,
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "alpha": 1.5}, "`alpha` must be <= 1", None),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "alpha": -0.1}, "`alpha` must be >= 0", None),
    (
        "CosineDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "warmup_target": 0.01, "warmup_steps": 3},
        "`warmup_target` must be >= initial_learning_rate=0.1 \\(a warmup rises to its target\\); "
        "got warmup_target=0.01",
        None,
    ),
    (
        "CosineDecay",
        {"initial_learning_rate": 0.0, "decay_steps": 5, "warmup_target": 0.1, "warmup_steps": -3},
        "`warmup_steps` must be >= 0",
        None,
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": 0.5},
        "`t_mul` must be >= 1; got t_mul=0.5",
        None,
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 5, "m_mul": -1.0},
        "`m_mul` must be >= 0",
        None,
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 5, "alpha": 2.0},
        "`alpha` must be <= 1",
        None,
    ),
    (
        "InverseTimeDecay",
        {"initial_learning_rate": -0.1, "decay_steps": 5, "decay_rate": 0.5},
        "`initial_learning_rate` must be >= 0",
        None,
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "message", "keras_raises"), INVALID)
def test_invalid_arguments_raise_with_our_message(
    name: str, kwargs: dict[str, Any], message: str, keras_raises: type[Exception] | None
) -> None:
    with pytest.raises((ValueError, TypeError), match=W.format(name) + message):
        lr.from_keras(name, **kwargs)
    if keras_raises is None:
        getattr(SCHEDULES, name)(**kwargs)(0)
    else:
        with pytest.raises(keras_raises):
            getattr(SCHEDULES, name)(**kwargs)(0)


def test_keras_quirks_that_are_rejected_here() -> None:
    # keras#18747: PolynomialDecay climbs to an end above the start, CosineDecay "warms up" downwards.
    rising = SCHEDULES.PolynomialDecay(1e-5, decay_steps=10)
    assert float(rising(10)) == pytest.approx(1e-4)
    falling = SCHEDULES.CosineDecay(0.1, decay_steps=10, warmup_target=0.01, warmup_steps=5)
    assert float(falling(5)) == pytest.approx(0.01)
    # t_mul < 1: the shrinking periods sum to 10 / (1 - 0.5) = 20 steps, after which Keras gives NaN.
    assert math.isnan(float(SCHEDULES.CosineDecayRestarts(0.1, 10, t_mul=0.5)(25)))


def test_argument_names_and_types_are_checked() -> None:
    with pytest.raises(TypeError, match=W.format("CosineDecay") + "unexpected argument\\(s\\) warmup_lr; "):
        lr.from_keras("CosineDecay", initial_learning_rate=0.1, decay_steps=10, warmup_lr=0.0)
    with pytest.raises(TypeError, match="missing required argument\\(s\\) decay_steps, decay_rate; "):
        lr.from_keras("ExponentialDecay", initial_learning_rate=0.1)
    with pytest.raises(TypeError, match="`staircase` must be True or False; got staircase=1"):
        lr.from_keras("InverseTimeDecay", initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=1)
    with pytest.raises(TypeError, match="`name` must be a string; got name=None"):
        lr.from_keras("CosineDecay", initial_learning_rate=0.1, decay_steps=10, name=None)
    with pytest.raises(ValueError, match="must be a string"):  # Keras' name scope, when called
        SCHEDULES.CosineDecay(0.1, decay_steps=10, name=None)(0)
    with pytest.raises(TypeError, match="`initial_learning_rate` must be a real number"):
        lr.from_keras("CosineDecay", initial_learning_rate="0.1", decay_steps=10)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown schedule 'CosineAnnealing'; known: CosineDecay, ") as info:
        lr.from_keras("CosineAnnealing", initial_learning_rate=0.1)
    for name in DRAWS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="'LearningRateSchedule' is not a pure schedule; .*lr.custom"):
        lr.from_keras("LearningRateSchedule")
    with pytest.raises(ValueError, match="'ReduceLROnPlateau' is not a pure schedule; .*lr.Plateau"):
        lr.from_keras("ReduceLROnPlateau", factor=0.5)


def test_parse_reads_from_keras_calls() -> None:
    text = "from_keras('PiecewiseConstantDecay', boundaries=[100, 200], values=[0.1, 0.05, 0.01], name='lr')"
    assert lr.parse(text) == lr.piecewise_constant(boundaries=[101, 201], values=[0.1, 0.05, 0.01])
