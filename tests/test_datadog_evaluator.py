"""The Datadog evaluator and Agent model as tables written from Datadog's documentation, with
points given directly (not through the translator). Sources, cited by short name:

  [aggr]      https://docs.datadoghq.com/monitors/guide/monitor_aggregators/ (its example values)
  [config]    https://docs.datadoghq.com/monitors/configuration/ (aggregation method, no data)
  [ascount]   https://docs.datadoghq.com/monitors/guide/as-count-in-monitor-evaluations/
  [composite] https://docs.datadoghq.com/monitors/types/composite/ (its status table)
  [change]    https://docs.datadoghq.com/monitors/types/change-alert/
  [filter]    https://docs.datadoghq.com/metrics/advanced-filtering/
  [shift]     https://docs.datadoghq.com/dashboards/functions/timeshift/
  [arith]     https://docs.datadoghq.com/dashboards/functions/arithmetic/
  [rate]      https://docs.datadoghq.com/dashboards/functions/rate/
  [submit]    https://docs.datadoghq.com/metrics/agent_metrics_submission/ (monotonic_count)
  [mc.go]     datadog-agent pkg/metrics/monotonic_count.go (flush_first_value, documented there)
  [dist]      https://docs.datadoghq.com/metrics/distributions/
  [missing]   https://docs.datadoghq.com/monitors/guide/on_missing_data/ (its API parameters
              table), and the Monitor API's OnMissingDataOption (../shared/schemas/datadog)
"""
from __future__ import annotations

import pytest

from compiler.dialects.datadog_names import Naming, series_for
from compiler.model import DatadogSettings
from compiler.targets.datadog.agent import Stored, store
from compiler.targets.datadog.evaluate import (ALERT, NO_DATA, OK, WARN, EvalError, Options,
                                               Outcome, composite, evaluate)
from compiler.targets.datadog.timelines import quantile

S = 1000
MIN = 60 * S
AGGR = [10, 15, 12, 8, 11, 14, 13, 25, 37, 45, 50]  # [aggr]'s 10-minute example


def gauge(name: str, values, tags=None, start=50 * S, step=50 * S) -> Stored:
    return Stored(name, "gauge", dict(tags or {}), [(start + i * step, float(v)) for i, v in enumerate(values)])


def count(name: str, values, tags=None, start=50 * S, step=50 * S) -> Stored:
    return Stored(name, "count", dict(tags or {}), [(start + i * step, float(v)) for i, v in enumerate(values)])


def statuses(outcome: Outcome) -> dict[str, str]:
    return {",".join(f"{k}:{v}" for k, v in g) or "*": s for g, s in outcome.statuses.items()}


