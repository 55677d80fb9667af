"""Migrating from torch.optim.lr_scheduler: ``Scheduler.from_torch`` and ``lr.from_torch(part="momentum")``
against the real torch schedulers, on two param groups of SGD(momentum) and AdamW, lr and momentum/beta1
step by step; and the refusals the reliability guide lists."""

from __future__ import annotations

import doctest
import random
import re
from typing import Any

import docs_pages
import numpy as np
import pytest
import test_convert_torch as TC
import torch
from conftest import load_timm_scheduler
from torch.optim import lr_scheduler as tls

import lrcore as lr
import lrcore.convert._torch
from lrcore.adapters.torch import Scheduler

RTOL = TC.RTOL
SEED = 20261201
PER_NAME = 8
OPTIMIZERS = ["SGD", "AdamW"]
CYCLERS = ("OneCycleLR", "CyclicLR")
COMPOSITES = ("SequentialLR", "ChainedScheduler")

Config = tuple[str, float, dict[str, Any]]


# ---------------------------------------------------------------------------
# Runs: (lr, momentum) of both groups after construction and each step()


def optimizer(kind: str, base: float) -> torch.optim.Optimizer:
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": base},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": base * 0.37},
    ]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=base, momentum=0.9)
    return torch.optim.AdamW(groups, lr=base, betas=(0.9, 0.999))


def momentum_of(group: dict[str, Any]) -> float:
    return float(group["betas"][0] if "betas" in group else group.get("momentum", np.nan))


