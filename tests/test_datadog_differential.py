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
