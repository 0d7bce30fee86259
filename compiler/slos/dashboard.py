"""Link stage, SLO dashboard: one catalog dashboard per service with a row per SLO (SLI against
the objective, error budget left, burn rate per tier with the tier's threshold, time until the
budget is spent). Grafana and Datadog build it like any other catalog dashboard."""
from __future__ import annotations

from compiler import model
from compiler.expr.parse import parse
from compiler.slos.model import SLO
from compiler.slos.tiers import duration, plain

ID = "slos"


def _query(source: str, legend: str, loc) -> model.Query:
    return model.Query(model.Expression(source, parse(source), loc), legend)


def _row(slo: SLO, words: dict[str, str]) -> model.Row:
    loc, window = slo.loc, duration(slo.window_ms)
    fastest = slo.tiers[0].long_ms if slo.tiers else min(slo.errors)
    sli_windows = sorted({slo.window_ms, fastest})
    panels = [
        model.Panel(words["panel_sli"], "timeseries", tuple(
            [_query(f"1 - {slo.errors[w]}", words["legend_sli"].format(window=duration(w)), loc)
             for w in sli_windows]
            + [_query(slo.objective_rule, words["legend_objective"], loc)]), loc, unit="percentunit",
            # An absent SLI shows here first: its alert links to this panel.
            alerts=(slo.absent_alert,) if slo.absent_alert else ()),
        model.Panel(words["panel_budget"].format(window=window), "timeseries",
                    (_query(slo.remaining_rule, "", loc),), loc, unit="percentunit"),
    ]
    budget = plain(slo.budget)
    for tier in slo.tiers:
        long, short = duration(tier.long_ms), duration(tier.short_ms)
        # The error ratio divided by the budget is the burn rate: the tier's alert draws its
        # threshold, factor x budget, on this scale at the factor itself.
        panels.append(model.Panel(
            words["panel_burn"].format(tier=tier.id, factor=plain(tier.factor), long=long, short=short),
            "timeseries", (_query(f"{slo.errors[tier.long_ms]} / {budget}", long, loc),
                           _query(f"{slo.errors[tier.short_ms]} / {budget}", short, loc)),
            loc, unit="short", alerts=(tier.alert,)))
    seconds = slo.window_ms // 1000
    panels.append(model.Panel(
        words["panel_exhaustion"].format(long=duration(fastest)), "stat",
        (_query(f"clamp_min({slo.remaining_rule}, 0) * {seconds} / {slo.burn_rule}", "", loc),),
        loc, unit="s"))
    title = slo.spec.title or slo.id
    return model.Row(f"{title} ({plain(slo.objective)}% over {window})", tuple(panels))


def build(service: str, title: str, words: dict[str, str], slos: list[SLO]) -> model.Dashboard:
    longest = max(s.window_ms for s in slos)
    return model.Dashboard(
        service, ID, words["dashboard_title"].format(service=title),
        tuple(_row(s, words) for s in slos), slos[0].loc,
        words["dashboard_description"].format(service=title), ("slo",), duration(longest))
