"""The command line: ``python -m lrcore plot|table`` (also installed as ``lrcore``).

A SPEC is a schedule expression read by ``lr.parse`` or a JSON file written by
``Schedule.to_json``.  Every mistake in the input (including one too deep, too
long or too large to read) ends the program with exit status 2 and one line
``lrcore: error: …`` on stderr, and writes no file; no input shows a traceback.
Work is proportional to the output: `table` evaluates only the rows it prints,
and `plot` streams the steps a chunk at a time into a few points per pixel column.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__
from ._files import write_atomically
from ._parse import parse
from ._plot import _draw, _new_figure, _require_matplotlib, stepped, wrap_label
from ._registry import DEFAULT_LENGTH, stated_length
from ._schedule import Schedule
from ._serialize import from_json
from ._steps import COLUMNS, scan
from ._units import resolve
from .convert import from_deepspeed

DEFAULT_SPEC = "warmup(cosine(init=0.1, steps=900, final=0.001), steps=100)"
SUMMARY_KEYS = ("min", "max", "final", "argmax", "mean", "sum", "sum_sq")
MAX_STEPS = 2**53  # every t up to here is an exact float64
PLOT_DEFAULT_MAX = 10**9  # a natural length above this needs an explicit --steps
_ROWS = 1 << 16  # table rows computed at a time

SPEC_HELP = """\
SPEC is either a schedule expression, the form repr(schedule) prints, such as
  "warmup(cosine(init=0.1, steps=900), steps=100)"   "step(init=0.1, step_size=30) * 0.5"
  "from_torch('OneCycleLR', 0.1, max_lr=0.1, total_steps=1000)"
