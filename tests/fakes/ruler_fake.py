"""Test double (named fake) of a Mimir/Cortex ruler's config API, for the apply stage's ruler tests.

What it implements, from Mimir's HTTP API reference (docs/sources/mimir/references/http-api) and
its ruler handlers (pkg/ruler/api.go):
- GET  <prefix>/config/v1/rules                      200 YAML {namespace: [group...]}; 404 "no rule
                                                     groups found" when the tenant has none
- GET  <prefix>/config/v1/rules/{namespace}          the same, one namespace; 404 when empty
- GET  <prefix>/config/v1/rules/{namespace}/{group}  200 YAML group; 404 "group does not exist"
- POST <prefix>/config/v1/rules/{namespace}          one rule group as YAML (Content-Type
                                                     application/yaml), upsert by name, 202;
                                                     400 when it is not one valid rule group
- DELETE <prefix>/config/v1/rules/{namespace}/{group}  202; 404 when absent
- DELETE <prefix>/config/v1/rules/{namespace}          202, the whole namespace; 404 when absent
Path segments are percent-decoded. The tenant comes from X-Scope-OrgID (401 "no org id" without
it, as Mimir's auth middleware answers) or, Grafana Cloud style, from the basic-auth user.
Stored groups come back the way the ruler prints them: durations in Prometheus' own spelling
(60s -> 1m, 192h -> 8d), empty labels/annotations and zero durations omitted, maps sorted.
The config API has no pagination and documents no 409/412: a POST simply replaces the group.

Every posted body is validated: it must parse as YAML into exactly one rule group with known
fields, pass structural checks, and pass `promtool check rules` (the official validator of the
Prometheus rule format; there is no JSON Schema for it in ../shared/schemas). Invalid bodies get
a 400 and are recorded in `schema_errors`.

Faults for tests: `inject("500", "429", "timeout", ...)` queues faults for the next requests
(writes only by default); `crash_after_writes = N` makes the server drop every connection after
N applied writes until `restart()` (what the ruler stored survives, as in object storage).
"""
from __future__ import annotations

from fakes.loopback import LoopbackServer

import base64
import collections
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

_UNITS = [("y", 365 * 86400_000, True), ("w", 7 * 86400_000, True), ("d", 86400_000, False),
          ("h", 3600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False)]
_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
GROUP_KEYS = {"name", "interval", "limit", "rules", "query_offset", "evaluation_delay", "source_tenants",
              "align_evaluation_time_on_interval"}
# Mimir's own group fields, which promtool 2.42 does not know: checked here, not passed on.
MIMIR_ONLY = {"query_offset", "evaluation_delay", "source_tenants", "align_evaluation_time_on_interval"}
RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


def parse_duration(text: Any) -> int:
    """Milliseconds in a Prometheus duration (model.ParseDuration's grammar); ValueError if not one."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a duration: {text!r}")
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a valid duration string: {text!r}")
    ms = 0
    for i, (_, size, _) in enumerate(_UNITS):
        if m.group(2 * i + 2):
            ms += int(m.group(2 * i + 2)) * size
    return ms


def format_duration(ms: int) -> str:
    """model.Duration.String(): years and weeks only when exact (90 days prints as 90d)."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, size, exact in _UNITS:
        if exact and ms % size:
            continue
        if ms // size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


