"""Import stage, example synthesis: series that make an imported alert fire, and series that keep
it quiet, found by searching straight-line series against the alert's expression (evaluate.py).
Shapes it handles: thresholds on gauges, rates, ratios, quantiles, absent(), and their
combinations with and/or/unless. What it cannot predict is left `pending`."""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

from compiler.dialects.base import number
from compiler.examples import ceil_to
from compiler.expr import ast
from compiler.importers.evaluate import (Buckets, Evaluator, Labels, Line, Series, Unsupported,
                                         series_key)

EXTRA = (("instance", "example:9100"), ("job", "example"))
COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}
MAX_TRIES = 800
# promtool evaluates every rule at every minute up to the test's time: an alert held `for: 1w`
# would cost minutes to prove. Longer ones stay pending.
MAX_EVAL_MS = 26 * 3_600_000

Key = tuple[str, Labels]


@dataclass(frozen=True)
class Candidate:
    """Series for one example, the time it is checked at, and the notation promtool reads."""

    series: tuple[tuple[str, str], ...]  # (selector, promtool values)
    at_ms: int


@dataclass(frozen=True)
class Plan:
    fires: Candidate
    quiet: Candidate


def _roles(tree: ast.Expr) -> tuple[dict[Key, str], dict[Key, float], dict[Key, set[str]]]:
    """Each series the expression reads: gauge, counter or buckets (with its quantile φ), and the
    label names its selectors match on (so the example's extra labels stay clear of them)."""
    roles: dict[Key, str] = {}
    phis: dict[Key, float] = {}
    named: dict[Key, set[str]] = {}

    def visit(node: ast.Expr, func: str | None, phi: float | None) -> None:
        if isinstance(node, ast.Selector):
            key = series_key(node)
            named.setdefault(key, set()).update(m.name for m in node.matchers)
            role = "buckets" if phi is not None and node.metric and node.metric.endswith("_bucket") \
                else "counter" if func in COUNTER_FUNCS else "gauge"
            old = roles.get(key)
            if old and old != role:
                if "buckets" in (old, role):
                    raise Unsupported("a bucket series read two ways")
                role = "counter"
            roles[key] = role
            if phi is not None and role == "buckets":
                phis[key] = phi
            return
        if isinstance(node, ast.Call):
            func = node.func
            if node.func == "histogram_quantile":
                first = node.args[0]
                while isinstance(first, ast.Paren):
                    first = first.expr
                if not isinstance(first, ast.Number) or not 0 < first.value < 1:
                    raise Unsupported("histogram_quantile without a constant φ")
                phi = first.value
        elif not isinstance(node, (ast.RangeSelector, ast.Paren)):
            func = None
        for child in ast.children(node):
            visit(child, func, phi)

    visit(tree, None, None)
    return roles, phis, named


def _numbers(tree: ast.Expr) -> list[float]:
    found = {abs(n.value) for n in ast.walk(tree) if isinstance(n, ast.Number)
             and math.isfinite(n.value)}
    windows = {n.range_ms / 1000 for n in ast.walk(tree) if isinstance(n, ast.RangeSelector)}
    values = {0.0, 1.0, 10.0, 100.0}
    for c in found:
        values |= {c, c * 2, c / 2, c + 1, c * 10}
        if c >= 1:
            values.add(c - 1)
        for w in windows:
            values |= {c / w, 2 * c / w}
    return sorted(v for v in values if math.isfinite(v) and 0 <= v < 1e12)


def _options(role: str, values: list[float], phi: float | None) -> list[Series]:
    if role == "counter":
        return [Line(0.0, v) for v in values]
    if role == "buckets":
        return [Buckets(v / phi) for v in values if v > 0] if phi else []
    return [Line(v) for v in values]


def _holds(ev: Evaluator, tree: ast.Expr, times: list[float]):
    """Whether the condition returns a series, at each time (lazily: callers stop early)."""
    for t in times:
        got = ev.run(tree, t)
        if isinstance(got, float):
            raise Unsupported("a condition that returns a scalar")
        yield any(not math.isnan(v) for _, v in got)


