"""Apply stage, Datadog downtimes: an alert's active hours as v1 recurring downtimes
(`/api/v1/downtime`), created, updated and pruned like its monitor.

Identity and ownership. v1 downtimes carry no tags: a downtime is ours when its message holds the
mark the target writes, `Managed by moncat (moncat-id: <alert id>/downtime-<n>)`. Listing:
`GET /api/v1/downtime` (the API has no filter but `current_only`); a cancelled downtime
(`canceled` set) is history, and an occurrence Datadog spawns from a recurring one (`parent_id`
set) belongs to its parent: neither is an object of its own.

Schedule. The compiled file puts the first occurrence in a fixed past week (byte-identical
output), and Datadog moves a recurring downtime's `start` and `end` on as occurrences pass. A
plan therefore compares the schedule as the week repeats it: time zone, the start's local time of
day, length and recurrence, not the timestamps. A write moves the start to the next occurrence
after now (a day of `week_days`, the same local time), so Datadog never gets a start in the past;
an occurrence already under way at the first apply mutes from its next start. A downtime without
`end` (muted all week) starts when it is created.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compiler.apply.client import Client
from compiler.apply.plan import Action, Current

DOWNTIME = "downtime"
DOWNTIMES = "/api/v1/downtime"
MARK = re.compile(r"Managed by moncat \(moncat-id: ([^()\s]+)\)")
# The fields moncat writes (start and end compare as the schedule, below).
FIELDS = ("message", "monitor_tags", "scope", "timezone", "mute_first_recovery_notification")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # datetime.weekday() order
MARGIN = timedelta(minutes=2)  # Datadog refuses to move a start to within a minute of now


def downtime_id(body: Any) -> str:
    """The moncat id in a downtime's message ("" when it has none)."""
    found = MARK.search(str(body.get("message") or "")) if isinstance(body, dict) else None
    return found.group(1) if found else ""


def _zone(body: dict) -> ZoneInfo:
    try:
        return ZoneInfo(str(body.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def normalize_downtime(body: Any, plain: Callable[[Any], Any]) -> Any:
    """A downtime as a schedule: its fields, and for a recurring one the start's local time of
    day and the length instead of timestamps Datadog moves on."""
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {k: body[k] for k in FIELDS if k in body}
    for key in ("monitor_tags", "scope"):
        if isinstance(out.get(key), list):
            out[key] = sorted(str(t).lower() for t in out[key])
    recurrence = body.get("recurrence")
    start, end = body.get("start"), body.get("end")
    if isinstance(recurrence, dict) and isinstance(start, int):
        out["recurrence"] = {k: recurrence[k] for k in ("type", "period", "week_days", "rrule",
                                                        "until_date", "until_occurrences") if k in recurrence}
        out["starts_at"] = datetime.fromtimestamp(start, _zone(body)).strftime("%H:%M:%S")
        out["length_s"] = end - start if isinstance(end, int) else None
    else:
        out["end"] = end  # None: in effect until cancelled; the start is when it was created
    return plain(out)


def rebased(body: dict, now: datetime) -> dict:
    """The body with its first occurrence moved to the next one after `now`."""
    start, end, recurrence = body.get("start"), body.get("end"), body.get("recurrence")
    if not isinstance(recurrence, dict) or not isinstance(start, int):
        return {k: v for k, v in body.items() if k != "start"}
    zone = _zone(body)
    first = datetime.fromtimestamp(start, zone)
    days = recurrence.get("week_days") or [DAYS[first.weekday()]]
    local = now.astimezone(zone)
    for ahead in range(15):
        day = local.date() + timedelta(days=ahead)
        if DAYS[day.weekday()] not in days:
            continue
        begin = datetime.combine(day, first.time(), zone)
        if begin >= now + MARGIN:
            length = (end - start) if isinstance(end, int) else None
            moved = dict(body, start=int(begin.timestamp()))
            if length is not None:
                moved["end"] = moved["start"] + length
            return moved
    return body  # no day of the week listed: let Datadog say what is wrong with it


def current(client: Client) -> list[Current]:
    """Every live downtime carrying our mark, oldest first; a second one with the same moncat id
    (a create retried after its answer was lost, a copy) under a label of its own, which --prune
    removes."""
    items = client.objects(client.request("GET", DOWNTIMES), "downtimes", "id")
    found = sorted((d for d in items if downtime_id(d) and d.get("canceled") is None
                    and d.get("parent_id") is None), key=lambda d: int(d["id"]))
    out: list[Current] = []
    seen: set[str] = set()
    for d in found:
        oid, remote = downtime_id(d), str(d["id"])
        label = oid if oid not in seen else f"{oid} (extra copy {remote})"
        seen.add(oid)
        out.append(Current(DOWNTIME, label, d, owned=True, remote_id=remote, service=oid.split("/")[0]))
    return out


def write(client: Client, action: Action, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
          ) -> None:
    if action.op == "create":
        client.request("POST", DOWNTIMES, json=rebased(action.body, now()))
    elif action.op == "update":
        # Datadog may answer an update with a replacement under a new id (downtimes are
        # immutable but for message, start and end); the mark finds it next time.
        client.request("PUT", f"{DOWNTIMES}/{action.remote_id}", json=rebased(action.body, now()))
    elif action.op == "delete":
        client.request("DELETE", f"{DOWNTIMES}/{action.remote_id}", ok=(404,))
