"""Test support: the service level objective part of FakeDatadog (`/api/v1/slo`), and what the
monitor API checks of an `slo alert` monitor.

From the v1 OpenAPI document and Datadog's SLO and burn-rate documentation:
- `GET /api/v1/slo` answers `{"data": [...], "errors": [], "metadata": {"page": {...}}}`,
  filtered by `ids`, `query` (name), `tags_query` (one tag), paged by `limit` (default 1000) and
  `offset`; `GET /api/v1/slo/{id}` answers `{"data": slo, "errors": []}`;
- `POST /api/v1/slo` (body: ServiceLevelObjectiveRequest) and `PUT /api/v1/slo/{id}` (body:
  ServiceLevelObjective) answer `{"data": [slo], "errors": []}`; a metric SLO needs its
  `query` (numerator and denominator) or an `sli_specification`; thresholds take the
  timeframes 7d, 30d and 90d ("custom" is only for history queries);
- the server adds `id` (32 hex digits), `created_at`/`modified_at` (UNIX seconds), `creator`,
  `type_id`, `monitor_tags: []`, each threshold's `target_display`; `description: null` when none;
- `DELETE /api/v1/slo/{id}` answers `{"data": [id], "errors": {}}`, and 409 (SLODeleteResponse)
  while a monitor still uses the SLO, as the can_delete endpoint's "current usages" describe;
- an `slo alert` monitor's `burn_rate("<id>")...` must name an existing metric SLO and a timeframe
  it has, and a burn rate above the SLO's maximum, 1 / (1 - target), is refused ("Datadog blocks
  the creation of burn rate alerts that set a burn rate value beyond their maximum").
"""
from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

_BURN = re.compile(r'burn_rate\("(?P<id>[^"]+)"\)\.over\("(?P<over>[^"]+)"\)'
                   r'\.long_window\("(?P<long>[0-9]+)h"\)\.short_window\("(?P<short>[0-9]+)m"\)'
                   r'\s*(?:>=|>)\s*(?P<value>[0-9.]+)\s*$')
SLO_SCHEMAS = ("ServiceLevelObjectiveRequest", "ServiceLevelObjective")
TIMEFRAMES = ("7d", "30d", "90d")


