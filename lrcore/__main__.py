"""``python -m lrcore plot|table``: see ``lrcore._cli``."""

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
