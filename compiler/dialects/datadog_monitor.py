"""Datadog dialect, monitors: an alert's PromQL condition as one metric monitor query.

The grammar is the one the Monitor API documents (../shared/schemas/datadog/openapi-v1.yaml,
"Metric Alert Query"): `time_aggr(time_window):query operator #`, or for change alerts
`change_aggr(time_aggr(time_window),timeshift):query operator #`. How each part is chosen:

- an increase or rate over a window `w` (counts): `sum(last_w)`, the window's total
  (https://docs.datadoghq.com/monitors/guide/as-count-in-monitor-evaluations/);
- a percentile: `percentile(last_w)` on a distribution's `pXX:`
  (https://docs.datadoghq.com/monitors/types/metric/, "percentile(pXX)");
- `max|min|avg_over_time(...[w])` under the same aggregation: that time aggregation over `w`;
- gauges read at the instant: Prometheus fires once the condition held at every evaluation of
  `for`, which is Datadog's "at all times" over a window of that length: `min` for above, `max`
  for below (https://docs.datadoghq.com/monitors/guide/monitor_aggregators/), over one
  evaluation interval when `for` is 0. `==` and `!=` hold at all times exactly when
  `max(abs(q - c)) == 0`, resp. `min(abs(q - c)) > 0`;
- `q - q offset d` and `(q - q offset d) / q offset d * 100`: change and pct_change monitors,
  for the timeshifts the API lists (5m, 10m, 15m, 30m, 1h, 2h, 4h, 1d);
- `<condition> or absent(<its selector>)`: the condition, plus no-data alerting
  (https://docs.datadoghq.com/monitors/configuration/#no-data) on a monitor of one group;
- `(sum(<counts>) or vector(0)) op c`: the count monitor, evaluating missing data as 0
  (datadog_zero).

A window condition (counts, percentiles, *_over_time) held `for` a while has no form: Datadog
evaluates one window, with no pending period. That, and everything else, is a Problem.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from compiler.dialects.datadog import Datadog, inline, number, outer, strip
from compiler.dialects.datadog_composite import compose
from compiler.dialects.datadog_names import COUNT, DISTRIBUTION, GAUGE, Naming
from compiler.dialects.datadog_zero import split_zero, zero_problem
from compiler.expr import ast
from compiler.durations import format_ms
from compiler.expr.thresholds import Threshold, threshold

MINUTE = 60_000
TIMESHIFTS = {5 * MINUTE: "5m_ago", 10 * MINUTE: "10m_ago", 15 * MINUTE: "15m_ago",
              30 * MINUTE: "30m_ago", 60 * MINUTE: "1h_ago", 120 * MINUTE: "2h_ago",
              240 * MINUTE: "4h_ago", 1440 * MINUTE: "1d_ago"}
AT_ALL_TIMES = {">": "min", ">=": "min", "<": "max", "<=": "max"}
FOR_ON_WINDOW = "`for:` on a window condition"


@dataclass(frozen=True)
class Problem:
    """A construct with no exact Datadog form: its name, why, and the word to point at."""

    construct: str
    message: str
    token: str


@dataclass(frozen=True)
class MonitorQuery:
    """A translated condition: the query and the parts of it the monitor's options repeat."""

    query: str
    op: str
    threshold: float
    window_ms: int
    grouping: tuple[str, ...] = ()
    no_data: bool = False      # absent(): notify when the data stops
    full_window: bool = False  # a `for` over gauges needs data over the whole window
    missing_as_zero: bool = False  # `or vector(0)`: on_missing_data "default" (datadog_zero)
    notes: tuple[str, ...] = ()     # how it differs from the PromQL (a chosen setting's effect)
    warnings: tuple[str, ...] = ()  # what Datadog stores differently, or needs configured
    # A composite monitor: `query` is its expression over these components' names.
    components: tuple[tuple[str, "MonitorQuery"], ...] = ()


