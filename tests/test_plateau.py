"""lr.Plateau, the pure reduce-on-plateau controller, against torch's ReduceLROnPlateau.

torch multiplies the optimizer's lr; lrcore returns a scale, so torch's lr after each
epoch must equal base_lr * state.scale (min_lr = base_lr * min_scale).  torch skips a
reduction smaller than eps = 1e-8 in absolute lr: ``Plateau(eps=1e-8 / lr)`` does the
same in scale units, and ``Plateau.from_torch(lr, **kwargs)`` does all that rescaling.
torch's relative threshold is lrcore's threshold_mode="signed_rel" (``from_torch`` keeps
it); the default "rel" measures it from abs(best), so a stall below zero reduces too.
Saved settings and states are checked field by field when loaded.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from peers import torch_plateau

import lrcore as lr

EPS = 1e-8  # torch's default


def lrcore_states(p: lr.Plateau, metrics: list[float]) -> list[lr.PlateauState]:
    state = p.init()
    out = []
    for m in metrics:
        state = p.update(state, m)
        out.append(state)
    return out


def torch_kwargs(p: lr.Plateau, base: float) -> dict[str, Any]:
    """torch's arguments for a Plateau whose threshold_mode is torch's ("signed_rel" is its "rel")."""
    assert p.threshold_mode in ("signed_rel", "abs")
    return {
        "mode": p.mode,
        "factor": p.factor,
        "patience": p.patience,
        "threshold": p.threshold,
        "threshold_mode": "rel" if p.threshold_mode == "signed_rel" else "abs",
        "cooldown": p.cooldown,
        "min_lr": base * p.min_scale,
    }


def plateau_strategy(threshold_modes: list[str]) -> st.SearchStrategy[lr.Plateau]:
    return st.builds(
        lr.Plateau,
        mode=st.sampled_from(["min", "max"]),
        factor=st.one_of(st.sampled_from([0.1, 0.5, 0.9]), st.floats(0.05, 0.95)),
        patience=st.integers(0, 6),
        threshold=st.one_of(st.sampled_from([0.0, 1e-4, 0.01, 0.5]), st.floats(0.0, 0.2)),
        threshold_mode=st.sampled_from(threshold_modes),
        cooldown=st.integers(0, 4),
        min_scale=st.sampled_from([0.0, 1e-3, 0.05, 0.3, 0.999]),
    )


plateaus = plateau_strategy(["rel", "abs", "signed_rel"])
torch_plateaus = plateau_strategy(["signed_rel", "abs"])  # the threshold modes torch has


@st.composite
def metric_sequences(draw: st.DrawFn) -> list[float]:
    """Noisy trends with plateaus, repeats, sign changes, NaN and infinities."""
    start = draw(st.floats(-100.0, 100.0))
    steps = draw(
        st.lists(
            st.one_of(
                st.floats(-5.0, 5.0),
                st.just(0.0),
                st.floats(-1e-3, 1e-3),
                st.sampled_from([math.nan, math.inf, -math.inf]),
            ),
            min_size=1,
            max_size=60,
        )
    )
    out, level = [], start
    for d in steps:
        if math.isnan(d) or math.isinf(d):
            out.append(d)
        else:
            level += d
            out.append(level)
    return out


def reductions_above_eps(states: list[lr.PlateauState], base: float) -> bool:
    """Whether every reduction lrcore makes changes base * scale by more than torch's eps (or by so
    little, relative to the scale, that skipping it is within the comparison's 1e-12)."""
    scales = [1.0] + [s.scale for s in states]
    return all(a - b <= 1e-13 * b or (a - b) * base > 4 * EPS for a, b in zip(scales, scales[1:], strict=False))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(p=torch_plateaus, metrics=metric_sequences(), base=st.sampled_from([1.0, 0.5, 0.1]))
