"""Check: `suppressed_by` names another alert that Alertmanager sees, and the labels both alerts
must share are labels both carry."""
from __future__ import annotations

from typing import Iterator

from compiler.checks.templates import alert_labels
from compiler.diagnostics import Diagnostic, error
from compiler.incremental import cached
from compiler.link import series_names
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    for service in catalog.services:
        # An alert and its suppressors are one unit of the incremental cache (each one's key
        # covers their services' sources).
        yield from cached(catalog, "check.suppressions", service, lambda: list(_service(catalog, service)))


def _service(catalog: Catalog, service: Service) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    for alert in service.alerts.values():
        for rule in alert.suppressed_by:
            source = catalog.alert(rule.alert)
            if source is None or source is alert:
                what = "itself" if source is alert else f"unknown alert {rule.alert!r}"
                yield error("MC484", f"{alert.name!r} is suppressed by {what}", rule.loc,
                            "name another alert of the catalog: `Name` in this service, or "
                            "`service/Name`")
                continue
            if not source.compiled_for("prometheus") or not alert.compiled_for("prometheus"):
                yield error("MC484", f"{rule.alert} suppresses {alert.id} in Alertmanager, which sees "
                            "only Prometheus alerts, but `targets:` leaves one of them out of "
                            "Prometheus", rule.loc, "compile both alerts for prometheus")
            for which in (alert, source):
                carried = alert_labels(which, catalog, names)
                static = {k for k, _ in which.labels} | {"service", "severity", "team", "alertname"}
                missing = [n for n in rule.equal if carried is not None and n not in carried | static]
                if missing:
                    yield error("MC485", f"{which.id} carries no label {', '.join(missing)}, which "
                                f"`equal` asks it to share: the suppression would never match",
                                rule.loc, "group both expressions by the label (sum by (city) ...), "
                                "or drop it from `equal`")
