"""Prometheus target, unit tests: each test starts where its first check starts to read.

promtool evaluates every rule of a test's files at every step from time 0 to the last time the
test checks, whatever the series hold, and that is nearly all of a test's cost. An example's
series often begin long before anything checked reads them: the whole long window of good
traffic of an SLO scenario, the hours before an `at:`. `shifted` leaves those samples out and
moves every check back by as much, so the test starts at the first sample a check can read.

Each checked value is then the same as in the unshifted test: it reads the samples of its
windows (range + offset, through recording rules, see `lookback_ms`), the lookback of an instant
selector and, for an alert, the evaluations of its `for`, all later than the new start; the
samples keep their values, so rate()'s extrapolation towards a counter's zero is unchanged; and
the shift is a whole number of evaluation steps (and of every subquery step), so every
evaluation and subquery point falls on the same instants of the series. Expressions that read
the clock (time(), timestamp(), the date functions, `@`), the state of alerts (ALERTS,
keep_firing_for) or series by a name pattern are not shifted.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from compiler.durations import format_ms, parse_ms
from compiler.examples import expand
from compiler.expr import ast
from compiler.expr.parse import ParseError, parse
from compiler.expr.timing import LOOKBACK_DELTA_MS, Records, lookback_ms

# Said at the end of a moved test's name: a reader adds it to every time promtool reports.
SHIFTED = " (times from {} of the example on: no check reads an earlier sample)"
_SHIFTED = re.compile(re.escape(SHIFTED).replace(re.escape("{}"), "([0-9a-z]+)") + "$")

# Functions whose value depends on the evaluation time or on sample timestamps.
CLOCK_FUNCTIONS = frozenset({"time", "timestamp", "minute", "hour", "day_of_month", "day_of_week",
                             "day_of_year", "days_in_month", "month", "year"})
STATE_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


def shift_of(name: str) -> int:
    """How far the test of this name was moved back (0: not moved)."""
    found = _SHIFTED.search(name)
    return parse_ms(found.group(1)) if found else 0


def example_name(name: str) -> str:
    """The name of a test without the note that it was moved."""
    return _SHIFTED.sub("", name)


def movable(trees: Iterable[ast.Expr], records: Records) -> bool:
    """Whether the values of these expressions (with every recording rule they read,
    transitively) depend only on the samples before the evaluation time, not on the time."""
    todo, seen = list(trees), set()
    while todo:
        for n in ast.walk(todo.pop()):
            if isinstance(n, ast.Call) and n.func in CLOCK_FUNCTIONS:
                return False
            if isinstance(n, ast.Selector):
                if n.at is not None or n.metric is None or n.metric in STATE_SERIES:
                    return False
                inner = records(n.metric) if n.metric not in seen else None
                if inner is not None:
                    seen.add(n.metric)
                    todo.append(inner)
    return True


def subquery_steps(trees: Iterable[ast.Expr], records: Records) -> list[int]:
    """The explicit steps of every subquery the expressions read (through recording rules):
    a subquery evaluates at multiples of its step, counted from time 0."""
    out, todo, seen = [], list(trees), set()
    while todo:
        for n in ast.walk(todo.pop()):
            if isinstance(n, ast.Subquery) and n.step_ms:
                out.append(n.step_ms)
            if isinstance(n, ast.Selector) and n.metric and n.metric not in seen:
                inner = records(n.metric)
                if inner is not None:
                    seen.add(n.metric)
                    todo.append(inner)
    return out


@dataclass(frozen=True)
class Reads:
    """What shifting a test needs of the expressions it checks (with every recording rule they
    read): whether they are `movable`, their subqueries' steps, and how far back they read
    (`lookback_ms`). The same for every example of an alert: callers work it out once."""

    movable: bool
    steps: tuple[int, ...] = ()
    read_ms: int = 0

    def plus(self, other: "Reads") -> "Reads":
        if not (self.movable and other.movable):
            return Reads(False)
        return Reads(True, self.steps + other.steps, max(self.read_ms, other.read_ms))


def reads(trees: Iterable[ast.Expr], records: Records, read_ms: int | None = None) -> Reads:
    """What `trees` read (`read_ms`: their longest lookback_ms, when the caller has it)."""
    trees = list(trees)
    if not movable(trees, records):
        return Reads(False)
    if read_ms is None:
        read_ms = max((lookback_ms(t, records) for t in trees), default=0)
    return Reads(True, tuple(subquery_steps(trees, records)), read_ms)


def shift_ms(trees: list[ast.Expr], records: Records, first_check_ms: int, hold_ms: int,
             step_ms: int, grid_ms: int, values: Iterable[str], known: Reads | None = None) -> int:
    """How far a test can move back: the most samples that no check reads (`hold_ms`: how long
    before a check an alert's condition must already hold, its `for`), in whole steps of the
    series, of the test's evaluation and of each subquery, 0 when the expressions are not
    `movable`. `values` are the series in promtool notation: an item that cannot be split
    exactly stays whole (`cut`). `known`: the `reads` of `trees`, when the caller has it."""
    found = known if known is not None else reads(trees, records)
    if not found.movable:
        return 0
    unit = math.lcm(step_ms, grid_ms, *found.steps)
    texts = list(values)
    shift = _latest(found.read_ms, first_check_ms, hold_ms, step_ms) // unit * unit
    while shift > 0 and not _droppable(texts, shift, step_ms):
        shift -= unit
    return max(shift, 0)


def _latest(read_ms: int, first_check_ms: int, hold_ms: int, step_ms: int) -> int:
    """The latest time a test may start at: before it, no check reads a sample (`read_ms`: how
    far back the expressions read, lookback_ms)."""
    return first_check_ms - hold_ms - read_ms - LOOKBACK_DELTA_MS - step_ms


def _droppable(texts: list[str], shift: int, step_ms: int) -> bool:
    return all(cut(v, shift // step_ms)[0] == shift // step_ms for v in texts)


def sparse(case: dict[str, Any], alerts: list[ast.Expr], records: Records, step_ms: int) -> tuple[int, dict[str, Any]]:
    """For an alert whose value at an evaluation depends on no earlier evaluation (no `for`, no
    recorded series read over a range, see prometheus_tests.history_free): the evaluation
    interval that reaches every time the case checks in the fewest steps, and the case moved
    back to fall on it. Only the checked instants matter, so the interval need not divide them,
    only their distances: a check at 3d6h and another at 3d21h, 15h apart, can run at 15h steps
    once the test starts 6h (plus whole 15h steps) before the first. The same limits as
    `moved_back` hold (the windows read before each check, clock-reading expressions); `alerts`
    are the expressions of every rule with the alertname the case checks."""
    checks = [*case.get("alert_rule_test", []), *case.get("promql_expr_test", [])]
    try:
        trees = [*alerts, *(parse(c["expr"]) for c in case.get("promql_expr_test", []))]
    except ParseError:
        return step_ms, case
    times = sorted({parse_ms(c["eval_time"]) for c in checks})
    texts = [s["values"] for s in case["input_series"]]
    if not times or not movable(trees, records):
        return step_ms, case
    unit = math.lcm(step_ms, *subquery_steps(trees, records))
    latest = _latest(max((lookback_ms(t, records) for t in trees), default=0), times[0], 0, step_ms)
    best = (times[-1] // step_ms + 1, -step_ms, 0)
    for grid in range(unit, times[-1] + 1, unit):
        if any((t - times[0]) % grid for t in times):
            continue
        shift = times[0] - -(-(times[0] - latest) // grid) * grid  # the latest on the grid
        while shift > 0 and not _droppable(texts, shift, step_ms):
            shift -= grid
        if shift < 0 and times[0] % grid == 0:
            shift = 0  # not moved: the grid still reaches every check
        if shift >= 0 and shift % unit == 0:
            best = min(best, ((times[-1] - shift) // grid + 1, -grid, shift))
    return -best[1], shifted(case, best[2], step_ms)


def cut(values: str, first: int) -> tuple[int, list[str]]:
    """The series from sample `first` on: (samples left out, the notation items that follow).
    Only whole items are left out, or an item split where its values are integers (exact
    however the loader adds them up); an item that cannot be split exactly is kept whole, and
    fewer samples than `first` are left out."""
    out: list[str] = []
    dropped = 0
    index = 0
    for item in values.split():
        n = len(expand(item))
        if index + n <= first:
            dropped += n
        elif index < first and "x" in item and not item.startswith("_"):
            head = first - index
            start_text, _, count = item.rpartition("x")
            sign = max(start_text.rfind("+", 1), start_text.rfind("-", 1))
            start = float(start_text[:sign] if sign > 0 else start_text)
            step_v = float(start_text[sign:]) if sign > 0 else 0.0
            if start == int(start) and step_v == int(step_v) and abs(start) < 2**52:
                dropped += head
                value = int(start + head * step_v)
                rest = int(count) - head
                out.append(str(value) if rest == 0 else
                           f"{value}{'+' if step_v >= 0 else '-'}{abs(int(step_v))}x{rest}"
                           if step_v else f"{value}x{rest}")
            else:
                out.append(item)
        else:
            out.append(item)
        index += n
    return dropped, out


def moved_back(case: dict[str, Any], alerts: list[ast.Expr], records: Records, hold_ms: int | None,
               step_ms: int, grid_ms: int, known: Reads | None = None) -> dict[str, Any]:
    """The promtool test case of an alert's example, `shifted` back as far as `shift_ms` allows
    for `alerts`, the expressions of every rule with the alertname the case checks (promtool
    compares all their alerts), and every expression the case checks. `hold_ms`: their longest
    `for` (None: one keeps state longer, keep_firing_for, and the case stays). `known`: the
    `reads` of `alerts`, when the caller has it (the same for each example of an alert)."""
    queries = [c["expr"] for c in case.get("promql_expr_test", [])]
    checks = [*case.get("alert_rule_test", []), *case.get("promql_expr_test", [])]
    if hold_ms is None or not checks:
        return case
    try:
        asked = [parse(q) for q in queries]
    except ParseError:
        return case
    trees = [*alerts, *asked]
    if known is not None:
        known = known.plus(reads(asked, records)) if asked else known
    first = min(parse_ms(c["eval_time"]) for c in checks)
    shift = shift_ms(trees, records, first, hold_ms, step_ms, grid_ms,
                     [s["values"] for s in case["input_series"]], known)
    return shifted(case, shift, step_ms)


def shifted(case: dict[str, Any], shift: int, step_ms: int) -> dict[str, Any]:
    """The promtool test case moved back by `shift` ms: the samples before it left out, every
    eval_time earlier by as much."""
    if not shift:
        return case
    out = dict(case)
    if "name" in case:
        out["name"] = case["name"] + SHIFTED.format(format_ms(shift))
    out["input_series"] = [{**s, "values": " ".join(cut(s["values"], shift // step_ms)[1])}
                           for s in case["input_series"]]
    for key in ("alert_rule_test", "promql_expr_test"):
        if key in case:
            out[key] = [{**c, "eval_time": format_ms(parse_ms(c["eval_time"]) - shift)} for c in case[key]]
    return out
