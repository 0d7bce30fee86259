"""Datadog dialect, window readers: histogram_quantile() as a distribution's percentile,
*_over_time() as a time aggregation, and delta() compared with 0, for the Datadog generator.

A mixin of `Datadog` (compiler/dialects/datadog.py), which holds the bookkeeping these use.
"""
from __future__ import annotations

from compiler.dialects.datadog_names import DISTRIBUTION, GAUGE, QUANTILE
from compiler.dialects.datadog_tree import number, strip
from compiler.expr import ast

# *_over_time functions that commute with the space aggregation written around them: the max
# over time of the max across series is the max across series of each one's max over time; the
# same for min, and averages and sums of averages are linear.
OVER_TIME = {("max", "max_over_time"): "max", ("min", "min_over_time"): "min",
             ("avg", "avg_over_time"): "avg", ("sum", "avg_over_time"): "avg"}


class WindowReads:
    """Readers of a range window other than counts (see Datadog._count)."""

    def _percentile(self, node: ast.Call) -> str:
        phi = strip(node.args[0]) if node.args else None
        inner = strip(node.args[1]) if len(node.args) > 1 else None
        if not isinstance(phi, ast.Number) or not 0 < phi.value < 1:
            return self.unsupported("histogram_quantile()", "the quantile must be a number "
                                    "between 0 and 1", "histogram_quantile")
        pct = phi.value * 100
        if round(pct, 2) != round(pct, 10):
            return self.unsupported("histogram_quantile()", f"quantile {number(phi.value)}: "
                                    "Datadog percentiles have at most two decimals",
                                    "histogram_quantile")
        shape_ok = (isinstance(inner, ast.Aggregation) and inner.op == "sum" and not inner.without
                    and "le" in inner.grouping and isinstance(strip(inner.expr), ast.Call)
                    and strip(inner.expr).func in ("rate", "increase")
                    and isinstance(strip(inner.expr).args[0], ast.RangeSelector))
        if not shape_ok:
            return self.unsupported("histogram_quantile()", "only histogram_quantile(φ, sum by "
                                    "(le, ...) (rate(x_bucket[w]))) has a Datadog form",
                                    "histogram_quantile")
        rng: ast.RangeSelector = strip(inner.expr).args[0]  # type: ignore[union-attr]
        found = self._series(rng.selector)
        if found is None:
            return ""
        if rng.selector.offset_ms:
            return self.unsupported("offset", "a percentile read `offset` earlier has no Datadog "
                                    "form", "offset")
        if found.kind != DISTRIBUTION:
            return self.unsupported("histogram_quantile()", f"{rng.selector.metric} is not a "
                                    "distribution in Datadog: set targets.datadog."
                                    "histogram_buckets_as_distributions", "histogram_quantile")
        if any(m.name == "le" for m in rng.selector.matchers):
            return self.unsupported("le matcher", "a matcher on `le` selects buckets; a "
                                    "distribution has none", "le")
        if self.scalar:
            return self.unsupported("histogram_quantile() in a one-value panel", "a percentile "
                                    "over the panel's timeframe has no widget form here",
                                    "histogram_quantile")
        if self.mode == "graph" and rng.range_var is None:
            return self.unsupported("histogram_quantile() over a fixed window in a panel",
                                    "a distribution's percentile in a graph covers each rollup "
                                    "interval, not a sliding window; use [$__rate_interval]",
                                    "histogram_quantile")
        grouping = tuple(g for g in inner.grouping if g != "le")  # type: ignore[union-attr]
        scope, by = self._scope(rng.selector), self._by(grouping)
        if scope is None or by is None:
            return ""
        text = f"p{number(round(pct, 2))}:{found.name}{scope}{by}"
        window = None if rng.range_var else rng.range_ms
        return self._term(text, DISTRIBUTION, grouping, window, "percentile")

    def _delta(self, space: str, grouping: tuple[str, ...], rng: ast.RangeSelector) -> str:
        """delta() compared with 0: its sign is the sign of the last value minus the first of the
        window (delta() only scales that difference to the window's edges), so it is the gauge
        minus itself timeshifted by the window, when each group holds one series."""
        found = self._series(rng.selector)
        if found is None:
            return ""
        if found.kind not in (GAUGE, QUANTILE) or rng.selector.offset_ms:
            return self.unsupported("delta()", "delta() of a counter, or read `offset` earlier, "
                                    "has no Datadog form", "delta")
        if not set(self.naming.identity(found)) <= set(grouping):
            return self.unsupported("delta()", "delta() aggregated across series: Datadog would "
                                    "subtract the aggregates, not aggregate the differences", "delta")
        scope, by = self._scope(rng.selector), self._by(grouping, rng.selector)
        if scope is None or by is None:
            return ""
        now = self._term(f"{space}:{found.name}{scope}{by}", GAUGE, grouping, aggregator="last")
        before = self._term(f"{space}:{found.name}{scope}{by}", GAUGE, grouping, aggregator="last")
        return f"({now} - timeshift({before}, -{number(rng.range_ms / 1000)}))"

    def _over_time(self, node: ast.Aggregation, func: str, rng: ast.RangeSelector) -> str:
        found = self._series(rng.selector)
        if found is None:
            return ""
        if rng.selector.offset_ms:
            return self.unsupported("offset", f"{func}() read `offset` earlier has no Datadog "
                                    "form", "offset")
        if found.kind not in (GAUGE, QUANTILE):
            return self.unsupported(f"{func}() of a counter", f"{func}() of a counter", func)
        if self.mode == "graph":
            return self.unsupported(f"{func}() in a panel", f"{func}() in a panel has no widget "
                                    "form here", func)
        scope, by = self._scope(rng.selector), self._by(node.grouping)
        if scope is None or by is None:
            return ""
        return self._term(f"{node.op}:{found.name}{scope}{by}", "over_time", node.grouping,
                          rng.range_ms, OVER_TIME[(node.op, func)])
