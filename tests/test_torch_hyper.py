"""Scheduler(..., hyper={...}): schedules for weight decay, betas and any float param-group setting.

Each run is checked against a hand-written optimizer loop in numpy that reads the scheduled
values at each step: the weights after every update are the manual loop's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import lrcore as lr
from lrcore.adapters.torch import Scheduler

STEPS = 30
LR = lr.warmup(lr.cosine(init=0.05, steps=25, final=0.005), steps=5, start=0.01)
DECAY = lr.cosine(init=0.1, steps=STEPS, final=0.01)
BETA1 = lr.linear(start=0.95, end=0.85, steps=STEPS)
MOMENTUM = lr.interpolate(points=[(0, 0.5), (10, 0.9), (STEPS, 0.8)])
TARGET = np.array([0.5, -1.0, 2.0])


def _loss(p: torch.Tensor) -> torch.Tensor:
    return ((p - torch.from_numpy(TARGET)) ** 2).sum()


def _grad(w: np.ndarray) -> np.ndarray:
    return 2.0 * (w - TARGET)


def _torch_weights(opt: torch.optim.Optimizer, sched: Scheduler, p: torch.Tensor) -> list[np.ndarray]:
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(p).backward()
        opt.step()
        sched.step()
        out.append(p.detach().numpy().copy())
    return out


def test_sgd_weight_decay_and_momentum_schedules_equal_a_hand_written_sgd():
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.05, momentum=0.9, weight_decay=0, foreach=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = Scheduler(opt, LR, hyper={"weight_decay": DECAY, "momentum": MOMENTUM})
    got = _torch_weights(opt, sched, p)

    w, buf = np.ones(3), None
    for t in range(STEPS):
        d = _grad(w) + DECAY(t) * w  # torch's SGD: coupled weight decay, then momentum
        buf = d if buf is None else MOMENTUM(t) * buf + d
        w = w - LR(t) * buf
        np.testing.assert_allclose(got[t], w, rtol=1e-13, atol=0, err_msg=f"t={t}")
    assert opt.param_groups[0]["weight_decay"] == DECAY(STEPS) and opt.param_groups[0]["momentum"] == MOMENTUM(STEPS)


@pytest.mark.parametrize("tensor_betas", [False, True], ids=["float-betas", "tensor-betas"])
def test_adamw_beta1_and_weight_decay_schedules_equal_a_hand_written_adamw(tensor_betas):
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    betas = (torch.tensor(0.9, dtype=torch.float64), torch.tensor(0.999, dtype=torch.float64)) if tensor_betas \
        else (0.9, 0.999)
    opt = torch.optim.AdamW([p], lr=0.05, betas=betas, weight_decay=0.0, eps=1e-8, foreach=False)
    held = opt.param_groups[0]["betas"]
    sched = Scheduler(opt, LR, hyper={"beta1": BETA1, "weight_decay": DECAY})
    got = _torch_weights(opt, sched, p)

    w, m, v = np.ones(3), np.zeros(3), np.zeros(3)
    b2, eps = 0.999, 1e-8
    for t in range(STEPS):
        step, b1, lr_t = t + 1, BETA1(t), LR(t)
        g = _grad(w)
        w = w * (1 - lr_t * DECAY(t))  # decoupled weight decay
        m = b1 * m + (1 - b1) * g  # torch reads the current beta1, also in the bias correction
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - b2**step) + eps
        w = w - (lr_t / (1 - b1**step)) * m / denom
        np.testing.assert_allclose(got[t], w, rtol=1e-12, atol=0, err_msg=f"t={t}")
    group = opt.param_groups[0]
    assert float(group["betas"][0]) == pytest.approx(BETA1(STEPS), rel=1e-15) and float(group["betas"][1]) == 0.999
    if tensor_betas:  # filled in place: a compiled step keeps guarding the same tensors
        assert group["betas"] is held and all(isinstance(b, torch.Tensor) for b in group["betas"])
    else:
        assert isinstance(group["betas"], tuple)


def test_per_group_lists_and_the_plateau_scales_the_lr_only():
    ps = [torch.nn.Parameter(torch.ones(2)) for _ in range(2)]
    opt = torch.optim.AdamW([{"params": [ps[0]], "weight_decay": 0.1}, {"params": [ps[1]], "weight_decay": 0.0}],
                            lr=0.05)
    decays = [DECAY, lr.constant(value=0.0)]  # no decay on the second group (biases, norms)
    sched = Scheduler(opt, LR, plateau=lr.Plateau(patience=0, factor=0.5), hyper={"weight_decay": decays,
                                                                                  "eps": lr.constant(value=1e-6)})
    for _ in range(6):
        opt.step()
        sched.step(1.0)  # flat: the scale halves from the second feed on
    scale = sched.plateau_state.scale
    assert scale == 0.5**5
    assert [g["lr"] for g in opt.param_groups] == [LR(6) * scale] * 2
    assert [g["weight_decay"] for g in opt.param_groups] == [DECAY(6), 0.0]  # not scaled
    assert [g["eps"] for g in opt.param_groups] == [1e-6, 1e-6]


def test_hyper_is_saved_and_resumed_exactly(tmp_path):
    def build():
        p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt = torch.optim.Adam([p], lr=0.05, weight_decay=0.0)
        return p, opt, Scheduler(opt, LR, hyper={"beta1": BETA1, "weight_decay": DECAY})

    p, opt, sched = build()
    whole = _torch_weights(opt, sched, p)
    p, opt, sched = build()
    for _ in range(12):
        opt.zero_grad()
        _loss(p).backward()
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["hyper"] == {"beta1": [BETA1.to_dict()], "weight_decay": [DECAY.to_dict()]}
    torch.save({"p": p.detach(), "opt": opt.state_dict(), "sched": state}, tmp_path / "ckpt.pt")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    p2 = torch.nn.Parameter(ckpt["p"].clone())
    opt2 = torch.optim.Adam([p2], lr=0.05, weight_decay=0.0)
    sched2 = Scheduler(opt2, LR)  # built without hyper: the checkpoint's schedules drive the run
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    assert sched2.hyper == {"beta1": [BETA1], "weight_decay": [DECAY]}
    assert opt2.param_groups[0]["betas"][0] == BETA1(12) and opt2.param_groups[0]["weight_decay"] == DECAY(12)
    rest = []
    for _ in range(STEPS - 12):
        opt2.zero_grad()
        _loss(p2).backward()
        opt2.step()
        sched2.step()
        rest.append(p2.detach().numpy().copy())
    for t, w in enumerate(rest, start=12):
        assert np.array_equal(w, whole[t]), t


@pytest.mark.parametrize(
    ("make", "hyper", "error", "message"),
    [
        (lambda ps: torch.optim.AdamW(ps), {"weight_dcay": DECAY}, ValueError,
         r"^Scheduler: `hyper` key 'weight_dcay' is not a float setting of every param group \(they have: eps, "
         r"weight_decay, beta1, beta2\); got hyper="),
        (lambda ps: torch.optim.SGD(ps, lr=0.1), {"beta1": BETA1}, ValueError,
         r"^Scheduler: `hyper` key 'beta1' is not a float setting of every param group \(they have: momentum, "
         r"dampening, weight_decay\)"),
        (lambda ps: torch.optim.AdamW(ps), {"amsgrad": DECAY}, ValueError, r"key 'amsgrad' is not a float setting"),
        (lambda ps: torch.optim.AdamW(ps), {"lr": DECAY}, ValueError, r"key 'lr' is the lr, which `schedule` drives"),
        (lambda ps: torch.optim.AdamW(ps), {3: DECAY}, TypeError, r"keys must be param-group keys \(str\); 3 is not"),
        (lambda ps: torch.optim.AdamW(ps), [("weight_decay", DECAY)], TypeError, r"`hyper` must be a dict"),
        (lambda ps: torch.optim.AdamW(ps), {"weight_decay": 0.1}, TypeError,
         r"`hyper\['weight_decay'\]` must hold lrcore Schedules"),
        (lambda ps: torch.optim.AdamW(ps), {"weight_decay": [DECAY] * 3}, ValueError,
         r"`hyper\['weight_decay'\]` must be one schedule or a list of 1"),
    ],
    ids=["typo", "beta1-on-sgd", "bool-key", "lr", "int-key", "not-a-dict", "a-number", "wrong-length"],
)
def test_bad_hyper_is_refused_naming_the_key(make, hyper, error, message):
    opt = make([torch.nn.Parameter(torch.ones(2))])
    with pytest.raises(error, match=message) as info:
        Scheduler(opt, LR, hyper=hyper)
    assert "\n" not in str(info.value)


def test_momentum_and_hyper_cannot_both_drive_beta1():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    with pytest.raises(ValueError, match=r"`hyper` key 'beta1' is the one `momentum` drives: give it in one place"):
        Scheduler(opt, LR, momentum=BETA1, hyper={"beta1": BETA1})
    sched = Scheduler(opt, LR, momentum=BETA1, hyper={"beta2": lr.constant(value=0.99)})
    assert opt.param_groups[0]["betas"] == (BETA1(0), 0.99)
    sched.step()
    assert opt.param_groups[0]["betas"] == (BETA1(1), 0.99)


def test_from_torch_is_unchanged_by_hyper():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)
    sched = Scheduler.from_torch(opt, "OneCycleLR", max_lr=0.1, total_steps=100)
    assert sched.hyper == {} and sched.momentum is not None and sched.state_dict()["hyper"] is None
