"""Import stage, reading Datadog monitors and dashboards: monitor JSON as the API exports it (one
monitor, or the list `GET /api/v1/monitor` returns) or as integration assets hold it
(`definition`); dashboard JSON as `GET /api/v1/dashboard/<id>` returns it (`widgets`)."""
from __future__ import annotations

import re
from typing import Any

from compiler.diagnostics import Loc, error
from compiler.importers.files import inputs, items, mapping, object_lines, read_json, service_id
from compiler.importers.source import DatadogBoard, ImportSet, Monitor, Origin
from compiler.loader import load_yaml


# moncat's own Datadog dashboards name their catalog object in their description.
_MONCAT_ID = re.compile(r"\(moncat-id: ([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)\)")


def _service(body: dict, relative: str, forced: str | None) -> str:
    if forced:
        return forced
    owned = _MONCAT_ID.search(str(body.get("description") or ""))
    if owned:
        return owned.group(1)
    tags = [str(t) for t in items(body.get("tags"))]
    for prefix in ("service:", "integration:"):
        for tag in tags:
            if tag.startswith(prefix) and tag[len(prefix):]:
                return service_id(tag[len(prefix):])
    return service_id(relative.rsplit(".", 1)[0].split("__")[0])


def _monitor(body: Any, origin: Origin, relative: str, forced: str | None, out: ImportSet,
             lines: dict[int, int]) -> None:
    if isinstance(body, dict) and isinstance(body.get("definition"), dict):
        outer_tags = items(body.get("tags"))
        body = dict(body["definition"])
        body.setdefault("tags", outer_tags)
    if isinstance(body, dict) and isinstance(body.get("widgets"), list):
        owned = _MONCAT_ID.search(str(body.get("description") or ""))
        out.datadog_boards.append(DatadogBoard(
            title=str(body.get("title") or "Imported dashboard"), origin=origin,
            service=_service(body, relative, forced), key=owned.group(2) if owned and not forced else "",
            body=body, lines=lines))
        return
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body.get("type"):
        out.diagnostics.append(error("MC830", "not a Datadog monitor: no `type` and `query`",
                                     Loc(origin.file, origin.line),
                                     "export monitors with GET /api/v1/monitor or the monitor's JSON"))
        return
    priority = body.get("priority")
    out.monitors.append(Monitor(
        name=str(body.get("name") or "Imported monitor"), type=str(body["type"]),
        query=body["query"], message=str(body.get("message") or ""), origin=origin,
        service=_service(body, relative, forced), options=dict(mapping(body.get("options"))),
        tags=tuple(str(t) for t in items(body.get("tags"))),
        priority=priority if isinstance(priority, int) else None,
    ))


def read(args: list, service: str | None) -> ImportSet:
    out = ImportSet()
    items, diags = inputs(args, (".json",))
    out.diagnostics += diags
    for item in items:
        data, text, problem = read_json(item, "MC830", "export the monitor again")
        if problem:
            out.diagnostics.append(problem)
            continue
        docs, _ = load_yaml(item.shown, text)
        # The line of every widget (an object with a `definition`, in a `widgets` list).
        lines = object_lines(data, docs[0], ("widgets", "definition", "dashboard"),
                             lambda o, path: isinstance(o.get("definition"), dict)
                             and path[-2:-1] == ("widgets",)) if docs else {}
        if isinstance(data, list):
            for i, body in enumerate(data):
                line = docs[0].loc((i,)).line if docs else 1
                _monitor(body, Origin(item.shown, line), item.relative, service, out, lines)
        else:
            _monitor(data, Origin(item.shown, 1), item.relative, service, out, lines)
    return out

