"""``lr.find_lr(step_fn)``: the range test for any loop, and the loop every runner shares."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest

import lrcore as lr


class Quadratic:
    """Gradient descent on a noisy ill-conditioned quadratic: a loop that is not any framework's."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.scales = np.array([1.0, 4.0, 16.0])
        self.w = np.array([3.0, -2.0, 1.0])
        self.seen: list[float] = []

    def step(self, rate: float) -> float:
        self.seen.append(rate)
        loss = float(0.5 * np.sum(self.scales * self.w**2)) + 0.01 * float(self.rng.standard_normal())
        grad = self.scales * self.w + 0.05 * self.rng.standard_normal(3)
        self.w = self.w - rate * grad
        return loss


def test_follows_the_range_test_and_stops_at_the_cut() -> None:
    q = Quadratic()
    s = lr.find_lr(q.step, start=1e-5, end=10.0, steps=120, progress=False)
    want = lr.range_test(start=1e-5, end=10.0, steps=120)
    assert q.seen == [want(t) for t in range(len(q.seen))]  # bit for bit
    assert s.cut is not None and len(q.seen) == len(s.lrs) + 1 < 120  # stopped right after the cut
    assert s.method == "blend" and s.lrs.tolist() == q.seen[:-1]
    # gradient descent on this quadratic diverges above 2 / 16: the suggestion is below that
    assert 1e-3 < s.lr < 2 / 16


@pytest.mark.parametrize("method", ["blend", "descent", "minimum", "valley", "steepest"])
def test_reads_the_record_as_suggest_does(method: str) -> None:
    q = Quadratic(1)
    record: list[float] = []

    def step(rate: float) -> float:
        loss = q.step(rate)
        record.append(loss)
        return loss

    s = lr.find_lr(step, start=1e-4, end=1.0, steps=80, method=method, smooth=0.9, diverge=math.inf, progress=False)
    want = lr.suggest(q.seen, record, method=method, smooth=0.9, diverge=math.inf)
    assert s.lr == want.lr and s.index == want.index and s.smoothed.tolist() == want.smoothed.tolist()


def test_a_linear_range_may_start_at_zero() -> None:
    q = Quadratic(2)
    s = lr.find_lr(q.step, start=0.0, end=0.3, steps=50, shape="linear", diverge=math.inf, progress=False)
    assert q.seen == lr.linear(start=0.0, end=0.3, steps=49).array(50).tolist()
    assert q.seen[0] == 0.0 and q.seen[-1] == 0.3
    assert s.lrs[0] == 0.0 and s.first >= 1 and 0 < s.lr <= 0.3
    assert lr.suggest(s.lrs, s.losses, method="steepest").lr > 0  # lr 0 is never read through its log
    with pytest.raises(ValueError, match=r"range_test: `start` must be > 0"):
        lr.find_lr(q.step, start=0.0, end=0.3, steps=50, progress=False)  # exponential: no


@pytest.mark.parametrize(
    "loss",
    [np.float32(1.5), np.array(2.0), np.array([2.5]), 3, 1.25],
    ids=["np.float32", "0-d array", "1-element array", "int", "float"],
)
def test_a_loss_is_one_real_number_in_any_form(loss: Any) -> None:
    s = lr.find_lr(lambda rate: loss, start=1e-3, end=1.0, steps=20, diverge=math.inf, progress=False)
    assert s.losses.tolist() == [float(np.asarray(loss).reshape(()))] * 20


@pytest.mark.parametrize(
    "loss",
    [None, True, 1 + 2j, "0.5", np.array([1.0, 2.0]), np.array(True), np.array(1j)],
    ids=["None", "bool", "complex", "str", "two values", "bool array", "complex array"],
)
def test_anything_else_is_refused_at_the_first_step(loss: Any) -> None:
    calls = []

    def step(rate: float) -> Any:
        calls.append(rate)
        return loss

    with pytest.raises(TypeError, match=r"find_lr: the step must return the loss, one real number; got ") as info:
        lr.find_lr(step, progress=False)
    assert len(calls) == 1 and "\n" not in str(info.value)


