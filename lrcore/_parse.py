"""A safe reader for schedule expressions such as
``"warmup(cosine(init=0.1, steps=900), steps=100) * 0.5"``.

It walks the ``ast`` tree itself and allows only calls of whitelisted lrcore
names, number/string/bool/None literals, lists, tuples, dicts, unary minus and
``*`` / ``+`` between schedules and numbers.  Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import ast
import numbers
import re
from collections.abc import Callable
from typing import Any

from . import _validate as check
from ._registry import KINDS
from ._schedule import MAX_DEPTH, Schedule

# Extra callables that expressions may use (the converters register here).
NAMES: dict[str, Callable[..., Any]] = {}

_MAX_LENGTH = 100_000
# Signs in a row ("--1" is 1): Python's own parser gives up on a few thousand.
_MAX_SIGNS = 16
_SIGNS = re.compile(r"[-+](?:\s*[-+]){" + str(_MAX_SIGNS) + ",}")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, node: ast.AST, message: str, exc: type[Exception] = ValueError) -> Exception:
        col = getattr(node, "col_offset", 0)
        return exc(f"parse: {message} at column {col + 1} of {check.show(self.text)}")

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, float, str, bool)) or node.value is None:
                return node.value
            raise self.error(node, f"literal {node.value!r} is not allowed")
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            out = {}
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise self.error(node, "'**' in a dict is not allowed")
                name = self.value(key)
                if not isinstance(name, (str, int, float)) or isinstance(name, bool):
                    raise self.error(key, f"a dict key must be a string or a number; got {check.show(name)}", TypeError)
                out[name] = self.value(item)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, bool) or not isinstance(operand, (int, float)):
                raise self.error(node, "a sign applies to numbers only")
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
            left, right = self.value(node.left), self.value(node.right)
            sign = "*" if isinstance(node.op, ast.Mult) else "+"
            for operand in (left, right):
                if isinstance(operand, Schedule):
                    continue
                if isinstance(operand, bool) or not isinstance(operand, numbers.Real):
                    rule = f"'{sign}' combines a schedule with a schedule or a real number; got {check.show(operand)}"
                    raise self.error(node, rule, TypeError)
            if not (isinstance(left, Schedule) or isinstance(right, Schedule)):
                raise self.error(node, f"'{sign}' combines a schedule with a schedule or a number")
            return left * right if sign == "*" else left + right
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.error(node, "only calls of lrcore names are allowed (no attributes)")
            name = node.func.id
            fn = (KINDS[name].constructor if name in KINDS else None) or NAMES.get(name)
            if fn is None or name.startswith("_"):
                raise self.error(node, f"unknown name {name!r}")
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise self.error(node, "'*args' and '**kwargs' are not allowed")
            args = [self.value(a) for a in node.args]
            kwargs = {}
            for k in node.keywords:
                if k.arg in kwargs:  # Python refuses this at compile time; ast.parse does not
                    raise self.error(k, f"keyword argument {k.arg!r} repeated")
                kwargs[str(k.arg)] = self.value(k.value)
            try:
                return fn(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"parse: {err}") from None
        if isinstance(node, ast.Name):
            raise self.error(node, f"unknown name {node.id!r} (call a constructor, e.g. constant(value=0.1))")
        raise self.error(node, f"{type(node).__name__} is not allowed")


def parse(text: str) -> Schedule:
    """Read a schedule expression (the form ``repr(schedule)`` writes).

    The expression is read from its syntax tree, never evaluated: only calls of
    lrcore's constructors and converters, literals, lists, tuples, dicts, unary
    minus and ``*`` / ``+`` are allowed, and each constructor checks its arguments.

    Args:
        text: the expression, e.g. ``repr(s)`` or a line from a config file.

    Returns:
        The ``Schedule`` the expression builds.

    Example:
        >>> import lrcore as lr
        >>> s = lr.parse("warmup(cosine(init=1.0, steps=100), steps=10)")
        >>> s(5), round(s(60), 6)
        (0.5, 0.5)
        >>> s == lr.parse(repr(s)), repr(s)
        (True, 'warmup(cosine(init=1, steps=100), steps=10)')
    """
    if not isinstance(text, str):
        raise TypeError(f"parse: expected a string; got {type(text).__name__}: {text!r}")
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"parse: expression longer than {_MAX_LENGTH} characters; got {len(text)}")
    signs = _SIGNS.search(text)
    if signs:
        count = sum(c in "+-" for c in signs.group())
        raise ValueError(
            f"parse: {count} signs in a row at column {signs.start() + 1}; at most {_MAX_SIGNS} are allowed"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"parse: not a valid expression ({err.msg}) in {check.show(text)}") from None
    except (RecursionError, MemoryError):  # what Python's parser raises for very deep nesting
        raise ValueError(
            f"parse: the expression is nested too deeply for Python's parser; schedules nest at most {MAX_DEPTH} levels"
        ) from None
    depth = _nesting(tree.body)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"parse: the expression nests schedules {depth} levels deep; schedules nest at most {MAX_DEPTH} levels"
        )
    result = _Reader(text).value(tree.body)
    if not isinstance(result, Schedule):
        raise ValueError(f"parse: the expression is not a schedule; got {check.show(result)}")
    return result


def _nesting(root: ast.AST) -> int:
    """The most calls and operators on one path from the root: each builds at least one
    schedule level around what it contains.  Found without recursion, so any depth is safe."""
    deepest = 0
    stack = [(root, 0)]
    while stack:
        node, above = stack.pop()
        level = above + isinstance(node, (ast.Call, ast.BinOp))
        deepest = max(deepest, level)
        stack.extend((child, level) for child in ast.iter_child_nodes(node))
    return deepest
