"""Alertmanager target, inhibitions: within a service, the more urgent alert of a cause silences
the less urgent ones while it fires."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import Loc
from compiler.incremental import cached
from compiler.model import Alert, Catalog, Service
from compiler.render import Block
from compiler.slos import slo_of
from compiler.targets.routing.delivery import severity_of
from compiler.targets.routing.tree import Matcher, one_of


@dataclass(frozen=True)
class Inhibition:
    """An inhibit rule and where it comes from."""

    service: str
    procedure: str
    level: str  # the silencing (more urgent) level
    rule: dict[str, Any]
    source: Loc  # the procedure's place, else the service's

    @property
    def id(self) -> str:
        return f"{self.service}/{self.procedure}/{self.level}"


def inhibit_rules(catalog: Catalog) -> list[Inhibition]:
    """Within a service, an alert of a more urgent level silences the less urgent alerts of the
    same cause (the same procedure) while it fires: a P0 "nobody can pay" silences the P1
    "conversion dropped". An SLO's alerts are their own cause: its page tiers silence its ticket
    tiers, and only its own (`equal: [service, slo]`)."""
    out: list[Inhibition] = []
    for service in catalog.services:
        out += cached(catalog, "alertmanager.inhibitions", service, lambda: _service_rules(catalog, service))
    return out


def _service_rules(catalog: Catalog, service: Service) -> list[Inhibition]:
    out: list[Inhibition] = []
    causes: dict[str, list[Alert]] = {}
    for alert in service.alerts.values():
        # a condition alert tells nobody anyway
        if alert.procedure and alert.notifies and slo_of(service, alert) is None:
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
        levels.setdefault(alert.severity, []).append(alert.rule_name)
        priority[alert.severity] = sev.priority
    ordered = sorted(levels, key=lambda lv: (priority[lv], lv))
    here = [Matcher("service", "=", service.id).text()] + [m.text() for m in scope]
    for i, high in enumerate(ordered):
        lower = [lv for lv in ordered[i + 1:] if priority[lv] > priority[high]]
        if not lower:
            continue
        targets = sorted(name for lv in lower for name in levels[lv])
        # Rendered now as an item of the configuration's top-level `inhibit_rules` list, and
        # stored so by the incremental cache (render.Block): a catalog has hundreds.
        rule = Block({
            "source_matchers": here + [Matcher("severity", "=", high).text(),
                                       one_of("alertname", sorted(levels[high])).text()],
            "target_matchers": here + [one_of("severity", lower).text(),
                                       one_of("alertname", targets).text()],
            "equal": ["service"] + [m.label for m in scope],
        }).ready("")
        procedure = service.procedures.get(cause)
        out.append(Inhibition(service.id, cause, high, rule, procedure.loc if procedure else service.loc))
    return out


@dataclass(frozen=True)
class Suppressed:
    """An inhibit rule from an alert's `suppressed_by`."""

    alert: str   # the suppressed alert's id
    source: str  # the suppressing alert's id
    rule: dict[str, Any]
    loc: Loc     # where the alert says it

    @property
    def id(self) -> str:
        return f"{self.alert}/suppressed-by/{self.source}"


def suppression_rules(catalog: Catalog) -> list[Suppressed]:
    """While the suppressing alert fires, the suppressed one is inhibited, instance by instance
    where `equal` names labels (NoCourier of a city while CitySurgeHigh fires for that city).
    Per service (the incremental cache keys a suppressed alert's service with its suppressor's)."""
    out: list[Suppressed] = []
    for service in catalog.services:
        out += cached(catalog, "alertmanager.suppressions", service,
                      lambda: _service_suppressions(catalog, service))
    return out


def _service_suppressions(catalog: Catalog, service: Service) -> list[Suppressed]:
    out: list[Suppressed] = []
    for alert in service.alerts.values():
        for suppression in alert.suppressed_by:
            source = catalog.alert(suppression.alert)
            if source is None:
                continue
            rule = {
                "source_matchers": [Matcher("service", "=", source.service).text(),
                                    Matcher("alertname", "=", source.rule_name).text()],
                "target_matchers": [Matcher("service", "=", alert.service).text(),
                                    Matcher("alertname", "=", alert.rule_name).text()],
            }
            if suppression.equal:
                rule["equal"] = list(suppression.equal)
            out.append(Suppressed(alert.id, source.id, rule, alert.at("suppressed_by")))
    return out