def test_progress_bar_with_tqdm_and_none_without(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    lr.find_lr(Quadratic().step, start=1e-5, end=10.0, steps=60)
    err = capsys.readouterr().err
    assert "LR range test" in err and "stopped: the loss diverged" in err  # tqdm's bar, on stderr
    lr.find_lr(Quadratic().step, start=1e-5, end=10.0, steps=60, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    monkeypatch.setitem(sys.modules, "tqdm", None)
    s = lr.find_lr(Quadratic().step, start=1e-5, end=10.0, steps=60)
    assert capsys.readouterr().err == "" and s.cut is not None


def test_a_range_that_cannot_increase_is_refused_before_any_step() -> None:
    """start=1, end=1+1e-12 over 10,000 steps: in float64 most of those lrs would repeat."""
    with pytest.raises(ValueError, match=r"^range_test: `steps` must leave the learning rates room to increase"):
        lr.range_test(start=1.0, end=1 + 1e-12, steps=10_000)  # the record's own rule
    calls: list[float] = []
    for shape in ("exponential", "linear"):
        with pytest.raises(ValueError, match=r"^range_test: `steps` must leave the learning rates room") as e:
            lr.find_lr(calls.append, start=1.0, end=1 + 1e-12, steps=10_000, shape=shape, progress=False)
        assert "got steps=10000" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match=r"room to increase"):
        lr.find_lr(calls.append, start=0.0, end=1e-300, steps=10**12, shape="linear", progress=False)
    assert calls == []
    # the rule refuses only ranges float64 cannot resolve: 10**7 steps over a factor of 10 are fine
    s = lr.range_test(start=0.1, end=1.0, steps=10**7)
    assert (np.diff(s.array(4096, start=10**7 - 4096)) > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"step_fn": None}, TypeError, "find_lr: `step_fn` must be callable as step_fn(lr) -> loss; got step_fn=None"),
        ({"steps": 1}, ValueError, "range_test: `steps` must be >= 2"),
        ({"steps": 2.5}, TypeError, "range_test: `steps` must be an int"),
        ({"start": 1.0, "end": 0.5}, ValueError, "range_test: `end` must be > start=1"),
        ({"shape": "cosine"}, ValueError, "range_test: `shape` must be one of 'exponential', 'linear'"),
        ({"shape": "linear", "start": 0.0, "steps": 1}, ValueError, "range_test: `steps` must be >= 2"),
        ({"shape": "linear", "start": 0.0, "end": 0.0}, ValueError, "range_test: `end` must be > 0"),
        ({"method": "steep"}, ValueError, "find_lr: `method` must be one of"),
        ({"smooth": 1.0}, ValueError, "find_lr: `smooth` must be < 1"),
        ({"diverge": 1.0}, ValueError, "find_lr: `diverge` must be > 1"),
        ({"progress": "yes"}, TypeError, "find_lr: `progress` must be True or False; got progress='yes'"),
    ],
)
def test_bad_input_before_any_step(kwargs: dict, exc: type, message: str) -> None:
    calls: list[float] = []
    args: dict[str, Any] = {"step_fn": calls.append, **kwargs}
    with pytest.raises(exc) as info:
        lr.find_lr(args.pop("step_fn"), **args)
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert calls == []


def test_a_run_cut_too_early_says_so() -> None:
    with pytest.raises(ValueError, match=r"find_lr: the run stopped after 1 of 100 steps \(last lr 1e-07, loss nan\), "
                                         r"too early to suggest: start lower or use more steps"):
        lr.find_lr(lambda rate: math.nan, progress=False)


def test_an_error_in_the_step_propagates_and_closes_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    def step(rate: float) -> float:
        if rate > 1e-4:
            raise RuntimeError("boom")
        return 1.0

    with pytest.raises(RuntimeError, match="boom"):
        lr.find_lr(step, start=1e-6, end=1.0, steps=30)
    err = capsys.readouterr().err
    assert "LR range test" in err and err.endswith("\n")  # the bar was closed (its line ended)