def _grouped(tree: ast.Expr) -> list[str]:
    """Labels the expression keeps by name (`by (...)`, `on (...)`, `group_left (...)`): every
    example series carries them, so the alert's labels (and its annotations) have values."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Aggregation) and not node.without:
            found.update(node.grouping)
        elif isinstance(node, ast.Binary) and node.matching is not None and node.matching.on:
            found.update(node.matching.labels)
            found.update(node.matching.include)
    return sorted(found - {"le", "quantile", "__name__"})


def _labels(roles: dict[Key, str], named: dict[Key, set[str]], grouped: list[str]) -> dict[Key, Labels]:
    out = {}
    for key in roles:
        labels = {g: f"{g}-1" for g in grouped if g not in named[key]}
        labels.update(e for e in EXTRA if e[0] not in named[key])
        labels.update(dict(key[1]))
        out[key] = frozenset(labels.items())
    return out


def _selector(name: str, labels: Labels) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}}" if inner else name


def _notation(series: Series, count: int, step_s: float) -> str:
    assert isinstance(series, Line)
    if series.s == 0:
        return f"{number(series.a)}x{count}"
    return f"{number(series.a)}+{number(series.s * step_s)}x{count}"


def _candidate(assign: dict[Key, Series], labels: dict[Key, Labels], at_ms: int, step_ms: int) -> Candidate:
    count = at_ms // step_ms
    out: list[tuple[str, str]] = []
    for (name, _), series in sorted(assign.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))):
        key = next(k for k in assign if assign[k] is series and k[0] == name)
        ls = labels[key]
        if series is None:
            continue
        if isinstance(series, Buckets):
            bucket = Line(0.0, series.rate)
            plain = frozenset((k, v) for k, v in ls if k != "le")
            out.append((_selector(name, plain | {("le", number(series.le))}), _notation(bucket, count, step_ms / 1000)))
            out.append((_selector(name, plain | {("le", "+Inf")}), _notation(bucket, count, step_ms / 1000)))
        else:
            out.append((_selector(name, ls), _notation(series, count, step_ms / 1000)))
    return Candidate(tuple(sorted(out)), at_ms)


def inline(node: ast.Expr, records: dict[str, ast.Expr], seen: frozenset = frozenset()) -> ast.Expr:
    """The tree with each plainly read recorded series replaced by its rule's expression, so that
    examples feed the raw series the rule reads (as the generated tests evaluate it). A record
    read with matchers or an offset stays a series of its own."""
    if isinstance(node, ast.Selector):
        inner = records.get(node.metric or "")
        if inner is None or node.matchers or node.offset_ms or node.at is not None or node.metric in seen:
            return node
        return ast.Paren(inline(inner, records, seen | {node.metric}))
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple) and value and not isinstance(value[0], (str, ast.Matcher)):
            changes[f.name] = tuple(inline(v, records, seen) for v in value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, (ast.Matcher, ast.VectorMatching)):
            changes[f.name] = inline(value, records, seen)
    return dataclasses.replace(node, **changes) if changes else node


def plan(tree: ast.Expr, for_ms: int, step_ms: int, siblings: tuple[ast.Expr, ...] = (),
         history_ms: int | None = None) -> Plan | None:
    """Series that fire and series that stay quiet, as the evaluator predicts; None when the
    shape is beyond it. `siblings`: the other rules of the same alert name, which a test of
    that name sees too: they must stay quiet on both examples. `history_ms`: how far back the
    expression reads, recording rules included (default: its longest window), as the
    generated test's evaluation time counts it."""
    try:
        return _plan(tree, for_ms, step_ms, siblings, history_ms)
    except (Unsupported, ZeroDivisionError, OverflowError, ValueError, TypeError, IndexError):
        return None


def _plan(tree: ast.Expr, for_ms: int, step_ms: int, siblings: tuple[ast.Expr, ...],
          history_ms: int | None) -> Plan | None:
    roles, phis, named = _roles(tree)
    if not roles:
        return None
    labels = _labels(roles, named, _grouped(tree))
    history = ast.longest_range_ms(tree) if history_ms is None else history_ms
    at_ms = ceil_to(for_ms + history + 2 * step_ms, step_ms)
    if at_ms > MAX_EVAL_MS:
        return None
    first = max(at_ms - for_ms, at_ms - 6 * step_ms) if for_ms else at_ms
    times = [t / 1000 for t in range(first, at_ms + 1, step_ms)]
    values = _numbers(tree)
    keys = sorted(roles, key=lambda k: (k[0], sorted(k[1])))
    options = {k: _options(roles[k], values, phis.get(k)) for k in keys}

    tries = 0

    def check(assign: dict[Key, Series]):
        nonlocal tries
        tries += 1
        return _holds(Evaluator(assign, labels), tree, times)

    def siblings_quiet(assign: dict[Key, Series]) -> bool:
        ev = Evaluator(assign, labels)
        return not any(any(_holds(ev, other, times)) for other in siblings)

    fires = None
    for assign in _assignments(keys, options):
        if tries > MAX_TRIES:
            return None
        if all(check(assign)) and siblings_quiet(assign):
            fires = assign
            break
    if fires is None:
        return None
    quiet = None
    for key in keys:
        for option in options[key] + [None]:
            if option == fires[key] or tries > MAX_TRIES:
                continue
            changed = {**fires, key: option}
            if any(v is not None for v in changed.values()) and not any(check(changed)) \
                    and siblings_quiet(changed):
                quiet = changed
                break
        if quiet is not None:
            break
    if quiet is None:
        return None
    fired = _candidate(fires, labels, at_ms, step_ms)
    if not fired.series:
        # absent(): the series must be missing, yet an example holds one; a neighbour of it
        # (the same metric, other label values) shows that only the exact series counts.
        decoy = _decoy(quiet, labels, at_ms // step_ms)
        if decoy is None:
            return None
        fired = Candidate(decoy, at_ms)
    return Plan(fired, _candidate(quiet, labels, at_ms, step_ms))


def _decoy(quiet: dict[Key, Series], labels: dict[Key, Labels], count: int
           ) -> tuple[tuple[str, str], ...] | None:
    for key, series in quiet.items():
        if isinstance(series, Line) and key[1]:
            other = frozenset((k, v + "-other" if (k, v) in key[1] else v) for k, v in labels[key])
            return ((_selector(key[0], other), f"{number(series.a)}x{count}"),)
    return None


def _assignments(keys: list[Key], options: dict[Key, list[Series]]):
    """Every series at the same rank of its options first, then one series varied at a time,
    then (for few series) everything."""
    width = max(len(options[k]) for k in keys)
    bases = []
    for i in range(width):
        base = {k: options[k][min(i, len(options[k]) - 1)] if options[k] else None for k in keys}
        bases.append(base)
        yield base
    for base in bases:
        for key in keys:
            for option in options[key] + [None]:
                if option != base[key]:
                    yield {**base, key: option}
    if len(keys) <= 3:
        for combo in itertools.product(*[options[k] + [None] for k in keys]):
            yield dict(zip(keys, combo))
