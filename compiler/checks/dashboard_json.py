"""Check: generated dashboard JSON, as grafana/dashboard-linter reads it: every panel and query
takes its data source from the dashboard's variable, and every PromQL target parses."""
from __future__ import annotations

from typing import Any

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.expr.parse import ParseError, parse


def _from_variable(ref: Any, variables: set[str]) -> bool:
    uid = ref.get("uid", "") if isinstance(ref, dict) else ref if isinstance(ref, str) else ""
    return any(uid in (f"${name}", f"${{{name}}}") for name in variables)


def check(dashboard: dict[str, Any], loc: Loc, panel_locs: dict[int, Loc] | None = None) -> list[Diagnostic]:
    """Problems in one dashboard; `panel_locs` maps panel ids to where the catalog wrote them."""
    out: list[Diagnostic] = []
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])
                 if v.get("type") == "datasource"}
    if not variables:
        out.append(error("MC443", f"dashboard {dashboard.get('uid')!r} has no data source variable",
                         loc, "moncat adds one; this is a bug in the Grafana target"))
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            continue
        where = (panel_locs or {}).get(panel.get("id"), loc)
        title = panel.get("title", "")
        if variables and not _from_variable(panel.get("datasource"), variables):
            out.append(error("MC443", f"panel {title!r} does not take its data source from the "
                             "dashboard variable", where, "use ${datasource}"))
        for target in panel.get("targets", []):
            if variables and "datasource" in target and not _from_variable(target["datasource"], variables):
                out.append(error("MC443", f"a query of panel {title!r} does not take its data source "
                                 "from the dashboard variable", where, "use ${datasource}"))
            try:
                parse(target.get("expr", ""), variables=True)
            except ParseError as exc:
                out.append(error("MC444", f"query {target.get('refId')} of panel {title!r} does not "
                                 f"parse: {exc.message}", where,
                                 "the generated PromQL must parse; this is a bug in the dialect"))
    return out
