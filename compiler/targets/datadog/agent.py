"""Datadog target, Agent model: what the Agent's OpenMetrics check would store for an example's
series (promtool notation), as points of Datadog metrics with tags.

The example's samples are what the target exposes: sample i from i*step until the next step (none
while a sample is `_` or `stale`). The check scrapes every `check_interval` (default 15 s,
the Agent's `min_collection_interval`), a third of an interval after the step boundaries, so no
point sits on the edge of a whole-minute window. Each run submits, per series:

- a gauge: its value (https://docs.datadoghq.com/metrics/agent_metrics_submission/, gauge());
- a counter, `_count`/`_sum`: a monotonic count, the delta since the previous run, 0 included.
  The first run submits nothing; after it the check sets `flush_first_value`, so a series first
  seen later counts its whole value, and a lower value (a reset) counts as the new value
  (datadog-agent pkg/metrics/monotonic_count.go, documented there; the page above describes the
  plain form);
- histogram buckets with `histogram_buckets_as_distributions`: each bucket's count delta
  (non-cumulative, `(previous le, le]`) into the distribution named after the histogram, spread
  linearly over the bucket (https://docs.datadoghq.com/integrations/guide/prometheus-metrics/);
- a summary's quantiles: the `.quantile` gauge, tagged `quantile:`.

Labels become tags as Datadog stores them (lowercase, other characters as `_`: see
datadog_filters.normalize); the `le` of a distribution's buckets does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from compiler.dialects.datadog_filters import normalize
from compiler.dialects.datadog_names import BUCKETS, COUNT, DISTRIBUTION, GAUGE, QUANTILE, Naming
from compiler.example_labels import parse_series
from compiler.examples import STALE, expand
from compiler.expr import ast

CHECK_INTERVAL_MS = 15_000
Bucket = tuple[float, float, float]  # lower, upper, count
Samples = tuple[float | None, ...]  # an exposed series' samples, step by step (None: none)


@dataclass
class Stored:
    """One Datadog timeseries: a metric, its tags, and its points (time in ms, value; for a
    distribution, the buckets counted at that run)."""

    metric: str
    kind: str  # gauge | count | distribution
    tags: dict[str, str]
    points: list[tuple[int, float]] = field(default_factory=list)
    buckets: list[tuple[int, list[Bucket]]] = field(default_factory=list)


class AgentError(ValueError):
    """An example series the model cannot turn into Datadog points."""


def _selector(text: str) -> ast.Selector:
    node = ast.without_parens(parse_series(text))
    if not isinstance(node, ast.Selector) or not node.metric:
        raise AgentError(f"example series {text!r} is not a plain series")
    return node


# Examples repeat their series' keys and values (an alert's fires and quiet ones, alerts alike):
# each text is read once, by what it says alone.
@lru_cache(maxsize=8192)
def _read(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    sel = _selector(text)
    return sel.metric or "", tuple((m.name, m.value) for m in sel.matchers)


@lru_cache(maxsize=8192)
def _values(text: str) -> tuple[float | None, ...]:
    return tuple(None if v == STALE else v for v in expand(text))  # type: ignore[misc]


@lru_cache(maxsize=8192)
def _normalized(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple({normalize(k): normalize(v) for k, v in labels}.items())


def _tags(labels: dict[str, str]) -> dict[str, str]:
    return dict(_normalized(tuple(labels.items())))


def _exposed(values: Samples, step_ms: int, t: int) -> float | None:
    i = t // step_ms
    return values[i] if 0 <= i < len(values) else None


class _Monotonic:
    """The Agent's monotonic count for one series, run by run."""

    def __init__(self) -> None:
        self.previous: float | None = None

    def run(self, value: float, first_run: bool) -> float | None:
        before, self.previous = self.previous, value
        if before is None:
            return None if first_run else value  # flush_first_value after the first run
        return value - before if value >= before else value


@dataclass(frozen=True)
class Exposed:
    """An example's series as the target exposes them, read once: each with the Datadog
    timeseries it becomes and its samples step by step (None: no sample); a histogram's buckets
    by `le`, per timeseries."""

    gauges: tuple[tuple[Stored, Samples], ...]
    counts: tuple[tuple[Stored, Samples], ...]
    histograms: tuple[tuple[tuple[str, tuple], dict[float, Samples]], ...]


