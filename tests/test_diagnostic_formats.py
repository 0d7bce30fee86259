"""Diagnostic formats: text, JSON, GitHub annotations and SARIF, as golden files; SARIF checked
against the SARIF 2.1.0 schema (as generated into pydantic-sarif's model)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, run_moncat

GOLDEN = Path(__file__).parent / "golden"
BAD = "tests/golden/bad_catalog"
FORMATS = {"text": "txt", "json": "json", "github": "txt", "sarif": "sarif.json"}


def _validate(fmt: str) -> tuple[int, str]:
    proc = run_moncat("validate", BAD, "--format", fmt, cwd=ROOT)
    assert "Traceback" not in proc.stderr
    # text goes to stderr (it is for people); machine formats to stdout.
    return proc.returncode, proc.stdout if fmt != "text" else proc.stderr


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_prints_the_golden_report(fmt: str, update_golden: bool) -> None:
    code, out = _validate(fmt)
    assert code == 1
    golden = GOLDEN / "formats" / f"{fmt}.{FORMATS[fmt]}"
    if update_golden:
        golden.write_text(out)
    assert out == golden.read_text()


def test_github_annotations_end_with_the_full_count() -> None:
    _, out = _validate("github")
    lines = out.splitlines()
    assert [l.split(" ")[0] for l in lines[:-1]] == ["::error", "::warning", "::error"]
    assert lines[0].startswith(f"::error file={BAD}/api.yaml,line=")
    assert lines[-1] == "moncat: 2 error(s), 1 warning(s), 0 info in total"


def test_sarif_output_is_valid_sarif_2_1_0() -> None:
    from pydantic_sarif.model import StaticAnalysisResultsFormatSarifVersion210JsonSchema as Sarif
    _, out = _validate("sarif")
    log = json.loads(out)
    Sarif.model_validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"MC303", "MC411", "MC430"}
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] > 0 and region["startColumn"] > 0


def test_fail_on_warning_fails_a_catalog_with_only_warnings(tmp_path: Path) -> None:
    import shutil
    cat = tmp_path / "c"
    shutil.copytree(ROOT / BAD, cat)
    api = cat / "api.yaml"
    text = api.read_text().replace("{{ $labels.route }}", "api").replace(
        "      fires:", "      quiet: {series: {'api_errors_total{route=\"/\"}': '0x30'}}\n      fires:")
    api.write_text(text)
    assert run_moncat("validate", str(cat)).returncode == 0
    proc = run_moncat("validate", str(cat), "--fail-on", "warning", "--format", "json")
    assert proc.returncode == 1
    assert [d["code"] for d in json.loads(proc.stdout)] == ["MC430"]
