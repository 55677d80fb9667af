"""``lr.suggest`` on synthetic range-test curves whose steepest point and minimum are known."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import lrcore as lr

N = 141
LRS = lr.range_test(start=1e-6, end=10.0, steps=N).array(N)  # log10 lr = -6, -5.95, ..., 1
U = np.log10(LRS)
STEEP_AT = 60  # log10 lr = -3: the centre of the fall
RISE_FROM = 100  # log10 lr = -1: the loss starts to rise


def curve(u: np.ndarray) -> np.ndarray:
    """Falls fastest at u = -3 (a tanh), then rises quadratically from u = -1."""
    return 2.0 - np.tanh((u + 3.0) / 0.4) + 3.0 * np.maximum(u + 1.0, 0.0) ** 2


CLEAN = curve(U)
MIN_AT = int(np.argmin(CLEAN))


def ema(losses: list[float], smooth: float) -> list[float]:
    """The bias-corrected moving average, written out as fastai and torch-lr-finder describe it."""
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = smooth * avg + (1 - smooth) * loss
        out.append(avg / (1 - smooth ** (i + 1)))
    return out


def fastai_valley(lrs: list[float], losses: list[float]) -> int:
    """fastai's ``valley`` loop (fastai/callback/schedule.py), transcribed; returns the index."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def test_the_curve_is_what_the_tests_assume() -> None:
    assert MIN_AT == RISE_FROM and np.all(np.diff(CLEAN[: MIN_AT + 1]) < 0) and np.all(np.diff(CLEAN[MIN_AT:]) > 0)
    assert U[STEEP_AT] == pytest.approx(-3.0, abs=1e-12)


def test_noise_free_unsmoothed_gives_the_analytic_points() -> None:
    steep = lr.suggest(LRS, CLEAN, method="steepest", smooth=0.0)
    assert steep.index == STEEP_AT and steep.lr == LRS[STEEP_AT]
    low = lr.suggest(LRS, CLEAN, method="minimum", smooth=0.0)
    assert low.index == MIN_AT and low.lr == LRS[MIN_AT] / 10
    valley = lr.suggest(LRS, CLEAN, method="valley", smooth=0.0)
    # The longest valley is the whole fall from the first analysed point to the minimum.
    first = N // 10
    assert valley.first == first
    assert valley.index == first + fastai_valley(LRS[first:].tolist(), CLEAN[first:].tolist())
    assert first < valley.index < MIN_AT and valley.lr == LRS[valley.index]
    cut = int(np.argmax(CLEAN > 4.0 * np.minimum.accumulate(CLEAN)))  # the rise passes 4 x the minimum
    assert cut > MIN_AT
    for s in (steep, low, valley):
        assert s.cut == "diverged" and s.total == N and len(s.lrs) == cut
        assert s.smoothed.tolist() == s.losses.tolist() == CLEAN[:cut].tolist()


@pytest.mark.parametrize("smooth", [0.0, 0.6, 0.9, 0.98])
def test_smoothing_is_the_bias_corrected_moving_average(smooth: float) -> None:
    rng = np.random.default_rng(3)
    noisy = CLEAN * np.exp(0.05 * rng.standard_normal(N))
    s = lr.suggest(LRS, noisy, smooth=smooth, diverge=math.inf)
    np.testing.assert_allclose(s.smoothed, ema(noisy.tolist(), smooth), rtol=1e-14)
    assert s.losses.tolist() == noisy.tolist()


