"""Grafana target, notifications: contact points and the notification policy tree.

Grafana's notification policies are Alertmanager's routing tree (its Alertmanager is a fork of
Prometheus'), so the tree is the one alertmanager.yaml is written from, translated: the same
matchers, timings, `continue`, escalation routes and catch-all. Each Alertmanager receiver
becomes a contact point: `<contact>` (email, Slack, webhook) and `<contact> (page)` (the same
plus PagerDuty/Opsgenie, used at paging levels only).
"""
from __future__ import annotations

import re
from typing import Any

from compiler.model import Catalog, Contact
from compiler.targets import links
from compiler.targets.routing.delivery import integrations, pages
from compiler.targets.routing.levels import PAGERDUTY_DEFAULT, level_template, pagerduty_severity
from compiler.targets.routing.templates import use
from compiler.targets.routing.tree import (UNROUTED, Matcher, Route, grafana_name, interval_definitions,
                                           route_tree, used_receivers)

GROUP_BY = ["grafana_folder", "alertname"]
# Grafana's default contact point, in every org: file provisioning cannot define a contact point
# without integrations, so alerts no route matches go there unless the catalog has a catch_all.
GRAFANA_DEFAULT_CONTACT = "grafana-default-email"
PAGE_SUFFIX = " (page)"  # no '/': Grafana's UI puts contact point names in URL paths


def _env(kind: str, contact: Contact) -> str:
    """A secret is never written out: Grafana reads it from the environment when it loads the
    file (`${VAR}` in provisioning files)."""
    return "${MONCAT_" + kind + "_" + re.sub(r"[^A-Z0-9]+", "_", contact.id.upper()) + "}"


def receives(contact: Contact) -> bool:
    return getattr(contact, "receives_alerts", True)


def contact_point_name(receiver: str) -> str:
    """The Grafana name of an Alertmanager receiver."""
    if receiver == UNROUTED:
        return GRAFANA_DEFAULT_CONTACT
    return receiver.removesuffix("/page") + PAGE_SUFFIX if pages(receiver) else receiver


def _settings(catalog: Catalog, contact: Contact, kind: str) -> dict[str, Any]:
    if kind == "email":
        return {"addresses": contact.email, "singleEmail": False, "subject": use("moncat.subject")}
    if kind == "slack":
        return {"recipient": contact.slack, "token": "${MONCAT_SLACK_TOKEN}",
                "title": use("moncat.title"), "text": use("moncat.text")}
    if kind == "pagerduty":
        return {"integrationKey": _env("PAGERDUTY_KEY", contact), "client": contact.pagerduty,
                "severity": level_template(catalog, pagerduty_severity, PAGERDUTY_DEFAULT),
                "summary": use("moncat.description")}
    if kind == "opsgenie":
        # Grafana takes the priority from the alert's `og_priority` label (the rules carry it).
        return {"apiKey": _env("OPSGENIE_API_KEY", contact), "overridePriority": True,
                "responders": [{"type": "team", "name": contact.opsgenie}],
                "message": use("moncat.title"), "description": use("moncat.text")}
    url = _env("WEBHOOK_URL", contact) if contact.webhook_secret else contact.webhook
    return {"url": url, "httpMethod": "POST"}


def integrations_of(catalog: Catalog, contact: Contact, page: bool) -> list[dict[str, Any]]:
    """One Grafana integration per channel the contact is told through (alerting.jsonschema.json's
    ContactPoint, without its name: a provisioning file gives the name once per contact point)."""
    middle = "-page" if page else ""
    return [{"uid": links.short_uid(f"moncat-{contact.id}{middle}-{kind}"), "type": kind,
             "settings": _settings(catalog, contact, kind), "disableResolveMessage": False}
            for kind in integrations(contact, page)]


def contact_points(catalog: Catalog, tree: Route | None = None) -> list[dict[str, Any]]:
    """A contact point per receiver the policy tree names, in the provisioning file's shape."""
    used = used_receivers(tree or route_tree(catalog, grafana_name))
    return [{"orgId": 1, "name": contact_point_name(name),
             "receivers": integrations_of(catalog, catalog.contacts[cid], pages(name))}
            for name, cid in used.items()]


def mute_timings(catalog: Catalog, tree: Route) -> list[dict[str, Any]]:
    """Grafana's time intervals ("mute timings", used as active timings too) the policies name,
    in the provisioning file's shape: the same entries as Alertmanager's `time_intervals`."""
    return [{"orgId": 1, **entry} for entry in interval_definitions(catalog, tree)]


def policy_tree(catalog: Catalog, tree: Route | None = None,
                blocks: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The root policy: the catch-all, grouping by folder (one per service) and alert name as
    Alertmanager groups by service and alert name, then the routing tree. `blocks`: routes of
    the tree spelled already (`policy`), by id() of the route."""
    root = policy(tree or route_tree(catalog, grafana_name), blocks)
    return {"receiver": root.pop("receiver"), "group_by": GROUP_BY, **root}


def policy(route: Route, blocks: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A route as a notification policy: matchers as `object_matchers`, receivers as contact
    point names."""
    return route.data(("object_matchers", _object_matcher), contact_point_name, blocks)


def _object_matcher(matcher: Matcher) -> list[str]:
    return [matcher.label, matcher.op, matcher.value]
