"""`moncat import grafana`: dashboards come back from a compile with the same panels, queries and
units: the seed catalog's own generated dashboards and kubernetes-mixin's 23."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compiler.importers import grafana, roundtrip
from conftest import OUTPUT, ROOT, run_moncat

KUBE = ROOT / "tests" / "fixtures" / "kubernetes-mixin" / "dashboards"


def _round_trip(src: Path, tmp: Path, *args: str) -> roundtrip.Verdict:
    done = run_moncat("import", "grafana", str(src), "--out", str(tmp / "catalog"), *args)
    assert done.returncode == 0, done.stderr
    out = tmp / "out"
    done = run_moncat("compile", str(tmp / "catalog"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    compiled = [json.loads(p.read_text()) for p in sorted((out / "grafana" / "dashboards").rglob("*.json"))]
    service = args[1] if args else None
    return roundtrip.compare_dashboards(grafana.read([src], service).dashboards, compiled)


@pytest.mark.parametrize("src,args,count", [
    (OUTPUT / "grafana" / "dashboards", (), 11),
    (KUBE, ("--service", "kubernetes"), 23),
])
def test_dashboards_recompile_with_the_same_panels_queries_and_units(src, args, count, tmp_path) -> None:
    verdict = _round_trip(src, tmp_path, *args)
    assert verdict.differences == []
    assert verdict.identical == count


def test_old_row_layout_migrates_and_panels_without_promql_become_notes(tmp_path) -> None:
    board = {"title": "Legacy", "uid": "legacy", "schemaVersion": 12, "rows": [
        {"title": "Load", "panels": [
            {"type": "graph", "title": "Requests", "yaxes": [{"format": "reqps"}],
             "targets": [{"expr": "sum(rate(http_requests_total[5m]))", "legendFormat": "all"}]},
            {"type": "singlestat", "title": "Up", "format": "none", "targets": [{"expr": "min(up)"}]},
            {"type": "text", "title": "Read me", "content": "hello"}]}]}
    src = tmp_path / "legacy.json"
    src.write_text(json.dumps(board, indent=2))
    done = run_moncat("import", "grafana", str(src), "--out", str(tmp_path / "catalog"))
    assert done.returncode == 0, done.stderr
    assert "warning MC820" in done.stderr and "'Read me'" in done.stderr
    doc = yaml.safe_load((tmp_path / "catalog" / "legacy" / "legacy.yaml").read_text())
    panels = doc["dashboards"]["legacy"]["rows"][0]["panels"]
    assert [(p["title"], p["type"], p.get("unit")) for p in panels] == [("Requests", "timeseries", "reqps"),
                                                                       ("Up", "stat", "none")]
    assert "panel 'Read me' (" in doc["notes"][0] and "type 'text' has no catalog form" in doc["notes"][0]
    verdict = _round_trip(src, tmp_path / "again")
    assert verdict.differences == [] and verdict.identical == 1


def test_a_file_that_is_not_a_dashboard_is_refused(tmp_path) -> None:
    src = tmp_path / "x.json"
    src.write_text('{"title": "no panels"}')
    out = tmp_path / "catalog"
    done = run_moncat("import", "grafana", str(src), "--out", str(out))
    assert done.returncode == 1
    assert "MC821" in done.stderr and "not a Grafana dashboard" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
