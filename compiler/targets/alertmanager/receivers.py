"""Alertmanager target, receivers: one per contact and use (paging or not), secrets by file."""
from __future__ import annotations

from typing import Any

from compiler.model import Catalog, Contact
from compiler.targets.routing.delivery import pages
from compiler.targets.routing.templates import use
from compiler.targets.routing.levels import (OPSGENIE_DEFAULT, PAGERDUTY_DEFAULT, level_template,
                                             opsgenie_priority, pagerduty_severity)

# Slack's title links to the alert's runbook page (alerts are grouped by name, so the group
# shares one runbook_url).
SLACK_TITLE_LINK = "{{ .CommonAnnotations.runbook_url }}"


def secret_file(catalog: Catalog, contact: Contact | None, kind: str) -> str:
    """Where Alertmanager reads a secret: <secrets_dir>/<contact>.<kind>, or <secrets_dir>/<kind>
    for the shared SMTP password. Contact ids are [a-z0-9_.-] and never start with a dot, so
    the name stays inside the directory."""
    name = f"{contact.id}.{kind}" if contact else kind
    return f"{catalog.settings.alertmanager.secrets_dir.rstrip('/')}/{name}"


def global_config(catalog: Catalog, emails: bool) -> dict[str, Any]:
    am = catalog.settings.alertmanager
    out: dict[str, Any] = {}
    if emails:
        out["smtp_smarthost"] = am.smtp_smarthost
        out["smtp_from"] = am.smtp_from
        if am.smtp_auth_username:
            out["smtp_auth_username"] = am.smtp_auth_username
            out["smtp_auth_password_file"] = secret_file(catalog, None, "smtp-auth-password")
        if am.smtp_require_tls is not None:
            out["smtp_require_tls"] = am.smtp_require_tls
    return out


def receiver(catalog: Catalog, contact: Contact, name: str) -> dict[str, Any]:
    """The receiver `name` of `contact`: its email, Slack and webhook channels, plus PagerDuty and
    Opsgenie when the name says it pages."""
    out: dict[str, Any] = {"name": name}
    if contact.email:
        out["email_configs"] = [{"to": contact.email, "send_resolved": True,
                                 "headers": {"Subject": use("moncat.subject")}}]
    if contact.slack:
        out["slack_configs"] = [{
            "api_url_file": secret_file(catalog, contact, "slack-api-url"),
            "channel": contact.slack,
            "send_resolved": True,
            "title": use("moncat.title"),
            "title_link": SLACK_TITLE_LINK,
            "text": use("moncat.text"),
        }]
    if contact.webhook_secret:
        # The URL is a credential: Alertmanager reads it from a file (url_file, 0.26 and later;
        # older versions are refused, MC461).
        out["webhook_configs"] = [{"url_file": secret_file(catalog, contact, "webhook-url"),
                                   "send_resolved": True}]
    elif contact.webhook:
        # A URL with no credential in it (the webhook check refuses the others).
        out["webhook_configs"] = [{"url": contact.webhook, "send_resolved": True}]
    if pages(name):
        if contact.pagerduty:
            out["pagerduty_configs"] = [{
                "routing_key_file": secret_file(catalog, contact, "pagerduty-routing-key"),
                "send_resolved": True,
                "severity": level_template(catalog, pagerduty_severity, PAGERDUTY_DEFAULT),
                "description": use("moncat.description"),
            }]
        if contact.opsgenie:
            out["opsgenie_configs"] = [{
                "api_key_file": secret_file(catalog, contact, "opsgenie-api-key"),
                "responders": [{"name": contact.opsgenie, "type": "team"}],
                "send_resolved": True,
                "priority": level_template(catalog, opsgenie_priority, OPSGENIE_DEFAULT),
                "message": use("moncat.title"),
                "description": use("moncat.text"),
            }]
    return out
