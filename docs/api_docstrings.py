"""A griffe extension for the API reference: each kind's constructor with the docstring lrcore gives it.

mkdocstrings reads the source without importing it, and a kind's source docstring holds only its
formula and Example: ``@kind`` adds the Args (each parameter's rule, default and meaning, from its
``Param``) and Returns at import.  This puts that generated docstring in the reference, as
``help(lr.<kind>)`` shows it.
"""

from __future__ import annotations

import inspect
from typing import Any

import griffe

from lrcore._registry import KINDS


class KindDocstrings(griffe.Extension):
    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        record = KINDS.get(func.name)
        if record is None or func.path != f"{record.constructor.__module__}.{func.name}":
            return
        source = func.docstring  # the source's, which carries the parser mkdocstrings configured
        func.docstring = griffe.Docstring(
            inspect.cleandoc(record.constructor.__doc__ or ""),
            lineno=source.lineno if source else None,
            parent=func,
            parser=source.parser if source else "google",
            parser_options=source.parser_options if source else None,
        )
