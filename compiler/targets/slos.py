"""Targets, SLOs: what only an SLO has, beyond the rules, alerts and dashboard it expanded into
(which every target compiles already): per-tier promtool tests, Datadog SLO objects and their
burn-rate monitors."""
from __future__ import annotations

from compiler.artifacts import Artifact
from compiler.checks.slo_datadog import metrics_of
from compiler.diagnostics import Diagnostic
from compiler.dialects.datadog_names import naming
from compiler.model import Catalog
from compiler.targets import prometheus_slo
from compiler.targets.datadog.slos import build_slos


def datadog(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    """SLO objects and burn-rate monitors, with targets.datadog."""
    if not catalog.settings.datadog.enabled:
        return [], []
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    metrics = metrics_of(catalog)
    for service in catalog.services:
        if not service.slos:
            continue
        found, problems = build_slos(catalog, service, naming(catalog, service), metrics)
        diags += problems
        artifacts += [Artifact(path, body, "json", (obj,)) for path, body, obj in found]
    return artifacts, diags


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for target in (prometheus_slo.build, datadog):
        found, problems = target(catalog)
        artifacts += found
        diags += problems
    return artifacts, diags
