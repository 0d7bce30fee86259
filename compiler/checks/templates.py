"""Check: annotation templates parse and read only labels the alert's result can carry."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.expr import gotemplate
from compiler.expr import templates as tpl
from compiler.expr.metric_names import result_names
from compiler.link import series_names
from compiler.incremental import per_service
from compiler.model import Alert, Catalog, Service
from compiler.names import alert_labels


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.templates", _service)


def _keeps_name(alert: Alert, catalog: Catalog) -> bool:
    names = result_names(alert.expr.tree, lambda sel: frozenset({sel.metric}) if sel.metric else None,
                         catalog.settings.prometheus_version)
    return names is None or bool(names - {""})


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    for alert in svc.alerts.values():
        available = None
        computed = False
        for field in ("summary", "description"):
            text = getattr(alert, field)
            if not text:
                continue
            loc_of = lambda off, f=field: alert.at_offset(f, off)  # noqa: E731
            problem = tpl.check_syntax(text)
            if problem:
                yield error("MC302", f"template error in {field}: {problem.message}",
                            loc_of(problem.offset), problem.hint)
                continue
            refused = gotemplate.problem(text)
            if refused:
                yield error("MC302", f"template error in {field}: {refused}", alert.at(field),
                            "Prometheus defines humanize, humanizePercentage, humanizeDuration, "
                            "printf, query, ... (see its template reference)")
                continue
            if not computed:
                available = alert_labels(alert, catalog, names)
                # $labels holds the result series' labels only: Prometheus adds the
                # rule's own labels after rendering the templates. It holds the metric
                # name too where the expression keeps it.
                if available is not None and _keeps_name(alert, catalog):
                    available = available | {"__name__"}
                computed = True
            if available is None:
                continue
            for ref in tpl.label_refs(text):
                if ref.name not in available:
                    shown = ", ".join(sorted(available)) or "none"
                    # An imported rule renders nothing there in Prometheus too: a
                    # warning until someone reviews it (and removes `imported: true`).
                    yield (warning if alert.imported else error)(
                        "MC303",
                        f"{field} reads label {ref.name!r}, which the alert's expression does "
                        f"not keep (it keeps: {shown})",
                        loc_of(ref.offset),
                        f"add {ref.name!r} to the aggregation's `by (...)`, or drop it from the text",
                    )
