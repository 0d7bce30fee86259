"""Datadog target: metric monitors and dashboards as API payloads, one object per file.

Generated only when the catalog's settings have `targets.datadog`. Output:
`datadog/monitors/<service>/<alert>.json` and `datadog/dashboards/<service>/<dashboard>.json`,
and an SLO object per SLO, `datadog/slos/<service>/<slo>.json` (its tiers are monitors: slos.py),
every object listed in the manifest.
"""
from __future__ import annotations

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic
from compiler.dialects.datadog_names import naming
from compiler.model import Catalog
from compiler.targets.datadog.dashboards import build_dashboards
from compiler.targets.datadog import schedules
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
    return with_schedules(catalog, artifacts, diags)


def with_schedules(catalog: Catalog, artifacts: list[Artifact], diags: list[Diagnostic]
                   ) -> tuple[list[Artifact], list[Diagnostic]]:
    """Downtimes for active hours, and composites for suppressions (schedules.py): a suppressed
    alert's monitor becomes a component that tells nobody, its composite notifies."""
    monitors = {o.id: o.content for a in artifacts for o in a.objects if o.kind == "monitor"}
    extra, found = schedules.build(catalog, monitors)
    changed = schedules.suppress(catalog, monitors)
    out = []
    for art in artifacts:
        obj = art.objects[0] if art.objects else None
        if obj is not None and obj.kind == "monitor" and obj.id in changed:
            body = changed.pop(obj.id)
            art = Artifact(art.path, body, art.format,
                           (ManagedObject(obj.id, obj.kind, obj.target, obj.source, body),))
        out.append(art)
    for moncat_id, body in sorted(changed.items()):  # the new components
        alert = catalog.alert(moncat_id.rsplit(".", 1)[0])
        path = f"datadog/monitors/{alert.service}/{alert.name}.{schedules.MAIN}.json"
        out.append(Artifact(path, body, "json", (ManagedObject(moncat_id, "monitor", "datadog",
                                                              alert.loc, body),)))
    return out + extra, diags + found


__all__ = ["build"]
