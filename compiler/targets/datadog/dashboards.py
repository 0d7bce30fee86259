"""Datadog target, dashboards: the catalog's dashboards as Dashboard API payloads.

An ordered layout with one group widget per row, in the catalog's order. A panel becomes a
timeseries, query_value (one per query: a query value shows one number) or query_table widget
whose request holds the panel's metric queries (q1, q2, ...) and one formula per PromQL query,
so ratios stay ratios (https://docs.datadoghq.com/dashboards/functions/#formulas). Timeseries
widgets carry the thresholds of the alerts the panel names as horizontal markers, on the
panel's own scale. A panel query with no exact Datadog form is left out, with an info
diagnostic, and a panel left with none becomes a note saying so: nothing is drawn differently
from what the catalog says.

Windows: `[$__rate_interval]` is the graph's interval, Datadog's rollup (`.as_rate()`,
`.as_count()`); a fixed `[w]` in a graph is a sliding `moving_rollup(q, w, 'sum')`; in a one-value
widget it is the widget's timeframe, reduced by `sum` (increase) or `avg` (rate).
"""
from __future__ import annotations

import re
from typing import Any

from compiler.artifacts import ManagedObject
from compiler.diagnostics import Diagnostic, Loc, Severity
from compiler.dialects.datadog import Datadog, inline, outer
from compiler.dialects.datadog_names import Naming
from compiler.targets.datadog.markers import markers
from compiler.model import Catalog, Dashboard, Panel, Query, Service

TARGET = "datadog"
NO_PANEL_FORM = "MC705"
SCALAR = {"stat", "gauge"}
SPANS = {60_000: "1m", 300_000: "5m", 600_000: "10m", 900_000: "15m", 1_800_000: "30m",
         3_600_000: "1h", 14_400_000: "4h", 86_400_000: "1d", 172_800_000: "2d", 604_800_000: "1w"}
