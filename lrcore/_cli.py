"""The command line: ``python -m lrcore plot|table`` (also installed as ``lrcore``).

A SPEC is a schedule expression read by ``lr.parse`` or a JSON file written by
``Schedule.to_json``.  Every mistake in the input ends the program with exit
status 2 and one line ``lrcore: error: …`` on stderr, and writes no file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__
from ._parse import parse
from ._schedule import Schedule, from_json
from ._tools import plot, summary

DEFAULT_SPEC = "warmup(cosine(init=0.1, steps=900, final=0.001), steps=100)"
DEFAULT_STEPS = 1000  # when no schedule in the command has a finite horizon
SUMMARY_KEYS = ("min", "max", "final", "argmax", "mean", "sum", "sum_sq")
_CHUNK = 1 << 20  # values computed at a time by `table`

SPEC_HELP = """\
SPEC is either a schedule expression, the form repr(schedule) prints, such as
  "warmup(cosine(init=0.1, steps=900), steps=100)"   "step(init=0.1, step_size=30) * 0.5"
  "from_torch('OneCycleLR', 0.1, max_lr=0.1, total_steps=1000)"
or the path of a JSON file written by schedule.to_json() (or inline JSON text
starting with '{'). An existing file wins; text without '(' is taken as a path.

--steps N covers t = 0 ... N-1 (t = optimizer updates already applied). By
default N is the schedule's horizon rounded up (the step from which its value
no longer changes; the largest one with --compare), or 1000 when it has none
(a periodic schedule) or it is 0 (a constant)."""

PLOT_EPILOG = f"""\
{SPEC_HELP}

Printed for each schedule, exactly as lr.summary(schedule, N) returns them:
min, max, final (the value at t = N-1), argmax (the first t of the max), mean,
sum (the sum of the rates, the total step budget) and sum_sq (the sum of their
squares); then the path written. Without SPEC the default schedule is plotted:
  {DEFAULT_SPEC}

examples:
  python -m lrcore plot
  python -m lrcore plot "warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)" --steps 10000 -o lr.png
  python -m lrcore plot "cosine(init=0.1, steps=1000)" --compare "linear(start=0.1, end=0, steps=1000)" \\
      "step(init=0.1, step_size=300, gamma=0.3)"
  python -m lrcore plot schedule.json --log -o lr.svg"""

TABLE_EPILOG = f"""\
{SPEC_HELP}

Rows are t = 0, K, 2K, ... below N, and the last step N-1 is always added, so
the table ends on the final value. csv and json write each rate with Python's
shortest exact float repr (it reads back as the same float64); text shows 10
significant digits.

examples:
  python -m lrcore table "step(init=0.1, step_size=30)" --steps 100 --every 10
  python -m lrcore table schedule.json --steps 1000 --every 100 --format csv > lr.csv
  python -m lrcore table "cosine(init=1, steps=50)" --format json"""


class CliError(Exception):
    """A mistake in the command line or its input, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the usage and exit; one line and exit status 2 are wanted.
        raise CliError(f"{message} (see: {self.prog} --help)")


