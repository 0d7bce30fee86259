"""`moncat apply datadog` through the real CLI against FakeDatadog (tests/fakes/datadog_fake.py),
which implements the v1 monitor and dashboard API and validates every body against the official
OpenAPI document: plans converge to zero changes, one threshold is one update, prune removes only
what moncat owns, faults are retried within the budget, a crash converges on a re-run, a dry run
writes nothing, and the keys appear nowhere."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from typer.testing import CliRunner

from compiler import pipeline
from compiler.apply import datadog, datadog_normalize, datadog_slos, plan
from compiler.apply.client import Client
from compiler.apply.registry import ConfigError
from compiler.cli import app
from conftest import CATALOG, ROOT, SHARED
from fakes.datadog_fake import FakeDatadog

OPENAPI = SHARED / "schemas" / "datadog" / "openapi-v1.yaml"
REMOVED = "ShopInvoiceIssueFailures"  # the alert the prune test removes
# Generous bounds, far from what a busy machine needs, so that no test races a clock: the
# longest a legitimate answer may take (the client's timeout where a test makes the fake go
# silent), the longest the fake stays silent (until the client gives up, in fact), and one CLI
# process's run (start, compile, plan, apply).
ANSWER_S, SILENT_S, PROCESS_S = 10, 300.0, 240


@pytest.fixture
def fake():
    with FakeDatadog(OPENAPI) as server:
        yield server
    assert not server.schema_errors, server.schema_errors[:3]


def seed_services(tmp_path: Path, *services: str) -> Path:
    """A catalog of the seed catalog's settings and some of its services."""
    root = tmp_path / "catalog"
    root.mkdir()
    shutil.copy(CATALOG / "moncat.yaml", root)
    for service in services:
        shutil.copytree(CATALOG / service, root / service)
    return root


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The seed catalog's settings with two of its services (13 monitors, 2 dashboards)."""
    root = seed_services(tmp_path, "store", "shop")
    # The removed alert's panel stops naming it beforehand, so that removing it later changes
    # its monitor only (not the dashboard's threshold markers too).
    dashboards = root / "shop" / "dashboards.yaml"
    text = dashboards.read_text()
    assert text.count(f"            alerts: [{REMOVED}]\n") == 1
    dashboards.write_text(text.replace(f"            alerts: [{REMOVED}]\n", ""))
    return root


def compiled(catalog: Path) -> dict[str, dict]:
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors()
    return {p: json.loads(b) for p, b in result.files.items() if p.startswith("datadog/")}


def _environment(fake: FakeDatadog, env: dict[str, str]) -> dict[str, str]:
    """Keys in the environment, short backoff; the developer's own DD_*/MONCAT_* left out."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "MONCAT_"))}
    full.update(DD_API_KEY=fake.api_key, DD_APP_KEY=fake.app_key, MONCAT_APPLY_BACKOFF_S="0.01",
                MONCAT_APPLY_TIMEOUT_S="20", MONCAT_APPLY_REQUEST_DEADLINE_S="40")
    full.update(env)
    return full


def moncat_process(fake: FakeDatadog, catalog: Path, *args: str, timeout_s: float = PROCESS_S,
                   **env: str) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess: what a process prints, all of it."""
    return subprocess.run([sys.executable, "-m", "compiler", "apply", "datadog", str(catalog),
                           "--url", fake.url, "--yes", *args],
                          capture_output=True, text=True, env=_environment(fake, env), cwd=ROOT,
                          timeout=timeout_s)


