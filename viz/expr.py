"""Small math expressions, turned into a graph of 0-d tensors: ``tanh(w1*x1 + w2*x2 + b)``.

Used by ``tinygrad-lab graph --expr``. The text is parsed with Python's
``ast`` module and only a tiny language is accepted, checked node by node
(nothing is ever passed to ``eval``):

* names (``w1``, ``x``) become 0-d float32 tensors that require grad;
* numbers stay constants;
* ``+ - * / **`` and unary ``-``/``+``;
* calls of the functions in :data:`FUNCTIONS`, e.g. ``tanh(z)``, ``sigmoid(z, 2)``
  (a second argument is the steepness ``k``), ``max(a, b)``.

Anything else (attributes, subscripts, strings, lambdas, ``__import__``, ...)
is rejected with an :class:`ExpressionError` saying where and why.
"""
from __future__ import annotations

import ast
import re

import numpy as np

import tinygrad_lab as tl
from tinygrad_lab import Tensor

__all__ = ["parse_expression", "parse_values", "compact", "ExpressionError", "FUNCTIONS"]

MAX_LENGTH = 500    # characters: an expression for a picture, not a program
MAX_NODES = 200     # syntax-tree nodes
NAME_LIMIT = 32     # intermediate tensors are named after their sub-expression up to this length

# name -> (function, number of tensor arguments, allowed extra numeric arguments)
FUNCTIONS = {
    "tanh": (tl.tanh, 1, ("k",)),
    "sigmoid": (tl.sigmoid, 1, ("k",)),
    "relu": (tl.relu, 1, ()),
    "relu6": (tl.relu6, 1, ()),
    "leaky_relu": (tl.leaky_relu, 1, ("slope",)),
    "softplus": (tl.softplus, 1, ()),
    "exp": (tl.exp, 1, ()),
    "log": (tl.log, 1, ()),
    "sqrt": (tl.sqrt, 1, ()),
    "abs": (tl.abs, 1, ()),
    "max": (tl.maximum, 2, ()),
    "min": (tl.minimum, 2, ()),
}
_OPERATORS = {ast.Add: tl.add, ast.Sub: tl.sub, ast.Mult: tl.mul, ast.Div: tl.div,
              ast.Pow: tl.pow}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ExpressionError(ValueError):
    """The expression (or a --values entry) is not one this small language accepts."""


def parse_values(text: str | None) -> dict[str, float]:
    """``"w1=0.5, x1=-2"`` -> ``{"w1": 0.5, "x1": -2.0}``."""
    values = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, number = part.partition("=")
        name, number = name.strip(), number.strip()
        if not sep or not _NAME.match(name):
            raise ExpressionError(f"--values: expected name=number pairs separated by commas, "
                                  f"got {part!r}")
        try:
            values[name] = float(number)
        except ValueError:
            raise ExpressionError(f"--values: {name}={number!r} is not a number") from None
    return values


def parse_expression(text: str, values: dict | None = None, seed=0
                     ) -> tuple[Tensor, dict[str, Tensor]]:
    """Build ``text`` from 0-d tensors; return ``(out, {name: variable tensor})``.

    The result is named "out"; every other intermediate tensor is named after
    its sub-expression (``w1*x1``) when that is short.

    Variables get their number from ``values``, or else a random one in
    [-1, 1] (rounded to 2 decimals, so the picture stays readable) from
    ``numpy.random.default_rng(seed)``, in order of first appearance.
    """
    tree = _parse(text)
    names = _variables(tree)
    values = dict(values or {})
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ExpressionError(f"--values names {', '.join(unknown)}, which the expression "
                              f"does not use (it uses {', '.join(names) or 'no names'})")
    if not names:
        raise ExpressionError("the expression has no variables, so there is nothing to "
                              "differentiate; use names like x, w1 or b")
    rng = np.random.default_rng(seed)
    variables = {}
    for name in names:
        value = values[name] if name in values else round(float(rng.uniform(-1, 1)), 2)
        variables[name] = Tensor(value, requires_grad=True, name=name)
    result = _Builder(variables).build(tree.body)
    if not isinstance(result, Tensor) or result is variables.get(result.name):
        if isinstance(result, Tensor):  # the expression is a bare name: draw out = +x
            result = result * 1.0
        else:
            raise ExpressionError("the expression does not depend on any variable")
    result.name = "out"
    if not np.all(np.isfinite(result.data)):
        raise ExpressionError(f"the expression is {result.item()} for these values "
                              f"({_values_text(variables)}); choose others with --values")
    return result, variables


def compact(text: str) -> str:
    """``w1 * x1 + b`` -> ``w1*x1 + b``: products read as one term, as on paper."""
    return re.sub(r" (\*\*|\*|/) ", r"\1", text)


