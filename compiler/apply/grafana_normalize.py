"""Apply stage, Grafana normalisation: a body as Grafana gives it back and as moncat compiles it,
brought to one form (server-added fields dropped, durations in one unit, secrets masked, empty
fields removed) so that an unchanged catalog plans no change."""
from __future__ import annotations

import re
from typing import Any

# What the provisioning API shows in place of a setting it stores encrypted.
REDACTED = "[REDACTED]"
# Settings Grafana keeps encrypted per integration type, so a read never shows them: they are
# masked on both sides (a changed secret alone is not seen by the plan; see the module notes in
# compiler/apply/grafana.py).
SECURE_SETTINGS: dict[str, tuple[str, ...]] = {
    "slack": ("token", "url"),
    "pagerduty": ("integrationKey",),
    "opsgenie": ("apiKey",),
    "webhook": ("password", "authorization_credentials"),
    "teams": ("url",),
    "discord": ("url",),
    "googlechat": ("url",),
    "telegram": ("bottoken",),
    "victorops": ("url",),
}
# Fields the server sets on an alert rule: its database id, its last change, who may edit it, and
# the org (taken from the request's org, whatever the body says).
RULE_SERVER_FIELDS = frozenset({"id", "updated", "provenance", "orgID"})
# What Grafana writes into every query model of a rule it stores, when the model has none.
QUERY_MODEL_DEFAULTS = {"intervalMs": 1000, "maxDataPoints": 43200, "hide": False}
# Duration-valued keys of rules and notification policies ("5m" and "5m0s" are one duration).
DURATION_KEYS = frozenset({"for", "group_wait", "group_interval", "repeat_interval"})

_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6,
            "d": 8.64e7, "w": 6.048e8, "y": 3.1536e10}
_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")


def duration_ms(text: str) -> int | None:
    """Milliseconds of a Prometheus ("1h30m", "1d") or Go ("1h30m0s", "1.5s") duration; None
    when the text is neither."""
    text = text.strip()
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    return round(total) if pos and pos == len(text) else None


def prune_empty(value: Any) -> Any:
    """Dict entries that are null, "", [] or {} removed, at every depth: Grafana omits some
    empty fields and returns others, so "missing" and "empty" are one state."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = prune_empty(item)
            if item is None or item == "" or item == [] or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        ms = duration_ms(value)
        return value if ms is None else ms
    return value


def keep_firing_ms(rule: dict[str, Any]) -> int:
    """keepFiringFor as the schema has it (nanoseconds), or keep_firing_for as newer servers
    return it (a duration string), in milliseconds."""
    ns = rule.get("keepFiringFor")
    if isinstance(ns, (int, float)) and not isinstance(ns, bool):
        return int(ns) // 1_000_000
    text = rule.get("keep_firing_for")
    if isinstance(text, str):
        return duration_ms(text) or 0
    return 0


def folder(body: dict[str, Any]) -> dict[str, Any]:
    return prune_empty({"uid": body.get("uid"), "title": body.get("title"),
                        "parentUid": body.get("parentUid")})


def dashboard(body: dict[str, Any]) -> dict[str, Any]:
    """{"dashboard", "folderUid"}: the model without the id and version Grafana assigns; the
    folder counts (a dashboard moved to another folder is changed)."""
    model = {k: v for k, v in (body.get("dashboard") or {}).items() if k not in ("id", "version")}
    return {"dashboard": prune_empty(model), "folderUid": body.get("folderUid") or ""}


def contact_point(body: dict[str, Any]) -> dict[str, Any]:
    settings = dict(body.get("settings") or {})
    for key in SECURE_SETTINGS.get(str(body.get("type")), ()):
        if key in settings:
            settings[key] = REDACTED
    return prune_empty({"uid": body.get("uid"), "name": body.get("name"), "type": body.get("type"),
                        "settings": settings,
                        "disableResolveMessage": bool(body.get("disableResolveMessage", False))})


def policy(route: dict[str, Any]) -> dict[str, Any]:
    """A notification policy tree: provenance dropped, durations in ms, `continue: false` (the
    default) dropped, at every level."""
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key == "provenance" or (key == "continue" and value is False):
            continue
        if key == "routes":
            value = [policy(r) for r in value or []]
        elif key in DURATION_KEYS:
            value = _duration(value)
        out[key] = value
    return prune_empty(out)


def _query(query: dict[str, Any]) -> dict[str, Any]:
    out = dict(query)
    out["model"] = {k: v for k, v in (query.get("model") or {}).items()
                    if k not in QUERY_MODEL_DEFAULTS or QUERY_MODEL_DEFAULTS[k] != v}
    span = query.get("relativeTimeRange") or {}
    out["relativeTimeRange"] = {"from": int(span.get("from", 0)), "to": int(span.get("to", 0))}
    return out


def alert_rule(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items()
           if k not in RULE_SERVER_FIELDS and k not in ("keepFiringFor", "keep_firing_for")}
    if "for" in out:
        out["for"] = _duration(out["for"])
    keep = keep_firing_ms(body)
    if keep:
        out["keepFiringFor"] = keep
    if out.get("isPaused") is False:
        del out["isPaused"]
    out["data"] = [_query(q) for q in body.get("data") or []]
    return prune_empty(out)


def rule_group(body: dict[str, Any]) -> dict[str, Any]:
    """The group's own settings; its rules are planned one by one (kind alert_rule)."""
    interval = body.get("interval")
    if isinstance(interval, str):
        interval = (duration_ms(interval) or 0) // 1000
    return {"title": body.get("title"), "folderUid": body.get("folderUid"), "interval": interval}


NORMALIZERS = {
    "folder": folder,
    "dashboard": dashboard,
    "contact_point": contact_point,
    "notification_policy": policy,
    "alert_rule": alert_rule,
    "rule_group": rule_group,
}
