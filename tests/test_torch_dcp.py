"""lrcore's torch Scheduler in a torch.distributed.checkpoint (DCP) save and load: 2 gloo ranks on loopback.

DCP treats the Scheduler as ``Stateful`` (``state_dict`` / ``load_state_dict``): ``dcp.save`` writes
its plain values beside the model's tensors, and ``dcp.load`` reads them into a scheduler built the
same way, in fresh processes.  The resumed ranks continue the uninterrupted run exactly: lr,
momentum, weight decay and plateau at every step, with t counted from the optimizer's updates.
The ranks run in spawned children with a timeout (``tests/gloo_ranks.py``), so a stuck collective fails
the test.
"""

from __future__ import annotations

import json
import math
import os

from gloo_ranks import spawn

import lrcore as lr

STEPS, SPLIT = 20, 8
SCHEDULE = lr.warmup(lr.cosine(init=0.1, steps="90%"), steps="10%")
PLATEAU = lr.Plateau(patience=1, factor=0.5)

def _metric(rank: int, t: int) -> float:
    return 1.0 + 0.1 * math.cos(t * (1.0 + rank))


def _train(rank: int, out: str, phase: str) -> None:
    import torch
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.stateful import Stateful
    from torch.nn.parallel import DistributedDataParallel

    from lrcore.adapters.torch import Scheduler

    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0)
    sched = Scheduler(opt, SCHEDULE, plateau=PLATEAU, count="optimizer", steps=STEPS,
                      momentum=lr.linear(start=0.95, end=0.85, steps="100%"),
                      hyper={"weight_decay": lr.cosine(init=1e-3, steps="100%")})
    assert isinstance(sched, Stateful)
    path = os.path.join(out, "dcp")
    start = 0
    if phase == "resume":
        state = {"model": model.state_dict(), "sched": sched}
        dcp.load(state, checkpoint_id=path)  # DCP calls sched.load_state_dict with the saved values
        model.load_state_dict(state["model"])
        start = SPLIT
    seen = []
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(rank))
    for t in range(start, STEPS):
        group = opt.param_groups[0]
        seen.append([sched.last_epoch, group["lr"], group["momentum"], group["weight_decay"]])
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()  # t advances here (count="optimizer")
        sched.step(_metric(rank, t))  # feeds the plateau the mean over ranks
        if phase == "whole" and t + 1 == SPLIT:
            dcp.save({"model": model.state_dict(), "sched": sched}, checkpoint_id=path)
    seen.append([sched.last_epoch, sched.plateau_state.to_dict()])
    with open(os.path.join(out, f"{phase}-{rank}.json"), "w") as f:
        json.dump(seen, f)


def test_dcp_save_and_load_on_two_ranks_resumes_exactly(tmp_path):
    spawn(_train, str(tmp_path), ["whole"], timeout=180)
    spawn(_train, str(tmp_path), ["resume"], timeout=180)  # two fresh processes load the DCP checkpoint

    def read(name):
        return json.loads((tmp_path / f"{name}.json").read_text())

    whole = read("whole-0")
    assert read("whole-1") == whole  # the plateau saw the mean metric: the ranks agree
    assert read("resume-0") == read("resume-1") == whole[SPLIT:]
    final = whole[-1][1]
    assert final["scale"] < 1.0 and final["count"] == STEPS  # the plateau reduced, and its counters came back
    resolved = lr.resolve(SCHEDULE, steps=STEPS)
    assert [row[0] for row in whole[:-1]] == list(range(STEPS))
    assert whole[0][1] == resolved(0) and whole[1][1] == resolved(1)  # before the first reduction
    assert {p.name for p in (tmp_path / "dcp").iterdir()} >= {".metadata"}