def test_scale_times_base_lr_equals_torch(p: lr.Plateau, metrics: list[float], base: float) -> None:
    states = lrcore_states(p, metrics)
    assume(reductions_above_eps(states, base))
    want = torch_plateau(metrics, base, **torch_kwargs(p, base))[1]
    got = [base * s.scale for s in states]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
    assert [s.count for s in states] == list(range(1, len(metrics) + 1))


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["signed_rel", "abs"])
@pytest.mark.parametrize(("patience", "cooldown"), [(0, 0), (2, 0), (2, 3), (10, 1)])
@pytest.mark.parametrize(("factor", "min_scale"), [(0.1, 1e-4), (0.5, 0.01), (0.9, 0.3)])
def test_grid_against_torch(mode: str, threshold_mode: str, patience: int, cooldown: int, factor: float,
                            min_scale: float) -> None:
    """A fixed grid on seeded sequences: flat stretches, slow drift inside the threshold, NaN bursts."""
    rng = np.random.default_rng(zlib.crc32(repr((mode, threshold_mode, patience, cooldown, factor)).encode()))
    sign = 1.0 if mode == "min" else -1.0
    metrics = list(10.0 + sign * np.cumsum(rng.choice([-1.0, 0.0, 0.0, 1e-6, 0.5], size=60)))
    for i in rng.choice(60, size=6, replace=False):
        metrics[i] = math.nan
    p = lr.Plateau(mode=mode, factor=factor, patience=patience, threshold=1e-4, threshold_mode=threshold_mode,
                   cooldown=cooldown, min_scale=min_scale)
    states = lrcore_states(p, metrics)
    assert reductions_above_eps(states, 1.0)
    np.testing.assert_allclose([s.scale for s in states], torch_plateau(metrics, 1.0, **torch_kwargs(p, 1.0))[1],
                               rtol=1e-12, atol=0.0)


def test_defaults_are_torchs() -> None:
    p = lr.Plateau()
    assert (p.mode, p.factor, p.patience, p.threshold, p.threshold_mode, p.cooldown, p.min_scale) == (
        "min", 0.1, 10, 1e-4, "rel", 0, 0.0
    )
    metrics = [1.0] + [1.0] * 11 + [0.5] + [0.5] * 11
    np.testing.assert_allclose([s.scale for s in lrcore_states(p, metrics)], torch_plateau(metrics, 1.0)[1], rtol=1e-12)
    # The 11th bad epoch after the best reduces, not the 10th.
    scales = [s.scale for s in lrcore_states(p, metrics)]
    assert scales[10] == 1.0 and scales[11] == pytest.approx(0.1)


def test_nan_counts_as_a_bad_epoch() -> None:
    p = lr.Plateau(patience=2)
    states = lrcore_states(p, [1.0, math.nan, math.nan, math.nan])
    assert [s.num_bad for s in states[:3]] == [0, 1, 2]
    assert states[3].scale == pytest.approx(0.1)
    assert states[3].best == 1.0


def test_without_eps_torch_agrees_to_the_last_reduction() -> None:
    """Many reductions: with eps=0 torch follows the scale all the way down; with its default eps=1e-8
    torch stops once a step of lr would be below 1e-8, and the scale (which knows no lr) goes on."""
    p = lr.Plateau(patience=0, factor=0.5)
    metrics = [1.0] * 60
    scales = [s.scale for s in lrcore_states(p, metrics)]
    np.testing.assert_allclose(scales, torch_plateau(metrics, 1.0, mode="min", factor=0.5, patience=0, eps=0.0)[1],
                               rtol=1e-12, atol=0.0)
    with_eps = torch_plateau(metrics, 1.0, mode="min", factor=0.5, patience=0)[1]
    assert with_eps[-1] > 1e-8 > scales[-1]


@pytest.mark.parametrize("base", [1.0, 0.1, 3e-4, 1e-7])
def test_eps_in_scale_units_is_torchs_eps(base: float) -> None:
    """Plateau(eps=1e-8 / lr) stops reducing exactly where torch's default eps=1e-8 does."""
    p = lr.Plateau(patience=0, factor=0.5, eps=1e-8 / base)
    metrics = [1.0] * 80
    got = [base * s.scale for s in lrcore_states(p, metrics)]
    np.testing.assert_allclose(got, torch_plateau(metrics, base, patience=0, factor=0.5)[1], rtol=1e-12, atol=0.0)


