"""Apply stage, Datadog adapter: monitors and dashboards through the v1 API.

Identity and ownership. A monitor is marked by the `managed-by:moncat` tag; its moncat id is the
value of its `moncat-id:` tag. A dashboard is marked by the marker the target writes into its
description, `Managed by moncat (moncat-id: <id>)`: dashboard tags may only be `team:` tags, and
the list endpoint returns descriptions, so identity costs no request per dashboard. A copy made
in Datadog's UI carries the same mark, so a marked object is moncat's only when it is also bound
to its own id (compiler/apply/identity.py): a `moncat-ref:<monitor id>` tag, a
`(moncat-ref: <dashboard id>)` suffix in the description, written right after the create. No local
id map is kept: what the server lists is the whole truth, on any machine.

Creates are the API's only requests that are not idempotent (the server assigns the id): before
retrying one whose answer was lost, the object is looked up by its moncat id (Client.create).

Listing. Monitors: `GET /api/v1/monitor` filtered by `monitor_tags=managed-by:moncat`, in pages of
the documented maximum of 1,000. Dashboards: `GET /api/v1/dashboard` (`start`/`count`) gives
summaries; the full body is fetched (`GET /api/v1/dashboard/{id}`, several at a time) only for the
owned dashboards the catalog also has, the only ones a plan compares.

SLOs (`/api/v1/slo`), written before the burn-rate monitors that name them and deleted after
them, are bound, looked up and listed the same way (compiler/apply/datadog_slos.py).
Downtimes (an alert's active hours) carry no tags: compiler/apply/datadog_downtimes.py.

Composite monitors, a kind of their own, are written after the monitors (with the ids those got)
and deleted before them (compiler/apply/datadog_composite.py); their identity, binding and lookup
before a retried create are a monitor's.

What a plan compares, the server's own additions left out: compiler/apply/datadog_normalize.py.
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Mapping

from compiler.apply import datadog_composite as composite
from compiler.apply import datadog_downtimes as downtimes
from compiler.apply import datadog_slos as slos
from compiler.apply import identity
from compiler.apply.datadog_normalize import (DESCRIPTION_REF, OPTION_STATE, REF_TAG, normalize_dashboard,
                                              normalize_monitor, plain)
from compiler.apply.base import OWNER_TAG
from compiler.apply.client import ApiError, Client
from compiler.apply.endpoint import checked_secret, checked_url, limits
from compiler.apply.plan import Action, Current, Desired, Finding
from compiler.apply.registry import ConfigError
from compiler.model import Catalog

MONITOR, COMPOSITE, DASHBOARD, SLO = "monitor", "composite monitor", "dashboard", slos.SLO
DOWNTIME = downtimes.DOWNTIME
ID_TAG = "moncat-id:"
MONITORS = "/api/v1/monitor"
DASHBOARDS = "/api/v1/dashboard"
BASES = {MONITOR: MONITORS, COMPOSITE: MONITORS, DASHBOARD: DASHBOARDS, SLO: slos.SLOS}
MONITOR_PAGE = 1000  # the documented maximum of `page_size`
DASHBOARD_PAGE = 1000  # `count` has no documented maximum; pages end at an empty one
READ_CONCURRENCY = 16
DEFAULT_SITE = "datadoghq.com"
# The marker compiler/targets/datadog/dashboards.py writes into every dashboard's description.
MARKER = re.compile(r"Managed by moncat \(moncat-id: ([^()\s]+)\)")


def _tags(body: dict) -> list[str]:
    tags = body.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _tag_value(body: dict, prefix: str) -> str:
    return next((t[len(prefix):] for t in _tags(body) if t.startswith(prefix)), "")


def monitor_id(body: dict) -> str:
    """The moncat id in a monitor's tags ("" when it has none)."""
    return _tag_value(body, ID_TAG)


def dashboard_id(description: Any) -> str:
    found = MARKER.search(description if isinstance(description, str) else "")
    return found.group(1) if found else ""


def dashboard_ref(description: Any) -> str:
    found = DESCRIPTION_REF.search(description if isinstance(description, str) else "")
    return found.group(1) if found else ""


def monitor_kind(body: dict) -> str:
    """MONITOR or COMPOSITE, by the monitor's type."""
    return COMPOSITE if body.get("type") == "composite" else MONITOR


def bound_body(kind: str, body: dict, remote_id: str) -> dict:
    """The body with its binding to `remote_id` (any other reference replaced)."""
    if kind != DASHBOARD:
        tags = [t for t in body.get("tags") or [] if not str(t).startswith(REF_TAG)]
        return dict(body, tags=tags + [REF_TAG + remote_id])
    description = DESCRIPTION_REF.sub("", body.get("description") or "")
    return dict(body, description=f"{description} ({identity.REF}: {remote_id})")


