"""Grafana target, notifications: contact points from the catalog's contacts and the
notification policy tree that routes every alert by team, then severity, to its contacts."""
from __future__ import annotations

import re
from typing import Any

from compiler.checks.routing import recipients
from compiler.incremental import cached
from compiler.model import Catalog, Contact, Service
from compiler.targets import links

GROUP_BY = ["grafana_folder", "alertname"]


def _env(kind: str, contact: Contact) -> str:
    """A secret is never written out: Grafana reads it from the environment when it loads the
    file (`${VAR}` in provisioning files)."""
    return "${MONCAT_" + kind + "_" + re.sub(r"[^A-Z0-9]+", "_", contact.id.upper()) + "}"


def receives(contact: Contact) -> bool:
    return getattr(contact, "receives_alerts", True)


def integrations(contact: Contact) -> list[dict[str, Any]]:
    """One Grafana integration per channel the contact has (alerting.jsonschema.json's
    ContactPoint, without its name: a provisioning file gives the name once per contact)."""
    out: list[tuple[str, dict[str, Any]]] = []
    if contact.email:
        out.append(("email", {"addresses": contact.email, "singleEmail": False}))
    if contact.slack:
        out.append(("slack", {"recipient": contact.slack, "token": "${MONCAT_SLACK_TOKEN}"}))
    if contact.pagerduty:
        out.append(("pagerduty", {"integrationKey": _env("PAGERDUTY_KEY", contact),
                                  "client": contact.pagerduty}))
    if contact.opsgenie:
        out.append(("opsgenie", {"apiKey": _env("OPSGENIE_API_KEY", contact),
                                 "responders": [{"type": "team", "name": contact.opsgenie}]}))
    if contact.webhook:
        out.append(("webhook", {"url": contact.webhook, "httpMethod": "POST"}))
    return [{"uid": links.short_uid(f"moncat-{contact.id}-{kind}"), "type": kind,
             "settings": settings, "disableResolveMessage": False} for kind, settings in out]


def contact_points(catalog: Catalog) -> list[dict[str, Any]]:
    """Every contact that receives alerts, in the provisioning file's shape."""
    return [{"orgId": 1, "name": c.id, "receivers": integrations(c)}
            for c in catalog.contacts.values() if receives(c)]


def _root_receiver(catalog: Catalog) -> str:
    """Alerts no route matches (none of moncat's) go to the first shared contact, or to the
    first service's owner."""
    shared = [c.id for c in catalog.contacts.values() if c.service is None and receives(c)]
    owners = [s.owner for s in catalog.services if s.owner and receives(catalog.contacts[s.owner])]
    anyone = [c.id for c in catalog.contacts.values() if receives(c)]
    return (shared or owners or anyone or [""])[0]


def _deliver(to: list[str], matchers: list[list[str]] | None = None) -> dict[str, Any]:
    """A route to every contact in `to`: the first as its receiver, each as a child that lets
    the next one match too (continue), so all of them are notified."""
    route: dict[str, Any] = {}
    if matchers:
        route["object_matchers"] = matchers
    route["receiver"] = to[0]
    if len(to) > 1:
        route["routes"] = [{"receiver": cid, "continue": True} for cid in to]
    return route


def _routing_key(service: Service) -> tuple[str, str]:
    return ("team", service.team) if service.team else ("service", service.id)


def _notified(catalog: Catalog, service: Service) -> list[tuple[str, str, tuple[int, str], tuple[str, ...]]]:
    """(alert, severity, its rank, contacts notified) for the service's alerts that notify any."""
    out = []
    for alert in service.alerts.values():
        to = tuple(c for c in recipients(alert, service)
                   if c in catalog.contacts and receives(catalog.contacts[c]))
        if to:
            sev = service.severity(alert.severity, catalog.severities)
            out.append((alert.name, alert.severity, (sev.priority if sev else 99, alert.severity), to))
    return out


def policy_tree(catalog: Catalog) -> dict[str, Any]:
    """Root -> team (or service, when it has no team) -> severity -> contacts. Where alerts of
    one team and severity notify different contacts, a route per service and set of contacts
    matches them by alertname."""
    tree: dict[tuple[str, str], dict[str, dict[tuple[str, tuple[str, ...]], list[str]]]] = {}
    priority: dict[str, tuple[int, str]] = {}
    for service in catalog.services:
        found = cached(catalog, "grafana.policy", service, lambda: _notified(catalog, service))
        for name, severity, rank, to in found:
            priority.setdefault(severity, rank)
            groups = tree.setdefault(_routing_key(service), {}).setdefault(severity, {})
            groups.setdefault((service.id, to), []).append(name)
    routes = []
    for (label, value), severities in sorted(tree.items()):
        sev_routes = []
        for severity in sorted(severities, key=lambda s: priority[s]):
            groups = severities[severity]
            matchers = [["severity", "=", severity]]
            if len(groups) == 1:
                (_, to), = groups
                sev_routes.append(_deliver(list(to), matchers))
                continue
            route: dict[str, Any] = {"object_matchers": matchers, "routes": []}
            for (sid, to), names in sorted(groups.items(), key=lambda g: (g[0][0], sorted(g[1]))):
                leaf = [["service", "=", sid], ["alertname", "=~", "|".join(sorted(names))]]
                route["routes"].append(_deliver(list(to), leaf))
            sev_routes.append(route)
        routes.append({"object_matchers": [[label, "=", value]], "routes": sev_routes})
    return {"receiver": _root_receiver(catalog), "group_by": GROUP_BY, "routes": routes}
