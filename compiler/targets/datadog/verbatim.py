"""Datadog target, datadog-only alerts: monitors kept as they were imported, plus moncat's marks.

A `kind: datadog-only` alert holds a monitor that has no PromQL equivalent (an anomaly or
forecast monitor, a log or service check). Its type, query, message, thresholds and other
options are written as the catalog holds them; only the tags moncat owns a monitor by
(`managed-by:moncat`, `moncat-id:<id>`, `service:`, `severity:`, `team:`) and the severity's
`priority` are added, so `apply` treats it like every other monitor.
"""
from __future__ import annotations

from typing import Any

from compiler.artifacts import ManagedObject
from compiler.model import Catalog, DatadogOnlyAlert, Service
from compiler.targets.datadog.monitors import TARGET, _number, _tag

KIND = "datadog_only_monitor"


def monitor(catalog: Catalog, service: Service, kept: DatadogOnlyAlert) -> dict[str, Any]:
    severity = service.severity(kept.severity, catalog.severities)
    tags = {f"service:{service.id}", f"severity:{kept.severity}", "managed-by:moncat",
            f"moncat-id:{kept.id}", *kept.tags}
    if service.team:
        tags.add(f"team:{service.team}")
    options = dict(sorted(kept.options.items()))
    if kept.thresholds:
        options["thresholds"] = {k: _number(v) for k, v in kept.thresholds}
    body: dict[str, Any] = {
        "name": kept.summary,
        "type": kept.type,
        "query": kept.query,
        "message": kept.message,
        "tags": sorted({_tag(t) for t in tags}),
        "options": options,
    }
    if severity is not None:
        body["priority"] = severity.priority
    return body


def build_kept(catalog: Catalog, service: Service) -> list[tuple[str, dict, ManagedObject]]:
    """(path, payload, manifest entry) for every datadog-only alert of the service."""
    out = []
    for kept in service.datadog_only.values():
        body = monitor(catalog, service, kept)
        out.append((f"datadog/monitors/{service.id}/{kept.name}.json", body,
                    ManagedObject(kept.id, KIND, TARGET, kept.loc, body)))
    return out
