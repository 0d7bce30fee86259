"""Helpers of the import tests: compile an imported catalog's Prometheus rules and prove its
examples with promtool against them."""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from compiler import pipeline
from compiler.model import Catalog
from compiler.targets import prometheus

MC416 = "MC416"  # annotation template functions: the examples helper's work, not this one's


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
    labels must fire with the example's labels, or stay quiet."""
    files = []
    count = 0
    interval = catalog.settings.evaluation_interval_ms
    for svc in catalog.services:
        groups, _ = prometheus.rule_groups(catalog, svc)
        if not groups:
            continue
        for g in groups:
            for r in g["rules"]:
                r.pop("annotations", None)
        (tmp / f"{svc.id}.rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        tests, _, _ = prometheus.unit_tests(catalog, svc, f"{svc.id}.rules.yaml")
        if tests is None:
            continue
        for case in tests["tests"]:
            for check in case["alert_rule_test"]:
                for alert in check["exp_alerts"]:
                    alert["exp_annotations"] = {}
            count += 1
        path = tmp / f"{svc.id}.tests.yaml"
        path.write_text(yaml.safe_dump(tests, sort_keys=False))
        files.append(path.name)
    del interval
    run = subprocess.run([promtool, "test", "rules", *files], capture_output=True, text=True,
                         timeout=600, cwd=tmp)
    return count, run
