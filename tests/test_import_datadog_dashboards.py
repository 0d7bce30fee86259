"""`moncat import datadog` of dashboards: widget formulas become PromQL panel queries only when the
datadog dialect translates them back into the same formulas and queries; the seed catalog's own
Datadog dashboards import and recompile to the same widgets; the rest is kept as notes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.importers.datadog_widgets import parse_formula, reverse_request
from conftest import OUTPUT, ROOT, run_moncat


def _request(formula: str, **queries: str) -> dict:
    return {"queries": [{"data_source": "metrics", "name": n, "query": q} for n, q in queries.items()],
            "formulas": [{"formula": formula}]}


def _scalar(query: str, aggregator: str) -> dict:
    return {"queries": [{"data_source": "metrics", "name": "q1", "query": query, "aggregator": aggregator}],
            "formulas": [{"formula": "q1"}], "response_format": "scalar"}


# Datadog request (widget kind, timeframe ms) -> the PromQL the graph dialect translates back into
# exactly that request (None: no exact form).
TABLE = [
    (_request("q1 * 60", q1="sum:shop.orders.count{env:prod} by {region}.as_rate()"), False, None,
     'sum by (region) (rate(shop_orders_total{env="prod"}[$__rate_interval])) * 60'),
    (_request("q1", q1="avg:system.load.1{*} by {host}"), False, None, "avg by (host) (system_load_1)"),
    (_request("q1 / q2", q1="sum:a.count{*}.as_count()", q2="sum:b.count{*}.as_count()"), False, None,
     "sum(increase(a_total[$__rate_interval])) / sum(increase(b_total[$__rate_interval]))"),
    (_request("moving_rollup(q1, 3600, 'sum') / moving_rollup(q2, 3600, 'sum')",
              q1="sum:a.count{*}.as_count()", q2="sum:b.count{*}.as_count()"), False, None,
     "sum(increase(a_total[1h])) / sum(increase(b_total[1h]))"),
    (_request("(moving_rollup(q1, 900, 'sum') / 900) * 60", q1="sum:a.count{*}.as_count()"), False, None,
     "sum(rate(a_total[15m])) * 60"),
    (_request("q1 / (q2 + q3)", q1="sum:ok.count{*}.as_count()", q2="sum:ok.count{*}.as_count()",
              q3="sum:ko.count{*}.as_count()"), False, None,
     "sum(increase(ok_total[$__rate_interval])) / (sum(increase(ok_total[$__rate_interval])) + "
     "sum(increase(ko_total[$__rate_interval])))"),
    (_request("q1", q1="p95:http.latency{service:web} by {route}"), False, None,
     'histogram_quantile(0.95, sum by (le, route) (rate(http_latency_bucket{service="web"}[$__rate_interval])))'),
    (_request("-q1 + abs(q2)", q1="max:queue.depth{*}", q2="min:queue.depth{*}"), False, None,
     "-1 * max(queue_depth) + abs(min(queue_depth))"),
    (_request("q1", q1="sum:task.done.count{name:loyalty.*,!env:dev} by {name}.as_rate()"), False, None,
     'sum by (name) (rate(task_done_total{name=~"loyalty\\\\..*", env!="dev"}[$__rate_interval]))'),
    (_request("q1", q1="sum:http.responses.count{job:store AND status IN (500,502)}.as_count()"), False, None,
     'sum(increase(http_responses_total{job="store", status=~"500|502"}[$__rate_interval]))'),
    ({"q": "sum:a.count{*}.as_count() / sum:b.count{*}.as_count()"}, False, None,
     "sum(increase(a_total[$__rate_interval])) / sum(increase(b_total[$__rate_interval]))"),
    (_scalar("sum:orders.count{*}.as_count()", "sum"), True, 86_400_000, "sum(increase(orders_total[1d]))"),
    (_scalar("sum:orders.count{*}.as_rate()", "avg"), True, None, "sum(rate(orders_total[$__rate_interval]))"),
    (_scalar("sum:sessions.active{*}", "last"), True, None, "sum(sessions_active)"),
    # No exact form: the timeframe's average of a gauge or of counts, rollups, functions, a max
    # of counts, a bare wildcard, variables, a percentile in a one-value widget, logs.
    (_scalar("sum:sessions.active{*}", "avg"), True, None, None),
    (_scalar("sum:orders.count{*}.as_count()", "avg"), True, 3_600_000, None),
    (_request("q1", q1="avg:system.load.1{*}.rollup(max, 60)"), False, None, None),
    (_request("anomalies(q1, 'basic', 2)", q1="avg:system.load.1{*}"), False, None, None),
    (_request("q1", q1="max:a.count{*}.as_count()"), False, None, None),
    (_request("q1", q1="avg:system.load.1{host:*}"), False, None, None),
    (_request("q1", q1="avg:system.load.1{$env}"), False, None, None),
    (_scalar("p95:http.latency{*}", "last"), True, None, None),
    ({"queries": [{"data_source": "logs", "name": "q1", "search": {"query": "status:error"}}],
      "formulas": [{"formula": "q1"}]}, False, None, None),
]


@pytest.mark.parametrize("request_, scalar, window, promql", TABLE, ids=[str(i) for i in range(len(TABLE))])
def test_a_request_reverses_only_where_the_dialect_writes_it_back(request_, scalar, window, promql) -> None:
    found = reverse_request(request_, scalar, window)
    if promql is None:
        assert found.queries == [] and len(found.dropped) == 1
    else:
        assert found.dropped == [] and [expr for _, expr in found.queries] == [promql]


def test_formulas_parse_with_precedence_and_without_redundant_parentheses() -> None:
    assert parse_formula("(q1 / q2) * 3") == parse_formula("q1 / q2 * 3")
    assert parse_formula("q1 / (q2 * 3)") != parse_formula("q1 / q2 * 3")
    assert parse_formula("(-1 * q1)") == parse_formula("-q1")


def test_percentiles_need_a_catalog_whose_histograms_arrive_as_distributions() -> None:
    found = reverse_request(_request("q1", q1="p99:http.latency{*}"), False, None, distributions=False)
    assert found.queries == [] and "histogram_buckets_as_distributions" in found.dropped[0][1]


def _widgets(board: dict) -> list[tuple[str, list[dict]]]:
    """Each group's widgets as drawn (type, title, requests, timeframe), notes left out."""
    keys = ("type", "title", "requests", "time", "autoscale", "show_legend")
    groups = [(g["definition"]["title"], [{k: w["definition"].get(k) for k in keys}
                                           for w in g["definition"]["widgets"] if w["definition"]["type"] != "note"])
              for g in board["widgets"]]
    return [(title, widgets) for title, widgets in groups if widgets]


