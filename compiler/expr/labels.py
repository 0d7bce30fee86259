"""Expression analysis: which labels a query's result can carry (for annotation templates)."""
from __future__ import annotations

from typing import Callable

from compiler.expr import ast

# None means "cannot tell": the metric's labels are not declared, so anything may be there.
LabelSet = frozenset | None

_NO_LABELS = frozenset()


def output_labels(node: ast.Expr, labels_of: Callable[[str], LabelSet]) -> LabelSet:
    """Labels the result of `node` may carry; `labels_of(metric)` gives a metric's declared labels."""
    if isinstance(node, (ast.Number, ast.String)):
        return _NO_LABELS
    if isinstance(node, ast.Selector):
        declared = labels_of(node.metric) if node.metric else None
        if declared is None:
            return None
        return declared | {m.name for m in node.matchers if m.name != "__name__"}
    if isinstance(node, ast.RangeSelector):
        return output_labels(node.selector, labels_of)
    if isinstance(node, (ast.Paren, ast.Unary, ast.Subquery)):
        return output_labels(node.expr, labels_of)
    if isinstance(node, ast.Aggregation):
        inner = output_labels(node.expr, labels_of)
        if node.op == "count_values" and isinstance(node.param, ast.String):
            extra = frozenset({node.param.value})
        else:
            extra = _NO_LABELS
        if not node.grouped:
            return extra
        if node.without:
            return None if inner is None else (inner - set(node.grouping)) | extra
        grouping = frozenset(node.grouping)
        return (grouping if inner is None else grouping & inner) | extra
    if isinstance(node, ast.Call):
        return _call_labels(node, labels_of)
    if isinstance(node, ast.Binary):
        lhs = output_labels(node.lhs, labels_of)
        rhs = output_labels(node.rhs, labels_of)
        if _is_scalar(node.lhs):
            return rhs
        if _is_scalar(node.rhs):
            return lhs
        if node.op == "or":
            return None if lhs is None or rhs is None else lhs | rhs
        m = node.matching
        if m and m.card == "one-to-many":
            lhs, rhs = rhs, lhs
        if m and m.card in ("many-to-one", "one-to-many") and m.include:
            return None if lhs is None else lhs | set(m.include)
        if m and m.explicit and m.card == "one-to-one" and node.op not in ast.SET_OPS:
            # Prometheus keeps only the on() labels, or drops the ignoring() ones, of a
            # one-to-one result.
            if m.on:
                return frozenset(m.labels) if lhs is None else lhs & set(m.labels)
            return None if lhs is None else lhs - set(m.labels)
        return lhs
    return None


def _is_scalar(node: ast.Expr) -> bool:
    while isinstance(node, ast.Paren):
        node = node.expr
    if isinstance(node, ast.Number):
        return True
    if isinstance(node, ast.Call) and node.func in ("time", "scalar", "pi"):
        return True
    if isinstance(node, ast.Unary):
        return _is_scalar(node.expr)
    if isinstance(node, ast.Binary):
        # The right side first: a chain `a + b + c` nests to the left, and its right sides are
        # leaves that settle the answer without walking the whole chain again at every level.
        return _is_scalar(node.rhs) and _is_scalar(node.lhs)
    return False


def _call_labels(node: ast.Call, labels_of: Callable[[str], LabelSet]) -> LabelSet:
    f = node.func
    if f in ("time", "scalar", "pi", "vector"):
        return _NO_LABELS
    if f == "absent" or f == "absent_over_time":
        arg = node.args[0]
        if isinstance(arg, ast.RangeSelector):
            arg = arg.selector
        if isinstance(arg, ast.Selector):
            return frozenset(m.name for m in arg.matchers if m.op == "=" and m.name != "__name__")
        return _NO_LABELS
    if f == "histogram_quantile":
        inner = output_labels(node.args[1], labels_of)
        return None if inner is None else inner - {"le"}
    if f in ("label_replace", "label_join"):
        inner = output_labels(node.args[0], labels_of)
        dst = node.args[1]
        if inner is None or not isinstance(dst, ast.String):
            return None
        return inner | {dst.value}
    vector_args = [a for a in node.args if not isinstance(a, (ast.Number, ast.String))]
    if not vector_args:
        return _NO_LABELS
    return output_labels(vector_args[0], labels_of)
