"""Check: every example of an alert compiled for Datadog runs on its monitor (translated or
overridden) through the Datadog evaluator, and must get the verdict Prometheus gives it (the one
the example states, which the generated promtool test checks). A difference is an error at the
example unless the example itself is marked `datadog_differs` and the alert states the difference
(`datadog: {differs: ...}`, an override's `reason`, or what a setting such as `pending: drop`
changes); a marked example whose verdicts agree is an error too, so a mark never outlives the
difference it names. A stated difference therefore never silences the alert's other examples."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.dialects.datadog_names import naming
from compiler.durations import format_ms
from compiler.example_labels import parse_series
from compiler.expr import ast
from compiler.expr.parse import ParseError
from compiler.incremental import cached
from compiler.link import series_names
from compiler.model import Catalog, Example, Service
from compiler.targets.datadog.conditions import condition
# The module, not the name: messages imports the routing check, whose package imports this one.
from compiler.targets.datadog import messages
from compiler.targets.datadog.verdicts import verdicts

DIFFERENT = "MC711"
UNCHECKED = "MC712"
UNSTATED = "MC715"
AGREES = "MC716"


def _misspelt(example: Example, known: dict[str, object]) -> bool:
    """Whether a series of the example names an unknown metric or is no series at all: its own
    error (MC414, MC412) says what to fix, and the verdicts follow from it."""
    for selector, _ in example.series:
        try:
            tree = parse_series(selector)
        except ParseError:
            return True
        if not isinstance(tree, ast.Selector) or (tree.metric and tree.metric not in known):
            return True
    return False


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    if not catalog.settings.datadog.enabled:
        return
    known = series_names(catalog)
    for service in catalog.services:
        # `known`: every service's series; a name the example reads is in the service's key
        # (compiler.incremental.run), defined or not.
        yield from cached(catalog, "check.datadog_examples", service,
                          lambda: list(_service(catalog, service, known)))


def _service(catalog: Catalog, service: Service, known: dict[str, object]) -> Iterator[Diagnostic]:
    names = naming(catalog, service)
    for alert in service.alerts.values():
        if not alert.compiled_for("datadog"):
            continue
        cond, _ = condition(catalog, alert, names)  # its diagnostics are the datadog check's
        if cond is None:
            continue
        stated = bool(messages.differences(alert, cond.notes))
        for v in verdicts(catalog, alert, cond, names):
            kind = "fires" if v.prometheus else "stays quiet"
            marked = bool(v.example.datadog_differs)
            mark = v.example.differs_loc or v.example.loc
            if v.datadog is None:
                yield warning(UNCHECKED, f"the example that {kind} could not be run on the "
                              f"Datadog monitor of {alert.name!r}: {v.problem}", v.example.loc,
                              "write the monitor with the constructs the README lists, or "
                              "review it by hand")
            elif v.differs and not marked and not _misspelt(v.example, known):
                did = f"alerts ({', '.join(v.groups)})" if v.datadog else "stays quiet"
                # The Prometheus verdict is the one the example states, which promtool
                # checks (validate runs the examples beside this error: MC483 when the
                # example no longer holds in Prometheus either, after an edit).
                yield error(DIFFERENT, f"the example says the alert {kind}, but the Datadog "
                            f"monitor of {alert.name!r} {did} at {format_ms(v.at_ms)}: "
                            f"{cond.query}", v.example.loc,
                            "when promtool fails this example too (MC483 here), fix the "
                            "example or the expression; else fix datadog.query (or the "
                            "expression) so both agree, or, for a known difference, mark this "
                            "example `datadog_differs: true` and state the difference in "
                            "`datadog: {differs: \"...\"}`")
            elif marked and not v.differs:
                said = "alerts" if v.datadog else "stays quiet"
                yield error(AGREES, f"the example is marked datadog_differs, but the Datadog "
                            f"monitor of {alert.name!r} {said} as Prometheus does", mark,
                            "remove `datadog_differs` from this example")
            elif marked and not stated:
                yield error(UNSTATED, f"the example is marked datadog_differs, but "
                            f"{alert.name!r} states no difference from Prometheus", mark,
                            "say how the monitor differs in `datadog: {differs: \"...\"}` "
                            "(the monitor's message and the runbook page show it)")
