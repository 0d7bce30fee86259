"""compiler.route_index: the children a label set can match, found by equality matchers, are
exactly those trying every child would match, in the same order."""
from __future__ import annotations

import random

import pytest

from compiler.route_index import SMALL, ChildIndex


def _brute(equalities, labels):
    """Every child whose equality matchers all hold (a child never read is always tried)."""
    return [i for i, eq in enumerate(equalities)
            if eq is None or all(labels.get(k, "") == v for k, v in eq.items())]


def _possible(index, equalities, labels):
    """The candidates, less those whose equalities fail: what a walk would go on to match."""
    return [i for i in index.candidates(labels)
            if equalities[i] is None or all(labels.get(k, "") == v for k, v in equalities[i].items())]


def test_a_node_with_one_child_per_service_offers_only_the_labels_service():
    equalities = [{"service": f"s{i}"} for i in range(50)]
    index = ChildIndex(equalities)
    assert index.candidates({"service": "s7", "team": "a"}) == [7]
    assert index.candidates({"service": "nope"}) == []
    assert index.candidates({}) == []


def test_children_without_the_indexed_label_stay_candidates_in_their_order():
    equalities = [{"service": f"s{i}"} for i in range(20)]
    equalities[3] = {}  # no equality matcher at all (a regex one, say)
    equalities[11] = None  # matchers not readable: always tried, so the walk reports them
    equalities[15] = {"team": "a"}
    index = ChildIndex(equalities)
    # The three children without a `service` matcher are too few to index by `team`: all are
    # tried (the walk then tests their matchers), after and before the service's own.
    assert index.candidates({"service": "s12"}) == [3, 11, 12, 15]
    assert index.candidates({"service": "s2", "team": "a"}) == [2, 3, 11, 15]


def test_an_empty_value_matches_a_missing_label():
    equalities = [{"team": f"t{i}"} for i in range(SMALL)] + [{"team": ""}]
    assert ChildIndex(equalities).candidates({"service": "x"}) == [SMALL]


def test_a_small_node_offers_every_child():
    equalities = [{"service": f"s{i}"} for i in range(SMALL - 1)]
    assert ChildIndex(equalities).candidates({"service": "s1"}) == list(range(SMALL - 1))


@pytest.mark.parametrize("seed", range(20))
def test_the_candidates_keep_every_child_that_can_match_in_order(seed):
    rng = random.Random(seed)
    labels_pool = ["service", "team", "severity", "alertname"]
    equalities = []
    for _ in range(rng.randint(0, 60)):
        if rng.random() < 0.05:
            equalities.append(None)
            continue
        chosen = rng.sample(labels_pool, rng.randint(0, 3))
        equalities.append({k: rng.choice(["a", "b", "c", ""]) for k in chosen})
    index = ChildIndex(equalities)
    for _ in range(30):
        labels = {k: rng.choice(["a", "b", "c", "d"]) for k in rng.sample(labels_pool, rng.randint(0, 4))}
        got = index.candidates(labels)
        assert got == sorted(set(got))  # in the children's order, each once
        assert _possible(index, equalities, labels) == _brute(equalities, labels)


SETTINGS = """\
version: 1
runbooks: {base_url: https://runbooks.example.test}
targets:
  prometheus: {version: "2.42", evaluation_interval: 1m}
  alertmanager: {version: "0.25"}
  grafana: {url: https://grafana.example.test}
severities:
  P1: {priority: 2, meaning: Failing, respond_within: 30m, page: true}
contacts:
  oncall: {name: On-call, email: oncall@example.test}
"""
SERVICES = 40


def _service(i: int) -> str:
    return f"""\
service: s{i:02d}
team: core
owner: oncall
alerts:
  Down:
    expr: up == 0
    severity: P1
    summary: down
    procedure: fix
    examples:
      fires: {{series: {{up: '0x20'}}}}
      quiet: {{series: {{up: '1x20'}}}}
procedures:
  fix: {{title: Fix it}}
"""


@pytest.fixture(scope="module")
def one_team(tmp_path_factory):
    """A catalog of 40 services in one team, one alert each, and its generated artifacts."""
    from compiler import pipeline

    root = tmp_path_factory.mktemp("one-team")
    (root / "moncat.yaml").write_text(SETTINGS)
    for i in range(SERVICES):
        (root / f"s{i:02d}.yaml").write_text(_service(i))
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), result.report.sorted()[:3]
    return result


def _counting(monkeypatch, owner, name):
    calls = [0]
    real = getattr(owner, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_the_delivery_walk_tries_only_the_alerts_own_service_route(one_team, monkeypatch):
    from compiler.targets.routing.tree import Matcher, resolve, resolver, route_tree, routing_labels

    catalog = one_team.catalog
    alerts = [(s, a) for s in catalog.services for a in s.alerts.values()]
    # The full scan, each child tried in turn: the receivers the indexed walk must find.
    expected = [resolve(route_tree(catalog), routing_labels(a, s)) for s, a in alerts]
    calls = _counting(monkeypatch, Matcher, "matches")
    walk = resolver(catalog)
    assert [walk(routing_labels(a, s)) for s, a in alerts] == expected
    # team, service, severity and delivery routes: a handful per alert, not one per service.
    assert calls[0] <= 6 * len(alerts)


def test_the_readback_walk_tries_only_the_alerts_own_service_route(one_team, monkeypatch):
    from compiler.checks import routing_readback
    from compiler.checks.routing_parity import AM_CONFIG, GRAFANA_POINTS, GRAFANA_POLICIES, Setups

    data = {a.path: a.data for a in one_team.artifacts}
    setups = Setups(data[AM_CONFIG], data[GRAFANA_POLICIES], data[GRAFANA_POINTS])
    calls = _counting(monkeypatch, routing_readback, "_matches")
    for service in one_team.catalog.services:
        labels = {"alertname": "Down", "service": service.id, "severity": "P1", "team": "core"}
        assert {n.contact for n in setups.alertmanager(labels)} == {"oncall"}
        assert {n.contact for n in setups.grafana({**labels, "grafana_folder": service.id})} == {"oncall"}
    assert calls[0] <= 2 * 6 * SERVICES
