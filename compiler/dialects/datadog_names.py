"""Datadog dialect, metric names: catalog series to the names the Agent's OpenMetrics check submits.

The mapping follows https://docs.datadoghq.com/integrations/guide/prometheus-metrics/: a
counter is submitted as a monotonic count named without `_total` plus `.count`; a gauge keeps its
name; a histogram's `_count` and `_sum` become `.count` and `.sum` counts, and its buckets
either `.bucket` counts or, with `histogram_buckets_as_distributions`, a distribution named after
the histogram (then `_count`/`_sum` are collected only with
`collect_counters_with_distributions`); a summary's quantiles become a `.quantile` gauge. Every
name starts with the check's `namespace`. A metric's own `datadog:` name replaces all that.
"""
from __future__ import annotations

import dataclasses
import re
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from compiler.expr import ast
from compiler.model import Catalog, DatadogSettings, Metric, Service

METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,199}")

GAUGE, COUNT, DISTRIBUTION, BUCKETS, QUANTILE, MISSING = (
    "gauge", "count", "distribution", "buckets", "quantile", "missing")


@dataclass(frozen=True)
class Series:
    """How one Prometheus series name reads in Datadog."""

    name: str   # the Datadog metric name
    kind: str   # GAUGE, COUNT, DISTRIBUTION, BUCKETS, QUANTILE or MISSING
    labels: tuple[str, ...] = ()  # the labels the catalog declares for it
    why: str = ""  # for MISSING: which setting would collect it
    label_values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # closed lists of label values

    def values_of(self, label: str) -> tuple[str, ...] | None:
        return next((vs for k, vs in self.label_values if k == label), None)


@dataclass(frozen=True)
class Naming:
    """Everything the dialect needs to know about one service's metrics."""

    series: Mapping[str, Series] = field(default_factory=dict)
    rules: Mapping[str, ast.Expr] = field(default_factory=dict)  # recording rule -> its tree
    scrape_labels: tuple[str, ...] = ()  # labels the scrape adds that the Agent adds as tags

    def identity(self, found: Series) -> tuple[str, ...]:
        """The labels that tell one series of a metric from another in Datadog: those the catalog
        declares, and the scrape labels the Agent adds as tags."""
        return tuple(dict.fromkeys(l for l in (*found.labels, *self.scrape_labels) if l != "le"))


def namespace(settings: DatadogSettings, service: str) -> str:
    return settings.namespace.replace("{service}", service.replace("-", "_"))


def _strip_total(name: str) -> str:
    return name[: -len("_total")] if name.endswith("_total") else name


def naming(catalog: Catalog, service: Service) -> Naming:
    """The Datadog names of every series the service's queries may read (its own metrics first,
    then other services' ones, each under its own service's namespace). The catalog-wide maps
    are built once; each service only puts its own names in front."""
    return catalog.once(("datadog.naming", service.id), lambda: _naming(catalog, service))


def _naming(catalog: Catalog, service: Service) -> Naming:
    every_series, every_rule = catalog.once("datadog.names", lambda: _catalog_names(catalog))
    own_series, own_rules = _service_names(catalog.settings.datadog, service)
    return Naming(ChainMap(own_series, every_series), ChainMap(own_rules, every_rule),
                  catalog.settings.datadog.scrape_labels)


def _service_names(dd: DatadogSettings, svc: Service) -> tuple[dict[str, Series], dict[str, ast.Expr]]:
    prefix = namespace(dd, svc.id)
    series: dict[str, Series] = {}
    for m in svc.metrics.values():
        found = series_for(dd, prefix, m.name, m.type, m.datadog, m.labels, m.label_values)
        for key, value in found.items():
            series.setdefault(key, value)
    # A name several rules record is their union: no single tree to put in its place.
    return series, {r.name: r.expr.tree for r in svc.recording_rules.values() if not r.more}


def _catalog_names(catalog: Catalog) -> tuple[Mapping[str, Series], dict[str, ast.Expr]]:
    """Every service's names; where two services expose one name, the first in catalog order."""
    rules: dict[str, ast.Expr] = {}
    for svc in catalog.services:
        own = {r.name: r.expr.tree for r in svc.recording_rules.values() if not r.more}
        for key, tree in own.items():
            rules.setdefault(key, tree)
    return _CatalogSeries(catalog.settings.datadog, catalog.services), rules


class _CatalogSeries(Mapping[str, Series]):
    """Every service's series by Prometheus name, each made when first asked for: a service's
    queries read few of the others' series, and making all of them (6,800 at 10,000 alerts)
    cost every compile 0.015 s, a cached one changing one service included."""

    def __init__(self, dd: DatadogSettings, services: list[Service]):
        self.dd = dd
        self.where: dict[str, tuple[str, Metric]] = {}  # name -> namespace, metric exposing it
        self.made: dict[str, Series] = {}
        suffixes: dict[str, tuple[str, ...]] = {}  # metric type -> its series' suffixes
        for svc in services:
            prefix = namespace(dd, svc.id)
            for m in svc.metrics.values():
                if m.type not in suffixes:
                    suffixes[m.type] = tuple(k[1:] for k in _series_for(dd, "", "x", m.type, "", ()))
                entry = (prefix, m)
                for suffix in suffixes[m.type]:
                    self.where.setdefault(m.name + suffix, entry)

    def __getitem__(self, key: str) -> Series:
        found = self.made.get(key)
        if found is None:
            entry = self.where[key]
            prefix, m = entry
            for name, series in series_for(self.dd, prefix, m.name, m.type, m.datadog, m.labels,
                                           m.label_values).items():
                if self.where.get(name) is entry:  # the metric's other series, where it is first
                    self.made[name] = series
            found = self.made[key]
        return found

    def __contains__(self, key: object) -> bool:
        return key in self.where

    def __iter__(self) -> Iterator[str]:
        return iter(self.where)

    def __len__(self) -> int:
        return len(self.where)


def series_for(dd: DatadogSettings, prefix: str, name: str, kind: str, explicit: str,
               labels: tuple[str, ...], values: tuple = ()) -> dict[str, Series]:
    """The series one catalog metric exposes, by Prometheus name."""
    out = _series_for(dd, prefix, name, kind, explicit, labels)
    return {k: dataclasses.replace(v, label_values=values) for k, v in out.items()} if values else out


def _series_for(dd: DatadogSettings, prefix: str, name: str, kind: str, explicit: str,
                labels: tuple[str, ...]) -> dict[str, Series]:
    def named(base: str) -> str:
        return explicit or (f"{prefix}.{base}" if prefix else base)

    if kind == "counter":
        return {name: Series(explicit or named(_strip_total(name)) + dd.counter_suffix, COUNT, labels)}
    if kind == "gauge":
        return {name: Series(named(name), GAUGE, labels)}
    base = named(name)
    if kind == "summary":
        return {name: Series(base + ".quantile", QUANTILE, labels),
                name + "_count": Series(base + ".count", COUNT, labels),
                name + "_sum": Series(base + ".sum", COUNT, labels)}
    if not (dd.histogram_buckets_as_distributions or dd.collect_counters_with_distributions):
        return {name + "_bucket": Series(base + ".bucket", BUCKETS, labels),
                name + "_count": Series(base + ".count", COUNT, labels),
                name + "_sum": Series(base + ".sum", COUNT, labels)}
    out = {name + "_bucket": Series(base, DISTRIBUTION, labels)}
    for suffix in ("_count", "_sum"):
        out[name + suffix] = (Series(base + "." + suffix[1:], COUNT, labels)
                              if dd.collect_counters_with_distributions else
                              Series("", MISSING, labels, "collect_counters_with_distributions"))
    return out
