"""Differential testing of the Datadog translation against Prometheus: for a PromQL alert, series
are generated, promtool says whether (and for which label sets) the rule fires, and the Datadog
evaluator says whether (and for which groups) its translated monitor alerts, on the points the
Agent would store for the same series. Used by tests/test_datadog_differential.py (a fixed sample
of the public corpus) and tests/benchmarks/bench_datadog_coverage.py (all of it).

The corpus declares no metric types or labels, so they are inferred as a catalog would state
them: a metric read with rate()/increase() or named `*_total` is a counter, `*_bucket` inside
histogram_quantile() a histogram, anything else a gauge; its labels are those its matchers and
the expression's by/on clauses name, and every series also carries the scrape labels `job` and
`instance`, which the Datadog settings here declare the Agent adds (scrape_labels).

Series: per metric, one label set per selector that matches it (and one that matches none),
on two instances; counters grow at a constant, non-zero rate (under `or vector(0)` they may also
be missing, stand still or stop counting); gauges hold a value drawn from
around the thresholds the expression compares with, some changing once before the evaluation
(never within 3 minutes of it, as the catalog's examples keep clear of the lookback edges).
A gauge used as a denominator is never 0: Prometheus divides to ±Inf there and Datadog has no
value, a difference the README states.
"""
from __future__ import annotations

import random
import re
import subprocess
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from compiler.dialects.datadog_monitor import MonitorQuery, translate
from compiler.dialects.datadog_names import Naming, series_for
from compiler.durations import format_ms
from compiler.expr import ast
from compiler.expr.parse import ParseError, parse
from compiler.model import DatadogSettings
from compiler.targets.datadog import agent
from compiler.targets.datadog.evaluate import Options, Outcome, composite, evaluate

MIN = 60_000
SCRAPE = ("job", "instance")
DD = DatadogSettings(enabled=True, histogram_buckets_as_distributions=True,
                     collect_counters_with_distributions=True, scrape_labels=SCRAPE)
COUNTING = ("rate", "increase", "irate", "resets")
BUCKETS = (0.1, 0.5, 1.0, 5.0, float("inf"))


@dataclass(frozen=True)
class Rule:
    name: str
    expr: str
    for_ms: int


@dataclass
class Case:
    """One rule: its tree, naming, translation, and the scenarios it runs on."""

    rule: Rule
    tree: ast.Expr
    naming: Naming
    kinds: dict[str, str]
    labels: dict[str, tuple[str, ...]]
    query: MonitorQuery | None
    problems: list = field(default_factory=list)


def _duration(text: str) -> int:
    total = 0
    for n, unit in re.findall(r"(\d+)([smhdw])", text or "0s"):
        total += int(n) * {"s": 1000, "m": MIN, "h": 60 * MIN, "d": 1440 * MIN, "w": 10080 * MIN}[unit]
    return total


def corpus(root: Path) -> list[Rule]:
    out = []
    for f in sorted(root.rglob("*.yml")):
        for group in (yaml.safe_load(f.read_text()) or {}).get("groups", []):
            for r in group.get("rules") or []:
                out.append(Rule(f"{f.parent.name}/{r.get('alert')}", str(r["expr"]),
                                _duration(str(r.get("for", "0s")))))
    return out


def case(rule: Rule, pending: str = "refuse") -> Case | None:
    """The rule with inferred metric types and labels, translated; None if it does not parse."""
    try:
        tree = parse(rule.expr)
    except ParseError:
        return None
    counted = {n.args[0].selector.metric for n in ast.walk(tree) if isinstance(n, ast.Call)
               and n.func in COUNTING and n.args and isinstance(n.args[0], ast.RangeSelector)}
    histograms = {n.args[1] for n in ast.walk(tree) if isinstance(n, ast.Call)
                  and n.func == "histogram_quantile" and len(n.args) == 2}
    bucket_metrics = {m for h in histograms for m in ast.metrics(h) if m.endswith("_bucket")}
    grouping: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Aggregation):
            grouping |= set(n.grouping)
        if isinstance(n, ast.Binary) and n.matching is not None:
            grouping |= set(n.matching.labels) | set(n.matching.include)
    labels: dict[str, set[str]] = defaultdict(set)
    for n in ast.walk(tree):
        if isinstance(n, ast.Selector) and n.metric:
            labels[n.metric] |= {m.name for m in n.matchers if m.name != "__name__"} | grouping
    series, kinds, declared = {}, {}, {}
    for metric in sorted(set(ast.metrics(tree))):
        names = tuple(sorted(labels[metric] - set(SCRAPE) - {"le"}))
        if metric in bucket_metrics:
            kinds[metric] = "histogram"
            series.update(series_for(DD, "x", metric[:-len("_bucket")], "histogram", "", names))
        else:
            kinds[metric] = "counter" if metric in counted or metric.endswith("_total") else "gauge"
            series.update(series_for(DD, "x", metric, kinds[metric], "", names))
        declared[metric] = names
    naming = Naming(series, {}, SCRAPE)
    found, problems = translate(tree, rule.for_ms, naming, MIN, pending)
    return Case(rule, tree, naming, kinds, declared, found, problems)


