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


def summaries(stdout: str) -> tuple[list[tuple[str, int, dict[str, float]]], str]:
    """The (label, steps, stats) blocks of `plot`'s output and the path after 'wrote'."""
    *blocks, last = stdout.strip().split("\n\n")
    assert last.startswith("wrote ")
    out = []
    for block in blocks:
        fields = dict(line.split(None, 1) for line in block.splitlines())
        assert list(fields) == ["schedule", "steps", *SUMMARY_KEYS]
        steps = int(fields["steps"].split()[0])
        assert fields["steps"] == f"{steps} (t = 0 ... {steps - 1})"
        stats = {k: (int(fields[k]) if k == "argmax" else float(fields[k])) for k in SUMMARY_KEYS}
        out.append((fields["schedule"], steps, stats))
    return out, last.removeprefix("wrote ")


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
    assert blocks == [(repr(s), 1000, lr.summary(s, 1000))]  # printed with repr: the floats are exact
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
    steps = 400  # the largest finite horizon of the three
    blocks, written = summaries(done.stdout)
    assert blocks == [(repr(s), steps, lr.summary(s, steps)) for s in schedules]
    assert written == "cmp.png"
    assert_png(tmp_path / "cmp.png")


def test_plot_log_scale_to_svg_with_given_steps(tmp_path):
    done = run(tmp_path, "plot", README_SPEC, "--steps", "12000", "--log", "-o", "lr.svg")
    assert done.returncode == 0, done.stderr
    s = lr.parse(README_SPEC)
    blocks, written = summaries(done.stdout)
    assert blocks == [(repr(s), 12000, lr.summary(s, 12000))]
    assert written == "lr.svg"
    text = (tmp_path / "lr.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_plot_in_process_numbers_repeated_labels_and_steps_forms(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    spec = "linear(start=0.1, end=0.01, steps=50)"
    assert main(["plot", spec, "--compare", spec, "--steps", "1e2", "-o", "twice.png"]) == 0
    blocks, _ = summaries(capsys.readouterr().out)
    s = lr.parse(spec)
    assert blocks == [(repr(s), 100, lr.summary(s, 100)), (f"{s!r} [2]", 100, lr.summary(s, 100))]
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
    # A periodic schedule has no horizon: 1000 steps by default.
    spec = "cyclic(base=0.01, peak=0.1, step_up=40)"
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
    (["table", "constant(value=1)" + "+1" * 5000], "nested too deeply"),
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
