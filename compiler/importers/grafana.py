"""Import stage, reading Grafana dashboards: dashboard JSON (as exported, provisioned, or
wrapped as the HTTP API returns it) into the source model. Rows and panels keep their order,
titles, units, legends and PromQL targets; a panel with no PromQL target is kept as a note.
Dashboards older than schemaVersion 14 (rows holding panels) are read row by row, which is all
Grafana's own migration does to their layout; a file with neither `panels` nor `rows` is refused."""
from __future__ import annotations

import json
from typing import Any

from compiler.diagnostics import Loc, error, warning
from compiler.importers.files import inputs, items, mapping, object_lines, read_json, service_id
from compiler.importers.source import Dashboard, ImportSet, Origin, Panel, Query, Row
from compiler.loader import load_yaml

TYPES = {"timeseries": "timeseries", "graph": "timeseries", "stat": "stat", "singlestat": "stat",
         "gauge": "gauge", "bargauge": "gauge", "table": "table", "table-old": "table"}


# Every field is read as the shape Grafana writes it, or as absent: an exported file may hold
# anything, and a field of another shape must not stop the import.


def _unit(panel: dict) -> str:
    unit = mapping(mapping(panel.get("fieldConfig")).get("defaults")).get("unit")
    if not unit and items(panel.get("yaxes")):
        unit = mapping(panel["yaxes"][0]).get("format")
    unit = unit or panel.get("format")
    return unit if isinstance(unit, str) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _queries(panel: dict) -> tuple[Query, ...]:
    out = []
    for target in items(panel.get("targets")):
        if isinstance(target, dict) and isinstance(target.get("expr"), str) and target["expr"].strip():
            out.append(Query(target["expr"].strip(), _text(target.get("legendFormat"))))
    return tuple(out)


def _panel(given: Any, origin: Origin, notes: ImportSet, board: str) -> Panel:
    p = mapping(given)
    kind = TYPES.get(_text(p.get("type")))
    queries = _queries(p)
    title = _text(p.get("title")).strip() or "(untitled)"
    if kind is None or not queries:
        why = f"type {p.get('type')!r} has no catalog form" if kind is None else "it has no PromQL target"
        if not isinstance(given, dict):
            why = f"{json.dumps(given)[:40]} is not a panel (a JSON object)"
        notes.diagnostics.append(warning("MC820", f"dashboard {board!r}: panel {title!r} kept as a note: {why}",
                                         Loc(origin.file, origin.line), "review the note in the service's `notes:`"))
        return Panel(title, "note", queries, origin, _unit(p), why)
    description = _text(p.get("description"))
    marks = _thresholds(p)
    if marks:
        # The catalog draws the thresholds of the alerts a panel names; the dashboard's own
        # are kept in words until an alert carries them.
        description = (description + "\n\n" if description else "") + f"Imported thresholds: {marks}"
    return Panel(title, kind, queries, origin, _unit(p), description)


def _thresholds(p: dict) -> str:
    steps = items(mapping(mapping(mapping(p.get("fieldConfig")).get("defaults")).get("thresholds")).get("steps"))
    shown = [f"{s['value']:g} ({s.get('color', '')})" for s in steps
             if isinstance(s, dict) and isinstance(s.get("value"), (int, float))]
    return ", ".join(shown)


def read_board(board: Any, origin: Origin, service: str, name: str = "",
               positions: dict[int, int] | None = None) -> ImportSet:
    """One dashboard's JSON object into the source model (`positions`: a panel's line, by id())."""
    out = ImportSet()
    if isinstance(board, dict) and isinstance(board.get("dashboard"), dict):
        board = board["dashboard"]  # GET /api/dashboards/uid/<uid> wraps it
    if not isinstance(board, dict) or not (isinstance(board.get("panels"), list)
                                           or isinstance(board.get("rows"), list)):
        out.diagnostics.append(error("MC821", "not a Grafana dashboard: no `panels` (nor the `rows` of "
                                     "schemaVersion < 14)", Loc(origin.file, origin.line),
                                     "export the dashboard's JSON model from Grafana"))
        return out
    title = _text(board.get("title")) or name or "Imported dashboard"
    rows: list[Row] = []
    current: list[Panel] = []
    current_title = title

    def close() -> None:
        if current:
            rows.append(Row(current_title, tuple(current)))

    lines = _lines(positions or {})
    if isinstance(board.get("rows"), list) and not board.get("panels"):
        for r in map(mapping, board["rows"]):
            panels = tuple(_panel(p, lines(p, origin), out, title) for p in items(r.get("panels")))
            if panels:
                rows.append(Row(_text(r.get("title")) or title, panels))
    else:
        for p in items(board.get("panels")):
            if mapping(p).get("type") == "row":
                close()
                current, current_title = [], _text(p.get("title")) or title
                for inner in items(p.get("panels")):  # a collapsed row holds its panels
                    current.append(_panel(inner, lines(inner, origin), out, title))
                continue
            current.append(_panel(p, lines(p, origin), out, title))
        close()
    variables = tuple((str(v.get("name")), str(v.get("query") if not isinstance(v.get("query"), dict)
                                               else v["query"].get("query", "")))
                      for v in items(mapping(board.get("templating")).get("list")) if isinstance(v, dict))
    uid = _text(board.get("uid")) or name or title
    time = mapping(board.get("time")).get("from", "")
    out.dashboards.append(Dashboard(
        uid=uid, title=title, rows=tuple(rows), origin=origin, service=service,
        description=_text(board.get("description")),
        tags=tuple(str(t) for t in items(board.get("tags"))),
        time=time[4:] if isinstance(time, str) and time.startswith("now-") else "",
        variables=variables,
    ))
    return out


def _lines(positions: dict[int, int]):
    """Panel -> its line in the file, when the board was read from a file with positions."""
    def find(panel: dict, origin: Origin) -> Origin:
        line = positions.get(id(panel))
        return Origin(origin.file, line) if line else origin
    return find


def read(args: list, service: str | None) -> ImportSet:
    out = ImportSet()
    items, diags = inputs(args, (".json",))
    out.diagnostics += diags
    for item in items:
        board, text, problem = read_json(item, "MC821", "export the dashboard again")
        if problem:
            out.diagnostics.append(problem)
            continue
        docs, _ = load_yaml(item.shown, text)  # JSON is YAML: positions of the panels
        # The line of every panel object.
        positions = object_lines(board, docs[0], ("panels", "rows", "dashboard"),
                                 lambda o, _: "type" in o and ("targets" in o or "title" in o)) if docs else {}
        sid = service or service_id(item.relative.rsplit(".", 1)[0])
        out.extend(read_board(board, Origin(item.shown, 1), sid, positions=positions))
    return out

