"""The one way lrcore writes a file: atomically, with the permissions of a new file.

``write_atomically(target, write)`` has ``write`` fill a temporary file beside
`target`, then renames it over `target`: a reader never sees a partial file, and a
failure leaves neither a partial `target` nor the temporary file behind.  Plots
(``lr.plot(path=...)``, ``Suggestion.plot(path=...)``) and the command line all
write through it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(target: Path, write: Callable[[str], Any]) -> None:
    """Call write(path) on a temporary file beside `target`, then rename it to `target`.

    OSError from creating the temporary file propagates (the caller words it).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
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
