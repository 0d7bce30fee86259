"""Expression analysis: the threshold an alert compares against, for panels, diffs and other targets."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.expr import ast

_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Threshold:
    """`query op value`: the alert fires where the query's value satisfies `op value`."""

    op: str
    value: float
    query: ast.Expr


def threshold(tree: ast.Expr) -> Threshold | None:
    """The top-level comparison of a query with a number, if the alert is written that way."""
    while isinstance(tree, ast.Paren):
        tree = tree.expr
    if not isinstance(tree, ast.Binary) or tree.op not in _FLIP or tree.return_bool:
        return None
    rhs, lhs = _number(tree.rhs), _number(tree.lhs)
    if rhs is not None and lhs is None:
        return Threshold(tree.op, rhs, tree.lhs)
    if lhs is not None and rhs is None:
        return Threshold(_FLIP[tree.op], lhs, tree.rhs)
    return None


def _number(node: ast.Expr) -> float | None:
    while isinstance(node, ast.Paren):
        node = node.expr
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Unary) and isinstance(node.expr, ast.Number):
        return -node.expr.value
    if isinstance(node, ast.Binary) and node.op in ("*", "/", "+", "-"):
        # `26 * 3600` is still a constant threshold.
        a, b = _number(node.lhs), _number(node.rhs)
        if a is not None and b is not None:
            try:
                return {"*": a * b, "/": a / b, "+": a + b, "-": a - b}[node.op]
            except ZeroDivisionError:
                return None
    return None
