"""lr.plot: the lines drawn are the schedule's values; figures, labels, scales and files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrcore as lr

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

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
