"""`moncat apply grafana` when Grafana (or a proxy in front of it) misbehaves, and when people
copy moncat's objects in Grafana's UI: lost answers after a commit, answers cut off, a login page
or `null` where JSON belongs, a redirect to another host; "Save as" copies and duplicated rules
are never taken for moncat's. Each test checks what the fake holds and the writes it received."""
from __future__ import annotations

import json

import pytest

from fakes.grafana_fake import FakeGrafana
from test_apply_grafana import (TOKEN, apply, assert_server_holds_catalog, catalog, plan_summary,  # noqa: F401
                                planned)

LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in | Okta</title></head><body>SSO</body></html>"
CREATES = ("/api/folders", "/api/v1/provisioning/contact-points", "/api/v1/provisioning/alert-rules",
           "/api/dashboards/db")


@pytest.fixture
def fake():
    with FakeGrafana(token=TOKEN, hang_s=0.8) as server:
        yield server
        assert server.schema_errors == []


def writes(fake: FakeGrafana, since: int = 0) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in fake.received("POST", "PUT", "DELETE")[since:]]


@pytest.mark.parametrize("kind", ["commit-then-500", "cut"])
def test_a_create_applied_but_answered_badly_is_recognised_as_ours_and_not_made_twice(fake, catalog, kind):
    for path in CREATES:
        fake.misbehave(kind, methods={"POST"}, path=path)
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.exit_code == 0, run.stderr
    assert "applied 13, failed 0, not attempted 0 (4 retries)" in run.stdout
    assert_server_holds_catalog(fake, catalog)
    # Each create once more (Grafana answers 409/400/412: the uid is taken, by our own object),
    # and nothing else.
    sent = writes(fake)
    assert len(sent) == 11 + 4  # 11 writes, the notification template's included
    assert sorted(p for m, p in sent if m == "POST").count("/api/folders") == 3
    assert len(fake.org().folders) == 2 and len(fake.org().dashboards) == 1
    assert planned(apply(fake, catalog, "--dry-run")) == []


def test_copies_made_in_grafanas_ui_are_not_moncats_and_prune_leaves_them(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    fake.save_as("web-overview", "adk9w2x7b4c3de")
    fake.duplicate_rule("web-WebRouteErrors", "fdk3jq8v1n2m0a")
    before = len(writes(fake))
    run = apply(fake, catalog, "--yes", "--prune")
    assert run.exit_code == 0, run.stderr
    assert planned(run) == []
    assert ("! dashboard adk9w2x7b4c3de: carries the 'moncat' tag but its uid is not one moncat gives"
            in run.stdout)
    assert "! alert_rule fdk3jq8v1n2m0a: carries the managed_by=moncat label but its uid is not one" in run.stdout
    assert writes(fake, before) == []
    assert "adk9w2x7b4c3de" in fake.org().dashboards and "fdk3jq8v1n2m0a" in fake.org().rules


@pytest.mark.parametrize("path, body, content_type, says", [
    ("/api/v1/provisioning/alert-rules", LOGIN_PAGE, "text/html; charset=utf-8",
     "expected a JSON answer, got an HTML page titled 'Sign in | Okta'"),
    ("/api/folders", b"null", "application/json", "expected a list of folders, got JSON null"),
    ("/api/v1/provisioning/policies", b"[]", "application/json",
     "expected a notification policy tree, got an empty JSON list"),
])
def test_a_200_that_is_not_the_expected_json_stops_the_plan_with_a_clear_error(fake, catalog, path, body,
                                                                               content_type, says):
    fake.misbehave("answer", methods={"GET"}, path=path, body=body, content_type=content_type)
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 1
    assert f"cannot read the server: GET {fake.url}{path}" in run.stderr and says in run.stderr
    assert writes(fake) == []


def test_a_login_page_answering_a_write_is_a_failure_not_a_success(fake, catalog):
    fake.misbehave("answer", methods={"POST"}, path="/api/folders", body=LOGIN_PAGE)
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.exit_code == 1
    assert f"POST {fake.url}/api/folders: 200: expected a JSON answer, got an HTML page" in run.stderr
    assert "refused for a reason a re-run does not change" in run.stderr
    assert "run the same command again" not in run.stderr
    assert len(fake.org().folders) == 1  # the other folder; nothing after the folders' stage
    assert fake.org().rules == {} and fake.org().dashboards == {}


def test_an_answer_cut_off_while_planning_is_read_again(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    fake.misbehave("cut-chunked", methods={"GET"}, path="/api/search")
    fake.misbehave("cut", methods={"GET"}, path="/api/v1/provisioning/alert-rules")
    run = apply(fake, catalog, "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert plan_summary(run) == "plan: 0 to create, 0 to update, 0 to delete, 13 unchanged"
    assert sorted(e.misbehaviour for e in fake.received("GET") if e.misbehaviour) == ["cut", "cut-chunked"]


def test_a_redirect_to_another_host_sends_nothing_there(fake, catalog):
    with FakeGrafana(token=TOKEN) as other:
        fake.misbehave("redirect", methods={"GET"}, path="/api/folders",
                       location=other.url.replace("127.0.0.1", "localhost"))
        run = apply(fake, catalog, "--yes")
        assert other.requests == [] and other.received() == []
    assert run.exit_code == 1
    assert "307: redirected to another host, http://localhost:" in run.stderr
    assert TOKEN not in run.stdout + run.stderr
    assert writes(fake) == []


def test_an_object_of_another_shape_than_documented_is_reported_with_its_id(fake, catalog):
    assert apply(fake, catalog, "--yes").exit_code == 0
    listed = [FakeGrafana._rule_out(r) for r in fake.org().rules.values()]
    for rule in listed:
        if rule["uid"] == "api-ApiLatencyHigh":
            rule["data"] = {"refId": "A"}  # an object where the API documents a list of queries
    fake.misbehave("answer", methods={"GET"}, path="/api/v1/provisioning/alert-rules",
                   body=json.dumps(listed).encode(), content_type="application/json")
    run = apply(fake, catalog, "--yes")
    assert run.exit_code == 1
    assert ("cannot read the server: the server's alert_rule api-ApiLatencyHigh is not shaped as the API "
            "documents (ValueError: ") in run.stderr
    assert "internal error" not in run.stderr and len(writes(fake)) == 11  # the first apply's only
