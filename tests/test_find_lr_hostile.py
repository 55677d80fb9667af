"""Range tests that used to blow up: each runs in a child process with a memory cap and a time limit,
so a regression fails here instead of filling the machine's memory or hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lrcore.adapters.torch import find_lr

PRELUDE = """
import re, resource
def limit_memory(headroom):
    '''Cap the address space at what the process maps now plus `headroom` bytes.'''
    status = open("/proc/self/status").read()
    used = int(re.search(r"VmSize:\\s+(\\d+) kB", status).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (used + headroom, resource.RLIM_INFINITY))
"""
MB = 1 << 20


def limited(code: str, setup: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `setup`, then `code` (which calls ``limit_memory`` once it has imported what it needs) in a child."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    program = PRELUDE + textwrap.dedent(setup) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=timeout, env=env)


TORCH_SETUP = """
import torch
import lrcore as lr
from lrcore.adapters.torch import find_lr
torch.set_num_threads(1)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.functional.mse_loss
find_lr(model, opt, [(torch.randn(64, 8), torch.randn(64, 1))], loss_fn, steps=20, progress=False)  # warm
"""


def test_a_one_shot_iterator_is_never_stored() -> None:
    """60 batches of 16 MB from a generator: all kept for replay they would need 1 GB; read once, a few."""
    code = """
    rows = 16 * 2**20 // (8 * 4)
    def batches():
        for _ in range(60):
            yield torch.ones(rows, 8), torch.ones(rows, 1)
    limit_memory(400 * 2**20)
    s = find_lr(model, opt, batches(), loss_fn, start=1e-6, end=1e-3, steps=60, progress=False)
    print("ok", len(s.lrs))
    """
    run = limited(code, TORCH_SETUP)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["ok", "60"]


@pytest.mark.parametrize("steps", [3 * 10**7, 3 * 10**8])
def test_a_long_range_is_not_drawn_before_the_first_step(steps: int) -> None:
    """The learning rates are drawn as the run reaches them: a huge `steps` costs nothing up front.
    Here the first loss is NaN, so the run stops at once and says it stopped too early."""
    code = f"""
    nan_loss = lambda out, y: out.sum() * float("nan")
    limit_memory(200 * 2**20)
    try:
        find_lr(model, opt, [(torch.randn(64, 8), torch.randn(64, 1))], nan_loss, steps={steps}, progress=False)
    except ValueError as err:
        print(err)
    """
    run = limited(code, TORCH_SETUP)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(f"find_lr: the run stopped after 1 of {steps} steps"), run.stdout


def model_and_batches() -> tuple[torch.nn.Module, torch.optim.Optimizer, list]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = [(torch.randn(16, 4), torch.randn(16, 1)) for _ in range(10)]
    return model, opt, batches


def test_an_iterator_known_to_be_short_is_refused_before_training() -> None:
    model, opt, batches = model_and_batches()
    calls: list[int] = []
    opt.register_step_pre_hook(lambda *a: calls.append(1))
    with pytest.raises(ValueError) as info:
        find_lr(model, opt, iter(batches), torch.nn.functional.mse_loss, steps=40, progress=False)
    assert str(info.value) == (
        "find_lr: `batches` is a one-shot iterator of 10 batches, fewer than the 40 steps of the test; pass a list "
        "or a DataLoader (iterated again when it ends) or steps=10"
    )
    assert calls == []


def test_an_iterator_that_runs_out_ends_the_run_with_the_state_restored() -> None:
    model, opt, batches = model_and_batches()
    before = [p.detach().clone() for p in model.parameters()]
    state = opt.state_dict()

    def generator():  # no length to know in advance
        yield from batches

    with pytest.raises(ValueError, match=r"one-shot iterator of 10 batches, fewer than the 40 steps"):
        find_lr(model, opt, generator(), torch.nn.functional.mse_loss, steps=40, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert opt.state_dict() == state
    s = find_lr(model, opt, generator(), torch.nn.functional.mse_loss, steps=10, progress=False)  # long enough
    assert len(s.lrs) + (s.cut is not None) == 10
