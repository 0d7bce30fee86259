"""Check: `active_during` / `muted_during` name time intervals the catalog defines, and the
Alertmanager version has them."""
from __future__ import annotations

import difflib
from typing import Iterator

from compiler.diagnostics import Diagnostic, Loc, error
from compiler.incremental import cached
from compiler.model import Catalog, Service

INTERVALS_SINCE = (0, 24)  # `time_intervals` and `active_time_intervals`
LOCATION_SINCE = (0, 25)   # a time interval's `location`


def _unknown(catalog: Catalog, names: tuple[str, ...], field: str, loc: Loc) -> Iterator[Diagnostic]:
    for name in names:
        if name not in catalog.time_intervals:
            close = difflib.get_close_matches(name, list(catalog.time_intervals), n=1)
            yield error("MC481", f"{field} names unknown time interval {name!r}", loc,
                        f"did you mean {close[0]!r}?" if close else
                        "define it under `time_intervals` in moncat.yaml or the service")


def check(catalog: Catalog) -> Iterator[Diagnostic]:
    used = False
    for service in catalog.services:
        found, named = cached(catalog, "check.active_hours", service, lambda: _service(catalog, service))
        yield from found
        used = used or named
    version = catalog.settings.alertmanager_version
    if not used or not catalog.generates("alertmanager"):
        return
    at = catalog.settings.field_locs.get("alertmanager.version", catalog.settings.loc)
    if version < INTERVALS_SINCE:
        yield error("MC460", f"Alertmanager {version[0]}.{version[1]} has no `time_intervals` / "
                    "`active_time_intervals` (added in 0.24), which active hours compile to", at,
                    "raise `targets.alertmanager.version` to 0.24 or later")
    elif version < LOCATION_SINCE and any(s.location for t in catalog.time_intervals.values() for s in t.specs):
        yield error("MC460", f"Alertmanager {version[0]}.{version[1]} reads time intervals in UTC only "
                    "(`location` was added in 0.25)", at,
                    "raise `targets.alertmanager.version` to 0.25, or write the hours in UTC")


def _service(catalog: Catalog, service: Service) -> tuple[list[Diagnostic], bool]:
    """The service's unknown time intervals, and whether it or an alert of it names any."""
    found: list[Diagnostic] = []
    used = False
    for field in ("active_during", "muted_during"):
        names = getattr(service, field)
        used = used or bool(names)
        found += _unknown(catalog, names, field, service.field_locs.get(field, service.loc))
    for alert in service.alerts.values():
        for field in ("active_during", "muted_during"):
            names = getattr(alert, field)
            used = used or bool(names)
            found += _unknown(catalog, names, field, alert.at(field))
    return found, used
