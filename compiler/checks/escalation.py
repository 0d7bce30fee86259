"""Check: escalations name a severity level that exists, have a delay, and never loop back."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.model import Catalog, Severity


def _levels(catalog: Catalog) -> list[Severity]:
    """Every severity level: the shared ones and each service's own."""
    return list(catalog.severities.values()) + [s for svc in catalog.services
                                                for s in svc.severities.values()]


def _cycles(catalog: Catalog, severity: Severity) -> list[tuple[str, ...]]:
    """Each escalation cycle at one level, as its contacts from the smallest id."""
    # Imported here: the targets import compiler.checks.routing, so importing them while this
    # package initialises would be circular.
    from compiler.targets.routing.delivery import escalation_rules

    edges = {c.id: sorted({r.to for r in escalation_rules(c, severity) if r.to in catalog.contacts})
             for c in catalog.contacts.values()}
    found: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in sorted(edges):
        if root in state:
            continue
        # Depth first without recursion: a chain may be as long as the contact list.
        path: list[str] = [root]
        todo = [iter(edges[root])]
        state[root] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(nxt) == 1:
                loop = path[path.index(nxt):]
                start = loop.index(min(loop))
                found.add(tuple(loop[start:] + loop[:start]))
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(edges.get(nxt, [])))
    return sorted(found)


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    levels = _levels(catalog)
    known = {s.id for s in levels}
    for contact in catalog.contacts.values():
        for rule in contact.escalates_to:
            if rule.level is None:
                continue
            if rule.level not in known:
                yield error("MC466", f"contact {contact.id!r} escalates at severity {rule.level!r}, "
                            "which no severity level of the catalog has", rule.loc,
                            f"use one of: {', '.join(sorted(known))}")
                continue
            if rule.after_ms is None and all(s.respond_within_ms is None for s in levels
                                             if s.id == rule.level):
                yield error("MC466", f"contact {contact.id!r} escalates at {rule.level} without a "
                            f"delay: {rule.level} has no `respond_within`", rule.loc,
                            f"write `{rule.level}: {{to: {rule.to}, after: 30m}}`, or give the level "
                            "a `respond_within`")
    cycles: dict[tuple[str, ...], list[str]] = {}
    for severity in levels:
        for loop in _cycles(catalog, severity):
            if severity.id not in cycles.setdefault(loop, []):
                cycles[loop].append(severity.id)
    for loop, at in sorted(cycles.items()):
        first = catalog.contacts[loop[0]]
        nxt = loop[1] if len(loop) > 1 else loop[0]
        rule = next((r for r in first.escalates_to if r.to == nxt), None)
        yield error("MC465", f"escalation cycle at {', '.join(sorted(at))}: "
                    + " → ".join(loop + (loop[0],)),
                    rule.loc if rule else first.loc,
                    "an escalation goes to someone who has not been told yet; end the chain")
