"""Check: annotation templates parse and read only labels the alert's result can carry."""
from __future__ import annotations

from typing import Iterator

from compiler.diagnostics import Diagnostic, error, warning
from compiler.expr import templates as tpl
from compiler.expr.labels import output_labels
from compiler.link import series_names
from compiler.model import Alert, Catalog, Metric, RecordingRule


def alert_labels(alert: Alert, catalog: Catalog, names: dict) -> frozenset | None:
    """Labels a firing alert of `alert` carries from its expression (None: cannot tell)."""
    def labels_of(metric: str):
        entity = names.get(metric)
        if isinstance(entity, Metric):
            extra = {"le"} if metric.endswith("_bucket") and entity.type == "histogram" else set()
            extra |= {"quantile"} if entity.type == "summary" and metric == entity.name else set()
            return frozenset(entity.labels) | extra
        if isinstance(entity, RecordingRule):
            inner = output_labels(entity.expr.tree, labels_of)
            return None if inner is None else inner | {k for k, _ in entity.labels}
        return None
    return output_labels(alert.expr.tree, labels_of)


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    names = series_names(catalog)
    for svc in catalog.services:
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
                if not computed:
                    available = alert_labels(alert, catalog, names)
                    # $labels holds the result series' labels only: Prometheus adds the
                    # rule's own labels after rendering the templates.
                    computed = True
                if available is None:
                    continue
                for ref in tpl.label_refs(text):
                    if ref.name not in available:
                        shown = ", ".join(sorted(available)) or "none"
                        # An imported rule renders <no value> there in Prometheus too: a
                        # warning until someone reviews it (and removes `imported: true`).
                        yield (warning if alert.imported else error)(
                            "MC303",
                            f"{field} reads label {ref.name!r}, which the alert's expression does "
                            f"not keep (it keeps: {shown})",
                            loc_of(ref.offset),
                            f"add {ref.name!r} to the aggregation's `by (...)`, or drop it from the text",
                        )
