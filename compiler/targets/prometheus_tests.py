"""Prometheus target, unit tests: promtool test files from the alerts' examples, each example
evaluated at the coarsest interval that keeps its verdict."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from compiler.artifacts import ManagedObject
from compiler.diagnostics import Diagnostic, error
from compiler.dialects.promql import to_promql
from compiler.durations import format_ms, parse_ms
from compiler.example_labels import infer
from compiler.examples import Timing, history_ms, records_of, timing
from compiler.expr import ast, gotemplate
from compiler.expr.timing import LOOKBACK_DELTA_MS
from compiler.model import Alert, Catalog, Example, Service
from compiler.slos import slo_of
from compiler.targets.prometheus_shift import Reads, cut, moved_back, reads

# Evaluation intervals an example may be tested at (those that are multiples of the catalog's).
# promtool evaluates every rule of the file at every step from 0 to the last time checked, and
# that is nearly all of a test's cost: fewer steps, faster tests; a short list, fewer files.
LADDER_MS = [m * 60_000 for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360,
                                  480, 720, 1440)]

AnnotationsFn = Callable[[Catalog, Alert], dict]
LabelsFn = Callable[[Alert, Service], dict]


@dataclass
class TestFile:
    """One promtool test file: its evaluation interval, the test groups, what they prove."""

    interval_ms: int
    tests: list[dict]
    objects: list[ManagedObject]


def history_free(alert: Alert, records) -> bool:
    """Whether every value the alert's rules compute at an evaluation depends only on the input
    series at that instant: then evaluating less often changes no value at the times checked.
    Recorded series read over a range, subqueries without a step (their step is the evaluation
    interval), ALERTS and keep_firing_for all carry state from earlier evaluations. The
    expression is read with every recording rule it reads, transitively."""
    if alert.keep_firing_for_ms:
        return False
    todo, seen = [alert.expr.tree], set()
    while todo:
        for n in ast.walk(todo.pop()):
            if isinstance(n, ast.Subquery) and n.step_ms is None:
                return False
            if isinstance(n, ast.RangeSelector) and n.selector.metric and records(n.selector.metric) is not None:
                return False
            if isinstance(n, ast.Selector):
                if n.metric in ("ALERTS", "ALERTS_FOR_STATE"):
                    return False
                if n.metric and n.metric not in seen:
                    inner = records(n.metric)
                    if inner is not None:
                        seen.add(n.metric)
                        todo.append(inner)
    return True


def namesakes(service: Service, alert: Alert, catalog: Catalog | None = None) -> tuple[list[ast.Expr], int | None]:
    """The expressions of every Prometheus alert of the service named as this one's rule (a
    promtool check compares the alerts of all of them), and their longest `for` (None when one
    has keep_firing_for). With `catalog`, the service's alerts are grouped by rule name once (a
    scan of the service for each of its examples grew with the square of the service)."""
    same = _namesake_alerts(service, alert, catalog)
    hold = None if any(a.keep_firing_for_ms for a in same) else max(a.for_ms for a in same)
    return [a.expr.tree for a in same], hold


def _namesake_alerts(service: Service, alert: Alert, catalog: Catalog | None = None) -> list[Alert]:
    groups = catalog.once(("prometheus_tests.by_rule_name", service.id), lambda: by_rule_name(service)) \
        if catalog is not None else by_rule_name(service)
    return groups.get(alert.rule_name, [])


def _reads(catalog: Catalog, service: Service, alert: Alert, records) -> Reads:
    """What shifting reads of the alert's namesakes (prometheus_shift.reads), once per alert;
    how far back each reads is its history_ms, which the examples' timing worked out already."""
    same = _namesake_alerts(service, alert, catalog)
    return catalog.once(("prometheus_shift.reads", alert.id), lambda: reads(
        [a.expr.tree for a in same], records, max(history_ms(catalog, a) for a in same)))


def by_rule_name(service: Service) -> dict[str, list[Alert]]:
    """The service's Prometheus alerts by the name of their rule, in the service's order."""
    out: dict[str, list[Alert]] = {}
    for a in service.alerts.values():
        if a.compiled_for("prometheus"):
            out.setdefault(a.rule_name, []).append(a)
    return out


