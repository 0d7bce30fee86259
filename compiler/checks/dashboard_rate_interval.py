"""Check: dashboard queries take rate() and irate() over `$__rate_interval` (dashboard-linter's
panel-rate-interval-rule): a fixed window shows nothing when zoomed in past it and smooths away
spikes when zoomed out."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.durations import format_ms
from compiler.expr import ast
from compiler.link import token_offset
from compiler.incremental import per_service
from compiler.model import Catalog, Service

RATE_FUNCS = ("rate", "irate")
RATE_INTERVAL = "$__rate_interval"


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.dashboard_rate_interval", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for dash in svc.dashboards.values():
        for row in dash.rows:
            for panel in row.panels:
                for q in panel.queries:
                    for node in ast.walk(q.expr.tree):
                        if not (isinstance(node, ast.Call) and node.func in RATE_FUNCS and node.args):
                            continue
                        window = node.args[0]
                        if isinstance(window, ast.RangeSelector) and window.range_var != RATE_INTERVAL:
                            shown = window.range_var or format_ms(window.range_ms)
                            yield warning(
                                "MC442", f"{node.func}() over [{shown}] in panel {panel.title!r}",
                                q.expr.loc_at(token_offset(q.expr.text, node.func)),
                                f"write {node.func}(...[{RATE_INTERVAL}]): Grafana fits it to the "
                                "zoom and the scrape interval")
