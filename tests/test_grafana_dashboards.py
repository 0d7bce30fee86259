"""Grafana dashboards: valid against Grafana's official schemas, loaded back through the
foundation-sdk model without loss, thresholds read from the alerts, links both ways."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dash_m

from compiler.dialects.promql import to_promql
from compiler.expr import ast
from compiler.expr.parse import parse
from compiler.expr.thresholds import threshold
from compiler.targets import links
from compiler.targets.grafana.panels import panel_thresholds, threshold_steps
from conftest import CATALOG
from grafana_schemas import Generated, dashboard_errors


@pytest.fixture(scope="module")
def compiled() -> Generated:
    return Generated(CATALOG)


def _dashboards(compiled) -> dict[str, dict]:
    return {path: json.loads(data) for path, data in compiled.files.items()
            if path.startswith("grafana/dashboards/")}


def test_every_seed_dashboard_is_generated_in_its_service_folder(compiled) -> None:
    files = _dashboards(compiled)
    expected = {f"grafana/dashboards/{s.id}/{links.dashboard_uid(d)}.json"
                for s in compiled.catalog.services for d in s.dashboards.values()}
    assert set(files) == expected and len(files) == 11 + 3  # + an SLO dashboard for 3 services


def test_every_dashboard_validates_against_grafanas_schemas_with_zero_errors(compiled) -> None:
    problems = [e for path, data in _dashboards(compiled).items() for e in dashboard_errors(path, data)]
    assert problems == []


def test_every_dashboard_loads_back_through_the_foundation_sdk_model_without_loss(compiled) -> None:
    plugins.register_default_plugins()  # panel options and queries decode into typed models
    for path, data in _dashboards(compiled).items():
        model = dash_m.Dashboard.from_json(data)
        assert json.loads(json.dumps(model, cls=JSONEncoder)) == data, path
        assert all(not isinstance(p.options, dict) for p in model.panels or []
                   if isinstance(p, dash_m.Panel)), path


def test_dashboards_carry_the_sdks_current_schema_version_and_short_unique_uids(compiled) -> None:
    current = dash_m.Dashboard().schema_version
    uids = []
    for path, data in _dashboards(compiled).items():
        assert data["schemaVersion"] == current, path
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", data["uid"]), path
        assert path.endswith(f"/{data['uid']}.json")
        ids = [p["id"] for p in data["panels"]]
        assert len(ids) == len(set(ids)) and ids == sorted(ids), path
        uids.append(data["uid"])
    assert len(uids) == len(set(uids))


def test_every_panel_queries_the_prometheus_datasource_variable(compiled) -> None:
    for path, data in _dashboards(compiled).items():
        variables = data["templating"]["list"]
        assert [(v["type"], v["name"], v["query"]) for v in variables] == \
            [("datasource", "datasource", "prometheus")], path
        for panel in data["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_every_rate_in_a_dashboard_uses_the_rate_interval(compiled) -> None:
    rates = 0
    for data in _dashboards(compiled).values():
        for panel in data["panels"]:
            for target in panel.get("targets", []):
                for node in ast.walk(parse(target["expr"], variables=True)):
                    if isinstance(node, ast.Call) and node.func in ("rate", "irate"):
                        rates += 1
                        assert node.args[0].range_var == "$__rate_interval", target["expr"]
    assert rates > 50


def test_panels_keep_the_catalogs_types_units_and_legends(compiled) -> None:
    files = _dashboards(compiled)
    for svc in compiled.catalog.services:
        for dash in svc.dashboards.values():
            data = files[f"grafana/dashboards/{svc.id}/{links.dashboard_uid(dash)}.json"]
            panels = [p for p in data["panels"] if p["type"] != "row"]
            rows = [p["title"] for p in data["panels"] if p["type"] == "row"]
            assert rows == [r.title for r in dash.rows]
            wanted = [p for r in dash.rows for p in r.panels]
            assert [(p["title"], p["type"], p["fieldConfig"]["defaults"].get("unit", ""))
                    for p in panels] == [(p.title, p.type, p.unit) for p in wanted]
            assert [[t.get("legendFormat") for t in p["targets"]] for p in panels] == \
                [[q.legend or "__auto" for q in p.queries] for p in wanted]


def test_a_panel_plotting_an_alerts_query_shows_the_threshold_read_from_the_alert(compiled) -> None:
    """For each alert `query op number` and each panel plotting that very query (its windows
    written as $__rate_interval): the panel's threshold steps hold the number parsed from the
    alert's expression."""
    files = _dashboards(compiled)
    checked = 0
    for svc in compiled.catalog.services:
        alerts = {}
        for alert in svc.alerts.values():
            found = threshold(alert.expr.tree)
            if found is not None:
                text = to_promql(found.query)
                alerts[re.sub(r"\[[0-9a-z]+\]", "[$__rate_interval]", text)] = found.value
                alerts[text] = found.value
        for dash in svc.dashboards.values():
            for panel in files[f"grafana/dashboards/{svc.id}/{links.dashboard_uid(dash)}.json"]["panels"]:
                for target in panel.get("targets", []):
                    if target["expr"] in alerts:
                        steps = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
                        assert alerts[target["expr"]] in steps, (panel["title"], steps)
                        checked += 1
    assert checked >= 12


