"""Test double (named fake) of Grafana's HTTP API, for the apply stage's Grafana tests.

What it implements, from Grafana's HTTP API docs (docs/sources/developers/http_api: folder.md,
dashboard.md, folder_dashboard_search.md, alerting_provisioning.md) and the provisioning API's
swagger definitions (pkg/services/ngalert/api/tooling/definitions/provisioning_*.go):
- GET /api/folders?limit&page (default limit 1000), GET /api/folders/{uid} (404), POST
  /api/folders (200; 409 when the uid or, at the root, the title is taken), PUT /api/folders/{uid}
  (412 version-mismatch unless `version` is current or `overwrite`), DELETE /api/folders/{uid}
  (its dashboards go with it; 400 while it holds alert rules unless forceDeleteRules=true)
- GET /api/search?type&limit&page&folderUIDs&dashboardUIDs&tag (limit at most 5000, pages from 1)
- POST /api/dashboards/db {dashboard, folderUid, overwrite, message}: 200 {id, uid, url, status,
  version, slug}; 412 {status: version-mismatch} when the uid exists and neither `version` is the
  stored one nor `overwrite`; 412 {status: name-exists} when another dashboard of that folder has
  the title; 400 for an unknown folder. GET / DELETE /api/dashboards/uid/{uid} (404)
- /api/v1/provisioning/alert-rules: GET all, GET/PUT/DELETE one (404; DELETE 204), POST (201;
  409 when the uid exists; a new group gets the default 60 s interval)
- /api/v1/provisioning/folder/{f}/rule-groups/{g}: GET (404 when it has no rule), PUT (replaces
  the group's rules and interval)
- /api/v1/provisioning/contact-points: GET (?name=), POST (202; 400 when the uid is taken), PUT
  and DELETE by uid (202; DELETE 409 when it removes the last integration of a name the policy
  tree routes to). Secure settings read back as "[REDACTED]"; a PUT of "[REDACTED]" keeps them.
- /api/v1/provisioning/policies: GET, PUT (202; 400 when a route names an unknown contact point
  or an unknown mute timing)
- /api/v1/provisioning/templates: GET all; PUT /{name} {template} (202, creates or replaces);
  DELETE /{name} (204). The body is validated against NotificationTemplate.
- /api/v1/provisioning/mute-timings: GET all; POST (201; 409 when the name exists); PUT /{name}
  (202; 404 when unknown); DELETE /{name} (204; 409 while a policy uses it). The schema's
  TimeInterval was generated without Alertmanager's own (un)marshalling (times are
  {start_time, end_time} strings, weekdays "monday:friday"), so a body is checked for that
  form instead.
Provenance: what a provisioning write creates gets provenance "api", or none when the request
has X-Disable-Provenance; changing an "api" object back to none is refused with 403.
The server shapes its answers as Grafana does: ids, versions, `updated`, provenance, defaults in
query models (intervalMs, maxDataPoints), `for` in Go's spelling ("5m0s"), keep_firing_for as a
duration, null notification_settings/record, a default contact point and policy tree.
Auth: `Authorization: Bearer <token>`, else 401; `viewer_token` reads but gets 403 on writes.
X-Grafana-Org-Id picks the org (orgs are added with `add_org`; another one gets 401).

Every write body is validated against ../shared/schemas/grafana (dashboard.jsonschema.json with
each panel's schema, alerting.jsonschema.json's Rule, RuleGroup, ContactPoint and
NotificationPolicy, folderv1.jsonschema.json's Folder for a folder's title): an invalid body gets
400 and is recorded in `schema_errors`.

Faults for tests: `inject("500", "429", "timeout", "lost", "ok")` queues faults for the next
requests (writes only by default): "lost" applies the write and then drops the connection, as
when an answer is lost on the way; "ok" lets one request through (to space faults out); `crash_after_writes = N` drops every connection after N applied writes
until `restart()` (the state survives, as Grafana's database does); and the misbehaviours every
fake shows (fakes/loopback.py). `save_as` and `duplicate_rule` make the copies Grafana's UI
makes: the original's tags or labels under a new uid.
"""
from __future__ import annotations

from fakes.loopback import LoopbackServer

import collections
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from grafana_schemas import dashboard_errors, errors

