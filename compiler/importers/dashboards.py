"""Import stage, dashboards: imported Grafana dashboards as catalog dashboards. A panel the
catalog cannot hold (no PromQL target, a panel type with no catalog form, a query that does not
parse) becomes a line of the service's `notes:`, so nothing is dropped silently."""
from __future__ import annotations

from compiler.diagnostics import Loc, warning
from compiler.expr.parse import ParseError, parse
from compiler.importers.catalog import Documents
from compiler.importers.emit import Noted
from compiler.importers.files import service_id
from compiler.importers.metrics import Inference
from compiler.importers.source import Dashboard, Panel


def _note(board: Dashboard, panel: Panel, why: str) -> str:
    queries = "; ".join(q.expr for q in panel.queries)
    return (f"Dashboard {board.title!r}, panel {panel.title!r} ({panel.origin}) was not imported: "
            f"{why}" + (f". Its queries: {queries}" if queries else "."))


def _panel(board: Dashboard, panel: Panel, docs: Documents, inference: Inference,
           notes: list[str]) -> dict | Noted | None:
    if panel.type == "note":
        notes.append(_note(board, panel, panel.description))
        return None
    queries = []
    for q in panel.queries:
        try:
            tree = parse(q.expr, variables=True)
        except ParseError as exc:
            docs.diagnostics.append(warning(
                "MC822", f"dashboard {board.title!r}, panel {panel.title!r}: query left out: "
                f"{exc.message}", Loc(panel.origin.file, panel.origin.line),
                "the catalog reads dashboard variables only as label values and range windows"))
            notes.append(_note(board, Panel(panel.title, panel.type, (q,), panel.origin),
                               f"its query does not parse ({exc.message})"))
            continue
        inference.read(tree, panel.origin, board.service)
        queries.append({"expr": q.expr, **({"legend": q.legend} if q.legend else {})})
    if not queries:
        return None
    body: dict = {"title": panel.title, "type": panel.type}
    if panel.unit:
        body["unit"] = panel.unit
    if panel.description:
        body["description"] = panel.description
    body["queries"] = queries
    return Noted(body, f"from {panel.origin}") if panel.origin != board.origin else body


def add(boards: list[Dashboard], docs: Documents, inference: Inference) -> None:
    """Catalog dashboards for the imported dashboards, in their services."""
    for board in boards:
        notes: list[str] = []
        rows = []
        for row in board.rows:
            panels = [p for p in (_panel(board, panel, docs, inference, notes) for panel in row.panels) if p]
            if panels:
                rows.append({"title": row.title, "panels": panels})
        service = docs.services.setdefault(board.service, {})
        if notes:
            service.setdefault("notes", []).extend(notes)
        docs.sources[board.service].add(board.origin.file)
        if not rows:
            docs.diagnostics.append(warning("MC823", f"dashboard {board.title!r} has no panel with a "
                                            "PromQL query: kept only as notes",
                                            Loc(board.origin.file, board.origin.line), "review the notes"))
            continue
        description = board.description
        if board.variables:
            shown = ", ".join(f"${name} ({query})" if query else f"${name}" for name, query in board.variables)
            description = (description + "\n\n" if description else "") + \
                f"Imported variables (set them in Grafana; the catalog keeps only `datasource`): {shown}"
        body: dict = {"title": board.title}
        if description:
            body["description"] = description
        if board.tags:
            body["tags"] = list(board.tags)
        if board.time:
            body["time"] = board.time
        body["rows"] = rows
        # Named after the title (uids are often hashes); the uid when two titles collide.
        section = service.setdefault("dashboards", {})
        key = service_id(board.title)
        n = 2
        if key in section:
            key = service_id(board.uid)
        while key in section:
            key, n = f"{service_id(board.uid)}-{n}", n + 1
        section[key] = Noted(body, f"from {board.origin}")
