"""Import stage, Datadog widgets: a widget request's formulas and metric queries as the PromQL
panel queries the datadog dialect's graph mode would write them from (the reverse of
compiler/targets/datadog/dashboards.py), each kept only when translating it back gives the
same formula over the same queries.

Query forms, as the dialect writes them (`agg by (k)`: PromQL's `agg by (k) (...)`):
- `avg|sum|min|max:m{s} by {k}` <- `agg by (k) (m{s})` (a gauge);
- `sum:m.count{s} by {k}.as_rate()` / `.as_count()` <- `sum by (k) (rate|increase(m_total{s}[w]))`,
  `w` being `$__rate_interval` in a graph, the widget's timeframe in a one-value widget;
- `moving_rollup(q, S, 'sum')` over an `.as_count()` <- `increase(...[S])`, and divided by S
  <- `rate(...[S])`;
- `pNN:m{s} by {k}` <- `histogram_quantile(0.NN, sum by (le, k) (rate(m_bucket{s}[$__rate_interval])))`
  (a distribution: targets.datadog.histogram_buckets_as_distributions);
- numbers, `+ - * /`, unary minus, abs(), clamp_min(), clamp_max() between them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from compiler.dialects.datadog import Datadog, inline, number, outer
from compiler.dialects.datadog_names import COUNT, DISTRIBUTION, GAUGE, Naming, Series
from compiler.expr.parse import ParseError, parse
from compiler.importers.datadog_reverse import (NoForm, aggregation, group_keys, normal_query, prom_name,
                                                selector)
from compiler.importers.files import items, mapping

_QUERY = re.compile(r"(avg|sum|min|max|p\d+(?:\.\d+)?):([A-Za-z][A-Za-z0-9_.]*)\{([^{}]*)\}"
                    r"(?:\s*by\s*\{([^{}]*)\})?(\.as_count\(\)|\.as_rate\(\))?")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|'([^']*)'|(\S))")
FUNCTIONS = {"abs": 1, "clamp_min": 2, "clamp_max": 2}
SPANS = {"1m": 60_000, "5m": 300_000, "10m": 600_000, "15m": 900_000, "30m": 1_800_000,
         "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000, "2d": 172_800_000, "1w": 604_800_000}
UNIT_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000, "week": 604_800_000}
RATE_INTERVAL = "$__rate_interval"

# A formula: ("num", v) | ("ref", name) | ("str", s) | ("call", f, args) | ("bin", op, l, r)
Formula = tuple


@dataclass(frozen=True)
class Metric:
    """A metric a reversed query reads: its Datadog name, catalog type and the labels used."""

    datadog: str
    type: str  # counter | gauge | histogram
    labels: frozenset[str] = frozenset()

    def joined(self, earlier: "Metric | None") -> "Metric":
        """This use of the metric with the labels an earlier one named."""
        return self if earlier is None else Metric(self.datadog, self.type, self.labels | earlier.labels)


@dataclass
class Reversed:
    """One request's formulas as PromQL (legend, expr), those without a form (formula, why),
    and the metrics the PromQL reads."""

    queries: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    metrics: dict[str, Metric] = field(default_factory=dict)


def parse_formula(text: str) -> Formula:
    """A widget formula as a tree (names of queries, numbers, + - * /, function calls)."""
    tokens = [(m.group(1), m.group(2), m.group(3), m.group(4)) for m in _TOKEN.finditer(text)]
    pos = 0

    def peek(sym: str) -> bool:
        return pos < len(tokens) and tokens[pos][3] == sym

    def take(sym: str) -> None:
        nonlocal pos
        if not peek(sym):
            raise NoForm(f"formula {text!r}: expected {sym!r}")
        pos += 1

    def atom() -> Formula:
        nonlocal pos
        if pos >= len(tokens):
            raise NoForm(f"formula {text!r} ends early")
        num, name, string, sym = tokens[pos]
        pos += 1
        if num is not None:
            return ("num", float(num))
        if string is not None:
            return ("str", string)
        if name is not None:
            if not peek("("):
                return ("ref", name)
            take("(")
            args = [expr()]
            while peek(","):
                take(",")
                args.append(expr())
            take(")")
            return ("call", name, tuple(args))
        if sym == "(":
            inner = expr()
            take(")")
            return inner
        if sym == "-":
            inner = atom()
            return ("num", -inner[1]) if inner[0] == "num" else ("bin", "*", ("num", -1.0), inner)
        raise NoForm(f"formula {text!r}: unexpected {sym!r}")

    def chain(operand, ops: str) -> Formula:
        """Left-associative operators of one precedence level."""
        node = operand()
        while pos < len(tokens) and tokens[pos][3] is not None and tokens[pos][3] in ops:
            op = tokens[pos][3]
            take(op)
            node = ("bin", op, node, operand())
        return node

    def term() -> Formula:
        return chain(atom, "*/")

    def expr() -> Formula:
        return chain(term, "+-")

    tree = expr()
    if pos != len(tokens):
        raise NoForm(f"formula {text!r}: unexpected {tokens[pos][3] or tokens[pos][1]!r}")
    return tree


def window_ms(time: Any) -> int | None:
    """A widget's timeframe in milliseconds (None: none, or one of no fixed length)."""
    if not isinstance(time, dict):
        return None
    if isinstance(time.get("live_span"), str) and time["live_span"] in SPANS:
        return SPANS[time["live_span"]]
    if time.get("type") == "live" and isinstance(time.get("unit"), str) and time["unit"] in UNIT_MS \
            and isinstance(time.get("value"), int):
        return time["value"] * UNIT_MS[time["unit"]]
    return None


