"""SLOs in Datadog: the SLO objects and `slo alert` burn-rate monitors validate against the
official OpenAPI document and deserialise into the datadog-api-client models; the burn-rate
query follows the documented grammar; `moncat apply datadog` creates the SLOs before their
monitors (writing the ids Datadog gave them), converges to zero changes, and prunes monitors
before their SLO, against FakeDatadog's `/api/v1/slo`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from datadog_api_client import Configuration
from datadog_api_client.model_utils import validate_and_convert_types
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest

from compiler import pipeline
from compiler.apply import datadog_slos
from compiler.targets.datadog.slos import check_burn_monitor
from conftest import ROOT
from datadog_schemas import OPENAPI, write_validators
from fakes.datadog_fake import FakeDatadog
from test_apply_datadog import moncat, plan_line

SLO_CATALOG = ROOT / "tests" / "slo" / "catalog"


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict]:
    result = pipeline.compile_catalog(SLO_CATALOG)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return {p: json.loads(b) for p, b in result.files.items() if p.startswith("datadog/")}


@pytest.fixture(scope="module")
def validators():
    return write_validators("Monitor", "ServiceLevelObjectiveRequest")


@pytest.fixture
def fake():
    with FakeDatadog(OPENAPI) as server:
        yield server
    assert not server.schema_errors, server.schema_errors[:3]


def _slos(compiled: dict[str, dict]) -> dict[str, dict]:
    return {p: b for p, b in compiled.items() if p.startswith("datadog/slos/")}


def _burn_monitors(compiled: dict[str, dict]) -> dict[str, dict]:
    return {p: b for p, b in compiled.items() if b.get("type") == "slo alert"}


def test_each_slo_for_datadog_is_a_metric_slo_with_numerator_denominator_and_its_window(compiled) -> None:
    slos = _slos(compiled)
    # The jobs SLO leaves Datadog out (`targets:`); the two others are there.
    assert sorted(slos) == ["datadog/slos/api/availability.json", "datadog/slos/api/latency.json"]
    availability = slos["datadog/slos/api/availability.json"]
    assert availability["type"] == "metric"
    assert availability["thresholds"] == [{"timeframe": "30d", "target": 99.9}]
    # bad/total: good is all minus bad; the regex prefix 5.* is Datadog's 5* wildcard.
    assert availability["query"] == {
        "numerator": "sum:api.http_requests.count{*}.as_count() - "
                     "sum:api.http_requests.count{code:5*}.as_count()",
        "denominator": "sum:api.http_requests.count{*}.as_count()"}
    latency = slos["datadog/slos/api/latency.json"]["query"]
    # The bucket's `le` arrives as the upper_bound tag of the .bucket count.
    assert latency["numerator"] == \
        "sum:api.http_request_duration_seconds.bucket{handler:/pay,upper_bound:0.3}.as_count()"
    assert latency["denominator"] == "sum:api.http_request_duration_seconds.count{handler:/pay}.as_count()"
    for body in slos.values():
        assert {"managed-by:moncat", "service:api", "team:platform"} <= set(body["tags"])
        assert any(t.startswith("moncat-id:api/") for t in body["tags"])


def test_burn_rate_monitors_have_the_tiers_factors_and_windows(compiled) -> None:
    monitors = _burn_monitors(compiled)
    queries = {p.rsplit("/", 1)[1]: b["query"] for p, b in monitors.items()}
    # ticket-slow (3d) is beyond Datadog's 48h long window: compiled for Prometheus and Grafana.
    assert queries == {
        "AvailabilityBurnRatePageFast.json":
            'burn_rate("moncat-slo:api/availability").over("30d").long_window("1h").short_window("5m") > 14.4',
        "AvailabilityBurnRatePageSlow.json":
            'burn_rate("moncat-slo:api/availability").over("30d").long_window("6h").short_window("30m") > 6',
        "AvailabilityBurnRateTicketFast.json":
            'burn_rate("moncat-slo:api/availability").over("30d").long_window("24h").short_window("120m") > 3',
        "LatencyBurnRatePageFast.json":
            'burn_rate("moncat-slo:api/latency").over("30d").long_window("1h").short_window("5m") > 14.4',
        "LatencyBurnRatePageSlow.json":
            'burn_rate("moncat-slo:api/latency").over("30d").long_window("6h").short_window("30m") > 6',
        "LatencyBurnRateTicketFast.json":
            'burn_rate("moncat-slo:api/latency").over("30d").long_window("24h").short_window("120m") > 3',
    }
    for body in monitors.values():
        assert check_burn_monitor(body) == []
        assert body["options"]["thresholds"]["critical"] == float(body["query"].rsplit(" ", 1)[1])
    page = monitors["datadog/monitors/api/AvailabilityBurnRatePageFast.json"]
    assert page["priority"] == 1 and "@pagerduty-api-routing-key" in page["message"]
    assert "https://runbooks.example.test/api/slos/availability.html" in page["message"]
    ticket = monitors["datadog/monitors/api/AvailabilityBurnRateTicketFast.json"]
    assert "@pagerduty" not in ticket["message"]  # P3 does not page


def test_slo_objects_and_burn_monitors_validate_against_the_official_schemas(compiled, validators) -> None:
    checked = 0
    for path, body in {**_slos(compiled), **_burn_monitors(compiled)}.items():
        schema = "ServiceLevelObjectiveRequest" if "/slos/" in path else "Monitor"
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validators[schema].iter_errors(body)]
        assert not errors, (path, errors)
        checked += 1
    assert checked == 2 + 6
    # The schema is not a rubber stamp: a wrong timeframe and a missing name are refused.
    bad = dict(_slos(compiled)["datadog/slos/api/availability.json"],
               thresholds=[{"timeframe": "28d", "target": 99.9}])
    assert list(validators["ServiceLevelObjectiveRequest"].iter_errors(bad))
    assert list(validators["ServiceLevelObjectiveRequest"].iter_errors({"type": "metric", "thresholds": []}))


def test_slo_objects_and_burn_monitors_deserialise_into_the_client_models(compiled) -> None:
    config = Configuration()
    for path, body in {**_slos(compiled), **_burn_monitors(compiled)}.items():
        model = ServiceLevelObjectiveRequest if "/slos/" in path else Monitor
        obj = validate_and_convert_types(body, (model,), ["body"], True, True, config)
        assert isinstance(obj, model) and not obj._unparsed, path


def test_the_burn_query_check_refuses_what_datadog_refuses() -> None:
    good = {"query": 'burn_rate("abc").over("30d").long_window("1h").short_window("5m") > 14.4',
            "options": {"thresholds": {"critical": 14.4}}}
    assert check_burn_monitor(good) == []
    for query, critical in (('burn_rate("abc").over("28d").long_window("1h").short_window("5m") > 14.4', 14.4),
                            ('burn_rate("abc").over("30d").long_window("72h").short_window("5m") > 1', 1),
                            ('burn_rate("abc").over("30d").long_window("1h").short_window("90m") > 2', 2),
                            ('burn_rate("abc").over("30d").long_window("1h").short_window("5m") > 14.4', 6)):
        assert check_burn_monitor({"query": query, "options": {"thresholds": {"critical": critical}}})


def _catalog(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(SLO_CATALOG, root)
    return root


def test_apply_creates_slos_before_their_monitors_and_a_second_plan_changes_nothing(fake, tmp_path) -> None:
    catalog = _catalog(tmp_path)
    first = moncat(fake, catalog)
    assert first.returncode == 0, first.stdout + first.stderr
    posts = [r.path for r in fake.write_requests()]
    assert posts.count("/api/v1/slo") == 2
    # Every SLO is created before the first monitor, whose query names it by its Datadog id.
    assert max(i for i, p in enumerate(posts) if p == "/api/v1/slo") < posts.index("/api/v1/monitor")
    by_key = {datadog_slos.slo_id(s): sid for sid, s in fake.slos.items()}
    assert set(by_key) == {"api/availability", "api/latency"}
    burn = {m["name"]: m["query"] for m in fake.monitors.values() if m["type"] == "slo alert"}
    assert len(burn) == 6
    assert all(f'burn_rate("{by_key["api/availability"]}")' in q or f'burn_rate("{by_key["api/latency"]}")' in q
               for q in burn.values())
    assert not any("moncat-slo:" in q for q in burn.values())

    writes = len(fake.write_requests())
    second = moncat(fake, catalog)
    assert second.returncode == 0, second.stderr
    assert ", 0 to update, 0 to delete" in plan_line(second) and plan_line(second).startswith("plan: 0 to create")
    assert len(fake.write_requests()) == writes


def test_a_changed_objective_updates_the_slo_and_prune_removes_monitors_before_their_slo(fake, tmp_path) -> None:
    catalog = _catalog(tmp_path)
    assert moncat(fake, catalog).returncode == 0
    service = catalog / "api.yaml"
    text = service.read_text()
    service.write_text(text.replace("    objective: 99.9\n", "    objective: 99.5\n"))
    changed = moncat(fake, catalog)
    assert changed.returncode == 0, changed.stderr
    assert "~ update slo api/availability: thresholds" in changed.stdout
    stored = next(s for s in fake.slos.values() if datadog_slos.slo_id(s) == "api/availability")
    assert stored["thresholds"][0]["target"] == 99.5

    # Removing the latency SLO removes its three monitors first: Datadog refuses (409) to
    # delete an SLO a monitor still uses.
    data = yaml.safe_load(service.read_text())
    del data["slos"]["latency"]
    service.write_text(yaml.safe_dump(data, sort_keys=False))
    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    deletes = [r.path for r in fake.write_requests() if r.method == "DELETE"]
    assert len(deletes) == 4 and deletes[-1].startswith("/api/v1/slo/")
    assert {datadog_slos.slo_id(s) for s in fake.slos.values()} == {"api/availability"}
    assert not any("Latency" in m["name"] for m in fake.monitors.values())


def test_the_fake_refuses_a_burn_rate_above_the_maximum_and_an_unknown_slo(fake) -> None:
    slo = fake.seed_slo({"name": "s", "type": "metric", "thresholds": [{"timeframe": "30d", "target": 95}],
                         "query": {"numerator": "sum:a{*}.as_count()", "denominator": "sum:b{*}.as_count()"}})
    monitor = {"name": "m", "type": "slo alert", "options": {"thresholds": {"critical": 25}},
               "query": f'burn_rate("{slo["id"]}").over("30d").long_window("1h").short_window("5m") > 25'}
    assert "above the maximum" in fake.slo_alert_problem(monitor)  # 1 / (1 - 0.95) = 20
    unknown = dict(monitor, query=monitor["query"].replace(slo["id"], "nope").replace("25", "14.4"),
                   options={"thresholds": {"critical": 14.4}})
    assert "not found" in fake.slo_alert_problem(unknown)
