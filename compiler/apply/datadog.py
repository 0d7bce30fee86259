"""Apply stage, Datadog adapter: monitors and dashboards through the v1 API.

Identity and ownership. A monitor is ours when it carries the `managed-by:moncat` tag; its
moncat id is the value of its `moncat-id:` tag. A dashboard is ours when its description holds
the marker the target writes, `Managed by moncat (moncat-id: <id>)`: dashboard tags may only be
`team:` tags, and the list endpoint returns descriptions, so identity costs no request per
dashboard. No local id map is kept: what the server lists is the whole truth, on any machine.

Listing. Monitors: `GET /api/v1/monitor` filtered by `monitor_tags=managed-by:moncat`, in pages of
the documented maximum of 1,000. Dashboards: `GET /api/v1/dashboard` (`start`/`count`) gives
summaries; the full body is fetched (`GET /api/v1/dashboard/{id}`, several at a time) only for the
owned dashboards the catalog also has, the only ones a plan compares.

SLO objects, and the SLO ids their burn-rate monitors name: compiler/apply/datadog_slos.py.
Downtimes (an alert's active hours): compiler/apply/datadog_downtimes.py.

Composite monitors (a kind of their own, written after the monitors and deleted before them):
the compiled files name their component monitors `${<moncat id>}`; apply writes the components'
monitor ids there (known from the listing, or from the create answer), and reads a composite from
the server back into those names before comparing.

Server changes normalised before comparing: read-only fields (id, created, modified, creator,
overall_state, widget ids, author, url, ...), `metric alert` and `query alert` (the API returns
either for a metric monitor), option defaults the server fills in, nulls and empty lists, tag
case and order.
"""
from __future__ import annotations

import dataclasses
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from requests.adapters import HTTPAdapter

from compiler.apply import datadog_downtimes, datadog_slos
from compiler.apply.base import OWNER_TAG
from compiler.apply.client import ApiError, Client
from compiler.apply.plan import Action, Current, Desired
from compiler.apply.registry import ConfigError, seconds_setting
from compiler.model import Catalog

MONITOR, COMPOSITE, DASHBOARD, SLO = "monitor", "composite monitor", "dashboard", datadog_slos.SLO
DOWNTIME = datadog_downtimes.DOWNTIME
REFERENCE = re.compile(r"\$\{([^}\s]+)\}")
ID_TAG = "moncat-id:"
MONITORS = "/api/v1/monitor"
DASHBOARDS = "/api/v1/dashboard"
MONITOR_PAGE = 1000  # the documented maximum of `page_size`
DASHBOARD_PAGE = 1000  # `count` has no documented maximum; pages end at an empty one
READ_CONCURRENCY = 16
DEFAULT_SITE = "datadoghq.com"
# The marker compiler/targets/datadog/dashboards.py writes into every dashboard's description.
MARKER = re.compile(r"Managed by moncat \(moncat-id: ([^()\s]+)\)")

# Monitor fields moncat writes. PUT /api/v1/monitor/{id} changes only the fields it is given, so
# a field outside this list (restricted_roles set in the UI...) could never be reset by an
# update; comparing it would plan the same update forever.
MONITOR_FIELDS = ("name", "type", "query", "message", "tags", "priority", "options")
# Option values that mean "not set", as the server fills them in: the MonitorOptions defaults of
# the v1 OpenAPI document (`default:`, or "Defaults to" in the description), and what exported
# monitors show (`locked: false`, `escalation_message: ""`, `renotify_interval: 0` or "0",
# `timeout_h: 0`). Such a value compares as absent.
OPTION_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "escalation_message": ("",),
    "groupby_simple_monitor": (False,),
    "include_tags": (True,),
    "locked": (False,),
    "new_host_delay": (300,),
    "notification_preset_name": ("show_all",),
    "notify_audit": (False,),
    "notify_no_data": (False,),
    "renotify_interval": (0, "0"),
    "require_full_window": (False,),
    "timeout_h": (0,),
}
# "If renotify_interval is set, [renotify_statuses] defaults to renotify on Alert and No Data."
RENOTIFY_DEFAULT = ["alert", "no data"]
# Operational state, not configuration: a mute (v1 downtime) shows in options.silenced. It is
# left out of the comparison and carried over into an update, which would otherwise unmute.
OPTION_STATE = ("silenced",)
# Dashboard fields the server sets and ignores on write (readOnly in the OpenAPI document), and
# fields whose absence it spells as null, [] or a default.
DASHBOARD_READ_ONLY = ("id", "author_handle", "author_name", "created_at", "modified_at", "url")
DASHBOARD_DEFAULTS: dict[str, Any] = {"is_read_only": False, "reflow_type": None}


