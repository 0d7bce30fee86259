"""Apply stage, Grafana notification templates and mute timings: output/grafana/alerting's
_templates.yaml and _mute-timings.yaml through the alerting provisioning API
(/api/v1/provisioning/templates, /mute-timings). Both are read raw from the files (Grafana's
file reader expands nothing in them). They are written before the contact points and policies
that name them, and never pruned: Grafana refuses to delete one in use, and moncat's carry no
mark of their own (their names are the catalog's)."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

import yaml

from compiler.apply.grafana_alerting import ALERTING_DIR, PROVISIONING, Conn
from compiler.apply.client import Client
from compiler.apply.plan import Action, Current, Desired

TEMPLATES_FILE = ALERTING_DIR + "_templates.yaml"
TIMINGS_FILE = ALERTING_DIR + "_mute-timings.yaml"
TEMPLATE, TIMING = "notification_template", "mute_timing"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _entries(files: Mapping[str, bytes], path: str, key: str) -> list[dict[str, Any]]:
    return (yaml.load(files[path], Loader=_LOADER) or {}).get(key, []) if path in files else []


def desired(files: Mapping[str, bytes]) -> list[Desired]:
    out = [Desired(TEMPLATE, t["name"], {"name": t["name"], "template": t["template"]})
           for t in _entries(files, TEMPLATES_FILE, "templates")]
    out += [Desired(TIMING, t["name"], {"name": t["name"], "time_intervals": t["time_intervals"]})
            for t in _entries(files, TIMINGS_FILE, "muteTimes")]
    return out


def current(client: Client) -> list[Current]:
    templates = client.request("GET", f"{PROVISIONING}/templates").json() or []
    timings = client.request("GET", f"{PROVISIONING}/mute-timings").json() or []
    return ([Current(TEMPLATE, str(t.get("name")), t, owned=False) for t in templates]
            + [Current(TIMING, str(t.get("name")), t, owned=False) for t in timings])


def normalize(kind: str, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    keys = ("name", "template") if kind == TEMPLATE else ("name", "time_intervals")
    return {k: body.get(k) for k in keys}


def write(conn: Conn, action: Action) -> None:
    if action.op == "delete":
        return  # never pruned (see above)
    name = quote(action.id, safe="")
    if action.kind == TEMPLATE:
        conn.client.request("PUT", f"{PROVISIONING}/templates/{name}", headers=conn.headers(),
                            json={"template": action.body["template"]})
    elif action.op == "create":
        conn.client.request("POST", f"{PROVISIONING}/mute-timings", headers=conn.headers(), json=action.body)
    else:
        conn.client.request("PUT", f"{PROVISIONING}/mute-timings/{name}", headers=conn.headers(),
                            json=action.body)
