"""Test support: the downtime part of FakeDatadog (`/api/v1/downtime`).

From the v1 OpenAPI document (operations ListDowntimes, CreateDowntime, GetDowntime,
UpdateDowntime, CancelDowntime) and Datadog's downtime documentation:
- `GET /api/v1/downtime` answers every downtime, cancelled ones included (`current_only=true`:
  only those in effect now); `GET /api/v1/downtime/{id}` one;
- `POST /api/v1/downtime` and `PUT /api/v1/downtime/{id}` take a Downtime (validated, write
  rules: readOnly fields refused) and answer it with what the server adds: `id`, `active`,
  `canceled: null`, `creator_id`, `disabled: false`, `downtime_type` (0 for scope `*`, else 2),
  `parent_id: null`, `updater_id`, `monitor_id: null`, the notify_end defaults;
- `DELETE /api/v1/downtime/{id}` cancels (204, no body): the downtime stays listed with
  `canceled` set, as the API's `canceled` field describes; an unknown id is 404.
`advance_downtimes(weeks)` moves every recurring downtime's start and end on, as Datadog does
when occurrences pass (its API shows the current occurrence, not the first).
"""
from __future__ import annotations

import copy
import time
from typing import Any

DOWNTIME_SCHEMAS = ("Downtime",)
WEEK_S = 7 * 24 * 3600


class DowntimeApi:
    """Mixed into FakeDatadog: `self.downtimes` (id -> downtime) and its endpoints."""

    downtimes: dict[int, dict]
    _next_downtime = 5_000_000

    def advance_downtimes(self, weeks: int) -> None:
        with self.lock:  # type: ignore[attr-defined]
            for d in self.downtimes.values():
                if d.get("recurrence") and d.get("canceled") is None:
                    d["start"] += weeks * WEEK_S
                    if d.get("end") is not None:
                        d["end"] += weeks * WEEK_S

    def live_downtimes(self) -> list[dict]:
        with self.lock:  # type: ignore[attr-defined]
            return [copy.deepcopy(d) for _, d in sorted(self.downtimes.items()) if d["canceled"] is None]

    def _downtime_fields(self, ident: int, body: dict, creator: int) -> dict:
        now = int(time.time())
        start = body.get("start") or now
        end = body.get("end")
        scope = body.get("scope") or ["*"]
        return {"notify_end_states": ["alert", "no data", "warn"], "notify_end_types": ["canceled", "expired"],
                "monitor_id": None, "monitor_tags": ["*"], "mute_first_recovery_notification": False,
                "timezone": "UTC", "message": None, "recurrence": None, **body,
                "id": ident, "start": start, "scope": scope,
                "active": start <= now and (end is None or now < end), "canceled": None,
                "creator_id": creator, "updater_id": None if creator == 1 else 1, "disabled": False,
                "downtime_type": 0 if scope == ["*"] else 2, "parent_id": None}

    def _downtime_api(self, method: str, ident: str | None, arg: dict, body: Any, path: str
                      ) -> tuple[int, Any]:
        if ident is None:
            if method == "GET":
                found = [d for _, d in sorted(self.downtimes.items())]
                if arg.get("current_only") == "true":
                    found = [d for d in found if d["active"] and d["canceled"] is None]
                return 200, found
            if method == "POST":
                errors = self._invalid("Downtime", body, method, path)  # type: ignore[attr-defined]
                if errors:
                    return 400, {"errors": errors}
                self._next_downtime += 1
                self.downtimes[self._next_downtime] = self._downtime_fields(self._next_downtime, body, 1)
                return 200, self.downtimes[self._next_downtime]
            return 405, {"errors": ["Method not allowed"]}
        if not ident.isdigit() or int(ident) not in self.downtimes:
            return 404, {"errors": ["Downtime not found"]}
        key = int(ident)
        if method == "GET":
            return 200, self.downtimes[key]
        if method == "PUT":
            errors = self._invalid("Downtime", body, method, path)  # type: ignore[attr-defined]
            if errors:
                return 400, {"errors": errors}
            old = self.downtimes[key]
            if old["canceled"] is not None:
                return 400, {"errors": ["Cannot update a canceled downtime"]}
            self.downtimes[key] = self._downtime_fields(key, {**{k: v for k, v in old.items()
                                                                 if k in ("message", "scope", "monitor_tags",
                                                                          "timezone", "recurrence", "start", "end",
                                                                          "mute_first_recovery_notification")},
                                                              **body}, old["creator_id"] + 1)
            return 200, self.downtimes[key]
        if method == "DELETE":
            self.downtimes[key]["canceled"] = int(time.time())
            self.downtimes[key]["active"] = False
            return 204, None
        return 405, {"errors": ["Method not allowed"]}
