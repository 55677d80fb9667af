"""lrcore's torch Scheduler with lengths in the units of the run ("5%", "3ep"), resolved at construction."""

from __future__ import annotations

import warnings

import pytest
import torch

import lrcore as lr
from lrcore.adapters.torch import Scheduler

STEPS, PER_EPOCH = 200, 20
TEMPLATE = lr.warmup(lr.cosine(init=0.1, steps="95%", final=0.001), steps="5%")


def _run(opt: torch.optim.Optimizer, sched: Scheduler, steps: int, key=lambda g: g["lr"]) -> list[float]:
    """The value `key` reads from group 0 before each of `steps` updates of a quadratic loss."""
    p = opt.param_groups[0]["params"][0]
    seen = []
    for _ in range(steps):
        seen.append(float(key(opt.param_groups[0])))
        opt.zero_grad()
        (p**2).sum().backward()
        opt.step()
        sched.step()
    return seen


def _sgd(**kwargs) -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.ones(3, dtype=torch.float64))], lr=0.1, **kwargs)


def test_a_template_resolves_at_construction_and_every_lr_is_the_resolved_schedule():
    opt = _sgd()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = Scheduler(opt, TEMPLATE, steps=STEPS)
    resolved = lr.resolve(TEMPLATE, steps=STEPS)
    assert not resolved.is_template and sched.schedules == [resolved]
    assert resolved == lr.warmup(lr.cosine(init=0.1, steps=190, final=0.001), steps=10)
    assert _run(opt, sched, STEPS) == resolved.array(STEPS).tolist()
    # Saved in updates: the checkpoint says what ran, not the fraction it came from.
    assert lr.from_dict(sched.state_dict()["schedules"][0]) == resolved


def test_the_whole_run_as_100_percent_equals_torchs_cosine_annealing():
    opt, twin = _sgd(), _sgd()
    ours = _run(opt, Scheduler(opt, lr.cosine(init=0.1, steps="100%"), steps=STEPS), STEPS)
    peer = _run(twin, torch.optim.lr_scheduler.CosineAnnealingLR(twin, T_max=STEPS), STEPS)
    assert ours == pytest.approx(peer, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("template", "run", "plain"),
    [
        (lr.step(init=0.1, step_size="2ep", gamma=0.5), {"steps_per_epoch": PER_EPOCH},
         lr.step(init=0.1, step_size=40, gamma=0.5)),
        (lr.multistep(init=0.1, milestones=["25%", "3ep", "150ba"]), {"steps": STEPS, "steps_per_epoch": PER_EPOCH},
         lr.multistep(init=0.1, milestones=[50, 60, 150])),
        (lr.linear(start=0.1, end=0.0, steps="6400tok"), {"tokens_per_step": 64}, lr.linear(start=0.1, end=0.0,
                                                                                             steps=100)),
        (lr.cosine(init=0.1, steps="1600sp"), {"samples_per_step": 8}, lr.cosine(init=0.1, steps=200)),
    ],
    ids=["epochs", "percent-epochs-updates", "tokens", "samples"],
)
def test_every_unit_resolves_from_the_quantity_given(template, run, plain):
    opt = _sgd()
    sched = Scheduler(opt, template, **run)
    assert sched.schedules == [lr.resolve(template, **run)] == [plain]
    assert _run(opt, sched, STEPS) == plain.array(STEPS).tolist()


def test_momentum_and_hyper_templates_resolve_with_the_lr():
    opt = _sgd(momentum=0.9, weight_decay=0.0)
    momentum = lr.linear(start=0.95, end=0.85, steps="50%")
    decay = lr.cosine(init=1e-2, steps="1ep")
    sched = Scheduler(opt, TEMPLATE, momentum=momentum, hyper={"weight_decay": decay}, steps=STEPS,
                      steps_per_epoch=PER_EPOCH)
    assert sched.momentum == [lr.linear(start=0.95, end=0.85, steps=100)]
    assert sched.hyper == {"weight_decay": [lr.cosine(init=1e-2, steps=20)]}
    assert _run(opt, sched, STEPS, key=lambda g: g["momentum"]) == sched.momentum[0].array(STEPS).tolist()
    assert opt.param_groups[0]["weight_decay"] == lr.cosine(init=1e-2, steps=20)(STEPS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schedule": TEMPLATE},
         r"^Scheduler: `schedule` is a template: cosine's `steps` is '95%', a length in percent of the run; "
         r"give steps= \(the run's optimizer updates\)$"),
        ({"schedule": lr.step(init=0.1, step_size="3ep"), "steps": STEPS},
         r"^Scheduler: `schedule` is a template: step's `step_size` is '3ep', a length in epochs; "
         r"give steps_per_epoch= \(optimizer updates per epoch\)$"),
        ({"schedule": lr.constant(value=0.1), "momentum": lr.linear(start=0.9, end=0.8, steps="2e6tok")},
         r"^Scheduler: `momentum` is a template: linear's `steps` is '2e6tok', a length in tokens; "
         r"give tokens_per_step= \(tokens per optimizer update\)$"),
        ({"schedule": lr.constant(value=0.1), "hyper": {"weight_decay": [lr.linear(start=0.1, end=0, steps="9sp")]}},
         r"^Scheduler: `hyper\['weight_decay'\]` is a template: linear's `steps` is '9sp', a length in samples; "
         r"give samples_per_step="),
        ({"schedule": TEMPLATE, "steps": 0}, r"^Scheduler: `steps` must be > 0; got steps=0$"),
        ({"schedule": TEMPLATE, "steps_per_epoch": -3.0}, r"^Scheduler: `steps_per_epoch` must be > 0; got "
         r"steps_per_epoch=-3.0$"),
        ({"schedule": TEMPLATE, "steps": float("nan")}, r"^Scheduler: `steps` must be "),
    ],
    ids=["percent", "epochs", "tokens-in-momentum", "samples-in-hyper", "steps-0", "negative-per-epoch", "nan"],
)
def test_a_template_without_its_quantity_fails_at_construction_naming_unit_and_argument(kwargs, message):
    opt = _sgd(momentum=0.9)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(ValueError, match=message) as info:
        Scheduler(opt, **kwargs)
    assert "\n" not in str(info.value)
    assert [dict(g) for g in opt.param_groups] == before  # nothing was set: no scheduler half-built


def test_a_bad_quantity_type_is_a_type_error():
    with pytest.raises(TypeError, match=r"^Scheduler: `steps` must be a real number; got steps='200'"):
        Scheduler(_sgd(), TEMPLATE, steps="200")


def test_a_plain_schedule_ignores_the_run_size_and_a_checkpoint_resumes_the_resolved_schedule(tmp_path):
    s = lr.cosine(init=0.1, steps=100)
    assert Scheduler(_sgd(), s, steps=5, steps_per_epoch=1).schedules == [s]
    opt = _sgd()
    sched = Scheduler(opt, TEMPLATE, steps=STEPS)
    first = _run(opt, sched, 70)
    torch.save(sched.state_dict(), tmp_path / "sched.pt")
    # Resumed by a scheduler built for another run size: the checkpoint's schedule is the run's.
    opt2 = _sgd()
    resumed = Scheduler(opt2, TEMPLATE, steps=10)
    resumed.load_state_dict(torch.load(tmp_path / "sched.pt", weights_only=True))
    assert first + _run(opt2, resumed, STEPS - 70) == lr.resolve(TEMPLATE, steps=STEPS).array(STEPS).tolist()
