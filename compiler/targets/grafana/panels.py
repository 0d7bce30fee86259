"""Grafana target, panels: one catalog panel as a foundation-sdk panel, with its alerts'
thresholds (read from the alerts' expressions) as threshold lines or steps."""
from __future__ import annotations

import math
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import gauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import prometheus as prom_m

from compiler.dialects.promql import to_promql
from compiler.expr.shapes import Shape, plots, shape, skeleton
from compiler.expr.thresholds import FLIP, Threshold, conditions
from compiler.model import Catalog, Panel, Service
from compiler.targets.prometheus import runbook_url

DATASOURCE_VAR = "datasource"
DATASOURCE = dash_m.DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VAR + "}")
# Width and height on Grafana's 24-column grid: two time series side by side, four stats.
SIZE = {"timeseries": (12, 8), "stat": (6, 8), "gauge": (6, 8), "table": (24, 8)}
OK_COLOR, BAD_COLOR = "green", "red"


@dataclass(frozen=True)
class _Condition:
    """One comparison of an alert, analysed once: what it compares, on which scale."""

    alert: str
    rank: int  # the alert's position in the service, then the condition's in the alert
    cond: Threshold
    want: Shape
    key: tuple  # skeleton(want.core)


class AlertShapes:
    """A service's alert conditions with their shapes, indexed by the skeleton of what they
    compare (the query without its windows and matchers): a panel query can only plot a
    condition with the same skeleton, so a panel compares those few instead of re-analysing
    every alert of the service."""

    def __init__(self, service: Service):
        self.by_skeleton: dict[tuple, list[_Condition]] = {}
        rank = 0
        for name, alert in service.alerts.items():
            for cond in conditions(alert.expr.tree):
                want = shape(cond.query)
                if want.factor != 0:
                    key = skeleton(want.core)
                    self.by_skeleton.setdefault(key, []).append(_Condition(name, rank, cond, want, key))
                rank += 1

    @classmethod
    def of(cls, catalog: Catalog, service: Service) -> "AlertShapes":
        return catalog.once(("grafana.alert-shapes", service.id), lambda: cls(service))


def panel_thresholds(service: Service, panel: Panel,
                     shapes: AlertShapes | None = None) -> list[tuple[str, int, Threshold]]:
    """The thresholds of the service's alerts on what this panel plots, on the panel's scale:
    every condition whose query a panel query plots, windows and a constant factor aside (the
    alerts the panel names first). Each comes with its alert's name and the query's index."""
    shapes = shapes or AlertShapes(service)
    plotted = [shape(q.expr.tree) for q in panel.queries]
    keys = [skeleton(got.core) for got in plotted]
    named = {name: i for i, name in enumerate(panel.alerts)}
    candidates = sorted({id(c): c for key in set(keys) for c in shapes.by_skeleton.get(key, ())}.values(),
                        key=lambda c: (named.get(c.alert, len(named)), c.rank))
    found: list[tuple[str, int, Threshold]] = []
    for cand in candidates:
        cond, want = cand.cond, cand.want
        for index, (query, got) in enumerate(zip(panel.queries, plotted)):
            if keys[index] != cand.key or not plots(got.core, want.core):
                continue
            if got.factor is None or want.factor is None:
                # An unknown positive scale moves every threshold but zero.
                if cond.value != 0:
                    continue
                ratio = 1.0
            else:
                ratio = got.factor / want.factor
            op = cond.op if ratio > 0 else FLIP[cond.op]
            # 12 significant digits: 3 / 600 * 60 is 0.3, not 0.30000000000000004.
            value = float(f"{cond.value * ratio:.12g}")
            mine = Threshold(op, value, query.expr.tree)
            if all((i, t.op, t.value) != (index, op, value) for _, i, t in found):
                found.append((cand.alert, index, mine))
    return found


