"""The look-back of a Datadog monitor evaluation (compiler/targets/datadog/lookback.py): what one
evaluation reads, pinned at its edges as a table written from Datadog's documentation, and the
verdicts' shortcut of storing only that stretch giving what the whole series gives. Sources:

  [config]  https://docs.datadoghq.com/monitors/configuration/ (the evaluation window, "last 5
            minutes", and the no-data timeframe)
  [shift]   https://docs.datadoghq.com/dashboards/functions/timeshift/
  [change]  https://docs.datadoghq.com/monitors/types/change-alert/ (the value now against the
            value the `timeshift` earlier)
  [rollup]  https://docs.datadoghq.com/dashboards/functions/rollup/ (moving_rollup: "the points
            in the last X seconds")
  [arith]   https://docs.datadoghq.com/dashboards/functions/arithmetic/ (diff: the delta from
            the point before)
  [interp]  https://docs.datadoghq.com/dashboards/functions/interpolation/ (default_zero "fills
            empty time intervals"; "if the evaluation window contains no data points,
            default_zero() has no effect")
  [submit]  https://docs.datadoghq.com/metrics/agent_metrics_submission/ (monotonic_count) and
            datadog-agent pkg/metrics/monotonic_count.go (flush_first_value)
"""
from __future__ import annotations

import pytest

from compiler.dialects.datadog_names import Naming, series_for
from compiler.model import DatadogSettings
from compiler.targets.datadog import agent, lookback
from compiler.targets.datadog.agent import Stored
from compiler.targets.datadog.evaluate import ALERT, NO_DATA, OK, Options, evaluate
from compiler.targets.datadog.timelines import Context, Truncated

S = 1000
MIN = 60 * S
END = 120 * MIN  # every row evaluates at 2h, without evaluation delay


def points(*pairs: tuple[int, float]) -> list[Stored]:
    """One gauge `m`: (ms before END, value) pairs."""
    return [Stored("m", "gauge", {}, sorted((END - before, float(v)) for before, v in pairs))]


TEN_TO_END = [(k * MIN, 10) for k in range(5)]  # 10 at END-4m ... END
NO_DATA_10M = Options(notify_no_data=True, no_data_timeframe_min=10)

# (what, source, query, options, points, expected status, reach (back, ahead) or None for the
# whole series, whether the stretch alone decides it)
ROWS = [
    ("a point at the window's start is outside it: (end - 5m, end]", "config",
     "max(last_5m):avg:m{*} > 40", Options(), points((5 * MIN, 50), *TEN_TO_END),
     OK, (5 * MIN, 0), True),
    ("a point a second inside the window is in it", "config",
     "max(last_5m):avg:m{*} > 40", Options(), points((5 * MIN - S, 50), *TEN_TO_END),
     ALERT, (5 * MIN, 0), True),
    ("timeshift(-3600) reads the window an hour earlier, and nothing after it", "shift",
     "max(last_5m):timeshift(avg:m{*}, -3600) > 40", Options(),
     points((62 * MIN, 50), (61 * MIN, 10), *TEN_TO_END), ALERT, (65 * MIN, -60 * MIN), True),
    ("hour_before: the point at the shifted window's start is outside it", "shift",
     "max(last_5m):hour_before(avg:m{*}) > 40", Options(),
     points((65 * MIN, 50), (64 * MIN, 10), (60 * MIN, 10), (0, 60)), OK, (65 * MIN, -60 * MIN), True),
    ("change: the window now against the same window 1h earlier (20 - 10)", "change",
     "change(avg(last_5m),1h_ago):avg:m{*} > 5", Options(),
     points((62 * MIN, 10), (61 * MIN, 10), (2 * MIN, 20), (MIN, 20)), ALERT, (65 * MIN, 0), True),
    ("change: the point just before the earlier window is outside it", "change",
     "change(avg(last_5m),1h_ago):avg:m{*} > 5", Options(),
     points((65 * MIN, 0), (62 * MIN, 18), (2 * MIN, 20), (MIN, 20)), OK, (65 * MIN, 0), True),
    ("no data: a group silent in the window but heard within the timeframe is ok", "config",
     "avg(last_5m):avg:m{*} > 40", NO_DATA_10M, points((8 * MIN, 10)), OK, (10 * MIN, 0), False),
    ("no data: silent for the whole no-data timeframe", "config",
     "avg(last_5m):avg:m{*} > 40", NO_DATA_10M, points((11 * MIN, 10)), NO_DATA, (10 * MIN, 0), False),
    ("moving_rollup reads its span before the window's first point", "rollup",
     "max(last_5m):moving_rollup(avg:m{*}, 600, 'max') > 40", Options(),
     points((13 * MIN, 50), *TEN_TO_END), ALERT, (15 * MIN, 0), True),
    ("moving_rollup: a point older than its span before the window is not read", "rollup",
     "max(last_5m):moving_rollup(avg:m{*}, 600, 'max') > 40", Options(),
     points((15 * MIN, 50), *TEN_TO_END), OK, (15 * MIN, 0), True),
    ("default_zero fills the window's empty intervals, at the times any series reported", "interp",
     "min(last_5m):default_zero(timeshift(avg:m{*}, -300)) < 1", Options(),
     points((9 * MIN, 5), *TEN_TO_END), ALERT, (10 * MIN, 0), True),
    ("diff reads the point before, however long ago: the whole series", "arith",
     "max(last_5m):diff(avg:m{*}) > 5", Options(), points((30 * MIN, 0), (2 * MIN, 10)),
     ALERT, None, False),
]


