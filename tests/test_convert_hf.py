"""from_hf against transformers.get_scheduler, stepped for real on a torch SGD optimizer."""

from __future__ import annotations

import random
import warnings
import zlib
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from peers import Expected, Tolerance, assert_round_trips, check

import lrcore as lr
from lrcore.convert._hf import BUILDERS, METRIC_DRIVEN

TOL = Tolerance(rtol=1e-9, atol=1e-12)  # atol times lr: the floor for values that are (almost) 0
DRAWS = 30
CONSTANT_WARNS = (
    "from_hf('constant'): transformers ignores num_warmup_steps={} for this name, so no warmup happens; "
    "use 'constant_with_warmup' for a warmup"
)

Config = tuple[float, int | None, int | None, dict[str, Any]]


def peer_values(name: str, base: float, warmup: int | None, total: int | None, kwargs: dict[str, Any], n: int):
    """The optimizer's lr before each of n updates under transformers' scheduler."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WSD warns when both num_training_steps and num_stable_steps are given
        sched = transformers.get_scheduler(
            name, opt, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=dict(kwargs)
        )
    opt.step()  # no gradients: a no-op that keeps torch from warning about the call order
    out = np.empty(n)
    for t in range(n):
        out[t] = opt.param_groups[0]["lr"]
        sched.step()
    return out


def span(name: str, warmup: int | None, total: Any, kwargs: dict[str, Any]) -> int:
    """Steps to compare: three times the schedule's length (and more for the periodic ones)."""
    w = warmup or 0
    if name == "warmup_stable_decay":
        stable = kwargs.get("num_stable_steps")
        end = w + kwargs["num_decay_steps"] + (stable if stable is not None else total - w - kwargs["num_decay_steps"])
    elif name == "inverse_sqrt":
        end = w + (kwargs.get("timescale") or w or 100)
    else:
        end = max(total or 0, w, 1)
    return 3 * end + 5


def restart_slips(name: str, warmup: int | None, total: Any, kwargs: dict[str, Any], n: int) -> set[int]:
    """Steps where transformers' own float product ``num_cycles * p`` misses a whole number that the exact
    ``num_cycles * (t - W) / (T - W)`` hits: there transformers ends a cycle where it should restart
    (49 * (1 / 49) is 0.9999999999999999).  lrcore restarts; these steps are checked apart."""
    if name != "cosine_with_restarts":
        return set()
    w, nc = warmup or 0, kwargs.get("num_cycles", 1)
    length = max(1, total - w)
    slips = set()
    for t in range(w, min(n, w + length)):
        exact = Fraction(nc) * (t - w) / length
        if exact.denominator == 1 and (nc * ((t - w) / length)) % 1.0 != 0.0:
            slips.add(t)
    return slips


def ignored(name: str, warmup: int | None, total: int | None, kwargs: dict[str, Any]) -> list[str]:
    """The warnings from_hf gives, in order: one per setting that transformers ignores although it would matter
    (test_transformers_ignores_these shows transformers ignoring each); none for anything else."""
    out = []
    if name == "constant" and warmup:
        out.append(CONSTANT_WARNS.format(warmup))
    if name == "warmup_stable_decay":
        stable, decay = kwargs.get("num_stable_steps"), kwargs["num_decay_steps"]
        if stable is not None and total is not None and total != (warmup or 0) + stable + decay:
            out.append(
                f"from_hf('warmup_stable_decay'): transformers ignores num_training_steps={total} "
                f"when num_stable_steps={stable} is given"
            )
        cycles = kwargs.get("num_cycles", 0.5)
        if kwargs.get("decay_type", "cosine") != "cosine" and cycles != 0.5:
            out.append(
                f"from_hf('warmup_stable_decay'): transformers ignores num_cycles={cycles!r} "
                f"with decay_type={kwargs['decay_type']!r}, so it changes nothing"
            )
    return out


def build(name: str, config: Config) -> lr.Schedule:
    """from_hf, asserting it warns exactly as `ignored` says (and at the caller's line)."""
    base, warmup, total, kwargs = config
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = lr.from_hf(name, base, warmup, total, **kwargs)
    expected = ignored(name, warmup, total, kwargs)
    got = [str(w.message) for w in caught]
    assert len(got) == len(expected) and all(g.startswith(e) for g, e in zip(got, expected, strict=True)), (
        name,
        config,
        got,
    )
    assert all(w.category is UserWarning and w.filename == __file__ for w in caught), caught
    return s