def exposed(series: tuple[tuple[str, str], ...], naming: Naming) -> Exposed:
    """The example's series read (AgentError for one the model cannot take)."""
    gauges: list[tuple[Stored, Samples]] = []
    counts: list[tuple[Stored, Samples]] = []
    histograms: dict[tuple[str, tuple], dict[float, Samples]] = {}
    for text, values_text in series:
        metric, matchers = _read(text)
        labels = dict(matchers)
        found = naming.series.get(metric)
        if found is None:
            continue  # not collected for Datadog (a recording rule's name, another system's)
        try:
            values = _values(values_text)
        except ValueError as exc:
            raise AgentError(str(exc)) from None
        if found.kind in (GAUGE, QUANTILE):
            gauges.append((Stored(found.name, "gauge", _tags(labels)), values))
        elif found.kind in (COUNT, BUCKETS):
            tags = _tags(labels)
            if found.kind == BUCKETS and "le" in labels:
                tags = {k: v for k, v in tags.items() if k != "le"} | {"upper_bound": tags["le"]}
            counts.append((Stored(found.name, "count", tags), values))
        elif found.kind == DISTRIBUTION:
            le = labels.pop("le", None)
            if le is None:
                raise AgentError(f"bucket series {text!r} has no `le` label")
            key = (found.name, tuple(sorted(labels.items())))
            histograms.setdefault(key, {})[float(le)] = values
    return Exposed(tuple(gauges), tuple(counts), tuple(sorted(histograms.items())))


def store(series: tuple[tuple[str, str], ...], naming: Naming, step_ms: int, until_ms: int,
          check_ms: int = CHECK_INTERVAL_MS, since_ms: int = 0) -> list[Stored]:
    """Every Datadog timeseries the check stores for the example's series, up to `until_ms`."""
    return sample(exposed(series, naming), step_ms, until_ms, check_ms, since_ms)


def sample(series: Exposed, step_ms: int, until_ms: int, check_ms: int = CHECK_INTERVAL_MS,
           since_ms: int = 0) -> list[Stored]:
    """Every Datadog timeseries the check stores for the exposed series, up to `until_ms`; only
    the points from `since_ms` on (the same points: a count's delta still reads the run before),
    but every timeseries, even one left without a point."""
    runs = range(check_ms // 3, until_ms + 1, check_ms)
    first = max(0, -(-(since_ms - check_ms // 3) // check_ms))  # the index of the first run kept
    out: list[Stored] = []
    for model, values in series.gauges:
        n = len(values)  # runs are never before 0: _exposed, inline
        stored = Stored(model.metric, model.kind, model.tags, [
            (t, v) for t in runs[first:] if (i := t // step_ms) < n and (v := values[i]) is not None])
        out.append(stored)
    for model, values in series.counts:
        stored = Stored(model.metric, model.kind, model.tags)
        previous = next((v for t in reversed(runs[:first])
                         if (v := _exposed(values, step_ms, t)) is not None), None)
        n = len(values)
        for k in range(first, len(runs)):
            t = runs[k]
            v = values[i] if (i := t // step_ms) < n else None
            if v is None:
                continue
            # _Monotonic.run, inline: the first run submits nothing, a reset counts its value
            if previous is not None:
                stored.points.append((t, v - previous if v >= previous else v))
            elif k:
                stored.points.append((t, v))
            previous = v
        out.append(stored)
    for (name, labels), by_le in series.histograms:
        out.append(_distribution(name, dict(labels), by_le, runs, step_ms, first))
    return out


def _distribution(name: str, labels: dict[str, str], by_le: dict[float, Samples],
                  runs: range, step_ms: int, first: int = 0) -> Stored:
    bounds = sorted(by_le)
    states = {le: _Monotonic() for le in bounds}
    stored = Stored(name, "distribution", _tags(labels))
    for t in reversed(runs[:first]):  # the counts of the last whole run before the first kept
        cumulative = [_exposed(by_le[le], step_ms, t) for le in bounds]
        if all(c is not None for c in cumulative):
            for le, c, below in zip(bounds, cumulative, [0.0, *cumulative]):
                states[le].previous = c - below  # type: ignore[operator]
            break
    for k in range(first, len(runs)):
        t = runs[k]
        cumulative = [_exposed(by_le[le], step_ms, t) for le in bounds]
        if any(c is None for c in cumulative):
            continue
        buckets: list[Bucket] = []
        below = 0.0
        for i, le in enumerate(bounds):
            own = cumulative[i] - below  # type: ignore[operator]
            below = cumulative[i]  # type: ignore[assignment]
            delta = states[le].run(own, k == 0)
            lower = bounds[i - 1] if i else (0.0 if le > 0 else le)
            if delta:
                buckets.append((lower, le, delta))
        if k > 0:
            stored.buckets.append((t, buckets))
    return stored
