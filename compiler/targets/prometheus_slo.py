"""Prometheus target, SLOs: each SLO's own rule file, PrometheusRule, and promtool tests.

`prometheus/<service>.slo-<slo>.rules.yaml` holds one group, `<service>.slo.<slo>`: the SLO's
recording rules (each after the rules it reads) then its alerts, so that every evaluation's
alerts read that evaluation's error ratios. A file of its own keeps an SLO's tests to its own
rules: promtool evaluates every rule of the files a test names at every step.

A tier's scenarios span days of series (a whole long window of good traffic, then the burn),
sampled at the tier's step (half its short window, see compiler/slos/scenarios.py). A burn-rate
alert keeps no state between evaluations, so each case is evaluated only as often as its checks
need, from a step before its first check's long window (prometheus_shift.sparse):
`prometheus/<service>.slo-<slo>.<interval>.tests.yaml` holds an SLO's tests of one evaluation
interval, the SLI-absent alert's at the catalog's interval. Besides each scenario's alert check, a fires
scenario checks that the alert is still quiet shortly before the expected detection, and a reset
scenario that the alert fired before the errors stopped and that the long window was still
above the threshold when the alert went quiet: the short window is what resolved it.
"""
from __future__ import annotations

from typing import Any

from compiler.artifacts import Artifact, ManagedObject
from compiler.diagnostics import Diagnostic
from compiler.durations import format_ms
from compiler.examples import records_of, timing
from compiler.model import Alert, Catalog, Example, Service
from compiler.slos.model import SLO, Scenario, Tier
from compiler.slos.tiers import plain
from compiler.targets.prometheus import (HEADER, alert_annotations, alert_labels, alert_rules,
                                         record_rules)
from compiler.targets.prometheus_shift import moved_back, sparse
from compiler.targets.prometheus_tests import by_rule_name, expected_alerts, history_free, namesakes


def _check(alert: str, at_ms: int, fired: list[dict]) -> dict[str, Any]:
    return {"eval_time": format_ms(at_ms), "alertname": alert, "exp_alerts": fired}


def _name(alert: Alert, fires: bool, number: int, detail: str) -> str:
    return f"{alert.name} {'fires' if fires else 'stays quiet'} #{number} {detail}"


def _scenario_case(slo: SLO, tier: Tier, alert: Alert, scenario: Scenario, number: int,
                   fired: list[dict]) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": _name(alert, scenario.fires, number, f"({scenario.kind}): {scenario.comment}"),
        "interval": format_ms(scenario.step_ms),
        "input_series": [{"series": s, "values": v} for s, v in sorted(scenario.series)],
    }
    checks = [_check(alert.name, scenario.at_ms, fired if scenario.fires else [])]
    if scenario.early_ms is not None:
        checks.insert(0, _check(alert.name, scenario.early_ms, []))
    if scenario.kind == "reset":
        assert scenario.stop_ms is not None
        checks.insert(0, _check(alert.name, scenario.stop_ms, fired))
        if scenario.at_ms - tier.long_ms <= scenario.onset_ms - scenario.step_ms:
            # Every bad event is still inside the long window: only the short one recovered.
            case["promql_expr_test"] = [{
                "expr": f"count({slo.errors[tier.long_ms]} > {plain(tier.threshold)})",
                "eval_time": format_ms(scenario.at_ms),
                "exp_samples": [{"labels": "{}", "value": 1}],
            }]
    case["alert_rule_test"] = checks
    return case


def _example_case(catalog: Catalog, alert: Alert, example: Example, number: int,
                  fired: list[dict]) -> dict[str, Any]:
    plan = timing(catalog, alert, example)
    checks = [_check(alert.name, t, fired if firing else []) for t, firing in plan.checks()]
    return {"name": _name(alert, example.fires, number, f"({example.comment})"),
            "interval": format_ms(plan.step_ms),
            "input_series": [{"series": s, "values": v} for s, v in sorted(example.series)],
            "alert_rule_test": checks}


def _moved_back(catalog: Catalog, service: Service, alert: Alert, case: dict[str, Any],
                step_ms: int, grid_ms: int) -> dict[str, Any]:
    """The case without the samples none of its checks reads (prometheus_shift.py)."""
    trees, hold = namesakes(service, alert, catalog)
    return moved_back(case, trees, records_of(catalog), hold, step_ms, grid_ms)


def _placed(catalog: Catalog, service: Service, alert: Alert, case: dict[str, Any],
            step_ms: int) -> tuple[int, dict[str, Any]]:
    """The evaluation interval of a scenario's case, and the case moved to start late: the
    sparsest interval reaching its checks where no alert of its name keeps state between
    evaluations (prometheus_shift.sparse), else its step."""
    records = records_of(catalog)
    trees, hold = namesakes(service, alert, catalog)
    same = by_rule_name(service).get(alert.rule_name, [])
    if hold != 0 or not all(catalog.once(("prometheus_tests.history_free", a.id),
                                         lambda a=a: history_free(a, records)) for a in same):
        return step_ms, _moved_back(catalog, service, alert, case, step_ms, step_ms)
    return sparse(case, trees, records, step_ms)


