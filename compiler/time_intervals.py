"""Time intervals (model helpers): named active hours as the catalog writes them, normalised to
Alertmanager's `time_intervals` form, and whether a moment falls inside (the semantics of
Alertmanager's timeinterval package, which Grafana's mute timings share).

A catalog interval is one or more specs; a moment is inside when any spec holds. A spec holds when
every field it has holds: `times` (start inclusive, end exclusive, minutes of the day),
`weekdays`, `days_of_month` (negative counts from the month's end), `months`, `years`, all read
in `location` (default UTC).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_TIME = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_WALL_CLOCK = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})$")


class IntervalError(ValueError):
    """A field value that is not a valid time interval part; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Spec:
    """One Alertmanager TimeInterval, normalised: times as (start, end) minutes of the day,
    the other fields as Alertmanager spells them ("monday:friday", "1:7", "-1")."""

    times: tuple[tuple[int, int], ...] = ()
    weekdays: tuple[str, ...] = ()
    days_of_month: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    location: str = ""

    def data(self) -> dict[str, object]:
        """As `time_intervals` entries are written (Alertmanager's and Grafana's mute timings)."""
        out: dict[str, object] = {}
        if self.times:
            out["times"] = [{"start_time": clock(a), "end_time": clock(b)} for a, b in self.times]
        for key in ("weekdays", "days_of_month", "months", "years"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.location:
            out["location"] = self.location
        return out


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str, field: str) -> int:
    m = _TIME.match(text.strip())
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise IntervalError(field, f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    return int(m.group(1)) * 60 + int(m.group(2))


def _times(items: list, field: str) -> tuple[tuple[int, int], ...]:
    """`"07:00-23:00"` or `{start_time, end_time}`; a range past midnight (`"22:00-06:00"`) is
    split in two, since Alertmanager's ranges end on the day they start."""
    out: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        at = f"{field}.{i}"
        if isinstance(item, dict):
            start, end = item.get("start_time", ""), item.get("end_time", "")
        else:
            start, _, end = str(item).partition("-")
        a, b = _minutes(str(start), at), _minutes(str(end), at)
        if a == b:
            raise IntervalError(at, f"the range {clock(a)}-{clock(b)} is empty")
        out += [(a, b)] if a < b else [(a, 24 * 60)] + ([(0, b)] if b else [])
    return tuple(out)


def _named_range(text: str, names: tuple[str, ...], field: str) -> str:
    parts = str(text).strip().lower().split(":")
    ends = parts[0].split("-")
    if len(parts) == 1 and len(ends) == 2 and all(e.strip() in names for e in ends):
        # Alertmanager writes a range with a colon; a dash reads naturally and is the usual slip.
        raise IntervalError(field, f"{text!r} is a range: write it {ends[0].strip()}:{ends[1].strip()}")
    if len(parts) > 2:
        raise IntervalError(field, f"{text!r} is not a name or a range name:name")
    index = []
    for part in parts:
        if part.isdigit() and names is MONTHS and 1 <= int(part) <= 12:
            index.append(int(part) - 1)
        elif part in names:
            index.append(names.index(part))
        else:
            raise IntervalError(field, f"{part!r} is not one of {', '.join(names)}")
    if len(index) == 2 and index[0] > index[1]:
        raise IntervalError(field, f"{text!r} runs backwards")
    return ":".join(names[i] for i in index)


def _number_range(text: object, field: str, low: int, high: int, signed: bool) -> str:
    parts = str(text).strip().split(":")
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise IntervalError(field, f"{text!r} is not a number or a range a:b") from None
        if not (low <= abs(value) <= high) or (value < 0 and not signed):
            raise IntervalError(field, f"{value} is outside {'-' if signed else ''}{low}..{high}")
        values.append(value)
    if len(values) > 2 or (len(values) == 2 and (values[0] < 0) != (values[1] < 0)):
        raise IntervalError(field, f"{text!r} mixes a day counted from the start with one from the end")
    if len(values) == 2 and values[0] > values[1]:
        raise IntervalError(field, f"{text!r} runs backwards")
    return ":".join(str(v) for v in values)


def location_valid(name: str) -> bool:
    if name in ("UTC", ""):
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_spec(d: dict) -> Spec:
    """One catalog spec (already shaped by the schema) normalised; IntervalError names the field."""
    location = d.get("location", "")
    if location and (location == "Local" or not location_valid(location)):
        raise IntervalError("location", f"{location!r} is not an IANA time zone (such as "
                            "Asia/Jakarta or UTC)")
    return Spec(
        times=_times(d.get("times", []), "times"),
        weekdays=tuple(_named_range(w, WEEKDAYS, f"weekdays.{i}") for i, w in enumerate(d.get("weekdays", []))),
        days_of_month=tuple(_number_range(v, f"days_of_month.{i}", 1, 31, True)
                            for i, v in enumerate(d.get("days_of_month", []))),
        months=tuple(_named_range(m, MONTHS, f"months.{i}") for i, m in enumerate(d.get("months", []))),
        years=tuple(_number_range(y, f"years.{i}", 1, 9999, False) for i, y in enumerate(d.get("years", []))),
        location=location,
    )


def is_wall_clock(text: object) -> bool:
    return isinstance(text, str) and _WALL_CLOCK.match(text) is not None


def wall_clock(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- whether a moment is inside ----------------------------------------------------------------

def _in_ranges(value: int, ranges: tuple[str, ...], lookup) -> bool:
    for text in ranges:
        parts = [lookup(p) for p in text.split(":")]
        if parts[0] <= value <= parts[-1]:
            return True
    return False


def spec_contains(spec: Spec, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(spec.location or "UTC"))
    if spec.times:
        minute = local.hour * 60 + local.minute
        if not any(a <= minute < b for a, b in spec.times):
            return False
    weekday = (local.weekday() + 1) % 7  # Python's Monday=0; Alertmanager's Sunday=0
    if spec.weekdays and not _in_ranges(weekday, spec.weekdays, WEEKDAYS.index):
        return False
    if spec.days_of_month:
        last = calendar.monthrange(local.year, local.month)[1]
        ok = False
        for text in spec.days_of_month:
            bounds = [int(p) for p in text.split(":")]
            bounds = [b if b > 0 else last + b + 1 for b in bounds]
            ok = ok or bounds[0] <= local.day <= bounds[-1]
        if not ok:
            return False
    if spec.months and not _in_ranges(local.month, spec.months, lambda p: MONTHS.index(p) + 1):
        return False
    if spec.years and not _in_ranges(local.year, spec.years, int):
        return False
    return True


def contains(specs: tuple[Spec, ...], moment: datetime) -> bool:
    return any(spec_contains(s, moment) for s in specs)
