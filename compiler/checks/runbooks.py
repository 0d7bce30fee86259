"""Check: every alert has a runbook (a procedure) and the catalog says where runbooks live."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.link import PENDING
from compiler.model import Catalog


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    has_alerts = False
    for svc in catalog.services:
        for alert in svc.alerts.values():
            has_alerts = True
            if alert.procedure == PENDING and not alert.runbook_url:
                yield warning("MC404", f"alert {alert.name!r}: its runbook procedure is pending",
                              alert.at("procedure"),
                              "write the procedure and name it in `procedure:` (or give `runbook_url:`)")
            elif not alert.procedure and not alert.runbook_url:
                yield error("MC402", f"alert {alert.name!r} has no runbook procedure", alert.loc,
                            "add `procedure: <id>` naming one of the service's procedures, or "
                            "`runbook_url:` for an external runbook")
    if has_alerts and not catalog.settings.runbooks_base_url:
        yield error("MC403", "alerts need a runbook URL but `runbooks.base_url` is not set",
                    catalog.settings.loc, "add `runbooks: {base_url: https://...}` to moncat.yaml")
