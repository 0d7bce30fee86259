"""Dashboard checks (grafana/dashboard-linter's rules that apply to moncat) and the Grafana
target's own errors: each a diagnostic with its code and the catalog position it points at."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from compiler import pipeline
from compiler.checks import dashboard_json
from compiler.diagnostics import Loc
from conftest import run_moncat

SETTINGS = """\
version: 1
runbooks: {base_url: https://runbooks.example.test}
targets:
  grafana: {url: https://grafana.example.test}
severities:
  page: {priority: 1, meaning: Wake someone up}
contacts:
  ops: {name: Ops, email: ops@example.test}
"""

SERVICE = """\
service: api
owner: ops
metrics:
  http_requests_total: {type: counter, help: Requests., labels: [code]}
alerts:
  ApiErrors:
    expr: sum(rate(http_requests_total{code="500"}[5m])) > 1
    severity: page
    summary: @summary@
    procedure: errors
    dashboard: api
    examples:
      fires: {series: {'http_requests_total{code="500"}': 0+600x30}}
      quiet: {series: {'http_requests_total{code="500"}': 0+6x30}}
procedures:
  errors: {title: Errors}
dashboards:
  api:
    title: @title@
    rows:
      - title: Requests
        panels:
          - title: @panel_title@
            type: @panel_type@
@unit@            alerts: [ApiErrors]
            queries:
              - expr: @expr@
"""


def _catalog(tmp_path: Path, **overrides: str) -> Path:
    values = {"summary": "Errors", "title": "API", "panel_title": "Errors per second",
              "panel_type": "timeseries", "unit": "            unit: reqps\n",
              "expr": 'sum(rate(http_requests_total{code="500"}[$__rate_interval]))'}
    values.update(overrides)
    (tmp_path / "moncat.yaml").write_text(SETTINGS)
    text = SERVICE
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    (tmp_path / "api.yaml").write_text(text)
    return tmp_path


def _codes(result) -> list[tuple[str, str]]:
    return [(d.code, str(d.loc)) for d in result.report.sorted()]


def test_the_small_catalog_compiles_clean(tmp_path: Path) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path))
    assert _codes(result) == []
    assert "grafana/dashboards/api/api.json" in result.files


@pytest.mark.parametrize("override, code, loc", [
    ({"unit": ""}, "MC440", "api.yaml:23:13"),
    ({"unit": "            unit: ' '\n"}, "MC440", "api.yaml:23:13"),
    ({"panel_title": "''"}, "MC441", "api.yaml:23:13"),
    ({"title": "' '"}, "MC441", "api.yaml:18:3"),
    ({"expr": 'sum(rate(http_requests_total{code="500"}[5m]))'}, "MC442", "api.yaml:28:27"),
    ({"expr": 'sum(irate(http_requests_total[$__interval]))'}, "MC442", "api.yaml:28:27"),
    ({"unit": "            unit: seconds\n"}, "MC445", "api.yaml:25:19"),  # at the value
])
def test_dashboard_lint_rules_warn_at_the_panel_or_query(tmp_path: Path, override, code, loc) -> None:
    result = pipeline.analyse(_catalog(tmp_path, **override))
    assert _codes(result) == [(code, loc)]
    assert all(d.severity.name == "WARNING" and d.hint for d in result.report.items)


# A panel's unit as written -> the id the hint offers (None: no guess), per Grafana's unit picker.
UNITS = [
    ("seconds", "s"), ("milliseconds", "ms"), ("ratio", "percentunit"), ("byte", "bytes"),
    ("currencyVND", "currency:VND"), ("reqsp", "reqps"), ("eps", None), ("widgets", None),
]


@pytest.mark.parametrize("unit, meant", UNITS)
def test_a_unit_grafana_does_not_know_is_a_warning_whose_hint_names_the_id(tmp_path: Path, unit, meant) -> None:
    result = pipeline.analyse(_catalog(tmp_path, unit=f"            unit: {unit}\n"))
    (found,) = result.report.items
    assert found.code == "MC445" and f"unit {unit!r} is not a Grafana unit id" in found.message
    assert (f"write `{meant}`" in found.hint) if meant else ("write a Grafana unit id" in found.hint)
    assert f"`count:{unit}`" in found.hint and f"`suffix:{unit}`" in found.hint


@pytest.mark.parametrize("unit", ["s", "percentunit", "reqps", "dtdurations", "currencyEUR", "bool_on_off",
                                  "'count:eps'", "'suffix: widgets'", "'currency:VND'", "'si:B'"])
def test_grafana_unit_ids_and_custom_units_pass(tmp_path: Path, unit: str) -> None:
    assert _codes(pipeline.analyse(_catalog(tmp_path, unit=f"            unit: {unit}\n"))) == []


def test_a_stat_panel_needs_a_unit_but_a_table_does_not(tmp_path: Path) -> None:
    assert _codes(pipeline.analyse(_catalog(tmp_path, unit="", panel_type="stat"))) == \
        [("MC440", "api.yaml:23:13")]
    assert _codes(pipeline.analyse(_catalog(tmp_path, unit="", panel_type="table"))) == []


def test_the_cli_reports_a_lint_warning_with_a_code_frame_and_exits_zero(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, expr='sum(rate(http_requests_total{code="500"}[5m]))')
    proc = run_moncat("validate", str(catalog))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "api.yaml:28:27: warning MC442: rate() over [5m]" in out and "$__rate_interval" in out


def test_grafana_only_template_variables_are_refused_at_their_position(tmp_path: Path) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path, summary="'See {{ $externalURL }}'"))
    assert ("MC452", "api.yaml:9:22") in _codes(result)
    assert result.files == {}


def test_a_bad_grafana_url_is_a_schema_error_at_its_position(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    (catalog / "moncat.yaml").write_text(SETTINGS.replace("https://grafana.example.test", "grafana"))
    proc = run_moncat("validate", str(catalog))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "moncat.yaml:4:18" in proc.stderr + proc.stdout


def test_an_unknown_grafana_setting_is_refused(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    (catalog / "moncat.yaml").write_text(SETTINGS.replace("{url:", "{version: '11.6', url:"))
    assert run_moncat("validate", str(catalog)).returncode == 1


@pytest.fixture(scope="module")
def generated() -> dict:
    from conftest import CATALOG
    from grafana_schemas import Generated
    return json.loads(Generated(CATALOG).files["grafana/dashboards/shop/shop-overview.json"])


def test_the_generated_dashboards_pass_the_output_lint(generated) -> None:
    assert dashboard_json.check(generated, Loc("shop/dashboards.yaml")) == []


@pytest.mark.parametrize("change, code", [
    (lambda d: d["panels"][1].update(datasource={"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}), "MC443"),
    (lambda d: d["panels"][1]["targets"][0].update(datasource={"type": "prometheus", "uid": "prom"}), "MC443"),
    (lambda d: d["templating"].update(list=[]), "MC443"),
    (lambda d: d["panels"][1]["targets"][0].update(expr="sum(rate(x[5m])"), "MC444"),
])
def test_the_output_lint_finds_a_fixed_datasource_and_a_query_that_does_not_parse(generated, change, code) -> None:
    broken = copy.deepcopy(generated)
    change(broken)
    where = Loc("shop/dashboards.yaml", 20, 13)
    diags = dashboard_json.check(broken, Loc("shop/dashboards.yaml", 6, 3), {broken["panels"][1]["id"]: where})
    assert diags and {d.code for d in diags} == {code}
    assert all(d.loc in (where, Loc("shop/dashboards.yaml", 6, 3)) for d in diags)


def test_two_dashboards_that_would_share_a_grafana_uid_are_an_error(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    (catalog / "other.yaml").write_text(
        "service: api-x\nowner: ops\ndashboards:\n  overview:\n    title: Other\n    rows:\n"
        "      - title: R\n        panels:\n          - title: Up\n            unit: short\n"
        "            queries: [{expr: up}]\n")
    (catalog / "api.yaml").write_text((catalog / "api.yaml").read_text().replace(
        "dashboards:\n  api:", "dashboards:\n  x-overview:").replace("dashboard: api", "dashboard: x-overview"))
    result = pipeline.compile_catalog(catalog)
    assert _codes(result) == [("MC451", "other.yaml:4:3")]
    assert "'api-x-overview'" in result.report.items[0].message
