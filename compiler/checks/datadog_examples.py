"""Check: every example of an alert compiled for Datadog runs on its monitor (translated or
overridden) through the Datadog evaluator, and must get the verdict Prometheus gives it (the one
the example states, which the generated promtool test checks). A difference is an error at the
example unless the alert states it (`datadog: {differs: ...}`)."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.dialects.datadog_names import naming
from compiler.durations import format_ms
from compiler.model import Catalog
from compiler.targets.datadog.conditions import condition
from compiler.targets.datadog.verdicts import verdicts

DIFFERENT = "MC711"
UNCHECKED = "MC712"


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    if not catalog.settings.datadog.enabled:
        return
    for service in catalog.services:
        names = naming(catalog, service)
        for alert in service.alerts.values():
            if not alert.compiled_for("datadog"):
                continue
            cond, _ = condition(catalog, alert, names)  # its diagnostics are the datadog check's
            if cond is None:
                continue
            stated = bool(alert.datadog and alert.datadog.differs)
            for v in verdicts(catalog, alert, cond, names):
                kind = "fires" if v.prometheus else "stays quiet"
                if v.datadog is None:
                    yield warning(UNCHECKED, f"the example that {kind} could not be run on the "
                                  f"Datadog monitor of {alert.name!r}: {v.problem}", v.example.loc,
                                  "write the monitor with the constructs the README lists, or "
                                  "review it by hand")
                elif v.differs and not stated:
                    did = f"alerts ({', '.join(v.groups)})" if v.datadog else "stays quiet"
                    yield error(DIFFERENT, f"the example {kind} in Prometheus, but the Datadog "
                                f"monitor of {alert.name!r} {did} at {format_ms(v.at_ms)}: "
                                f"{cond.query}", v.example.loc,
                                "fix datadog.query (or the expression) so both agree, or state the "
                                "known difference: `datadog: {differs: \"...\"}`")
