"""Bad input to `moncat import`: a clear diagnostic with its code and where, a non-zero exit, no
traceback, and nothing written."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_moncat

RULE = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: {dur}\n    labels: {{severity: warning}}\n"


@pytest.mark.parametrize("name,text,code,where", [
    ("missing", None, "MC801", "no such file or directory"),
    ("not-a-rule.yaml", "groups:\n- name: g\n  rules:\n  - expr: up\n", "MC803", "not-a-rule.yaml:4:5"),
    ("bad-duration.yaml", RULE.format(dur="5 minutes"), "MC805", "bad-duration.yaml:4"),
    ("bad-promql.yaml", RULE.format(dur="5m").replace("up == 0", "sum(up"), "MC806", "bad-promql.yaml:4"),
    ("bad-yaml.yaml", "groups: [\n", "MC001", "bad-yaml.yaml:2"),
])
def test_bad_rule_files_are_refused(tmp_path: Path, name: str, text: str | None, code: str, where: str) -> None:
    src = tmp_path / name
    if text is not None:
        src.write_text(text)
    out = tmp_path / "out"
    done = run_moncat("import", "prometheus", str(src), "--out", str(out), "--no-examples")
    assert done.returncode == 1, done.stdout
    assert code in done.stderr and where in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_an_out_directory_moncat_import_did_not_write_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "r.yaml"
    src.write_text(RULE.format(dur="5m"))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    done = run_moncat("import", "prometheus", str(src), "--out", str(out), "--no-examples")
    assert done.returncode == 1 and "MC811" in done.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_out_and_into_are_exclusive(tmp_path: Path) -> None:
    done = run_moncat("import", "prometheus", str(tmp_path), "--out", "a", "--into", "b")
    assert done.returncode == 2 and "exactly one of --out DIR or --into CATALOG" in done.stderr


def test_into_a_catalog_without_the_owner_contact_is_refused(tmp_path: Path) -> None:
    from conftest import ROOT
    done = run_moncat("import", "prometheus", str(tmp_path), "--into", str(ROOT / "tests" / "e2e" / "catalog"))
    assert done.returncode == 2 and "contact 'oncall' is not in" in done.stderr and "--owner" in done.stderr


def test_a_file_that_is_not_a_monitor_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "m.json"
    src.write_text('{"name": "no query"}')
    done = run_moncat("import", "datadog", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "MC830" in done.stderr and "m.json" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_datadog_dashboard_is_skipped_with_a_warning(tmp_path: Path) -> None:
    src = tmp_path / "board.json"
    src.write_text('{"title": "Ops", "layout_type": "ordered", "widgets": []}')
    done = run_moncat("import", "datadog", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "warning MC831" in done.stderr and "'Ops' skipped" in done.stderr
