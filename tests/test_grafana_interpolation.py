"""Grafana provisioning files and `$`: Grafana's file reader expands environment variables in some
fields only (labels, contact point settings, policies...) and reads others raw (annotations,
query models). Each generated file is read here the way Grafana reads it, field by field, and
must give back exactly the catalog's text, which `apply` sends unchanged over the API."""
from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from compiler import pipeline
from compiler.apply.grafana_alerting import desired_contact_points, desired_policy, desired_rules
from compiler.targets.grafana.interpolation import escape, every_string, unescape, whole_file
from conftest import OUTPUT

# Paths (slash-joined keys and list indexes) whose strings Grafana's reader puts through
# values.StringValue / StringMapValue / JSONValue, read from pkg/services/provisioning/alerting
# (rules_types.go, contact_point_types.go since 9.1.7, notification_policy_types.go) and
# pkg/services/provisioning/dashboards/types.go. Every other string is read as written.
INTERPOLATED = [
    r"groups/\d+/(name|folder|interval)",
    r"groups/\d+/rules/\d+/(uid|title|condition|dashboardUid|noDataState|execErrState|for|keepFiringFor)",
    r"groups/\d+/rules/\d+/labels/[^/]+",
    r"groups/\d+/rules/\d+/notification_settings/.+",
    r"groups/\d+/rules/\d+/data/\d+/(refId|queryType|datasourceUid)",
    r"contactPoints/\d+/name",
    r"contactPoints/\d+/receivers/\d+/(uid|type|settings/.+)",
    r"policies/\d+/.+",
    r"providers/\d+/.+",
]
ENV = {"MONCAT_SLACK_TOKEN": "xoxb-1", "MONCAT_PAGERDUTY_KEY_PAY_ONCALL": "pd-key",
       "MONCAT_OPSGENIE_API_KEY_PAY_ONCALL": "og-key", "MONCAT_WEBHOOK_URL_PAY_HOOK": "https://h.test/t0k"}


def _go_name(s: str) -> tuple[str, int]:
    """Go's os.Expand getShellName: the variable name after a `$`, and its width."""
    special = "*#$@!?-0123456789"
    if s[0] == "{":
        if len(s) > 2 and s[1] in special and s[2] == "}":
            return s[1], 3
        end = s.find("}")
        if end == -1:
            return "", 1
        return (s[1:end], end + 1) if end > 1 else ("", 2)
    if s[0] in special:
        return s[0], 1
    width = 0
    while width < len(s) and (s[width].isascii() and (s[width].isalnum() or s[width] == "_")):
        width += 1
    return s[:width], width


def _go_expand(s: str, env: dict[str, str]) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "$" and i + 1 < len(s):
            name, width = _go_name(s[i + 1:])
            if name:
                out.append(env.get(name, ""))
            elif width == 0:
                out.append("$")  # `$` not followed by a name stays
            i += 1 + width
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def grafana_value(text: str, env: dict[str, str]) -> str:
    """values.interpolateValue: split on `$$`, expand each part, join with `$`."""
    return "$".join(_go_expand(part, env) for part in text.split("$$"))


def read_as_grafana(node: Any, env: dict[str, str], path: str = "") -> Any:
    if isinstance(node, dict):
        return {k: read_as_grafana(v, env, f"{path}/{k}".lstrip("/")) for k, v in node.items()}
    if isinstance(node, list):
        return [read_as_grafana(v, env, f"{path}/{i}".lstrip("/")) for i, v in enumerate(node)]
    if isinstance(node, str) and any(re.fullmatch(p, path) for p in INTERPOLATED):
        return grafana_value(node, env)
    return node