REDACTED = "[REDACTED]"
SECURE = {"slack": ("token", "url"), "pagerduty": ("integrationKey",), "opsgenie": ("apiKey",),
          "webhook": ("password", "authorization_credentials"), "teams": ("url",), "discord": ("url",),
          "googlechat": ("url",), "telegram": ("bottoken",), "victorops": ("url",)}
UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
DEFAULT_INTERVAL_S = 60
DEFAULT_CONTACT = {"uid": "ddefaultemail", "name": "grafana-default-email", "type": "email",
                   "settings": {"addresses": "<example@email.com>"}, "disableResolveMessage": False}
DEFAULT_POLICY = {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
STAMP = "2024-05-01T12:00:00Z"
_GO_UNITS = (("h", 3_600_000), ("m", 60_000), ("s", 1000))


def go_duration(ms: int) -> str:
    """time.Duration.String(): 5m0s, 1h0m0s, 0s."""
    if ms == 0:
        return "0s"
    out, rest = "", ms
    for unit, size in _GO_UNITS:
        if out or rest >= size or unit == "s":
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def parse_duration(text: str) -> int:
    total, pos = 0, 0
    for m in re.finditer(r"(\d+)(ms|s|m|h|d|w|y)", text):
        if m.start() != pos:
            raise ValueError(text)
        total += int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
                                    "w": 604_800_000, "y": 31_536_000_000}[m.group(2)]
        pos = m.end()
    if text != "0" and (pos != len(text) or not pos):
        raise ValueError(text)
    return total


@dataclass
class Recorded:
    """One request as the fake saw it; the Authorization header is never kept."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int | str
    at: float


@dataclass
class Org:
    """One org's objects, stored as Grafana would."""

    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {model, folderUid}
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    intervals: dict[tuple[str, str], int] = field(default_factory=dict)
    contact_points: list[dict[str, Any]] = field(default_factory=lambda: [json.loads(json.dumps(DEFAULT_CONTACT))])
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    mute_timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(DEFAULT_POLICY)))
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class Reply(Exception):
    """An answer other than success, raised from a route."""

    def __init__(self, status: int, body: dict[str, Any] | None = None):
        super().__init__(status)
        self.status, self.body = status, body or {}