def inline_records(node: ast.Expr, records, service: Service) -> ast.Expr | None:
    """The expression with each recorded series replaced by the rule's expression (None when a
    selector filters, offsets or re-labels a record, which the plain expression cannot say)."""
    if isinstance(node, ast.Selector):
        inner = records(node.metric) if node.metric else None
        if inner is None:
            return node
        rule = service.recording_rules.get(node.metric)
        if node.matchers or node.offset_ms or node.at is not None or rule is None or rule.labels \
                or rule.more:  # several rules record the name: no one expression says it
            return None
        expanded = inline_records(inner, records, service)
        return ast.Paren(expanded) if expanded is not None else None
    changes: dict[str, Any] = {}
    for name in ("expr", "lhs", "rhs", "selector", "param"):
        child = getattr(node, name, None)
        if child is not None and not isinstance(child, (str, ast.Matcher)):
            new = inline_records(child, records, service)
            if new is None:
                return None
            changes[name] = new
    if isinstance(node, ast.Call):
        args = [inline_records(a, records, service) for a in node.args]
        if any(a is None for a in args):
            return None
        changes["args"] = tuple(args)
    return dataclasses.replace(node, **changes) if changes else node


def coarse_interval(catalog: Catalog, service: Service, alert: Alert, plan: Timing) -> int:
    """The interval to evaluate an example's test at: for an example whose verdict does not
    depend on the evaluations between the times it checks, the largest interval of LADDER_MS
    that divides those times and `for` (`for` is then counted on the same instants, and the
    steps in between are checked by a subquery, see `_held`); else the catalog's."""
    base = catalog.settings.evaluation_interval_ms
    records = records_of(catalog)
    if not catalog.once(("prometheus_tests.history_free", alert.id), lambda: history_free(alert, records)):
        return base
    if len(namesakes(service, alert, catalog)[0]) > 1:
        # promtool compares the alerts of every rule of that name, and the others' verdicts at
        # a coarser interval are not checked here: their history may matter.
        return base
    if alert.for_ms and _inlined(catalog, service, alert, records) is None:
        return base
    fits = [n for n in LADDER_MS if n % base == 0 and plan.eval_ms % n == 0 and alert.for_ms % n == 0
            and (plan.before_ms is None or n <= plan.before_ms)]
    return max(fits, default=base)


def _inlined(catalog: Catalog, service: Service, alert: Alert, records) -> ast.Expr | None:
    """The alert's expression with its records inlined (inline_records), once per alert."""
    return catalog.once(("prometheus_tests.inlined", alert.id),
                        lambda: inline_records(alert.expr.tree, records, service))


def _label_text(labels: dict[str, str]) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ", ".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items())) + "}"


def _trimmed(values: str, keep_from: int, step: int) -> str:
    """The series with the samples before `keep_from` left out (written as blanks, so that every
    later sample keeps its time), as far as `cut` can leave them out exactly."""
    first = keep_from // step  # index of the first sample to keep
    if first <= 0:
        return values
    blanks, out = cut(values, first)
    if blanks:
        out.insert(0, f"_x{blanks}")
    return " ".join(out)


def unit_test_files(catalog: Catalog, service: Service, annotations_of: AnnotationsFn,
                    labels_of: LabelsFn) -> tuple[list[TestFile], list[Diagnostic]]:
    """promtool test groups, one per example, grouped by evaluation interval: each example that
    fires must raise exactly its alert with its labels and annotations; each quiet one nothing."""
    base = catalog.settings.evaluation_interval_ms
    records = records_of(catalog)
    files: dict[int, TestFile] = {}
    diags: list[Diagnostic] = []
    for alert in service.alerts.values():
        if not alert.compiled_for("prometheus") or slo_of(service, alert) is not None:
            continue  # an SLO's alert: in the SLO's own rule and test files (prometheus_slo.py)
        counters = {True: 0, False: 0}
        for ex in alert.examples:
            counters[ex.fires] += 1
            kind = "fires" if ex.fires else "quiet"
            name = f"{alert.name} {'fires' if ex.fires else 'stays quiet'} #{counters[ex.fires]}"
            plan = timing(catalog, alert, ex)
            interval = coarse_interval(catalog, service, alert, plan)
            checks = plan.checks(interval)
            expected, expr_labels = _expected(catalog, service, alert, ex, annotations_of,
                                              labels_of, diags)
            case: dict[str, Any] = {"name": name, "interval": format_ms(plan.step_ms)}
            case["input_series"] = [{"series": s, "values": v} for s, v in sorted(ex.series)]
            alert_checks, expr_checks = [], []
            for t, firing in checks:
                if interval != base and alert.for_ms:
                    expr_checks.append(_held(catalog, alert, service, records, t, firing, expr_labels))
                    if not firing:
                        continue  # quiet at the coarse steps would not prove quiet at every step
                alert_checks.append({"eval_time": format_ms(t), "alertname": alert.rule_name,
                                     "exp_alerts": expected if firing else []})
            for query, samples in ex.queries:
                # What the example says an annotation's query returns is checked, not trusted.
                expr_checks.append({"expr": query, "eval_time": format_ms(plan.eval_ms), "exp_samples": [
                    {"labels": _label_text(dict(labels)), "value": value} for labels, value in samples]})
            if alert_checks:
                case["alert_rule_test"] = alert_checks
            if expr_checks:
                case["promql_expr_test"] = expr_checks
            trees, hold = namesakes(service, alert, catalog)
            case = moved_back(case, trees, records, hold, plan.step_ms, interval,
                              _reads(catalog, service, alert, records))
            if interval != base:
                first = min(parse_ms(c["eval_time"]) for key in ("alert_rule_test", "promql_expr_test")
                            for c in case.get(key, []))
                keep_from = first - alert.for_ms - history_ms(catalog, alert) - LOOKBACK_DELTA_MS \
                    - plan.step_ms
                case["input_series"] = [{**s, "values": _trimmed(s["values"], keep_from, plan.step_ms)}
                                        for s in case["input_series"]]
            found = files.setdefault(interval, TestFile(interval, [], []))
            found.tests.append(case)
            found.objects.append(ManagedObject(f"{alert.id}#{kind}-{counters[ex.fires]}",
                                               "unit_test", "promtool", ex.loc, case))
    return [files[k] for k in sorted(files)], diags


