"""Datadog target, messages: a monitor's notification text and the @-handles of its contacts.

Datadog reads `{{#is_alert}}`-style blocks and `{{tag.name}}` variables in a message
(https://docs.datadoghq.com/monitors/notify/variables/) and notifies every `@handle`
(https://docs.datadoghq.com/monitors/notify/#notifications): `@slack-<channel>`,
`@pagerduty-<service>`, `@opsgenie-<service>`, `@webhook-<name>` and `@<email>`.
"""
from __future__ import annotations

import re

from compiler.checks.routing import recipients
from compiler.diagnostics import Diagnostic, warning
from compiler.durations import format_ms
from compiler.model import Alert, Catalog, Contact, Service, Severity
from compiler.targets.datadog.wording import words

TEMPLATE = "MC704"
HANDLE = "MC708"
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)  # a Go template action, as Prometheus reads it
_LABEL = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
_MENTION = re.compile(r"(^|(?<=\s))@(?=\w)")
_HANDLE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def handles(catalog: Catalog, alert: Alert, service: Service, severity: Severity
            ) -> tuple[list[str], list[Diagnostic]]:
    """The alert's contacts as Datadog handles: chat, email and webhooks always; PagerDuty and
    Opsgenie only for severities that page, as the severity table says they should."""
    out: list[str] = []
    diags: list[Diagnostic] = []
    for cid in recipients(alert, service):
        contact: Contact | None = catalog.contacts.get(cid)
        if contact is None or not getattr(contact, "receives_alerts", True):
            continue
        found = []
        if contact.slack:
            found.append("slack-" + contact.slack.lstrip("#"))
        if contact.webhook:
            # A Datadog webhook is named in its integration; moncat names it after the contact.
            found.append("webhook-" + contact.id)
        if severity.page:
            for kind in ("pagerduty", "opsgenie"):
                name = getattr(contact, kind)
                if name and _HANDLE_NAME.fullmatch(name):
                    found.append(f"{kind}-{name}")
                elif name:
                    diags.append(warning(HANDLE, f"{kind} name {name!r} of contact {cid!r} is not a "
                                         "Datadog handle (letters, digits, _.-)", contact.loc,
                                         f"name the {kind} service without spaces"))
        if contact.email:
            found.append(contact.email)
        out.extend("@" + h for h in found if "@" + h not in out)
    return out, diags


def translate(text: str, grouping: tuple[str, ...], alert: Alert, field: str
              ) -> tuple[str, list[Diagnostic]]:
    """A Prometheus annotation as Datadog message text: `{{ $labels.x }}` becomes `{{x.name}}`
    (a group of the monitor), `{{ $value }}` becomes `{{value}}`."""
    diags: list[Diagnostic] = []
    out, pos = [], 0
    for m in _ACTION.finditer(text):
        out.append(text[pos:m.start()])
        body = m.group(1).strip()
        ref = _LABEL.fullmatch(body)
        if ref:
            label = ref.group(1) or ref.group(2)
            if label not in grouping:
                diags.append(warning(TEMPLATE, f"the {field} of {alert.name!r} prints label "
                                     f"{label!r}, which is not a group of its Datadog monitor: "
                                     "Datadog prints nothing there", alert.at_offset(field, m.start()),
                                     "group the monitor by it, or leave it out of the text"))
            out.append("{{" + label + ".name}}")
        elif body in ("$value", ".Value"):
            out.append("{{value}}")
        else:
            diags.append(warning(TEMPLATE, f"the {field} of {alert.name!r} uses template code "
                                 "Datadog cannot run; the monitor shows the value instead",
                                 alert.at_offset(field, m.start()),
                                 "keep annotations to {{ $labels.x }} and {{ $value }}"))
            out.append("{{value}}" if "$value" in body or ".Value" in body else "")
        pos = m.end()
    out.append(text[pos:])
    result = "".join(out)
    if _MENTION.search(result):
        diags.append(warning(HANDLE, f"the {field} of {alert.name!r} has an @word, which Datadog "
                             "would read as a notification handle; it is written as (at)word",
                             alert.at(field), "notify people through `notify:` contacts"))
        result = _MENTION.sub("(at)", result)
    return result, diags


def differences(alert: Alert, notes: tuple[str, ...] = ()) -> list[str]:
    """What the Datadog monitor does differently from the Prometheus rule: what the translation
    itself notes (a chosen setting's effect), the reviewed override's reason, and a difference
    the alert states."""
    dd = alert.datadog
    texts = [*notes, *((dd.reason if dd.query else "", dd.differs) if dd else ())]
    return [" ".join(text.split()) for text in texts if text]


def message(catalog: Catalog, alert: Alert, severity: Severity, summary: str, description: str,
            mentions: list[str], warning_threshold: bool, no_data: bool, runbook: str,
            notes: tuple[str, ...] = ()) -> str:
    """The notification: what fired (or recovered), the runbook, the severity, how the monitor
    differs from the Prometheus rule, and who to tell, in the service's language (wording.py)."""
    w = words(catalog, alert)
    lines = ["{{#is_alert}}", summary]
    if description:
        lines += ["", description]
    lines.append("{{/is_alert}}")
    if warning_threshold:
        lines += ["{{#is_warning}}", w["warning"].format(summary=summary), "{{/is_warning}}"]
    if no_data:
        lines += ["{{#is_no_data}}", w["no_data"].format(alert=alert.name, summary=summary),
                  "{{/is_no_data}}"]
    lines += ["{{#is_recovery}}", w["recovered"].format(summary=summary), "{{/is_recovery}}", ""]
    within = (w["within"].format(duration=format_ms(severity.respond_within_ms))
              if severity.respond_within_ms else "")
    lines.append(w["severity"].format(level=severity.id, meaning=severity.meaning, within=within))
    lines += [w["differs"].format(text=_MENTION.sub('(at)', text)) for text in differences(alert, notes)]
    lines.append(w["runbook"].format(url=runbook))
    lines.append(f"Managed by moncat ({alert.id}): edit the catalog, not this monitor.")
    if mentions:
        lines += ["", " ".join(mentions)]
    return "\n".join(lines)
