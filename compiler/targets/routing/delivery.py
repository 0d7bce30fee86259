"""Targets, routing plan: per alert, the contacts told, through which integrations and after how
long (directly, or by escalation while it still fires). Alertmanager, Grafana and the runbook
pages all read it from here."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from compiler.checks.routing import recipients
from compiler.model import Alert, Catalog, Contact, Escalation, Service, Severity

PAGER_CHANNELS = ("pagerduty", "opsgenie")
OTHER_CHANNELS = ("email", "slack", "webhook")
PAGING_GROUP_WAIT_MS = 30_000  # Alertmanager's default: the first page is never held longer


@dataclass(frozen=True)
class Delivery:
    """One receiver an alert reaches: directly (`after_ms` None) or as an escalation."""

    receiver: str
    contact: str
    after_ms: int | None = None  # escalations: sent only if the alert still fires this long after
    active: tuple[str, ...] = ()  # time intervals: told only inside one of these...
    muted: tuple[str, ...] = ()   # ...and never inside one of these
    # Escalations: the contacts the alert went through before this one (the first was told
    # directly). Not part of equality: routes group alerts by receiver and delay only.
    via: tuple[str, ...] = field(default=(), compare=False)

    @property
    def escalation(self) -> bool:
        return self.after_ms is not None


def channels(contact: Contact) -> tuple[str, ...]:
    """The contact's integrations, pagers included, in a fixed order."""
    found = []
    for kind in OTHER_CHANNELS + PAGER_CHANNELS:
        if getattr(contact, kind) or (kind == "webhook" and contact.webhook_secret):
            found.append(kind)
    return tuple(found)


def has_pager(contact: Contact) -> bool:
    return any(getattr(contact, c) for c in PAGER_CHANNELS)


def has_other(contact: Contact) -> bool:
    return any(c not in PAGER_CHANNELS for c in channels(contact))


def integrations(contact: Contact, page: bool) -> tuple[str, ...]:
    """What the contact is told through at a level: pagers only when the level pages."""
    return tuple(c for c in channels(contact) if page or c not in PAGER_CHANNELS)


def receiver_name(contact: Contact, page: bool) -> str | None:
    """`<contact>/page` (its other channels plus its pagers) at a paging level when it has a
    pager, `<contact>` otherwise; None when the level does not page and the contact has nothing
    but a pager: a `page: false` level never reaches a pager."""
    if page and has_pager(contact):
        return f"{contact.id}/page"
    return contact.id if has_other(contact) else None


def pages(receiver: str) -> bool:
    return receiver.endswith("/page")


def severity_of(catalog: Catalog, service: Service, alert: Alert) -> Severity | None:
    return service.severity(alert.severity, catalog.severities)


def escalation_rules(contact: Contact, severity: Severity) -> list[Escalation]:
    """The contact's escalations at this level: the ones written for the level, else (at a
    paging level only) the ones written for every level."""
    written = [r for r in contact.escalates_to if r.level == severity.id]
    if written:
        return written
    return [r for r in contact.escalates_to if r.level is None and severity.page]


def escalation_delay(rule: Escalation, severity: Severity) -> int | None:
    return rule.after_ms if rule.after_ms is not None else severity.respond_within_ms


def _reachable(catalog: Catalog, cid: str) -> bool:
    return cid in catalog.contacts and catalog.contacts[cid].receives_alerts


def escalations(catalog: Catalog, severity: Severity, direct: list[str]
                ) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Contacts reached by escalation from `direct`, each at its shortest total delay (hops add
    up: lead after 15m, then the CTO 10m later), with the contacts before it on the way. A contact told
    directly is not told again; a contact that receives no alerts is not told and escalates no
    further; a cycle stops where it closes (the escalation check reports it)."""
    best: dict[str, tuple[int, tuple[str, ...]]] = {}
    queue = [(0, cid, (cid,)) for cid in direct]
    heapq.heapify(queue)
    done: set[str] = set()
    while queue:
        delay, cid, path = heapq.heappop(queue)
        if cid in done:
            continue
        done.add(cid)
        for rule in escalation_rules(catalog.contacts[cid], severity):
            after = escalation_delay(rule, severity)
            if after is None or rule.to in direct or not _reachable(catalog, rule.to):
                continue
            total = delay + after
            if rule.to not in best or (total, path) < best[rule.to]:
                best[rule.to] = (total, path)
                heapq.heappush(queue, (total, rule.to, path + (rule.to,)))
    return best


def hours(service: Service, alert: Alert) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The alert's active and muted time intervals: its own, else its service's."""
    return (tuple(sorted(alert.active_during or service.active_during)),
            tuple(sorted(alert.muted_during or service.muted_during)))


def deliveries(catalog: Catalog, service: Service, alert: Alert) -> list[Delivery]:
    """In routing-tree order (what `amtool config routes test` prints): the alert's own contacts
    by id, then the escalations by contact id and delay. Each carries the alert's hours. Worked
    out once per alert (callers must not change the list): the routing tree, Alertmanager's
    route tests, Grafana's rule labels, the delivery checks and the pages all ask."""
    return catalog.once(("routing.deliveries", alert.id), lambda: _deliveries(catalog, service, alert))


def _deliveries(catalog: Catalog, service: Service, alert: Alert) -> list[Delivery]:
    severity = severity_of(catalog, service, alert)
    page = bool(severity and severity.page)
    active, muted = hours(service, alert)
    direct = sorted({cid for cid in recipients(alert, service) if _reachable(catalog, cid)})
    out = [Delivery(name, cid, None, active, muted) for cid in direct
           if (name := receiver_name(catalog.contacts[cid], page)) is not None]
    if severity is None:
        return out
    later = []
    for cid, (after, path) in escalations(catalog, severity, direct).items():
        name = receiver_name(catalog.contacts[cid], page)
        if name is not None:
            later.append(Delivery(name, cid, after, active, muted, path))
    return out + sorted(later, key=lambda d: (d.contact, d.after_ms))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _seconds(ms: int) -> int:
    return ms - ms % 1000


def timings(severity: Severity | None) -> dict[str, int]:
    """group_wait, group_interval and repeat_interval (ms) from the severity's response time: the
    first notification within a tenth of it (at most 30 s at a paging level: the first page is
    never held back), updates at a fifth, a reminder every four response times (at least
    hourly, at most daily). Empty without a response time: the root's apply."""
    within = severity.respond_within_ms if severity else None
    if not within:
        return {}
    wait_max = PAGING_GROUP_WAIT_MS if severity.page else 300_000
    return {
        "group_wait": _seconds(_clamp(within // 10, 10_000, wait_max)),
        "group_interval": _seconds(_clamp(within // 5, 60_000, 3_600_000)),
        "repeat_interval": _seconds(_clamp(within * 4, 3_600_000, 86_400_000)),
    }


ROOT_TIMINGS = {"group_wait": 30_000, "group_interval": 300_000, "repeat_interval": 14_400_000}
