"""Datadog target, schedules: an alert's active hours as recurring downtimes, and its
suppressions as a composite monitor.

Active hours. Datadog mutes a monitor with a downtime; the hours an alert must not notify (the
week outside its `active_during`, and its `muted_during`) become weekly recurring v1 downtimes
(`recurrence.type: weeks`, `week_days`) scoped to the monitor by its `moncat-id` tag, in the
intervals' time zone. The first occurrence is in the week of Sunday 2024-01-07 (a fixed date:
the output stays byte-identical; Datadog repeats it from there). Days of the month, months and
years have no weekly form: such an alert is refused for Datadog (MC486).

Suppressions. `A suppressed_by B` becomes the composite monitor `A && !B` (grouped like its
monitors, so `equal` labels that are their common group tags match per group), written where A's
monitor was (`<alert>.json`, A's id, A's message and handles): A's own monitor becomes its
component `<alert>.main.json`, telling nobody. References are `${<moncat id>}`, as for the
composites of translated conditions: apply writes the monitor ids in. When A or B is already a
composite, its query is used in parentheses.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic, error
from compiler.incremental import cached
from compiler.model import Alert, Catalog, Service
from compiler.targets.datadog.monitors import component_id, monitor_tags, reference
from compiler.targets.datadog.wording import words
from compiler.targets.routing.delivery import hours
from compiler.time_intervals import WEEKDAYS, Spec

TARGET = "datadog"
WEEK = 7 * 24 * 60
ANCHOR = datetime(2024, 1, 7)  # a Sunday: minute 0 of the week, as Alertmanager counts days
DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # Datadog's week_days spelling


def _minutes(spec: Spec) -> set[int]:
    """The minutes of the week (Sunday 00:00 = 0) a weekly spec covers."""
    days: set[int] = set()
    for text in spec.weekdays or ("sunday:saturday",):
        bounds = [WEEKDAYS.index(p) for p in text.split(":")]
        days.update(range(bounds[0], bounds[-1] + 1))
    ranges = spec.times or ((0, 24 * 60),)
    return {day * 1440 + m for day in days for a, b in ranges for m in range(a, b)}


def _windows(muted: set[int]) -> list[tuple[int, int]]:
    """Muted minutes as (start, length) windows; one that runs past Saturday night continues on
    Sunday (a downtime may cross the week's end)."""
    starts = sorted(m for m in muted if (m - 1) % WEEK not in muted)
    out = []
    for start in starts:
        length = 1
        while length < WEEK and (start + length) % WEEK in muted:
            length += 1
        out.append((start, length))
    return out or ([(0, WEEK)] if len(muted) == WEEK else [])


def _specs(catalog: Catalog, names: tuple[str, ...]) -> dict[str, tuple[Spec, ...]]:
    return {name: catalog.time_intervals[name].specs for name in names if name in catalog.time_intervals}


def refusal(catalog: Catalog, service: Service, alert: Alert) -> Diagnostic | None:
    """Why the alert's hours have no Datadog form (checked before any output is generated)."""
    active, muted = hours(service, alert)
    specs = _specs(catalog, active + muted)
    loc = alert.at("active_during") if alert.active_during else alert.at("muted_during")
    if not (alert.active_during or alert.muted_during):  # the service's hours
        loc = service.field_locs.get("active_during", service.field_locs.get("muted_during", service.loc))
    if any(s.days_of_month or s.months or s.years for group in specs.values() for s in group):
        return error("MC486", f"{alert.name!r}: Datadog's recurring downtimes repeat by week, "
                     "and its hours name days of the month, months or years", loc,
                     "keep Datadog's hours to weekdays and times, or leave Datadog out "
                     "(`targets: [prometheus, grafana]`)")
    locations = {s.location or "UTC" for group in specs.values() for s in group}
    if len(locations) > 1:
        return error("MC486", f"{alert.name!r}: its hours are in several time zones "
                     f"({', '.join(sorted(locations))}); a Datadog downtime has one", loc,
                     "write the alert's intervals in one time zone")
    return None


def downtimes(catalog: Catalog, service: Service, alert: Alert
              ) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """The recurring downtimes that keep the alert's monitor quiet outside its hours."""
    active, muted = hours(service, alert)
    if not active and not muted:
        return [], []
    problem = refusal(catalog, service, alert)
    if problem is not None:
        return [], [problem]
    specs = _specs(catalog, active + muted)
    zone = {s.location or "UTC" for group in specs.values() for s in group}.pop()
    quiet: set[int] = set()
    if active:
        quiet = set(range(WEEK)) - set().union(*(_minutes(s) for n in active for s in specs.get(n, ())))
    quiet |= set().union(*(_minutes(s) for n in muted for s in specs.get(n, ())))
    grouped: dict[tuple[int, int], list[int]] = {}
    for start, length in _windows(quiet):
        grouped.setdefault((start % 1440, length), []).append(start // 1440)
    out = []
    for i, ((minute, length), days) in enumerate(sorted(grouped.items()), 1):
        first = ANCHOR + timedelta(days=min(days), minutes=minute)
        begin = first.replace(tzinfo=ZoneInfo(zone))
        body: dict[str, Any] = {
            "message": f"moncat: {alert.id} notifies only in its active hours "
                       f"({', '.join(active) or '-'}; muted: {', '.join(muted) or '-'}). "
                       f"{downtime_marker(alert, i)}",
            "monitor_tags": [t for t in monitor_tags(service, alert) if t.startswith("moncat-id:")],
            "scope": ["*"],
            "timezone": zone,
            "start": int(begin.timestamp()),
            "mute_first_recovery_notification": True,
        }
        if length < WEEK:
            body["end"] = int((begin + timedelta(minutes=length)).timestamp())
            body["recurrence"] = {"type": "weeks", "period": 1,
                                  "week_days": [DAY_NAMES[d] for d in sorted(set(days))]}
        # else muted all week: no end, in effect until cancelled (a week from the anchor would
        # have ended long ago)
        out.append(body)
    return out, []


def downtime_marker(alert: Alert, n: int) -> str:
    """The ownership mark apply finds the downtime by (v1 downtimes have no tags)."""
    return f"Managed by moncat (moncat-id: {alert.id}/downtime-{n})"


MAIN = "main"  # the component name of a suppressed alert's own monitor


def silenced(catalog: Catalog, alert: Alert, body: dict[str, Any]) -> dict[str, Any]:
    """A suppressed alert's own monitor as a component of its composite, telling nobody: its
    message without the @-handles line (messages.py writes them last), saying who notifies."""
    text = body["message"]
    head, _, last = text.rpartition("\n\n")
    if head and last.startswith("@"):
        text = head
    by = ", ".join(r.alert for r in alert.suppressed_by)
    note = words(catalog, alert)["suppressed"].format(name=body["name"], by=by)
    service = catalog.service(alert.service)
    return {**body, "message": text + "\n" + note, "name": f"{body['name']} ({MAIN})",
            "tags": monitor_tags(service, alert, component_id(alert, MAIN))}


def _operand(alert: Alert, body: dict[str, Any], moncat_id: str) -> str:
    return f"({body['query']})" if body.get("type") == "composite" else reference(moncat_id)


def suppress(catalog: Catalog, monitors: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """New and replaced monitor bodies by moncat id: for each suppressed alert with a Datadog
    monitor, its composite (under its own id) and, when it was a plain monitor, that monitor as
    the component `<id>.main`."""
    out: dict[str, dict[str, Any]] = {}
    for service in catalog.services:
        # A suppressed alert's service and its suppressors' are one unit of the incremental cache.
        out.update(cached(catalog, "datadog.suppress", service, lambda: _suppress(catalog, service, monitors)))
    return out


def _suppress(catalog: Catalog, service: Service, monitors: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for alert in service.alerts.values():
        body = monitors.get(alert.id)
        sources = [s for s in (catalog.alert(r.alert) for r in alert.suppressed_by)
                   if s is not None and s.id in monitors]
        if body is None or not sources:
            continue
        if body.get("type") == "composite":
            own = _operand(alert, body, alert.id)
        else:
            out[component_id(alert, MAIN)] = silenced(catalog, alert, body)
            own = reference(component_id(alert, MAIN))
        query = " && ".join([own] + [f"!{_operand(s, monitors[s.id], s.id)}" for s in sources])
        options = {k: v for k, v in body.get("options", {}).items()
                   if k in ("include_tags", "renotify_interval", "notify_audit")}
        out[alert.id] = {**{k: v for k, v in body.items() if k != "options"},
                         "type": "composite", "query": query, "options": options or {"include_tags": True}}
    return out


def build(catalog: Catalog, monitors: dict[str, dict[str, Any]]) -> tuple[list[Artifact], list[Diagnostic]]:
    """Downtimes of the alerts whose monitors were built (`monitors` by alert id)."""
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for service in catalog.services:
        found, problems = cached(catalog, "datadog.downtimes", service, lambda: _downtimes(catalog, service, monitors))
        artifacts += found
        diags += problems
    return artifacts, diags


def _downtimes(catalog: Catalog, service: Service, monitors: dict[str, dict[str, Any]]
               ) -> tuple[list[Artifact], list[Diagnostic]]:
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for alert in service.alerts.values():
        if alert.id not in monitors:
            continue
        found, problems = downtimes(catalog, service, alert)
        diags += problems
        for i, body in enumerate(found, 1):
            artifacts.append(Artifact(
                f"datadog/downtimes/{service.id}/{alert.name}.{i}.json", body, "json",
                (ManagedObject(f"{alert.id}/downtime-{i}", "downtime", TARGET, alert.loc, body),)))
    return artifacts, diags