def compare(name: str, config: Config) -> dict[str, float]:
    """Assert s(t), s(ndarray) and s.array(n) match transformers (but at its restart slips) and that from_hf
    warns where transformers ignores a setting; return the largest relative differences."""
    base, warmup, total, kwargs = config
    n = span(name, warmup, total, kwargs)
    ref = peer_values(name, base, warmup, total, kwargs, n)
    s = build(name, config)
    slips = np.isin(np.arange(n), list(restart_slips(name, warmup, total, kwargs, n)))
    return check(s, f"{name} {config}", Expected(ref, TOL, scale=base, skip=slips), peer="transformers")


# ---------------------------------------------------------------------------
# Parameter sets: random ones with a fixed seed per name, then hand-picked edge cases.


def draw(name: str, rng: random.Random) -> Config:
    base = 10 ** rng.uniform(-5, 0)
    total = rng.choice([rng.randint(1, 12), rng.randint(1, 300)])
    warmup = rng.choice([0, 1, rng.randint(0, total)])
    cycles = rng.choice([0.5, rng.uniform(0, 3), rng.randint(1, 4) / 2])
    if name == "constant":
        return base, rng.choice([None, warmup]), rng.choice([None, total]), {}
    if name == "constant_with_warmup":
        return base, warmup, None, {}
    if name in ("linear", "cosine"):
        return base, warmup, total, {} if name == "linear" else {"num_cycles": cycles}
    if name == "cosine_with_restarts":
        return base, warmup, total, {"num_cycles": rng.choice([1, rng.randint(1, 12), rng.randint(1, 20) / 4])}
    if name == "polynomial":
        total = max(total, 2)
        warmup = rng.choice([0, 1, rng.randint(0, total - 1)])
        return (
            base,
            warmup,
            total,
            {"lr_end": base * rng.choice([0.0, rng.uniform(0, 0.99)]), "power": rng.uniform(0.1, 4)},
        )
    if name == "inverse_sqrt":
        return base, warmup, None, {} if rng.random() < 0.5 else {"timescale": rng.randint(1, 500)}
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs: dict[str, Any] = {"num_cycles": cycles}
        if rng.random() < 0.5:
            kwargs["min_lr_rate"] = rng.uniform(0, 1)
        else:
            kwargs["min_lr"] = base * rng.uniform(0, 1)
        if name == "cosine_warmup_with_min_lr" and rng.random() < 0.5:
            kwargs["warmup_lr_rate"] = rng.uniform(0, 1)
        return base, warmup, total, kwargs
    assert name == "warmup_stable_decay"
    decay = rng.randint(0, total - warmup)
    kwargs = {
        "num_decay_steps": decay,
        "warmup_type": rng.choice(["linear", "cosine", "1-sqrt"]),
        "decay_type": rng.choice(["linear", "cosine", "1-sqrt"]),
        "min_lr_ratio": rng.choice([0.0, rng.uniform(0, 1)]),
        "num_cycles": cycles,
    }
    if rng.random() < 0.3:
        kwargs["num_stable_steps"] = rng.randint(1, 100)
        return base, warmup, rng.choice([None, total]), kwargs
    return base, warmup, total, kwargs