or the path of a JSON file written by schedule.to_json() (or inline JSON text
starting with '{'), or a DeepSpeed config (ds_config.json: its "scheduler" entry,
with its optimizer's lr). An existing file wins; text without '(' is a path.

--steps N covers t = 0 ... N-1 (t = optimizer updates already applied). By
default N is the schedule's natural length, rounded up (the largest one with
--compare): its horizon (the step from which its value no longer changes), or
for periodic and unbounded parts the length the SPEC states (join boundaries,
warmup and shift steps, plus one period: `steps`, `period`, step_up+step_down);
1000 only when nothing states a length (a constant, a bare step decay). So
"from_hf('cosine', 3e-4, num_warmup_steps=100, num_training_steps=5000)" shows
5000 steps."""

PLOT_EPILOG = f"""\
{SPEC_HELP}

Printed for each schedule, as lr.summary(schedule, N) returns them, with at most
10 significant digits: min, max, final (the value at t = N-1), argmax (the first
t of the max), mean, sum (the sum of the rates, the total step budget) and sum_sq
(the sum of their squares); then the path written. Each curve is labelled with
the SPEC as typed. Without SPEC the default schedule is plotted:
  {DEFAULT_SPEC}
Any number of steps works in bounded memory: each curve keeps the first, lowest,
highest and last value of each of at most 2048 columns of steps (every jump shows).

examples:
  python -m lrcore plot
  python -m lrcore plot "warmup(cosine(init=3e-4, steps=9000, final=3e-5), steps=1000)" --steps 10000 -o lr.png
  python -m lrcore plot "cosine(init=0.1, steps=1000)" --compare "linear(start=0.1, end=0, steps=1000)" \\
      "step(init=0.1, step_size=300, gamma=0.3)"
  python -m lrcore plot schedule.json --log -o lr.svg"""

TABLE_EPILOG = f"""\
{SPEC_HELP}

Rows are t = 0, K, 2K, ... below N, and the last step N-1 is always added, so
the table ends on the final value; only the rows printed are evaluated, so
"--steps 1e11 --every 1e10" is instant. csv and json write each rate with
Python's shortest exact float repr (it reads back as the same float64); text
shows 10 significant digits.

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
    """A whole number from 1 to 2**53; ``10_000``, ``1e4`` and ``10**4`` are accepted."""
    base, power, exponent = text.partition("**")
    try:
        value = _whole(base) ** _whole(exponent) if power else _whole(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"must be a whole number > 0; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0; got {text!r}")
    if value > MAX_STEPS:
        raise argparse.ArgumentTypeError(
            f"must be at most 2**53 = {MAX_STEPS} (later steps are not exact float64 values); got {text!r}"
        )
    return value


def _whole(text: str) -> int:
    """'12', '1_000' or '1e4' as an int; ValueError for anything else (2.5, nan, a huge exponent)."""
    try:
        return int(text)
    except ValueError:
        x = float(text)  # ValueError if not a number
        if not x.is_integer():  # nan and inf included
            raise ValueError(text) from None
        return int(x)


def _positive_number(text: str) -> float:
    """A finite number > 0 (``100``, ``62.5``, ``1e3``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0; got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


# resolve()'s quantities, as flags: lengths written in units ("5%", "3ep", ...) need them.
UNIT_FLAGS = {
    "steps": "--steps",
    "steps_per_epoch": "--steps-per-epoch",
    "tokens_per_step": "--tokens-per-step",
    "samples_per_step": "--samples-per-step",
}


def _unit_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--steps-per-epoch",
        type=_positive_number,
        metavar="K",
        help='optimizer updates per epoch: resolves lengths in epochs ("3ep"); plot then counts epochs on its x axis',
    )
    command.add_argument(
        "--tokens-per-step", type=_positive_number, metavar="K", help='tokens per update: resolves "2e9tok"'
    )
    command.add_argument(
        "--samples-per-step", type=_positive_number, metavar="K", help='samples per update: resolves "512sp"'
    )


def resolve_units(spec: str, s: Schedule, args: argparse.Namespace) -> Schedule:
    """A template SPEC ("5%", "3ep", ...) in optimizer updates, from --steps and the other unit flags."""
    if not s.is_template:
        return s
    try:
        return resolve(
            s,
            steps=args.steps,
            steps_per_epoch=args.steps_per_epoch,
            tokens_per_step=args.tokens_per_step,
            samples_per_step=args.samples_per_step,
        )
    except ValueError as err:
        message = _one_line(err)
        for name, flag in UNIT_FLAGS.items():
            message = message.replace(f"give {name}=", f"give {flag}")
        raise CliError(f"SPEC {_name(spec)}: {message}") from None


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
    plot_cmd.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="plot t = 0 ... N-1; N as 10000, 1e4 or 10**4, at most 2**53 (default: see below)",
    )
    _unit_arguments(plot_cmd)
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
    table_cmd.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="cover t = 0 ... N-1; N as 10000, 1e4 or 10**4, at most 2**53 (default: see below)",
    )
    _unit_arguments(table_cmd)
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


def _name(spec: str) -> str:
    """The SPEC as an error message shows it: quoted, cut to 60 characters."""
    return repr(spec if len(spec) <= 60 else spec[:57] + "…")


@contextlib.contextmanager
def _about(spec: str, doing: str) -> Iterator[None]:
    """Turn what Python raises on input too deep, too long or too large into one line naming SPEC."""
    try:
        yield
    except RecursionError:
        raise CliError(f"SPEC {_name(spec)} is nested too deeply to {doing}") from None
    except MemoryError:
        raise CliError(f"SPEC {_name(spec)}: not enough memory to {doing} it (too long or nested too deeply)") from None
    except OverflowError as err:
        raise CliError(f"SPEC {_name(spec)}: a number is too large to {doing} ({_one_line(err)})") from None


def load_schedule(spec: str) -> Schedule:
    """A SPEC read as a JSON file, inline JSON or an ``lr.parse`` expression."""
    with _about(spec, "read"):
        try:
            return _load(spec)
        except (ValueError, TypeError) as err:
            # Name the SPEC (which one of several, when --compare is used) unless the message quotes it.
            message = _one_line(err)
            raise CliError(message if spec[:40] in message else f"SPEC {_name(spec)}: {message}") from None


def _load(spec: str) -> Schedule:
    path = Path(spec)
    if _is(path.is_file):
        try:
            text = path.read_text(encoding="utf-8")
            return _from_text(text)
        except (OSError, ValueError, TypeError) as err:
            raise CliError(f"{spec}: {err}") from None
    stripped = spec.strip()
    if stripped.startswith("{"):
        return _from_text(stripped)
    if "(" not in stripped:
        if _is(path.is_dir):
            raise CliError(f"SPEC {_name(spec)} is a folder, not a JSON file")
        raise CliError(f"SPEC {_name(spec)}: no such file (nor an expression such as 'cosine(init=0.1, steps=1000)')")
    return parse(stripped)


def _from_text(text: str) -> Schedule:
    """JSON from ``Schedule.to_json``, or a DeepSpeed config: a dict with a "scheduler" key (and no "kind"),
    read by ``lr.from_deepspeed`` with its optimizer's lr."""
    try:
        data = json.loads(text)
    except ValueError:
        return from_json(text)  # which words what it cannot read
    if isinstance(data, dict) and "scheduler" in data and "kind" not in data:
        return from_deepspeed(data)
    return from_json(text)


def default_steps(specs: Sequence[str], schedules: Sequence[Schedule]) -> int:
    """The schedules' natural length: the longest length one states (see ``lrcore._registry.stated_length``)
    rounded up, or DEFAULT_LENGTH when none states one."""
    lengths = []
    for spec, s in zip(specs, schedules, strict=True):
        with _about(spec, "measure"):
            length = stated_length(s)
        if length is not None:
            lengths.append(length)
    return max(1, math.ceil(max(lengths))) if lengths else DEFAULT_LENGTH


def _labels(specs: Sequence[str]) -> list[str]:
    """Each SPEC as typed, wrapped for a legend; a repeat gets a number, as labels must differ."""
    seen: Counter[str] = Counter()
    labels = []
    for spec in specs:
        label = wrap_label(" ".join(spec.split()))
        seen[label] += 1
        labels.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return labels


def _write_atomically(target: Path, write: Callable[[str], Any]) -> None:
    """``_files.write_atomically`` for --output, with its errors worded for the command line."""
    if target.is_dir():
        raise CliError(f"--output {str(target)!r} is a folder; give a file name such as lr.png")
    folder = target.parent
    if not folder.is_dir():
        raise CliError(f"--output {str(target)!r}: the folder {str(folder)!r} does not exist")
    if not target.suffix:
        raise CliError(f"--output {str(target)!r} needs an extension that names the format, such as .png or .svg")
    try:
        write_atomically(target, write)
    except OSError as err:
        raise CliError(f"cannot write {str(target)!r}: {err.strerror or err}") from None


def for_people(x: float | int) -> str:
    """A number as the summary prints it: at most 10 significant digits (1.5, not 1.4999999999999998)."""
    return str(x) if isinstance(x, int) else f"{x:.10g}"


def _format_summary(description: str, steps: int, stats: dict[str, float | int]) -> str:
    lines = [f"schedule  {description}", f"steps     {steps} (t = 0 ... {steps - 1})"]
    lines += [f"{key:<9} {for_people(stats[key])}" for key in SUMMARY_KEYS]
    return "\n".join(lines)


def run_plot(args: argparse.Namespace) -> None:
    specs = [args.spec if args.spec is not None else DEFAULT_SPEC, *args.compare]
    schedules = [resolve_units(spec, load_schedule(spec), args) for spec in specs]
    _require_matplotlib()  # before the work, so that its absence is the error shown
    if args.steps is not None:
        steps = args.steps
    else:
        steps = default_steps(specs, schedules)
        if steps > PLOT_DEFAULT_MAX:
            raise CliError(
                f"the SPEC states {steps:,} steps, more than plot draws by default ({PLOT_DEFAULT_MAX:,}); "
                "give --steps N"
            )
    labels = _labels(specs)
    blocks, lines, steps_drawn = [], {}, set()
    for spec, label, s in zip(specs, labels, schedules, strict=True):
        with _about(spec, "evaluate"):
            # One pass gives both the summary and the curve's points.
            stats, t, y = scan(s, steps, columns=COLUMNS)
            blocks.append(_format_summary(repr(s), steps, stats))
        lines[label] = (t, y)
        if stepped(s, t, steps):
            steps_drawn.add(label)
    target = Path(args.output)

    def draw(path: str) -> None:
        ax = _new_figure(pyplot=False).add_subplot()
        _draw(lines, steps, ax, own_figure=True, log=args.log, title=None, per_epoch=args.steps_per_epoch,
              steps_drawn=steps_drawn)
        ax.figure.savefig(path)

    _write_atomically(target, draw)
    sys.stdout.write("\n\n".join(blocks) + f"\n\nwrote {target}\n")


def table_blocks(steps: int, every: int) -> Iterator[np.ndarray]:
    """t = 0, every, 2*every, … < steps, then steps-1 if it is not already there, a block at a time."""
    for first in range(0, steps, every * _ROWS):
        yield np.arange(first, min(first + every * _ROWS, steps), every, dtype=np.int64)
    if (steps - 1) % every:
        yield np.array([steps - 1], dtype=np.int64)


def run_table(args: argparse.Namespace) -> None:
    s = resolve_units(args.spec, load_schedule(args.spec), args)
    steps = args.steps if args.steps is not None else default_steps([args.spec], [s])
    out = sys.stdout
    with _about(args.spec, "evaluate"):
        # Only the rows shown are evaluated: s(ts) on each block of rows.
        blocks = ((ts.tolist(), s(ts.astype(np.float64)).tolist()) for ts in table_blocks(steps, args.every))
        if args.format == "json":
            # Streamed by hand, the text json.dumps would write: the t list, then the values.
            out.write(f'{{"schedule": {json.dumps(s.to_dict())}, "steps": {steps}, "t": [')
            for i, ts in enumerate(table_blocks(steps, args.every)):
                out.write((", " if i else "") + ", ".join(map(str, ts.tolist())))
            out.write('], "lr": [')
            for i, (_, lrs) in enumerate(blocks):
                out.write((", " if i else "") + ", ".join(map(repr, lrs)))
            out.write("]}\n")
        elif args.format == "csv":
            out.write("t,lr\n")
            for ts, lrs in blocks:
                out.write("".join(f"{t},{v!r}\n" for t, v in zip(ts, lrs, strict=True)))
        else:
            width = max(len(str(steps - 1)), 1)
            out.write(f"{'t':>{width}}  lr\n")
            for ts, lrs in blocks:
                out.write("".join(f"{t:>{width}}  {v:.10g}\n" for t, v in zip(ts, lrs, strict=True)))


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input, 1 an internal error, 130 Ctrl-C)."""
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
    except KeyboardInterrupt:
        print("lrcore: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("lrcore: error: not enough memory", file=sys.stderr)
        return 2
    except RecursionError:
        print("lrcore: error: the input is nested too deeply", file=sys.stderr)
        return 2
    except (CliError, ValueError, TypeError, ImportError, OSError, OverflowError) as err:
        print(f"lrcore: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug of ours: still one line, and where to report it
        message = f"internal error {type(err).__name__}: {_one_line(err)} (please report it)"
        print(f"lrcore: error: {message}", file=sys.stderr)
        return 1
    return 0
