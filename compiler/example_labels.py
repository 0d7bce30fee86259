"""Model helpers: the labels a fires example's alert carries, from its expression and its series."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from compiler.examples import records_of
from compiler.expr import ast, gotemplate
from compiler.expr.metric_names import Names, result_names
from compiler.expr.parse import parse
from compiler.model import Alert, Catalog, Example
from compiler.names import alert_labels

_SIMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*",?\s*)*)\})?')
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"')


@functools.lru_cache(maxsize=1 << 16)
def parse_series(text: str) -> ast.Expr:
    """An example's series key as a selector. Nearly all are `name{a="b"}`: read those directly
    (fast), parse the rest with the PromQL front end (which raises ParseError). Memoised (the
    trees are frozen): the example check, the declared-labels check, the inferred labels and the
    Datadog Agent model each read every series."""
    m = _SIMPLE.fullmatch(text.strip())
    if m:
        pairs = tuple(ast.Matcher(k, "=", v) for k, v in _PAIR.findall(m.group(2) or ""))
        return ast.Selector(m.group(1), pairs)
    return parse(text)


def series_labels(text: str) -> dict[str, str]:
    """The labels of a plain example series, `__name__` included."""
    sel = parse_series(text)
    if not isinstance(sel, ast.Selector):
        return {}
    out = {m.name: m.value for m in sel.matchers if m.op == "="}
    if sel.metric:
        out["__name__"] = sel.metric
    return out


def _matches(sel: ast.Selector, labels: dict[str, str]) -> bool:
    if sel.metric and labels.get("__name__") != sel.metric:
        return False
    for m in sel.matchers:
        value = labels.get(m.name, "")
        if m.op == "=" and value != m.value or m.op == "!=" and value == m.value:
            return False
        if m.op in ("=~", "!~"):
            try:
                hit = re.fullmatch(m.value, value) is not None
            except re.error:
                return True  # cannot tell: do not rule the series out
            if hit != (m.op == "=~"):
                return False
    return True


def leaf_selectors(node: ast.Expr, records, seen: frozenset = frozenset()) -> list[ast.Selector]:
    """Every selector the expression reads raw series through, recording rules expanded."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Selector):
            inner = records(n.metric) if n.metric and n.metric not in seen else None
            if inner is None:
                out.append(n)
            else:
                out.extend(leaf_selectors(inner, records, seen | {n.metric}))
    return out


@dataclass(frozen=True)
class Inferred:
    """The expression labels a firing alert of the example carries, and the labels that more
    than one value could fill (label -> candidate values), which the example must then give.
    `name` is the metric name the result sample keeps ("" when the expression drops it): in
    `$labels`, never in the alert's labels; `name_choices` the candidates when it is unclear
    ("" for none), None when it is known."""

    labels: tuple[tuple[str, str], ...]
    ambiguous: tuple[tuple[str, tuple[str, ...]], ...] = ()
    name: str = ""
    name_choices: tuple[str, ...] | None = None

    def template_labels(self) -> gotemplate.Labels:
        """`$labels` as Prometheus fills it: the result sample's labels, `__name__` included."""
        known = dict(self.labels) | ({"__name__": self.name} if self.name else {})
        if self.name_choices is None:
            return gotemplate.Labels(known)
        shown = " or ".join(c or "none" for c in self.name_choices) or "a name it computes"
        return gotemplate.Labels(known, {"__name__": (
            f"`$labels` holds the metric name the firing series keeps ({shown}), which the example "
            "does not say: give it in the example's `labels: {__name__: ...}`")})


def present_names(sel: ast.Selector, series: list[dict[str, str]], records) -> Names:
    """The names a selector's samples carry on the example's series (none: it reads nothing)."""
    if not sel.metric:
        return frozenset(s["__name__"] for s in series if "__name__" in s and _matches(sel, s))
    inner = records(sel.metric)
    if inner is None:
        found = any(_matches(sel, s) for s in series)
    else:  # a recorded series exists when the rule's expression reads some of the series
        leaves = leaf_selectors(inner, records, frozenset({sel.metric}))
        found = not leaves or any(_matches(leaf, s) for leaf in leaves for s in series)
    return frozenset({sel.metric}) if found else frozenset()


def result_name(catalog: Catalog, alert: Alert, example: Example,
                series: list[dict[str, str]] | None = None) -> tuple[str, tuple[str, ...] | None]:
    """The metric name a firing sample of the alert keeps on the example's series ("" for
    none), or the candidates when the expression leaves it open. `series`: the labels of the
    example's series, when the caller has read them."""
    records = records_of(catalog)
    series = [series_labels(s) for s, _ in example.series] if series is None else series
    names = result_names(alert.expr.tree, lambda sel: present_names(sel, series, records),
                         catalog.settings.prometheus_version)
    if names is None:
        return "", ()
    if len(names) > 1:
        return "", tuple(sorted(names))
    return (next(iter(names)) if names else ""), None


def infer(catalog: Catalog, alert: Alert, example: Example) -> Inferred:
    """The labels a firing alert of the example carries (`_infer`), computed once per catalog:
    the example check and the promtool tests both ask."""
    return catalog.once(("example_labels.infer", alert.id, example), lambda: _infer(catalog, alert, example))


def _infer(catalog: Catalog, alert: Alert, example: Example) -> Inferred:
    """Labels written in `labels:` win; each other label the expression keeps (label-flow
    analysis) takes the one value the example's series that the expression reads carry, or that
    an `=` matcher of the expression sets (absent(x{job="a"}) returns job="a"). `__name__` in
    `labels:` says the metric name the result keeps (for `$labels`) where the series leave it open."""
    given = dict(example.labels)
    kept = given.pop("__name__", None)
    series = [series_labels(s) for s, _ in example.series]
    kept, choices = (kept, None) if kept is not None else result_name(catalog, alert, example, series)
    names = alert_labels(alert, catalog)
    if names is None:
        return Inferred(tuple(sorted(given.items())), (), kept, choices)
    records = records_of(catalog)
    leaves = catalog.once(("example_labels.leaves", alert.id), lambda: leaf_selectors(alert.expr.tree, records))
    read = [labels for labels in series if any(_matches(sel, labels) for sel in leaves)]
    out = dict(given)
    ambiguous = []
    for name in sorted(names - set(given)):
        values = {labels[name] for labels in read if labels.get(name)}
        values |= {m.value for sel in leaves for m in sel.matchers
                   if m.name == name and m.op == "=" and m.value}
        if len(values) == 1:
            out[name] = values.pop()
        elif values:
            ambiguous.append((name, tuple(sorted(values))))
    return Inferred(tuple(sorted(out.items())), tuple(ambiguous), kept, choices)
