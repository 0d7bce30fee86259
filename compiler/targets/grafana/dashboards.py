"""Grafana target, dashboards: each catalog dashboard as Grafana dashboard JSON, built with
grafana-foundation-sdk (current schemaVersion, deterministic uid and panel ids)."""
from __future__ import annotations

import enum
import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from compiler.model import Catalog, Dashboard, Service
from compiler.targets import links
from compiler.targets.grafana.panels import DATASOURCE_VAR, build_panel

OWNER_TAG = "moncat"  # marks the dashboards moncat owns (apply --prune touches only these)
GRAFANA_DATASOURCE = dash_m.DataSourceRef(type_val="grafana", uid="-- Grafana --")


def dashboard_tags(dashboard: Dashboard) -> list[str]:
    tags = list(dict.fromkeys(dashboard.tags))
    for extra in (dashboard.service, OWNER_TAG):
        if extra not in tags:
            tags.append(extra)
    return tags


def _links(catalog: Catalog, service: Service) -> list[dash_b.DashboardLink]:
    out = [
        dash_b.DashboardLink(f"{service.title or service.id} dashboards")
        .type(dash_m.DashboardLinkType.DASHBOARDS).tags([service.id, OWNER_TAG]).as_dropdown(True)
        .keep_time(True).include_vars(True),
    ]
    if catalog.settings.runbooks_base_url:
        out.append(dash_b.DashboardLink("Runbooks").type(dash_m.DashboardLinkType.LINK)
                   .url(links.runbook_index_url(catalog, service)).icon("doc").target_blank(True))
    for link in service.links:
        out.append(dash_b.DashboardLink(link.title).type(dash_m.DashboardLinkType.LINK)
                   .url(link.url).icon("external link").target_blank(True))
    return out


def build_dashboard(catalog: Catalog, service: Service, dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as the JSON Grafana stores (provisioning file / HTTP API `dashboard`)."""
    row_ids, panel_ids = links.panel_ids(dashboard)
    builder = (dash_b.Dashboard(dashboard.title)
               .uid(links.dashboard_uid(dashboard))
               .tags(dashboard_tags(dashboard))
               .readonly()
               .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
               .time(f"now-{dashboard.time or '6h'}", "now")
               .timezone("browser")
               .refresh("1m")
               .with_variable(dash_b.DatasourceVariable(DATASOURCE_VAR).label("Data source")
                              .type("prometheus"))
               .annotation(dash_b.AnnotationQuery().name("Annotations & Alerts")
                           .datasource(GRAFANA_DATASOURCE).enable(True).hide(True)
                           .icon_color("rgba(0, 211, 255, 1)").type("dashboard").built_in(1))
               .links(_links(catalog, service)))
    if dashboard.description:
        builder = builder.description(dashboard.description.strip())
    for row, row_id, ids in zip(dashboard.rows, row_ids, panel_ids):
        builder = builder.with_row(dash_b.Row(row.title).id(row_id))
        for panel, pid in zip(row.panels, ids):
            builder = builder.with_panel(build_panel(catalog, service, panel, pid))
    return plain_json(builder.build())


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain_json(value: Any) -> Any:
    """The SDK's model as the plain JSON types its encoder writes (each object's `to_json()`, enum
    members as their values), without encoding it to text and parsing it back (a tenth of the
    Grafana target's time). The render stage sorts keys."""
    kind = type(value)
    # Most values are plain already: their exact types first (an enum member or an SDK object
    # is never exactly one of these), then the general case.
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k if type(k) is str else _key(k): v if type(v) in _SCALARS else plain_json(v)
                for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else plain_json(v) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return plain_json(to_json())
    if isinstance(value, dict):
        return {_key(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return plain_json(value.value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"{type(value).__name__} is not JSON")  # as the SDK's encoder refuses it


def _key(key: Any) -> str:
    return key if isinstance(key, str) else json.loads(json.dumps({key: 0})).popitem()[0]
