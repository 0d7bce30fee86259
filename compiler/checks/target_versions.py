"""Check: the catalog uses nothing its target Prometheus version lacks."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.expr import ast
from compiler.link import token_offset
from compiler.incremental import cached
from compiler.model import Catalog, Expression, Service

# Functions Prometheus added after 2.0, with the release that added them (experimental ones
# count from the release where they appeared behind the feature flag).
FUNCTIONS_SINCE: dict[str, tuple[int, int]] = {
    "group": (2, 20), "last_over_time": (2, 26), "clamp": (2, 26), "sgn": (2, 26),
    "present_over_time": (2, 29), "histogram_count": (2, 40), "histogram_sum": (2, 40),
    "histogram_fraction": (2, 40), "histogram_stddev": (2, 46), "histogram_stdvar": (2, 46),
    "histogram_avg": (2, 50), "sort_by_label": (2, 48), "sort_by_label_desc": (2, 48),
    "mad_over_time": (2, 54), "limitk": (3, 0), "limit_ratio": (3, 0), "info": (3, 0),
    "double_exponential_smoothing": (3, 0), "ts_of_max_over_time": (3, 5),
    "ts_of_min_over_time": (3, 5), "ts_of_last_over_time": (3, 5), "first_over_time": (3, 7),
}
REMOVED_IN: dict[str, tuple[int, int]] = {"holt_winters": (3, 0)}
FIELDS_SINCE = {"keep_firing_for": (2, 42), "query_offset": (2, 53)}


def _v(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _expr(expr: Expression, target: tuple[int, int]) -> Iterator[Diagnostic]:
    for node in ast.walk(expr.tree):
        name = node.func if isinstance(node, ast.Call) else node.op if isinstance(node, ast.Aggregation) else None
        if name is None:
            continue
        since = FUNCTIONS_SINCE.get(name)
        if since and target < since:
            yield error("MC420", f"{name}() needs Prometheus {_v(since)}; the target is {_v(target)}",
                        expr.loc_at(token_offset(expr.text, name)),
                        "rewrite without it, or raise `targets.prometheus.version`")
        gone = REMOVED_IN.get(name)
        if gone and target >= gone:
            yield error("MC420", f"{name}() was removed in Prometheus {_v(gone)}; the target is {_v(target)}",
                        expr.loc_at(token_offset(expr.text, name)), "use its replacement")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    target = catalog.settings.prometheus_version
    if catalog.settings.query_offset_ms is not None and target < FIELDS_SINCE["query_offset"]:
        yield error("MC421", f"query_offset needs Prometheus 2.53; the target is {_v(target)}",
                    catalog.settings.field_locs["prometheus.query_offset"],
                    "remove it, or raise `targets.prometheus.version`")
    for svc in catalog.services:
        yield from cached(catalog, "check.target_versions", svc,
                          lambda: list(_service(catalog, svc)))


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    target = catalog.settings.prometheus_version
    for rule in svc.recording_rules.values():
        yield from _expr(rule.expr, target)
    for alert in svc.alerts.values():
        yield from _expr(alert.expr, target)
        if alert.keep_firing_for_ms is not None and target < FIELDS_SINCE["keep_firing_for"]:
            yield error("MC421", f"keep_firing_for needs Prometheus 2.42; the target is {_v(target)}",
                        alert.at("keep_firing_for"),
                        "remove it, or raise `targets.prometheus.version`")
