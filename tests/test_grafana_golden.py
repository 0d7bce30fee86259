"""Grafana output of the small golden catalog (tests/golden): the committed expected files are
valid against Grafana's schemas and say what the catalog says. Byte equality with a fresh
compile is test_golden.py's."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from compiler import pipeline
from compiler.expr.thresholds import threshold
from grafana_schemas import alerting_file_errors, dashboard_errors

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = GOLDEN / "expected" / "grafana"


def test_the_golden_grafana_files_are_the_dashboard_alerting_and_provisioning_files() -> None:
    files = sorted(p.relative_to(EXPECTED).as_posix() for p in EXPECTED.rglob("*") if p.is_file())
    assert files == ["alerting/_contact-points.yaml", "alerting/_policies.yaml", "alerting/_templates.yaml",
                     "alerting/api.yaml",
                     "alerting/web.yaml", "dashboards/web/web-overview.json",
                     "provisioning/dashboards.yaml"]


def test_the_golden_grafana_files_validate_against_the_schemas_with_zero_errors() -> None:
    problems = dashboard_errors("web-overview", json.loads((EXPECTED / "dashboards/web/web-overview.json").read_text()))
    for path in sorted((EXPECTED / "alerting").glob("*.yaml")):
        problems += alerting_file_errors(path.name, path.read_text())
    assert problems == []


def test_the_golden_dashboard_shows_each_alerts_threshold_and_every_panel_type() -> None:
    catalog = pipeline.analyse(GOLDEN / "catalog").catalog
    web = catalog.service("web")
    data = json.loads((EXPECTED / "dashboards/web/web-overview.json").read_text())
    panels = {p["title"]: p for p in data["panels"]}
    assert {p["type"] for p in data["panels"]} == {"row", "timeseries", "stat", "gauge", "table"}
    for title, alert in (("Error ratio", "WebErrorRatioHigh"), ("5xx per second by route", "WebRouteErrors"),
                         ("Error ratio now", "WebErrorRatioHigh")):
        steps = panels[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [None, threshold(web.alerts[alert].expr.tree).value]
    assert len(panels["Requests per minute"]["fieldConfig"]["defaults"]["thresholds"]["steps"]) == 1


def test_the_golden_alert_rules_use_the_configured_datasource_and_link_their_panels() -> None:
    rules = {r["title"]: r for r in yaml.safe_load((EXPECTED / "alerting/web.yaml").read_text())["groups"][0]["rules"]}
    assert {q["datasourceUid"] for r in rules.values() for q in r["data"]} == {"prom-main", "__expr__"}
    assert rules["WebErrorRatioHigh"]["annotations"]["__panelId__"] == "2"
    # No panel names WebRouteErrors: its rule links no panel (its threshold is still drawn).
    assert not {"__panelId__", "__dashboardUid__", "dashboard_url"} & set(rules["WebRouteErrors"]["annotations"])
    prom = yaml.safe_load((GOLDEN / "expected/prometheus/web.rules.yaml").read_text())
    urls = {r["alert"]: r["annotations"].get("dashboard_url") for g in prom["groups"] for r in g["rules"] if "alert" in r}
    assert urls == {name: rule["annotations"].get("dashboard_url") for name, rule in rules.items()}
    assert urls["WebErrorRatioHigh"] == "https://grafana.example.test/d/web-overview/web-overview?viewPanel=2"


def test_the_golden_provisioning_file_gives_each_service_with_dashboards_a_folder() -> None:
    doc = yaml.safe_load((EXPECTED / "provisioning/dashboards.yaml").read_text())
    assert doc["apiVersion"] == 1
    assert [(p["name"], p["folder"], p["options"]["path"]) for p in doc["providers"]] == [
        ("moncat-web", "Web front end", "/etc/grafana/moncat/dashboards/web")]
    groups = yaml.safe_load((EXPECTED / "alerting/web.yaml").read_text())["groups"]
    assert groups[0]["folder"] == "Web front end"  # rules and dashboards share the folder
