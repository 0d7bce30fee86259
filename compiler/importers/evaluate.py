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

Labels = frozenset  # of (name, value) pairs


class Unsupported(Exception):
    """The expression has a shape this evaluator does not predict."""


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


Vector = list[tuple[Labels, float]]


class Evaluator:
    """Evaluates a tree at time `t` (seconds) given the series each key holds."""

    def __init__(self, values: dict[tuple[str, Labels], Series], labels: dict[tuple[str, Labels], Labels]):
        self.values = values
        self.labels = labels  # each series' whole label set (its key's, plus instance and job)

    def _labels(self, key: tuple[str, Labels]) -> Labels:
        return self.labels[key]

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
        return [(_drop_name(ls), -v) for ls, v in inner]

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
            return [(_drop_name(ls), POINTWISE[f](v, *extra)) for ls, v in self.vec(args[0], t)]
        if f == "timestamp":
            return [(_drop_name(ls), float(t)) for ls, _ in self.vec(args[0], t)]
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
            return [(k, _quantile_of(phi, vs)) for k, vs in groups.items()]
        return [(k, op(vs)) for k, vs in groups.items()]

    def e_binary(self, node: ast.Binary, t: float):
        lhs = self.run(node.lhs, t)
        rhs = self.run(node.rhs, t)
        op = node.op
        if op in ast.SET_OPS:
            if isinstance(lhs, float) or isinstance(rhs, float):
                raise Unsupported("set operation on a scalar")
            return _set_op(op, lhs, rhs, node.matching)
        if isinstance(lhs, float) and isinstance(rhs, float):
            value = _apply(op, lhs, rhs)
            if op in ast.COMPARISONS:
                return float(bool(value)) if node.return_bool else (lhs if value else math.nan)
            return value
        if isinstance(lhs, float) or isinstance(rhs, float):
            vector, scalar_first = (rhs, True) if isinstance(lhs, float) else (lhs, False)
            out = []
            for ls, v in vector:  # type: ignore[union-attr]
                a, b = ((lhs, v) if scalar_first else (v, rhs))
                result = _apply(op, a, b)  # type: ignore[arg-type]
                if op in ast.COMPARISONS:
                    if node.return_bool:
                        out.append((_drop_name(ls), float(bool(result))))
                    elif result:
                        out.append((ls, v))
                else:
                    out.append((_drop_name(ls), result))
            return out
        return _vector_op(node, lhs, rhs)

    def e_string(self, node: ast.String, t: float):
        raise Unsupported("string")

    def e_subquery(self, node: ast.Subquery, t: float):
        raise Unsupported("subquery")

    def e_rangeselector(self, node: ast.RangeSelector, t: float):
        raise Unsupported("range selector")


def _name_of(node: ast.Expr) -> str:
    return node.selector.metric if isinstance(node, ast.RangeSelector) else ""  # type: ignore[return-value]


def _drop_name(ls: Labels) -> Labels:
    return frozenset((k, v) for k, v in ls if k != "__name__")


def _scalar(value) -> float:
    if isinstance(value, float):
        return value
    raise Unsupported("vector where a scalar is needed")


def _apply(op: str, a: float, b: float):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b else (math.nan if a == 0 else math.copysign(math.inf, a))
    if op == "%":
        return math.fmod(a, b) if b else math.nan
    if op == "^":
        return a ** b
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def _match_key(ls: Labels, matching: ast.VectorMatching | None) -> Labels:
    d = {k: v for k, v in ls if k != "__name__"}
    if matching is not None and matching.explicit:
        if matching.on:
            return frozenset((k, v) for k, v in d.items() if k in matching.labels)
        return frozenset((k, v) for k, v in d.items() if k not in matching.labels)
    return frozenset(d.items())


def _set_op(op: str, lhs: Vector, rhs: Vector, matching: ast.VectorMatching | None) -> Vector:
    right = {_match_key(ls, matching) for ls, _ in rhs}
    if op == "and":
        return [(ls, v) for ls, v in lhs if _match_key(ls, matching) in right]
    if op == "unless":
        return [(ls, v) for ls, v in lhs if _match_key(ls, matching) not in right]
    left = {_match_key(ls, matching) for ls, _ in lhs}
    return lhs + [(ls, v) for ls, v in rhs if _match_key(ls, matching) not in left]