# (what, cited rule, query, data, evaluation time, expected statuses by group)
ROWS = [
    # --- time aggregation over the window [aggr], [config]
    ("avg of the window: 22, not above 30", "aggr", "avg(last_10m):avg:m{*} > 30",
     [gauge("m", AGGR)], 10 * MIN, {"*": OK}),
    ("max: one point above is enough", "aggr", "max(last_10m):avg:m{*} > 30",
     [gauge("m", AGGR)], 10 * MIN, {"*": ALERT}),
    ("min: every point must be above", "aggr", "min(last_10m):avg:m{*} > 30",
     [gauge("m", AGGR)], 10 * MIN, {"*": OK}),
    ("min below: every point below (reversed)", "aggr", "max(last_10m):avg:m{*} < 60",
     [gauge("m", AGGR)], 10 * MIN, {"*": ALERT}),
    ("sum of the points: 240", "aggr", "sum(last_10m):avg:m{*} > 200",
     [gauge("m", AGGR)], 10 * MIN, {"*": ALERT}),
    ("points outside the window do not count", "config", "max(last_5m):avg:m{*} > 40",
     [gauge("m", [50, 10, 10, 10, 10, 10, 10, 10], step=60 * S)], 8 * MIN, {"*": OK}),
    ("a warning threshold reached first", "config", "avg(last_10m):avg:m{*} > 30",
     [gauge("m", AGGR)], 10 * MIN, {"*": WARN}),
    # --- space aggregation and groups (multi alert) [config]; filters [filter]
    ("sum across series, then time", "config", "min(last_5m):sum:m{*} > 15",
     [gauge("m", [10] * 6, {"h": "a"}), gauge("m", [10] * 6, {"h": "b"})], 5 * MIN, {"*": ALERT}),
    ("by {h}: one status per group", "config", "min(last_5m):max:m{*} by {h} > 15",
     [gauge("m", [10] * 6, {"h": "a"}), gauge("m", [20] * 6, {"h": "b"})], 5 * MIN,
     {"h:a": OK, "h:b": ALERT}),
    ("a series without the group tag is N/A", "config", "min(last_5m):max:m{*} by {h} > 15",
     [gauge("m", [20] * 6)], 5 * MIN, {"h:N/A": ALERT}),
    ("filter key:value and !key:value", "filter", "min(last_5m):sum:m{env:prod,!h:a} > 15",
     [gauge("m", [10] * 6, {"env": "prod", "h": "a"}), gauge("m", [20] * 6, {"env": "prod", "h": "b"}),
      gauge("m", [99] * 6, {"env": "dev", "h": "c"})], 5 * MIN, {"*": ALERT}),
    ("filter IN and wildcards", "filter", "min(last_5m):sum:m{h IN (a,b) AND env:pr*} > 25",
     [gauge("m", [10] * 6, {"env": "prod", "h": "a"}), gauge("m", [20] * 6, {"env": "prod", "h": "b"}),
      gauge("m", [99] * 6, {"env": "prod", "h": "c"})], 5 * MIN, {"*": ALERT}),
    # --- arithmetic: classic path vs as_count path [ascount]
    ("classic path: the sum of the ratios, 1.5", "ascount",
     "sum(last_5m):sum:e{*}.as_rate() / sum:t{*}.as_rate() > 1.4",
     [count("e", [1, 2, 3, 4, 5], step=60 * S), count("t", [10] * 5, step=60 * S)], 5 * MIN, {"*": ALERT}),
    ("as_count path: the ratio of the sums, 0.3", "ascount",
     "sum(last_5m):sum:e{*}.as_count() / sum:t{*}.as_count() > 0.29",
     [count("e", [1, 2, 3, 4, 5], step=60 * S), count("t", [10] * 5, step=60 * S)], 5 * MIN, {"*": ALERT}),
    ("as_count path: not 1.5", "ascount",
     "sum(last_5m):sum:e{*}.as_count() / sum:t{*}.as_count() > 0.31",
     [count("e", [1, 2, 3, 4, 5], step=60 * S), count("t", [10] * 5, step=60 * S)], 5 * MIN, {"*": OK}),
    ("groups match by tags; an ungrouped query applies to all", "arith",
     "min(last_5m):max:a{*} by {h} - max:b{*} > 5",
     [gauge("a", [10] * 6, {"h": "x"}), gauge("a", [20] * 6, {"h": "y"}), gauge("b", [8] * 6)], 5 * MIN,
     {"h:x": OK, "h:y": ALERT}),
    ("division by zero has no value: no data", "arith", "avg(last_5m):avg:a{*} / avg:b{*} > 1",
     [gauge("a", [1] * 6), gauge("b", [0] * 6)], 5 * MIN, {"*": NO_DATA}),
    ("abs() point by point", "arith", "max(last_5m):abs(avg:a{*} - 3) == 0",
     [gauge("a", [3] * 6)], 5 * MIN, {"*": ALERT}),
    # --- change monitors [change]; timeshift functions [shift]; diff [rate]
    ("change: window now minus the window 1h ago", "change", "change(avg(last_5m),1h_ago):avg:m{*} > 50",
     [gauge("m", [10] * 60 + [100] * 10, start=30 * S, step=60 * S)], 70 * MIN, {"*": ALERT}),
    ("pct_change: +900%", "change", "pct_change(avg(last_5m),1h_ago):avg:m{*} > 800",
     [gauge("m", [10] * 60 + [100] * 10, start=30 * S, step=60 * S)], 70 * MIN, {"*": ALERT}),
    ("hour_before: the value an hour earlier", "shift",
     "min(last_5m):avg:m{*} - hour_before(avg:m{*}) > 50",
     [gauge("m", [10] * 60 + [100] * 10, start=30 * S, step=60 * S)], 70 * MIN, {"*": ALERT}),
    ("timeshift(-3600) is hour_before", "shift",
     "min(last_5m):avg:m{*} - timeshift(avg:m{*}, -3600) > 50",
     [gauge("m", [10] * 60 + [100] * 10, start=30 * S, step=60 * S)], 70 * MIN, {"*": ALERT}),
    ("timeshift in the as_count path shifts the window", "shift",
     "sum(last_5m):sum:c{*}.as_count() - 2 * hour_before(sum:c{*}.as_count()) > 0",
     [count("c", [1] * 60 + [3] * 10, start=30 * S, step=60 * S)], 70 * MIN, {"*": ALERT}),
    ("diff(): unchanged means 0 everywhere", "rate", "max(last_10m):diff(avg:m{*}) <= 0",
     [gauge("m", [5] * 20, step=60 * S)], 19 * MIN, {"*": ALERT}),
    # --- no data [config]
    ("a group that stopped reporting is no data", "config", "min(last_5m):max:m{*} by {h} > 1",
     [gauge("m", [5] * 5, {"h": "a"}, step=60 * S), gauge("m", [5] * 20, {"h": "b"}, step=60 * S)],
     20 * MIN, {"h:a": NO_DATA, "h:b": ALERT}),
    ("a group that never reported is unknown", "config", "min(last_5m):max:m{*} by {h} > 1",
     [gauge("m", [5] * 20, {"h": "b"}, start=30 * MIN)], 20 * MIN, {}),
]