class _Tests:
    """An SLO's test cases by evaluation interval, and what each proves (for the manifest)."""

    def __init__(self) -> None:
        self.by_step: dict[int, tuple[list[dict], list[ManagedObject]]] = {}
        self.diags: list[Diagnostic] = []

    def add(self, step: int, alert: Alert, fires: bool, number: int, case: dict, loc) -> None:
        cases, objects = self.by_step.setdefault(step, ([], []))
        cases.append(case)
        objects.append(ManagedObject(f"{alert.id}#{'fires' if fires else 'quiet'}-{number}",
                                     "unit_test", "promtool", loc, case))


def _tests(catalog: Catalog, service: Service, slo: SLO) -> _Tests:
    out = _Tests()
    for tier in slo.tiers:
        if not tier.compiled_for("prometheus") or not tier.scenarios:
            continue
        alert = service.alerts[tier.alert]
        firing = next(ex for ex in alert.examples if ex.fires)
        fired = expected_alerts(catalog, service, alert, firing, alert_annotations, alert_labels,
                                out.diags)
        counters = {True: 0, False: 0}
        for scenario, example in zip(tier.scenarios, alert.examples):
            counters[scenario.fires] += 1
            case = _scenario_case(slo, tier, alert, scenario, counters[scenario.fires], fired)
            grid, case = _placed(catalog, service, alert, case, scenario.step_ms)
            out.add(grid, alert, scenario.fires, counters[scenario.fires], case, example.loc)
    absent = service.alerts.get(slo.absent_alert) if slo.absent_alert else None
    if absent is not None and absent.compiled_for("prometheus"):
        counters = {True: 0, False: 0}
        for example in absent.examples:
            counters[example.fires] += 1
            fired = expected_alerts(catalog, service, absent, example, alert_annotations,
                                    alert_labels, out.diags)
            case = _example_case(catalog, absent, example, counters[example.fires], fired)
            case = _moved_back(catalog, service, absent, case, timing(catalog, absent, example).step_ms,
                               catalog.settings.evaluation_interval_ms)
            out.add(catalog.settings.evaluation_interval_ms, absent, example.fires,
                    counters[example.fires], case, example.loc)
    return out


def _rule_file(catalog: Catalog, service: Service, slo: SLO) -> tuple[dict, list[ManagedObject]]:
    names = {*slo.errors.values(), slo.objective_rule, slo.budget_rule, slo.remaining_rule,
             slo.burn_rule, slo.period_burn_rule}
    records, objects = record_rules(service, {n: service.recording_rules[n] for n in names})
    alerts = [service.alerts[t.alert] for t in slo.tiers]
    if slo.absent_alert:
        alerts.append(service.alerts[slo.absent_alert])
    rules, found = alert_rules(catalog, service, [a for a in alerts if a.compiled_for("prometheus")])
    group = {"name": f"{service.id}.slo.{slo.id}",
             "interval": format_ms(catalog.settings.evaluation_interval_ms), "rules": records + rules}
    return {"groups": [group]}, objects + found


def stem(service: Service, slo: SLO) -> str:
    """The name an SLO's files share under prometheus/ (rules, tests of each step)."""
    return f"{service.id}.slo-{slo.id}"


def build(catalog: Catalog) -> tuple[list[Artifact], list[Diagnostic]]:
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for service in catalog.services:
        for slo in service.slos.values():
            if not slo.compiled_for("prometheus"):
                continue
            name = stem(service, slo)
            doc, objects = _rule_file(catalog, service, slo)
            artifacts.append(Artifact(f"prometheus/{name}.rules.yaml", doc, "yaml", tuple(objects),
                                      HEADER))
            crd = {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": {"name": f"{service.id}-slo-{slo.id}-moncat",
                             "labels": {"app.kubernetes.io/managed-by": "moncat",
                                        "moncat/service": service.id, "moncat/slo": slo.id}},
                "spec": doc,
            }
            artifacts.append(Artifact(
                f"kubernetes/{name}.prometheusrule.yaml", crd, "yaml",
                tuple(ManagedObject(o.id, o.kind, "kubernetes", o.source, o.content) for o in objects),
                HEADER))
            tests = _tests(catalog, service, slo)
            diags += tests.diags
            for step, (cases, found) in sorted(tests.by_step.items()):
                test_doc = {"rule_files": [f"{name}.rules.yaml"], "evaluation_interval": format_ms(step),
                            "tests": cases}
                artifacts.append(Artifact(f"prometheus/{name}.{format_ms(step)}.tests.yaml", test_doc,
                                          "yaml", tuple(found), HEADER))
    return artifacts, diags
