"""Targets, links into live UIs: an alert's query in Grafana Explore and in Prometheus' graph
page, and a new Alertmanager silence for it (from targets.*.url; none when a URL is unset).

The query opened is the value the alert compares (`q` of `q > 0.05`) when it has that form, so
the graph shows the whole curve and not only the points past the threshold; any other alert
opens its whole expression.
"""
from __future__ import annotations

import json

from compiler.dialects.promql import to_promql
from compiler.expr.thresholds import threshold
from compiler.model import Alert, Catalog, Service
from compiler.targets.prometheus import alert_labels

# How far back the graphs open: long enough to see the baseline before the alert.
RANGE = "6h"

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"


def linked_query(alert: Alert) -> str:
    """The PromQL the links open."""
    found = threshold(alert.expr.tree)
    return to_promql(found.query if found else alert.expr.tree)


def explore_url(catalog: Catalog, query: str) -> str:
    """Grafana Explore on the catalog's Prometheus data source (Explore URL schema version 1:
    `panes` holds each pane's data source, queries and range as JSON)."""
    if not catalog.settings.grafana.url:
        return ""
    head, tail = catalog.once(("ui_links", "explore"), lambda: _explore_frame(catalog))
    # The query is a JSON string inside the percent-encoded JSON: encoded alone, it lands in
    # the frame as it would in the whole.
    return head + quote_all(json.dumps(query)) + tail


_HOLE = "\0query\0"


def _explore_frame(catalog: Catalog) -> tuple[str, str]:
    """The Explore URL before and after its query, the same for every alert of a catalog."""
    grafana = catalog.settings.grafana
    source = {"type": "prometheus", "uid": grafana.datasource_uid}
    panes = {"a": {"datasource": grafana.datasource_uid,
                   "queries": [{"refId": "A", "expr": _HOLE, "datasource": source}],
                   "range": {"from": f"now-{RANGE}", "to": "now"}}}
    # Keys sorted: the query comes after the data source's uid (whatever it holds).
    before, _, after = json.dumps(panes, separators=(",", ":"), sort_keys=True).rpartition(json.dumps(_HOLE))
    return f"{grafana.url}/explore?schemaVersion=1&panes={quote_all(before)}", quote_all(after)


def prometheus_url(catalog: Catalog, query: str) -> str:
    """Prometheus' expression browser on a graph: /graph before Prometheus 3, /query since."""
    base = catalog.settings.prometheus_url
    if not base:
        return ""
    modern = catalog.settings.prometheus_version >= (3, 0)
    params = {"g0.expr": query, "g0.tab": "graph" if modern else "0", "g0.range_input": RANGE}
    query_string = "&".join(f"{quote_all(key)}={quote_all(value)}" for key, value in params.items())
    return f"{base}/{'query' if modern else 'graph'}?{query_string}"


def silence_url(catalog: Catalog, service: Service, alert: Alert) -> str:
    """Alertmanager's new-silence form, with matchers for this alert of this service."""
    base = catalog.settings.alertmanager.url
    if not base:
        return ""
    labels = {"alertname": alert.name, "service": alert_labels(alert, service)["service"]}
    matchers = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{base}/#/silences/new?filter={quote_all('{' + matchers + '}')}"


# `quote(text, safe="")` (RFC 3986: unreserved characters stay, every other UTF-8 byte becomes
# %XX) as one table lookup per byte in C: quote() loops over the bytes in Python, and the links
# of every alert page are made of long JSON and PromQL texts.
_PERCENT = {byte: chr(byte) if chr(byte) in _UNRESERVED else f"%{byte:02X}" for byte in range(256)}


def quote_all(text: str) -> str:
    """`text` percent-encoded, nothing left safe (what `urllib.parse.quote(text, safe="")` gives)."""
    return text.encode("utf-8").decode("latin-1").translate(_PERCENT)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def alert_links(catalog: Catalog, service: Service, alert: Alert) -> list[tuple[str, str]]:
    """(label key, URL) of every link that the settings allow, in a fixed order."""
    query = linked_query(alert)
    found = [("open_explore", explore_url(catalog, query)),
             ("open_prometheus", prometheus_url(catalog, query)),
             ("silence", silence_url(catalog, service, alert))]
    return [(label, url) for label, url in found if url]


__all__ = ["alert_links", "explore_url", "linked_query", "prometheus_url", "quote_all", "silence_url"]
