"""Datadog target, SLOs: each SLO compiled for Datadog as a metric-based SLO object (the create
payload of `POST /api/v1/slo`) and each of its tiers as an `slo alert` burn-rate monitor.

- The SLO's numerator counts good events and its denominator all events, each a
  `sum:<metric>{scope}.as_count()` query over the metrics the Agent's OpenMetrics check submits
  (counters as `.count`, histogram buckets as `.bucket` counts whose `le` label arrives as the
  `upper_bound` tag); a bad/total SLI's numerator is total - bad. Its one threshold is the
  objective over the window, which Datadog takes only as 7d, 30d or 90d.
- A tier's monitor is `burn_rate("<slo id>").over("<window>").long_window("<n>h")
  .short_window("<n>m") > <factor>`, Datadog's multiwindow burn-rate alert with the same factor
  and windows (https://docs.datadoghq.com/service_management/service_level_objectives/burn_rate/:
  a long window of 1 to 48 whole hours, a short one in minutes, shorter than the long one).
  The SLO's id only exists once Datadog has created it: the file names the SLO by its moncat id,
  `burn_rate("moncat-slo:<service>/<slo>")`, and `apply datadog` writes the real id in.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from compiler.artifacts import ManagedObject
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.dialects import datadog_filters as filters
from compiler.dialects.datadog_names import BUCKETS, COUNT, DISTRIBUTION, Naming
from compiler.expr import ast
from compiler.model import Catalog, Service
from compiler.slos import sli as slis
from compiler.slos.model import SLO, Tier
from compiler.slos.tiers import DAY, HOUR, MINUTE, duration, plain
from compiler.targets.datadog import messages
from compiler.targets.datadog.monitors import TARGET, monitor_tags
from compiler.targets.prometheus import runbook_url

CODE = "MC809"
TIMEFRAMES = {7 * DAY: "7d", 30 * DAY: "30d", 90 * DAY: "90d"}
LONG_WINDOW_MAX = 48 * HOUR
REFERENCE = "moncat-slo:"  # burn_rate("moncat-slo:<service>/<slo>") until apply knows the id


class Unsupported(Exception):
    """What Datadog cannot express of an SLO, where, and how to fix it."""

    def __init__(self, message: str, loc: Loc, hint: str):
        super().__init__(message)
        self.diagnostic = error(CODE, message, loc, hint)


def reference(slo: SLO) -> str:
    return REFERENCE + slo.key


def page_url(catalog: Catalog, slo: SLO) -> str:
    """The SLO's runbook page."""
    return f"{catalog.settings.runbooks_base_url}/{slo.service}/slos/{slo.id}.html"


def _leave_out(slo: SLO) -> str:
    return (f"leave Datadog out with `targets: [prometheus, grafana]` on SLO {slo.id!r}")


def _count(sel: ast.Selector, naming: Naming, slo: SLO) -> str:
    name = sel.metric or ""
    found = naming.series.get(name)
    loc = slo.spec.sli.loc
    if found is None or found.kind not in (COUNT, BUCKETS):
        why = ("its buckets are collected as a distribution, and Datadog documents no query "
               "string for the count of a distribution's values below a threshold"
               if found is not None and found.kind == DISTRIBUTION else
               f"Datadog does not receive {name} as a count"
               + (f" ({found.why} is off)" if found is not None and found.why else ""))
        # A histogram's `_count` is missing only while its buckets are a distribution: turning
        # that off brings both the buckets and the count a latency SLI reads.
        buckets = found is not None and (found.kind == DISTRIBUTION or found.why)
        hint = (("set targets.datadog.histogram_buckets_as_distributions: false (the buckets then "
                 "arrive as .bucket counts tagged upper_bound, the _count as a count), or "
                 if buckets else "")
                + (f"{found.why}: true (the _count as a count), or "
                   if found is not None and found.why and slo.spec.sli.kind == "events" else "")
                + _leave_out(slo))
        raise Unsupported(f"SLO {slo.id!r} has no Datadog SLI: {why}", loc, hint)
    matchers = sel.matchers
    if found.kind == BUCKETS:
        # The OpenMetrics check renames a bucket's `le` label to the `upper_bound` tag.
        matchers = tuple(dataclasses.replace(m, name="upper_bound") if m.name == "le" else m
                         for m in matchers)
    try:
        scope = filters.scope(matchers)
    except filters.FilterError as exc:
        raise Unsupported(f"SLO {slo.id!r} has no exact Datadog SLI: {exc.message}", loc,
                          "use matchers Datadog filters exactly (literals, lists, prefixes), or "
                          + _leave_out(slo)) from None
    return f"sum:{found.name}{scope}.as_count()"


