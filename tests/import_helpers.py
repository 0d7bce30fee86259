"""Helpers of the import tests: compile an imported catalog's Prometheus rules and prove its
examples with promtool against them."""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from compiler import pipeline
from compiler.model import Catalog
from compiler.targets import prometheus



def analysed(root: Path) -> Catalog:
    result = pipeline.analyse(root)
    errors = [d for d in result.report.sorted() if d.severity.name == "ERROR"]
    assert errors == [] and result.catalog is not None, errors[:5]
    return result.catalog


def compiled_rules(catalog: Catalog) -> dict[str, list[dict]]:
    """Each service's generated rules, as `moncat compile` writes them into its rule file."""
    return {svc.id: [rule for g in prometheus.rule_groups(catalog, svc)[0] for rule in g["rules"]]
            for svc in catalog.services}


def compile_errors(root: Path) -> list[str]:
    """Codes of the errors a full compile reports (generation included)."""
    result = pipeline.compile_catalog(root)
    return sorted({d.code for d in result.report.sorted() if d.severity.name == "ERROR"})


def promtool_check(promtool: str, catalog: Catalog, tmp: Path) -> subprocess.CompletedProcess:
    files = []
    for svc in catalog.services:
        groups, _ = prometheus.rule_groups(catalog, svc)
        if groups:
            path = tmp / f"{svc.id}.rules.yaml"
            path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
            files.append(str(path))
    return subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, timeout=300)


def prove_examples(promtool: str, catalog: Catalog, tmp: Path) -> tuple[int, subprocess.CompletedProcess]:
    """Every example of the catalog as a promtool test of its compiled rule, annotations left out
    (rendering template functions belongs to the generated tests): the expression, `for` and
    labels must fire with the example's labels, or stay quiet. A rule file per alert, with the
    recording rules its examples feed: promtool evaluates every rule of a file at every step."""
    from compiler.importers.proof import records_reading

    files = []
    count = 0
    for svc in catalog.services:
        groups, _ = prometheus.rule_groups(catalog, svc)
        artifacts, _ = prometheus.unit_test_artifacts(catalog, svc, "unused")
        records = [r for g in groups for r in g["rules"] if "record" in r]
        alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
        by_alert: dict[tuple[str, str], list[dict]] = {}
        for art in artifacts:
            for case in art.data["tests"]:
                for check in case.get("alert_rule_test", []):
                    for alert in check["exp_alerts"]:
                        alert["exp_annotations"] = {}
                name = svc.alerts[case["name"].split(" ")[0]].rule_name
                by_alert.setdefault((name, art.data["evaluation_interval"]), []).append(case)
                count += 1
        for n, ((name, interval), cases) in enumerate(sorted(by_alert.items())):
            series = {s["series"].split("{", 1)[0] for c in cases for s in c["input_series"]}
            rule = {k: v for k, v in alerts[name].items() if k != "annotations"}
            # Alerts that share a name are tested together, as promtool sees them.
            same = [{k: v for k, v in r.items() if k != "annotations"} for g in groups for r in g["rules"]
                    if r.get("alert") == name and r is not alerts[name]]
            rules_file = tmp / f"{svc.id}.{n}.rules.yaml"
            rules_file.write_text(yaml.safe_dump({"groups": [
                {"name": "g", "rules": records_reading(records, series) + [rule] + same}]}, sort_keys=False))
            test_file = tmp / f"{svc.id}.{n}.tests.yaml"
            test_file.write_text(yaml.safe_dump({"rule_files": [rules_file.name],
                                                 "evaluation_interval": interval, "tests": cases},
                                                sort_keys=False))
            files.append(test_file.name)
    run = subprocess.run([promtool, "test", "rules", *files], capture_output=True, text=True,
                         timeout=1200, cwd=tmp)
    return count, run
