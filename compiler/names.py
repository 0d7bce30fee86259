"""Model helpers: every series name a query may read, and the labels an alert's result keeps."""
from __future__ import annotations

from compiler import model
from compiler.expr.labels import LabelSet, output_labels

# Series Prometheus itself writes; a query may read them without a catalog entry.
BUILTIN_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                   "scrape_samples_post_metric_relabeling", "scrape_series_added",
                   "ALERTS", "ALERTS_FOR_STATE"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count"),
            "counter": ("",), "gauge": ("",)}


def series_names(catalog: model.Catalog) -> dict[str, object]:
    """Every series name a query may read: metrics with their exposition suffixes, recording rules."""
    cached = _NAMES.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    names: dict[str, object] = {m: None for m in BUILTIN_METRICS}
    for svc in catalog.services:
        for m in svc.metrics.values():
            for suffix in SUFFIXES[m.type]:
                names[m.name + suffix] = m
        for r in svc.recording_rules.values():
            names[r.name] = r
    _NAMES.clear()  # one catalog at a time: checks ask for the same one repeatedly
    _NAMES[id(catalog)] = (catalog, names)
    return names


_NAMES: dict[int, tuple[model.Catalog, dict[str, object]]] = {}


def alert_labels(alert: model.Alert, catalog: model.Catalog, names: dict | None = None) -> LabelSet:
    """Labels a firing alert of `alert` carries from its expression (None: cannot tell), once
    per alert: several checks and the promtool tests ask. `names`: series_names(catalog)."""
    return catalog.once(("names.alert_labels", alert.id), lambda: _alert_labels(alert, catalog, names))


def _alert_labels(alert: model.Alert, catalog: model.Catalog, names: dict | None) -> LabelSet:
    names = series_names(catalog) if names is None else names

    def labels_of(metric: str):
        entity = names.get(metric)
        if isinstance(entity, model.Metric):
            extra = {"le"} if metric.endswith("_bucket") and entity.type == "histogram" else set()
            extra |= {"quantile"} if entity.type == "summary" and metric == entity.name else set()
            return frozenset(entity.labels) | extra
        if isinstance(entity, model.RecordingRule):
            inner = output_labels(entity.expr.tree, labels_of)
            return None if inner is None else inner | {k for k, _ in entity.labels}
        return None
    return output_labels(alert.expr.tree, labels_of)
