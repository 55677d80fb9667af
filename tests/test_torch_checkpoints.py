"""Checkpoint fuzz for lrcore's torch Scheduler: every field of a real state_dict, mutated.

A checkpoint is untrusted input (a corrupted file, an edited dict, another scheduler's state).
Every load either gives exactly the lrs the checkpoint describes, or raises a ValueError /
TypeError that names ``Scheduler.load_state_dict``, the field and the value, and leaves the
scheduler exactly as it was.  The cases run in a child process with a timeout, so a load
that hangs (a huge t in a restart schedule, say) fails instead of stalling CI.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import numpy as np

import lrcore as lr

SCHEDULES = [
    lr.warmup(lr.cosine(init=1.0, steps=100, final=0.01), steps=10),
    lr.cosine_restarts(init=1.0, period=10, period_mult=2.0, decay=0.9),
    lr.custom(lambda t: 1.0 / (1.0 + t)),  # cannot be saved: None in the state, kept on loading
]
MOMENTUM = lr.linear(start=0.95, end=0.85, steps=100)
DECAY = lr.cosine(init=1e-2, steps=100)
DAMPENING = [lr.constant(value=0.1), lr.linear(start=0.0, end=0.2, steps=50), lr.custom(lambda t: 0.1)]
PLATEAU = lr.Plateau(factor=0.5, patience=2, cooldown=1, min_scale=0.01)
GROUP_LRS = (0.05, 0.1, 0.2)


def _build(steps: int):
    import torch

    from lrcore.adapters.torch import Scheduler

    params = [torch.nn.Parameter(torch.ones(2)) for _ in GROUP_LRS]
    opt = torch.optim.SGD([{"params": [p], "lr": g} for p, g in zip(params, GROUP_LRS, strict=True)], momentum=0.9)
    sched = Scheduler(opt, SCHEDULES, relative=True, plateau=PLATEAU, momentum=MOMENTUM, count="optimizer",
                      hyper={"weight_decay": DECAY, "dampening": DAMPENING})
    for t in range(steps):
        opt.step()  # advances t (count="optimizer")
        sched.step(1.0 if t > 3 else 2.0 - t / 10)  # improves, then plateaus: the scale drops
    return opt, sched


def _snapshot(opt, sched) -> str:
    """Everything a load could change, as text."""
    groups = [(g["lr"], g["momentum"], g["weight_decay"], g["dampening"], g.get("initial_lr"))
              for g in opt.param_groups]
    fields = (sched.state_dict(), sched.get_last_lr(), groups, sched.last_epoch, sched._step_count,
              sched.schedules, sched.momentum, sched.hyper, sched.plateau, sched.plateau_state, sched._unfed_at,
              sched.count, sched._count_hook is None)
    return repr(fields)


def _expected_lrs(state: dict) -> list[float]:
    """The lrs a checkpoint describes, from its own fields (custom schedules where it holds None)."""
    scale = 1.0 if state["plateau_state"] is None else float(state["plateau_state"]["scale"])
    t = state["t"]
    out = []
    for i, (d, base) in enumerate(zip(state["schedules"], state["factors"], strict=True)):
        s = SCHEDULES[i] if d is None else lr.from_dict(d)
        out.append(s(t) * scale * (base if state["relative"] else 1.0))
    return out


def _expected_settings(state: dict) -> dict[str, list[float]]:
    """The hyper settings a checkpoint describes: its schedules at its t (the built one where it holds None)."""
    built = {"weight_decay": [DECAY] * len(GROUP_LRS), "dampening": DAMPENING}
    if "hyper" not in state:
        hyper = built
    else:
        hyper = {key: [built[key][i] if d is None else lr.from_dict(d) for i, d in enumerate(items)]
                 for key, items in (state["hyper"] or {}).items()}
    return {key: [s(state["t"]) for s in items] for key, items in hyper.items()}


def _cases(state: dict) -> list[tuple[str, object, str | None]]:
    """(label, mutated state, field the error must name or None for a valid state)."""
    cases: list[tuple[str, object, str | None]] = [("unchanged", state, None)]

    def put(path: str, value: object, expect: str | None) -> None:
        mutated = copy.deepcopy(state)
        *parents, last = path.split(".")
        target = mutated
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        cases.append((f"{path}={value!r}", mutated, expect))

    def drop(path: str, expect: str) -> None:
        mutated = copy.deepcopy(state)
        *parents, last = path.split(".")
        target = mutated
        for key in parents:
            target = target[key]
        del target[last]
        cases.append((f"without {path}", mutated, expect))

    nan, inf = math.nan, math.inf
    for value in (-1, 1.5, "3", True, None, 2**62 + 1, 10**308, nan, inf, [3]):
        put("t", value, "t")
    for value in (0, 12, np.int64(40), 10**6, 2**62):
        put("t", value, None)
    for value in (None, "x", [], {"kind": "constant", "value": 1.0}, state["schedules"][:2], state["schedules"] * 2):
        put("schedules", value, "schedules")
    put("schedules.0", None, "schedules[0]")  # a saveable schedule left out: the rebuilt one may differ
    for value in ("x", 3, [], {"kind": "nope"}, {"kind": "cosine", "init": 1.0}, {"value": 1.0}):
        put("schedules.0", value, "schedules[0]")
    for key, value in (("init", nan), ("init", -1.0), ("init", "x"), ("steps", 0.0), ("steps", inf)):
        put(f"schedules.0.schedule.{key}", value, "schedules[0]")
    put("schedules.1.period_mult", 1e308, None)  # valid and bounded at any t
    put("schedules.2", {"kind": "constant", "value": 0.5}, None)  # a saved schedule replaces the custom one
    for value in (None, "x", [], [0.05, 0.1], [0.05] * 4, ["x"] * 3, [nan] * 3, [inf] * 3, [-1.0] * 3, [0.0] * 3,
                  [True] * 3, "0.1"):
        put("factors", value, "factors")
    put("factors", [0.5, 1.0, 2.0], None)
    for value in ("false", "True", 0, 1, None, 0.0):
        put("relative", value, "relative")
    put("relative", False, "factors")  # relative=False needs factors of 1.0
    for value in ("x", 3, [], {}):
        put("plateau", value, "plateau")
    put("plateau", None, "plateau_state")  # a state without its plateau
    for key, value in (("factor", 2.0), ("factor", nan), ("patience", -1), ("patience", 1.5), ("mode", "median"),
                       ("threshold", inf), ("min_scale", 1.5), ("cooldown", "1"), ("eps", -1.0)):
        put(f"plateau.{key}", value, "plateau")
    put("plateau.bogus", 1, "plateau")
    for key in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_scale", "eps"):
        drop(f"plateau.{key}", "plateau")
    for value in ("x", 3, [], {}):
        put("plateau_state", value, "plateau_state")
    put("plateau_state", None, "plateau_state")  # a plateau without its state
    for value in (-3.0, nan, inf, -inf, 1.5, 0.005, "0.5", True, None):
        put("plateau_state.scale", value, "plateau_state.scale")
    put("plateau_state.scale", 0.01, None)  # min_scale: reachable
    put("plateau_state.scale", 1.0, None)
    for value in (nan, "x", None, True):
        put("plateau_state.best", value, "plateau_state.best")
    for value in (inf, -inf, -5.0):
        put("plateau_state.best", value, None)
    for key, bad in (("num_bad", (-1, 3, 1.5, True, "1")), ("cooldown", (-1, 2, 0.5, None)), ("count", (-1, 2.0, "7"))):
        for value in bad:
            put(f"plateau_state.{key}", value, f"plateau_state.{key}")
    put("plateau_state.num_bad", 2, None)
    put("plateau_state.count", 0, None)
    put("plateau_state.bogus", 0, "plateau_state")
    for key in ("best", "num_bad", "cooldown", "scale", "count"):
        drop(f"plateau_state.{key}", "plateau_state")
    for value in ("x", 3, [], state["momentum"][:1], state["momentum"] + [None]):
        put("momentum", value, "momentum")
    put("momentum.0", None, "momentum[0]")
    for value in ("x", {"kind": "constant", "value": nan}, {"kind": "constant", "value": -0.5}):
        put("momentum.0", value, "momentum[0]")
    put("momentum", None, None)  # a checkpoint without momentum: the optimizer's momentum is left alone
    put("hyper", None, None)  # no hyper schedules: the groups' settings are left as they are
    drop("hyper", None)  # written before `hyper` existed: the built schedules stay
    for value in ("x", 3, [], [state["hyper"]["weight_decay"]]):
        put("hyper", value, "hyper")
    for key in ("lr", "initial_lr", "momentum", "bogus", "nesterov", "params"):
        put("hyper", {**state["hyper"], key: state["hyper"]["weight_decay"]}, "hyper")
    for value in (None, "x", {}, state["hyper"]["weight_decay"][:2], state["hyper"]["weight_decay"] * 2):
        put("hyper.weight_decay", value, "hyper['weight_decay']")
    put("hyper.weight_decay.0", None, "hyper['weight_decay'][0]")  # saveable, so it cannot be left out
    for value in ({"kind": "constant", "value": nan}, {"kind": "nope"}, 3):
        put("hyper.weight_decay.1", value, "hyper['weight_decay'][1]")
    put("hyper.weight_decay.2", {"kind": "constant", "value": 0.5}, None)
    put("hyper.dampening.0", {"kind": "constant", "value": 0.25}, None)
    put("hyper.dampening.2", {"kind": "constant", "value": 0.25}, None)  # replaces the custom one
    put("hyper.weight_decay.0", {"kind": "custom"}, "hyper['weight_decay'][0]")
    for value in ("step", "optimizer"):
        put("count", value, None)
    for value in ("x", None, 1, "Optimizer"):
        put("count", value, "count")
    drop("count", None)  # written before `count` existed: the built count stays
    for value in ("false", 1, None):
        put("sync", value, "sync")
    put("sync", False, None)
    drop("sync", None)  # written before `sync` existed: the built value stays
    for key in ("t", "schedules", "factors", "relative", "plateau", "plateau_state", "momentum"):
        drop(key, "state_dict")
    put("extra", 1, "state_dict")
    for value in (None, [], "state", 3):
        cases.append((f"state_dict={value!r}", value, "state_dict"))
    both_none = copy.deepcopy(state)
    both_none["plateau"] = both_none["plateau_state"] = None
    cases.append(("no plateau", both_none, None))
    return cases


def main() -> dict:
    import torch

    source_opt, source = _build(30)
    state = source.state_dict()
    # The checkpoint as it travels: torch.save, then torch.load with weights_only=True.
    buffer = __import__("io").BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert state["plateau_state"]["scale"] < 1.0 and state["schedules"][2] is None
    assert state["hyper"]["dampening"][2] is None and state["count"] == "optimizer"
    failures, counts = [], {"ok": 0, "refused": 0}
    uninterrupted = source.get_last_lr()
    for label, mutated, expect in _cases(state):
        opt, sched = _build(7)
        before = _snapshot(opt, sched)
        try:
            sched.load_state_dict(mutated)
        except (ValueError, TypeError) as err:
            message = str(err)
            counts["refused"] += 1
            if expect is None:
                failures.append(f"{label}: refused a valid checkpoint: {message}")
            elif not message.startswith("Scheduler.load_state_dict: ") or f"`{expect}`" not in message:
                failures.append(f"{label}: the error must name Scheduler.load_state_dict and `{expect}`: {message}")
            elif "\n" in message or len(message) > 2000:
                failures.append(f"{label}: not a one-line error: {message[:200]}")
            if _snapshot(opt, sched) != before:
                failures.append(f"{label}: a refused load changed the scheduler")
            continue
        except Exception as err:  # noqa: BLE001 - any other exception is a failure to report
            failures.append(f"{label}: raised {type(err).__name__}: {err}")
            continue
        counts["ok"] += 1
        if expect is not None:
            failures.append(f"{label}: loaded, but `{expect}` is invalid")
            continue
        lrs = sched.get_last_lr()
        if [g["lr"] for g in opt.param_groups] != lrs or lrs != _expected_lrs(mutated):
            failures.append(f"{label}: lrs {lrs} != {_expected_lrs(mutated)}")
        settings = _expected_settings(mutated)
        got = {key: [g[key] for g in opt.param_groups] for key in settings}
        if got != settings or set(sched.hyper) != set(settings):
            failures.append(f"{label}: settings {got} != {settings}")
        if sched.count != mutated.get("count", "optimizer") or (sched._count_hook is None) != (sched.count == "step"):
            failures.append(f"{label}: count {sched.count} with hook {sched._count_hook}")
        if label == "unchanged" and lrs != uninterrupted:
            failures.append(f"unchanged: lrs {lrs} != the uninterrupted run's {uninterrupted}")
        if not all(math.isfinite(x) and x >= 0 for x in lrs):
            failures.append(f"{label}: lrs {lrs}")
        if label == "unchanged":  # and the resumed run goes on exactly like the source
            for _ in range(20):
                source_opt.step(), opt.step()
                source.step(1.0), sched.step(1.0)
                if sched.get_last_lr() != source.get_last_lr():
                    failures.append("unchanged: the resumed run drifted from the uninterrupted one")
                    break
    return {"failures": failures, **counts}


def test_every_mutated_checkpoint_loads_exactly_or_is_refused_cleanly():
    proc = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["refused"] > 120 and result["ok"] > 15, result


if __name__ == "__main__":
    print(json.dumps(main()))
