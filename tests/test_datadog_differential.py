"""Every Datadog translation is differential-tested: on generated series, the translated monitor
(run through the Datadog evaluator) alerts exactly when promtool says the Prometheus rule fires,
for as many groups as Prometheus has firing series. A fixed sample of the public
awesome-prometheus-alerts corpus keeps this fast; tests/benchmarks/bench_datadog_coverage.py
runs the whole corpus and prints the coverage figures. How series are generated:
tests/datadog_differential.py."""
from __future__ import annotations

import dataclasses
import random

import pytest

import datadog_differential as dd
from conftest import SHARED

CORPUS = SHARED / "corpora" / "awesome-prometheus-alerts"
SAMPLE_EVERY = 12  # every 12th translated expression: about 40 of them


@pytest.fixture(scope="module")
def sample():
    cases = [c for r in dd.corpus(CORPUS) if (c := dd.case(r)) is not None and c.query is not None]
    assert len(cases) >= 450
    return cases[::SAMPLE_EVERY]


def test_translated_corpus_rules_alert_in_datadog_exactly_when_prometheus_fires(sample, promtool) -> None:
    runs, differences = dd.compare(sample, 2, promtool)
    assert runs >= 2 * len(sample) - 4  # a scenario is skipped only for a regex no value meets
    assert differences == [], differences[:3]


def test_the_sample_has_rules_that_fire_that_stay_quiet_and_that_group(sample, promtool) -> None:
    rng = random.Random(7)
    runs = [(f"R{i}_{k}", c, s) for i, c in enumerate(sample) for k in range(2)
            if (s := dd.scenario(c, rng))]
    fired = dd.prometheus(runs, promtool)
    counts = [len(fired[rid]) for rid, _, _ in runs]
    assert sum(1 for n in counts if n) >= len(runs) // 4
    assert sum(1 for n in counts if not n) >= len(runs) // 10
    assert sum(1 for n in counts if n > 1) >= 5
    assert any(c.query.components for c in sample)  # composites are in the sample


def test_the_comparison_catches_a_wrong_translation(sample, promtool) -> None:
    # The same monitors with their comparison reversed must disagree with Prometheus.
    flipped = []
    for c in sample:
        q = c.query
        if q.components or not (" > " in q.query or " < " in q.query):
            continue
        text = q.query.replace(" > ", " <= ") if " > " in q.query else q.query.replace(" < ", " >= ")
        flipped.append(dataclasses.replace(c, query=dataclasses.replace(q, query=text)))
    runs, differences = dd.compare(flipped, 2, promtool)
    assert len(differences) > runs // 3


# `or vector(0)` (compiler/dialects/datadog_zero.py): the corpus has no translatable instance (its
# one `or vector(0)` wraps count()), so the forms the construct takes, as alerts write it.
OR_ZERO = [
    "(sum(increase(webhook_received_total[10m])) or vector(0)) == 0",
    "(sum(increase(backup_success_total{kind=\"full\"}[30m])) or on() vector(0)) < 1",
    "(sum(rate(jobs_processed_total{queue=\"email\"}[5m])) * 60 or vector(0)) <= 2",
    "(sum(rate(orders_total[15m])) or vector(0)) > 0.5",
    "(sum(increase(heartbeat_total[10m])) or vector(0)) == 0 and sum(rate(requests_total[10m])) > 1",
]


@pytest.fixture(scope="module")
def or_zero(promtool):
    """(cases, runs, what promtool says fires in each run)."""
    cases = [dd.case(dd.Rule(f"zero{i}", expr, 0)) for i, expr in enumerate(OR_ZERO)]
    assert all(c.query is not None for c in cases), [c.problems for c in cases if c.query is None]
    rng = random.Random(7)
    runs = [(f"R{i}_{k}", c, s) for i, c in enumerate(cases) for k in range(10)
            if (s := dd.scenario(c, rng)) is not None]
    return cases, runs, dd.prometheus(runs, promtool)


def _disagreeing(runs, fired) -> list[str]:
    return [rid for rid, c, series in runs if bool(fired[rid]) != dd.datadog(c, series).notifies]


def test_or_vector_zero_monitors_alert_exactly_when_prometheus_fires(or_zero) -> None:
    cases, runs, fired = or_zero
    assert len(runs) == 10 * len(OR_ZERO)
    assert _disagreeing(runs, fired) == []


def test_or_vector_zero_runs_include_windows_without_data_that_fire(or_zero) -> None:
    cases, runs, fired = or_zero
    first = [(rid, series) for rid, c, series in runs if c is cases[0]]
    empty = [rid for rid, series in first if not series]
    assert empty and all(fired[rid] for rid in empty)   # no series at all: 0, which is == 0
    assert any(not fired[rid] for rid, _ in first)      # and runs that stay quiet


def test_without_evaluating_missing_data_as_zero_the_monitors_disagree(or_zero) -> None:
    # The same queries with Datadog's default no-data handling miss the windows without data.
    cases, runs, fired = or_zero
    plain = [(rid, dataclasses.replace(c, query=_without_zero(c.query)), series)
             for rid, c, series in runs]
    assert len(_disagreeing(plain, fired)) >= 5


def _without_zero(q):
    parts = tuple((n, dataclasses.replace(p, missing_as_zero=False)) for n, p in q.components)
    return dataclasses.replace(q, missing_as_zero=False, components=parts)
