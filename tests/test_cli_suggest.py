"""``python -m lrcore suggest``, run as a user would, in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docs_pages
import numpy as np
import pytest

import lrcore as lr
from lrcore._suggest import DEFAULT_METHOD, METHODS

N = 100
LRS = lr.range_test(start=1e-6, end=10.0, steps=N).array(N).tolist()
U = np.log10(LRS)
LOSSES = (2.0 - np.tanh((U + 3.0) / 0.5) + 3.0 * np.maximum(U + 1.0, 0.0) ** 2).tolist()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "lrcore", "suggest", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )


def write(path: Path, rows: list[tuple[float, float]], header: str | None = "lr,loss", sep: str = ",") -> Path:
    lines = ([header] if header is not None else []) + [f"{a!r}{sep}{b!r}" for a, b in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("header", "sep"), [("lr,loss", ","), (None, " "), ("# lr loss", "\t"), ("lr loss", "  ")])
def test_prints_the_suggestion_of_lr_suggest(tmp_path: Path, header: str | None, sep: str) -> None:
    write(tmp_path / "losses.csv", list(zip(LRS, LOSSES, strict=True)), header, sep)
    run = cli("losses.csv", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    s = lr.suggest(LRS, LOSSES)
    assert run.stdout == s.describe() + "\n"
    assert f"suggested lr {s.lr:.10g} (method {DEFAULT_METHOD})" in run.stdout and "points 10-99 of 100" in run.stdout
    assert f"peak {s.peak:.10g} for a one-cycle" in run.stdout and s.peak == 2 * s.lr


def test_method_smooth_diverge_and_the_plot(tmp_path: Path) -> None:
    losses = LOSSES[:80] + [float("nan")] * 20
    write(tmp_path / "losses.csv", list(zip(LRS, losses, strict=True)))
    run = cli("losses.csv", "--method", "steepest", "--smooth", "0.5", "-o", "finder.png", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    s = lr.suggest(LRS, losses, method="steepest", smooth=0.5)
    assert s.cut == "non-finite loss"
    assert run.stdout == s.describe() + "\nwrote finder.png\n"
    assert "cut at point 80 of 100 (a non-finite loss)" in run.stdout
    assert (tmp_path / "finder.png").stat().st_size > 5000
    rising = LOSSES[:90] + [LOSSES[89] * 10.0] * 10
    write(tmp_path / "losses.csv", list(zip(LRS, rising, strict=True)))
    for extra, cut in (((), "the smoothed loss diverged"), (("--diverge", "inf"), "not cut")):
        run = cli("losses.csv", "--method", "minimum", *extra, cwd=tmp_path)
        want = lr.suggest(LRS, rising, method="minimum", diverge=float("inf") if extra else 4.0)
        assert run.stdout == want.describe() + "\n" and cut in run.stdout


def test_a_loss_below_zero_warns_on_one_line_naming_the_flag(tmp_path: Path) -> None:
    write(tmp_path / "l.csv", [(a, b - 2.5) for a, b in zip(LRS, LOSSES, strict=True)])
    run = cli("l.csv", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stderr.startswith("lrcore: warning: suggest: the smoothed loss reached") and run.stderr.count("\n") == 1
    assert run.stderr.endswith("pass --diverge inf to say so\n") and "math.inf" not in run.stderr
    run = cli("l.csv", "--diverge", "inf", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""


def test_the_plot_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    write(tmp_path / "l.csv", ROWS)
    for mode in (0o600, 0o664):
        (tmp_path / "f.png").write_bytes(b"old")
        (tmp_path / "f.png").chmod(mode)
        run = cli("l.csv", "-o", "f.png", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert (tmp_path / "f.png").stat().st_mode & 0o777 == mode and (tmp_path / "f.png").stat().st_size > 5000
    (tmp_path / "new.png").unlink(missing_ok=True)
    run = subprocess.run(["bash", "-c", f"umask 027 && {sys.executable} -m lrcore suggest l.csv -o new.png"],
                         cwd=tmp_path, env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and (tmp_path / "new.png").stat().st_mode & 0o777 == 0o640  # a new file: the umask


def test_dev_zero_is_refused_without_reading_it(tmp_path: Path) -> None:
    """It used to read /dev/zero until memory ran out; here memory is capped at 2 GB and time at 120 s."""
    capped = (
        "import resource, runpy, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, resource.RLIM_INFINITY))\n"
        "sys.argv = ['lrcore', 'suggest', '/dev/zero']\n"
        "runpy.run_module('lrcore', run_name='__main__')\n"
    )
    run = subprocess.run([sys.executable, "-c", capped], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr == (
        "lrcore: error: /dev/zero: is not a regular file (a pipe or a device); save the record to a file first\n"
    )


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the command must not wait (120 s limit)."""
    os.mkfifo(tmp_path / "pipe")
    run = cli("pipe", cwd=tmp_path)
    assert run.returncode == 2 and "lrcore: error: pipe: is not a regular file (a pipe or a device)" in run.stderr


