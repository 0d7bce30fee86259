"""Suppressions: `suppressed_by` an alert (here a condition alert that notifies nobody) with equal
labels. Alertmanager inhibits, observed in a real Alertmanager 0.25: the suppressed alert is not
delivered while the condition fires for its city, and is delivered once it resolves. Grafana,
which has no inhibition, folds the condition into the query; the difference is stated."""
from __future__ import annotations

import copy
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from alertmanager_run import Alertmanager, Sink, for_loopback, wait_for
from compiler import pipeline
from compiler.checks import cross_target
from conftest import ROOT, run_moncat

DISPATCH = ROOT / "tests" / "dispatch" / "catalog"


@pytest.fixture(scope="module")
def compiled() -> pipeline.Result:
    result = pipeline.compile_catalog(DISPATCH)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def _file(result, path):
    return yaml.safe_load(result.files[path])


def test_alertmanager_inhibits_the_suppressed_alert_on_equal_labels(compiled) -> None:
    rules = _file(compiled, "alertmanager/alertmanager.yaml")["inhibit_rules"]
    assert {"source_matchers": ['service="dispatch"', 'alertname="CitySurgeHigh"'],
            "target_matchers": ['service="dispatch"', 'alertname="NoCourier"'],
            "equal": ["city"]} in rules
    # The condition alert tells nobody and takes no part in the same-procedure inhibitions.
    assert not [r for r in rules if 'alertname="CitySurgeHigh"' in r["target_matchers"]]


def test_a_real_alertmanager_holds_the_suppressed_alert_while_the_condition_fires(compiled, tmp_path) -> None:
    labels = {"service": "dispatch", "team": "dispatch"}
    surge = {"labels": {**labels, "alertname": "CitySurgeHigh", "severity": "P2", "city": "jakarta"}}
    courier = {**labels, "alertname": "NoCourier", "severity": "P1"}
    with Sink() as sink:
        am = Alertmanager(for_loopback(_file(compiled, "alertmanager/alertmanager.yaml"), sink.url), tmp_path)
        try:
            am.post([surge])
            assert wait_for(lambda: any(a["labels"]["alertname"] == "CitySurgeHigh" for a in am.alerts()))
            am.post([{"labels": {**courier, "city": "jakarta"}}, {"labels": {**courier, "city": "bandung"}}])
            # Bandung has no surge: delivered. Jakarta is inhibited by the surge of its own city.
            assert wait_for(lambda: ("NoCourier", "bandung") in sink.names()), am.log.read_text()
            state = {a["labels"].get("city"): a["status"] for a in am.alerts()
                     if a["labels"]["alertname"] == "NoCourier"}
            assert state["jakarta"]["state"] == "suppressed" and state["jakarta"]["inhibitedBy"]
            assert not wait_for(lambda: ("NoCourier", "jakarta") in sink.names(), seconds=3)
            # The condition alert itself reached nobody.
            assert not [n for n in sink.names() if n[0] == "CitySurgeHigh"]
            # The surge ends: the courier alert of Jakarta is delivered.
            ended = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
            am.post([{**surge, "endsAt": ended}])
            am.post([{"labels": {**courier, "city": "jakarta"}}])
            assert wait_for(lambda: ("NoCourier", "jakarta") in sink.names(), seconds=15), sink.received
        finally:
            am.stop()


def test_grafana_folds_the_condition_into_the_query_and_the_check_reads_it(compiled) -> None:
    rules = {r["title"]: r for r in _file(compiled, "grafana/alerting/dispatch.yaml")["groups"][0]["rules"]}
    assert "CitySurgeHigh" not in rules  # a condition alert has no Grafana rule of its own
    query = rules["NoCourier"]["data"][0]["model"]["expr"]
    assert query == "(min by (city) (couriers_available)) unless on (city) (max by (city) (surge_multiplier) > 2.5)"
    assert cross_target.check(compiled.catalog, compiled.artifacts) == []
    # Without the fold, the check tells the two rules apart.
    artifacts = copy.deepcopy(compiled.artifacts)
    for art in artifacts:
        for obj in art.objects:
            if obj.kind == "alert_rule" and obj.id == "dispatch/NoCourier":
                obj.content["data"][0]["model"]["expr"] = "min by (city) (couriers_available)"
    assert [d.code for d in cross_target.check(compiled.catalog, artifacts)] == ["MC450"]


def test_the_pages_say_who_suppresses_whom(compiled) -> None:
    courier = compiled.files["runbooks/dispatch/alerts/NoCourier.md"].decode()
    assert "**Tidak memberi tahu siapa pun selama alert ini menyala:** [CitySurgeHigh]" in courier
    assert "dengan nilai yang sama untuk `city`" in courier
    surge = compiled.files["runbooks/dispatch/alerts/CitySurgeHigh.md"].decode()
    assert "**Alert kondisi: tidak memberi tahu siapa pun dan meredam:** [NoCourier]" in surge


BAD = [
    ("unknown-alert", "{alert: CitySurgeHigh, equal: [city]}", "{alert: CitySurgeHi, equal: [city]}",
     "MC484", "unknown alert 'dispatch/CitySurgeHi'"),
    ("itself", "{alert: CitySurgeHigh, equal: [city]}", "{alert: NoCourier, equal: [city]}", "MC484", "itself"),
    ("label-not-carried", "{alert: CitySurgeHigh, equal: [city]}", "{alert: CitySurgeHigh, equal: [zone]}",
     "MC485", "carries no label zone"),
]


@pytest.mark.parametrize("case,old,new,code,says", BAD, ids=[b[0] for b in BAD])
def test_bad_suppressions_are_reported_at_their_position(tmp_path: Path, case, old, new, code, says) -> None:
    shutil.copytree(DISPATCH, tmp_path / "catalog")
    path = tmp_path / "catalog" / "dispatch.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    proc = run_moncat("validate", str(tmp_path / "catalog"), "--format", "json")
    assert proc.returncode == 1
    found = [d for d in yaml.safe_load(proc.stdout) if d["severity"] == "error"]  # not MC714's warning
    assert {d["code"] for d in found} == {code} and says in found[0]["message"], found
    line = path.read_text().splitlines()[found[0]["line"] - 1]
    assert "suppressed_by" in line and line[found[0]["column"] - 1:].startswith(new.split(",")[0].split(": ")[1])
