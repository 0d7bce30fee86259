"""CI templates users copy: each one's script steps run here against the seed catalog, in a git
repository whose last commit changes one threshold, so a template that cannot work fails CI. The
GitHub Action (action.yml) runs the same way, on `moncat init`'s catalog."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CATALOG, ROOT

# Steps that need the hosted service itself (installing, or GitHub's API), not moncat.
HOSTED_ONLY = ("Install moncat", "Comment the diff on the pull request")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args], cwd=repo,
                   check=True, capture_output=True)


def _moncat(repo: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "compiler", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: the seed catalog with its output; HEAD: one threshold changed, output recompiled."""
    root = tmp_path / "repo"
    shutil.copytree(CATALOG, root / "catalog")
    _moncat(root, "compile", "catalog", "--out", "output")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "seed catalog")
    qr = root / "catalog" / "qr-pilot" / "qr-pilot.yaml"
    text = qr.read_text()
    assert text.count("ratio_rate30m < 0.85") == 1
    qr.write_text(text.replace("ratio_rate30m < 0.85", "ratio_rate30m < 0.86"))
    _moncat(root, "compile", "catalog", "--out", "output")
    _git(root, "commit", "-q", "-am", "lower the payment match threshold")
    return root


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """`moncat` on PATH as a user's pipeline has it, running this checkout's compiler."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "moncat"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m compiler \"$@\"\n")
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}


def _bash(script: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=300)


def _assert_diff_report(repo: Path) -> None:
    diff = (repo / "moncat-diff.md").read_text()
    assert "| alert `qr-pilot/PaymentMatchRateLow` | threshold 0.85 -> 0.86 |" in diff
    assert "failures=\"0\"" in (repo / "moncat-junit.xml").read_text()


def test_the_github_workflow_steps_run_against_the_seed_catalog(repo: Path, env: dict, tmp_path: Path) -> None:
    workflow = yaml.safe_load((ROOT / "ci" / "github" / "moncat.yml").read_text())
    job = workflow["jobs"]["monitoring"]
    env = {**env, **workflow["env"], "MONCAT_BASE": "HEAD~1",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    ran = []
    for step in job["steps"]:
        if "run" not in step or step.get("name") in HOSTED_ONLY:
            continue
        proc = _bash(step["run"], repo, env)
        assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}\n{proc.stderr}"
        ran.append(step["name"])
    assert len(ran) == 5
    _assert_diff_report(repo)
    assert "threshold 0.85 -> 0.86" in (tmp_path / "summary.md").read_text()
    assert '"version": "2.1.0"' in (repo / "moncat.sarif").read_text()


def test_the_gitlab_job_script_runs_against_the_seed_catalog(repo: Path, env: dict) -> None:
    job = yaml.safe_load((ROOT / "ci" / "gitlab" / "moncat.gitlab-ci.yml").read_text())["moncat"]
    variables = {k: v.replace("$CI_DEFAULT_BRANCH", "main") for k, v in job["variables"].items()}
    env = {**env, **variables, "MONCAT_BASE": "HEAD~1", "CI_DEFAULT_BRANCH": "main"}
    proc = _bash("\n".join(job["script"]), repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_diff_report(repo)


def test_the_pre_commit_hooks_pass_on_a_fresh_catalog_and_fail_on_a_stale_output(repo: Path, env: dict) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"moncat-validate", "moncat-compile-check"}
    for hook in hooks:
        proc = subprocess.run(shlex.split(hook["entry"]), cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, hook["id"] + proc.stderr
    (repo / "output" / "prometheus" / "shop.rules.yaml").write_text("stale\n")
    check = next(h for h in hooks if h["id"] == "moncat-compile-check")
    proc = subprocess.run(shlex.split(check["entry"]), cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "shop.rules.yaml" in proc.stderr


# --- the GitHub Action (action.yml at the repository root) -----------------------------------------
ACTION_HOSTED_ONLY = ("Install moncat",)  # pip and apt on the runner; the tests use this checkout
_EXPRESSION = re.compile(r"\$\{\{\s*([a-z_.-]+)\s*\}\}")


def _run_action(repo: Path, env: dict, tmp_path: Path, inputs: dict[str, str]) -> list[tuple[str, int, str]]:
    """Each script step of the action, with its inputs (defaults, then `inputs`) as GitHub would
    pass them; (step name, exit status, output) until the first step that fails."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    given = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    given.update(inputs)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    context = {**{f"inputs.{k}": v for k, v in given.items()},
               "github.action_path": str(ROOT), "runner.temp": str(runner_temp)}
    files = {"GITHUB_OUTPUT": tmp_path / "github-output", "GITHUB_STEP_SUMMARY": tmp_path / "summary.md"}
    ran = []
    for step in action["runs"]["steps"]:
        if "run" not in step or step["name"] in ACTION_HOSTED_ONLY:
            continue
        step_env = {k: _EXPRESSION.sub(lambda m: context[m.group(1)], str(v)) for k, v in step.get("env", {}).items()}
        proc = _bash(step["run"], repo, {**env, **step_env, "RUNNER_TEMP": str(runner_temp),
                                          **{k: str(v) for k, v in files.items()}})
        ran.append((step["name"], proc.returncode, proc.stdout + proc.stderr))
        if proc.returncode:
            break
    return ran


