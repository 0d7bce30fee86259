"""Grafana-managed alerting: rule groups, contact points and the notification policy tree,
valid against Grafana's official schema, the same alerts as the Prometheus rules, and routed to
exactly the contacts the catalog names."""
from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from grafana_foundation_sdk.models import alerting as alerting_m

from compiler.checks import cross_target
from compiler.checks.routing import recipients
from compiler.targets.routing import delivery
from compiler.targets.routing.delivery import deliveries
from compiler.expr.thresholds import threshold
from compiler.targets.grafana.alerting import translate_template
from conftest import CATALOG
from grafana_schemas import Generated, alerting_file_errors, errors, rule_errors


@pytest.fixture(scope="module")
def compiled() -> Generated:
    return Generated(CATALOG)


def _alerting_files(compiled) -> dict[str, str]:
    return {p: d.decode() for p, d in compiled.files.items() if p.startswith("grafana/alerting/")}


def _objects(compiled, kind: str) -> dict[str, object]:
    return {o.id: o.content for a in compiled.artifacts for o in a.objects
            if o.target == "grafana" and o.kind == kind}


def test_one_alerting_file_per_service_plus_contact_points_and_policies(compiled) -> None:
    services = {s.id for s in compiled.catalog.services if s.alerts}
    assert set(_alerting_files(compiled)) == {f"grafana/alerting/{s}.yaml" for s in services} | {
        "grafana/alerting/_contact-points.yaml", "grafana/alerting/_policies.yaml",
        "grafana/alerting/_templates.yaml",
        "grafana/alerting/_mute-timings.yaml"}  # the seed has active hours (agentbar's busy hours)


def test_every_alerting_provisioning_object_validates_against_the_schema(compiled) -> None:
    problems = [e for path, text in _alerting_files(compiled).items()
                for e in alerting_file_errors(path, text)]
    assert problems == []


def test_every_object_the_manifest_lists_validates_against_the_schema(compiled) -> None:
    """The API shapes (what `apply` would send): RuleGroup with its Rules, ContactPoint, the
    policy tree."""
    groups = _objects(compiled, "rule_group")
    points = _objects(compiled, "contact_point")
    assert len(groups) == 5 and len(points) >= 10
    problems = [e for gid, g in groups.items() for e in errors(gid, "alerting", "RuleGroup", g)]
    problems += [e for gid, g in groups.items() for r in g["rules"] for e in rule_errors(gid, r)]
    problems += [e for cid, cp in points.items() for i in cp for e in errors(cid, "alerting", "ContactPoint", i)]
    problems += errors("policy", "alerting", "NotificationPolicy",
                       _objects(compiled, "notification_policy")["notification-policies"])
    assert problems == []


def test_the_alerting_objects_load_through_the_foundation_sdk_models(compiled) -> None:
    for gid, group in _objects(compiled, "rule_group").items():
        assert alerting_m.RuleGroup.from_json(group).to_json()["title"] == group["title"]
        for rule in group["rules"]:
            model = alerting_m.Rule.from_json(rule)
            assert (model.uid, model.title, model.for_val, model.condition) == \
                (rule["uid"], rule["title"], rule["for"], rule["condition"])
    tree = _objects(compiled, "notification_policy")["notification-policies"]
    assert json.loads(json.dumps(alerting_m.NotificationPolicy.from_json(tree).to_json(),
                                 default=lambda o: o.to_json()))["receiver"] == tree["receiver"]


def test_rules_have_query_reduce_and_threshold_and_the_prometheus_rules_threshold_and_for(compiled) -> None:
    catalog = compiled.catalog
    rules = _objects(compiled, "alert_rule")
    assert len(rules) == sum(len(s.alerts) for s in catalog.services) == 39 + 29  # + the SLOs' alerts
    split = 0
    for svc in catalog.services:
        for alert in svc.alerts.values():
            rule = rules[alert.id]
            models = {q["refId"]: q["model"] for q in rule["data"]}
            assert [models[r].get("type") for r in "ABC"][1] == "reduce"
            found = threshold(alert.expr.tree)
            if found is not None:
                split += 1
                evaluator = models["C"]["conditions"][0]["evaluator"]
                assert evaluator["params"] == [found.value]
            query, op, value, for_ms = cross_target.read_grafana(rule)
            assert (query, op, value, for_ms) == cross_target.read_prometheus(
                {"expr": alert.expr.text, "for": f"{alert.for_ms}ms"})
            assert rule["labels"]["severity"] == alert.severity
            assert rule["annotations"]["runbook_url"].endswith(f"/{svc.id}/alerts/{alert.name}.html")
    assert split >= 25


def test_the_cross_target_check_passes_on_the_seed_catalog(compiled) -> None:
    assert cross_target.check(compiled.catalog, compiled.artifacts) == []


def _tampered(compiled, alert_id: str, change) -> list:
    artifacts = copy.deepcopy(compiled.artifacts)
    for art in artifacts:
        for obj in art.objects:
            if obj.target == "grafana" and obj.kind == "alert_rule" and obj.id == alert_id:
                change(obj.content)
    return cross_target.check(compiled.catalog, artifacts)


