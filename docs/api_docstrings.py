"""griffe extensions for the API reference: each kind's constructor with the docstring lrcore gives it,
and of each class only what a user calls or reads.

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


# The dunders a user writes as syntax and reads about: s(t) and s["param"].
SHOWN_DUNDERS = frozenset({"__call__", "__getitem__"})


class PublicMembers(griffe.Extension):
    """Of a class, its methods and properties without a leading underscore, ``__call__`` and
    ``__getitem__``, the attributes its body declares (a dataclass's fields, annotated slots) and any
    other attribute that has a docstring.  The protocol dunders (pickling, copying, equality,
    ``__slots__``) and the attributes a method sets for its own bookkeeping are not what a user
    calls or reads (a class documents the ones that are in its docstring's Attributes); a module's
    public names are its ``__all__`` (``filters: public``)."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        methods = [(m.lineno or 0, m.endlineno or 0) for m in cls.members.values() if m.is_function]
        for name, member in list(cls.members.items()):
            dunder = name.startswith("__") and name.endswith("__")
            set_in_a_method = member.is_attribute and any(a <= (member.lineno or 0) <= b for a, b in methods)
            if (dunder and name not in SHOWN_DUNDERS) or (not dunder and name.startswith("_")) or (
                    set_in_a_method and not member.docstring):
                cls.del_member(name)
