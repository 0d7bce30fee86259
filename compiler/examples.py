"""Model helpers for alert examples: promtool's series notation and when to evaluate."""
from __future__ import annotations

import math
import re

from compiler.expr import ast
from compiler.model import Alert, Example

_NUM = r"[-+]?(?:[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+|Inf|NaN)"
_ITEM = re.compile(rf"^(?:(?P<blank>_)(?:x(?P<bn>[0-9]+))?|stale|(?P<start>{_NUM})"
                   rf"(?:(?P<step>[-+][0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?)?x(?P<n>[0-9]+))?)$")


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


def ceil_to(ms: int, step: int) -> int:
    return int(math.ceil(ms / step) * step)


def eval_time_ms(alert: Alert, example: Example, interval_ms: int) -> int:
    """When the generated test evaluates: after `for` and the longest window have elapsed, two
    intervals of margin, on an interval boundary (so no sample sits at a lookback edge)."""
    if example.at_ms is not None:
        return example.at_ms
    step = example.interval_ms or interval_ms
    return ceil_to(alert.for_ms + ast.longest_range_ms(alert.expr.tree) + 2 * step, step)


def span_ms(example: Example, interval_ms: int) -> int:
    """Time of the last sample of the shortest series in the example."""
    step = example.interval_ms or interval_ms
    counts = [sample_count(v) or 1 for _, v in example.series]
    return (min(counts) - 1) * step


def expand(values: str) -> list[float | None]:
    """The samples promtool reads from its expanding notation, one per interval: `a+bxn` is the
    n+1 values a, a+b, ..., a+nb; `_` (and `_xn`) a step without a sample; `stale` a step where
    the series ends (None either way: nothing is scraped then). Raises ValueError on bad text."""
    out: list[float | None] = []
    for item in values.split():
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"not promtool notation: {item!r}")
        if m.group("blank"):
            out += [None] * (int(m.group("bn")) if m.group("bn") else 1)
        elif m.group("start") is None:
            out.append(None)  # stale
        else:
            start = float(m.group("start"))
            step = float(m.group("step") or 0)
            count = int(m.group("n")) if m.group("n") is not None else 0
            out += [start + i * step for i in range(count + 1)]
    return out
