"""Check: a label matcher, in a query or an example's series, names a label its metric declares
(when the metric declares its labels): `consumer_group` for a declared `consumergroup` matches
nothing, and the alert stays quiet without a word from promtool but "does not fire"."""
from __future__ import annotations

import difflib
from typing import Iterable, Iterator

from compiler.diagnostics import Diagnostic, Loc, warning
from compiler.example_labels import parse_series
from compiler.expr import ast
from compiler.expr.parse import ParseError
from compiler.incremental import per_service
from compiler.link import series_names, token_offset
from compiler.model import Catalog, Expression, Metric, Service

CODE = "MC417"
# Labels no metric declares: Prometheus' scrape adds job and instance; a histogram's buckets
# carry `le`, a summary's quantiles `quantile`.
IMPLICIT = frozenset({"__name__", "job", "instance", "le", "quantile"})


def _undeclared(selector: ast.Selector, names: dict[str, object], implicit: frozenset[str]) -> Iterator[
        tuple[str, Metric]]:
    metric = names.get(selector.metric or "")
    if not isinstance(metric, Metric) or not metric.labels:
        return  # a metric that lists no labels leaves them open
    for matcher in selector.matchers:
        if matcher.name not in metric.labels and matcher.name not in implicit:
            yield matcher.name, metric


def _hint(label: str, metric: Metric) -> str:
    close = difflib.get_close_matches(label, metric.labels, n=1)
    fix = f"did you mean {close[0]!r}? " if close else ""
    return (f"{fix}{metric.name} declares {', '.join(metric.labels)}: fix the name, or add it to "
            "the metric's `labels:`")


def _queries(service: Service) -> Iterable[Expression]:
    for alert in service.alerts.values():
        yield alert.expr
    for rule in service.recording_rules.values():
        for definition in rule.definitions():
            yield definition.expr
    for dashboard in service.dashboards.values():
        for row in dashboard.rows:
            for panel in row.panels:
                yield from (q.expr for q in panel.queries)


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    # Per service, from the cache while the service is unchanged: the metrics its queries name
    # are in its cache key, the scrape labels in the settings.
    return per_service(catalog, "check.declared_labels", _service)


def _service(catalog: Catalog, service: Service) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    implicit = IMPLICIT | set(catalog.settings.datadog.scrape_labels)
    for expr in _queries(service):
        for node in ast.walk(expr.tree):
            if isinstance(node, ast.Selector):
                for label, metric in _undeclared(node, names, implicit):
                    yield warning(CODE, f"label {label!r} is not declared on {metric.name}: "
                                  "a slip in its name makes the matcher select nothing",
                                  expr.loc_at(token_offset(expr.text, label)), _hint(label, metric))
    for alert in service.alerts.values():
        for ex in alert.examples:
            locs = ex.series_locs or tuple((ex.loc, ex.loc) for _ in ex.series)
            for (selector, _), (at, _) in zip(ex.series, locs):
                yield from _series(selector, at, names, implicit)


def _series(selector: str, at: Loc, names: dict[str, object], implicit: frozenset[str]) -> Iterator[Diagnostic]:
    try:
        tree = parse_series(selector)
    except ParseError:
        return  # MC412's
    if isinstance(tree, ast.Selector):
        for label, metric in _undeclared(tree, names, implicit):
            yield warning(CODE, f"example series {selector!r} has label {label!r}, which "
                          f"{metric.name} does not declare", at, _hint(label, metric))
