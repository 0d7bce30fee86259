"""Bad input to `moncat import`: a clear diagnostic with its code and where, a non-zero exit, no
traceback, and nothing written."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_moncat

RULE = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: {dur}\n    labels: {{severity: warning}}\n"


@pytest.mark.parametrize("name,text,code,where", [
    ("missing", None, "MC801", "no such file or directory"),
    ("not-a-rule.yaml", "groups:\n- name: g\n  rules:\n  - expr: up\n", "MC803", "not-a-rule.yaml:4:5"),
    ("bad-duration.yaml", RULE.format(dur="5 minutes"), "MC805", "bad-duration.yaml:4"),
    ("bad-promql.yaml", RULE.format(dur="5m").replace("up == 0", "sum(up"), "MC806", "bad-promql.yaml:4"),
    ("bad-yaml.yaml", "groups: [\n", "MC001", "bad-yaml.yaml:2"),
])
def test_bad_rule_files_are_refused(tmp_path: Path, name: str, text: str | None, code: str, where: str) -> None:
    src = tmp_path / name
    if text is not None:
        src.write_text(text)
    out = tmp_path / "out"
    done = run_moncat("import", "prometheus", str(src), "--out", str(out), "--no-examples")
    assert done.returncode == 1, done.stdout
    assert code in done.stderr and where in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_an_out_directory_moncat_import_did_not_write_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "r.yaml"
    src.write_text(RULE.format(dur="5m"))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    done = run_moncat("import", "prometheus", str(src), "--out", str(out), "--no-examples")
    assert done.returncode == 1 and "MC811" in done.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_out_and_into_are_exclusive(tmp_path: Path) -> None:
    done = run_moncat("import", "prometheus", str(tmp_path), "--out", "a", "--into", "b")
    assert done.returncode == 2 and "exactly one of --out DIR or --into CATALOG" in done.stderr


def test_into_a_catalog_without_the_owner_contact_is_refused(tmp_path: Path) -> None:
    from conftest import ROOT
    done = run_moncat("import", "prometheus", str(tmp_path), "--into", str(ROOT / "tests" / "e2e" / "catalog"))
    assert done.returncode == 2 and "contact 'oncall' is not in" in done.stderr and "--owner" in done.stderr


def test_a_file_that_is_not_a_monitor_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "m.json"
    src.write_text('{"name": "no query"}')
    done = run_moncat("import", "datadog", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "MC830" in done.stderr and "m.json" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_datadog_dashboard_without_widgets_is_a_warning(tmp_path: Path) -> None:
    src = tmp_path / "board.json"
    src.write_text('{"title": "Ops", "layout_type": "ordered", "widgets": []}')
    done = run_moncat("import", "datadog", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "warning MC823" in done.stderr and "'Ops' has no panel" in done.stderr


def test_a_malformed_datadog_dashboard_imports_with_warnings_and_no_traceback(tmp_path: Path) -> None:
    deep = "abs(" * 3000 + "q1" + ")" * 3000  # PromQL deeper than moncat reads (parentheses alone reduce to q1)
    board = {"title": "Odd", "layout_type": "free", "template_variables": 3, "tags": "x", "widgets": [
        1, {"definition": "x"}, {"layout": [], "definition": {"type": "timeseries", "requests": {"q": 1}}},
        {"layout": {"y": "top"}, "definition": {"type": "query_value", "requests": [{"queries": 3, "formulas": "q1"}]}},
        {"definition": {"type": "group", "widgets": 7}},
        {"definition": {"type": "timeseries", "title": "Deep", "markers": 5, "requests": [
            {"queries": [{"data_source": "metrics", "name": "q1", "query": "avg:a{*}"}], "formulas": [{"formula": deep}]}]}},
        {"definition": {"type": "timeseries", "title": "Deeper", "requests": [
            {"queries": [{"data_source": "metrics", "name": "q1", "query": "avg:a{*}"}],
             "formulas": [{"formula": "(" * 100_000 + "q1" + ")" * 100_000}]}]}},  # past the parser's stack
        {"definition": {"type": "query_value", "title": "Month", "time": {"live_span": "1mo"}, "requests": []}},
    ]}
    src = tmp_path / "odd.json"
    src.write_text(__import__("json").dumps(board, indent=1))
    done = run_moncat("import", "datadog", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("warning MC832") == 5
    assert "nests 3001 levels deep" in done.stderr and "the formula nests too deep" in done.stderr and "'1mo'" in done.stderr and "warning MC823" in done.stderr


@pytest.mark.parametrize("kind,code", [("grafana", "MC821"), ("datadog", "MC830")])
def test_json_nested_past_the_parsers_stack_is_refused(tmp_path: Path, kind: str, code: str) -> None:
    src = tmp_path / "deep.json"
    src.write_text('{"title": "x", "panels": ' + "[" * 200_000 + "]" * 200_000 + "}")
    done = run_moncat("import", kind, str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout
    assert f"deep.json:1:1: error {code}: not readable: JSON nested too deep" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_dashboard_with_fields_of_the_wrong_shape_imports_what_it_can(tmp_path: Path) -> None:
    # Every field Grafana writes as an object, a list or a text, holding something else.
    board = {"title": 5, "uid": ["u"], "tags": "x", "time": "now", "templating": [1], "description": {},
             "panels": [
                 [1], 3, "text", {"type": "row", "title": [], "panels": 7},
                 {"type": ["graph"], "title": "Typed oddly", "targets": [{"expr": "up"}]},
                 {"type": "timeseries", "title": "Shapes", "fieldConfig": [], "yaxes": [5], "format": 3,
                  "targets": 3},
                 {"type": "timeseries", "title": "Kept", "description": 1, "yaxes": "s",
                  "fieldConfig": {"defaults": {"unit": "reqps", "thresholds": {"steps": {"value": 1}}}},
                  "targets": [5, {"expr": "sum(rate(http_requests_total[5m]))", "legendFormat": []}]}]}
    src = tmp_path / "odd.json"
    src.write_text(__import__("json").dumps(board))
    out = tmp_path / "out"
    done = run_moncat("import", "grafana", str(src), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.count("warning MC820") == 5  # every panel but 'Kept' is a note, saying why
    assert "'(untitled)' kept as a note: \"text\" is not a panel (a JSON object)" in done.stderr
    import yaml
    doc = yaml.safe_load((out / "odd" / "odd.yaml").read_text())
    assert len(doc["notes"]) == 5 and "'Typed oddly'" in doc["notes"][3] and "'Shapes'" in doc["notes"][4]
    [dash] = doc["dashboards"].values()
    assert dash["title"] == "Imported dashboard"
    assert [p["title"] for r in dash["rows"] for p in r["panels"]] == ["Kept"]
    assert dash["rows"][-1]["panels"][0]["unit"] == "reqps"
    assert run_moncat("validate", str(out)).returncode == 0


def test_a_monitor_with_fields_of_the_wrong_shape_imports_verbatim_where_it_can(tmp_path: Path) -> None:
    monitors = [{"name": "Odd tags", "type": "metric alert", "query": "avg(last_5m):avg:a.b{*} > 1",
                 "tags": 3, "options": [1], "message": "m"},
                {"name": "Odd thresholds", "type": "query alert", "query": "avg(last_5m):avg:a.c{*} > 1",
                 "options": {"thresholds": [1]}},
                {"title": "Board", "layout_type": "ordered", "widgets": [
                    {"definition": {"type": "query_value", "title": "V", "time": {"live_span": ["1h"]},
                                    "requests": [{"q": "avg:a.b{*}"}]}}]}]
    src = tmp_path / "odd.json"
    src.write_text(__import__("json").dumps(monitors))
    out = tmp_path / "out"
    done = run_moncat("import", "datadog", str(src), "--out", str(out), "--no-examples")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "2 alerts (0 datadog-only)" in done.stdout and "0 dashboards" in done.stdout
    assert "timeframe {'live_span': ['1h']} has no fixed length" in done.stderr  # the widget: a note
    assert run_moncat("validate", str(out)).returncode == 0
