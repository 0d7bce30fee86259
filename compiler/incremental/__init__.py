"""Incremental compile, the part stages see: per-service work reused from the last compile.

Checks and targets call `cached(catalog, name, service, compute)` around what they compute for one
service inside their `for service in catalog.services` loops. Without a cache (the default, and
every run but `moncat compile`'s) it is `compute()`. With one, the pipeline has put a run of the
cache in the catalog's memo: for a service whose sources and everything it may read from outside
(settings, contacts, the definitions of the series it names) are unchanged since the last
compile, the stored value comes back instead (artifacts as `StoredArtifact`s: their path, hash and
manifest entries, no data); for the others `compute()` runs and its value is stored.

What `compute` may read: its own service, the settings, the severities and contacts, and the
catalog-wide facts about series (names, recording rules). A value that depends on another
service's alerts, dashboards or procedures belongs in a global artifact, computed every time.
Values must pickle without model objects in them (diagnostics, artifacts and plain data do).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from compiler.model import Catalog, Service

T = TypeVar("T")

# Where the pipeline puts the run in `Catalog.memo` when the cache is on.
RUN = "incremental.run"
# With the cache, cached_many computes this many alerts' services at a time.
MANY = 1000


class Run(Protocol):
    def value(self, catalog: Catalog, name: str, service: Service, compute: Callable[[], T],
              light: bool = False) -> T: ...

    def stale(self, catalog: Catalog, name: str, services: Iterable[Service]) -> list[Service]: ...

    def group(self, sid: str) -> list[str]: ...


def cached(catalog: Catalog, name: str, service: Service, compute: Callable[[], T]) -> T:
    """`compute()`, the work of `name` for one service, or its value from the last compile."""
    run: Run | None = catalog.memo.get(RUN)
    if run is None:
        return compute()
    return run.value(catalog, name, service, compute)


def per_service(catalog: Catalog, name: str,
                diagnose: Callable[[Catalog, Service], Iterable[T]]) -> Iterator[T]:
    """A check's diagnostics, service by service: `diagnose(catalog, service)`, each service's
    list from the last compile while that service is unchanged (`cached` under `name`)."""
    for service in catalog.services:
        yield from cached(catalog, name, service, lambda: list(diagnose(catalog, service)))


def cached_many(catalog: Catalog, name: str, services: Iterable[Service],
                compute: Callable[[list[Service]], dict[str, Any]]) -> dict[str, Any]:
    """`cached` for many services whose work is best done together (over forked workers):
    `compute(services)` gets only those that need it and returns their values by service id.
    With the cache, artifacts come back as the write needs them (`Run.light`: the caller only
    collects them), and the services are computed `MANY` alerts at a time: every artifact's
    data held at once was the largest part of a first compile's memory."""
    services = list(services)
    run: Run | None = catalog.memo.get(RUN)
    if run is None:
        return compute(services)
    stale = run.stale(catalog, name, services)
    out: dict[str, Any] = {}
    while stale:
        size = 0
        for count, service in enumerate(stale, 1):
            size += len(service.alerts) + 1
            if size >= MANY:
                break
        some, stale = stale[:count], stale[count:]
        fresh = compute(some)
        for s in some:
            out[s.id] = run.value(catalog, name, s, lambda s=s: fresh[s.id], light=True)
        del fresh
    return {s.id: out[s.id] if s.id in out else run.value(catalog, name, s, lambda: None, light=True)
            for s in services}


def joined(catalog: Catalog, service: Service) -> list[Service]:
    """The services whose alerts may suppress `service`'s or be suppressed by them, in catalog
    order: with the cache, its group (services joined by suppressions, which the cache keys
    together); else every service. Reading only these spares unpickling the others' alerts."""
    run: Run | None = catalog.memo.get(RUN)
    if run is None:
        return catalog.once("incremental.joined", lambda: list(catalog.services))
    members = run.group(service.id)
    wanted = set(members)
    return catalog.once(("incremental.joined", members[0]),
                        lambda: [s for s in catalog.services if s.id in wanted])


__all__ = ["RUN", "cached", "cached_many", "joined", "per_service"]