def test_scale_composes_with_a_schedule() -> None:
    """Warmup + plateau: the scale multiplies whatever the schedule gives at that step."""
    s = lr.warmup(lr.cosine(init=0.1, steps=100), steps=10)
    p = lr.Plateau(patience=1, factor=0.5)
    state = p.init()
    lrs = []
    for epoch, metric in enumerate([3.0, 2.0, 2.0, 2.0, 2.0, 1.0]):
        state = p.update(state, metric)
        lrs.append(s(epoch) * state.scale)
    assert lrs[:3] == [s(0), s(1), s(2)]
    assert lrs[3] == pytest.approx(0.5 * s(3))


# ---------------------------------------------------------------------------
# Negative metrics: the relative threshold measured from abs(best)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_a_stall_below_zero_reduces_like_one_above(mode: str) -> None:
    p = lr.Plateau(mode=mode, patience=2)
    above = [s.scale for s in lrcore_states(p, [1.0] * 8)]
    below = [s.scale for s in lrcore_states(p, [-1.0] * 8)]
    assert below == above and above[-1] == pytest.approx(0.01)  # reduced after the 4th and the 7th
    # torch (and from_torch, which keeps it) counts the stall below zero as improving: never reduces.
    kept = lr.Plateau.from_torch(1.0, mode=mode, patience=2)
    assert [s.scale for s in lrcore_states(kept, [-1.0] * 8)] == [1.0] * 8
    assert torch_plateau([-1.0] * 8, 1.0, mode=mode, patience=2)[1] == [1.0] * 8


def written_out(p: lr.Plateau, metrics: list[float]) -> list[float]:
    """The documented rule for threshold_mode="rel", written out: better means beating the best by
    abs(best) * threshold; an infinite best (nothing seen yet) is beaten by any smaller (larger) metric."""
    best = math.inf if p.mode == "min" else -math.inf
    bad = cool = 0
    scale, out = 1.0, []
    for a in metrics:
        margin = 0.0 if math.isinf(best) else abs(best) * p.threshold
        if (a < best - margin) if p.mode == "min" else (a > best + margin):
            best, bad = a, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > p.patience:
            reduced = max(scale * p.factor, p.min_scale)
            if scale - reduced > p.eps:
                scale = reduced
            cool, bad = p.cooldown, 0
        out.append(scale)
    return out


def crossing_zero(seed: int, n: int = 120) -> list[float]:
    """A drift from +3 to about -3 with flat stretches and small steps: the best changes sign."""
    rng = np.random.default_rng(seed)
    moves = rng.choice([-0.2, -0.05, 0.0, 0.0, -1e-5, 1e-4, 0.1], size=n)
    metrics = list(3.0 + np.cumsum(moves) - np.linspace(0.0, 3.0, n))
    assert min(metrics) < 0.0 < max(metrics)
    return metrics


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold", [1e-4, 0.01, 0.2])
@pytest.mark.parametrize(("patience", "cooldown"), [(0, 0), (2, 1), (5, 0)])
def test_rel_on_streams_that_cross_zero(mode: str, threshold: float, patience: int, cooldown: int) -> None:
    sign = 1.0 if mode == "min" else -1.0
    metrics = [sign * m for m in crossing_zero(zlib.crc32(repr((mode, threshold, patience)).encode()))]
    p = lr.Plateau(mode=mode, threshold=threshold, patience=patience, cooldown=cooldown, factor=0.5)
    got = [s.scale for s in lrcore_states(p, metrics)]
    assert got == written_out(p, metrics)
    # Until the best is below zero "rel" is torch's test and equals torch's rule exactly (in mode "min" the
    # stream starts above zero; in mode "max", below, so the two part at once).
    kept = lr.Plateau(mode=mode, threshold=threshold, patience=patience, cooldown=cooldown, factor=0.5,
                      threshold_mode="signed_rel")
    theirs = lrcore_states(kept, metrics)
    crossed = next(i for i, s in enumerate(theirs) if s.best < 0.0)
    assert crossed > 0 if mode == "min" else crossed == 0
    assert got[:crossed] == [s.scale for s in theirs][:crossed]