@pytest.mark.parametrize("what,source,query,data,at,expected", ROWS, ids=[r[0] for r in ROWS])
def test_a_monitor_evaluates_as_datadog_documents(what, source, query, data, at, expected) -> None:
    warning = 20.0 if "warning" in what else None
    assert statuses(evaluate(query, data, at, Options(warning=warning))) == expected


def test_the_table_cites_its_sources_and_covers_the_evaluation_rules() -> None:
    assert {r[1] for r in ROWS} >= {"aggr", "config", "ascount", "filter", "arith", "change", "shift"}
    assert len(ROWS) >= 25


def test_require_full_window_skips_a_group_whose_data_starts_inside_the_window() -> None:
    data = [gauge("m", [20] * 3, start=8 * MIN, step=60 * S)]
    assert evaluate("min(last_5m):avg:m{*} > 10", data, 10 * MIN).notifies
    assert not evaluate("min(last_5m):avg:m{*} > 10", data, 10 * MIN,
                        Options(require_full_window=True)).notifies


def test_no_data_notifies_only_after_the_no_data_timeframe() -> None:
    data = [gauge("m", [1] * 10, step=60 * S)]  # the last point at 9m50s
    options = Options(notify_no_data=True, no_data_timeframe_min=7)
    assert evaluate("max(last_2m):avg:m{*} == 0", data, 14 * MIN, options).statuses == {(): "ok"}
    assert evaluate("max(last_2m):avg:m{*} == 0", data, 17 * MIN, options).notifies


