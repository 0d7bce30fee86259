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

import dataclasses
import random
from types import SimpleNamespace

import pytest

from compiler.dialects.datadog_names import Naming, series_for
from compiler.model import DatadogSettings
from compiler.targets.datadog import agent, lookback, querycheck, verdicts
from compiler.targets.datadog.agent import Stored
from compiler.targets.datadog.conditions import Condition
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
    ("a counter silent across the stretch's start reads its last sample",
     {'jobs_total{q="a"}': "1 2 _x6 8 9"}),
    ("a counter first seen inside the stretch counts its whole value", {'jobs_total{q="a"}': "_x6 7 9"}),
    ("a gauge with a gap and a stale marker", {"temp": "1 2 _ stale 5 6 7 8"}),
    ("histogram buckets: per-bucket deltas from the run before",
     {'lat_bucket{le="0.5"}': "0+2x12", 'lat_bucket{le="1"}': "0+3x12 _ 50",
      'lat_bucket{le="+Inf"}': "0+3x14"}),
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


# --- the stretch against the whole series, on random monitors and series -------------------------
# A differential check of the shortcut itself: random monitors (functions, arithmetic, change,
# composites, no-data options, require_full_window, percentiles) over random series (gaps, stale
# markers, resets, series starting late or stopping early), evaluated at random times once over
# stretches (verdicts.outcomes_at) and once over the whole series (the plan's reach dropped).
RANDOM = Naming({**series_for(DD, "x", "c_total", "counter", "", ("host",)),
                 **series_for(DD, "x", "g", "gauge", "", ("host",)),
                 **series_for(DD, "x", "lat", "histogram", "", ("host",))}, {}, ())
FUNCTIONS = ["abs({})", "cutoff_min({}, 3)", "log2({})", "default_zero({})", "per_minute({})",
             "timeshift({}, -300)", "timeshift({}, 120)", "hour_before({})", "diff({})",
             "moving_rollup({}, 300, 'max')"]


def _samples(rng, n: int) -> str:
    value, out = rng.choice([0, 2, 10]), []
    for _ in range(n):
        r = rng.random()
        value = value + rng.choice([0, 1, 3]) if r < 0.6 else rng.choice([0, 1, 5, 20])
        out.append("_" if r > 0.92 else "stale" if r > 0.9 else str(value))
    first, last = rng.choice([0, 0, rng.randrange(n)]), rng.choice([n, n, rng.randrange(n) + 1])
    return " ".join(v if first <= i < last else "_" for i, v in enumerate(out))


def _random_series(rng, n: int) -> tuple[tuple[str, str], ...]:
    out = {f'{m}{{host="{h}"}}': _samples(rng, n) for h in rng.sample("abc", rng.randint(1, 3))
           for m in rng.sample(["g", "c_total"], rng.randint(1, 2))}
    if rng.random() < 0.2:
        step = rng.choice([1, 3])
        out |= {f'lat_bucket{{host="a",le="{le}"}}': f"0+{step * k}x{n}"
                for k, le in enumerate(["0.5", "1", "+Inf"], 1)}
    return tuple(out.items())


def _expr(rng, depth: int = 0) -> str:
    r = rng.random()
    if depth < 2 and r < 0.3:
        return rng.choice(FUNCTIONS).format(_expr(rng, depth + 1))
    if depth < 2 and r < 0.5:
        return f"{_expr(rng, depth + 1)} {rng.choice('+-*/')} {_expr(rng, depth + 1)}"
    metric = rng.choice(["g", "c.count"])
    modifier = rng.choice(["", ".as_count()", ".as_rate()"]) if metric == "c.count" else ""
    return f"{rng.choice(['avg', 'sum', 'max'])}:x.{metric}{{{rng.choice(['*', 'host:a', '!host:b'])}}}" \
           f"{rng.choice(['', ' by {host}'])}{modifier}"


def _random_condition(rng) -> "Condition":
    window, op = rng.choice([1, 5, 10]), rng.choice([">", "<="])
    kind = rng.random()
    if kind < 0.1:
        query = f"percentile(last_{window}m):p95:x.lat{{*}} {op} 0.8"
    elif kind < 0.25:
        query = f"change(avg(last_{window}m),{rng.choice(['5m_ago', '1h_ago'])}):{_expr(rng)} {op} 2"
    else:
        aggregation = rng.choice(["avg", "sum", "min", "max"])
        query = f"{aggregation}(last_{window}m):{_expr(rng)} {op} {rng.choice([0, 2, 10])}"
    return Condition(query, op, 0, no_data=rng.random() < 0.3, full_window=rng.random() < 0.25,
                     no_data_timeframe_min=rng.choice([None, 2, 20]), missing_as_zero=rng.random() < 0.15)


def _outcomes(plan, series, step, checks, opts):
    try:
        return [(t, o.notifies, sorted(o.statuses.items()), sorted((g, repr(v)) for g, v in o.values.items()))
                for t, _, o in verdicts.outcomes_at(plan, series, step, checks, opts)]
    except (ValueError, querycheck.QueryError) as exc:
        return str(exc)


def test_a_stretch_gives_every_outcome_the_whole_series_gives_on_random_monitors() -> None:
    rng = random.Random(14)
    evaluated = {"stretch": 0, "again": 0}
    original = verdicts._evaluate

    def counting(plan, context, at):
        try:
            found = original(plan, context, at)
            evaluated["stretch"] += context.partial
            return found
        except Truncated:
            evaluated["again"] += 1
            raise

    differences = []
    for _ in range(400):
        n, step = rng.randint(3, 50), rng.choice([15 * S, MIN, 2 * MIN])
        series = agent.exposed(_random_series(rng, n), RANDOM)
        if rng.random() < 0.2:
            cond = Condition(rng.choice(["a && b", "a || !b"]), ">", 0,
                             components=(("a", _random_condition(rng)), ("b", _random_condition(rng))))
        else:
            cond = _random_condition(rng)
        settings = SimpleNamespace(settings=SimpleNamespace(datadog=SimpleNamespace(
            evaluation_delay_ms=rng.choice([0, 60 * S]), check_interval_ms=rng.choice([15 * S, 60 * S]))))
        times = sorted({rng.randrange(0, n * step + 3 * MIN, 15 * S) for _ in range(rng.randint(1, 3))})
        checks = [(t, False) for t in times]
        plan = verdicts._plan(settings, cond, rng.choice([None, 1.0]))
        opts = verdicts.options(settings, cond, None)
        verdicts._evaluate = counting
        try:
            by_stretch = _outcomes(plan, series, step, checks, opts)
        finally:
            verdicts._evaluate = original
        whole = _outcomes(dataclasses.replace(plan, reach=None), series, step, checks, opts)
        if by_stretch != whole:
            differences.append((cond, times))
    assert differences == []
    assert evaluated["stretch"] > 300 and evaluated["again"] > 100  # both paths were taken
