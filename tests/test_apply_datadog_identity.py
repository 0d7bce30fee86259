"""`moncat apply datadog` when answers are lost and objects are copied: a create whose answer is
lost (a 500 after the commit, a dropped connection, a body cut off) never makes a second monitor
or dashboard; duplicates and UI clones are told apart by the binding to their own id
(compiler/apply/identity.py); a login page, a redirect elsewhere or a trickling server end in a
clear error. Each test checks what the fake holds and the exact writes it received."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from compiler.apply import datadog, identity
from fakes.datadog_fake import FakeDatadog
from test_apply_datadog import (OPENAPI, assert_server_holds_catalog, bound, compiled, moncat, owned_monitors,
                                plan_line, seed_services)

LOGIN_PAGE = b"<!doctype html><html><head><title>Sign in to Example</title></head><body>SSO</body></html>"


@pytest.fixture
def fake():
    with FakeDatadog(OPENAPI) as server:
        yield server
    assert not server.schema_errors, server.schema_errors[:3]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The seed catalog's settings with one service, store: four monitors and a dashboard."""
    return seed_services(tmp_path, "store")


def writes(fake: FakeDatadog, since: int = 0) -> list[tuple[str, str]]:
    """(method, path) of every write request that reached the fake, misbehaved or not."""
    return [(e.method, e.path) for e in fake.received("POST", "PUT", "DELETE")[since:]]


@pytest.mark.parametrize("kind", ["commit-then-500", "commit-then-drop", "cut", "cut-chunked"])
def test_a_create_whose_answer_is_lost_makes_no_second_object(fake, catalog, kind) -> None:
    want = compiled(catalog)
    # The first monitor create and the dashboard create are applied, and their answers lost.
    fake.misbehave(kind, methods={"POST"}, path="/api/v1/monitor")
    fake.misbehave(kind, methods={"POST"}, path="/api/v1/dashboard")
    run = moncat(fake, catalog, "--concurrency", "1")
    assert run.returncode == 0, run.stderr
    assert_server_holds_catalog(fake, want)
    assert len(fake.monitors) == 4 and len(fake.dashboards) == 1
    # One POST per object, then its binding; each lost answer cost one look-up (GET), no POST.
    sent = writes(fake)
    assert sorted(m for m, _ in sent) == ["POST"] * 5 + ["PUT"] * 5
    lookups = [r for r in fake.requests if r.method == "GET" and r.query.get("monitor_tags") not in
               (None, ["managed-by:moncat"])]
    assert len(lookups) == 1 and lookups[0].query["monitor_tags"][0].startswith("moncat-id:store/")
    assert "applied 5, failed 0, not attempted 0 (2 retries)" in run.stdout
    again = moncat(fake, catalog)
    assert plan_line(again) == "plan: 0 to create, 0 to update, 0 to delete, 5 unchanged"
    assert len(writes(fake)) == 10