@pytest.mark.parametrize("what, change, says", [
    ("threshold", lambda r: r["data"][2]["model"]["conditions"][0]["evaluator"].update(params=[0.03]),
     "threshold 0.02 (Prometheus) vs 0.03 (Grafana)"),
    ("comparison", lambda r: r["data"][2]["model"]["conditions"][0]["evaluator"].update(type="lt"),
     "comparison > (Prometheus) vs < (Grafana)"),
    ("for", lambda r: r.update({"for": "5m"}), "for 0s (Prometheus) vs 5m (Grafana)"),
    ("query", lambda r: r["data"][0]["model"].update(expr="sum(rate(webhook_events_total[10m]))"),
     "query sum(rate(webhook_events_total{status=\"error\"}[10m]))"),
    ("condition", lambda r: r.update(condition="B"), "cannot be read back"),
])
def test_the_cross_target_check_fails_when_grafana_and_prometheus_disagree(compiled, what, change, says) -> None:
    alert = compiled.catalog.service("shop").alerts["ShopWebhookFailureRatioHigh"]
    diags = _tampered(compiled, alert.id, change)
    assert [d.code for d in diags] == ["MC450"], what
    assert says in diags[0].message and diags[0].loc == alert.loc


def test_the_cross_target_check_reports_an_alert_missing_from_grafana(compiled) -> None:
    artifacts = [a for a in compiled.artifacts if a.path != "grafana/alerting/store.yaml"]
    diags = cross_target.check(compiled.catalog, artifacts)
    assert {d.code for d in diags} == {"MC453"} and len(diags) == 4


def _route(node: dict, labels: dict[str, str]) -> list[str]:
    """Receivers an alert with `labels` reaches, by Alertmanager's rules: depth first, the first
    matching child unless it says continue, the node's own receiver when no child matches."""
    def matches(n: dict) -> bool:
        for name, op, value in n.get("object_matchers", []):
            have = labels.get(name, "")
            ok = {"=": have == value, "!=": have != value,
                  "=~": re.fullmatch(value, have) is not None,
                  "!~": re.fullmatch(value, have) is None}[op]
            if not ok:
                return False
        return True

    def walk(n: dict, inherited: str) -> list[str]:
        receiver = n.get("receiver", inherited)
        out: list[str] = []
        for child in n.get("routes", []):
            if matches(child):
                out += walk(child, receiver)
                if not child.get("continue"):
                    break
        return out or [receiver]

    return walk(node, node["receiver"])


def _grafana_name(receiver: str) -> str:
    return receiver.removesuffix("/page") + " (page)" if receiver.endswith("/page") else receiver


def test_the_policy_tree_routes_every_alert_to_exactly_its_contacts_and_escalations(compiled) -> None:
    tree = yaml.safe_load(_alerting_files(compiled)["grafana/alerting/_policies.yaml"])["policies"][0]
    rules = _objects(compiled, "alert_rule")
    escalated = 0
    for svc in compiled.catalog.services:
        for alert in svc.alerts.values():
            labels = {**rules[alert.id]["labels"], "alertname": alert.name}
            plan = deliveries(compiled.catalog, svc, alert)
            assert {d.contact for d in plan if not d.escalation} == set(recipients(alert, svc))
            assert sorted(_route(tree, labels)) == sorted(_grafana_name(d.receiver) for d in plan), alert.id
            escalated += any(d.escalation for d in plan)
    assert escalated
    # An alert from outside the catalog goes to the root's receiver only: Grafana's own default
    # contact point, as the seed catalog names no catch_all.
    assert _route(tree, {"alertname": "Other"}) == [tree["receiver"]] == ["grafana-default-email"]


def test_an_alerts_deliveries_are_worked_out_once_per_catalog_as_a_fresh_working_out_gives(compiled) -> None:
    # The routing tree, Alertmanager's route tests, these rules' labels, the delivery checks and
    # the pages all read one list per alert.
    for svc in compiled.catalog.services:
        for alert in svc.alerts.values():
            plan = deliveries(compiled.catalog, svc, alert)
            assert deliveries(compiled.catalog, svc, alert) is plan
            assert plan == delivery._deliveries(compiled.catalog, svc, alert)


def test_contact_points_split_paging_from_the_other_channels_and_hold_no_secret(compiled) -> None:
    points = yaml.safe_load(_alerting_files(compiled)["grafana/alerting/_contact-points.yaml"])
    by_name = {p["name"]: p for p in points["contactPoints"]}
    pagers = {"pagerduty", "opsgenie"}
    for cid, contact in compiled.catalog.contacts.items():
        if not getattr(contact, "receives_alerts", True):
            assert cid not in by_name and f"{cid} (page)" not in by_name  # reached by hand only
            continue
        channels = {k for k in ("email", "slack", "pagerduty", "opsgenie", "webhook") if getattr(contact, k)}
        if cid in by_name:
            assert {r["type"] for r in by_name[cid]["receivers"]} == channels - pagers
        if f"{cid} (page)" in by_name:
            assert channels & pagers
            assert {r["type"] for r in by_name[f"{cid} (page)"]["receivers"]} == channels
        assert cid in by_name or f"{cid} (page)" in by_name, cid
    for point in by_name.values():
        for r in point["receivers"]:
            for key in ("token", "integrationKey", "apiKey"):
                if key in r["settings"]:
                    assert re.fullmatch(r"\$\{MONCAT_[A-Z0-9_]+\}", r["settings"][key]), (point["name"], key)


@pytest.mark.parametrize("prometheus, grafana", [
    ("Latency is {{ $value }}s", "Latency is {{ $values.B.Value }}s"),
    ("{{ $value | humanizePercentage }} of {{ $labels.route }}",
     "{{ $values.B.Value | humanizePercentage }} of {{ $labels.route }}"),
    ("{{ .Value }} on {{ .Labels.instance }}", "{{ $values.B.Value }} on {{ .Labels.instance }}"),
    ("$value outside an action stays", "$value outside an action stays"),
])
def test_annotation_templates_read_the_value_grafana_keeps(prometheus, grafana) -> None:
    assert translate_template(prometheus) == grafana