def _duration(ms: int) -> str:
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    raise NoForm(f"a window of {ms} ms")


class _Reverser:
    """PromQL text for one formula over a request's queries."""

    def __init__(self, queries: dict[str, dict], scalar: bool, window: int | None, distributions: bool):
        self.queries = queries
        self.distributions = distributions
        self.scalar = scalar
        self.window = _duration(window) if window else RATE_INTERVAL
        self.metrics: dict[str, Metric] = {}

    def _declare(self, name: str, metric: Metric) -> None:
        old = self.metrics.get(name)
        if old is not None and (old.datadog, old.type) != (metric.datadog, metric.type):
            raise NoForm(f"{metric.datadog} and {old.datadog} would both be {name}")
        self.metrics[name] = metric.joined(old)

    def query(self, ref: str, count_window: str | None = None, func: str | None = None) -> str:
        body = self.queries.get(ref)
        if body is None:
            raise NoForm(f"the formula names no query {ref!r}")
        if body.get("data_source", "metrics") != "metrics":
            raise NoForm(f"a {body.get('data_source')} query has no PromQL form")
        m = _QUERY.fullmatch(str(body.get("query", "")).strip())
        if not m:
            raise NoForm(f"query {body.get('query')!r}: functions or modifiers have no PromQL form here")
        space, metric, scope, by, suffix = m.groups()
        keys = group_keys(by)
        tags = frozenset(re.findall(r"([a-z][a-z0-9_]*)(?:=~|!=|=)", selector("m", scope)))
        if suffix:
            if space != "sum":
                raise NoForm(f"{space}: of a count: Datadog sums counts across series first")
            if count_window is not None and suffix != ".as_count()":
                raise NoForm("moving_rollup() of a rate")
            name = prom_name(metric, True)
            self._declare(name, Metric(metric, "counter", frozenset(keys) | tags))
            func = func or ("rate" if suffix == ".as_rate()" else "increase")
            return f"{aggregation('sum', keys)}({func}({selector(name, scope)}[{count_window or self.window}]))"
        if count_window is not None:
            raise NoForm("moving_rollup() of a gauge")
        if space.startswith("p"):
            if not self.distributions:
                raise NoForm("a percentile reads a distribution: the catalog does not set "
                             "targets.datadog.histogram_buckets_as_distributions")
            phi = float(space[1:]) / 100
            name = prom_name(metric, False)
            self._declare(name, Metric(metric, "histogram", frozenset(keys) | tags))
            inner = aggregation("sum", ("le", *keys))
            return (f"histogram_quantile({number(phi)}, {inner}(rate({selector(name + '_bucket', scope)}"
                    f"[{RATE_INTERVAL}])))")
        name = prom_name(metric, False)
        self._declare(name, Metric(metric, "gauge", frozenset(keys) | tags))
        return f"{aggregation(space, keys)}({selector(name, scope)})"

    def promql(self, node: Formula) -> tuple[str, int]:
        """The PromQL text of a formula node, and its precedence (3: an atom)."""
        kind = node[0]
        if kind == "num":
            text = number(node[1])
            return text, (3 if node[1] >= 0 else 2)
        if kind == "ref":
            return self.query(node[1]), 3
        if kind == "call":
            return self._call(node[1], node[2]), 3
        if kind == "bin":
            _, op, lhs, rhs = node
            rolled = self._rolled(lhs)
            if op == "/" and rolled is not None and rhs == ("num", rolled[1] / 1000):
                return self.query(rolled[0], _duration(rolled[1]), "rate"), 3
            prec = 1 if op in "+-" else 2
            left, lp = self.promql(lhs)
            right, rp = self.promql(rhs)
            left = left if lp >= prec else f"({left})"
            right = right if rp > prec else f"({right})"
            return f"{left} {op} {right}", prec
        raise NoForm(f"a {kind} in a formula")

    def _rolled(self, node: Formula) -> tuple[str, int] | None:
        """(query, window ms) of `moving_rollup(q, S, 'sum')`."""
        if node[0] == "call" and node[1] == "moving_rollup" and len(node[2]) == 3:
            ref, seconds, how = node[2]
            if ref[0] == "ref" and seconds[0] == "num" and how == ("str", "sum") and seconds[1] > 0:
                return ref[1], int(seconds[1] * 1000)
        return None

    def _call(self, func: str, args: tuple) -> str:
        rolled = self._rolled(("call", func, args))
        if rolled is not None:
            return self.query(rolled[0], _duration(rolled[1]))
        if FUNCTIONS.get(func) != len(args):
            raise NoForm(f"{func}() has no PromQL form here")
        return f"{func}({', '.join(self.promql(a)[0] for a in args)})"


