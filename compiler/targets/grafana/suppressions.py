"""Grafana target, suppressions: Grafana has no inhibition, so an alert's `suppressed_by` is
folded into its query: `(<query>) unless on(<equal>) (<the suppressing alert's expression>)`.

Stated difference from Alertmanager: while the condition holds, the Grafana rule does not fire
at all (nothing shows as suppressed), and when the condition ends the alert goes through its
`for` again before notifying; the condition counts from its first evaluation, without its own
`for`. Alertmanager, by contrast, keeps the alert firing and delivers it the moment the
suppressing alert resolves.
"""
from __future__ import annotations

from compiler.dialects.promql import to_promql
from compiler.expr import ast
from compiler.expr.parse import parse
from compiler.model import Alert, Catalog


def folded(catalog: Catalog, alert: Alert, query: ast.Expr) -> ast.Expr:
    for rule in alert.suppressed_by:
        source = catalog.alert(rule.alert)
        if source is None:
            continue
        query = parse(f"({to_promql(query)}) unless on({', '.join(rule.equal)}) "
                      f"({to_promql(source.expr.tree)})")
    return query