# --- series ---------------------------------------------------------------------------------------
def _satisfying(m: ast.Matcher) -> str | None:
    """A label value the matcher accepts (a guess for regexes, checked)."""
    if m.op == "=":
        return m.value
    if m.op in ("!=", "!~"):
        return "other"
    pattern = m.value
    first = re.split(r"(?<!\\)\|", pattern.strip("^$()"))[0]
    guess = re.sub(r"\\d|\[0-9\]", "5", first)
    guess = re.sub(r"\[([^\]^])[^\]]*\]", r"\1", guess)
    guess = re.sub(r"\.\*|\.\+", "x", guess).replace(".", "0").replace("\\", "")
    guess = re.sub(r"[()?+*{}^$]", "", guess)
    for candidate in (guess, first, "500", "x", "true", "1", "error"):
        try:
            if candidate and re.fullmatch(pattern, candidate) and re.fullmatch(r"[a-z0-9_.\-/]+", candidate):
                return candidate
        except re.error:
            return None
    return None


def _label_sets(c: Case, metric: str) -> list[dict[str, str]] | None:
    """One label set per selector of the metric (meeting its matchers), and one that meets none."""
    names = c.labels[metric]
    sets = []
    for n in ast.walk(c.tree):
        if isinstance(n, ast.Selector) and n.metric == metric:
            chosen = {k: "v1" for k in names}
            for m in n.matchers:
                if m.name in SCRAPE or m.name == "__name__":
                    continue
                value = _satisfying(m)
                if value is None:
                    return None
                chosen[m.name] = value
            if chosen not in sets:
                sets.append(chosen)
    other = {k: "other" for k in names}
    if names and other not in sets:
        sets.append(other)
    return sets or [{}]


def _denominators(tree: ast.Expr) -> set[str]:
    return {m for n in ast.walk(tree) if isinstance(n, ast.Binary) and n.op == "/"
            for m in ast.metrics(n.rhs)}


def _numbers(tree: ast.Expr) -> list[float]:
    found = [abs(n.value) for n in ast.walk(tree) if isinstance(n, ast.Number) and n.value == n.value]
    return [x for x in found if x not in (float("inf"),)] or [1.0]


def _segments(values: list[float]) -> str:
    """Values in promtool's notation, runs of one value as `vxN`."""
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        v = values[i]
        text = repr(int(v)) if v == int(v) else repr(v)
        out.append(f"{text}x{j - i}" if j > i else text)
        i = j + 1
    return " ".join(out)


