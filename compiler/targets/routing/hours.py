"""Targets, active hours: whether an alert's notifications go out at a wall-clock moment (its
active and muted time intervals, as Alertmanager decides), for the examples that say when they
happen."""
from __future__ import annotations

from datetime import datetime

from compiler.model import Alert, Catalog, Service
from compiler.targets.routing.delivery import hours
from compiler.time_intervals import contains, wall_clock


def notified_at(catalog: Catalog, service: Service, alert: Alert, moment: datetime) -> bool:
    """Alertmanager sends on a route only inside one of its active intervals (when it has any)
    and outside all of its muted ones."""
    active, muted = hours(service, alert)
    inside = [contains(catalog.time_intervals[n].specs, moment) for n in active if n in catalog.time_intervals]
    if active and not any(inside):
        return False
    return not any(contains(catalog.time_intervals[n].specs, moment)
                   for n in muted if n in catalog.time_intervals)


def wall_clock_cases(catalog: Catalog, service: Service, alert: Alert) -> list[dict[str, object]]:
    """Each firing example with a wall-clock `at:`: that moment and whether anyone is told."""
    return [{"time": ex.at_time, "notified": notified_at(catalog, service, alert, wall_clock(ex.at_time))}
            for ex in alert.examples if ex.fires and ex.at_time]
