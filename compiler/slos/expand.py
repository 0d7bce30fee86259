"""Link stage, SLO expansion: each SLO of a service becomes recording rules (the error ratio per
window, shared by the tiers that read it; objective, budget, budget left and burn rates), one
burn-rate alert per tier with its generated tests, an SLI-absent alert, and a row of the
service's SLO dashboard. The targets then compile them like any other rule, alert and dashboard.
"""
from __future__ import annotations

import dataclasses
import math
import re
from decimal import Decimal
from typing import Any

from compiler import model
from compiler.diagnostics import Diagnostic, error
from compiler.expr.parse import parse
from compiler.slos import dashboard, scenarios, series, sli, text, tiers
from compiler.slos.model import SLO, SLO_MONITOR, TARGETS, SloSpec, Tier
from compiler.slos.tiers import duration, plain

OBJECTIVE = "MC801"
NO_SERIES = "MC808"
COLLISION = "MC810"
HUNDRED = Decimal(100)


def base_name(service: str, slo: str) -> str:
    """The part of every rule name that says whose SLO it is: shop_checkout_latency."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", f"{service}_{slo}")


def camel(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^a-zA-Z0-9]+", text) if p)


def expression(source: str, loc) -> model.Expression:
    return model.Expression(source, parse(source), loc)


def _feed(sel: sli.Selectors) -> scenarios.Feed | None:
    """The series a generated test writes for the SLI, or None when no label set fits."""
    counted, total = sel.counted, sel.total
    role = "good" if sel.good is not None else "bad"
    mine = series.labels_for(counted.matchers)
    if counted.metric == total.metric:
        rest = series.labels_for(total.matchers, counted.matchers)
        if mine is None or rest is None:
            return None
        other = "bad" if role == "good" else "good"
        return scenarios.Feed(((series.selector_text(counted.metric or "", mine), role),
                               (series.selector_text(total.metric or "", rest), other)))
    everything = series.labels_for(total.matchers)
    if mine is None or everything is None:
        return None
    return scenarios.Feed(((series.selector_text(counted.metric or "", mine), role),
                           (series.selector_text(total.metric or "", everything), "all")))


def _examples(tier: Tier, loc) -> tuple[model.Example, ...]:
    return tuple(model.Example(fires=s.fires, series=s.series, loc=loc, interval_ms=s.step_ms,
                               at_ms=s.at_ms, comment=s.comment) for s in tier.scenarios)


class Expansion:
    """One service's SLOs being expanded: what they generate, and what was wrong."""

    def __init__(self, settings: model.Settings, service: str, sections: dict[str, dict],
                 metrics: dict[str, model.Metric], fields: dict[str, Any]):
        self.settings = settings
        self.service = service
        self.sections = sections
        self.metrics = metrics
        self.title = str(fields.get("title") or service)
        self.words = text.words(str(fields.get("language") or settings.language or "en"))
        self.diags: list[Diagnostic] = []
        self.rules: dict[str, model.RecordingRule] = {}
        self.alerts: dict[str, model.Alert] = {}

    def run(self) -> dict[str, SLO]:
        out: dict[str, SLO] = {}
        for name, spec in self.sections.get("slos", {}).items():
            found = self.one(spec)
            if found is not None:
                out[name] = found
        if out:
            board = dashboard.build(self.service, self.title, self.words, list(out.values()))
            self._add("dashboards", board.id, board, next(iter(out.values())).loc)
            out = {k: dataclasses.replace(v, dashboard=board.id) for k, v in out.items()}
        for name, rule in self.rules.items():
            self._add("recording_rules", name, rule, rule.loc)
        for name, alert in self.alerts.items():
            self._add("alerts", name, alert, alert.loc)
        return out

    def _add(self, section: str, name: str, entity: Any, loc) -> None:
        existing = self.sections.setdefault(section, {})
        if name in existing:
            kind = section[:-1].replace("_", " ")
            self.diags.append(error(COLLISION, f"SLO {kind} {name!r} is already a {kind} of service "
                                    f"{self.service!r} (defined at {existing[name].loc})", loc,
                                    "rename the catalog's one, or give the SLO another "
                                    "`alert_name`"))
            return
        existing[name] = entity

    def one(self, spec: SloSpec) -> SLO | None:
        objective = spec.objective
        if not 0 < objective < HUNDRED:
            self.diags.append(error(OBJECTIVE, f"objective {plain(objective)} of SLO {spec.id!r} is "
                                    "not between 0 and 100", spec.at("objective"),
                                    "write the percent of good events, such as 99.9 (for 99.9%); "
                                    "100 leaves no error budget to alert on"))
            return None
        if objective <= 1:
            # 0.999 is a ratio where a percent belongs: as written it is 0.999% of good events,
            # and every tier would be refused as never firing (MC805), each hinting the wrong fix.
            percent = plain(objective * HUNDRED)
            self.diags.append(error(OBJECTIVE, f"objective {plain(objective)} of SLO {spec.id!r} reads "
                                    f"as {plain(objective)}% of good events: the objective is a percent",
                                    spec.at("objective"), f"write {percent} for {percent}%"))
            return None
        defaults = self.settings.slos or tiers.SloDefaults()
        window = spec.window_ms or defaults.window_ms or tiers.DEFAULT_WINDOW_MS
        budget = ((HUNDRED - objective) / HUNDRED).normalize()
        targets = tuple(t for t in TARGETS if not spec.targets or t in spec.targets)
        resolved, found = tiers.resolve_tiers(spec, defaults, window, budget, targets)
        self.diags += found
        absent, found = tiers.resolve_absent(spec, defaults, resolved)
        self.diags += found
        selectors, found = sli.selectors(spec.sli, self.metrics)
        self.diags += found
        if selectors is None or found:
            return None
        feed = _feed(selectors)
        if feed is None:
            self.diags.append(error(NO_SERIES, f"SLO {spec.id!r}: no example series fits the SLI's "
                                    "matchers", spec.sli.loc, "simplify the regex matchers (a "
                                    "literal, an alternation or a prefix is enough)"))
            return None
        base = base_name(self.service, spec.id)
        prefix = spec.alert_name or camel(spec.id)
        windows = sorted({window} | {t.long_ms for t in resolved} | {t.short_ms for t in resolved})
        errors = {w: f"slo:{base}_errors:ratio_rate{duration(w)}" for w in windows}
        fastest = resolved[0].long_ms if resolved else min(tiers.HOUR, window)
        errors.setdefault(fastest, f"slo:{base}_errors:ratio_rate{duration(fastest)}")
        tier_list = tuple(
            Tier(r.id, r.loc, r.factor, r.long_ms, r.short_ms, r.for_ms, r.severity, r.threshold,
                 f"{prefix}BurnRate{camel(r.id)}", r.targets,
                 scenarios.scenarios(r, budget, feed), r.locs)
            for r in resolved)
        slo = SLO(spec, budget, window, tier_list, errors,
                  objective_rule=f"slo:{base}_objective:ratio",
                  budget_rule=f"slo:{base}_error_budget:ratio",
                  remaining_rule=f"slo:{base}_error_budget_remaining:ratio",
                  burn_rule=f"slo:{base}_burn_rate:ratio_rate{duration(fastest)}",
                  period_burn_rule=f"slo:{base}_burn_rate:ratio_rate{duration(window)}",
                  targets=targets)
        self._records(slo, selectors)
        for tier in tier_list:
            self._burn_alert(slo, tier)
        if absent is not None:
            slo = self._absent_alert(slo, prefix, selectors, feed, *absent)
        return slo

    # --- recording rules ----------------------------------------------------------------------
    def _rule(self, slo: SLO, name: str, source: str, help_text: str) -> None:
        self.rules[name] = model.RecordingRule(self.service, name, expression(source, slo.loc),
                                               help_text, slo.loc, unit="ratio")

    def _records(self, slo: SLO, sel: sli.Selectors) -> None:
        objective, window = plain(slo.objective), duration(slo.window_ms)
        budget = plain(slo.budget)
        for w, name in sorted(slo.errors.items()):
            self._rule(slo, name, sli.promql(sli.error_ratio(sel, w)),
                       f"Error ratio of SLO {slo.key} over {duration(w)}: the share of bad events "
                       f"({objective}% of events must be good over {window}).")
        self._rule(slo, slo.objective_rule, f"vector({plain(slo.objective / HUNDRED)})",
                   f"Objective of SLO {slo.key}: the share of good events it promises.")
        self._rule(slo, slo.budget_rule, f"vector({budget})",
                   f"Error budget of SLO {slo.key}: the share of events that may be bad.")
        period = slo.errors[slo.window_ms]
        self._rule(slo, slo.remaining_rule, f"1 - {period} / {budget}",
                   f"Share of the error budget of SLO {slo.key} left over the last {window} "
                   "(below 0: overspent).")
        fastest = slo.tiers[0].long_ms if slo.tiers else min(tiers.HOUR, slo.window_ms)
        for name, w in ((slo.burn_rule, fastest), (slo.period_burn_rule, slo.window_ms)):
            self._rule(slo, name, f"{slo.errors[w]} / {budget}",
                       f"Burn rate of SLO {slo.key} over {duration(w)}: how many times faster "
                       f"than sustainable its budget burns (1 spends it in exactly {window}).")

    # --- alerts -------------------------------------------------------------------------------
    def _alert(self, slo: SLO, name: str, source: str, severity: str, severity_loc, for_ms: int,
               summary: str, description: str, labels: dict[str, str],
               examples: tuple[model.Example, ...], targets: tuple[str, ...],
               left_out: str = "") -> None:
        spec = slo.spec
        locs = {k: v for k, v in spec.field_locs.items() if k in ("notify", "procedure")
                or k.startswith("notify.")}
        locs.update({"name": spec.loc, "severity": severity_loc})
        self.alerts[name] = model.Alert(
            service=self.service, name=name, expr=expression(source, spec.loc), severity=severity,
            summary=summary, loc=spec.loc, for_ms=for_ms, notify=spec.notify,
            description=description, procedure=spec.procedure, dashboard=dashboard.ID,
            labels=tuple(sorted({**dict(spec.labels), **labels}.items())), examples=examples,
            targets=targets, field_locs=locs,
            # Why Datadog has no monitor of it: the runbook page says so where the query would be.
            datadog=model.DatadogAlert(reason=left_out) if left_out else None)

    def _title(self, slo: SLO) -> str:
        return slo.spec.title or self.words["title"].format(
            percent=plain(slo.objective), window=duration(slo.window_ms))

    def _burn_alert(self, slo: SLO, tier: Tier) -> None:
        threshold = plain(tier.threshold)
        source = (f"{slo.errors[tier.long_ms]} > {threshold} "
                  f"and {slo.errors[tier.short_ms]} > {threshold}")
        values = {"slo": slo.id, "title": self._title(slo), "factor": plain(tier.factor),
                  "long": duration(tier.long_ms), "short": duration(tier.short_ms),
                  "objective": plain(slo.objective), "window": duration(slo.window_ms),
                  "threshold": threshold, "budget": plain(slo.budget),
                  "exhaustion": duration(int(slo.window_ms / tier.factor) // 60_000 * 60_000
                                          or 60_000),
                  "consumed": plain((tier.budget_consumed(slo.window_ms) * 100)
                                    .quantize(Decimal("0.01")).normalize())}
        self._alert(slo, tier.alert, source, tier.severity,
                    tier.field_locs.get("severity", tier.loc), tier.for_ms,
                    self.words["burn_summary"].format(**values),
                    self.words["burn_description"].format(**values),
                    {"slo": slo.id, "slo_tier": tier.id}, _examples(tier, slo.loc),
                    tuple(SLO_MONITOR if t == "datadog" else t for t in tier.targets),
                    "" if tier.compiled_for("datadog") else _without_datadog(slo, tier))

    def _absent_alert(self, slo: SLO, prefix: str, sel: sli.Selectors, feed: scenarios.Feed,
                      for_ms: int, severity: str, severity_loc) -> SLO:
        targets = tuple(t for t in slo.targets if t != "datadog")  # absent() has no Datadog monitor
        if not targets:
            return slo
        total = sli.promql(sel.total)
        name = f"{prefix}SLIAbsent"
        interval = self.settings.evaluation_interval_ms
        key = series.selector_text(sel.total.metric or "", series.labels_for(sel.total.matchers) or {})
        live = 10
        stale_at = (live + 1) * interval
        at = stale_at + math.ceil(for_ms / interval) * interval + 2 * interval
        blanks = at // interval - (live + 1)
        quiet_at = math.ceil((for_ms + 2 * interval) / interval) * interval
        equal = tuple(sorted((m.name, m.value) for m in sel.total.matchers if m.op == "="))
        examples = (
            model.Example(True, ((key, f"0+1000x{live} stale _x{blanks}"),), slo.loc, at_ms=at,
                          labels=equal, comment="the series stops (a stale marker): absent() "
                          f"holds from {duration(stale_at)}, fires after `for`"),
            model.Example(False, ((key, f"0+1000x{quiet_at // interval}"),), slo.loc, at_ms=quiet_at,
                          comment="the series is scraped: quiet"),
        )
        values = {"title": self._title(slo), "total": total, "slo": slo.id}
        self._alert(slo, name, f"absent({total})", severity, severity_loc, for_ms,
                    self.words["absent_summary"].format(**values),
                    self.words["absent_description"].format(**values),
                    {"slo": slo.id}, examples, targets,
                    _without_datadog(slo, None) if not slo.compiled_for("datadog") else
                    "absent() alone has no Datadog metric monitor; in Datadog the SLO's burn-rate "
                    "monitors watch its SLI.")
        return dataclasses.replace(slo, absent_alert=name, absent_for_ms=for_ms,
                                   absent_severity=severity)


def _without_datadog(slo: SLO, tier: Tier | None) -> str:
    """Why an SLO's alert has no Datadog monitor."""
    if not slo.compiled_for("datadog"):
        return f"The `targets:` of SLO {slo.id} leave Datadog out."
    assert tier is not None
    if tier.long_ms > 48 * tiers.HOUR:
        return (f"Datadog's burn-rate monitors take a long window of 1 to 48 hours: tier {tier.id} "
                f"({duration(tier.long_ms)}) is compiled for Prometheus and Grafana only.")
    return f"The `targets:` of tier {tier.id} leave Datadog out."


def expand(settings: model.Settings, service: str, sections: dict[str, dict],
           metrics: dict[str, model.Metric], fields: dict[str, Any]
           ) -> tuple[dict[str, SLO], list[Diagnostic]]:
    """The service's SLOs expanded; their rules, alerts and dashboard added to `sections`."""
    expansion = Expansion(settings, service, sections, metrics, fields)
    found = expansion.run()
    return found, expansion.diags