@settings(max_examples=200, deadline=None)
@given(p=plateau_strategy(["rel"]), metrics=metric_sequences())
def test_rel_is_the_same_rule_either_side_of_zero(p: lr.Plateau, metrics: list[float]) -> None:
    """Mode "min" on a stream is mode "max" on the stream negated, exactly (torch's rel is not: its
    threshold turns around with the sign of the best); and the rule is the one documented."""
    mirror = lr.Plateau(**{**p.to_dict(), "mode": "max" if p.mode == "min" else "min"})
    scales = [s.scale for s in lrcore_states(p, metrics)]
    assert scales == [s.scale for s in lrcore_states(mirror, [-m for m in metrics])]
    assert scales == written_out(p, metrics)


@settings(max_examples=200, deadline=None)
@given(p=plateau_strategy(["rel"]), metrics=metric_sequences())
def test_rel_is_torchs_rel_while_the_best_is_not_negative(p: lr.Plateau, metrics: list[float]) -> None:
    kept = lr.Plateau(**{**p.to_dict(), "threshold_mode": "signed_rel"})
    mine, torchs = lrcore_states(p, metrics), lrcore_states(kept, metrics)
    for a, b in zip(mine, torchs, strict=True):
        if a.best < 0.0 or b.best < 0.0:
            break
        assert a == b


def test_settings_saved_before_signed_rel_load() -> None:
    """A settings dict from before "signed_rel" existed has the same fields: it loads, as the default rule."""
    old = {"mode": "min", "factor": 0.5, "patience": 1, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
           "min_scale": 0.0, "eps": 0.0}
    p = lr.Plateau.from_dict(old)
    assert p.to_dict() == old and p == lr.Plateau(factor=0.5, patience=1)
    state = lr.PlateauState.from_dict({"best": -2.0, "num_bad": 1, "cooldown": 0, "scale": 0.5, "count": 9})
    assert p.update(state, -2.0).scale == 0.25  # a stall at -2 is a bad epoch
    torch_rule = lr.Plateau.from_dict({**old, "threshold_mode": "signed_rel"})
    assert torch_rule.update(state, -2.0).scale == 0.5  # torch's rule counts it as an improvement


# ---------------------------------------------------------------------------
# State is a value


@settings(max_examples=100, deadline=None)
@given(p=plateaus, metrics=metric_sequences(), cut=st.integers(0, 60))
def test_state_survives_a_round_trip_mid_run(p: lr.Plateau, metrics: list[float], cut: int) -> None:
    """Saving the state (as a dict, or through JSON) and loading it resumes exactly."""
    cut = min(cut, len(metrics))
    straight = lrcore_states(p, metrics)
    state = p.init() if cut == 0 else straight[cut - 1]
    for saved in (lr.PlateauState.from_dict(state.to_dict()),
                  lr.PlateauState.from_dict(json.loads(json.dumps(state.to_dict())))):
        assert saved == state
        rebuilt = lr.Plateau.from_dict(json.loads(json.dumps(p.to_dict())))
        assert rebuilt == p
        resumed = []
        for m in metrics[cut:]:
            saved = rebuilt.update(saved, m)
            resumed.append(saved)
        assert resumed == straight[cut:]


def test_update_is_pure() -> None:
    p = lr.Plateau(patience=0)
    state = p.init()
    first = p.update(state, 1.0)
    again = p.update(state, 1.0)
    assert first == again and state == p.init()
    with pytest.raises(AttributeError):
        state.scale = 0.5  # type: ignore[misc]
    assert hash(first) == hash(again)


def test_metrics_of_numeric_types() -> None:
    p = lr.Plateau(patience=0)
    want = p.update(p.init(), 2.5)
    for m in (2.5, np.float64(2.5), np.float32(2.5), np.array(2.5), torch.tensor(2.5), torch.tensor([2.5])[0]):
        assert p.update(p.init(), m) == want, repr(m)
    assert p.update(p.init(), 3) == p.update(p.init(), 3.0)


# ---------------------------------------------------------------------------
# Validation


