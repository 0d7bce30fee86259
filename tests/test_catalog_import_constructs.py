"""Catalog constructs imports need: names several rules record (`rules:`), `examples: pending` and
`procedure: pending` as warnings, `runbook_url`, `alertname` and `annotations` on alerts,
`imported: true`, inferred metrics, and datadog-only alerts compiled verbatim."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import run_moncat

SETTINGS = """version: 1
runbooks: {base_url: https://runbooks.example.com}
targets: {datadog: {}}
severities: {warning: {priority: 3, meaning: Look soon}}
contacts: {ops: {name: Ops, email: ops@example.com}}
"""
SERVICE = """service: api
owner: ops
metrics:
  http_requests_total: {type: counter, help: Requests, labels: [code, job], inferred: true}
recording_rules:
  job:errors:rate5m:
    help: Errors per job
    rules:
      - expr: sum by (job) (rate(http_requests_total{code="500"}[5m]))
      - expr: sum by (job) (rate(http_requests_total{code="503"}[5m]))
        labels: {code: "503"}
alerts:
  ErrorsHigh_critical:
    alertname: ErrorsHigh
    expr: sum(job:errors:rate5m) > 1
    severity: warning
    summary: Errors on {{ $labels.instance }}
    runbook_url: https://wiki.example.com/ErrorsHigh
    annotations: {dashboard: https://grafana.example.com/d/x}
    targets: [prometheus, grafana]  # a name two rules record has no single Datadog form
    imported: true
    examples: pending
  NoTraffic:
    expr: sum(rate(http_requests_total[5m])) == 0
    severity: warning
    summary: No traffic
    procedure: pending
    examples:
      fires: {series: {'http_requests_total{job="api"}': '0x10'}}
      quiet: {series: {'http_requests_total{job="api"}': '0+60x10'}}
  ForecastHigh:
    kind: datadog-only
    severity: warning
    summary: Forecast above plan
    datadog:
      type: query alert
      query: "max(next_1w):forecast(avg:api.load{*}, 'linear', 1) >= 90"
      message: "{{#is_alert}}Load forecast above 90{{/is_alert}} @slack-ops"
      thresholds: {critical: 90, warning: 80}
      options: {notify_no_data: false, require_full_window: false}
"""


def _catalog(tmp: Path, service: str = SERVICE) -> Path:
    root = tmp / "catalog"
    (root / "api").mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    (root / "api" / "api.yaml").write_text(service)
    return root


def test_pending_and_imported_problems_are_warnings_listed_by_validate(tmp_path: Path) -> None:
    done = run_moncat("validate", str(_catalog(tmp_path)))
    assert done.returncode == 0, done.stderr
    for code in ("MC418", "MC404", "MC303"):
        assert f"warning {code}" in done.stderr
    strict = run_moncat("validate", str(_catalog(tmp_path / "s")), "--fail-on", "warning")
    assert strict.returncode == 1


def test_without_imported_the_template_mistake_is_an_error(tmp_path: Path) -> None:
    done = run_moncat("validate", str(_catalog(tmp_path, SERVICE.replace("    imported: true\n", ""))))
    assert done.returncode == 1 and "error MC303" in done.stderr


def test_the_constructs_compile(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_moncat("compile", str(_catalog(tmp_path)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    groups = yaml.safe_load((out / "prometheus" / "api.rules.yaml").read_text())["groups"]
    records = [r for g in groups for r in g["rules"] if "record" in r]
    assert [(r["record"], r.get("labels")) for r in records] == [("job:errors:rate5m", None),
                                                                 ("job:errors:rate5m", {"code": "503"})]
    alert = next(r for g in groups for r in g["rules"] if r.get("alert") == "ErrorsHigh")
    assert alert["annotations"]["runbook_url"] == "https://wiki.example.com/ErrorsHigh"
    assert alert["annotations"]["dashboard"] == "https://grafana.example.com/d/x"
    tests = yaml.safe_load((out / "prometheus" / "api.tests.yaml").read_text())["tests"]
    assert [t["name"] for t in tests] == ["NoTraffic fires #1", "NoTraffic stays quiet #1"]
    kept = json.loads((out / "datadog" / "monitors" / "api" / "ForecastHigh.json").read_text())
    assert kept["query"] == "max(next_1w):forecast(avg:api.load{*}, 'linear', 1) >= 90"
    assert kept["message"] == "{{#is_alert}}Load forecast above 90{{/is_alert}} @slack-ops"
    assert kept["options"] == {"notify_no_data": False, "require_full_window": False,
                               "thresholds": {"critical": 90, "warning": 80}}
    assert "managed-by:moncat" in kept["tags"] and "moncat-id:api/forecasthigh" in kept["tags"]
    assert run_moncat("test", str(out)).returncode == 0


def test_a_rule_with_both_rules_and_expr_is_refused(tmp_path: Path) -> None:
    bad = SERVICE.replace("    rules:\n      - expr: sum by (job)", "    expr: up\n    rules:\n      - expr: sum by (job)", 1)
    done = run_moncat("validate", str(_catalog(tmp_path, bad)))
    assert done.returncode == 1 and "api/api.yaml:6:3: error MC108" in done.stderr


def test_a_datadog_only_alert_needs_its_query(tmp_path: Path) -> None:
    bad = SERVICE.replace("      query: \"max(next_1w):forecast(avg:api.load{*}, 'linear', 1) >= 90\"\n", "")
    done = run_moncat("validate", str(_catalog(tmp_path, bad)))
    assert done.returncode == 1 and "MC103" in done.stderr and "'query'" in done.stderr
