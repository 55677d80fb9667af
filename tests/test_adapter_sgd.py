"""lrcore.adapters.sgd: the numpy and numba loops against torch.optim.SGD, and the table rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrcore as lr
from lrcore.adapters import sgd

SCHEDULE = lr.warmup(lr.cosine(init=0.05, steps=120, final=1e-4), steps=30)
STEPS = 150


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(40, 6))
    b = a @ rng.normal(size=6) + 0.1 * rng.normal(size=40)
    return a, b


def _value_and_grad(a, b):
    def f(x):
        residual = a @ x - b
        return 0.5 * float(residual @ residual) / a.shape[0], a.T @ residual / a.shape[0]

    return f


def _torch_sgd(a, b, lrs, momentum, nesterov):
    """The golden run: torch.optim.SGD in float64 with the lr (and a per-step momentum) set before each update."""
    import torch

    x = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    at, bt = torch.from_numpy(a), torch.from_numpy(b)
    momenta = np.broadcast_to(np.asarray(momentum, dtype=np.float64), lrs.shape)
    opt = torch.optim.SGD([x], lr=0.0, momentum=float(momenta[0]), nesterov=nesterov)
    losses = []
    for lr_t, m_t in zip(lrs.tolist(), momenta.tolist(), strict=True):
        opt.param_groups[0]["lr"] = lr_t
        opt.param_groups[0]["momentum"] = m_t
        opt.zero_grad()
        loss = 0.5 * ((at @ x - bt) ** 2).sum() / a.shape[0]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return x.detach().numpy(), np.array(losses)


def _both_loops_equal_torch(a, b, lrs, momentum, nesterov):
    """The numpy and the numba loop against torch's SGD on the same problem: the final x and every
    loss; returns the numpy loop's x and the numba loop's losses."""
    x_ref, losses_ref = _torch_sgd(a, b, lrs, momentum, nesterov)
    x_np, losses_np = sgd.sgd_numpy(_value_and_grad(a, b), np.zeros(6), lrs, momentum=momentum, nesterov=nesterov)
    x_nb, losses_nb = sgd.sgd_least_squares_numba(a, b, np.zeros(6), lrs, momentum=momentum, nesterov=nesterov)
    for x, losses in ((x_np, losses_np), (x_nb, losses_nb)):
        np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(losses, losses_ref, rtol=1e-10, atol=0)
    return x_np, losses_nb


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True), (0.5, True)])
def test_numpy_and_numba_loops_equal_torch_sgd(problem, momentum, nesterov):
    a, b = problem
    _, losses_nb = _both_loops_equal_torch(a, b, SCHEDULE.array(STEPS), momentum, nesterov)
    assert losses_nb[-1] < 0.1 * losses_nb[0]


# One-cycle's momentum, 0.95 -> 0.85 -> 0.95 as torch's OneCycleLR cycles it, and one with steps at 0 between.
CYCLED = lr.from_torch("OneCycleLR", 0.05, part="momentum", max_lr=0.05, total_steps=STEPS).array(STEPS)
GAPPED = np.where(np.arange(STEPS) % 37 < 5, 0.0, CYCLED)  # torch skips the buffer at 0 and resumes the old one


@pytest.mark.parametrize(("momentum", "nesterov"), [(CYCLED, False), (CYCLED, True), (GAPPED, False),
                                                    (list(CYCLED), False)])
def test_a_momentum_per_step_equals_torch_sgd_with_that_momentum_set_each_step(problem, momentum, nesterov):
    a, b = problem
    lrs = lr.one_cycle(peak=0.05, steps=STEPS).array(STEPS)
    x_np, _ = _both_loops_equal_torch(a, b, lrs, momentum, nesterov)
    # The per-step momentum is what ran: a constant one ends elsewhere.
    x_const, _ = sgd.sgd_numpy(_value_and_grad(a, b), np.zeros(6), lrs, momentum=0.9, nesterov=nesterov)
    assert np.abs(x_const - x_np).max() > 1e-6


def test_iterate_is_the_core_iterator():
    assert sgd.iterate is lr.iterate
    values = sgd.iterate(SCHEDULE, start=100)
    assert [next(values) for _ in range(5)] == SCHEDULE.array(5, start=100).tolist()


def test_table_is_the_core_table():
    # Documented as lrcore.adapters.sgd.table; it lives in the core, where the optax and Keras adapters import it.
    from lrcore import _table

    assert sgd.table is _table.table and sgd.MAX_TABLE == _table.MAX_TABLE == 10**8


def test_table_rule():
    # A finite horizon: ceil(horizon) + 1 values, exact for every t with index min(t, n - 1).
    s = lr.one_cycle(peak=0.1, steps=99.5)
    values = sgd.table(s)
    assert values.shape == (101,) and values.tolist() == s.array(101).tolist()
    assert values[-1] == s(10**6)
    # `steps` caps it; an unbounded schedule needs it.
    assert sgd.table(s, steps=40).tolist() == s.array(40).tolist()
    e = lr.exponential(init=0.1, gamma=0.9)
    assert sgd.table(e, steps=7, dtype=np.float32).tolist() == e.array(7, dtype=np.float32).tolist()
    with pytest.raises(ValueError, match=r"table: `steps` is required for a schedule without a finite horizon"):
        sgd.table(e)


def test_example_runs_and_the_loss_falls():
    example = Path(__file__).resolve().parents[1] / "examples" / "sgd_least_squares.py"
    run = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    losses = [float(row[2]) for row in rows]
    assert len(losses) >= 5 and losses[-1] < 1e-3 * losses[0]
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:], strict=False))
    assert "agree: True" in run.stdout


def test_bad_arguments_are_named(problem):
    a, b = problem
    f = _value_and_grad(a, b)
    with pytest.raises(ValueError, match="sgd_numpy: `momentum` must be < 1; got momentum=1.0"):
        sgd.sgd_numpy(f, np.zeros(6), [0.1], momentum=1.0)
    with pytest.raises(ValueError, match="sgd_numpy: `nesterov` needs momentum > 0"):
        sgd.sgd_numpy(f, np.zeros(6), [0.1], nesterov=True)
    with pytest.raises(ValueError, match="sgd_numpy: `lrs` must be a 1-d array"):
        sgd.sgd_numpy(f, np.zeros(6), [[0.1]])
    with pytest.raises(ValueError, match="sgd_numpy: `lrs` must hold finite numbers >= 0"):
        sgd.sgd_numpy(f, np.zeros(6), [0.1, -0.1])
    with pytest.raises(TypeError, match="sgd_numpy: `grad_fn` must be callable"):
        sgd.sgd_numpy(None, np.zeros(6), [0.1])
    with pytest.raises(ValueError, match=r"sgd_least_squares_numba: `b` must have shape \(40,\)"):
        sgd.sgd_least_squares_numba(a, b[:5], np.zeros(6), [0.1])
    with pytest.raises(ValueError, match=r"sgd_least_squares_numba: `x0` must have shape \(6,\)"):
        sgd.sgd_least_squares_numba(a, b, np.zeros(5), [0.1])
    with pytest.raises(ValueError, match="sgd_least_squares_numba: `A` must be a 2-d array"):
        sgd.sgd_least_squares_numba(b, b, np.zeros(6), [0.1])


@pytest.mark.parametrize("loop", ["sgd_numpy", "sgd_least_squares_numba"])
@pytest.mark.parametrize(("momentum", "nesterov", "error", "message"), [
    (np.full(4, 0.9), False, ValueError,
     "`momentum` must be a number or a 1-d array of length 3 (one per step, as lrs); its shape is (4,); got momentum="),
    (np.full((3, 1), 0.9), False, ValueError, "1-d array of length 3 (one per step, as lrs); its shape is (3, 1)"),
    ([0.9, 1.0, 0.9], False, ValueError, "`momentum` must hold numbers in [0, 1) (element 1 is 1.0); got momentum="),
    ([0.9, -0.1, 0.9], False, ValueError, "`momentum` must hold numbers in [0, 1) (element 1 is -0.1)"),
    ([0.9, 0.9, float("nan")], False, ValueError, "`momentum` must hold numbers in [0, 1) (element 2 is nan)"),
    ([0.9, float("inf"), 0.9], False, ValueError, "`momentum` must hold numbers in [0, 1) (element 1 is inf)"),
    (["0.9", "0.9", "0.9"], False, TypeError, "`momentum` must be a number or an array of numbers"),
    ([True, False, True], False, TypeError, "`momentum` must be a number or an array of numbers"),
    ("0.9", False, TypeError, "`momentum` must be a real number; got momentum='0.9'"),
    (float("nan"), False, ValueError, "`momentum` must be finite; got momentum=nan"),
    ([0.9, 0.0, 0.9], True, ValueError, "`nesterov` needs momentum > 0 at every step; got nesterov=True"),
])
def test_bad_momentum_is_named(problem, loop, momentum, nesterov, error, message):
    a, b = problem
    with pytest.raises(error) as caught:
        if loop == "sgd_numpy":
            sgd.sgd_numpy(_value_and_grad(a, b), np.zeros(6), [0.1, 0.1, 0.1], momentum=momentum, nesterov=nesterov)
        else:
            sgd.sgd_least_squares_numba(a, b, np.zeros(6), [0.1, 0.1, 0.1], momentum=momentum, nesterov=nesterov)
    text = str(caught.value)
    assert text.startswith(f"{loop}: ") and message in text and "\n" not in text, text