def _expanded(node: Formula, queries: dict[str, tuple]) -> Formula:
    """The formula with each query name replaced by what the query reads: two formulas that
    compare equal draw the same thing, whatever their queries are named."""
    kind = node[0]
    if kind == "ref":
        return ("query", queries.get(node[1]))
    if kind == "call":
        return ("call", node[1], tuple(_expanded(a, queries) for a in node[2]))
    if kind == "bin":
        return ("bin", node[1], _expanded(node[2], queries), _expanded(node[3], queries))
    return node


def naming(metrics: dict[str, Metric]) -> Naming:
    """The series the reversed queries read, as a catalog declaring them with their Datadog
    names would give them (distributions for histograms)."""
    series: dict[str, Series] = {}
    for name, m in metrics.items():
        labels = tuple(sorted(m.labels))
        if m.type == "histogram":
            series[name + "_bucket"] = Series(m.datadog, DISTRIBUTION, labels)
        else:
            series[name] = Series(m.datadog, COUNT if m.type == "counter" else GAUGE, labels)
    return Naming(series)


def legacy(request: dict) -> dict:
    """A request of the older `q` form as queries and one formula."""
    if not isinstance(request.get("q"), str):
        return request
    queries: list[dict] = []

    def named(m: re.Match) -> str:
        queries.append({"data_source": "metrics", "name": f"query{len(queries) + 1}", "query": m.group(0)})
        if isinstance(request.get("aggregator"), str):
            queries[-1]["aggregator"] = request["aggregator"]
        return queries[-1]["name"]

    formula = _QUERY.sub(named, request["q"])
    alias = next((m.get("alias_name") for m in items(request.get("metadata"))
                  if isinstance(m, dict) and m.get("alias_name")), None)
    return {**request, "queries": queries, "formulas": [{"formula": formula, **({"alias": alias} if alias else {})}]}


def reverse_request(request: dict, scalar: bool, window: int | None, distributions: bool = True) -> Reversed:
    """Each formula of a widget request as a PromQL query, proven by translating it back."""
    request = legacy(request)
    queries = {str(q.get("name")): q for q in items(request.get("queries")) if isinstance(q, dict)}
    out = Reversed()
    for formula in items(request.get("formulas")):
        formula = mapping(formula)
        text = str(formula.get("formula", ""))
        try:
            expr, metrics = _one(text, queries, scalar, window, distributions)
        except NoForm as exc:
            out.dropped.append((_shown(text, queries), str(exc)))
            continue
        except RecursionError:
            out.dropped.append((_shown(text, queries), "the formula nests too deep"))
            continue
        out.queries.append((str(formula.get("alias") or ""), expr))
        for name, m in metrics.items():
            out.metrics[name] = m.joined(out.metrics.get(name))
    if not items(request.get("formulas")) and queries:
        out.dropped.append((_shown("", queries), "a request without formulas"))
    return out


def _shown(formula: str, queries: dict[str, dict]) -> str:
    """The formula with its queries, as a note quotes them."""
    named = ", ".join(f"{k} = {q.get('query')}" for k, q in queries.items()
                      if not formula or re.search(rf"\b{re.escape(k)}\b", formula))
    formula = formula if len(formula) <= 200 else formula[:200] + "..."
    return f"{formula} ({named})" if formula else named


def _one(text: str, queries: dict[str, dict], scalar: bool, window: int | None,
         distributions: bool) -> tuple[str, dict[str, Metric]]:
    tree = parse_formula(text)
    rev = _Reverser(queries, scalar, window, distributions)
    expr, _ = rev.promql(tree)
    try:
        ptree = parse(expr, variables=True)
    except ParseError as exc:
        raise NoForm(f"no PromQL form ({exc.message})") from None
    gen = Datadog(naming(rev.metrics), "graph", scalar=scalar)
    back = outer(gen.generate(inline(ptree, {})))
    if gen.unsupported_messages or not gen.terms:
        raise NoForm(gen.unsupported_messages[0].message if gen.unsupported_messages else "no metric query")
    if scalar and gen.windows != ({window} if window else set()):
        raise NoForm("the widget's timeframe is not the window of its queries")

    def key(q: dict) -> tuple:
        return (normal_query(str(q.get("query", ""))), str(q.get("aggregator", "")) if scalar else "")

    mine = _expanded(parse_formula(back), {q.name: (normal_query(q.query), q.aggregator if scalar else "")
                                           for q in gen.queries})
    theirs = _expanded(tree, {name: key(q) for name, q in queries.items()})
    if mine != theirs:
        shown = ", ".join(f"{q.name} = {q.query}" for q in gen.queries)
        raise NoForm(f"the PromQL form translates back as {back} ({shown})")
    return expr, rev.metrics
