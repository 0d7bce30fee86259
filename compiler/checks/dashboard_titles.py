"""Check: dashboards, rows and panels have titles (dashboard-linter's title rules)."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, warning
from compiler.incremental import per_service
from compiler.model import Catalog, Service


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.dashboard_titles", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for dash in svc.dashboards.values():
        if not dash.title.strip():
            yield warning("MC441", f"dashboard {dash.id!r} has an empty title", dash.loc,
                          "give it a `title:` people can find it by")
        for r, row in enumerate(dash.rows):
            if not row.title.strip():
                where = row.panels[0].loc if row.panels else dash.loc
                yield warning("MC441", f"row {r + 1} of dashboard {dash.id!r} has an empty title",
                              where, "give the row a `title:`")
            for panel in row.panels:
                if not panel.title.strip():
                    yield warning("MC441", f"a panel of dashboard {dash.id!r} has an empty title",
                                  panel.loc, "give the panel a `title:` saying what it plots")