BAD_PLATEAUS = [
    ({"mode": "avg"}, ValueError, "mode"),
    ({"mode": None}, TypeError, "mode"),
    ({"factor": 1.0}, ValueError, "factor"),
    ({"factor": 0.0}, ValueError, "factor"),
    ({"factor": -0.5}, ValueError, "factor"),
    ({"factor": 1.5}, ValueError, "factor"),
    ({"factor": math.nan}, ValueError, "factor"),
    ({"factor": "0.1"}, TypeError, "factor"),
    ({"patience": -1}, ValueError, "patience"),
    ({"patience": 1.5}, TypeError, "patience"),
    ({"patience": True}, TypeError, "patience"),
    ({"threshold": -1e-4}, ValueError, "threshold"),
    ({"threshold": math.inf}, ValueError, "threshold"),
    ({"threshold_mode": "relative"}, ValueError, "threshold_mode"),
    ({"cooldown": -1}, ValueError, "cooldown"),
    ({"cooldown": 2.0}, TypeError, "cooldown"),
    ({"min_scale": -0.1}, ValueError, "min_scale"),
    ({"min_scale": 1.5}, ValueError, "min_scale"),
    ({"min_scale": None}, TypeError, "min_scale"),
    ({"eps": -1e-8}, ValueError, "eps"),
    ({"eps": math.nan}, ValueError, "eps"),
]


