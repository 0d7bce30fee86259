"""Target selection: `targets.outputs` in moncat.yaml says which outputs compile writes; a catalog
with only prometheus and runbooks writes nothing else, and compile removes only what its manifest
says it wrote: a file moncat did not write stays, and `--check` does not count it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compiler import pipeline
from conftest import ROOT, run_moncat

DISPATCH = ROOT / "tests" / "dispatch" / "catalog"
EVERY = {"alertmanager", "datadog", "grafana", "kubernetes", "manifest.json", "prometheus", "runbooks", "site"}


def _catalog(tmp_path: Path, outputs: str | None) -> Path:
    root = tmp_path / "catalog"
    if not root.exists():
        shutil.copytree(DISPATCH, root)
    settings = (DISPATCH / "moncat.yaml").read_text()
    if outputs is not None:
        settings = settings.replace("targets:\n", f"targets:\n  outputs: {outputs}\n")
    (root / "moncat.yaml").write_text(settings)
    return root


def _tops(files) -> set[str]:
    return {p.split("/")[0] for p in files}


def test_every_output_by_default(tmp_path) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path, None))
    assert _tops(result.files) == EVERY


def test_a_catalog_with_only_prometheus_and_runbooks_compiles_nothing_else(tmp_path) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path, "[prometheus, runbooks]"))
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    assert _tops(result.files) == {"manifest.json", "prometheus", "runbooks", "site"}
    manifest = json.loads(result.files["manifest.json"])
    assert {o["target"] for o in manifest["objects"]} == {"prometheus", "promtool", "runbooks", "site"}
    # The runbook pages show no Datadog query when Datadog is off.
    assert "Datadog" not in result.files["runbooks/dispatch/alerts/NoOrders.md"].decode()


@pytest.mark.parametrize("outputs,present,absent", [
    ("[grafana-alerting]", {"grafana/alerting/dispatch.yaml"}, {"grafana/provisioning/dashboards.yaml"}),
    ("[grafana]", {"grafana/alerting/dispatch.yaml"}, {"prometheus/dispatch.rules.yaml"}),
    ("[kubernetes, alertmanager]", {"kubernetes/dispatch.prometheusrule.yaml",
                                    "alertmanager/alertmanager.yaml"}, {"prometheus/dispatch.rules.yaml"}),
    ("[datadog]", {"datadog/monitors/dispatch/NoOrders.json"}, {"alertmanager/alertmanager.yaml"}),
])
def test_each_output_can_be_chosen_alone(tmp_path, outputs, present, absent) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path, outputs))
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    assert present <= set(result.files) and not absent & set(result.files)


def test_compile_removes_a_disabled_outputs_files_and_keeps_what_it_did_not_write(tmp_path) -> None:
    out = tmp_path / "out"
    catalog = _catalog(tmp_path, None)
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    (out / "NOTES.md").write_text("our own notes\n")
    (out / "grafana" / "extra.json").write_text("{}\n")
    _catalog(tmp_path, "[prometheus, runbooks]")
    proc = run_moncat("compile", str(catalog), "--out", str(out), "--check")
    assert proc.returncode == 1  # the Grafana, Alertmanager... files are stale now
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    have = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert "NOTES.md" in have and "grafana/extra.json" in have
    assert not [p for p in have if p.startswith(("alertmanager/", "datadog/", "kubernetes/", "grafana/alerting"))]
    proc = run_moncat("compile", str(catalog), "--out", str(out), "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "NOTES.md").read_text() == "our own notes\n"


def test_an_unknown_output_is_refused_at_its_position(tmp_path) -> None:
    catalog = _catalog(tmp_path, "[prometheus, grafanna]")
    proc = run_moncat("validate", str(catalog), "--format", "json")
    assert proc.returncode == 1
    found = json.loads(proc.stdout)
    assert [(d["code"], d["file"], d["line"]) for d in found] == [("MC104", "moncat.yaml", 10)]
