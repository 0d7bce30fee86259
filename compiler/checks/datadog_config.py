"""Check: what the Datadog monitors need configured in Datadog or in the Agent, which moncat cannot
see from the catalog, said once each as a warning:

- a `pXX:` monitor reads percentiles of a distribution, which Datadog computes only once
  percentiles are enabled for that metric (https://docs.datadoghq.com/metrics/distributions/,
  "Enabling advanced query functionality");
- `targets.datadog.scrape_labels` are tags only when each OpenMetrics instance adds them (its
  `tags:` option), as Prometheus's scrape adds job and instance;
- `@webhook-<contact>` notifies only through a Webhooks integration entry of that name
  (https://docs.datadoghq.com/integrations/webhooks/).

Each warning names its need (`percentiles:<metric>`, `scrape_labels`, `webhook:<contact>`);
listed under `targets.datadog.configured`, the need is taken as met and the warning is not
given, so `--fail-on warning` can pass. A listed need nothing has is MC717, so the list cannot
outlive what it vouches for.
"""
from __future__ import annotations

import re
from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.dialects.datadog_names import naming
from compiler.incremental import cached
from compiler.model import Catalog, Service
from compiler.targets.datadog.conditions import condition

NEEDS, NOT_NEEDED = "MC714", "MC717"
_DONE = "; once done, list it under targets.datadog.configured as "
_PERCENTILE = re.compile(r"\bp\d+(?:\.\d+)?:([A-Za-z][A-Za-z0-9_.]*)")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    dd = catalog.settings.datadog
    if not dd.enabled:
        return
    configured = dict(dd.configured)
    needs = list(_needs(catalog))
    for key, diag in needs:
        if key not in configured:
            yield diag
    needed = {key for key, _ in needs}
    for key, loc in dd.configured:
        if key not in needed:
            yield warning(NOT_NEEDED, f"targets.datadog.configured lists {key!r}, which nothing in "
                          "the catalog needs", loc,
                          "remove it (the needs are: " + (", ".join(sorted(needed)) or "none") + ")")


def _needs(catalog: Catalog) -> Iterator[tuple[str, Diagnostic]]:
    """Each need with the warning that says it."""
    dd = catalog.settings.datadog
    if dd.scrape_labels:
        yield "scrape_labels", warning(
            NEEDS, f"targets.datadog.scrape_labels ({', '.join(dd.scrape_labels)}): "
            "Datadog has these tags only if every OpenMetrics instance adds them",
            catalog.settings.field_locs.get("datadog"),
            "add them under the instance's `tags:` in openmetrics.d/conf.yaml "
            "(e.g. job:<job>), as Prometheus's scrape does" + _DONE + "`scrape_labels`")
    seen: set[str] = set()
    for service in catalog.services:
        # Each distribution is named once, at the first alert that reads it.
        for metric, found in cached(catalog, "check.datadog_config", service,
                                    lambda: _percentiles(catalog, service)):
            if metric not in seen:
                seen.add(metric)
                yield f"percentiles:{metric}", found
    for contact in sorted(catalog.contacts.values(), key=lambda c: c.id):
        if contact.webhook and contact.receives_alerts:
            yield f"webhook:{contact.id}", warning(
                NEEDS, f"contact {contact.id!r}: Datadog monitors notify it as "
                f"@webhook-{contact.id}, which needs a Webhooks integration entry named "
                f"{contact.id!r}", contact.loc,
                f"create it in Datadog (Integrations > Webhooks) with the URL "
                f"{contact.webhook}{_DONE}`webhook:{contact.id}`")


def _percentiles(catalog: Catalog, service: Service) -> list[tuple[str, Diagnostic]]:
    """(distribution, warning) for each distribution whose percentiles an alert of the service
    reads, alert by alert."""
    out: list[tuple[str, Diagnostic]] = []
    names = naming(catalog, service)
    for alert in service.alerts.values():
        if not alert.compiled_for("datadog"):
            continue
        cond, _ = condition(catalog, alert, names)
        if cond is None:
            continue
        queries = [cond.query] + [part.query for _, part in cond.components]
        for metric in sorted({m for q in queries for m in _PERCENTILE.findall(q)}):
            out.append((metric, warning(
                NEEDS, f"{alert.name!r} reads percentiles of the distribution "
                f"{metric}: Datadog computes them only once percentiles are enabled "
                "for it", alert.at("expr"),
                f"enable percentiles for {metric} (Metrics Summary > the metric > "
                f"Advanced); moncat cannot see that setting{_DONE}`percentiles:{metric}`")))
    return out
