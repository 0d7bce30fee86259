"""Check: counters are read through rate()/increase(), and only counters are."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.expr import ast
from compiler.link import series_names, token_offset
from compiler.incremental import per_service
from compiler.model import Catalog, Expression, Metric, Service

COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}
NEUTRAL_FUNCS = {"absent", "absent_over_time", "present_over_time", "timestamp", "count_over_time",
                 "last_over_time"}


def _visit(node: ast.Expr, parent_func: str | None, found: list) -> None:
    if isinstance(node, ast.Selector):
        found.append((node, parent_func))
        return
    func = node.func if isinstance(node, ast.Call) else None
    for child in ast.children(node):
        nxt = func if func is not None else (parent_func if isinstance(node, ast.RangeSelector) else None)
        _visit(child, nxt, found)


def _expr(expr: Expression, names: dict) -> Iterator[Diagnostic]:
    found: list = []
    _visit(expr.tree, None, found)
    for sel, func in found:
        metric = names.get(sel.metric or "")
        if not isinstance(metric, Metric) or func in NEUTRAL_FUNCS:
            continue
        is_counter = metric.type == "counter" or (
            metric.type in ("histogram", "summary") and sel.metric != metric.name
            and sel.metric.endswith(("_bucket", "_count", "_sum")))
        if is_counter and func not in COUNTER_FUNCS:
            yield warning("MC430", f"counter {sel.metric!r} is read without rate() or increase()",
                          expr.loc_at(token_offset(expr.text, sel.metric)),
                          "a counter's raw value resets on restart: wrap it in rate(...[5m]) or increase()")
        elif not is_counter and func in COUNTER_FUNCS:
            yield warning("MC431", f"{func}() of {metric.type} {sel.metric!r}",
                          expr.loc_at(token_offset(expr.text, sel.metric)),
                          "rate() and increase() are for counters: use deriv() or delta() for gauges")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.counters", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    for rule in svc.recording_rules.values():
        yield from _expr(rule.expr, names)
    for alert in svc.alerts.values():
        yield from _expr(alert.expr, names)
    for dash in svc.dashboards.values():
        for row in dash.rows:
            for panel in row.panels:
                for q in panel.queries:
                    yield from _expr(q.expr, names)
