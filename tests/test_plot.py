"""lr.plot: the lines drawn are the schedule's values; figures, labels, scales and files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib.figure import Figure

import lrcore as lr

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

WARMUP_COSINE = lr.warmup(lr.cosine(init=0.1, steps=90, final=0.001), steps=10)
STEP = lr.step(init=0.1, step_size=30, gamma=0.5)
LONG = lr.join(
    [
        lr.warmup(lr.cosine(init=3e-4, steps=9000, final=3e-5, exponent=2.0), steps=1000, shape="cosine"),
        lr.cyclic(base=1e-5, peak=1e-4, step_up=500, mode="exp_range", gamma=0.999),
        lr.piecewise_constant(boundaries=[100, 200, 300], values=[1e-5, 5e-6, 2e-6, 1e-6]),
    ],
    boundaries=[10_000, 20_000],
)


def lines_of(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_plot_into_given_axes_draws_exact_values_and_keeps_the_callers_decorations():
    fig = Figure()
    ax = fig.add_subplot()
    ax.set_xlabel("my steps")
    ax.set_title("mine")
    out = lr.plot(WARMUP_COSINE, 120, ax=ax)
    assert out is ax
    (line,) = ax.get_lines()
    assert line.get_label() == repr(WARMUP_COSINE)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(120))
    np.testing.assert_array_equal(line.get_ydata(), WARMUP_COSINE.array(120))
    # The caller's labels and title stay; an empty y label is filled in.
    assert ax.get_xlabel() == "my steps"
    assert ax.get_title() == "mine"
    assert ax.get_ylabel() == "learning rate"
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [repr(WARMUP_COSINE)]


def test_plot_dict_of_schedules_labels_each_line_by_its_key():
    ax = Figure().add_subplot()
    lr.plot({"warmup + cosine": WARMUP_COSINE, "step": STEP}, 100, ax=ax)
    lines = lines_of(ax)
    assert set(lines) == {"warmup + cosine", "step"}
    np.testing.assert_array_equal(lines["warmup + cosine"].get_ydata(), WARMUP_COSINE.array(100))
    np.testing.assert_array_equal(lines["step"].get_ydata(), STEP.array(100))
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["step", "warmup + cosine"]


def test_plot_to_path_writes_a_png_without_touching_pyplot(tmp_path):
    import matplotlib.image
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    path = tmp_path / "lr.png"
    ax = lr.plot({"a": WARMUP_COSINE, "b": STEP}, 100, path=path)
    assert plt.get_fignums() == before  # a standalone Figure: nothing left open in pyplot
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert 5_000 < len(data) < 200_000
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (450, 800)  # 8 x 4.5 inches at 100 dpi
    assert image.shape[2] in (3, 4)
    assert ax.get_title() == "learning rate, t = 0 … 99"
    assert ax.get_xlim() == (0.0, 99.0)
    assert ax.get_ylim()[0] == 0.0
    np.testing.assert_array_equal(lines_of(ax)["b"].get_ydata(), STEP.array(100))


def test_plot_title_and_svg_output(tmp_path):
    path = tmp_path / "lr.svg"
    ax = lr.plot(STEP, 50, path=str(path), title="step decay")
    assert ax.get_title() == "step decay"
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_plot_log_scale_masks_zero_rates(tmp_path):
    ax = lr.plot(WARMUP_COSINE, 100, path=tmp_path / "log.png", log=True)
    assert ax.get_yscale() == "log"
    (line,) = ax.get_lines()
    # The warmup starts at exactly 0, which a log axis cannot show: the data keep it, the axis hides it.
    assert line.get_ydata()[0] == 0.0
    low, high = ax.get_ylim()
    assert 0 < low <= WARMUP_COSINE.array(100)[1:].min()
    assert high >= 0.1


def test_plot_without_ax_or_path_makes_a_pyplot_figure():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    ax = lr.plot(STEP, 10)
    try:
        assert set(plt.get_fignums()) - before == {ax.figure.number}
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), STEP.array(10))
    finally:
        plt.close(ax.figure)


def test_long_labels_are_wrapped_to_three_lines():
    ax = Figure().add_subplot()
    lr.plot(LONG, 30, ax=ax)
    label = ax.get_lines()[0].get_label()
    lines = label.split("\n")
    assert len(repr(LONG)) > 3 * 70
    assert len(lines) == 3 and all(len(line) <= 70 for line in lines)
    assert label.endswith("…")
    assert " ".join(lines).startswith(repr(LONG)[:100])


@pytest.mark.parametrize(
    ("schedules", "steps", "exc", "message"),
    [
        (STEP, 0, ValueError, "plot: `steps` must be > 0; got steps=0"),
        (STEP, -3, ValueError, "plot: `steps` must be >= 0; got steps=-3"),
        (STEP, 10.0, TypeError, "plot: `steps` must be an int; got steps=10.0"),
        (lambda t: 0.1, 10, TypeError, "plot: `schedules` must be a Schedule or a dict of them"),
        ({}, 10, ValueError, "plot: `schedules` must not be empty; got schedules={}"),
        ({"a": 0.1}, 10, TypeError, "plot: `schedule` must be an lrcore Schedule; got schedule=0.1"),
    ],
)
def test_plot_rejects_bad_arguments(schedules, steps, exc, message):
    with pytest.raises(exc) as info:
        lr.plot(schedules, steps, ax=Figure().add_subplot())
    assert str(info.value).startswith(message)


def test_plot_rejects_a_non_bool_log():
    with pytest.raises(TypeError, match="plot: `log` must be True or False; got log='yes'"):
        lr.plot(STEP, 10, ax=Figure().add_subplot(), log="yes")


def test_plot_without_matplotlib_names_the_extra(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if matplotlib were not installed
        import lrcore as lr
        try:
            lr.plot(lr.constant(value=0.1), 10, path="never.png")
        except ImportError as err:
            print(err)
        else:
            print("no error")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "lrcore.plot needs matplotlib: pip install 'lrcore[plot]'"
    assert list(tmp_path.iterdir()) == []


# -- the natural length ---------------------------------------------------------------

from lrcore._registry import natural_length, stated_length  # noqa: E402
from lrcore._steps import scan as _scan  # noqa: E402

PERIODIC_COSINE = lr.cosine(init=0.1, steps=300, periodic=True)


@pytest.mark.parametrize(
    ("schedule", "length"),
    [
        (lr.linear(start=1, end=0, steps=10.5), 11),  # finite horizons, rounded up
        (lr.one_cycle(peak=0.1, steps=400), 400),
        (lr.multistep(init=0.1, milestones=[30, 80]), 80),
        (lr.piecewise_constant(boundaries=[10, 20], values=[3, 2, 1]), 20),
        (lr.interpolate(points=[[0, 1], [70, 0.5]]), 70),
        (lr.wsd(peak=1, steps=500, warmup=50, decay=100), 500),
        (PERIODIC_COSINE, 300),  # one period
        (lr.polynomial(init=1, end=0, steps=90, cycle=True), 90),
        (lr.cosine_restarts(init=0.1, period=70, period_mult=2), 70),
        (lr.cyclic(base=0.01, peak=0.1, step_up=200), 400),
        (lr.cyclic(base=0.01, peak=0.1, step_up=200, step_down=50), 250),
        (lr.join([lr.linear(start=0, end=0.1, steps=100), PERIODIC_COSINE], boundaries=[100]), 400),
        (lr.warmup(PERIODIC_COSINE, steps=25), 325),
        (lr.shift(PERIODIC_COSINE, 250), 50),
        (lr.shift(PERIODIC_COSINE, 300), 1000),  # shifted past everything it stated
        (PERIODIC_COSINE * 0.5, 300),
        (lr.clip(PERIODIC_COSINE, lo=0.01), 300),
        (PERIODIC_COSINE * lr.cyclic(base=0, peak=1, step_up=350), 700),
        (PERIODIC_COSINE + lr.step(init=0.1, step_size=10), 300),
        (lr.warmup(lr.step(init=0.1, step_size=30), steps=50), 1050),  # a stated offset, then nothing
        (lr.join([PERIODIC_COSINE, lr.exponential(init=0.1, gamma=0.9)], boundaries=[120]), 1120),
        (lr.inverse_sqrt(peak=1, warmup=200), 1200),
        (lr.inverse_sqrt(peak=1, warmup=0), 1000),
        (lr.step(init=0.1, step_size=30), 1000),  # nothing stated
        (lr.exponential(init=0.1, gamma=0.99), 1000),
        (lr.inverse_time(init=0.1, rate=0.5), 1000),
        (lr.constant(value=0.1), 1000),
        (lr.custom(lambda t: 0.1), 1000),
        (lr.from_hf("cosine", 3e-4, num_warmup_steps=100, num_training_steps=5000), 5000),
        (lr.from_torch("CosineAnnealingLR", 0.1, T_max=300), 300),
    ],
    ids=repr,
)
def test_natural_length_of_every_kind(schedule, length):
    assert natural_length(schedule) == length


def test_natural_length_of_several_is_the_longest_stated():
    stated = [lr.step(init=0.1, step_size=10), PERIODIC_COSINE, lr.one_cycle(peak=1, steps=120)]
    assert stated_length(stated[0]) is None
    assert natural_length(stated) == 300
    assert natural_length({"a": stated[0], "b": stated[2]}) == 120
    assert natural_length([lr.constant(value=1)]) == 1000
    assert natural_length(lr.linear(start=1, end=0, steps=0.25)) == 1  # at least one step


# -- streaming: summaries and the points plotted ------------------------------------


def reference_summary(values: np.ndarray) -> dict:
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "final": float(values[-1]),
        "argmax": int(values.argmax()),
        "mean": float(values.mean()),
        "sum": float(values.sum()),
        "sum_sq": float(np.dot(values, values)),
    }


def assert_summary(got: dict, ref: dict) -> None:
    exact = ("min", "max", "final", "argmax")
    assert {k: got[k] for k in exact} == {k: ref[k] for k in exact}
    for key in ("mean", "sum", "sum_sq"):
        assert got[key] == pytest.approx(ref[key], rel=1e-13)


JUMPY = lr.step(init=1, step_size=997, gamma=0.5) + lr.cyclic(base=0, peak=0.1, step_up=311, step_down=0)


@pytest.mark.parametrize("chunk", [1 << 20, 1 << 12, 1 << 6])  # columns inside chunks, and chunks inside columns
@pytest.mark.parametrize("steps", [8192, 8193, 100_003, 1_000_000])
def test_plotted_points_keep_every_columns_extremes_and_ends(monkeypatch, chunk, steps):
    from lrcore import _steps

    monkeypatch.setattr(_steps, "_CHUNK", chunk)
    stats, t, y = _scan(JUMPY, steps, columns=2048)
    values = JUMPY.array(steps)
    np.testing.assert_array_equal(y, values[t])  # every point drawn is the schedule's value
    assert t[0] == 0 and t[-1] == steps - 1 and (np.diff(t) > 0).all()
    if steps <= 4 * 2048:
        np.testing.assert_array_equal(t, np.arange(steps))  # small: every step
        return
    assert len(t) <= 4 * 2048
    # A picture drawn from the points covers, in every column, the range of all its steps:
    # each column's minimum and maximum (so every jump) is among the points.
    width = 1 << ((steps - 1) // 2048).bit_length()
    edges = np.arange(0, steps, width)
    col = t // width
    for name, reduce in (("min", np.minimum), ("max", np.maximum)):
        full = reduce.reduceat(values, edges)
        kept = np.full(len(edges), np.inf if name == "min" else -np.inf)
        reduce.at(kept, col, y)
        np.testing.assert_array_equal(kept, full)
    ref = reference_summary(values)
    assert_summary(stats, ref)


def test_summary_streams_in_chunks_of_bounded_memory():
    import tracemalloc

    s = lr.warmup(lr.cosine(init=0.1, steps=3_000_000), steps=1_000_000)
    steps = 4 * 2**20 + 17
    lr.summary(s, 2**20)  # compiled, caches filled
    tracemalloc.start()
    got = lr.summary(s, steps)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * 8 * 2**20  # a chunk or two of float64, not 8 bytes per step
    ref = reference_summary(s.array(steps))
    assert_summary(got, ref)
    small, ref = lr.summary(s, 1000), reference_summary(s.array(1000))
    assert small["sum_sq"] == pytest.approx(ref.pop("sum_sq"), rel=1e-15)
    assert {k: small[k] for k in ref} == ref  # one chunk: the same floats


def test_plot_of_many_steps_draws_few_points_of_the_exact_curve():
    ax = Figure().add_subplot()
    lr.plot(JUMPY, 3_000_000, ax=ax)
    (line,) = ax.get_lines()
    t, y = line.get_xdata(), line.get_ydata()
    assert len(t) <= 4 * 2048 and t[-1] == 2_999_999
    np.testing.assert_array_equal(y, JUMPY(t))


# -- the legend -------------------------------------------------------------------


def clear_of_axis_text(fig, ax, legend):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    box = legend.get_window_extent()
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    texts = [ax.xaxis.label, ax.yaxis.label, ax.title]
    texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
    for text in texts:
        assert not box.overlaps(text.get_window_extent()), text
    return box


LONG_KEYS = {
    "warmup over the first thousand steps, then a cosine decay to a tenth of the peak over nine thousand steps":
    WARMUP_COSINE,
    "a step decay halving the rate every thirty steps, for comparison with the smooth schedule drawn above": STEP,
}


def test_long_dict_keys_are_wrapped_into_a_legend_below_the_axes(tmp_path):
    ax = lr.plot(LONG_KEYS, 100, path=tmp_path / "lr.png")
    fig = ax.figure
    (legend,) = fig.legends
    assert [t.get_text().replace("\n", " ") for t in legend.get_texts()] == list(LONG_KEYS)
    box = clear_of_axis_text(fig, ax, legend)
    assert box.y1 <= ax.bbox.y0


def test_long_dict_keys_in_the_callers_axes_go_under_its_x_label():
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.add_subplot()
    lr.plot(LONG_KEYS, 100, ax=ax)
    legend = ax.get_legend()
    box = clear_of_axis_text(fig, ax, legend)
    assert box.y1 <= ax.xaxis.label.get_window_extent().y0


def test_long_keys_without_room_below_go_inside_the_callers_axes():
    fig = Figure(figsize=(8, 4.5))  # no layout engine: nothing makes room below
    ax = fig.add_subplot()
    lr.plot(LONG_KEYS, 100, ax=ax)
    box = clear_of_axis_text(fig, ax, ax.get_legend())
    assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1 and ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1


def test_a_legend_that_fits_nowhere_in_the_callers_figure_is_reported():
    ax = Figure(figsize=(3, 2)).add_subplot()
    with pytest.warns(UserWarning, match="plot: the legend of these long labels fits neither below the axes nor"):
        lr.plot(LONG_KEYS, 100, ax=ax)


def test_short_keys_keep_the_legend_inside_the_axes(tmp_path):
    ax = lr.plot({"a": WARMUP_COSINE, "b": STEP}, 100, path=tmp_path / "lr.png")
    box = clear_of_axis_text(ax.figure, ax, ax.get_legend())
    assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1 and ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1


def test_plot_without_steps_uses_the_natural_length():
    ax = lr.plot(lr.from_hf("cosine", 3e-4, num_warmup_steps=100, num_training_steps=5000), ax=Figure().add_subplot())
    assert ax.get_lines()[0].get_xdata()[-1] == 4999


# -- Jupyter --------------------------------------------------------------------------


def test_schedule_shows_its_plot_in_a_notebook(monkeypatch):
    import matplotlib.image
    import matplotlib.pyplot as plt
    from IPython.core.formatters import DisplayFormatter

    from lrcore import _plot

    seen = []
    scan = _plot.scan
    monkeypatch.setattr(_plot, "scan", lambda s, steps, **kw: seen.append(steps) or scan(s, steps, **kw))
    before = plt.get_fignums()
    s = lr.from_hf("cosine", 3e-4, num_warmup_steps=100, num_training_steps=5000)
    data, _ = DisplayFormatter().format(s)  # what IPython does with the value of a cell
    assert data["text/plain"] == repr(s)
    png = data["image/png"]
    assert png[:8] == PNG_MAGIC
    assert seen == [5000]  # the natural length
    assert plt.get_fignums() == before
    import io

    assert matplotlib.image.imread(io.BytesIO(png)).shape[:2] == (350, 700)


def test_notebook_plot_leaves_pyplot_alone_and_is_absent_without_matplotlib(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import lrcore as lr
        png = lr.cosine(init=0.1, steps=100)._repr_png_()
        print(png[:4] == b"\\x89PNG", "matplotlib.pyplot" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["True", "False"]
    blocked = 'import sys; sys.modules["matplotlib"] = None\n' + script.replace("png[:4] == b", "png is None, b")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split()[0] == "True"


def test_plot_to_a_path_writes_atomically(tmp_path, monkeypatch):
    """lr.plot(path=...) writes through the one atomic writer: a failed save leaves the old file as it
    was and no temporary file; a new file gets the usual permissions (not mkstemp's 0600)."""
    from matplotlib.figure import Figure

    s = lr.cosine(init=1.0, steps=100)
    target = tmp_path / "lr.png"
    target.write_bytes(b"old")

    def broken(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(Figure, "savefig", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            lr.plot(s, path=target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png"]

    lr.plot(s, path=target)
    assert target.read_bytes().startswith(b"\x89PNG")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    lr.plot(s, path=tmp_path / "lr.svg")
    assert (tmp_path / "lr.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png", "lr.svg"]


def test_plot_over_an_existing_file_keeps_its_mode_and_a_link_keeps_pointing(tmp_path):
    s = lr.cosine(init=1.0, steps=100)
    target = tmp_path / "lr.png"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    lr.plot(s, path=target)
    assert target.read_bytes().startswith(b"\x89PNG") and target.stat().st_mode & 0o777 == 0o640
    link = tmp_path / "latest.png"
    link.symlink_to(target)
    lr.plot(lr.linear(start=1.0, end=0.0, steps=10), path=link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.png", "lr.png"]


def test_a_schedule_that_jumps_is_drawn_as_steps_where_every_step_is_kept(monkeypatch) -> None:
    """Each value holds from its step to the next, as the optimizer uses it: a step decay's drop at
    t = 10 is vertical, not a slope from t = 9; a curve that cannot jump stays a line, and so does
    a long run drawn from its columns' extremes."""
    import matplotlib

    matplotlib.use("Agg")
    from lrcore import _plot

    decay = lr.step(init=1.0, step_size=10, gamma=0.5)
    ax = lr.plot({"decay": decay, "cosine": lr.cosine(init=1.0, steps=50)}, 50)
    styles = {line.get_label(): line.get_drawstyle() for line in ax.get_lines()}
    assert styles == {"decay": "steps-post", "cosine": "default"}
    path = ax.get_lines()[0].get_path().vertices  # the drawn corners: (10, 1) then (10, 0.5)
    assert [10.0, 1.0] in path.tolist() and [10.0, 0.5] in path.tolist()
    joined = lr.join([lr.constant(value=0.1), lr.cosine(init=0.2, steps=10)], boundaries=[5])
    assert lr.plot(joined, 20).get_lines()[0].get_drawstyle() == "steps-post"
    assert lr.plot(decay, 100_000).get_lines()[0].get_drawstyle() == "default"
    seen: list = []
    draw = _plot._draw
    monkeypatch.setattr(_plot, "_draw", lambda *a, **k: (seen.append(k["steps_drawn"]), draw(*a, **k)))
    assert decay._repr_png_() and seen == [{repr(decay)}]