def sli_queries(slo: SLO, sel: slis.Selectors, naming: Naming) -> tuple[str, str]:
    """(numerator, denominator): good events and all events. Raises Unsupported."""
    total = _count(sel.total, naming, slo)
    if sel.good is not None:
        return _count(sel.good, naming, slo), total
    assert sel.bad is not None
    return f"{total} - {_count(sel.bad, naming, slo)}", total


def timeframe(catalog: Catalog, slo: SLO) -> str:
    found = TIMEFRAMES.get(slo.window_ms)
    if found is None:
        defaults = catalog.settings.slos
        where = slo.spec.field_locs.get("window") or (
            defaults.field_locs.get("window") if defaults is not None and defaults.window_ms else None
        ) or slo.loc
        raise Unsupported(f"SLO {slo.id!r}: Datadog SLOs have 7d, 30d or 90d windows, not "
                          f"{duration(slo.window_ms)}", where,
                          f"use one of those windows, or {_leave_out(slo)}")
    return found


def windows(slo: SLO, tier: Tier) -> tuple[str, str]:
    """The burn-rate monitor's long (whole hours, 1-48) and short (whole minutes) windows."""
    where = tier.field_locs.get("long", tier.loc)
    if tier.long_ms % HOUR or not HOUR <= tier.long_ms <= LONG_WINDOW_MAX:
        raise Unsupported(
            f"tier {tier.id!r} of SLO {slo.id!r}: Datadog's burn-rate monitors take a long window "
            f"of 1 to 48 whole hours, not {duration(tier.long_ms)}", where,
            f"change the tier's `long:`, or leave Datadog out with `targets: [prometheus, grafana]` "
            f"on tier {tier.id}")
    if tier.short_ms % MINUTE:
        raise Unsupported(
            f"tier {tier.id!r} of SLO {slo.id!r}: Datadog's short window is whole minutes, not "
            f"{duration(tier.short_ms)}", tier.field_locs.get("short", tier.loc),
            "change the tier's `short:`")
    return f"{tier.long_ms // HOUR}h", f"{tier.short_ms // MINUTE}m"


def burn_query(catalog: Catalog, slo: SLO, tier: Tier, slo_id: str | None = None) -> str:
    long, short = windows(slo, tier)
    return (f'burn_rate("{slo_id or reference(slo)}").over("{timeframe(catalog, slo)}")'
            f'.long_window("{long}").short_window("{short}") > {plain(tier.factor)}')


def metrics_of(catalog: Catalog) -> dict:
    """Every metric of the catalog by name (an SLI may read another service's)."""
    return {m.name: m for svc in catalog.services for m in svc.metrics.values()}


def problems(catalog: Catalog, service: Service, slo: SLO, naming: Naming,
             metrics: dict) -> list[Diagnostic]:
    """Everything of the SLO Datadog cannot express, as diagnostics (empty: it compiles)."""
    out: list[Diagnostic] = []
    steps = [lambda: timeframe(catalog, slo)]
    sel, _ = slis.selectors(slo.spec.sli, metrics)
    if sel is not None:
        steps.append(lambda: sli_queries(slo, sel, naming))
    steps += [(lambda t=t: windows(slo, t)) for t in slo.tiers if t.compiled_for(TARGET)]
    for step in steps:
        try:
            step()
        except Unsupported as exc:
            if exc.diagnostic not in out:
                out.append(exc.diagnostic)
    return out


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number == int(number) else number


def slo_object(catalog: Catalog, service: Service, slo: SLO, sel: slis.Selectors,
               naming: Naming) -> dict[str, Any]:
    numerator, denominator = sli_queries(slo, sel, naming)
    title = slo.spec.title or slo.id
    description = (slo.spec.description.strip() + "\n\n" if slo.spec.description else "") + (
        f"Runbook: {page_url(catalog, slo)}\n"
        f"Managed by moncat ({slo.key}): edit the catalog, not this SLO.")
    tags = {f"service:{service.id}", "managed-by:moncat", f"moncat-id:{slo.key}"}
    if service.team:
        tags.add(f"team:{service.team}")
    tags.update(f"{k}:{v}" for k, v in slo.spec.labels)
    return {
        "name": f"[{service.id}] {title}",
        "type": "metric",
        "description": description,
        "query": {"numerator": numerator, "denominator": denominator},
        "thresholds": [{"timeframe": timeframe(catalog, slo), "target": _number(slo.objective)}],
        "tags": sorted(t.lower() for t in tags),
    }


