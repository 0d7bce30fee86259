"""Import stage, example synthesis: a small PromQL evaluator over straight-line series.

Every series of a synthesised example is a line, `a + s*t` (a gauge has s = 0; a counter starts
at 0 and grows by s per second), and every selector of the expression reads at most one such
series. Over lines, rate() is s, increase() s times the window, and so on, so the expression's
value at a time is cheap to predict while searching for series that make an alert fire or stay
quiet. The prediction only guides the search: promtool proves every example that is written.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from compiler.expr import ast
from compiler.importers.operators import (AGGREGATIONS, POINTWISE, RANGE_FUNCS, Labels, Unsupported,
                                          Vector, drop_name, apply, quantile_of, set_op, vector_op)

@dataclass(frozen=True)
class Line:
    a: float
    s: float = 0.0

    def at(self, t: float) -> float:
        return self.a + self.s * t


@dataclass(frozen=True)
class Buckets:
    """A histogram whose observations all fall in (0, le]: histogram_quantile(φ) is φ * le."""

    le: float
    rate: float = 1.0


Series = Line | Buckets | None  # None: the series is absent


GUESSES = ("x", "1", "500", "400", "true", "error", "zz", "0")


def pick(pattern: str, negate: bool = False) -> str | None:
    """A label value that matches `pattern` (or, negated, does not), None when none is evident.
    An empty answer means the label is best left out."""
    inner = pattern.strip("^$")
    while inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    options = [o.replace(".*", "").replace(".+", "x").replace("\\.", ".") for o in inner.split("|")]
    plain = [o for o in options if re.escape(o) == o]  # literals first, then guesses
    for literal in ([""] if negate else []) + plain + list(GUESSES) + options:
        try:
            if bool(re.fullmatch(pattern, literal)) != negate and (literal or negate):
                return literal
        except re.error:
            return None
    return None


def series_key(sel: ast.Selector) -> tuple[str, Labels] | None:
    """The one series a selector reads: its name and the labels its matchers require."""
    labels = {}
    for m in sel.matchers:
        if m.name == "__name__":
            continue
        if m.op == "=":
            labels[m.name] = m.value
        elif m.op in ("=~", "!~", "!="):
            if m.op == "!=":
                value = "" if m.value else "x"  # `!= ""` asks for the label to be there
            else:
                value = pick(m.value, negate=m.op == "!~")
            if value is None:
                raise Unsupported(f"regex {m.value!r}")
            if value:
                labels[m.name] = value
    if not sel.metric:
        raise Unsupported("selector without a metric name")
    return sel.metric, frozenset(labels.items())


class Evaluator:
    """Evaluates a tree at time `t` (seconds) given the series each key holds."""

    def __init__(self, values: dict[tuple[str, Labels], Series], labels: dict[tuple[str, Labels], Labels]):
        self.values = values
        self.labels = labels  # each series' whole label set (its key's, plus instance and job)

    def _labels(self, key: tuple[str, Labels]) -> Labels:
        return self.labels.get(key, key[1])

    def run(self, node: ast.Expr, t: float) -> Vector | float:
        method = getattr(self, "e_" + type(node).__name__.lower(), None)
        if method is None:
            raise Unsupported(type(node).__name__)
        return method(node, t)

    def vec(self, node: ast.Expr, t: float) -> Vector:
        out = self.run(node, t)
        if isinstance(out, float):
            raise Unsupported("scalar where a vector is needed")
        return out

    def e_number(self, node: ast.Number, t: float) -> float:
        return node.value

    def e_paren(self, node: ast.Paren, t: float):
        return self.run(node.expr, t)

    def e_unary(self, node: ast.Unary, t: float):
        inner = self.run(node.expr, t)
        if isinstance(inner, float):
            return -inner
        return [(drop_name(ls), -v) for ls, v in inner]

    def e_selector(self, node: ast.Selector, t: float) -> Vector:
        key = series_key(node)
        if node.at is not None:
            raise Unsupported("@")
        found = self.values.get(key)
        if isinstance(found, Buckets):
            raise Unsupported("histogram buckets read directly")
        if found is None:
            return []
        when = t - (node.offset_ms or 0) / 1000
        if when < 0:
            return []
        labels = self._labels(key) | {("__name__", node.metric)}
        return [(labels, found.at(when))]

    def _range(self, node: ast.Expr) -> tuple[Line, Labels, float, int]:
        if not isinstance(node, ast.RangeSelector):
            raise Unsupported("subquery")
        key = series_key(node.selector)
        found = self.values.get(key)
        if node.selector.offset_ms or node.selector.at is not None:
            raise Unsupported("offset in a range")
        if not isinstance(found, Line):
            return None, self._labels(key), 0.0, node.range_ms  # type: ignore[return-value]
        return found, self._labels(key), node.range_ms / 1000, node.range_ms

    def e_call(self, node: ast.Call, t: float):
        f = node.func
        args = node.args
        if f in RANGE_FUNCS:
            line, labels, w, _ = self._range(args[0])
            if line is None:
                return []
            value = RANGE_FUNCS[f](line, t, w)
            keep = labels | {("__name__", _name_of(args[0]))} if f == "last_over_time" else labels
            return [(keep, value)]
        if f in ("absent", "absent_over_time"):
            inner = args[0].selector if isinstance(args[0], ast.RangeSelector) else args[0]
            got = self.vec(inner, t) if isinstance(inner, ast.Selector) else self.vec(args[0], t)
            if got:
                return []
            eq = {m.name: m.value for m in getattr(inner, "matchers", ()) if m.op == "=" and m.name != "__name__"}
            return [(frozenset(eq.items()), 1.0)]
        if f == "predict_linear":
            line, labels, _, _ = self._range(args[0])
            ahead = _scalar(self.run(args[1], t))
            return [] if line is None else [(labels, line.at(t + ahead))]
        if f == "histogram_quantile":
            return self._quantile(node, t)
        if f == "time":
            return float(t)
        if f == "vector":
            return [(frozenset(), _scalar(self.run(args[0], t)))]
        if f == "scalar":
            got = self.run(args[0], t)
            return got if isinstance(got, float) else (got[0][1] if len(got) == 1 else math.nan)
        if f in POINTWISE:
            extra = [_scalar(self.run(a, t)) for a in args[1:]]
            return [(drop_name(ls), POINTWISE[f](v, *extra)) for ls, v in self.vec(args[0], t)]
        if f == "timestamp":
            return [(drop_name(ls), float(t)) for ls, _ in self.vec(args[0], t)]
        if f == "label_replace":
            out = []
            dst, repl, src, regex = (a.value for a in args[1:])  # type: ignore[union-attr]
            for ls, v in self.vec(args[0], t):
                d = dict(ls)
                m = re.fullmatch(regex, d.get(src, ""))
                if m:
                    value = re.sub(r"\$\{?(\w+)\}?", lambda g: m.group(int(g.group(1))) if g.group(1).isdigit() else "", repl)
                    if value:
                        d[dst] = value
                    else:
                        d.pop(dst, None)
                out.append((frozenset(d.items()), v))
            return out
        raise Unsupported(f"{f}()")

    def _quantile(self, node: ast.Call, t: float) -> Vector:
        phi = _scalar(self.run(node.args[0], t))
        inner = node.args[1]
        while isinstance(inner, ast.Paren):
            inner = inner.expr
        grouping: tuple[str, ...] | None = None
        if isinstance(inner, ast.Aggregation) and inner.op == "sum" and not inner.without:
            grouping = inner.grouping
            inner = inner.expr
        if not (isinstance(inner, ast.Call) and inner.func in ("rate", "increase", "irate")
                and isinstance(inner.args[0], ast.RangeSelector)):
            raise Unsupported("histogram_quantile of another shape")
        key = series_key(inner.args[0].selector)
        found = self.values.get(key)
        if found is None:
            return []
        if not isinstance(found, Buckets):
            raise Unsupported("buckets")
        labels = dict(self._labels(key))
        if grouping is not None:
            labels = {k: v for k, v in labels.items() if k in grouping}
        labels.pop("le", None)
        return [(frozenset(labels.items()), phi * found.le)]

    def e_aggregation(self, node: ast.Aggregation, t: float) -> Vector:
        items = self.vec(node.expr, t)
        groups: dict[Labels, list[float]] = {}
        for ls, v in items:
            d = {k: x for k, x in ls if k != "__name__"}
            if node.without:
                key = {k: x for k, x in d.items() if k not in node.grouping}
            else:
                key = {k: x for k, x in d.items() if k in node.grouping}
            if node.op in ("topk", "bottomk"):
                key = dict(d)
            groups.setdefault(frozenset(key.items()), []).append(v)
        op = AGGREGATIONS.get(node.op)
        if op is None:
            raise Unsupported(f"{node.op}()")
        if node.op == "quantile":
            phi = _scalar(self.run(node.param, t))  # type: ignore[arg-type]
            return [(k, quantile_of(phi, vs)) for k, vs in groups.items()]
        return [(k, op(vs)) for k, vs in groups.items()]

    def e_binary(self, node: ast.Binary, t: float):
        lhs = self.run(node.lhs, t)
        rhs = self.run(node.rhs, t)
        op = node.op
        if op in ast.SET_OPS:
            if isinstance(lhs, float) or isinstance(rhs, float):
                raise Unsupported("set operation on a scalar")
            return set_op(op, lhs, rhs, node.matching)
        if isinstance(lhs, float) and isinstance(rhs, float):
            value = apply(op, lhs, rhs)
            if op in ast.COMPARISONS:
                return float(bool(value)) if node.return_bool else (lhs if value else math.nan)
            return value
        if isinstance(lhs, float) or isinstance(rhs, float):
            vector, scalar_first = (rhs, True) if isinstance(lhs, float) else (lhs, False)
            out = []
            for ls, v in vector:  # type: ignore[union-attr]
                a, b = ((lhs, v) if scalar_first else (v, rhs))
                result = apply(op, a, b)  # type: ignore[arg-type]
                if op in ast.COMPARISONS:
                    if node.return_bool:
                        out.append((drop_name(ls), float(bool(result))))
                    elif result:
                        out.append((ls, v))
                else:
                    out.append((drop_name(ls), result))
            return out
        return vector_op(node, lhs, rhs)

    def e_string(self, node: ast.String, t: float):
        raise Unsupported("string")

    def e_subquery(self, node: ast.Subquery, t: float):
        raise Unsupported("subquery")

    def e_rangeselector(self, node: ast.RangeSelector, t: float):
        raise Unsupported("range selector")


def _name_of(node: ast.Expr) -> str:
    return node.selector.metric if isinstance(node, ast.RangeSelector) else ""  # type: ignore[return-value]


def _scalar(value) -> float:
    if isinstance(value, float):
        return value
    raise Unsupported("vector where a scalar is needed")


