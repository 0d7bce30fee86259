"""Runbooks target, SLO pages: what an SLO's page shows (definition, SLI queries per target,
budget, tiers with their windows, factors, severities and detection times)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from compiler.dialects.datadog_names import naming
from compiler.model import Catalog, Service
from compiler.slos import sli as slis
from compiler.slos.model import SLO, Tier
from compiler.slos.tiers import duration, plain
from compiler.targets.datadog.slos import Unsupported, burn_query, sli_queries


@dataclass(frozen=True)
class TierRow:
    tier: Tier
    long: str
    short: str
    factor: str
    threshold: str
    consumed: str  # percent of the budget spent in `long` at the factor
    detection: str  # how long after every event fails the alert fires (for included)
    exhaustion: str  # how long the budget lasts at the factor
    datadog: str  # the burn-rate monitor's query, when compiled for Datadog


@dataclass(frozen=True)
class SloFacts:
    slo: SLO
    objective: str
    budget: str  # percent of events
    window: str
    kind: str  # events | latency
    counted: str  # PromQL selector of good or bad events
    total: str
    counted_is_good: bool
    ratio: str  # the error ratio over the fastest tier's long window, as recorded
    ratio_window: str
    le: str
    records: list[tuple[str, str]] = field(default_factory=list)  # (name, PromQL)
    tiers: list[TierRow] = field(default_factory=list)
    numerator: str = ""
    denominator: str = ""


def facts(catalog: Catalog, service: Service, slo: SLO) -> SloFacts:
    metrics = {m.name: m for s in catalog.services for m in s.metrics.values()}
    sel, _ = slis.selectors(slo.spec.sli, metrics)
    assert sel is not None  # an SLO whose selectors fail is not expanded
    fastest = min((t.long_ms for t in slo.tiers), default=min(slo.errors))
    numerator = denominator = ""
    names = naming(catalog, service) if catalog.settings.datadog.enabled else None
    if names is not None and slo.compiled_for("datadog"):
        try:
            numerator, denominator = sli_queries(slo, sel, names)
        except Unsupported:
            pass
    rows = []
    for tier in slo.tiers:
        query = ""
        if names is not None and tier.compiled_for("datadog") and slo.compiled_for("datadog"):
            try:
                query = burn_query(catalog, slo, tier)
            except Unsupported:
                query = ""
        rows.append(TierRow(
            tier, duration(tier.long_ms), duration(tier.short_ms), plain(tier.factor),
            plain(tier.threshold),
            plain((tier.budget_consumed(slo.window_ms) * 100).quantize(Decimal("0.01")).normalize()),
            duration(tier.detection_ms(Decimal(1), slo.budget) // 1000 * 1000 + tier.for_ms or 1000),
            duration(int(slo.window_ms / tier.factor) // 60_000 * 60_000 or 60_000), query))
    records = [(name, str(service.recording_rules[name].expr.text)) for name in
               [*(slo.errors[w] for w in sorted(slo.errors)), slo.objective_rule, slo.budget_rule,
                slo.remaining_rule, slo.burn_rule, slo.period_burn_rule]
               if name in service.recording_rules]
    return SloFacts(
        slo, plain(slo.objective), plain(slo.budget * 100), duration(slo.window_ms),
        slo.spec.sli.kind, slis.promql(sel.counted), slis.promql(sel.total), sel.good is not None,
        slis.promql(slis.error_ratio(sel, fastest)), duration(fastest), sel.le, records, rows,
        numerator, denominator)
