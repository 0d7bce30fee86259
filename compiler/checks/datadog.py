"""Check: with targets.datadog, every alert is translated into a Datadog monitor, overridden by a
reviewed `datadog.query`, or left out with `targets:`; and the Datadog settings are usable.

Running at `moncat validate` means CI finds an alert Datadog cannot express before compiling.
"""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.dialects.datadog_names import METRIC_NAME, namespace, naming
from compiler.model import Catalog
from compiler.targets.datadog.conditions import condition

SETTING = "MC706"
UNUSED = "MC707"
COLLISION = "MC709"


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    dd = catalog.settings.datadog
    if not dd.enabled:
        return
    locs = catalog.settings.field_locs
    delay, renotify = dd.evaluation_delay_ms, dd.renotify_interval_ms
    if delay is not None and delay % 1000:
        yield error(SETTING, "targets.datadog.evaluation_delay is not a whole number of seconds",
                    locs.get("datadog.evaluation_delay"), "Datadog delays evaluations by whole seconds")
    if renotify is not None and (renotify % 60_000 or renotify < 60_000):
        yield error(SETTING, "targets.datadog.renotify_interval is not a whole number of minutes",
                    locs.get("datadog.renotify_interval"),
                    "Datadog re-notifies after whole minutes (at least 1)")
    seen: dict[str, str] = {}
    for service in catalog.services:
        prefix = namespace(dd, service.id)
        if prefix and not METRIC_NAME.fullmatch(prefix + ".x"):
            yield error(SETTING, f"namespace {prefix!r} of service {service.id!r} does not start a "
                        "Datadog metric name", locs.get("datadog"),
                        "Datadog metric names start with a letter")
        names = naming(catalog, service)
        for alert in service.alerts.values():
            if not alert.compiled_for("datadog"):
                own = alert.datadog
                # A reason alone says why the alert is left out: that is the point of it.
                if own is not None and (own.query or own.warning is not None or own.differs):
                    yield warning(UNUSED, f"{alert.name!r} has datadog settings but its `targets:` "
                                  "leave Datadog out", alert.at("datadog"),
                                  "remove one of the two")
                continue
            # Datadog lowercases tags: two ids equal but for case would share `moncat-id`.
            key = alert.id.lower()
            if key in seen and seen[key] != alert.id:
                yield error(COLLISION, f"alert {alert.id!r} and {seen[key]!r} differ only in case; "
                            "Datadog tags (moncat-id) do not", alert.loc, "rename one of them")
            seen[key] = alert.id
            _, diags = condition(catalog, alert, names)
            yield from diags