def _values_text(variables):
    return ", ".join(f"{n}={t.item():g}" for n, t in variables.items())


def _parse(text: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most "
                              f"{MAX_LENGTH} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"cannot parse {text!r}: {err.msg} at column {err.offset}") from None
    count = 0
    for node in ast.walk(tree):
        count += 1
        _check(node)
    if count > MAX_NODES:
        raise ExpressionError(f"the expression has {count} parts; at most {MAX_NODES} "
                              f"are allowed")
    return tree


def _check(node):
    """Reject every kind of syntax outside the small language, naming it."""
    where = f" (column {node.col_offset + 1})" if hasattr(node, "col_offset") else ""
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
               ast.Load, ast.operator, ast.unaryop)
    if not isinstance(node, allowed):
        raise ExpressionError(f"{type(node).__name__} is not allowed{where}: use numbers, "
                              f"names, + - * / ** and the functions {', '.join(FUNCTIONS)}")
    if isinstance(node, ast.BinOp) and type(node.op) not in _OPERATORS:
        raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed{where}; "
                              f"use + - * / **")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
        raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed{where}")
    if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or
                                           not isinstance(node.value, (int, float))):
        raise ExpressionError(f"only numbers are allowed as constants{where}, "
                              f"got {node.value!r}")
    if isinstance(node, ast.Name) and not _NAME.match(node.id):
        raise ExpressionError(f"the name {node.id!r}{where} is not allowed: names start with a "
                              f"letter and hold letters, digits and _")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = (f"{node.func.id!r}" if isinstance(node.func, ast.Name)
                      else "a method or the result of an expression")
            raise ExpressionError(f"calling {called} is not allowed{where}; only these "
                                  f"functions can be called: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError(f"{node.func.id}(): keyword arguments are not allowed{where}")
        _, tensors, extras = FUNCTIONS[node.func.id]
        if not tensors <= len(node.args) <= tensors + len(extras):
            wanted = ", ".join(["x", "y"][:tensors] + [f"[{e}]" for e in extras])
            raise ExpressionError(f"{node.func.id}() takes ({wanted}), got {len(node.args)} "
                                  f"argument(s){where}")
        for extra in node.args[tensors:]:
            if not _is_number(extra):
                raise ExpressionError(f"{node.func.id}(): the argument after the input must "
                                      f"be a number{where}")


def _is_number(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _variables(tree) -> list[str]:
    """The names used as values, in order of first appearance (function names excluded)."""
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in calls:
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{node.id} is a function: write {node.id}(...)")
            if node.id not in names:
                names.append(node.id)
    # ast.walk is breadth-first; sort by position so "w1*x1 + b" gives w1, x1, b.
    positions = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            pos = (node.lineno, node.col_offset)
            positions[node.id] = min(positions.get(node.id, pos), pos)
    return sorted(names, key=lambda n: positions[n])


class _Builder:
    """Evaluates a checked tree on tensors; constants stay NumPy float64 numbers.

    NumPy numbers, not Python ints, so a constant part like ``9**9**9``
    overflows to inf at once instead of computing a huge integer.
    """

    def __init__(self, variables):
        self.variables = variables

    def build(self, node):
        # Recursion depth is bounded by MAX_LENGTH: the tree of a 500-character text.
        if isinstance(node, ast.Constant):
            return np.float64(node.value)
        if isinstance(node, ast.Name):
            return self.variables[node.id]
        with np.errstate(all="ignore"):  # an inf/nan result is reported once, at the end
            if isinstance(node, ast.UnaryOp):
                value = self.build(node.operand)
                result = -value if isinstance(node.op, ast.USub) else value
            elif isinstance(node, ast.BinOp):
                left, right = self.build(node.left), self.build(node.right)
                if isinstance(left, Tensor) or isinstance(right, Tensor):
                    result = _OPERATORS[type(node.op)](left, right)
                else:
                    result = _numpy_operator(node.op, left, right)
            else:
                result = self.call(node)
        if isinstance(result, Tensor) and result.name is None:
            label = compact(ast.unparse(node))
            result.name = label if len(label) <= NAME_LIMIT else None
        return result

    def call(self, node):
        fn, tensors, _ = FUNCTIONS[node.func.id]
        inputs = [self.build(a) for a in node.args[:tensors]]
        extras = [float(self.build(a)) for a in node.args[tensors:]]
        if not any(isinstance(x, Tensor) for x in inputs):
            inputs[0] = Tensor(inputs[0])  # a function of constants: still draw the op
        return fn(*inputs, *extras)


def _numpy_operator(op, a, b):
    return {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
            ast.Div: np.divide, ast.Pow: np.power}[type(op)](a, b)
