"""``python -m lrcore suggest losses.csv``: read an LR range test's record and suggest a learning rate.

The file holds two columns, lr and loss, separated by a comma or white space;
a header line, blank lines and ``#`` comments are allowed.  A mistake in the
file is one ``ValueError`` line naming the file and the line, which the
command line prints as ``lrcore: error: …`` (exit status 2).
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import warnings
from typing import Any

from ._suggest import DEFAULT_METHOD, METHODS, RATIO_BLIND_FIX, suggest

EPILOG = """\
The file: one row per step of the range test, `lr, loss` (or `lr loss`), in
the order they were run; a first line that is not two numbers is taken as a
header. A nan or inf loss marks divergence (the run is cut there).

Printed: the suggested lr for a constant learning rate (10 significant digits),
the method, the peak for a one-cycle, cosine or warmup-decay schedule (twice
the lr: such a schedule runs on average at about half its peak), the points
analysed (the first tenth of the run is skipped) and where the run was cut
(the first non-finite loss, or the first point where the smoothed loss passes
--diverge times its minimum).  With -o both the lr and the peak are marked.

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
    cmd.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                     help=f"how to read the curve (default: {DEFAULT_METHOD})")
    cmd.add_argument("--smooth", type=float, default=0.98, help="moving-average weight of the past (default: 0.98)")
    cmd.add_argument("--diverge", type=float, default=4.0, help="cut where the smoothed loss passes this many "
                     "times its minimum (default: 4; inf: never)")
    cmd.add_argument("-o", "--output", metavar="IMAGE", help="also draw the curve and the suggestion to this file")


MAX_BYTES = 64 << 20  # a range test's record is a few kB; a larger file is not one


def read_record(path: str) -> tuple[list[float], list[float]]:
    """(lrs, losses) from a two-column text file; ValueError/OSError naming the file and line.

    Only a regular file of at most 64 MiB is read: a FIFO, a device (``/dev/zero``) or a
    folder is refused before any read, so the command never blocks or fills memory.
    """
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path}: is a folder, not a file of (lr, loss) rows")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path}: is not a regular file (a pipe or a device); save the record to a file first")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path}: is larger than {MAX_BYTES >> 20} MiB, too large for a range test's record")
    try:
        text = data.decode("utf-8")
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
            raise ValueError(f"{path} line {number}: {_field(bad)} is not a number") from None
        header_allowed = False
        if len(values) != 2:
            raise ValueError(f"{path} line {number}: expected 2 columns (lr, loss); got {len(values)}")
        lrs.append(values[0])
        losses.append(values[1])
    if not lrs:
        raise ValueError(f"{path}: no (lr, loss) rows")
    return lrs, losses


def _field(text: str) -> str:
    """A field as an error shows it: quoted, and at most 40 characters of it."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:30]!r}... ({len(text)} characters)"


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
        message = str(warning.message).replace(RATIO_BLIND_FIX, "pass --diverge inf to say so")
        sys.stderr.write(f"lrcore: warning: {message}\n")
    line = s.describe()
    if args.output is not None:
        s.plot(path=args.output)
        line += f"\nwrote {args.output}"
    sys.stdout.write(line + "\n")