def eval_time(c: Case) -> int:
    return ((c.rule.for_ms + ast.longest_range_ms(c.tree) + 6 * MIN) // MIN) * MIN


def scenario(c: Case, rng: random.Random) -> dict[str, str] | None:
    """Series (promtool notation) for one run of the rule."""
    at = eval_time(c)
    steps = at // MIN + 2
    numbers = _numbers(c.tree)
    denominators = _denominators(c.tree)
    # `or vector(0)`: a counter may also be missing altogether, stand still, or stop counting.
    sparse = any(isinstance(n, ast.Call) and n.func == "vector" for n in ast.walk(c.tree))
    gone = {m for m, k in sorted(c.kinds.items()) if k == "counter" and sparse and rng.random() < 0.3}
    out: dict[str, str] = {}
    for metric, kind in sorted(c.kinds.items()):
        sets = _label_sets(c, metric)
        if sets is None:
            return None
        for labels in sets:
            for instance in ("a", "b"):
                full = {**labels, "job": "j", "instance": instance}
                if kind == "histogram":
                    base = {k: v for k, v in full.items() if k != "le"}
                    total = 0.0
                    for le in BUCKETS:
                        total += rng.choice((0, 1, 5, 20))
                        sel = _text(metric, {**base, "le": "+Inf" if le == float("inf") else repr(le)})
                        out[sel] = f"0+{total}x{steps}" if total else f"0x{steps}"
                    continue
                if kind == "counter":
                    if metric not in gone:
                        out[_text(metric, full)] = _counter(c, rng, steps, sparse)
                    continue
                t = rng.choice(numbers)
                pool = [t * 0.5, t * 0.9, t * 1.1, t * 2, 1, 3, 100]
                if metric not in denominators:
                    pool += [0, 0]
                a, b = rng.choice(pool), rng.choice(pool)
                if rng.random() < 0.5 or a == b:
                    out[_text(metric, full)] = _segments([a] * (steps + 1))
                else:
                    change = rng.randint(max(1, at // MIN - (c.rule.for_ms // MIN) - 3), at // MIN - 3)
                    out[_text(metric, full)] = _segments([a] * change + [b] * (steps + 1 - change))
    return out


def _counter(c: Case, rng: random.Random, steps: int, sparse: bool) -> str:
    """A counter growing at a constant rate; for `or vector(0)` also one standing still, or one
    that stops counting at a step at least 3 minutes from the window's start (the Agent reports
    a count at its next check run, seconds after Prometheus scrapes it)."""
    rate = rng.choice((1, 3, 10, 30, 100, 300, 1000))
    shape = rng.choice(("grows", "flat", "stops")) if sparse else "grows"
    if shape == "flat":
        return f"{rate}x{steps}"
    edge = (eval_time(c) - ast.longest_range_ms(c.tree)) // MIN
    stops = [k for k in range(1, steps - 1) if abs(k - edge) >= 3]
    if shape == "grows" or not stops:
        return f"0+{rate}x{steps}"
    k = rng.choice(stops)
    return f"0+{rate}x{k} {rate * k}x{steps - k - 1}"


def _text(metric: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}" if inner else metric


# --- verdicts ---------------------------------------------------------------------------------
def prometheus(runs: list[tuple[str, Case, dict[str, str]]], promtool: str,
               batch: int = 25) -> dict[str, list[dict]]:
    """For each run (an id, its case, its series): the label sets firing at its evaluation time.
    promtool evaluates every rule of its rule files in every test, so runs go in batches (and
    two at a time)."""
    chunks = [runs[i:i + batch] for i in range(0, len(runs), batch)]
    out: dict[str, list[dict]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(lambda chunk: _promtool(chunk, promtool), chunks):
            out.update(found)
    return out


def _promtool(runs: list[tuple[str, Case, dict[str, str]]], promtool: str) -> dict[str, list[dict]]:
    rules, tests = [], []
    for rid, c, series in runs:
        rule = {"alert": rid, "expr": c.rule.expr}
        if c.rule.for_ms:
            rule["for"] = format_ms(c.rule.for_ms)
        rules.append(rule)
        tests.append({"name": rid, "interval": "1m",
                      "input_series": [{"series": s, "values": v} for s, v in sorted(series.items())],
                      "alert_rule_test": [{"eval_time": format_ms(eval_time(c)), "alertname": rid,
                                           "exp_alerts": []}]})
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
        (Path(tmp) / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"],
                                                              "evaluation_interval": "1m",
                                                              "tests": tests}))
        proc = subprocess.run([promtool, "test", "rules", "tests.yaml"], cwd=tmp,  # noqa
                              capture_output=True, text=True, timeout=600)
    text = proc.stdout + proc.stderr
    if "FAILED" not in text and proc.returncode != 0:
        raise RuntimeError(text[-3000:] + (Path(tmp) / "tests.yaml").read_text()[:3000]
                           if Path(tmp).exists() else text[-3000:])
    fired: dict[str, list[dict]] = {rid: [] for rid, _, _ in runs}
    current = None
    for line in text.splitlines():
        m = re.match(r"\s*alertname: (\S+), time:", line)
        if m:
            current = m.group(1)
        m = re.match(r"\s*Labels:\{(.*)\}", line)
        if m and current in fired:
            fired[current].append(dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1))))
    return fired


def datadog(c: Case, series: dict[str, str]) -> Outcome:
    """The translated monitor's outcome at the evaluation time, on what the Agent stores."""
    assert c.query is not None
    at = eval_time(c)
    data = agent.store(tuple(series.items()), c.naming, MIN, at)
    if not c.query.components:
        return evaluate(c.query.query, data, at, _options(c.query))
    parts = {n: evaluate(q.query, data, at, _options(q)) for n, q in c.query.components}
    return composite(c.query.query, parts)


def _options(q: MonitorQuery) -> Options:
    return Options(notify_no_data=q.no_data, require_full_window=q.full_window,
                   on_missing_data="default" if q.missing_as_zero else "")


@dataclass(frozen=True)
class Difference:
    rule: str
    series: dict
    prometheus: int   # firing label sets
    datadog: int      # alerting groups (or 1 for a monitor without groups)


def compare(cases: list[Case], runs_per_case: int, promtool: str, seed: int = 7
            ) -> tuple[int, list[Difference]]:
    """(runs compared, differences) over every translated case."""
    rng = random.Random(seed)
    runs = []
    for i, c in enumerate(cases):
        for k in range(runs_per_case):
            series = scenario(c, rng)
            if series is not None:
                runs.append((f"R{i}_{k}", c, series))
    fired = prometheus(runs, promtool)
    differences = []
    for rid, c, series in runs:
        outcome = datadog(c, series)
        prom = fired[rid]
        dd_groups = len(outcome.alerting) if outcome.alerting else int(outcome.notifies)
        grouped = bool(c.query and c.query.grouping)
        if bool(prom) != outcome.notifies or (grouped and prom and len(prom) != dd_groups):
            differences.append(Difference(c.rule.name, series, len(prom), dd_groups))
    return len(runs), differences
