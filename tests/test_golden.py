"""Golden files: a small YAML + Jsonnet catalog and its whole compiled output, byte for byte.
Regenerate with `pytest tests/test_golden.py --update-golden` and review the diff."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from compiler import pipeline
from conftest import tree_bytes

GOLDEN = Path(__file__).parent / "golden"


def test_the_small_catalog_compiles_to_the_golden_output(update_golden: bool) -> None:
    result = pipeline.compile_catalog(GOLDEN / "catalog")
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    expected_dir = GOLDEN / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in result.files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
    assert result.files == tree_bytes(expected_dir)


def test_the_golden_output_passes_promtool(promtool: str) -> None:
    prom = GOLDEN / "expected" / "prometheus"
    for tests in sorted(prom.glob("*.tests.yaml")):
        proc = subprocess.run([promtool, "test", "rules", tests.name], cwd=prom,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_jsonnet_functions_expand_into_alerts_with_positions_in_the_jsonnet_file() -> None:
    result = pipeline.analyse(GOLDEN / "catalog")
    alert = result.catalog.service("api").alerts["ApiLatencyHigh"]
    assert alert.loc.file == "api.jsonnet" and alert.loc.line > 1
    assert alert.for_ms == 600_000


def test_golden_files_hold_no_registry_or_version(tmp_path: Path) -> None:
    for rel, data in tree_bytes(GOLDEN / "expected").items():
        text = data.decode()
        assert "pypi" not in text.lower() and "0.1.0" not in text, rel
