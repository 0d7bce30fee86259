"""Runbooks target, alert facts: what an alert's page shows, computed once for both formats."""
from __future__ import annotations

from typing import Callable, NamedTuple

from compiler.model import Alert, Dashboard, Procedure, Service, Severity
from compiler.slos import SLO
from compiler.targets.datadog.messages import differences
from compiler.targets.routing.delivery import Delivery
from compiler.targets.runbooks.pages import Knowledge


class AlertFacts(NamedTuple):
    """The Markdown and the HTML page of an alert show the same facts: the queries, links and
    delays behind them (the costly part of a page) are worked out once, not once per format."""

    proc: Procedure | None
    severity: Severity | None
    direct: list[Delivery]           # who is notified first
    escalation: list[Delivery]       # who is notified later
    actions: list[tuple[str, str]]   # (label key, URL) into live UIs
    slo: SLO | None
    hours: list[tuple[str, str, str]]
    suppressors: list[tuple[Alert, tuple[str, ...]]]
    suppresses: list[Alert]
    promql: str
    datadog: str
    datadog_differs: list[str]
    detection: str
    labels: list[tuple[str, str]]
    runbook_url: str
    panels: list[tuple[Dashboard, list[str], str]]  # (dashboard, panel titles, Grafana URL)


def alert_facts(k: Knowledge, svc: Service, alert: Alert, t: Callable[[str], str]) -> AlertFacts:
    catalog = k.catalog
    sev = k.severity(svc, alert.severity)
    plan = k.deliveries[alert.id]
    datadog, notes = k.datadog(svc, alert)
    if datadog:
        differs = differences(alert, notes)
    elif catalog.settings.datadog.enabled and alert.datadog and alert.datadog.reason:
        # Left out of Datadog: the page says why, where the query would be.
        differs = [" ".join(alert.datadog.reason.split())]
    else:
        differs = []
    return AlertFacts(
        proc=svc.procedures.get(alert.procedure),
        severity=sev,
        direct=[d for d in plan if not d.escalation],
        escalation=[d for d in plan if d.escalation],
        actions=k.ui_links(svc, alert),
        slo=k.slo_of(svc, alert),
        hours=k.hours(svc, alert),
        suppressors=k.suppressors(alert),
        suppresses=k.suppresses(alert),
        promql=k.promql(alert),
        datadog=datadog,
        datadog_differs=differs,
        detection=k.detection(alert, t),
        labels=list(k.labels(alert, svc).items()),
        runbook_url=k.runbook_url(alert),
        panels=[(dash, titles, k.grafana(dash, alert)) for dash, titles in k.panels[alert.id]],
    )


__all__ = ["AlertFacts", "alert_facts"]
