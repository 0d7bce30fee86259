"""Datadog target, timelines: the series a monitor query reads, as timelines per group, with the
space aggregation, functions and point-by-point arithmetic of Datadog's classic evaluation path
(the rules and their pages are listed in evaluate.py)."""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable

from compiler.targets.datadog.agent import CHECK_INTERVAL_MS, Bucket, Stored
from compiler.targets.datadog.query_tree import BinOp, Func, Metric, Neg, Node, Num, tag_filter

Group = tuple[tuple[str, str], ...]
Timeline = dict[int, float]


class EvalError(ValueError):
    """A query part the evaluator does not model (named), so no verdict can be given."""


class Truncated(Exception):
    """An evaluation over a stretch of the stored points (Context.partial) that depends on points
    outside it: the caller evaluates again over all of them. Not a ValueError: never a verdict."""


@dataclass(frozen=True)
class Options:
    """The monitor options that change what it alerts on."""

    warning: float | None = None
    notify_no_data: bool = False
    no_data_timeframe_min: int | None = None
    require_full_window: bool = False
    evaluation_delay_s: int = 0
    check_interval_ms: int = CHECK_INTERVAL_MS
    # default | show_no_data | show_and_notify_no_data | resolve; "" when notify_no_data is used
    on_missing_data: str = ""


# --- selecting and aggregating series ---------------------------------------------------------
def _space(name: str, values: list[float]) -> float:
    if name == "sum":
        return sum(values)
    if name == "min":
        return min(values)
    if name == "max":
        return max(values)
    return sum(values) / len(values)


def _alone(space: str, s: Stored, scale: float) -> Timeline:
    """The space aggregation of a group of one series: its values (`0 + v` as sum() and the
    average compute it, turning -0.0 into 0.0)."""
    if space in ("min", "max"):
        return {t: v * scale for t, v in s.points}
    return {t: 0 + v * scale for t, v in s.points}


def _group(tags: dict[str, str], keys: tuple[str, ...]) -> Group:
    return tuple((k, tags.get(k, "N/A")) for k in keys)


class Context:
    """The stored data one example's evaluations read. Timelines are worked out once per metric
    query part and shared by every evaluation time and composite component (callers never change
    them): an example is evaluated at up to three times, and this was most of the compile-time
    example check."""

    def __init__(self, data: list[Stored], options: Options, partial: bool = False):
        self.data = data
        self.options = options
        # The data hold only the points of the stretch the evaluations read (lookback.py): a
        # result that depends on whether a group reported outside it raises Truncated.
        self.partial = partial
        self.distributions: dict[Group, dict[int, list[Bucket]]] = {}
        self._timelines: dict[Metric, dict[Group, Timeline]] = {}

    def run_times(self) -> list[int]:
        return sorted({t for s in self.data for t, _ in s.points}
                      | {t for s in self.data for t, _ in s.buckets})

    def metric(self, m: Metric) -> dict[Group, Timeline]:
        if m not in self._timelines:
            self._timelines[m] = self._metric(m)
        return self._timelines[m]

    def _metric(self, m: Metric) -> dict[Group, Timeline]:
        keep = tag_filter(m.scope)
        chosen = [s for s in self.data if s.metric == m.name and keep(s.tags)]
        if m.space.startswith("p"):
            return self._percentile_input(m, chosen)
        members: dict[Group, list[tuple[Stored, float]]] = {}
        interval_s = self.options.check_interval_ms / 1000
        for s in chosen:
            if s.kind == "distribution":
                raise EvalError(f"{m.space}:{m.name} reads a distribution with a space aggregator; "
                                "a distribution is read with pXX:")
            scale = 1 / interval_s if s.kind == "count" and m.count_mode == "as_rate" else 1
            members.setdefault(_group(s.tags, m.groups), []).append((s, scale))
        for method, _ in m.modifiers:
            if method in ("rollup", "fill"):
                raise EvalError(f".{method}() is not modelled")
        out: dict[Group, Timeline] = {}
        for g, series in members.items():
            if len(series) == 1:
                line = _alone(m.space, *series[0])
                if len(line) == len(series[0][0].points) and list(line) == sorted(line):
                    out[g] = line  # in time order, one point a time: what the general case gives
                    continue
            per: dict[int, list[float]] = {}
            for s, scale in series:
                for t, v in s.points:
                    per.setdefault(t, []).append(v * scale)
            out[g] = {t: _space(m.space, vs) for t, vs in sorted(per.items())}
        return out

    def _percentile_input(self, m: Metric, chosen: list[Stored]) -> dict[Group, Timeline]:
        """A pXX: query keeps the buckets of each run; the time aggregation reads them. The
        timeline holds the run's count, so windows and no-data see the runs."""
        out: dict[Group, Timeline] = {}
        for s in chosen:
            if s.kind != "distribution":
                raise EvalError(f"{m.space}:{m.name} is not a distribution")
            if self.partial and not s.buckets:
                raise Truncated  # whether the group exists depends on the runs outside the stretch
            g = _group(s.tags, m.groups)
            runs = self.distributions.setdefault(g, {})
            for t, buckets in s.buckets:
                runs.setdefault(t, []).extend(buckets)
                out.setdefault(g, {})[t] = out.get(g, {}).get(t, 0.0) + sum(c for *_, c in buckets)
        return out


