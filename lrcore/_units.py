"""Lengths in the units a run is configured in: "5%", "0.05dur", "3ep", "2e9tok", "512sp", "1000ba".

A length parameter (a ``Param`` marked ``length``) may hold such a string.  The
schedule is then a template: it compares, hashes, prints, parses and saves with
the strings kept, and ``lr.resolve`` turns it into the plain schedule once the
run's size is known.  The kernel never sees a unit: resolving rebuilds every node
through its constructor with the lengths in optimizer updates, validated as any
other schedule.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from . import _validate as check

if TYPE_CHECKING:
    from ._registry import Param
    from ._schedule import Schedule

# unit -> (what it measures, the resolve() argument it needs, how a number of them becomes updates)
UNITS: dict[str, tuple[str, str | None]] = {
    "%": ("percent of the run", "steps"),
    "dur": ("a fraction of the run", "steps"),
    "ep": ("epochs", "steps_per_epoch"),
    "tok": ("tokens", "tokens_per_step"),
    "sp": ("samples", "samples_per_step"),
    "ba": ("optimizer updates", None),
}
_FORM = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))\s*([a-z%]+)\s*",
                   re.IGNORECASE)


def split(text: str) -> tuple[float, str] | None:
    """(number, unit) of a length string such as "5%" or "3ep", or None when it is not of that form."""
    match = _FORM.fullmatch(text)
    if match is None or match.group(2).lower() not in UNITS:
        return None
    return float(match.group(1)), match.group(2).lower()


def check_length(p: Param, where: str, text: str, name: str | None = None) -> str:
    """`text` as a length of parameter `p`: a number and a unit, the number finite and within the
    bounds of `p` that hold whatever the run's size (> 0, >= 0).  Returns the text, stripped."""
    name = name or p.name
    parts = split(text)
    if parts is None:
        units = ", ".join(f'"{u}"' for u in UNITS)
        raise check.fail(where, name, f"must be a number or a length with a unit ({units}), such as \"5%\" or \"3ep\"",
                         text)
    number, unit = parts
    if not math.isfinite(number):
        raise check.fail(where, name, f"must have a finite number of {UNITS[unit][0]}", text)
    if number < 0 or (p.gt == 0 and number == 0):
        raise check.fail(where, name, f"must be {'> 0' if p.gt == 0 else '>= 0'}", text)
    return text.strip()


def is_unit(value: Any) -> bool:
    return isinstance(value, str)


def holds_unit(value: Any) -> bool:
    """Whether a parameter value (a length, a list of them, or (t, value) points) holds a unit string."""
    if isinstance(value, str):
        return True
    if isinstance(value, tuple):
        return any(holds_unit(v) for v in value)
    return False


def first_unit(s: Schedule) -> tuple[Schedule, str, str] | None:
    """(node, parameter, text) of the first unit string in the tree, depth first, or None."""
    from ._registry import KINDS

    for p in KINDS[s.kind].params:
        value = s[p.name]
        if p.type == "schedule":
            found = first_unit(value)
            if found:
                return found
        elif p.type == "schedules":
            for child in value:
                found = first_unit(child)
                if found:
                    return found
        elif p.length and holds_unit(value):
            text = next(iter(_strings(value)))
            return s, p.name, text
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [x for v in value for x in _strings(v)]
    return []


def unresolved(s: Schedule) -> ValueError:
    """The error evaluating a template raises."""
    found = first_unit(s)
    assert found is not None
    node, name, text = found
    parts = split(text)
    assert parts is not None
    what, needs = UNITS[parts[1]]
    given = f"{needs}=" if needs else "nothing more"
    return ValueError(
        f"{node.kind}: `{name}` is {text!r}, a length in {what}, which the kernel cannot count until the run is known; "
        f"resolve the schedule first: lr.resolve(s, {given}...) gives it in optimizer updates"
    )


_QUANTITIES = ("steps", "steps_per_epoch", "tokens_per_step", "samples_per_step", "epochs")


