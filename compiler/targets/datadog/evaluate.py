"""Datadog target, evaluator: a metric monitor (or a composite of them) evaluated over the points
the Agent would have stored (agent.py), at one time, as Datadog documents its evaluation.

The rules, and the docs.datadoghq.com pages they rest on:
- A query selects the timeseries of its metric whose tags pass the filter
  (metrics/advanced-filtering), groups them by the `by {...}` tags (a series without one is in
  group `N/A`), and aggregates each group across series at each timestamp with the space
  aggregator (metrics/#space-aggregation). Counts read `.as_count()` as stored and
  `.as_rate()` per second of the check interval (metrics/custom_metrics/type_modifiers).
- The time aggregator reduces the points of the evaluation window, `(T - window, T]`, to one
  value per group: avg, sum, min or max of the points, `percentile` of every value a
  distribution received in the window (monitors/configuration, "Aggregation method";
  monitors/types/metric, percentile(pXX); metrics/distributions).
- Arithmetic between queries: point by point, then time aggregation ("classic_eval_path");
  with arithmetic and at least one `.as_count()`, time aggregation of each query first, then
  the arithmetic ("as_count_eval_path": monitors/guide/as-count-in-monitor-evaluations). Groups
  match by their tags; a query without groups applies to every group. Division by zero gives
  no value.
- Functions (dashboards/functions/*): abs, clamp_min/max, cutoff_min/max, log2, log10 (point-wise),
  diff and monotonic_diff, per_second/per_minute/per_hour, default_zero, timeshift, hour_before,
  day_before, week_before (the value from that long before), moving_rollup. default_zero fills
  the empty intervals of an evaluation window with 0, and has no effect on a window without
  points (dashboards/functions/interpolation).
- change/pct_change monitors compare the window's value now with the same window `timeshift`
  earlier (monitors/types/change-alert).
- Status per group: alert when the value passes the threshold, warn when it passes the warning
  threshold, no data when a group that reported before has no point in the window (or in the
  no-data timeframe); a group that never reported is unknown (monitors/configuration, "No
  data"). With `require_full_window`, a group whose data does not cover the window is not
  evaluated. `evaluation_delay` moves the window back.
- `on_missing_data` (monitors/guide/on_missing_data) in place of notify_no_data: `default` on a
  sum or count aggregation evaluates missing data as 0 (a group that reported before, or the
  one group of a monitor without `by` even when nothing ever reported: "an empty monitor
  evaluation is treated as 0", the Monitor API's OnMissingDataOption); `default` on another
  aggregation shows the last known status, which one evaluation cannot know (not modelled);
  `resolve` shows OK; `show_no_data` and `show_and_notify_no_data` show no data, the second
  notifying.
- Composite monitors (monitors/types/composite): `&&` gives the least severe and `||` the most
  severe status when alert-worthy (alert > warn > no data > ok), `!` turns alert-worthy into ok,
  ok into alert, and keeps no data; only the groups every multi-alert component reports are
  evaluated, matched by tag values, and a component without groups applies to every group.

What is not modelled: DDSketch's relative error on percentiles (a value within about 1% of the
threshold may go either way), rollup intervals coarser than the check interval (the examples
change at whole steps, so no point average crosses a step), ingestion delay.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Callable

from compiler.targets.datadog import querycheck
from compiler.targets.datadog.agent import Stored
from compiler.targets.datadog.query_tree import (BinOp, BooleanGrammar, Func, Metric, Neg, Node, Num,
                                                 has_arithmetic, leaves)
from compiler.targets.datadog.timelines import (Classic, Context, EvalError, Frame, Group, Options,
                                                Truncated, quantile)

ALERT, WARN, NO_DATA, OK, SKIPPED = "alert", "warn", "no data", "ok", "not evaluated"
SEVERITY = {ALERT: 4, WARN: 3, NO_DATA: 2, OK: 1, SKIPPED: 0}
SHIFTS_S = {"5m_ago": 300, "10m_ago": 600, "15m_ago": 900, "30m_ago": 1800, "1h_ago": 3600,
            "2h_ago": 7200, "4h_ago": 14400, "1d_ago": 86400}
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne}
TIMESHIFT_S = {"hour_before": 3600, "day_before": 86400, "week_before": 604800}
Values = dict[Group, "float | None"]

__all__ = ["ALERT", "EvalError", "NO_DATA", "OK", "Options", "Outcome", "WARN", "composite",
           "evaluate"]


@dataclass
class Outcome:
    """Per group: its status and the value compared with the threshold (None: no data)."""

    statuses: dict[Group, str] = field(default_factory=dict)
    values: dict[Group, float | None] = field(default_factory=dict)
    notify_no_data: bool = False

    @property
    def alerting(self) -> list[Group]:
        return sorted(g for g, s in self.statuses.items() if s in (ALERT, WARN))

    @property
    def notifies(self) -> bool:
        """A group in alert or warn, or in no data when the monitor notifies on missing data."""
        return bool(self.alerting) or (self.notify_no_data and NO_DATA in self.statuses.values())


class _Monitor:
    def __init__(self, parsed: querycheck.Parsed, data: list[Stored], options: Options,
                 context: Context | None = None):
        self.parsed = parsed
        self.ctx = context or Context(data, options)
        self.options = options
        window = querycheck.window_ms(parsed.window)
        if window is None:
            raise EvalError(f"window {parsed.window} is not modelled")
        self.window = window
        self.as_count = has_arithmetic(parsed.tree) and \
            any(m.count_mode == "as_count" for m in leaves(parsed.tree))
        self.classic = Classic(self.ctx)
        self._frames: dict[int, Frame] = {}
        self._frame_end = 0

    # --- time aggregation of one frame ---------------------------------------------------------
    def aggregate(self, frame: Frame, end: int, leaf: Metric | None = None) -> Values:
        out: Values = {}
        aggr = self.parsed.time_aggr
        for g, line in frame.items():
            points = [v for t, v in line.items() if end - self.window < t <= end]
            if not points and self.ctx.partial:
                raise Truncated  # no data, or not reporting yet: the points before the stretch say
            if line and min(line) > end:
                continue  # not reporting yet
            if aggr == "percentile":
                out[g] = self._percentile(g, end, leaf)
            elif not points:
                out[g] = None
            else:
                out[g] = {"sum": sum, "min": min, "max": max}.get(aggr, _avg)(points)
        return out

    def _percentile(self, g: Group, end: int, leaf: Metric | None) -> float | None:
        space = (leaf or leaves(self.parsed.tree)[0]).space
        buckets = [b for t, bs in self.ctx.distributions.get(g, {}).items()
                   if end - self.window < t <= end for b in bs]
        return quantile(float(space[1:]) / 100, buckets)

    # --- the query's value at one time ---------------------------------------------------------
    def value(self, end: int) -> Values:
        tree = self.parsed.tree
        if self.as_count:
            return self._aggregated(tree, end)
        window = (end - self.window, end)
        if id(tree) not in self._frames:
            self._frames[id(tree)] = self.classic.eval(tree, window)
            self._frame_end = end
        frame = self._frames[id(tree)]
        if end != self._frame_end and "default_zero" in self.parsed.functions:
            frame = self.classic.eval(tree, window)  # what it fills depends on the window
        if set(frame) == {()} and set(frame[()]) == {-1}:
            raise EvalError("the query reads no metric")
        return self.aggregate(frame, end, tree if isinstance(tree, Metric) else None)

    def _aggregated(self, node: "Node | str", end: int) -> Values:
        """as_count_eval_path: each query aggregated over the window, then the arithmetic."""
        if isinstance(node, Num):
            return {(): node.value}
        if isinstance(node, Metric):
            return self.aggregate(self.ctx.metric(node), end, node)
        if isinstance(node, Neg):
            return {g: None if v is None else -v for g, v in self._aggregated(node.expr, end).items()}
        if isinstance(node, BinOp):
            return _arith(node.op, self._aggregated(node.lhs, end), self._aggregated(node.rhs, end))
        if isinstance(node, Func) and node.name in TIMESHIFT_S | {"timeshift": 0}:
            seconds = TIMESHIFT_S.get(node.name)
            if seconds is None:
                arg = node.args[1] if len(node.args) > 1 else None
                if not isinstance(arg, Num):
                    raise EvalError("timeshift() needs a number of seconds")
                seconds = -arg.value
            return self._aggregated(node.args[0], end - int(seconds * 1000))
        if isinstance(node, Func):
            # Any other function of a query: over its timeline, then aggregated.
            return self.aggregate(self.classic.eval(node, (end - self.window, end)), end)
        raise EvalError(f"a string {node!r} outside a function")


def _avg(points: list[float]) -> float:
    return sum(points) / len(points)


def _arith(op: str, a: Values, b: Values) -> Values:
    fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op]
    if set(a) == {()} and set(b) != {()}:
        pairs = [(g, a[()], v) for g, v in b.items()]
    elif set(b) == {()} and set(a) != {()}:
        pairs = [(g, v, b[()]) for g, v in a.items()]
    else:
        pairs = [(g, v, b[g]) for g, v in a.items() if g in b]
    out: Values = {}
    for g, x, y in pairs:
        try:
            out[g] = None if x is None or y is None else fn(x, y)
        except ZeroDivisionError:
            out[g] = None
    return out


def _status(value: float | None, op: str, threshold: float, options: Options) -> str:
    if value is None or math.isnan(value):
        return NO_DATA
    if OPS[op](value, threshold):
        return ALERT
    if options.warning is not None and OPS[op](value, options.warning):
        return WARN
    return OK


def evaluate(query: str, data: list[Stored], at_ms: int, options: Options = Options(),
             context: Context | None = None) -> Outcome:
    """Which groups of the metric monitor `query` alert at `at_ms`, over the stored `data`.
    `context`, a Context over the same data, shares its timelines between evaluations. Raises querycheck.QueryError for a query that is not one, EvalError for what is not
    modelled."""
    parsed = querycheck.parse(query)
    if context is not None and (context.data is not data
                                or context.options.check_interval_ms != options.check_interval_ms):
        context = None  # another example's data, or another check interval: nothing to share
    monitor = _Monitor(parsed, data, options, context)
    end = at_ms - options.evaluation_delay_s * 1000
    values = monitor.value(end)
    if parsed.head in ("change", "pct_change"):
        before = monitor.value(end - SHIFTS_S[parsed.timeshift or ""] * 1000)
        values = {g: _change(parsed.head, v, before.get(g)) for g, v in values.items()}
    values = _missing(values, parsed, options)
    outcome = Outcome(notify_no_data=options.notify_no_data
                      or options.on_missing_data == "show_and_notify_no_data")
    frames = monitor._frames.get(id(parsed.tree))
    for g, v in sorted(values.items()):
        status = _status(v, parsed.op, parsed.threshold, options)
        if status == NO_DATA and options.on_missing_data == "resolve":
            status = OK
        if options.require_full_window and frames is not None and g in frames and frames[g] \
                and _late(frames[g], end - monitor.window, options.check_interval_ms, monitor.ctx):
            status = SKIPPED
        if status == NO_DATA and options.notify_no_data and options.no_data_timeframe_min:
            status = _no_data(monitor, g, end, options.no_data_timeframe_min * 60_000)
        outcome.statuses[g], outcome.values[g] = status, v
    return outcome


def _late(line: dict[int, float], start: int, interval_ms: int, ctx: Context) -> bool:
    """Whether the group's first point comes after the window's first check interval (so its
    data does not cover the window). Over a stretch, only a point there says it does not."""
    if not ctx.partial:
        return min(line) > start + interval_ms
    if any(start < t <= start + interval_ms for t in line):
        return False
    raise Truncated  # whether the group reported before the window


def _missing(values: Values, parsed: querycheck.Parsed, options: Options) -> Values:
    """on_missing_data `default`: on a sum or count aggregation, missing data is 0."""
    if options.on_missing_data != "default":
        return values
    if not values and not any(parsed.groups):
        values = {(): None}  # a monitor without groups evaluates, data or not
    if all(v is not None for v in values.values()):
        return values
    if parsed.time_aggr not in ("sum", "count"):
        raise EvalError(f"on_missing_data: default on a {parsed.time_aggr} aggregation shows the "
                        "last known status, which is not modelled")
    return {g: 0.0 if v is None else v for g, v in values.items()}


def _no_data(monitor: _Monitor, g: Group, end: int, timeframe: int) -> str:
    """No data only once the group has sent nothing for the whole no-data timeframe."""
    lines = [line for frame in monitor._frames.values() for gg, line in frame.items() if gg == g]
    recent = any(end - timeframe < t <= end for line in lines for t in line)
    return OK if recent else NO_DATA


def _change(head: str, now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    if head == "change":
        return now - before
    return None if before == 0 else (now - before) / abs(before) * 100


# --- composite monitors ------------------------------------------------------------------------
_COMPOSITE_TOKEN = re.compile(r"\s*(&&|\|\||!|\(|\)|[A-Za-z0-9_]+)")


def _matches(finer: Group, coarser: Group) -> bool:
    """Composite groups match by tag values: a group matches one whose values it all has."""
    return {v for _, v in coarser} <= {v for _, v in finer}


def composite(expression: str, components: dict[str, Outcome]) -> Outcome:
    """The composite monitor `expression` (component names, &&, ||, !, parentheses) over the
    outcomes of its components."""
    grouped = [o for o in components.values() if any(o.statuses) and set(o.statuses) != {()}]
    if grouped:
        finest = max(grouped, key=lambda o: max(len(g) for g in o.statuses))
        candidates = [g for g in finest.statuses
                      if all(any(_matches(g, h) for h in o.statuses) for o in grouped)]
    else:
        candidates = [()]

    def status_of(name: str, g: Group) -> str:
        outcome = components[name]
        if () in outcome.statuses and set(outcome.statuses) == {()}:
            return outcome.statuses[()]
        for h, s in outcome.statuses.items():
            if _matches(g, h):
                return s
        return OK

    out = Outcome()
    for g in candidates:
        try:
            out.statuses[g] = _Boolean(expression, lambda name: status_of(name, g)).parse()
        except ValueError as exc:
            raise EvalError(f"composite query: {exc}") from None
    return out


class _Boolean(BooleanGrammar):
    """unary := ! unary | ( or ) | name; `&&` and `||` over statuses as the composite page says."""

    OR, AND = "||", "&&"

    def __init__(self, text: str, status: Callable[[str], str]):
        super().__init__([m.group(1) for m in _COMPOSITE_TOKEN.finditer(text)])
        self.status = status

    def any_of(self, parts: list[str]) -> str:
        worthy = [p for p in parts if p in (ALERT, WARN, NO_DATA)]
        return max(worthy, key=SEVERITY.get) if worthy else OK

    def all_of(self, parts: list[str]) -> str:
        if all(p in (ALERT, WARN, NO_DATA) for p in parts):
            return min(parts, key=SEVERITY.get)
        return OK

    def unary(self) -> str:
        tok = self.take()
        if tok == "!":
            inner = self.unary()
            return NO_DATA if inner == NO_DATA else OK if inner in (ALERT, WARN) else ALERT
        if tok == "(":
            inner = self.disjunction()
            if self.take() != ")":
                raise EvalError("composite query: unclosed (")
            return inner
        if not tok:
            raise EvalError("composite query: missing a monitor")
        return self.status(tok)
