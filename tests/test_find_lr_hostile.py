"""Range tests that used to blow up: each runs in a child process with a memory cap and a time limit,
so a regression fails here instead of filling the machine's memory or hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
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


def runners(calls: list[int]) -> dict[str, Any]:
    """Each runner as ``run(**range_kwargs) -> Suggestion`` on a tiny problem, counting in `calls` the
    losses it computes (for optax, the traces of its loss: a run that trains traces it once)."""
    import lrcore as lr

    torch.manual_seed(0)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]

    def generic(**kwargs: Any) -> Any:
        w = [3.0]

        def step(rate: float) -> float:
            calls[0] += 1
            loss = (w[0] - 1.0) ** 2
            w[0] -= rate * 2.0 * (w[0] - 1.0)
            return loss

        return lr.find_lr(step, **kwargs)

    def with_torch(**kwargs: Any) -> Any:
        model = torch.nn.Linear(4, 1)

        def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            calls[0] += 1
            return torch.nn.functional.mse_loss(out, target)

        return find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, loss_fn, **kwargs)

    def with_optax(**kwargs: Any) -> Any:
        jnp = pytest.importorskip("jax.numpy")
        optax = pytest.importorskip("optax")
        from lrcore.adapters.optax import find_lr as run

        def loss_fn(params: Any, batch: Any) -> Any:
            calls[0] += 1  # once per trace: a run that trains traces once
            return jnp.mean((batch[0] @ params["w"] - batch[1]) ** 2)

        data = [(np.asarray(a), np.asarray(b)) for a, b in batches]
        return run(loss_fn, {"w": jnp.zeros((4, 1))}, optax.sgd, data, **kwargs)

    def with_keras(**kwargs: Any) -> Any:
        keras = pytest.importorskip("keras")
        from lrcore.adapters.keras import find_lr as run

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])

        def mse(target: Any, out: Any) -> Any:
            calls[0] += 1  # once per trace of the train step
            return keras.ops.mean((out - target) ** 2)

        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=mse)
        return run(model, x.numpy(), y.numpy(), batch_size=16, **kwargs)

    def with_lightning(**kwargs: Any) -> Any:
        pl = pytest.importorskip("lightning.pytorch")
        from lrcore.adapters.lightning import find_lr as run

        class Module(pl.LightningModule):
            def __init__(self) -> None:
                super().__init__()
                self.net = torch.nn.Linear(4, 1)

            def training_step(self, batch: Any, index: int) -> torch.Tensor:
                calls[0] += 1
                return torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])

            def configure_optimizers(self) -> Any:
                return torch.optim.SGD(self.parameters(), lr=0.1)

        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)
        return run(trainer, Module(), loader, **kwargs)

    def with_hf(**kwargs: Any) -> Any:
        transformers = pytest.importorskip("transformers")
        from lrcore.adapters.hf import find_lr as run

        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = torch.nn.Linear(4, 1)

            def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
                calls[0] += 1
                return {"loss": torch.nn.functional.mse_loss(self.net(x), labels)}

        rows = [{"x": x[i], "labels": y[i]} for i in range(64)]
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            args = transformers.TrainingArguments(output_dir=folder, per_device_train_batch_size=16, report_to=[],
                                                  save_strategy="no", logging_strategy="no", use_cpu=True,
                                                  disable_tqdm=True)
            return run(transformers.Trainer(model=Net(), args=args, train_dataset=rows), **kwargs)

    return {"generic": generic, "torch": with_torch, "optax": with_optax, "keras": with_keras,
            "lightning": with_lightning, "hf": with_hf}


RUNNERS = ["generic", "torch", "optax", "keras", "lightning", "hf"]


def each_runner(test: Any) -> Any:
    """`test` once per runner, with one torch thread and the frameworks' own warnings quiet."""
    quiet = [pytest.mark.filterwarnings(f"ignore{what}") for what in (":.*LeafSpec", "::DeprecationWarning",
                                                                       "::UserWarning")]
    for mark in (pytest.mark.parametrize("runner", RUNNERS), *quiet, pytest.mark.usefixtures("one_torch_thread")):
        test = mark(test)
    return test


@each_runner
def test_every_runner_refuses_a_range_that_cannot_increase_before_training(runner: str) -> None:
    """start=1, end=1+1e-12 over 10,000 steps: float64 would repeat most of those lrs; refused in one line
    naming the parameters and their values, with no training step taken."""
    calls = [0]
    run = runners(calls)[runner]
    for shape in ("exponential", "linear"):
        with pytest.raises(ValueError) as info:
            run(start=1.0, end=1 + 1e-12, steps=10_000, shape=shape, progress=False)
        message = str(info.value)
        assert "`steps` must leave the learning rates room to increase" in message and "\n" not in message
        assert "got steps=10000 for start=1.0, end=1.000000000001" in message
    assert calls == [0]


@each_runner
def test_every_runner_runs_a_linear_range_from_zero_and_suggests_a_peak(runner: str) -> None:
    calls = [0]
    s = runners(calls)[runner](start=0.0, end=0.05, steps=24, shape="linear", diverge=float("inf"),
                                   progress=False)
    assert calls[0] > 0 and s.lrs[0] == 0.0 and len(s.lrs) == 24 and 0 < s.lr <= 0.05
    assert s.peak == 2 * s.lr and s.to_dict()["peak"] == s.peak and f"peak {s.peak:.10g}" in s.describe()
