"""Runbooks target, active hours in words: a time interval as the service's language says it
("Monday to Friday, 07:00-23:00 (Asia/Jakarta)" / "Senin sampai Jumat, 07:00-23:00 ...")."""
from __future__ import annotations

from compiler.model import TimeInterval
from compiler.time_intervals import MONTHS, WEEKDAYS, Spec, clock

WORDS = {
    "en": {"weekday_names": ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
           "month_names": ("January", "February", "March", "April", "May", "June", "July", "August",
                      "September", "October", "November", "December"),
           "to": "to", "every_day": "every day", "all_day": "all day", "day": "day",
           "last_day": "the last day", "from_end": "days before the month's end", "or": "or",
           "year": "in", "utc": "UTC"},
    "id": {"weekday_names": ("Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"),
           "month_names": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                      "September", "Oktober", "November", "Desember"),
           "to": "sampai", "every_day": "setiap hari", "all_day": "sepanjang hari", "day": "tanggal", "last_day": "hari terakhir", "from_end": "hari sebelum akhir bulan",
           "or": "atau", "year": "tahun", "utc": "UTC"},
}


def _range(text: str, names: tuple[str, ...], words: tuple[str, ...], to: str) -> str:
    parts = [words[names.index(p)] for p in text.split(":")]
    return f" {to} ".join(parts)


def _day_of_month(text: str, w: dict) -> str:
    def one(v: str) -> str:
        n = int(v)
        return str(n) if n > 0 else (w["last_day"] if n == -1 else f"{-n - 1} {w['from_end']}")
    return f" {w['to']} ".join(one(v) for v in text.split(":"))


def describe_spec(spec: Spec, language: str) -> str:
    w = WORDS.get(language.split("-")[0].lower(), WORDS["en"])
    parts = []
    if spec.weekdays:
        parts.append(", ".join(_range(d, WEEKDAYS, w["weekday_names"], w["to"]) for d in spec.weekdays))
    if spec.days_of_month:
        parts.append(f"{w['day']} " + ", ".join(_day_of_month(d, w) for d in spec.days_of_month))
    if spec.months:
        parts.append(", ".join(_range(m, MONTHS, w["month_names"], w["to"]) for m in spec.months))
    if spec.years:
        parts.append(f"{w['year']} " + ", ".join(y.replace(":", f" {w['to']} ") for y in spec.years))
    if not parts:
        parts.append(w["every_day"])
    times = ", ".join(f"{clock(a)}–{clock(b)}" for a, b in spec.times) or w["all_day"]
    return f"{'; '.join(parts)}, {times} ({spec.location or w['utc']})"


def describe(interval: TimeInterval, language: str) -> str:
    w = WORDS.get(language.split("-")[0].lower(), WORDS["en"])
    return f" {w['or']} ".join(describe_spec(s, language) for s in interval.specs)
