"""lrcore's torch Scheduler under torch.distributed: 2 ranks on loopback (gloo), a DDP model.

Each rank feeds its own local validation metric to ``step(metric)``.  The Scheduler averages
it across ranks before the plateau sees it, so both ranks keep the same lr at every step,
the lr of a plateau fed the mean metric; with ``sync=False`` the ranks drift apart.  A
checkpoint saved on rank 0 and loaded by two fresh processes continues the run exactly.
The ranks run in spawned children with a timeout (``tests/gloo_ranks.py``), so a stuck collective fails
the test.
"""

from __future__ import annotations

import json
import math
import os

from gloo_ranks import spawn

import lrcore as lr

STEPS, SPLIT = 24, 10
SCHEDULE = lr.warmup(lr.cosine(init=0.1, steps=40), steps=4)
PLATEAU = lr.Plateau(patience=1, factor=0.5)


def local_metric(rank: int, t: int) -> float:
    """A noisy, slowly improving validation loss; each rank sees a different one."""
    return 2.0 + math.cos(t * (0.7 + 0.9 * rank)) - 0.02 * t


def lrs_from(metric) -> list[float]:
    """The lrs after each step of a plateau fed `metric(t)`, computed in one process."""
    state, out = PLATEAU.init(), []
    for t in range(STEPS):
        state = PLATEAU.update(state, metric(t))
        out.append(SCHEDULE(t + 1) * state.scale)
    return out


def _train(rank: int, out: str, phase: str) -> None:
    import torch
    from torch.nn.parallel import DistributedDataParallel

    from lrcore.adapters.torch import Scheduler

    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = Scheduler(opt, SCHEDULE, plateau=PLATEAU, sync=phase != "nosync")
    start = 0
    if phase == "resume":
        ckpt = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        sched.load_state_dict(ckpt["sched"])
        start = SPLIT
    lrs = []
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(rank))  # each rank its own batch
    for t in range(start, STEPS):
        opt.zero_grad()
        model(x).pow(2).mean().backward()  # DDP averages the gradients
        opt.step()
        sched.step(local_metric(rank, t))
        lrs.append(opt.param_groups[0]["lr"])
        if phase == "sync" and t + 1 == SPLIT and rank == 0:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
            torch.save(state, os.path.join(out, "ckpt.pt"))
    with open(os.path.join(out, f"{phase}-{rank}.json"), "w") as f:
        json.dump(lrs, f)


def test_two_ranks_keep_identical_lrs_and_resume_exactly(tmp_path):
    spawn(_train, str(tmp_path), ["sync", "nosync"], timeout=180)
    spawn(_train, str(tmp_path), ["resume"], timeout=120)  # two fresh processes start from rank 0's file

    def read(name):
        return json.loads((tmp_path / f"{name}.json").read_text())

    expected = lrs_from(lambda t: (local_metric(0, t) + local_metric(1, t)) / 2)
    alone = [lrs_from(lambda t, r=r: local_metric(r, t)) for r in (0, 1)]
    assert expected != alone[0] and expected != alone[1]  # the metrics tell the three apart
    assert read("sync-0") == read("sync-1") == expected

    # Resumed from rank 0's checkpoint in fresh processes: the uninterrupted run, exactly.
    assert read("resume-0") == read("resume-1") == expected[SPLIT:]

    # sync=False: each rank's plateau sees only its own metric, and the ranks diverge.
    assert read("nosync-0") == alone[0] and read("nosync-1") == alone[1]
    assert alone[0] != alone[1]
