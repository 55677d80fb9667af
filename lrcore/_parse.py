"""A safe reader for schedule expressions such as
``"warmup(cosine(init=0.1, steps=900), steps=100) * 0.5"``.

It walks the ``ast`` tree itself and allows only calls of whitelisted lrcore
names, number/string/bool/None literals, lists, tuples, dicts, unary minus and
``*`` / ``+`` between schedules and numbers.  Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from ._schedule import CONSTRUCTORS, Schedule

# Extra callables that expressions may use (the converters register here).
NAMES: dict[str, Callable[..., Any]] = {}

_MAX_LENGTH = 100_000


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, node: ast.AST, message: str) -> ValueError:
        col = getattr(node, "col_offset", 0)
        return ValueError(f"parse: {message} at column {col + 1} of {self.text!r}")

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
                out[self.value(key)] = self.value(item)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, bool) or not isinstance(operand, (int, float)):
                raise self.error(node, "a sign applies to numbers only")
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
            left, right = self.value(node.left), self.value(node.right)
            if not (isinstance(left, Schedule) or isinstance(right, Schedule)):
                raise self.error(node, "'*' and '+' combine a schedule with a schedule or a number")
            result = left * right if isinstance(node.op, ast.Mult) else left + right
            if result is NotImplemented:
                raise self.error(node, "'*' and '+' combine a schedule with a schedule or a number")
            return result
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.error(node, "only calls of lrcore names are allowed (no attributes)")
            name = node.func.id
            fn = CONSTRUCTORS.get(name) or NAMES.get(name)
            if fn is None or name.startswith("_"):
                raise self.error(node, f"unknown name {name!r}")
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise self.error(node, "'*args' and '**kwargs' are not allowed")
            args = [self.value(a) for a in node.args]
            kwargs = {str(k.arg): self.value(k.value) for k in node.keywords}
            try:
                return fn(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"parse: {err}") from None
        if isinstance(node, ast.Name):
            raise self.error(node, f"unknown name {node.id!r} (call a constructor, e.g. constant(value=0.1))")
        raise self.error(node, f"{type(node).__name__} is not allowed")


def parse(text: str) -> Schedule:
    """Read a schedule expression (the form ``repr(schedule)`` writes)."""
    if not isinstance(text, str):
        raise TypeError(f"parse: expected a string; got {type(text).__name__}: {text!r}")
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"parse: expression longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
        result = _Reader(text).value(tree.body)
    except SyntaxError as err:
        raise ValueError(f"parse: not a valid expression ({err.msg}) in {text!r}") from None
    except RecursionError:
        raise ValueError("parse: expression nested too deeply") from None
    if not isinstance(result, Schedule):
        raise ValueError(f"parse: the expression is not a schedule; got {result!r}")
    return result
