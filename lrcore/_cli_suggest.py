"""``python -m lrcore suggest losses.csv``: read an LR range test's record and suggest a learning rate.

The file holds two columns, lr and loss, separated by a comma or white space;
a header line, blank lines and ``#`` comments are allowed.  A mistake in the
file is one ``ValueError`` line naming the file and the line, which the
command line prints as ``lrcore: error: …`` (exit status 2).
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from ._suggest import METHODS, suggest

EPILOG = """\
The file: one row per step of the range test, `lr, loss` (or `lr loss`), in
the order they were run; a first line that is not two numbers is taken as a
header. A nan or inf loss marks divergence (the run is cut there).

Printed: the suggested lr (10 significant digits), the method, the points
analysed (the first tenth of the run is skipped) and where the run was cut
(the first non-finite loss, or the first point where the smoothed loss passes
--diverge times its minimum).

examples:
  python -m lrcore suggest losses.csv
  python -m lrcore suggest losses.csv --method steepest -o finder.png"""

_SEPARATOR = re.compile(r"[,\s]+")


def add_parser(commands: Any) -> None:
    """Register the ``suggest`` subcommand on the command line's subparsers."""
    cmd = commands.add_parser(
        "suggest",
        help="suggest an initial learning rate from an LR range test's (lr, loss) record",
        description="Read an LR range test's record (two columns: lr, loss) and suggest a learning rate.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", metavar="FILE", help="the record: lr and loss per line (csv or white space)")
    cmd.add_argument("--method", choices=METHODS, default="valley", help="how to read the curve (default: valley)")
    cmd.add_argument("--smooth", type=float, default=0.98, help="moving-average weight of the past (default: 0.98)")
    cmd.add_argument("--diverge", type=float, default=4.0, help="cut where the smoothed loss passes this many "
                     "times its minimum (default: 4; inf: never)")
    cmd.add_argument("-o", "--output", metavar="IMAGE", help="also draw the curve and the suggestion to this file")


def read_record(path: str) -> tuple[list[float], list[float]]:
    """(lrs, losses) from a two-column text file; ValueError/OSError naming the file and line."""
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"{path}: is a folder, not a file of (lr, loss) rows")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    lrs: list[float] = []
    losses: list[float] = []
    header_allowed = True
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        fields = [f for f in _SEPARATOR.split(content) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if header_allowed:
                header_allowed = False
                continue
            bad = next(f for f in fields if not _is_float(f))
            raise ValueError(f"{path} line {number}: {bad!r} is not a number") from None
        header_allowed = False
        if len(values) != 2:
            raise ValueError(f"{path} line {number}: expected 2 columns (lr, loss); got {len(values)}")
        lrs.append(values[0])
        losses.append(values[1])
    if not lrs:
        raise ValueError(f"{path}: no (lr, loss) rows")
    return lrs, losses


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def run(args: argparse.Namespace) -> None:
    lrs, losses = read_record(args.file)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            s = suggest(lrs, losses, method=args.method, smooth=args.smooth, diverge=args.diverge)
    except ValueError as err:
        raise ValueError(f"{args.file}: {err}") from None
    for warning in caught:
        sys.stderr.write(f"lrcore: warning: {warning.message}\n")
    line = s.describe()
    if args.output is not None:
        s.plot(path=args.output)
        line += f"\nwrote {args.output}"
    sys.stdout.write(line + "\n")