def test_an_extra_copy_left_by_a_lost_create_is_reported_and_pruned(fake, catalog) -> None:
    want = compiled(catalog)
    assert moncat(fake, catalog).returncode == 0
    original = owned_monitors(fake)["store/storehigh5xxrate"]
    # What a create leaves when its answer and the look-up both failed: the same body, unbound.
    extra = fake.seed_monitor({k: original[k] for k in ("name", "type", "query", "message", "options", "tags")
                               } | {"tags": [t for t in original["tags"] if not t.startswith("moncat-ref:")]})
    before = len(writes(fake))
    plain = moncat(fake, catalog)
    assert plain.returncode == 0, plain.stderr
    assert (f"! monitor store/storehigh5xxrate: 2 objects share this identity: monitor {original['id']} "
            f"(created ") in plain.stdout
    assert f"monitor {extra['id']} (created " in plain.stdout and "is an extra copy" in plain.stdout
    assert f"? orphan monitor store/storehigh5xxrate (extra copy {extra['id']})" in plain.stdout
    assert plan_line(plain) == "plan: 0 to create, 0 to update, 0 to delete, 5 unchanged"
    pruned = moncat(fake, catalog, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert writes(fake, before) == [("DELETE", f"/api/v1/monitor/{extra['id']}")]
    assert original["id"] in fake.monitors
    assert_server_holds_catalog(fake, want)


def test_ui_clones_are_never_taken_for_moncats_objects(fake, catalog) -> None:
    assert moncat(fake, catalog).returncode == 0
    original = owned_monitors(fake)["store/storehigh5xxrate"]
    board = next(iter(fake.dashboards.values()))
    clone = fake.clone_monitor(original["id"])
    board_clone = fake.clone_dashboard(board["id"])
    assert "managed-by:moncat" in clone["tags"] and board_clone["description"] == board["description"]
    before = len(writes(fake))

    plan = moncat(fake, catalog, "--prune")
    assert plan.returncode == 0, plan.stderr
    assert plan_line(plan) == "plan: 0 to create, 0 to update, 0 to delete, 5 unchanged"
    assert (f"! monitor store/storehigh5xxrate: monitor {clone['id']} (created " in plan.stdout
            and f"by alice@example.com) carries this identity but is a copy of {original['id']}" in plan.stdout)
    assert f"but is a copy of {board['id']} (made in the UI?)" in plan.stdout
    assert writes(fake, before) == []

    # A change reaches the originals only (the threshold is drawn on the dashboard too); the
    # clones keep what their owner gave them.
    alerts = catalog / "store" / "alerts.yaml"
    text = alerts.read_text()
    old = '(celery_queue_length{job="store-celery"}) > 100\n'
    assert text.count(old) == 1
    alerts.write_text(text.replace(old, old.replace("> 100", "> 110")))
    sync = owned_monitors(fake)["store/storeceleryBacklog".lower()]
    changed = moncat(fake, catalog, "--prune")
    assert changed.returncode == 0, changed.stderr
    assert writes(fake, before) == [("PUT", f"/api/v1/monitor/{sync['id']}"), ("PUT", f"/api/v1/dashboard/{board['id']}")]
    assert fake.dashboards[board_clone["id"]]["widgets"] == board_clone["widgets"]
    # Deleting the original in the UI: moncat makes a new one, and still leaves the clone alone.
    del fake.monitors[original["id"]]
    again = moncat(fake, catalog, "--prune")
    assert again.returncode == 0, again.stderr
    assert plan_line(again) == "plan: 1 to create, 0 to update, 0 to delete, 4 unchanged"
    assert clone["id"] in fake.monitors and board_clone["id"] in fake.dashboards
    remade = [m for m in fake.monitors.values() if datadog.monitor_id(m) == "store/storehigh5xxrate" and bound(m)]
    assert len(remade) == 1 and remade[0]["id"] not in (original["id"], clone["id"])
    assert fake.monitors[clone["id"]]["query"] == original["query"]


def test_objects_moncat_cannot_tell_apart_are_reported_and_none_is_written(fake, catalog) -> None:
    want = compiled(catalog)
    body = next(b for p, b in want.items() if p.endswith("StoreHigh5xxRate.json"))
    # Made before bindings existed, then cloned: both carry the identity, neither is bound.
    first, second = fake.seed_monitor(body), fake.seed_monitor(body)
    run = moncat(fake, catalog, "--prune")
    assert run.returncode == 1
    assert ("! blocked monitor store/storehigh5xxrate: 2 objects share this identity and moncat cannot "
            f"tell its own from a copy (monitor {first['id']} (created ") in run.stdout
    assert plan_line(run) == "plan: 4 to create, 0 to update, 0 to delete, 0 unchanged, 1 blocked"
    assert "1 object not applied: the lines marked ! above say why" in run.stderr
    assert sorted(m for m, _ in writes(fake)) == ["POST"] * 4 + ["PUT"] * 4
    assert fake.monitors[first["id"]]["tags"] == fake.monitors[second["id"]]["tags"]  # untouched
    assert not any(bound(fake.monitors[i]) for i in (first["id"], second["id"]))
    # Once the user deletes one, moncat adopts the other (binding it: one write).
    del fake.monitors[second["id"]]
    before = len(writes(fake))
    adopted = moncat(fake, catalog)
    assert adopted.returncode == 0, adopted.stderr
    assert writes(fake, before) == [("PUT", f"/api/v1/monitor/{first['id']}")]
    assert_server_holds_catalog(fake, want)


@pytest.mark.parametrize("body, content_type, says", [
    (LOGIN_PAGE, "text/html", "an HTML page titled 'Sign in to Example'"),
    (b"null", "application/json", "expected a list of monitors, got JSON null"),
    (b"[]", "application/json", "expected an object {dashboards: [...]}, got an empty JSON list"),
])
def test_a_200_that_is_not_the_expected_json_stops_the_plan_with_a_clear_error(fake, catalog, body, content_type, says) -> None:
    path = "/api/v1/dashboard" if body == b"[]" else "/api/v1/monitor"
    fake.misbehave("answer", methods={"GET"}, path=path, body=body, content_type=content_type)
    run = moncat(fake, catalog)
    assert run.returncode == 1
    assert f"cannot read the server: GET {fake.url}{path}" in run.stderr and says in run.stderr
    assert writes(fake) == [] and fake.monitors == {}


def test_a_login_page_answering_a_create_is_a_failure_not_a_success(fake, catalog) -> None:
    fake.misbehave("answer", methods={"POST"}, path="/api/v1/monitor", body=LOGIN_PAGE)
    run = moncat(fake, catalog, "--concurrency", "1")
    assert run.returncode == 1
    assert "expected a JSON answer, got an HTML page titled 'Sign in to Example'" in run.stderr
    assert "applied 3, failed 1, not attempted 1" in run.stdout
    assert "refused for a reason a re-run does not change" in run.stderr
    assert len(fake.monitors) == 3 and all(bound(m) for m in fake.monitors.values())


def test_a_redirect_to_another_host_sends_nothing_there(fake, catalog) -> None:
    with FakeDatadog(OPENAPI) as other:
        fake.misbehave("redirect", methods={"POST"}, location=other.url.replace("127.0.0.1", "localhost"))
        run = moncat(fake, catalog, "--concurrency", "1")
        assert other.received() == []
    assert run.returncode == 1
    assert "307: redirected to another host, http://localhost:" in run.stderr
    assert "not followed, so that the credentials stay with" in run.stderr
    assert fake.api_key not in run.stdout + run.stderr
    assert len(fake.monitors) == 3  # the redirected create only failed


def test_a_create_trickled_past_its_deadline_is_found_not_made_again(fake, catalog) -> None:
    want = compiled(catalog)
    fake.misbehave("trickle", 2, methods={"POST"}, path="/api/v1/monitor", every_s=0.3)
    started = time.monotonic()
    run = moncat(fake, catalog, "--concurrency", "1", MONCAT_APPLY_REQUEST_DEADLINE_S="4", MONCAT_APPLY_TIMEOUT_S="4")
    assert run.returncode == 0, run.stderr
    # Each trickled create was cut at 4 s (a byte came every 0.3 s); its look-up found what it
    # had made.
    assert time.monotonic() - started < 60
    assert "applied 5, failed 0, not attempted 0 (2 retries)" in run.stdout
    assert sorted(m for m, _ in writes(fake)) == ["POST"] * 5 + ["PUT"] * 5
    assert_server_holds_catalog(fake, want)


def test_a_server_that_stops_answering_mid_apply_is_left_alone_and_a_rerun_converges(fake, catalog) -> None:
    want = compiled(catalog)
    fake.misbehave("silent", 10, methods={"PUT"}, hold_s=3)
    started = time.monotonic()
    run = moncat(fake, catalog, "--concurrency", "1", MONCAT_APPLY_TIMEOUT_S="0.5")
    assert run.returncode == 1
    assert time.monotonic() - started < 30
    # The first binding got no answer twice; nothing more was sent.
    assert "failed: create monitor store/" in run.stderr
    assert "gave up after 2 attempts (no response within 0.5 s)" in run.stderr
    assert "applied 0, failed 1, not attempted 4" in run.stdout
    assert "(not attempted because the server stopped answering" in run.stderr
    assert writes(fake) == [("POST", "/api/v1/monitor")] + [("PUT", writes(fake)[1][1])] * 2
    fake.misbehaviours.clear()
    rerun = moncat(fake, catalog)
    assert rerun.returncode == 0, rerun.stderr
    assert plan_line(rerun) == "plan: 4 to create, 1 to update, 0 to delete, 0 unchanged"
    assert_server_holds_catalog(fake, want)


def _claims(*specs: tuple[str, str, str]) -> list[identity.Claim]:
    """(moncat id, server id, reference) -> claims of kind monitor."""
    return [identity.Claim("monitor", oid, rid, ref, {"id": rid}, identity.service_of(oid), f"monitor {rid}")
            for oid, rid, ref in specs]


@pytest.mark.parametrize("specs, owned, notes, blocked, adopted", [
    # one bound object: moncat's
    ([("s/a", "1", "1")], {"s/a": "1"}, 0, False, []),
    # bound + its UI clone (the clone keeps the original's reference): the clone is noted only
    ([("s/a", "1", "1"), ("s/a", "2", "1")], {"s/a": "1"}, 1, False, []),
    # bound + an unbound extra copy (a lost create): the extra is owned under its own id
    ([("s/a", "1", "1"), ("s/a", "2", "")], {"s/a": "1", "s/a (extra copy 2)": "2"}, 1, False, []),
    # one unbound object (an older moncat's): adopted, to be bound
    ([("s/a", "5", "")], {"s/a": "5"}, 0, False, ["5"]),
    # two unbound objects: cannot tell; nothing owned, the identity blocked
    ([("s/a", "1", ""), ("s/a", "2", "")], {}, 1, True, []),
    # two bound to themselves (a reference written by hand): cannot tell either
    ([("s/a", "1", "1"), ("s/a", "2", "2")], {}, 1, True, []),
    # the mark without an id: not moncat's
    ([("", "9", "")], {}, 1, False, []),
])
def test_identity_tells_moncats_own_objects_from_copies_and_extras(specs, owned, notes, blocked, adopted):
    currents, findings = identity.resolve(_claims(*specs), "its mark")
    assert {c.id: c.remote_id for c in currents} == owned
    assert all(c.owned for c in currents)
    assert len(findings) == notes
    assert any(f.blocks for f in findings) is blocked
    assert [c.remote_id for c in currents if c.pending] == adopted