# --- on_missing_data [missing] ---------------------------------------------------------------------
STOPPED = [count("c", [5] * 5, {"h": "a"}, step=60 * S), count("c", [5] * 20, {"h": "b"}, step=60 * S)]
# (what, query, data, evaluation time, on_missing_data, expected statuses by group)
MISSING = [
    ("default, sum of counts: nothing ever reported is an evaluation of 0",
     "sum(last_10m):sum:c{*}.as_count() == 0", [], 20 * MIN, "default", {"*": ALERT}),
    ("default, sum of counts: a window without points is 0",
     "sum(last_10m):sum:c{*}.as_count() < 1", [count("c", [5] * 5, step=60 * S)], 20 * MIN,
     "default", {"*": ALERT}),
    ("default, sum of counts: a group that stopped reporting is 0",
     "sum(last_10m):sum:c{*} by {h}.as_count() == 0", STOPPED, 20 * MIN, "default",
     {"h:a": ALERT, "h:b": OK}),
    ("default: 0 compared with the threshold may be OK", "sum(last_10m):sum:c{*}.as_count() > 3",
     [], 20 * MIN, "default", {"*": OK}),
    ("default: data in the window is evaluated as usual", "sum(last_10m):sum:c{*}.as_count() == 0",
     [count("c", [5] * 20, step=60 * S)], 20 * MIN, "default", {"*": OK}),
    ("default, arithmetic by a number: the whole evaluation is 0",
     "sum(last_10m):(sum:c{*}.as_count() / 600) * 60 < 1", [], 20 * MIN, "default", {"*": ALERT}),
    ("resolve: missing data shows OK", "sum(last_10m):sum:c{*} by {h}.as_count() == 0", STOPPED,
     20 * MIN, "resolve", {"h:a": OK, "h:b": OK}),
    ("show_no_data: missing data is no data", "sum(last_10m):sum:c{*} by {h}.as_count() == 0",
     STOPPED, 20 * MIN, "show_no_data", {"h:a": NO_DATA, "h:b": OK}),
    ("without on_missing_data: no data, as before", "sum(last_10m):sum:c{*} by {h}.as_count() == 0",
     STOPPED, 20 * MIN, "", {"h:a": NO_DATA, "h:b": OK}),
]


@pytest.mark.parametrize("what,query,data,at,setting,expected", MISSING, ids=[r[0] for r in MISSING])
def test_on_missing_data_treats_an_empty_evaluation_as_the_guide_says(what, query, data, at, setting,
                                                                         expected) -> None:
    assert statuses(evaluate(query, data, at, Options(on_missing_data=setting))) == expected


def test_show_and_notify_no_data_notifies_and_show_no_data_does_not() -> None:
    query = "sum(last_10m):sum:c{*} by {h}.as_count() > 100"
    assert evaluate(query, STOPPED, 20 * MIN, Options(on_missing_data="show_and_notify_no_data")).notifies
    assert not evaluate(query, STOPPED, 20 * MIN, Options(on_missing_data="show_no_data")).notifies


def test_default_on_another_aggregation_shows_the_last_known_status_which_is_not_modelled() -> None:
    # [missing]: "default" on other aggregation types: "If data is missing Show last known status".
    with pytest.raises(EvalError, match="last known status"):
        evaluate("max(last_5m):avg:m{*} < 1", [gauge("m", [5] * 3)], 20 * MIN,
                 Options(on_missing_data="default"))
    # With data in the window there is nothing to recall: evaluated as usual.
    assert evaluate("max(last_5m):avg:m{*} < 1", [gauge("m", [0] * 30, step=60 * S)], 20 * MIN,
                    Options(on_missing_data="default")).notifies


def test_percentile_reads_every_value_the_distribution_received_in_the_window() -> None:
    # [dist]: values spread over their buckets; 100 values, 90 in (0, 1] and 10 in (1, 2].
    dist = Stored("d", "distribution", {}, buckets=[(30 * S, [(0.0, 1.0, 45), (1.0, 2.0, 5)]),
                                                    (90 * S, [(0.0, 1.0, 45), (1.0, 2.0, 5)])])
    assert quantile(0.5, [(0.0, 1.0, 90), (1.0, 2.0, 10)]) == pytest.approx(50 / 90)
    assert evaluate("percentile(last_5m):p95:d{*} > 1.4", [dist], 2 * MIN).notifies
    assert not evaluate("percentile(last_5m):p95:d{*} > 1.6", [dist], 2 * MIN).notifies


# --- composites: the status table of [composite] ------------------------------------------------
def _simple(status: str) -> Outcome:
    return Outcome({(): status})


COMPOSITE = [
    (ALERT, WARN, "a && b", WARN), (ALERT, WARN, "a || b", ALERT),
    (ALERT, OK, "a && b", OK), (ALERT, OK, "a || b", ALERT),
    (WARN, OK, "a && b", OK), (WARN, OK, "a || b", WARN),
    (NO_DATA, WARN, "a && b", NO_DATA), (NO_DATA, WARN, "a || b", WARN),
    (NO_DATA, OK, "a && b", OK), (NO_DATA, OK, "a || b", NO_DATA),
    (NO_DATA, NO_DATA, "a && b", NO_DATA), (NO_DATA, NO_DATA, "a || b", NO_DATA),
    (ALERT, OK, "a && !b", ALERT), (ALERT, ALERT, "a && !b", OK), (NO_DATA, OK, "!a", NO_DATA),
]