def _plain(value: Any) -> Any:
    """Nulls and empty containers dropped, integral floats as ints (the API returns `5.0` for a
    threshold of 5)."""
    if isinstance(value, dict):
        out = {k: _plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _is_default(option: str, value: Any) -> bool:
    # By type too: 0 == False in Python, and `notify_no_data: 0` is not a spelling of false.
    return any(type(value) is type(d) and value == d for d in OPTION_DEFAULTS.get(option, ()))


def normalize_monitor(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = {k: body[k] for k in MONITOR_FIELDS if k in body}
    if out.get("type") == "metric alert":
        out["type"] = "query alert"
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted({str(t).lower() for t in out["tags"]})
    options = out.get("options")
    if isinstance(options, dict):
        options = {k: v for k, v in options.items() if k not in OPTION_STATE
                   and not _is_default(k, v)}
        if options.get("renotify_interval") and options.get("renotify_statuses") and \
                sorted(options["renotify_statuses"]) == RENOTIFY_DEFAULT:
            del options["renotify_statuses"]
        out["options"] = options
    return _plain(out)


def _widget(widget: Any) -> Any:
    """A widget without the id the server gives it, nested group widgets likewise."""
    if not isinstance(widget, dict):
        return widget
    out = {k: v for k, v in widget.items() if k != "id"}
    definition = out.get("definition")
    if isinstance(definition, dict) and isinstance(definition.get("widgets"), list):
        out["definition"] = dict(definition, widgets=[_widget(w) for w in definition["widgets"]])
    return out


def normalize_dashboard(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in DASHBOARD_READ_ONLY
           and not (k in DASHBOARD_DEFAULTS and v == DASHBOARD_DEFAULTS[k])}
    if isinstance(out.get("widgets"), list):
        out["widgets"] = [_widget(w) for w in out["widgets"]]
    if isinstance(out.get("tags"), list):
        out["tags"] = sorted(out["tags"])
    return _plain(out)


def monitor_id(body: dict) -> str:
    """The moncat id in a monitor's tags ("" when it has none)."""
    return next((t[len(ID_TAG):] for t in body.get("tags") or [] if t.startswith(ID_TAG)), "")


def dashboard_id(description: str | None) -> str:
    found = MARKER.search(description or "")
    return found.group(1) if found else ""


def _json(resp: Any, method: str, path: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise ApiError(method, path, resp.status_code, "the answer is not JSON") from None


def _first_of_each(kind: str, found: list[tuple[str, str, Any]]) -> list[Current]:
    """Owned objects as Currents. Two objects with one moncat id (a clone in the UI, a create
    retried after its answer was lost): the oldest keeps the id, the others are listed under
    their own so that --prune removes them."""
    out, seen = [], set()
    for oid, remote, body in found:
        if oid and oid not in seen:
            seen.add(oid)
            out.append(Current(kind, oid, body, owned=True, remote_id=remote))
        else:
            label = f"{oid} (extra copy {remote})" if oid else f"(no moncat-id) {remote}"
            out.append(Current(kind, label, body, owned=True, remote_id=remote))
    return out


def _keep_state(action: Action) -> Any:
    """The update body, with the monitor's mute (if any) carried over from the server."""
    current = action.current if isinstance(action.current, dict) else {}
    state = {k: v for k, v in (current.get("options") or {}).items() if k in OPTION_STATE and v}
    if action.kind not in (MONITOR, COMPOSITE) or not state or not isinstance(action.body, dict):
        return action.body
    return dict(action.body, options={**(action.body.get("options") or {}), **state})


class DatadogTarget:
    """Datadog's v1 monitor and dashboard API for one organisation (the keys')."""

    name = "datadog"
    order = (SLO, MONITOR, COMPOSITE, DOWNTIME, DASHBOARD)  # burn-rate monitors name their SLO

    def __init__(self, client: Client):
        self.client = client
        self._wanted: set[tuple[str, str]] | None = None  # set by desired(): what a plan compares
        self._ids: dict[str, str] = {}  # moncat id -> monitor id, for composites' references
        self.slo_ids = datadog_slos.SloIds()

    def desired(self, files: dict[str, bytes]) -> list[Desired]:
        out: list[Desired] = []
        seen: dict[tuple[str, str], str] = {}
        for path in sorted(files):
            if not path.endswith(".json"):
                continue
            if path.startswith("datadog/monitors/"):
                body = json.loads(files[path])
                kind, oid = COMPOSITE if body.get("type") == "composite" else MONITOR, monitor_id(body)
            elif path.startswith("datadog/dashboards/"):
                body = json.loads(files[path])
                kind, oid = DASHBOARD, dashboard_id(body.get("description"))
            elif path.startswith("datadog/slos/"):
                body = json.loads(files[path])
                kind, oid = SLO, datadog_slos.slo_id(body)
            elif path.startswith("datadog/downtimes/"):
                body = json.loads(files[path])
                kind, oid = DOWNTIME, datadog_downtimes.downtime_id(body)
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
        return out

    def current(self) -> list[Current]:
        """Owned objects only: one without the mark cannot carry a moncat id (the id is part of
        the mark), so no plan could match or touch it."""
        slos = _first_of_each(SLO, datadog_slos.listing(self.client, _json, self.slo_ids))
        downtimes = _first_of_each(DOWNTIME, datadog_downtimes.listing(self.client, _json))
        return slos + self._monitors() + downtimes + self._dashboards()

    def _monitors(self) -> list[Current]:
        found: list[tuple[str, str, Any]] = []
        page = 0
        while True:
            params = {"monitor_tags": OWNER_TAG, "page": page, "page_size": MONITOR_PAGE}
            items = _json(self.client.request("GET", MONITORS, params=params), "GET", MONITORS)
            if not isinstance(items, list):
                raise ApiError("GET", MONITORS, 200, "expected a list of monitors")
            for m in items:
                if OWNER_TAG in (m.get("tags") or []):  # the filter is the server's; check anyway
                    found.append((monitor_id(m), str(m["id"]), m))
            if len(items) < MONITOR_PAGE:
                break
            page += 1
        found.sort(key=lambda f: int(f[1]))  # ids grow with creation: the oldest first
        plain = _first_of_each(MONITOR, [f for f in found if f[2].get("type") != "composite"])
        self._ids = {c.id: c.remote_id for c in plain}
        return plain + _first_of_each(COMPOSITE, [f for f in found if f[2].get("type") == "composite"])

    def _dashboards(self) -> list[Current]:
        summaries: list[dict] = []
        start = 0
        while True:
            params = {"start": start, "count": DASHBOARD_PAGE}
            page = _json(self.client.request("GET", DASHBOARDS, params=params), "GET", DASHBOARDS)
            items = page.get("dashboards") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise ApiError("GET", DASHBOARDS, 200, "expected {dashboards: [...]}")
            if not items:
                break
            summaries += items
            start += len(items)
        owned = [(dashboard_id(s.get("description")), str(s["id"]), s) for s in summaries
                 if dashboard_id(s.get("description"))]
        owned.sort(key=lambda f: (str(f[2].get("created_at") or ""), f[1]))
        currents = _first_of_each(DASHBOARD, owned)
        # The full body only where a plan compares it: owned and in the catalog.
        needed = [c for c in currents if self._wanted is None or (DASHBOARD, c.id) in self._wanted]
        with ThreadPoolExecutor(max_workers=READ_CONCURRENCY) as pool:
            bodies = dict(zip((c.remote_id for c in needed), pool.map(self._dashboard, needed)))
        out = []
        for c in currents:
            if c.remote_id not in bodies:
                out.append(c)
            elif bodies[c.remote_id] is not None:  # None: deleted since the list
                body = bodies[c.remote_id]
                out.append(Current(DASHBOARD, c.id, body, owned=bool(dashboard_id(body.get("description"))),
                                   remote_id=c.remote_id))
        return out

    def _dashboard(self, summary: Current) -> dict | None:
        path = f"{DASHBOARDS}/{summary.remote_id}"
        resp = self.client.request("GET", path, ok=(404,))
        return None if resp.status_code == 404 else _json(resp, "GET", path)

    def normalize(self, kind: str, body: Any) -> Any:
        if kind == SLO:
            return datadog_slos.normalize_slo(body, _plain)
        if kind == DOWNTIME:
            return datadog_downtimes.normalize_downtime(body, _plain)
        if kind == MONITOR:
            body = self.slo_ids.unresolve(body)
        if kind == COMPOSITE and isinstance(body, dict) and isinstance(body.get("query"), str):
            # The server's monitor ids, read back as the references the files hold.
            names = {remote: oid for oid, remote in self._ids.items()}
            body = dict(body, query=re.sub(r"\b\d+\b", lambda m: "${" + names.get(m.group(0), m.group(0)) + "}",
                                           body["query"]))
        return normalize_monitor(body) if kind in (MONITOR, COMPOSITE) else normalize_dashboard(body)

    def _resolved(self, action: Action, body: Any) -> Any:
        """A composite's body with its references replaced by the components' monitor ids."""
        if action.kind != COMPOSITE or not isinstance(body, dict):
            return body
        missing = [r for r in REFERENCE.findall(body.get("query", "")) if r not in self._ids]
        if missing:
            raise ApiError("POST" if action.op == "create" else "PUT", MONITORS, None,
                           f"composite {action.id} names monitors that do not exist: {', '.join(missing)}")
        return dict(body, query=REFERENCE.sub(lambda m: self._ids[m.group(1)], body["query"]))

    def write(self, action: Action) -> None:
        if action.kind == SLO:
            datadog_slos.write(self.client, action, self.slo_ids, _json)
            return
        if action.kind == DOWNTIME:
            datadog_downtimes.write(self.client, action)
            return
        if action.kind == MONITOR and action.body is not None:
            action = dataclasses.replace(action, body=self.slo_ids.resolve(action.body))
        base = MONITORS if action.kind in (MONITOR, COMPOSITE) else DASHBOARDS
        if action.op == "create":
            resp = self.client.request("POST", base, json=self._resolved(action, action.body))
            if action.kind == MONITOR:
                created = _json(resp, "POST", base)
                if isinstance(created, dict) and "id" in created:
                    self._ids[action.id] = str(created["id"])
        elif action.op == "update":
            self.client.request("PUT", f"{base}/{action.remote_id}",
                                json=self._resolved(action, _keep_state(action)))
        elif action.op == "delete":
            # 404: already gone (a retried DELETE whose first answer was lost): the goal is met.
            self.client.request("DELETE", f"{base}/{action.remote_id}", ok=(404,))


def base_url(env: Mapping[str, str], url: str | None) -> str:
    """--url as given, else https://api.<DD_SITE> (datadoghq.com when unset)."""
    if url:
        if not re.match(r"https?://[^/?#@\s]+(/[^?#@\s]*)?$", url):
            raise ConfigError("--url must be http(s)://host[:port][/path], with no credentials or query")
        return url.rstrip("/")
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
    api_key, app_key = env["DD_API_KEY"], env["DD_APP_KEY"]
    headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key, "Accept": "application/json"}
    client = Client(base_url(env, url), headers, [api_key, app_key],
                    backoff_s=seconds_setting(env, "MONCAT_APPLY_BACKOFF_S", 0.2),
                    timeout_s=seconds_setting(env, "MONCAT_APPLY_TIMEOUT_S", 10.0))
    # One pooled connection per concurrent reader (requests keeps 10 by default).
    pooled = HTTPAdapter(pool_connections=4, pool_maxsize=READ_CONCURRENCY + 4)
    client.session.mount("https://", pooled)
    client.session.mount("http://", pooled)
    return DatadogTarget(client)
