"""Grafana target, alerting: the catalog's alerts as Grafana-managed alert rules (query, reduce
and threshold expressions), one rule group per service in the service's folder."""
from __future__ import annotations

import re
from typing import Any

from compiler.diagnostics import Diagnostic, error
from compiler.dialects.promql import to_promql
from compiler.durations import format_ms
from compiler.expr import ast
from compiler.expr.thresholds import threshold
from compiler.model import Alert, Catalog, Service
from compiler.targets import links
from compiler.targets.grafana.suppressions import folded
from compiler.targets.prometheus import alert_annotations, alert_labels
from compiler.targets.routing.delivery import deliveries, integrations, pages, severity_of
from compiler.targets.routing.levels import opsgenie_priority

ORG_ID = 1
EXPR_DATASOURCE = "__expr__"  # Grafana's server-side expressions
QUERY, REDUCED, CONDITION = "A", "B", "C"
EVALUATORS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "==": "eq", "!=": "ne"}
OPERATORS = {v: k for k, v in EVALUATORS.items()}
# Grafana's math expression for "the series is there": the alert's own PromQL already keeps only
# the series that fire, and `$B == $B` is 1 for every number (0 for NaN, which never fires).
PRESENT = f"${REDUCED} == ${REDUCED}"
# Prometheus prints a firing series' value with $value (.Value); Grafana keeps it in the values
# of the rule's expressions: the reduced query, B, holds what Prometheus' $value holds.
_VALUE = re.compile(r"(?<![\w.$])(?:\$value|\.Value)(?![\w])")
_ACTION = re.compile(r"\{\{-?.*?-?\}\}", re.S)
_UNSUPPORTED_VARS = ("$externalLabels", "$externalURL")


def folder_title(service: Service) -> str:
    return service.title or service.id


def folder_uid(service: Service) -> str:
    return links.short_uid(f"moncat-{service.id}")


def rule_uid(alert: Alert) -> str:
    return links.short_uid(f"{alert.service}-{alert.name}")


def group_name(service: Service) -> str:
    return f"{service.id}.alerts"


def translate_template(text: str) -> str:
    """A Prometheus annotation template as Grafana's: $value becomes $values.B.Value."""
    return _ACTION.sub(lambda m: _VALUE.sub(f"$values.{REDUCED}.Value", m.group(0)), text)


