"""Datadog names of every service's series, as a service's queries look up the others' series:
made when first asked for, the same as each service's own names, the first service's where two
expose one name."""
from __future__ import annotations

import dataclasses

import pytest

from compiler import pipeline
from compiler.dialects import datadog_names
from tests.conftest import CATALOG


@pytest.fixture(scope="module")
def seed():
    result = pipeline.analyse(CATALOG)
    assert result.catalog is not None
    return result.catalog


def _eager(catalog, services) -> dict:
    """Every service's own names, the first service's where two expose one (what each
    service's own names say, with nothing made lazily)."""
    out: dict = {}
    for svc in services:
        own, _ = datadog_names._service_names(catalog.settings.datadog, svc)
        for name, series in own.items():
            out.setdefault(name, series)
    return out


def test_every_services_series_reads_as_that_services_own_names_say(seed) -> None:
    expected = _eager(seed, seed.services)
    kinds = {m.type for s in seed.services for m in s.metrics.values()}
    assert {"counter", "gauge", "histogram"} <= kinds  # the seed has the kinds that differ
    every, _ = datadog_names._catalog_names(seed)
    assert sorted(every) == sorted(expected)
    assert len(every) == len(expected)
    assert {name: every[name] for name in expected} == expected
    assert "no_such_series" not in every and every.get("no_such_series") is None


def test_a_name_two_services_expose_reads_as_the_first_services(seed) -> None:
    first, second = seed.services[0], seed.services[1]
    # The second service declares the first's metrics too: the first's namespace wins.
    twin = dataclasses.replace(second, metrics={**second.metrics, **first.metrics})
    catalog = dataclasses.replace(seed, services=[first, twin, *seed.services[2:]])
    every, _ = datadog_names._catalog_names(catalog)
    expected = _eager(catalog, catalog.services)
    assert {name: every[name] for name in every} == expected
    shared = next(iter(first.metrics.values())).name
    prefix = datadog_names.namespace(catalog.settings.datadog, first.id)
    assert [s.name for n, s in expected.items() if n.startswith(shared)][0].startswith(prefix)


def test_a_catalog_series_is_made_once_and_only_when_asked_for(seed) -> None:
    every, _ = datadog_names._catalog_names(seed)
    assert every.made == {}
    name = next(iter(every))
    assert every[name] is every[name]
    assert set(every.made) <= set(every)
    assert len(every.made) <= 3  # the asked series' metric's own (a histogram's three) only
