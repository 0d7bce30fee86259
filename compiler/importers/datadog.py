"""Import stage, reading Datadog monitors: monitor JSON as the API exports it (one monitor, or
the list `GET /api/v1/monitor` returns) or as integration assets hold it (`definition`)."""
from __future__ import annotations

import json
from typing import Any

from compiler.diagnostics import Loc, error, warning
from compiler.importers.files import inputs, read_text, service_id
from compiler.importers.source import ImportSet, Monitor, Origin
from compiler.loader import load_yaml


def _service(body: dict, relative: str, forced: str | None) -> str:
    if forced:
        return forced
    tags = [str(t) for t in body.get("tags") or []]
    for prefix in ("service:", "integration:"):
        for tag in tags:
            if tag.startswith(prefix) and tag[len(prefix):]:
                return service_id(tag[len(prefix):])
    return service_id(relative.rsplit(".", 1)[0].split("__")[0])


def _monitor(body: Any, origin: Origin, relative: str, forced: str | None, out: ImportSet) -> None:
    if isinstance(body, dict) and isinstance(body.get("definition"), dict):
        outer_tags = body.get("tags") or []
        body = dict(body["definition"])
        body.setdefault("tags", outer_tags)
    if isinstance(body, dict) and isinstance(body.get("widgets"), list):
        out.diagnostics.append(warning("MC831", f"Datadog dashboard {body.get('title')!r} skipped: "
                                       "dashboards are not imported yet (monitors are)",
                                       Loc(origin.file, origin.line),
                                       "rebuild it as a catalog dashboard, or import its Grafana twin"))
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
        service=_service(body, relative, forced), options=dict(body.get("options") or {}),
        tags=tuple(str(t) for t in body.get("tags") or []),
        priority=priority if isinstance(priority, int) else None,
    ))


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
            data = json.loads(text or "")
        except ValueError as exc:
            out.diagnostics.append(error("MC830", f"not JSON: {exc}", Loc(item.shown), "export the monitor again"))
            continue
        docs, _ = load_yaml(item.shown, text or "")
        if isinstance(data, list):
            for i, body in enumerate(data):
                line = docs[0].loc((i,)).line if docs else 1
                _monitor(body, Origin(item.shown, line), item.relative, service, out)
        else:
            _monitor(data, Origin(item.shown, 1), item.relative, service, out)
    return out
