"""Check: every alert reaches a receiver, every contact is reached, the catch-all can be told,
the Alertmanager version fits."""
from __future__ import annotations

from typing import Iterator

from compiler.checks.routing import recipients
from compiler.diagnostics import Diagnostic, error
from compiler.incremental import cached
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    # Imported here: the targets import compiler.checks.routing, so importing them while this
    # package initialises would be circular.
    from compiler.targets.alertmanager.versions import refusals
    from compiler.targets.routing.delivery import has_other

    if catalog.generates("alertmanager"):
        yield from refusals(catalog)
    catch_all = catalog.contacts.get(catalog.settings.catch_all)
    if catch_all is not None and (not catch_all.receives_alerts or not has_other(catch_all)):
        why = ("receives no alerts (receives_alerts: false)" if not catch_all.receives_alerts
               else "has only a pager, and an alert of unknown urgency is never paged")
        yield error("MC469", f"the catch-all contact {catch_all.id!r} {why}",
                    catalog.settings.field_locs.get("catch_all", catalog.settings.loc),
                    "name a contact with email, Slack or a webhook")
    reached: set[str] = {catalog.settings.catch_all}  # it receives what no route matches
    nobody = False  # an alert with no contact at all is MC401's; its contact may be the one unused
    for service in catalog.services:
        errors, told, none = cached(catalog, "check.alert_delivery", service,
                                    lambda: _service(catalog, service))
        yield from errors
        reached.update(told)
        nobody = nobody or none
    if nobody:
        return
    for service in catalog.services:
        if not service.datadog_only:
            continue  # (its length is known without reading an unchanged service's section)
        # A datadog-only alert notifies through its own message; its contacts are reached too.
        for kept in service.datadog_only.values():
            reached.update(kept.notify or ((service.owner,) if service.owner else ()))
    for contact in catalog.contacts.values():
        if contact.receives_alerts and contact.id not in reached:
            yield error("MC463", f"no alert reaches contact {contact.id!r}", contact.loc,
                        "name it in an alert's `notify`, make it the service `owner:` or another "
                        "contact's `escalates_to` (at a level its alerts have: a plain `escalates_to` "
                        "applies at paging levels, after their `respond_within`), "
                        "set `receives_alerts: false` when people reach it by hand, or remove it")


def _service(catalog: Catalog, service: Service) -> tuple[list[Diagnostic], list[str], bool]:
    """The service's MC462 errors, the contacts its alerts reach, and whether one of them
    notifies nobody. Its alerts walk the whole tree, but only their own service's route can
    match them (the `service` label), inside their team's route or, without a team, among the
    services without one (every team's name is in each service's key: see
    compiler.incremental.run)."""
    # Imported here: the targets import compiler.checks.routing, so importing them while this
    # package initialises would be circular.
    from compiler.targets.routing.delivery import deliveries, has_other, severity_of
    from compiler.targets.routing.tree import resolver, routing_labels

    walk = resolver(catalog)
    errors: list[Diagnostic] = []
    reached: set[str] = set()
    nobody = False
    for alert in service.alerts.values():
        contacts = recipients(alert, service)
        if not contacts:
            nobody = nobody or alert.notifies  # a condition alert tells nobody on purpose
            continue
        plan = deliveries(catalog, service, alert)
        reached.update(d.contact for d in plan)
        # Walk the tree that alertmanager.yaml is written from, as Alertmanager walks it:
        # it must lead to the plan's receivers, not fall through to the catch-all.
        routed = walk(routing_labels(alert, service))
        if not plan or routed != [d.receiver for d in plan]:
            reached.update(contacts)  # named, so not "unused" too: one error, not three
            known = [catalog.contacts[c] for c in contacts if c in catalog.contacts]
            silent = [c.id for c in known if not c.receives_alerts]
            pagers = [c.id for c in known if c.receives_alerts and not has_other(c)]
            severity = severity_of(catalog, service, alert)
            # The hint names the fix for the cause found: the service may well have an
            # owner already (it is the pager-only contact an alert falls back to).
            if pagers and severity is not None and not severity.page:
                why = (f"its contacts ({', '.join(pagers)}) have only a pager, and severity "
                       f"{severity.id} does not page (page: false levels never reach a pager)")
                hint = (f"add a contact with email, Slack or a webhook to `notify:` (or give "
                        f"{pagers[0]!r} one), or use a severity with `page: true`")
            elif silent:
                why = f"its contacts ({', '.join(silent)}) receive no alerts (receives_alerts: false)"
                hint = "notify a contact that receives alerts"
            else:
                why = "no route of the generated configuration matches it"
                hint = "notify a contact that receives alerts, or give the service an `owner:`"
            errors.append(error("MC462", f"alert {alert.name!r} reaches no receiver: {why}",
                                alert.at("notify"), hint))
    return errors, sorted(reached), bool(nobody)
