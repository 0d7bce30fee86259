"""Model helpers: the durations an alert's `condition:` text states (English and Indonesian)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from compiler.durations import DurationError, parse_ms

_UNIT_MS = {
    "ms": 1,
    "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000, "detik": 1000,
    "m": 60_000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000,
    "menit": 60_000,
    "h": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
    "jam": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000, "hari": 86_400_000,
    "w": 604_800_000, "week": 604_800_000, "weeks": 604_800_000, "minggu": 604_800_000,
}
_AMOUNT = (r"(?:(?:>=?|more\s+than|over|at\s+least|lebih\s+dari|minimal)\s*)?"
           r"(?P<n>[0-9]+(?:[.,][0-9]+)?)\s*(?P<unit>" + "|".join(sorted(_UNIT_MS, key=len, reverse=True))
           + r")\b")
# "for 30m", "selama 30 menit": how long the condition must hold.
_HOLD = re.compile(r"(?<![\w])(?:for|selama)\s+" + _AMOUNT, re.I)
# "in 24h", "within 10 minutes", "dalam 10 menit", "over the last 1h": the window it is measured over.
_WINDOW = re.compile(r"(?<![\w])(?:in|within|over|during|dalam)\s+(?:the\s+(?:last|past)\s+)?" + _AMOUNT, re.I)
# A PromQL range written into the text: rate(x[10m]).
_RANGE = re.compile(r"\[([0-9a-z]+)\]")


@dataclass(frozen=True)
class StatedTime:
    """What a condition text says about time: how long it must hold, and over what window."""

    hold_ms: int = 0
    window_ms: int = 0

    @property
    def total_ms(self) -> int:
        """The longest the text allows between the start of the trouble and the alert."""
        return self.hold_ms + self.window_ms


def _amount(m: re.Match) -> int:
    return int(float(m.group("n").replace(",", ".")) * _UNIT_MS[m.group("unit").lower()])


def stated_time(text: str) -> StatedTime | None:
    """The durations the text states, or None when it states none. A number compared with
    (`latency > 5 menit`, `> 26 hours ago`) is a threshold, not a duration, and is not read."""
    hold = max((_amount(m) for m in _HOLD.finditer(text)), default=0)
    window = max((_amount(m) for m in _WINDOW.finditer(text)), default=0)
    for m in _RANGE.finditer(text):
        try:
            window = max(window, parse_ms(m.group(1)))
        except DurationError:
            continue
    if not hold and not window:
        return None
    return StatedTime(hold, window)
