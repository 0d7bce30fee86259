"""Datadog target, offline check: a metric monitor's query against Datadog's documented grammar,
and its thresholds against the query.

The grammar is the Monitor API's "Metric Alert Query" (../shared/schemas/datadog/openapi-v1.yaml,
CreateMonitor): `time_aggr(time_window):space_aggr:metric{tags} [by {key}] operator #`, with
  time_aggr   avg, sum, max, min (change and pct_change take the change form below);
  time_window last_#m (1-10080), last_#h (1-168), last_1d or last_1w;
  space_aggr  avg, sum, min, max;
  operator    <, <=, >, >=, ==, !=; # an integer or decimal number;
and for change alerts `change_aggr(time_aggr(time_window),timeshift):...` with time_window
last_#m (1-2880), last_#h (1-48) or last_#d (1-2), and timeshift #m_ago (5, 10, 15, 30),
#h_ago (1, 2, 4) or 1d_ago. Besides, from the documentation pages cited where used:
`percentile(window)` with `pXX:` distributions (monitors/types/metric), `next_#` windows of
forecast monitors (monitors/types/forecasts), arithmetic between queries and the functions of
dashboards/functions/* (metric monitors define metrics as graphs do, monitors/types/metric),
`.as_count()`, `.as_rate()`, `.rollup()`, `.fill()` (metrics/custom_metrics/type_modifiers,
dashboards/functions/rollup, .../interpolation), and tag filters with `!`/`,` or with
NOT/AND/OR/IN, never both, and `*` wildcards (metrics/advanced-filtering). A threshold between
0 and 1 needs its leading zero (monitors/configuration).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from compiler.targets.datadog.composite_query import check_composite
from compiler.targets.datadog.query_tree import BinOp, Func, Metric, Neg, Node, Num

TIME_AGGREGATORS = ("avg", "sum", "min", "max")
SPACE = re.compile(r"(avg|sum|min|max|p\d{1,2}(\.\d{1,2})?)")
OPERATORS = ("<=", ">=", "==", "!=", "<", ">")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
METRIC = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
TAG = re.compile(r"[A-Za-z0-9_.\-/:*]+")
# Compiled once (the parser reads every monitor query, a word at a time).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOWER = re.compile(r"[a-z0-9_]+")
_ARGUMENT = re.compile(r"[A-Za-z0-9_.\-]+")
_KEYWORD = re.compile(r"[A-Za-z_]+\s*=")
_SPACE_WORD = re.compile(r"[A-Za-z0-9_.]+")
_TAG_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*")
_LAST = re.compile(r"last_(\d+)(m|h|d|w)")
_FORECAST = re.compile(r"next_\d+(h|d|w|mo)")
# The documented query functions, by page of https://docs.datadoghq.com/dashboards/functions/.
FUNCTIONS = {
    "anomalies", "outliers", "forecast",                                   # algorithms
    "abs", "log2", "log10", "cumsum", "integral",                          # arithmetic
    "count_nonzero", "count_not_null",                                     # count
    "exclude_null", "clamp_min", "clamp_max", "cutoff_min", "cutoff_max",  # exclusion
    "default_zero",                                                        # interpolation
    "top", "top_offset", "bottom",                                         # rank
    "per_second", "per_minute", "per_hour", "dt", "diff", "monotonic_diff",
    "derivative", "throughput",                                            # rate
    "trend_line", "piecewise_constant", "robust_trend",                    # regression
    "moving_rollup",                                                       # rollup
    "autosmooth", "ewma_3", "ewma_5", "ewma_10", "ewma_20",
    "median_3", "median_5", "median_7", "median_9",                        # smoothing
    "timeshift", "calendar_shift", "hour_before", "day_before", "week_before",
    "month_before",                                                        # timeshift
}
METHODS = {"as_count", "as_rate", "rollup", "fill"}


class QueryError(Exception):
    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at character {position + 1})")
        self.position = position


@dataclass
class Parsed:
    """What a valid monitor query says."""

    head: str                 # avg, sum, ..., change, pct_change
    time_aggr: str
    window: str
    timeshift: str | None
    op: str
    threshold: float
    metrics: list[str] = field(default_factory=list)       # metric names read
    spaces: list[str] = field(default_factory=list)        # their space aggregators
    functions: list[str] = field(default_factory=list)
    groups: list[tuple[str, ...]] = field(default_factory=list)
    tree: Node = Num(0.0)     # the query between the `:` and the operator


def _window(text: str, change: bool) -> bool:
    m = _LAST.fullmatch(text)
    if not m:
        return False
    n, unit = int(m.group(1)), m.group(2)
    if change:
        return {"m": 1 <= n <= 2880, "h": 1 <= n <= 48, "d": 1 <= n <= 2, "w": False}[unit]
    return {"m": 1 <= n <= 10080, "h": 1 <= n <= 168, "d": n == 1, "w": n == 1}[unit]


def window_ms(window: str) -> int | None:
    """The length of a `last_#(m|h|d|w)` window, in milliseconds."""
    m = _LAST.fullmatch(window)
    if not m:
        return None
    return int(m.group(1)) * {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}[m.group(2)]


TIMESHIFTS = {"5m_ago", "10m_ago", "15m_ago", "30m_ago", "1h_ago", "2h_ago", "4h_ago", "1d_ago"}


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.out: Parsed | None = None
        self.metrics: list[str] = []
        self.spaces: list[str] = []
        self.functions: list[str] = []
        self.groups: list[tuple[str, ...]] = []

    # --- scanning -------------------------------------------------------------------------------
    def fail(self, message: str) -> QueryError:
        return QueryError(message, self.i)

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1

    def peek(self, text: str) -> bool:
        self.ws()
        return self.s.startswith(text, self.i)

    def take(self, text: str) -> None:
        if not self.peek(text):
            raise self.fail(f"expected {text!r}")
        self.i += len(text)

    def match(self, pattern: re.Pattern) -> str:
        self.ws()
        m = pattern.match(self.s, self.i)
        if not m:
            raise self.fail(f"expected {pattern.pattern}")
        self.i = m.end()
        return m.group(0)

    def word(self) -> str:
        return self.match(_WORD)

    # --- query ----------------------------------------------------------------------------------
    def query(self) -> Parsed:
        head = self.word()
        self.take("(")
        timeshift = None
        if head in ("change", "pct_change"):
            time_aggr = self.word()
            self.take("(")
            window = self.match(_LOWER)
            self.take(")")
            self.take(",")
            timeshift = self.match(_LOWER)
            if timeshift not in TIMESHIFTS:
                raise self.fail(f"timeshift {timeshift} is not one of {sorted(TIMESHIFTS)}")
            if time_aggr not in TIME_AGGREGATORS:
                raise self.fail(f"time aggregator {time_aggr} is not avg, sum, min or max")
            if not _window(window, change=True):
                raise self.fail(f"change window {window} is not last_#m (1-2880), last_#h (1-48) "
                                "or last_#d (1-2)")
        elif head in TIME_AGGREGATORS or head == "percentile":
            time_aggr = head
            window = self.match(_LOWER)
        else:
            raise self.fail(f"time aggregator {head} is not avg, sum, min, max, percentile, "
                            "change or pct_change")
        self.take(")")
        self.take(":")
        tree = self.expr()
        self.ws()
        op = next((o for o in OPERATORS if self.s.startswith(o, self.i)), None)
        if op is None:
            raise self.fail("expected a comparison operator (<, <=, >, >=, ==, !=)")
        self.i += len(op)
        self.ws()
        if not NUMBER.match(self.s, self.i):
            raise self.fail("the threshold is not a number (one between 0 and 1 needs its "
                            "leading zero)")
        value = self.match(NUMBER)
        self.ws()
        if self.i != len(self.s):
            raise self.fail("unexpected text after the threshold")
        forecast = bool(self.functions) and self.functions[0] == "forecast"
        if forecast and _FORECAST.fullmatch(window):
            pass  # forecast monitors look ahead (monitors/types/forecasts)
        elif timeshift is None and not _window(window, change=False):
            raise QueryError(f"window {window} is not last_#m (1-10080), last_#h (1-168), "
                             "last_1d or last_1w", self.s.index(window))
        percentiles = [s for s in self.spaces if s.startswith("p")]
        if (time_aggr == "percentile") != bool(percentiles) or \
                (percentiles and len(percentiles) != len(self.spaces)):
            raise QueryError("percentile() evaluates pXX: distribution queries, and only it does",
                             0)
        return Parsed(head, time_aggr, window, timeshift, op, float(value), self.metrics,
                      self.spaces, self.functions, self.groups, tree)

    def expr(self) -> Node:
        node = self.term()
        while self.peek("+") or (self.peek("-") and not self.s.startswith("->", self.i)):
            op = self.s[self.i]
            self.i += 1
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek("*") or self.peek("/"):
            op = self.s[self.i]
            self.i += 1
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek("-"):
            self.i += 1
            inner = self.unary()
            return Num(-inner.value) if isinstance(inner, Num) else Neg(inner)
        return self.atom()

    def atom(self) -> Node:
        self.ws()
        if self.peek("("):
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if NUMBER.match(self.s, self.i):
            return Num(float(self.match(NUMBER)))
        start = self.i
        name = self.word()
        if self.peek("("):
            if name not in FUNCTIONS:
                raise QueryError(f"unknown function {name}()", start)
            self.functions.append(name)
            self.i += 1
            args = self.args()
            self.take(")")
            return Func(name, tuple(args))
        self.i = start
        return self.metric()

    def args(self) -> list[Node | str]:
        out: list[Node | str] = []
        while True:
            self.ws()
            start = self.i
            if self.peek("'") or self.peek('"'):
                quote = self.s[self.i]
                end = self.s.find(quote, self.i + 1)
                if end < 0:
                    raise self.fail("unclosed string")
                self.i = end + 1
                out.append(self.s[start + 1:end])
            elif _KEYWORD.match(self.s, self.i):
                self.word()
                self.take("=")
                self.ws()
                if self.peek("'") or self.peek('"'):
                    quote = self.s[self.i]
                    self.i = self.s.index(quote, self.i + 1) + 1
                else:
                    self.match(_ARGUMENT)
                out.append(self.s[start:self.i])
            else:
                out.append(self.expr())
            if not self.peek(","):
                return out
            self.i += 1

    def metric(self) -> Metric:
        self.ws()
        start = self.i
        space = self.match(_SPACE_WORD)
        if not SPACE.fullmatch(space):
            raise QueryError(f"space aggregator {space} is not avg, sum, min, max or pXX", start)
        self.take(":")
        name = self.match(METRIC)
        self.metrics.append(name)
        self.spaces.append(space)
        scope = self.scope()
        groups: tuple[str, ...] = ()
        if self.peek("by "):
            self.i += 3
            self.take("{")
            groups = tuple(k.strip() for k in self.raw("}").split(","))
            if not all(_TAG_KEY.fullmatch(k) for k in groups):
                raise self.fail(f"group keys {groups} are not tag keys")
        self.groups.append(groups)
        seen: set[str] = set()
        modifiers = []
        while self.s.startswith(".", self.i):
            self.i += 1
            method = self.word()
            if method not in METHODS:
                raise self.fail(f"unknown modifier .{method}()")
            if method in ("as_count", "as_rate") and seen & {"as_count", "as_rate"}:
                raise self.fail("a query has one of .as_count() and .as_rate()")
            seen.add(method)
            self.take("(")
            modifiers.append((method, self.raw(")").strip()))
        return Metric(space, name, scope, groups, tuple(modifiers))

    def raw(self, close: str) -> str:
        end = self.s.find(close, self.i)
        if end < 0:
            raise self.fail(f"expected {close!r}")
        text = self.s[self.i:end]
        self.i = end + 1
        return text

    def scope(self) -> str:
        self.take("{")
        start = self.i
        depth = 0
        while self.i < len(self.s) and not (self.s[self.i] == "}" and depth == 0):
            depth += {"(": 1, ")": -1}.get(self.s[self.i], 0)
            self.i += 1
        if self.i >= len(self.s):
            raise self.fail("unclosed tag scope")
        text = self.s[start:self.i].strip()
        _filter(text, start)
        self.i += 1
        return text


_FUNCTIONAL = re.compile(r"\b(AND|OR|NOT|IN|and|or|not|in)\b")


def _filter(text: str, at: int) -> None:
    """A tag filter: `*`, `!`/`,` lists, or NOT/AND/OR/IN expressions, never both styles."""
    if text == "*":
        return
    if not text:
        raise QueryError("empty tag scope (write {*})", at)
    if _FUNCTIONAL.search(text):
        if re.search(r"(^|[\s(,])!|,(?![^(]*\))", text):
            raise QueryError("tag filter mixes !/, with NOT/AND/OR/IN", at)
        for part in re.split(r"\s+(?:AND|OR|and|or)\s+|[()]", text):
            part = re.sub(r"^(NOT|not)\s+", "", part.strip())
            if not part:
                continue
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9_.\-/]*)\s+(?:NOT\s+IN|not\s+in|IN|in)\s*$", part)
            if m:
                continue
            if not TAG.fullmatch(part) and not re.fullmatch(r"[A-Za-z0-9_.\-/:*]+(\s*,\s*[A-Za-z0-9_.\-/:*]+)*", part):
                raise QueryError(f"tag filter term {part!r} is not a tag", at)
        return
    for part in text.split(","):
        tag = part.strip().lstrip("!")
        if not TAG.fullmatch(tag):
            raise QueryError(f"tag filter term {part.strip()!r} is not a tag", at)


@lru_cache(maxsize=8192)
def parse(query: str) -> Parsed:
    """The parts of a metric monitor query; QueryError when it is not one. Memoised: the
    evaluator reads each monitor's query at every evaluation time of every example, so callers
    share the result and must not change it."""
    return _Parser(query).query()


def _order_problems(op: str, t: dict) -> list[str]:
    """Warning before critical, and recovery on the safe side of what it recovers from."""
    above = op in (">", ">=")
    below = op in ("<", "<=")
    out = []

    def before(a: str, b: str) -> None:
        if t.get(a) is None or t.get(b) is None:
            return
        if (above and not t[a] < t[b]) or (below and not t[a] > t[b]):
            out.append(f"{a} {t[a]} must be reached before {b} {t[b]} for `{op}`")

    before("warning", "critical")
    before("critical_recovery", "critical")
    before("warning_recovery", "warning")
    if not (above or below) and any(t.get(k) is not None for k in
                                    ("warning", "critical_recovery", "warning_recovery")):
        out.append(f"`{op}` monitors have no warning or recovery thresholds")
    return out


def check_monitor(monitor: dict, known: set[str] | None = None) -> list[str]:
    """Problems of one monitor payload: its query's grammar, and its thresholds against it."""
    if monitor.get("type") == "composite":
        return check_composite(monitor.get("query", ""), known or set())
    if monitor.get("type") not in ("query alert", "metric alert"):
        return [f"type {monitor.get('type')!r} is not a metric monitor"]
    try:
        parsed = parse(monitor.get("query", ""))
    except QueryError as exc:
        return [f"query: {exc}"]
    thresholds = monitor.get("options", {}).get("thresholds", {})
    problems = []
    if thresholds.get("critical") != parsed.threshold:
        problems.append(f"options.thresholds.critical {thresholds.get('critical')} is not the "
                        f"query's threshold {parsed.threshold}")
    problems += _order_problems(parsed.op, thresholds)
    return problems
