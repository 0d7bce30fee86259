"""`moncat import mixin`: a Jsonnet mixin evaluated with its vendored libraries; alerts, a name two
rules record and a dashboard come in, each object naming the line of the mixin that spells it."""
from __future__ import annotations

import yaml

from conftest import ROOT, run_moncat, tree_bytes
from import_helpers import analysed

MIXIN = ROOT / "tests" / "fixtures" / "mixin-small"


def test_a_mixin_imports_with_its_vendored_library(tmp_path) -> None:
    out = tmp_path / "catalog"
    done = run_moncat("import", "mixin", str(MIXIN), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 alerts" in done.stdout and "3 proven by promtool" in done.stdout
    text = (out / "mixin-small" / "mixin-small.yaml").read_text()
    doc = yaml.safe_load(text)
    rule = doc["recording_rules"]["job:http_errors:ratio5m"]
    assert [d.get("labels") for d in rule["rules"]] == [None, {"tier": "admin"}]
    assert "/tests/fixtures/mixin-small/alerts/alerts.libsonnet:8\n  ShopApiErrorsHigh:" in text
    assert doc["alerts"]["ShopApiErrorsHigh"]["runbook_url"] == "https://runbooks.example.com/shop/ShopApiErrorsHigh"
    assert doc["dashboards"]["shop-api"]["rows"][0]["panels"][0]["unit"] == "reqps"
    assert any("'About'" in n for n in doc["notes"])
    catalog = analysed(out)
    assert catalog.service("mixin-small").metrics["http_request_duration_seconds"].type == "histogram"
    first = tree_bytes(out)
    again = run_moncat("import", "mixin", str(MIXIN), "--out", str(out))
    assert again.returncode == 0 and tree_bytes(out) == first


def test_a_mixin_that_does_not_evaluate_is_reported(tmp_path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "mixin.libsonnet").write_text("import 'missing/lib.libsonnet'\n")
    done = run_moncat("import", "mixin", str(broken), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "MC812" in done.stderr and "does not evaluate" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
