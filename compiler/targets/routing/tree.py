"""Targets, routing tree: routes by team, service, severity, then one route per delivery; how a
label set walks it. Alertmanager's configuration is written from it, and Grafana's notification
policies (the same dispatcher, forked) are translated from it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator

from compiler.durations import format_ms
from compiler.incremental import cached
from compiler.model import Alert, Catalog, Service
from compiler.route_index import ChildIndex
from compiler.targets.routing.delivery import (ROOT_TIMINGS, Delivery, deliveries,
                                              receiver_name, timings)
from compiler.targets.prometheus import alert_labels

UNROUTED = "moncat-unrouted"  # the root's receiver without a catch-all: no integrations
SILENT = "moncat-silent"  # condition alerts (`notify: []`): a receiver with no integrations


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
    active: tuple[str, ...] = ()  # active_time_intervals
    muted: tuple[str, ...] = ()   # mute_time_intervals

    def intervals(self) -> set[str]:
        """Every time interval this route and the routes below it use."""
        found = set(self.active) | set(self.muted)
        for child in self.routes:
            found |= child.intervals()
        return found

    def without(self, receiver: str) -> "Route":
        """The route with no route (at any depth) to `receiver`: a copy of the routes that have
        one below them, the others themselves (nothing changes a built tree; copying every
        route of a 10,000-alert catalog's tree cost 0.01 s of each compile)."""
        routes = [r.without(receiver) for r in self.routes if r.receiver != receiver]
        if len(routes) == len(self.routes) and all(a is b for a, b in zip(routes, self.routes)):
            return self
        return Route(self.matchers, self.receiver, dict(self.timing), self.cont, routes,
                     self.active, self.muted)

    def data(self, matchers: tuple[str, Callable[[Matcher], Any]] = ("matchers", Matcher.text),
             receiver: Callable[[str], str] = str, blocks: dict[int, dict[str, Any]] | None = None
             ) -> dict[str, Any]:
        """The route as Alertmanager's configuration spells it; Grafana's notification policies
        spell matchers (`object_matchers`) and receivers (contact point names) their own way.
        `blocks`: the data of routes below it spelled already, by id() of the route."""
        key, spell = matchers
        out: dict[str, Any] = {}
        if self.matchers:
            out[key] = [spell(m) for m in self.matchers]
        if self.receiver:
            out["receiver"] = receiver(self.receiver)
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in self.timing:
                out[key] = format_ms(self.timing[key])
        if self.active:
            out["active_time_intervals"] = list(self.active)
        if self.muted:
            out["mute_time_intervals"] = list(self.muted)
        if self.cont:
            out["continue"] = True
        if self.routes:
            out["routes"] = [r.data(matchers, receiver, blocks) if blocks is None or id(r) not in blocks
                             else blocks[id(r)] for r in self.routes]
        return out


def routing_labels(alert: Alert, service: Service) -> dict[str, str]:
    """The labels Alertmanager routes on: the rule's own labels and the alert's name (labels
    from the expression, such as a queue or a channel, never decide the receiver)."""
    return dict(sorted({**alert_labels(alert, service), "alertname": alert.rule_name}.items()))


def prometheus_name(alert: Alert) -> str:
    """The `alertname` Alertmanager sees: the Prometheus rule's name."""
    return alert.rule_name


def grafana_name(alert: Alert) -> str:
    """The `alertname` Grafana's Alertmanager sees: the rule's title, the catalog name (titles
    are unique in a folder, where several catalog alerts may share one Prometheus name)."""
    return alert.name


def _severity_route(catalog: Catalog, service: Service, level: str, alerts: list[Alert],
                    alertname: Callable[[Alert], str]) -> Route:
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
            by_delivery.setdefault(d, []).append(alertname(alert))
    # Direct receivers first, then escalations: the order deliveries() promises.
    for d in sorted(by_delivery, key=lambda d: (d.escalation, d.contact, d.after_ms or 0, d.active, d.muted)):
        child = Route((one_of("alertname", sorted(set(by_delivery[d]))),), d.receiver, cont=True,
                      active=d.active, muted=d.muted)
        if d.escalation:
            # The escalation contact hears of the alert only if it still fires after the
            # delay: Alertmanager sends nothing for a group that resolved while waiting.
            child.timing = {"group_wait": d.after_ms}
        route.routes.append(child)
    return route


def _service_route(catalog: Catalog, service: Service, alertname: Callable[[Alert], str]) -> Route:
    # It reads its own service, the severities and the contacts only: with the incremental cache,
    # an unchanged service's route comes back from the last compile.
    return cached(catalog, f"routing.service_route.{alertname.__name__}", service,
                  lambda: _new_service_route(catalog, service, alertname))


def _new_service_route(catalog: Catalog, service: Service, alertname: Callable[[Alert], str]) -> Route:
    owner = catalog.contacts.get(service.owner)
    route = Route((Matcher("service", "=", service.id),))
    if owner is not None and owner.receives_alerts:
        route.receiver = receiver_name(owner, False)  # None for an owner with only a pager
    levels: dict[str, list[Alert]] = {}
    for alert in service.alerts.values():
        levels.setdefault(alert.severity, []).append(alert)

    def urgency(level: str) -> tuple[int, str]:
        sev = service.severity(level, catalog.severities)
        return (sev.priority if sev else 99, level)

    route.routes = [_severity_route(catalog, service, level, levels[level], alertname)
                    for level in sorted(levels, key=urgency)]
    silent = sorted({alertname(a) for a in service.alerts.values() if not a.notifies})
    if silent:
        # Condition alerts tell nobody (they only suppress others): stop here, before the
        # owner's fallback could catch them.
        route.routes.insert(0, Route((one_of("alertname", silent),), SILENT))
    return route


def catch_all_receiver(catalog: Catalog) -> str:
    """Where alerts no route matches go: the catalog's `catch_all` contact (never paged: nothing
    says how urgent such an alert is), else a receiver with no integrations."""
    contact = catalog.contacts.get(catalog.settings.catch_all)
    if contact is None or not contact.receives_alerts:
        return UNROUTED
    return receiver_name(contact, False) or UNROUTED  # a pager-only catch-all: MC469


def route_tree(catalog: Catalog, alertname: Callable[[Alert], str] = prometheus_name) -> Route:
    """Root (the catch-all), then one route per team holding its services, then services without
    a team. `alertname` gives the name alerts carry on the dispatcher the tree is for. Built once
    per catalog and dispatcher: the delivery check and the targets read the same tree, and nothing
    changes a tree once built (`without` copies)."""
    return catalog.once(("routing.route_tree", alertname), lambda: _route_tree(catalog, alertname))


def _route_tree(catalog: Catalog, alertname: Callable[[Alert], str]) -> Route:
    root = Route(receiver=catch_all_receiver(catalog), timing=dict(ROOT_TIMINGS))
    teams: dict[str, list[Service]] = {}
    loose: list[Service] = []
    for service in catalog.services:
        if not service.alerts and not service.owner:
            continue
        (teams.setdefault(service.team, []) if service.team else loose).append(service)
    for team in sorted(teams):
        root.routes.append(Route((Matcher("team", "=", team),),
                                 routes=[_service_route(catalog, s, alertname) for s in teams[team]]))
    root.routes += [_service_route(catalog, s, alertname) for s in loose]
    return root


def service_routes(tree: Route) -> Iterator[tuple[Route, str]]:
    """Each service's route in a tree `route_tree` built (or a copy of one without a receiver),
    with the indentation of the list holding it in a file that writes the tree's root as a map
    in a list or under a top-level key (its lines' indentation: see render.Block)."""
    for child in tree.routes:
        if child.matchers and child.matchers[0].label == "team":
            yield from ((route, "    ") for route in child.routes)
        else:
            yield child, "  "


def interval_definitions(catalog: Catalog, tree: Route) -> list[dict[str, Any]]:
    """The time intervals the tree uses, as Alertmanager's `time_intervals` (and Grafana's mute
    timings) spell them: name, and the list of specs."""
    return [{"name": name, "time_intervals": [s.data() for s in catalog.time_intervals[name].specs]}
            for name in sorted(tree.intervals()) if name in catalog.time_intervals]


def used_receivers(tree: Route) -> dict[str, str]:
    """Every receiver the tree names (but the catch-all with no integrations), with its contact."""
    used: dict[str, str] = {}

    def collect(route: Route) -> None:
        if route.receiver and route.receiver not in (UNROUTED, SILENT):
            used[route.receiver] = route.receiver.removesuffix("/page")
        for child in route.routes:
            collect(child)

    collect(tree)
    return dict(sorted(used.items()))


def resolve(route: Route, labels: dict[str, str], inherited: str = "",
            indexes: dict[int, ChildIndex] | None = None) -> list[str]:
    """Receivers of a label set, as Alertmanager's dispatcher finds them: depth first, a
    matching child ends the search unless it says `continue`; no matching child, the route
    itself. With `indexes` (see `resolver`), only the children that can match are tried."""
    receiver = route.receiver or inherited
    found: list[str] = []
    children = route.routes
    for i in range(len(children)) if indexes is None else _candidates(route, labels, indexes):
        child = children[i]
        if all(m.matches(labels) for m in child.matchers):
            found += resolve(child, labels, receiver, indexes)
            if not child.cont:
                break
    return found or [receiver]


def resolver(catalog: Catalog,
             alertname: Callable[[Alert], str] = prometheus_name) -> Callable[[dict[str, str]], list[str]]:
    """`resolve` on the catalog's tree (`route_tree`), each node's children indexed by their
    equality matchers as the walk first reaches it: once per catalog and dispatcher. Trying
    every service's route for every alert grew with the square of the catalog."""
    def walker() -> Callable[[dict[str, str]], list[str]]:
        tree = route_tree(catalog, alertname)
        indexes: dict[int, ChildIndex] = {}  # by id() of a route of `tree`, which keeps them all
        return lambda labels: resolve(tree, labels, "", indexes)

    return catalog.once(("routing.resolver", alertname), walker)


def _candidates(route: Route, labels: dict[str, str], indexes: dict[int, ChildIndex]) -> list[int]:
    index = indexes.get(id(route))
    if index is None:
        index = indexes[id(route)] = ChildIndex([{m.label: m.value for m in child.matchers if m.op == "="}
                                                 for child in route.routes])
    return index.candidates(labels)