def _cut(data: list[Stored], since: int, last: int) -> list[Stored]:
    return [Stored(s.metric, s.kind, s.tags, [(t, v) for t, v in s.points if since <= t <= last])
            for s in data]


@pytest.mark.parametrize("what,source,query,options,data,expected,reach,decides", ROWS,
                         ids=[r[0] for r in ROWS])
def test_an_evaluation_reads_the_stretch_the_documentation_gives(what, source, query, options, data,
                                                                  expected, reach, decides) -> None:
    whole = evaluate(query, data, END, options)
    assert whole.statuses == {(): expected}
    assert lookback.reach(query, options) == reach
    if reach is None:
        return
    stretch = _cut(data, END - reach[0], END + reach[1])
    context = Context(stretch, options, partial=True)
    if decides:
        assert evaluate(query, stretch, END, options, context).statuses == whole.statuses
    else:
        with pytest.raises(Truncated):  # whether the group reported before: the whole series says
            evaluate(query, stretch, END, options, context)


def test_the_table_cites_its_sources_and_covers_each_edge() -> None:
    cited = __doc__ or ""
    assert all(f"[{r[1]}]" in cited for r in ROWS)
    assert {r[1] for r in ROWS} == {"config", "shift", "change", "rollup", "arith", "interp"}
    assert {r[5] for r in ROWS} == {OK, ALERT, NO_DATA}


# --- the Agent's points from a time on are the same points [submit] -----------------------------
DD = DatadogSettings(enabled=True, histogram_buckets_as_distributions=True)
NAMES = Naming({**series_for(DD, "app", "jobs_total", "counter", "", ("q",)),
                **series_for(DD, "app", "temp", "gauge", "", ()),
                **series_for(DD, "app", "lat", "histogram", "", ())}, {}, ())
SERIES = [
    ("a counter's first kept delta reads the run before the stretch", {'jobs_total{q="a"}': "0+5x20"}),
    ("a reset before the stretch, and one inside it", {'jobs_total{q="a"}': "9 2 4 6 1 3 5 7 9 11"}),
    ("a counter silent across the stretch's start reads its last sample", {'jobs_total{q="a"}': "1 2 _x6 8 9"}),
    ("a counter first seen inside the stretch counts its whole value", {'jobs_total{q="a"}': "_x6 7 9"}),
    ("a gauge with a gap and a stale marker", {"temp": "1 2 _ stale 5 6 7 8"}),
    ("histogram buckets: per-bucket deltas from the run before",
     {'lat_bucket{le="0.5"}': "0+2x12", 'lat_bucket{le="1"}': "0+3x12 _ 50", 'lat_bucket{le="+Inf"}': "0+3x14"}),
]


@pytest.mark.parametrize("what,series", SERIES, ids=[s[0] for s in SERIES])
@pytest.mark.parametrize("since", [0, 5 * S, 20 * S, 65 * S, 3 * MIN + 5 * S, 7 * MIN])
def test_storing_from_a_time_on_keeps_exactly_the_points_from_then_on(what, series, since) -> None:
    exposed = agent.exposed(tuple(series.items()), NAMES)
    whole = agent.sample(exposed, MIN, 12 * MIN, 15 * S)
    part = agent.sample(exposed, MIN, 12 * MIN, 15 * S, since)
    assert [(s.metric, s.tags) for s in part] == [(s.metric, s.tags) for s in whole]
    assert [s.points for s in part] == [[p for p in s.points if p[0] >= since] for s in whole]
    assert [s.buckets for s in part] == [[b for b in s.buckets if b[0] >= since] for s in whole]
    assert any(s.points or s.buckets for s in whole)


# --- default_zero has no effect on a window without points [interp] ------------------------------
def _hosts(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> list[Stored]:
    return [Stored("m", "gauge", {"host": h}, sorted((END - before, float(v)) for before, v in pts))
            for h, pts in (("a", a), ("b", b))]


# (what, query, points of host a, of host b, expected status by host)
DEFAULT_ZERO = [
    ("a sparse window is filled with 0 at the times the other group reported",
     "min(last_5m):default_zero(avg:m{*} by {host}) < 1", TEN_TO_END, [(2 * MIN, 5)],
     {"a": OK, "b": ALERT}),
    ("a window without a point stays without one: no data, not 0",
     "max(last_5m):default_zero(avg:m{*} by {host}) < 1", TEN_TO_END, [(8 * MIN, 5)],
     {"a": OK, "b": NO_DATA}),
    ("the same under a timeshift: the shifted window decides",
     "max(last_5m):default_zero(hour_before(avg:m{*} by {host})) < 1",
     [(62 * MIN, 5)], [(68 * MIN, 5), (2 * MIN, 5)], {"a": OK, "b": NO_DATA}),
    ("a change monitor's earlier window without points is no data too",
     "change(max(last_5m),1h_ago):default_zero(avg:m{*} by {host}) > 1",
     [(62 * MIN, 5), *TEN_TO_END], [(2 * MIN, 5), (68 * MIN, 5)], {"a": ALERT, "b": NO_DATA}),
]


@pytest.mark.parametrize("what,query,a,b,expected", DEFAULT_ZERO, ids=[r[0] for r in DEFAULT_ZERO])
def test_default_zero_fills_a_window_only_where_it_holds_a_point(what, query, a, b, expected) -> None:
    found = evaluate(query, _hosts(a, b), END, Options()).statuses
    assert found == {(("host", h),): s for h, s in expected.items()}