class FakeGrafana(LoopbackServer):
    """An http.server on 127.0.0.1 in a thread, holding org 1 (and orgs added with add_org)."""

    def __init__(self, *, token: str = "glsa_fake", viewer_token: str | None = None,
                 hang_s: float = 1.5, retry_after: str = "1", latency_s: float = 0.0):
        super().__init__()
        self.token, self.viewer_token = token, viewer_token
        self.hang_s, self.retry_after, self.latency_s = hang_s, retry_after, latency_s
        self.orgs: dict[int, Org] = {1: Org()}
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.faults: collections.deque[tuple[str, bool]] = collections.deque()
        self.crash_after_writes: int | None = None
        self.applied_writes = 0
        self.crashed = False
        self.before_write: Any = None  # a callable(fake, method, path) run before a write is applied
        self.lock = threading.RLock()

    # -- lifecycle --------------------------------------------------------------------------

    def restart(self) -> None:
        """Grafana comes back after a crash with what its database holds."""
        with self.lock:
            self.crashed, self.crash_after_writes = False, None

    # -- test helpers -----------------------------------------------------------------------
    def inject(self, *faults: str, writes_only: bool = True) -> None:
        for f in faults:
            assert f in ("500", "503", "429", "timeout", "lost", "ok"), f
            self.faults.append((f, writes_only))

    def add_org(self, org_id: int) -> Org:
        return self.orgs.setdefault(org_id, Org())

    def org(self, org_id: int = 1) -> Org:
        return self.orgs[org_id]

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    def seed_folder(self, uid: str, title: str, org_id: int = 1) -> None:
        with self.lock:
            org = self.orgs[org_id]
            org.folders[uid] = {"id": org.new_id(), "uid": uid, "title": title, "version": 1}

    def seed_dashboard(self, model: dict[str, Any], folder_uid: str = "", org_id: int = 1) -> None:
        with self.lock:
            org = self.orgs[org_id]
            stored = {**model, "id": org.new_id(), "version": model.get("version") or 1}
            org.dashboards[model["uid"]] = {"model": stored, "folderUid": folder_uid}

    def seed_rule(self, rule: dict[str, Any], provenance: str = "", org_id: int = 1) -> None:
        problems = errors("seeded rule", "alerting", "Rule", rule)
        assert not problems, problems
        with self.lock:
            self._store_rule(self.orgs[org_id], rule, provenance, org_id)

    def seed_contact_point(self, point: dict[str, Any], org_id: int = 1) -> None:
        with self.lock:
            self.orgs[org_id].contact_points.append({**point, "provenance": ""})

    def save_as(self, uid: str, new_uid: str, org_id: int = 1) -> None:
        """The dashboard's "Save as": a copy with its tags, in its folder, a new uid and title."""
        with self.lock:
            org = self.orgs[org_id]
            stored = org.dashboards[uid]
            model = {**json.loads(json.dumps(stored["model"])), "uid": new_uid, "id": org.new_id(), "version": 1}
            model["title"] = f"{model.get('title')} Copy"
            org.dashboards[new_uid] = {"model": model, "folderUid": stored["folderUid"]}

    def duplicate_rule(self, uid: str, new_uid: str, org_id: int = 1) -> None:
        """The alert rule's "Duplicate": its labels and group, a new uid, a title of its own."""
        with self.lock:
            org = self.orgs[org_id]
            rule = {k: v for k, v in json.loads(json.dumps(org.rules[uid])).items()
                    if k not in ("id", "updated", "provenance")}
            rule.update(uid=new_uid, title=f"{rule['title']} (copy)")
            self._store_rule(org, rule, "", org_id)

    def dashboard(self, uid: str, org_id: int = 1) -> dict[str, Any] | None:
        with self.lock:
            stored = self.orgs[org_id].dashboards.get(uid)
            return None if stored is None else json.loads(json.dumps(stored))

    # -- storage as Grafana shapes it ---------------------------------------------------------
    def _store_rule(self, org: Org, rule: dict[str, Any], provenance: str, org_id: int,
                    keep_id: int | None = None) -> dict[str, Any]:
        stored = json.loads(json.dumps(rule))
        for query in stored.get("data", []):
            query.setdefault("model", {}).setdefault("intervalMs", 1000)
            query["model"].setdefault("maxDataPoints", 43200)
        stored["uid"] = stored.get("uid") or f"r{org.next_id + 1}"
        stored["id"] = keep_id or org.new_id()
        stored["orgID"] = org_id
        stored["provenance"] = provenance
        stored["updated"] = STAMP
        stored.setdefault("isPaused", False)
        key = (stored["folderUID"], stored["ruleGroup"])
        if not any((r["folderUID"], r["ruleGroup"]) == key for u, r in org.rules.items() if u != stored["uid"]):
            org.intervals[key] = DEFAULT_INTERVAL_S  # a new group: Grafana's default interval
        org.rules[stored["uid"]] = stored
        return stored

    @staticmethod
    def _rule_out(rule: dict[str, Any]) -> dict[str, Any]:
        """A stored rule as the provisioning API prints it (top-level fields replaced, never
        nested ones: a shallow copy is enough, and 5,000 rules a listing make it matter)."""
        out = dict(rule)
        out["for"] = go_duration(parse_duration(out["for"]))
        keep = out.pop("keepFiringFor", 0)
        out["keep_firing_for"] = go_duration(int(keep) // 1_000_000)
        out.setdefault("notification_settings", None)
        out.setdefault("record", None)
        if not out.get("provenance"):
            out.pop("provenance", None)
        for key in ("labels", "annotations"):
            if not out.get(key):
                out.pop(key, None)
        return out

    @staticmethod
    def _point_out(point: dict[str, Any]) -> dict[str, Any]:
        out = {**point, "settings": dict(point["settings"])}
        for key in SECURE.get(out["type"], ()):
            if key in out["settings"]:
                out["settings"][key] = REDACTED
        if not out.get("provenance"):
            out.pop("provenance", None)
        return out


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGrafana
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Grafana (Go's net/http) answers with Nagle's algorithm off; without this, the body
        # written after the headers waits for the client's delayed ACK (~40 ms an answer).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if status == 204 else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting: as a server, move on

    def _drop(self) -> None:
        self.close_connection = True

    def _handle(self, method: str) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        record = Recorded(method, unquote(parts.path), parts.query, headers, raw.decode("utf-8", "replace"),
                          "", time.monotonic())
        with fake.lock:
            fake.requests.append(record)
            crashed = fake.crashed
        if crashed:
            record.status = "dropped"
            return self._drop()
        if fake.latency_s:
            time.sleep(fake.latency_s)
        auth = self.headers.get("Authorization", "")
        tokens = {f"Bearer {t}" for t in (fake.token, fake.viewer_token) if t}
        if auth not in tokens:
            record.status = 401
            return self._answer(401, {"message": "Unauthorized"})
        write = method != "GET"
        if write and fake.viewer_token and auth == f"Bearer {fake.viewer_token}":
            record.status = 403
            return self._answer(403, {"message": "You'll need additional permissions to perform this action."})
        org_header = self.headers.get("X-Grafana-Org-Id", "1")
        if not org_header.isdigit() or int(org_header) not in fake.orgs:
            record.status = 401
            return self._answer(401, {"message": "Unauthorized: not a member of this organization"})
        fault = None
        with fake.lock:
            if fake.faults and (write or not fake.faults[0][1]):
                fault = fake.faults.popleft()[0]
        if fault in ("500", "503"):
            record.status = int(fault)
            return self._answer(int(fault), {"message": "Internal Server Error"})
        if fault == "429":
            record.status = 429
            return self._answer(429, {"message": "Too many requests"}, {"Retry-After": fake.retry_after})
        if fault == "timeout":
            record.status = "timeout"
            time.sleep(fake.hang_s)
            return self._drop()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            record.status = 400
            return self._answer(400, {"message": "bad request data"})
        query = {k: v for k, v in parse_qs(parts.query).items()}
        org_id = int(org_header)
        try:
            with fake.lock:
                if write and fake.before_write:
                    fake.before_write(fake, method, record.path)
                status, answer = _route(fake, fake.orgs[org_id], org_id, method, record.path, query, body,
                                        "X-Disable-Provenance" in self.headers)
                if write and status < 300:
                    fake.applied_writes += 1
                    if fake.crash_after_writes is not None and fake.applied_writes >= fake.crash_after_writes:
                        fake.crashed = True
        except Reply as reply:
            status, answer = reply.status, reply.body
        record.status = status
        if fault == "lost":
            record.status = f"lost {status}"
            return self._drop()
        self._answer(status, answer)


def _schema(fake: FakeGrafana, where: str, definition: str, body: Any, schema: str = "alerting") -> None:
    problems = errors(where, schema, definition, body)
    if problems:
        fake.schema_errors.extend(problems)
        raise Reply(400, {"message": "bad request data", "errors": problems[:5]})


def _check_provenance(existing: str, disable: bool) -> None:
    if existing and disable:
        raise Reply(403, {"message": f"Resource with provenance status '{existing}' cannot be changed to 'none'. "
                          "You must use appropriate API and permissions to manage this resource"})


def _page(items: list[Any], query: dict[str, list[str]], default: int = 1000, most: int | None = None) -> list[Any]:
    limit = int(query.get("limit", [default])[0])
    if most:
        limit = min(limit, most)
    page = max(1, int(query.get("page", ["1"])[0]))
    return items[(page - 1) * limit: page * limit]


def _route(fake: FakeGrafana, org: Org, org_id: int, method: str, path: str,
           query: dict[str, list[str]], body: Any, no_provenance: bool) -> tuple[int, Any]:
    provenance = "" if no_provenance else "api"
    m = re.fullmatch(r"/api/folders(?:/([^/]+))?", path)
    if m:
        return _folders(fake, org, method, m.group(1), query, body)
    if path == "/api/search" and method == "GET":
        return 200, _search(org, query)
    if path == "/api/dashboards/db" and method == "POST":
        return _save_dashboard(fake, org, body)
    m = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
    if m:
        return _dashboard(org, method, m.group(1))
    m = re.fullmatch(r"/api/v1/provisioning/alert-rules(?:/([^/]+))?", path)
    if m:
        return _rules(fake, org, org_id, method, m.group(1), body, provenance)
    m = re.fullmatch(r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", path)
    if m:
        return _group(fake, org, org_id, method, m.group(1), m.group(2), body, provenance)
    m = re.fullmatch(r"/api/v1/provisioning/contact-points(?:/([^/]+))?", path)
    if m:
        return _contact_points(fake, org, method, m.group(1), query, body, provenance)
    if path == "/api/v1/provisioning/policies":
        return _policies(fake, org, method, body, provenance)
    m = re.fullmatch(r"/api/v1/provisioning/templates(?:/([^/]+))?", path)
    if m:
        return _templates(fake, org, method, m.group(1) and unquote(m.group(1)), body, provenance)
    m = re.fullmatch(r"/api/v1/provisioning/mute-timings(?:/([^/]+))?", path)
    if m:
        return _mute_timings(fake, org, method, m.group(1) and unquote(m.group(1)), body, provenance)
    raise Reply(404, {"message": "Not found"})


def _templates(fake: FakeGrafana, org: Org, method: str, name: str | None, body: Any,
               provenance: str) -> tuple[int, Any]:
    if name is None and method == "GET":
        return 200, [dict(t) for _, t in sorted(org.templates.items())]
    if name and method == "PUT":
        if not isinstance(body, dict) or not isinstance(body.get("template"), str):
            raise Reply(400, {"message": "invalid template"})
        _schema(fake, f"template {name}", "NotificationTemplate", {"name": name, **body})
        org.templates[name] = {"name": name, "template": body["template"], "provenance": provenance}
        return 202, org.templates[name]
    if name and method == "DELETE":
        org.templates.pop(name, None)
        return 204, None
    raise Reply(405, {"message": "Method not allowed"})


_TIME = re.compile(r"^([01][0-9]|2[0-4]):[0-5][0-9]$")
_INTERVAL_KEYS = {"times", "weekdays", "days_of_month", "months", "years", "location"}


def _mute_timing_problem(body: Any) -> str:
    if not isinstance(body, dict) or not body.get("name") or not isinstance(body.get("time_intervals"), list):
        return "a mute timing needs a name and time_intervals"
    for interval in body["time_intervals"]:
        if not isinstance(interval, dict) or set(interval) - _INTERVAL_KEYS:
            return f"unknown field in {interval!r}"
        for times in interval.get("times", []):
            if not (isinstance(times, dict) and _TIME.match(str(times.get("start_time", "")))
                    and _TIME.match(str(times.get("end_time", "")))):
                return f"bad times {times!r}"
    return ""


def _used_timings(route: dict[str, Any]) -> set[str]:
    out = set(route.get("mute_time_intervals") or []) | set(route.get("active_time_intervals") or [])
    for child in route.get("routes") or []:
        out |= _used_timings(child)
    return out


def _mute_timings(fake: FakeGrafana, org: Org, method: str, name: str | None, body: Any,
                  provenance: str) -> tuple[int, Any]:
    if name is None and method == "GET":
        return 200, [dict(t) for _, t in sorted(org.mute_timings.items())]
    if method in ("POST", "PUT"):
        problem = _mute_timing_problem(body)
        if problem:
            fake.schema_errors.append(f"mute timing: {problem}")
            raise Reply(400, {"message": problem})
        if method == "POST" and (name is not None or body["name"] in org.mute_timings):
            raise Reply(409, {"message": "a mute timing with this name already exists"})
        if method == "PUT" and name not in org.mute_timings:
            raise Reply(404, {"message": "mute timing not found"})
        org.mute_timings[body["name"]] = {**body, "provenance": provenance}
        return (201 if method == "POST" else 202), org.mute_timings[body["name"]]
    if name and method == "DELETE":
        if name in _used_timings(org.policy):
            raise Reply(409, {"message": "mute timing is used by a notification policy"})
        org.mute_timings.pop(name, None)
        return 204, None
    raise Reply(405, {"message": "Method not allowed"})


def _folder_out(folder: dict[str, Any]) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", folder["title"].lower()).strip("-")
    return {**folder, "url": f"/dashboards/f/{folder['uid']}/{slug}", "hasAcl": False, "canSave": True,
            "canEdit": True, "canAdmin": True, "createdBy": "admin", "created": STAMP, "updatedBy": "admin",
            "updated": STAMP}


def _folders(fake: FakeGrafana, org: Org, method: str, uid: str | None, query: dict[str, list[str]],
             body: Any) -> tuple[int, Any]:
    if uid is None and method == "GET":
        listed = sorted(org.folders.values(), key=lambda f: (f["title"].lower(), f["uid"]))
        return 200, [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in _page(listed, query)]
    if uid is None and method == "POST":
        if not isinstance(body, dict):
            raise Reply(400, {"message": "bad request data"})
        _schema(fake, "folder", "Folder", {k: v for k, v in body.items() if k not in ("uid", "parentUid")},
                schema="folderv1")
        new_uid = body.get("uid") or f"f{org.next_id + 1}"
        if not UID.match(new_uid):
            raise Reply(400, {"message": "uid contains illegal characters"})
        if new_uid in org.folders:
            raise Reply(409, {"message": "a folder with the same uid already exists"})
        if any(f["title"] == body["title"] for f in org.folders.values()):
            raise Reply(409, {"message": "a folder or dashboard in the general folder with the same name already exists"})
        org.folders[new_uid] = {"id": org.new_id(), "uid": new_uid, "title": body["title"], "version": 1}
        return 200, _folder_out(org.folders[new_uid])
    folder = org.folders.get(uid or "")
    if folder is None:
        raise Reply(404, {"message": "folder not found", "status": "not-found"})
    if method == "GET":
        return 200, _folder_out(folder)
    if method == "PUT":
        if not isinstance(body, dict):
            raise Reply(400, {"message": "bad request data"})
        _schema(fake, "folder", "Folder", {"title": body.get("title")}, schema="folderv1")
        if not body.get("overwrite") and body.get("version") != folder["version"]:
            raise Reply(412, {"message": "The folder has been changed by someone else", "status": "version-mismatch"})
        folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, _folder_out(folder)
    if method == "DELETE":
        if any(r["folderUID"] == uid for r in org.rules.values()) and query.get("forceDeleteRules") != ["true"]:
            raise Reply(400, {"message": "folder cannot be deleted: folder contains alert rules"})
        for d_uid in [u for u, d in org.dashboards.items() if d["folderUid"] == uid]:
            del org.dashboards[d_uid]
        for r_uid in [u for u, r in org.rules.items() if r["folderUID"] == uid]:
            del org.rules[r_uid]
        del org.folders[uid]
        return 200, {"message": "Folder deleted", "id": folder["id"]}
    raise Reply(405, {"message": "Method not allowed"})


def _search(org: Org, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    kind = query.get("type", [""])[0]
    hits: list[dict[str, Any]] = []
    if kind in ("", "dash-folder"):
        hits += [{"id": f["id"], "uid": f["uid"], "title": f["title"], "type": "dash-folder", "tags": [],
                  "url": f"/dashboards/f/{f['uid']}"} for f in org.folders.values()]
    if kind in ("", "dash-db"):
        for uid, stored in org.dashboards.items():
            model, folder_uid = stored["model"], stored["folderUid"]
            folder = org.folders.get(folder_uid, {})
            hits.append({"id": model["id"], "uid": uid, "title": model.get("title", ""), "uri": f"db/{uid}",
                         "url": f"/d/{uid}", "slug": "", "type": "dash-db", "tags": model.get("tags") or [],
                         "isStarred": False, **({"folderId": folder["id"], "folderUid": folder_uid,
                                                 "folderTitle": folder["title"]} if folder else {})})
    if "folderUIDs" in query:
        wanted = set(",".join(query["folderUIDs"]).split(","))
        hits = [h for h in hits if h.get("folderUid", "") in wanted]
    if "dashboardUIDs" in query:
        wanted = set(",".join(query["dashboardUIDs"]).split(","))
        hits = [h for h in hits if h["uid"] in wanted]
    for tag in query.get("tag", []):
        hits = [h for h in hits if tag in h["tags"]]
    hits.sort(key=lambda h: (h["title"].lower(), h["uid"]))
    return _page(hits, query, most=5000)


def _save_dashboard(fake: FakeGrafana, org: Org, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
        raise Reply(400, {"message": "bad request data"})
    unknown = set(body) - {"dashboard", "folderUid", "folderId", "overwrite", "message"}
    problems = [f"dashboard save: unknown field {k}" for k in sorted(unknown)]
    problems += dashboard_errors("dashboard", body["dashboard"])
    if problems:
        fake.schema_errors.extend(problems)
        raise Reply(400, {"message": "bad request data", "errors": problems[:5]})
    model = dict(body["dashboard"])
    folder_uid = body.get("folderUid") or ""
    if folder_uid and folder_uid not in org.folders:
        raise Reply(400, {"message": "folder not found", "status": "not-found"})
    uid = model.get("uid") or f"d{org.next_id + 1}"
    if not UID.match(uid):
        raise Reply(400, {"message": "uid contains illegal characters"})
    overwrite = bool(body.get("overwrite"))
    existing = org.dashboards.get(uid)
    if existing and not overwrite and model.get("version") != existing["model"]["version"]:
        raise Reply(412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
    title = str(model.get("title", "")).lower()
    others = [u for u, d in org.dashboards.items()
              if u != uid and d["folderUid"] == folder_uid and str(d["model"].get("title", "")).lower() == title]
    if others and not overwrite:
        raise Reply(412, {"message": "A dashboard with the same name in the folder already exists",
                          "status": "name-exists"})
    for other in others:
        del org.dashboards[other]
    model.update(uid=uid, id=existing["model"]["id"] if existing else org.new_id(),
                 version=existing["model"]["version"] + 1 if existing else 1)
    org.dashboards[uid] = {"model": model, "folderUid": folder_uid}
    return 200, {"id": model["id"], "uid": uid, "url": f"/d/{uid}/x", "status": "success",
                 "version": model["version"], "slug": "x"}


def _dashboard(org: Org, method: str, uid: str) -> tuple[int, Any]:
    stored = org.dashboards.get(uid)
    if stored is None:
        raise Reply(404, {"message": "Dashboard not found"})
    model = stored["model"]
    if method == "GET":
        folder = org.folders.get(stored["folderUid"], {})
        return 200, {"dashboard": model, "meta": {
            "type": "db", "canSave": True, "canEdit": True, "slug": "x", "url": f"/d/{uid}/x", "expires": STAMP,
            "created": STAMP, "updated": STAMP, "version": model["version"], "provisioned": False,
            "folderId": folder.get("id", 0), "folderUid": stored["folderUid"], "folderTitle": folder.get("title", "General")}}
    if method == "DELETE":
        del org.dashboards[uid]
        return 200, {"title": model.get("title"), "message": f"Dashboard {model.get('title')} deleted", "id": model["id"]}
    raise Reply(405, {"message": "Method not allowed"})


def _validate_rule(fake: FakeGrafana, org: Org, body: Any) -> None:
    _schema(fake, "alert rule", "Rule", body)
    if body["folderUID"] not in org.folders:
        raise Reply(400, {"message": f"invalid alert rule: folder {body['folderUID']} does not exist"})
    if body["condition"] not in {q.get("refId") for q in body["data"]}:
        raise Reply(400, {"message": "invalid alert rule: condition names no query"})
    if body.get("uid") and not UID.match(body["uid"]):
        raise Reply(400, {"message": "invalid alert rule: uid"})
    try:
        parse_duration(body["for"])
    except ValueError:
        raise Reply(400, {"message": "invalid alert rule: for"}) from None


def _rules(fake: FakeGrafana, org: Org, org_id: int, method: str, uid: str | None, body: Any,
           provenance: str) -> tuple[int, Any]:
    if uid is None and method == "GET":
        return 200, [FakeGrafana._rule_out(r) for r in org.rules.values()]
    if uid is None and method == "POST":
        _validate_rule(fake, org, body)
        if body.get("uid") in org.rules:
            raise Reply(409, {"message": "failed to save alert rule: a rule with this UID already exists"})
        return 201, FakeGrafana._rule_out(fake._store_rule(org, body, provenance, org_id))
    rule = org.rules.get(uid or "")
    if method == "DELETE":
        if rule is not None:
            _check_provenance(rule["provenance"], not provenance)
            del org.rules[uid]
        return 204, None
    if rule is None:
        raise Reply(404, {"message": "rule not found"})
    if method == "GET":
        return 200, FakeGrafana._rule_out(rule)
    if method == "PUT":
        _validate_rule(fake, org, body)
        _check_provenance(rule["provenance"], not provenance)
        return 200, FakeGrafana._rule_out(fake._store_rule(org, {**body, "uid": uid}, provenance, org_id, rule["id"]))
    raise Reply(405, {"message": "Method not allowed"})


def _group(fake: FakeGrafana, org: Org, org_id: int, method: str, folder_uid: str, name: str, body: Any,
           provenance: str) -> tuple[int, Any]:
    members = [r for r in org.rules.values() if (r["folderUID"], r["ruleGroup"]) == (folder_uid, name)]
    if method == "GET":
        if not members:
            raise Reply(404, {"message": "rule group not found"})
        return 200, {"title": name, "folderUid": folder_uid, "interval": org.intervals[(folder_uid, name)],
                     "rules": [FakeGrafana._rule_out(r) for r in members]}
    if method == "PUT":
        _schema(fake, "rule group", "RuleGroup", body)
        if folder_uid not in org.folders:
            raise Reply(400, {"message": "folder does not exist"})
        for r in members:
            _check_provenance(r["provenance"], not provenance)
        rules = [{**r, "folderUID": folder_uid, "ruleGroup": name} for r in body.get("rules") or []]
        for r in rules:
            _validate_rule(fake, org, r)
        kept = {r.get("uid") for r in rules}
        for r in members:
            if r["uid"] not in kept:
                del org.rules[r["uid"]]
        for r in rules:
            old = org.rules.get(r.get("uid") or "")
            fake._store_rule(org, r, provenance, org_id, old["id"] if old else None)
        org.intervals[(folder_uid, name)] = int(body.get("interval") or DEFAULT_INTERVAL_S)
        return 200, {"title": name, "folderUid": folder_uid, "interval": org.intervals[(folder_uid, name)],
                     "rules": [FakeGrafana._rule_out(r) for r in org.rules.values()
                               if (r["folderUID"], r["ruleGroup"]) == (folder_uid, name)]}
    raise Reply(405, {"message": "Method not allowed"})


def _contact_points(fake: FakeGrafana, org: Org, method: str, uid: str | None, query: dict[str, list[str]],
                    body: Any, provenance: str) -> tuple[int, Any]:
    if uid is None and method == "GET":
        name = query.get("name", [None])[0]
        return 200, [FakeGrafana._point_out(p) for p in org.contact_points if name is None or p["name"] == name]
    if method in ("POST", "PUT"):
        _schema(fake, "contact point", "ContactPoint", body)
        if not body.get("name"):
            raise Reply(400, {"message": "invalid object specification: name must be specified"})
    if uid is None and method == "POST":
        if body.get("uid") and any(p["uid"] == body["uid"] for p in org.contact_points):
            raise Reply(400, {"message": "invalid object specification: receiver UID is already in use"})
        point = {**body, "uid": body.get("uid") or f"c{org.new_id()}", "provenance": provenance}
        org.contact_points.append(point)
        return 202, FakeGrafana._point_out(point)
    found = next((p for p in org.contact_points if p["uid"] == uid), None)
    if found is None:
        raise Reply(404, {"message": "contact point not found"})
    _check_provenance(found.get("provenance", ""), not provenance)
    if method == "PUT":
        settings = dict(body["settings"])
        for key, value in settings.items():
            if value == REDACTED:
                settings[key] = found["settings"].get(key)
        found.update({**body, "uid": uid, "settings": settings, "provenance": provenance})
        return 202, {"message": "contactpoint updated"}
    if method == "DELETE":
        last = sum(p["name"] == found["name"] for p in org.contact_points) == 1
        if last and found["name"] in _receivers(org.policy):
            raise Reply(409, {"message": "Contact point is currently referenced by a notification policy."})
        org.contact_points.remove(found)
        return 202, {"message": "contactpoint deleted"}
    raise Reply(405, {"message": "Method not allowed"})


def _receivers(route: dict[str, Any]) -> set[str]:
    out = {route["receiver"]} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        out |= _receivers(child)
    return out


def _policies(fake: FakeGrafana, org: Org, method: str, body: Any, provenance: str) -> tuple[int, Any]:
    if method == "GET":
        tree = json.loads(json.dumps(org.policy))
        if not tree.get("provenance"):
            tree.pop("provenance", None)
        return 200, tree
    if method == "PUT":
        _schema(fake, "policy tree", "NotificationPolicy", body)
        _check_provenance(org.policy.get("provenance", ""), not provenance)
        if not body.get("receiver"):
            raise Reply(400, {"message": "invalid object specification: root route must specify a default receiver"})
        names = {p["name"] for p in org.contact_points}
        unknown = sorted(_receivers(body) - names)
        if unknown:
            raise Reply(400, {"message": f"invalid object specification: receiver '{unknown[0]}' does not exist"})
        missing = sorted(_used_timings(body) - set(org.mute_timings))
        if missing:
            raise Reply(400, {"message": f"invalid object specification: mute time interval '{missing[0]}' does not exist"})
        org.policy = {**json.loads(json.dumps(body)), "provenance": provenance}
        return 202, {"message": "policies updated"}
    raise Reply(405, {"message": "Method not allowed"})


FakeGrafana.handler = _Handler