def window(ms: int, change: bool = False) -> str | None:
    """`last_#m`, `last_#h`, `last_1d`, `last_1w` (`last_#d` for change monitors), or None."""
    if ms <= 0 or ms % MINUTE:
        return None
    minutes = ms // MINUTE
    if change:
        if minutes in (1440, 2880):
            return f"last_{minutes // 1440}d"
        if minutes % 60 == 0 and minutes // 60 <= 48:
            return f"last_{minutes // 60}h"
        return f"last_{minutes}m" if minutes <= 2880 else None
    if minutes == 10080:
        return "last_1w"
    if minutes == 1440:
        return "last_1d"
    if minutes % 60 == 0 and minutes // 60 <= 168:
        return f"last_{minutes // 60}h"
    return f"last_{minutes}m" if minutes <= 10080 else None


def _shifted(node: ast.Expr, offset: int) -> ast.Expr:
    """The tree with every selector read `offset` ago."""
    if isinstance(node, ast.Selector):
        return dataclasses.replace(node, offset_ms=offset)
    if isinstance(node, ast.RangeSelector):
        return dataclasses.replace(node, selector=_shifted(node.selector, offset))
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple) and value and not isinstance(value[0], (str, ast.Matcher)):
            changes[f.name] = tuple(_shifted(v, offset) for v in value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, (ast.Matcher, ast.VectorMatching)):
            changes[f.name] = _shifted(value, offset)
    return dataclasses.replace(node, **changes) if changes else node


def _offset(node: ast.Expr) -> int | None:
    for n in ast.walk(node):
        if isinstance(n, ast.Selector) and n.offset_ms:
            return n.offset_ms
    return None


def _change(query: ast.Expr) -> tuple[str, int, ast.Expr] | None:
    """("change"|"pct_change", shift, base) for `q - q offset d` and its percentage form."""
    q = strip(query)

    def difference(node: ast.Expr) -> tuple[int, ast.Expr, ast.Expr] | None:
        node = strip(node)
        if isinstance(node, ast.Binary) and node.op == "-" and node.matching is None:
            base, past = strip(node.lhs), strip(node.rhs)
            shift = _offset(past)
            if shift and _offset(base) is None and _shifted(base, shift) == past:
                return shift, base, past
        return None

    found = difference(q)
    if found:
        return "change", found[0], found[1]
    if isinstance(q, ast.Binary) and q.op == "*" and strip(q.rhs) == ast.Number(100.0):
        ratio = strip(q.lhs)
        if isinstance(ratio, ast.Binary) and ratio.op == "/":
            found = difference(ratio.lhs)
            if found and strip(ratio.rhs) == found[2]:
                return "pct_change", found[0], found[1]
    return None


def split_absent(tree: ast.Expr) -> tuple[ast.Expr, ast.Selector | None]:
    """Splits `<condition> or absent(<selector>)` (either order)."""
    tree = strip(tree)
    plain = tree.matching is None or not (tree.matching.explicit or tree.matching.include) \
        if isinstance(tree, ast.Binary) else False
    if isinstance(tree, ast.Binary) and tree.op == "or" and plain:
        for cond, other in ((tree.lhs, tree.rhs), (tree.rhs, tree.lhs)):
            call = strip(other)
            if isinstance(call, ast.Call) and call.func == "absent" and len(call.args) == 1 \
                    and isinstance(strip(call.args[0]), ast.Selector):
                return strip(cond), strip(call.args[0])  # type: ignore[return-value]
    return tree, None


def translate(tree: ast.Expr, for_ms: int, naming: Naming, interval_ms: int,
              pending: str = "refuse") -> tuple[MonitorQuery | None, list[Problem]]:
    """The monitor query of an alert condition, or the problems that keep it from having one.
    Conditions joined by and/or/unless become a composite monitor of one monitor each.
    `pending` is targets.datadog.pending: what `for:` on a window condition becomes."""
    cond, absent = split_absent(tree)
    top = strip(cond)
    if isinstance(top, ast.Binary) and top.op in ast.SET_OPS:
        if absent is not None:
            return None, [Problem("absent() with and/or/unless", "no-data alerting applies to "
                                  "one monitor, not to a composite", "absent")]
        return compose(top, for_ms, lambda leaf: _single(leaf, None, for_ms, naming,
                                                         interval_ms, pending))
    return _single(cond, absent, for_ms, naming, interval_ms, pending)