def _query(catalog: Catalog, expr: ast.Expr) -> dict[str, Any]:
    uid = catalog.settings.grafana.datasource_uid
    window = max(ast.longest_range_ms(expr), catalog.settings.evaluation_interval_ms, 60_000)
    return {
        "refId": QUERY,
        "datasourceUid": uid,
        "queryType": "",
        # Instant queries read the end of the range only; `from` shows the window in the editor.
        "relativeTimeRange": {"from": window // 1000, "to": 0},
        "model": {"refId": QUERY, "expr": to_promql(expr), "instant": True, "range": False,
                  "legendFormat": "__auto", "datasource": {"type": "prometheus", "uid": uid}},
    }


def _expression(ref: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": EXPR_DATASOURCE,
        "queryType": "",
        "relativeTimeRange": {"from": 0, "to": 0},
        "model": {"refId": ref, "datasource": {"type": EXPR_DATASOURCE, "uid": EXPR_DATASOURCE},
                  **model},
    }


def rule_data(catalog: Catalog, alert: Alert) -> list[dict[str, Any]]:
    """Query A, B = last value of A per series, C = the condition. When the alert is a query
    compared with a number, A is the query and C compares B with that number (both read from
    the expression); otherwise A is the whole expression and C holds for every series it keeps,
    just as Prometheus fires for every series the expression returns."""
    found = threshold(alert.expr.tree)
    reduce = _expression(REDUCED, {"type": "reduce", "expression": QUERY, "reducer": "last"})
    if found is None:
        return [_query(catalog, folded(catalog, alert, alert.expr.tree)), reduce,
                _expression(CONDITION, {"type": "math", "expression": PRESENT})]
    condition = _expression(CONDITION, {
        "type": "threshold", "expression": REDUCED,
        "conditions": [{"evaluator": {"type": EVALUATORS[found.op], "params": [found.value]}}],
    })
    return [_query(catalog, folded(catalog, alert, found.query)), reduce, condition]


def rule_annotations(catalog: Catalog, service: Service, alert: Alert) -> dict[str, str]:
    out = {key: translate_template(text) for key, text in alert_annotations(catalog, alert).items()}
    found = links.alert_dashboard(service, alert)
    if found is not None and found[1] is not None:
        # Grafana links the rule to its panel through these two (both or neither).
        out["__dashboardUid__"] = links.dashboard_uid(found[0])
        out["__panelId__"] = str(found[1])
    return dict(sorted(out.items()))


OPSGENIE_PRIORITY_LABEL = "og_priority"  # Grafana's Opsgenie integration reads it (overridePriority)


def rule_labels(catalog: Catalog, service: Service, alert: Alert) -> dict[str, str]:
    """The Prometheus rule's labels, plus the Opsgenie priority of its severity when the alert
    pages through Opsgenie (Grafana's integration has no priority template)."""
    labels = alert_labels(alert, service)
    severity = severity_of(catalog, service, alert)
    if severity is not None and any(
            pages(d.receiver) and "opsgenie" in integrations(catalog.contacts[d.contact], True)
            for d in deliveries(catalog, service, alert)):
        labels = dict(sorted({**labels, OPSGENIE_PRIORITY_LABEL: opsgenie_priority(severity)}.items()))
    return labels


def alert_rule(catalog: Catalog, service: Service, alert: Alert) -> dict[str, Any]:
    """The rule as Grafana's provisioning API has it (and alerting.jsonschema.json's Rule)."""
    rule: dict[str, Any] = {
        "uid": rule_uid(alert),
        "title": alert.name,
        "orgID": ORG_ID,
        "folderUID": folder_uid(service),
        "ruleGroup": group_name(service),
        "condition": CONDITION,
        "data": rule_data(catalog, alert),
        "for": format_ms(alert.for_ms),
        # No series is no alert in Prometheus: the same here, not a NoData alert.
        "noDataState": "OK",
        "execErrState": "Error",
        "labels": rule_labels(catalog, service, alert),
        "annotations": rule_annotations(catalog, service, alert),
    }
    if alert.keep_firing_for_ms:
        rule["keepFiringFor"] = alert.keep_firing_for_ms * 1_000_000  # the API counts nanoseconds
    return rule


def rule_diagnostics(alert: Alert) -> list[Diagnostic]:
    """Annotation template code Grafana's templates do not have."""
    out = []
    for field in ("summary", "description"):
        text = getattr(alert, field)
        for m in _ACTION.finditer(text):
            for name in _UNSUPPORTED_VARS:
                at = m.group(0).find(name)
                if at >= 0:
                    out.append(error(
                        "MC452", f"{field} of {alert.name!r} uses {name}, which Grafana-managed "
                        "alerts do not have", alert.at_offset(field, m.start() + at),
                        "write the value out, or exclude the alert from the Grafana target"))
    return out


def rule_group(catalog: Catalog, service: Service) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The service's rule group as the provisioning API has it (alerting.jsonschema.json's
    RuleGroup: interval in seconds)."""
    diags: list[Diagnostic] = []
    rules = []
    for alert in service.alerts.values():
        if not alert.compiled_for("grafana"):
            continue  # its `targets:` leave Grafana out
        diags.extend(rule_diagnostics(alert))
        rules.append(alert_rule(catalog, service, alert))
    group = {"title": group_name(service), "folderUid": folder_uid(service),
             "interval": catalog.settings.evaluation_interval_ms // 1000, "rules": rules}
    return group, diags


def file_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as a provisioning file holds it: the API's fields (Grafana's file reader ignores
    the ones it takes from the group), with keepFiringFor as a duration."""
    out = dict(rule)
    if "keepFiringFor" in out:
        out["keepFiringFor"] = format_ms(out["keepFiringFor"] // 1_000_000)
    return out


def provisioning_file(catalog: Catalog, service: Service, group: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": 1, "groups": [{
        "orgId": ORG_ID,
        "name": group["title"],
        "folder": folder_title(service),
        "interval": format_ms(catalog.settings.evaluation_interval_ms),
        "rules": [file_rule(r) for r in group["rules"]],
    }]}


def read_rule(rule: dict[str, Any]) -> tuple[str, str | None, float | None, str]:
    """What a generated rule alerts on, read back from its data: (PromQL of query A, comparison
    or None for "any series", threshold or None, for). The cross-target check compares it with
    the Prometheus rule."""
    by_ref = {q["refId"]: q["model"] for q in rule["data"]}
    query = by_ref[QUERY]["expr"]
    cond = by_ref[rule["condition"]]
    if cond.get("type") == "threshold":
        evaluator = cond["conditions"][0]["evaluator"]
        return query, OPERATORS[evaluator["type"]], evaluator["params"][0], rule["for"]
    return query, None, None, rule["for"]
