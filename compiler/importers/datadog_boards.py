"""Import stage, Datadog dashboards: Dashboard API JSON as catalog dashboards. Groups become
rows (widgets outside a group, in an ordered or a free layout, a row of their own, in reading
order); timeseries, query_value and query_table widgets become timeseries, stat and table
panels whose PromQL the datadog dialect translates back into the same formulas and queries
(datadog_widgets). Notes, other widget types and formulas with no PromQL form become lines of
the service's `notes:` with a warning (MC832), so nothing is dropped silently. The metrics the
queries read are declared with their Datadog names."""
from __future__ import annotations

import re
from typing import Any

from compiler.diagnostics import Loc, warning
from compiler.importers.catalog import Documents, Existing
from compiler.importers.datadog_widgets import Metric, reverse_request, window_ms
from compiler.importers.emit import Noted
from compiler.importers.files import items, mapping
from compiler.importers.metrics import Inference
from compiler.importers.source import Dashboard, DatadogBoard, Origin, Panel, Query, Row

TYPES = {"timeseries": "timeseries", "query_value": "stat", "query_table": "table"}
# Datadog's canonical units (widget number_format) with a Grafana unit id of the same meaning.
UNITS = {"byte": "bytes", "kibibyte": "kbytes", "mebibyte": "mbytes", "gibibyte": "gbytes",
         "second": "s", "millisecond": "ms", "microsecond": "µs", "nanosecond": "ns",
         "percent": "percent", "hertz": "hertz"}
_MANAGED = re.compile(r"\n*Managed by moncat \(moncat-id: [^)]*\): edit the catalog, not this dashboard\.\s*$")


def _unit(definition: dict) -> str:
    for request in items(definition.get("requests")):
        for formula in items(mapping(request).get("formulas")):
            unit = mapping(mapping(mapping(formula).get("number_format")).get("unit"))
            if unit.get("type") == "canonical_unit" and unit.get("unit_name") in UNITS:
                return UNITS[unit["unit_name"]]
    return ""


def _position(widget: dict, axis: str) -> float:
    value = mapping(widget.get("layout")).get(axis)
    return value if isinstance(value, (int, float)) else 0


def _markers(definition: dict) -> str:
    shown = [f"{m.get('value')}" + (f" ({m['label']})" if m.get("label") else "")
             for m in items(definition.get("markers")) if isinstance(m, dict) and m.get("value")]
    return ", ".join(shown)


