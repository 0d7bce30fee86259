"""`moncat import grafana`: dashboards come back from a compile with the same panels, queries and
units: the seed catalog's own generated dashboards, kubernetes-mixin's 23 and six dashboards of
the node, Prometheus and Alertmanager mixins as kube-prometheus ships them."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.importers import grafana, roundtrip
from conftest import OUTPUT, ROOT, run_moncat, tree_bytes

KUBE = ROOT / "tests" / "fixtures" / "kubernetes-mixin" / "dashboards"
COMMUNITY = ROOT / "tests" / "fixtures" / "community-dashboards"
SEED = OUTPUT / "grafana" / "dashboards"


def _compile(catalog: Path, out: Path) -> dict[str, dict]:
    done = run_moncat("compile", str(catalog), "--out", str(out))
    assert done.returncode == 0, done.stderr
    boards = [json.loads(p.read_text()) for p in sorted((out / "grafana" / "dashboards").rglob("*.json"))]
    return {b["title"]: b for b in boards}


def _round_trip(src: Path, tmp: Path, *args: str) -> roundtrip.Verdict:
    done = run_moncat("import", "grafana", str(src), "--out", str(tmp / "catalog"), *args)
    assert done.returncode == 0, done.stderr
    compiled = _compile(tmp / "catalog", tmp / "out")
    service = args[1] if args else None
    return roundtrip.compare_dashboards(grafana.read([src], service).dashboards, list(compiled.values()))


@pytest.mark.parametrize("src,args,count", [
    (SEED, (), len(list(SEED.rglob("*.json")))),
    (KUBE, ("--service", "kubernetes"), 23),
    (COMMUNITY, (), 6),
])
def test_dashboards_recompile_with_the_same_panels_queries_and_units(src, args, count, tmp_path) -> None:
    verdict = _round_trip(src, tmp_path, *args)
    assert verdict.differences == []
    assert verdict.identical == count
    # The same comparison against the source JSON itself, not as the importer read it: every
    # panel with a PromQL target, in order (rows opened), its title, queries and unit.
    compiled = _compile(tmp_path / "catalog", tmp_path / "again")
    for path in sorted(src.rglob("*.json")):
        board = json.loads(path.read_text())
        panels = roundtrip.panels_of(board)
        assert panels, path  # every source dashboard has PromQL panels to compare
        assert roundtrip.panels_of(compiled[board["title"]]) == panels, path.name


def test_importing_dashboards_twice_gives_the_same_bytes(tmp_path) -> None:
    first = tmp_path / "first"
    done = run_moncat("import", "grafana", str(COMMUNITY), "--out", str(first))
    assert done.returncode == 0, done.stderr
    again = run_moncat("import", "grafana", str(COMMUNITY), "--out", str(first))
    assert again.returncode == 0, again.stderr
    elsewhere = run_moncat("import", "grafana", str(COMMUNITY), "--out", str(tmp_path / "second"))
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert tree_bytes(first) == tree_bytes(tmp_path / "second")
    assert len(tree_bytes(first)) == 7  # moncat.yaml and a service per dashboard file


def test_into_refuses_a_dashboard_the_catalog_has_or_its_grafana_uid(tmp_path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    before = tree_bytes(catalog)
    src = SEED / "shop" / "shop-overview.json"
    same = run_moncat("import", "grafana", str(src), "--into", str(catalog), "--owner", "shop-oncall",
                      "--service", "shop")
    assert same.returncode == 1 and "Traceback" not in same.stderr
    lines = same.stderr.splitlines()
    refusal = next(line for line in lines if "MC810" in line)
    # Located where the catalog defines the dashboard, naming the imported file and line.
    defined = yaml.safe_load((catalog / "shop" / "dashboards.yaml").read_text())["dashboards"]
    assert "shop-overview" in defined
    assert refusal.startswith("shop/dashboards.yaml:") and "dashboard shop/shop-overview" in refusal
    assert "shop-overview.json:1" in refusal and "is already in the catalog" in refusal
    assert lines[-1] == "moncat import: nothing written"
    # Into a service of its own, the dashboard would take the Grafana uid the catalog's has.
    uid = run_moncat("import", "grafana", str(src), "--into", str(catalog), "--owner", "shop-oncall")
    assert uid.returncode == 1
    assert "MC810" in uid.stderr and "would get the Grafana uid 'shop-overview' of shop/shop-overview" in uid.stderr
    assert tree_bytes(catalog) == before


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