def burn_monitor(catalog: Catalog, service: Service, slo: SLO, tier: Tier
                 ) -> tuple[dict[str, Any], list[Diagnostic]]:
    alert = service.alerts[tier.alert]
    severity = service.severity(alert.severity, catalog.severities)
    assert severity is not None  # link reported an unknown severity already
    summary, diags = messages.translate(alert.summary, (), alert, "summary")
    description, found = messages.translate(alert.description, (), alert, "description")
    diags += found
    mentions, found = messages.handles(catalog, alert, service, severity)
    diags += found
    options: dict[str, Any] = {"thresholds": {"critical": _number(tier.factor)}, "include_tags": True}
    dd = catalog.settings.datadog
    if dd.renotify_interval_ms and severity.page:
        options["renotify_interval"] = dd.renotify_interval_ms // MINUTE
    body = {
        "name": f"[{service.id}] {summary}",
        "type": "slo alert",
        "query": burn_query(catalog, slo, tier),
        "message": messages.message(catalog, alert, severity, summary,
                                    f"{description}\nSLO: {page_url(catalog, slo)}", mentions,
                                    False, False, runbook_url(catalog, alert)),
        "tags": monitor_tags(service, alert),
        "priority": severity.priority,
        "options": options,
    }
    return body, diags


def build_slos(catalog: Catalog, service: Service, naming: Naming
               ) -> tuple[list[tuple[str, dict, ManagedObject]], list[Diagnostic]]:
    """(path, payload, manifest entry) of the service's SLO objects and burn-rate monitors."""
    metrics = metrics_of(catalog)
    out: list[tuple[str, dict, ManagedObject]] = []
    diags: list[Diagnostic] = []
    for slo in service.slos.values():
        if not slo.compiled_for(TARGET):
            continue
        sel, _ = slis.selectors(slo.spec.sli, metrics)
        if sel is None or problems(catalog, service, slo, naming, metrics):
            continue  # reported by checks/slo_datadog.py
        body = slo_object(catalog, service, slo, sel, naming)
        out.append((f"datadog/slos/{service.id}/{slo.id}.json", body,
                    ManagedObject(slo.key, "slo", TARGET, slo.loc, body)))
        for tier in slo.tiers:
            if not tier.compiled_for(TARGET):
                continue
            monitor, found = burn_monitor(catalog, service, slo, tier)
            diags += found
            alert = service.alerts[tier.alert]
            out.append((f"datadog/monitors/{service.id}/{alert.name}.json", monitor,
                        ManagedObject(alert.id, "monitor", TARGET, alert.loc, monitor)))
    return out, diags


_BURN = re.compile(r'burn_rate\("(?P<id>[^"\s]+)"\)\.over\("(?P<over>7d|30d|90d)"\)'
                   r'\.long_window\("(?P<long>[0-9]+)h"\)\.short_window\("(?P<short>[0-9]+)m"\)'
                   r' (?P<op>>=|>) (?P<value>[0-9]+(?:\.[0-9]+)?)')


def check_burn_monitor(body: dict[str, Any]) -> list[str]:
    """Problems of an `slo alert` monitor against the documented burn-rate query
    (`burn_rate("<slo id>").over("<7d|30d|90d>").long_window("<1-48>h").short_window("<n>m")
    > <burn rate>`) and its critical threshold."""
    query = body.get("query", "")
    found = _BURN.fullmatch(query)
    if found is None:
        return [f"query {query!r} is not a burn_rate(...) SLO alert query"]
    out = []
    long, short = int(found["long"]), int(found["short"])
    if not 1 <= long <= LONG_WINDOW_MAX // HOUR:
        out.append(f"long window {long}h is outside 1h-48h")
    if not 0 < short < long * 60:
        out.append(f"short window {short}m is not shorter than the long window {long}h")
    critical = ((body.get("options") or {}).get("thresholds") or {}).get("critical")
    if critical is None or float(critical) != float(found["value"]):
        out.append(f"options.thresholds.critical {critical!r} is not the query's {found['value']}")
    return out
