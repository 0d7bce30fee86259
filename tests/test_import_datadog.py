"""`moncat import datadog`: the 46 public monitors of integrations-extras import; those whose
query has an exact PromQL form become catalog alerts whose compiled monitor has the same query,
the others datadog-only alerts written back verbatim."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.importers import datadog
from compiler.importers.datadog_reverse import NoForm, normal_query, check
from conftest import SHARED, run_moncat, tree_bytes

CORPUS = SHARED / "corpora" / "datadog-integrations-extras-monitors"

# Datadog query -> the PromQL the dialect translates back into exactly that query (None: no form).
REVERSE = [
    ("avg(last_5m):avg:algorithmia.duration_milliseconds{*} > 10000",
     "avg(avg_over_time(algorithmia_duration_milliseconds[5m])) > 10000"),
    ("sum(last_15m):sum:external_secrets.externalsecret.sync_calls_error.count{*} by {name,namespace}.as_count() > 1",
     "sum by (name, namespace) (increase(external_secrets_externalsecret_sync_calls_error_total[15m])) > 1"),
    ("max(last_5m):max:nomad.nomad.heartbeat.active{*} < 5", "max(nomad_nomad_heartbeat_active) < 5"),
    ("min(last_15m):max:nomad.nomad.job_status.pending{*} >= 1", "max(nomad_nomad_job_status_pending) >= 1"),
    ("max(last_5m):max:external_secrets.externalsecret.status_condition{status:false,condition:ready} by {name,namespace} >= 1",
     'max by (name, namespace) (max_over_time(external_secrets_externalsecret_status_condition{status="false", condition="ready"}[5m])) >= 1'),
    ("sum(last_5m):sum:a.count{*}.as_count() / sum:b.count{*}.as_count() > 0.02",
     "sum(increase(a_total[5m])) / sum(increase(b_total[5m])) > 0.02"),
    # Not exact: "at least once" (max over time above), anomalies, tag presence, dotted keys.
    ("max(last_5m):avg:php_apcu.cache.num_expunges{*} by {host} > 1", None),
    ("avg(last_4h):anomalies(avg:x{*}, 'basic', 2) >= 1", None),
    ("sum(last_5m):sum:syncthing.errors{host:*} by {host} > 0", None),
    ("max(last_15m):max:zos.cpu{*} by {host.name} > 0.59", None),
    ("avg(last_5m):diff(max:nomad.failed{*} by {job}) > 3", None),
]


@pytest.mark.parametrize("query,promql", REVERSE)
def test_reverse_translation_is_proven_by_translating_back(query: str, promql: str | None) -> None:
    if promql is None:
        with pytest.raises(NoForm):
            check(query)
    else:
        assert check(query).expr == promql


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dd") / "catalog"
    done = run_moncat("import", "datadog", str(CORPUS), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "46 alerts (33 datadog-only)" in done.stdout
    assert "13 synthesised, 13 proven by promtool" in done.stdout
    return out


def test_every_monitor_compiles_back_to_its_query(imported, tmp_path) -> None:
    out = tmp_path / "out"
    done = run_moncat("compile", str(imported), "--out", str(out))
    assert done.returncode == 0, done.stderr
    compiled = [json.loads(p.read_text()) for p in sorted((out / "datadog" / "monitors").rglob("*.json"))]
    source = datadog.read([CORPUS], None).monitors
    assert len(source) == len(compiled) == 46
    by_query = {normal_query(m["query"]): m for m in compiled}
    for mon in source:
        got = by_query.get(normal_query(mon.query))
        assert got is not None, mon.query
        assert got["type"] == mon.type
        thresholds = {k: v for k, v in (mon.options.get("thresholds") or {}).items() if v is not None}
        assert {k: got["options"]["thresholds"].get(k) for k in thresholds} == thresholds or \
            got["options"]["thresholds"]["critical"] == thresholds["critical"]
        if "managed-by:moncat" not in mon.tags and got["message"] == mon.message:
            assert {k: v for k, v in got["options"].items() if k != "thresholds"} == \
                {k: v for k, v in mon.options.items() if k != "thresholds"}  # kept verbatim


def test_datadog_only_alerts_keep_query_message_and_thresholds(imported) -> None:
    text = (imported / "emnify" / "emnify.yaml").read_text()
    assert "kind: datadog-only" in text and "forecast(" in text
    assert "kept as a Datadog monitor:" in text  # says why, next to the source line
    done = run_moncat("validate", str(imported))
    assert done.returncode == 0, done.stderr


def test_importing_the_monitors_twice_gives_the_same_bytes(imported, tmp_path) -> None:
    again = tmp_path / "catalog"
    done = run_moncat("import", "datadog", str(CORPUS), "--out", str(again))
    assert done.returncode == 0, done.stderr
    assert tree_bytes(again) == tree_bytes(imported)
