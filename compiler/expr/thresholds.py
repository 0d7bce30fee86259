"""Expression analysis: the threshold an alert compares against, for panels, diffs and other targets."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.expr import ast

FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
# The comparison that holds exactly where the given one does not.
NEGATED = {">": "<=", "<=": ">", "<": ">=", ">=": "<", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Threshold:
    """`query op value`: the alert fires where the query's value satisfies `op value`."""

    op: str
    value: float
    query: ast.Expr

    def holds(self, x: float) -> bool:
        """Whether a series at value `x` satisfies the comparison."""
        return {">": x > self.value, ">=": x >= self.value, "<": x < self.value,
                "<=": x <= self.value, "==": x == self.value, "!=": x != self.value}[self.op]


def threshold(tree: ast.Expr) -> Threshold | None:
    """The top-level comparison of a query with a number, if the alert is written that way."""
    while isinstance(tree, ast.Paren):
        tree = tree.expr
    if not isinstance(tree, ast.Binary) or tree.op not in FLIP or tree.return_bool:
        return None
    rhs, lhs = _number(tree.rhs), _number(tree.lhs)
    if rhs is not None and lhs is None:
        return Threshold(tree.op, rhs, tree.lhs)
    if lhs is not None and rhs is None:
        return Threshold(FLIP[tree.op], lhs, tree.rhs)
    return None


def constant(node: ast.Expr) -> float | None:
    """The value of a constant expression (`0.02`, `-1`, `26 * 3600`), else None."""
    return _number(node)


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


def conditions(tree: ast.Expr) -> list[Threshold]:
    """Every comparison with a number that an alert combines with and/or/unless, as the
    condition under which the alert fires, in order of appearance: the right side of `unless`
    fires when its comparison fails (`unless x > 0` gives `x <= 0`), and a chain such as
    `hour(...) >= 8 < 22` gives both comparisons. Panels plotting one of these queries show it."""
    found: list[Threshold] = []

    def visit(node: ast.Expr, negated: bool) -> None:
        while isinstance(node, ast.Paren):
            node = node.expr
        if isinstance(node, ast.Binary) and node.op in ast.SET_OPS:
            visit(node.lhs, negated)
            visit(node.rhs, negated != (node.op == "unless"))
            return
        here = threshold(node)
        if here is not None:
            op = NEGATED[here.op] if negated else here.op
            found.append(Threshold(op, here.value, here.query))
            visit(here.query, negated)

    visit(tree, False)
    return found
