"""Datadog target, monitors: one metric monitor per alert, as the Monitor API's create payload.

The threshold of the query and `options.thresholds.critical` are the same number, taken from
the one Condition; `priority` is the severity's (1-5, as Datadog's); `notify_no_data` comes from
absent(), `on_missing_data` from `or vector(0)`; the tags mark the monitor as moncat's
(`managed-by:moncat`, `moncat-id:<id>`) for `apply --prune`. Datadog stores tags lowercased
(https://docs.datadoghq.com/getting_started/tagging/), so they are written that way and compare
equal when read back.
"""
from __future__ import annotations

import math
import re
from typing import Any

from compiler.artifacts import ManagedObject
from compiler.diagnostics import Diagnostic
from compiler.dialects.datadog_names import Naming
from compiler.model import Alert, Catalog, Service
from compiler.targets.datadog import messages
from compiler.targets.datadog.conditions import Condition, condition
from compiler.targets.prometheus import runbook_url

TARGET = "datadog"
MINUTE = 60_000


def component_id(alert: Alert, name: str) -> str:
    """The moncat id of a composite's component monitor: `<alert id>.<name>`."""
    return f"{alert.id}.{name}"


def reference(moncat_id: str) -> str:
    """How a composite's query names a component in the files: `${<moncat id>}`, as its
    `moncat-id:` tag holds it (lowercase), which apply replaces with the component's monitor id
    once it exists (the API's composite query is monitor ids joined by &&, || and !)."""
    return "${" + _tag(moncat_id) + "}"


def monitor_tags(service: Service, alert: Alert, moncat_id: str = "") -> list[str]:
    tags = {f"service:{service.id}", f"severity:{alert.severity}", "managed-by:moncat",
            f"moncat-id:{moncat_id or alert.id}"}
    if service.team:
        tags.add(f"team:{service.team}")
    tags.update(f"{k}:{v}" for k, v in alert.labels)
    return sorted({_tag(t) for t in tags})


def _tag(text: str) -> str:
    """The tag as Datadog stores it: lowercase, other characters than [a-z0-9_-:./] as `_`."""
    return re.sub(r"[^a-z0-9_\-:./]", "_", text.lower())[:200]


def _number(value: float) -> int | float:
    return int(value) if math.isfinite(value) and value == int(value) and abs(value) < 1e15 else value


def _missing_data(cond: Condition) -> dict[str, Any]:
    """What the monitor does when its query returns no data. `or vector(0)`: evaluate it as 0
    (`on_missing_data: default` on a sum of counts), which replaces notify_no_data and
    no_data_timeframe (https://docs.datadoghq.com/monitors/guide/on_missing_data/)."""
    if cond.missing_as_zero:
        return {"on_missing_data": "default"}
    if cond.no_data_timeframe_min:
        return {"notify_no_data": cond.no_data, "no_data_timeframe": cond.no_data_timeframe_min}
    return {"notify_no_data": cond.no_data}


def monitor(catalog: Catalog, service: Service, alert: Alert, cond: Condition
            ) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The create-monitor payload of one alert whose condition is known."""
    severity = service.severity(alert.severity, catalog.severities)
    assert severity is not None  # link reported an unknown severity already
    diags: list[Diagnostic] = []
    summary, found = messages.translate(alert.summary, cond.grouping, alert, "summary")
    diags += found
    description, found = messages.translate(alert.description.strip(), cond.grouping, alert,
                                            "description")
    diags += found
    mentions, found = messages.handles(catalog, alert, service, severity)
    diags += found
    warning = alert.datadog.warning if alert.datadog else None
    thresholds: dict[str, Any] = {"critical": _number(cond.threshold)}
    if warning is not None:
        thresholds["warning"] = _number(warning)
    options: dict[str, Any] = {
        "thresholds": thresholds,
        **_missing_data(cond),
        "require_full_window": cond.full_window,
        "include_tags": True,
    }
    dd = catalog.settings.datadog
    if dd.evaluation_delay_ms is not None:
        options["evaluation_delay"] = dd.evaluation_delay_ms // 1000  # seconds
    if dd.renotify_interval_ms and severity.page:
        options["renotify_interval"] = dd.renotify_interval_ms // MINUTE  # minutes
    body = {
        "name": f"[{service.id}] {summary}",
        "type": "query alert",
        "query": cond.query,
        "message": messages.message(catalog, alert, severity, summary, description, mentions,
                                    warning is not None, cond.no_data, runbook_url(catalog, alert),
                                    cond.notes),
        "tags": monitor_tags(service, alert),
        "priority": severity.priority,
        "options": options,
    }
    if cond.components:
        # The composite: its query names the components; thresholds are theirs.
        body["type"] = "composite"
        body["query"] = re.sub(r"\b[a-j]\b", lambda m: reference(component_id(alert, m.group(0))),
                               cond.query)
        del options["thresholds"], options["require_full_window"]
    return body, diags


def component(catalog: Catalog, service: Service, alert: Alert, name: str, part: Condition
              ) -> dict[str, Any]:
    """One metric monitor of a composite: it notifies nobody (the composite does)."""
    severity = service.severity(alert.severity, catalog.severities)
    assert severity is not None
    options: dict[str, Any] = {"thresholds": {"critical": _number(part.threshold)},
                               **_missing_data(part),
                               "require_full_window": part.full_window, "include_tags": True}
    dd = catalog.settings.datadog
    if dd.evaluation_delay_ms is not None:
        options["evaluation_delay"] = dd.evaluation_delay_ms // 1000
    return {
        "name": f"[{service.id}] {alert.name} ({name})",
        "type": "query alert",
        "query": part.query,
        "message": (f"Condition {name} of {alert.name}, one monitor of its composite monitor, "
                    "which notifies.\n"
                    f"Runbook: {runbook_url(catalog, alert)}\n"
                    f"Managed by moncat ({component_id(alert, name)}): edit the catalog, not this "
                    "monitor."),
        "tags": monitor_tags(service, alert, component_id(alert, name)),
        "priority": severity.priority,
        "options": options,
    }


def build_monitors(catalog: Catalog, service: Service, naming: Naming
                   ) -> tuple[list[tuple[str, dict, ManagedObject]], list[Diagnostic]]:
    """(path, payload, manifest entry) for every alert of the service compiled for Datadog."""
    out = []
    diags: list[Diagnostic] = []
    for alert in service.alerts.values():
        if not alert.compiled_for(TARGET):
            continue
        cond, found = condition(catalog, alert, naming)
        diags += found
        if cond is None:
            continue
        body, found = monitor(catalog, service, alert, cond)
        diags += found
        for name, part in cond.components:
            sub = component(catalog, service, alert, name, part)
            out.append((f"datadog/monitors/{service.id}/{alert.name}.{name}.json", sub,
                        ManagedObject(component_id(alert, name), "monitor", TARGET, alert.loc, sub)))
        path = f"datadog/monitors/{service.id}/{alert.name}.json"
        out.append((path, body, ManagedObject(alert.id, "monitor", TARGET, alert.loc, body)))
    return out, diags