def quantile(q: float, buckets: list[Bucket]) -> float | None:
    """The q-quantile of values spread linearly over their buckets (lower, upper]; the highest
    finite bound for a rank in the +Inf bucket."""
    merged: dict[tuple[float, float], float] = {}
    for lo, hi, c in buckets:
        merged[(lo, hi)] = merged.get((lo, hi), 0.0) + c
    total = sum(merged.values())
    if total <= 0:
        return None
    rank, below = q * total, 0.0
    for (lo, hi), c in sorted(merged.items(), key=lambda kv: kv[0][1]):
        if below + c >= rank and c > 0:
            if math.isinf(hi):
                return lo
            return lo + (hi - lo) * (rank - below) / c
        below += c
    return max(hi for (_, hi) in merged if not math.isinf(hi))


# --- functions --------------------------------------------------------------------------------
def _pointwise(f: Callable[[float], float | None]) -> Callable[[Timeline], Timeline]:
    def apply(line: Timeline) -> Timeline:
        out = {}
        for t, v in line.items():
            r = f(v)
            if r is not None:
                out[t] = r
        return out
    return apply


def _diff(line: Timeline, monotonic: bool = False) -> Timeline:
    out, previous = {}, None
    for t, v in sorted(line.items()):
        if previous is not None:
            d = v - previous
            out[t] = max(d, 0.0) if monotonic else d
        previous = v
    return out


def _shift(line: Timeline, seconds: float) -> Timeline:
    return {t + int(seconds * 1000): v for t, v in line.items()}


def _number(arg: "Node | str", what: str) -> float:
    if isinstance(arg, Num):
        return arg.value
    raise EvalError(f"{what} needs a number")


# --- evaluation --------------------------------------------------------------------------------
Frame = dict[Group, Timeline]
SCALAR: Group = ()


def _combine(op: str, a: Frame, b: Frame) -> Frame:
    fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op]
    out: Frame = {}
    pairs: list[tuple[Group, Timeline, Timeline]] = []
    if set(a) == {SCALAR} or set(b) == {SCALAR}:
        for g in (a if set(b) == {SCALAR} else b):
            pairs.append((g, a.get(g, a.get(SCALAR, {})), b.get(g, b.get(SCALAR, {}))))
    else:
        pairs = [(g, a[g], b[g]) for g in a if g in b]
    for g, la, lb in pairs:
        line = {}
        # In time order: the time aggregation sums a window's points in the line's order, and
        # a set's order (its hash layout) would change with the length of the lines.
        for t in sorted(la.keys() & lb.keys()) if la and lb else ():
            try:
                line[t] = fn(la[t], lb[t])
            except ZeroDivisionError:
                continue  # no value
        out[g] = line
    return out


def _constant(value: float, like: "Frame | None" = None) -> Frame:
    """A number as a timeline over the times of `like` (or a single 'anytime' point)."""
    times = sorted({t for line in (like or {}).values() for t in line}) or [-1]
    return {SCALAR: {t: value for t in times}}


Window = tuple[int, int]  # (start, end]: the evaluation window a query's value is read over