EDGES: dict[str, list[Config]] = {
    "constant": [(0.1, None, None, {}), (0.1, 100, 10, {})],
    "constant_with_warmup": [(0.1, 0, None, {}), (0.1, 1, None, {}), (0.1, 7, 3, {})],
    "linear": [(0.1, 0, 1, {}), (0.1, 1, 1, {}), (0.1, 5, 5, {}), (0.1, 1, 2, {}), (0.3, 0, 3, {})],
    "cosine": [
        (0.1, 0, 1, {}),
        (0.1, 4, 4, {}),
        (0.1, 2, 10, {"num_cycles": 0.0}),
        (0.1, 3, 11, {"num_cycles": 1.5}),
        (0.1, 0, 7, {"num_cycles": 2.0}),
    ],
    "cosine_with_restarts": [
        (0.1, 0, 1, {}),
        (0.1, 3, 3, {"num_cycles": 2}),
        (0.1, 2, 10, {"num_cycles": 0}),
        (0.1, 1, 8, {"num_cycles": 3}),
        (0.1, 0, 20, {"num_cycles": 2.5}),
        (0.1, 0, 22, {"num_cycles": 22}),  # transformers slips at t = 15 (see restart_slips)
    ],
    "polynomial": [
        (0.1, 0, 1, {}),
        (0.1, 4, 5, {"power": 2.0}),
        (0.1, 0, 10, {"lr_end": 0.0, "power": 0.5}),
        (1.0, 2, 9, {"lr_end": 0.5}),
    ],
    "inverse_sqrt": [(0.1, 0, None, {}), (0.1, 1, None, {}), (0.1, 0, None, {"timescale": 3}), (0.1, 5, 9, {})],
    "cosine_with_min_lr": [
        (0.1, 0, 1, {"min_lr_rate": 0.0}),
        (0.1, 5, 5, {"min_lr": 0.01}),
        (0.1, 2, 12, {"min_lr_rate": 1.0}),
        (0.1, 1, 12, {"min_lr": 0.1, "num_cycles": 1.25}),
    ],
    "cosine_warmup_with_min_lr": [
        (0.1, 0, 1, {"min_lr_rate": 0.1}),
        (0.1, 1, 6, {"min_lr_rate": 0.1}),
        (0.1, 1, 6, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.3}),
        (0.1, 2, 6, {"min_lr": 0.02, "warmup_lr_rate": 0.0}),
        (0.1, 6, 6, {"min_lr_rate": 0.0, "warmup_lr_rate": 1.0}),
        (0.1, 3, 9, {"min_lr_rate": 0.2, "num_cycles": 0.0}),
    ],
    "warmup_stable_decay": [
        (0.1, 0, 10, {"num_decay_steps": 0}),
        (0.1, 3, 10, {"num_decay_steps": 7}),
        (0.1, 0, 1, {"num_decay_steps": 1, "decay_type": "1-sqrt"}),
        (0.1, 2, None, {"num_decay_steps": 4, "num_stable_steps": 3, "warmup_type": "1-sqrt"}),
        (0.1, 2, 50, {"num_decay_steps": 4, "num_stable_steps": 3, "warmup_type": "cosine"}),
        (0.1, 0, 6, {"num_decay_steps": 6, "num_cycles": 1.0, "min_lr_ratio": 0.25}),
        (0.1, 1, 9, {"num_decay_steps": 4, "num_cycles": 0.0, "min_lr_ratio": 1.0}),
    ],
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_matches_transformers(name: str) -> None:
    rng = random.Random(zlib.crc32(name.encode()))
    configs = [draw(name, rng) for _ in range(DRAWS)] + EDGES[name]
    for config in configs:
        compare(name, config)


def test_every_transformers_name_is_converted_or_refused() -> None:
    names = {member.value for member in transformers.SchedulerType}
    assert names == set(BUILDERS) | set(METRIC_DRIVEN)


def test_scheduler_type_enum_is_a_name() -> None:
    s = lr.from_hf(transformers.SchedulerType.LINEAR, 0.1, 2, 10)
    assert s == lr.from_hf("linear", 0.1, 2, 10)


def test_restart_slip_is_transformers_rounding() -> None:
    # 22 cycles over 22 steps restart at every step; transformers computes 22 * (15 / 22) = 14.999999999999998
    # and so sits at the end of a cycle at t = 15, where lrcore restarts as at every other step.
    ref = peer_values("cosine_with_restarts", 1.0, 0, 22, {"num_cycles": 22}, 22)
    s = lr.from_hf("cosine_with_restarts", 1.0, 0, 22, num_cycles=22)
    assert ref[14] == 1.0 and ref[16] == 1.0 and ref[15] < 1e-20
    assert s(15) == 1.0
    assert restart_slips("cosine_with_restarts", 0, 22, {"num_cycles": 22}, 22) == {15}


# ---------------------------------------------------------------------------
# Settings transformers ignores: the values stay transformers', and from_hf warns


@pytest.mark.parametrize(("warmup", "total"), [(10, None), (10, 100), (1, 1), (100, 10)])
def test_constant_ignores_the_warmup_and_from_hf_warns_once(warmup: int, total: int | None) -> None:
    # What an HF Trainer with lr_scheduler_type="constant" and warmup_steps=10 builds: no warmup at all.
    ref = peer_values("constant", 0.1, warmup, total, {}, warmup + 5)
    assert (ref == 0.1).all()
    assert peer_values("constant_with_warmup", 0.1, warmup, total, {}, 1)[0] == 0.0  # the name that warms up
    with pytest.warns(UserWarning) as record:
        s = lr.from_hf("constant", 0.1, num_warmup_steps=warmup, num_training_steps=total)
    assert [str(w.message) for w in record] == [CONSTANT_WARNS.format(warmup)]
    assert record[0].filename == __file__  # points at the call, not into lrcore
    assert np.array_equal(s.array(warmup + 5), ref) and s == lr.constant(value=0.1)


