"""Check: every dashboard panel that plots numbers says their unit (dashboard-linter's
panel-units-rule)."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.model import Catalog

NEEDS_UNIT = ("timeseries", "stat", "gauge")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    for svc in catalog.services:
        for dash in svc.dashboards.values():
            for row in dash.rows:
                for panel in row.panels:
                    if panel.type in NEEDS_UNIT and not panel.unit.strip():
                        yield warning("MC440", f"panel {panel.title!r} of dashboard {dash.id!r} has no unit",
                                      panel.loc, "add `unit:` with a Grafana unit id: s, percentunit, "
                                      "reqps, short, bytes, ...")
