"""lrcore.adapters.torch.Scheduler against torch's own optimizers and schedulers."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import warnings

import docs_pages
import numpy as np
import pytest
import torch

import lrcore as lr
from lrcore.adapters.torch import Scheduler

WARMUP_COSINE = lr.warmup(lr.cosine(init=0.1, steps=120, final=0.001), steps=30)


def _params(n: int = 3) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.full((2,), float(i + 1), dtype=torch.float64)) for i in range(n)]


def _train(opt: torch.optim.Optimizer, sched: Scheduler, steps: int, metrics=None) -> list[list[float]]:
    """Run `steps` updates of a quadratic loss; the lrs of every group before each update."""
    seen = []
    for t in range(steps):
        seen.append([float(g["lr"]) for g in opt.param_groups])
        opt.zero_grad()
        sum((p**2).sum() for g in opt.param_groups for p in g["params"]).backward()
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[t])
    return seen


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: torch.optim.SGD(ps, lr=0.5, momentum=0.9),
        lambda ps: torch.optim.Adam(ps, lr=0.5),
        lambda ps: torch.optim.AdamW(ps, lr=0.5, weight_decay=0.01),
    ],
    ids=["SGD", "Adam", "AdamW"],
)
def test_lr_sequence_equals_schedule(make):
    opt = make(_params(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # normal use emits no warning
        sched = Scheduler(opt, WARMUP_COSINE)
        seen = _train(opt, sched, 200)
    expected = WARMUP_COSINE.array(200)
    assert [row[0] for row in seen] == expected.tolist()
    assert sched.get_last_lr() == [WARMUP_COSINE(200)]
    assert sched.last_epoch == 200


def test_param_groups_with_one_schedule_each_and_relative():
    ps = _params(3)
    groups = [{"params": [ps[0]], "lr": 1.0}, {"params": [ps[1]], "lr": 0.5}, {"params": [ps[2]], "lr": 0.25}]
    schedules = [WARMUP_COSINE, lr.step(init=1.0, step_size=7, gamma=0.5), lr.constant(value=0.3)]
    opt = torch.optim.SGD(groups, lr=1.0)
    seen = np.array(_train(opt, Scheduler(opt, schedules), 150))
    for i, s in enumerate(schedules):
        assert seen[:, i].tolist() == s.array(150).tolist()

    # relative=True is LambdaLR: each group's initial lr times the schedule.
    twin_groups = [{"params": [p], "lr": g["lr"]} for p, g in zip(_params(3), groups, strict=True)]
    twin = torch.optim.SGD(twin_groups, lr=1.0)
    peer = torch.optim.lr_scheduler.LambdaLR(twin, lambda t: WARMUP_COSINE(t))
    rel = torch.optim.SGD([{"params": [p], "lr": g["lr"]} for p, g in zip(_params(3), groups, strict=True)], lr=1.0)
    ours = _train(rel, Scheduler(rel, WARMUP_COSINE, relative=True), 150)
    assert ours == _train(twin, peer, 150)


def test_multistep_matches_torch_multisteplr():
    opt, twin = torch.optim.SGD(_params(1), lr=0.1), torch.optim.SGD(_params(1), lr=0.1)
    ours = _train(opt, Scheduler(opt, lr.multistep(init=0.1, milestones=[30, 80, 80], gamma=0.1)), 150)
    peer = _train(twin, torch.optim.lr_scheduler.MultiStepLR(twin, milestones=[30, 80, 80], gamma=0.1), 150)
    np.testing.assert_allclose(ours, peer, rtol=1e-12, atol=0)


def _checkpointed_run(tmp_path, s, *, plateau=None, momentum=None, metrics=None, split=80, total=200):
    """(uninterrupted lrs, lrs of a run saved at `split` and resumed from files with torch.load)."""

    def build(schedule):
        opt = torch.optim.SGD([{"params": [p]} for p in _params(2)], lr=0.05, momentum=0.9)
        return opt, Scheduler(opt, schedule, plateau=plateau, momentum=momentum)

    opt, sched = build(s)
    whole = _train(opt, sched, total, metrics)

    opt, sched = build(s)
    first = _train(opt, sched, split, None if metrics is None else metrics[:split])
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.pt")
    # Built with another schedule: loading takes the saved one.
    opt, sched = build(lr.constant(value=123.0))
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    opt.load_state_dict(ckpt["opt"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.load_state_dict(ckpt["sched"])
    assert sched.schedules == [s, s]
    rest = _train(opt, sched, total - split, None if metrics is None else metrics[split:])
    return whole, first + rest, sched


def test_resume_from_a_torch_save_file_is_exact(tmp_path):
    whole, resumed, _ = _checkpointed_run(tmp_path, WARMUP_COSINE)
    assert resumed == whole


def test_resume_with_plateau_and_momentum(tmp_path):
    metrics = [1.0 / (1 + t // 25) for t in range(200)]  # improves every 25 epochs
    momentum = lr.linear(start=0.95, end=0.85, steps=200)
    plateau = lr.Plateau(factor=0.5, patience=5)
    whole, resumed, sched = _checkpointed_run(tmp_path, WARMUP_COSINE, plateau=plateau, momentum=momentum,
                                              metrics=metrics)
    assert resumed == whole
    assert sched.plateau == plateau and sched.momentum == [momentum, momentum]
    assert sched.plateau_state.scale < 1.0
    assert sched.optimizer.param_groups[0]["momentum"] == momentum(200)


def test_state_dict_holds_plain_python_values_only():
    sched = Scheduler(torch.optim.SGD(_params(1), lr=0.1), WARMUP_COSINE, plateau=lr.Plateau())
    sched.step(0.5)

    def plain(x):
        if isinstance(x, dict):
            return all(isinstance(k, str) and plain(v) for k, v in x.items())
        if isinstance(x, list):
            return all(plain(v) for v in x)
        return x is None or type(x) in (bool, int, float, str)

    state = sched.state_dict()
    assert plain(state) and state["t"] == 1 and state["sync"] is True
    assert lr.from_dict(state["schedules"][0]) == WARMUP_COSINE


def test_a_checkpoint_at_a_billion_steps_resumes_at_the_exact_lr(tmp_path):
    # O(1): a replay of 10**9 steps would not end within the suite's time.
    s = lr.cosine_restarts(init=0.1, period=1000, period_mult=1.5, decay=0.9)
    opt = torch.optim.AdamW(_params(1), lr=0.1)
    state = Scheduler(opt, s).state_dict()
    state["t"] = 10**9
    torch.save(state, tmp_path / "late.pt")
    loaded = torch.load(tmp_path / "late.pt", weights_only=True)
    sched = Scheduler(opt, lr.constant(value=1.0))
    sched.load_state_dict(loaded)
    assert opt.param_groups[0]["lr"] == s(10**9) and sched.get_last_lr() == [s(10**9)]
    assert s(10**9) not in (s(0), s(10**9 + 1))  # the exact step, not a neighbour
    sched.step()
    assert opt.param_groups[0]["lr"] == s(10**9 + 1)
    assert sched.last_epoch == 10**9 + 1


def test_tensor_lr_is_filled_in_place_and_compiled_step_never_recompiles():
    compiles = []

    def counting_backend(gm, example_inputs):
        compiles.append(gm)
        return gm.forward

    def run(lr0, steps):
        torch._dynamo.reset()
        compiles.clear()
        params = _params(1)
        opt = torch.optim.Adam(params, lr=lr0)
        sched = Scheduler(opt, WARMUP_COSINE)
        first = opt.param_groups[0]["lr"]

        @torch.compile(backend=counting_backend)
        def update():
            opt.step()

        for t in range(steps):
            params[0].grad = torch.ones_like(params[0])
            update()
            sched.step()
            assert float(opt.param_groups[0]["lr"]) == pytest.approx(WARMUP_COSINE(t + 1), rel=1e-6)
        return len(compiles), first is opt.param_groups[0]["lr"]

    assert run(torch.tensor(0.1), 20) == (1, True)
    # The contrast: a float lr is guarded as a constant, so a new value recompiles.
    assert run(0.1, 4)[0] > 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max"},
        {"threshold_mode": "abs", "threshold": 0.05},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.02, "cooldown": 3},
        {"patience": 2, "cooldown": 4, "factor": 0.5, "min_lr": 0.01},
        {"patience": 0, "threshold": 0.1},
    ],
)
def test_plateau_on_a_constant_schedule_equals_reduce_lr_on_plateau(kwargs):
    rng = np.random.default_rng(len(str(kwargs)))
    metrics = (1.0 + np.cumsum(rng.normal(0.0, 0.05, 300))).tolist()
    metrics[100:130] = [math.nan] * 30  # NaN counts as bad in both
    base = 0.1
    twin = torch.optim.SGD(_params(1), lr=base)
    # eps=0: lr.Plateau works on the scale and has no floor on the step size (torch's eps=1e-8
    # stops reducing once lr * (1 - factor) <= 1e-8, which these metrics reach).
    peer = torch.optim.lr_scheduler.ReduceLROnPlateau(twin, eps=0.0, **kwargs)
    expected = []
    for m in metrics:
        peer.step(m)
        expected.append(twin.param_groups[0]["lr"])

    min_scale = kwargs.pop("min_lr", 0.0) / base
    opt = torch.optim.SGD(_params(1), lr=base)
    sched = Scheduler(opt, lr.constant(value=base), plateau=lr.Plateau(min_scale=min_scale, **kwargs))
    got = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for m in metrics:
            sched.step(m)
            got.append(opt.param_groups[0]["lr"])
    assert len(set(expected)) > 2  # the metrics make the peer reduce
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_warmup_and_plateau_compose():
    plateau = lr.Plateau(factor=0.5, patience=3)
    opt = torch.optim.Adam(_params(1), lr=0.1)
    sched = Scheduler(opt, WARMUP_COSINE, plateau=plateau)
    state = plateau.init()
    steps_per_epoch, epochs = 10, 15
    metrics = [1.0, 0.9] + [0.9] * 13
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            t = sched.last_epoch
            assert opt.param_groups[0]["lr"] == WARMUP_COSINE(t) * state.scale
            opt.step()
            sched.step()
        sched.observe(metrics[epoch])  # a per-epoch metric does not advance t
        state = plateau.update(state, metrics[epoch])
        assert sched.last_epoch == steps_per_epoch * (epoch + 1)
    assert state.scale == 0.125 and sched.get_last_lr() == [WARMUP_COSINE(150) * 0.125]


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_momentum_schedule_equals_one_cycle_lr(kind):
    total, pct, peak = 120, 0.3, 0.1
    lo, hi = 0.85, 0.95
    end = pct * total - 1  # OneCycleLR's phases end at pct * total - 1 and total - 1
    lrs = lr.interpolate(points=[(0, peak / 25), (end, peak), (total - 1, peak / 25 / 1e4)], shape="cosine")
    momentum = lr.interpolate(points=[(0, hi), (end, lo), (total - 1, hi)], shape="cosine")

    def make():
        if kind == "SGD":
            return torch.optim.SGD(_params(1), lr=peak, momentum=hi)
        return torch.optim.Adam(_params(1), lr=peak, betas=(hi, 0.999))

    key = (lambda g: g["momentum"]) if kind == "SGD" else (lambda g: g["betas"][0])
    twin, opt = make(), make()
    peer = torch.optim.lr_scheduler.OneCycleLR(twin, max_lr=peak, total_steps=total, pct_start=pct,
                                               base_momentum=lo, max_momentum=hi)
    sched = Scheduler(opt, lrs, momentum=momentum)
    for _ in range(total - 1):
        assert opt.param_groups[0]["lr"] == pytest.approx(twin.param_groups[0]["lr"], rel=1e-12)
        assert key(opt.param_groups[0]) == pytest.approx(key(twin.param_groups[0]), rel=1e-12)
        twin.step(), opt.step()
        peer.step(), sched.step()
    if kind == "Adam":
        assert opt.param_groups[0]["betas"][1] == 0.999


def test_custom_schedule_is_left_out_of_the_state_and_kept_on_load():
    s = lr.custom(lambda t: 0.1 / (1 + t))
    opt = torch.optim.SGD(_params(1), lr=0.1)
    sched = Scheduler(opt, s)
    sched.step()
    state = sched.state_dict()
    assert state["schedules"] == [None]
    fresh = Scheduler(opt, s)
    fresh.load_state_dict(state)
    assert fresh.schedules == [s] and opt.param_groups[0]["lr"] == s(1)


def test_bad_arguments_are_named():
    opt = torch.optim.SGD(_params(2), lr=0.1)
    with pytest.raises(TypeError, match="Scheduler: `optimizer` must be a torch.optim.Optimizer"):
        Scheduler("sgd", WARMUP_COSINE)
    with pytest.raises(TypeError, match="`schedule` must hold lrcore Schedules"):
        Scheduler(opt, lambda t: 0.1)
    with pytest.raises(ValueError, match=r"`schedule` must be one schedule or a list of 1"):
        Scheduler(opt, [WARMUP_COSINE, WARMUP_COSINE])
    with pytest.raises(TypeError, match="`relative` must be True or False"):
        Scheduler(opt, WARMUP_COSINE, relative=1)
    with pytest.raises(TypeError, match="`sync` must be True or False; got sync='no'"):
        Scheduler(opt, WARMUP_COSINE, sync="no")
    with pytest.raises(TypeError, match="`plateau` must be an lrcore Plateau"):
        Scheduler(opt, WARMUP_COSINE, plateau=torch.optim.lr_scheduler.ReduceLROnPlateau)
    with pytest.raises(ValueError, match="`momentum` needs an optimizer with `momentum` or `betas`"):
        Scheduler(torch.optim.Adagrad(_params(1)), WARMUP_COSINE, momentum=lr.constant(value=0.9))
    with pytest.raises(ValueError, match=r"Scheduler.step: `metric` needs a scheduler built with plateau"):
        Scheduler(opt, WARMUP_COSINE).step(0.3)
    sched = Scheduler(opt, WARMUP_COSINE)
    with pytest.raises(ValueError, match="load_state_dict: `state_dict` lacks"):
        sched.load_state_dict({"t": 3})


# A plateau nobody feeds (Trainer and Lightning feed only torch's ReduceLROnPlateau) warns once.

UNFED = "has received no metric"


def _unfed_warnings(sched: Scheduler, steps: int, feed_at: int | None = None) -> list[tuple[int, str, str]]:
    """(t, message, file) of each warning over `steps` more steps; `observe` at t == feed_at."""
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(steps):
            if sched.last_epoch == feed_at:
                sched.observe(0.5)
            n = len(caught)
            sched.step()
            seen += [(sched.last_epoch, str(w.message), w.filename) for w in caught[n:]]
    return seen


@pytest.mark.parametrize(
    "schedule",
    [lr.constant(value=0.1), lr.step(init=0.1, step_size=100, gamma=0.5), lr.warmup(lr.constant(value=0.1), steps=50),
     lr.cosine(init=0.1, steps=20_000)],
    ids=["constant", "unbounded", "warmup-then-constant", "longer-than-10000"],
)
def test_an_unfed_plateau_warns_once_at_10000_steps_naming_every_fix(schedule):
    # A schedule that ends at its peak (constant, warmup then constant) runs on for as long as
    # training does: its horizon is not the end of the run.
    sched = Scheduler(torch.optim.SGD(_params(1), lr=0.1), schedule, plateau=lr.Plateau())
    seen = _unfed_warnings(sched, 12_000)
    assert [t for t, _, _ in seen] == [10_000]
    message, filename = seen[0][1], seen[0][2]
    assert UNFED in message
    for fix in ("sched.step(metric)", "sched.observe(metric)", "lrcore.adapters.hf.PlateauCallback(sched)",
                'lrcore.adapters.lightning.PlateauCallback(monitor="val_loss")'):
        assert fix in message
    assert filename == __file__  # points at the caller's step()


def test_an_unfed_plateau_warns_at_the_end_of_a_shorter_decaying_schedule():
    ps = _params(3)
    groups = [{"params": [p]} for p in ps]
    # The longest decaying group ends at 500; the constant one ends at its peak and does not count.
    schedules = [lr.cosine(init=0.1, steps=300), lr.warmup(lr.linear(start=0.1, end=0.0, steps=450), steps=50),
                 lr.constant(value=0.1)]
    sched = Scheduler(torch.optim.SGD(groups, lr=0.1), schedules, plateau=lr.Plateau())
    assert [t for t, _, _ in _unfed_warnings(sched, 1_000)] == [500]
    sched = Scheduler(torch.optim.SGD(_params(1), lr=0.1), lr.cosine(init=0.1, steps=299.5), plateau=lr.Plateau())
    assert [t for t, _, _ in _unfed_warnings(sched, 1_000)] == [300]


def test_a_fed_plateau_or_no_plateau_never_warns():
    for feed_at in (0, 9_999):
        sched = Scheduler(torch.optim.SGD(_params(1), lr=0.1), lr.constant(value=0.1), plateau=lr.Plateau())
        assert _unfed_warnings(sched, 12_000, feed_at=feed_at) == []
    sched = Scheduler(torch.optim.SGD(_params(1), lr=0.1), lr.constant(value=0.1), plateau=lr.Plateau())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step(0.5)  # step(metric) feeds too
        for _ in range(12_000):
            sched.step()
        plain = Scheduler(torch.optim.SGD(_params(1), lr=0.1), lr.constant(value=0.1))
        for _ in range(12_000):
            plain.step()


def test_the_unfed_warning_survives_a_checkpoint():
    def build():
        return Scheduler(torch.optim.SGD(_params(1), lr=0.1), lr.constant(value=0.1), plateau=lr.Plateau())

    # Fed before the checkpoint: the plateau state's count says so, and the resumed run stays quiet.
    fed = build()
    fed.observe(0.5)
    _unfed_warnings(fed, 100)
    resumed = build()
    resumed.load_state_dict(fed.state_dict())
    assert _unfed_warnings(resumed, 12_000) == []

    # Never fed, saved at t = 6,000: the resumed run warns at 10,000, as the uninterrupted one.
    unfed = build()
    _unfed_warnings(unfed, 6_000)
    resumed = build()
    resumed.load_state_dict(unfed.state_dict())
    assert [t for t, _, _ in _unfed_warnings(resumed, 6_000)] == [10_000]

    # A scheduler that warned does not warn again when it loads a state (its own or another unfed one);
    # a new one, in a resumed process, warns once at its next step: the plateau is still not fed.
    state = resumed.state_dict()
    resumed.load_state_dict(state)
    assert _unfed_warnings(resumed, 100) == []
    fresh = build()
    fresh.load_state_dict(state)
    assert [t for t, _, _ in _unfed_warnings(fresh, 100)] == [12_001]


# The PyTorch guide's blocks run as written.


def _guide_torch_blocks() -> list[str]:
    return docs_pages.blocks(docs_pages.page("guides/torch.md"))


def test_guide_torch_loop_and_compile_snippets_run(tmp_path, monkeypatch):
    loop, _, _, _, compiled, _ = _guide_torch_blocks()
    monkeypatch.chdir(tmp_path)
    scope: dict = {}  # each block in a namespace of its own: it needs nothing from another
    exec(loop, scope)
    sched, s = scope["sched"], scope["sched"].schedules[0]
    assert sched.last_epoch == 80 and sched.plateau_state.count == 10
    assert sched.get_last_lr() == [s(80) * sched.plateau_state.scale]
    assert set(torch.load(tmp_path / "ckpt.pt", weights_only=True)) == {"model", "opt", "sched"}
    # The compiled step as written; the eager backend keeps CI from building C++ kernels
    # (dynamo, which decides graphs and recompiles, runs the same).
    torch._dynamo.reset()
    torch.compiler.set_default_backend("eager")
    scope = {}
    try:
        exec(compiled, scope)
    finally:
        torch.compiler.set_default_backend(None)
        torch._dynamo.reset()
    opt, sched = scope["opt"], scope["sched"]
    assert sched.last_epoch == 10 and sched.schedules == [lr.cosine(init=0.01, steps=100)]
    assert opt.param_groups[0]["lr"].item() == torch.tensor(lr.cosine(init=0.01, steps=100)(10)).item()


def test_guide_units_amp_and_hyper_snippets_run(capsys):
    _, units, amp, hyper, _, _ = _guide_torch_blocks()
    scope: dict = {}
    exec(units, scope)
    sched = scope["sched"]
    assert sched.schedules == [lr.resolve(scope["s"], steps=2_000)] == [lr.warmup(lr.cosine(init=3e-4, steps=1900),
                                                                                  steps=100)]
    assert capsys.readouterr().out.strip() == repr(sched.schedules[0]) == units.split("# ")[-1].strip()

    scope = {}
    exec(amp, scope)
    sched, scaler = scope["sched"], scope["scaler"]
    assert scaler.is_enabled() and sched.count == "optimizer"
    assert sched.last_epoch == 25  # 100 step() calls, 25 updates
    assert scope["opt"].param_groups[0]["lr"] == lr.cosine(init=0.1, steps=25)(25)

    scope = {}
    exec(hyper, scope)
    sched, group = scope["sched"], scope["opt"].param_groups[0]
    assert (group["weight_decay"], group["betas"][0]) == (0.1, 0.85)
    for _ in range(500):
        scope["opt"].step()
        sched.step()
    assert group["weight_decay"] == lr.cosine(init=0.1, steps=1_000, final=0.01)(500)
    assert group["betas"] == (lr.linear(start=0.85, end=0.95, steps=1_000)(500), 0.999)


def test_guide_ddp_snippet_runs_under_torchrun_with_identical_lrs(tmp_path):
    *_, ddp = _guide_torch_blocks()
    (tmp_path / "train.py").write_text(ddp)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "train.py"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The ranks share one pipe: read their reports wherever they landed in it.
    reports = dict(re.findall(r"rank (\d): lr \[([^\]]*)\]", proc.stdout))
    assert sorted(reports) == ["0", "1"], proc.stdout
    assert reports["0"] == reports["1"]
    # 200 steps; the plateau has reduced the lr (each rank's metric alone would reduce it differently).
    assert 0 < float(reports["0"]) < lr.cosine(init=0.1, steps=1000)(200)
    assert set(torch.load(tmp_path / "sched.pt", weights_only=True)) >= {"t", "plateau_state", "sync"}