def test_the_seeds_datadog_dashboards_import_and_recompile_to_the_same_widgets(tmp_path: Path) -> None:
    source = OUTPUT / "datadog" / "dashboards"
    done = run_moncat("import", "datadog", str(source), "--out", str(tmp_path / "catalog"))
    assert done.returncode == 0, done.stderr
    compiled = run_moncat("compile", str(tmp_path / "catalog"), "--out", str(tmp_path / "out"))
    assert compiled.returncode == 0, compiled.stderr
    before = {b["title"]: b for b in (json.loads(p.read_text()) for p in sorted(source.rglob("*.json")))}
    after = {b["title"]: b for b in (json.loads(p.read_text())
                                     for p in sorted((tmp_path / "out" / "datadog" / "dashboards").rglob("*.json")))}
    assert sorted(after) == sorted(before) and len(before) == 11
    widgets = 0
    for title, board in before.items():
        assert _widgets(after[title]) == _widgets(board), title
        widgets += sum(len(w) for _, w in _widgets(board))
    assert widgets > 90
    # moncat's own notes (queries with no Datadog form) are kept in the services' notes.
    notes = [n for p in (tmp_path / "catalog").rglob("*.yaml") for n in yaml.safe_load(p.read_text()).get("notes", [])]
    originals = [w["definition"]["content"] for b in before.values() for g in b["widgets"]
                 for w in g["definition"]["widgets"] if w["definition"]["type"] == "note"]
    assert len(originals) == 12 and all(any(text in n for n in notes) for text in originals)