def _held(catalog: Catalog, alert: Alert, service: Service, records, t: int, firing: bool,
          labels: dict[str, str]) -> dict:
    """A check that the condition held (or not) at every evaluation of the catalog's interval in
    [t - for, t]: what `for` means in Prometheus, asked of the raw series by a subquery."""
    steps = alert.for_ms // catalog.settings.evaluation_interval_ms + 1
    expr = catalog.once(("prometheus_tests.held", alert.id), lambda: _held_expr(catalog, alert, service, records))
    samples = [{"labels": _label_text(labels), "value": steps}] if firing else []
    return {"expr": expr, "eval_time": format_ms(t), "exp_samples": samples}


def _held_expr(catalog: Catalog, alert: Alert, service: Service, records) -> str:
    """The query of `_held`, the same at every time it checks."""
    base, version = catalog.settings.evaluation_interval_ms, catalog.settings.prometheus_version
    cond = _inlined(catalog, service, alert, records)
    steps = alert.for_ms // base + 1
    # Ranges include their start before Prometheus 3 and exclude it from 3 on.
    span = alert.for_ms if version < (3, 0) else alert.for_ms + base
    counted = ast.Call("count_over_time", (ast.Subquery(ast.Paren(cond), span, base),))
    return to_promql(ast.Binary("==", counted, ast.Number(float(steps))))


def expected_alerts(catalog: Catalog, service: Service, alert: Alert, ex: Example,
                    annotations_of: AnnotationsFn, labels_of: LabelsFn, diags: list[Diagnostic]
                    ) -> list[dict]:
    """`exp_alerts` of an example: the alert it raises, or nothing."""
    return _expected(catalog, service, alert, ex, annotations_of, labels_of, diags)[0]


def _expected(catalog: Catalog, service: Service, alert: Alert, ex: Example,
              annotations_of: AnnotationsFn, labels_of: LabelsFn, diags: list[Diagnostic]
              ) -> tuple[list[dict], dict[str, str]]:
    """The alert a fires example raises (labels and rendered annotations), and the labels its
    expression gives it."""
    if not ex.fires:
        return [], {}
    inferred = infer(catalog, alert, ex)
    expr_labels = dict(inferred.labels)
    queries = {q: [gotemplate.Sample(labels, value) for labels, value in samples]
               for q, samples in ex.queries}
    # $labels is the result sample's label set (the metric name too, where the expression keeps
    # it); the alert's own labels never carry the name.
    data = gotemplate.Data(inferred.template_labels(), ex.value, {}, "", queries)
    annotations = {}
    for key, text in annotations_of(catalog, alert).items():
        try:
            annotations[key] = gotemplate.expand(text, data)
        except gotemplate.Unpredictable as exc:
            diags.append(error("MC416", f"the {key} of {alert.name!r} cannot be predicted for this "
                               f"example: {exc}", ex.loc,
                               "give the example what the text reads (`value:`, `queries:`, `labels:`)"))
            annotations[key] = text
        except gotemplate.TemplateError as exc:
            diags.append(error("MC485", f"the {key} of {alert.name!r} fails when Prometheus expands "
                               f"it: {exc}", alert.at(key),
                               "fix the template: Prometheus would show an error instead of the text"))
            annotations[key] = text
    exp_labels = dict(sorted({**expr_labels, **labels_of(alert, service)}.items()))
    return [{"exp_labels": exp_labels, "exp_annotations": dict(sorted(annotations.items()))}], expr_labels