def _unix_time(value: Any) -> str | None:
    """An SLO's `created_at` (UNIX seconds) as ISO 8601; None when it is not a time."""
    try:
        if type(value) not in (int, float):
            return None
        return datetime.fromtimestamp(value, timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _claim(kind: str, item: dict) -> identity.Claim:
    """A marked monitor, SLO or dashboard (a full body or a list's summary) as an identity claim."""
    remote = str(item["id"])
    if kind != DASHBOARD:
        oid, ref = monitor_id(item), _tag_value(item, REF_TAG)
        creator = item.get("creator")
        who, when = creator.get("handle") if isinstance(creator, dict) else None, item.get("created")
        if kind == SLO:
            when = _unix_time(item.get("created_at"))
    else:
        oid, ref = dashboard_id(item.get("description")), dashboard_ref(item.get("description"))
        who, when = item.get("author_handle"), item.get("created_at")
    made = " ".join(p for p in (f"created {str(when)[:19]}" if when else "", f"by {who}" if who else "") if p)
    label = f"{kind} {remote}" + (f" ({made})" if made else "")
    return identity.Claim(kind, oid, remote, ref, item, identity.service_of(oid), label)


def _keep_state(action: Action) -> Any:
    """The update body, with the monitor's mute (if any) carried over from the server."""
    current = action.current if isinstance(action.current, dict) else {}
    state = {k: v for k, v in (current.get("options") or {}).items() if k in OPTION_STATE and v}
    if action.kind not in (MONITOR, COMPOSITE) or not state or not isinstance(action.body, dict):
        return action.body
    return dict(action.body, options={**(action.body.get("options") or {}), **state})


class DatadogTarget:
    """Datadog's v1 monitor, SLO and dashboard API for one organisation (the keys')."""

    name = "datadog"
    order = (SLO, MONITOR, COMPOSITE, DOWNTIME, DASHBOARD)  # burn-rate monitors name their SLO

    def __init__(self, client: Client):
        self.client = client
        self._wanted: set[tuple[str, str]] | None = None  # set by desired(): what a plan compares
        self.findings: list[Finding] = []  # set by current(): duplicates, copies
        # moncat id -> monitor id of the monitors composites may name: set by current(), and
        # by each monitor's create.
        self._ids: dict[str, str] = {}
        self._uses: dict[str, list[str]] = {}  # set by desired(): a composite's components
        self._slo_uses: dict[str, list[str]] = {}  # set by desired(): a burn-rate monitor's SLO
        self.slo_ids = slos.SloIds()  # set by current(), and by each SLO's create

    def desired(self, files: dict[str, bytes]) -> list[Desired]:
        out: list[Desired] = []
        seen: dict[tuple[str, str], str] = {}
        for path in sorted(files):
            if not path.endswith(".json"):
                continue
            if path.startswith("datadog/monitors/"):
                body = json.loads(files[path])
                kind, oid = monitor_kind(body), monitor_id(body)
            elif path.startswith("datadog/dashboards/"):
                body = json.loads(files[path])
                kind, oid = DASHBOARD, dashboard_id(body.get("description"))
            elif path.startswith("datadog/slos/"):
                body = json.loads(files[path])
                kind, oid = SLO, slos.slo_id(body)
            elif path.startswith("datadog/downtimes/"):
                body = json.loads(files[path])
                kind, oid = DOWNTIME, downtimes.downtime_id(body)
            else:
                continue
            if not oid:
                raise ConfigError(f"{path} carries no moncat id (compiled by another moncat?)")
            if (kind, oid) in seen:
                # Tags are lowercase: two alerts whose names differ only in case collide.
                raise ConfigError(f"{path} and {seen[kind, oid]} have one moncat id, {oid}: "
                                  "rename one of the two")
            seen[kind, oid] = path
            out.append(Desired(kind, oid, body))
        self._wanted = set(seen)
        self._uses = {d.id: composite.references(d.body) for d in out if d.kind == COMPOSITE}
        self._slo_uses = {d.id: slos.references(d.body) for d in out if d.kind == MONITOR}
        return out

    def current(self) -> list[Current]:
        """Owned objects only (identity.resolve): an object without the mark carries no moncat id,
        and a copy is bound to another object's id, so no plan could match or touch either."""
        mark = f"its {OWNER_TAG} tag"
        owned_slos, found = identity.resolve(self._slo_claims({"tags_query": OWNER_TAG}), mark)
        claims = self._monitor_claims({"monitor_tags": OWNER_TAG})
        monitors, also = identity.resolve(claims, mark)
        dashboards, more = identity.resolve(self._dashboard_claims(), "the marker in its description")
        # Extra copies too (under ids of their own): a query naming one is read as naming it.
        self.slo_ids.reset({c.id: c.remote_id for c in owned_slos})
        self._ids = {c.id: c.remote_id for c in monitors if c.kind == MONITOR}
        self.findings = found + also + more
        # A burn-rate monitor whose SLO is blocked, then a composite whose component is.
        self.findings += composite.blocked_by_components(MONITOR, self._slo_uses, SLO, self.findings, "SLO")
        self.findings += composite.blocked_by_components(COMPOSITE, self._uses, MONITOR, self.findings)
        if self._wanted is not None:  # which monitors and SLOs a --prune would delete
            wanted = {oid for _, oid in self._wanted}
            self.findings += composite.held_by_foreign([c for c in claims if c.kind == COMPOSITE], monitors,
                                                       wanted, MONITOR)
            self.findings += composite.held_by_foreign(claims, monitors + owned_slos, wanted, SLO,
                                                       slos.named, slos.USED)
        return owned_slos + monitors + downtimes.current(self.client) + self._with_bodies(dashboards)

    def _slo_claims(self, params: dict[str, Any]) -> list[identity.Claim]:
        return slos.listing(self.client, params, _claim, OWNER_TAG)

    def _monitor_claims(self, params: dict[str, Any]) -> list[identity.Claim]:
        claims: list[identity.Claim] = []
        page = 0
        while True:
            resp = self.client.request("GET", MONITORS, params={**params, "page": page, "page_size": MONITOR_PAGE})
            items = self.client.objects(resp, "monitors", "id")
            # The filter is the server's; check anyway.
            claims += [_claim(monitor_kind(m), m) for m in items if OWNER_TAG in _tags(m)]
            if len(items) < MONITOR_PAGE:
                return claims
            page += 1

    def _dashboard_claims(self) -> list[identity.Claim]:
        claims: list[identity.Claim] = []
        start = 0
        while True:
            resp = self.client.request("GET", DASHBOARDS, params={"start": start, "count": DASHBOARD_PAGE})
            page = self.client.json(resp, dict, "an object {dashboards: [...]}")
            items = page.get("dashboards")
            if not isinstance(items, list) or not all(isinstance(d, dict) and d.get("id") for d in items):
                raise ApiError("GET", resp.url, resp.status_code,
                               "expected an object {dashboards: [...]}, each dashboard with its 'id'")
            if not items:
                return claims
            claims += [_claim(DASHBOARD, d) for d in items if dashboard_id(d.get("description"))]
            start += len(items)

    def _with_bodies(self, currents: list[Current]) -> list[Current]:
        """The full body only where a plan compares it: owned and in the catalog."""
        needed = [c for c in currents if self._wanted is None or (DASHBOARD, c.id) in self._wanted]
        with ThreadPoolExecutor(max_workers=READ_CONCURRENCY) as pool:
            bodies = dict(zip((c.remote_id for c in needed), pool.map(self._dashboard, needed)))
        out = []
        for c in currents:
            if c.remote_id not in bodies:
                out.append(c)
            elif bodies[c.remote_id] is not None:  # None: deleted since the list
                body = bodies[c.remote_id]
                still = dashboard_id(body.get("description")) == c.id.split(" ")[0]
                out.append(Current(DASHBOARD, c.id, body, owned=still, remote_id=c.remote_id,
                                   service=c.service, pending=c.pending))
        return out

    def _dashboard(self, summary: Current) -> dict | None:
        path = f"{DASHBOARDS}/{summary.remote_id}"
        resp = self.client.request("GET", path, ok=(404,))
        return None if resp.status_code == 404 else self.client.json(resp, dict, "a dashboard")

    def _find(self, kind: str, oid: str) -> dict | None:
        """The object a create whose answer was lost made, if it exists (identity.own)."""
        if kind == SLO:
            claims = [c for c in self._slo_claims({"tags_query": ID_TAG + oid}) if c.id == oid]
        elif kind != DASHBOARD:
            # Of its kind: an alert that became a composite (or stopped being one) keeps its id.
            claims = [c for c in self._monitor_claims({"monitor_tags": ID_TAG + oid})
                      if c.id == oid and c.kind == kind]
        else:
            claims = [c for c in self._dashboard_claims() if c.id == oid]
        found = identity.own(claims)
        return None if found is None else found.body

    def normalize(self, kind: str, body: Any) -> Any:
        if kind == DOWNTIME:
            return downtimes.normalize_downtime(body, plain)
        if kind == SLO:
            return slos.normalize_slo(body, plain, REF_TAG)
        if kind == DASHBOARD:
            return normalize_dashboard(body)
        if kind == COMPOSITE:
            body = composite.with_names(body, self._ids)
        return normalize_monitor(self.slo_ids.unresolve(body))

    def _resolved(self, action: Action, body: Any) -> Any:
        """The body as sent: a composite's with its components' monitor ids filled in, a
        burn-rate monitor's with its SLO's."""
        method = "POST" if action.op == "create" else "PUT"
        if action.kind == COMPOSITE:
            return composite.with_ids(body, self._ids, method, MONITORS, action.id)
        return self.slo_ids.resolve(body, method, MONITORS) if action.kind == MONITOR else body

    def write(self, action: Action) -> None:
        if action.kind == DOWNTIME:
            downtimes.write(self.client, action)
            return
        base = BASES[action.kind]
        if action.op == "create":
            body = self._resolved(action, action.body)
            made = self.client.create(base, body, lambda: self._find(action.kind, action.id),
                                      f"the created {action.kind}",
                                      unwrap=slos.created if action.kind == SLO else None)
            rid = str(made["id"])
            if action.kind == MONITOR:
                self._ids[action.id] = rid
            elif action.kind == SLO:
                self.slo_ids.learn(action.id, rid)
            if _claim(action.kind, made).bound:
                return
            # Bound at once, so that a copy of it, which keeps this reference, is never taken
            # for it. A monitor takes a partial update; a dashboard or an SLO only a whole one.
            bound = bound_body(action.kind, body, rid)
            partial = action.kind in (MONITOR, COMPOSITE)
            self.client.request("PUT", f"{base}/{rid}", json={"tags": bound["tags"]} if partial else bound)
        elif action.op == "update":
            self.client.request("PUT", f"{base}/{action.remote_id}", json=self._resolved(
                action, bound_body(action.kind, _keep_state(action), action.remote_id)))
        elif action.op == "delete":
            # 404: already gone (a retried DELETE whose first answer was lost): the goal is met.
            self.client.request("DELETE", f"{base}/{action.remote_id}", ok=(404,))


def base_url(env: Mapping[str, str], url: str | None) -> str:
    """--url as given, else https://api.<DD_SITE> (datadoghq.com when unset)."""
    if url:
        checked_url(url, "--url", "set DD_API_KEY and DD_APP_KEY instead")
        return url.strip().rstrip("/")
    site = (env.get("DD_SITE") or DEFAULT_SITE).strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*\.[a-z]{2,}", site):
        raise ConfigError("DD_SITE must be a Datadog site such as datadoghq.com or datadoghq.eu "
                          "(no https://, no path)")
    return f"https://api.{site}"


def connect(env: Mapping[str, str], url: str | None, catalog: Catalog) -> DatadogTarget:
    """Keys from DD_API_KEY and DD_APP_KEY (sent as DD-API-KEY / DD-APPLICATION-KEY headers, never
    in a URL); site from DD_SITE or --url; MONCAT_APPLY_BACKOFF_S and MONCAT_APPLY_TIMEOUT_S tune
    the client."""
    if not catalog.settings.datadog.enabled:
        # An empty desired set with --prune would delete every monitor moncat ever made.
        raise ConfigError("the catalog has no targets.datadog in moncat.yaml: nothing to apply")
    missing = [var for var in ("DD_API_KEY", "DD_APP_KEY") if not env.get(var)]
    if missing:
        raise ConfigError(f"set {' and '.join(missing)} (Organization Settings > API Keys / "
                          "Application Keys)")
    api_key = checked_secret("DD_API_KEY", env["DD_API_KEY"])
    app_key = checked_secret("DD_APP_KEY", env["DD_APP_KEY"])
    headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key, "Accept": "application/json"}
    root = base_url(env, url)
    refused = (f"the keys were refused: check DD_API_KEY and DD_APP_KEY, and that DD_SITE (here "
               f"{root.split('://', 1)[1]}) is the site of the organisation they belong to; the "
               "application key needs the monitors, SLOs and dashboards read and write scopes")
    # One pooled connection per concurrent reader (requests keeps 10 by default).
    client = Client(root, headers, [api_key, app_key], limits=limits(env),
                    hints={401: refused, 403: refused, 400: composite.refusal_hint,
                           409: slos.refusal_hint},
                    pool_size=READ_CONCURRENCY + 4)
    return DatadogTarget(client)
