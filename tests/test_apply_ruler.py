"""`moncat apply ruler` against FakeRuler (tests/fakes/ruler_fake.py): plan, push, prune, retries,
crash recovery, dry run and secrets, through the real CLI in a subprocess."""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from compiler import pipeline
from compiler.apply import ruler
from compiler.apply.client import ApiError
from compiler.apply.plan import Action
from compiler.apply.registry import ConfigError
from conftest import CATALOG, ROOT
from fakes.ruler_fake import FakeRuler, format_duration, parse_duration

GOLDEN_CATALOG = ROOT / "tests" / "golden" / "catalog"
TOKEN = "glc_eyJvIjoiMTIzNDU2Iiwibi0ruler-token-SHOULD-NEVER-LEAK"
TENANT = "team-a"
WRITE = re.compile(r"^[+~-] ", re.M)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A copy of the small golden catalog (services api and web: three rule groups) to edit."""
    shutil.copytree(GOLDEN_CATALOG, tmp_path / "catalog")
    return tmp_path / "catalog"


@pytest.fixture
def fake():
    with FakeRuler(token=TOKEN) as server:
        yield server
        assert server.schema_errors == []


def env_for(fake: FakeRuler, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONCAT_RULER_")}
    env.update({"MONCAT_RULER_URL": fake.url, "MONCAT_RULER_TENANT": TENANT, "MONCAT_RULER_TOKEN": TOKEN,
                "MONCAT_APPLY_BACKOFF_S": "0.01", "MONCAT_APPLY_TIMEOUT_S": "0.5"})
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def apply(fake: FakeRuler, catalog: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", "apply", "ruler", str(catalog), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env_for(fake, **env))


def catalog_state(catalog: Path) -> dict[str, dict[str, object]]:
    """namespace -> group name -> normalised group, as the compiled catalog wants the ruler."""
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors()
    want: dict[str, dict[str, object]] = {}
    for path, data in result.files.items():
        m = ruler.RULES_FILE.fullmatch(path)
        if m:
            for group in yaml.safe_load(data)["groups"]:
                want.setdefault(ruler.namespace_for(m.group(1)), {})[group["name"]] = ruler.normalize_group(group)
    return want


def server_state(fake: FakeRuler, tenant: str = TENANT, owned_only: bool = True) -> dict[str, dict[str, object]]:
    return {ns: {name: ruler.normalize_group(g) for name, g in groups.items()}
            for ns, groups in fake.groups(tenant).items()
            if not owned_only or ns.startswith(ruler.NAMESPACE_PREFIX)}


def plan_line(run: subprocess.CompletedProcess) -> str:
    return next(line for line in run.stdout.splitlines() if line.startswith("plan: "))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_applying_to_an_empty_ruler_then_planning_again_changes_nothing_and_writes_nothing(fake, catalog):
    first = apply(fake, catalog, "--yes")
    assert first.returncode == 0, first.stderr
    assert plan_line(first) == "plan: 3 to create, 0 to update, 0 to delete, 0 unchanged"
    assert server_state(fake) == catalog_state(catalog)
    # Writes run four at a time, so their order varies; each posted one YAML group.
    assert sorted((r.method, r.path, r.content_type) for r in fake.writes) == [
        ("POST", "/prometheus/config/v1/rules/moncat-api", "application/yaml"),
        ("POST", "/prometheus/config/v1/rules/moncat-web", "application/yaml"),
        ("POST", "/prometheus/config/v1/rules/moncat-web", "application/yaml")]
    assert all(r.headers.get("X-Scope-OrgID") == TENANT for r in fake.requests)
    assert fake.groups("someone-else") == {}  # the tenant header decided where the groups went
    writes = len(fake.writes)

    again = apply(fake, catalog, "--yes")
    assert again.returncode == 0, again.stderr
    assert plan_line(again) == "plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"
    assert WRITE.findall(again.stdout) == []
    assert len(fake.writes) == writes
    assert [r.method for r in fake.requests[-1:]] == ["GET"]  # a no-op plan costs one request


def test_changing_one_threshold_updates_exactly_one_group(fake, catalog):
    assert apply(fake, catalog, "--yes").returncode == 0
    before = len(fake.writes)
    edit(catalog / "web" / "service.yaml", "expr: web:http_error_ratio:rate5m > 0.05",
         "expr: web:http_error_ratio:rate5m > 0.1")

    run = apply(fake, catalog, "--yes")
    assert run.returncode == 0, run.stderr
    assert WRITE.findall(run.stdout) == ["~ "]
    assert "~ update rule_group moncat-web/web.alerts: rules[0].expr" in run.stdout
    assert plan_line(run) == "plan: 0 to create, 1 to update, 0 to delete, 2 unchanged"
    assert [(r.method, r.path) for r in fake.writes[before:]] == [
        ("POST", "/prometheus/config/v1/rules/moncat-web")]
    assert fake.groups(TENANT)["moncat-web"]["web.alerts"]["rules"][0]["expr"] == "web:http_error_ratio:rate5m > 0.1"
    assert server_state(fake) == catalog_state(catalog)


def test_removing_one_alert_of_several_rewrites_its_group_and_deletes_nothing(fake, catalog):
    assert apply(fake, catalog, "--yes").returncode == 0
    before = len(fake.writes)
    service = catalog / "web" / "service.yaml"
    text = service.read_text()
    start, end = text.index("  WebRouteErrors:\n"), text.index("procedures:\n")
    service.write_text(text[:start] + text[end:])

    run = apply(fake, catalog, "--yes", "--prune")
    assert run.returncode == 0, run.stderr
    assert plan_line(run) == "plan: 0 to create, 1 to update, 0 to delete, 2 unchanged"
    assert [r.method for r in fake.writes[before:]] == ["POST"]
    assert server_state(fake) == catalog_state(catalog)


def test_pruning_a_removed_alert_deletes_exactly_one_group_and_spares_groups_outside_our_namespaces(fake, catalog):
    # Someone else's groups with the very same name: one in a namespace named after the service,
    # one in another team's namespace. Neither carries our mark (the moncat- namespace prefix).
    theirs = {"name": "api.alerts", "rules": [{"alert": "ApiLatencyHigh", "expr": "vector(1) > 0"}]}
    fake.put(TENANT, "api", theirs)
    fake.put(TENANT, "team-x", theirs)
    assert apply(fake, catalog, "--yes").returncode == 0
    edit(catalog / "api.jsonnet", "    ApiLatencyHigh: lib.latency('api_request_duration_seconds', 1),\n", "")

    kept = apply(fake, catalog, "--yes")  # without --prune nothing goes
    assert kept.returncode == 0, kept.stderr
    assert plan_line(kept) == "plan: 0 to create, 0 to update, 0 to delete, 2 unchanged"
    before = len(fake.writes)

    run = apply(fake, catalog, "--yes", "--prune")
    assert run.returncode == 0, run.stderr
    assert plan_line(run) == "plan: 0 to create, 0 to update, 1 to delete, 2 unchanged"
    assert "- delete rule_group moncat-api/api.alerts" in run.stdout
    assert [(r.method, r.path) for r in fake.writes[before:]] == [
        ("DELETE", "/prometheus/config/v1/rules/moncat-api/api.alerts")]
    groups = fake.groups(TENANT)
    assert "moncat-api" not in groups  # its last group went, and with it the namespace
    assert groups["api"]["api.alerts"]["rules"] == theirs["rules"]
    assert groups["team-x"]["api.alerts"]["rules"] == theirs["rules"]
    assert server_state(fake) == catalog_state(catalog)


def test_injected_500s_timeouts_and_429s_are_retried_until_the_apply_completes(fake, catalog):
    fake.inject("500", "timeout", "429", "503")
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.returncode == 0, run.stderr
    assert "applied 3, failed 0, not attempted 0 (4 retries)" in run.stdout
    assert server_state(fake) == catalog_state(catalog)
    statuses = [r.status for r in fake.writes]
    assert statuses == [500, "timeout", 429, 503, 202, 202, 202]
    # The retry after the 429 waited as long as Retry-After said (1 s), not the 10 ms backoff.
    assert fake.writes[3].at - fake.writes[2].at >= 0.95
    # Within the budget: no object needed more than the client's six attempts.
    per_path = {p: sum(r.path == p for r in fake.writes) for p in {r.path for r in fake.writes}}
    assert max(per_path.values()) <= 6


def test_a_fault_beyond_the_retry_budget_fails_the_apply_and_a_rerun_converges(fake, catalog):
    fake.inject(*["500"] * 6)  # six 500s in a row exhaust one write's six attempts
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.returncode == 1
    assert "applied 2, failed 1, not attempted 0" in run.stdout
    assert "gave up after 6 attempts (500)" in run.stderr
    assert "run the same command again to converge" in run.stderr
    again = apply(fake, catalog, "--yes")
    assert again.returncode == 0, again.stderr
    assert plan_line(again) == "plan: 1 to create, 0 to update, 0 to delete, 2 unchanged"
    assert server_state(fake) == catalog_state(catalog)


def test_a_crash_midway_then_a_rerun_leaves_the_ruler_in_the_catalogs_state(fake, tmp_path):
    seed = tmp_path / "seed"
    shutil.copytree(CATALOG, seed)
    want = catalog_state(seed)
    total = sum(len(groups) for groups in want.values())
    assert total >= 6
    fake.crash_after_writes = 3

    crashed = apply(fake, seed, "--yes", "--concurrency", "1")
    assert crashed.returncode == 1
    # The fourth write got no answer in six attempts; nothing more was sent to a server that
    # stopped answering.
    assert f"applied 3, failed 1, not attempted {total - 4} (5 retries)" in crashed.stdout
    assert crashed.stderr.count("failed: create rule_group moncat-") == 1
    assert "gave up after 6 attempts (no response: the connection closed before an answer)" in crashed.stderr
    assert crashed.stderr.count("not attempted: create rule_group moncat-") == total - 4
    assert "(not attempted because the server stopped answering" in crashed.stderr
    assert sum(len(g) for g in server_state(fake).values()) == 3
    assert sum(r.method == "POST" for r in fake.requests) == 3 + 6

    fake.restart()
    rerun = apply(fake, seed, "--yes", "--concurrency", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert plan_line(rerun) == f"plan: {total - 3} to create, 0 to update, 0 to delete, 3 unchanged"
    assert server_state(fake) == want
    settled = apply(fake, seed, "--dry-run")
    assert plan_line(settled) == f"plan: 0 to create, 0 to update, 0 to delete, {total} unchanged"


def test_dry_run_makes_no_write_request_and_a_namespace_of_another_service_goes_only_when_named(fake, catalog):
    fake.put(TENANT, "moncat-gone", {"name": "gone.alerts", "rules": [{"alert": "Gone", "expr": "vector(1)"}]})
    # `gone` is no service of this catalog: its namespace may be another catalog's on this tenant.
    kept = apply(fake, catalog, "--dry-run", "--prune")
    assert kept.returncode == 0, kept.stderr
    assert plan_line(kept) == "plan: 3 to create, 0 to update, 0 to delete, 0 unchanged"
    assert "? orphan rule_group moncat-gone/gone.alerts (service gone)" in kept.stdout
    assert ("1 owned object of services the catalog does not have (gone): kept, as they may be another "
            "catalog's; --prune --prune-service gone deletes them") in kept.stdout
    named = apply(fake, catalog, "--dry-run", "--prune", "--prune-service", "gone")
    assert named.returncode == 0, named.stderr
    assert plan_line(named) == "plan: 3 to create, 0 to update, 1 to delete, 0 unchanged"
    assert "- delete rule_group moncat-gone/gone.alerts" in named.stdout
    assert fake.writes == []
    assert {r.method for r in fake.requests} == {"GET"}
    assert "moncat-gone" in fake.groups(TENANT)


def test_durations_the_ruler_spells_its_own_way_plan_no_change(fake, catalog):
    # 192h compiles to "8d" and the ruler prints it back so (weeks only when exact, as
    # Prometheus spells durations); the catalog's 192h never reaches either.
    edit(catalog / "web" / "service.yaml", "    for: 10m\n    severity: ticket",
         "    for: 10m\n    keep_firing_for: 192h\n    severity: ticket")
    assert b"keep_firing_for: 8d" in pipeline.compile_catalog(catalog).files["prometheus/web.rules.yaml"]
    assert apply(fake, catalog, "--yes").returncode == 0
    assert fake.groups(TENANT)["moncat-web"]["web.alerts"]["rules"][1]["keep_firing_for"] == "8d"
    run = apply(fake, catalog, "--dry-run")
    assert plan_line(run) == "plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"


@pytest.mark.parametrize("ours, theirs, same", [
    ({"name": "g", "interval": "60s", "rules": [{"alert": "A", "expr": "up == 0", "for": "120s"}]},
     {"name": "g", "interval": "1m", "rules": [{"alert": "A", "expr": "up == 0", "for": "2m"}]}, True),
    ({"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "labels": {}, "annotations": {}, "for": "0s"}]},
     {"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}, True),
    ({"rules": [{"labels": {"b": "2", "a": "1"}, "expr": "up == 0\n", "alert": "A"}], "name": "g"},
     {"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "labels": {"a": "1", "b": "2"}}]}, True),
    ({"name": "g", "source_tenants": [], "limit": 0, "rules": [{"record": "r", "expr": "up"}]},
     {"name": "g", "rules": [{"record": "r", "expr": "up"}]}, True),
    ({"name": "g", "interval": "1m", "rules": [{"alert": "A", "expr": "up == 0"}]},
     {"name": "g", "interval": "2m", "rules": [{"alert": "A", "expr": "up == 0"}]}, False),
    ({"name": "g", "rules": [{"alert": "A", "expr": "x > 1"}]},
     {"name": "g", "rules": [{"alert": "A", "expr": "x > 2"}]}, False),
    ({"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "labels": {"for": "5m"}}]},
     {"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "labels": {"for": "300s"}}]}, False),
])
def test_normalising_ignores_spelling_and_empties_but_not_meaning(ours, theirs, same):
    assert (ruler.normalize_group(ours) == ruler.normalize_group(theirs)) is same


def test_the_token_never_appears_in_any_output(tmp_path, catalog):
    runs = []
    with FakeRuler(token=TOKEN, readonly_token=TOKEN + "-ro", echo_credentials=True) as fake:
        runs.append(apply(fake, catalog, "--yes"))
        edit(catalog / "web" / "service.yaml", "> 0.05", "> 0.07")
        runs.append(apply(fake, catalog, "--yes", MONCAT_RULER_TOKEN=TOKEN + "-ro"))  # 403 on the write
        runs.append(apply(fake, catalog, "--yes", MONCAT_RULER_TOKEN=TOKEN + "-wrong"))  # 401, echoed
        logs = repr(fake.requests) + repr(fake.log)
    assert [r.returncode for r in runs] == [0, 1, 1]
    assert "403" in runs[1].stderr
    assert "401: invalid authentication credentials: Bearer ***" in runs[2].stderr  # redacted echo
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for text in [r.stdout + r.stderr for r in runs] + [files, logs]:
        assert TOKEN not in text


def test_grafana_cloud_basic_auth_under_api_prom_works_and_never_shows_the_password(catalog, tmp_path):
    user, password = "123456", "glc_basic-password-SHOULD-NEVER-LEAK"
    with FakeRuler(basic=(user, password), prefix="/api/prom", echo_credentials=True) as fake:
        ok = apply(fake, catalog, "--yes", "--url", fake.url + "/api/prom", MONCAT_RULER_TOKEN="",
                   MONCAT_RULER_TENANT="", MONCAT_RULER_USER=user, MONCAT_RULER_PASSWORD=password)
        bad = apply(fake, catalog, "--yes", "--url", fake.url + "/api/prom", MONCAT_RULER_TOKEN="",
                    MONCAT_RULER_TENANT="", MONCAT_RULER_USER=user, MONCAT_RULER_PASSWORD=password + "x")
        assert ok.returncode == 0, ok.stderr
        assert server_state(fake, tenant=user) == catalog_state(catalog)
        assert fake.schema_errors == []
        logs = repr(fake.requests) + repr(fake.log)
    assert bad.returncode == 1 and "401" in bad.stderr
    secrets = [password, password + "x", base64.b64encode(f"{user}:{password}x".encode()).decode()]
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for text in (ok.stdout, ok.stderr, bad.stdout, bad.stderr, files, logs):
        assert not any(s in text for s in secrets)


SECRET_TOKEN, SECRET_PASSWORD = "s3cr3t-token-value", "pa55word-value"


@pytest.mark.parametrize("env, names", [
    ({}, "MONCAT_RULER_URL"),
    ({"MONCAT_RULER_URL": "http://127.0.0.1:9"}, "MONCAT_RULER_TENANT"),
    ({"MONCAT_RULER_URL": "ftp://ruler", "MONCAT_RULER_TENANT": "t"}, "MONCAT_RULER_URL"),
    ({"MONCAT_RULER_URL": f"http://u:{SECRET_PASSWORD}@ruler", "MONCAT_RULER_TENANT": "t"}, "MONCAT_RULER_TOKEN"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_USER": "u"}, "MONCAT_RULER_PASSWORD"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_TENANT": "t", "MONCAT_RULER_TOKEN": SECRET_TOKEN,
      "MONCAT_RULER_USER": "u", "MONCAT_RULER_PASSWORD": SECRET_PASSWORD}, "MONCAT_RULER_USER"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_TENANT": "t", "MONCAT_APPLY_BACKOFF_S": "soon"},
     "MONCAT_APPLY_BACKOFF_S"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_TENANT": "t", "MONCAT_APPLY_TIMEOUT_S": "-1"},
     "MONCAT_APPLY_TIMEOUT_S"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_TENANT": "t",
      "MONCAT_APPLY_REQUEST_DEADLINE_S": "0"}, "MONCAT_APPLY_REQUEST_DEADLINE_S"),
    # The token would cross the network in clear text.
    ({"MONCAT_RULER_URL": "http://ruler.example.net", "MONCAT_RULER_TENANT": "t",
      "MONCAT_RULER_TOKEN": SECRET_TOKEN}, "https://"),
    ({"MONCAT_RULER_URL": "https://ruler", "MONCAT_RULER_TENANT": "t",
      "MONCAT_RULER_TOKEN": SECRET_TOKEN + "\n"}, "MONCAT_RULER_TOKEN holds whitespace"),
])
def test_missing_or_contradictory_settings_name_the_variable_and_never_a_secret(env, names):
    with pytest.raises(ConfigError) as err:
        ruler.connect(env, None, None)
    assert names in str(err.value)
    assert SECRET_TOKEN not in str(err.value) and SECRET_PASSWORD not in str(err.value)


def test_missing_settings_exit_2_from_the_cli(fake, catalog):
    run = apply(fake, catalog, "--yes", MONCAT_RULER_TENANT="")
    assert run.returncode == 2
    assert "MONCAT_RULER_TENANT" in run.stderr
    assert fake.requests == []


def test_a_url_without_the_ruler_api_is_an_error_not_an_empty_ruler(fake):
    target = ruler.connect({"MONCAT_RULER_TENANT": TENANT, "MONCAT_RULER_TOKEN": TOKEN}, fake.url + "/wrong", None)
    with pytest.raises(ApiError, match="no ruler config API here"):
        target.current()
    empty = ruler.connect({"MONCAT_RULER_TENANT": TENANT, "MONCAT_RULER_TOKEN": TOKEN}, fake.url, None)
    assert empty.current() == []  # Mimir's 404 "no rule groups found" is an empty tenant


def test_group_and_namespace_names_are_percent_encoded_in_paths(fake):
    target = ruler.connect({"MONCAT_RULER_TENANT": TENANT, "MONCAT_RULER_TOKEN": TOKEN}, fake.url, None)
    group = {"name": "odd/name with spaces", "rules": [{"record": "r:x", "expr": "up"}]}
    fake.put(TENANT, "moncat-odd", group)
    [current] = target.current()
    assert current.id == "moncat-odd/odd/name with spaces" and current.owned
    target.write(Action("delete", ruler.KIND, current.id))
    assert fake.writes[-1].path == "/prometheus/config/v1/rules/moncat-odd/odd%2Fname%20with%20spaces"
    assert fake.groups(TENANT) == {}


BAD_BODIES = [
    ("application/json", b'{"name": "g", "rules": [{"record": "r", "expr": "up"}]}', "Content-Type"),
    ("application/yaml", b"name: g\nrules:\n- alert: A\n  expr: 'up =='\n", "promtool check rules"),
    ("application/yaml", b"groups:\n- name: g\n  rules: [{record: r, expr: up}]\n", "one and only one"),
    ("application/yaml", b"name: g\nrules: [{record: r, expr: up, for: 5m}]\n", "recording rule"),
    ("application/yaml", b"name: g\nrules: [{alert: A, expr: up, for: 5 minutes}]\n", "duration"),
    ("application/yaml", b"name: g\nevaluation: 1m\nrules: [{record: r, expr: up}]\n", "field evaluation"),
    ("application/yaml", b"name: g\nrules: [{alert: A, expr: up, labels: {severity: 1}}]\n", "string"),
    ("application/yaml", b"name: g\nrules: []\n", "no rules"),
    ("application/yaml", b": not yaml : [\n", "unable to decoded rule group"),
]


@pytest.mark.parametrize("content_type, body, why", BAD_BODIES)
def test_the_fake_ruler_rejects_what_is_not_one_valid_rule_group(content_type, body, why):
    with FakeRuler(token=TOKEN) as fake:
        resp = requests.post(fake.url + "/prometheus/config/v1/rules/moncat-x", data=body, timeout=10,
                             headers={"Content-Type": content_type, "X-Scope-OrgID": TENANT,
                                      "Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 400
        assert why in resp.text
        assert fake.schema_errors and why in fake.schema_errors[0]
        assert fake.groups(TENANT) == {}


@pytest.mark.parametrize("method, path, headers, status", [
    ("GET", "/prometheus/config/v1/rules", {"X-Scope-OrgID": TENANT}, 401),  # no token
    ("GET", "/prometheus/config/v1/rules", {"Authorization": f"Bearer {TOKEN}"}, 401),  # no tenant
    ("GET", "/prometheus/config/v1/rules", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 404),
    ("GET", "/prometheus/config/v1/rules/moncat-x/g", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 404),
    ("DELETE", "/prometheus/config/v1/rules/moncat-x", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 404),
    ("DELETE", "/prometheus/config/v1/rules/moncat-x/g", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 404),
    ("PUT", "/prometheus/config/v1/rules/moncat-x", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 405),
    ("GET", "/api/v1/rules", {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}, 404),
])
def test_the_fake_ruler_answers_with_the_documented_statuses(fake, method, path, headers, status):
    assert requests.request(method, fake.url + path, headers=headers, timeout=10).status_code == status


def test_the_fake_ruler_serves_one_namespace_one_group_and_deletes_a_namespace(fake):
    auth = {"X-Scope-OrgID": TENANT, "Authorization": f"Bearer {TOKEN}"}
    for name in ("a", "b"):
        fake.put(TENANT, "moncat-x", {"name": name, "interval": "90s", "rules": [{"record": "r:x", "expr": "up"}]})
    one = requests.get(fake.url + "/prometheus/config/v1/rules/moncat-x/a", headers=auth, timeout=10)
    assert one.status_code == 200 and one.headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(one.text) == {"name": "a", "interval": "1m30s", "rules": [{"record": "r:x", "expr": "up"}]}
    ns = yaml.safe_load(requests.get(fake.url + "/prometheus/config/v1/rules/moncat-x", headers=auth, timeout=10).text)
    assert [g["name"] for g in ns["moncat-x"]] == ["a", "b"]
    assert requests.delete(fake.url + "/prometheus/config/v1/rules/moncat-x", headers=auth, timeout=10).status_code == 202
    assert fake.groups(TENANT) == {}


@pytest.mark.parametrize("text, ms, printed", [
    ("60s", 60_000, "1m"), ("1m30s", 90_000, "1m30s"), ("192h", 8 * 86400_000, "8d"),
    ("2w", 14 * 86400_000, "2w"), ("90d", 90 * 86400_000, "90d"), ("1y", 365 * 86400_000, "1y"),
    ("1500ms", 1500, "1s500ms"), ("0s", 0, "0s"),
])
def test_the_fake_ruler_spells_durations_as_prometheus_does(text, ms, printed):
    assert parse_duration(text) == ms
    assert format_duration(ms) == printed


def test_answers_cut_off_are_read_again_and_a_login_page_is_a_clear_error(fake, catalog):
    # The list and one upsert are cut off mid-body (the upsert applied): both are sent again,
    # and the upsert, by group name, leaves one group.
    fake.misbehave("cut", methods={"GET"})
    fake.misbehave("commit-then-drop", methods={"POST"})
    run = apply(fake, catalog, "--yes", "--concurrency", "1")
    assert run.returncode == 0, run.stderr
    assert "applied 3, failed 0, not attempted 0 (2 retries)" in run.stdout
    assert server_state(fake) == catalog_state(catalog)
    assert [e.method for e in fake.received("POST", "DELETE")] == ["POST"] * 4
    page = b"<html><head><title>Grafana Cloud - Sign in</title></head></html>"
    fake.misbehave("answer", methods={"GET"}, body=page)
    refused = apply(fake, catalog, "--dry-run")
    assert refused.returncode == 1
    assert (f"cannot read the server: GET {fake.url}/prometheus/config/v1/rules: 200: expected the API's "
            "answer, got an HTML page titled 'Grafana Cloud - Sign in'") in refused.stderr
    # A login page answering a write is a failure, not a success.
    edit(catalog / "web" / "service.yaml", "expr: web:http_error_ratio:rate5m > 0.05",
         "expr: web:http_error_ratio:rate5m > 0.06")
    fake.misbehave("answer", methods={"POST"}, body=page)
    write = apply(fake, catalog, "--yes")
    assert write.returncode == 1
    assert "failed: update rule_group moncat-web/web.alerts: POST" in write.stderr
    assert "refused for a reason a re-run does not change" in write.stderr
    assert server_state(fake) != catalog_state(catalog)