def _is_delta(query: ast.Expr) -> bool:
    """`delta(x[w])`, or one space aggregation of it: what compares with 0 by its sign."""
    q = strip(query)
    if isinstance(q, ast.Aggregation) and q.param is None:
        q = strip(q.expr)
    return isinstance(q, ast.Call) and q.func == "delta"


def _threshold(cond: ast.Expr) -> Threshold | None:
    """`query op number`; `a op b` of two queries is `a - b op 0` (the same for every finite
    value), so a baseline in the same query reads as one."""
    found = threshold(cond)
    top = strip(cond)
    if found is None and isinstance(top, ast.Binary) and top.op in ast.COMPARISONS \
            and not top.return_bool and top.matching is None:
        return Threshold(top.op, 0.0, ast.Binary("-", top.lhs, top.rhs))
    return found


def _single(cond: ast.Expr, absent: ast.Selector | None, for_ms: int, naming: Naming,
            interval_ms: int, pending: str) -> tuple[MonitorQuery | None, list[Problem]]:
    found = _threshold(cond)
    gen = Datadog(naming, "monitor",
                  bare_space="min" if found is not None and found.op in ("<", "<=") else "max")
    if found is None:
        gen.generate(inline(cond, naming.rules))
        problems = _problems(gen)
        return None, problems or [Problem("condition without a threshold", "the condition is not "
                                          "a query compared with a number", "")]
    gen.sign_only = found.value == 0 and _is_delta(found.query)
    summed, zero = split_zero(found.query)
    change = None if zero else _change(found.query)
    query = change[2] if change else summed
    text = outer(gen.generate(inline(query, naming.rules)))
    problems = _problems(gen)
    if problems:
        return None, problems
    if zero is not None:
        refused = zero_problem(inline(query, naming.rules), zero, gen.kinds, gen.terms)
        if refused:
            return None, [Problem(*refused, "vector")]
        if absent is not None:
            return None, [Problem("absent() with `or vector(0)`", "a monitor either evaluates "
                                  "missing data as 0 or alerts on it (on_missing_data replaces "
                                  "notify_no_data); write one of the two", "absent")]
    if not gen.terms:
        return None, [Problem("condition without a metric", "the condition reads no metric", "")]
    if len(gen.groupings) > 1:
        return None, [Problem("different groupings", "the queries are grouped by different "
                              "labels; PromQL matches none of their series", "by")]
    grouping = gen.grouping or ()
    if absent is not None:
        problem = _absent_problem(inline(query, naming.rules), absent, grouping)
        if problem:
            return None, [problem]
    kinds = gen.kinds
    op, value = found.op, found.value
    full_window = False
    notes: list[str] = []
    if kinds <= {GAUGE}:
        span = max(for_ms, interval_ms)
        if op in AT_ALL_TIMES:
            aggr = AT_ALL_TIMES[op]
            full_window = for_ms > 0
        elif change:
            return None, [Problem(f"`{op}` in a change condition", f"`{op}` over a change has no "
                                  "at-all-times form", op)]
        else:
            # |q - c| is 0 at every point exactly when q == c at every point.
            shifted = text if value == 0 else f"{text} - {number(value)}"
            text = f"abs({shifted})"
            aggr, op, value = ("max", "==", 0.0) if op == "==" else ("min", ">", 0.0)
            full_window = for_ms > 0
    else:
        if change:
            return None, [Problem("change of a window condition", "a change monitor compares "
                                  "gauges; this one reads counts or percentiles", "offset")]
        if len(kinds) > 1:
            return None, [Problem("counts and gauges together", "a count over a window and a gauge "
                                  "at the instant in one condition have no single time "
                                  "aggregation", "")]
        if for_ms and pending != "drop":
            return None, [Problem(FOR_ON_WINDOW, "Prometheus needs the window's condition to "
                                  "hold for the whole `for`; a Datadog monitor evaluates one "
                                  "window and has no pending period (targets.datadog.pending: "
                                  "drop accepts that)", "for")]
        if for_ms:
            notes.append(f"no pending period (targets.datadog.pending: drop): it fires up to "
                         f"{format_ms(for_ms)} earlier than Prometheus")
        if len(gen.windows) != 1:
            return None, [Problem("several range windows", "the condition reads different range "
                                  "windows; a monitor has one evaluation window", "[")]
        (span,) = gen.windows
        kind = next(iter(kinds))
        if kind == COUNT:
            aggr = "sum"
        else:
            if gen.texts != [text]:
                return None, [Problem("arithmetic on a percentile", "a percentile or *_over_time "
                                      "monitor reads one query", "")]
            aggr = "percentile" if kind == DISTRIBUTION else next(iter(gen.time_aggrs))
    if change:
        shift = TIMESHIFTS.get(change[1])
        spelled = window(span, change=True)
        if shift is None or spelled is None:
            return None, [Problem("offset", f"offset {number(change[1] / 1000)}s: Datadog change "
                                  "monitors compare with 5m, 10m, 15m, 30m, 1h, 2h, 4h or 1d ago",
                                  "offset")]
        head = f"{change[0]}({aggr}({spelled}),{shift})"
    else:
        spelled = window(span)
        if spelled is None:
            return None, [Problem("window", f"a window of {number(span / 1000)}s: Datadog monitors "
                                  "evaluate whole minutes up to one week", "[")]
        head = f"{aggr}({spelled})"
    return MonitorQuery(f"{head}:{text} {op} {number(value)}", op, value, span, grouping,
                        absent is not None, full_window, zero is not None, tuple(notes),
                        tuple(dict.fromkeys(gen.notes))), []


