"""`moncat apply grafana` against FakeGrafana (tests/fakes/grafana_fake.py): plan, push, prune,
retries, 412s, crash recovery, dry run, org and provenance settings, and secrets, through the
real CLI (in this process with typer's CliRunner, and in a subprocess for what a process prints)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from compiler.targets.grafana.interpolation import rule_groups_file, unescape
from typer.testing import CliRunner

from compiler import pipeline
from compiler.apply import grafana, grafana_normalize as norm, plan
from compiler.apply.registry import ConfigError
from compiler.cli import app
from conftest import ROOT
from fakes.grafana_fake import FakeGrafana, go_duration, parse_duration

GOLDEN_CATALOG = ROOT / "tests" / "golden" / "catalog"
TOKEN = "glsa_mOnCaTtEsT0kEn_SHOULD_NEVER_LEAK_0badc0de"
SLACK = "xoxb-slack-secret-SHOULD-NEVER-LEAK"
PLAN_LINE = re.compile(r"^([+~-]) (create|update|delete) (\S+) ([^\s:]+)", re.M)
SECOND_ALERT = "    ApiLatencyCritical: lib.latency('api_request_duration_seconds', 5),\n"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The small golden catalog (services web and api, one dashboard, three alerts), plus a
    second api alert that a test can remove without touching any other object."""
    shutil.copytree(GOLDEN_CATALOG, tmp_path / "catalog")
    edit(tmp_path / "catalog" / "api.jsonnet", "    ApiLatencyHigh: lib.latency('api_request_duration_seconds', 1),\n",
         "    ApiLatencyHigh: lib.latency('api_request_duration_seconds', 1),\n" + SECOND_ALERT)
    return tmp_path / "catalog"