def test_transformers_ignores_these() -> None:
    """The golden side of `ignored`: each setting it warns about changes nothing in transformers."""
    n = 40
    wsd = {"num_decay_steps": 4, "num_stable_steps": 3}
    assert np.array_equal(
        peer_values("warmup_stable_decay", 0.1, 2, 30, wsd, n), peer_values("warmup_stable_decay", 0.1, 2, None, wsd, n)
    )  # T = 30, not 2 + 3 + 4
    for decay in ("linear", "1-sqrt"):
        kwargs = {"num_decay_steps": 6, "decay_type": decay}
        assert np.array_equal(
            peer_values("warmup_stable_decay", 0.1, 2, 12, {**kwargs, "num_cycles": 2.0}, n),
            peer_values("warmup_stable_decay", 0.1, 2, 12, kwargs, n),
        )
        build("warmup_stable_decay", (0.1, 2, 12, {**kwargs, "num_cycles": 2.0}))
    build("warmup_stable_decay", (0.1, 2, 30, wsd))
    build("constant", (0.1, 10, 100, {}))


NO_WARNING = [
    # What a Trainer passes (W from warmup_steps or 0, T always), and the cases next to the warned ones.
    ("constant", 0.1, 0, 100, {}),
    ("constant", 0.1, None, None, {}),
    ("constant_with_warmup", 0.1, 10, 100, {}),  # T is ignored by design: Trainer always passes it
    ("constant_with_warmup", 0.1, 10, None, {}),
    ("inverse_sqrt", 0.1, 10, 100, {}),  # likewise
    ("linear", 0.1, 10, 100, {}),
    ("cosine", 0.1, 10, 100, {"num_cycles": 2.0}),
    ("cosine_with_restarts", 0.1, 10, 100, {"num_cycles": 3}),
    ("polynomial", 0.1, 10, 100, {"power": 2.0}),
    ("cosine_with_min_lr", 0.1, 10, 100, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", 0.1, 10, 100, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.1}),
    ("warmup_stable_decay", 0.1, 10, 100, {"num_decay_steps": 20}),
    ("warmup_stable_decay", 0.1, 10, 100, {"num_decay_steps": 20, "num_stable_steps": 70}),  # they agree
    ("warmup_stable_decay", 0.1, 10, None, {"num_decay_steps": 20, "num_stable_steps": 70}),
    ("warmup_stable_decay", 0.1, 10, 100, {"num_decay_steps": 20, "decay_type": "linear", "num_cycles": 0.5}),
    ("warmup_stable_decay", 0.1, 10, 100, {"num_decay_steps": 20, "num_cycles": 2.0}),  # cosine: it counts
]


@pytest.mark.parametrize(("name", "base", "warmup", "total", "kwargs"), NO_WARNING)
def test_no_warning_where_nothing_is_ignored(
    name: str, base: float, warmup: int | None, total: int | None, kwargs: dict[str, Any]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = lr.from_hf(name, base, warmup, total, **kwargs)
    check(
        s,
        f"{name} {warmup} {total} {kwargs}",
        Expected(peer_values(name, base, warmup, total, kwargs, 130), TOL, scale=base),
        peer="transformers",
    )


# ---------------------------------------------------------------------------
# Bad input


def peer_fails(name: str, base: float, warmup: int | None, total: int | None, kwargs: dict[str, Any]) -> bool:
    """Whether transformers refuses the arguments, at construction or while stepping 3 * T times."""
    try:
        peer_values(name, base, warmup, total, kwargs, 3 * (total or 10) + 3)
    except (ValueError, TypeError, ZeroDivisionError):
        return True
    return False


PEER_INVALID = [
    # (name, lr, W, T, kwargs, parameter our message names)
    ("linear", 0.1, None, 10, {}, "num_warmup_steps"),
    ("cosine", 0.1, 2, None, {}, "num_training_steps"),
    ("linear", 0.1, 2, 10, {"num_cycles": 2}, "num_cycles"),
    ("polynomial", 0.1, 0, 10, {"lr_end": 0.1}, "lr_end"),
    ("polynomial", 0.1, 0, 10, {"lr_end": 0.5}, "lr_end"),
    ("polynomial", 0.1, 10, 10, {}, "num_warmup_steps"),
    ("polynomial", 0.1, 0, 10, {"power": -1.0}, "power"),
    ("inverse_sqrt", 0.1, 2, None, {"timescale": 0}, "timescale"),
    ("cosine_with_min_lr", 0.1, 2, 10, {}, "min_lr_rate"),
    ("cosine_with_min_lr", 0.1, 2, 10, {"min_lr": 0.01, "min_lr_rate": 0.1}, "min_lr"),
    ("cosine_warmup_with_min_lr", 0.0, 2, 10, {"min_lr": 0.01}, "min_lr"),
    ("warmup_stable_decay", 0.1, 2, None, {"num_decay_steps": 3}, "num_training_steps"),
    ("warmup_stable_decay", 0.1, 2, 10, {}, "num_decay_steps"),
    ("warmup_stable_decay", 0.1, 2, 10, {"num_decay_steps": 3, "warmup_type": "exp"}, "warmup_type"),
    ("warmup_stable_decay", 0.1, 2, 10, {"num_decay_steps": 3, "decay_type": "sqrt"}, "decay_type"),
    ("warmup_stable_decay", 0.1, 2, 10, {"num_decay_steps": 3, "last": 1}, "last"),
]


@pytest.mark.parametrize(("name", "base", "warmup", "total", "kwargs", "param"), PEER_INVALID)
def test_invalid_for_transformers_is_invalid_here(
    name: str, base: float, warmup: int | None, total: int | None, kwargs: dict[str, Any], param: str
) -> None:
    assert peer_fails(name, base, warmup, total, kwargs)
    with pytest.raises((ValueError, TypeError), match=_names(name, param)):
        lr.from_hf(name, base, warmup, total, **kwargs)


NONSENSE = [
    # Arguments transformers takes silently but lrcore refuses (documented in from_hf).
    ("linear", 0.1, 12, 10, {}, "num_warmup_steps", ValueError),  # warmup past the end
    ("cosine", 0.1, 2, 10, {"num_cycles": -0.5}, "num_cycles", ValueError),
    ("cosine_with_min_lr", 0.1, 2, 10, {"min_lr": 0.2}, "min_lr", ValueError),
    ("cosine_with_min_lr", 0.1, 2, 10, {"min_lr_rate": -0.1}, "min_lr_rate", ValueError),
    (
        "cosine_warmup_with_min_lr",
        0.1,
        2,
        10,
        {"min_lr_rate": 0.1, "warmup_lr_rate": 2.0},
        "warmup_lr_rate",
        ValueError,
    ),
    ("warmup_stable_decay", 0.1, 4, 10, {"num_decay_steps": 7}, "num_training_steps", ValueError),  # stable < 0
    ("warmup_stable_decay", 0.1, 2, 10, {"num_decay_steps": 3, "min_lr_ratio": 1.5}, "min_lr_ratio", ValueError),
    ("constant", 0.1, 2, 10, {"num_cycles": 2}, "num_cycles", TypeError),  # transformers ignores it
    ("constant_with_warmup", 0.1, 2, 10, {"lr_end": 0.0}, "lr_end", TypeError),  # likewise
    ("linear", 0.1, 2, 10, {"last_epoch": 5}, "last_epoch", TypeError),
    ("linear", 0.1, 2.0, 10, {}, "num_warmup_steps", TypeError),
    ("linear", 0.1, -1, 10, {}, "num_warmup_steps", ValueError),
    ("linear", -0.1, 2, 10, {}, "lr", ValueError),
]


def _names(name: str, param: str) -> str:
    """The message names `param`: a bad value, or an argument `name` does not take / needs."""
    return rf"^from_hf(: `{param}`|\('{name}'\): (unexpected|missing required) argument\(s\) {param}\b)"


@pytest.mark.parametrize(("name", "base", "warmup", "total", "kwargs", "param", "error"), NONSENSE)
def test_nonsense_is_refused(
    name: str, base: float, warmup: Any, total: Any, kwargs: dict[str, Any], param: str, error: type[Exception]
) -> None:
    with pytest.raises(error, match=_names(name, param)):
        lr.from_hf(name, base, warmup, total, **kwargs)


@pytest.mark.parametrize("name", sorted(METRIC_DRIVEN))
def test_metric_driven_names_point_to_plateau(name: str) -> None:
    with pytest.raises(ValueError, match=rf"^from_hf: '{name}' .*lr\.Plateau"):
        lr.from_hf(name, 0.1, 10, 100)


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="^from_hf: unknown schedule 'cosine_annealing'; known: constant, "):
        lr.from_hf("cosine_annealing", 0.1, 10, 100)
    with pytest.raises(TypeError, match="^from_hf: `name` must be a string"):
        lr.from_hf(3, 0.1, 10, 100)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Serialisation


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_json_round_trip(name: str) -> None:
    rng = random.Random(7)
    for config in [draw(name, rng) for _ in range(5)] + EDGES[name]:
        base, warmup, total, kwargs = config
        s = build(name, config)
        assert_round_trips(s, span(name, warmup, total, kwargs))