class Classic:
    """classic_eval_path: whole timelines, arithmetic point by point. `window`, where given, is
    the evaluation window the result is aggregated over (it decides what default_zero does)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def eval(self, node: "Node | str", window: Window | None = None) -> Frame:
        if isinstance(node, Num):
            return {SCALAR: {-1: node.value}}
        if isinstance(node, Metric):
            return self.ctx.metric(node)
        if isinstance(node, Neg):
            return {g: {t: -v for t, v in line.items()} for g, line in self.eval(node.expr, window).items()}
        if isinstance(node, BinOp):
            lhs, rhs = self.eval(node.lhs, window), self.eval(node.rhs, window)
            lhs = _constant(lhs[SCALAR][-1], rhs) if _is_number(lhs) else lhs
            rhs = _constant(rhs[SCALAR][-1], lhs) if _is_number(rhs) else rhs
            return _combine(node.op, lhs, rhs)
        if isinstance(node, Func):
            return self.function(node, window)
        raise EvalError(f"a string argument {node!r} outside a function")

    def function(self, node: Func, window: Window | None = None) -> Frame:
        f, args = node.name, node.args
        frame = self.eval(args[0], _inner(node, window)) if args else {}
        simple = {
            "abs": abs, "log2": lambda v: math.log2(v) if v > 0 else None,
            "log10": lambda v: math.log10(v) if v > 0 else None,
        }
        if f in simple:
            return {g: _pointwise(simple[f])(line) for g, line in frame.items()}
        if f in ("clamp_min", "clamp_max", "cutoff_min", "cutoff_max"):
            x = _number(args[1], f)
            fn = {"clamp_min": lambda v: max(v, x), "clamp_max": lambda v: min(v, x),
                  "cutoff_min": lambda v: v if v >= x else None,
                  "cutoff_max": lambda v: v if v <= x else None}[f]
            return {g: _pointwise(fn)(line) for g, line in frame.items()}
        if f in ("diff", "monotonic_diff"):
            return {g: _diff(line, f == "monotonic_diff") for g, line in frame.items()}
        if f in ("per_second", "per_minute", "per_hour"):
            per = {"per_second": 1, "per_minute": 60, "per_hour": 3600}[f]
            factor = per / (self.ctx.options.check_interval_ms / 1000)
            return {g: {t: v * factor for t, v in line.items()} for g, line in frame.items()}
        if f in ("timeshift", "hour_before", "day_before", "week_before"):
            seconds = {"hour_before": 3600, "day_before": 86400, "week_before": 604800}.get(f)
            if seconds is None:
                seconds = -_number(args[1], "timeshift()")
            return {g: _shift(line, seconds) for g, line in frame.items()}
        if f == "default_zero":
            # "If the evaluation window contains no data points, default_zero() has no effect"
            # (dashboards/functions/interpolation): a group silent in the window stays silent.
            times = self.ctx.run_times()
            return {g: line if window is not None and not any(window[0] < t <= window[1] for t in line)
                    else {t: line.get(t, 0.0) for t in times} for g, line in frame.items()}
        if f == "moving_rollup":
            seconds = _number(args[1], "moving_rollup()")
            how = args[2] if len(args) > 2 and isinstance(args[2], str) else "avg"
            return {g: _moving(line, seconds, how) for g, line in frame.items()}
        raise EvalError(f"function {f}() is not modelled")


def _inner(node: Func, window: Window | None) -> Window | None:
    """The window a function's argument is read over, for the window its value is read over:
    earlier by a timeshift, longer by moving_rollup's span (None where that is unknown; the
    function then names what is wrong with its arguments)."""
    if window is None:
        return None
    arg = node.args[1] if len(node.args) > 1 else None
    number = arg.value if isinstance(arg, Num) else None
    if node.name in ("timeshift", "hour_before", "day_before", "week_before"):
        seconds = {"hour_before": 3600, "day_before": 86400, "week_before": 604800}.get(node.name)
        if seconds is None:
            if number is None:
                return None
            seconds = -number
        return window[0] - int(seconds * 1000), window[1] - int(seconds * 1000)
    if node.name == "moving_rollup":
        return None if number is None else (window[0] - math.ceil(number * 1000), window[1])
    return window


def _moving(line: Timeline, seconds: float, how: str) -> Timeline:
    out = {}
    times = sorted(line)
    for t in times:
        window = [line[u] for u in times if t - seconds * 1000 < u <= t]
        out[t] = _space(how if how in ("sum", "min", "max") else "avg", window)
    return out


def _is_number(frame: Frame) -> bool:
    return set(frame) == {SCALAR} and set(frame[SCALAR]) == {-1}

