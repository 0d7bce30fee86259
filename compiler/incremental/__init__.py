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

from compiler.artifacts import Artifact
from compiler.incremental.stored import WriteOnly
from compiler.model import Catalog, Service
from compiler.parallel import forks

T = TypeVar("T")

# Where the pipeline puts the run in `Catalog.memo` when the cache is on.
RUN = "incremental.run"
# With the cache, cached_batches computes this many alerts' services at a time: enough work
# for fork_map's workers to pay. Where fork_map runs the work in this process (the runbook
# pages' own child), a quarter of it: a batch then only bounds what is held at once.
MANY = 1000


class Run(Protocol):
    def value(self, catalog: Catalog, name: str, service: Service, compute: Callable[[], T],
              light: bool = False, stored: Callable[[T], Any] | None = None) -> T: ...

    def stale(self, catalog: Catalog, name: str, services: Iterable[Service]) -> list[Service]: ...

    def group(self, sid: str) -> list[str]: ...


def cached(catalog: Catalog, name: str, service: Service, compute: Callable[[], T],
           stored: Callable[[T], Any] | None = None) -> T:
    """`compute()`, the work of `name` for one service, or its value from the last compile.
    `stored(value)`: what the cache keeps of the value (and gives back while the service is
    unchanged), where the callers read less of it than `compute` makes; it must render to the
    same bytes and manifest lines."""
    run: Run | None = catalog.memo.get(RUN)
    if run is None:
        return compute()
    return run.value(catalog, name, service, compute, stored=stored)


def per_service(catalog: Catalog, name: str,
                diagnose: Callable[[Catalog, Service], Iterable[T]]) -> Iterator[T]:
    """A check's diagnostics, service by service: `diagnose(catalog, service)`, each service's
    list from the last compile while that service is unchanged (`cached` under `name`)."""
    for service in catalog.services:
        yield from cached(catalog, name, service, lambda: list(diagnose(catalog, service)))


def cached_batches(catalog: Catalog, name: str, services: Iterable[Service],
                   compute: Callable[[list[Service]], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`cached` for many services whose work is best done together (over forked workers), a
    batch of consecutive services at a time (in the order given), for a caller that passes each
    batch on and lets it go: `compute(services)` gets only those that need it and returns their
    values by service id. With the cache, artifacts come back as the write needs them
    (`Run.light`), and a batch holds about `MANY` alerts' services computed this run at most:
    every page held at once was the largest part of a first compile's memory. Without the
    cache, one batch of every service."""
    services = list(services)
    run: Run | None = catalog.memo.get(RUN)
    if run is None:
        yield compute(services)
        return
    stale = {s.id for s in run.stale(catalog, name, services)}
    many = MANY if forks() else MANY // 4
    batch: list[Service] = []
    size = 0
    for count, service in enumerate(services, 1):
        batch.append(service)
        if service.id in stale:
            size += len(service.alerts) + 1
        if size >= many or count == len(services):
            fresh = compute([s for s in batch if s.id in stale]) if size else {}
            yield {s.id: run.value(catalog, name, s, lambda s=s: fresh[s.id], light=True, stored=_write_only)
                   for s in batch}
            del fresh
            batch, size = [], 0


def _write_only(value: Any) -> Any:
    """What the cache keeps of a cached_batches value: its artifacts, which the caller passes on
    to the write, as WriteOnly."""
    return WriteOnly(value) if type(value) is list and all(isinstance(a, Artifact) for a in value) else value


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


__all__ = ["RUN", "WriteOnly", "cached", "cached_batches", "joined", "per_service"]
