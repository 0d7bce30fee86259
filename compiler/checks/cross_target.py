"""Check across targets: each alert's Grafana-managed rule alerts on the same query, threshold
and `for` as its Prometheus rule. Reads both generated rules back, independently of the code
that built them."""
from __future__ import annotations

import re
from typing import Any

from compiler.artifacts import Artifact
from compiler.diagnostics import Diagnostic, Loc, error
from compiler.dialects.promql import to_promql
from compiler.durations import DurationError, format_ms, parse_ms
from compiler.expr import ast
from compiler.expr.parse import ParseError, parse
from compiler.expr.thresholds import threshold
from compiler.model import Catalog

GRAFANA_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "ne": "!="}
_PRESENT = re.compile(r"\s*\$(\w+)\s*==\s*\$(\w+)\s*")

Reading = tuple[ast.Expr, str | None, float | None, int]
# The generated objects the check reads: each alert's Prometheus rule and Grafana rule.
PROMETHEUS_RULE, GRAFANA_RULE = ("prometheus", "alert"), ("grafana", "alert_rule")


def reads(art: Artifact) -> bool:
    """Whether the check reads anything of this artifact (an object of one of the two rules)."""
    return any((o.target, o.kind) in (PROMETHEUS_RULE, GRAFANA_RULE) for o in art.objects)


def read_prometheus(rule: dict[str, Any]) -> Reading:
    tree = parse(rule["expr"])
    found = threshold(tree)
    for_ms = parse_ms(rule.get("for", "0s"))
    if found is None:
        return tree, None, None, for_ms
    return found.query, found.op, found.value, for_ms


def read_grafana(rule: dict[str, Any]) -> Reading:
    """(query, comparison, threshold, for) of a Grafana rule: its condition is a threshold on
    the last value of a PromQL query, or `$B == $B` (every series the query returns fires)."""
    models = {q["refId"]: (q.get("datasourceUid"), q["model"]) for q in rule["data"]}

    def reduced(ref: str) -> dict[str, Any]:
        source, model = models[ref]
        if source != "__expr__" or model.get("type") != "reduce" or model.get("reducer") != "last":
            raise ValueError(f"{ref} is not the last value of a query")
        source, query = models[model["expression"]]
        if source == "__expr__" or "expr" not in query:
            raise ValueError(f"{model['expression']} is not a PromQL query")
        return query

    source, cond = models[rule["condition"]]
    for_ms = parse_ms(rule["for"])
    if source == "__expr__" and cond.get("type") == "threshold":
        if len(cond["conditions"]) != 1:
            raise ValueError("the threshold has more than one condition")
        evaluator = cond["conditions"][0]["evaluator"]
        query = reduced(cond["expression"])
        return parse(query["expr"]), GRAFANA_OPS[evaluator["type"]], evaluator["params"][0], for_ms
    present = _PRESENT.fullmatch(cond.get("expression", "")) if cond.get("type") == "math" else None
    if source == "__expr__" and present and present.group(1) == present.group(2):
        return parse(reduced(present.group(1))["expr"]), None, None, for_ms
    raise ValueError(f"condition {rule['condition']} is neither a threshold nor `$B == $B`")


def suppressed(catalog: Catalog, aid: str, reading: Reading,
               prometheus: dict[str, dict[str, Any]]) -> Reading:
    """What the Grafana rule of a suppressed alert must query: Grafana has no inhibition, so the
    Prometheus query `unless on(<equal>)` the suppressing alert's Prometheus expression."""
    alert = catalog.alert(aid)
    query = reading[0]
    for rule in alert.suppressed_by if alert else ():
        if rule.alert in prometheus:
            query = parse(f"({to_promql(query)}) unless on({', '.join(rule.equal)}) "
                          f"({prometheus[rule.alert]['expr']})")
    return (query, *reading[1:])


def _locs(catalog: Catalog) -> dict[str, Loc]:
    return {a.id: a.loc for s in catalog.services for a in s.alerts.values()}


def check(catalog: Catalog, artifacts: list[Artifact]) -> list[Diagnostic]:
    prometheus = {o.id: o.content for a in artifacts for o in a.objects if (o.target, o.kind) == PROMETHEUS_RULE}
    grafana = {o.id: o.content for a in artifacts for o in a.objects if (o.target, o.kind) == GRAFANA_RULE}
    if not prometheus or not grafana:
        return []
    locs = _locs(catalog)
    both = {a.id for s in catalog.services for a in s.alerts.values()
            if a.compiled_for("prometheus") and a.compiled_for("grafana")}
    out: list[Diagnostic] = []
    for aid in sorted(set(prometheus) | set(grafana)):
        if aid not in both:
            continue  # `targets:` leaves one of the two out
        loc = locs.get(aid)
        if aid not in grafana or aid not in prometheus:
            missing = "Grafana" if aid not in grafana else "Prometheus"
            out.append(error("MC453", f"alert {aid} has no {missing} rule", loc,
                             "both targets must generate every alert; this is a bug in moncat"))
            continue
        try:
            want = suppressed(catalog, aid, read_prometheus(prometheus[aid]), prometheus)
            got = read_grafana(grafana[aid])
        except (KeyError, ValueError, IndexError, ParseError, DurationError) as exc:
            out.append(error("MC450", f"alert {aid}: the Grafana rule cannot be read back: {exc}",
                             loc, "this is a bug in the Grafana target"))
            continue
        if want == got:
            continue  # the same trees have the same text: nothing to show
        shown = [(to_promql(want[0]), to_promql(got[0])), *zip(want[1:3], got[1:3]),
                 (format_ms(want[3]), format_ms(got[3]))]
        diffs = [f"{what} {a} (Prometheus) vs {b} (Grafana)"
                 for what, (a, b) in zip(("query", "comparison", "threshold", "for"), shown)
                 if a != b]
        if want[0] != got[0] and shown[0][0] == shown[0][1]:
            diffs.insert(0, "query tree (same text)")
        if diffs:
            out.append(error("MC450", f"alert {aid}: the Grafana and Prometheus rules disagree: "
                             + "; ".join(diffs), loc,
                             "both must come from the alert's expression; this is a bug in moncat"))
    return out
