"""Hardening: what the one-error bad-input table cannot say. Deep expressions up to the limit
compile and pass promtool; `diff` survives whatever an output directory or a revision holds; the
output directory behind a link, and two compiles racing for one directory."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import pipeline, writer
from compiler.yaml_source import load_yaml
from test_bad_input import EXPR, SERVICE, _write_clean, run_cli


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    _write_clean(root)
    return root


def _set_expr(catalog: Path, new: str) -> None:
    path = catalog / SERVICE
    path.write_text(path.read_text("utf-8").replace(f"expr: {EXPR}", f"expr: {new}"), "utf-8")


@pytest.mark.parametrize("shape", ["parentheses", "chain"])
def test_an_expression_just_inside_the_nesting_limit_compiles_and_promtool_accepts_it(
        catalog: Path, tmp_path: Path, shape: str, promtool: str) -> None:
    # 996 parentheses around `sum by (instance) (rate(x[5m]))` (its own 4 levels): 1,000 in all;
    # or 996 terms joined by `+` (995 operators, the comparison, and the 4 levels of a term).
    term = 'sum by (instance) (rate(http_requests_total{code="500"}[5m]))'
    text = "(" * 996 + term + ")" * 996 if shape == "parentheses" else " + ".join([term] * 996)
    _set_expr(catalog, f"'{text} > 1'")
    out = tmp_path / "out"
    proc = run_cli("compile", str(catalog), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    check = subprocess.run([promtool, "check", "rules", str(out / "prometheus" / "svc.rules.yaml")],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr


def test_diff_against_an_output_directory_with_broken_files_names_them(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    writer.write(out, pipeline.compile_catalog(catalog).files)
    (out / "prometheus" / "svc.rules.yaml").write_text("groups: [\n", "utf-8")
    (out / "alertmanager" / "routes.tests.yaml").write_text("tests: [{name: 1}, 7]\n", "utf-8")
    (out / "grafana" / "alerting" / "svc.yaml").write_bytes(b"\xff\xfe not text")
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
    (out / "alertmanager" / "alertmanager.yaml").write_text(bomb, "utf-8")
    proc = run_cli("diff", str(catalog), "--against", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "file prometheus/svc.rules.yaml: not a rule file as moncat writes it" in proc.stdout
    assert "alert svc/HighErrorRate: added" in proc.stdout  # the broken file holds no rule


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                   check=True, capture_output=True)


def test_diff_base_refuses_a_revision_whose_catalog_links_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _write_clean(repo / "catalog")
    _git(repo, "init", "-q")
    os.symlink("/etc/passwd", repo / "catalog" / "svc" / "users.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a link to a secret")
    (repo / "catalog" / "svc" / "users.yaml").unlink()
    proc = run_cli("diff", "catalog", "--base", "HEAD", cwd=repo)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "root:" not in proc.stdout + proc.stderr
    assert "catalog/svc/users.yaml is a symbolic link to a place outside the catalog" in proc.stderr


def test_a_linked_output_directory_keeps_its_link_and_gets_a_new_target(catalog: Path, tmp_path: Path) -> None:
    target = tmp_path / "real" / "generated"
    target.parent.mkdir()
    out = tmp_path / "out"
    os.symlink(target, out)
    assert run_cli("compile", str(catalog), "--out", str(out), cwd=tmp_path).returncode == 0
    _set_expr(catalog, EXPR.replace("> 1", "> 2"))
    proc = run_cli("compile", str(catalog), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.is_symlink() and Path(os.readlink(out)) == target
    assert "> 2" in (target / "prometheus" / "svc.rules.yaml").read_text("utf-8")
    assert sorted(p.name for p in target.parent.iterdir()) == ["generated"]  # nothing left over


def test_compiles_racing_for_one_output_directory_never_mix_or_crash(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    second = tmp_path / "catalog2"
    shutil.copytree(catalog, second)
    _set_expr(second, EXPR.replace("> 1", "> 2"))
    procs = [subprocess.Popen([sys.executable, "-m", "compiler", "compile", str(c), "--out", str(out),
                               "--format", "json"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for c in (catalog, second, catalog, second)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for status, stdout, stderr in results:
        assert status in (0, 1) and "Traceback" not in stderr, stderr
        if status == 1:  # lost the race: told so, nothing else
            assert [d["code"] for d in json.loads(stdout)] == ["MC503"], stdout
    assert any(status == 0 for status, _, _ in results)
    # The directory holds exactly one of the two compiles, whole.
    have = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert have in (pipeline.compile_catalog(catalog).files, pipeline.compile_catalog(second).files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog", "catalog2", "out"]


def test_yaml_merge_keys_merge_and_own_keys_win() -> None:
    docs, diags = load_yaml("f.yaml", "base: &b {team: a, owner: x}\nsvc: {<<: *b, team: b}\n")
    assert diags == []
    assert docs[0].data["svc"] == {"team": "b", "owner": "x"}
    assert str(docs[0].loc(("svc", "team"))) == "f.yaml:2:21"  # the value written here wins


def test_a_key_written_twice_next_to_a_merge_is_still_a_duplicate() -> None:
    _, diags = load_yaml("f.yaml", "base: &b {team: a}\nsvc: {<<: *b, owner: x, owner: y}\n")
    assert [(d.code, str(d.loc)) for d in diags] == [("MC011", "f.yaml:2:25")]


def test_jsonnet_with_imports_still_evaluates_in_its_sandbox(catalog: Path) -> None:
    (catalog / "svc" / "lib.libsonnet").write_text("{ note: 'from a library' }\n", "utf-8")
    (catalog / "svc" / "notes.jsonnet").write_text(
        "local lib = import 'lib.libsonnet';\n{ service: 'svc', notes: [lib.note] }\n", "utf-8")
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors(), result.report.sorted()
    assert any(b"from a library" in data for data in result.files.values())
