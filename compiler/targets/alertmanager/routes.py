"""Alertmanager target, routing: routes by team, service, severity; inhibitions; how they match."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from compiler.durations import format_ms
from compiler.model import Alert, Catalog, Service
from compiler.slos import slo_of
from compiler.targets.alertmanager.plan import (ROOT_TIMINGS, Delivery, deliveries, receiver_name,
                                                severity_of, timings)
from compiler.targets.prometheus import alert_labels

GROUP_BY = ("alertname", "service")
UNROUTED = "moncat-unrouted"


@dataclass(frozen=True)
class Matcher:
    """label="value" or label=~"regex" (anchored, as Alertmanager anchors it)."""

    label: str
    op: str
    value: str

    def text(self) -> str:
        # The matcher grammar quotes values like a Go string: escape backslashes and quotes.
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.label, "")
        if self.op == "=":
            return value == self.value
        return _regex(self.value).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def one_of(label: str, values: list[str]) -> Matcher:
    if len(values) == 1:
        return Matcher(label, "=", values[0])
    return Matcher(label, "=~", "|".join(re.escape(v) for v in values))


@dataclass
class Route:
    matchers: tuple[Matcher, ...] = ()
    receiver: str | None = None
    timing: dict[str, int] = field(default_factory=dict)
    cont: bool = False
    routes: list["Route"] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.matchers:
            out["matchers"] = [m.text() for m in self.matchers]
        if self.receiver:
            out["receiver"] = self.receiver
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in self.timing:
                out[key] = format_ms(self.timing[key])
        if self.cont:
            out["continue"] = True
        if self.routes:
            out["routes"] = [r.data() for r in self.routes]
        return out


def routing_labels(alert: Alert, service: Service) -> dict[str, str]:
    """The labels Alertmanager routes on: the rule's own labels and the alert's name (labels
    from the expression, such as a queue or a channel, never decide the receiver)."""
    return dict(sorted({**alert_labels(alert, service), "alertname": alert.name}.items()))


def _severity_route(catalog: Catalog, service: Service, level: str, alerts: list[Alert]) -> Route:
    severity = service.severity(level, catalog.severities)
    page = bool(severity and severity.page)
    owner = catalog.contacts.get(service.owner)
    route = Route((Matcher("severity", "=", level),), timing=timings(severity))
    if owner is not None and owner.receives_alerts:
        # Alerts of this service that the catalog does not know still reach its owner.
        route.receiver = receiver_name(owner, page)
    by_delivery: dict[Delivery, list[str]] = {}
    for alert in alerts:
        for d in deliveries(catalog, service, alert):
            by_delivery.setdefault(d, []).append(alert.name)
    # Direct receivers first, then escalations: the order deliveries() promises.
    for d in sorted(by_delivery, key=lambda d: (d.escalation, d.contact)):
        child = Route((one_of("alertname", sorted(by_delivery[d])),), d.receiver, cont=True)
        if d.escalation:
            # The escalation contact hears of the alert only if it still fires after the
            # response time: Alertmanager sends nothing for a group that resolved while waiting.
            child.timing = {"group_wait": d.after_ms}
        route.routes.append(child)
    return route


def _service_route(catalog: Catalog, service: Service) -> Route:
    owner = catalog.contacts.get(service.owner)
    route = Route((Matcher("service", "=", service.id),))
    if owner is not None and owner.receives_alerts:
        route.receiver = receiver_name(owner, False)
    levels: dict[str, list[Alert]] = {}
    for alert in service.alerts.values():
        levels.setdefault(alert.severity, []).append(alert)

    def urgency(level: str) -> tuple[int, str]:
        sev = service.severity(level, catalog.severities)
        return (sev.priority if sev else 99, level)

    route.routes = [_severity_route(catalog, service, level, levels[level])
                    for level in sorted(levels, key=urgency)]
    return route


def route_tree(catalog: Catalog) -> Route:
    """Root (unknown alerts go to a receiver with no integrations), then one route per team
    holding its services, then services without a team."""
    root = Route(receiver=UNROUTED, timing=dict(ROOT_TIMINGS))
    teams: dict[str, list[Service]] = {}
    loose: list[Service] = []
    for service in catalog.services:
        if not service.alerts and not service.owner:
            continue
        (teams.setdefault(service.team, []) if service.team else loose).append(service)
    for team in sorted(teams):
        root.routes.append(Route((Matcher("team", "=", team),),
                                 routes=[_service_route(catalog, s) for s in teams[team]]))
    root.routes += [_service_route(catalog, s) for s in loose]
    return root


def resolve(route: Route, labels: dict[str, str], inherited: str = "") -> list[str]:
    """Receivers of a label set, as Alertmanager's dispatcher finds them: depth first, a
    matching child ends the search unless it says `continue`; no matching child, the route
    itself."""
    receiver = route.receiver or inherited
    found: list[str] = []
    for child in route.routes:
        if all(m.matches(labels) for m in child.matchers):
            found += resolve(child, labels, receiver)
            if not child.cont:
                break
    return found or [receiver]


@dataclass(frozen=True)
class Inhibition:
    """An inhibit rule and where it comes from."""

    service: Service
    procedure: str
    level: str  # the silencing (more urgent) level
    rule: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.service.id}/{self.procedure}/{self.level}"


def inhibit_rules(catalog: Catalog) -> list[Inhibition]:
    """Within a service, an alert of a more urgent level silences the less urgent alerts of the
    same cause (the same procedure) while it fires: a P0 "nobody can pay" silences the P1
    "conversion dropped". An SLO's alerts are their own cause: its page tiers silence its ticket
    tiers, and only its own (`equal: [service, slo]`)."""
    out: list[Inhibition] = []
    for service in catalog.services:
        causes: dict[str, list[Alert]] = {}
        for alert in service.alerts.values():
            if alert.procedure and slo_of(service, alert) is None:
                causes.setdefault(alert.procedure, []).append(alert)
        for procedure in sorted(causes):
            out += _level_rules(catalog, service, procedure, causes[procedure], ())
        for slo in service.slos.values():
            mine = [a for a in service.alerts.values() if slo_of(service, a) is slo]
            out += _level_rules(catalog, service, f"slo/{slo.id}", mine,
                                (Matcher("slo", "=", slo.id),))
    return out


def _level_rules(catalog: Catalog, service: Service, cause: str, alerts: list[Alert],
                 scope: tuple[Matcher, ...]) -> list[Inhibition]:
    """Each level of the cause's alerts silences every less urgent level of them."""
    out: list[Inhibition] = []
    levels: dict[str, list[str]] = {}
    priority: dict[str, int] = {}
    for alert in alerts:
        sev = severity_of(catalog, service, alert)
        if sev is None:
            continue
        levels.setdefault(alert.severity, []).append(alert.name)
        priority[alert.severity] = sev.priority
    ordered = sorted(levels, key=lambda lv: (priority[lv], lv))
    here = [Matcher("service", "=", service.id).text()] + [m.text() for m in scope]
    for i, high in enumerate(ordered):
        lower = [lv for lv in ordered[i + 1:] if priority[lv] > priority[high]]
        if not lower:
            continue
        targets = sorted(name for lv in lower for name in levels[lv])
        rule = {
            "source_matchers": here + [Matcher("severity", "=", high).text(),
                                       one_of("alertname", sorted(levels[high])).text()],
            "target_matchers": here + [one_of("severity", lower).text(),
                                       one_of("alertname", targets).text()],
            "equal": ["service"] + [m.label for m in scope],
        }
        out.append(Inhibition(service, cause, high, rule))
    return out