BOARD = {
    "id": "abc-def-123", "title": "Web", "description": "Web tier.", "layout_type": "free",
    "template_variables": [{"name": "env", "prefix": "env"}], "tags": ["team:web", "tier:frontend"],
    "widgets": [
        {"id": 2, "layout": {"x": 0, "y": 10, "width": 4, "height": 2}, "definition": {
            "type": "query_value", "title": "Orders today", "time": {"live_span": "1d"},
            "requests": [{"response_format": "scalar", "queries": [
                {"data_source": "metrics", "name": "a", "query": "sum:shop.orders.count{*}.as_count()", "aggregator": "sum"}],
                "formulas": [{"formula": "a", "number_format": {"unit": {"type": "canonical_unit", "unit_name": "percent"}}}]}]}},
        {"id": 1, "layout": {"x": 0, "y": 0, "width": 4, "height": 2}, "definition": {
            "type": "timeseries", "title": "Latency", "markers": [{"value": "y = 0.5", "display_type": "error dashed"}],
            "requests": [{"q": "p95:web.latency{env:prod} by {route}", "display_type": "line"}]}},
        {"id": 3, "layout": {"x": 4, "y": 0, "width": 4, "height": 2}, "definition": {
            "type": "note", "content": "Call the web team."}},
        {"id": 4, "layout": {"x": 0, "y": 5, "width": 4, "height": 2}, "definition": {
            "type": "toplist", "title": "Top routes", "requests": [{"q": "top(avg:web.hits{*} by {route}, 10, 'mean', 'desc')"}]}},
        {"id": 5, "layout": {"x": 4, "y": 5, "width": 4, "height": 2}, "definition": {
            "type": "timeseries", "title": "Errors", "requests": [
                {"queries": [{"data_source": "logs", "name": "l", "search": {"query": "status:error"},
                              "compute": {"aggregation": "count"}}], "formulas": [{"formula": "l"}]},
                {"queries": [{"data_source": "metrics", "name": "e", "query": "sum:web.errors.count{*}.as_rate()"}],
                 "formulas": [{"formula": "e", "alias": "errors/s"}]}]}},
    ],
}


def test_a_free_layout_board_keeps_its_reading_order_and_notes_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "web.json"
    src.write_text(json.dumps(BOARD, indent=1))
    out = tmp_path / "catalog"
    done = run_moncat("import", "datadog", str(src), "--out", str(out))
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "warning MC832" in line]
    assert len(warned) == 3 and all("web.json:" in line for line in warned)
    data = yaml.safe_load((out / "web" / "web.yaml").read_text())
    board = data["dashboards"]["web"]
    assert board["description"].startswith("Web tier.") and "$env (env)" in board["description"]
    assert board["tags"] == ["tier:frontend"]
    panels = [p for row in board["rows"] for p in row["panels"]]
    assert [(p["title"], p["type"]) for p in panels] == [("Latency", "timeseries"), ("Errors", "timeseries"),
                                                         ("Orders today", "stat")]
    assert panels[0]["queries"] == [{"expr": 'histogram_quantile(0.95, sum by (le, route) '
                                             '(rate(web_latency_bucket{env="prod"}[$__rate_interval])))'}]
    assert "Imported markers: y = 0.5" in panels[0]["description"]
    assert panels[1]["queries"] == [{"expr": "sum(rate(web_errors_total[$__rate_interval]))", "legend": "errors/s"}]
    assert panels[2]["unit"] == "percent" and panels[2]["queries"] == [{"expr": "sum(increase(shop_orders_total[1d]))"}]
    assert data["metrics"]["web_latency"] == {"type": "histogram", "help": "Datadog metric web.latency, read by an "
                                              "imported dashboard.", "datadog": "web.latency", "inferred": True,
                                              "labels": ["env", "route"]}
    notes = "\n".join(data["notes"])
    assert "Call the web team." in notes and "'toplist' has no catalog form" in notes and "logs query" in notes
    settings = yaml.safe_load((out / "moncat.yaml").read_text())
    assert settings["targets"]["datadog"] == {"histogram_buckets_as_distributions": True}
    assert run_moncat("validate", str(out)).returncode == 0
    compiled = run_moncat("compile", str(out), "--out", str(tmp_path / "out"))
    assert compiled.returncode == 0, compiled.stderr
    again = json.loads((tmp_path / "out" / "datadog" / "dashboards" / "web" / "web.json").read_text())
    value = next(w["definition"] for g in again["widgets"] for w in g["definition"]["widgets"]
                 if w["definition"]["title"] == "Orders today")
    assert value["time"] == {"live_span": "1d"}
    assert value["requests"][0]["queries"] == [{"aggregator": "sum", "data_source": "metrics", "name": "q1",
                                                "query": "sum:shop.orders.count{*}.as_count()"}]


def test_into_a_catalog_without_distributions_keeps_percentiles_as_notes(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "tests" / "e2e" / "catalog", catalog)
    contact = sorted(yaml.safe_load((catalog / "moncat.yaml").read_text()).get("contacts", {}))[0]
    src = tmp_path / "web.json"
    src.write_text(json.dumps(BOARD))
    done = run_moncat("import", "datadog", str(src), "--into", str(catalog), "--owner", contact)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load((catalog / "web" / "web.yaml").read_text())
    titles = [p["title"] for row in data["dashboards"]["web"]["rows"] for p in row["panels"]]
    assert titles == ["Errors", "Orders today"]
    assert any("'Latency'" in n and "histogram_buckets_as_distributions" in n for n in data["notes"])
