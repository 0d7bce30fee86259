"""Datadog target, markers: the thresholds of a panel's alerts, drawn on the panel's scale.

A panel that plots `sum(rate(x[$__rate_interval])) * 60` shows what an alert on
`sum(increase(x[10m])) > 20` compares, scaled: the increase is the rate times 600 s, the panel
multiplies the rate by 60, so the line goes at 20 / 600 * 60 = 2. Queries are compared after
dropping parentheses, with a panel's dashboard-variable window matching any window.
"""
from __future__ import annotations

import dataclasses

from compiler.dialects.datadog import number
from compiler.expr import ast
from compiler.expr.thresholds import threshold
from compiler.model import Alert, Catalog, Panel, Service

FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
NEGATED = {">": "<=", "<=": ">", "<": ">=", ">=": "<", "==": "!=", "!=": "=="}


def _scaled(node: ast.Expr) -> tuple[ast.Expr, float]:
    """(core, factor) with node == factor * core; increase(x[w]) counts as w seconds of rate."""
    node = ast.without_parens(node)
    if isinstance(node, ast.Binary) and node.op in ("*", "/") and not node.return_bool:
        if isinstance(node.rhs, ast.Number) and node.rhs.value:
            core, k = _scaled(node.lhs)
            return core, k * node.rhs.value if node.op == "*" else k / node.rhs.value
        if isinstance(node.lhs, ast.Number) and node.op == "*":
            core, k = _scaled(node.rhs)
            return core, k * node.lhs.value
    if isinstance(node, ast.Aggregation) and node.op in ("sum", "avg", "max", "min"):
        inner = node.expr
        if isinstance(inner, ast.Call) and inner.func == "increase" and \
                isinstance(inner.args[0], ast.RangeSelector) and inner.args[0].range_var is None:
            rate = ast.Call("rate", inner.args)
            return dataclasses.replace(node, expr=rate), inner.args[0].range_ms / 1000
    return node, 1.0


def _same(panel: ast.Expr, alert: ast.Expr) -> bool:
    if isinstance(panel, ast.RangeSelector) and isinstance(alert, ast.RangeSelector):
        return panel.selector == alert.selector and (
            panel.range_var is not None or panel.range_ms == alert.range_ms)
    if type(panel) is not type(alert):
        return False
    for name, kind, mine in ast.fields_of(panel):
        theirs = getattr(alert, name)
        if kind == ast.NODES:
            if len(mine) != len(theirs) or not all(_same(a, b) for a, b in zip(mine, theirs)):
                return False
        elif kind == ast.NODE:
            if not _same(mine, theirs):
                return False
        elif mine != theirs:
            return False
    return True


def _comparisons(tree: ast.Expr) -> list[tuple[str, float, ast.Expr]]:
    """Every `query op number` the alert combines with and/or/unless."""
    tree = ast.without_parens(tree)
    if isinstance(tree, ast.Binary) and tree.op in ast.SET_OPS:
        right = _comparisons(tree.rhs)
        if tree.op == "unless":  # the alert fires where the right side does not hold
            right = [(NEGATED[op], value, query) for op, value, query in right]
        return _comparisons(tree.lhs) + right
    found = threshold(tree)
    return [(found.op, found.value, found.query)] if found else []


def markers(catalog: Catalog, service: Service, panel: Panel, included: set[str]) -> list[dict[str, str]]:
    """Markers for the alerts the panel names (those compiled for Datadog)."""
    out: list[dict[str, str]] = []
    plotted = [_scaled(q.expr.tree) for q in panel.queries]
    for name in panel.alerts:
        alert: Alert | None = service.alerts.get(name)
        if alert is None or name not in included:
            continue
        severity = service.severity(alert.severity, catalog.severities)
        for op, value, query in _comparisons(alert.expr.tree):
            want, wfactor = _scaled(query)
            for got, gfactor in plotted:
                if not wfactor or not _same(got, want):
                    continue
                ratio = gfactor / wfactor
                at = float(f"{value * ratio:.12g}")
                marker = {"value": f"y = {number(at)}",
                          "label": f"{name} ({op if ratio > 0 else FLIP[op]} {number(at)})",
                          "display_type": "error dashed" if severity is None or severity.page
                          else "warning dashed"}
                if marker not in out:
                    out.append(marker)
    return out