def resolve(
    s: Schedule,
    *,
    steps: float | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
    samples_per_step: float | None = None,
    epochs: float | None = None,
) -> Schedule:
    """The schedule with every length in optimizer updates.

    A fraction of the run ("5%", "0.05dur") is that fraction of `steps`; epochs ("3ep") are
    × `steps_per_epoch`; tokens ("2e9tok") are ÷ `tokens_per_step`; samples ("512sp") are
    ÷ `samples_per_step`; "1000ba" is 1000 updates.  Nothing is rounded: lengths may be
    fractional.  `epochs` with `steps_per_epoch` gives `steps` when it is not given.  A plain
    schedule comes back unchanged; a unit whose quantity is not given raises ValueError
    naming it.  The result is rebuilt through every constructor, so it is validated as
    any schedule written in updates.

    Args:
        s: a schedule, usually a template (``s.is_template``).
        steps: the run's length in optimizer updates (for "%" and "dur").
        steps_per_epoch: optimizer updates per epoch (for "ep"; with `epochs`, for `steps`).
        tokens_per_step: tokens per optimizer update (for "tok").
        samples_per_step: samples per optimizer update (for "sp").
        epochs: the run's length in epochs (× `steps_per_epoch` gives `steps`).

    Returns:
        The plain ``Schedule``, every length a number of updates.

    Example:
        >>> import lrcore as lr
        >>> s = lr.warmup(lr.cosine(init=3e-4, steps="95%"), steps="5%")
        >>> s.is_template
        True
        >>> lr.resolve(s, steps=10_000)
        warmup(cosine(init=0.0003, steps=9500), steps=500)
        >>> lr.resolve(lr.step(init=0.1, step_size="30ep"), steps_per_epoch=100)
        step(init=0.1, step_size=3000)
    """
    from ._schedule import Schedule

    w = "resolve"
    if not isinstance(s, Schedule):
        raise check.fail(w, "s", "must be an lrcore Schedule", s, TypeError)
    given: dict[str, float | None] = {}
    for key, value in zip(_QUANTITIES, (steps, steps_per_epoch, tokens_per_step, samples_per_step, epochs),
                          strict=True):
        given[key] = None if value is None else check.number(w, key, value, gt=0)
    if given["epochs"] is not None:
        if given["steps_per_epoch"] is None:
            raise check.fail(w, "epochs", "needs steps_per_epoch= to give the run's steps", epochs)
        total = given["epochs"] * given["steps_per_epoch"]
        if given["steps"] is not None and given["steps"] != total:
            raise check.fail(w, "steps", f"disagrees with epochs * steps_per_epoch = {total:g}", steps)
        given["steps"] = total
    if not s.is_template:
        return s
    return _resolve(s, given)


def _updates(where: str, name: str, text: str, given: dict[str, float | None]) -> float:
    parts = split(text)
    assert parts is not None  # checked at construction
    number, unit = parts
    what, needs = UNITS[unit]
    if needs is None:
        return number
    quantity = given[needs]
    if quantity is None:
        raise ValueError(
            f"resolve: {where}'s `{name}` is {text!r}, a length in {what}; give {needs}= "
            f"({_MEANING[needs]})"
        )
    if unit == "%":
        value = number / 100.0 * quantity
    elif unit in ("dur", "ep"):
        value = number * quantity
    else:
        value = number / quantity
    if not math.isfinite(value):
        raise ValueError(f"resolve: {where}'s `{name}` = {text!r} is past the largest float in updates")
    return value


_MEANING = {
    "steps": "the run's optimizer updates",
    "steps_per_epoch": "optimizer updates per epoch",
    "tokens_per_step": "tokens per optimizer update",
    "samples_per_step": "samples per optimizer update",
}


def _resolve(s: Schedule, given: dict[str, float | None]) -> Schedule:
    from ._registry import KINDS

    if not s.is_template:
        return s
    record = KINDS[s.kind]
    kwargs: dict[str, Any] = {}
    for p in record.params:
        value = s[p.name]
        if p.type == "schedule":
            value = _resolve(value, given)
        elif p.type == "schedules":
            value = [_resolve(child, given) for child in value]
        elif p.length and holds_unit(value):
            value = _lengths(s.kind, p.name, value, given)
        kwargs[p.name] = value
    return record.constructor(**kwargs)


def _lengths(kind: str, name: str, value: Any, given: dict[str, float | None]) -> Any:
    if isinstance(value, str):
        return _updates(kind, name, value, given)
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):  # (t, value) points: the times are the lengths
            return [(_lengths(kind, name, t, given), v) for t, v in value]
        return [_lengths(kind, name, v, given) for v in value]
    return value
