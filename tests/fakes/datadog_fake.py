"""Test support: FakeDatadog, a local stand-in for Datadog's v1 monitor and dashboard API.

What it implements, from the v1 OpenAPI document (../shared/schemas/datadog/openapi-v1.yaml) and
Datadog's API documentation:
- auth by the `DD-API-KEY` and `DD-APPLICATION-KEY` headers; wrong or missing keys: 403
  `{"errors": ["Forbidden"]}` (every endpoint used documents 403 as its authentication error);
- `GET /api/v1/monitor`: all monitors, or pages when `page` is given (`page_size` defaults to 100
  then, at most 1000), filtered by `monitor_tags` (the monitor's own tags) and `name`;
  `POST /api/v1/monitor`, `GET|PUT|DELETE /api/v1/monitor/{id}` (`{"deleted_monitor_id": id}`);
- `GET /api/v1/dashboard` (`{"dashboards": [summary...]}`, `start`/`count`, count defaulting to
  100; deleted dashboards only with `filter[deleted]=true`), `POST /api/v1/dashboard`,
  `GET|PUT|DELETE /api/v1/dashboard/{id}` (delete is recoverable: the dashboard moves to the
  deleted list; `{"deleted_dashboard_id": id}`);
- every request body validated against the operation's own request schema in the document
  (Monitor for create, MonitorUpdateRequest for update, Dashboard for both), OpenAPI 3.0 write
  rules (readOnly fields refused): an invalid body is a 400 `{"errors": [...]}`, recorded in
  `schema_errors`;
- what the server adds and renames, as its responses show: ids, timestamps, creator, `multi`,
  `overall_state`, option defaults (`notify_audit`, `locked`, `new_host_delay`, `silenced`, ...,
  `renotify_statuses` when `renotify_interval` is set), thresholds as floats, `metric alert`
  returned as `query alert`, tags lowercased; dashboards get widget ids, author, url,
  `notify_list: null`, `template_variables: null`, `restricted_roles: []`;
- a metric monitor whose `critical` threshold differs from the query's is refused (400), as
  Datadog does; a composite monitor's query (monitor ids with &&, ||, !, parentheses: the
  Monitor API's composite query) must name existing monitors, and a monitor a composite names
  cannot be deleted (400), as Datadog refuses both;
- `/api/v1/slo` and what the monitor API checks of an `slo alert` monitor
  (fakes/datadog_slo_fake.py); `/api/v1/downtime` (fakes/datadog_downtime_fake.py);
- 429 with `X-RateLimit-Limit`, `-Period`, `-Remaining`, `-Reset` (seconds until the window,
  aligned to the period, resets) and `-Name`, from a real fixed-window limit (`rate_limit`) or
  injected (`fail_next(n, 429)`).
Fault injection: `fail_next` (any status), `timeout_next` (no answer until the client gives up
and closes the connection, so a timeout whatever the client's timeout and the machine's load;
the request is not applied), `crash_after` (after N applied writes every
connection is dropped until `recover()`), and `latency_s` added to every request; and the
misbehaviours every fake shows (fakes/loopback.py: answers cut off, trickled, redirected, a login
page for an answer, a commit followed by a 500). `clone_monitor`, `clone_dashboard` and
`clone_slo` make what Datadog's UI "Clone" makes: a new object, by a person, with the original's
tags and description.
Every request is recorded (method, path, query, headers without the two keys, body).
"""
from __future__ import annotations

from fakes.datadog_downtime_fake import DOWNTIME_SCHEMAS, DowntimeApi
from fakes.datadog_slo_fake import SLO_SCHEMAS, SloApi
from fakes.loopback import LoopbackServer

import copy
import http.server
import json
import math
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from openapi_schema_validator import OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

API_KEY_HEADER, APP_KEY_HEADER = "DD-API-KEY", "DD-APPLICATION-KEY"
MONITOR_DEFAULT_OPTIONS = {"notify_no_data": False, "notify_audit": False, "locked": False,
                           "new_host_delay": 300, "silenced": {}, "include_tags": True,
                           "notification_preset_name": "show_all", "escalation_message": ""}
_COMPARISON = re.compile(r"(>=|<=|>|<|==|!=)\s*(-?[0-9.]+(?:e[-+]?[0-9]+)?)\s*$")
_DOCS: dict[Path, dict] = {}


