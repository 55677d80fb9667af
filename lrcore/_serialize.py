"""Saving and rebuilding schedules: ``from_dict``, ``from_json`` and the rebuild of untrusted input.

Everything that turns outside data (a dict, JSON, a pickle's ``(kind, params)``)
into a node goes through the kind's own constructor, so it is validated exactly
as ``lr.<kind>(...)`` validates it, and refuses data nested deeper than any
schedule can be before recursing into it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from . import _validate as check
from ._registry import KINDS
from ._schedule import MAX_DEPTH, Schedule, freeze


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return _from_dict(value)
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _arguments(where: str, kind: Any, named: dict[Any, Any]) -> dict[str, Any]:
    """Check that `kind` is a kind and `named` holds only and all of its required parameter names."""
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(k for k, record in KINDS.items() if record.serialisable))
        raise ValueError(f"{where}: unknown schedule kind {check.show(kind)}; known kinds: {known}")
    for key in named:
        if not isinstance(key, str):
            raise TypeError(f"{where}: parameter names of {kind} must be strings; got {check.show(key)}")
    record = KINDS[kind]
    unknown = [k for k in named if k not in record.names]
    if unknown:
        takes = ", ".join(record.names)
        shown = ", ".join(check.show(k) for k in unknown)
        raise ValueError(f"{where}: {kind} has no parameter(s) {shown}; it takes {takes}")
    missing = [n for n in record.names if n not in record.defaults and n not in named]
    if missing:
        raise ValueError(f"{where}: {kind} is missing required parameter(s) {', '.join(missing)}")
    return named


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. comparisons that do not reduce to one bool
        return False


def rebuild(where: str, kind: Any, params: Any) -> Schedule:
    """``lr.<kind>(**dict(params))``, refusing anything that does not come back equal."""
    if not isinstance(params, (tuple, list)):
        raise TypeError(f"{where}: `params` must be a tuple of (name, value) pairs; got params={check.show(params)}")
    named: dict[Any, Any] = {}
    for item in params:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{where}: `params` must hold (name, value) pairs; got {check.show(item)}")
        key, value = item
        try:
            repeated = key in named
        except TypeError:  # unhashable
            raise TypeError(f"{where}: parameter names must be strings; got {check.show(key)}") from None
        if repeated:
            raise ValueError(f"{where}: parameter {check.show(key)} is given twice")
        named[key] = value
    kwargs = _arguments(where, kind, named)
    node = KINDS[kind].constructor(**kwargs)
    if not isinstance(node, Schedule) or node.kind != kind:
        raise ValueError(f"{where}: the {kind} constructor did not return a {kind} node; got {check.show(node)}")
    for key, value in kwargs.items():
        if not _same(node[key], freeze(value)):
            raise ValueError(
                f"{where}: {kind}'s `{key}` does not rebuild to the value given "
                f"({check.show(node[key])}); got {key}={check.show(value)}"
            )
    return node


def _check_nesting(where: str, data: Any) -> None:
    """Refuse data nested deeper than any schedule can be, before recursing into it."""
    limit_containers = 4 * MAX_DEPTH  # a join adds a list per level; interpolate points two
    deepest_dicts, deepest_all = 0, 0
    stack = [(data, 0, 0)]
    while stack:
        item, dicts, containers = stack.pop()
        if isinstance(item, dict):
            dicts, containers = dicts + 1, containers + 1
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            containers += 1
            children = list(item)
        else:
            continue
        deepest_dicts, deepest_all = max(deepest_dicts, dicts), max(deepest_all, containers)
        stack.extend((child, dicts, containers) for child in children)
    if deepest_dicts > MAX_DEPTH:
        raise ValueError(
            f"{where}: the schedule nests {deepest_dicts} levels deep; schedules nest at most {MAX_DEPTH} levels"
        )
    if deepest_all > limit_containers:
        raise ValueError(
            f"{where}: lists and dicts nest {deepest_all} levels deep; at most {limit_containers} are allowed "
            f"(schedules nest at most {MAX_DEPTH} levels)"
        )


def from_dict(data: Any) -> Schedule:
    """Rebuild a schedule from ``Schedule.to_dict()``; every argument is validated again.

    Args:
        data: a dict with a ``"kind"`` key and that kind's arguments, child schedules as nested dicts
            (the form ``to_dict`` writes).

    Returns:
        The ``Schedule`` that `data` describes, built through its kind's constructor.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_dict({"kind": "linear", "start": 0.1, "end": 0.0, "steps": 100})
        >>> s, s(50)
        (linear(start=0.1, end=0, steps=100), 0.05)
        >>> lr.from_dict(s.to_dict()) == s
        True
    """
    if not isinstance(data, dict):
        raise TypeError(f"from_dict: expected a dict with a 'kind' key; got {type(data).__name__}: {check.show(data)}")
    _check_nesting("from_dict", data)
    return _from_dict(data)


def _from_dict(data: dict[Any, Any]) -> Schedule:
    if "kind" not in data:
        keys = ", ".join(check.show(k) for k in data)
        raise ValueError(f"from_dict: the dict has no 'kind' key; got keys {keys}")
    kind = data["kind"]
    if isinstance(kind, str) and kind in KINDS and not KINDS[kind].serialisable:
        names = ", ".join(KINDS[kind].names)
        raise ValueError(f"from_dict: a {kind}({names}) schedule is not serialisable: rebuild it in code after loading")
    named = {k: v for k, v in data.items() if k != "kind"}
    kwargs = _arguments("from_dict", kind, named)
    return KINDS[kind].constructor(**{k: _decode_value(v) for k, v in kwargs.items()})


def from_json(text: str | bytes) -> Schedule:
    """Rebuild a schedule from ``Schedule.to_json()``.

    Args:
        text: JSON text (str or bytes) holding one schedule's dict, as ``to_json`` writes it.

    Returns:
        The ``Schedule`` it describes; every argument is validated as by ``from_dict``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_json('{"kind": "step", "init": 1.0, "step_size": 10, "gamma": 0.5}')
        >>> s, s(25)
        (step(init=1, step_size=10, gamma=0.5), 0.25)
        >>> lr.from_json(s.to_json()) == s
        True
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"from_json: expected JSON text; got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"from_json: malformed JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"from_json: {err}") from None
    except RecursionError:
        raise ValueError(
            f"from_json: the JSON nests deeper than Python's recursion limit ({sys.getrecursionlimit()}); "
            f"schedules nest at most {MAX_DEPTH} levels"
        ) from None
    if isinstance(data, dict):
        _check_nesting("from_json", data)
    return from_dict(data)
