"""Expression analysis: what a query plots, up to its range windows and a constant factor.

A panel plotting `sum(rate(x[$__rate_interval])) * 600` shows what an alert on
`sum(increase(x[10m])) > 20` compares: both are `sum(rate(x[10m]))` scaled (by 600, and by
10m = 600 s), the panel's `$__rate_interval` standing for any window. Knowing both factors, a
panel draws the alert's threshold on its own scale.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from compiler.expr import ast
from compiler.expr.thresholds import constant

# Aggregations that commute with multiplying every input by a positive constant.
_LINEAR_AGGREGATIONS = {"sum", "avg"}
_EXTREMES = {"min", "max"}


@dataclass(frozen=True)
class Shape:
    """`factor * core`: the core is the query's tree without parentheses."""

    core: ast.Expr
    factor: float | None


def plots(panel: ast.Expr, alert: ast.Expr) -> bool:
    """Whether a panel's core plots an alert's core: the same tree, where a panel window that is
    a dashboard variable (`$__rate_interval`) stands for any window the alert wrote and a panel
    selector may leave out some of the alert's label matchers."""
    if isinstance(panel, ast.RangeSelector) and isinstance(alert, ast.RangeSelector):
        return plots(panel.selector, alert.selector) and (
            panel.range_var is not None or panel.range_ms == alert.range_ms)
    if isinstance(panel, ast.Selector) and isinstance(alert, ast.Selector):
        # The panel may show more series than the alert reads (fewer matchers), not others.
        return (panel.metric, panel.offset_ms, panel.at) == (alert.metric, alert.offset_ms, alert.at) \
            and set(panel.matchers) <= set(alert.matchers)
    if type(panel) is not type(alert):
        return False
    for name, kind, mine in ast.fields_of(panel):
        theirs = getattr(alert, name)
        if kind == ast.NODES:
            if len(mine) != len(theirs) or not all(plots(a, b) for a, b in zip(mine, theirs)):
                return False
        elif kind == ast.NODE:
            if not dataclasses.is_dataclass(theirs) or not plots(mine, theirs):
                return False
        elif mine != theirs:
            return False
    return True


def skeleton(core: ast.Expr) -> tuple:
    """What `plots` compares, without what it allows to differ (range windows and label
    matchers): two cores can only plot one another when their skeletons are equal, so an index
    on it narrows the alerts a panel has to compare."""
    if isinstance(core, ast.RangeSelector):
        return ("range", skeleton(core.selector))
    if isinstance(core, ast.Selector):
        return ("selector", core.metric, core.offset_ms, core.at)
    parts: list = [type(core).__name__]
    for _, kind, value in ast.fields_of(core):
        parts.append(tuple(skeleton(v) for v in value) if kind == ast.NODES
                     else skeleton(value) if kind == ast.NODE else value)
    return tuple(parts)


def shape(node: ast.Expr) -> Shape:
    """The query as a constant multiple of a core (factor 1 where not linear). An increase()
    over a dashboard variable is a rate times a window only known when the panel is drawn: its
    factor is None, an unknown positive number."""
    while isinstance(node, ast.Paren):
        node = node.expr
    if isinstance(node, ast.Unary) and node.op == "-":
        inner = shape(node.expr)
        if inner.factor is not None:
            return Shape(inner.core, -inner.factor)
    if isinstance(node, ast.Call) and node.func == "increase" and len(node.args) == 1 \
            and isinstance(node.args[0], ast.RangeSelector):
        # increase(x[w]) is rate(x[w]) times w in seconds.
        window = node.args[0]
        core = ast.without_parens(ast.Call("rate", node.args))
        return Shape(core, None if window.range_var else window.range_ms / 1000)
    if isinstance(node, ast.Aggregation) and node.op in _EXTREMES and node.param is None:
        # A panel of the raw series crosses the line exactly where their min or max does.
        return shape(node.expr)
    if isinstance(node, ast.Aggregation) and node.op in _LINEAR_AGGREGATIONS and node.param is None:
        inner = shape(node.expr)
        if inner.factor is None or inner.factor > 0:
            return Shape(dataclasses.replace(node, expr=inner.core), inner.factor)
    if isinstance(node, ast.Binary) and node.op in ("+", "-") and not node.return_bool:
        left, right = shape(node.lhs), shape(node.rhs)
        if left.factor is not None and left.factor == right.factor:
            return Shape(dataclasses.replace(node, lhs=left.core, rhs=right.core), left.factor)
    if isinstance(node, ast.Binary) and node.op in ("*", "/") and not node.return_bool:
        lnum, rnum = constant(node.lhs), constant(node.rhs)
        if rnum is not None and lnum is None and rnum != 0:
            inner = shape(node.lhs)
            if inner.factor is not None:
                return Shape(inner.core, inner.factor * rnum if node.op == "*" else inner.factor / rnum)
            if rnum > 0:
                return inner
        if lnum is not None and rnum is None and node.op == "*":
            inner = shape(node.rhs)
            if inner.factor is not None:
                return Shape(inner.core, inner.factor * lnum)
            if lnum > 0:
                return inner
        if lnum is None and rnum is None:
            left, right = shape(node.lhs), shape(node.rhs)
            core = dataclasses.replace(node, lhs=left.core, rhs=right.core)
            if left.factor is None or right.factor is None:
                # Two increases over the same variable window: their ratio is the rates'.
                both = left.factor is None and right.factor is None and node.op == "/"
                return Shape(core, 1.0 if both else None)
            factor = left.factor * right.factor if node.op == "*" else left.factor / right.factor
            return Shape(core, factor)
    return Shape(ast.without_parens(node), 1.0)