def _positive_int(text: str) -> int:
    """A whole number > 0; ``10_000`` and ``1e4`` are accepted."""
    try:
        value = int(text)
    except ValueError:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and x.is_integer()):
            raise argparse.ArgumentTypeError(f"must be a whole number > 0; got {text!r}") from None
        value = int(x)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lrcore",
        description="Look at a learning-rate schedule: plot it or print its values.",
        epilog='examples:\n  python -m lrcore plot\n  python -m lrcore plot "cosine(init=0.1, steps=1000)" -o lr.png\n'
        '  python -m lrcore table "cosine(init=0.1, steps=1000)" --every 100\n'
        "Run `python -m lrcore plot --help` or `python -m lrcore table --help` for details.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lrcore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{plot,table,suggest}")

    plot_cmd = commands.add_parser(
        "plot",
        help="draw the schedule(s) to an image and print their summary",
        description="Draw one or more schedules to an image file (matplotlib, no display needed)\n"
        "and print each schedule's summary.",
        epilog=PLOT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot_cmd.add_argument(
        "spec", nargs="?", metavar="SPEC", help="the schedule (default: the warmup + cosine example below)"
    )
    plot_cmd.add_argument("--steps", type=_positive_int, metavar="N", help="plot t = 0 ... N-1 (default: see below)")
    plot_cmd.add_argument(
        "-o",
        "--output",
        default="lr.png",
        metavar="FILE",
        help="image to write; the extension picks the format: .png, .svg, .pdf, ... (default: lr.png)",
    )
    plot_cmd.add_argument(
        "--compare",
        nargs="+",
        action="extend",
        default=[],
        metavar="SPEC2",
        help="more schedules drawn on the same axes, e.g. --compare 'linear(start=0.1, end=0, steps=1000)'",
    )
    plot_cmd.add_argument(
        "--log", action="store_true", help="log-scale rate axis (steps where the rate is 0 are left out)"
    )

    table_cmd = commands.add_parser(
        "table",
        help="print the schedule's values, one row per step",
        description="Print the learning rate at t = 0, K, 2K, ... and at the last step N-1.",
        epilog=TABLE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    table_cmd.add_argument("spec", metavar="SPEC", help="the schedule")
    table_cmd.add_argument("--steps", type=_positive_int, metavar="N", help="cover t = 0 ... N-1 (default: see below)")
    table_cmd.add_argument(
        "--every", type=_positive_int, default=1, metavar="K", help="print every K-th step (default: 1, every step)"
    )
    table_cmd.add_argument(
        "--format",
        choices=("text", "csv", "json"),
        default="text",
        help='text: aligned columns; csv: \'t,lr\' rows; json: {"schedule", "steps", "t", "lr"} (default: text)',
    )
    from ._cli_suggest import add_parser as add_suggest

    add_suggest(commands)
    return parser


def _is(test: Callable[[], bool]) -> bool:
    """Path.is_file/is_dir, False for text that cannot be a path (too long, a NUL byte)."""
    try:
        return test()
    except (OSError, ValueError):
        return False


def load_schedule(spec: str) -> Schedule:
    """A SPEC read as a JSON file, inline JSON or an ``lr.parse`` expression."""
    path = Path(spec)
    if _is(path.is_file):
        try:
            text = path.read_text(encoding="utf-8")
            return from_json(text)
        except (OSError, ValueError, TypeError) as err:
            raise CliError(f"{spec}: {err}") from None
    stripped = spec.strip()
    if stripped.startswith("{"):
        return from_json(stripped)
    if "(" not in stripped:
        if _is(path.is_dir):
            raise CliError(f"SPEC {spec!r} is a folder, not a JSON file")
        raise CliError(f"SPEC {spec!r}: no such file (nor an expression such as 'cosine(init=0.1, steps=1000)')")
    try:
        return parse(stripped)
    except RecursionError:
        raise CliError(f"SPEC {spec[:40]!r}… is nested too deeply") from None


def default_steps(schedules: Sequence[Schedule]) -> int:
    """The largest finite horizon rounded up, or DEFAULT_STEPS if none is finite and > 0.

    A horizon of 0 (a constant) would show a single step, so it counts as none.
    """
    horizons = [h for h in (s.horizon for s in schedules) if h is not None and math.isfinite(h) and h > 0]
    return math.ceil(max(horizons)) if horizons else DEFAULT_STEPS


def _labels(schedules: Sequence[Schedule]) -> list[str]:
    """repr of each schedule; a repeat gets a number, as legend labels must differ."""
    seen: Counter[str] = Counter()
    labels = []
    for s in schedules:
        label = repr(s)
        seen[label] += 1
        labels.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return labels


def _write_atomically(target: Path, write: Callable[[str], Any]) -> None:
    """Call write(path) on a temporary file beside `target`, then rename it to `target`.

    A failure leaves neither a partial `target` nor the temporary file behind.
    """
    if target.is_dir():
        raise CliError(f"--output {str(target)!r} is a folder; give a file name such as lr.png")
    folder = target.parent
    if not folder.is_dir():
        raise CliError(f"--output {str(target)!r}: the folder {str(folder)!r} does not exist")
    if not target.suffix:
        raise CliError(f"--output {str(target)!r} needs an extension that names the format, such as .png or .svg")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=folder)
    except OSError as err:
        raise CliError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
    try:
        os.close(fd)
        # mkstemp makes the file private (0600); give it the usual permissions for a new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _format_summary(label: str, steps: int, stats: dict[str, float | int]) -> str:
    lines = [f"schedule  {label}", f"steps     {steps} (t = 0 ... {steps - 1})"]
    lines += [f"{key:<9} {stats[key]!r}" for key in SUMMARY_KEYS]
    return "\n".join(lines)


def run_plot(args: argparse.Namespace) -> None:
    specs = [args.spec if args.spec is not None else DEFAULT_SPEC, *args.compare]
    schedules = [load_schedule(spec) for spec in specs]
    steps = args.steps if args.steps is not None else default_steps(schedules)
    labels = _labels(schedules)
    stats = [summary(s, steps) for s in schedules]
    target = Path(args.output)

    def draw(path: str) -> None:
        plot(dict(zip(labels, schedules, strict=True)), steps, path=path, log=args.log)

    _write_atomically(target, draw)
    blocks = [_format_summary(label, steps, st) for label, st in zip(labels, stats, strict=True)]
    sys.stdout.write("\n\n".join(blocks) + f"\n\nwrote {target}\n")


def table_steps(steps: int, every: int) -> np.ndarray:
    """t = 0, every, 2*every, … < steps, then steps-1 if it is not already there."""
    ts = np.arange(0, steps, every, dtype=np.int64)
    if ts[-1] != steps - 1:
        ts = np.append(ts, steps - 1)
    return ts


def table_values(s: Schedule, steps: int, ts: np.ndarray) -> np.ndarray:
    """s.array(steps)[ts], computed a chunk at a time so memory stays bounded."""
    out = np.empty(len(ts))
    for lo, values in zip(range(0, steps, _CHUNK), s.chunks(steps, _CHUNK), strict=True):
        first, last = np.searchsorted(ts, [lo, lo + len(values)])
        out[first:last] = values[ts[first:last] - lo]
    return out


def run_table(args: argparse.Namespace) -> None:
    s = load_schedule(args.spec)
    steps = args.steps if args.steps is not None else default_steps([s])
    ts = table_steps(steps, args.every)
    values = table_values(s, steps, ts).tolist()
    t_list = ts.tolist()
    if args.format == "json":
        text = json.dumps({"schedule": s.to_dict(), "steps": steps, "t": t_list, "lr": values}) + "\n"
    elif args.format == "csv":
        text = "t,lr\n" + "".join(f"{t},{v!r}\n" for t, v in zip(t_list, values, strict=True))
    else:
        width = max(len(str(steps - 1)), 1)
        rows = (f"{t:>{width}}  {v:.10g}\n" for t, v in zip(t_list, values, strict=True))
        text = f"{'t':>{width}}  lr\n" + "".join(rows)
    sys.stdout.write(text)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise CliError("choose a command: plot, table or suggest (see: lrcore --help)")
        if args.command == "plot":
            run_plot(args)
        elif args.command == "suggest":
            from ._cli_suggest import run as run_suggest

            run_suggest(args)
        else:
            run_table(args)
    except SystemExit as exit_:
        # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other command-line tools do.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except MemoryError:
        print("lrcore: error: not enough memory for that many steps; use a smaller --steps", file=sys.stderr)
        return 2
    except (CliError, ValueError, TypeError, ImportError, OSError) as err:
        print(f"lrcore: error: {_one_line(err)}", file=sys.stderr)
        return 2
    return 0
