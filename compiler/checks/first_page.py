"""Check: at a paging level, an alert pages someone at once, never only by escalation."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.incremental import per_service
from compiler.durations import format_ms
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.first_page", _service)


def _service(catalog: Catalog, service: Service) -> Iterator[Diagnostic]:
    # Imported here: the targets import compiler.checks.routing (see alert_delivery).
    from compiler.targets.routing.delivery import deliveries, pages, severity_of
    for alert in service.alerts.values():
        severity = severity_of(catalog, service, alert)
        if severity is None or not severity.page:
            continue
        plan = deliveries(catalog, service, alert)
        later = [d for d in plan if d.escalation and pages(d.receiver)]
        if later and not any(pages(d.receiver) for d in plan if not d.escalation):
            first = min(later, key=lambda d: (d.after_ms, d.contact))
            yield error("MC467", f"alert {alert.name!r} is {severity.id}, a level that pages, but "
                        f"its own contacts have no pager: the first page would wait "
                        f"{format_ms(first.after_ms)} for the escalation to {first.contact!r}",
                        alert.at("notify"),
                        f"notify a contact with PagerDuty or Opsgenie (e.g. {first.contact}) "
                        "directly, or give the alert a level that does not page")
