"""Targets, links: where each dashboard and panel lives in Grafana (uids, panel ids, URLs).

Shared by the Grafana target, which builds the dashboards, and by every target whose alerts link
back to them (`dashboard_url`, `__dashboardUid__`/`__panelId__`): both read the ids from here, so
a link always points at the panel that was generated.
"""
from __future__ import annotations

import hashlib
import re

from compiler.model import Alert, Catalog, Dashboard, Panel, Service

UID_MAX = 40  # Grafana refuses longer uids (dashboards, folders, rules, contact points)
_UID_BAD = re.compile(r"[^a-zA-Z0-9_-]+")


def short_uid(text: str) -> str:
    """A Grafana uid for `text`: itself when it fits (letters, digits, '-', '_', at most 40),
    else a readable prefix and a hash of the whole, so distinct texts keep distinct uids."""
    clean = _UID_BAD.sub("-", text).strip("-") or "x"
    if clean == text and len(clean) <= UID_MAX:
        return clean
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{clean[:UID_MAX - 9].rstrip('-')}-{digest}"


def dashboard_uid(dashboard: Dashboard) -> str:
    return uid_of_dashboard(dashboard.service, dashboard.id)


def uid_of_dashboard(sid: str, did: str) -> str:
    """`<service>-<id>`, or the id alone when it already starts with the service's id."""
    name = did if did == sid or did.startswith(sid + "-") else f"{sid}-{did}"
    return short_uid(name)


def slug(title: str) -> str:
    """The readable part of a dashboard URL (Grafana finds the dashboard by uid alone)."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "dashboard"


def panel_ids(dashboard: Dashboard) -> tuple[list[int], list[list[int]]]:
    """Ids of the row panels and of each row's panels: 1, 2, ... in reading order."""
    rows: list[int] = []
    panels: list[list[int]] = []
    next_id = 1
    for row in dashboard.rows:
        rows.append(next_id)
        next_id += 1
        ids = list(range(next_id, next_id + len(row.panels)))
        next_id += len(row.panels)
        panels.append(ids)
    return rows, panels


def alert_panel(dashboard: Dashboard, alert_name: str) -> tuple[Panel, int] | None:
    """The first panel of `dashboard` that names the alert, and its id."""
    _, ids = panel_ids(dashboard)
    for row, row_ids in zip(dashboard.rows, ids):
        for panel, pid in zip(row.panels, row_ids):
            if alert_name in panel.alerts:
                return panel, pid
    return None


def alert_dashboard(service: Service, alert: Alert) -> tuple[Dashboard, int | None] | None:
    """The dashboard an alert links to (its `dashboard:`, else the first of the service's
    dashboards with a panel naming it) and the id of that panel, when there is one."""
    if alert.dashboard:
        dash = service.dashboards[alert.dashboard]
        found = alert_panel(dash, alert.name)
        return dash, found[1] if found else None
    for dash in service.dashboards.values():
        found = alert_panel(dash, alert.name)
        if found:
            return dash, found[1]
    return None


def dashboard_url(catalog: Catalog, dashboard: Dashboard, panel_id: int | None = None) -> str:
    """The dashboard's address under `targets.grafana.url`, opened on one panel when given."""
    url = f"{catalog.settings.grafana.url}/d/{dashboard_uid(dashboard)}/{slug(dashboard.title)}"
    return url if panel_id is None else f"{url}?viewPanel={panel_id}"


def runbook_index_url(catalog: Catalog, service: Service) -> str:
    """The service's runbook index page."""
    return f"{catalog.settings.runbooks_base_url}/{service.id}/index.html"
