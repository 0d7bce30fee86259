"""Alertmanager and Grafana notify alike: per alert, the set of (contact, integration, delay) read
back from both generated setups is the same, on the seed catalog and on a catalog with paging and
non-paging levels, escalation chains and a catch-all; the check fails the compile on any
difference, and a level that does not page reaches no pager on either."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from compiler import pipeline
from compiler.checks import routing_parity
from compiler.checks.routing_readback import Notification
from conftest import CATALOG

SETTINGS = """\
version: 1
runbooks: {base_url: https://runbooks.example.test}
catch_all: platform
targets:
  alertmanager: {version: "0.25"}
  grafana: {url: https://grafana.example.test}
severities:
  P0: {priority: 1, meaning: Down, respond_within: 5m, page: true}
  P1: {priority: 2, meaning: Broken, respond_within: 30m, page: true}
  P2: {priority: 3, meaning: Same day, respond_within: 4h}
contacts:
  oncall:
    name: On-call
    email: oncall@example.test
    pagerduty: api
    opsgenie: api-team
    escalates_to: {P0: {to: lead, after: 15m}, P1: lead}
  lead: {name: Lead, slack: "#lead", escalates_to: {P1: {to: cto, after: 10m}}}
  cto: {name: CTO, email: cto@example.test}
  platform: {name: Platform, email: platform@example.test}
"""
SERVICE = """\
service: api
title: API
team: core
owner: oncall
alerts:
{alerts}
procedures:
  fix: {{title: Fix it}}
"""
ALERT = """\
  {name}:
    expr: up == 0
    severity: {severity}
    summary: {name}
    procedure: fix
    examples:
      fires: {{series: {{up: '0x20'}}}}
      quiet: {{series: {{up: '1x20'}}}}
"""


def _n(contact: str, integration: str, wait: str, interval: str, repeat: str) -> Notification:
    return Notification(contact, integration, wait, interval, repeat)


P0_TIMES, P1_TIMES, P2_TIMES = ("30s", "1m", "1h"), ("30s", "6m", "2h"), ("5m", "48m", "16h")
EXPECTED = {
    # P0 pages at once with PagerDuty's "critical" and Opsgenie's P1, and only P0 escalates
    # after 15 minutes.
    "Down": {_n("oncall", "email", *P0_TIMES), _n("oncall", "pagerduty severity=critical", *P0_TIMES),
             _n("oncall", "opsgenie priority=P1", *P0_TIMES), _n("lead", "slack", "15m", *P0_TIMES[1:])},
    # P1 escalates after its response time, then on to the CTO ten minutes later.
    "Broken": {_n("oncall", "email", *P1_TIMES), _n("oncall", "pagerduty severity=error", *P1_TIMES),
               _n("oncall", "opsgenie priority=P2", *P1_TIMES), _n("lead", "slack", "30m", *P1_TIMES[1:]),
               _n("cto", "email", "40m", *P1_TIMES[1:])},
    # P2 does not page and does not escalate.
    "Slow": {_n("oncall", "email", *P2_TIMES)},
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> pipeline.Result:
    root = tmp_path_factory.mktemp("parity")
    (root / "moncat.yaml").write_text(SETTINGS)
    alerts = "".join(ALERT.format(name=n, severity=s) for n, s in
                     (("Down", "P0"), ("Broken", "P1"), ("Slow", "P2")))
    (root / "api.yaml").write_text(SERVICE.format(alerts=alerts))
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


@pytest.fixture(scope="module")
def seed() -> pipeline.Result:
    result = pipeline.compile_catalog(CATALOG)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def _setups(result: pipeline.Result) -> routing_parity.Setups:
    data = {a.path: a.data for a in result.artifacts}
    return routing_parity.Setups(data[routing_parity.AM_CONFIG], data[routing_parity.GRAFANA_POLICIES],
                                 data[routing_parity.GRAFANA_POINTS])


def _labels(result: pipeline.Result, alert_id: str, target: str, kind: str) -> dict[str, str]:
    rule = next(o.content for a in result.artifacts for o in a.objects
                if o.target == target and o.kind == kind and o.id == alert_id)
    return {**rule["labels"], "alertname": alert_id.split("/")[1]}


@pytest.mark.parametrize("alert", sorted(EXPECTED))
def test_both_targets_notify_the_contacts_integrations_and_delays_the_catalog_says(small, alert) -> None:
    setups = _setups(small)
    got_am = setups.alertmanager(_labels(small, f"api/{alert}", "prometheus", "alert"))
    got_gf = setups.grafana({**_labels(small, f"api/{alert}", "grafana", "alert_rule"), "grafana_folder": "API"})
    assert got_am == EXPECTED[alert]
    assert got_gf == EXPECTED[alert]


def test_what_a_route_sends_is_read_again_for_each_value_of_a_label_its_templates_read(small) -> None:
    # Both label sets take the same routes; only what Grafana's Opsgenie integration reads differs.
    setups = _setups(small)
    labels = {**_labels(small, "api/Down", "grafana", "alert_rule"), "grafana_folder": "API"}
    first, other = setups.grafana(labels), setups.grafana({**labels, "og_priority": "P4"})
    assert "opsgenie priority=P1" in {n.integration for n in first}
    assert "opsgenie priority=P4" in {n.integration for n in other}
    assert setups.grafana(labels) == first


def test_an_unknown_alert_reaches_the_catch_all_on_both_and_pages_nobody(small) -> None:
    setups = _setups(small)
    want = {_n("platform", "email", "30s", "5m", "4h")}
    assert setups.alertmanager({"alertname": "FromElsewhere"}) == want
    assert setups.grafana({"alertname": "FromElsewhere"}) == want


def test_an_unknown_alert_of_a_service_reaches_its_owner_alike_on_both(small) -> None:
    setups = _setups(small)
    labels = {"alertname": "Other", "service": "api", "team": "core", "severity": "P2"}
    assert setups.alertmanager(labels) == setups.grafana(labels) == {_n("oncall", "email", *P2_TIMES)}


@pytest.mark.parametrize("which", ["small", "seed"])
def test_the_routing_check_passes_and_quiet_levels_reach_no_pager(request, which) -> None:
    result = request.getfixturevalue(which)
    assert list(routing_parity.check(result.catalog, result.artifacts)) == []
    setups = _setups(result)
    quiet = 0
    for service in result.catalog.services:
        for alert in service.alerts.values():
            severity = service.severity(alert.severity, result.catalog.severities)
            found = setups.alertmanager(_labels(result, alert.id, "prometheus", "alert"))
            assert found, alert.id
            if not severity.page:
                quiet += 1
                assert not [n for n in found if n.integration.split()[0] in ("pagerduty", "opsgenie")]
    assert quiet


def _tampered(result: pipeline.Result, path: str, change) -> list:
    artifacts = copy.deepcopy(result.artifacts)
    for art in artifacts:
        if art.path == path:
            change(art.data)
    return list(routing_parity.check(result.catalog, artifacts))


def _policy(data: dict) -> dict:
    return data["policies"][0]


def _strip_timings(node: dict) -> None:
    for key in ("group_wait", "group_interval", "repeat_interval"):
        node.pop(key, None)
    for child in node.get("routes", []):
        _strip_timings(child)


def _page_at_p2(data: dict) -> None:
    """Route P2 to the contact point with the pagers, as Grafana's tree once did."""
    def walk(node: dict) -> None:
        if ["severity", "=", "P2"] in node.get("object_matchers", []):
            for child in node.get("routes", []):
                child["receiver"] = "oncall (page)"
        for child in node.get("routes", []):
            walk(child)
    walk(_policy(data))


def _drop_escalations(data: dict) -> None:
    def walk(node: dict) -> None:
        node["routes"] = [c for c in node.get("routes", []) if not (c.get("continue") and "group_wait" in c)]
        for child in node["routes"]:
            walk(child)
    walk(_policy(data))


GRAFANA_POLICIES, GRAFANA_POINTS = routing_parity.GRAFANA_POLICIES, routing_parity.GRAFANA_POINTS
TAMPERING = [
    ("grafana-default-timings", GRAFANA_POLICIES, lambda d: _strip_timings(_policy(d)), {"MC470"}, "api/Down"),
    ("grafana-pages-at-p2", GRAFANA_POLICIES, _page_at_p2, {"MC470", "MC471"}, "api/Slow"),
    ("grafana-without-escalations", GRAFANA_POLICIES, _drop_escalations, {"MC470"}, "api/Broken"),
    ("grafana-catch-all-is-a-services-contact", GRAFANA_POLICIES,
     lambda d: _policy(d).update(receiver="oncall"), {"MC470"}, "no catalog route"),
    ("pagerduty-sends-error-for-everything", GRAFANA_POINTS,
     lambda d: [r["settings"].update(severity="error") for p in d["contactPoints"] for r in p["receivers"]
                if r["type"] == "pagerduty"], {"MC470"}, "api/Down"),
    ("alertmanager-escalation-route-waits-less", routing_parity.AM_CONFIG,
     lambda d: [c.update(group_wait="5m") for s in d["route"]["routes"][0]["routes"][0]["routes"]
                for c in s["routes"] if c.get("group_wait")], {"MC470"}, "api/Broken"),
    ("unreadable-template", GRAFANA_POINTS,
     lambda d: [r["settings"].update(severity="{{ .CommonLabels.severity | lower }}")
                for p in d["contactPoints"] for r in p["receivers"] if r["type"] == "pagerduty"],
     {"MC470"}, "cannot be read back"),
]


@pytest.mark.parametrize("case,path,change,codes,says", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_the_check_fails_when_the_generated_setups_disagree(small, case, path, change, codes, says) -> None:
    diags = _tampered(small, path, change)
    assert {d.code for d in diags} == codes, [d.message for d in diags]
    assert any(says in d.message for d in diags), [d.message for d in diags]


def test_a_grafana_tree_that_differs_fails_the_compile_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    from compiler.targets.grafana import notifications

    real = notifications.policy_tree

    def grafana_defaults(catalog, tree=None, blocks=None):
        policy = real(catalog, tree)  # spelled here, not from blocks rendered already: changed below
        _strip_timings(policy)
        return policy

    monkeypatch.setattr(notifications, "policy_tree", grafana_defaults)
    (tmp_path / "moncat.yaml").write_text(SETTINGS)
    (tmp_path / "api.yaml").write_text(SERVICE.format(alerts=ALERT.format(name="Broken", severity="P1")))
    result = pipeline.compile_catalog(tmp_path)
    assert "MC470" in {d.code for d in result.report.sorted()} and result.files == {}