UNITS = (("week", 604_800_000), ("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000))
_VARIABLE = re.compile(r"\{\{\s*\$?\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _info(message: str, loc: Loc, hint: str) -> Diagnostic:
    return Diagnostic(NO_PANEL_FORM, Severity.INFO, message, loc, hint)


def _alias(legend: str) -> str:
    """The legend without `{{label}}` parts: Datadog names grouped series by their tags itself."""
    return re.sub(r"\s+", " ", _VARIABLE.sub("", legend)).strip(" -:/")


def _per(legend: str) -> str:
    """`per merchant` for a legend made of `{{merchant}}` only."""
    names = _VARIABLE.findall(legend)
    return "per " + ", ".join(names) if names else legend


def _time(window_ms: int) -> dict[str, Any]:
    if window_ms in SPANS:
        return {"live_span": SPANS[window_ms]}
    unit, size = next(((u, s) for u, s in UNITS if window_ms % s == 0), ("minute", 60_000))
    return {"type": "live", "value": max(1, window_ms // size), "unit": unit}


class _Panel:
    """The Datadog queries and formulas of one panel."""

    def __init__(self, naming: Naming, panel: Panel, scalar: bool):
        self.naming = naming
        self.panel = panel
        self.scalar = scalar
        self.queries: list[dict[str, Any]] = []
        self.formulas: list[tuple[Query, dict[str, Any], set[int]]] = []
        self.dropped: list[tuple[Query, str]] = []

    def add(self, query: Query) -> list[Diagnostic]:
        gen = Datadog(self.naming, "graph", scalar=self.scalar, first=len(self.queries) + 1)
        formula = outer(gen.generate(inline(query.expr.tree, self.naming.rules)))
        if gen.unsupported_messages or not gen.terms:
            why = gen.unsupported_messages[0].message if gen.unsupported_messages else \
                "the query reads no metric"
            self.dropped.append((query, why))
            return [_info(f"panel {self.panel.title!r}: no exact Datadog form for "
                          f"`{query.expr.text}`: {why}", query.expr.loc,
                          "the Datadog widget leaves this query out (a note says so)")]
        for q in gen.queries:
            body = {"data_source": "metrics", "name": q.name, "query": q.query}
            if self.scalar and q.aggregator:
                body["aggregator"] = q.aggregator
            self.queries.append(body)
        entry: dict[str, Any] = {"formula": formula}
        alias = _alias(query.legend)
        if alias:
            entry["alias"] = alias
        self.formulas.append((query, entry, gen.windows))
        return []


def _note(panel: Panel, dropped: list[tuple[Query, str]]) -> dict[str, Any]:
    lines = [f"**{panel.title}**: no exact Datadog form for this panel's PromQL:"]
    lines += [f"- `{q.expr.text}`: {why}" for q, why in dropped]
    return {"definition": {"type": "note", "content": "\n".join(lines), "background_color": "yellow",
                           "font_size": "14", "text_align": "left", "show_tick": False,
                           "has_padding": True}}


def widgets(catalog: Catalog, service: Service, panel: Panel, naming: Naming
            ) -> tuple[list[dict], list[Diagnostic]]:
    """The widgets of one panel (a query value per query for stat panels)."""
    diags: list[Diagnostic] = []
    kind = "query_table" if panel.type == "table" else \
        "query_value" if panel.type in SCALAR else "timeseries"
    if kind == "query_value":
        out = []
        for query in panel.queries:
            one = _Panel(naming, panel, scalar=True)
            diags += one.add(query)
            if one.dropped:
                out.append(_note(panel, one.dropped))
                continue
            _, formula, windows = one.formulas[0]
            title = panel.title if len(panel.queries) == 1 else \
                f"{panel.title}: {formula.get('alias') or _per(query.legend)}"
            # A query value shows one number: a grouped query gets a table of its groups.
            grouped = any(" by {" in q["query"] for q in one.queries)
            definition: dict[str, Any] = {
                "type": "query_table" if grouped else "query_value", "title": title,
                "requests": [{"queries": one.queries, "formulas": [formula],
                              "response_format": "scalar"}]}
            if not grouped:
                definition["autoscale"] = True
            if len(windows) == 1:
                definition["time"] = _time(next(iter(windows)))
            out.append({"definition": definition})
        return out, diags
    built = _Panel(naming, panel, scalar=kind == "query_table")
    for query in panel.queries:
        diags += built.add(query)
    if not built.formulas:
        return [_note(panel, built.dropped)], diags
    request: dict[str, Any] = {"queries": built.queries,
                               "formulas": [f for _, f, _ in built.formulas],
                               "response_format": "timeseries" if kind == "timeseries" else "scalar"}
    definition = {"type": kind, "title": panel.title, "requests": [request]}
    if kind == "timeseries":
        request["display_type"] = "line"
        definition["show_legend"] = True
        # Once per service: a scan of its alerts for each panel grew with alerts x panels.
        included = catalog.once(("datadog.dashboards.included", service.id),
                                lambda: {n for n, a in service.alerts.items() if a.compiled_for(TARGET)})
        lines = markers(catalog, service, panel, included)
        if lines:
            definition["markers"] = lines
    else:
        windows = set().union(*(w for _, _, w in built.formulas))
        if len(windows) == 1:
            definition["time"] = _time(next(iter(windows)))
    if panel.description:
        definition["description"] = panel.description
    out = [{"definition": definition}]
    if built.dropped:
        out.append(_note(panel, built.dropped))
    return out, diags


def dashboard(catalog: Catalog, service: Service, dash: Dashboard, naming: Naming
              ) -> tuple[dict[str, Any], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    groups = []
    for row in dash.rows:
        inner: list[dict] = []
        for panel in row.panels:
            found, problems = widgets(catalog, service, panel, naming)
            inner += found
            diags += problems
        groups.append({"definition": {"type": "group", "layout_type": "ordered",
                                      "title": row.title, "show_title": True, "widgets": inner}})
    description = (dash.description.strip() + "\n\n" if dash.description else "") + \
        f"Managed by moncat (moncat-id: {service.id}/{dash.id}): edit the catalog, not this dashboard."
    body: dict[str, Any] = {"title": dash.title, "description": description,
                            "layout_type": "ordered", "widgets": groups}
    if service.team:
        body["tags"] = [f"team:{service.team}"]
    return body, diags


def build_dashboards(catalog: Catalog, service: Service, naming: Naming
                     ) -> tuple[list[tuple[str, dict, ManagedObject]], list[Diagnostic]]:
    out = []
    diags: list[Diagnostic] = []
    for dash in service.dashboards.values():
        if any(slo.dashboard == dash.id for slo in service.slos.values()):
            continue  # Datadog shows an SLO on its SLO object (targets/datadog/slos.py)
        body, found = dashboard(catalog, service, dash, naming)
        diags += found
        path = f"datadog/dashboards/{service.id}/{dash.id}.json"
        out.append((path, body, ManagedObject(f"{service.id}/{dash.id}", "dashboard", TARGET,
                                              dash.loc, body)))
    return out, diags
