"""Apply stage, Grafana: folders, contact points, the notification policy tree, alert rules (and
their groups' intervals) and dashboards, pushed over Grafana's HTTP API.

Settings (environment; never printed):
- GRAFANA_TOKEN: a service-account token, sent as `Authorization: Bearer`.
- GRAFANA_URL (or --url, else the catalog's targets.grafana.url): Grafana's root URL.
- GRAFANA_ORG_ID: the org, sent as X-Grafana-Org-Id (else the token's own org); rule bodies
  carry it as orgID.
- GRAFANA_DISABLE_PROVENANCE=1: send X-Disable-Provenance on provisioning writes, so rules,
  contact points and policies stay editable in Grafana's UI. Grafana refuses (403) to move an
  object from provenance "api" back to none: keep the setting the same from run to run.
- MONCAT_* secrets that the contact points reference as `${MONCAT_...}` (as the provisioning
  files do); the apply fails before planning when one is missing.
- MONCAT_APPLY_*: the client's limits (compiler/apply/endpoint.py, limits).

Ownership (what --prune may delete): folders whose uid starts with "moncat-", dashboards tagged
`moncat`, contact point integrations whose uid starts with "moncat-", alert rules labelled
managed_by=moncat (the label is added here); dashboards and rules only with a uid moncat gives,
since a copy made in Grafana's UI keeps tags and labels but not the uid. Rule groups are never
deleted as such (Grafana drops a group with its last rule), nor is the org's single
notification policy tree (a delete would reset the org's routing). An object with our uid but
without the mark is never overwritten, and a group holding rules moncat does not own is never
re-sent (a group PUT would give them moncat's provenance).

The plan compares secrets only as "[REDACTED]" (Grafana never shows them): rotating a secret
alone is not seen as a change; change another field, or delete the contact point, to push it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

from compiler.apply import grafana_alerting as alerting
from compiler.apply import grafana_dashboards as dashboards
from compiler.apply import grafana_normalize as norm
from compiler.apply import grafana_notify as notify
from compiler.apply.client import Client
from compiler.apply.endpoint import checked_secret, checked_url, limits
from compiler.apply.plan import Action, Current, Desired, Finding
from compiler.apply.registry import ConfigError
from compiler.model import Catalog

ORDER = ("folder", "notification_template", "mute_timing", "contact_point", "notification_policy",
         "alert_rule", "rule_group", "dashboard")
_TRUE = {"1", "true", "yes", "on"}


class GrafanaTarget:
    """One Grafana org, through a service-account token."""

    name = "grafana"
    order = ORDER

    def __init__(self, client: Client, catalog: Catalog, env: Mapping[str, str], *,
                 org_id: int = 1, disable_provenance: bool = False):
        self.client, self.catalog, self.env = client, catalog, env
        self.org_id = org_id
        self.conn = alerting.Conn(client, disable_provenance)
        # The ids desired() found, per kind: current() then reads in full only those.
        self.wanted: dict[str, set[str]] | None = None
        self.findings: list[Finding] = []  # set by current(): copies, groups with foreign rules

    def desired(self, files: dict[str, bytes]) -> list[Desired]:
        points, secrets = alerting.desired_contact_points(files, self.env)
        self.client.add_secrets(secrets)
        out = (dashboards.desired_folders_and_dashboards(files, self.catalog) + notify.desired(files)
               + points + alerting.desired_policy(files) + alerting.desired_rules(self.catalog, self.org_id))
        self.wanted = {}
        for d in out:
            self.wanted.setdefault(d.kind, set()).add(d.id)
        return out

    def current(self) -> list[Current]:
        wanted = self.wanted
        reads: list[Callable[[], tuple[list[Current], list[Finding]]]] = [
            lambda: (dashboards.current_folders(self.client, self.catalog), []),
            lambda: (alerting.current_contact_points(self.client), []),
            lambda: (alerting.current_policy(self.client), []),
            lambda: (notify.current(self.client), []),
            lambda: alerting.current_rules(self.client, None if wanted is None else wanted.get("rule_group", set())),
            lambda: self._dashboards(None if wanted is None else wanted.get("dashboard", set())),
        ]
        # The lists are independent: read them at once (each pages, or reads its items, itself).
        with ThreadPoolExecutor(max_workers=len(reads)) as pool:
            parts = list(pool.map(lambda read: read(), reads))
        self.findings = [f for _, found in parts for f in found]
        return [c for currents, _ in parts for c in currents]

    def _dashboards(self, wanted: set[str] | None) -> tuple[list[Current], list[Finding]]:
        found = dashboards.current_dashboards(self.client, wanted)
        return found, dashboards.lookalike_dashboards(found)

    def normalize(self, kind: str, body: Any) -> Any:
        if kind in (notify.TEMPLATE, notify.TIMING):
            return notify.normalize(kind, body)
        return norm.NORMALIZERS[kind](body)

    def write(self, action: Action) -> None:
        writers: dict[str, Callable[[Action], None]] = {
            "folder": lambda a: dashboards.write_folder(self.client, a),
            "dashboard": lambda a: dashboards.write_dashboard(self.client, a),
            "contact_point": lambda a: alerting.write_contact_point(self.conn, a),
            "notification_policy": lambda a: alerting.write_policy(self.conn, a),
            "alert_rule": lambda a: alerting.write_rule(self.conn, a),
            "rule_group": lambda a: alerting.write_group(self.conn, a),
            notify.TEMPLATE: lambda a: notify.write(self.conn, a),
            notify.TIMING: lambda a: notify.write(self.conn, a),
        }
        writers[action.kind](action)


def _forbidden(text: str) -> str:
    if "provenance" in text:
        return "keep GRAFANA_DISABLE_PROVENANCE the same from run to run"
    return ("the token's service account may not do this: give it the Editor role, or Admin for "
            "contact points and policies")


def connect(env: Mapping[str, str], url: str | None, catalog: Catalog) -> GrafanaTarget:
    token = env.get("GRAFANA_TOKEN", "")
    if not token:
        raise ConfigError("no Grafana token: set GRAFANA_TOKEN to a service-account token")
    checked_secret("GRAFANA_TOKEN", token)
    base = url or env.get("GRAFANA_URL") or catalog.settings.grafana.url
    if not base:
        raise ConfigError("no Grafana URL: pass --url, set GRAFANA_URL, or set targets.grafana.url")
    checked_url(base, "the Grafana URL (--url / GRAFANA_URL)", "set GRAFANA_TOKEN instead")
    org = env.get("GRAFANA_ORG_ID", "")
    if org and not (org.isdigit() and int(org) > 0):
        raise ConfigError("GRAFANA_ORG_ID must be a positive number")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if org:
        headers["X-Grafana-Org-Id"] = org
    hints = {401: "the token was refused: check GRAFANA_TOKEN (a service-account token of this "
                  "Grafana) and GRAFANA_ORG_ID", 403: _forbidden}
    # As many kept-alive connections as readers at once (requests keeps 10 per host, and opens
    # and drops one per request beyond that).
    client = Client(base.strip(), headers, [token], limits=limits(env), hints=hints,
                    pool_size=dashboards.READERS + 8)
    return GrafanaTarget(client, catalog, env, org_id=int(org or 1),
                         disable_provenance=env.get("GRAFANA_DISABLE_PROVENANCE", "").lower() in _TRUE)
