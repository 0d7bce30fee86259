"""Import stage, Datadog monitors: a catalog alert where the query has an exact PromQL form
(datadog_reverse, checked by translating back), else a `kind: datadog-only` alert keeping the
monitor's type, query, message, thresholds and options as they are."""
from __future__ import annotations

import re

from compiler.durations import format_ms
from compiler.importers.catalog import ALERT_KEY, Documents, Existing, Options, PendingAlert
from compiler.importers.datadog_reverse import NoForm, check
from compiler.importers.emit import Noted
from compiler.importers.files import mapping
from compiler.importers.metrics import Inference
from compiler.importers.source import ImportSet, Monitor, Rule

SEVERITIES = {1: "critical", 2: "critical", 3: "warning", 4: "info", 5: "info"}
_BLOCK = re.compile(r"\{\{\s*[#^/]\s*is_[a-z_]+[^}]*\}\}")
_VARIABLE = re.compile(r"\{\{\s*(value|[A-Za-z0-9_.\-]+?\.name)\s*\}\}")
_HANDLE = re.compile(r"(^|\s)@[\w.\-@]+")


def key_of(name: str, taken: set[str]) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    key = "".join(w[:1].upper() + w[1:] for w in words) or "ImportedMonitor"
    key = key if ALERT_KEY.fullmatch(key) else "M" + key
    base, n = key, 2
    while key in taken:
        key, n = f"{base}{n}", n + 1
    taken.add(key)
    return key


def prometheus_text(message: str) -> str:
    """A monitor message as a Prometheus annotation: Datadog's conditional blocks dropped (their
    text kept), `{{value}}` as `{{ $value }}`, `{{tag.name}}` as `{{ $labels.tag }}`, @-handles
    left out (the catalog's contacts are notified instead)."""
    text = _BLOCK.sub("", message)
    text = _VARIABLE.sub(lambda m: "{{ $value }}" if m.group(1) == "value"
                         else "{{ $labels." + m.group(1)[:-5].replace(".", "_").replace("-", "_") + " }}", text)
    text = _HANDLE.sub(r"\1", text)
    text = text.replace("{{", "\x00").replace("}}", "\x01")
    text = re.sub("\x00(\\s*\\$(?:value|labels\\.\\w+)\\s*)\x01", lambda m: "{{" + m.group(1) + "}}", text)
    text = text.replace("\x00", "").replace("\x01", "")  # any other Datadog template is dropped
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def add(imported: ImportSet, docs: Documents, inference: Inference, existing: Existing,
        opts: Options) -> None:
    taken: dict[str, set[str]] = {}
    for mon in imported.monitors:
        sid = mon.service
        keys = taken.setdefault(sid, set(existing.names.get(sid, {}).get("alerts", ())))
        key = key_of(mon.name, keys)
        severity = SEVERITIES.get(mon.priority or 3, "warning")
        if severity not in existing.severities and severity not in docs.severities:
            docs.severities[severity] = Noted({"priority": {"critical": 1, "warning": 3, "info": 4}[severity],
                                               "meaning": f"Imported: Datadog monitor priority ({severity})",
                                               **({"page": True} if severity == "critical" else {})},
                                              f"first used by {mon.origin}")
        docs.sources[sid].add(mon.origin.file)
        try:
            found = check(mon.query) if mon.type in ("query alert", "metric alert") else None
        except NoForm as exc:
            found = None
            why = str(exc)
        else:
            why = f"monitor type {mon.type!r}" if found is None else ""
        if found is None:
            _kept(mon, key, severity, why, docs)
            continue
        metrics = docs.services.setdefault(sid, {}).setdefault("metrics", {})
        for name, (dd, kind, labels) in found.metrics.items():
            inference.record(name)
            body = {"type": kind, "help": f"Datadog metric {dd}, read by an imported monitor.",
                    "datadog": dd, "inferred": True}
            if labels:
                body["labels"] = list(labels)
            metrics[name] = Noted(body, f"first read by {mon.origin}")
        _translated(mon, key, severity, found, docs)


def _kept(mon: Monitor, key: str, severity: str, why: str, docs: Documents) -> None:
    options = {k: v for k, v in sorted(mon.options.items()) if k != "thresholds"}
    dd: dict = {"type": mon.type, "query": mon.query}
    if mon.message:
        dd["message"] = mon.message
    thresholds = mapping(mon.options.get("thresholds"))
    if thresholds:
        dd["thresholds"] = {k: v for k, v in sorted(thresholds.items()) if isinstance(v, (int, float))}
    if options:
        dd["options"] = options
    if mon.tags:
        dd["tags"] = list(mon.tags)
    body = {"kind": "datadog-only", "severity": severity, "summary": mon.name, "datadog": dd}
    section = docs.services.setdefault(mon.service, {}).setdefault("alerts", {})
    section[key] = Noted(body, f"from {mon.origin}\nkept as a Datadog monitor: {why}")


def _translated(mon: Monitor, key: str, severity: str, found, docs: Documents) -> None:
    body: dict = {"expr": found.expr}
    if found.for_ms:
        body["for"] = format_ms(found.for_ms)
    body["severity"] = severity
    body["summary"] = prometheus_text(mon.name) or mon.name
    text = prometheus_text(mon.message)
    if text:
        body["description"] = text
    body["procedure"] = "pending"
    body["imported"] = True
    warning = mapping(mon.options.get("thresholds")).get("warning")
    if isinstance(warning, (int, float)):
        body["datadog"] = {"warning": warning}
    rule = Rule("alert", mon.name, found.expr, mon.origin, "datadog", mon.service,
                labels=(("severity", severity),))
    docs.alerts.append(PendingAlert(mon.service, key, rule, body))
