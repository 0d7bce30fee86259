"""Datadog target, schedules: an alert's active hours as recurring downtimes, and its
suppressions as a composite monitor.

Active hours. Datadog mutes a monitor with a downtime; the hours an alert must not notify (the
week outside its `active_during`, and its `muted_during`) become weekly recurring v1 downtimes
(`recurrence.type: weeks`, `week_days`) scoped to the monitor by its `moncat-id` tag, in the
intervals' time zone. The first occurrence is in the week of Sunday 2024-01-07 (a fixed date:
the output stays byte-identical; Datadog repeats it from there). Days of the month, months and
years have no weekly form: such an alert is refused for Datadog (MC486).

Suppressions. `A suppressed_by B` becomes the composite monitor `A && !B` (grouped like its
monitors, so `equal` labels that are their common group tags match per group). The composite
notifies; A's own monitor then tells nobody. A composite names its monitors by the numeric ids
Datadog gives them, unknown before they exist: the query holds `{{moncat-id:<id>}}` for each.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic, error
from compiler.model import Alert, Catalog, Service
from compiler.targets.datadog.monitors import monitor_tags
from compiler.targets.datadog.wording import words
from compiler.targets.routing.delivery import hours
from compiler.time_intervals import WEEKDAYS, Spec

TARGET = "datadog"
WEEK = 7 * 24 * 60
ANCHOR = datetime(2024, 1, 7)  # a Sunday: minute 0 of the week, as Alertmanager counts days
DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # Datadog's week_days spelling


def placeholder(alert: Alert) -> str:
    """Where a composite names a monitor: replaced by its Datadog id when it is created."""
    return "{{moncat-id:" + alert.id + "}}"


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
    for (minute, length), days in sorted(grouped.items()):
        first = ANCHOR + timedelta(days=min(days), minutes=minute)
        begin = first.replace(tzinfo=ZoneInfo(zone))
        body: dict[str, Any] = {
            "message": f"moncat: {alert.id} notifies only in its active hours "
                       f"({', '.join(active) or '-'}; muted: {', '.join(muted) or '-'}).",
            "monitor_tags": [t for t in monitor_tags(service, alert) if t.startswith("moncat-id:")],
            "scope": ["*"],
            "timezone": zone,
            "start": int(begin.timestamp()),
            "end": int((begin + timedelta(minutes=length)).timestamp()),
            "mute_first_recovery_notification": True,
        }
        if length < WEEK:
            body["recurrence"] = {"type": "weeks", "period": 1,
                                  "week_days": [DAY_NAMES[d] for d in sorted(set(days))]}
        out.append(body)
    return out, []


def composite(catalog: Catalog, service: Service, alert: Alert, message: str) -> dict[str, Any] | None:
    """`A && !B` for each `suppressed_by` B that Datadog has a monitor of."""
    sources = [catalog.alert(r.alert) for r in alert.suppressed_by]
    sources = [s for s in sources if s is not None and s.compiled_for(TARGET)]
    if not sources:
        return None
    query = " && ".join([placeholder(alert)] + [f"!{placeholder(s)}" for s in sources])
    return {"name": f"[{service.id}] {alert.name} unless {', '.join(s.name for s in sources)}",
            "type": "composite", "query": query, "message": message,
            # Its own identity: the monitor of A already has A's `moncat-id`.
            "tags": sorted({t + "/composite" if t.startswith("moncat-id:") else t
                            for t in monitor_tags(service, alert)}),
            "priority": service.severity(alert.severity, catalog.severities).priority,
            "options": {"include_tags": True}}


def silenced(catalog: Catalog, alert: Alert, body: dict[str, Any], name: str) -> dict[str, Any]:
    """The monitor of a suppressed alert, telling nobody: its message without the @-handles
    line (messages.py writes them last), and a sentence saying who notifies instead."""
    text = body["message"]
    head, _, last = text.rpartition("\n\n")
    if head and last.startswith("@"):
        text = head
    by = ", ".join(r.alert for r in alert.suppressed_by)
    return {**body, "message": text + "\n" + words(catalog, alert)["suppressed"].format(name=name, by=by)}


def build(catalog: Catalog, monitors: dict[str, dict[str, Any]]) -> tuple[list[Artifact], list[Diagnostic]]:
    """Downtimes and composites of the alerts whose monitors were built (`monitors` by alert id)."""
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for service in catalog.services:
        for alert in service.alerts.values():
            if alert.id not in monitors:
                continue
            found, problems = downtimes(catalog, service, alert)
            diags += problems
            for i, body in enumerate(found, 1):
                artifacts.append(Artifact(
                    f"datadog/downtimes/{service.id}/{alert.name}.{i}.json", body, "json",
                    (ManagedObject(f"{alert.id}/downtime-{i}", "downtime", TARGET, alert.loc, body),)))
            body = composite(catalog, service, alert, monitors[alert.id]["message"])
            if body is not None:
                artifacts.append(Artifact(
                    f"datadog/composites/{service.id}/{alert.name}.json", body, "json",
                    (ManagedObject(f"{alert.id}/composite", "composite_monitor", TARGET,
                                   alert.at("suppressed_by"), body),)))
    return artifacts, diags
