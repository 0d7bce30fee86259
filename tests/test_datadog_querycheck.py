"""Our offline check of Datadog monitor queries, against real-world monitors: the metric
monitors Datadog's integrations-extras repository ships (../shared/corpora) all pass, and
queries outside the documented grammar, or thresholds that disagree with the query, do not."""
from __future__ import annotations

import copy
import json

import pytest

from compiler.targets.datadog.querycheck import QueryError, check_monitor, parse
from conftest import SHARED

CORPUS = SHARED / "corpora" / "datadog-integrations-extras-monitors"


def _corpus() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text())["definition"] for p in sorted(CORPUS.glob("*.json"))}


METRIC = {name: d for name, d in _corpus().items() if d["type"] in ("query alert", "metric alert")}


def test_the_corpus_has_metric_monitors_and_others() -> None:
    assert len(METRIC) >= 35 and len(_corpus()) > len(METRIC)


@pytest.mark.parametrize("name", sorted(METRIC))
def test_a_real_world_metric_monitor_passes_the_check(name: str) -> None:
    assert check_monitor(METRIC[name]) == []


def test_other_monitor_types_are_not_metric_monitors() -> None:
    others = [d for d in _corpus().values() if d["type"] not in ("query alert", "metric alert")]
    for d in others:
        assert check_monitor(d) == [f"type {d['type']!r} is not a metric monitor"]


def test_the_check_reads_what_a_query_says() -> None:
    p = parse("sum(last_15m):sum:external_secrets.externalsecret.provider_api_calls.count{status:error} "
              "by {provider,call}.as_count() > 0")
    assert (p.time_aggr, p.window, p.op, p.threshold) == ("sum", "last_15m", ">", 0.0)
    assert p.metrics == ["external_secrets.externalsecret.provider_api_calls.count"]
    assert p.groups == [("provider", "call")]
    c = parse("pct_change(avg(last_5m),1h_ago):avg:system.load.1{env:prod} < -50")
    assert (c.head, c.time_aggr, c.timeshift, c.threshold) == ("pct_change", "avg", "1h_ago", -50.0)


# Each refused query breaks one rule of the documented grammar (see querycheck's docstring).
BAD = [
    ("avg(last_5m):sum:a.b{*} > .5", "leading zero"),
    ("avg(last_5m):sum:a.b{env:prod AND !x:y} > 1", "mixes"),
    ("foo(last_5m):sum:a{*} > 1", "time aggregator foo"),
    ("avg(last_2w):sum:a{*} > 1", "window last_2w"),
    ("avg(last_0m):sum:a{*} > 1", "window last_0m"),
    ("avg(last_169h):sum:a{*} > 1", "window last_169h"),
    ("change(avg(last_5m),3h_ago):sum:a{*} > 1", "timeshift 3h_ago"),
    ("change(avg(last_3d),1h_ago):sum:a{*} > 1", "change window last_3d"),
    ("avg(last_5m):count:a{*} > 1", "space aggregator"),
    ("sum(last_5m):bogus(sum:a{*}) > 1", "unknown function bogus()"),
    ("avg(last_5m):sum:a{*}", "comparison operator"),
    ("avg(last_5m):sum:a{*} => 1", "comparison operator"),
    ("percentile(last_5m):avg:a{*} > 1", "percentile()"),
    ("avg(last_5m):p95:a{*} > 1", "percentile()"),
    ("avg(last_5m):sum:a{*}.as_count().as_rate() > 1", "one of .as_count() and .as_rate()"),
    ("avg(last_5m):sum:a{*}.as_bytes() > 1", "unknown modifier"),
    ("avg(last_5m):sum:a{} > 1", "empty tag scope"),
    ("avg(last_5m):sum:a{env:prod} > 1 extra", "after the threshold"),
    ("avg(last_5m):sum:a{env:prod > 1", "unclosed tag scope"),
    ("max(next_1w):sum:a{*} > 1", "window next_1w"),
]


@pytest.mark.parametrize("query,why", BAD)
def test_a_query_outside_the_grammar_is_refused(query: str, why: str) -> None:
    with pytest.raises(QueryError, match=why.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse(query)


def test_a_critical_threshold_other_than_the_querys_is_reported() -> None:
    monitor = copy.deepcopy(METRIC["nn_sdwan__high-latency-monitor.json"])
    monitor["options"]["thresholds"]["critical"] = 99
    assert check_monitor(monitor) == ["options.thresholds.critical 99 is not the query's threshold 100.0"]


@pytest.mark.parametrize("name,key,value", [
    ("algorithmia__algorithm_duration.json", "warning", 20000),           # above: warning >= critical
    ("nomad__nomad_heartbeats_received.json", "warning", 4),              # below: warning <= critical
    ("nomad__nomad_excessive_leadership_losses.json", "critical_recovery", 3),
    ("upbound_uxp__controller_runtime_reconcile_error.json", "warning_recovery", 90),
])
def test_thresholds_out_of_order_are_reported(name: str, key: str, value: float) -> None:
    monitor = copy.deepcopy(METRIC[name])
    monitor["options"]["thresholds"][key] = value
    problems = check_monitor(monitor)
    assert len(problems) == 1 and problems[0].startswith(key)
