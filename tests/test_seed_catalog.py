"""The shipped seed catalog: valid, compiled output committed and fresh, accepted by real promtool."""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from compiler import pipeline
from conftest import CATALOG, OUTPUT, run_moncat

SEED_SERVICES = {"qr-pilot", "agentbar", "loyalty", "store", "shop"}


@pytest.fixture(scope="module")
def compiled():
    result = pipeline.compile_catalog(CATALOG)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def test_the_seed_catalog_validates_with_exit_code_zero() -> None:
    proc = run_moncat("validate", "catalog")
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_the_committed_output_is_what_the_catalog_compiles_to() -> None:
    # The examples run in the validate test above; this one compares the files.
    proc = run_moncat("compile", "catalog", "--out", "output", "--check", "--no-examples")
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_every_seed_system_is_a_service_with_alerts(compiled) -> None:
    services = {s.id: s for s in compiled.catalog.services}
    assert SEED_SERVICES <= set(services)
    for sid in SEED_SERVICES:
        svc = services[sid]
        assert svc.alerts, sid
        assert svc.procedures, sid
        assert svc.dashboards, sid


def test_promtool_accepts_every_generated_rule_file(promtool) -> None:
    files = sorted((OUTPUT / "prometheus").glob("*.rules.yaml"))
    assert {f.name.split(".")[0] for f in files} >= SEED_SERVICES
    proc = subprocess.run([promtool, "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(files)


def test_promtool_passes_every_generated_unit_test(promtool) -> None:
    files = sorted((OUTPUT / "prometheus").glob("*.tests.yaml"))
    assert {f.name.split(".")[0] for f in files} >= SEED_SERVICES
    proc = subprocess.run([promtool, "test", "rules", *(f.name for f in files)], capture_output=True,
                          text=True, cwd=files[0].parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("  SUCCESS") == len(files)


def test_every_alert_has_a_test_that_fires_and_one_that_stays_quiet() -> None:
    # A service's tests may be split over several files, one per evaluation interval.
    test_files = [yaml.safe_load(t.read_text()) for t in (OUTPUT / "prometheus").glob("*.tests.yaml")]
    for f in sorted((OUTPUT / "prometheus").glob("*.rules.yaml")):
        rules = yaml.safe_load(f.read_text())
        alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
        tests = [t for doc in test_files if doc["rule_files"] == [f.name] for t in doc["tests"]]
        fires = {c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if c["exp_alerts"]}
        quiet = {t["name"].split(" ")[0] for t in tests if " stays quiet #" in t["name"]}
        assert all(t.get("alert_rule_test") or t.get("promql_expr_test") for t in tests), f.name
        assert alerts == fires == quiet, f.name


def test_every_alert_links_its_runbook_and_carries_routing_labels() -> None:
    for f in sorted((OUTPUT / "prometheus").glob("*.rules.yaml")):
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                assert rule["annotations"]["runbook_url"].startswith("https://"), rule["alert"]
                assert {"severity", "service"} <= set(rule["labels"]), rule["alert"]


def test_the_manifest_lists_every_alert_with_its_source_and_hash() -> None:
    manifest = json.loads((OUTPUT / "manifest.json").read_text())
    alerts = [o for o in manifest["objects"] if o["kind"] == "alert" and o["target"] == "prometheus"]
    rules = sum(1 for f in (OUTPUT / "prometheus").glob("*.rules.yaml")
                for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"] if "alert" in r)
    assert len(alerts) == rules
    for obj in alerts:
        path, line, col = obj["source"].rsplit(":", 2)
        assert (CATALOG / path).is_file() and int(line) > 0 and int(col) > 0
        assert obj["hash"].startswith("sha256:")
