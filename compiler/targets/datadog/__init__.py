"""Datadog target: metric monitors and dashboards as API payloads, one object per file.

Generated only when the catalog's settings have `targets.datadog`. Output:
`datadog/monitors/<service>/<alert>.json` and `datadog/dashboards/<service>/<dashboard>.json`,
and an SLO object per SLO, `datadog/slos/<service>/<slo>.json` (its tiers are monitors: slos.py),
every object listed in the manifest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic, Loc
from compiler.dialects.datadog_names import naming
from compiler.incremental import WriteOnly, cached
from compiler.model import Catalog, Service
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
    monitors: dict[str, Monitor] = {}
    for service in catalog.services:
        found, found_diags, index = cached(catalog, "datadog", service, lambda: _service(catalog, service),
                                           stored=_stored)
        artifacts += found
        diags += found_diags
        monitors.update(index)
    return with_schedules(catalog, artifacts, diags, monitors)


def with_schedules(catalog: Catalog, artifacts: list[Artifact], diags: list[Diagnostic],
                   monitors: dict[str, Monitor]) -> tuple[list[Artifact], list[Diagnostic]]:
    """Downtimes for active hours, and composites for suppressions (schedules.py): a suppressed
    alert's monitor becomes a component that tells nobody, its composite notifies. `monitors`:
    every monitor built, by moncat id (see `_index`)."""
    bodies = {mid: m.body for mid, m in monitors.items()}
    extra, found = schedules.build(catalog, bodies)
    changed = schedules.suppress(catalog, bodies)
    replaced = {m.path: mid for mid, m in monitors.items() if mid in changed}
    out: list[Artifact] = []
    for art in artifacts:
        mid = replaced.get(art.path)
        if mid is not None:  # a fresh or a stored artifact: its path says which monitor it holds
            body = changed.pop(mid)
            art = Artifact(art.path, body, "json",
                           (ManagedObject(mid, "monitor", "datadog", monitors[mid].source, body),))
        out.append(art)
    for moncat_id, body in sorted(changed.items()):  # the new components
        alert = catalog.alert(moncat_id.rsplit(".", 1)[0])
        path = f"datadog/monitors/{alert.service}/{alert.name}.{schedules.MAIN}.json"
        out.append(Artifact(path, body, "json", (ManagedObject(moncat_id, "monitor", "datadog",
                                                              alert.loc, body),)))
    return out + extra, diags + found


@dataclass(frozen=True)
class Monitor:
    """What `with_schedules` reads of a monitor built for a service, kept by the incremental cache
    beside the service's (stored) artifacts: the whole body of a suppressed alert's monitor (it
    becomes a component), of any other only what a composite naming it reads."""

    path: str
    source: Loc
    body: dict[str, Any]
    suppressed: bool = False  # its alert's: the body is whole


def _service(catalog: Catalog, service: Service
             ) -> tuple[list[Artifact], list[Diagnostic], dict[str, Monitor]]:
    names = naming(catalog, service)
    monitors, diags = build_monitors(catalog, service, names)
    dashboards, found = build_dashboards(catalog, service, names)
    diags += found
    slos, found = build_slos(catalog, service, names) if service.slos else ([], [])
    diags += found
    artifacts = [Artifact(path, body, "json", (obj,))
                 for path, body, obj in monitors + build_kept(catalog, service) + dashboards + slos]
    return artifacts, diags, _index(service, artifacts)


def _stored(value: tuple[list[Artifact], list[Diagnostic], dict[str, Monitor]]
            ) -> tuple[list[Artifact | WriteOnly], list[Diagnostic], dict[str, Monitor]]:
    """What the incremental cache keeps of a service's monitors, given back while the service
    (with the services its suppressions join it to) is unchanged: only those of its suppressed
    alerts, which `with_schedules` replaces by their composites. The others are read only by
    the downtimes and composites of their own service and its group, which the cache keeps
    too, or computes again together (10,000 monitors with their positions took 20 ms to
    unpickle on every one-service recompile at 10,000 alerts). Its artifacts but those
    monitors' are WriteOnly: `with_schedules` reads the path of each artifact it may replace."""
    artifacts, diags, index = value
    kept = {mid: m for mid, m in index.items() if m.suppressed}
    read = {m.path for m in kept.values()}
    return [WriteOnly(a for a in artifacts if a.path not in read), *(a for a in artifacts if a.path in read)], \
        diags, kept


def _index(service: Service, artifacts: list[Artifact]) -> dict[str, Monitor]:
    suppressed = {a.id for a in service.alerts.values() if a.suppressed_by}
    out: dict[str, Monitor] = {}
    for art in artifacts:
        for obj in art.objects:
            if obj.kind != "monitor":
                continue
            body = obj.content if obj.id in suppressed else {
                k: obj.content[k] for k in ("type", "query") if k in obj.content}
            out[obj.id] = Monitor(art.path, obj.source, body, obj.id in suppressed)
    return out


__all__ = ["build"]