@dataclass
class Recorded:
    """One request as the fake saw it; the Authorization header is never kept."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | str
    at: float
    content_type: str = ""


@dataclass
class _Stored:
    group: dict[str, Any]


class FakeRuler(LoopbackServer):
    """An http.server on 127.0.0.1 in a thread. `tenant`: the X-Scope-OrgID it expects (other
    tenants are separate, empty rulers). Auth: `token` (Bearer) or `basic` (user, password);
    `readonly_token` reads but gets 403 on writes. `echo_credentials` makes 401 bodies repeat the
    credential presented - not Mimir's behaviour: a trap for the client's redaction."""

    def __init__(self, *, token: str | None = None, basic: tuple[str, str] | None = None,
                 readonly_token: str | None = None, prefix: str = "/prometheus",
                 echo_credentials: bool = False, hang_s: float = 1.5, retry_after: str = "1",
                 latency_s: float = 0.0, promtool: str | None = shutil.which("promtool")):
        super().__init__()
        self.token, self.basic, self.readonly_token = token, basic, readonly_token
        self.prefix = prefix.rstrip("/") + "/config/v1/rules"
        self.echo_credentials, self.hang_s, self.retry_after = echo_credentials, hang_s, retry_after
        self.promtool, self.latency_s = promtool, latency_s  # latency: added to every answer
        self.tenants: dict[str, dict[str, dict[str, _Stored]]] = collections.defaultdict(dict)
        self.requests: list[Recorded] = []
        self.schema_errors: list[str] = []
        self.log: list[str] = []
        self.faults: collections.deque[tuple[str, bool]] = collections.deque()
        self.crash_after_writes: int | None = None
        self.applied_writes = 0
        self.crashed = False
        self.lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def restart(self) -> None:
        """The ruler comes back after a crash with what it had stored."""
        with self.lock:
            self.crashed, self.crash_after_writes = False, None

    # -- test helpers -----------------------------------------------------------------------
    def inject(self, *faults: str, writes_only: bool = True) -> None:
        for f in faults:
            assert f in ("500", "503", "429", "timeout"), f
            self.faults.append((f, writes_only))

    def put(self, tenant: str, namespace: str, group: dict[str, Any]) -> None:
        """Seed a group directly (someone else's, or ours from an earlier run)."""
        errors, stored = self.validate(yaml.safe_dump(group).encode())
        assert not errors, errors
        with self.lock:
            self.tenants[tenant].setdefault(namespace, {})[stored["name"]] = _Stored(stored)

    def groups(self, tenant: str) -> dict[str, dict[str, dict[str, Any]]]:
        """namespace -> group name -> the group as the ruler prints it."""
        with self.lock:
            return {ns: {name: _printed(s.group) for name, s in sorted(gs.items())}
                    for ns, gs in sorted(self.tenants[tenant].items()) if gs}

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    # -- validation -------------------------------------------------------------------------
    def validate(self, body: bytes, content_type: str = "application/yaml") -> tuple[list[str], dict]:
        """Errors (empty when valid) and the group as stored: durations in ms, empties dropped."""
        if content_type.split(";")[0].strip() != "application/yaml":
            return [f"Content-Type must be application/yaml, got {content_type!r}"], {}
        try:
            group = yaml.safe_load(body)
        except yaml.YAMLError:
            return ["unable to decoded rule group"], {}  # Mimir's ErrBadRuleGroup, verbatim
        if not isinstance(group, dict):
            return ["unable to decoded rule group"], {}
        if "groups" in group:
            return ["the request body must contain one and only one rule group"], {}
        errors = [f"field {k} not found in type rulefmt.RuleGroup" for k in group if k not in GROUP_KEYS]
        if not isinstance(group.get("name"), str) or not group.get("name"):
            errors.append("rule group name must not be empty")
        rules = group.get("rules")
        if not isinstance(rules, list) or not rules:
            errors.append(f"group {group.get('name')!r}: no rules")
            rules = []
        for key in ("interval", "query_offset", "evaluation_delay"):
            if key in group:
                try:
                    parse_duration(group[key])
                except ValueError as exc:
                    errors.append(f"{key}: {exc}")
        for i, rule in enumerate(rules, 1):
            errors += [f"rule {i}: {e}" for e in _rule_errors(rule)]
        if errors:
            return errors, {}
        errors = self._promtool({k: v for k, v in group.items() if k not in MIMIR_ONLY})
        return errors, ({} if errors else _stored(group))

    def _promtool(self, group: dict[str, Any]) -> list[str]:
        if not self.promtool:
            return []
        fd, path = tempfile.mkstemp(suffix=".rules.yaml")
        try:
            with os.fdopen(fd, "w") as f:
                yaml.safe_dump({"groups": [group]}, f, sort_keys=False)
            run = subprocess.run([self.promtool, "check", "rules", path], capture_output=True,
                                 text=True, timeout=30)
        finally:
            os.unlink(path)
        if run.returncode == 0:
            return []
        return ["promtool check rules: " + (run.stdout + run.stderr).replace(path, "<body>").strip()]


def _rule_errors(rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return ["not a mapping"]
    errors = [f"field {k} not found in type rulefmt.RuleNode" for k in rule if k not in RULE_KEYS]
    if ("record" in rule) == ("alert" in rule):
        errors.append("exactly one of 'record' and 'alert' must be set")
    if "record" in rule and not (isinstance(rule["record"], str) and _METRIC.match(rule["record"])):
        errors.append(f"invalid recording rule name: {rule['record']!r}")
    if "record" in rule and ("for" in rule or "annotations" in rule or "keep_firing_for" in rule):
        errors.append("invalid field 'for', 'keep_firing_for' or 'annotations' in recording rule")
    if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
        errors.append("field 'expr' must be set in rule")
    for key in ("for", "keep_firing_for"):
        if key in rule:
            try:
                parse_duration(rule[key])
            except ValueError as exc:
                errors.append(f"{key}: {exc}")
    for key in ("labels", "annotations"):
        value = rule.get(key) or {}
        if not isinstance(value, dict):
            errors.append(f"{key} must be a map")
            continue
        for name, v in value.items():
            if not (isinstance(name, str) and _LABEL.match(name)):
                errors.append(f"invalid {key[:-1]} name: {name!r}")
            if not isinstance(v, str):
                errors.append(f"{key[:-1]} {name!r}: value must be a string, got {type(v).__name__}")
    return errors


def _stored(group: dict[str, Any]) -> dict[str, Any]:
    """What the ruler keeps (its protobuf): durations as ms, zero values and empty maps dropped."""
    out: dict[str, Any] = {"name": group["name"]}
    for key in ("interval", "query_offset", "evaluation_delay"):
        if group.get(key) and parse_duration(group[key]):
            out[key] = parse_duration(group[key])
    for key in ("limit", "source_tenants", "align_evaluation_time_on_interval"):
        if group.get(key):
            out[key] = group[key]
    rules = []
    for rule in group["rules"]:
        r: dict[str, Any] = {}
        for key in ("record", "alert"):
            if key in rule:
                r[key] = rule[key]
        r["expr"] = rule["expr"]
        for key in ("for", "keep_firing_for"):
            if rule.get(key) and parse_duration(rule[key]):
                r[key] = parse_duration(rule[key])
        for key in ("labels", "annotations"):
            if rule.get(key):
                r[key] = dict(sorted(rule[key].items()))
        rules.append(r)
    out["rules"] = rules
    return out


def _printed(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored group as the ruler prints it (rulefmt field order, Prometheus duration spelling)."""
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if key == "rules":
            out["rules"] = [{k: (format_duration(v) if k in ("for", "keep_firing_for") else v)
                             for k, v in rule.items()} for rule in value]
        elif key in ("interval", "query_offset", "evaluation_delay"):
            out[key] = format_duration(value)
        else:
            out[key] = value
    return out


class _Handler(BaseHTTPRequestHandler):
    owner: FakeRuler
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        self.owner.log.append(format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    # -- plumbing ---------------------------------------------------------------------------
    def _record(self, status: int | str) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.owner.requests.append(Recorded(self.command, self.path, headers, status, self.arrived,
                                            self.headers.get("Content-Type", "")))

    def _send(self, status: int, body: bytes | str, content_type: str = "text/plain; charset=utf-8",
              extra: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting: as a server, move on
        self._record(status)

    def _drop(self) -> None:
        """No answer at all: what a client sees when the server dies or hangs past its timeout."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _yaml(self, doc: Any) -> None:
        self._send(200, yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True),
                   "application/yaml")

    def _accepted(self) -> None:
        self._send(202, json.dumps({"status": "success", "data": None, "errorType": "", "error": ""}),
                   "application/json")

    def _tenant(self, write: bool) -> str | None:
        """The tenant, or None after answering 401/403."""
        fake, auth = self.owner, self.headers.get("Authorization", "")
        echo = f": {auth}" if fake.echo_credentials else ""
        tenant = self.headers.get("X-Scope-OrgID", "")
        if fake.basic:
            user, password = fake.basic
            if auth != "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode():
                self._send(401, f"invalid authentication credentials{echo}\n")
                return None
            return user  # Grafana Cloud: the basic-auth user is the tenant
        if fake.token or fake.readonly_token:
            if auth not in (f"Bearer {fake.token}", f"Bearer {fake.readonly_token}"):
                self._send(401, f"invalid authentication credentials{echo}\n")
                return None
            if write and auth == f"Bearer {fake.readonly_token}":
                self._send(403, "access denied: the token lacks the rules:write scope\n")
                return None
        if not tenant:
            self._send(401, "no org id\n")
            return None
        return tenant

    def _serve(self, method: str) -> None:
        fake = self.owner
        self.arrived = time.monotonic()
        if fake.latency_s:
            time.sleep(fake.latency_s)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        write = method != "GET"
        with fake.lock:
            crashed = fake.crashed
            fault = None
            if not crashed and fake.faults and (write or not fake.faults[0][1]):
                fault = fake.faults.popleft()[0]
        if crashed:
            self._record("crashed")
            return self._drop()
        if fault == "timeout":
            self._record("timeout")  # recorded on arrival, so the log keeps the order requests came in
            time.sleep(fake.hang_s)
            return self._drop()
        if fault == "429":
            return self._send(429, "too many requests\n", extra={"Retry-After": fake.retry_after})
        if fault in ("500", "503"):
            return self._send(int(fault), json.dumps({"status": "error", "errorType": "server",
                                                      "error": "injected fault"}), "application/json")
        path = urlsplit(self.path).path
        if path != fake.prefix and not path.startswith(fake.prefix + "/"):
            return self._send(404, "404 page not found\n")
        parts = [unquote(p) for p in path[len(fake.prefix):].split("/")[1:]]
        if len(parts) > 2 or any(p == "" for p in parts):
            return self._send(404, "404 page not found\n")
        allowed = {0: ("GET",), 1: ("GET", "POST", "DELETE"), 2: ("GET", "DELETE")}[len(parts)]
        if method not in allowed:
            return self._send(405, "405 method not allowed\n")
        tenant = self._tenant(write)
        if tenant is None:
            return
        if method == "GET":
            return self._get(tenant, parts)
        if method == "POST":
            return self._post(tenant, parts[0], body)
        return self._delete(tenant, parts)

    def _get(self, tenant: str, parts: list[str]) -> None:
        groups = self.owner.groups(tenant)
        if len(parts) == 2:
            group = groups.get(parts[0], {}).get(parts[1])
            if group is None:
                return self._send(404, "group does not exist\n")
            return self._yaml(group)
        if parts:
            groups = {parts[0]: groups[parts[0]]} if parts[0] in groups else {}
        if not groups:
            return self._send(404, "no rule groups found\n")
        self._yaml({ns: list(gs.values()) for ns, gs in groups.items()})

    def _post(self, tenant: str, namespace: str, body: bytes) -> None:
        fake = self.owner
        errors, stored = fake.validate(body, self.headers.get("Content-Type", ""))
        if errors:
            with fake.lock:
                fake.schema_errors += [f"POST {namespace}: {e}" for e in errors]
            return self._send(400, ", ".join(errors) + "\n")
        with fake.lock:
            spaces = fake.tenants[tenant]
            spaces.setdefault(namespace, {})[stored["name"]] = _Stored(stored)
            self._applied()
        self._accepted()

    def _delete(self, tenant: str, parts: list[str]) -> None:
        fake = self.owner
        with fake.lock:
            spaces = fake.tenants[tenant]
            if len(parts) == 1:
                if not spaces.get(parts[0]):
                    gone = "unable to find requested namespace"
                else:
                    gone = ""
                    del spaces[parts[0]]
            else:
                if parts[1] not in spaces.get(parts[0], {}):
                    gone = "group does not exist"
                else:
                    gone = ""
                    del spaces[parts[0]][parts[1]]
                    if not spaces[parts[0]]:
                        del spaces[parts[0]]  # a namespace exists only through its groups
            if not gone:
                self._applied()
        if gone:
            return self._send(404, gone + "\n")
        self._accepted()

    def _applied(self) -> None:
        """Count a write the ruler stored; past the crash point the server goes down (caller holds the lock)."""
        fake = self.owner
        fake.applied_writes += 1
        if fake.crash_after_writes is not None and fake.applied_writes >= fake.crash_after_writes:
            fake.crashed = True


FakeRuler.handler = _Handler
