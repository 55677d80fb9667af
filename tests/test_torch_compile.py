"""lrcore's torch Scheduler under torch.compile: as opaque to dynamo as torch's own schedulers.

PyTorch's compiled-optimizer recipe compiles a function that calls ``opt.step(); sched.step()``.
Dynamo skips torch's lr_scheduler.py, so a torch scheduler costs one graph break and no
recompiles; a traced lrcore step would break at the kernel call and recompile for every new lr.
Each harness counts compiled frames (``CompileCounter``) for lrcore and for the torch scheduler
that plays the same role, in one fresh process run with a timeout (compilation can stall).
With ``count="optimizer"`` the scheduler advances in the optimizer's step post-hook, inside the
compiled ``opt.step()``, and costs the same; ``hyper`` schedules cost what a momentum cycler does,
and with tensor betas (filled in place) nothing recompiles.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

STEPS = 20


def _harness(make_sched, lr0, *, metric=False, adam=True, betas=(0.9, 0.999)):
    """(compiled frame count, lr and momentum of group 0 after each of STEPS compiled steps)."""
    import torch
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = (torch.optim.Adam(model.parameters(), lr=lr0, betas=betas) if adam
           else torch.optim.SGD(model.parameters(), lr=lr0, momentum=0.9))
    sched = make_sched(opt)

    @torch.compile(backend=counter)
    def update(m):
        opt.step()
        if metric:
            sched.step(m)
        else:
            sched.step()

    seen = []
    for _ in range(STEPS):
        model(torch.ones(2, 4)).sum().backward()
        update(1.0)  # a flat metric: the plateau reduces after `patience` steps
        group = opt.param_groups[0]
        mom = group["betas"][0] if adam else group["momentum"]
        seen.append((float(group["lr"]), float(mom)))
    return counter.frame_count, seen


def _frames(make_sched, call):
    """Compiled frames of a function calling ``opt.step()`` then ``call(sched, saved_state)``, 5 times."""
    import torch
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01))
    sched = make_sched(opt)
    saved = sched.state_dict()

    @torch.compile(backend=counter)
    def update():
        opt.step()
        call(sched, saved)

    for _ in range(5):
        model(torch.ones(2, 4)).sum().backward()
        update()
    return counter.frame_count


def main() -> dict:
    import torch

    import lrcore as lr
    from lrcore.adapters.torch import Scheduler

    warnings.simplefilter("ignore")  # dynamo's own notes on graph breaks
    s = lr.cosine(init=0.01, steps=STEPS)
    m = lr.linear(start=0.95, end=0.85, steps=STEPS)
    plateau = lr.Plateau(patience=2, factor=0.5)
    cosine_lr = lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS)  # noqa: E731
    reduce_lr = lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=2, factor=0.5)  # noqa: E731
    one_cycle = lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.01, total_steps=STEPS + 1)  # noqa: E731
    results = {}
    for name, lr0 in (("float", 0.01), ("tensor", torch.tensor(0.01))):
        for adam in (True, False):
            fresh = lambda lr0=lr0: lr0.clone() if isinstance(lr0, torch.Tensor) else lr0  # noqa: E731
            key = "beta1" if adam else "momentum"
            runs = results[f"{name}-{'Adam' if adam else 'SGD'}"] = {
                "one_cycle": _harness(one_cycle, fresh(), adam=adam),
                "momentum": _harness(lambda o: Scheduler(o, s, momentum=m), fresh(), adam=adam),
                "hyper": _harness(lambda o, key=key: Scheduler(o, s, hyper={key: m}), fresh(), adam=adam),
            }
            if adam:  # the lr alone: SGD compiles alike
                runs["torch"] = _harness(cosine_lr, fresh())
                runs["lrcore"] = _harness(lambda o: Scheduler(o, s), fresh())
                runs["count"] = _harness(lambda o: Scheduler(o, s, count="optimizer"), fresh())
                runs["reduce"] = _harness(reduce_lr, fresh(), metric=True)
                runs["plateau"] = _harness(lambda o: Scheduler(o, lr.constant(value=0.01), plateau=plateau), fresh(),
                                           metric=True)
    tensor_betas = (torch.tensor(0.9), torch.tensor(0.999))
    results["tensor-betas"] = _harness(lambda o: Scheduler(o, s, hyper={"beta1": m}, count="optimizer"),
                                       torch.tensor(0.01), betas=tensor_betas)
    results["observe"] = [_frames(lambda o: Scheduler(o, lr.constant(value=0.01), plateau=plateau),
                                  lambda sched, saved: sched.observe(1.0)),
                          _frames(reduce_lr, lambda sched, saved: sched.step(1.0))]
    results["load_state_dict"] = [_frames(lambda o: Scheduler(o, s), lambda sched, saved: sched.load_state_dict(saved)),
                                  _frames(cosine_lr, lambda sched, saved: sched.load_state_dict(saved))]
    return results


def test_compiled_step_graph_count_equals_torch_schedulers_and_lrs_stay_exact():
    import torch

    import lrcore as lr

    proc = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    s = lr.cosine(init=0.01, steps=STEPS)
    m = lr.linear(start=0.95, end=0.85, steps=STEPS)
    for key in ("float-Adam", "float-SGD", "tensor-Adam", "tensor-SGD"):
        runs = results[key]
        # Each step's lr is s(t) exactly: a float lr as is, a tensor lr rounded to float32.
        exact = (lambda x: x) if key.startswith("float") else (lambda x: torch.tensor(x).item())
        want = [exact(s(t + 1)) for t in range(STEPS)]
        for cycler in ("momentum", "hyper"):
            frames, seen = runs[cycler]
            assert frames == runs["one_cycle"][0], (key, cycler, frames, runs["one_cycle"][0])  # torch's cycler
            assert [row[0] for row in seen] == want, (key, cycler)
            assert [row[1] for row in seen] == [m(t + 1) for t in range(STEPS)], (key, cycler)
        if "lrcore" not in runs:
            continue
        for counted in ("lrcore", "count"):
            frames, seen = runs[counted]
            assert frames == runs["torch"][0], (key, counted, frames, runs["torch"][0])
            assert [row[0] for row in seen] == want, (key, counted)
        # A flat metric: the plateau reduces as ReduceLROnPlateau does, 0.01 * 0.5 ** k.
        frames, seen = runs["plateau"]
        assert frames == runs["reduce"][0], (key, frames, runs["reduce"][0])
        assert [row[0] for row in seen] == [row[0] for row in runs["reduce"][1]], key
        assert min(row[0] for row in seen) < 0.01 / 8, key
    # A tensor lr and tensor betas, both filled in place: one graph for the whole run.
    frames, seen = results["tensor-betas"]
    assert frames == results["tensor-Adam"]["torch"][0] == 1, frames
    assert [row[1] for row in seen] == [torch.tensor(m(t + 1)).item() for t in range(STEPS)]
    assert results["observe"][0] == results["observe"][1], results["observe"]
    assert results["load_state_dict"][0] == results["load_state_dict"][1], results["load_state_dict"]


if __name__ == "__main__":
    print(json.dumps(main()))
