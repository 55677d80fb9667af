"""count="optimizer": t follows the updates the optimizer really applied.

Two ways a loop's ``sched.step()`` calls drift from the weights: an AMP ``GradScaler`` that
skips ``optimizer.step()`` on inf gradients (``sched.step()`` still runs), and gradient
accumulation with ``sched.step()`` on every micro-batch.  Each run below is compared, lr by
lr, with the ideal run that takes exactly the updates that were applied.
"""

from __future__ import annotations

import gc
import warnings

import pytest
import torch

import lrcore as lr
from lrcore.adapters.torch import Scheduler

S = lr.warmup(lr.cosine(init=0.1, steps=36, final=0.001), steps=4, start=0.01)  # no update at lr 0
SKIPPED = (2, 5, 6, 13)  # iterations whose gradients are made inf: the scaler skips their update
ITERATIONS = 24


def _model() -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(4, 1)


def _batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(i)
    return torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)


def _amp_run(count: str, state: dict | None = None, start: int = 0, stop: int = ITERATIONS):
    """A GradScaler loop calling sched.step() every iteration; (lrs of applied updates, weights, sched, scaler)."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = Scheduler(opt, S, count=count)
    scaler = torch.amp.GradScaler("cpu")
    assert scaler.is_enabled()
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        scaler.load_state_dict(state["scaler"])
    applied = []
    for i in range(start, stop):
        x, y = _batch(i)
        opt.zero_grad()
        scaler.scale(torch.nn.functional.mse_loss(model(x), y)).backward()
        if i in SKIPPED:
            model.weight.grad[0, 0] = float("inf")
        before = [p.detach().clone() for p in model.parameters()]
        lr_now = opt.param_groups[0]["lr"]
        scaler.step(opt)
        scaler.update()
        same = all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
        assert same == (i in SKIPPED), i  # the scaler really skipped exactly the poisoned updates
        if not same:
            applied.append((i, lr_now))
        sched.step()
    return applied, model, opt, sched, scaler


def _ideal_run(batches: list[int]):
    """Plain updates on `batches`, the lr from S at t = 0, 1, ...: what the AMP run should have done."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = Scheduler(opt, S)
    lrs = []
    for i in batches:
        x, y = _batch(i)
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs, model


def test_a_grad_scaler_that_skips_updates_leaves_the_lr_where_the_weights_are():
    applied, model, _, sched, scaler = _amp_run("optimizer")
    assert scaler.get_scale() == 65536.0 / 2 ** len(SKIPPED)  # each inf halved the scale
    batches = [i for i, _ in applied]
    assert batches == [i for i in range(ITERATIONS) if i not in SKIPPED]
    ideal_lrs, ideal = _ideal_run(batches)
    assert [lr_ for _, lr_ in applied] == ideal_lrs == [S(t) for t in range(len(batches))]
    assert sched.last_epoch == len(batches)
    # The scale is a power of two, so unscaling is exact: the weights are the ideal run's too.
    for ours, theirs in zip(model.parameters(), ideal.parameters(), strict=True):
        assert torch.equal(ours, theirs)


def test_counting_step_calls_runs_the_lr_ahead_of_the_weights():
    applied, *_ = _amp_run("step")
    lrs = [lr_ for _, lr_ in applied]
    assert lrs != [S(t) for t in range(len(applied))]
    assert lrs == [S(i) for i, _ in applied]  # t counted the skipped iterations too


def test_the_count_is_saved_and_a_resumed_amp_run_continues_exactly(tmp_path):
    whole, model, *_ = _amp_run("optimizer")
    first, model1, opt1, sched1, scaler1 = _amp_run("optimizer", stop=10)
    state = {"model": model1.state_dict(), "opt": opt1.state_dict(), "sched": sched1.state_dict(),
             "scaler": scaler1.state_dict()}
    assert state["sched"]["count"] == "optimizer" and state["sched"]["t"] == 10 - 3  # 2, 5, 6 skipped
    torch.save(state, tmp_path / "ckpt.pt")
    loaded = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    # Built counting step() calls: the checkpoint's count is the run's.
    rest, model2, _, sched2, _ = _amp_run("step", state=loaded, start=10)
    assert sched2.count == "optimizer"
    assert first + rest == whole
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters(), strict=True))


