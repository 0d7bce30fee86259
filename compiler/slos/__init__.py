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


def slo_of(service: Service, alert: Alert) -> SLO | None:
    """The SLO that generated `alert` (a burn-rate or SLI-absent alert), if any."""
    for slo in service.slos.values():
        if alert.name == slo.absent_alert or any(t.alert == alert.name for t in slo.tiers):
            return slo
    return None


__all__ = ["SLO", "Tier", "burn_tier", "slo_of"]