def _vector_op(node: ast.Binary, lhs: Vector, rhs: Vector) -> Vector:
    m = node.matching
    card = m.card if m else "one-to-one"
    one, many, many_is_left = (rhs, lhs, True) if card in ("one-to-one", "many-to-one") else (lhs, rhs, False)
    index: dict[Labels, tuple[Labels, float]] = {}
    for ls, v in one:
        key = _match_key(ls, m)
        if key in index:
            raise Unsupported("many series on the one side")
        index[key] = (ls, v)
    out = []
    for ls, v in many:
        found = index.get(_match_key(ls, m))
        if found is None:
            continue
        a, b = (v, found[1]) if many_is_left else (found[1], v)
        result = _apply(node.op, a, b)
        base = ls if many_is_left or card != "one-to-one" else found[0]
        if card == "one-to-one":
            base = ls if many_is_left else found[0]
            labels = _drop_name(base) if node.op not in ast.COMPARISONS else base
            if card == "one-to-one" and m is not None and m.explicit and m.on and node.op not in ast.COMPARISONS:
                labels = _match_key(base, m)
        else:
            d = dict(_drop_name(ls)) if node.op not in ast.COMPARISONS else dict(ls)
            other = dict(found[0])
            for k in (m.include if m else ()):
                if k in other:
                    d[k] = other[k]
            labels = frozenset(d.items())
        if node.op in ast.COMPARISONS:
            if node.return_bool:
                out.append((_drop_name(labels), float(bool(result))))
            elif result:
                out.append((labels, a))
        else:
            out.append((labels, result))
    return out


def _quantile_of(phi: float, values: list[float]) -> float:
    vs = sorted(values)
    if not vs:
        return math.nan
    rank = phi * (len(vs) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(vs) - 1)
    return vs[lo] + (vs[hi] - vs[lo]) * (rank - lo)


def _avg(vs: list[float]) -> float:
    return sum(vs) / len(vs)


AGGREGATIONS = {
    "sum": sum, "avg": _avg, "min": min, "max": max, "count": lambda vs: float(len(vs)),
    "group": lambda vs: 1.0, "stddev": lambda vs: 0.0 if len(vs) == 1 else math.nan,
    "stdvar": lambda vs: 0.0 if len(vs) == 1 else math.nan, "topk": max, "bottomk": min,
    "quantile": None,
}
RANGE_FUNCS = {
    "rate": lambda ln, t, w: ln.s, "irate": lambda ln, t, w: ln.s,
    "increase": lambda ln, t, w: ln.s * w, "delta": lambda ln, t, w: ln.s * w,
    "idelta": lambda ln, t, w: ln.s * 60, "deriv": lambda ln, t, w: ln.s,
    "avg_over_time": lambda ln, t, w: ln.at(t - w / 2), "max_over_time": lambda ln, t, w: ln.at(t),
    "min_over_time": lambda ln, t, w: ln.at(t - w), "last_over_time": lambda ln, t, w: ln.at(t),
    "sum_over_time": lambda ln, t, w: ln.at(t - w / 2) * (w / 60 + 1),
    "count_over_time": lambda ln, t, w: w / 60 + 1, "present_over_time": lambda ln, t, w: 1.0,
    "changes": lambda ln, t, w: 0.0 if ln.s == 0 else w / 60,
    "resets": lambda ln, t, w: 0.0, "stddev_over_time": lambda ln, t, w: 0.0 if ln.s == 0 else math.nan,
    "quantile_over_time": None,
}
del RANGE_FUNCS["quantile_over_time"]
POINTWISE = {
    "abs": abs, "ceil": math.ceil, "floor": math.floor, "round": lambda v, *a: float(round(v)),
    "clamp_min": max, "clamp_max": min, "clamp": lambda v, lo, hi: min(max(v, lo), hi),
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan, "exp": math.exp,
    "ln": lambda v: math.log(v) if v > 0 else math.nan,
    "log2": lambda v: math.log2(v) if v > 0 else math.nan,
    "log10": lambda v: math.log10(v) if v > 0 else math.nan,
}
