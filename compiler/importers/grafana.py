"""Import stage, reading Grafana dashboards: dashboard JSON (as exported, provisioned, or
wrapped as the HTTP API returns it) into the source model. Rows and panels keep their order,
titles, units, legends and PromQL targets; a panel with no PromQL target is kept as a note.
Dashboards older than schemaVersion 14 (rows holding panels) are read row by row, which is all
Grafana's own migration does to their layout; a file with neither `panels` nor `rows` is refused."""
from __future__ import annotations

import json
from typing import Any

from compiler.diagnostics import Loc, error, warning
from compiler.importers.files import inputs, read_text, service_id
from compiler.importers.source import Dashboard, ImportSet, Origin, Panel, Query, Row
from compiler.loader import load_yaml

TYPES = {"timeseries": "timeseries", "graph": "timeseries", "stat": "stat", "singlestat": "stat",
         "gauge": "gauge", "bargauge": "gauge", "table": "table", "table-old": "table"}


def _unit(panel: dict) -> str:
    unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
    if not unit and isinstance(panel.get("yaxes"), list) and panel["yaxes"]:
        unit = (panel["yaxes"][0] or {}).get("format")
    return str(unit or panel.get("format") or "")


def _queries(panel: dict) -> tuple[Query, ...]:
    out = []
    for target in panel.get("targets") or []:
        if isinstance(target, dict) and isinstance(target.get("expr"), str) and target["expr"].strip():
            out.append(Query(target["expr"].strip(), str(target.get("legendFormat") or "")))
    return tuple(out)


def _panel(p: dict, origin: Origin, notes: ImportSet, board: str) -> Panel:
    kind = TYPES.get(str(p.get("type", "")))
    queries = _queries(p)
    title = str(p.get("title") or "").strip() or "(untitled)"
    if kind is None or not queries:
        why = f"type {p.get('type')!r} has no catalog form" if kind is None else "it has no PromQL target"
        notes.diagnostics.append(warning("MC820", f"dashboard {board!r}: panel {title!r} kept as a note: {why}",
                                         Loc(origin.file, origin.line), "review the note in the service's `notes:`"))
        return Panel(title, "note", queries, origin, _unit(p), why)
    description = str(p.get("description") or "")
    marks = _thresholds(p)
    if marks:
        # The catalog draws the thresholds of the alerts a panel names; the dashboard's own
        # are kept in words until an alert carries them.
        description = (description + "\n\n" if description else "") + f"Imported thresholds: {marks}"
    return Panel(title, kind, queries, origin, _unit(p), description)


def _thresholds(p: dict) -> str:
    steps = (((p.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps") or []
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
    title = str(board.get("title") or name or "Imported dashboard")
    rows: list[Row] = []
    current: list[Panel] = []
    current_title = title

    def close() -> None:
        if current:
            rows.append(Row(current_title, tuple(current)))

    lines = _lines(positions or {})
    if isinstance(board.get("rows"), list) and not board.get("panels"):
        for r in board["rows"]:
            panels = tuple(_panel(p, lines(p, origin), out, title) for p in r.get("panels") or [])
            if panels:
                rows.append(Row(str(r.get("title") or title), panels))
    else:
        for p in board["panels"]:
            if p.get("type") == "row":
                close()
                current, current_title = [], str(p.get("title") or title)
                for inner in p.get("panels") or []:  # a collapsed row holds its panels
                    current.append(_panel(inner, lines(inner, origin), out, title))
                continue
            current.append(_panel(p, lines(p, origin), out, title))
        close()
    variables = tuple((str(v.get("name")), str(v.get("query") if not isinstance(v.get("query"), dict)
                                               else v["query"].get("query", "")))
                      for v in (board.get("templating") or {}).get("list") or [] if isinstance(v, dict))
    uid = str(board.get("uid") or name or title)
    time = (board.get("time") or {}).get("from", "")
    out.dashboards.append(Dashboard(
        uid=uid, title=title, rows=tuple(rows), origin=origin, service=service,
        description=str(board.get("description") or ""),
        tags=tuple(str(t) for t in board.get("tags") or []),
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
        text, problem = read_text(item)
        if problem:
            out.diagnostics.append(problem)
            continue
        try:
            board = json.loads(text or "")
        except ValueError as exc:
            out.diagnostics.append(error("MC821", f"not JSON: {exc}", Loc(item.shown), "export the dashboard again"))
            continue
        docs, _ = load_yaml(item.shown, text or "")  # JSON is YAML: positions of the panels
        positions: dict[int, int] = {}
        if docs:
            _index(board, docs[0], (), positions)
        sid = service or service_id(item.relative.rsplit(".", 1)[0])
        out.extend(read_board(board, Origin(item.shown, 1), sid, positions=positions))
    return out


def _index(node: Any, doc, path: tuple, positions: dict[int, int]) -> None:
    """Line of every panel object, keyed by the object's identity."""
    if isinstance(node, dict):
        if "type" in node and ("targets" in node or "title" in node):
            positions[id(node)] = doc.loc(path).line
        for k, v in node.items():
            if isinstance(v, (dict, list)) and k in ("panels", "rows", "dashboard"):
                _index(v, doc, (*path, k), positions)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _index(v, doc, (*path, i), positions)
