"""Link stage, SLIs: the selectors an SLI counts with, checked against the catalog's metrics, and
the PromQL of its error ratio over a window."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.dialects.promql import to_promql
from compiler.expr import ast
from compiler.expr.locate import tokens
from compiler.model import Expression, Metric
from compiler.slos.model import Sli
from compiler.slos.series import satisfies

INVALID = "MC807"
BUCKET = "MC803"
NOT_SUBSET = "MC804"
# Series a counting SLI may read: counters, and the counts a histogram or summary exposes.
COUNTING = {"counter": ("",), "histogram": ("_count", "_bucket"), "summary": ("_count",)}


@dataclass(frozen=True)
class Selectors:
    """What an SLI counts: `bad` or `good` events (one of the two) out of `total`."""

    total: ast.Selector
    good: ast.Selector | None = None
    bad: ast.Selector | None = None
    le: str = ""  # latency: the bucket boundary, as the `le` label spells it

    @property
    def counted(self) -> ast.Selector:
        """The good or bad selector, whichever the SLI names."""
        found = self.good or self.bad
        assert found is not None
        return found


def le_label(value: float) -> str:
    """A bucket boundary as Prometheus' Go client writes `le`: shortest form, 1 not 1.0."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _at(expr: Expression, word: str) -> Loc:
    for tok in tokens(expr.text)[0]:
        if tok.text == word:
            return expr.loc_at(tok.start)
    return expr.loc


def _plain(expr: Expression, what: str, diags: list[Diagnostic]) -> ast.Selector | None:
    tree = ast.without_parens(expr.tree)
    if not isinstance(tree, ast.Selector) or not tree.metric or tree.offset_ms or tree.at is not None:
        diags.append(error(INVALID, f"the SLI's `{what}` is not a plain selector", expr.loc,
                           'write a metric with label matchers, such as http_requests_total{code=~"5.."}: '
                           "moncat takes the rate over each window itself"))
        return None
    return tree


def _series(name: str, metrics: dict[str, Metric]) -> tuple[Metric, str] | None:
    for metric in metrics.values():
        if name.startswith(metric.name) and name[len(metric.name):] in COUNTING.get(metric.type, ()):
            return metric, name[len(metric.name):]
    return None


def _counter(expr: Expression, what: str, metrics: dict[str, Metric],
             diags: list[Diagnostic]) -> ast.Selector | None:
    sel = _plain(expr, what, diags)
    if sel is None:
        return None
    assert sel.metric is not None
    if _series(sel.metric, metrics) is None:
        known = metrics.get(sel.metric)
        why = (f"a {known.type}, not a count of events" if known is not None
               else "not a metric of the catalog")
        diags.append(error(INVALID, f"the SLI's `{what}` reads {sel.metric!r}, {why}",
                           _at(expr, sel.metric), "count events with a counter (or a histogram's "
                           "_count); declare it under `metrics:` with `type: counter`"))
        return None
    return sel


def _implied(want: ast.Matcher, have: tuple[ast.Matcher, ...]) -> bool:
    """Whether every series `have` selects also satisfies `want`."""
    if want in have:
        return True
    return any(m.name == want.name and m.op == "=" and satisfies(m.value, want) for m in have)


def _subset(part: ast.Selector, total: ast.Selector, what: str, expr: Expression,
            diags: list[Diagnostic]) -> None:
    """A good or bad selector of the same metric as total must count a proper part of it."""
    if part.metric != total.metric:
        return  # two counters: which events each counts is the service's to know
    missing = [m for m in total.matchers if not _implied(m, part.matchers)]
    if missing:
        shown = ", ".join(f"{m.name}{m.op}{ast_quote(m.value)}" for m in missing)
        diags.append(error(NOT_SUBSET, f"the SLI's `{what}` selector is not a subset of `total`: "
                           f"it lacks {shown}", expr.loc,
                           f"add total's matchers to `{what}`: {what} events must be counted among "
                           "total events, or the ratio can exceed 100%"))
    elif all(_implied(m, total.matchers) for m in part.matchers):
        diags.append(error(NOT_SUBSET, f"the SLI's `{what}` selector counts the same events as "
                           "`total`", expr.loc, f"narrow `{what}` with a matcher on the label that "
                           "tells good events from bad ones (status, code, le...)"))


def ast_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selectors(sli: Sli, metrics: dict[str, Metric]) -> tuple[Selectors | None, list[Diagnostic]]:
    """The SLI's selectors, or None and why not."""
    diags: list[Diagnostic] = []
    if sli.kind == "latency":
        assert sli.histogram is not None and sli.threshold is not None
        sel = _plain(sli.histogram, "histogram", diags)
        if sel is None:
            return None, diags
        assert sel.metric is not None
        metric = metrics.get(sel.metric)
        if metric is None or metric.type != "histogram":
            diags.append(error(BUCKET, f"the latency SLI's histogram {sel.metric!r} is not a "
                               "histogram of the catalog", _at(sli.histogram, sel.metric),
                               "name a metric declared with `type: histogram` (its base name, "
                               "without _bucket)"))
            return None, diags
        if not any(math.isclose(b, sli.threshold, rel_tol=0, abs_tol=0) for b in metric.buckets):
            listed = ", ".join(le_label(b) for b in metric.buckets)
            diags.append(error(
                BUCKET, f"latency threshold {le_label(sli.threshold)} is not a bucket boundary of "
                f"{metric.name}" + (f" (its buckets: {listed})" if listed else " (it declares no "
                                    "`buckets:`)"), sli.loc,
                "pick one of the histogram's `le` boundaries: a rate of requests below another "
                "value cannot be read from the buckets" if listed else
                f"declare the histogram's `buckets:` under metrics: {metric.name}"))
            return None, diags
        le = le_label(sli.threshold)
        base = dataclasses.replace(sel, metric=None)
        return Selectors(
            total=dataclasses.replace(base, metric=metric.name + "_count"),
            good=dataclasses.replace(base, metric=metric.name + "_bucket",
                                     matchers=(*sel.matchers, ast.Matcher("le", "=", le))),
            le=le), diags
    assert sli.total is not None
    total = _counter(sli.total, "total", metrics, diags)
    what = "good" if sli.good is not None else "bad"
    expr = sli.good if sli.good is not None else sli.bad
    assert expr is not None
    part = _counter(expr, what, metrics, diags)
    if total is None or part is None:
        return None, diags
    _subset(part, total, what, expr, diags)
    if diags:
        return None, diags
    return (Selectors(total, good=part) if what == "good" else Selectors(total, bad=part)), diags


def _rate(sel: ast.Selector, window_ms: int) -> ast.Expr:
    return ast.Aggregation("sum", ast.Call("rate", (ast.RangeSelector(sel, window_ms),)))


def error_ratio(sel: Selectors, window_ms: int) -> ast.Expr:
    """The share of bad events over the window: bad / total, or 1 - good / total."""
    part = ast.Binary("/", _rate(sel.counted, window_ms), _rate(sel.total, window_ms))
    if sel.bad is not None:
        return part
    return ast.Binary("-", ast.Number(1.0), part)


def promql(tree: ast.Expr) -> str:
    return to_promql(tree)
