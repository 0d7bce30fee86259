"""Model helpers for alert examples: promtool's series notation and when to evaluate."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from compiler.condition_text import stated_time
from compiler.expr import ast
from compiler.expr.timing import Lag, lag, lookback_ms
from compiler.model import Alert, Catalog, Example, RecordingRule
from compiler.names import series_names

_NUM = r"[-+]?(?:[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+|Inf|NaN)"
_ITEM = re.compile(rf"^(?:(?P<blank>_)(?:x(?P<bn>[0-9]+))?|(?P<stale>stale)|(?P<start>{_NUM})"
                   rf"(?:(?P<step>[-+][0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?)?x(?P<n>[0-9]+))?)$")

# One sample of an expanded series: a value, BLANK (no sample at that step) or STALE (a
# staleness marker, the series ends there).
BLANK = None
STALE = "stale"


def sample_count(values: str) -> int | None:
    """How many samples promtool's expanding notation yields (None when the text is invalid)."""
    total = 0
    for item in values.split():
        m = _ITEM.match(item)
        if not m:
            return None
        if m.group("blank"):
            total += int(m.group("bn")) if m.group("bn") else 1
        elif m.group("n") is not None:
            total += int(m.group("n")) + 1
        else:
            total += 1
    return total or None


def expand(values: str) -> list[float | str | None]:
    """Every sample, step by step, as promtool's loader expands the notation: `a+bxn` is the
    n+1 values a, a+b, ..., a+nb; `axn` repeats a n+1 times; `_xn` is n steps without a sample."""
    out: list[float | str | None] = []
    for item in values.split():
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"{item!r} is not promtool series notation")
        if m.group("blank"):
            out.extend([BLANK] * (int(m.group("bn")) if m.group("bn") else 1))
        elif m.group("stale"):
            out.append(STALE)
        else:
            start = float(m.group("start"))
            if m.group("n") is None:
                out.append(start)
                continue
            step = float(m.group("step") or 0)
            out.extend(start + i * step for i in range(int(m.group("n")) + 1))
    return out


def ceil_to(ms: int, step: int) -> int:
    return int(math.ceil(ms / step) * step)


def records_of(catalog: Catalog):
    """Name -> expression of the catalog's recording rules (None for other names)."""
    names = series_names(catalog)

    def expr_of(name: str) -> ast.Expr | None:
        entity = names.get(name)
        return entity.expr.tree if isinstance(entity, RecordingRule) else None
    return expr_of


@dataclass(frozen=True)
class Timing:
    """When the generated test of one example evaluates, and what it expects each time: the
    example's verdict at `eval_ms`; for a fires example with `starts:`, quiet at `before_ms` or a
    little earlier; for a quiet example, still quiet at `end_ms` (its last sample) or a little
    earlier. "A little earlier" lets a test evaluate at a coarser interval (see `checks`)."""

    step_ms: int
    eval_ms: int
    fires: bool
    before_ms: int | None = None
    end_ms: int | None = None
    why: str = ""                     # how eval_ms was chosen, for diagnostics

    def checks(self, grid_ms: int | None = None) -> list[tuple[int, bool]]:
        """(time, alert firing?) in time order, the flexible times moved back onto `grid_ms`."""
        grid = grid_ms or 1
        out = [(self.eval_ms, self.fires)]
        if self.before_ms is not None and self.before_ms // grid * grid > 0:
            out.insert(0, (self.before_ms // grid * grid, False))
        if self.end_ms is not None and self.end_ms // grid * grid > self.eval_ms:
            out.append((self.end_ms // grid * grid, False))
        return out


def allowed_ms(catalog: Catalog, alert: Alert) -> int:
    """How long after `starts:` the alert must fire: the delay its windows and `for` give it,
    or the duration its condition states when that is shorter (the test then shows the alert is
    late, as the detection-delay check warns)."""
    found = lag(alert.expr.tree, records_of(catalog), catalog.settings.evaluation_interval_ms) or Lag()
    chosen = found.window_ms + found.lookback_ms + alert.for_ms
    stated = stated_time(alert.condition) if alert.condition else None
    return chosen if stated is None else min(chosen, stated.total_ms)


def history_ms(catalog: Catalog, alert: Alert) -> int:
    """How far back the alert's expression reads (lookback_ms, through recording rules), once
    per alert."""
    return catalog.once(("examples.history", alert.id), lambda: lookback_ms(alert.expr.tree, records_of(catalog)))


def timing(catalog: Catalog, alert: Alert, example: Example) -> Timing:
    """The evaluation times of an example's test (`_timing`), computed once per catalog: the
    example check, the promtool tests and the Datadog verdicts all ask."""
    return catalog.once(("examples.timing", alert.id, example), lambda: _timing(catalog, alert, example))


def _timing(catalog: Catalog, alert: Alert, example: Example) -> Timing:
    """The evaluation times of an example's test. By default after `for` and the history the
    expression reads (range windows and offsets, through recording rules), two steps of margin,
    on a step boundary so that no sample sits at a lookback edge. A fires example with `starts:`
    is checked quiet one step before it and firing by starts + `allowed_ms`."""
    step = example.interval_ms or catalog.settings.evaluation_interval_ms
    if example.at_ms is not None:
        at, why = example.at_ms, "`at:`"
    elif example.fires and example.starts_ms is not None:
        at = ceil_to(example.starts_ms + allowed_ms(catalog, alert), step)
        why = "starts + the time its condition allows"
    else:
        at = ceil_to(alert.for_ms + history_ms(catalog, alert) + 2 * step, step)
        why = "for + the history it reads + 2 steps"
    before = example.starts_ms - step if example.fires and example.starts_ms is not None \
        and example.starts_ms >= step else None
    end = None if example.fires else span_ms(example, step)
    return Timing(step, at, example.fires, before, end, why)


def span_ms(example: Example, interval_ms: int) -> int:
    """Time of the last sample of the shortest series in the example."""
    step = example.interval_ms or interval_ms
    counts = [sample_count(v) or 1 for _, v in example.series]
    return (min(counts) - 1) * step

