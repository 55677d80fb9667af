"""lr.untuned_warmup against pytorch_warmup's UntunedLinearWarmup and UntunedExponentialWarmup.

pytorch_warmup dampens the lr the optimizer holds: built after the lr scheduler, it multiplies
the group's lr by its factor at ``last_step = 0``, and after every update the documented loop
``with warmup.dampening(): scheduler.step()`` restores the scheduler's lr, steps it and dampens
it with the next factor.  So the lr of update t (lrcore's t: updates already applied) is the
schedule's value at t times the factor pytorch_warmup computes at its step t, which counts
``t + 1``.  The periods are read from pytorch_warmup itself, never recomputed here.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
import pytorch_warmup
import torch
from peers import assert_round_trips

import lrcore as lr

RTOL = 1e-9
ATOL = 1e-12  # times the run's largest lr: torch's cosine recursion leaves ~1e-20 of noise near its zero
SEED = 20260801
WARMUPS = {"linear": pytorch_warmup.UntunedLinearWarmup, "exponential": pytorch_warmup.UntunedExponentialWarmup}

# (torch scheduler name, its kwargs) whose lrs the warmup dampens; None: no scheduler.
Sched = tuple[str, dict[str, Any]] | None


def adam(base: float, beta2: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base, betas=(0.9, beta2))


def peer_lrs(shape: str, beta2: float, base: float, sched: Sched, n: int) -> np.ndarray:
    """The lr of updates 0 ... n-1: the optimizer's lr before each update, in pytorch_warmup's documented loop."""
    opt = adam(base, beta2)
    scheduler = None if sched is None else getattr(torch.optim.lr_scheduler, sched[0])(opt, **sched[1])
    warmup = WARMUPS[shape](opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradient: marks the optimizer as stepped only
        with warmup.dampening():
            if scheduler is not None:
                scheduler.step()
    return np.array(out)


def peer_period(shape: str, beta2: float) -> int:
    return WARMUPS[shape](adam(0.1, beta2)).warmup_params[0]["warmup_period"]


def ours(shape: str, beta2: float, base: float, sched: Sched) -> lr.Schedule:
    inner = lr.constant(value=base) if sched is None else lr.from_torch(sched[0], base, **sched[1])
    return lr.untuned_warmup(inner, beta2=beta2, shape=shape)


def random_configs() -> list[tuple[str, float, float, Sched]]:
    r = random.Random(SEED)
    out = []
    for _ in range(24):
        shape = r.choice(["linear", "exponential"])
        beta2 = r.choice([0.0, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1 - 10 ** r.uniform(-3.3, -0.5)])
        sched: Sched = r.choice([
            None,
            ("CosineAnnealingLR", {"T_max": r.randint(1, 3000), "eta_min": r.choice([0.0, 1e-5])}),
            ("StepLR", {"step_size": r.randint(1, 500), "gamma": r.uniform(0.1, 0.9)}),
            ("LinearLR", {"start_factor": r.uniform(0.05, 1.0), "total_iters": r.randint(1, 400)}),
        ])
        out.append((shape, beta2, 10 ** r.uniform(-5, 0), sched))
    return out


CONFIGS = random_configs() + [
    ("linear", 0.999, 3e-4, None),  # the defaults: a 1999-step warmup, not 2000
    ("exponential", 0.999, 3e-4, None),  # tau = 999, not 1000
    ("linear", 0.0, 0.1, None),  # period 2
    ("exponential", 0.0, 0.1, None),  # period 1
    ("linear", 0.9999, 1e-3, ("CosineAnnealingLR", {"T_max": 30000})),
]


def length(shape: str, beta2: float, sched: Sched) -> int:
    """Three times the longer of the warmup's period and the scheduler's own length."""
    own = 0 if sched is None else max(v for k, v in sched[1].items() if k in ("T_max", "step_size", "total_iters"))
    return 3 * max(peer_period(shape, beta2), own) + 3


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-{c[1]:.6g}-{c[3] and c[3][0]}")
def test_equals_pytorch_warmup_step_for_step(config: tuple[str, float, float, Sched]) -> None:
    shape, beta2, base, sched = config
    n = length(shape, beta2, sched)
    want = peer_lrs(shape, beta2, base, sched, n)
    s = ours(shape, beta2, base, sched)
    got = s.array(n)
    atol = ATOL * float(np.max(want))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=repr(s))
    every = max(1, n // 97)
    np.testing.assert_allclose([s(float(t)) for t in range(0, n, every)], want[::every], rtol=RTOL, atol=atol)
    assert_round_trips(s, min(n, 500))


@pytest.mark.parametrize("shape", ["linear", "exponential"])
@pytest.mark.parametrize("beta2", [0.0, 0.3, 0.9, 0.99, 0.999, 0.9995, 0.99999, 1 - 2**-40])
def test_period_is_computed_as_pytorch_warmup_computes_it(shape: str, beta2: float) -> None:
    period = peer_period(shape, beta2)
    assert lr._kinds.untuned_period(beta2, shape) == period
    s = lr.untuned_warmup(lr.constant(value=1.0), beta2=beta2, shape=shape)
    first = 1.0 / period if shape == "linear" else -math.expm1(-1.0 / period)
    assert s(0) == pytest.approx(first, rel=1e-15)  # the first update: factor at step count 1, not 0


def test_the_defaults_off_by_one_and_the_end_of_the_warmup() -> None:
    s = lr.untuned_warmup(lr.constant(value=1.0))
    assert peer_period("linear", 0.999) == 1999  # 2 / (1 - 0.999) = 1999.99..., truncated
    assert s(0) == 1 / 1999 and s(1997) < 1.0 == s(1998) == s(10**9)
    assert s.horizon == 1998.0
    e = lr.untuned_warmup(lr.constant(value=1.0), shape="exponential")
    assert e(998) == pytest.approx(1 - math.exp(-1), rel=1e-15)  # (998 + 1) / 999 = 1
    assert e.horizon is not None and e(e.horizon) == 1.0 == e(1e12)


def test_it_multiplies_any_schedule_and_stretches() -> None:
    inner = lr.warmup(lr.cosine(init=1e-3, steps=5000, final=1e-5), steps=100)
    s = lr.untuned_warmup(inner, beta2=0.99)
    period = peer_period("linear", 0.99)
    assert period == 199  # 2 / (1 - 0.99) = 199.99999999999983
    ts = np.arange(0, 6000, 7.5)  # fractional t too
    np.testing.assert_allclose(s(ts), inner(ts) * np.minimum(1.0, (ts + 1) / period), rtol=1e-14)
    slow = lr.stretch(s, 3.0)
    np.testing.assert_allclose([slow(t) for t in ts], [s(t / 3.0) for t in ts], rtol=1e-12)
    assert lr.parse(repr(s)) == s and lr.from_json(s.to_json()) == s
    assert s.horizon == inner.horizon


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"beta2": 1.0}, ValueError, "beta2"),
        ({"beta2": -0.1}, ValueError, "beta2"),
        ({"beta2": math.nan}, ValueError, "beta2"),
        ({"beta2": "0.999"}, TypeError, "beta2"),
        ({"beta2": True}, TypeError, "beta2"),
        ({"shape": "cosine"}, ValueError, "shape"),
        ({"shape": None}, TypeError, "shape"),
        ({"schedule": 0.1}, TypeError, "schedule"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs: dict[str, Any], exc: type[Exception], name: str) -> None:
    args = {"schedule": lr.constant(value=0.1), **kwargs}
    with pytest.raises(exc) as info:
        lr.untuned_warmup(**args)
    message = str(info.value)
    assert message.startswith("untuned_warmup: ") and f"`{name}`" in message and "\n" not in message