@pytest.mark.parametrize("a,b,expression,expected", COMPOSITE)
def test_a_composite_combines_statuses_as_its_table_says(a, b, expression, expected) -> None:
    assert composite(expression, {"a": _simple(a), "b": _simple(b)}).statuses == {(): expected}


def test_a_composite_evaluates_only_the_groups_its_multi_alerts_share() -> None:
    a = Outcome({(("host", "web01"),): ALERT, (("host", "web04"),): ALERT, (("host", "web05"),): ALERT})
    b = Outcome({(("host", "web04"),): ALERT, (("host", "web05"),): OK, (("host", "web09"),): ALERT})
    out = composite("a && b", {"a": a, "b": b})
    assert out.statuses == {(("host", "web04"),): ALERT, (("host", "web05"),): OK}
    # A component without groups applies to every group; groups match by tag values.
    c = Outcome({(("service", "web04"),): ALERT})
    assert composite("a && c", {"a": a, "c": c}).alerting == [(("host", "web04"),)]
    assert composite("a && s", {"a": a, "s": _simple(ALERT)}).alerting == sorted(a.statuses)


def test_a_query_the_evaluator_does_not_model_is_named() -> None:
    with pytest.raises(EvalError, match="forecast"):
        evaluate("max(last_5m):forecast(avg:m{*}, 'linear', 1) > 1", [gauge("m", [1])], 5 * MIN)


# --- the Agent: what the OpenMetrics check stores [submit], [mc.go] --------------------------------
DD = DatadogSettings(enabled=True, histogram_buckets_as_distributions=True)
NAMES = Naming({**series_for(DD, "app", "jobs_total", "counter", "", ("q",)),
                **series_for(DD, "app", "temp", "gauge", "", ("Zone",)),
                **series_for(DD, "app", "lat", "histogram", "", ())})


def _points(series: dict[str, str], until: int, step: int = 15 * S) -> dict[str, list]:
    stored = store(tuple(series.items()), NAMES, step, until, check_ms=15 * S)
    return {f"{s.metric}{sorted(s.tags.items())}": [v for _, v in s.points] or s.buckets for s in stored}


def test_a_counter_is_one_monotonic_count_delta_per_check_run() -> None:
    # Samples 2, 3, 6, 7, 10, 11 at each run: the first run sends nothing, then the deltas.
    found = _points({'jobs_total{q="a"}': "2 3 6 7 10 11"}, 90 * S)
    assert found["app.jobs.count[('q', 'a')]"] == [1, 3, 1, 3, 1]


def test_a_reset_counts_the_new_value_and_a_late_series_its_whole_value() -> None:
    found = _points({'jobs_total{q="a"}': "5 8 2 4", 'jobs_total{q="b"}': "_ _ 7 9"}, 60 * S)
    assert found["app.jobs.count[('q', 'a')]"] == [3, 2, 2]   # flush_first_value after run 1
    assert found["app.jobs.count[('q', 'b')]"] == [7, 2]      # first seen after the first run


def test_an_unchanged_counter_sends_zero_deltas_and_a_gauge_its_value_with_stored_tags() -> None:
    found = _points({'jobs_total{q="a"}': "4x3", 'temp{Zone="Hall A"}': "21.5x3"}, 60 * S)
    assert found["app.jobs.count[('q', 'a')]"] == [0, 0, 0]
    assert found["app.temp[('zone', 'hall_a')]"] == [21.5] * 4  # lowercased, space as `_`


def test_histogram_buckets_become_a_distribution_of_per_bucket_deltas() -> None:
    series = {'lat_bucket{le="0.5"}': "0+4x4", 'lat_bucket{le="1"}': "0+5x4", 'lat_bucket{le="+Inf"}': "0+5x4"}
    (runs,) = _points(series, 60 * S).values()
    assert runs[0][1] == [(0.0, 0.5, 4.0), (0.5, 1.0, 1.0)]  # the +Inf bucket received nothing
