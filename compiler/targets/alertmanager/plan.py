"""Alertmanager target, delivery plan: which receivers each alert must reach, and when."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.checks.routing import recipients
from compiler.model import Alert, Catalog, Contact, Service, Severity

PAGER_CHANNELS = ("pagerduty", "opsgenie")
OTHER_CHANNELS = ("email", "slack", "webhook")


@dataclass(frozen=True)
class Delivery:
    """One receiver an alert reaches: directly (`after_ms` None) or as an escalation."""

    receiver: str
    contact: str
    after_ms: int | None = None  # escalations: sent only if the alert still fires this long after

    @property
    def escalation(self) -> bool:
        return self.after_ms is not None


def has_pager(contact: Contact) -> bool:
    return any(getattr(contact, c) for c in PAGER_CHANNELS)


def has_other(contact: Contact) -> bool:
    return any(getattr(contact, c) for c in OTHER_CHANNELS)


def receiver_name(contact: Contact, page: bool) -> str:
    """`<contact>` for its email/Slack/webhook channels, `<contact>/page` when its pager is used
    too: at a paging severity, or always for a contact that has nothing but a pager."""
    if has_pager(contact) and (page or not has_other(contact)):
        return f"{contact.id}/page"
    return contact.id


def pages(receiver: str) -> bool:
    return receiver.endswith("/page")


def severity_of(catalog: Catalog, service: Service, alert: Alert) -> Severity | None:
    return service.severity(alert.severity, catalog.severities)


def deliveries(catalog: Catalog, service: Service, alert: Alert) -> list[Delivery]:
    """In routing-tree order (what `amtool config routes test` prints): the alert's own contacts
    by id, then their escalation contacts by id. A contact escalates only when the severity has a
    response time; one already notified directly is not notified again."""
    severity = severity_of(catalog, service, alert)
    page = bool(severity and severity.page)
    direct = sorted({cid for cid in recipients(alert, service)
                     if cid in catalog.contacts and catalog.contacts[cid].receives_alerts})
    out = [Delivery(receiver_name(catalog.contacts[cid], page), cid) for cid in direct]
    after = severity.respond_within_ms if severity else None
    if after:
        targets = set()
        for cid in direct:
            up = catalog.contacts[cid].escalates_to
            if up and up not in direct and up in catalog.contacts and catalog.contacts[up].receives_alerts:
                targets.add(up)
        out += [Delivery(receiver_name(catalog.contacts[cid], page), cid, after) for cid in sorted(targets)]
    return out


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _seconds(ms: int) -> int:
    return ms - ms % 1000


def timings(severity: Severity | None) -> dict[str, int]:
    """group_wait, group_interval and repeat_interval (ms) from the severity's response time: the
    first notification within a tenth of it, updates at a fifth, a reminder every four response
    times (at least hourly, at most daily). Empty without a response time: the root's apply."""
    within = severity.respond_within_ms if severity else None
    if not within:
        return {}
    return {
        "group_wait": _seconds(_clamp(within // 10, 10_000, 300_000)),
        "group_interval": _seconds(_clamp(within // 5, 60_000, 3_600_000)),
        "repeat_interval": _seconds(_clamp(within * 4, 3_600_000, 86_400_000)),
    }


ROOT_TIMINGS = {"group_wait": 30_000, "group_interval": 300_000, "repeat_interval": 14_400_000}