def resolved(node: Any) -> Any:
    """The API form with our secret references resolved, as `apply` and Grafana both do."""
    if isinstance(node, dict):
        return {k: resolved(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(v) for v in node]
    if isinstance(node, str):
        return re.sub(r"\$\{(MONCAT_[A-Z0-9_]+)\}", lambda m: ENV[m.group(1)], node)
    return node


SETTINGS = """\
version: 1
runbooks: {base_url: https://runbooks.example.test}
targets:
  alertmanager: {version: "0.26"}
  grafana: {url: https://grafana.example.test}
severities:
  P1: {priority: 1, meaning: Costs $$$ per minute, respond_within: 30m, page: true}
  P2: {priority: 2, meaning: Same day, respond_within: 4h}
contacts:
  pay-oncall: {name: Pay $oncall, email: "pay$oncall@example.test", pagerduty: "pd$pay", opsgenie: "team $pay"}
  pay-hook: {name: Hook, webhook: {secret: true}}
  pay-public: {name: Public hook, webhook: "https://hooks.example.test/a$b?x=${HOME}"}
"""
SERVICE = """\
service: pay
title: Pay $ervice ${HOME}
team: pay
owner: pay-oncall
metrics:
  up: {type: gauge, help: Target up, labels: [job]}
alerts:
  PayDown:
    expr: up{job="pay$api"} == 0
    for: 5m
    severity: P1
    labels: {cost: "$$5 per $minute"}
    summary: 'Pay {{ $labels.job }} is down, ${HOME} $value'
    description: 'Costs {{ $labels.job }} $ a minute; see $__interval'
    procedure: fix
    examples:
      fires: {series: {'up{job="pay$api"}': '0x20'}, value: 0}
      quiet: {series: {'up{job="pay$api"}': '1x20'}}
  PayMissing:
    expr: absent(up{job="pay$api"})
    for: 5m
    severity: P2
    notify: [pay-hook, pay-public]
    summary: No up series for {{ $labels.job }}
    procedure: fix
    examples:
      fires: {series: {'up{job="other"}': '1x20'}}
      quiet: {series: {'up{job="pay$api"}': '1x20'}}
procedures:
  fix: {title: Fix it}
dashboards:
  pay:
    title: Pay $ board
    rows:
      - title: Up
        panels:
          - title: Up
            type: timeseries
            unit: short
            queries: [{expr: 'up{job="pay$api"}'}]
"""


@pytest.fixture(scope="module")
def dollars(tmp_path_factory) -> pipeline.Result:
    root = tmp_path_factory.mktemp("dollars")
    (root / "moncat.yaml").write_text(SETTINGS)
    (root / "pay.yaml").write_text(SERVICE)
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def _file(result: pipeline.Result, path: str) -> dict[str, Any]:
    return yaml.safe_load(result.files[path])


def _objects(result: pipeline.Result, kind: str) -> dict[str, Any]:
    return {o.id: o.content for a in result.artifacts for o in a.objects
            if o.target == "grafana" and o.kind == kind}


def test_each_rule_field_grafana_reads_back_is_the_catalogs_text(dollars) -> None:
    read = read_as_grafana(_file(dollars, "grafana/alerting/pay.yaml"), ENV)
    group = read["groups"][0]
    assert group["folder"] == "Pay $ervice ${HOME}"
    api = _objects(dollars, "alert_rule")
    assert len(group["rules"]) == len(api) == 2
    for rule in group["rules"]:
        want = api[f"pay/{rule['title']}"]
        assert {k: rule[k] for k in want} == want


def test_the_raw_fields_keep_single_dollars_and_the_interpolated_ones_double_them(dollars) -> None:
    rules = {r["title"]: r for r in _file(dollars, "grafana/alerting/pay.yaml")["groups"][0]["rules"]}
    down, missing = rules["PayDown"], rules["PayMissing"]
    # Raw: annotations and query models, as written.
    assert down["annotations"]["summary"] == "Pay {{ $labels.job }} is down, ${HOME} $value"
    assert down["annotations"]["description"] == "Costs {{ $labels.job }} $ a minute; see $__interval"
    assert down["data"][0]["model"]["expr"] == 'up{job="pay$api"}'
    assert missing["data"][2]["model"]["expression"] == "$B == $B"
    # Interpolated: labels (and the group's folder).
    assert down["labels"]["cost"] == "$$$$5 per $$minute"
    assert _file(dollars, "grafana/alerting/pay.yaml")["groups"][0]["folder"] == "Pay $$ervice $${HOME}"


def test_contact_points_and_policies_read_back_as_the_api_bodies_with_secrets_resolved(dollars) -> None:
    read = read_as_grafana(_file(dollars, "grafana/alerting/_contact-points.yaml"), ENV)
    api = _objects(dollars, "contact_point")
    got = {p["name"]: [{"name": p["name"], **r} for r in p["receivers"]] for p in read["contactPoints"]}
    assert got == resolved(api)
    settings = {r["type"]: r["settings"] for p in read["contactPoints"] for r in p["receivers"]}
    assert settings["email"]["addresses"] == "pay$oncall@example.test"
    assert settings["pagerduty"]["integrationKey"] == "pd-key" and settings["pagerduty"]["client"] == "pd$pay"
    assert {s["url"] for t, s in settings.items() if t == "webhook"} <= {
        "https://h.test/t0k", "https://hooks.example.test/a$b?x=${HOME}"}
    urls = sorted(r["settings"]["url"] for p in read["contactPoints"] for r in p["receivers"]
                  if r["type"] == "webhook")
    assert urls == ["https://h.test/t0k", "https://hooks.example.test/a$b?x=${HOME}"]
    policies = read_as_grafana(_file(dollars, "grafana/alerting/_policies.yaml"), ENV)
    assert policies["policies"][0] == _objects(dollars, "notification_policy")["notification-policies"]


def test_the_dashboard_provider_reads_back_the_services_folder(dollars) -> None:
    read = read_as_grafana(_file(dollars, "grafana/provisioning/dashboards.yaml"), ENV)
    assert read["providers"][0]["folder"] == "Pay $ervice ${HOME}"
    assert read["providers"][0]["options"]["path"].endswith("/pay")


def test_apply_sends_the_raw_text_over_the_api(dollars) -> None:
    rules = {d.id: d.body for d in desired_rules(dollars.catalog, 1) if d.kind == "alert_rule"}
    down = next(r for r in rules.values() if r["title"] == "PayDown")
    assert down["labels"]["cost"] == "$$5 per $minute"
    assert down["data"][0]["model"]["expr"] == 'up{job="pay$api"}'
    points, secrets = desired_contact_points(dollars.files, ENV)
    emails = [p.body["settings"]["addresses"] for p in points if p.body["type"] == "email"]
    assert set(emails) == {"pay$oncall@example.test"} and "pd-key" in secrets
    tree = desired_policy(dollars.files)[0].body
    assert tree == _objects(dollars, "notification_policy")["notification-policies"]


def test_the_seed_output_keeps_grafanas_math_conditions_and_annotations_raw() -> None:
    conditions, annotations = 0, 0
    for path in sorted((OUTPUT / "grafana" / "alerting").glob("[!_]*.yaml")):
        for rule in yaml.safe_load(path.read_text())["groups"][0]["rules"]:
            for query in rule["data"]:
                text = query["model"].get("expression", "")
                assert "$$" not in text, (path.name, rule["title"])
                conditions += text == "$B == $B"
            for value in rule["annotations"].values():
                assert "$$" not in value, (path.name, rule["title"])
                annotations += "$labels" in value
    # The review found 13 math conditions and 19 annotations that `$$` had broken.
    assert conditions and annotations


def test_reading_a_file_expands_only_what_grafana_expands() -> None:
    # The reader above follows Go's os.Expand and Grafana's `$$` rule.
    env = {"A": "x"}
    assert grafana_value("$A ${A} $$A $$$A $ $} ${", env) == "x x $A $x $ $} "
    assert grafana_value("{{ $labels.x }}", env) == "{{ .x }}"
    assert grafana_value("{{ $$labels.x }}", env) == "{{ $labels.x }}"


@pytest.mark.parametrize("data", [
    {"apiVersion": 1, "policies": [{"receiver": "a", "routes": [{"object_matchers": [["x", "=", "y"]]}]}]},
    {"apiVersion": 1, "policies": [{"receiver": "a$b", "routes": [{"object_matchers": [["x", "=", "${MONCAT_X}"]]}]}]},
    {"apiVersion": 1, "contactPoints": [{"name": "n", "receivers": [{"settings": {"url": "$$x", "n": 3}}]}]},
    {"apiVersion": 1, "providers": [{"name": "p", "options": {"a$": "b"}, "x": None, "y": [1.5, True]}]},
], ids=["no dollar", "dollar and placeholder", "double dollar", "dollar in a key"])
def test_the_whole_file_is_every_string_converted_whether_or_not_a_text_holds_a_dollar(data) -> None:
    for convert in (escape, unescape):
        walked = {k: v if k == "apiVersion" else every_string(v, convert) for k, v in data.items()}
        assert whole_file(data, convert) == walked