def _bad_intervals_steps(found: list[Threshold]) -> list[dash_m.Threshold]:
    """Threshold steps colouring where any of the conditions holds. A step covers values from
    its own up to the next; an `== v` condition gets a one-value step [v, next float)."""
    points = {c.value for c in found}
    points |= {math.nextafter(c.value, math.inf) for c in found if c.op in ("==", "!=")}
    ordered = sorted(points)

    def bad(x: float) -> bool:
        return any(c.holds(x) for c in found)

    def sample(i: int) -> float:
        here = ordered[i]
        if i + 1 < len(ordered):
            nxt = ordered[i + 1]
            return here if nxt == math.nextafter(here, math.inf) else (here + nxt) / 2
        return here + max(1.0, abs(here))

    base = ordered[0] - max(1.0, abs(ordered[0]))
    steps = [dash_m.Threshold(value=None, color=BAD_COLOR if bad(base) else OK_COLOR)]
    # One step per threshold, even when its colour repeats: each is drawn as a line.
    steps += [dash_m.Threshold(value=value, color=BAD_COLOR if bad(sample(i)) else OK_COLOR)
              for i, value in enumerate(ordered)]
    return steps


def threshold_steps(found: list[Threshold]) -> list[dash_m.Threshold]:
    if not found:
        return [dash_m.Threshold(value=None, color=OK_COLOR)]
    return _bad_intervals_steps(found)


def _thresholds(found: list[Threshold]) -> dash_b.ThresholdsConfig:
    return dash_b.ThresholdsConfig().mode(dash_m.ThresholdsMode.ABSOLUTE).steps(threshold_steps(found))


def ref_id(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"Q{index}"


def _target(panel: Panel, index: int) -> prometheus.Dataquery:
    query = panel.queries[index]
    target = (prometheus.Dataquery()
              .ref_id(ref_id(index))
              .expr(to_promql(query.expr.tree))
              .legend_format(query.legend or "__auto")
              .datasource(DATASOURCE))
    if panel.type == "table":
        return target.instant().format(prom_m.PromQueryFormat.TABLE)
    return target.range()


def _typed(panel: Panel) -> cogbuilder.Builder[dash_m.Panel]:
    """The panel builder of the catalog's type, with that type's options all set."""
    if panel.type == "stat":
        return (stat.Panel().graph_mode(common.BigValueGraphMode.AREA)
                .color_mode(common.BigValueColorMode.VALUE)
                .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if panel.type == "gauge":
        return (gauge.Panel().show_threshold_markers(True)
                .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if panel.type == "table":
        return (table.Panel().show_header(True).frame_index(0).cell_height(common.TableCellHeight.SM)
                .align(common.FieldTextAlignment.AUTO))
    legend = (common_b.VizLegendOptions().show_legend(True)
              .display_mode(common.LegendDisplayMode.LIST)
              .placement(common.LegendPlacement.BOTTOM).calcs([]))
    tooltip = (common_b.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
               .sort(common.SortOrder.DESCENDING))
    return timeseries.Panel().legend(legend).tooltip(tooltip)


def build_panel(catalog: Catalog, service: Service, panel: Panel,
                panel_id: int) -> cogbuilder.Builder[dash_m.Panel]:
    found = panel_thresholds(service, panel, AlertShapes.of(catalog, service))
    # Thresholds are panel-wide: Grafana's schema has no per-query override (a refId matcher's
    # options would be a string where the schema wants an object), so every line is drawn.
    width, height = SIZE[panel.type]
    builder = (_typed(panel).id(panel_id).title(panel.title).datasource(DATASOURCE)
               .span(width).height(height)
               .targets([_target(panel, i) for i in range(len(panel.queries))])
               .thresholds(_thresholds([t for _, _, t in found])))
    if panel.description:
        builder = builder.description(panel.description.strip())
    if panel.unit:
        builder = builder.unit(panel.unit)
    if panel.type == "timeseries":
        style = common.GraphThresholdsStyleMode.LINE if found else common.GraphThresholdsStyleMode.OFF
        builder = builder.thresholds_style(common_b.GraphThresholdsStyleConfig().mode(style))
    if panel.alerts:
        # The alerts the catalog links to the panel (which link back to it).
        builder = builder.links([
            dash_b.DashboardLink(f"Runbook: {name}").type(dash_m.DashboardLinkType.LINK)
            .url(runbook_url(catalog, service.alerts[name])).target_blank(True)
            for name in panel.alerts])
    return builder
