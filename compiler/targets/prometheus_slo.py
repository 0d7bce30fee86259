"""Prometheus target, SLO tests: promtool test files for the SLOs' burn-rate tiers.

A tier's scenarios span days of series (a whole long window of good traffic, then the burn), so
each runs at the tier's own step (a third of its short window) rather than at the catalog's
evaluation interval: `prometheus/<service>.slo-<step>.tests.yaml` holds the tiers of one step and
evaluates the service's real rule file every step. Besides each scenario's alert check, a reset
scenario checks that the alert fired before the errors stopped and that the long window was still
above the threshold when the alert went quiet: the short window is what resolved it.
"""
from __future__ import annotations

from typing import Any

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic
from compiler.durations import format_ms
from compiler.model import Alert, Catalog, Service
from compiler.slos.model import SLO, Scenario, Tier
from compiler.slos.tiers import plain
from compiler.targets.prometheus import HEADER, test_case


def _cases(catalog: Catalog, service: Service, slo: SLO, tier: Tier
           ) -> tuple[list[dict[str, Any]], list[ManagedObject], list[Diagnostic]]:
    alert = service.alerts[tier.alert]
    cases, objects, diags = [], [], []
    counters = {True: 0, False: 0}
    fired: list[dict[str, Any]] = []
    for scenario, example in zip(tier.scenarios, alert.examples):
        counters[example.fires] += 1
        case, obj, found = test_case(catalog, service, alert, example, counters[example.fires],
                                     scenario.step_ms)
        diags += found
        case["name"] = f"{alert.name} {scenario.kind}: {scenario.comment}"
        if scenario.fires:
            fired = case["alert_rule_test"][0]["exp_alerts"]
            if scenario.early_ms is not None:
                case["alert_rule_test"].insert(0, {"eval_time": format_ms(scenario.early_ms),
                                                   "alertname": alert.name, "exp_alerts": []})
        if scenario.kind == "reset":
            _reset_checks(case, slo, tier, alert, scenario, fired)
        cases.append(case)
        objects.append(obj)
    return cases, objects, diags


def _reset_checks(case: dict[str, Any], slo: SLO, tier: Tier, alert: Alert, scenario: Scenario,
                  fired: list[dict[str, Any]]) -> None:
    assert scenario.stop_ms is not None
    case["alert_rule_test"].insert(0, {"eval_time": format_ms(scenario.stop_ms),
                                       "alertname": alert.name, "exp_alerts": fired})
    if scenario.at_ms - tier.long_ms <= scenario.onset_ms - scenario.step_ms:
        # Every bad event is still inside the long window: only the short one recovered.
        long_rule = slo.errors[tier.long_ms]
        case["promql_expr_test"] = [{
            "expr": f"count({long_rule} > {plain(tier.threshold)})",
            "eval_time": format_ms(scenario.at_ms),
            "exp_samples": [{"labels": "{}", "value": 1}],
        }]


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for service in catalog.services:
        by_step: dict[int, tuple[list[dict], list[ManagedObject]]] = {}
        for slo in service.slos.values():
            for tier in slo.tiers:
                if not tier.compiled_for("prometheus") or not tier.scenarios:
                    continue
                cases, objects, found = _cases(catalog, service, slo, tier)
                diags += found
                bucket = by_step.setdefault(tier.scenarios[0].step_ms, ([], []))
                bucket[0].extend(cases)
                bucket[1].extend(objects)
        for step, (cases, objects) in sorted(by_step.items()):
            # Records before alerts at each step: a step is longer than the 5m an instant
            # selector looks back, so an alert must read the records of its own step
            # (Prometheus, evaluating every minute, reads the previous minute's).
            doc = {"rule_files": [f"{service.id}.rules.yaml"], "evaluation_interval": format_ms(step),
                   "group_eval_order": [f"{service.id}.records", f"{service.id}.alerts"],
                   "tests": cases}
            artifacts.append(Artifact(f"prometheus/{service.id}.slo-{format_ms(step)}.tests.yaml",
                                      doc, "yaml", tuple(objects), HEADER))
    return artifacts, diags