class _Board:
    """One board's panels, the metrics its queries read, and what it could not keep."""

    def __init__(self, board: DatadogBoard, docs: Documents, distributions: bool):
        self.board = board
        self.docs = docs
        self.distributions = distributions
        self.metrics: dict[str, Metric] = {}
        self.first: dict[str, Origin] = {}  # metric -> the widget that first reads it

    def _origin(self, widget: dict) -> Origin:
        line = self.board.lines.get(id(widget))
        return Origin(self.board.origin.file, line) if line else self.board.origin

    def _note(self, title: str, origin: Origin, why: str) -> Panel:
        self.docs.diagnostics.append(warning(
            "MC832", f"Datadog dashboard {self.board.title!r}: widget {title!r} kept as a note: {why}",
            Loc(origin.file, origin.line), "review the note in the service's `notes:`"))
        return Panel(title, "note", (), origin, "", why)

    def panels(self, widget: Any) -> list[Panel]:
        definition = widget.get("definition") if isinstance(widget, dict) else None
        if not isinstance(definition, dict):
            return []
        origin = self._origin(widget)
        kind = str(definition.get("type", ""))
        title = str(definition.get("title") or "").strip() or "(untitled)"
        if kind in ("note", "free_text"):
            text = str(definition.get("content") or definition.get("text") or "").strip()
            return [self._note(title if definition.get("title") else kind, origin, f"a {kind} widget: {text}")]
        if kind not in TYPES:
            return [self._note(title, origin, f"widget type {kind!r} has no catalog form")]
        scalar = kind != "timeseries"
        window = window_ms(definition.get("time")) if scalar else None
        if scalar and definition.get("time") and window is None:
            return [self._note(title, origin, f"timeframe {definition['time']} has no fixed length")]
        queries: list[Query] = []
        dropped: list[str] = []
        for request in items(definition.get("requests")):
            if not isinstance(request, dict):
                continue
            found = reverse_request(request, scalar, window, self.distributions)
            queries += [Query(expr, legend) for legend, expr in found.queries]
            dropped += [f"`{formula}`: {why}" for formula, why in found.dropped]
            for name, m in found.metrics.items():
                self.first.setdefault(name, origin)
                self.metrics[name] = m.joined(self.metrics.get(name))
        out = []
        if queries:
            description = str(definition.get("description") or "")
            marks = _markers(definition)
            if marks:
                # The catalog draws the thresholds of the alerts a panel names; the widget's own
                # markers are kept in words until an alert carries them.
                description = (description + "\n\n" if description else "") + f"Imported markers: {marks}"
            out.append(Panel(title, TYPES[kind], tuple(queries), origin, _unit(definition), description))
        if dropped:
            out.append(self._note(title, origin, "no PromQL form for " + "; ".join(dropped)))
        if not out:
            out.append(self._note(title, origin, "it has no request with a formula or a `q`"))
        return out

    def rows(self) -> tuple[Row, ...]:
        widgets = [w for w in items(self.board.body.get("widgets")) if isinstance(w, dict)]
        if self.board.body.get("layout_type") == "free":
            widgets.sort(key=lambda w: (_position(w, "y"), _position(w, "x")))
        rows: list[Row] = []
        loose: list[Panel] = []
        for widget in widgets:
            definition = mapping(widget.get("definition"))
            if definition.get("type") != "group":
                loose += self.panels(widget)
                continue
            if loose:
                rows.append(Row(self.board.title, tuple(loose)))
                loose = []
            inner = [p for w in items(definition.get("widgets")) for p in self.panels(w)]
            rows.append(Row(str(definition.get("title") or self.board.title), tuple(inner)))
        if loose:
            rows.append(Row(self.board.title, tuple(loose)))
        return tuple(rows)


def _description(body: dict) -> str:
    text = _MANAGED.sub("", str(body.get("description") or "")).strip()
    variables = [f"${v.get('name')} ({v.get('prefix')})" if v.get("prefix") else f"${v.get('name')}"
                 for v in items(body.get("template_variables")) if isinstance(v, dict) and v.get("name")]
    if variables:
        text = (text + "\n\n" if text else "") + \
            f"Imported template variables (the catalog keeps only `datasource`): {', '.join(variables)}"
    return text


def add(boards: list[DatadogBoard], docs: Documents, inference: Inference, existing: Existing
        ) -> tuple[list[Dashboard], bool]:
    """The boards as source dashboards (PromQL panels, notes), their metrics declared with their
    Datadog names in their services; and whether a query reads a distribution (a fresh catalog
    then sets targets.datadog.histogram_buckets_as_distributions)."""
    out = []
    distributions = False
    for board in boards:
        # A percentile reads a distribution: a catalog that has not said its histograms arrive
        # as distributions (a fresh one will) keeps those formulas as notes.
        reader = _Board(board, docs, existing.fresh or existing.distributions)
        rows = reader.rows()
        metrics = docs.services.setdefault(board.service, {}).setdefault("metrics", {})
        for name, m in sorted(reader.metrics.items()):
            inference.record(name)
            if m.type == "histogram":
                inference.record(name + "_bucket")
                distributions = True
            if name in existing.metrics or name in metrics:
                continue
            body: dict = {"type": m.type, "help": f"Datadog metric {m.datadog}, read by an imported dashboard.",
                          "datadog": m.datadog, "inferred": True}
            if m.labels:
                body["labels"] = sorted(m.labels)
            metrics[name] = Noted(body, f"first read by {reader.first[name]}")
        body = board.body
        tags = tuple(str(t) for t in items(body.get("tags")) if not str(t).startswith("team:"))
        out.append(Dashboard(uid=board.key or str(body.get("id") or board.title), title=board.title,
                             rows=rows, origin=board.origin, service=board.service,
                             description=_description(body), tags=tags))
    return out, distributions