@pytest.fixture
def fake():
    with FakeGrafana(token=TOKEN, hang_s=0.8) as server:
        yield server
        assert server.schema_errors == []


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def env_for(fake: FakeGrafana, **extra: str) -> dict[str, str | None]:
    """The CLI's environment: the developer's own GRAFANA_*/MONCAT_* unset, the fake's set."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("GRAFANA_", "MONCAT_"))}
    env.update({"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": TOKEN, "MONCAT_SLACK_TOKEN": SLACK,
                "MONCAT_APPLY_BACKOFF_S": "0.01", "MONCAT_APPLY_TIMEOUT_S": "0.4"})
    env.update({k: (v or None) for k, v in extra.items()})
    return env


def apply(fake: FakeGrafana, catalog: Path, *args: str, **env: str) -> Any:
    """`moncat apply grafana CATALOG ARGS` in this process; .exit_code, .stdout, .stderr."""
    return CliRunner().invoke(app, ["apply", "grafana", str(catalog), *args], env=env_for(fake, **env))


def apply_process(fake: FakeGrafana, catalog: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in {**os.environ, **env_for(fake, **env)}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "compiler", "apply", "grafana", str(catalog), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=full)


def planned(run: Any) -> list[tuple[str, str, str]]:
    return [(m.group(2), m.group(3), m.group(4)) for m in PLAN_LINE.finditer(run.stdout)]


def plan_summary(run: Any) -> str:
    return next(line for line in run.stdout.splitlines() if line.startswith("plan: "))


def compiled(catalog: Path) -> dict[str, bytes]:
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors()
    return result.files


def assert_server_holds_catalog(fake: FakeGrafana, catalog: Path, org_id: int = 1) -> None:
    """The fake's own records (not the adapter's normalisation) against the compiled files."""
    files = compiled(catalog)
    org = fake.org(org_id)
    rules = {}
    for path, data in files.items():
        if re.fullmatch(r"grafana/alerting/[^_/][^/]*\.yaml", path):
            # The files escape `$` for Grafana's environment expansion; the API gets it plain.
            for group in rule_groups_file(yaml.safe_load(data), unescape)["groups"]:
                rules.update({r["uid"]: r for r in group["rules"]})
                folder = group["rules"][0]["folderUID"]
                assert org.folders[folder]["title"] == group["folder"]
                assert org.intervals[(folder, group["name"])] * 1000 == norm.duration_ms(group["interval"])
    ours = {uid: r for uid, r in org.rules.items() if r.get("labels", {}).get("managed_by") == "moncat"}
    assert sorted(ours) == sorted(rules)
    for uid, want in rules.items():
        got = ours[uid]
        assert got["labels"] == {**want["labels"], "managed_by": "moncat"}
        assert (got["title"], parse_duration(got["for"]), got["annotations"], got["condition"]) == \
            (want["title"], parse_duration(want["for"]), want["annotations"], want["condition"])
        assert [q["model"].get("expr", q["model"].get("conditions")) for q in got["data"]] == \
            [q["model"].get("expr", q["model"].get("conditions")) for q in want["data"]]
    points = yaml.safe_load(files["grafana/alerting/_contact-points.yaml"])["contactPoints"]
    want_points = {r["uid"]: (p["name"], r["type"]) for p in points for r in p["receivers"]}
    got_points = {p["uid"]: (p["name"], p["type"]) for p in org.contact_points if p["uid"].startswith("moncat-")}
    assert got_points == want_points
    assert next(p for p in org.contact_points if p["type"] == "slack")["settings"]["token"] == SLACK
    tree = yaml.safe_load(files["grafana/alerting/_policies.yaml"])["policies"][0]
    assert {k: v for k, v in org.policy.items() if k != "provenance"} == tree
    for path, data in files.items():
        if path.startswith("grafana/dashboards/"):
            want = json.loads(data)
            stored = org.dashboards[want["uid"]]
            assert {k: v for k, v in stored["model"].items() if k not in ("id", "version")} == want
            assert stored["folderUid"] == "moncat-" + path.split("/")[2]


# --- the issue's scenarios ------------------------------------------------------------------

def test_applying_to_an_empty_grafana_then_planning_again_changes_nothing_and_writes_nothing(fake, catalog):
    first = apply(fake, catalog, "--yes")
    assert first.exit_code == 0, first.stderr
    # Dependency order: folders, the notification template, contact points, the policy tree,
    # rules, their groups, dashboards.
    kinds = [kind for _, kind, _ in planned(first)]
    assert kinds == sorted(kinds, key=grafana.ORDER.index)
    assert plan_summary(first) == "plan: 12 to create, 1 to update, 0 to delete, 0 unchanged"
    assert_server_holds_catalog(fake, catalog)
    # The new groups got Grafana's default interval, which is the catalog's: no group PUT.
    assert sorted((r.method, r.path) for r in fake.writes) == sorted(
        [("POST", "/api/folders")] * 2 + [("PUT", "/api/v1/provisioning/templates/moncat")]
        + [("POST", "/api/v1/provisioning/contact-points")] * 2
        + [("PUT", "/api/v1/provisioning/policies")] + [("POST", "/api/v1/provisioning/alert-rules")] * 4
        + [("POST", "/api/dashboards/db")])
    writes = len(fake.writes)

    again = apply(fake, catalog, "--yes")
    assert again.exit_code == 0, again.stderr
    assert plan_summary(again) == "plan: 0 to create, 0 to update, 0 to delete, 13 unchanged"
    assert planned(again) == []
    assert len(fake.writes) == writes


def test_changing_one_threshold_updates_exactly_one_alert_rule(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    before = len(fake.writes)
    edit(catalog / "api.jsonnet", "lib.latency('api_request_duration_seconds', 1)",
         "lib.latency('api_request_duration_seconds', 2)")

    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 0, run.stderr
    assert planned(run) == [("update", "alert_rule", "api-ApiLatencyHigh")]
    # The field diff names what changed: the threshold and the summary that quotes it.
    assert "data[2].model.conditions[0].evaluator.params[0]" in run.stdout
    assert "annotations.summary" in run.stdout
    assert [(r.method, r.path) for r in fake.writes[before:]] == [
        ("PUT", "/api/v1/provisioning/alert-rules/api-ApiLatencyHigh")]
    stored = fake.org().rules["api-ApiLatencyHigh"]
    assert stored["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [2]
    assert_server_holds_catalog(fake, catalog)


def test_pruning_a_removed_alert_deletes_exactly_one_rule_and_spares_an_unmarked_one_of_the_same_name(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    # Someone else's rule of the same title, in our folder and group, without the label.
    theirs = {k: v for k, v in fake.org().rules["api-ApiLatencyCritical"].items()
              if k not in ("id", "updated", "provenance")}
    theirs.update(uid="someone-elses-rule", labels={"team": "web"})
    fake.seed_rule(theirs)
    edit(catalog / "api.jsonnet", SECOND_ALERT, "")

    kept = apply(fake, catalog, "--yes")  # without --prune no rule goes
    assert kept.exit_code == 0, kept.stderr
    # The policy tree names alerts, as alertmanager.yaml does: it no longer routes the removed one.
    assert planned(kept) == [("update", "notification_policy", "policy-tree")]
    assert "api-ApiLatencyCritical" in fake.org().rules
    before = len(fake.writes)

    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 0, run.stderr
    assert planned(run) == [("delete", "alert_rule", "api-ApiLatencyCritical")]
    assert plan_summary(run) == "plan: 0 to create, 0 to update, 1 to delete, 12 unchanged"
    assert [(r.method, r.path) for r in fake.writes[before:]] == [
        ("DELETE", "/api/v1/provisioning/alert-rules/api-ApiLatencyCritical")]
    assert "someone-elses-rule" in fake.org().rules
    assert_server_holds_catalog(fake, catalog)


def test_pruning_never_touches_folders_dashboards_or_contact_points_without_the_mark(fake, catalog):
    fake.seed_folder("team-x", "Web front end (team X)")
    fake.seed_dashboard({"uid": "their-overview", "title": "Web overview", "tags": ["web"],
                         "schemaVersion": 41, "templating": {"list": []}, "annotations": {"list": []}}, "team-x")
    fake.seed_contact_point({"uid": "their-web-oncall", "name": "web-oncall-pager", "type": "email",
                             "settings": {"addresses": "pager@example.test"}, "disableResolveMessage": False})
    assert apply(fake, catalog, "--yes").exit_code == 0
    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 0, run.stderr
    assert planned(run) == []
    org = fake.org()
    assert "team-x" in org.folders and "their-overview" in org.dashboards
    assert {p["uid"] for p in org.contact_points} >= {"their-web-oncall", "ddefaultemail"}


def test_a_removed_service_is_pruned_when_named_dashboards_first_and_its_folder_last(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    shutil.rmtree(catalog / "web")
    edit(catalog / "api.jsonnet", "owner: 'web-oncall',", "owner: 'web-oncall', title: 'API',")
    # A service the catalog does not have may be another catalog's: --prune alone keeps it.
    kept = apply(fake, catalog, "--dry-run", "--prune")
    assert "delete" not in {op for op, _, _ in planned(kept)}
    assert ("4 owned objects of services the catalog does not have (web): kept, as they may be another "
            "catalog's; --prune --prune-service web deletes them") in kept.stdout
    run = apply(fake, catalog, "--yes", "--prune", "--prune-service", "web")
    assert run.exit_code == 0, run.stderr
    deletes = [(kind, oid) for op, kind, oid in planned(run) if op == "delete"]
    assert deletes == [("dashboard", "web-overview"), ("alert_rule", "web-WebErrorRatioHigh"),
                       ("alert_rule", "web-WebRouteErrors"), ("folder", "moncat-web")]
    assert ("update", "folder", "moncat-api") in planned(run)  # its new title
    assert "moncat-web" not in fake.org().folders and fake.org().folders["moncat-api"]["title"] == "API"
    assert_server_holds_catalog(fake, catalog)


def test_a_group_interval_other_than_grafanas_default_is_set_but_a_group_holding_someone_elses_rule_is_not_resent(fake, catalog):
    edit(catalog / "moncat.yaml", "evaluation_interval: 1m", "evaluation_interval: 2m")
    first = apply(fake, catalog, "--yes")
    assert first.exit_code == 0, first.stderr
    puts = [r.path for r in fake.writes if r.method == "PUT" and "/rule-groups/" in r.path]
    assert sorted(puts) == ["/api/v1/provisioning/folder/moncat-api/rule-groups/api.alerts",
                            "/api/v1/provisioning/folder/moncat-web/rule-groups/web.alerts"]
    assert_server_holds_catalog(fake, catalog)
    assert planned(apply(fake, catalog, "--yes")) == []

    theirs = {k: v for k, v in fake.org().rules["web-WebRouteErrors"].items() if k not in ("id", "updated", "provenance")}
    theirs.update(uid="their-rule", title="TheirRule", labels={})
    fake.seed_rule(theirs)  # someone's rule, without provenance, in our group
    edit(catalog / "moncat.yaml", "evaluation_interval: 2m", "evaluation_interval: 3m")
    before = len(fake.writes)
    run = apply(fake, catalog, "--yes")
    # A group PUT would give their rule moncat's provenance (and could drop it): not sent.
    assert run.exit_code == 1
    assert planned(run) == [("update", "alert_rule", "web-WebErrorRatioHigh"),
                            ("update", "rule_group", "moncat-api/api.alerts")]
    assert ("! blocked rule_group moncat-web/web.alerts: holds 1 rule(s) moncat does not own (their-rule)"
            in run.stdout)
    assert plan_summary(run) == "plan: 0 to create, 2 to update, 0 to delete, 10 unchanged, 1 blocked"
    assert "1 object not applied: the lines marked ! above say why" in run.stderr
    assert "run the same command again" not in run.stderr
    # The rule without a range of its own queries one interval back: it changes too, first.
    assert [(r.method, r.path) for r in fake.writes[before:]] == [
        ("PUT", "/api/v1/provisioning/alert-rules/web-WebErrorRatioHigh"),
        ("PUT", "/api/v1/provisioning/folder/moncat-api/rule-groups/api.alerts")]
    org = fake.org()
    assert org.intervals[("moncat-api", "api.alerts")] == 180 and org.intervals[("moncat-web", "web.alerts")] == 120
    assert org.rules["their-rule"]["provenance"] == "" and org.rules["their-rule"]["ruleGroup"] == "web.alerts"


def test_injected_500s_timeouts_429s_and_lost_answers_are_retried_until_the_apply_completes(fake, catalog):
    fake.inject("500", "timeout", writes_only=False)  # the plan's first reads
    # One at a time, the writes are: 2 folders, the notification template, 2 contact points, the
    # policy tree, 4 rules, the dashboard. Faults hit the first attempt of most of them ("ok" lets
    # a retry through); a "lost" answer hits a create of each kind that has one.
    faults = ["500", "ok", "lost", "ok", "ok", "503", "ok", "lost", "ok", "429", "ok", "lost", "ok",
              "timeout", "ok", "ok", "ok", "lost"]
    fake.inject(*faults)
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.exit_code == 0, run.stderr
    retries = 2 + len([f for f in faults if f != "ok"])  # one retry per fault, no more
    assert f"applied 13, failed 0, not attempted 0 ({retries} retries)" in run.stdout
    assert not fake.faults
    # The client waited as Retry-After said before its next request.
    i = next(i for i, r in enumerate(fake.requests) if r.status == 429)
    assert fake.requests[i + 1].at - fake.requests[i].at >= 1.0
    # Each lost answer was of an applied create: the retry found our own object and moved on.
    lost = [(r.method, r.path) for r in fake.requests if str(r.status).startswith("lost")]
    assert sorted(lost) == [("POST", "/api/dashboards/db"), ("POST", "/api/folders"),
                            ("POST", "/api/v1/provisioning/alert-rules"),
                            ("POST", "/api/v1/provisioning/contact-points")]
    assert_server_holds_catalog(fake, catalog)
    assert planned(apply(fake, catalog, "--dry-run")) == []


def test_a_fault_beyond_the_retry_budget_fails_the_apply_and_a_rerun_converges(fake, catalog):
    fake.inject(*["503"] * 6)  # the client makes six attempts
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.exit_code == 1
    assert "gave up after 6 attempts (503)" in run.stderr
    assert "run the same command again" in run.stderr
    again = apply(fake, catalog, "--yes")
    assert again.exit_code == 0, again.stderr
    assert_server_holds_catalog(fake, catalog)


def test_a_crash_midway_then_a_rerun_leaves_grafana_in_the_catalogs_state(fake, catalog):
    fake.crash_after_writes = 6
    crashed = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert crashed.exit_code == 1
    # Folders, the notification template, contact points and the policy went in; the rules'
    # stage found Grafana gone: the first rule failed after its six attempts, and nothing more
    # was sent to a server that stopped answering (the other rules, their groups and the dashboard).
    assert "applied 6, failed 1, not attempted 6 (5 retries)" in crashed.stdout
    assert "not attempted: create dashboard web-overview" in crashed.stderr
    assert "(not attempted because the server stopped answering" in crashed.stderr
    assert fake.applied_writes == 6
    assert sum(r.status == "dropped" for r in fake.requests) == 6
    fake.restart()

    rerun = apply(fake, catalog, "--yes")
    assert rerun.exit_code == 0, rerun.stderr
    assert ("create", "folder", "moncat-api") not in planned(rerun)  # what was applied stays applied
    assert_server_holds_catalog(fake, catalog)
    assert planned(apply(fake, catalog, "--yes")) == []


def test_dry_run_makes_no_write_request(fake, catalog):
    run = apply(fake, catalog, "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert len(planned(run)) == 13
    assert fake.writes == [] and fake.requests
    assert fake.org().folders == {} and fake.org().rules == {}


def test_without_yes_and_without_a_terminal_nothing_is_written(fake, catalog):
    run = apply(fake, catalog)
    assert run.exit_code == 2 and "add --yes" in run.stderr
    assert fake.writes == []


def test_the_token_and_the_contact_point_secrets_never_appear_in_any_output(tmp_path, catalog):
    runs = []
    with FakeGrafana(token=TOKEN, viewer_token=TOKEN + "-viewer", hang_s=0.8) as fake:
        fake.inject("500", "timeout")
        runs.append(apply_process(fake, catalog, "--yes"))
        edit(catalog / "api.jsonnet", "'api_request_duration_seconds', 1)", "'api_request_duration_seconds', 3)")
        runs.append(apply_process(fake, catalog, "--yes", GRAFANA_TOKEN=TOKEN + "-viewer"))  # 403
        runs.append(apply_process(fake, catalog, "--yes", GRAFANA_TOKEN=TOKEN + "-wrong"))  # 401
        runs.append(apply_process(fake, catalog, "--yes", "--url", fake.url + "/nothing-here"))  # 404
        logs = repr(fake.requests)
        stored = repr(fake.orgs)
        assert fake.schema_errors == []
    assert [r.returncode for r in runs] == [0, 1, 1, 1]
    assert "403" in runs[1].stderr and "401" in runs[2].stderr and "404" in runs[3].stderr
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for text in [r.stdout + r.stderr for r in runs] + [files, logs, stored]:
        assert TOKEN not in text
    for text in [r.stdout + r.stderr for r in runs] + [files]:
        assert SLACK not in text
    assert SLACK in stored  # Grafana got the secret; only Grafana


# --- Grafana's own rules: 412s, ownership, org, provenance -----------------------------------

def test_a_dashboard_edited_on_the_server_after_the_plan_is_not_overwritten_until_planned_again(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    edit(catalog / "web" / "dashboards.yaml", "title: Error ratio now", "title: Error ratio right now")

    def someone_edits(fake: FakeGrafana, method: str, path: str) -> None:
        if path == "/api/dashboards/db":
            fake.before_write = None
            stored = fake.org().dashboards["web-overview"]["model"]
            stored.update(description="edited by hand", version=stored["version"] + 1)

    fake.before_write = someone_edits
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 1
    assert planned(run) == [("update", "dashboard", "web-overview")]
    assert "412" in run.stderr and "changed on the server since the plan" in run.stderr
    assert fake.org().dashboards["web-overview"]["model"]["description"] == "edited by hand"

    again = apply(fake, catalog, "--yes")  # now the plan has seen the edit: it is overwritten
    assert again.exit_code == 0, again.stderr
    assert "description" in again.stdout
    assert_server_holds_catalog(fake, catalog)


def test_a_dashboard_whose_version_alone_moved_after_the_plan_is_saved_with_the_new_version(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    edit(catalog / "web" / "dashboards.yaml", "title: Error ratio now", "title: Error ratio right now")

    def version_bump(fake: FakeGrafana, method: str, path: str) -> None:
        if path == "/api/dashboards/db":
            fake.before_write = None
            fake.org().dashboards["web-overview"]["model"]["version"] += 1

    fake.before_write = version_bump
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 0, run.stderr
    saves = [r.status for r in fake.requests if r.path == "/api/dashboards/db"]
    assert saves[-2:] == [412, 200]
    assert_server_holds_catalog(fake, catalog)


def test_a_dashboard_of_the_same_title_in_our_folder_is_reported_as_name_exists_and_kept(fake, catalog):
    fake.seed_folder("moncat-web", "Web front end")
    fake.seed_dashboard({"uid": "their-overview", "title": "Web overview", "tags": [], "schemaVersion": 41,
                         "templating": {"list": []}, "annotations": {"list": []}}, "moncat-web")
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 1
    assert "web-overview: a dashboard titled 'Web overview'" in run.stderr
    assert "their-overview" in fake.org().dashboards and "web-overview" not in fake.org().dashboards
    assert [r.status for r in fake.requests if r.path == "/api/dashboards/db"] == [412]


def test_an_object_with_our_uid_but_without_the_mark_is_never_overwritten(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    rule = fake.org().rules["web-WebRouteErrors"]
    rule["labels"] = {k: v for k, v in rule["labels"].items() if k != "managed_by"}
    dash = fake.org().dashboards["web-overview"]["model"]
    dash["tags"] = ["web"]
    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 1
    assert "web-WebRouteErrors has no managed_by=moncat label: moncat does not overwrite it" in run.stderr
    assert fake.org().rules["web-WebRouteErrors"]["labels"].get("managed_by") is None
    assert fake.org().dashboards["web-overview"]["model"]["tags"] == ["web"]
    assert not any(r.method == "DELETE" for r in fake.writes)


def test_the_org_id_and_the_provenance_setting_reach_grafana(fake, catalog):
    fake.add_org(2)
    run = apply(fake, catalog, "--yes", GRAFANA_ORG_ID="2", GRAFANA_DISABLE_PROVENANCE="true")
    assert run.exit_code == 0, run.stderr
    assert all(r.headers.get("X-Grafana-Org-Id") == "2" for r in fake.requests)
    provisioning = [r for r in fake.writes if r.path.startswith("/api/v1/provisioning/")]
    assert provisioning and all(r.headers.get("X-Disable-Provenance") == "true" for r in provisioning)
    assert fake.org(1).folders == {} and fake.org(1).rules == {}
    org = fake.org(2)
    assert {r["orgID"] for r in org.rules.values()} == {2}
    assert {r["provenance"] for r in org.rules.values()} == {""}
    assert_server_holds_catalog(fake, catalog, org_id=2)
    # Provenance is the server's business, not a difference; none -> api is allowed.
    edit(catalog / "api.jsonnet", "'api_request_duration_seconds', 1)", "'api_request_duration_seconds', 2)")
    assert apply(fake, catalog, "--yes", GRAFANA_ORG_ID="2").exit_code == 0
    assert org.rules["api-ApiLatencyHigh"]["provenance"] == "api"
    # ...but api -> none is not (Grafana answers 403), and the apply says so.
    edit(catalog / "api.jsonnet", "'api_request_duration_seconds', 2)", "'api_request_duration_seconds', 3)")
    back = apply(fake, catalog, "--yes", GRAFANA_ORG_ID="2", GRAFANA_DISABLE_PROVENANCE="1")
    assert back.exit_code == 1 and "403" in back.stderr and "provenance status 'api'" in back.stderr


def test_an_org_the_token_does_not_belong_to_is_refused_before_any_write(fake, catalog):
    run = apply(fake, catalog, "--yes", GRAFANA_ORG_ID="7")
    assert run.exit_code == 1 and "cannot read the server" in run.stderr and "401" in run.stderr
    assert fake.writes == []


@pytest.mark.parametrize("env, name", [
    ({"GRAFANA_TOKEN": ""}, "GRAFANA_TOKEN"),
    ({"GRAFANA_URL": "ftp://grafana.example.test"}, "GRAFANA_URL"),
    ({"GRAFANA_URL": "http://grafana.example.test"}, "https://"),
    ({"GRAFANA_URL": f"https://admin:{TOKEN}@grafana.example.test"}, "GRAFANA_TOKEN instead"),
    ({"GRAFANA_ORG_ID": "main"}, "GRAFANA_ORG_ID"),
    ({"MONCAT_APPLY_TIMEOUT_S": "-1"}, "MONCAT_APPLY_TIMEOUT_S"),
    ({"MONCAT_SLACK_TOKEN": ""}, "MONCAT_SLACK_TOKEN"),
])
def test_missing_or_wrong_settings_name_the_variable_exit_2_and_never_show_a_secret(fake, catalog, env, name):
    run = apply(fake, catalog, "--dry-run", **env)
    assert run.exit_code == 2
    assert name in run.stderr
    assert TOKEN not in run.stdout + run.stderr and SLACK not in run.stdout + run.stderr
    assert fake.requests == []


def test_the_url_falls_back_to_the_catalogs_grafana_url(catalog):
    result = pipeline.compile_catalog(catalog)
    with pytest.raises(ConfigError, match="GRAFANA_TOKEN"):
        grafana.connect({}, None, result.catalog)
    target = grafana.connect({"GRAFANA_TOKEN": TOKEN}, None, result.catalog)
    assert target.client.base_url == "https://grafana.example.test"
    assert grafana.connect({"GRAFANA_TOKEN": TOKEN, "GRAFANA_URL": "https://g.test"}, "https://flag.test",
                           result.catalog).client.base_url == "https://flag.test"


def test_the_rules_pushed_are_the_ones_the_provisioning_files_hold():
    """desired() builds rules with the function that writes output/grafana/alerting (reading the
    YAML back is slower); on the seed catalog both give the same bodies."""
    result = pipeline.compile_catalog(ROOT / "catalog")
    target = grafana.connect({"GRAFANA_TOKEN": TOKEN, "GRAFANA_URL": "https://g.test"}, None, result.catalog)
    env = {name: "x" for name in re.findall(r"\$\{(MONCAT_[A-Z0-9_]+)\}",
                                            result.files["grafana/alerting/_contact-points.yaml"].decode())}
    target.env = env
    desired = target.desired(result.files)
    pushed = {d.id: d.body for d in desired if d.kind == "alert_rule"}
    groups = {d.id: d.body for d in desired if d.kind == "rule_group"}
    in_files = {}
    for path, data in result.files.items():
        if re.fullmatch(r"grafana/alerting/[^_/][^/]*\.yaml", path):
            # The files escape `$` for Grafana's environment expansion; the API gets it plain.
            for group in rule_groups_file(yaml.safe_load(data), unescape)["groups"]:
                folder = group["rules"][0]["folderUID"]
                assert groups.pop(f"{folder}/{group['name']}")["interval"] * 1000 == norm.duration_ms(group["interval"])
                for rule in group["rules"]:
                    in_files[rule["uid"]] = {**rule, "labels": {**rule["labels"], "managed_by": "moncat"}}
                    if "keepFiringFor" in rule:
                        in_files[rule["uid"]]["keepFiringFor"] = norm.duration_ms(rule["keepFiringFor"]) * 10**6
    assert groups == {}
    assert len(pushed) == len(in_files) > 30
    assert pushed == in_files


# --- normalisation --------------------------------------------------------------------------

RULE = {"uid": "r1", "title": "T", "orgID": 1, "folderUID": "f", "ruleGroup": "g", "condition": "C",
        "for": "5m", "noDataState": "OK", "execErrState": "Error", "labels": {"a": "b"},
        "data": [{"refId": "C", "datasourceUid": "__expr__", "queryType": "", "relativeTimeRange": {"from": 0, "to": 0},
                  "model": {"refId": "C", "type": "threshold", "conditions": [{"evaluator": {"type": "gt", "params": [0.5]}}]}}]}
SERVER_RULE = {**RULE, "id": 7, "orgID": 3, "updated": "2024-01-01T00:00:00Z", "provenance": "api", "for": "5m0s",
               "isPaused": False, "notification_settings": None, "record": None, "keep_firing_for": "0s",
               "data": [{**RULE["data"][0], "model": {**RULE["data"][0]["model"], "intervalMs": 1000, "maxDataPoints": 43200}}]}


@pytest.mark.parametrize("kind, ours, theirs, same", [
    ("alert_rule", RULE, SERVER_RULE, True),
    ("alert_rule", {**RULE, "for": "1h"}, {**SERVER_RULE, "for": "1h0m0s"}, True),
    ("alert_rule", {**RULE, "keepFiringFor": 120 * 10**9}, {**SERVER_RULE, "keep_firing_for": "2m0s"}, True),
    ("alert_rule", {**RULE, "for": "10m"}, SERVER_RULE, False),
    ("alert_rule", RULE, {**SERVER_RULE, "isPaused": True}, False),
    ("alert_rule", {**RULE, "labels": {"a": "c"}}, SERVER_RULE, False),
    ("notification_policy", {"receiver": "x", "routes": [{"receiver": "y", "group_wait": "30s"}]},
     {"receiver": "x", "provenance": "api", "routes": [{"receiver": "y", "group_wait": "30s", "continue": False,
                                                       "routes": [], "object_matchers": []}]}, True),
    ("notification_policy", {"receiver": "x", "routes": [{"receiver": "y", "continue": True}]},
     {"receiver": "x", "routes": [{"receiver": "y"}]}, False),
    ("contact_point", {"uid": "u", "name": "n", "type": "slack", "settings": {"token": SLACK, "recipient": "#a"}},
     {"uid": "u", "name": "n", "type": "slack", "provenance": "api", "disableResolveMessage": False,
      "settings": {"token": "[REDACTED]", "recipient": "#a"}}, True),
    ("contact_point", {"uid": "u", "name": "n", "type": "slack", "settings": {"recipient": "#a"}},
     {"uid": "u", "name": "n", "type": "slack", "settings": {"recipient": "#b"}}, False),
    ("dashboard", {"dashboard": {"uid": "d", "title": "D"}, "folderUid": "f"},
     {"dashboard": {"uid": "d", "title": "D", "id": 4, "version": 9}, "folderUid": "f", "version": 9}, True),
    ("dashboard", {"dashboard": {"uid": "d", "title": "D"}, "folderUid": "f"},
     {"dashboard": {"uid": "d", "title": "D"}, "folderUid": ""}, False),
    ("folder", {"uid": "f", "title": "F"}, {"id": 3, "uid": "f", "title": "F", "version": 2, "url": "/x"}, True),
    ("rule_group", {"title": "g", "folderUid": "f", "interval": 60},
     {"title": "g", "folderUid": "f", "interval": 60, "rules": [SERVER_RULE]}, True),
    ("rule_group", {"title": "g", "folderUid": "f", "interval": 60}, {"title": "g", "folderUid": "f", "interval": 30}, False),
])
def test_normalising_ignores_server_fields_spellings_and_empties_but_not_meaning(kind, ours, theirs, same):
    assert (norm.NORMALIZERS[kind](ours) == norm.NORMALIZERS[kind](theirs)) is same


def test_a_changed_secret_shows_in_no_plan_line(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    run = apply(fake, catalog, "--dry-run", MONCAT_SLACK_TOKEN=SLACK + "-rotated")
    assert planned(run) == []
    assert SLACK not in run.stdout + run.stderr


@pytest.mark.parametrize("text, ms", [("5m", 300_000), ("5m0s", 300_000), ("1h0m0s", 3_600_000), ("1h30m", 5_400_000),
                                      ("1.5s", 1500), ("500ms", 500), ("1d", 86_400_000), ("0s", 0), ("0", 0),
                                      ("5 minutes", None), ("", None), ("m5", None)])
def test_durations_in_prometheus_or_go_spelling_read_as_milliseconds(text, ms):
    assert norm.duration_ms(text) == ms
    if ms is not None and ms % 1000 == 0 and ms:
        assert norm.duration_ms(go_duration(ms)) == ms


# --- scale ----------------------------------------------------------------------------------

def test_a_no_op_plan_against_1000_foreign_dashboards_with_20ms_latency_takes_under_5_seconds(catalog):
    with FakeGrafana(token=TOKEN) as fake:
        assert apply(fake, catalog, "--yes").exit_code == 0
        fake.seed_folder("others", "Other teams")
        for i in range(1000):
            fake.seed_dashboard({"uid": f"other-{i:04d}", "title": f"Other {i:04d}", "tags": ["other"],
                                 "schemaVersion": 41, "templating": {"list": []}, "annotations": {"list": []}}, "others")
        fake.latency_s = 0.02
        files = compiled(catalog)
        result = pipeline.compile_catalog(catalog)
        started = time.monotonic()
        target = grafana.connect({"GRAFANA_URL": fake.url, "GRAFANA_TOKEN": TOKEN, "MONCAT_SLACK_TOKEN": SLACK},
                                 None, result.catalog)
        actions = plan.make_plan(target.desired(files), target.current(), prune=True,
                                 normalize=target.normalize, order=target.order)
        elapsed = time.monotonic() - started
        searches = [r for r in fake.requests if r.path == "/api/search"]
    assert [a for a in actions if a.op != "unchanged"] == []
    assert elapsed < 5.0, elapsed
    assert len(searches[-2:]) == 2 and "page=2" in searches[-1].query  # 1001 hits: two pages of 1000
    assert target.client.stats.requests < 15


# --- the fake itself ------------------------------------------------------------------------

def _call(fake: FakeGrafana, method: str, path: str, body: Any = None, token: str = TOKEN, **params: Any) -> requests.Response:
    return requests.request(method, fake.url + path, json=body, params=params,
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_the_fake_grafana_answers_with_the_documented_statuses():
    with FakeGrafana(token=TOKEN) as fake:
        assert _call(fake, "GET", "/api/folders", token="wrong").status_code == 401
        assert _call(fake, "GET", "/api/folders/nope").status_code == 404
        assert _call(fake, "POST", "/api/folders", {"uid": "f1", "title": "One"}).status_code == 200
        assert _call(fake, "POST", "/api/folders", {"uid": "f1", "title": "Other"}).status_code == 409
        assert _call(fake, "POST", "/api/folders", {"uid": "f2", "title": "One"}).status_code == 409
        assert _call(fake, "PUT", "/api/folders/f1", {"title": "Uno", "version": 7}).json()["status"] == "version-mismatch"
        assert _call(fake, "PUT", "/api/folders/f1", {"title": "Uno", "version": 1}).status_code == 200
        dash = {"uid": "d1", "title": "D", "schemaVersion": 41, "templating": {"list": []}, "annotations": {"list": []}}
        assert _call(fake, "POST", "/api/dashboards/db", {"dashboard": dash, "folderUid": "f1"}).json()["version"] == 1
        stale = _call(fake, "POST", "/api/dashboards/db", {"dashboard": dash, "folderUid": "f1"})
        assert (stale.status_code, stale.json()["status"]) == (412, "version-mismatch")
        twin = _call(fake, "POST", "/api/dashboards/db", {"dashboard": {**dash, "uid": "d2"}, "folderUid": "f1"})
        assert (twin.status_code, twin.json()["status"]) == (412, "name-exists")
        assert _call(fake, "POST", "/api/dashboards/db", {"dashboard": dash, "folderUid": "f1", "overwrite": True}).json()["version"] == 2
        assert _call(fake, "POST", "/api/dashboards/db", {"dashboard": {**dash, "uid": "d3"}, "folderUid": "nope"}).status_code == 400
        rule = {**RULE, "folderUID": "f1"}
        assert _call(fake, "POST", "/api/v1/provisioning/alert-rules", rule).status_code == 201
        assert _call(fake, "POST", "/api/v1/provisioning/alert-rules", rule).status_code == 409
        assert _call(fake, "GET", "/api/v1/provisioning/alert-rules/r1").json()["for"] == "5m0s"
        assert _call(fake, "GET", "/api/v1/provisioning/folder/f1/rule-groups/g").json()["interval"] == 60
        assert _call(fake, "GET", "/api/v1/provisioning/folder/f1/rule-groups/none").status_code == 404
        assert _call(fake, "DELETE", "/api/folders/f1").status_code == 400  # it holds an alert rule
        point = {"uid": "c1", "name": "team", "type": "slack", "settings": {"token": "t0p", "recipient": "#a"}}
        assert _call(fake, "POST", "/api/v1/provisioning/contact-points", point).status_code == 202
        assert _call(fake, "POST", "/api/v1/provisioning/contact-points", point).status_code == 400
        assert _call(fake, "GET", "/api/v1/provisioning/contact-points", name="team").json()[0]["settings"]["token"] == "[REDACTED]"
        assert _call(fake, "PUT", "/api/v1/provisioning/policies", {"receiver": "nobody"}).status_code == 400
        assert _call(fake, "PUT", "/api/v1/provisioning/policies", {"receiver": "team"}).status_code == 202
        assert _call(fake, "DELETE", "/api/v1/provisioning/contact-points/c1").status_code == 409  # routed to
        assert _call(fake, "DELETE", "/api/v1/provisioning/alert-rules/r1").status_code == 204
        assert _call(fake, "DELETE", "/api/folders/f1").status_code == 200
        assert fake.org().dashboards == {}  # the folder took its dashboards with it
        for i in range(5):
            fake.seed_dashboard({**dash, "uid": f"p{i}", "title": f"P{i}"})
        pages = [_call(fake, "GET", "/api/search", type="dash-db", limit=2, page=p).json() for p in (1, 2, 3)]
        assert [len(p) for p in pages] == [2, 2, 1]
        assert fake.schema_errors == []


@pytest.mark.parametrize("path, body, why", [
    ("/api/v1/provisioning/alert-rules", {k: v for k, v in RULE.items() if k != "condition"}, "'condition' is a required property"),
    ("/api/v1/provisioning/alert-rules", {**RULE, "for": 300}, "300 is not of type 'string'"),
    ("/api/v1/provisioning/contact-points", {"name": "n", "type": "carrier-pigeon", "settings": {}}, "is not one of"),
    ("/api/v1/provisioning/contact-points", {"name": "n", "type": "email", "settings": {}, "orgId": 1}, "Additional properties"),
    ("/api/v1/provisioning/policies", {"receiver": "x", "group_by": "alertname"}, "is not of type 'array'"),
    ("/api/dashboards/db", {"dashboard": {"uid": "d", "title": "D", "schemaVersion": "41"}}, "is not of type"),
    ("/api/folders", {"title": 5}, "5 is not of type 'string'"),
])
def test_the_fake_grafana_rejects_bodies_the_official_schemas_reject(path, body, why):
    with FakeGrafana(token=TOKEN) as fake:
        fake.seed_folder("f", "F")
        method = "PUT" if path.endswith("policies") else "POST"
        assert _call(fake, method, path, body).status_code == 400
        assert any(why in e for e in fake.schema_errors), fake.schema_errors


def test_templates_and_mute_timings_are_applied_before_what_names_them_and_converge(fake, tmp_path):
    """The dispatch catalog: notification templates, mute timings for its active hours, policies
    naming them (the fake refuses a policy whose mute timing does not exist yet)."""
    catalog = tmp_path / "dispatch"
    shutil.copytree(ROOT / "tests" / "dispatch" / "catalog", catalog)
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 0, run.stdout + run.stderr
    org = fake.org()
    files = compiled(catalog)
    want = yaml.safe_load(files["grafana/alerting/_templates.yaml"])["templates"][0]
    assert org.templates["moncat"]["template"] == want["template"]
    timings = yaml.safe_load(files["grafana/alerting/_mute-timings.yaml"])["muteTimes"]
    assert {n: {k: v for k, v in t.items() if k != "provenance"} for n, t in org.mute_timings.items()} == {
        t["name"]: {"name": t["name"], "time_intervals": t["time_intervals"]} for t in timings}
    kinds = [(r.method, r.path.split("/")[4] if r.path.startswith("/api/v1/provisioning/") else r.path)
             for r in fake.writes]
    first_policy = next(i for i, k in enumerate(kinds) if k[1] == "policies")
    assert all(i < first_policy for i, k in enumerate(kinds) if k[1] in ("templates", "mute-timings"))
    again = apply(fake, catalog, "--yes")
    assert planned(again) == [], again.stdout


def _outputs(catalog: Path, outputs: str) -> None:
    edit(catalog / "moncat.yaml", "targets:\n", f"targets:\n  outputs: [{outputs}]\n")


def test_an_output_switched_off_is_neither_compared_nor_pruned_on_the_server(fake, catalog):
    """targets.outputs without grafana-alerting: compile writes no alerting files, and
    `apply --prune` must not read that as "delete every alert rule, contact point and policy"."""
    assert apply(fake, catalog, "--yes").exit_code == 0
    rules = set(fake.org().rules)
    _outputs(catalog, "prometheus, grafana-dashboards")
    before = len(fake.writes)
    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 0, run.stderr
    assert " 0 to delete" in plan_summary(run) and len(fake.writes) == before, run.stdout
    assert set(fake.org().rules) == rules and rules


def test_a_catalog_that_compiles_nothing_for_grafana_is_refused_before_any_request(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    _outputs(catalog, "prometheus, runbooks")
    before = len(fake.requests)
    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 2
    assert "leaves out grafana-dashboards and grafana-alerting: nothing to apply" in run.stderr
    assert len(fake.requests) == before
