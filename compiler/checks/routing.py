"""Check: every alert reaches at least one contact (its own `notify`, or its service's owner)."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.incremental import per_service
from compiler.model import Alert, Catalog, Service


def recipients(alert: Alert, service: Service) -> tuple[str, ...]:
    """Contact ids an alert notifies: none for a condition alert (`notify: []`)."""
    if not alert.notifies:
        return ()
    return alert.notify or ((service.owner,) if service.owner else ())


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.routing", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for alert in svc.alerts.values():
        if alert.notifies and not recipients(alert, svc):
            yield error("MC401", f"alert {alert.name!r} notifies nobody", alert.loc,
                        "add `notify: [<contact>]` to the alert or `owner: <contact>` to the service")
