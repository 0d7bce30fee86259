"""Check: every dashboard panel that plots numbers says their unit (dashboard-linter's
panel-units-rule)."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.incremental import cached
from compiler.model import Catalog, Service

NEEDS_UNIT = ("timeseries", "stat", "gauge")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    for svc in catalog.services:
        yield from cached(catalog, "check.dashboard_units", svc,
                          lambda: list(_service(catalog, svc)))


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for dash in svc.dashboards.values():
        for row in dash.rows:
            for panel in row.panels:
                if panel.type in NEEDS_UNIT and not panel.unit.strip():
                    yield warning("MC440", f"panel {panel.title!r} of dashboard {dash.id!r} has no unit",
                                  panel.loc, "add `unit:` with a Grafana unit id: s, percentunit, "
                                  "reqps, short, bytes, ...")
