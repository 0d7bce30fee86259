"""SLOs: objectives with multiwindow burn-rate alerts. Built with the catalog (build.py), expanded
at link time into recording rules, alerts and a dashboard (expand.py) that every target compiles;
what only an SLO has (Datadog SLO objects, runbook SLO pages, per-tier tests) reads the model."""
from __future__ import annotations

from compiler.model import Alert, Service
from compiler.slos.model import SLO, Tier


def burn_tier(service: Service, alert: Alert) -> tuple[SLO, Tier] | None:
    """The SLO and tier whose burn-rate alert `alert` is, if it is one. Such an alert reaches
    Datadog as an `slo alert` monitor of the SLO object, not as a translated metric monitor, and
    its tests run at the tier's own step."""
    for slo in service.slos.values():
        for tier in slo.tiers:
            if tier.alert == alert.name:
                return slo, tier
    return None


def generated(service: Service) -> tuple[set[str], set[str]]:
    """The recording rules and alerts of the service that its SLOs generated: they live in each
    SLO's own rule file (targets/prometheus_slo.py), not in the service's."""
    records: set[str] = set()
    alerts: set[str] = set()
    for slo in service.slos.values():
        records |= set(slo.errors.values()) | {slo.objective_rule, slo.budget_rule,
                                               slo.remaining_rule, slo.burn_rule,
                                               slo.period_burn_rule}
        alerts |= {t.alert for t in slo.tiers} | ({slo.absent_alert} if slo.absent_alert else set())
    return records, alerts


def slo_of(service: Service, alert: Alert) -> SLO | None:
    """The SLO that generated `alert` (a burn-rate or SLI-absent alert), if any."""
    for slo in service.slos.values():
        if alert.name == slo.absent_alert or any(t.alert == alert.name for t in slo.tiers):
            return slo
    return None


__all__ = ["SLO", "Tier", "burn_tier", "generated", "slo_of"]
