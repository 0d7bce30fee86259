"""Check across targets: per alert, Alertmanager and Grafana notify the same contacts through the
same integrations after the same delays, and a level that does not page reaches no pager.

Both generated setups are read back (routing_readback walks them as their dispatchers do, from
the written data), for every catalog alert both generate, for an unknown alert of each service
and level (the owner's fallback), and for an alert nobody knows (the catch-all). The catch-all
differs by design in one case, stated in the README: without `catch_all`, Alertmanager tells
nobody and Grafana keeps its own default contact point, which is no catalog contact. And for an
alert the catalog does not know, the Opsgenie priority is not compared: Grafana reads it only
from an `og_priority` label, which moncat puts on its own rules, so such an alert gets Opsgenie's
default there and its level's priority from Alertmanager.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterator

from compiler.artifacts import Artifact
from compiler.checks.routing_readback import (Notification, Route, Tree, Unreadable, am_integrations,
                                              am_matchers, grafana_integrations, grafana_matchers,
                                              template_labels)
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.model import Catalog

DIFFER = "MC470"
PAGES_AT_QUIET_LEVEL = "MC471"
AM_CONFIG = "alertmanager/alertmanager.yaml"
GRAFANA_POINTS = "grafana/alerting/_contact-points.yaml"
GRAFANA_POLICIES = "grafana/alerting/_policies.yaml"
GRAFANA_TIMINGS = "grafana/alerting/_mute-timings.yaml"
GRAFANA_DEFAULT_CONTACT = "grafana-default-email"
PROBE = "moncat_unknown_alert"  # an alert name no catalog has (alert names are identifiers)
PAGERS = ("pagerduty", "opsgenie")


class Setups:
    """The two generated setups, as each dispatcher reads them."""

    def __init__(self, am: dict[str, Any], policies: dict[str, Any], points: dict[str, Any]):
        # Imported here: the Grafana target imports compiler.checks.routing (a cycle otherwise).
        from compiler.targets.grafana.interpolation import unescape, whole_file

        self.am = am
        self.am_receivers = {r["name"]: r for r in am.get("receivers", [])}
        # What Grafana reads: the files' interpolated fields with `$$` turned back into `$`.
        self.policy = whole_file(policies, unescape)["policies"][0]
        self.points = {p["name"]: p["receivers"] for p in whole_file(points, unescape)["contactPoints"]}
        self._am: _Dispatcher | None = None
        self._gf: _Dispatcher | None = None

    def alertmanager(self, labels: dict[str, str]) -> set[Notification]:
        if self._am is None:
            self._am = _Dispatcher(self.am["route"], am_matchers, self.am_receivers, am_integrations,
                                   "/page", template_labels(self.am_receivers))
        return self._am.notified(labels)

    def grafana(self, labels: dict[str, str]) -> set[Notification]:
        if self._gf is None:
            # Grafana's Opsgenie integration also reads the `og_priority` label.
            self._gf = _Dispatcher(self.policy, grafana_matchers, self.points, grafana_integrations,
                                   " (page)", (*template_labels(self.points), "og_priority"))
        return self._gf.notified(labels)


class _Dispatcher:
    """One setup's tree and receivers. What a route's receiver sends depends on the labels only
    through those its templates read (`reads`): remembered per route and their values, since
    most alerts share a few routes."""

    def __init__(self, root: dict[str, Any], matchers: Callable, receivers: dict, integrations: Callable,
                 page_suffix: str, reads: tuple[str, ...]):
        self.tree = Tree(root, matchers)
        self.receivers, self.integrations, self.page_suffix, self.reads = \
            receivers, integrations, page_suffix, reads
        self._sent: dict[tuple[Route, tuple[str, ...]], frozenset[Notification]] = {}

    def notified(self, labels: dict[str, str]) -> set[Notification]:
        key = tuple(labels.get(name, "") for name in self.reads)
        out: set[Notification] = set()
        for route in self.tree.routes(labels):
            sent = self._sent.get((route, key))
            if sent is None:
                sent = self._sent[(route, key)] = self._send(route, labels)
            out |= sent
        return out

    def _send(self, route: Route, labels: dict[str, str]) -> frozenset[Notification]:
        name = route.receiver
        if name == GRAFANA_DEFAULT_CONTACT:
            return frozenset()  # Grafana's own contact point: none of the catalog's contacts
        if name not in self.receivers:
            raise Unreadable(f"a route names receiver {name!r}, which is not defined")
        contact = name.removesuffix(self.page_suffix)
        return frozenset(Notification(contact, kind, **route.timing)
                         for kind in self.integrations(self.receivers[name], labels))


def _data(artifacts: list[Artifact], path: str) -> Any:
    return next((a.data for a in artifacts if a.path == path), None)


def _rules(artifacts: list[Artifact], target: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o.id: o.content for a in artifacts for o in a.objects
            if o.target == target and o.kind == kind}


def _differ(what: str, loc: Loc | None, am: set[Notification], gf: set[Notification]) -> Diagnostic:
    parts = []
    if am - gf:
        parts.append("only Alertmanager: " + "; ".join(map(str, sorted(am - gf))))
    if gf - am:
        parts.append("only Grafana: " + "; ".join(map(str, sorted(gf - am))))
    return error(DIFFER, f"{what} is notified differently by Alertmanager and Grafana: "
                 + " | ".join(parts), loc, "both come from the catalog's routing; this is a bug in moncat")


def _unknown(found: set[Notification]) -> set[Notification]:
    """For an alert the catalog does not know: the Opsgenie priority left out (see above)."""
    return {replace(n, integration="opsgenie") if n.integration.startswith("opsgenie") else n
            for n in found}


def _pagers(found: set[Notification]) -> list[str]:
    return sorted({f"{n.contact} ({n.integration.split()[0]})" for n in found
                   if n.integration.split()[0] in PAGERS})


def setups_of(artifacts: list[Artifact]) -> Setups | None:
    """The two setups the artifacts hold, or None when one of them is not generated."""
    am, policies, points = (_data(artifacts, p) for p in (AM_CONFIG, GRAFANA_POLICIES, GRAFANA_POINTS))
    if am is None or policies is None or points is None:
        return None
    return Setups(am, policies, points)


def check(catalog: Catalog, artifacts: list[Artifact], setups: Setups | None = None) -> Iterator[Diagnostic]:
    """`setups`: those of `artifacts`, when the caller has them already (it checks a catalog
    service by service against the same setups: see compiler.incremental.parity)."""
    setups = setups or setups_of(artifacts)
    if setups is None:
        return  # one of the two is not generated: nothing to compare
    am = setups.am
    timings = _data(artifacts, GRAFANA_TIMINGS)
    am_intervals = {t["name"]: t["time_intervals"] for t in am.get("time_intervals", [])}
    gf_intervals = {t["name"]: t["time_intervals"] for t in (timings or {}).get("muteTimes", [])}
    if am_intervals != gf_intervals:
        differ = sorted(n for n in set(am_intervals) | set(gf_intervals)
                        if am_intervals.get(n) != gf_intervals.get(n))
        yield error(DIFFER, "Alertmanager's time intervals and Grafana's mute timings differ: "
                    + ", ".join(differ), catalog.settings.loc, "both come from `time_intervals`; "
                    "this is a bug in moncat")
    prometheus = _rules(artifacts, "prometheus", "alert")
    grafana = _rules(artifacts, "grafana", "alert_rule")
    external = dict(catalog.settings.external_labels)
    try:
        for service in catalog.services:
            for alert in service.alerts.values():
                if alert.id not in prometheus or alert.id not in grafana:
                    continue  # `targets:` leaves one of the two out
                # What each dispatcher receives: Prometheus adds its external labels (the
                # rule's win); Grafana adds the folder.
                gf_rule = grafana[alert.id]
                am_rule = prometheus[alert.id]
                am_labels = {**external, **am_rule.get("labels", {}), "alertname": am_rule["alert"]}
                gf_labels = {**gf_rule.get("labels", {}), "alertname": gf_rule["title"],
                             "grafana_folder": service.title or service.id}
                got_am, got_gf = setups.alertmanager(am_labels), setups.grafana(gf_labels)
                if got_am != got_gf:
                    yield _differ(f"alert {alert.id}", alert.loc, got_am, got_gf)
                severity = service.severity(alert.severity, catalog.severities)
                paged = _pagers(got_am | got_gf)
                if severity is not None and not severity.page and paged:
                    yield error(PAGES_AT_QUIET_LEVEL, f"alert {alert.id} is {severity.id}, a level "
                                f"that does not page, but reaches {', '.join(paged)}", alert.loc,
                                "a `page: false` level never reaches a pager; this is a bug in moncat")
            levels = sorted({a.severity for a in service.alerts.values()})
            for level in levels:
                labels = {"alertname": PROBE, "service": service.id, "severity": level,
                          **({"team": service.team} if service.team else {})}
                got_am = _unknown(setups.alertmanager(labels))
                got_gf = _unknown(setups.grafana({**labels, "grafana_folder": service.title or service.id}))
                if got_am != got_gf:
                    yield _differ(f"an alert of service {service.id} at {level} that the catalog "
                                  "does not know", service.loc, got_am, got_gf)
        got_am = _unknown(setups.alertmanager({"alertname": PROBE}))
        got_gf = _unknown(setups.grafana({"alertname": PROBE}))
        if got_am != got_gf:
            yield _differ("an alert no catalog route matches", catalog.settings.loc, got_am, got_gf)
    except (Unreadable, KeyError, TypeError) as exc:
        yield error(DIFFER, f"the generated routing cannot be read back: {exc}", catalog.settings.loc,
                    "this is a bug in moncat")