def staleness(tree: ast.Expr, naming: Naming) -> str | None:
    """For `time() - q > N`: the query that holds when q, a Unix time set when something happens,
    has not changed for N seconds (`max(last_N):diff(q) <= 0`). Only a suggestion: whether q is
    such a time is the metric's meaning, which the expression does not say."""
    cond, _ = split_absent(tree)
    found = threshold(cond)
    if found is None or found.op not in (">", ">="):
        return None
    q = strip(found.query)
    if not (isinstance(q, ast.Binary) and q.op == "-" and strip(q.lhs) == ast.Call("time", ())):
        return None
    gen = Datadog(naming, "monitor")
    text = outer(gen.generate(inline(q.rhs, naming.rules)))
    span = window(int(found.value * 1000))
    if gen.unsupported_messages or gen.kinds != {GAUGE} or span is None:
        return None
    return f"max({span}):diff({text}) <= 0"


def _absent_problem(query: ast.Expr, absent: ast.Selector, grouping: tuple[str, ...]) -> Problem | None:
    sels = [n.selector if isinstance(n, ast.RangeSelector) else n for n in ast.walk(query)
            if isinstance(n, (ast.Selector, ast.RangeSelector))]
    if any(s.metric != absent.metric or s.matchers != absent.matchers for s in sels):
        return Problem("absent()", "absent() reads another selector than the condition; no-data "
                       "alerting watches the monitor's own query", "absent")
    if grouping:
        return Problem("absent() with by (...)", "Datadog reports missing data group by group, "
                       "absent() only when every series is gone", "absent")
    return None


def _problems(gen: Datadog) -> list[Problem]:
    return [Problem(u.construct, u.message, tok)
            for u, tok in zip(gen.unsupported_messages, gen.tokens)]
