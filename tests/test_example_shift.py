"""Examples as promtool tests that start where their first check starts to read: the samples no
check reads are left out and every check moves back by as much, the verdicts unchanged."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler import pipeline
from compiler.examples import expand, records_of
from compiler.durations import parse_ms
from compiler.expr.parse import parse
from compiler.targets.prometheus_shift import cut, moved_back, reads, shift_of, sparse
from compiler.targets.prometheus_tests import _reads, namesakes

from conftest import CATALOG, OUTPUT
from test_detection_delay import catalog
from test_example_tests import _alert, _tests


@pytest.mark.parametrize("values, first, dropped, rest", [
    ("0+10x100", 30, 30, "300+10x70"),
    ("1 2 3 0+1x5", 2, 2, "3 0+1x5"),
    ("5x3", 3, 3, "5"),
    ("0+0.5x10 7+2x10", 5, 0, "0+0.5x10 7+2x10"),  # a fraction: the item is kept whole
    ("0+0.5x10 7+2x10", 12, 12, "9+2x9"),
    ("_x5 1 2", 3, 0, "_x5 1 2"),  # blanks are kept whole
    ("1 stale _x3 4", 2, 2, "_x3 4"),
])
def test_a_series_loses_its_first_samples_only_where_the_notation_splits_exactly(values, first, dropped, rest) -> None:
    assert cut(values, first) == (dropped, rest.split())
    assert expand(values)[dropped:] == expand(rest)


LONG_FIRES = "{series: {'queue_depth{queue=\"m\"}': '50x300 150x100'}, at: 6h10m}"
LONG_QUIET = "{series: {'queue_depth{queue=\"m\"}': '50x400'}, at: 6h10m}"


def test_a_long_example_starts_where_its_window_starts_and_keeps_its_verdicts(tmp_path: Path, promtool) -> None:
    root = catalog(tmp_path, _alert("avg_over_time(queue_depth[1h]) > 100", LONG_FIRES, LONG_QUIET))
    result = pipeline.validate_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    assert result.examples.tests == 2 and not result.examples.diagnostics  # promtool ran them
    fires = _tests(result)["DeepQueue fires #1"]
    # 6h10m checks a 1h window, 5m of lookback and a step of margin: 5h of samples are left out
    # (a whole number of the test's 10m steps), and the check moves from 6h10m to 1h10m.
    assert shift_of(fires["name"]) == 5 * 3600_000 and "times from 5h of the example on" in fires["name"]
    # What is left before the window is blanked (coarse tests, see _trimmed), every time kept.
    assert fires["input_series"][0]["values"] == "_x4 150x97"
    assert [c["eval_time"] for c in fires["alert_rule_test"]] == ["1h10m"]
    assert yaml.safe_load(result.files[fires["_file"]])["evaluation_interval"] == "10m"


def test_a_moved_example_that_fails_is_reported_at_the_time_on_its_own_clock(tmp_path: Path, promtool) -> None:
    root = catalog(tmp_path, _alert("avg_over_time(queue_depth[1h]) > 200", LONG_FIRES, LONG_QUIET))
    result = pipeline.validate_catalog(root)
    failed = [d for d in result.report.items if d.code == "MC483"]
    assert len(failed) == 1 and "fires #1" in failed[0].message
    assert "at 6h10m:" in failed[0].message and "does not fire" in failed[0].message


def test_a_moved_test_still_reads_every_sample_of_its_window(tmp_path: Path, promtool) -> None:
    # Prometheus 2 counts both ends of a range: 61 samples in 1h at 1m steps. Were one sample of
    # the window left out, the count would drop to 60 and the quiet example would fire.
    root = catalog(tmp_path, _alert("count_over_time(queue_depth[1h]) < 61",
                                    "{series: {'queue_depth{queue=\"m\"}': '1x300 _x60'}, at: 5h30m}",
                                    "{series: {'queue_depth{queue=\"m\"}': '1x400'}, at: 5h1m}"))
    result = pipeline.validate_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    assert result.examples.tests == 2 and not result.examples.diagnostics
    quiet = _tests(result)["DeepQueue stays quiet #1"]
    assert shift_of(quiet["name"]) > 0


@pytest.mark.parametrize("expr, extra", [
    ("time() - max(queue_depth) > 100", ""),  # reads the clock: a later start changes time()
    ("max(queue_depth) > 100", "keep_firing_for: 10m"),  # the alert's state outlives its windows
])
def test_examples_whose_values_depend_on_when_they_run_keep_their_times(tmp_path: Path, expr, extra) -> None:
    root = catalog(tmp_path, _alert(expr, "{series: {'queue_depth{queue=\"m\"}': '0x400'}, at: 6h10m}",
                                    "{series: {'queue_depth{queue=\"m\"}': '1e9x400'}, at: 6h10m}"
                                    if "time()" in expr else
                                    "{series: {'queue_depth{queue=\"m\"}': '50x400'}, at: 6h10m}",
                                    extra))
    result = pipeline.compile_catalog(root)
    tests = [t for p, b in result.files.items() if p.endswith(".tests.yaml") for t in yaml.safe_load(b)["tests"]]
    assert tests and all(shift_of(t["name"]) == 0 for t in tests)
    assert all(t["alert_rule_test"][0]["eval_time"] == "6h10m" for t in tests if "alert_rule_test" in t)


def test_the_seed_slo_scenarios_start_a_step_before_their_first_check_reads() -> None:
    # A 3-day tier's scenarios begin with a whole long window of good traffic; the checks read
    # only its end, and the test starts there.
    for path in (OUTPUT / "prometheus").glob("*.slo-*.3h.tests.yaml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            assert shift_of(test["name"]) > 0, (path.name, test["name"])


def test_a_stateless_alert_runs_at_the_sparsest_interval_that_reaches_its_checks() -> None:
    # Checks at 3d6h and 3d21h, 15h apart, of a 1d window sampled every 3h: the test runs at 15h
    # steps (6 evaluations, not 30), starting as late as the window before the first check allows.
    case = {"name": "x", "interval": "3h",
            "input_series": [{"series": "queue_depth", "values": "0+1000x40"}],
            "alert_rule_test": [{"eval_time": "3d6h", "alertname": "A", "exp_alerts": []},
                                {"eval_time": "3d21h", "alertname": "A", "exp_alerts": []}]}
    grid, moved = sparse(case, [parse("rate(queue_depth[1d]) > 1")], lambda name: None, 3 * 3600_000)
    assert grid == 15 * 3600_000
    # The first check reads from 2d6h, less 5m of lookback and a step: the start is the latest
    # time before that on the checks' 15h grid.
    times = [parse_ms(c["eval_time"]) for c in moved["alert_rule_test"]]
    start = shift_of(moved["name"])
    assert [t + start for t in times] == [parse_ms("3d6h"), parse_ms("3d21h")]
    assert all(t % grid == 0 for t in times) and start % (3 * 3600_000) == 0
    assert parse_ms("3d6h") - start >= parse_ms("1d") + 5 * 60_000 + 3 * 3600_000
    assert times[-1] // grid + 1 < 30
    assert expand(moved["input_series"][0]["values"]) == expand("0+1000x40")[start // (3 * 3600_000):]


def test_an_alert_sharing_its_alertname_with_a_clock_reading_one_keeps_its_times(tmp_path: Path) -> None:
    # promtool compares the alerts of every rule of the checked name: the other rule's value at
    # the checked times would change with a later start.
    long_quiet = "{series: {'queue_depth{queue=\"m\"}': '50x400'}, at: 6h10m}"
    alerts = _alert("avg_over_time(queue_depth[1h]) > 100", LONG_FIRES, LONG_QUIET, extra="alertname: Deep").rstrip(" ") \
        + _alert("time() - max(queue_depth) > 1e12", "{series: {'queue_depth{queue=\"m\"}': '0x400'}, at: 6h10m}",
                 long_quiet, extra="alertname: Deep").replace("DeepQueue:", "DeepQueueClock:")
    result = pipeline.compile_catalog(catalog(tmp_path, alerts))
    tests = [t for p, b in result.files.items() if p.startswith("prometheus/") and p.endswith(".tests.yaml") for t in yaml.safe_load(b)["tests"]]
    assert len(tests) == 4 and all(shift_of(t["name"]) == 0 for t in tests)


def test_an_alert_sharing_its_alertname_with_a_stateful_one_runs_at_the_catalogs_interval(tmp_path: Path) -> None:
    # promtool compares the alerts of every rule of the checked name, and a subquery without a
    # step remembers every evaluation: at a coarser interval the other rule's verdict may change.
    def intervals(result: pipeline.Result) -> list[str]:
        return [yaml.safe_load(b)["evaluation_interval"] for p, b in sorted(result.files.items())
                if p.startswith("prometheus/") and p.endswith(".tests.yaml") for _ in yaml.safe_load(b)["tests"]]

    plain = _alert("max(queue_depth) > 100", LONG_FIRES, LONG_QUIET, extra="alertname: Deep")
    alone = intervals(pipeline.compile_catalog(catalog(tmp_path / "alone", plain)))
    assert len(alone) == 2 and all(parse_ms(i) > 60_000 for i in alone)  # alone, it runs sparser
    stateful = _alert("max_over_time(max(queue_depth)[30m:]) > 100", LONG_FIRES, LONG_QUIET,
                      extra="alertname: Deep").replace("DeepQueue:", "DeepQueueHeld:")
    both = intervals(pipeline.compile_catalog(catalog(tmp_path / "both", plain.rstrip(" ") + stateful)))
    assert both == ["1m"] * 4


@pytest.mark.parametrize("alert, query, values", [
    ("avg_over_time(queue_depth[1h]) > 100", None, ["50x300 150x100"]),
    ("rate(x_total[5m]) > 1", "sum(rate(x_total[30m:1m]))", ["0+1x400"]),  # the query reads further
    ("max_over_time(rate(x_total[5m])[20m:2m]) > 1", None, ["0+1x300"]),  # a subquery step
    ("time() - x > 3", None, ["1x300"]),  # reads the clock: stays
    ("avg_over_time(queue_depth[1h]) > 100", "time()", ["50x400"]),  # the query reads the clock
])
def test_the_reads_an_alert_works_out_once_move_each_case_as_far_as_its_trees_do(alert, query, values) -> None:
    # prometheus_tests hands moved_back the alert's `reads` (one per alert, for all its
    # examples); the case's own queries are added to them. Either way the case moves the same.
    trees = [parse(alert)]
    case = {"name": "c", "input_series": [{"series": "x", "values": v} for v in values],
            "alert_rule_test": [{"eval_time": "5h", "alertname": "A", "exp_alerts": []}]}
    if query:
        case["promql_expr_test"] = [{"expr": query, "eval_time": "5h", "exp_samples": []}]
    plain = moved_back(case, trees, lambda name: None, 0, 60_000, 60_000)
    known = moved_back(case, trees, lambda name: None, 0, 60_000, 60_000, reads(trees, lambda name: None))
    assert known == plain
    assert (shift_of(plain["name"]) > 0) == (query != "time()" and "time()" not in alert)


def test_each_alerts_reads_taken_from_its_examples_history_are_what_its_rules_read() -> None:
    # The promtool tests take how far back an alert's rules read from history_ms (worked out
    # for the examples' timing) instead of reading the trees again.
    catalog = pipeline.analyse(CATALOG).catalog
    records = records_of(catalog)
    checked = 0
    for service in catalog.services:
        for alert in service.alerts.values():
            if not alert.compiled_for("prometheus"):
                continue
            trees, _ = namesakes(service, alert, catalog)
            assert _reads(catalog, service, alert, records) == reads(trees, records), alert.id
            checked += 1
    assert checked > 30
