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
from compiler.model import Catalog
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
        names = naming(catalog, service)
        monitors, found = build_monitors(catalog, service, names)
        diags += found
        dashboards, found = build_dashboards(catalog, service, names)
        diags += found
        slos, found = build_slos(catalog, service, names) if service.slos else ([], [])
        diags += found
        for path, body, obj in monitors + build_kept(catalog, service) + dashboards + slos:
            artifacts.append(Artifact(path, body, "json", (obj,)))
    return artifacts, diags


__all__ = ["build"]
