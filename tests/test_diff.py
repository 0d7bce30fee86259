"""`moncat diff`: a semantic summary per object, against a directory or a git revision."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from compiler import scaffold
from conftest import ROOT, run_moncat

GOLDEN_CATALOG = ROOT / "tests" / "golden" / "catalog"
SERVICE = "catalog/web/service.yaml"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose only commit holds the golden catalog."""
    root = tmp_path / "repo"
    shutil.copytree(GOLDEN_CATALOG, root / "catalog")
    return _first_commit(root)


def _init_catalog(tmp_path: Path) -> Path:
    """A directory holding `moncat init`'s catalog (which compiles for Datadog too)."""
    root = tmp_path / "repo"
    scaffold.init(root / "catalog")
    return root


def _first_commit(root: Path) -> Path:
    """`root` made a git repository whose only commit holds what it holds."""
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "catalog")
    return root


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / SERVICE
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_a_commit_that_changes_one_threshold_diffs_as_exactly_that_change(repo: Path) -> None:
    _edit(repo, "web:http_error_ratio:rate5m > 0.05", "web:http_error_ratio:rate5m > 0.07")
    _git(repo, "commit", "-q", "-am", "raise threshold")
    proc = run_moncat("diff", "catalog", "--base", "HEAD~1", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "alert web/WebErrorRatioHigh: threshold 0.05 -> 0.07\n"


def test_a_threshold_change_with_datadog_names_the_monitor_but_not_the_dashboard_markers(tmp_path: Path) -> None:
    # `moncat init`'s catalog compiles for Datadog and its error-ratio panel names the alert. The
    # dashboard's marker follows the threshold as Grafana's threshold line does: said once, with
    # the alert. The monitor is an object of its own on another system, so it is listed.
    root = _first_commit(_init_catalog(tmp_path))
    path = root / "catalog" / "web" / "service.yaml"
    text = path.read_text()
    assert text.count("[10m])) > 0.05") == 1
    path.write_text(text.replace("[10m])) > 0.05", "[10m])) > 0.07"))
    proc = run_moncat("diff", "catalog", "--base", "HEAD", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        "alert web/WebErrorRatioHigh: threshold 0.05 -> 0.07",
        "file datadog/monitors/web/WebErrorRatioHigh.json: options.thresholds.critical, query",
    ]


def test_an_slos_alerts_and_rules_are_named_by_their_service(tmp_path: Path) -> None:
    # An SLO's rules are in a file of their own, `web.slo-availability.rules.yaml`: its alerts
    # are still web's (`web/AvailabilityBurnRatePageFast`, as the manifest and explain name them).
    root = _first_commit(_init_catalog(tmp_path))
    (root / "catalog" / "web" / "slos.yaml").write_text(
        "service: web\nslos:\n  availability:\n    objective: 99.9\n    sli:\n      events:\n"
        "        bad: 'http_requests_total{code=~\"5.*\"}'\n        total: http_requests_total\n"
        "    procedure: web-errors\n    alerting:\n      page-fast: {severity: critical}\n"
        "      page-slow: {severity: critical}\n      ticket-fast: {severity: warning}\n"
        "      ticket-slow: {severity: warning}\n")
    proc = run_moncat("diff", "catalog", "--base", "HEAD", cwd=root)
    assert proc.returncode == 1, proc.stderr
    named = [line.rsplit(": ", 1)[0] for line in proc.stdout.splitlines() if line.startswith(("alert ", "record "))]
    assert "alert web/AvailabilityBurnRatePageFast" in named
    assert "record web/slo:web_availability_errors:ratio_rate5m" in named
    assert all(n.split(" ", 1)[1].startswith("web/") for n in named), named


def test_for_severity_and_new_alerts_are_named_field_by_field(repo: Path) -> None:
    _edit(repo, "    for: 5m\n    severity: page", "    for: 15m\n    severity: ticket")
    _edit(repo, "  WebRouteErrors:", "  WebRouteFailures:")
    proc = run_moncat("diff", "catalog", "--base", "HEAD", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        "alert web/WebErrorRatioHigh: for 5m -> 15m, label severity page -> ticket",
        "alert web/WebRouteErrors: removed",
        "alert web/WebRouteFailures: added",
    ]


def test_an_unchanged_catalog_diffs_clean_against_its_own_output(repo: Path) -> None:
    assert run_moncat("compile", "catalog", "--out", "out", cwd=repo).returncode == 0
    proc = run_moncat("diff", "catalog", "--against", "out", cwd=repo)
    assert (proc.returncode, proc.stdout) == (0, "no changes\n")


def test_markdown_is_a_table_fit_for_a_pr_comment(repo: Path) -> None:
    assert run_moncat("compile", "catalog", "--out", "out", cwd=repo).returncode == 0
    _edit(repo, "for: 10m", "for: 20m")
    proc = run_moncat("diff", "catalog", "--against", "out", "--format", "markdown", cwd=repo)
    assert proc.returncode == 1
    assert "| alert `web/WebRouteErrors` | for 10m -> 20m |" in proc.stdout.splitlines()


def test_unified_prints_the_raw_file_diff(repo: Path) -> None:
    _edit(repo, "for: 10m", "for: 20m")
    proc = run_moncat("diff", "catalog", "--base", "HEAD", "--unified", cwd=repo)
    assert proc.returncode == 1
    assert "-    for: 10m\n+    for: 20m\n" in proc.stdout
    assert proc.stdout.startswith("--- HEAD/")


def test_an_unknown_revision_is_a_clear_error(repo: Path) -> None:
    proc = run_moncat("diff", "catalog", "--base", "no-such-branch", cwd=repo)
    assert proc.returncode == 2
    assert "cannot read catalog at no-such-branch" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, edit, says", [
    (("--against", "out", "--base", "HEAD"), None, "exactly one of --against DIR or --base REV"),
    (("--base", "no-such-branch"), None, "cannot read catalog at no-such-branch"),
    (("--base", "HEAD"), ("for: 10m", "for: often"), "MC"),
], ids=["both-options", "unknown-revision", "catalog-does-not-compile"])
def test_diff_exits_2_when_it_cannot_compare_as_the_readme_says(repo: Path, args, edit, says) -> None:
    """2, not 1: a CI step tells "the catalog changed" from "the diff could not run"."""
    if edit is not None:
        _edit(repo, *edit)
    proc = run_moncat("diff", "catalog", *args, cwd=repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    readme = (ROOT / "README.md").read_text()
    assert "`diff` exits 0 when nothing changed, 1 when something did, and 2 when it cannot compare" in readme
