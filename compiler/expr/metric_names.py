"""Expression analysis: which metric names (`__name__`) a query's result samples keep.

An alerting rule's `{{ $labels }}` is the result sample's label set as the query returns it, so
it holds `__name__` wherever Prometheus' engine kept the metric name, although the alert's own
labels never do (the rule deletes it). The engine keeps the name through comparisons without
`bool`, `and`/`or`/`unless`, unary `+`, `topk`/`bottomk`, `sort*`, `last_over_time`, `label_*`
and a `by (__name__)` grouping; it drops it in arithmetic (`atan2` too from 2.47), `bool`
comparisons, unary `-`, every other function and aggregation, and a one-to-one match `on()`
that does not list it (checked against promtool in tests/test_metric_names.py).
"""
from __future__ import annotations

from typing import Callable

from compiler.expr import ast

# None: cannot tell (a name label_replace computes, a group_left copying `__name__`).
# Otherwise the names the result's samples may carry, "" for a sample without one; the empty
# set when the expression returns nothing on the series at hand.
Names = frozenset | None

NONE = frozenset({""})
_NOTHING: frozenset = frozenset()
KEEPING_FUNCTIONS = frozenset({"last_over_time", "first_over_time", "sort", "sort_desc",
                               "sort_by_label", "sort_by_label_desc"})
KEEPING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
_SCALAR_FUNCTIONS = frozenset({"time", "scalar", "pi"})


def _dropped(names: Names) -> Names:
    """The result of an operation that drops the name: samples without one, if any."""
    return NONE if names is None or names else _NOTHING


def result_names(node: ast.Expr, names_of: Callable[[ast.Selector], Names],
                 version: tuple[int, int] = (2, 42)) -> Names:
    """The `__name__` values the result of `node` may carry. `names_of(selector)` gives the
    names a selector's samples carry (its metric; or those of the series at hand it matches)."""
    def go(n: ast.Expr) -> Names:
        return result_names(n, names_of, version)

    if isinstance(node, (ast.Number, ast.String)):
        return NONE
    if isinstance(node, ast.Selector):
        return names_of(node)
    if isinstance(node, ast.RangeSelector):
        return go(node.selector)
    if isinstance(node, (ast.Paren, ast.Subquery)):
        return go(node.expr)
    if isinstance(node, ast.Unary):
        inner = go(node.expr)
        return inner if node.op == "+" else _dropped(inner)
    if isinstance(node, ast.Aggregation):
        inner = go(node.expr)
        if node.op in KEEPING_AGGREGATIONS:
            return inner
        if node.grouped and not node.without and "__name__" in node.grouping:
            return inner
        return _dropped(inner)
    if isinstance(node, ast.Call):
        return _call(node, go)
    if isinstance(node, ast.Binary):
        return _binary(node, go, version)
    return None


def _call(node: ast.Call, go: Callable[[ast.Expr], Names]) -> Names:
    if node.func in ("absent", "absent_over_time", "vector") or node.func in _SCALAR_FUNCTIONS:
        return NONE
    vectors = [a for a in node.args if not isinstance(a, (ast.Number, ast.String))]
    if not vectors:
        return NONE
    inner = go(vectors[0])
    if node.func in ("label_replace", "label_join"):
        dst = node.args[1] if len(node.args) > 1 else None
        if isinstance(dst, ast.String) and dst.value == "__name__":
            return None if inner is None or inner else _NOTHING
        return inner
    return inner if node.func in KEEPING_FUNCTIONS else _dropped(inner)


def _scalar(node: ast.Expr) -> bool:
    while isinstance(node, (ast.Paren, ast.Unary)):
        node = node.expr
    if isinstance(node, ast.Number):
        return True
    if isinstance(node, ast.Call) and node.func in _SCALAR_FUNCTIONS:
        return True
    return isinstance(node, ast.Binary) and _scalar(node.lhs) and _scalar(node.rhs)


def _binary(node: ast.Binary, go: Callable[[ast.Expr], Names], version: tuple[int, int]) -> Names:
    lhs_scalar, rhs_scalar = _scalar(node.lhs), _scalar(node.rhs)
    if lhs_scalar and rhs_scalar:
        return NONE
    lhs, rhs = go(node.lhs), go(node.rhs)
    if node.op == "or":
        return None if lhs is None or rhs is None else lhs | rhs
    if node.op == "unless":
        return lhs
    if node.op == "and":
        return _NOTHING if rhs is not None and not rhs else lhs
    arithmetic = node.op not in ast.COMPARISONS and (node.op != "atan2" or version >= (2, 47))
    if lhs_scalar or rhs_scalar:  # a filter of (or arithmetic on) the vector side
        vector = rhs if lhs_scalar else lhs
        return _dropped(vector) if arithmetic or node.return_bool else vector
    if lhs is not None and not lhs or rhs is not None and not rhs:
        return _NOTHING  # a side without samples matches nothing
    m = node.matching
    many = rhs if m is not None and m.card == "one-to-many" else lhs
    if arithmetic or node.return_bool:
        return _dropped(many)
    if m is not None and m.card in ("many-to-one", "one-to-many"):
        return None if "__name__" in m.include else many
    if m is not None and m.explicit and (m.on != ("__name__" in m.labels)):
        return _dropped(many)  # on() without __name__, or ignoring(__name__)
    return many
