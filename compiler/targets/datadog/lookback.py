"""Datadog target, look-back: the stretch of stored points one evaluation of a monitor reads (by
evaluate.py's rules), so that an example's verdicts store and evaluate only that stretch rather
than the whole series at every time.

An evaluation at `end` reads the window `(end - window, end]`, a change monitor also the same
window `timeshift` earlier, a monitor notifying on no data the no-data timeframe; within the
query, timeshift() and its kin read their span earlier (or later), moving_rollup() its span
before each point. diff() and monotonic_diff() read the point before each one, however far back,
and an unknown construct has no look-back to speak of: there the whole series is evaluated (and
the evaluator says what it does not model). Whether a group reported before the stretch is the one
fact the stretch cannot tell; the evaluator raises Truncated there (timelines.Context.partial).
"""
from __future__ import annotations

import math
from functools import lru_cache

from compiler.targets.datadog import querycheck
from compiler.targets.datadog.evaluate import SHIFTS_S, TIMESHIFT_S
from compiler.targets.datadog.query_tree import BinOp, Func, Metric, Neg, Node, Num
from compiler.targets.datadog.timelines import Options

Span = tuple[int, int]  # the first and the last time read, in ms, both included

# Functions whose value at a time reads their argument at that time only.
POINTWISE = frozenset({"abs", "log2", "log10", "clamp_min", "clamp_max", "cutoff_min", "cutoff_max",
                       "per_second", "per_minute", "per_hour"})


class _Unbounded(Exception):
    """The query reads further back than a fixed span (or is not one the evaluator models)."""


@lru_cache(maxsize=4096)
def reach(query: str, options: Options) -> tuple[int, int] | None:
    """How far the metric monitor `query` reads back and ahead of the end of an evaluation (the
    evaluation time less the evaluation delay), in ms; None when it reads the whole series. The
    same for every evaluation, so worked out once per query."""
    try:
        parsed = querycheck.parse(query)
    except querycheck.QueryError:
        return None  # the evaluator reports it, over the whole series as before
    window = querycheck.window_ms(parsed.window)
    if window is None:
        return None
    ends = [0]
    if parsed.head in ("change", "pct_change"):
        shift = SHIFTS_S.get(parsed.timeshift or "")
        if shift is None:
            return None
        ends.append(-shift * 1000)
    back = window
    if options.notify_no_data and options.no_data_timeframe_min:
        back = max(back, options.no_data_timeframe_min * 60_000)
    try:
        found = _union(*(_reads(parsed.tree, e - back, e) for e in ends))
    except _Unbounded:
        return None
    return None if found is None else (-found[0], found[1])


def _union(*spans: Span | None) -> Span | None:
    known = [s for s in spans if s is not None]
    if not known:
        return None
    return min(lo for lo, _ in known), max(hi for _, hi in known)


def _reads(node: "Node | str", lo: int, hi: int) -> Span | None:
    """The stored points `node` reads for its values in [lo, hi] (None: no stored point)."""
    if isinstance(node, Num):
        return None
    if isinstance(node, Metric):
        return lo, hi
    if isinstance(node, Neg):
        return _reads(node.expr, lo, hi)
    if isinstance(node, BinOp):
        return _union(_reads(node.lhs, lo, hi), _reads(node.rhs, lo, hi))
    if not isinstance(node, Func) or not node.args:
        raise _Unbounded
    arg = node.args[0]
    if node.name == "default_zero":  # fills at the times any series reported, in [lo, hi]
        return _union((lo, hi), _reads(arg, lo, hi))
    if node.name in POINTWISE:
        return _reads(arg, lo, hi)
    if node.name in TIMESHIFT_S or node.name == "timeshift":
        seconds = TIMESHIFT_S.get(node.name)
        if seconds is None:
            seconds = -_number(node.args[1:])
        back = int(seconds * 1000)  # as the evaluator shifts
        return _reads(arg, lo - back, hi - back)
    if node.name == "moving_rollup":
        return _reads(arg, lo - math.ceil(_number(node.args[1:]) * 1000), hi)
    raise _Unbounded  # diff, monotonic_diff: the point before, however old; or not modelled


def _number(args: "tuple[Node | str, ...]") -> float:
    if args and isinstance(args[0], Num):
        return args[0].value
    raise _Unbounded
