"""Check: an alert compiled for Datadog has hours Datadog's weekly downtimes can repeat."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic
from compiler.incremental import cached
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    if not catalog.generates("datadog"):
        return
    for service in catalog.services:
        yield from cached(catalog, "check.datadog_hours", service, lambda: list(_service(catalog, service)))


def _service(catalog: Catalog, service: Service) -> Iterator[Diagnostic]:
    # Imported here: the targets import compiler.checks.routing (see alert_delivery).
    from compiler.targets.datadog.schedules import refusal
    for alert in service.alerts.values():
        if alert.compiled_for("datadog"):
            problem = refusal(catalog, service, alert)
            if problem is not None:
                yield problem
