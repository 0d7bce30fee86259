"""Import stage, example synthesis: PromQL's operators, aggregations and functions over the
values of straight-line series, as the evaluator (evaluate.py) applies them."""
from __future__ import annotations

import math

from compiler.expr import ast

Labels = frozenset  # of (name, value) pairs
Vector = list[tuple[Labels, float]]


class Unsupported(Exception):
    """The expression has a shape this evaluator does not predict."""


def drop_name(ls: Labels) -> Labels:
    return frozenset((k, v) for k, v in ls if k != "__name__")


def apply(op: str, a: float, b: float):
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


def set_op(op: str, lhs: Vector, rhs: Vector, matching: ast.VectorMatching | None) -> Vector:
    right = {_match_key(ls, matching) for ls, _ in rhs}
    if op == "and":
        return [(ls, v) for ls, v in lhs if _match_key(ls, matching) in right]
    if op == "unless":
        return [(ls, v) for ls, v in lhs if _match_key(ls, matching) not in right]
    left = {_match_key(ls, matching) for ls, _ in lhs}
    return lhs + [(ls, v) for ls, v in rhs if _match_key(ls, matching) not in left]


def vector_op(node: ast.Binary, lhs: Vector, rhs: Vector) -> Vector:
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
        result = apply(node.op, a, b)
        if card == "one-to-one":
            base = ls if many_is_left else found[0]
            labels = drop_name(base) if node.op not in ast.COMPARISONS else base
            if m is not None and m.explicit and m.on and node.op not in ast.COMPARISONS:
                labels = _match_key(base, m)
        else:
            d = dict(drop_name(ls)) if node.op not in ast.COMPARISONS else dict(ls)
            other = dict(found[0])
            for k in (m.include if m else ()):
                if k in other:
                    d[k] = other[k]
            labels = frozenset(d.items())
        if node.op in ast.COMPARISONS:
            if node.return_bool:
                out.append((drop_name(labels), float(bool(result))))
            elif result:
                out.append((labels, a))
        else:
            out.append((labels, result))
    return out


def quantile_of(phi: float, values: list[float]) -> float:
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
