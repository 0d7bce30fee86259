"""Check: with targets.datadog, every SLO compiled for Datadog has a Datadog form: a 7d, 30d or
90d window, an SLI Datadog counts exactly, and burn-rate windows its monitors take."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic
from compiler.dialects.datadog_names import naming
from compiler.model import Catalog


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    if not catalog.settings.datadog.enabled:
        return
    # Imported here: the Datadog target imports compiler.checks.routing, so importing it while
    # this package initialises would be circular.
    from compiler.targets.datadog.slos import TARGET, metrics_of, problems

    metrics = metrics_of(catalog)
    for service in catalog.services:
        wanted = [s for s in service.slos.values() if s.compiled_for(TARGET)]
        if not wanted:
            continue
        names = naming(catalog, service)
        for slo in wanted:
            yield from problems(catalog, service, slo, names, metrics)
