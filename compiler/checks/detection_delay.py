"""Check: how long after its condition starts each alert can fire, against what its text states."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from compiler.condition_text import StatedTime, stated_time
from compiler.diagnostics import Diagnostic, Severity, warning
from compiler.durations import format_ms
from compiler.expr.timing import Lag, lag
from compiler.examples import records_of
from compiler.incremental import per_service
from compiler.model import Alert, Catalog, Service


@dataclass(frozen=True)
class DetectionDelay:
    """The worst case between the start of a lasting condition and the alert firing.

    `window_ms` (range windows and offsets the change passes through), `lookback_ms` (absent()
    waits for the series to go stale), `for_ms` and the settings' `query_offset_ms` are the
    catalog's choice; `evaluation_ms` is inherent in Prometheus: the condition may start just
    after an evaluation of the alert's group, and of each recording rule's group it goes through."""

    window_ms: int
    lookback_ms: int
    for_ms: int
    query_offset_ms: int
    evaluation_ms: int
    evaluations: int
    stated: StatedTime | None

    @property
    def chosen_ms(self) -> int:
        """The part the catalog sets, compared with the duration the condition text states."""
        return self.window_ms + self.lookback_ms + self.for_ms + self.query_offset_ms

    @property
    def total_ms(self) -> int:
        return self.chosen_ms + self.evaluation_ms

    @property
    def exceeds(self) -> bool:
        return self.stated is not None and self.chosen_ms > self.stated.total_ms

    def parts(self) -> list[tuple[str, int]]:
        """(name, milliseconds) of each non-zero part, in the order they add up."""
        named = [("window", self.window_ms), ("lookback", self.lookback_ms), ("for", self.for_ms),
                 ("query_offset", self.query_offset_ms), ("evaluation", self.evaluation_ms)]
        return [(n, ms) for n, ms in named if ms]


def detection_delay(catalog: Catalog, alert: Alert) -> DetectionDelay:
    """How long after its condition starts the alert can first notify (memoised per catalog: the
    check, the runbook page and `explain` all read it)."""
    return catalog.once(("detection-delay", alert.service, alert.name),
                        lambda: _detection_delay(catalog, alert))


def _detection_delay(catalog: Catalog, alert: Alert) -> DetectionDelay:
    interval = catalog.settings.evaluation_interval_ms
    found = lag(alert.expr.tree, records_of(catalog), interval) or Lag()
    evaluations = 1 + found.records
    return DetectionDelay(
        window_ms=found.window_ms, lookback_ms=found.lookback_ms, for_ms=alert.for_ms,
        query_offset_ms=catalog.settings.query_offset_ms or 0,
        evaluation_ms=evaluations * interval, evaluations=evaluations,
        stated=stated_time(alert.condition) if alert.condition else None)


def explain(delay: DetectionDelay) -> str:
    return " + ".join(f"{name} {format_ms(ms)}" for name, ms in delay.parts()) or "0s"


_NICE_MS = [m * 60_000 for m in (1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)]


def _suggest(stated_ms: int, interval_ms: int) -> str:
    """A window about a third of the stated time, held with `for:` for the rest."""
    window = max([n for n in _NICE_MS if interval_ms <= n <= stated_ms // 3] or [interval_ms])
    return f"a {format_ms(window)} window with `for: {format_ms(max(stated_ms - window, 0))}`"


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    return per_service(catalog, "check.detection_delay", _service)


def _service(catalog: Catalog, svc: Service) -> Iterator[Diagnostic]:
    for alert in svc.alerts.values():
        if not alert.condition:
            continue
        delay = detection_delay(catalog, alert)
        if delay.stated is None:
            continue
        stated = format_ms(delay.stated.total_ms)
        if delay.exceeds:
            yield warning(
                "MC480",
                f"alert {alert.name!r} fires up to {format_ms(delay.total_ms)} after its "
                f"condition starts ({explain(delay)}), but its condition states {stated}",
                alert.at("condition"),
                f"shorten the range window or `for:` so that window + for stays within {stated}, "
                f"e.g. {_suggest(delay.stated.total_ms, catalog.settings.evaluation_interval_ms)} "
                "(the evaluation interval is shown, not counted)")
        elif alert.compiled_for("prometheus") and not any(
                ex.fires and ex.starts_ms for ex in alert.examples):
            yield Diagnostic(
                "MC481", Severity.INFO,
                f"alert {alert.name!r} states {stated} in its condition but no example shows it "
                "fires within that time",
                alert.at("condition"),
                "add a `fires` example whose series turn bad mid-way and say when with "
                "`starts:`; the generated test then checks it fires by starts + " + stated)


__all__ = ["DetectionDelay", "check", "detection_delay", "explain"]