@pytest.mark.parametrize("count", ["optimizer", "step"])
def test_accumulating_four_micro_batches_with_a_step_call_per_micro_batch(count):
    micro, updates = 4, 10

    def run(accumulate: bool):
        model = _model()
        opt = torch.optim.AdamW(model.parameters(), lr=0.1)
        sched = Scheduler(opt, S, count=count if accumulate else "step")
        lrs = []
        for k in range(updates):
            x, y = _batch(k)
            opt.zero_grad()
            if accumulate:
                for j in range(micro):  # a quarter of the batch each, as a loop that steps the scheduler per batch
                    part = slice(2 * j, 2 * j + 2)
                    (torch.nn.functional.mse_loss(model(x[part]), y[part]) / micro).backward()
                    if j < micro - 1:
                        sched.step()
            else:
                torch.nn.functional.mse_loss(model(x), y).backward()
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return lrs, model

    ideal, ideal_model = run(accumulate=False)
    ours, model = run(accumulate=True)
    assert ideal == [S(t) for t in range(updates)]
    if count == "optimizer":
        assert ours == ideal
        for a, b in zip(model.parameters(), ideal_model.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # the same gradients, summed in another order
    else:
        assert ours == [S(micro * t + micro - 1) for t in range(updates)]  # four times too fast


def test_step_only_feeds_the_plateau_and_the_new_scale_applies_at_once(caplog):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    sched = Scheduler(opt, S, count="optimizer", plateau=lr.Plateau(patience=0, factor=0.5))
    opt.step()
    sched.step()  # nothing to feed, nothing to count: the optimizer counted
    assert sched.last_epoch == 1 and opt.param_groups[0]["lr"] == S(1)
    with caplog.at_level("INFO", logger="lrcore"):
        sched.step(1.0)
        sched.step(1.0)  # not better than 1.0: one bad evaluation, patience 0
    assert sched.last_epoch == 1 and sched.plateau_state.count == 2
    assert opt.param_groups[0]["lr"] == S(1) * 0.5 == sched.get_last_lr()[0]
    assert [r.getMessage() for r in caplog.records] == [
        "Scheduler: step 1: plateau reducing the lr scale to 0.5 (metric 1, best 1)"]


def test_a_dropped_scheduler_stops_counting_and_loading_switches_the_hook():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    sched = Scheduler(opt, S, count="optimizer")
    saved_step = Scheduler(torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1), S).state_dict()
    sched.load_state_dict(saved_step)  # count="step" now: the optimizer's steps no longer advance t
    opt.step()
    assert sched.last_epoch == 0
    sched.step()
    assert sched.last_epoch == 1 and opt.param_groups[0]["lr"] == S(1)
    sched.load_state_dict({**saved_step, "count": "optimizer"})
    opt.step()
    assert sched.last_epoch == 1  # the saved t (0) plus one update
    del sched
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()  # the hook holds the scheduler weakly: nothing left to advance, nothing raised
    assert opt.param_groups[0]["lr"] == S(1)


def test_a_bad_count_is_named():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"^Scheduler: `count` must be one of 'step', 'optimizer'; got count='opt'$"):
        Scheduler(opt, S, count="opt")
    with pytest.raises(TypeError, match=r"^Scheduler: `count` must be one of .*; got count=None$"):
        Scheduler(opt, S, count=None)


def test_a_pickled_scheduler_counts_the_updates_of_its_own_optimizer():
    import pickle

    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    sched = Scheduler(opt, S, count="optimizer", plateau=lr.Plateau())
    opt.step()
    copy = pickle.loads(pickle.dumps(sched))  # the optimizer comes along, without its hooks: the copy adds its own
    copy.optimizer.step()
    copy.optimizer.step()
    assert (sched.last_epoch, copy.last_epoch) == (1, 3)
    assert opt.param_groups[0]["lr"] == S(1) and copy.optimizer.param_groups[0]["lr"] == S(3)