def record(opt: torch.optim.Optimizer, scheduler: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrays [n, groups] of lr and momentum: after construction, then after each of n - 1 steps."""
    opt.step()  # no gradient: only marks the optimizer as stepped, so torch does not warn about the order
    lrs, moms = [], []
    for t in range(n):
        if t:
            scheduler.step()
        lrs.append([float(g["lr"]) for g in opt.param_groups])
        moms.append([momentum_of(g) for g in opt.param_groups])
    return np.array(lrs), np.array(moms)


def torch_run(kind: str, name: str, base: float, kwargs: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    opt = optimizer(kind, base)
    return record(opt, TC._scheduler(opt, name, kwargs), n)


def lrcore_run(kind: str, name: str, base: float, kwargs: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    opt = optimizer(kind, base)
    return record(opt, Scheduler.from_torch(opt, name, **kwargs), n)


def hold_past_one_cycle(name: str, kwargs: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """torch's values with lrcore's documented departure: where a SequentialLR runs a OneCycleLR child up to
    its total_steps, torch extrapolates that child one step past its end (and a later child that leaves the
    momentum alone carries the extrapolated value); lrcore holds the value of the step before."""
    out = values.copy()
    for t in TC.held(name, kwargs):
        carried, u = values[t].copy(), t
        while u < len(out) and (values[u] == carried).all():
            out[u] = out[t - 1]
            u += 1
    return out


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    atol = TC.ATOL * float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol, err_msg=what)


# ---------------------------------------------------------------------------
# Random configurations: the converter tests' generators, with per-group lists where torch takes them


def per_group(r: random.Random, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Some of torch's per-group arguments as two-element lists (the second group's value drawn anew)."""
    out = dict(kwargs)
    if name in COMPOSITES:
        out["schedulers"] = [(n, per_group(r, n, kw)) for n, kw in kwargs["schedulers"]]
        return out
    spread = {
        "OneCycleLR": {"max_lr": lambda v: v * r.uniform(0.3, 1.5)},
        "CyclicLR": {"base_lr": lambda v: v * r.uniform(0, 1), "max_lr": lambda v: v * r.uniform(0.3, 1.5)},
    }.get(name, {})
    for key, draw in spread.items():
        if key in out and r.random() < 0.5:
            out[key] = [out[key], draw(out[key])]
    if name in CYCLERS and r.random() < 0.5:
        base = out.get("base_momentum", 0.85 if name == "OneCycleLR" else 0.8)
        out["base_momentum"] = [base, r.uniform(0.5, 0.85)]
        if r.random() < 0.5:
            out["max_momentum"] = [out.get("max_momentum", 0.9), r.uniform(0.85, 0.99)]
    return out


def random_configs() -> list[Config]:
    r = random.Random(SEED)
    configs = []
    for name, generate in TC.GENERATORS.items():
        for _ in range(PER_NAME):
            configs.append((name, TC._lr(r), per_group(r, name, generate(r))))
    return configs


RANDOM = random_configs()


def _momentum_refused(name: str, kw: dict[str, Any]) -> bool:
    """A growing exp_range wave, which takes torch's momentum below 0: refused (see test_bad_arguments)."""
    return name == "CyclicLR" and kw.get("mode") == "exp_range" and kw.get("gamma", 1.0) > 1


# Momentum set by several children: the constructors' order, the child running at t = 0, the last cycler.
_CYCLIC = TC.c("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3, base_momentum=0.6, max_momentum=0.7)
_ONE_CYCLE = TC.c("OneCycleLR", max_lr=1.0, total_steps=12, pct_start=0.4, max_momentum=[0.95, 0.97])
MOMENTUM_EDGES: list[Config] = [
    ("SequentialLR", 0.1, TC.seq(TC.c("LinearLR"), _CYCLIC, _ONE_CYCLE, milestones=[5, 10])),
    ("SequentialLR", 0.1, TC.seq(TC.c("LinearLR"), _ONE_CYCLE, _CYCLIC, milestones=[5, 10])),
    ("SequentialLR", 0.1, TC.seq(_CYCLIC, TC.c("ExponentialLR", gamma=0.9), _ONE_CYCLE, milestones=[7, 9])),
    ("SequentialLR", 0.1, TC.seq(TC.c("StepLR", step_size=3), _ONE_CYCLE, _CYCLIC, milestones=[0, 13])),
    ("SequentialLR", 0.1, TC.seq(_ONE_CYCLE, TC.c("ConstantLR"), _CYCLIC, milestones=[4, 4])),
    ("ChainedScheduler", 0.1, TC.chain(_CYCLIC, _ONE_CYCLE)),
    ("ChainedScheduler", 0.1, TC.chain(_ONE_CYCLE, _CYCLIC)),
    ("ChainedScheduler", 0.1, TC.chain(TC.c("ExponentialLR", gamma=0.9), _ONE_CYCLE)),
]
EDGES = [
    (name, base, {**kw, "cycle_momentum": False} if _momentum_refused(name, kw) else kw)
    for name, base, kw in TC.EDGES
    if name in (*CYCLERS, *COMPOSITES)
] + MOMENTUM_EDGES


def group_kwargs(kwargs: dict[str, Any], i: int) -> dict[str, Any]:
    """Group i's arguments, the per-group lists resolved (what lr.from_torch takes)."""
    out = {
        k: (v[i] if isinstance(v, list) and k in ("base_lr", "max_lr", "base_momentum", "max_momentum") else v)
        for k, v in kwargs.items()
    }
    if "schedulers" in out:
        out["schedulers"] = [(n, group_kwargs(kw, i)) for n, kw in out["schedulers"]]
    return out


def cycles_momentum(name: str, kwargs: dict[str, Any]) -> bool:
    if name in COMPOSITES:
        return any(cycles_momentum(n, kw) for n, kw in kwargs["schedulers"])
    return name in CYCLERS and kwargs.get("cycle_momentum", True)


def check_config(kind: str, config: Config) -> None:
    name, base, kwargs = config
    n = TC.steps(name, kwargs)
    expected_lr, expected_mom = (hold_past_one_cycle(name, kwargs, v) for v in torch_run(kind, name, base, kwargs, n))
    expected_lr = np.where(expected_lr < 0, 0.0, expected_lr)  # rounding noise such as -5e-22 (see TC.compare)
    got_lr, got_mom = lrcore_run(kind, name, base, kwargs, n)
    assert_close(got_lr, expected_lr, f"lr of {config}")
    assert_close(got_mom, expected_mom, f"momentum of {config}")
    # The value form of group 0's momentum, and group 1's, straight from lr.from_torch.
    for i, initial in enumerate([base, base * 0.37]):
        kw = group_kwargs(kwargs, i)
        if cycles_momentum(name, kwargs):
            m = lr.from_torch(name, initial, part="momentum", **kw)
            assert_close(m.array(n), expected_mom[:, i], f"part='momentum' of {config}, group {i}")
            assert lr.from_json(m.to_json()) == m
        else:
            assert (expected_mom[:, i] == 0.9).all()
            with pytest.raises(ValueError, match="momentum"):
                lr.from_torch(name, initial, part="momentum", **kw)


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("config", RANDOM, ids=TC._id)
def test_random_configuration_drives_lr_and_momentum_like_torch(kind: str, config: Config) -> None:
    check_config(kind, config)


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("config", EDGES, ids=TC._id)
def test_edge_case_drives_lr_and_momentum_like_torch(kind: str, config: Config) -> None:
    check_config(kind, config)


def test_random_configurations_cover_every_name_and_both_momentum_paths() -> None:
    assert {name for name, _, _ in RANDOM} == set(TC.GENERATORS)
    flags = {cycles_momentum(name, kw) for name, _, kw in RANDOM if name in (*CYCLERS, *COMPOSITES)}
    assert flags == {True, False}
    assert any(isinstance(kw.get("base_momentum"), list) for _, _, kw in RANDOM)
    assert any(any(TC.held(name, kw)) for name, _, kw in EDGES)


# ---------------------------------------------------------------------------
# Construction, the end of a OneCycleLR, momentum in sequences, resume


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("name", CYCLERS)
def test_construction_sets_momentum_as_torch_does(kind: str, name: str) -> None:
    kw = dict(max_lr=1.0, total_steps=50) if name == "OneCycleLR" else dict(base_lr=0.01, max_lr=0.1)
    a, b = optimizer(kind, 0.1), optimizer(kind, 0.1)
    getattr(tls, name)(a, **kw)
    Scheduler.from_torch(b, name, **kw)
    top = 0.95 if name == "OneCycleLR" else 0.9
    assert [momentum_of(g) for g in a.param_groups] == [momentum_of(g) for g in b.param_groups] == [top, top]
    assert [g["lr"] for g in a.param_groups] == pytest.approx([g["lr"] for g in b.param_groups], rel=RTOL)


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_runs_to_total_steps_like_torch_then_holds(kind: str, anneal: str) -> None:
    T = 40
    kw = dict(max_lr=[1.0, 0.4], total_steps=T, anneal_strategy=anneal, max_momentum=[0.95, 0.9])
    expected = torch_run(kind, "OneCycleLR", 0.1, kw, T)  # t = 0 ... T - 1
    opt = optimizer(kind, 0.1)
    sched = Scheduler.from_torch(opt, "OneCycleLR", **kw)
    got = record(opt, sched, T)
    assert_close(got[0], expected[0], "lr")
    assert_close(got[1], expected[1], "momentum")
    with pytest.raises(ValueError, match="Tried to step"):
        torch_run(kind, "OneCycleLR", 0.1, kw, T + 2)
    for _ in range(3 * T):  # torch raises past t = T; lrcore holds the values of t = T - 1
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == got[0][-1].tolist()
    assert [momentum_of(g) for g in opt.param_groups] == got[1][-1].tolist() == [0.95, 0.9]


def test_sequential_momentum_stays_where_the_cycling_child_left_it() -> None:
    kw = TC.seq(
        TC.c("LinearLR", start_factor=0.1, total_iters=5),
        TC.c("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3, base_momentum=0.6, max_momentum=0.7),
        TC.c("ExponentialLR", gamma=0.9),
        milestones=[5, 10],
    )
    expected_lr, expected_mom = torch_run("SGD", "SequentialLR", 0.1, kw, 20)
    _, got_mom = lrcore_run("SGD", "SequentialLR", 0.1, kw, 20)
    assert_close(got_mom, expected_mom, "momentum")
    # The CyclicLR's constructor set 0.7 before the LinearLR ran; from t = 10 on the momentum stays at t = 9's.
    assert (expected_mom[:5] == 0.7).all() and (expected_mom[10:] == expected_mom[9]).all()
    m = lr.from_torch("SequentialLR", 0.1, part="momentum", **kw)
    assert m(0) == 0.7 and m(100) == pytest.approx(expected_mom[9, 0], rel=RTOL) and m.horizon == 10


def test_chained_momentum_is_the_last_cycling_childs() -> None:
    kw = TC.chain(
        TC.c("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3),
        TC.c("OneCycleLR", max_lr=1.0, total_steps=30, cycle_momentum=False),
    )
    expected = torch_run("AdamW", "ChainedScheduler", 0.1, kw, 30)
    got = lrcore_run("AdamW", "ChainedScheduler", 0.1, kw, 30)
    assert_close(got[0], expected[0], "lr")
    assert_close(got[1], expected[1], "momentum")
    cyclic = lr.from_torch("CyclicLR", 0.1, part="momentum", base_lr=0.01, max_lr=0.1, step_size_up=3)
    assert lr.from_torch("ChainedScheduler", 0.1, part="momentum", **kw) == cyclic


def test_resume_from_state_dict_continues_like_torch() -> None:
    kw = dict(max_lr=[1.0, 0.5], total_steps=60, three_phase=True, pct_start=0.25)
    expected = torch_run("SGD", "OneCycleLR", 0.1, kw, 60)
    first = optimizer("SGD", 0.1)
    sched = Scheduler.from_torch(first, "OneCycleLR", **kw)
    record(first, sched, 25)
    saved = sched.state_dict()
    opt = optimizer("SGD", 0.1)
    resumed = Scheduler.from_torch(opt, "OneCycleLR", **kw)
    resumed.load_state_dict(saved)
    opt.step()
    rest = [[momentum_of(g) for g in opt.param_groups]]
    for _ in range(35):
        resumed.step()
        rest.append([momentum_of(g) for g in opt.param_groups])
    assert_close(np.array(rest), expected[1][24:], "momentum after resume")


def test_other_optimizers_follow_torch() -> None:
    """RMSprop has `momentum` (cycled); Adagrad has neither, and torch refuses cycle_momentum with it."""
    kw = dict(max_lr=0.5, total_steps=20)
    a = torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.5)
    b = torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.5)
    expected = record(a, tls.OneCycleLR(a, **kw), 20)
    assert_close(record(b, Scheduler.from_torch(b, "OneCycleLR", **kw), 20)[1], expected[1], "RMSprop momentum")
    ps = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="momentum or beta1"):
        tls.OneCycleLR(torch.optim.Adagrad(ps, lr=0.1), **kw)
    refused = r"from_torch\(OneCycleLR\): `cycle_momentum` needs .*\(Adagrad has neither\); pass cycle_momentum=False"
    with pytest.raises(ValueError, match=refused):
        Scheduler.from_torch(torch.optim.Adagrad(ps, lr=0.1), "OneCycleLR", **kw)
    a, b = torch.optim.Adagrad(ps, lr=0.1), torch.optim.Adagrad(ps, lr=0.1)
    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)
    got = record(b, Scheduler.from_torch(b, "CyclicLR", **kw), 20)[0]
    expected = record(a, tls.CyclicLR(a, **kw), 20)[0]
    assert_close(got, expected, "lr")
    # A SequentialLR child that cycles momentum is refused the same way.
    seq = TC.seq(TC.c("LinearLR"), TC.c("CyclicLR", base_lr=0.01, max_lr=0.1), milestones=[5])
    with pytest.raises(ValueError, match="`cycle_momentum` needs"):
        Scheduler.from_torch(torch.optim.Adagrad(ps, lr=0.1), "SequentialLR", **seq)


