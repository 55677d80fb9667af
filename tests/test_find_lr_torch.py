"""``lrcore.adapters.torch.find_lr`` on small real problems: state restored, lrs exact, a good suggestion."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from same_state import same
from torch import nn

import lrcore as lr
from lrcore.adapters.torch import find_lr

F = nn.functional


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def classification() -> tuple[list[tuple[torch.Tensor, torch.Tensor]], Any]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 10, generator=g)
    y = (x @ torch.randn(10, 3, generator=g)).argmax(1)
    noisy = torch.rand(512, generator=g) < 0.2  # a fifth of the labels random: the loss has a floor
    y = torch.where(noisy, torch.randint(0, 3, (512,), generator=g), y)
    return [(x[i : i + 32], y[i : i + 32]) for i in range(0, 512, 32)], F.cross_entropy


def regression() -> tuple[list[tuple[torch.Tensor, torch.Tensor]], Any]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(512, 8, generator=g)
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.3 * torch.randn(512, 1, generator=g)
    return [(x[i : i + 64], y[i : i + 64]) for i in range(0, 512, 64)], F.mse_loss


def mlp(n_in: int, n_out: int, seed: int, norm: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(n_in, 32)]
    if norm:
        layers.append(nn.BatchNorm1d(32))
    layers += [nn.ReLU(), nn.Linear(32, n_out)]
    return nn.Sequential(*layers)


def snapshot(model: nn.Module, opt: torch.optim.Optimizer) -> dict:
    import copy

    return {
        "tensors": [t.detach().clone() for t in [*model.parameters(), *model.buffers()]],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "modes": [m.training for m in model.modules()],
        "opt": copy.deepcopy(opt.state_dict()),
    }


def train(model: nn.Module, opt: torch.optim.Optimizer, batches: list, loss_fn: Any, epochs: int) -> float:
    model.train()
    for _ in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    with torch.no_grad():
        model.eval()
        return float(sum(loss_fn(model(x), y) for x, y in batches) / len(batches))


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_state_restored_bit_for_bit(problem: str) -> None:
    batches, loss_fn = classification() if problem == "classification" else regression()
    n_in, n_out = batches[0][0].shape[1], (3 if problem == "classification" else 1)
    model = mlp(n_in, n_out, seed=2, norm=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    train(model, opt, batches[:3], loss_fn, epochs=1)  # moments, step counts and BN statistics exist
    loss_fn(model(batches[0][0]), batches[0][1]).backward()  # a pending gradient
    model.eval()
    before = snapshot(model, opt)
    s = find_lr(model, opt, batches, loss_fn, steps=60, progress=False)
    after = snapshot(model, opt)
    assert same(before, after)
    assert opt.param_groups[0]["lr"] == 3e-3 and not model.training
    assert 0 < s.lr < 10.0 and s.method == "blend"


def test_lrs_follow_range_test_exactly_and_batches_cycle() -> None:
    batches, loss_fn = classification()
    model = mlp(10, 3, seed=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    used: list[float] = []
    seen: list[int] = []
    opt.register_step_pre_hook(lambda o, args, kwargs: used.append(o.param_groups[0]["lr"]))

    def counting_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(next(i for i, b in enumerate(batches) if b[1] is y))
        return loss_fn(out, y)

    s = find_lr(model, opt, batches, counting_loss, start=1e-5, end=1.0, steps=40, diverge=math.inf, progress=False)
    want = lr.range_test(start=1e-5, end=1.0, steps=40)
    assert used == [want(t) for t in range(40)] == s.lrs.tolist()  # bit for bit
    assert seen == [t % len(batches) for t in range(40)]  # 16 batches, cycled
    assert s.cut is None and len(s.losses) == 40
    del used[:], seen[:]
    s = find_lr(model, opt, iter(batches * 3), counting_loss, start=1e-5, end=1.0, steps=40, diverge=math.inf,
                progress=False)
    assert used == [want(t) for t in range(40)] and seen == [t % len(batches) for t in range(40)]  # read once


def test_a_linear_range_from_zero() -> None:
    batches, loss_fn = regression()
    model = mlp(8, 1, seed=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    used: list[float] = []
    opt.register_step_pre_hook(lambda o, args, kwargs: used.append(o.param_groups[0]["lr"]))
    s = find_lr(model, opt, batches, loss_fn, start=0.0, end=0.05, steps=30, shape="linear", diverge=math.inf,
                progress=False)
    assert used == lr.linear(start=0.0, end=0.05, steps=29).array(30).tolist() and used[0] == 0.0
    assert s.lrs[0] == 0.0 and 0 < s.lr <= 0.05


def test_a_tensor_the_optimizer_holds_beside_the_model_is_restored() -> None:
    """A temperature in the loss, trained by the same optimizer but not a parameter of the model."""
    batches, loss_fn = classification()
    model = mlp(10, 3, seed=4)
    temperature = torch.nn.Parameter(torch.tensor(1.0))
    opt = torch.optim.Adam([{"params": model.parameters()}, {"params": [temperature], "lr": 0.1}], lr=0.01)

    def scaled(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(out * temperature, y)

    train(model, opt, batches[:2], scaled, epochs=1)  # moments for the temperature too
    scaled(model(batches[0][0]), batches[0][1]).backward()
    held, grad = temperature.detach().clone(), temperature.grad.clone()
    before = snapshot(model, opt)
    find_lr(model, opt, batches, scaled, start=1e-5, end=10.0, steps=60, progress=False)
    assert torch.equal(temperature.detach(), held) and torch.equal(temperature.grad, grad)
    assert same(before, snapshot(model, opt))


def test_torch_random_state_is_restored() -> None:
    """Dropout and a shuffling DataLoader draw from torch's generator: training after the test draws
    what it would have drawn without it."""
    batches, loss_fn = classification()
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    torch.manual_seed(11)
    state = torch.get_rng_state()
    find_lr(model, opt, loader, loss_fn, steps=40, progress=False)
    assert torch.equal(torch.get_rng_state(), state)


def test_a_lazy_module_is_refused_with_the_fix() -> None:
    batches, loss_fn = classification()
    model = nn.Sequential(nn.LazyLinear(16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError) as info:
        find_lr(model, opt, batches, loss_fn, progress=False)
    assert str(info.value) == (
        "find_lr: `model` has parameters that are not initialised yet (a lazy module such as LazyLinear): run one "
        "forward pass, model(inputs), before the range test; got model='Sequential'"
    )
    model(batches[0][0])  # the fix
    assert 0 < find_lr(model, opt, batches, loss_fn, steps=40, progress=False).lr


def test_stops_at_divergence_with_suggests_rule() -> None:
    batches, loss_fn = regression()
    model = mlp(8, 1, seed=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    calls: list[float] = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(o.param_groups[0]["lr"]))
    s = find_lr(model, opt, batches, loss_fn, start=1e-4, end=100.0, steps=100, smooth=0.5, progress=False)
    assert s.cut is not None and len(calls) == len(s.lrs) + 1 < 100  # the run stopped at the cut
    assert s.lrs.tolist() == calls[:-1]


def test_a_tensor_lr_stays_the_same_tensor() -> None:
    batches, loss_fn = classification()
    model = mlp(10, 3, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01))
    tensor = opt.param_groups[0]["lr"]
    find_lr(model, opt, batches, loss_fn, steps=30, progress=False)
    assert opt.param_groups[0]["lr"] is tensor and torch.equal(tensor, torch.tensor(0.01))


def test_restored_when_the_loss_raises() -> None:
    batches, loss_fn = classification()
    model = mlp(10, 3, seed=6)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    before = snapshot(model, opt)
    count = [0]

    def failing(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        count[0] += 1
        if count[0] == 7:
            raise RuntimeError("boom")
        return loss_fn(out, y)

    with pytest.raises(RuntimeError, match="boom"):
        find_lr(model, opt, batches, failing, progress=False)
    assert same(before, snapshot(model, opt))


def grid_final_losses(make: Any, batches: list, loss_fn: Any, lrs: np.ndarray, epochs: int) -> list[float]:
    out = []
    for rate in lrs.tolist():
        model, opt = make(rate)
        final = train(model, opt, batches, loss_fn, epochs)
        out.append(final if math.isfinite(final) else math.inf)
    return out


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_the_suggestion_trains_well(problem: str) -> None:
    """Training from the same initialisation at the suggested lr for a fixed budget ends within
    3x of the best final loss over a log grid of lrs, and below the grid's median."""
    if problem == "classification":
        batches, loss_fn = classification()

        def make(rate: float) -> tuple[nn.Module, torch.optim.Optimizer]:
            model = mlp(10, 3, seed=7)
            return model, torch.optim.Adam(model.parameters(), lr=rate)

    else:
        batches, loss_fn = regression()

        def make(rate: float) -> tuple[nn.Module, torch.optim.Optimizer]:
            model = mlp(8, 1, seed=7)
            return model, torch.optim.SGD(model.parameters(), lr=rate, momentum=0.9)

    model, opt = make(1.0)
    s = find_lr(model, opt, batches, loss_fn, start=1e-6, end=10.0, steps=100, progress=False)
    grid = np.logspace(-4, 0.5, 10)
    finals = grid_final_losses(make, batches, loss_fn, grid, epochs=5)
    (ours,) = grid_final_losses(make, batches, loss_fn, np.array([s.lr]), epochs=5)
    best, median = min(finals), float(np.median(finals))
    assert ours <= 3 * best and ours < median, (s.lr, ours, dict(zip(grid.tolist(), finals, strict=True)))


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda m, o, b, f: find_lr("model", o, b, f), TypeError, "find_lr: `model` must be a torch.nn.Module"),
        (lambda m, o, b, f: find_lr(m, "opt", b, f), TypeError, "find_lr: `optimizer` must be a torch.optim.Optimizer"),
        (lambda m, o, b, f: find_lr(m, o, b, None), TypeError, "find_lr: `loss_fn` must be callable"),
        (lambda m, o, b, f: find_lr(m, o, [], f), ValueError, "find_lr: `batches` must yield at least one batch"),
        (lambda m, o, b, f: find_lr(m, o, 3, f), TypeError, "find_lr: `batches` must be an iterable of batches"),
        (lambda m, o, b, f: find_lr(m, o, [b[0][0]], f), TypeError, "find_lr: `batches` must yield (inputs, targets)"),
        (lambda m, o, b, f: find_lr(m, o, b, lambda out, y: out), TypeError,
         "find_lr: `loss_fn` must return the loss as a one-element tensor"),
        (lambda m, o, b, f: find_lr(m, o, iter(b), f), ValueError,
         "find_lr: `batches` is a one-shot iterator of 16 batches, fewer than the 100 steps"),
        (lambda m, o, b, f: find_lr(m, o, b, f, start=1.0, end=1 + 1e-12, steps=10_000), ValueError,
         "range_test: `steps` must leave the learning rates room to increase"),
        (lambda m, o, b, f: find_lr(m, o, b, f, progress=1), TypeError, "find_lr: `progress` must be True or False"),
        (lambda m, o, b, f: find_lr(m, o, b, f, method="fast"), ValueError, "find_lr: `method` must be one of"),
        (lambda m, o, b, f: find_lr(m, o, b, f, smooth=1.5), ValueError, "find_lr: `smooth` must be < 1"),
        (lambda m, o, b, f: find_lr(m, o, b, f, start=0.0), ValueError, "range_test: `start` must be > 0"),
        (lambda m, o, b, f: find_lr(m, o, b, f, steps=1), ValueError, "range_test: `steps` must be >= 2"),
        (lambda m, o, b, f: find_lr(m, o, b, f, start=1.0, end=1e6, steps=20), ValueError,
         "find_lr: the run stopped after"),
    ],
)
def test_bad_input(call: Any, exc: type, message: str) -> None:
    batches, loss_fn = classification()
    model = mlp(10, 3, seed=8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = snapshot(model, opt)
    with pytest.raises(exc) as info:
        call(model, opt, batches, loss_fn)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert same(before, snapshot(model, opt))
