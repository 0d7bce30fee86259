"""Datadog dialect, missing data as zero: `(sum(<counts>) or vector(0)) op c` as a count monitor
that evaluates missing data as 0.

PromQL's `or vector(0)` gives 0 when the sum has no series (nothing reported in the window). A
metric monitor with `on_missing_data: "default"` whose aggregation is a sum of counts does the
same: "If data is missing: Evaluate as 0"
(https://docs.datadoghq.com/monitors/guide/on_missing_data/, the `default` row for sum or count
aggregation; the Monitor API's OnMissingDataOption: "For monitors using Count queries, an empty
monitor evaluation is treated as 0 and is compared to the threshold conditions").
`default_zero()` is no substitute: "if the evaluation window contains no data points,
default_zero() has no effect", and counts read `.as_count()` are already aligned as 0
(https://docs.datadoghq.com/dashboards/functions/interpolation/#default-zero).

The form is exact only when the zero stands for the whole value PromQL computes:
- `vector(0)`: Datadog's default value is 0;
- one `sum` without `by`: with groups, `or vector(0)` adds a series without labels beside them,
  which a multi-alert has no group for; a `rate()` without `sum` keeps its series' labels, so
  the same;
- of counts (`increase()`/`rate()`): missing data is evaluated as 0 only for sum or count
  aggregation; a gauge's monitor shows its last known status instead;
- scaled by numbers only (`* 60`, the `/ w` of a rate): 0 scales to 0, where a ratio of two
  queries would be 0/0.
"""
from __future__ import annotations

from compiler.dialects.datadog_names import COUNT
from compiler.dialects.datadog_tree import strip
from compiler.expr import ast

CONSTRUCT = "`or vector(0)`"


def split_zero(query: ast.Expr) -> tuple[ast.Expr, ast.Call | None]:
    """(`q`, the vector() call) for `q or vector(c)` and `q or on() vector(c)`; else (query, None).
    `vector(c) or q` is not this: its left side always wins, so it is the constant."""
    q = strip(query)
    if isinstance(q, ast.Binary) and q.op == "or":
        m = q.matching
        plain = m is None or (m.on and not m.labels and not m.include) or not m.explicit
        call = strip(q.rhs)
        if plain and isinstance(call, ast.Call) and call.func == "vector" and len(call.args) == 1:
            return strip(q.lhs), call
    return query, None


def zero_problem(query: ast.Expr, call: ast.Call, kinds: set[str], terms: int) -> tuple[str, str] | None:
    """Why `query or vector(...)` has no exact form as a count monitor evaluating missing data as
    0, as (construct, message); None when it has."""
    value = strip(call.args[0])
    if not (isinstance(value, ast.Number) and value.value == 0):
        return ("`or vector(c)`", "Datadog evaluates missing data as 0, never as another "
                "number: only `or vector(0)` has a form")
    term = _scaled_term(query)
    if not (isinstance(term, ast.Aggregation) and term.op == "sum" and not term.grouping
            and not term.without and term.param is None):
        return (f"{CONSTRUCT} beside series with labels", "`or vector(0)` adds a series "
                "without labels beside the query's own; that is one value only for a `sum(...)` "
                "without `by`, scaled by numbers")
    if kinds != {COUNT}:
        return (f"{CONSTRUCT} over a gauge", "Datadog evaluates missing data as 0 only for a sum "
                "of counts (increase() or rate()); for anything else a monitor shows its last "
                "known status")
    if terms != 1:
        return (f"{CONSTRUCT} over several queries", "Datadog evaluates the missing data of the "
                "whole query as 0, where PromQL's sum has no value once any of its queries has "
                "none")
    return None


def _scaled_term(node: ast.Expr) -> ast.Expr:
    """The query under multiplications and divisions by non-zero numbers."""
    node = strip(node)
    while isinstance(node, ast.Binary) and node.op in ("*", "/") and node.matching is None:
        lhs, rhs = strip(node.lhs), strip(node.rhs)
        if _nonzero(rhs):
            node = lhs
        elif node.op == "*" and _nonzero(lhs):
            node = rhs
        else:
            break
    return node


def _nonzero(node: ast.Expr) -> bool:
    return isinstance(node, ast.Number) and node.value != 0