def test_the_action_declares_its_inputs_and_keeps_them_out_of_its_scripts() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"catalog", "out", "fail-on"} <= set(action["inputs"])
    used = set()
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]  # composite run steps must say
            assert "${{" not in step["run"], f"{step['name']}: pass inputs through env"
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            used |= {m.group(1).split(".", 1)[1] for m in _EXPRESSION.finditer(str(value))
                     if m.group(1).startswith("inputs.")}
    assert used == set(action["inputs"])  # every input is used, and only declared ones


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """`moncat init`'s catalog with its output in git; HEAD raises one threshold (the seed catalog
    runs through the workflow template above, at ten times the cost)."""
    root = tmp_path / "small"
    root.mkdir()
    _moncat(root, "init", "catalog")
    _moncat(root, "compile", "catalog", "--out", "output")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "skeleton")
    service = root / "catalog" / "web" / "service.yaml"
    service.write_text(service.read_text().replace("[10m])) > 0.05", "[10m])) > 0.06"))
    _moncat(root, "compile", "catalog", "--out", "output")
    _git(root, "commit", "-q", "-am", "raise the error threshold")
    return root


def test_the_action_steps_run_against_a_catalog(small_repo: Path, env: dict, tmp_path: Path) -> None:
    ran = _run_action(small_repo, env, tmp_path, {"base": "HEAD~1"})
    assert [status for _, status, _ in ran] == [0, 0, 0, 0], ran
    assert "| alert `web/WebErrorRatioHigh` | threshold 0.05 -> 0.06 |" in (tmp_path / "summary.md").read_text()
    junit = (tmp_path / "github-output").read_text().strip().removeprefix("junit=")
    assert 'failures="0"' in Path(junit).read_text()


def test_the_action_fails_on_a_warning_only_when_fail_on_says_so(small_repo: Path, env: dict,
                                                                  tmp_path: Path) -> None:
    _moncat(small_repo, "new", "alert", "web", "WebSlow", "--catalog", "catalog")
    ran = _run_action(small_repo, env, tmp_path, {"fail-on": "warning"})
    name, status, output = ran[-1]
    assert (name, status) == ("Validate the catalog", 1)
    assert "::warning file=catalog/web/service.yaml" in output and "MC090" in output
    (tmp_path / "default").mkdir()
    ran = _run_action(small_repo, env, tmp_path / "default", {})
    # With the default (error), validation passes; the output/ the new alert made stale fails next.
    assert [(n, s) for n, s, _ in ran] == [("Validate the catalog", 0), ("Check that the output is fresh", 1)]
