"""What every converter shares: choosing the builder for a peer name and checking
the peer's keyword arguments against that builder's signature.

A builder takes some leading context arguments (a label for messages, the base
learning rate, ...) and then the peer's own keyword arguments, with the peer's
defaults, so its signature is the list of arguments the peer name accepts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from .._internal import Schedule, check

Builder = Callable[..., Schedule]


def pick(where: str, builders: Mapping[str, Builder], instead: Mapping[str, str], name: Any, noun: str) -> Builder:
    """The builder for `name`; a name with no pure-function form says what to use instead."""
    if not isinstance(name, str):
        raise check.fail(where, "name", f"must be a string naming a {noun}", name, TypeError)
    if name in instead:
        raise ValueError(f"{where}: {name!r} is not a pure schedule; {instead[name]}")
    if name not in builders:
        raise ValueError(f"{where}: unknown {noun} {name!r}; known: {', '.join(sorted(builders))}")
    return builders[name]


def check_arguments(here: str, name: str, builder: Builder, kwargs: Any, lead: int) -> None:
    """`kwargs` names only arguments of `builder` after its `lead` context ones, and every required one."""
    if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
        raise check.fail(here, "kwargs", f"must be a dict of {name}'s keyword arguments", kwargs, TypeError)
    params = list(inspect.signature(builder).parameters.values())[lead:]
    known = {p.name for p in params}
    takes = ", ".join(p.name for p in params) or "no arguments"
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise TypeError(f"{here}: unexpected argument(s) {', '.join(unknown)}; {name} takes {takes}")
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in kwargs]
    if missing:
        raise TypeError(f"{here}: missing required argument(s) {', '.join(missing)}; {name} takes {takes}")


def call_builder(
    where: str, builders: Mapping[str, Builder], instead: Mapping[str, str], name: Any, kwargs: Any
) -> Schedule:
    """``builders[name](here, **kwargs)`` after the checks, with ``here = "where('name')"`` for messages."""
    builder = pick(where, builders, instead, name, "schedule")
    here = f"{where}({name!r})"
    check_arguments(here, name, builder, kwargs, 1)
    return builder(here, **kwargs)


def lr_value(w: str, name: str, x: Any) -> float:
    """A learning-rate value: finite and >= 0."""
    return check.number(w, name, x, ge=0)


def positive(w: str, name: str, x: Any) -> float:
    return check.number(w, name, x, gt=0)