def moncat(fake: FakeDatadog, catalog: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The real CLI in this process (typer's runner), as a CompletedProcess."""
    full = _environment(fake, env)
    unset = {k: None for k in os.environ if k not in full}
    argv = ["apply", "datadog", str(catalog), "--url", fake.url, "--yes", *args]
    result = CliRunner().invoke(app, argv, env={**full, **unset})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def plan_line(proc: subprocess.CompletedProcess) -> str:
    return next(line for line in proc.stdout.splitlines() if line.startswith("plan: "))


def owned_monitors(fake: FakeDatadog) -> dict[str, dict]:
    return {datadog.monitor_id(m): m for m in fake.monitors.values() if "managed-by:moncat" in m["tags"]}


def bound(obj: dict) -> bool:
    """The object carries moncat's binding to its own id (compiler/apply/identity.py)."""
    if "tags" in obj and "query" in obj:
        return f"moncat-ref:{obj['id']}" in obj["tags"]
    return obj["description"].endswith(f" (moncat-ref: {obj['id']})")


def assert_server_holds_catalog(fake: FakeDatadog, want: dict[str, dict]) -> None:
    """One object per moncat id, bound to it, equal to the compiled body after normalising;
    nothing else marked as moncat's."""
    target = datadog.DatadogTarget(None)  # type: ignore[arg-type] - normalize needs no client
    monitors = owned_monitors(fake)
    # Composites name their components by monitor id, burn-rate monitors their SLO by SLO id:
    # read back through the server's ids.
    target._ids = {oid: str(m["id"]) for oid, m in monitors.items() if m["type"] != "composite"}
    slos = {datadog_slos.slo_id(s): s for s in fake.slos.values()}
    target.slo_ids.reset({oid: s["id"] for oid, s in slos.items()})
    boards = {datadog.dashboard_id(d["description"]): d for d in fake.dashboards.values()}
    assert len(monitors) == sum(datadog.OWNER_TAG in m["tags"] for m in fake.monitors.values())
    assert len(boards) == len(fake.dashboards)
    assert len(slos) == len(fake.slos) and all(datadog.OWNER_TAG in s["tags"] for s in slos.values())
    assert len(monitors) + len(boards) + len(slos) == len(want)
    for path, body in want.items():
        kind = datadog.monitor_kind(body) if "/monitors/" in path else "slo" if "/slos/" in path else "dashboard"
        held = boards[datadog.dashboard_id(body["description"])] if kind == "dashboard" else \
            slos[datadog_slos.slo_id(body)] if kind == "slo" else monitors[datadog.monitor_id(body)]
        assert bound(held), path
        assert target.normalize(kind, held) == target.normalize(kind, body), path


def test_an_apply_to_an_empty_server_then_a_second_plan_makes_zero_changes_and_zero_writes(fake, catalog) -> None:
    want = compiled(catalog)
    monitors = sum(p.startswith("datadog/monitors/") for p in want)
    slos = sum(p.startswith("datadog/slos/") for p in want)  # shop's checkout SLO
    first = moncat(fake, catalog)
    assert first.returncode == 0, first.stderr
    assert plan_line(first) == f"plan: {len(want)} to create, 0 to update, 0 to delete, 0 unchanged"
    assert (len(fake.monitors), len(fake.dashboards), len(fake.slos)) == \
        (monitors, len(want) - monitors - slos, slos)
    # Each create is followed by the write that binds the object to its own id.
    writes = fake.write_requests()
    assert sorted(r.method for r in writes) == ["POST"] * len(want) + ["PUT"] * len(want)
    made = {r.path.rsplit("/", 1)[1] for r in writes if r.method == "PUT"}
    assert made == {str(m) for m in fake.monitors} | set(fake.dashboards) | set(fake.slos)
    assert_server_holds_catalog(fake, want)
    # What the server holds is not what was sent: the plan below sees through its additions.
    stored = next(iter(fake.monitors.values()))
    assert {"id", "created", "creator", "overall_state", "multi"} <= set(stored)
    assert stored["options"]["notify_audit"] is False and stored["options"]["new_host_delay"] == 300
    assert all("id" in w for d in fake.dashboards.values() for w in d["widgets"])

    writes, requests = len(fake.write_requests()), len(fake.requests)
    second = moncat(fake, catalog)
    assert second.returncode == 0, second.stderr
    assert plan_line(second) == f"plan: 0 to create, 0 to update, 0 to delete, {len(want)} unchanged"
    assert len(fake.write_requests()) == writes
    listed = [r for r in fake.requests[requests:] if r.path == "/api/v1/monitor"]
    assert listed and all(r.query["monitor_tags"] == ["managed-by:moncat"] and r.query["page_size"] == ["1000"]
                          for r in listed)


def test_changing_one_threshold_plans_and_makes_exactly_one_update(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    # An alert no panel names: a named alert's threshold is also drawn on its panel, and changing
    # it updates that dashboard too.
    alerts = catalog / "shop" / "alerts.yaml"
    text = alerts.read_text()
    old = 'expr: sum(increase(invoice_issue_total{status="failure"}[15m])) > 5\n'
    assert text.count(old) == 1
    alerts.write_text(text.replace(old, old.replace("> 5", "> 8")))
    before = len(fake.write_requests())

    proc = moncat(fake, catalog)
    assert proc.returncode == 0, proc.stderr
    assert plan_line(proc).startswith("plan: 0 to create, 1 to update, 0 to delete,")
    update = next(line for line in proc.stdout.splitlines() if line.startswith("~ "))
    assert update.startswith("~ update monitor shop/shopinvoiceissuefailures: ")
    assert "options.thresholds.critical" in update and "query" in update
    writes = fake.write_requests()[before:]
    target = owned_monitors(fake)["shop/shopinvoiceissuefailures"]
    assert [(r.method, r.path) for r in writes] == [("PUT", f"/api/v1/monitor/{target['id']}")]
    assert target["options"]["thresholds"]["critical"] == 8
    assert target["query"].endswith("> 8")


def test_prune_deletes_exactly_the_removed_alert_and_spares_same_named_objects_without_the_mark(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    mine = owned_monitors(fake)["shop/shopinvoiceissuefailures"]
    dashboard = next(iter(fake.dashboards.values()))
    # Someone's own monitor and dashboard with the same names, even the moncat-id tag, but not
    # the ownership mark (tag `managed-by:moncat`, the description marker).
    theirs = fake.seed_monitor({k: mine[k] for k in ("name", "type", "query", "message", "options")}
                               | {"tags": [t for t in mine["tags"] if t != "managed-by:moncat"]})
    their_board = fake.seed_dashboard({"title": dashboard["title"], "layout_type": "ordered",
                                       "widgets": [], "description": "Ours, by hand."})
    alerts = catalog / "shop" / "alerts.yaml"
    text = alerts.read_text()
    alerts.write_text(re.sub(rf"\n  {REMOVED}:\n.*?(?=\n  ShopStuckPaidOrders:)", "", text, flags=re.S))
    before = len(fake.write_requests())

    kept = moncat(fake, catalog)
    assert kept.returncode == 0, kept.stderr
    assert " 0 to delete" in plan_line(kept) and len(fake.write_requests()) == before

    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert plan_line(pruned).startswith("plan: 0 to create, 0 to update, 1 to delete,")
    assert "- delete monitor shop/shopinvoiceissuefailures" in pruned.stdout
    writes = fake.write_requests()[before:]
    assert [(r.method, r.path) for r in writes] == [("DELETE", f"/api/v1/monitor/{mine['id']}")]
    assert theirs["id"] in fake.monitors and their_board["id"] in fake.dashboards
    assert fake.monitors[theirs["id"]]["name"] == mine["name"]


def test_injected_500s_timeouts_and_429s_are_retried_and_the_apply_completes(fake, catalog) -> None:
    want = compiled(catalog)
    # Faults counted by the fake, not raced against a clock, so the machine's load changes
    # nothing: a 500 on the first request (the SLO listing); the SLO's create (alone in its
    # stage) and one monitor create get no answer until the client gives up; two monitor creates
    # are answered 500; two binding writes 429 (with X-RateLimit-Reset, which the client waits
    # out). No request meets two silences, whatever order the concurrent creates take.
    fake.fail_next(1, 500)
    fake.timeout_next(1, SILENT_S, methods={"POST"}, path="/api/v1/slo")
    fake.timeout_next(1, SILENT_S, methods={"POST"}, path="/api/v1/monitor")
    fake.fail_next(2, 500, methods={"POST"}, path="/api/v1/monitor")
    fake.fail_next(2, 429, methods={"PUT"})

    # The client's timeout: far above any legitimate answer on a busy machine; each silent
    # create costs it once. The process gets them both and a generous margin.
    proc = moncat_process(fake, catalog, timeout_s=2 * ANSWER_S + PROCESS_S,
                          MONCAT_APPLY_TIMEOUT_S=str(ANSWER_S), MONCAT_APPLY_REQUEST_DEADLINE_S=str(6 * ANSWER_S))
    assert proc.returncode == 0, proc.stderr
    statuses = [r.status for r in fake.requests if r.status in (0, 429, 500)]
    assert sorted(statuses) == [0, 0, 429, 429, 500, 500, 500]
    assert [r.path for r in fake.requests if r.status == 0] == ["/api/v1/slo", "/api/v1/monitor"]
    assert not fake.faults.fail and not fake.faults.timeouts  # every fault was met
    # Each failed answer was retried once, and only once; nothing gave up.
    applied = re.search(r"applied (\d+), failed 0, not attempted 0 \((\d+) retries\)", proc.stdout)
    assert applied and int(applied.group(1)) == len(want), proc.stdout
    assert int(applied.group(2)) == len(statuses)
    # A create that failed after the server may have acted is looked up by its identity tag
    # before it is retried (the SLO once, monitors 3 times, none finding it: the fake applied
    # none of them), and no object is made twice.
    lookups = [r.path for r in fake.requests if r.method == "GET" and
               (r.query.get("monitor_tags") or r.query.get("tags_query") or [""])[0].startswith("moncat-id:")]
    assert sorted(lookups) == ["/api/v1/monitor"] * 3 + ["/api/v1/slo"]
    assert sum(r.status == 200 and r.method == "POST" for r in fake.requests) == len(want)
    # Exactly: a create and a binding per object, and one write more per failed write.
    assert len(fake.write_requests()) == 2 * len(want) + 6
    assert_server_holds_catalog(fake, want)
    again = moncat(fake, catalog)
    assert plan_line(again) == f"plan: 0 to create, 0 to update, 0 to delete, {len(want)} unchanged"


def test_a_crash_midway_exits_non_zero_and_a_rerun_converges_to_the_catalog(fake, catalog) -> None:
    want = compiled(catalog)
    # Writes one at a time: create, bind (the SLO), create, bind, create (monitors); the 5th
    # write (the third create) is applied, its answer lost, and the server is gone.
    fake.crash_after(5)
    broken = moncat(fake, catalog, "--concurrency", "1")
    assert broken.returncode == 1
    assert f"applied 2, failed 1, not attempted {len(want) - 3} " in broken.stdout
    assert "the server may have made the object, and looking it up failed" in broken.stderr
    assert "not attempted: create dashboard" in broken.stderr
    assert "run the same command again to converge" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert fake.writes_applied == 5 and (len(fake.slos), len(fake.monitors)) == (1, 2)

    fake.recover()
    writes = len(fake.write_requests())
    rerun = moncat(fake, catalog)
    assert rerun.returncode == 0, rerun.stderr
    # The third monitor was made but never bound: it is adopted (one binding write), not made again.
    assert plan_line(rerun) == f"plan: {len(want) - 3} to create, 1 to update, 0 to delete, 2 unchanged"
    assert re.search(r"~ update monitor \S+: moncat-ref \(binds it to its identity\)", rerun.stdout)
    assert len(fake.write_requests()) - writes == 2 * (len(want) - 3) + 1
    assert_server_holds_catalog(fake, want)


def test_a_dry_run_makes_no_write_request(fake, catalog) -> None:
    stale = fake.seed_monitor({"name": "gone", "type": "query alert", "query": "avg(last_5m):avg:x{*} > 1",
                               "message": "m", "options": {"thresholds": {"critical": 1}},
                               "tags": ["managed-by:moncat", "moncat-id:store/gone"]}, bound=True)
    want = compiled(catalog)
    proc = moncat(fake, catalog, "--dry-run", "--prune")
    assert proc.returncode == 0, proc.stderr
    assert plan_line(proc) == f"plan: {len(want)} to create, 0 to update, 1 to delete, 0 unchanged"
    assert "- delete monitor store/gone" in proc.stdout
    assert fake.write_requests() == [] and list(fake.monitors) == [stale["id"]]


def test_orphans_show_in_every_plan_and_those_of_another_service_go_only_when_named(fake, catalog) -> None:
    for oid in ("store/gone", "legacy/a", "legacy/b"):
        fake.seed_monitor({"name": oid, "type": "query alert", "query": "avg(last_5m):avg:x{*} > 1",
                           "message": "m", "options": {"thresholds": {"critical": 1}},
                           "tags": ["managed-by:moncat", f"moncat-id:{oid}"]}, bound=True)
    plain = moncat(fake, catalog, "--dry-run")
    assert "? orphan monitor store/gone\n1 owned object not in the catalog; --prune deletes them" in plain.stdout
    assert ("2 owned objects of services the catalog does not have (legacy): kept, as they may be another "
            "catalog's; --prune --prune-service legacy deletes them") in plain.stdout
    pruned = moncat(fake, catalog, "--dry-run", "--prune")
    assert "- delete monitor store/gone" in pruned.stdout and "- delete monitor legacy" not in pruned.stdout
    named = moncat(fake, catalog, "--prune", "--prune-service", "legacy")
    assert named.returncode == 0, named.stderr
    assert " 3 to delete" in plan_line(named)
    assert fake.count("DELETE") == 3 and not any(datadog.monitor_id(m).startswith(("legacy/", "store/gone"))
                                                   for m in fake.monitors.values())
    refused = moncat(fake, catalog, "--prune-service", "legacy")
    assert refused.returncode == 2 and "--prune-service deletes only with --prune" in refused.stderr


def test_the_keys_never_appear_in_any_output_log_request_or_file(fake, catalog, tmp_path: Path) -> None:
    outputs = [moncat_process(fake, catalog)]
    fake.crash_after(0)
    alerts = catalog / "store" / "alerts.yaml"
    alerts.write_text(alerts.read_text().replace("> 100", "> 110"))
    outputs.append(moncat_process(fake, catalog))  # fails: every error message is printed
    fake.recover()
    wrong = "dd-wrong-key-5f2a9c0e1b7d4e3a"
    outputs.append(moncat_process(fake, catalog, DD_API_KEY=wrong))
    assert outputs[1].returncode == 1 and outputs[2].returncode == 1
    assert "403" in outputs[2].stderr and "Forbidden" in outputs[2].stderr
    # A refusal names the settings to check, and does not promise that a re-run converges.
    assert "check DD_API_KEY and DD_APP_KEY, and that DD_SITE (here 127.0.0.1:" in outputs[2].stderr
    assert "no response" not in outputs[2].stderr and "converge" not in outputs[2].stderr
    captured = [o.stdout + o.stderr for o in outputs] + fake.log + [repr(fake.requests)]
    captured += [p.read_bytes().decode(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in (fake.api_key, fake.app_key, wrong):
        assert not any(secret in text for text in captured), secret
    assert all(not {"dd-api-key", "dd-application-key"} & {h.lower() for h in r.headers}
               for r in fake.requests)


def test_missing_keys_or_a_catalog_without_datadog_name_what_to_set(fake, catalog, tmp_path: Path) -> None:
    proc = moncat(fake, catalog, DD_APP_KEY="")
    assert proc.returncode == 2 and "set DD_APP_KEY" in proc.stderr and "Traceback" not in proc.stderr
    bare = tmp_path / "bare"
    shutil.copytree(catalog, bare)
    settings = yaml.safe_load((bare / "moncat.yaml").read_text())
    del settings["targets"]["datadog"]
    (bare / "moncat.yaml").write_text(yaml.safe_dump(settings))
    proc = moncat(fake, bare, "--prune")
    assert proc.returncode == 2 and "no targets.datadog" in proc.stderr
    assert fake.requests == []


def test_the_site_comes_from_dd_site_and_url_overrides_it() -> None:
    assert datadog.base_url({}, None) == "https://api.datadoghq.com"
    assert datadog.base_url({"DD_SITE": "datadoghq.eu"}, None) == "https://api.datadoghq.eu"
    assert datadog.base_url({"DD_SITE": "us5.datadoghq.com"}, "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    for bad in ({"DD_SITE": "https://app.datadoghq.eu"}, {"DD_SITE": "datadoghq.eu/api"}):
        with pytest.raises(ConfigError, match="DD_SITE"):
            datadog.base_url(bad, None)
    with pytest.raises(ConfigError, match="--url"):
        datadog.base_url({}, "http://user:pw@127.0.0.1:9")


def _monitor(i: int, owned: bool = True) -> dict:
    tags = [f"moncat-id:svc/m{i:05d}"] + (["managed-by:moncat"] if owned else [])
    return {"name": f"m{i}", "type": "query alert", "query": f"avg(last_5m):avg:x{{*}} > {i}",
            "message": "m", "options": {"thresholds": {"critical": i}}, "tags": tags}


def _board(i: int) -> dict:
    return {"title": f"d{i}", "layout_type": "ordered", "widgets": [
        {"definition": {"type": "note", "content": "n"}}],
        "description": f"Managed by moncat (moncat-id: svc/d{i:04d}): edit the catalog, not this dashboard."}


def test_listing_reads_every_page_and_gets_only_the_dashboards_a_plan_compares(fake) -> None:
    for i in range(2345):
        fake.seed_monitor(_monitor(i), bound=True)
    for i in range(100):
        fake.seed_monitor(_monitor(90_000 + i, owned=False))
    for i in range(1050):
        fake.seed_dashboard(_board(i), bound=True)
    extra = fake.seed_monitor(_monitor(7))  # a second, unbound copy: a create whose answer was lost
    target = datadog.DatadogTarget(Client(fake.url, {"DD-API-KEY": fake.api_key,
                                                             "DD-APPLICATION-KEY": fake.app_key}, []))
    files = {f"datadog/monitors/svc/m{i}.json": json.dumps(_monitor(i)).encode() for i in range(2345)}
    files |= {f"datadog/dashboards/svc/d{i}.json": json.dumps(_board(i)).encode() for i in range(5)}
    desired = target.desired(files)
    current = target.current()
    actions = plan.make_plan(desired, current, prune=True, normalize=target.normalize, order=target.order)
    counts = {op: sum(a.op == op for a in actions) for op in ("create", "update", "delete", "unchanged")}
    # 1,045 dashboards and the extra copy are owned and not in the catalog: deleted, unread.
    assert counts == {"create": 0, "update": 0, "delete": 1045 + 1, "unchanged": 2345 + 5}
    assert any(a.op == "delete" and a.remote_id == str(extra["id"]) for a in actions)
    monitor_pages = [r.query["page"] for r in fake.requests if r.path == "/api/v1/monitor"]
    assert monitor_pages == [["0"], ["1"], ["2"]]
    board_pages = [r.query["start"] for r in fake.requests if r.path == "/api/v1/dashboard"]
    assert board_pages == [["0"], ["1000"], ["1050"]]
    gets = [r for r in fake.requests if r.path.startswith("/api/v1/dashboard/")]
    assert len(gets) == 5
    assert all(r.method == "GET" for r in fake.requests)


def test_normalising_sees_through_server_additions_but_not_through_a_change(fake) -> None:
    sent = _monitor(3) | {"type": "metric alert", "options": {"thresholds": {"critical": 3},
                                                              "renotify_interval": 60}}
    held = fake.seed_monitor(sent)
    assert held["type"] == "query alert" and held["options"]["renotify_statuses"] == ["alert", "no data"]
    assert held["options"]["thresholds"]["critical"] == 3.0 and isinstance(held["options"]["thresholds"]["critical"], float)
    assert datadog.normalize_monitor(held) == datadog.normalize_monitor(sent)
    muted = held | {"options": held["options"] | {"silenced": {"*": None}}}
    assert datadog.normalize_monitor(muted) == datadog.normalize_monitor(sent)
    exported = held | {"options": held["options"] | {"timeout_h": 0, "escalation_message": "", "locked": False}}
    assert datadog.normalize_monitor(exported) == datadog.normalize_monitor(sent)
    assert datadog.normalize_monitor(held | {"options": held["options"] | {"include_tags": False}}) != \
        datadog.normalize_monitor(sent)
    changed = sent | {"options": sent["options"] | {"thresholds": {"critical": 4}}}
    assert datadog.normalize_monitor(held) != datadog.normalize_monitor(changed)
    board = fake.seed_dashboard(_board(1))
    assert datadog.normalize_dashboard(board) == datadog.normalize_dashboard(_board(1))
    assert datadog.normalize_dashboard(board | {"title": "other"}) != datadog.normalize_dashboard(_board(1))


def test_an_update_keeps_a_mute_set_in_datadog(fake) -> None:
    held = fake.seed_monitor(_monitor(5) | {"options": {"thresholds": {"critical": 5}, "silenced": {"*": None}}})
    target = datadog.DatadogTarget(Client(fake.url, {"DD-API-KEY": fake.api_key,
                                                             "DD-APPLICATION-KEY": fake.app_key}, []))
    body = _monitor(5) | {"message": "changed"}
    target.write(plan.Action("update", "monitor", "svc/m00005", body, str(held["id"]), ("message",), held))
    assert fake.monitors[held["id"]]["message"] == "changed"
    assert fake.monitors[held["id"]]["options"]["silenced"] == {"*": None}


def test_the_option_defaults_are_those_of_the_openapi_document() -> None:
    doc = yaml.load(OPENAPI.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    options = doc["components"]["schemas"]["MonitorOptions"]["properties"]
    assert set(datadog_normalize.OPTION_DEFAULTS) | set(datadog_normalize.OPTION_STATE) <= set(options)
    documented = {k: options[k]["default"] for k in datadog_normalize.OPTION_DEFAULTS if "default" in options[k]}
    # A documented default of null is absence itself (nulls are dropped before comparing).
    assert len(documented) >= 4
    assert all(v is None or v in datadog_normalize.OPTION_DEFAULTS[k] for k, v in documented.items()), documented
    for k in ("notify_no_data", "require_full_window"):  # "Defaults to `false`" / "Default is false"
        assert re.search(r"Default(s to| is) `?false", options[k]["description"])
    read_only = doc["components"]["schemas"]["Dashboard"]["properties"]
    assert all(read_only[k].get("readOnly") for k in datadog_normalize.DASHBOARD_READ_ONLY)


def test_the_fake_refuses_bad_bodies_wrong_keys_and_oversized_pages(fake) -> None:
    keys = {"DD-API-KEY": fake.api_key, "DD-APPLICATION-KEY": fake.app_key}
    bad = requests.post(f"{fake.url}/api/v1/monitor", headers=keys, timeout=5,
                        json={"name": "x", "type": "query alert", "query": "avg(last_5m):avg:x{*} > 1",
                              "options": {"thresholds": {"critical": "high"}}})
    assert bad.status_code == 400 and fake.schema_errors
    fake.schema_errors.clear()
    mismatch = requests.post(f"{fake.url}/api/v1/monitor", headers=keys, timeout=5,
                             json={"name": "x", "type": "query alert", "query": "avg(last_5m):avg:x{*} > 1",
                                   "options": {"thresholds": {"critical": 2}}})
    assert mismatch.status_code == 400 and "does not match" in mismatch.text
    read_only = requests.post(f"{fake.url}/api/v1/dashboard", headers=keys, timeout=5,
                              json=_board(1) | {"id": "abc-def-ghi"})
    assert read_only.status_code == 400 and fake.schema_errors
    fake.schema_errors.clear()
    wrong = requests.get(f"{fake.url}/api/v1/monitor", headers=keys | {"DD-API-KEY": "nope"}, timeout=5)
    assert wrong.status_code == 403 and wrong.json() == {"errors": ["Forbidden"]}
    big = requests.get(f"{fake.url}/api/v1/monitor", headers=keys, params={"page": 0, "page_size": 1001},
                       timeout=5)
    assert big.status_code == 400
    fake.fail_next(1, 429)
    limited = requests.get(f"{fake.url}/api/v1/dashboard", headers=keys, timeout=5)
    assert limited.status_code == 429
    assert {"X-RateLimit-Limit", "X-RateLimit-Period", "X-RateLimit-Remaining",
            "X-RateLimit-Reset"} <= set(limited.headers)
    assert limited.headers["X-RateLimit-Remaining"] == "0" and int(limited.headers["X-RateLimit-Reset"]) >= 1


def test_the_fakes_rate_limit_refuses_requests_beyond_its_window_with_the_documented_headers() -> None:
    with FakeDatadog(OPENAPI) as fresh:
        keys = {"DD-API-KEY": fresh.api_key, "DD-APPLICATION-KEY": fresh.app_key}
        fresh.rate_limit(2, 3600)  # one window for all three (windows align to the hour)
        answers = [requests.get(f"{fresh.url}/api/v1/dashboard", headers=keys, timeout=30) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "2" and a.headers["X-RateLimit-Period"] == "3600"
               for a in answers)
    assert 1 <= int(answers[2].headers["X-RateLimit-Reset"]) <= 3600


def test_a_composite_is_created_after_its_monitors_with_their_ids_and_deleted_before_them(fake, catalog) -> None:
    want = compiled(catalog)
    composites = {p: b for p, b in want.items() if b.get("type") == "composite"}
    assert composites  # shop/ShopCheckoutFailuresHigh: `or` of two conditions
    assert moncat(fake, catalog).returncode == 0
    held = owned_monitors(fake)
    for body in composites.values():
        server = held[datadog.monitor_id(body)]
        ids = re.findall(r"\d+", server["query"])
        named = re.findall(r"\$\{([^}]+)\}", body["query"])
        assert [datadog.monitor_id(fake.monitors[int(i)]) for i in ids] == named
    again = moncat(fake, catalog)
    assert plan_line(again).endswith(f"{len(want)} unchanged")
    # With the alert left out of Datadog, --prune deletes the composite first, then its parts.
    alerts = catalog / "shop" / "alerts.yaml"
    text = alerts.read_text()
    alerts.write_text(text.replace("  ShopCheckoutFailuresHigh:\n",
                                   "  ShopCheckoutFailuresHigh:\n    targets: [prometheus, grafana]\n"))
    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    deletes = [r.path for r in fake.requests if r.method == "DELETE"]
    assert len(deletes) == 3 and deletes[0] == f"/api/v1/monitor/{server['id']}"