class SloApi:
    """Mixed into FakeDatadog: `self.slos` (id -> SLO) and its endpoints."""

    slos: dict[str, dict]
    monitors: dict[int, dict]
    _next_slo = 0

    def _slo_fields(self, slo: dict) -> dict:
        slo["thresholds"] = [dict(t, target_display=repr(float(t["target"])))
                             for t in slo.get("thresholds") or []]
        slo.setdefault("description", None)
        slo.setdefault("tags", [])
        slo["type_id"] = 1 if slo.get("type") == "metric" else 0
        slo["monitor_tags"] = []
        slo["modified_at"] = 1_700_000_000 + self._clock  # type: ignore[attr-defined]
        return slo

    def seed_slo(self, body: dict, *, bound: bool = False) -> dict:
        """An SLO made outside the test's requests; `bound` as FakeDatadog.seed_monitor."""
        with self.lock:  # type: ignore[attr-defined]
            made = self._create_slo(copy.deepcopy(body))
            if bound:
                made["tags"] = [*made["tags"], f"moncat-ref:{made['id']}"]
            return copy.deepcopy(made)

    def clone_slo(self, sid: str, by: str = "alice@example.com") -> dict:
        """The UI's Clone: the original's definition and tags under a new id, by a person."""
        with self.lock:  # type: ignore[attr-defined]
            src = self.slos[sid]
            body = {k: copy.deepcopy(src[k]) for k in ("name", "type", "description", "query", "tags")
                    if src.get(k) is not None}
            body["thresholds"] = [{k: v for k, v in t.items() if k != "target_display"} for t in src["thresholds"]]
            made = self._create_slo(body)
            made["creator"] = {"email": by, "handle": by, "name": by.split("@")[0]}
            return copy.deepcopy(made)

    def _create_slo(self, body: dict) -> dict:
        self._next_slo += 1
        sid = hashlib.sha256(f"fake-slo-{self._next_slo}".encode()).hexdigest()[:32]
        self._tick()  # type: ignore[attr-defined]
        slo = {**body, "id": sid, "created_at": 1_700_000_000 + self._clock,  # type: ignore[attr-defined]
               "creator": {"email": "moncat-test@example.com", "handle": "moncat-test@example.com",
                           "name": "moncat test"}}
        self.slos[sid] = self._slo_fields(slo)
        return slo

    @staticmethod
    def _slo_problem(body: dict) -> str:
        if body.get("type") == "metric" and not body.get("query") and not body.get("sli_specification"):
            return "a metric SLO needs `query` (numerator and denominator) or `sli_specification`"
        for threshold in body.get("thresholds") or []:
            if threshold.get("timeframe") not in TIMEFRAMES:
                return f"invalid timeframe {threshold.get('timeframe')!r}: 7d, 30d or 90d"
        return ""

    def _users(self, sid: str) -> list[int]:
        return [mid for mid, m in sorted(self.monitors.items()) if m.get("type") == "slo alert"
                and (found := _BURN.match(m.get("query", ""))) and found["id"] == sid]

    def slo_alert_problem(self, body: dict) -> str:
        """Why Datadog refuses an `slo alert` monitor ("" when it accepts it)."""
        if body.get("type") != "slo alert":
            return ""
        found = _BURN.match(body.get("query", ""))
        if found is None:
            return f"invalid SLO alert query {body.get('query')!r}"
        slo = self.slos.get(found["id"])
        if slo is None:
            return f"SLO {found['id']!r} not found"
        targets = {t["timeframe"]: float(t["target"]) for t in slo["thresholds"]}
        if found["over"] not in targets:
            return f"the SLO has no {found['over']} target"
        maximum = 1 / (1 - targets[found["over"]] / 100)
        if float(found["value"]) > maximum:
            return f"burn rate {found['value']} is above the maximum {maximum:.4g} for this SLO"
        if not 1 <= int(found["long"]) <= 48 or not 0 < int(found["short"]) < int(found["long"]) * 60:
            return "long window must be 1h-48h and the short window shorter"
        critical = ((body.get("options") or {}).get("thresholds") or {}).get("critical")
        if critical is not None and float(critical) != float(found["value"]):
            return f"critical threshold {critical} does not match the query's {found['value']}"
        return ""

    def _slo_api(self, method: str, ident: str | None, arg: dict, body: Any, path: str
                 ) -> tuple[int, Any]:
        if ident is None:
            if method == "GET":
                found = sorted(self.slos.values(), key=lambda s: (s["created_at"], s["id"]))
                if arg.get("ids"):
                    wanted = {i.strip() for i in arg["ids"].split(",")}
                    found = [s for s in found if s["id"] in wanted]
                if arg.get("tags_query"):
                    found = [s for s in found if arg["tags_query"] in s["tags"]]
                if arg.get("query"):
                    found = [s for s in found if arg["query"].lower() in s["name"].lower()]
                offset, limit = int(arg.get("offset", 0)), int(arg.get("limit", 1000))
                page = found[offset:offset + limit]
                return 200, {"data": page, "errors": [], "metadata": {"page": {
                    "total_count": len(self.slos), "total_filtered_count": len(found)}}}
            if method == "POST":
                errors = self._invalid("ServiceLevelObjectiveRequest", body, method, path)  # type: ignore[attr-defined]
                problem = self._slo_problem(body) if not errors else ""
                if errors or problem:
                    return 400, {"errors": errors or [problem]}
                return 200, {"data": [self._create_slo(copy.deepcopy(body))], "errors": []}
            return 405, {"errors": ["Method not allowed"]}
        if ident not in self.slos:
            return 404, {"errors": ["SLO not found"]}
        if method == "GET":
            return 200, {"data": self.slos[ident], "errors": []}
        if method == "PUT":
            errors = self._invalid("ServiceLevelObjective", body, method, path)  # type: ignore[attr-defined]
            problem = self._slo_problem(body) if not errors else ""
            if errors or problem:
                return 400, {"errors": errors or [problem]}
            old = self.slos[ident]
            kept = {k: old[k] for k in ("id", "created_at", "creator")}
            self._tick()  # type: ignore[attr-defined]
            self.slos[ident] = self._slo_fields({**copy.deepcopy(body), **kept})
            return 200, {"data": [self.slos[ident]], "errors": []}
        if method == "DELETE":
            users = self._users(ident)
            if users:
                return 409, {"data": [], "errors": {ident: f"SLO is used by monitors {users}"}}
            del self.slos[ident]
            return 200, {"data": [ident], "errors": {}}
        return 405, {"errors": ["Method not allowed"]}