def test_bad_arguments() -> None:
    opt = optimizer("SGD", 0.1)
    with pytest.raises(ValueError, match=r"`max_lr` must be one value or a list of 2 \(one per param group\); got"):
        Scheduler.from_torch(opt, "OneCycleLR", max_lr=[1.0, 2.0, 3.0], total_steps=10)
    with pytest.raises(ValueError, match=r"schedulers\[1\]: CyclicLR\): `base_momentum` must be one value or a list"):
        seq = TC.seq(
            TC.c("StepLR", step_size=2), TC.c("CyclicLR", base_lr=0.01, max_lr=0.1, base_momentum=[0.8]), milestones=[3]
        )
        Scheduler.from_torch(opt, "SequentialLR", **seq)
    with pytest.raises(ValueError, match="`last_epoch` resumes a torch scheduler; resume this one with load_state"):
        Scheduler.from_torch(opt, "StepLR", step_size=3, last_epoch=5)
    with pytest.raises(TypeError, match="`part` is lr.from_torch's choice of one part; Scheduler.from_torch drives"):
        Scheduler.from_torch(opt, "CyclicLR", base_lr=0.01, max_lr=0.1, part="momentum")
    with pytest.raises(TypeError, match="`optimizer` must be a torch.optim.Optimizer"):
        Scheduler.from_torch([torch.zeros(1)], "StepLR", step_size=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'LambdaLR' is not a pure schedule; use lr.custom"):
        Scheduler.from_torch(opt, "LambdaLR", lr_lambda=abs)
    with pytest.raises(ValueError, match=r"from_torch\(StepLR\): `step_size` must be >= 1"):
        Scheduler.from_torch(opt, "StepLR", step_size=0)
    with pytest.raises(ValueError, match="`base_momentum` must be >= 0"):
        Scheduler.from_torch(opt, "CyclicLR", base_lr=0.01, max_lr=0.1, base_momentum=[0.8, -0.1])
    with pytest.raises(ValueError, match="`gamma` must be <= 1 for the momentum with mode='exp_range'"):
        Scheduler.from_torch(opt, "CyclicLR", base_lr=0.01, max_lr=0.1, mode="exp_range", gamma=1.01)


@pytest.mark.parametrize(
    ("name", "kwargs", "fragment"),
    [
        ("StepLR", dict(step_size=3), r"`part` must be 'lr' for StepLR: only OneCycleLR and CyclicLR"),
        ("OneCycleLR", dict(max_lr=1.0, total_steps=9, cycle_momentum=False), "`cycle_momentum` is False: torch"),
        ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, cycle_momentum=False), "`cycle_momentum` is False"),
        ("SequentialLR", TC.seq(TC.c("StepLR", step_size=2), TC.c("ConstantLR"), milestones=[3]), "holds no"),
        ("ChainedScheduler", TC.chain(TC.c("CyclicLR", base_lr=0.1, max_lr=1.0, cycle_momentum=False)), "holds no"),
        ("LambdaLR", dict(lr_lambda=abs), "use lr.custom"),
    ],
)
def test_part_momentum_refuses_what_torch_does_not_cycle(name: str, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        lr.from_torch(name, 0.1, part="momentum", **kwargs)


def test_part_defaults_and_values() -> None:
    assert lr.from_torch("CyclicLR", 0.1, part="lr", base_lr=0.01, max_lr=0.1) == lr.from_torch(
        "CyclicLR", 0.1, base_lr=0.01, max_lr=0.1
    )
    m = lr.from_torch("CyclicLR", 0.1, part="momentum", base_lr=0.01, max_lr=0.1, step_size_up=4)
    assert (m(0), m(4), m(8)) == (0.9, pytest.approx(0.8, rel=RTOL), 0.9)  # torch's defaults: 0.8 and 0.9
    with pytest.raises(ValueError, match="`part` must be one of 'lr', 'momentum'; got part='beta1'"):
        lr.from_torch("CyclicLR", 0.1, part="beta1", base_lr=0.01, max_lr=0.1)
    failed, _ = doctest.testmod(lrcore.convert._torch)
    assert failed == 0


# ---------------------------------------------------------------------------
# What the migration guide shows, and the refusals the reliability guide lists


def guide_migrating() -> str:
    return docs_pages.page("guides/migrating.md")


def guide_refusals() -> str:
    return docs_pages.section(docs_pages.page("guides/reliability.md"), "What the converters refuse")


def test_timm_noise_refusal_says_why_truthfully() -> None:
    timm = load_timm_scheduler()

    def run(**kw: Any) -> list[float]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = timm.CosineLRScheduler(opt, t_initial=20, **kw)
        out = []
        for t in range(10):
            sched.step(t)
            out.append(opt.param_groups[0]["lr"])
        return out

    noisy = run(noise_range_t=5, noise_seed=3)
    # Deterministic per step (a generator seeded with noise_seed + t), not random; and it does change the lr.
    assert noisy == run(noise_range_t=5, noise_seed=3) != run()
    assert noisy[:5] == run()[:5]
    with pytest.raises(ValueError) as info:
        lr.from_timm("CosineLRScheduler", 0.1, t_initial=20, noise_range_t=5, noise_seed=3)
    message = str(info.value)
    assert "random" not in message
    assert re.search(r"`noise_range_t` must be None: .*noise_seed \+ t.*lrcore has no", message), message


def test_guide_migration_example_runs_and_matches_torch() -> None:
    blocks = docs_pages.blocks(guide_migrating())
    assert len(blocks) == 1 and "Scheduler.from_torch" in blocks[0]
    ns: dict[str, Any] = {}
    exec(blocks[0], ns)
    m, sched, optimizer = ns["m"], ns["sched"], ns["optimizer"]
    assert (m(0), m(299), m(999)) == (0.95, 0.85, 0.95)
    assert "# (0.95, 0.85, 0.95)" in blocks[0]
    model = ns["torch"].nn.Linear(4, 1)
    theirs = torch.optim.SGD([{"params": model.weight}, {"params": model.bias}], lr=0.1, momentum=0.9)
    reference = tls.OneCycleLR(theirs, max_lr=[0.1, 0.01], total_steps=1000)
    theirs.step()  # no gradient: marks the optimizer as stepped, so torch does not warn about the order
    for _ in range(400):
        for a, b in zip(optimizer.param_groups, theirs.param_groups, strict=True):
            assert a["lr"] == pytest.approx(b["lr"], rel=RTOL) and a["momentum"] == pytest.approx(
                b["momentum"], rel=RTOL
            )
        sched.step()
        reference.step()


_OUT_OF_ORDER = TC.seq(TC.c("StepLR", step_size=2), TC.c("ConstantLR"), TC.c("LinearLR"), milestones=[5, 3])
_NO_PRODUCT = TC.chain(TC.c("CosineAnnealingLR", T_max=9), TC.c("ExponentialLR", gamma=0.9))

# One example of each refusal the reliability guide lists, in its order, with what the message must say.
REFUSALS: list[tuple[str, Any, str]] = [
    ("negative", lambda: lr.cosine(init=-0.1, steps=10), "`init` must be >= 0"),
    ("negative", lambda: lr.constant(value=0.1) + (-0.2), "must be >= 0"),
    ("negative", lambda: lr.constant(value=0.1) * -1, "`factor` must be >= 0"),
    ("negative", lambda: lr.clip(lr.constant(value=0.1), lo=-1), "`lo` must be >= 0"),
    ("negative", lambda: lr.from_torch("StepLR", -0.1, step_size=2), "`lr` must be >= 0"),
    ("negative", lambda: lr.from_optax("constant_schedule", value=-0.1), ">= 0"),
    ("negative", lambda: lr.from_keras("PolynomialDecay", initial_learning_rate=-0.1, decay_steps=5), ">= 0"),
    ("negative", lambda: lr.from_hf("linear", -0.1, 2, 10), "`lr` must be >= 0"),
    ("negative", lambda: lr.from_timm("CosineLRScheduler", 0.1, t_initial=10, lr_min=-0.1), "`lr_min` must be >= 0"),
    ("name", lambda: lr.from_torch("LambdaLR", 0.1, lr_lambda=abs), "lr.custom"),
    ("name", lambda: lr.from_torch("MultiplicativeLR", 0.1, lr_lambda=abs), "lr.custom"),
    ("name", lambda: lr.from_keras("LearningRateScheduler"), "lr.custom"),
    ("name", lambda: lr.from_torch("ReduceLROnPlateau", 0.1), "lr.Plateau"),
    ("name", lambda: lr.from_optax("reduce_on_plateau"), "lr.Plateau"),
    ("name", lambda: lr.from_keras("ReduceLROnPlateau"), "lr.Plateau"),
    ("name", lambda: lr.from_hf("reduce_lr_on_plateau", 0.1), "lr.Plateau"),
    ("name", lambda: lr.from_hf("greedy", 0.1), "lr.Plateau"),
    ("name", lambda: lr.from_timm("PlateauLRScheduler", 0.1), "lr.Plateau"),
    ("name", lambda: lr.from_optax("inject_hyperparams"), "lrcore.adapters.optax.schedule"),
    ("argument", lambda: lr.from_torch("CyclicLR", 0.1, base_lr=0.1, max_lr=1, scale_fn=abs), "`scale_fn`"),
    ("argument", lambda: lr.from_torch("StepLR", 0.1, step_size=3, last_epoch=4), "`last_epoch`"),
    ("argument", lambda: lr.from_timm("CosineLRScheduler", 0.1, t_initial=10, noise_range_t=5), "noise_seed + t"),
    ("argument", lambda: lr.from_timm("WSDLRScheduler", 0.1, t_initial=10, decay_t=3, decay_fn="exp"), "`decay_fn`"),
    ("peer", lambda: lr.from_torch("ConstantLR", 0.1, total_iters=0), "`total_iters`"),
    ("peer", lambda: lr.from_torch("StepLR", 0.1, step_size=2.5), "`step_size`"),
    ("peer", lambda: lr.from_torch("CosineAnnealingLR", 0.1, T_max=2.5), "`T_max`"),
    ("peer", lambda: lr.from_torch("MultiStepLR", 0.1, milestones=[2.5]), "`milestones`"),
    ("peer", lambda: lr.from_torch("ExponentialLR", 0.1, gamma=-0.5), "`gamma`"),
    ("peer", lambda: lr.from_torch("CosineAnnealingLR", 0.1, T_max=5, eta_min=-0.1), "`eta_min`"),
    ("peer", lambda: lr.from_torch("PolynomialLR", 0.1, power=-1.0), "`power`"),
    ("peer", lambda: lr.from_torch("OneCycleLR", 0.1, max_lr=1.0, total_steps=10, pct_start=1.0), "`pct_start`"),
    ("peer", lambda: lr.from_torch("SequentialLR", 0.1, **_OUT_OF_ORDER), "`milestones` must be sorted"),
    ("peer", lambda: lr.from_torch("ChainedScheduler", 0.1, **_NO_PRODUCT), "`schedulers` has a CosineAnnealingLR"),
    ("peer", lambda: lr.from_optax("exponential_decay", init_value=0.1, transition_steps=5, decay_rate=0.0), "rate"),
    (
        "peer",
        lambda: lr.from_optax(
            "warmup_cosine_decay_schedule", init_value=0.2, peak_value=0.1, warmup_steps=5, decay_steps=50
        ),
        "init_value",
    ),
    ("peer", lambda: lr.from_optax("cosine_decay_schedule", init_value=0.1, decay_steps=10, alpha=1.5), "`alpha`"),
    (
        "peer",
        lambda: lr.from_keras("ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.0),
        "`decay_rate`",
    ),
    (
        "peer",
        lambda: lr.from_keras("CosineDecayRestarts", initial_learning_rate=0.1, first_decay_steps=10, t_mul=0.5),
        "`t_mul`",
    ),
    (
        "peer",
        lambda: lr.from_keras("PolynomialDecay", initial_learning_rate=0.1, decay_steps=5, end_learning_rate=0.2),
        "end_learning_rate",
    ),
    ("peer", lambda: lr.from_hf("linear", 0.1, 12, 10), "`num_warmup_steps`"),
    ("peer", lambda: lr.from_hf("cosine_with_min_lr", 0.1, 2, 10, min_lr=0.2), "`min_lr`"),
    ("peer", lambda: lr.from_hf("constant", 0.1, 2, 10, num_cycles=2), "num_cycles"),
    ("peer", lambda: lr.from_timm("CosineLRScheduler", 0.1, t_initial=10, cycle_mul=0.5), "`cycle_mul`"),
    ("peer", lambda: lr.from_timm("MultiStepLRScheduler", 0.1, decay_t=[5, 3]), "`decay_t`"),
    ("peer", lambda: lr.from_timm("TanhLRScheduler", 0.1, t_initial=10, cycle_limit=1001), "`cycle_limit`"),
]


@pytest.mark.parametrize(("kind", "call", "fragment"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_listed_refusals_are_refused(kind: str, call: Any, fragment: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(fragment)):
        call()


def test_the_guides_list_the_refusals() -> None:
    text = guide_refusals() + guide_migrating()
    for phrase in [
        "Negative learning-rate values, everywhere",
        "`LambdaLR`",
        "`LearningRateScheduler`",
        "`greedy`",
        "`inject_hyperparams`",
        "`CyclicLR(scale_fn=...)`",
        "`last_epoch`",
        "`noise_range_t`",
        "`noise_seed + t`",
        "`total_iters=0`",
        "`pct_start`",
        "`t_mul < 1`",
        "more than\n  1000 Tanh or Poly cycles",
        'part="momentum"',
        "Scheduler.from_torch",
    ]:
        assert phrase in text, phrase
