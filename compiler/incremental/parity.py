"""Incremental compile, check stage: the routing parity (checks/routing_parity.py) service by
service, each service's diagnostics reused while its work and both generated routing setups are
unchanged.

The check reads every alert of every service against the catalog-wide Alertmanager and Grafana
routing. A service's result depends on its own work (its key) and on those setups only: it is
kept under the service's key, with the digest of the setups' rendered files, in one record
rewritten by every compile. An unchanged service neither reads its alerts nor its rules then.
"""
from __future__ import annotations

import hashlib
from collections import ChainMap
from typing import Callable, Iterable

from compiler.checks import routing_parity
from compiler.checks.cross_target import GRAFANA_RULE, PROMETHEUS_RULE
from compiler.diagnostics import Diagnostic
from compiler.incremental.run import Run
from compiler.model import Catalog, Service

# The generated files the check reads the two setups from.
SETUPS = (routing_parity.AM_CONFIG, routing_parity.GRAFANA_POLICIES, routing_parity.GRAFANA_POINTS,
          routing_parity.GRAFANA_TIMINGS)
RECORD = "parity"
_RULES = {PROMETHEUS_RULE, GRAFANA_RULE}  # the objects the check compares


def check(catalog: Catalog, run: Run, shared: list, rules: Callable[[Service], object]) -> list[Diagnostic]:
    """The routing parity's diagnostics. `shared`: the artifacts of no service (the setups among
    them); `rules(service)`: what stands for the service's rule artifacts (read only for the
    services whose result is not reused)."""
    setups = digest_of(run, shared)
    record = run.store.read(RECORD, run.store_key)
    reusable = record.get("by_key", {}) if isinstance(record, dict) and record.get("setups") == setups else {}
    # The catalog-wide part: time intervals, the catch-all, an unreadable setup. Every service's
    # run repeats it (each runs the whole check on a catalog of that service alone).
    # One reading of the setups for every service: building a dispatcher's tree costs more than
    # walking a service's alerts through it (and the routes each reaches are remembered).
    read_back = routing_parity.setups_of(shared)
    common = list(routing_parity.check(_narrow(catalog, ()), shared, read_back))
    # What a service's run reads besides its own rules: the setups, and any catalog-wide file
    # holding alert rules (the catalog-wide test file's 10,000 objects need not be walked 200 times).
    read = [a for a in shared if a.path in SETUPS or any(
        (o.target, o.kind) in _RULES for o in getattr(a, "objects", ()))]
    out = list(common)
    kept: dict[str, list[Diagnostic]] = {}
    for service in catalog.services:
        key = run.keys[service.id]
        found = reusable.get(key)
        if not isinstance(found, list) or not all(isinstance(d, Diagnostic) for d in found):
            found = _without(routing_parity.check(_narrow(catalog, (service,)), [*read, rules(service)],
                                                  read_back), common)
        kept[key] = found
        out += found
    run.store.write(RECORD, run.store_key, {"setups": setups, "by_key": kept})
    return out


def digest_of(run: Run, shared: list) -> str:
    """The setups' files, rendered (as the write will take them: see Run.render_now)."""
    h = hashlib.sha256()
    for path in SETUPS:
        art = next((a for a in shared if a.path == path), None)
        h.update(f"{path}\0{run.render_now(art) if art is not None else '-'}\0".encode())
    return h.hexdigest()


def _narrow(catalog: Catalog, services: tuple) -> Catalog:
    return Catalog(catalog.settings, services, catalog.contacts, catalog.severities,
                   catalog.time_intervals, ChainMap({}, catalog.memo))


def _without(found: Iterable[Diagnostic], common: list[Diagnostic]) -> list[Diagnostic]:
    """`found` less one of each of `common` (which a service's run gives too)."""
    rest = list(common)
    out = []
    for diag in found:
        if diag in rest:
            rest.remove(diag)
        else:
            out.append(diag)
    return out


__all__ = ["check"]
