"""Writing output: deterministic bytes, atomic replacement, --check, and ownership of the directory."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import CATALOG, run_moncat, tree_bytes


def _copy_catalog(tmp_path: Path) -> Path:
    dest = tmp_path / "catalog"
    shutil.copytree(CATALOG, dest)
    return dest


def test_compiling_twice_gives_byte_identical_output(tmp_path: Path) -> None:
    assert run_moncat("compile", "catalog", "--out", str(tmp_path / "a")).returncode == 0
    assert run_moncat("compile", "catalog", "--out", str(tmp_path / "b")).returncode == 0
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_output_has_no_timestamps_and_no_tool_version(tmp_path: Path) -> None:
    assert run_moncat("compile", "catalog", "--out", str(tmp_path / "o")).returncode == 0
    from importlib.metadata import version
    ours = version("moncat")
    # A date the catalog itself quotes (a seed's commit time, shown on its runbook page) is
    # content; a timestamp the compiler adds is not.
    written = "\n".join(p.read_text("utf-8") for p in CATALOG.rglob("*.yaml"))
    for rel, data in tree_bytes(tmp_path / "o").items():
        text = data.decode()
        stamps = re.findall(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
        assert all(stamp in written for stamp in stamps), (rel, stamps)
        assert f"moncat {ours}" not in text and f"moncat/{ours}" not in text, rel


def test_a_failed_compile_leaves_the_output_directory_as_it_was(tmp_path: Path) -> None:
    catalog = _copy_catalog(tmp_path)
    out = tmp_path / "out"
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    before = tree_bytes(out)
    shop = catalog / "shop" / "alerts.yaml"
    shop.write_text(shop.read_text().replace("expr:", "expr: sum(", 1))
    proc = run_moncat("compile", str(catalog), "--out", str(out))
    assert proc.returncode == 1
    assert "MC301" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(out) == before


def test_check_reports_stale_files_and_writes_nothing(tmp_path: Path) -> None:
    catalog = _copy_catalog(tmp_path)
    out = tmp_path / "out"
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    # Stale files are the subject here: the examples (which --check also runs) are tested elsewhere.
    assert run_moncat("compile", str(catalog), "--out", str(out), "--check", "--no-examples").returncode == 0
    (out / "prometheus" / "shop.rules.yaml").write_text("edited by hand\n")
    shutil.rmtree(catalog / "store")  # its files were written, and are no longer generated
    (out / "stray.txt").write_text("x")  # never written by moncat: not its to report
    before = tree_bytes(out)
    proc = run_moncat("compile", str(catalog), "--out", str(out), "--check", "--no-examples")
    assert proc.returncode == 1
    assert "changed: " in proc.stderr and "shop.rules.yaml" in proc.stderr
    assert "extra: " in proc.stderr and "store.rules.yaml" in proc.stderr
    assert "stray.txt" not in proc.stderr
    assert tree_bytes(out) == before


def test_compile_replaces_stale_files_and_removes_ones_no_longer_generated(tmp_path: Path) -> None:
    catalog = _copy_catalog(tmp_path)
    out = tmp_path / "out"
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    fresh = tree_bytes(out)
    (out / "stray.txt").write_text("x")
    (out / "prometheus" / "shop.rules.yaml").write_text("edited by hand\n")
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    # Its own files restored; a file it never wrote is not its to delete.
    assert tree_bytes(out) == {**fresh, "stray.txt": b"x"}
    assert not list(tmp_path.glob(".out.moncat-*"))
    shutil.rmtree(catalog / "store")
    assert run_moncat("compile", str(catalog), "--out", str(out)).returncode == 0
    assert not list((out / "prometheus").glob("store.*")) and (out / "stray.txt").read_bytes() == b"x"


def test_compile_refuses_a_directory_it_does_not_own(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_moncat("compile", "catalog", "--out", str(out))
    assert proc.returncode == 1 and "MC501" in proc.stderr
    assert tree_bytes(out) == {"notes.txt": b"mine"}
