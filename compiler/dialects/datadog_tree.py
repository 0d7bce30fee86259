"""Datadog dialect, tree helpers: recording rules expanded in place, parentheses, numbers."""
from __future__ import annotations

import math
from decimal import Decimal

from compiler.expr import ast


def number(value: float) -> str:
    """A decimal literal Datadog reads: no exponent, no trailing zeros. NaN and the infinities,
    which the numbers check refuses before any target runs, are spelled as Python does."""
    if not math.isfinite(value):
        return repr(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def outer(text: str) -> str:
    """The text without parentheses that enclose all of it."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, c in enumerate(text):
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1]
    return text


def strip(node: ast.Expr) -> ast.Expr:
    while isinstance(node, ast.Paren):
        node = node.expr
    return node


def inline(node: ast.Expr, rules: dict[str, ast.Expr], seen: tuple[str, ...] = ()) -> ast.Expr:
    """The tree with every plain reference to a recording rule replaced by the rule's tree:
    Datadog has no recording rules, and evaluating a rule's expression in place is what reading
    the recorded series means."""
    if isinstance(node, ast.Selector):
        if node.metric in rules and not node.matchers and node.offset_ms is None \
                and node.at is None and node.metric not in seen:
            return ast.Paren(inline(rules[node.metric], rules, seen + (node.metric,)))
        return node
    if isinstance(node, (ast.Number, ast.String, ast.RangeSelector)):
        return node
    if isinstance(node, ast.Call):
        return ast.Call(node.func, tuple(inline(a, rules, seen) for a in node.args))
    if isinstance(node, ast.Aggregation):
        param = inline(node.param, rules, seen) if node.param is not None else None
        return ast.Aggregation(node.op, inline(node.expr, rules, seen), param, node.grouping,
                               node.without, node.grouped)
    if isinstance(node, ast.Binary):
        return ast.Binary(node.op, inline(node.lhs, rules, seen), inline(node.rhs, rules, seen),
                          node.return_bool, node.matching)
    if isinstance(node, (ast.Unary, ast.Paren)):
        return type(node)(node.op, inline(node.expr, rules, seen)) if isinstance(node, ast.Unary) \
            else ast.Paren(inline(node.expr, rules, seen))
    if isinstance(node, ast.Subquery):
        return ast.Subquery(inline(node.expr, rules, seen), node.range_ms, node.step_ms, node.offset_ms)
    return node
