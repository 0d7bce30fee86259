"""A service a newcomer wrote from the README alone (tests/newcomer/search-indexer.yaml: a Kafka
consumer feeding Elasticsearch), added to `moncat init`'s catalog as the tutorial says: it
validates with its examples under promtool, compiles, passes `moncat test` (promtool and amtool),
and each of the things the newcomer asked for reaches the targets as they meant it. What it
covers beside the seed catalog: contacts of a service with a pager-only owner and a Slack team,
an SLO notifying both, a reviewed Datadog percentile override, working hours on one alert."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, scaffold, verify, writer
from compiler.diagnostics import Severity
from conftest import ROOT, run_moncat

SERVICE = ROOT / "tests" / "newcomer" / "search-indexer.yaml"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("newcomer")
    catalog, out = root / "catalog", root / "output"
    scaffold.init(catalog)
    settings = catalog / "moncat.yaml"
    # The one setting the newcomer uncommented: Datadog reads the p99 from a distribution.
    text = settings.read_text()
    assert text.count("# histogram_buckets_as_distributions: true") == 1
    settings.write_text(text.replace("# histogram_buckets_as_distributions: true",
                                     "histogram_buckets_as_distributions: true"))
    (catalog / "search-indexer").mkdir()
    shutil.copy(SERVICE, catalog / "search-indexer" / "service.yaml")
    result = pipeline.validate_catalog(catalog)
    # One warning, which asks for a Datadog setting moncat cannot see (percentiles enabled).
    assert [d.code for d in result.report.items] == ["MC714"], [str(d) for d in result.report.sorted()]
    assert result.examples is not None and not result.examples.skipped and result.examples.tests == 12
    writer.write(out, result.files)
    return catalog, out


def test_the_newcomers_service_passes_promtool_and_amtool(compiled) -> None:
    _, out = compiled
    outcomes = verify.run(out)
    assert [(o.name, o.output) for o in outcomes if not o.ok] == []
    names = {o.name for o in outcomes}
    # A route, the heartbeat's tests, and the SLO's (one file per evaluation interval of its cases).
    assert {"search-indexer/SearchIndexerQueueStale", "search-indexer.3h.tests.yaml"} <= names, names
    assert any(n.startswith("search-indexer.slo-indexing-availability.") and n.endswith(".tests.yaml")
               for n in names), names


def _routes(node: dict) -> list[dict]:
    return [node] + [r for child in node.get("routes", []) for r in _routes(child)]


def test_pages_reach_pagerduty_and_the_quiet_alert_reaches_slack_in_working_hours(compiled) -> None:
    _, out = compiled
    config = yaml.safe_load((out / "alertmanager" / "alertmanager.yaml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers["search-oncall/page"]) == {"name", "pagerduty_configs"}
    assert set(receivers["search-team"]) == {"name", "slack_configs"}
    assert receivers["search-team"]["slack_configs"][0]["channel"] == "#search-team"
    queue = [r for r in _routes(config["route"]) if r.get("matchers") == ['alertname="SearchIndexerQueueStale"']]
    assert [(r["receiver"], r["active_time_intervals"]) for r in queue] == [("search-team", ["working-hours"])]
    hours = {i["name"]: i["time_intervals"] for i in config["time_intervals"]}
    assert hours["working-hours"] == [{"times": [{"start_time": "09:00", "end_time": "18:00"}],
                                       "weekdays": ["monday:friday"], "location": "Europe/Berlin"}]
    # Datadog mutes the same alert outside those hours with recurring downtimes.
    assert sorted(p.name for p in (out / "datadog" / "downtimes" / "search-indexer").iterdir()) == \
        ["SearchIndexerQueueStale.1.json", "SearchIndexerQueueStale.2.json"]


def test_datadog_gets_the_reviewed_percentile_and_not_the_clock_alert(compiled) -> None:
    _, out = compiled
    monitors = out / "datadog" / "monitors" / "search-indexer"
    slow = json.loads((monitors / "SearchIndexerBulkSlow.json").read_text())
    assert slow["query"] == "percentile(last_15m):p99:search_indexer.indexer_bulk_duration_seconds{*} > 2"
    assert "Differs from Prometheus: Datadog has no pending period" in slow["message"]
    lag = json.loads((monitors / "SearchIndexerConsumerLagHigh.json").read_text())
    assert "@pagerduty-search-indexer" in lag["message"]
    assert not (monitors / "SearchIndexerReindexStale.json").exists()  # time(): Prometheus' alone
    assert (out / "datadog" / "slos" / "search-indexer" / "indexing-availability.json").exists()


def test_explain_shows_the_working_hours_of_the_quiet_alert(compiled) -> None:
    catalog, _ = compiled
    proc = run_moncat("explain", "SearchIndexerQueueStale", str(catalog))
    assert proc.returncode == 0, proc.stderr
    assert "  Alertmanager: search-team\n" in proc.stdout
    assert "  Notifies only during working-hours: Monday to Friday, 09:00–18:00 (Europe/Berlin)\n" in proc.stdout
