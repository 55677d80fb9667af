"""`python -m lrcore plot|table`: printed numbers equal the library's, files are valid, bad input fails cleanly."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import docs_pages
import numpy as np
import pytest

import lrcore as lr
from lrcore.__main__ import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEFAULT_SPEC = "warmup(cosine(init=0.1, steps=900, final=0.001), steps=100)"
README_SPEC = "warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)"
SUMMARY_KEYS = ["min", "max", "final", "argmax", "mean", "sum", "sum_sq"]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrcore", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def summaries(stdout: str) -> tuple[list[tuple[str, int, dict[str, str]]], str]:
    """The (schedule, steps, printed stats) blocks of `plot`'s output and the path after 'wrote'."""
    *blocks, last = stdout.strip().split("\n\n")
    assert last.startswith("wrote ")
    out = []
    for block in blocks:
        fields = dict(line.split(None, 1) for line in block.splitlines())
        assert list(fields) == ["schedule", "steps", *SUMMARY_KEYS]
        steps = int(fields["steps"].split()[0])
        assert fields["steps"] == f"{steps} (t = 0 ... {steps - 1})"
        out.append((fields["schedule"], steps, {k: fields[k] for k in SUMMARY_KEYS}))
    return out, last.removeprefix("wrote ")


def printed(s: lr.Schedule, steps: int) -> dict[str, str]:
    """lr.summary(s, steps) as the command line prints it: 10 significant digits."""
    return {k: str(v) if k == "argmax" else format(v, ".10g") for k, v in lr.summary(s, steps).items()}


def assert_png(path: Path) -> None:
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert 5_000 < len(data) < 100_000
    assert matplotlib.image.imread(path).shape[:2] == (450, 800)


# -- plot -------------------------------------------------------------------------


def test_plot_with_no_spec_draws_the_default_schedule(tmp_path):
    done = run(tmp_path, "plot")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    blocks, written = summaries(done.stdout)
    s = lr.parse(DEFAULT_SPEC)
    assert blocks == [(repr(s), 1000, printed(s, 1000))]
    assert written == "lr.png"
    assert_png(tmp_path / "lr.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png"]  # no temporary file left


def test_plot_json_spec_with_compare_prints_every_summary(tmp_path):
    saved = lr.one_cycle(peak=0.1, steps=400)
    (tmp_path / "one_cycle.json").write_text(saved.to_json())
    others = ["cosine(init=0.1, steps=300)", "step(init=0.1, step_size=100) * 0.5"]
    done = run(tmp_path, "plot", "one_cycle.json", "--compare", *others, "-o", "cmp.png")
    assert done.returncode == 0, done.stderr
    schedules = [saved, *map(lr.parse, others)]
    steps = 400  # the largest length stated: a step decay states none
    blocks, written = summaries(done.stdout)
    assert blocks == [(repr(s), steps, printed(s, steps)) for s in schedules]
    assert written == "cmp.png"
    assert_png(tmp_path / "cmp.png")


