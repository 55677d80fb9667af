"""The one way lrcore writes a file: atomically, with the permissions of a new file.

``write_atomically(target, write)`` has ``write`` fill a temporary file beside
`target`, then renames it over `target`: a reader never sees a partial file, and a
failure leaves neither a partial `target` nor the temporary file behind.  Plots
(``lr.plot(path=...)``, ``Suggestion.plot(path=...)``) and the command line all
write through it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(target: Path, write: Callable[[str], Any]) -> None:
    """Call write(path) on a temporary file beside `target`, then rename it to `target`.

    A file already there keeps its permission bits (the new file has them before it
    replaces the old one), a new file gets the usual ones (not mkstemp's 0600), and a
    symbolic link keeps pointing where it did: the file it names is replaced, not the
    link.  OSError from creating the temporary file propagates (the caller words it).
    """
    target = Path(os.path.realpath(target))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    try:
        os.close(fd)
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_figure(figure: Any, path: Any) -> None:
    """``figure.savefig(path)``, atomically where `path` names a file (a file object is written as it is).

    The format follows the extension, or matplotlib's default format where there is none
    (the file keeps the name it was given).
    """
    if not isinstance(path, (str, os.PathLike)):
        figure.savefig(path)
        return
    target = Path(path)
    fmt = target.suffix[1:].lower() or None
    write_atomically(target, lambda tmp: figure.savefig(tmp, format=fmt))