@pytest.mark.parametrize(("kwargs", "exc", "name"), BAD_PLATEAUS, ids=[f"{k}" for k, _, _ in BAD_PLATEAUS])
def test_bad_settings_are_refused(kwargs: dict[str, Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        lr.Plateau(**kwargs)
    assert str(info.value).startswith("Plateau:")
    assert f"`{name}`" in str(info.value)


@pytest.mark.parametrize(
    ("state", "metric", "exc", "name"),
    [
        ({"best": 1.0}, 1.0, TypeError, "state"),
        (None, 1.0, TypeError, "state"),
        ("init", "abc", TypeError, "metric"),
        ("init", None, TypeError, "metric"),
        ("init", [1.0, 2.0], TypeError, "metric"),
        ("init", True, TypeError, "metric"),
    ],
)
def test_bad_updates_are_refused(state: Any, metric: Any, exc: type[Exception], name: str) -> None:
    p = lr.Plateau()
    if state == "init":
        state = p.init()
    with pytest.raises(exc) as info:
        p.update(state, metric)
    assert f"`{name}`" in str(info.value)


# ---------------------------------------------------------------------------
# Plateau.from_torch: torch's arguments, torch's lrs


def seeded_metrics(seed: int, mode: str, n: int = 150) -> list[float]:
    """A noisy trend with flat stretches, steps inside a small threshold, NaN and repeats."""
    rng = np.random.default_rng(seed)
    sign = 1.0 if mode == "min" else -1.0
    moves = rng.choice([-1.0, -0.1, 0.0, 0.0, 1e-6, 1e-3, 0.3], size=n) * rng.uniform(0.5, 1.5, size=n)
    metrics = list(5.0 + sign * np.cumsum(moves))
    for i in rng.choice(n, size=n // 20, replace=False):
        metrics[i] = math.nan
    return metrics


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize(("patience", "cooldown"), [(0, 0), (3, 0), (1, 2)])
@pytest.mark.parametrize("lr0", [1.0, 0.1, 3e-4, 2e-7])
@pytest.mark.parametrize("floor", [None, 0.0, 0.004])
@pytest.mark.parametrize("across", [False, True])
def test_from_torch_follows_torch(mode: str, threshold_mode: str, patience: int, cooldown: int, lr0: float,
                                  floor: float | None, across: bool) -> None:
    """torch's own arguments (its default eps=1e-8 included): lr * scale is torch's lr after every step.
    With lr 2e-7 the absolute eps stops the reductions after a few; `floor` is min_lr as a fraction of lr.
    `across` moves the stream to straddle zero (its median at 0), where torch's relative threshold turns around."""
    kwargs: dict[str, Any] = {"mode": mode, "threshold_mode": threshold_mode, "patience": patience,
                              "cooldown": cooldown, "factor": 0.5 if patience else 0.3,
                              "threshold": 0.01 if threshold_mode == "rel" else 0.05}
    if floor is not None:
        kwargs["min_lr"] = floor * lr0
    metrics = seeded_metrics(zlib.crc32(repr(sorted(kwargs.items())).encode() + repr(lr0).encode()), mode)
    if across:
        middle = float(np.nanmedian(metrics))
        metrics = [m - middle for m in metrics]
        assert np.nanmin(metrics) < 0.0 < np.nanmax(metrics)
    p = lr.Plateau.from_torch(lr0, **kwargs)
    got = [lr0 * s.scale for s in lrcore_states(p, metrics)]
    want = torch_plateau(metrics, lr0, **kwargs)[1]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
    assert len(set(want)) > 2, "the stream should make torch reduce more than once"


def test_from_torch_defaults_are_torchs() -> None:
    p = lr.Plateau.from_torch(0.5)
    assert p == lr.Plateau(eps=1e-8 / 0.5, threshold_mode="signed_rel")
    metrics = [1.0] * 400  # a reduction every 11 epochs, until eps stops them
    np.testing.assert_allclose([0.5 * s.scale for s in lrcore_states(p, metrics)], torch_plateau(metrics, 0.5)[1],
                               rtol=1e-12, atol=0.0)


def test_from_torch_min_lr_above_lr_never_reduces_as_torch() -> None:
    p = lr.Plateau.from_torch(0.01, patience=0, min_lr=0.1)
    metrics = [1.0] * 20
    assert torch_plateau(metrics, 0.01, patience=0, min_lr=0.1)[1] == [0.01] * 20
    assert [s.scale for s in lrcore_states(p, metrics)] == [1.0] * 20


def test_from_torch_tiny_lr_keeps_its_ratios_finite() -> None:
    """eps / lr and min_lr / lr overflow for a subnormal lr: torch then never reduces, nor does lrcore."""
    p = lr.Plateau.from_torch(1e-320, patience=0)
    assert math.isfinite(p.eps) and math.isfinite(p.min_scale)
    assert [s.scale for s in lrcore_states(p, [1.0] * 5)] == [1.0] * 5
    assert torch_plateau([1.0] * 5, 1e-320, patience=0)[1] == [1e-320] * 5


@pytest.mark.parametrize(
    ("lr0", "kwargs", "exc", "name"),
    [
        (0.1, {"min_lr": [0.001, 0.002]}, TypeError, "min_lr"),
        (0.1, {"min_lr": -1e-3}, ValueError, "min_lr"),
        (0.1, {"min_lr": "0"}, TypeError, "min_lr"),
        (0.1, {"eps": -1e-8}, ValueError, "eps"),
        (0.1, {"eps": math.nan}, ValueError, "eps"),
        (0.1, {"factor": 1.0}, ValueError, "factor"),
        (0.1, {"factor": -0.5}, ValueError, "factor"),
        (0.1, {"mode": "avg"}, ValueError, "mode"),
        (0.1, {"threshold_mode": "relative"}, ValueError, "threshold_mode"),
        (0.1, {"patience": 2.5}, TypeError, "patience"),
        (0.1, {"cooldown": -1}, ValueError, "cooldown"),
        (0.0, {}, ValueError, "lr"),
        (-0.1, {}, ValueError, "lr"),
        (math.inf, {}, ValueError, "lr"),
        (True, {}, TypeError, "lr"),
    ],
)
def test_from_torch_refuses_bad_arguments(lr0: Any, kwargs: dict[str, Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        lr.Plateau.from_torch(lr0, **kwargs)
    assert str(info.value).startswith("Plateau.from_torch:"), str(info.value)
    assert f"`{name}`" in str(info.value) and f"got {name}=" in str(info.value)


@pytest.mark.parametrize("key", ["verbose", "optimizer", "min_lrs"])
def test_from_torch_refuses_unknown_arguments(key: str) -> None:
    with pytest.raises(TypeError, match=f"Plateau.from_torch: ReduceLROnPlateau has no argument '{key}'"):
        lr.Plateau.from_torch(0.1, **{key: 1})


# ---------------------------------------------------------------------------
# Loading saved settings and states: every field checked


GOOD_STATE = {"best": 0.5, "num_bad": 2, "cooldown": 1, "scale": 0.25, "count": 7}
GOOD_SETTINGS = lr.Plateau(patience=3, min_scale=0.01, eps=1e-6).to_dict()

BAD_STATE_FIELDS = [
    ("scale", -3.0, ValueError), ("scale", math.nan, ValueError), ("scale", math.inf, ValueError),
    ("scale", 1.5, ValueError), ("scale", "0.5", TypeError), ("scale", True, TypeError), ("scale", None, TypeError),
    ("best", math.nan, ValueError), ("best", 10**400, ValueError),
    ("best", "1.0", TypeError), ("best", False, TypeError), ("best", [1.0], TypeError),
    ("num_bad", -1, ValueError), ("num_bad", 1.0, TypeError), ("num_bad", True, TypeError), ("num_bad", "2", TypeError),
    ("cooldown", -2, ValueError), ("cooldown", 0.5, TypeError), ("count", -1, ValueError), ("count", None, TypeError),
    ("count", 10**400, None),
]


@pytest.mark.parametrize(("field", "value", "exc"), BAD_STATE_FIELDS,
                         ids=[f"{f}={v!r:.20}" for f, v, _ in BAD_STATE_FIELDS])
def test_state_from_dict_checks_every_field(field: str, value: Any, exc: type[Exception] | None) -> None:
    data = {**GOOD_STATE, field: value}
    if exc is None:  # a huge but valid counter loads
        assert lr.PlateauState.from_dict(data).count == value
        return
    for where, load in (("PlateauState.from_dict", lr.PlateauState.from_dict),
                        ("PlateauState", lambda d: lr.PlateauState(**d))):
        with pytest.raises(exc) as info:
            load(data)
        message = str(info.value)
        assert message.startswith(f"{where}: `{field}`"), message
        assert f"got {field}=" in message and "\n" not in message


BAD_SETTING_FIELDS = [
    ("mode", "avg", ValueError), ("mode", 1, TypeError), ("factor", 1.0, ValueError), ("factor", -0.1, ValueError),
    ("factor", math.nan, ValueError), ("factor", True, TypeError), ("patience", -1, ValueError),
    ("patience", 2.0, TypeError), ("patience", False, TypeError), ("threshold", math.inf, ValueError),
    ("threshold", -1.0, ValueError), ("threshold_mode", "relative", ValueError), ("cooldown", "0", TypeError),
    ("min_scale", 2.0, ValueError), ("min_scale", math.nan, ValueError), ("eps", -1e-8, ValueError),
    ("eps", None, TypeError), ("factor", 10**400, ValueError),
]


@pytest.mark.parametrize(("field", "value", "exc"), BAD_SETTING_FIELDS,
                         ids=[f"{f}={v!r:.20}" for f, v, _ in BAD_SETTING_FIELDS])
def test_settings_from_dict_check_every_field(field: str, value: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        lr.Plateau.from_dict({**GOOD_SETTINGS, field: value})
    message = str(info.value)
    assert message.startswith(f"Plateau.from_dict: `{field}`"), message
    assert f"got {field}=" in message


@pytest.mark.parametrize(("cls", "good"), [(lr.PlateauState, GOOD_STATE), (lr.Plateau, GOOD_SETTINGS)],
                         ids=["state", "settings"])
def test_from_dict_refuses_missing_extra_and_non_dicts(cls: Any, good: dict[str, Any]) -> None:
    where = f"{cls.__name__}.from_dict"
    assert cls.from_dict(dict(good)).to_dict() == good
    for key in good:
        with pytest.raises(ValueError, match=f"{where}: missing field\\(s\\) {key}"):
            cls.from_dict({k: v for k, v in good.items() if k != key})
    with pytest.raises(ValueError, match=f"{where}: unknown field 'extra'"):
        cls.from_dict({**good, "extra": 1})
    with pytest.raises(ValueError, match=f"{where}: unknown field 3"):
        cls.from_dict({**good, 3: 1})
    for data in (None, [1, 2], "scale=1", list(good.items())):
        with pytest.raises(TypeError, match=f"{where}: expected a dict"):
            cls.from_dict(data)


def test_a_loaded_state_resumes_exactly() -> None:
    p = lr.Plateau.from_torch(0.1, patience=1, cooldown=1)
    metrics = seeded_metrics(7, "min", 60)
    states = lrcore_states(p, metrics)
    saved = json.loads(json.dumps({"p": p.to_dict(), "s": states[29].to_dict()}))
    q, state = lr.Plateau.from_dict(saved["p"]), lr.PlateauState.from_dict(saved["s"])
    resumed = []
    for m in metrics[30:]:
        state = q.update(state, m)
        resumed.append(state)
    assert resumed == states[30:]