def test_a_long_junk_field_is_shown_short(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("lr,loss\n1e-5,2.0\n1e-4," + "x" * 10_000_000 + "\n")
    run = cli("f.csv", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and len(run.stderr) < 200, run.stderr[:300]
    assert "f.csv line 3: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (10000000 characters) is not a number" in run.stderr


def test_a_file_over_64_mib_is_refused(tmp_path: Path) -> None:
    with open(tmp_path / "big.csv", "wb") as f:
        f.truncate((64 << 20) + 1)
    run = cli("big.csv", cwd=tmp_path)
    assert run.returncode == 2 and "big.csv: is larger than 64 MiB" in run.stderr


ROWS = list(zip(LRS, LOSSES, strict=True))


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, (), "missing.csv: no such file"),
        ("", (), "f.csv: no (lr, loss) rows"),
        ("lr,loss\n\n# nothing\n", (), "f.csv: no (lr, loss) rows"),
        ("".join(f"{a!r}\n" for a in LRS), (), "f.csv line 1: expected 2 columns (lr, loss); got 1"),
        ("lr,loss\n1e-5,2.0\n1e-4,abc\n", (), "f.csv line 3: 'abc' is not a number"),
        ("lr,loss\nlr,loss\n", (), "f.csv line 2: 'lr' is not a number"),
        ("1e-5,1,2\n", (), "f.csv line 1: expected 2 columns (lr, loss); got 3"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS[:4]), (), "must leave at least 5 points to analyse"),
        ("".join(f"{-a!r},{b!r}\n" for a, b in ROWS), (), "f.csv: suggest: `lrs[0]` must be finite and > 0"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS[::-1]), (), "`lrs[1]` must be > lrs[0]=10.0"),
        ("".join(f"{a!r},nan\n" for a, _ in ROWS), (), "`losses` must hold at least one finite value"),
        (b"\xff\xfe\x00bin", (), "f.csv: not a text file"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS), ("--smooth", "1"), "suggest: `smooth` must be < 1"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS), ("--method", "steep"), "argument --method: invalid choice"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS), ("-o", "nofolder/f.png"), "`path` needs an existing folder"),
        ("".join(f"{a!r},{b!r}\n" for a, b in ROWS), ("-o", "f"), "`path` needs an extension"),
    ],
)
def test_bad_files_give_one_error_line_and_exit_2(tmp_path: Path, content: str | bytes | None, args: tuple,
                                                  message: str) -> None:
    name = "missing.csv" if content is None else "f.csv"
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    elif content is not None:
        (tmp_path / name).write_text(content)
    run = cli(name, *args, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("lrcore: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["f.csv"])


def test_a_folder_and_the_help(tmp_path: Path) -> None:
    run = cli(".", cwd=tmp_path)
    assert run.returncode == 2 and "is a folder" in run.stderr and run.stderr.count("\n") == 1
    run = cli("--help", cwd=tmp_path)
    assert run.returncode == 0 and f"--method {{{','.join(METHODS)}}}" in run.stdout
    assert f"(default: {DEFAULT_METHOD})" in run.stdout


def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    """Every block of the range test's guide, in order: the python blocks in one fresh process, each
    in a namespace of its own (so each needs nothing from another), then the shell one."""
    import re

    blocks = re.findall(r"```(python|bash)\n(.*?)```", docs_pages.page("guides/range-test.md"), flags=re.S)
    assert [kind for kind, _ in blocks] == ["python"] * 6 + ["bash"]
    driver = (
        "import sys\n"
        "for code in sys.argv[1:]:\n"
        "    exec(compile(code, '<docs/guides/range-test.md>', 'exec'), {'__name__': '__main__'})\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", MPLBACKEND="Agg")
    python = [code for kind, code in blocks if kind == "python"]
    run = subprocess.run([sys.executable, "-c", driver, *python], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("suggested lr ")  # the torch block's print
    shell = blocks[-1][1].replace("python ", f"{sys.executable} ")
    run = subprocess.run(["bash", "-euc", shell], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "finder.png").stat().st_size > 5000 and (tmp_path / "losses.csv").exists()
    assert "suggested lr" in run.stdout and "method minimum" in run.stdout
