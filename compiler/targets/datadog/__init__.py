"""Datadog target: metric monitors and dashboards as API payloads, one object per file.

Generated only when the catalog's settings have `targets.datadog`. Output:
`datadog/monitors/<service>/<alert>.json` and `datadog/dashboards/<service>/<dashboard>.json`,
and an SLO object per SLO, `datadog/slos/<service>/<slo>.json` (its tiers are monitors: slos.py),
every object listed in the manifest.
"""
from __future__ import annotations

from compiler.artifacts import Artifact
from compiler.diagnostics import Diagnostic
from compiler.dialects.datadog_names import naming
from compiler.incremental import cached
from compiler.model import Catalog, Service
from compiler.targets.datadog.dashboards import build_dashboards
from compiler.targets.datadog.monitors import build_monitors
from compiler.targets.datadog.slos import build_slos
from compiler.targets.datadog.verbatim import build_kept


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    """A monitor per alert compiled for Datadog, a dashboard per catalog dashboard."""
    if not catalog.settings.datadog.enabled:
        return [], []
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for service in catalog.services:
        found, found_diags = cached(catalog, "datadog", service, lambda: _service(catalog, service))
        artifacts += found
        diags += found_diags
    return artifacts, diags


def _service(catalog: Catalog, service: Service) -> tuple[list[Artifact], list[Diagnostic]]:
    names = naming(catalog, service)
    monitors, diags = build_monitors(catalog, service, names)
    dashboards, found = build_dashboards(catalog, service, names)
    diags += found
    slos, found = build_slos(catalog, service, names) if service.slos else ([], [])
    diags += found
    return [Artifact(path, body, "json", (obj,))
            for path, body, obj in monitors + build_kept(catalog, service) + dashboards + slos], diags


__all__ = ["build"]