def test_time_series_panels_with_thresholds_draw_them_as_lines(compiled) -> None:
    lines = 0
    for data in _dashboards(compiled).values():
        for panel in data["panels"]:
            if panel["type"] != "timeseries":
                continue
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            mode = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"]
            assert mode == ("line" if len(steps) > 1 else "off"), panel["title"]
            lines += len(steps) > 1
    assert lines >= 15


@pytest.mark.parametrize("alert, panel, steps", [
    ("x > 5", "x", [(None, "green"), (5, "red")]),
    ("5 < x", "x", [(None, "green"), (5, "red")]),
    ("x < 0.8", "x", [(None, "red"), (0.8, "green")]),
    ("sum(increase(x[10m])) > 20", "sum(rate(x[$__rate_interval])) * 600", [(None, "green"), (20, "red")]),
    ("sum(increase(x[10m])) > 20", "sum(rate(x[$__rate_interval])) * 60", [(None, "green"), (2, "red")]),
    ("sum(rate(x[10m])) * 60 > 5 or sum(rate(x[10m])) / sum(rate(y[10m])) > 0.02",
     "sum(rate(x[$__rate_interval])) / sum(rate(y[$__rate_interval]))", [(None, "green"), (0.02, "red")]),
    ("max(up) == 0", "max(up)", [(None, "green"), (0, "red"), (5e-324, "green")]),
    ("a > 3 unless b > 0", "b", [(None, "red"), (0, "green")]),
    ("sum(increase(x[15m])) >= 3", "sum(increase(x[24h]))", None),  # another window: not the same
    ("x > 3 * y", "x", None),  # relative to another series: no fixed line
])
def test_threshold_steps_come_from_the_alert_on_the_panels_scale(alert, panel, steps) -> None:
    from compiler import model
    from compiler.diagnostics import Loc

    def expr(text: str) -> model.Expression:
        return model.Expression(text, parse(text, variables=True), Loc("t.yaml"))

    svc = model.Service("s", Loc("t.yaml"), alerts={"A": model.Alert("s", "A", expr(alert), "P1", "", Loc("t.yaml"))})
    p = model.Panel("p", "timeseries", (model.Query(expr(panel)),), Loc("t.yaml"))
    found = [t for _, _, t in panel_thresholds(svc, p)]
    if steps is None:
        assert found == []
    else:
        assert [(s.value, s.color) for s in threshold_steps(found)] == steps


def test_every_dashboard_links_to_its_service_runbook_index(compiled) -> None:
    base = compiled.catalog.settings.runbooks_base_url
    for path, data in _dashboards(compiled).items():
        service = path.split("/")[2]
        urls = [link.get("url") for link in data["links"]]
        assert f"{base}/{service}/index.html" in urls, path


def test_alerts_link_back_to_the_panel_that_plots_them(compiled) -> None:
    """Each Grafana rule's __dashboardUid__/__panelId__ and each Prometheus rule's dashboard_url
    name a generated dashboard and a panel in it that lists the alert."""
    dashboards = {d["uid"]: d for d in _dashboards(compiled).values()}
    titles_naming = {(svc.id, p.title, a) for svc in compiled.catalog.services
                     for d in svc.dashboards.values() for r in d.rows for p in r.panels for a in p.alerts}
    linked = 0
    for path, data in compiled.files.items():
        if path.startswith("grafana/alerting/") and not path.split("/")[-1].startswith("_"):
            for rule in yaml.safe_load(data)["groups"][0]["rules"]:
                ann = rule["annotations"]
                dash = dashboards[ann["__dashboardUid__"]]
                panel = next(p for p in dash["panels"] if p["id"] == int(ann["__panelId__"]))
                assert (rule["labels"]["service"], panel["title"], rule["title"]) in titles_naming
                url = urlparse(ann["dashboard_url"])
                assert url.path.startswith(f"/d/{dash['uid']}/")
                assert parse_qs(url.query)["viewPanel"] == [ann["__panelId__"]]
                linked += 1
        if path.startswith("prometheus/") and path.endswith(".rules.yaml"):
            for group in yaml.safe_load(data)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        url = urlparse(rule["annotations"]["dashboard_url"])
                        assert url.netloc == "grafana.example.com"
                        assert url.path.split("/")[2] in dashboards
    assert linked == sum(len(s.alerts) for s in compiled.catalog.services)


def test_the_sdk_model_becomes_the_json_its_own_encoder_writes() -> None:
    from grafana_foundation_sdk.builders import dashboard as dash_b

    from compiler.targets.grafana.dashboards import plain_json

    model = (dash_b.Dashboard("Checkout").uid("abc").tags(["shop"]).refresh("1m")
             .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
             .with_row(dash_b.Row("Traffic").id(1))).build()
    assert json.dumps(plain_json(model), sort_keys=True) == \
        json.dumps(json.loads(json.dumps(model, cls=JSONEncoder)), sort_keys=True)
    with pytest.raises(TypeError, match="object is not JSON"):
        plain_json({"x": object()})