def _openapi(path: Path) -> dict:
    if path not in _DOCS:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _DOCS[path] = yaml.load(path.read_text(), Loader=loader)
    return _DOCS[path]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class _Faults:
    # (status or seconds, methods, path): None matches any
    fail: list[tuple[int, frozenset[str] | None, str | None]] = field(default_factory=list)
    timeouts: list[tuple[float, frozenset[str] | None, str | None]] = field(default_factory=list)
    crash_after: int | None = None
    crashed: bool = False


class FakeDatadog(SloApi, DowntimeApi, LoopbackServer):
    """One Datadog organisation on 127.0.0.1, in a thread. `with FakeDatadog(openapi) as dd:`."""

    def __init__(self, openapi: Path, *, api_key: str = "fake-dd-api-key-0123456789abcdef",
                 app_key: str = "fake-dd-app-key-fedcba9876543210", latency_s: float = 0.0,
                 validate: bool = True):
        super().__init__()
        self.api_key, self.app_key, self.latency_s = api_key, app_key, latency_s
        self.doc = _openapi(openapi)
        self.validate = validate
        registry = Registry().with_resource("urn:datadog", Resource.from_contents(self.doc, DRAFT4))
        self._validators = {name: OAS30WriteValidator({"$ref": f"urn:datadog#/components/schemas/{name}"},
                                                      registry=registry)
                            for name in ("Monitor", "MonitorUpdateRequest", "Dashboard", *SLO_SCHEMAS,
                                         *DOWNTIME_SCHEMAS)}
        self.lock = threading.RLock()
        self.monitors: dict[int, dict] = {}
        self.slos: dict[str, dict] = {}  # /api/v1/slo (fakes/datadog_slo_fake.py)
        self.downtimes: dict[int, dict] = {}  # /api/v1/downtime (fakes/datadog_downtime_fake.py)
        self.dashboards: dict[str, dict] = {}
        self.deleted_dashboards: dict[str, dict] = {}
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.log: list[str] = []
        self.faults = _Faults()
        self.writes_applied = 0
        self.limit: tuple[int, float] | None = None
        self._window: tuple[int, int] = (0, 0)  # (window number, requests in it)
        self._next_monitor = 1_000_001
        self._next_dashboard = 0
        self._clock = 0

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 500, methods: set[str] | None = None,
                  path: str | None = None) -> None:
        """Answer `status` to the next `n` requests (of `methods`, to `path`)."""
        with self.lock:
            self.faults.fail += [(status, frozenset(methods) if methods else None, path)] * n

    def timeout_next(self, n: int, seconds: float, methods: set[str] | None = None,
                     path: str | None = None) -> None:
        """No answer to the next `n` requests (of `methods`, to `path`) until the client closes
        the connection, or for at most `seconds`: the client's own timeout decides, not a race
        with a clock here."""
        with self.lock:
            self.faults.timeouts += [(seconds, frozenset(methods) if methods else None, path)] * n

    def crash_after(self, writes: int) -> None:
        with self.lock:
            self.faults.crash_after = self.writes_applied + writes

    def recover(self) -> None:
        with self.lock:
            self.faults.crash_after, self.faults.crashed = None, False

    def rate_limit(self, limit: int, period_s: int) -> None:
        with self.lock:
            self.limit = (limit, period_s)

    # -- what tests read ---------------------------------------------------------------------

    def write_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method != "GET"]

    def count(self, method: str, status: int | None = None) -> int:
        with self.lock:
            return sum(r.method == method and (status is None or r.status == status)
                       for r in self.requests)

    # -- server-side state changes (also used to seed objects nobody created over HTTP) ------

    def _tick(self) -> str:
        self._clock += 1
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + self._clock)) + ".000000+00:00"

    def seed_monitor(self, body: dict, *, bound: bool = False) -> dict:
        """A monitor made outside the test's requests. `bound`: as moncat leaves one it made (a
        `moncat-ref:<its id>` tag, written right after the create)."""
        with self.lock:
            made = self._create_monitor(copy.deepcopy(body))
            if bound:
                made["tags"].append(f"moncat-ref:{made['id']}")
            return copy.deepcopy(made)

    def seed_dashboard(self, body: dict, *, bound: bool = False) -> dict:
        """A dashboard made outside the test's requests; `bound` as for seed_monitor (the
        description ends with `(moncat-ref: <its id>)`)."""
        with self.lock:
            made = self._create_dashboard(copy.deepcopy(body))
            if bound:
                made["description"] = f"{made.get('description') or ''} (moncat-ref: {made['id']})"
            return copy.deepcopy(made)

    def clone_monitor(self, mid: int, by: str = "alice@example.com") -> dict:
        """The UI's Clone: the original's definition and tags, a new id, the person's name."""
        with self.lock:
            src = self.monitors[mid]
            body = {k: copy.deepcopy(src[k]) for k in ("name", "type", "query", "message", "tags", "options",
                                                        "priority") if src.get(k) is not None}
            made = self._create_monitor(body)
            made["creator"] = {"email": by, "handle": by, "name": by.split("@")[0]}
            return copy.deepcopy(made)

    def clone_dashboard(self, did: str, by: str = "alice@example.com") -> dict:
        """The UI's Clone: the original's widgets and description under a new id and title."""
        with self.lock:
            src = self.dashboards[did]
            body = {k: copy.deepcopy(src[k]) for k in ("layout_type", "description", "widgets", "template_variables",
                                                        "notify_list", "reflow_type") if src.get(k) is not None}
            body["title"] = f"{src['title']} (cloned)"
            made = self._create_dashboard(body)
            made["author_handle"], made["author_name"] = by, by.split("@")[0]
            return copy.deepcopy(made)

    def _monitor_fields(self, monitor: dict) -> dict:
        if monitor.get("type") == "metric alert":
            monitor["type"] = "query alert"
        monitor["tags"] = [t.lower() for t in monitor.get("tags") or []]
        options = {**MONITOR_DEFAULT_OPTIONS, **(monitor.get("options") or {})}
        if options.get("renotify_interval") and "renotify_statuses" not in options:
            options["renotify_statuses"] = ["alert", "no data"]
        if isinstance(options.get("thresholds"), dict):
            options["thresholds"] = {k: float(v) if isinstance(v, (int, float)) else v
                                     for k, v in options["thresholds"].items()}
        monitor["options"] = options
        monitor.setdefault("priority", None)
        monitor["multi"] = " by " in monitor.get("query", "")
        monitor["modified"] = self._tick()
        return monitor

    def _create_monitor(self, body: dict) -> dict:
        mid = self._next_monitor
        self._next_monitor += 1
        monitor = {"restricted_roles": None, "draft_status": "published", **body,
                   "id": mid, "org_id": 4242, "created": self._tick(), "deleted": None,
                   "creator": {"email": "moncat-test@example.com", "handle": "moncat-test@example.com",
                               "name": "moncat test"},
                   "overall_state": "No Data", "overall_state_modified": None}
        self.monitors[mid] = self._monitor_fields(monitor)
        return monitor

    def _widget_ids(self, widgets: list, start: int) -> int:
        for widget in widgets:
            if isinstance(widget, dict):
                widget["id"] = start
                start += 1
                inner = (widget.get("definition") or {}).get("widgets")
                if isinstance(inner, list):
                    start = self._widget_ids(inner, start)
        return start

    def _dashboard_fields(self, dash: dict) -> dict:
        self._widget_ids(dash.get("widgets") or [], 1_000_000_000_000 + self._clock * 1000)
        for key, empty in (("description", None), ("notify_list", None), ("template_variables", None),
                           ("tags", None), ("restricted_roles", []), ("is_read_only", False)):
            dash.setdefault(key, empty)
        dash["modified_at"] = self._tick()
        return dash

    def _create_dashboard(self, body: dict) -> dict:
        self._next_dashboard += 1
        digits = ""
        n = self._next_dashboard * 7_919_007 + 1_234_567
        for _ in range(9):
            n, d = divmod(n, 36)
            digits += "0123456789abcdefghijklmnopqrstuvwxyz"[d]
        did = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
        slug = re.sub(r"[^a-z0-9]+", "-", str(body.get("title", "")).lower()).strip("-")
        dash = {**body, "id": did, "author_handle": "moncat-test@example.com",
                "author_name": "moncat test", "created_at": self._tick(),
                "url": f"/dashboard/{did}/{slug}"}
        self.dashboards[did] = self._dashboard_fields(dash)
        return dash

    @staticmethod
    def _summary(dash: dict) -> dict:
        keys = ("author_handle", "created_at", "description", "id", "is_read_only", "layout_type",
                "modified_at", "title", "url")
        return {k: dash.get(k) for k in keys}

    # -- the API -----------------------------------------------------------------------------

    def _invalid(self, schema: str, body: Any, method: str, path: str) -> list[str]:
        if not self.validate:
            return []
        errors = [f"{method} {path}: {schema}: {list(e.absolute_path)}: {e.message[:300]}"
                  for e in self._validators[schema].iter_errors(body)]
        self.schema_errors += errors
        return errors

    def _composite_problem(self, body: dict) -> str:
        query = body.get("query", "")
        ids = re.findall(r"\d+", query)
        if re.sub(r"\d+|&&|\|\||[!()\s]", "", query) or not ids:
            return "The value provided for parameter 'query' is invalid: not a composite query"
        missing = [i for i in ids if int(i) not in self.monitors]
        return f"Composite query references monitors that do not exist: {missing}" if missing else ""

    def _threshold_mismatch(self, body: dict) -> str:
        if body.get("type") == "composite":
            return self._composite_problem(body)
        if body.get("type") not in ("query alert", "metric alert"):
            return ""
        found = _COMPARISON.search(body.get("query", ""))
        critical = ((body.get("options") or {}).get("thresholds") or {}).get("critical")
        if found and critical is not None and not math.isclose(float(found.group(2)), float(critical)):
            return (f"The value provided for parameter 'query' is invalid: alert threshold "
                    f"({critical}) does not match that used in the query ({found.group(2)})")
        return ""

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any
               ) -> tuple[int, Any]:
        """(status, JSON answer) of one authenticated request."""
        arg = {k: v[-1] for k, v in query.items()}
        parts = path.rstrip("/").split("/")
        if parts[:3] != ["", "api", "v1"] or len(parts) not in (4, 5):
            return 404, {"errors": ["Not found"]}
        noun, ident = parts[3], parts[4] if len(parts) == 5 else None
        if noun == "monitor":
            return self._monitor_api(method, ident, arg, body, path)
        if noun == "dashboard":
            return self._dashboard_api(method, ident, arg, body, path)
        if noun == "slo":
            return self._slo_api(method, ident, arg, body, path)
        if noun == "downtime":
            return self._downtime_api(method, ident, arg, body, path)
        return 404, {"errors": ["Not found"]}

    def _monitor_api(self, method: str, ident: str | None, arg: dict, body: Any, path: str
                     ) -> tuple[int, Any]:
        if ident is None:
            if method == "GET":
                wanted = [t for t in arg.get("monitor_tags", "").split(",") if t]
                found = [m for _, m in sorted(self.monitors.items())
                         if all(t in m["tags"] for t in wanted)
                         and arg.get("name", "").lower() in m.get("name", "").lower()]
                if "page" in arg:
                    size = int(arg.get("page_size", 100))
                    if not 1 <= size <= 1000:
                        return 400, {"errors": ["page_size must be between 1 and 1000"]}
                    page = int(arg["page"])
                    found = found[page * size:(page + 1) * size]
                return 200, found
            if method == "POST":
                errors = self._invalid("Monitor", body, method, path)
                if errors:
                    return 400, {"errors": errors}
                mismatch = self._threshold_mismatch(body) or self.slo_alert_problem(body)
                if mismatch:
                    return 400, {"errors": [mismatch]}
                return 200, self._create_monitor(copy.deepcopy(body))
            return 405, {"errors": ["Method not allowed"]}
        if not ident.isdigit() or int(ident) not in self.monitors:
            return 404, {"errors": ["Monitor not found"]}
        mid = int(ident)
        if method == "GET":
            return 200, self.monitors[mid]
        if method == "PUT":
            errors = self._invalid("MonitorUpdateRequest", body, method, path)
            if errors:
                return 400, {"errors": errors}
            merged = {**self.monitors[mid], **copy.deepcopy(body)}
            if "options" in body:  # the options given replace the monitor's, defaults refilled
                merged["options"] = copy.deepcopy(body["options"])
            mismatch = self._threshold_mismatch(merged) or self.slo_alert_problem(merged)
            if mismatch:
                return 400, {"errors": [mismatch]}
            self.monitors[mid] = self._monitor_fields(merged)
            return 200, self.monitors[mid]
        if method == "DELETE":
            users = [m["id"] for m in self.monitors.values() if m.get("type") == "composite"
                     and str(mid) in re.findall(r"\d+", m.get("query", ""))]
            if users:
                return 400, {"errors": [f"monitor {mid} is referenced in composite monitors {users}"]}
            del self.monitors[mid]
            return 200, {"deleted_monitor_id": mid}
        return 405, {"errors": ["Method not allowed"]}

    def _dashboard_api(self, method: str, ident: str | None, arg: dict, body: Any, path: str
                       ) -> tuple[int, Any]:
        if ident is None:
            if method == "GET":
                pool = self.deleted_dashboards if arg.get("filter[deleted]") == "true" else self.dashboards
                found = sorted(pool.values(), key=lambda d: (d["created_at"], d["id"]))
                start, count = int(arg.get("start", 0)), int(arg.get("count", 100))
                return 200, {"dashboards": [self._summary(d) for d in found[start:start + count]]}
            if method == "POST":
                errors = self._invalid("Dashboard", body, method, path)
                if errors:
                    return 400, {"errors": errors}
                return 200, self._create_dashboard(copy.deepcopy(body))
            return 405, {"errors": ["Method not allowed"]}
        if ident not in self.dashboards:
            return 404, {"errors": ["Dashboard not found"]}
        if method == "GET":
            return 200, self.dashboards[ident]
        if method == "PUT":
            errors = self._invalid("Dashboard", body, method, path)
            if errors:
                return 400, {"errors": errors}
            old = self.dashboards[ident]
            kept = {k: old[k] for k in ("id", "author_handle", "author_name", "created_at", "url")}
            self.dashboards[ident] = self._dashboard_fields({**copy.deepcopy(body), **kept})
            return 200, self.dashboards[ident]
        if method == "DELETE":
            self.deleted_dashboards[ident] = self.dashboards.pop(ident)
            return 200, {"deleted_dashboard_id": ident}
        return 405, {"errors": ["Method not allowed"]}

    def rate_headers(self, limited: bool) -> dict[str, str]:
        """The rate-limit headers of this moment's window (consumes one request unless `limited`
        was injected)."""
        limit, period = self.limit or (100, 1)
        now = time.time()
        window = int(now // period)
        if not limited:
            number, used = self._window
            used = used + 1 if number == window else 1
            self._window = (window, used)
            limited = self.limit is not None and used > limit
        else:
            used = limit
        reset = max(1, math.ceil((window + 1) * period - now))
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Period": str(period),
                "X-RateLimit-Remaining": str(max(0, limit - used)), "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Name": "fake_monitor_api", "_limited": "1" if limited else ""}


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: FakeDatadog
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, the body waits for the client's
        # delayed ACK of the headers (40 ms on Linux), which no real server makes anyone wait.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        with self.owner.lock:
            self.owner.log.append(format % args)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _silent_until_client_leaves(self, longest: float) -> None:
        stop = time.monotonic() + longest
        while time.monotonic() < stop and self.owner.running:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if not readable:
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return  # the client closed its end: it timed out
            except OSError:
                return
            time.sleep(0.05)  # bytes of a next request: not read before this one is answered

    def _answer(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
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

    def _serve(self) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        secret = {API_KEY_HEADER.lower(), APP_KEY_HEADER.lower()}
        record = Recorded(self.command, parts.path, query,
                          {k: v for k, v in self.headers.items() if k.lower() not in secret}, None)
        try:
            record.body = json.loads(raw) if raw else None
        except ValueError:
            record.body = raw.decode(errors="replace")
        with fake.lock:
            fake.requests.append(record)
            faults = fake.faults
            if faults.crashed:
                self._drop()
                return
            def meets(fault: tuple) -> bool:
                return (fault[1] is None or self.command in fault[1]) and fault[2] in (None, parts.path)
            timeout = next((f for f in faults.timeouts if meets(f)), None)
            if timeout:
                faults.timeouts.remove(timeout)
            failure = None if timeout else next((f for f in faults.fail if meets(f)), None)
            if failure:
                faults.fail.remove(failure)
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if timeout:
            self._silent_until_client_leaves(timeout[0])  # the request is not applied
            self._drop()
            return
        with fake.lock:
            rate = fake.rate_headers(limited=bool(failure and failure[0] == 429))
            limited = rate.pop("_limited")
            if self.headers.get(API_KEY_HEADER) != fake.api_key or \
                    self.headers.get(APP_KEY_HEADER) != fake.app_key:
                status, payload = 403, {"errors": ["Forbidden"]}
            elif limited:
                status, payload = 429, {"errors": ["Too many requests"]}
            elif failure:
                status, payload = failure[0], {"errors": ["Internal Server Error (injected)"]}
            elif isinstance(record.body, str):
                status, payload = 400, {"errors": ["Invalid JSON"]}
            else:
                status, payload = fake.handle(self.command, parts.path, query, record.body)
                if self.command != "GET" and status < 300:
                    fake.writes_applied += 1
                    if faults.crash_after is not None and fake.writes_applied >= faults.crash_after:
                        # The write is done but its answer never leaves: the server died.
                        faults.crashed = True
                        self._drop()
                        record.status = 0
                        return
            record.status = status
            # under the lock: the state as of this request; a 204 has no body
            data = b"" if status == 204 else json.dumps(payload).encode()
        self._answer(status, data, rate)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


FakeDatadog.handler = _Handler
