"""Datadog dialect: PromQL trees as Datadog metric queries, for monitors and dashboard widgets.

One generator method per node, overriding the PromQL base; whatever has no exact Datadog form
goes to `unsupported()` with the construct's name, never into the query. The meaning rests on
these documented facts (each cited where it is used):

- a counter arrives as a monotonic count, one delta per check run, so the sum of its `.as_count()`
  points over a window is the window's increase, and a ratio of two such sums is a ratio of
  rates (https://docs.datadoghq.com/monitors/guide/as-count-in-monitor-evaluations/: with
  `as_count()` a monitor aggregates each query over the window before the arithmetic);
- a space aggregation `sum:metric{scope} by {k}` is PromQL's `sum by (k) (metric{...})`, and
  arithmetic between queries grouped alike matches series by their group tags, as PromQL's
  default one-to-one matching does;
- a distribution's `pXX:` percentile over a window is computed on every raw value of the window
  (https://docs.datadoghq.com/metrics/distributions/), as histogram_quantile() over rate() is.

`mode="monitor"` writes the expression part of a metric monitor query (see datadog_monitor);
`mode="graph"` names every metric query (q1, q2, ...) and returns the arithmetic as a widget
formula, for dashboards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from compiler.dialects import datadog_filters as filters
from compiler.dialects.base import ErrorLevel, Generator
from compiler.dialects.datadog_names import (BUCKETS, COUNT, DISTRIBUTION, GAUGE, MISSING,
                                             QUANTILE, Naming, Series)
from compiler.dialects.datadog_tree import inline, number, outer, strip
from compiler.dialects.datadog_windows import OVER_TIME, WindowReads
from compiler.expr import ast

SPACE_AGGREGATORS = ("avg", "sum", "min", "max")
ARITHMETIC = ("+", "-", "*", "/")
# Point-wise functions Datadog has under the same name and meaning
# (https://docs.datadoghq.com/dashboards/functions/arithmetic/, .../functions/exclusion/).
POINTWISE = {"abs": 1, "clamp_min": 2, "clamp_max": 2}


@dataclass(frozen=True)
class GraphQuery:
    """One named query of a widget request."""

    name: str
    query: str
    aggregator: str = ""  # for scalar widgets: how the timeframe reduces to one value


class Datadog(WindowReads, Generator):
    """Datadog metric queries (monitor mode) or widget formulas over named queries (graph mode)."""

    def __init__(self, naming: Naming, mode: str = "monitor", scalar: bool = False,
                 first: int = 1, level: ErrorLevel = ErrorLevel.WARN, bare_space: str = "max"):
        super().__init__(level)
        # monitor mode: how a bare series (compared series by series) is read: a multi-alert
        # grouped by the labels that identify the series, one series a group; `max` (or `min`
        # below a threshold) keeps the verdict when those labels identify less than one series.
        self.bare_space = bare_space
        # monitor mode: the condition compares with 0, so only signs matter (delta()).
        self.sign_only = False
        self.notes: list[str] = []      # tags Datadog stores differently, scrape tags it needs
        self.first = first  # graph mode: the number of the first query name
        self.naming = naming
        self.mode = mode
        self.scalar = scalar  # graph mode: a one-value widget (query value, table)
        self.kinds: set[str] = set()
        self.windows: set[int] = set()
        self.groupings: set[frozenset[str]] = set()
        self.grouping: tuple[str, ...] | None = None  # the first one, as written
        self.time_aggrs: set[str] = set()
        self.queries: list[GraphQuery] = []
        self.tokens: list[str] = []  # per unsupported construct: the word to point at
        self.terms = 0
        self.texts: list[str] = []  # every metric query, as written

    # --- bookkeeping ----------------------------------------------------------------------------
    def unsupported(self, construct: str, message: str, token: str | None = None) -> str:
        self.tokens.append(token or construct)
        return super().unsupported(construct, message)

    def _term(self, text: str, kind: str, grouping: tuple[str, ...], window_ms: int | None = None,
              time_aggr: str | None = None, aggregator: str = "") -> str:
        self.terms += 1
        self.texts.append(text)
        self.kinds.add(kind)
        self.groupings.add(frozenset(grouping))
        if self.grouping is None:
            self.grouping = grouping
        if window_ms is not None:
            self.windows.add(window_ms)
        if time_aggr:
            self.time_aggrs.add(time_aggr)
        if self.mode == "graph":
            name = f"q{self.first + len(self.queries)}"
            self.queries.append(GraphQuery(name, text, aggregator))
            return name
        return text

    def _series(self, sel: ast.Selector, token: str | None = None) -> Series | None:
        name = sel.metric or ""
        if sel.metric is None:
            self.unsupported("selector without a metric name", "a selector without a metric name "
                             "reads several metrics; a Datadog query names one", token="{")
            return None
        if name in self.naming.rules:
            self.unsupported(f"recording rule {name}", f"recording rule {name} is read with "
                             "matchers, an offset or a range; Datadog has no recorded series: "
                             "only a plain reference is replaced by the rule's expression", name)
            return None
        found = self.naming.series.get(name)
        if found is None:
            self.unsupported(f"series {name}", f"{name} is not a metric of the catalog", name)
            return None
        if found.kind == MISSING:
            self.unsupported(f"series {name}", f"{name} is not collected unless "
                             f"targets.datadog.{found.why} is set", name)
            return None
        if sel.at is not None:
            self.unsupported("@", "`@` pins a query to a time; a monitor evaluates the last "
                             "window", "@")
            return None
        if sel.offset_ms and (self.mode != "monitor" or sel.offset_ms < 0):
            self.unsupported("offset", "`offset` has a Datadog form (timeshift) only in monitors, "
                             "and only into the past", "offset")
            return None
        return found

    def _shifted(self, text: str, sel: ast.Selector) -> str:
        """A query read `offset` earlier: Datadog's timeshift functions give each point the value
        from that long before (https://docs.datadoghq.com/dashboards/functions/timeshift/)."""
        if not sel.offset_ms:
            return text
        named = {3_600_000: "hour_before", 604_800_000: "week_before"}.get(sel.offset_ms)
        if named:
            return f"{named}({text})"
        return f"timeshift({text}, -{number(sel.offset_ms / 1000)})"

    def _scope(self, sel: ast.Selector) -> str | None:
        found = self.naming.series.get(sel.metric or "")
        self._known_labels(found, sel.metric or "", [m.name for m in sel.matchers])
        values = found.values_of if found is not None else (lambda _: None)
        try:
            return filters.scope(sel.matchers, values, self.notes)
        except filters.FilterError as exc:
            self.unsupported(exc.construct, exc.message, sel.metric)
            return None

    def _by(self, grouping: tuple[str, ...], sel: ast.Selector | None = None) -> str | None:
        if sel is not None:
            self._known_labels(self.naming.series.get(sel.metric or ""), sel.metric or "", grouping)
        try:
            return filters.by(grouping, self.notes)
        except filters.FilterError as exc:
            self.unsupported(exc.construct, exc.message, "by")
            return None

    def _known_labels(self, found: Series | None, metric: str, labels) -> None:
        """A label the catalog neither declares on the metric nor lists as a scrape label the
        Agent adds: Datadog has that tag only if something moncat cannot see adds it."""
        if found is None or not found.labels:
            return
        for label in labels:
            if label not in found.labels and label not in self.naming.scrape_labels \
                    and label != "__name__":
                self.notes.append(f"label {label!r} is not declared on {metric}: Datadog has the "
                                  "tag only if the Agent adds it (declare it, or list it in "
                                  "targets.datadog.scrape_labels once the check's `tags` add it)")

    # --- leaves ---------------------------------------------------------------------------------
    def gen_number(self, node: ast.Number) -> str:
        if math.isnan(node.value) or math.isinf(node.value):
            return self.unsupported("NaN/Inf", "Datadog queries have no NaN or Inf literal", "Inf")
        return number(node.value)

    def gen_string(self, node: ast.String) -> str:
        return self.unsupported("string", "a string argument has no Datadog form", '"')

    def gen_selector(self, node: ast.Selector) -> str:
        found = self._series(node)
        if found is None:
            return ""
        if self.mode == "graph" and found.kind in (GAUGE, QUANTILE):
            # A graph of a bare gauge shows one line per series: group by every declared label.
            scope, by = self._scope(node), self._by(found.labels)
            if scope is None or by is None:
                return ""
            return self._term(f"avg:{found.name}{scope}{by}", GAUGE, found.labels,
                              aggregator="last")
        if self.mode == "monitor" and found.kind in (GAUGE, QUANTILE):
            identity = self.naming.identity(found)
            scope, by = self._scope(node), self._by(identity)
            if scope is None or by is None:
                return ""
            return self._shifted(self._term(f"{self.bare_space}:{found.name}{scope}{by}", GAUGE,
                                            identity, aggregator="last"), node)
        return self.unsupported("raw counter", f"{node.metric} is a counter: Datadog keeps its "
                                "increments, not its running total; read it with rate() or "
                                "increase()", node.metric)

    def gen_rangeselector(self, node: ast.RangeSelector) -> str:
        return self.unsupported("range selector", "a range selector outside rate()/increase() "
                                "has no Datadog form", "[")

    def gen_subquery(self, node: ast.Subquery) -> str:
        return self.unsupported("subquery", "subqueries have no Datadog form", "[")

    # --- functions ------------------------------------------------------------------------------
    def gen_call(self, node: ast.Call) -> str:
        f = node.func
        if f == "histogram_quantile":
            return self._percentile(node)
        if f in POINTWISE and len(node.args) == POINTWISE[f]:
            args = [self.generate(a) for a in node.args]
            return f"{f}({', '.join(args)})"
        if f == "time":
            return self.unsupported("time()", "Datadog queries have no clock: `time() - ts > N` has "
                                    "no exact form (a change monitor or no-data alerting may fit)",
                                    "time")
        if f == "absent":
            return self.unsupported("absent()", "absent() translates only as `<condition> or "
                                    "absent(<the condition's selector>)`, as no-data alerting",
                                    "absent")
        if f in ("rate", "increase") and self.mode == "monitor" and len(node.args) == 1 \
                and isinstance(node.args[0], ast.RangeSelector):
            # Per series: a sum over the one series of each group the identifying labels make.
            found = self.naming.series.get(node.args[0].selector.metric or "")
            identity = self.naming.identity(found) if found is not None else ()
            return self._count(ast.Aggregation("sum", node, None, identity, False, bool(identity)),
                               f, node.args[0])
        if f in ("rate", "increase"):
            return self.unsupported(f"{f}() without sum()", f"{f}() per series in a panel: write "
                                    f"sum by (...) ({f}(...))", f)
        if f == "delta" and self.sign_only and len(node.args) == 1 \
                and isinstance(node.args[0], ast.RangeSelector):
            found = self.naming.series.get(node.args[0].selector.metric or "")
            return self._delta(self.bare_space, self.naming.identity(found) if found else (),
                               node.args[0])
        return self.unsupported(f"{f}()", f"{f}() has no exact Datadog form", f)

    # --- aggregations ---------------------------------------------------------------------------
    def gen_aggregation(self, node: ast.Aggregation) -> str:
        if node.op not in SPACE_AGGREGATORS or node.param is not None:
            return self.unsupported(f"{node.op}()", f"{node.op}() has no Datadog space "
                                    "aggregator (avg, sum, min and max do)", node.op)
        if node.without:
            return self.unsupported("without", "`without (...)` keeps labels Datadog cannot list; "
                                    "write by (...)", "without")
        inner = strip(node.expr)
        if isinstance(inner, ast.Selector):
            return self._gauge(node, inner)
        if isinstance(inner, ast.Call) and inner.func in ("rate", "increase") and inner.args \
                and isinstance(inner.args[0], ast.RangeSelector):
            return self._count(node, inner.func, inner.args[0])
        if isinstance(inner, ast.Call) and (node.op, inner.func) in OVER_TIME and inner.args \
                and isinstance(inner.args[0], ast.RangeSelector):
            return self._over_time(node, inner.func, inner.args[0])
        if isinstance(inner, ast.Call) and inner.func == "delta" and self.sign_only and inner.args \
                and isinstance(inner.args[0], ast.RangeSelector):
            return self._delta(node.op, node.grouping, inner.args[0])
        what = inner.func + "()" if isinstance(inner, ast.Call) else "an expression"
        return self.unsupported(f"{node.op}() of {what}", f"{node.op}() of {what} has no Datadog "
                                "space aggregation", inner.func if isinstance(inner, ast.Call) else node.op)

    def _gauge(self, node: ast.Aggregation, sel: ast.Selector) -> str:
        found = self._series(sel)
        if found is None:
            return ""
        if found.kind in (COUNT, BUCKETS, DISTRIBUTION):
            return self.unsupported("raw counter", f"{sel.metric} is a counter: Datadog keeps its "
                                    "increments, not its running total; read it with rate() or "
                                    "increase()", sel.metric)
        scope, by = self._scope(sel), self._by(node.grouping, sel)
        if scope is None or by is None:
            return ""
        return self._shifted(self._term(f"{node.op}:{found.name}{scope}{by}", GAUGE,
                                        node.grouping, aggregator="last"), sel)

    def _count(self, node: ast.Aggregation, func: str, rng: ast.RangeSelector) -> str:
        found = self._series(rng.selector)
        if found is None:
            return ""
        if found.kind != COUNT:
            return self.unsupported(f"{func}() of a {found.kind}", f"{func}() of "
                                    f"{rng.selector.metric}, which Datadog does not receive as a "
                                    "count", func)
        if node.op != "sum":
            return self.unsupported(f"{node.op}() of {func}()", f"{node.op}() of {func}() per "
                                    "series: Datadog aggregates a count across series before "
                                    f"time; only sum({func}()) is exact", node.op)
        scope, by = self._scope(rng.selector), self._by(node.grouping, rng.selector)
        if scope is None or by is None:
            return ""
        base = f"sum:{found.name}{scope}{by}"
        seconds = number(rng.range_ms / 1000)
        if self.mode == "monitor":
            text = self._shifted(self._term(base + ".as_count()", COUNT, node.grouping,
                                            rng.range_ms), rng.selector)
            # Parenthesised: the division must stay with its count inside any arithmetic.
            return text if func == "increase" else f"({text} / {seconds})"
        if rng.range_var is not None:
            # A dashboard window ($__rate_interval) is the graph's own interval: Datadog's rollup.
            if func == "rate":
                return self._term(base + ".as_rate()", COUNT, node.grouping, aggregator="avg")
            return self._term(base + ".as_count()", COUNT, node.grouping, aggregator="sum")
        if self.scalar:
            # One value over a timeframe of the window's length (the widget's time).
            if func == "rate":
                return self._term(base + ".as_rate()", COUNT, node.grouping, rng.range_ms, aggregator="avg")
            return self._term(base + ".as_count()", COUNT, node.grouping, rng.range_ms, aggregator="sum")
        # A sliding window of the same length (https://docs.datadoghq.com/dashboards/functions/rollup/).
        name = self._term(base + ".as_count()", COUNT, node.grouping, rng.range_ms)
        rolled = f"moving_rollup({name}, {seconds}, 'sum')"
        return rolled if func == "increase" else f"({rolled} / {seconds})"

    # --- operators ------------------------------------------------------------------------------
    def gen_binary(self, node: ast.Binary) -> str:
        if node.return_bool:
            return self.unsupported("bool", "`bool` comparisons have no Datadog form", "bool")
        if node.op in ast.SET_OPS or node.op in ast.COMPARISONS:
            # The sides first: a construct inside them is the more exact thing to name.
            before = len(self.unsupported_messages)
            self.generate(node.lhs)
            self.generate(node.rhs)
            if len(self.unsupported_messages) > before:
                return ""
        if node.op in ast.SET_OPS:
            return self.unsupported(f"`{node.op}`", f"`{node.op}` inside a query: only a condition "
                                    "made of conditions joined by and/or/unless becomes a "
                                    "composite monitor", node.op)
        if node.op in ast.COMPARISONS:
            return self.unsupported(f"comparison `{node.op}` inside the query", "a comparison that "
                                    "filters series inside the query has no Datadog form", node.op)
        if node.op not in ARITHMETIC:
            return self.unsupported(f"`{node.op}`", f"`{node.op}` has no Datadog form", node.op)
        m = node.matching
        if m is not None and (m.card != "one-to-one" or (m.explicit and not m.on and m.labels)):
            return self.unsupported("vector matching", "group_left/group_right and ignoring(...) "
                                    "have no Datadog form; Datadog matches queries grouped alike",
                                    "on" if m.on else "ignoring")
        if node.op == "/":
            ratio = self._rate_ratio(node)
            if ratio is not None:
                return ratio
        text = super().gen_binary(ast.Binary(node.op, node.lhs, node.rhs))
        if m is not None and m.explicit and m.on and self.groupings and \
                self.groupings != {frozenset(m.labels)}:
            return self.unsupported("on(...)", "on(...) names other labels than the groups of "
                                    "the queries it matches", "on")
        return text

    def _rate_ratio(self, node: ast.Binary) -> str | None:
        """`sum(rate(a[w])) / sum(rate(b[w]))` is the ratio of the two increases: the `/ w` of
        each rate cancels, so it is left out (as Datadog's own error-rate examples do)."""
        lhs, rhs = strip(node.lhs), strip(node.rhs)
        windows = []
        for side in (lhs, rhs):
            plain = isinstance(side, ast.Aggregation) and side.op == "sum" and not side.without \
                and side.param is None
            inner = strip(side.expr) if plain else None
            if not (isinstance(inner, ast.Call) and inner.func == "rate" and inner.args
                    and isinstance(inner.args[0], ast.RangeSelector)):
                return None
            windows.append(inner.args[0].range_ms)
        if windows[0] != windows[1]:
            return None
        left = self._count(lhs, "increase", strip(lhs.expr).args[0])  # type: ignore[union-attr]
        right = self._count(rhs, "increase", strip(rhs.expr).args[0])  # type: ignore[union-attr]
        return f"{left} / {right}"

    def gen_paren(self, node: ast.Paren) -> str:
        inner = self.generate(node.expr)
        return inner if outer(inner) != inner else f"({inner})"

    def gen_unary(self, node: ast.Unary) -> str:
        inner = strip(node.expr)
        if isinstance(inner, ast.Number):
            return "-" + self.generate(inner)
        text = self.generate(node.expr)
        if isinstance(inner, ast.Binary):
            text = f"({text})"
        return f"(-1 * {text})"


__all__ = ["Datadog", "GraphQuery", "inline", "number", "outer", "strip"]
