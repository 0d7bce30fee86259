"""Check: every alert reaches a receiver, every contact is reached, the Alertmanager version fits."""
from __future__ import annotations

from typing import Iterator

from compiler.checks.routing import recipients
from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    # Imported here: the targets import compiler.checks.routing, so importing them while this
    # package initialises would be circular.
    from compiler.targets.alertmanager.plan import deliveries
    from compiler.targets.alertmanager.routes import UNROUTED, resolve, route_tree, routing_labels
    from compiler.targets.alertmanager.versions import refusals

    refused = list(refusals(catalog))
    yield from refused
    tree = route_tree(catalog)
    reached: set[str] = set()
    nobody = False  # an alert with no contact at all is MC401's; its contact may be the one unused
    for service in catalog.services:
        for alert in service.alerts.values():
            contacts = recipients(alert, service)
            if not contacts:
                nobody = True
                continue
            plan = deliveries(catalog, service, alert)
            reached.update(d.contact for d in plan)
            # Walk the tree that alertmanager.yaml is written from, as Alertmanager walks it.
            routed = [r for r in resolve(tree, routing_labels(alert, service)) if r != UNROUTED]
            if not plan or not routed:
                silent = [c for c in contacts if c in catalog.contacts
                          and not catalog.contacts[c].receives_alerts]
                why = (f"its contacts ({', '.join(silent)}) receive no alerts (receives_alerts: false)"
                       if silent else "no route of the generated configuration matches it")
                yield error("MC462", f"alert {alert.name!r} reaches no receiver: {why}",
                            alert.at("notify"),
                            "notify a contact that receives alerts, or give the service an `owner:`")
    if nobody:
        return
    for service in catalog.services:
        # A datadog-only alert notifies through its own message; its contacts are reached too.
        for kept in service.datadog_only.values():
            reached.update(kept.notify or ((service.owner,) if service.owner else ()))
    for contact in catalog.contacts.values():
        if contact.receives_alerts and contact.id not in reached:
            yield error("MC463", f"no alert reaches contact {contact.id!r}", contact.loc,
                        "name it in an alert's `notify`, make it the service `owner:` or another "
                        "contact's `escalates_to` (escalation needs a severity with `respond_within`), "
                        "set `receives_alerts: false` when people reach it by hand, or remove it")