@pytest.mark.parametrize("seed", range(5))
def test_with_noise_the_suggestions_stay_near_the_noise_free_ones(seed: int) -> None:
    """With 5 % multiplicative noise and smoothing, steepest and minimum land within 0.2 decades
    of where they land on the noise-free curve (the smoothing lags; the noise must not matter)."""
    rng = np.random.default_rng(seed)
    noisy = CLEAN * np.exp(0.05 * rng.standard_normal(N))
    for method in ("steepest", "minimum"):
        clean = lr.suggest(LRS, CLEAN, method=method, smooth=0.9)
        got = lr.suggest(LRS, noisy, method=method, smooth=0.9)
        assert abs(math.log10(got.lr / clean.lr)) <= 0.2, (method, got.lr, clean.lr)
    # The valley is the longest strictly falling stretch: on the clean curve it also takes in the
    # near-flat start, with noise only the fall itself; either way the point is on the fall, where
    # the smoothed noise-free loss has come down between 10 % and 90 % of the way.
    smoothed = lr.suggest(LRS, CLEAN, method="valley", smooth=0.9).smoothed
    top, bottom = smoothed[N // 10], smoothed.min()
    for losses in (noisy, CLEAN):
        at = lr.suggest(LRS, losses, method="valley", smooth=0.9).index
        assert 0.1 <= (smoothed[at] - bottom) / (top - bottom) <= 0.9
    # ... and the smoothed noise-free curve lags the clean one by about smooth / (1 - smooth) points.
    lag = lr.suggest(LRS, CLEAN, method="steepest", smooth=0.9).index - STEEP_AT
    assert 4 <= lag <= 12


def zero_lag(losses: np.ndarray, weight: float) -> np.ndarray:
    """The mean of a forward and a backward bias-corrected moving average of the log losses, written out."""
    logs = np.log(losses)
    forward = np.array(ema(logs.tolist(), weight))
    backward = np.array(ema(logs[::-1].tolist(), weight))[::-1]
    return (forward + backward) / 2


def test_descent_is_the_steepest_fall_before_the_minimum_of_the_zero_lag_curve() -> None:
    cut = lr.suggest(LRS, CLEAN, smooth=0.98).total  # no cut with the default smoothing here
    s = lr.suggest(LRS, CLEAN, method="descent")
    curve = zero_lag(CLEAN[: len(s.lrs)], 1 - 20 / cut)
    low = N // 10 + int(np.argmin(curve[N // 10 :]))
    slopes = np.gradient(curve[N // 10 :], np.log(LRS[N // 10 : len(s.lrs)]))  # the whole curve's
    want = N // 10 + int(np.argmin(slopes[: low - N // 10]))  # before the minimum
    assert s.index == want and s.lr == LRS[want]
    assert abs(s.index - STEEP_AT) <= 3  # no lag: at the clean curve's steepest fall (t = 60)
    # past the minimum a steeper fall (back to a level above the minimum) is never read
    late = CLEAN.copy()
    late[RISE_FROM + 15 :] = CLEAN.min() + 0.5
    assert CLEAN[RISE_FROM + 14] - late[RISE_FROM + 15] > 0.8  # a fall of 0.8 in 0.05 decades
    assert lr.suggest(LRS, late, method="descent", diverge=math.inf).index == s.index


def test_descent_never_reads_the_fall_into_the_minimum_as_the_steepest() -> None:
    """One loss at half its neighbours' on the floor makes the zero-lag curve's minimum there; the
    slope into that minimum is steeper than the real fall's, but the curve is flat at it: descent
    stays on the real fall (read from the points up to the minimum alone, it was the dip)."""
    dipped = CLEAN.copy()
    dipped[RISE_FROM - 6] *= 0.5
    clean = lr.suggest(LRS, CLEAN, method="descent", diverge=math.inf)
    s = lr.suggest(LRS, dipped, method="descent", diverge=math.inf)
    assert abs(s.index - STEEP_AT) <= 3 and s.index == clean.index


def test_descent_window_is_a_twentieth_of_the_run_whatever_its_length() -> None:
    """The same curve sampled at 100 and at 400 points: descent lands on the same lr (within a point
    of the coarser grid); the lagging readings move with the number of points."""
    found = []
    for n in (100, 400):
        lrs = lr.range_test(start=1e-6, end=10.0, steps=n).array(n)
        found.append(lr.suggest(lrs, curve(np.log10(lrs)), method="descent").lr)
    assert abs(math.log10(found[1] / found[0])) <= 7 / 99


def test_blend_is_the_geometric_mean_of_descent_and_half_of_minimum() -> None:
    rng = np.random.default_rng(4)
    for losses in (CLEAN, CLEAN * np.exp(0.05 * rng.standard_normal(N))):
        low = lr.suggest(LRS, losses, method="minimum").lr
        fall = lr.suggest(LRS, losses, method="descent").lr
        s = lr.suggest(LRS, losses)
        assert s.method == "blend" and s.lr == pytest.approx(math.sqrt(low / 2 * fall), rel=1e-15)
        assert abs(math.log(LRS[s.index] / s.lr)) <= math.log(LRS[1] / LRS[0]) / 2  # the nearest point


def test_descent_reads_losses_at_or_below_zero_as_they_are() -> None:
    shifted = CLEAN - 3.0  # negative: no log space
    s = lr.suggest(LRS, shifted, method="descent", diverge=math.inf)
    assert abs(s.index - STEEP_AT) <= 3


def test_valley_equals_fastais_loop_on_random_curves() -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(10, 120))
        lrs = np.geomspace(1e-5, 1.0, n)
        losses = np.cumsum(rng.standard_normal(n)) + 100.0
        if rng.random() < 0.3:
            losses = np.round(losses)  # ties: strictly decreasing only
        got = lr.suggest(lrs, losses, method="valley", smooth=0.0, diverge=math.inf)
        want = fastai_valley(lrs[n // 10 :].tolist(), losses[n // 10 :].tolist())
        assert got.index == n // 10 + min(max(want, 0), n - n // 10 - 1)


def test_steepest_uses_the_slope_against_log_lr() -> None:
    # Uneven lr spacing: the steepest slope per unit log lr is not the largest drop per point.
    lrs = np.array([1e-5, 2e-5, 3e-5, 4e-5, 5e-5, 6e-5, 1e-3, 1.1e-3, 1.2e-3, 1.3e-3, 1.4e-3, 1.5e-3])
    losses = np.array([10.0, 9.9, 9.8, 9.7, 9.6, 9.5, 5.0, 4.9, 4.3, 4.2, 4.1, 4.0])
    s = lr.suggest(lrs, losses, method="steepest", smooth=0.0)
    assert s.first == 1
    assert s.index == 1 + int(np.argmin(np.gradient(losses[1:], np.log(lrs[1:])))) == 7
    assert 1 + int(np.argmin(np.gradient(losses[1:]))) == 5  # per point, the big jump would win


def test_steepest_on_lrs_whose_logs_round_to_the_same_value() -> None:
    """Neighbouring large lrs one ulp apart have equal float logs: the slope is still finite and found."""
    lrs = 1e10 * (1 + np.arange(40) * 2.0**-52)
    assert len(set(np.log(lrs).tolist())) < 40
    losses = np.r_[np.full(15, 5.0), np.linspace(5.0, 1.0, 6)[1:], np.full(20, 1.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = lr.suggest(lrs, losses, method="steepest", smooth=0.0)
    assert 15 <= s.index <= 19 and s.lr == lrs[s.index]


def test_an_lr_of_zero_is_allowed_first_and_never_read() -> None:
    lrs = lr.linear(start=0.0, end=1.0, steps=N - 1).array(N)
    losses = curve(np.log10(np.maximum(lrs, 1e-12)) - 2.0)
    for method in ("valley", "steepest", "minimum"):
        s = lr.suggest(lrs, losses, method=method, smooth=0.0)
        assert s.lr > 0 and s.index >= 1
    short = lr.suggest(lrs[:8], losses[:8], method="steepest", smooth=0.0)
    assert short.first == 1 and short.lr > 0  # fewer than 10 points: only the lr of 0 is skipped


def test_plot_of_a_linear_range_from_zero(tmp_path) -> None:
    lrs = lr.linear(start=0.0, end=1.0, steps=N - 1).array(N)
    s = lr.suggest(lrs, curve(np.log10(np.maximum(lrs, 1e-12)) - 2.0))
    ax = s.plot(path=tmp_path / "zero.png")
    assert (tmp_path / "zero.png").stat().st_size > 5000 and min(ax.get_lines()[0].get_xdata()) > 0


def test_plot_keeps_an_existing_files_mode_and_a_symlink(tmp_path) -> None:
    s = lr.suggest(LRS, CLEAN)
    target = tmp_path / "finder.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    s.plot(path=link)
    assert link.is_symlink() and target.stat().st_size > 5000
    assert target.stat().st_mode & 0o777 == 0o640
    s.plot(path=target)
    assert target.stat().st_mode & 0o777 == 0o640 and sorted(p.name for p in tmp_path.iterdir()) == ["finder.png",
                                                                                                        "link.png"]


def test_divergence_cut() -> None:
    losses = CLEAN.copy()
    losses[110:] = CLEAN[110] * 1.25 ** np.arange(1, N - 109)
    s = lr.suggest(LRS, losses, smooth=0.9)
    smoothed = ema(losses.tolist(), 0.9)
    best = np.minimum.accumulate(smoothed)
    want = next(i for i in range(N) if smoothed[i] > 4.0 * best[i])
    assert s.cut == "diverged" and len(s.lrs) == want and s.total == N
    assert s.lrs.tolist() == LRS[:want].tolist() and s.index < want
    assert "cut at point" in s.describe()
    # A higher threshold cuts later; none at all keeps every point.
    assert len(lr.suggest(LRS, losses, smooth=0.9, diverge=8.0).lrs) > want
    assert lr.suggest(LRS, losses, smooth=0.9, diverge=math.inf).cut is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_marks_divergence(bad: float) -> None:
    losses = CLEAN.copy()
    losses[90] = bad
    losses[95] = 0.5  # after the cut: never looked at
    s = lr.suggest(LRS, losses, method="minimum")
    assert s.cut == "non-finite loss" and len(s.lrs) == 90 and np.isfinite(s.losses).all()
    assert json.dumps(s.to_dict(), allow_nan=False)


def test_a_loss_at_or_below_zero_warns_that_the_ratio_cut_cannot_apply() -> None:
    losses = CLEAN - 1.5  # dips below 0
    with pytest.warns(UserWarning, match=r"suggest: the smoothed loss reached .* <= 0.*diverge=math.inf"):
        lr.suggest(LRS, losses, smooth=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr.suggest(LRS, losses, smooth=0.0, diverge=math.inf)
        lr.suggest(LRS, CLEAN, smooth=0.0)


def test_suggestion_value() -> None:
    s = lr.suggest(LRS.tolist(), CLEAN.tolist())
    assert s.method == "blend" and isinstance(s.lr, float) and isinstance(s.index, int)
    assert isinstance(s.peak, float) and s.peak == 2 * s.lr  # an annealed schedule's mean is about half its peak
    for a in (s.lrs, s.losses, s.smoothed):
        assert a.dtype == np.float64 and not a.flags.writeable
    with pytest.raises(AttributeError):
        s.lr = 1.0  # type: ignore[misc]
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert d["lr"] == s.lr and d["peak"] == s.peak and d["lrs"] == LRS.tolist() and d["smoothed"] == s.smoothed.tolist()
    assert d["method"] == "blend" and d["cut"] is None and d["first"] == N // 10 and d["total"] == N
    assert repr(s).startswith("Suggestion(lr=") and f"peak={s.peak:.6g}" in repr(s) and "\n" not in s.describe()
    assert s.describe().startswith(f"suggested lr {s.lr:.10g} (method blend); peak {s.peak:.10g} for a one-cycle")
    for method in ("descent", "minimum", "valley", "steepest"):
        assert lr.suggest(LRS, CLEAN, method=method).peak == 2 * lr.suggest(LRS, CLEAN, method=method).lr


def test_plot(tmp_path) -> None:
    s = lr.suggest(LRS, CLEAN, method="steepest", smooth=0.5)
    path = tmp_path / "finder.png"
    ax = s.plot(path=path)
    assert path.stat().st_size > 5000 and sorted(p.name for p in tmp_path.iterdir()) == ["finder.png"]
    assert ax.get_xscale() == "log" and "steepest" in ax.get_legend().get_texts()[-1].get_text()
    marker = ax.get_lines()[-1]
    assert marker.get_xdata()[0] == s.lr
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("peak") and f"{s.peak:.3g}" in t for t in labels)
    assert any(line.get_xdata()[0] == s.peak for line in ax.get_lines() if len(line.get_xdata()) == 1)
    from matplotlib.figure import Figure

    own = Figure().add_subplot()
    assert s.plot(ax=own) is own and own.get_xscale() == "log"
    (tmp_path / "plot.svg").write_text("old")
    s.plot(path=str(tmp_path / "plot.svg"))
    assert (tmp_path / "plot.svg").read_text().startswith("<?xml")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing-folder/x.png", "Suggestion.plot: `path` needs an existing folder"),
        (".", "Suggestion.plot: `path` is a folder"),
        ("noextension", "Suggestion.plot: `path` needs an extension"),
    ],
)
def test_plot_bad_paths(tmp_path, monkeypatch, path: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    s = lr.suggest(LRS, CLEAN)
    with pytest.raises(ValueError, match=message):
        s.plot(path=path)
    with pytest.raises(TypeError, match="Suggestion.plot: `path` must be a file name"):
        s.plot(path=3)
    assert list(tmp_path.iterdir()) == []


GOOD = (LRS, CLEAN)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "message"),
    [
        ((LRS, CLEAN[:-1]), {}, ValueError, "suggest: `losses` must have as many values as lrs (141)"),
        ((LRS[:4], CLEAN[:4]), {}, ValueError, "suggest: `losses` must leave at least 5 points to analyse; 4 remain"),
        (([], []), {}, ValueError, "suggest: `losses` must leave at least 5 points to analyse; 0 remain"),
        ((LRS[:20], [1.0] * 4 + [math.nan] * 16), {}, ValueError,
         "must leave at least 5 points to analyse before the cut (non-finite loss at point 4), after skipping the "
         "first 2; 2 remain"),
        ((LRS, [math.nan] * N), {}, ValueError, "suggest: `losses` must hold at least one finite value"),
        ((-LRS, CLEAN), {}, ValueError, "suggest: `lrs[0]` must be finite and > 0; got lrs[0]=-1e-06"),
        ((np.r_[LRS[:1], 0.0, LRS[2:]], CLEAN), {}, ValueError,
         "suggest: `lrs[1]` must be finite and > 0 (only lrs[0] may be 0); got lrs[1]=0.0"),
        ((np.r_[LRS[:5], math.nan, LRS[6:]], CLEAN), {}, ValueError, "suggest: `lrs[5]` must be finite and > 0"),
        ((np.r_[LRS[:5], math.inf, LRS[6:]], CLEAN), {}, ValueError, "suggest: `lrs[5]` must be finite and > 0"),
        ((LRS[::-1], CLEAN), {}, ValueError,
         "suggest: `lrs[1]` must be > lrs[0]=10.0 (lrs must be strictly increasing)"),
        ((np.r_[LRS[:7], LRS[6:-1]], CLEAN), {}, ValueError, "suggest: `lrs[7]` must be > lrs[6]"),
        ((LRS.reshape(1, -1), CLEAN), {}, ValueError, "suggest: `lrs` must be 1-d (it has shape (1, 141))"),
        (("0.1 0.2", CLEAN), {}, TypeError, "suggest: `lrs` must be a 1-d sequence of real numbers"),
        ((LRS, ["a"] * N), {}, TypeError, "`losses` must be a 1-d sequence of real numbers (it holds strings)"),
        ((LRS, [str(v) for v in CLEAN]), {}, TypeError, "(it holds strings); got losses=<list of 141 values: '"),
        ((LRS, CLEAN + 0j), {}, TypeError, "`losses` must be a 1-d sequence of real numbers (it holds complex"),
        ((LRS, CLEAN > 2), {}, TypeError, "suggest: `losses` must be a 1-d sequence of real numbers (it holds bools)"),
        ((LRS, [*CLEAN[:-1].tolist(), True]), {}, TypeError, "suggest: `losses` must be a 1-d sequence of real"),
        ((LRS, [*CLEAN[:-1].tolist(), None]), {}, TypeError, "suggest: `losses` must be a 1-d sequence of real"),
        ((LRS, [[1.0], [2.0, 3.0]]), {}, TypeError, "suggest: `losses` must be a 1-d sequence of real numbers"),
        ((LRS, None), {}, TypeError, "suggest: `losses` must be a 1-d sequence of real numbers; got losses=None"),
        (GOOD, {"method": "steep"}, ValueError,
         "suggest: `method` must be one of 'blend', 'descent', 'minimum', 'valley', 'steepest'; got method='steep'"),
        (GOOD, {"method": None}, TypeError, "suggest: `method` must be one of"),
        (GOOD, {"smooth": 1.0}, ValueError, "suggest: `smooth` must be < 1; got smooth=1.0"),
        (GOOD, {"smooth": -0.1}, ValueError, "suggest: `smooth` must be >= 0; got smooth=-0.1"),
        (GOOD, {"smooth": math.nan}, ValueError, "suggest: `smooth` must be finite; got smooth=nan"),
        (GOOD, {"diverge": 1.0}, ValueError, "suggest: `diverge` must be > 1; got diverge=1.0"),
        (GOOD, {"diverge": math.nan}, ValueError, "suggest: `diverge` must be finite; got diverge=nan"),
        (GOOD, {"diverge": "4"}, TypeError, "suggest: `diverge` must be a real number; got diverge='4'"),
    ],
)
def test_bad_input(args: tuple, kwargs: dict, exc: type, message: str) -> None:
    with pytest.raises(exc) as info:
        lr.suggest(*args, **kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text and len(text) < 300, text


def test_importing_suggest_loads_no_plotting_or_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, lrcore as lr\n"
        "lr.suggest(np.geomspace(1e-6, 1, 50), np.linspace(3, 1, 50))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'torch', 'jax', 'keras')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
