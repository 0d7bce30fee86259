"""Alertmanager target, versions: the release that added each field moncat emits.

A catalog whose target version lacks one is refused: a check reports it, the target never
emits it.
"""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog

# Read from Alertmanager's config/config.go and config/notifiers.go at each release tag.
MATCHERS_SINCE = (0, 22)            # route `matchers`, inhibit `source_matchers`/`target_matchers`
SECRET_FILES_SINCE = {
    "slack_configs.api_url_file": (0, 22),
    "opsgenie_configs.api_key_file": (0, 22),
    "pagerduty_configs.routing_key_file": (0, 25),
    "global.smtp_auth_password_file": (0, 25),
    "webhook_configs.url_file": (0, 26),
}


def _v(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def refusals(catalog: Catalog) -> Iterator[Diagnostic]:
    settings = catalog.settings
    target = settings.alertmanager_version
    hint = "raise `targets.alertmanager.version`"
    if target < MATCHERS_SINCE:
        yield error("MC460", f"Alertmanager {_v(target)} has no `matchers` in routes and inhibit rules "
                    f"(added in {_v(MATCHERS_SINCE)}), which moncat's routing is written in",
                    settings.field_locs.get("alertmanager.version", settings.loc),
                    f"{hint} to {_v(MATCHERS_SINCE)} or later")
        return
    since = SECRET_FILES_SINCE["global.smtp_auth_password_file"]
    if settings.alertmanager.smtp_auth_username and target < since:
        yield error("MC461", f"Alertmanager {_v(target)} cannot read the SMTP password from a file "
                    f"(smtp_auth_password_file, added in {_v(since)}) and moncat never writes it inline",
                    settings.field_locs.get("alertmanager.smtp.auth_username", settings.loc),
                    f"{hint} to {_v(since)}, or relay through an SMTP host that needs no login")
    for field, has, what, other in (
            ("pagerduty_configs.routing_key_file", lambda c: c.pagerduty,
             "pages through PagerDuty, but Alertmanager {v} cannot read the routing key from a file",
             "or reach this contact another way"),
            ("webhook_configs.url_file", lambda c: c.webhook_secret,
             "has a secret webhook URL, but Alertmanager {v} cannot read it from a file",
             "or, for a Slack incoming webhook, use `slack: '#channel'`, whose URL Alertmanager "
             "reads from a file")):
        since = SECRET_FILES_SINCE[field]
        if target >= since:
            continue
        for contact in catalog.contacts.values():
            if has(contact) and contact.receives_alerts:
                at = contact.webhook_loc if field.startswith("webhook") else None
                yield error("MC461", f"contact {contact.id!r} " + what.format(v=_v(target))
                            + f" ({field.split('.')[1]}, added in {_v(since)}) and moncat never "
                            "writes it inline", at or contact.loc, f"{hint} to {_v(since)}, {other}")
