"""Durations as Prometheus spells them: parsing (with Prometheus' rules) and canonical printing."""
from __future__ import annotations

import re
from functools import lru_cache

_UNITS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000, "h": 3600_000,
          "m": 60_000, "s": 1000, "ms": 1}
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_PART = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")


class DurationError(ValueError):
    """The text is not a Prometheus duration."""


def parse_ms(text: str) -> int:
    """Milliseconds in a Prometheus duration; units must appear largest first, each once."""
    if text == "0":
        return 0
    pos, total, last = 0, 0, -1
    if not text:
        raise DurationError("empty duration")
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m:
            raise DurationError(f"{text!r} is not a duration")
        idx = _ORDER.index(m.group(2))
        if idx <= last:
            raise DurationError(f"{text!r}: units must go from largest to smallest, each once")
        last = idx
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


@lru_cache(maxsize=1024, typed=True)
def format_ms(ms: int) -> str:
    """Canonical spelling: 90000 -> '1m30s', 0 -> '0s'. Remembered: a catalog's routing trees
    spell the same few timings thousands of times on every compile."""
    if ms == 0:
        return "0s"
    out = []
    # Weeks only for a whole number of weeks of days: 30d stays 30d (not 4w2d), 14d is 2w.
    weeks = (ms % _UNITS["y"]) // _UNITS["d"] % 7 == 0
    for unit in _ORDER:
        size = _UNITS[unit]
        if unit == "w" and not weeks:
            continue
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)
