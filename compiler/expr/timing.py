"""Expression analysis: how far back a query reads, and how long it takes to reflect a change."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from compiler.expr import ast

# Prometheus' default lookback delta: an instant selector still returns a sample this old, so
# absent() turns true only this long after a series stops (when no staleness marker ends it).
LOOKBACK_DELTA_MS = 5 * 60_000

# The expression of a recording rule, by the name it records (None: not a recorded series).
Records = Callable[[str], "ast.Expr | None"]


@dataclass(frozen=True)
class Lag:
    """How long after a lasting change of its inputs an expression shows it: range windows and
    offsets on the way (`window_ms`), the staleness wait of absent() (`lookback_ms`), and how many
    recording rules the change passes through (each is one more rule-group evaluation)."""

    window_ms: int = 0
    lookback_ms: int = 0
    records: int = 0

    def plus(self, window_ms: int = 0, lookback_ms: int = 0, records: int = 0) -> "Lag":
        return Lag(self.window_ms + window_ms, self.lookback_ms + lookback_ms, self.records + records)

    def key(self, interval_ms: int) -> int:
        return self.window_ms + self.lookback_ms + self.records * interval_ms


def lookback_ms(node: ast.Expr, records: Records, _seen: frozenset = frozenset()) -> int:
    """How far before the evaluation time the expression reads samples (range + offset, through
    recording rules): the history an example needs before its first meaningful evaluation."""
    best = 0
    for n in ast.walk(node):
        if isinstance(n, ast.RangeSelector):
            best = max(best, n.range_ms + max(n.selector.offset_ms or 0, 0)
                       + _record_lookback(n.selector, records, _seen))
        elif isinstance(n, ast.Subquery):
            inner = lookback_ms(n.expr, records, _seen)
            best = max(best, n.range_ms + max(n.offset_ms or 0, 0) + inner)
        elif isinstance(n, ast.Selector):
            best = max(best, max(n.offset_ms or 0, 0) + _record_lookback(n, records, _seen))
    return best


def _record_lookback(sel: ast.Selector, records: Records, seen: frozenset) -> int:
    expr = records(sel.metric) if sel.metric and sel.metric not in seen else None
    return 0 if expr is None else lookback_ms(expr, records, seen | {sel.metric})


def lag(node: ast.Expr, records: Records, interval_ms: int, _seen: frozenset = frozenset()) -> Lag | None:
    """The worst-case lag of the part of the expression that detects a change (None: the
    expression reads no series, e.g. a number or time()).

    Where two series-reading sides meet in arithmetic or a comparison, the side that reacts first
    carries the change and the slower one is its baseline (`rate(x[10m]) > 3 * rate(x[7d])`,
    `q - q offset 1d`): the faster side counts. `and` needs both sides, and each leg of `or` is a
    way to fire: the slower counts. `unless` fires on its left side."""
    recurse = lambda n: lag(n, records, interval_ms, _seen)  # noqa: E731
    if isinstance(node, (ast.Number, ast.String)):
        return None
    if isinstance(node, ast.Selector):
        offset = max(node.offset_ms or 0, 0)
        expr = records(node.metric) if node.metric and node.metric not in _seen else None
        if expr is None:
            return Lag(offset)
        inner = lag(expr, records, interval_ms, _seen | {node.metric}) or Lag()
        return inner.plus(offset, records=1)
    if isinstance(node, ast.RangeSelector):
        inner = recurse(node.selector) or Lag()
        return inner.plus(node.range_ms)
    if isinstance(node, ast.Subquery):
        inner = recurse(node.expr) or Lag()
        return inner.plus(node.range_ms + max(node.offset_ms or 0, 0))
    if isinstance(node, (ast.Paren, ast.Unary)):
        return recurse(node.expr)
    if isinstance(node, ast.Aggregation):
        return recurse(node.expr)
    if isinstance(node, ast.Call):
        if node.func in ("absent", "absent_over_time"):
            inner = recurse(node.args[0]) or Lag()
            return inner.plus(lookback_ms=LOOKBACK_DELTA_MS if node.func == "absent" else 0)
        found = [x for x in (recurse(a) for a in node.args) if x is not None]
        return max(found, key=lambda x: x.key(interval_ms)) if found else None
    if isinstance(node, ast.Binary):
        lhs, rhs = recurse(node.lhs), recurse(node.rhs)
        if lhs is None or rhs is None:
            return lhs or rhs
        if node.op == "unless":
            return lhs
        pick = max if node.op in ("and", "or") else min
        return pick((lhs, rhs), key=lambda x: x.key(interval_ms))
    return None
