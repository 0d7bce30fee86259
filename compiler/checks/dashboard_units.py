"""Check: every dashboard panel that plots numbers says their unit (dashboard-linter's
panel-units-rule), as a unit id Grafana knows: any other text Grafana shows verbatim after each
value, unscaled (`seconds` shows 7200 as "7200 seconds" where `s` shows "2 hour")."""
from __future__ import annotations

import difflib
from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.incremental import per_service
from compiler.model import Catalog, Panel, Service
from compiler.targets.grafana.units import UNIT_IDS, WORDS, known

NEEDS_UNIT = ("timeseries", "stat", "gauge")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.dashboard_units", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for dash in svc.dashboards.values():
        for row in dash.rows:
            for panel in row.panels:
                if panel.type in NEEDS_UNIT and not panel.unit.strip():
                    yield warning("MC440", f"panel {panel.title!r} of dashboard {dash.id!r} has no unit",
                                  panel.loc, "add `unit:` with a Grafana unit id: s, percentunit, "
                                  "reqps, short, bytes, ...")
                elif panel.unit and not known(panel.unit):
                    yield _unknown_unit(panel, dash.id)


def _unknown_unit(panel: Panel, dashboard: str) -> Diagnostic:
    code = panel.unit[len("currency"):] if panel.unit.lower().startswith("currency") else ""
    meant = (f"currency:{code}" if code  # a currency Grafana has no id for: its symbol, scaled
             else WORDS.get(panel.unit.lower()) or next(iter(difflib.get_close_matches(
                 panel.unit, sorted(UNIT_IDS), n=1, cutoff=0.8)), None))
    guess = f"write `{meant}`" if meant else "write a Grafana unit id (s, ms, percentunit, reqps, bytes, ...)"
    return warning("MC445", f"panel {panel.title!r} of dashboard {dashboard!r}: unit {panel.unit!r} is "
                   "not a Grafana unit id; Grafana shows it verbatim after each value and does not "
                   "scale them", panel.unit_loc or panel.loc,
                   f"{guess}; for a unit of your own, `count:{panel.unit}` (scaled: 1.2K {panel.unit}) or "
                   f"`suffix:{panel.unit}` (as written). The ids are in Grafana's unit picker "
                   "(Standard options > Unit)")
