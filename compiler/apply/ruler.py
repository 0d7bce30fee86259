"""Apply stage, ruler adapter: rule groups to a Mimir/Cortex/Grafana Cloud ruler, one namespace per service."""
from __future__ import annotations

import base64
import re
from typing import Any, Mapping
from urllib.parse import quote

import yaml

from compiler.apply import failures
from compiler.apply.client import ApiError, Client
from compiler.apply.endpoint import checked_secret, checked_url, limits
from compiler.apply.plan import Action, Current, Desired
from compiler.apply.registry import ConfigError
from compiler.durations import DurationError, parse_ms
from compiler.model import Catalog

KIND = "rule_group"
# The ownership mark: a namespace is ours when its name starts with this. A rule group has no
# field of its own that survives the ruler's round trip, so the namespace carries the mark. The
# rest of the name is the service: --prune deletes groups only in the namespaces of the
# catalog's services (a namespace of another service may be another catalog's: plan.Scope).
NAMESPACE_PREFIX = "moncat-"
DEFAULT_PREFIX = "/prometheus"  # Mimir's default -http.prometheus-http-prefix
# A service's rule file, and each of its SLOs' (<service>.slo-<slo>.rules.yaml, same namespace).
RULES_FILE = re.compile(r"prometheus/([^/]+?)(?:\.slo-[^/]+?)?\.rules\.yaml")
# The ruler prints durations its own way (60s -> 1m, 192h -> 1w1d or 8d); compared as milliseconds.
_DURATIONS = ("interval", "query_offset", "evaluation_delay", "for", "keep_firing_for")
# Mimir's answer to a list request when the tenant has no rule group at all (a 404, not an empty 200).
_NO_GROUPS = "no rule groups found"
# libyaml's parser: a tenant's whole rule set arrives in one YAML answer (10 MB for 100k rules).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def namespace_for(service: str) -> str:
    return NAMESPACE_PREFIX + service


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_ms(value.strip())
        except DurationError:
            return value
    return value


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _fields(body: dict, nested: dict[str, Any]) -> dict[str, Any]:
    """One group or rule as the ruler hands it back: durations as milliseconds, label maps as
    strings, and what the ruler omits when empty (labels: {}, for: 0, limit: 0,
    source_tenants: []) left out."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        key = str(key)
        if key in nested:
            value = nested[key](value)
        elif key in _DURATIONS:
            value = _duration(value)
        elif isinstance(value, str) and key == "expr":
            value = value.strip()  # a block scalar's trailing newline is not part of the query
        if value in (None, "", [], {}, 0) and key not in ("name", "expr"):
            continue
        out[key] = value
    return out


def _rule(body: Any) -> Any:
    return _fields(body, {"labels": _strings, "annotations": _strings}) if isinstance(body, dict) else body


def normalize_group(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return _fields(body, {"labels": _strings, "rules": lambda rules: [_rule(r) for r in rules or []]})


class RulerTarget:
    """The ruler's config API (`<prefix>/config/v1/rules`): one GET lists every namespace of the
    tenant (the API has no pagination), POST upserts one group, DELETE removes one."""

    name = "ruler"
    order = (KIND,)

    def __init__(self, client: Client, prefix: str):
        self.client = client
        self.api = prefix.rstrip("/") + "/config/v1/rules"
        self._where: dict[str, tuple[str, str]] = {}  # object id -> (namespace, group name)

    def _object(self, namespace: str, group: str) -> str:
        oid = f"{namespace}/{group}"
        self._where[oid] = (namespace, group)
        return oid

    def desired(self, files: dict[str, bytes]) -> list[Desired]:
        out = []
        for path in sorted(files):
            m = RULES_FILE.fullmatch(path)
            if not m:
                continue
            doc = yaml.load(files[path], Loader=_LOADER) or {}
            namespace = namespace_for(m.group(1))
            for group in doc.get("groups") or []:
                out.append(Desired(KIND, self._object(namespace, group["name"]), group))
        return out

    def current(self) -> list[Current]:
        resp = self.client.request("GET", self.api, ok=(404,))
        if resp.status_code == 404:
            if _NO_GROUPS not in resp.text:
                # A 404 without the ruler's words is a wrong URL or a disabled API, not an empty
                # tenant: planning "create everything" against it would be a lie.
                raise ApiError("GET", self.api, 404, "no ruler config API here (check the URL's "
                               "path prefix and that the ruler API is enabled)")
            return []
        doc = self._namespaces(resp)
        out = []
        for namespace in sorted(doc, key=str):
            owned = str(namespace).startswith(NAMESPACE_PREFIX)
            for group in doc[namespace] or []:
                out.append(Current(KIND, self._object(str(namespace), group["name"]), group,
                                   owned=owned, remote_id=str(namespace),
                                   service=str(namespace)[len(NAMESPACE_PREFIX):] if owned else None))
        return out

    def _namespaces(self, resp: Any) -> dict[Any, Any]:
        """The list answer, checked to be namespaces -> lists of named rule groups."""
        what = "YAML namespaces -> rule groups"
        try:
            doc = yaml.load(resp.content, Loader=_LOADER)
        except yaml.YAMLError as exc:
            raise ApiError("GET", resp.url, resp.status_code, f"expected {what}, but the answer is not "
                           f"YAML ({self.client.excerpt(str(exc).splitlines()[0])}): "
                           f"{failures.describe_body(resp, self.client.redactor)}") from None
        if doc is None:
            return {}
        shaped = isinstance(doc, dict) and all(
            isinstance(groups, list) and all(isinstance(g, dict) and isinstance(g.get("name"), str)
                                             for g in groups)
            for groups in doc.values() if groups is not None)
        if not shaped:
            raise ApiError("GET", resp.url, resp.status_code, f"expected {what}, got "
                           f"{failures.describe_body(resp, self.client.redactor)}")
        return doc

    def normalize(self, kind: str, body: Any) -> Any:
        return normalize_group(body)

    def write(self, action: Action) -> None:
        namespace, group = self._where[action.id]
        ns_path = f"{self.api}/{quote(namespace, safe='')}"
        if action.op in ("create", "update"):
            # The set-rule-group endpoint upserts by group name and answers 202.
            body = yaml.safe_dump(action.body, sort_keys=False, allow_unicode=True, width=1 << 16)
            self.client.request("POST", ns_path, data=body.encode(),
                                headers={"Content-Type": "application/yaml"})
        elif action.op == "delete":
            # 404: already gone (a retried DELETE whose first answer was lost) - the goal is met.
            self.client.request("DELETE", f"{ns_path}/{quote(group, safe='')}", ok=(404,))


def connect(env: Mapping[str, str], url: str | None, catalog: Catalog) -> RulerTarget:
    """URL from --url or MONCAT_RULER_URL: the server root (the API is then under /prometheus)
    or a URL whose path is the Prometheus prefix (Grafana Cloud: https://...grafana.net/api/prom).
    Tenant from MONCAT_RULER_TENANT (sent as X-Scope-OrgID); auth from MONCAT_RULER_TOKEN (Bearer)
    or MONCAT_RULER_USER + MONCAT_RULER_PASSWORD (basic; on Grafana Cloud the user is the tenant)."""
    base = url or env.get("MONCAT_RULER_URL")
    if not base:
        raise ConfigError("no ruler URL: pass --url or set MONCAT_RULER_URL")
    parts = checked_url(base, "the ruler URL (--url / MONCAT_RULER_URL)",
                        "set MONCAT_RULER_TOKEN or MONCAT_RULER_USER/MONCAT_RULER_PASSWORD instead")
    names = ("MONCAT_RULER_TENANT", "MONCAT_RULER_TOKEN", "MONCAT_RULER_USER", "MONCAT_RULER_PASSWORD")
    tenant, token, user, password = (checked_secret(n, env[n]) if env.get(n) else "" for n in names)
    headers: dict[str, str] = {}
    secrets = [token, password]
    if token and (user or password):
        raise ConfigError("set either MONCAT_RULER_TOKEN or MONCAT_RULER_USER/MONCAT_RULER_PASSWORD, not both")
    if user or password:
        if not (user and password):
            raise ConfigError("basic auth needs both MONCAT_RULER_USER and MONCAT_RULER_PASSWORD")
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {encoded}"
        secrets.append(encoded)
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    elif not user:
        raise ConfigError("no tenant: set MONCAT_RULER_TENANT (sent as X-Scope-OrgID; "
                          "'anonymous' when the ruler runs without multi-tenancy)")
    root = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path.rstrip("/") or DEFAULT_PREFIX
    refused = ("the credentials were refused: check MONCAT_RULER_TOKEN (or MONCAT_RULER_USER and "
               "MONCAT_RULER_PASSWORD) and MONCAT_RULER_TENANT")
    hints = {401: refused, 403: "the credentials may not do this (a Grafana Cloud token needs the "
             "rules:write scope; a Mimir tenant, the ruler API enabled)"}
    client = Client(root, headers, secrets, limits=limits(env), hints=hints, json_api=False)
    return RulerTarget(client, prefix)
