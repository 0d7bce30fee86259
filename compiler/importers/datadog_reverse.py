"""Import stage, Datadog monitors: the reverse of the datadog dialect. A metric monitor query is
parsed (the Monitor API's grammar, the subset the dialect writes) and spelled as the PromQL the
dialect would translate back to it; only when the dialect does give the same query again is
the PromQL kept (`check`). Everything else stays a datadog-only alert.

Forms, as the dialect writes them (compiler/dialects/datadog_monitor.py):
- `sum(last_w):sum:m{s} by {k}.as_count() op N` <- `sum by (k) (increase(m_total{s}[w])) op N`;
- `min(last_w):agg:m{s} by {k} > N` (max for <) <- `agg by (k) (m{s}) > N` held `for: w`;
- `avg|max|min(last_w):agg:m{s} by {k} op N` <- `agg by (k) (avg|max|min_over_time(m{s}[w])) op N`
  where the two aggregations commute (the dialect's OVER_TIME table);
- arithmetic between such queries and numbers, as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from compiler.dialects.datadog import OVER_TIME
from compiler.dialects.datadog_monitor import AT_ALL_TIMES, translate
from compiler.dialects.datadog_names import COUNT, GAUGE, Naming, Series
from compiler.durations import format_ms
from compiler.expr.parse import ParseError, parse
from compiler.importers.datadog_scopes import NoForm, matchers
from compiler.targets.datadog.querycheck import window_ms

_HEAD = re.compile(r"^\s*(avg|sum|min|max)\((last_\d+[mhdw])\)\s*:(.*?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$", re.S)
_QUERY = re.compile(r"(avg|sum|min|max):([A-Za-z][A-Za-z0-9_.]*)\{([^{}]*)\}(?:\s*by\s*\{([^{}]*)\})?((?:\.as_count\(\)|\.as_rate\(\))?)")
_TAG_KEY = re.compile(r"[a-z][a-z0-9_]*")
INTERVAL_MS = 60_000
REVERSE_OVER_TIME = {(space, time): func for (space, func), time in OVER_TIME.items()}


@dataclass
class Translation:
    expr: str
    for_ms: int
    metrics: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)  # prom -> (datadog, type, labels)


def prom_name(datadog: str, counter: bool) -> str:
    base = re.sub(r"[^A-Za-z0-9_:]", "_", datadog)
    if counter:
        base = base.removesuffix("_count") + "_total"
    return base if re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", base) else "_" + base


def selector(name: str, scope: str) -> str:
    inner = matchers(scope)
    return f"{name}{{{inner}}}" if inner else name


def aggregation(op: str, keys: tuple[str, ...]) -> str:
    return f"{op} by ({', '.join(keys)}) " if keys else op


def group_keys(by: str | None) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in (by or "").split(",") if k.strip())
    for k in keys:
        if not _TAG_KEY.fullmatch(k):
            raise NoForm(f"group key {k!r} is not a label name")
    return keys


def reverse(query: str) -> Translation:
    """The PromQL condition the dialect would translate into `query`."""
    head = _HEAD.match(query)
    if not head:
        raise NoForm("not `time_aggr(last_#):query op number`")
    time_aggr, win, body, op, threshold = head.groups()
    w_ms = window_ms(win)
    if w_ms is None:
        raise NoForm(f"window {win}")
    terms = list(_QUERY.finditer(body))
    if not terms:
        raise NoForm("no metric query")
    rest = _QUERY.sub("Q", body)
    if not re.fullmatch(r"[Q0-9.\s()+\-*/]*", rest):
        raise NoForm("functions or modifiers (rollup, fill, anomalies, ...) have no PromQL form here")
    counts = {t.group(5) for t in terms}
    out = Translation("", 0)
    pieces: list[str] = []
    if counts == {".as_count()"}:
        if time_aggr != "sum":
            raise NoForm("a count aggregated otherwise than sum(last_#)")
        for t in terms:
            space, metric, scope, by, _ = t.groups()
            if space != "sum":
                raise NoForm("a count aggregated across series otherwise than sum")
            name = prom_name(metric, True)
            keys = group_keys(by)
            out.metrics[name] = (metric, "counter", keys)
            pieces.append(f"{aggregation('sum', keys)}(increase({selector(name, scope)}[{format_ms(w_ms)}]))")
    elif counts == {""}:
        at_all_times = AT_ALL_TIMES.get(op) == time_aggr
        if not at_all_times and len(terms) > 1:
            raise NoForm("arithmetic over time-aggregated gauges")
        for t in terms:
            space, metric, scope, by, _ = t.groups()
            name = prom_name(metric, False)
            keys = group_keys(by)
            out.metrics[name] = (metric, "gauge", keys)
            sel = selector(name, scope)
            if at_all_times:
                pieces.append(f"{aggregation(space, keys)}({sel})")
            else:
                func = REVERSE_OVER_TIME.get((space, time_aggr))
                if func is None or body.strip() != t.group(0):
                    raise NoForm(f"{time_aggr}(last_#) over `{space}:` has no PromQL form")
                pieces.append(f"{aggregation(space, keys)}({func}({sel}[{format_ms(w_ms)}]))")
        if at_all_times:
            out.for_ms = w_ms if w_ms > INTERVAL_MS else 0
    else:
        raise NoForm("counts and gauges together, or .as_rate()")
    it = iter(pieces)
    out.expr = _QUERY.sub(lambda _: next(it), body).strip() + f" {op} {threshold}"
    return out


def normal_query(query: str) -> str:
    text = re.sub(r"\s+", " ", query.strip())
    text = re.sub(r"IN \(([^()]*)\)", lambda m: "IN (" + ",".join(sorted(v.strip() for v in m.group(1).split(","))) + ")", text)
    return re.sub(r"\s*([():,{}])\s*", r"\1", text)


def check(query: str) -> Translation:
    """The PromQL form of `query`, proven by translating it back with the dialect."""
    found = reverse(query)
    try:
        tree = parse(found.expr)
    except ParseError as exc:
        raise NoForm(f"no PromQL form ({exc.message})") from None
    naming = Naming({name: Series(dd, COUNT if kind == "counter" else GAUGE, labels)
                     for name, (dd, kind, labels) in found.metrics.items()})
    back, problems = translate(tree, found.for_ms, naming, INTERVAL_MS)
    if back is None:
        raise NoForm(problems[0].message if problems else "the dialect refuses it")
    if normal_query(back.query) != normal_query(query):
        raise NoForm(f"the dialect translates it back as {back.query!r}")
    return found
