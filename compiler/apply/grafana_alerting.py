"""Apply stage, Grafana alerting: alert rules, their groups' intervals, contact points and the
notification policy tree of output/grafana/alerting, pushed through the alerting provisioning
API (/api/v1/provisioning/...)."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote

import yaml

from compiler.apply import grafana_normalize as norm
from compiler.apply.client import ApiError, Client
from compiler.apply.grafana_dashboards import lookalike
from compiler.apply.plan import Action, Current, Desired, Finding
from compiler.apply.registry import ConfigError
from compiler.model import Catalog
from compiler.targets.grafana.interpolation import unescape, whole_file
from compiler.targets.grafana import alerting as target_alerting

PROVISIONING = "/api/v1/provisioning"
# Ownership: a rule is moncat's when it carries this label (added at apply time, next to the
# service/severity/team labels the catalog gives it) and a uid moncat gives (`<service>-<alert>`,
# <service> its `service` label: a copy made in Grafana's UI keeps the labels, not the uid);
# a contact point integration when its uid starts with "moncat-" (the Grafana target's
# deterministic uids do).
OWNER_LABEL, OWNER_VALUE = "managed_by", "moncat"
CONTACT_UID_PREFIX = "moncat-"
POLICY_ID = "policy-tree"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it
ALERTING_DIR = "grafana/alerting/"
CONTACTS_FILE = ALERTING_DIR + "_contact-points.yaml"
POLICIES_FILE = ALERTING_DIR + "_policies.yaml"
# A secret in a provisioning file is a `${MONCAT_...}` reference Grafana resolves from its own
# environment when it reads the file; over the API, moncat resolves it from its environment.
# Only MONCAT_ names: nothing else of the environment (GRAFANA_TOKEN...) can leak into a setting.
SECRET_REF = re.compile(r"\$\{(MONCAT_[A-Z0-9_]+)\}")
# Fields of a rule the API takes on a write (alerting.jsonschema.json's Rule, less what the
# server sets itself).
RULE_WRITE_FIELDS = ("uid", "title", "orgID", "folderUID", "ruleGroup", "condition", "data", "for",
                     "noDataState", "execErrState", "labels", "annotations", "isPaused",
                     "notification_settings", "record")


@dataclass
class Conn:
    """What every write needs: the HTTP client and the provenance header setting."""

    client: Client
    disable_provenance: bool = False

    def headers(self) -> dict[str, str] | None:
        # Grafana looks only at the header's presence (resources then stay editable in its UI).
        return {"X-Disable-Provenance": "true"} if self.disable_provenance else None


def _labels(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = rule.get("labels")
    return labels if isinstance(labels, dict) else {}


def rule_marked(rule: Mapping[str, Any]) -> bool:
    return _labels(rule).get(OWNER_LABEL) == OWNER_VALUE


def rule_service(rule: Mapping[str, Any]) -> str:
    return str(_labels(rule).get("service") or "")


def rule_owned(rule: Mapping[str, Any]) -> bool:
    service = rule_service(rule)
    return rule_marked(rule) and bool(service) and str(rule.get("uid", "")).startswith(service + "-")


def contact_owned(point: Mapping[str, Any]) -> bool:
    return str(point.get("uid", "")).startswith(CONTACT_UID_PREFIX)


def group_path(folder_uid: str, group: str) -> str:
    return f"{PROVISIONING}/folder/{quote(folder_uid, safe='')}/rule-groups/{quote(group, safe='')}"


# --- desired: the compiled provisioning files as API bodies ---------------------------------

def api_rule(rule: dict[str, Any], org_id: int) -> dict[str, Any]:
    """A rule as the API takes it: the request's org and the ownership label added;
    keepFiringFor in nanoseconds (a provisioning file spells it as a duration)."""
    body = dict(rule)
    body["orgID"] = org_id
    body["labels"] = {**(rule.get("labels") or {}), OWNER_LABEL: OWNER_VALUE}
    if isinstance(body.get("keepFiringFor"), str):
        body["keepFiringFor"] = (norm.duration_ms(body["keepFiringFor"]) or 0) * 1_000_000
    return body


def desired_rules(catalog: Catalog, org_id: int) -> list[Desired]:
    """Each service's rules and its group, as output/grafana/alerting/<service>.yaml holds them:
    built by the function that writes that file (the Grafana target's rule_group), which gives
    the API's own shape. Reading the YAML back would give the same bodies, slower: PyYAML takes
    ~8 s for the 5,000 rules of the benchmark catalog, the function 0.6 s."""
    out: list[Desired] = []
    for service in catalog.services:
        if not service.alerts:
            continue
        group, _ = target_alerting.rule_group(catalog, service)
        rules = [api_rule(r, org_id) for r in group["rules"]]
        if not rules:
            continue  # every alert leaves Grafana out; Grafana has no empty groups
        out += [Desired("alert_rule", r["uid"], r) for r in rules]
        out.append(Desired("rule_group", f"{group['folderUid']}/{group['title']}",
                           {"title": group["title"], "folderUid": group["folderUid"],
                            "interval": group["interval"]}))
    return out


def _resolve(value: Any, env: Mapping[str, str], missing: set[str], found: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, env, missing, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env, missing, found) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        secret = env.get(m.group(1))
        if not secret:
            missing.add(m.group(1))
            return m.group(0)
        found.append(secret)
        return secret

    return SECRET_REF.sub(sub, value)


def desired_contact_points(files: Mapping[str, bytes], env: Mapping[str, str]) -> tuple[list[Desired], list[str]]:
    """One object per integration (the provisioning API's contact point), with its secrets
    resolved; and the secret values, for the client to redact."""
    if CONTACTS_FILE not in files:
        return [], []
    missing: set[str] = set()
    secrets: list[str] = []
    out = []
    for point in whole_file(yaml.load(files[CONTACTS_FILE], Loader=_LOADER) or {}, unescape).get("contactPoints", []):
        for receiver in point.get("receivers", []):
            body = {"uid": receiver["uid"], "name": point["name"], "type": receiver["type"],
                    "settings": _resolve(receiver.get("settings") or {}, env, missing, secrets),
                    "disableResolveMessage": bool(receiver.get("disableResolveMessage", False))}
            out.append(Desired("contact_point", body["uid"], body))
    if missing:
        raise ConfigError("the contact points need " + ", ".join(sorted(missing)) + " in the "
                          "environment (the secrets Grafana's provisioning files read from its own)")
    return out, secrets


def desired_policy(files: Mapping[str, bytes]) -> list[Desired]:
    if POLICIES_FILE not in files:
        return []
    trees = whole_file(yaml.load(files[POLICIES_FILE], Loader=_LOADER) or {}, unescape).get("policies", [])
    return [Desired("notification_policy", POLICY_ID, trees[0])] if trees else []


# --- current: what the server holds ---------------------------------------------------------

def current_rules(client: Client, wanted_groups: set[str] | None) -> tuple[list[Current], list[Finding]]:
    """Every rule (the API lists them all in one answer), and the groups we have rules for with
    their interval; and what the plan must say about copies of our rules and about groups that
    hold rules moncat does not own. Groups are never pruned as such: Grafana drops a group with
    its last rule."""
    rules = client.objects(client.request("GET", f"{PROVISIONING}/alert-rules"), "alert rules", "uid")
    out = [Current("alert_rule", str(r["uid"]), r, rule_owned(r), service=rule_service(r) or None)
           for r in rules]
    findings = [lookalike("alert_rule", str(r["uid"]), f"the {OWNER_LABEL}={OWNER_VALUE} label")
                for r in rules if rule_marked(r) and not rule_owned(r)]
    keys = sorted({(str(r.get("folderUID")), str(r.get("ruleGroup"))) for r in rules
                   if (wanted_groups is None and rule_owned(r))
                   or (wanted_groups is not None and f"{r.get('folderUID')}/{r.get('ruleGroup')}" in wanted_groups)})

    def fetch(key: tuple[str, str]) -> Current | None:
        resp = client.request("GET", group_path(*key), ok=(404,))
        if resp.status_code == 404:
            return None
        group = client.json(resp, dict, "a rule group")
        return Current("rule_group", f"{key[0]}/{key[1]}", group, owned=False)

    with ThreadPoolExecutor(max_workers=16) as pool:
        groups = [c for c in pool.map(fetch, keys) if c is not None]
    findings += [f for f in map(foreign_in_group, groups) if f is not None]
    return out + groups, findings


def foreign_rules(group: Mapping[str, Any]) -> list[str]:
    rules = group.get("rules") if isinstance(group.get("rules"), list) else []
    return sorted(str(r.get("uid")) for r in rules if not (isinstance(r, dict) and rule_owned(r)))


def foreign_in_group(group: Current) -> Finding | None:
    """A group that holds rules moncat does not own is never re-sent: a group PUT replaces every
    rule of the group and gives them all the request's provenance."""
    foreign = foreign_rules(group.body)
    if not foreign:
        return None
    return Finding("rule_group", group.id, f"holds {len(foreign)} rule(s) moncat does not own "
                   f"({', '.join(foreign[:5])}): moncat does not re-send the group, which would give "
                   "them its provenance and could drop them; move them to another group, or set the "
                   "interval in Grafana", blocks=True)


def current_contact_points(client: Client) -> list[Current]:
    points = client.objects(client.request("GET", f"{PROVISIONING}/contact-points"), "contact points", "uid")
    return [Current("contact_point", str(p["uid"]), p, contact_owned(p)) for p in points]


def current_policy(client: Client) -> list[Current]:
    # The org always has a tree (Grafana's default one at first): ours replaces it, and it is
    # never pruned (a DELETE resets the org's routing to the default).
    tree = client.json(client.request("GET", f"{PROVISIONING}/policies"), dict, "a notification policy tree")
    return [Current("notification_policy", POLICY_ID, tree, owned=False)]


# --- writes ---------------------------------------------------------------------------------

def same_on_server(kind: str, body: dict[str, Any], read: dict[str, Any] | None) -> bool:
    """The server's copy equals what we meant to write (a retried create whose first answer was
    lost finds its own object)."""
    return read is not None and norm.NORMALIZERS[kind](read) == norm.NORMALIZERS[kind](body)


def writable_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule read from the server, as a write takes it back (a group PUT lists every rule)."""
    body = {k: rule[k] for k in RULE_WRITE_FIELDS if rule.get(k) is not None}
    keep = norm.keep_firing_ms(rule)
    if keep:
        body["keepFiringFor"] = keep * 1_000_000
    return body


def write_rule(conn: Conn, action: Action) -> None:
    path = f"{PROVISIONING}/alert-rules"
    one = f"{path}/{quote(action.id, safe='')}"
    if action.op == "create":
        resp = conn.client.request("POST", path, json=action.body, headers=conn.headers(), ok=(409,))
        if resp.status_code == 409:
            # Already there: our own earlier attempt whose answer was lost, or someone else's.
            read = conn.client.request("GET", one, ok=(404,))
            theirs = conn.client.json(read, dict, "an alert rule") if read.status_code == 200 else None
            if not (theirs and rule_owned(theirs) and same_on_server("alert_rule", action.body, theirs)):
                raise ApiError("POST", path, 409, f"a rule with uid {action.id} appeared since the plan; "
                               "run the apply again to see it in the plan", transient=True)
    elif action.op == "update":
        if not rule_owned(action.current or {}):
            raise ApiError("PUT", one, None, f"the server's rule {action.id} has no {OWNER_LABEL}="
                           f"{OWNER_VALUE} label: moncat does not overwrite it (delete it, or add the label)")
        conn.client.request("PUT", one, json=action.body, headers=conn.headers())
    elif action.op == "delete":
        conn.client.request("DELETE", one, headers=conn.headers(), ok=(404,))


def write_group(conn: Conn, action: Action) -> None:
    """The group's interval. Its rules are written first (kind alert_rule); Grafana puts a new
    group at its default interval, so this PUTs only when that is not the catalog's. The PUT
    replaces the group's rules (and gives all of them this request's provenance, as Grafana's
    docs say), so it is sent only when every rule in the group is moncat's, and sends them back."""
    if action.op == "delete":
        return
    body = action.body
    path = group_path(body["folderUid"], body["title"])
    resp = conn.client.request("GET", path, ok=(404,))
    if resp.status_code == 404:
        raise ApiError("GET", path, 404, "the group has no rule on the server (were its rules written?)")
    group = conn.client.json(resp, dict, "a rule group")
    if norm.rule_group(group) == norm.rule_group(body):
        return
    foreign = foreign_rules(group)
    if foreign:
        raise ApiError("PUT", path, None, f"the group now holds rules moncat does not own "
                       f"({', '.join(foreign[:5])}): not re-sent (that would give them moncat's "
                       "provenance); move them to another group")
    conn.client.request("PUT", path, headers=conn.headers(), json={
        "title": body["title"], "folderUid": body["folderUid"], "interval": body["interval"],
        "rules": [writable_rule(r) for r in group.get("rules") or []]})


def write_contact_point(conn: Conn, action: Action) -> None:
    path = f"{PROVISIONING}/contact-points"
    one = f"{path}/{quote(action.id, safe='')}"
    if action.op == "create":
        resp = conn.client.request("POST", path, json=action.body, headers=conn.headers(), ok=(400, 409))
        if resp.status_code in (400, 409):
            # A uid already taken answers 400 too: accept it only when it is ours, as planned.
            listed = conn.client.objects(conn.client.request("GET", path, params={"name": action.body["name"]}),
                                         "contact points", "uid")
            theirs = next((p for p in listed if p.get("uid") == action.id), None)
            if not same_on_server("contact_point", action.body, theirs):
                raise conn.client.refusal("POST", conn.client.base_url + path, resp)
    elif action.op == "update":
        conn.client.request("PUT", one, json=action.body, headers=conn.headers())
    elif action.op == "delete":
        conn.client.request("DELETE", one, headers=conn.headers(), ok=(404,))


def write_policy(conn: Conn, action: Action) -> None:
    if action.op in ("create", "update"):
        conn.client.request("PUT", f"{PROVISIONING}/policies", json=action.body, headers=conn.headers())
