"""Checks stage: one small module per check, each `check(catalog) -> diagnostics`."""
from __future__ import annotations

from typing import Callable, Iterable

from compiler.checks import (alert_delivery, counters, examples, routing, runbooks, target_versions,
                             templates)
from compiler.checks import dashboard_rate_interval, dashboard_titles, dashboard_units
from compiler.checks import datadog, datadog_config, datadog_examples, detection_delay, numbers
from compiler.checks import active_hours, datadog_hours, escalation, first_page, suppressions, webhook_secrets
from compiler.checks import declared_labels, slo_datadog
from compiler.diagnostics import Diagnostic
from compiler.model import Catalog

Check = Callable[[Catalog], Iterable[Diagnostic]]

ALL: tuple[Check, ...] = (
    routing.check,
    runbooks.check,
    templates.check,
    examples.check,
    declared_labels.check,
    target_versions.check,
    counters.check,
    numbers.check,
    alert_delivery.check,
    escalation.check,
    first_page.check,
    webhook_secrets.check,
    active_hours.check,
    suppressions.check,
    datadog_hours.check,
    dashboard_units.check,
    dashboard_titles.check,
    dashboard_rate_interval.check,
    datadog.check,
    datadog_examples.check,
    datadog_config.check,
    detection_delay.check,
    slo_datadog.check,
)


def run_all(catalog: Catalog) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for check in ALL:
        out.extend(check(catalog))
    return out