def test_plot_log_scale_to_svg_with_given_steps(tmp_path):
    done = run(tmp_path, "plot", README_SPEC, "--steps", "12000", "--log", "-o", "lr.svg")
    assert done.returncode == 0, done.stderr
    s = lr.parse(README_SPEC)
    blocks, written = summaries(done.stdout)
    assert blocks == [(repr(s), 12000, printed(s, 12000))]
    assert written == "lr.svg"
    text = (tmp_path / "lr.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_plot_in_process_numbers_repeated_labels_and_steps_forms(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    spec = "linear(start=0.1, end=0.01, steps=50)"
    assert main(["plot", spec, "--compare", spec, "--steps", "1e2", "-o", "twice.png"]) == 0
    blocks, _ = summaries(capsys.readouterr().out)
    s = lr.parse(spec)
    assert blocks == [(repr(s), 100, printed(s, 100))] * 2  # the legend labels differ: [2]
    assert_png(tmp_path / "twice.png")
    assert main(["plot", spec, "--steps", "1_000", "-o", "sub.png"]) == 0
    assert summaries(capsys.readouterr().out)[0][0][1] == 1000


def test_plot_replaces_an_existing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lr.png").write_bytes(b"old")
    assert main(["plot", "constant(value=0.1)"]) == 0
    assert summaries(capsys.readouterr().out)[0][0][1] == 1000  # a constant never changes: no horizon to show
    assert_png(tmp_path / "lr.png")


# -- table ------------------------------------------------------------------------


def test_table_csv_from_a_json_file_matches_array_exactly(tmp_path):
    s = lr.warmup(lr.cosine_restarts(init=0.1, period=37.5, period_mult=1.5, final=1e-4), steps=13)
    (tmp_path / "s.json").write_text(s.to_json(indent=2))
    done = run(tmp_path, "table", "s.json", "--steps", "500", "--every", "7", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["t", "lr"]
    ts = [int(t) for t, _ in rows[1:]]
    assert ts == [*range(0, 500, 7), 499]  # every 7th step, then the last one
    values = s.array(500)
    assert [float(v) for _, v in rows[1:]] == values[ts].tolist()


def test_table_json_matches_array_exactly(tmp_path):
    spec = "one_cycle(peak=0.1, steps=997, anneal='linear', three_phase=True)"
    done = run(tmp_path, "table", spec, "--steps", "1000", "--every", "100", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    s = lr.parse(spec)
    assert lr.from_dict(data["schedule"]) == s
    assert data["steps"] == 1000
    assert data["t"] == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999]
    assert data["lr"] == s.array(1000)[data["t"]].tolist()


def test_table_text_defaults_to_the_horizon_rounded_up(tmp_path):
    spec = "linear(start=1, end=0.25, steps=10.5)"
    done = run(tmp_path, "table", spec)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["t", "lr"]
    ts = [int(row.split()[0]) for row in rows]
    assert ts == list(range(11))  # horizon 10.5 -> 11 steps, every step
    values = lr.parse(spec).array(11)
    for row, v in zip(rows, values, strict=True):
        assert math.isclose(float(row.split()[1]), v, rel_tol=1e-9)


def test_table_in_process_every_larger_than_steps_and_no_horizon(capsys):
    assert main(["table", "constant(value=0.5)", "--steps", "5", "--every", "100", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "t,lr\n0,0.5\n4,0.5\n"
    # A step decay states no length: 1000 steps by default.
    spec = "step(init=0.1, step_size=40)"
    assert main(["table", spec, "--every", "250", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["t"] == [0, 250, 500, 750, 999]
    assert data["lr"] == lr.parse(spec).array(1000)[data["t"]].tolist()


def test_table_in_process_inline_json(capsys):
    s = lr.exponential(init=0.1, gamma=0.9, every=3, staircase=True)
    assert main(["table", s.to_json(), "--steps", "10", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [float(r.split(",")[1]) for r in rows] == s.array(10).tolist()


def test_table_converter_spec_goes_through_parse(tmp_path):
    spec = 'from_torch("StepLR", 0.1, step_size=10)'
    done = run(tmp_path, "table", spec, "--steps", "35", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.splitlines()[1:]]
    assert [int(t) for t, _ in rows] == list(range(35))
    assert [float(v) for _, v in rows] == lr.parse(spec).array(35).tolist()


# -- help -------------------------------------------------------------------------


def test_plot_help_exits_0_and_documents_every_option(tmp_path):
    done = run(tmp_path, "plot", "--help")
    assert done.returncode == 0
    assert done.stderr == ""
    for word in ["SPEC", "--steps", "-o", "--output", "--compare", "--log", "examples:", "lr.summary", "JSON"]:
        assert word in done.stdout, word
    assert "python -m lrcore plot" in done.stdout


def test_table_and_top_level_help_document_every_option(capsys):
    assert main(["table", "--help"]) == 0
    text = capsys.readouterr().out
    for word in ["SPEC", "--steps", "--every", "--format", "text", "csv", "json", "examples:", "N-1"]:
        assert word in text, word
    assert "python -m lrcore table" in text
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "plot" in text and "table" in text and "examples:" in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lrcore {lr.__version__}"


def test_console_script_is_main():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "lrcore"]
    assert script.value == "lrcore.__main__:main"
    assert script.load() is main


# -- bad input --------------------------------------------------------------------

BAD_INPUT = [
    (["plot", "cosine(init=0.1, steps=100"], "never closed"),
    (["plot", "cosin(init=0.1, steps=100)"], "unknown name 'cosin'"),
    (["plot", "cosine(init=0.1, steps=0)"], "cosine: `steps` must be > 0; got steps=0"),
    (["plot", "cosine(init=0.1, stepz=100)"], "stepz"),
    (["plot", "cosine(init=0.1, steps=100)", "--compare", "nope(1)"], "unknown name 'nope'"),
    (["plot", "--steps", "0"], "--steps: must be a whole number > 0; got '0'"),
    (["plot", "--steps", "-5"], "--steps: must be a whole number > 0; got '-5'"),
    (["plot", "--steps", "2.5"], "--steps: must be a whole number > 0; got '2.5'"),
    (["table", "constant(value=1)", "--steps", "ten"], "--steps: must be a whole number > 0; got 'ten'"),
    (["table", "constant(value=1)", "--every", "0"], "--every: must be a whole number > 0; got '0'"),
    (["table", "constant(value=1)", "--format", "xml"], "invalid choice: 'xml'"),
    (["table"], "required: SPEC"),
    ([], "choose a command"),
    (["plot", "--bogus"], "unrecognized arguments: --bogus"),
    (["plot", "-o", "no_such_folder/lr.png"], "the folder 'no_such_folder' does not exist"),
    (["plot", "-o", "."], "is a folder"),
    (["plot", "-o", "lr"], "needs an extension"),
    (["plot", "-o", "lr.xyz"], "Format 'xyz' is not supported"),
    (["plot", "missing.json"], "SPEC 'missing.json': no such file"),
    (["table", "malformed.json"], "malformed.json: from_json: malformed JSON"),
    (["table", "unknown_kind.json"], "from_dict: unknown schedule kind 'cosin'"),
    (["table", "a_list.json"], "from_dict: expected a dict"),
    (["table", "folder"], "is a folder, not a JSON file"),
    (["table", '{"kind": "cosine", "init": 0.1'], "from_json: malformed JSON"),
    (["table", "constant(value=1)" + "+1" * 5000], "nest"),
]


def write_bad_inputs(folder: Path) -> set[str]:
    (folder / "malformed.json").write_text('{"kind": "cosine", "init": ')
    (folder / "unknown_kind.json").write_text('{"kind": "cosin", "init": 1, "steps": 10}')
    (folder / "a_list.json").write_text("[1, 2]")
    (folder / "folder").mkdir()
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=[" ".join(a)[:40] for a, _ in BAD_INPUT])
def test_bad_input_fails_with_one_line_and_writes_nothing(argv, message, tmp_path, monkeypatch, capsys):
    before = write_bad_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("lrcore: error: ")
    assert message in lines[0]
    assert {p.name for p in tmp_path.iterdir()} == before  # no image, no temporary file


@pytest.mark.parametrize(
    "argv",
    [["plot", "cosine(init=0.1, steps="], ["plot", "--steps", "-5"], ["table", "missing.json"]],
)
def test_bad_input_exit_status_of_the_process(argv, tmp_path):
    done = run(tmp_path, *argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("lrcore: error: ")
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_fails_cleanly(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if matplotlib were not installed
        from lrcore.__main__ import main
        raise SystemExit(main(["plot", "-o", "lr.png"]))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "lrcore: error: lrcore.plot needs matplotlib: pip install 'lrcore[plot]'\n"
    assert list(tmp_path.iterdir()) == []


def test_written_values_are_the_float64_schedule_values():
    # The exact comparison above relies on repr round-tripping float64: guard that assumption.
    values = lr.parse(DEFAULT_SPEC).array(1000)
    assert [float(repr(v)) for v in values.tolist()] == values.tolist()
    assert np.array_equal(np.array([float(repr(v)) for v in values.tolist()]), values)


# -- default length (the schedule's natural length) -------------------------------

# Each SPEC with the number of steps it states, worked out by hand from its arguments.
NATURAL_LENGTHS = [
    # HF's cosine is periodic (no horizon): the 100 warmup steps plus its 4900 decay steps.
    ("from_hf('cosine', 3e-4, num_warmup_steps=100, num_training_steps=5000)", 5000),
    ("from_torch('CosineAnnealingLR', 0.1, T_max=300)", 300),  # one period
    ("from_torch('CyclicLR', 0.1, base_lr=0.01, max_lr=0.1, step_size_up=200, step_size_down=50)", 250),
    ("from_timm('CosineLRScheduler', 0.1, t_initial=400, warmup_t=20)", 400),  # a horizon
    ("warmup(cosine_restarts(init=0.1, period=70), steps=30)", 100),
    ("shift(polynomial(init=1, end=0, steps=90, cycle=True), 40)", 50),
    ("linear(start=1, end=0.25, steps=10.5)", 11),  # a horizon, rounded up
    ("warmup(step(init=0.1, step_size=30), steps=50)", 1050),  # nothing stated after the warmup
    ("step(init=0.1, step_size=30)", 1000),  # nothing stated at all
    ("constant(value=0.5)", 1000),
]


def test_plot_and_table_default_to_the_natural_length(tmp_path):
    script = textwrap.dedent(
        """
        import contextlib, io, json, sys
        from lrcore.__main__ import main
        for spec in json.loads(sys.argv[1]):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["table", spec, "--every", "10000000", "--format", "json"]) == 0
            table = json.loads(out.getvalue())["steps"]
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["plot", spec, "-o", "lr.png"]) == 0
            (plot,) = [int(line.split()[1]) for line in out.getvalue().splitlines() if line.startswith("steps ")]
            print(table, plot)
        """
    )
    specs = [spec for spec, _ in NATURAL_LENGTHS]
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(specs)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    got = [tuple(map(int, line.split())) for line in done.stdout.splitlines()]
    assert got == [(n, n) for _, n in NATURAL_LENGTHS]


def test_hf_cosine_default_length_is_hf_training_length(tmp_path):
    # The real HF schedule over its num_training_steps, against the table printed with no --steps.
    import torch
    from transformers import get_cosine_schedule_with_warmup

    done = run(
        tmp_path,
        "table",
        "from_hf('cosine', 3e-4, num_warmup_steps=100, num_training_steps=5000)",
        "--every",
        "250",
        "--format",
        "csv",
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.splitlines()[1:]]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=100, num_training_steps=5000)
    hf = [3e-4 * sched.lr_lambdas[0](t) for t in range(5000)]
    assert [int(t) for t, _ in rows] == [*range(0, 5000, 250), 4999]
    for t, v in rows:
        assert math.isclose(float(v), hf[int(t)], rel_tol=1e-12, abs_tol=1e-18)


def test_plot_refuses_a_huge_natural_length_without_steps(tmp_path):
    done = run(tmp_path, "plot", "linear(start=1, end=0, steps=1e12)")
    assert done.returncode == 2
    assert done.stderr == (
        "lrcore: error: the SPEC states 1,000,000,000,000 steps, more than plot draws by default "
        "(1,000,000,000); give --steps N\n"
    )
    assert list(tmp_path.iterdir()) == []


# -- numbers for people -------------------------------------------------------------


def test_summary_prints_at_most_10_significant_digits(tmp_path):
    linear, constant, cosine = "linear(start=0.1, end=0, steps=30)", "constant(value=0.1)", "cosine(init=0.1, steps=30)"
    done = run(tmp_path, "plot", linear, "--compare", constant, cosine, "--steps", "30")
    assert done.returncode == 0, done.stderr
    blocks, _ = summaries(done.stdout)
    # float64 gives min 0.0033333333333333335, sum 3.000000000000001 and 1.5499999999999998 here.
    assert lr.summary(lr.parse(linear), 30)["min"] == 0.0033333333333333335
    assert blocks[0][2]["min"] == "0.003333333333"
    assert blocks[0][2]["sum"] == "1.55"
    assert lr.summary(lr.parse(constant), 30)["sum"] == 3.000000000000001
    assert (blocks[1][2]["sum"], blocks[1][2]["mean"], blocks[1][2]["max"]) == ("3", "0.1", "0.1")
    assert lr.summary(lr.parse(cosine), 30)["sum"] == 1.5499999999999998
    assert blocks[2][2]["sum"] == "1.55"
    assert blocks[2][2]["argmax"] == "0"
    for _, _, stats in blocks:
        for key, text in stats.items():
            digits = text.split("e")[0].replace(".", "").replace("-", "").lstrip("0")
            assert len(digits) <= 10, (key, text)


# -- work proportional to the output ----------------------------------------------

COUNTING = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import lrcore as lr
    from lrcore.__main__ import main

    evaluated = 0
    array, call = lr.Schedule.array, lr.Schedule.__call__

    def counted_array(self, n, **kw):
        global evaluated
        evaluated += n
        return array(self, n, **kw)

    def counted_call(self, t):
        global evaluated
        evaluated += np.size(t)
        return call(self, t)

    lr.Schedule.array, lr.Schedule.__call__ = counted_array, counted_call
    status = main(json.loads(sys.argv[1]))
    print(json.dumps({"status": status, "evaluated": evaluated}), file=sys.stderr)
    """
)


def count_evaluations(tmp_path: Path, *argv: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, json.dumps(argv)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    report = json.loads(done.stderr.splitlines()[-1])
    assert report["status"] == 0, done.stderr
    return done.stdout, report["evaluated"]


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_table_evaluates_only_the_rows_shown(tmp_path, fmt):
    spec = "cosine(init=0.1, steps=1e11)"
    out, evaluated = count_evaluations(tmp_path, "table", spec, "--steps", "10**11", "--every", "1e10", "--format", fmt)
    assert evaluated == 10 + 1  # t = 0, 1e10, ..., 9e10 and the last step
    s = lr.parse(spec)
    ts = [*range(0, 10**11, 10**10), 10**11 - 1]
    if fmt == "json":
        data = json.loads(out)
        assert data["t"] == ts and data["steps"] == 10**11
        assert data["lr"] == [s(t) for t in ts]  # full precision
    elif fmt == "csv":
        assert out.splitlines()[1:] == [f"{t},{s(t)!r}" for t in ts]
    else:
        assert [line.split() for line in out.splitlines()[1:]] == [[str(t), format(s(t), ".10g")] for t in ts]


def test_table_with_a_huge_step_count_returns_at_once(tmp_path):
    # 2**53 steps would take years at any speed; 100 rows of them take no time.
    spec = f"linear(start=1, end=0, steps={2**53})"
    done = run(tmp_path, "table", spec, "--steps", "2**53", "--every", "2**46")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()[1:]
    assert len(rows) == 129
    assert rows[-1].split() == [str(2**53 - 1), format(lr.linear(start=1, end=0, steps=2**53)(2**53 - 1), ".10g")]


def test_plot_evaluates_each_step_once_for_curve_and_summary(tmp_path):
    steps = 3 * 2**20 + 5
    out, evaluated = count_evaluations(
        tmp_path, "plot", "cosine(init=1, steps=1e6)", "--compare", "step(init=1, step_size=1e5)", "--steps", str(steps)
    )
    assert evaluated == 2 * steps
    blocks, _ = summaries(out)
    assert [b[2] for b in blocks] == [printed(lr.parse(spec), steps) for spec in ("cosine(init=1, steps=1e6)",
                                                                                 "step(init=1, step_size=1e5)")]


def test_plot_of_many_steps_stays_in_bounded_memory(tmp_path):
    # Drawing every step costs about 77 bytes per step (1.5 GB here); chunks and columns stay small.
    steps = 2 * 10**7
    # numba's compiler needs far more memory than the plot: a first, shorter run of the same
    # command compiles the array kernels (parallel and serial), so the measured run loads them
    # from the cache as any later run does.
    warm = ["plot", "warmup(cosine(init=0.1, steps=1.8e7), steps=2e6)", "--steps", str((1 << 20) + 4321)]
    first = subprocess.run(
        [sys.executable, "-c", f"from lrcore.__main__ import main; assert main({warm!r}) == 0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert first.returncode == 0, first.stderr
    script = textwrap.dedent(
        f"""
        from lrcore.__main__ import main
        assert main(["plot", "warmup(cosine(init=0.1, steps=1.8e7), steps=2e6)", "--steps", "{steps}"]) == 0
        # This process's own peak (VmHWM, in KiB): getrusage's ru_maxrss would also count the
        # parent's resident memory at the fork (Linux carries it across exec), the test runner's.
        print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak_mib = int(done.stdout.splitlines()[-1]) / 1024
    assert peak_mib < 500
    assert_png(tmp_path / "lr.png")


# -- the legend ---------------------------------------------------------------------

LEGEND_BOXES = textwrap.dedent(
    """
    import json, sys
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from lrcore.__main__ import main

    boxes = {}
    save = Figure.savefig

    def measured_savefig(fig, *args, **kwargs):
        save(fig, *args, **kwargs)
        FigureCanvasAgg(fig).draw()  # the layout as saved, measured by matplotlib itself
        (ax,) = fig.axes
        legend = fig.legends[0] if fig.legends else ax.get_legend()
        extent = lambda artist: list(artist.get_window_extent().bounds)
        ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
        boxes.update(
            figure=extent(fig),
            legend=extent(legend),
            axes=extent(ax),
            labels=[extent(ax.xaxis.label), extent(ax.yaxis.label), extent(ax.title)],
            ticks=[extent(t) for t in ticks],
            texts=[t.get_text() for t in legend.get_texts()],
        )

    Figure.savefig = measured_savefig
    status = main(json.loads(sys.argv[1]))
    print(json.dumps(boxes))
    sys.exit(status)
    """
)

LONG_SPECS = [
    "from_hf('cosine_with_restarts', 3e-4, num_warmup_steps=100, num_training_steps=5000, num_cycles=3)",
    "from_torch('OneCycleLR', 0.1, max_lr=3e-4, total_steps=5000, pct_start=0.25, anneal_strategy='linear', "
    "div_factor=10.0, final_div_factor=100.0, three_phase=True)",
    "warmup(cosine(init=3e-4, steps=4900, final=1e-6), steps=100, shape='cosine') * step(init=1.0, step_size=1000)",
]


def overlaps(a: list[float], b: list[float]) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def inside(a: list[float], b: list[float]) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return bx <= ax and by <= ay and ax + aw <= bx + bw and ay + ah <= by + bh


def legend_boxes(tmp_path: Path, *argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LEGEND_BOXES, json.dumps(argv)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def assert_legend_clear(boxes: dict) -> None:
    assert inside(boxes["legend"], boxes["figure"])
    for box in boxes["labels"] + boxes["ticks"]:
        assert not overlaps(boxes["legend"], box), box


@pytest.mark.parametrize("log", [False, True])
def test_compare_legend_shows_the_specs_as_typed_below_the_axes(tmp_path, log):
    argv = ["plot", LONG_SPECS[0], "--compare", *LONG_SPECS[1:], *(["--log"] if log else [])]
    boxes = legend_boxes(tmp_path, *argv)
    # The text typed, wrapped (not the expanded repr), each label at most 3 lines of 70 characters.
    assert [" ".join(t.split("\n")) for t in boxes["texts"]] == LONG_SPECS
    assert all(len(line) <= 70 for t in boxes["texts"] for line in t.split("\n"))
    assert_legend_clear(boxes)
    assert boxes["legend"][1] + boxes["legend"][3] <= boxes["axes"][1]  # below the axes
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "lr.png").shape[:2] == (round(boxes["figure"][3]), 800)


def test_short_legend_stays_inside_the_axes(tmp_path):
    specs = ["cosine(init=0.1, steps=900)", "linear(start=0.1, end=0, steps=900)"]
    boxes = legend_boxes(tmp_path, "plot", specs[0], "--compare", specs[1])
    assert boxes["texts"] == specs
    assert inside(boxes["legend"], boxes["axes"])
    assert_legend_clear(boxes)


def test_a_legend_taller_than_the_figure_allows_makes_the_figure_taller(tmp_path):
    specs = [f"{spec} * {k}" for k in (1, 2, 3) for spec in LONG_SPECS]
    boxes = legend_boxes(tmp_path, "plot", specs[0], "--compare", *specs[1:], "-o", "tall.png")
    assert len(boxes["texts"]) == 9
    assert_legend_clear(boxes)
    width, height = boxes["figure"][2:]
    assert (width, height) == (800, pytest.approx(height)) and height > 450
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "tall.png").shape[:2] == (round(height), 800)


# -- never a traceback ------------------------------------------------------------


def nested_json(depth: int) -> str:
    data: dict = {"kind": "constant", "value": 1}
    for _ in range(depth):
        data = {"kind": "scale", "schedule": data, "factor": 1}
    return json.dumps(data)


HOSTILE = [
    ("deep.json", "deep.json"),
    (" + ".join(["constant(value=1)"] * 300), "constant(value=1) + constant(value=1)"),
    ("constant(value=" + "-" * 10000 + "1)", "constant(value=---"),
    ("constant(value=1)" + " * 0.5" * 3000, "constant(value=1)"),
    ("(" * 100000, "'((((("),
    ("[" * 100000, "'[[[[["),
    ("constant(value=1e400)", "value"),
    ("constant(value=10**400)", "10**400"),
]


@pytest.mark.parametrize("command", ["plot", "table"])
@pytest.mark.parametrize(("spec", "named"), HOSTILE, ids=[h[1][:20] for h in HOSTILE])
def test_hostile_spec_is_one_error_line_naming_it(tmp_path, command, spec, named):
    (tmp_path / "deep.json").write_text(nested_json(400))
    done = run(tmp_path, command, spec, "--steps", "10")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("lrcore: error: ") and done.stderr.count("\n") == 1, done.stderr[:500]
    assert named in done.stderr
    assert "--steps" not in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.json"]


FAILING = textwrap.dedent(
    """
    import json, sys
    import lrcore as lr
    from lrcore.__main__ import main

    error = {"MemoryError": MemoryError, "RecursionError": RecursionError, "OverflowError": OverflowError}[sys.argv[1]]

    def fail(*args, **kwargs):
        raise error("raised on purpose")

    where = sys.argv[2]
    setattr(lr.Schedule, where, property(fail) if where == "horizon" else fail)
    sys.exit(main(json.loads(sys.argv[3])))
    """
)


@pytest.mark.parametrize("error", ["MemoryError", "RecursionError", "OverflowError"])
@pytest.mark.parametrize(
    ("where", "argv"),
    [
        ("array", ["plot", "cosine(init=0.1, steps=10)", "--compare", "linear(start=1, end=0, steps=5)"]),
        ("__call__", ["table", "cosine(init=0.1, steps=10)", "--format", "csv"]),
        ("__repr__", ["plot", "linear(start=1, end=0, steps=5)", "--steps", "50"]),
        ("to_dict", ["table", "linear(start=1, end=0, steps=5)", "--format", "json"]),
        ("horizon", ["plot", "linear(start=1, end=0, steps=5)"]),
    ],
)
def test_memory_recursion_and_overflow_errors_anywhere_are_one_line(tmp_path, error, where, argv):
    done = subprocess.run(
        [sys.executable, "-c", FAILING, error, where, json.dumps(argv)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("lrcore: error: SPEC '"), done.stderr
    assert "--steps" not in done.stderr and "Traceback" not in done.stderr
    assert argv[1][:20] in done.stderr  # names the SPEC that failed
    assert list(tmp_path.iterdir()) == []


def test_interrupt_is_one_line_and_status_130(tmp_path):
    script = FAILING.replace('error = {"MemoryError"', 'error = {"KeyboardInterrupt": KeyboardInterrupt, "MemoryError"')
    done = subprocess.run(
        [sys.executable, "-c", script, "KeyboardInterrupt", "array", json.dumps(["plot"])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "lrcore: interrupted\n")


# -- the docs' speed table is the bench's output -------------------------------


def load_bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", Path(__file__).parent.parent / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_words_ratios_from_lrcores_side():
    bench = load_bench()
    assert bench.versus(1.0, 1.7) == "lrcore 1.7× faster"
    assert bench.versus(1.7, 1.0) == "lrcore 1.7× slower"  # not "0.6× faster"
    assert bench.versus(1.0, 1.02, "lrcore float32") == "lrcore float32 about as fast"


def test_bench_docs_rewrites_only_between_its_markers(tmp_path):
    bench = load_bench()
    text = bench.PAGE.read_text()
    assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1
    copy = tmp_path / "evaluation.md"
    copy.write_text(f"before\n{bench.BEGIN}\nold table\n{bench.END}\nafter\n")
    bench.rewrite_between(copy, "| new | table |")
    assert copy.read_text() == f"before\n{bench.BEGIN}\n| new | table |\n{bench.END}\nafter\n"
    copy.write_text("no markers\n")
    with pytest.raises(SystemExit, match="needs exactly one pair of markers"):
        bench.rewrite_between(copy, "| new | table |")


def test_the_guide_commands_run_as_written(tmp_path):
    """The command line guide's block, line by line, with the schedule.json it names written first."""
    (block,) = docs_pages.blocks(docs_pages.page("guides/cli.md"), "bash")
    (tmp_path / "schedule.json").write_text(lr.cosine(init=0.1, steps=100).to_json())
    commands = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    assert len(commands) == 4 and all(c.startswith("python -m lrcore ") for c in commands)
    for command in commands:
        done = subprocess.run(["bash", "-c", command.replace("python ", f"{sys.executable} ", 1)], cwd=tmp_path,
                              env={**__import__("os").environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0 and not done.stderr, (command, done.stderr[-2000:])
    assert (tmp_path / "lr.png").stat().st_size > 5000 and (tmp_path / "lr.svg").stat().st_size > 5000
    rows = list(csv.reader(io.StringIO(done.stdout)))
    s = lr.from_torch("OneCycleLR", 0.1, max_lr=0.1, total_steps=1000)
    ts = [int(t) for t, _ in rows[1:]]
    assert rows[0] == ["t", "lr"] and ts[:10] == list(range(0, 1000, 100))  # then the last step
    assert [float(v) for _, v in rows[1:]] == [s(t) for t in ts]
