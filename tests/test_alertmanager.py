"""Alertmanager target: real amtool accepts the configuration and routes every alert to exactly
the receivers the catalog names; a real Alertmanager applies the inhibitions; secrets stay in
files; the routing lint and the version refusals report at their positions."""
from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, writer
from compiler.model import Severity
from compiler.diagnostics import Loc
from compiler.targets.routing.delivery import timings
from alertmanager_run import Alertmanager, wait_for
from conftest import CATALOG, run_moncat


@pytest.fixture(scope="session")
def amtool() -> str:
    path = shutil.which("amtool")
    if not path:
        pytest.fail("amtool is missing: run `bash ci/test.sh`, which installs Debian's "
                    "prometheus-alertmanager")
    return path


def _compile(catalog: Path, out: Path) -> Path:
    result = pipeline.compile_catalog(catalog)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    writer.write(out, result.files)
    return out / "alertmanager"


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Path:
    return _compile(CATALOG, tmp_path_factory.mktemp("seed") / "out")


def _route_test(amtool: str, am: Path, case: dict,
                config: str = "alertmanager.yaml") -> subprocess.CompletedProcess:
    labels = [f"{k}={v}" for k, v in sorted(case["labels"].items())]
    return subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}",
                           f"--verify.receivers={','.join(case['receivers'])}", *labels],
                          cwd=am, capture_output=True, text=True, timeout=30)


def test_amtool_check_config_accepts_the_seed_configuration(seed: Path, amtool: str) -> None:
    proc = subprocess.run([amtool, "check-config", "alertmanager.yaml"], cwd=seed,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_seed_alert_routes_to_exactly_the_receivers_the_catalog_names(seed: Path, amtool: str) -> None:
    cases = yaml.safe_load((seed / "routes.tests.yaml").read_text())["tests"]
    catalog = pipeline.analyse(CATALOG).catalog
    alerts = sorted(a.id for s in catalog.services for a in s.alerts.values())
    assert sorted(c["name"] for c in cases) == alerts
    failed = []
    for case in cases:
        assert case["receivers"], case["name"]
        proc = _route_test(amtool, seed, case)
        if proc.returncode != 0:
            failed.append(f"{case['name']}: expected {case['receivers']}, amtool: {proc.stdout.strip()}")
    assert failed == []
    # Escalations are part of what amtool verified, and some seed alerts have them.
    assert any(c.get("escalations") for c in cases)


def test_a_route_test_fails_when_a_route_stops_continuing(seed: Path, amtool: str, tmp_path: Path) -> None:
    config = yaml.safe_load((seed / "alertmanager.yaml").read_text())

    def drop(route: dict) -> None:
        route.pop("continue", None)
        for child in route.get("routes", []):
            drop(child)

    drop(config["route"])
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(config))
    cases = yaml.safe_load((seed / "routes.tests.yaml").read_text())["tests"]
    several = [c for c in cases if len(c["receivers"]) > 1]
    assert several
    assert all(_route_test(amtool, tmp_path, c, "broken.yaml").returncode == 1 for c in several)


SETTINGS = """\
version: 1
runbooks: {base_url: https://runbooks.example.test}
catch_all: platform
targets:
  alertmanager:
    version: "0.25"
severities:
  P0: {priority: 1, meaning: Down, respond_within: 5m, page: true}
  P1: {priority: 2, meaning: Pages, respond_within: 30m, page: true}
  P2: {priority: 3, meaning: Same day, respond_within: 4h}
  P3: {priority: 4, meaning: Next release}
contacts:
  oncall:
    name: On-call
    email: oncall@example.test
    pagerduty: api
    escalates_to: {P0: {to: lead, after: 15m}, P1: lead}
  lead: {name: Lead, email: lead@example.test, slack: "#lead", escalates_to: {P1: {to: cto, after: 10m}}}
  cto: {name: CTO, email: cto@example.test}
  pager: {name: Pager only, opsgenie: api-team}
  hook: {name: Hook, webhook: "https://hooks.example.test/x"}
  platform: {name: Platform, email: platform@example.test}
"""


def _alert(name: str, severity: str, notify: str = "", procedure: str = "fix") -> str:
    notify_line = f"\n    notify: [{notify}]" if notify else ""
    return f"""\
  {name}:
    expr: up == 0
    severity: {severity}{notify_line}
    summary: {name}
    procedure: {procedure}
    examples:
      fires: {{series: {{up: '0x20'}}}}
      quiet: {{series: {{up: '1x20'}}}}
"""


SERVICE = "service: api\nteam: core\nowner: hook\nalerts:\n" + "".join([
    _alert("DownPagesAndEscalatesAfter15m", "P0", "oncall"),
    _alert("PagesOnCall", "P1", "oncall"),
    _alert("MailsOnCall", "P2", "oncall"),
    _alert("NoEscalation", "P3", "oncall"),
    _alert("PagerOnlyAtP1", "P1", "pager"),
    _alert("OwnerByDefault", "P3"),
    _alert("Everyone", "P1", "lead, pager, oncall", procedure="outage"),
]) + "procedures:\n  fix: {title: Fix it}\n  outage: {title: Outage}\n"


ROUTING = [
    # Only P0 escalates after 15 minutes; P1 after its response time, then on to the CTO 10
    # minutes later (the lead's own P1 escalation); P2 and P3 do not escalate.
    ("DownPagesAndEscalatesAfter15m", ["oncall/page", "lead"], [("lead", "15m")]),
    ("PagesOnCall", ["oncall/page", "cto", "lead"], [("cto", "40m"), ("lead", "30m")]),
    ("MailsOnCall", ["oncall"], []),
    ("NoEscalation", ["oncall"], []),
    ("PagerOnlyAtP1", ["pager/page"], []),
    ("OwnerByDefault", ["hook"], []),
    # The lead is told directly, so its own escalation to the CTO starts at once.
    ("Everyone", ["lead", "oncall/page", "pager/page", "cto"], [("cto", "10m")]),
]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    (root / "catalog").mkdir()
    (root / "catalog" / "moncat.yaml").write_text(SETTINGS)
    (root / "catalog" / "api.yaml").write_text(SERVICE)
    return _compile(root / "catalog", root / "out")


@pytest.mark.parametrize("alert,receivers,escalations", ROUTING, ids=[r[0] for r in ROUTING])
def test_an_alert_reaches_its_contacts_paging_at_paging_levels_and_escalates_after_the_response_time(
        small: Path, amtool: str, alert: str, receivers: list[str], escalations: list) -> None:
    cases = {c["name"]: c for c in yaml.safe_load((small / "routes.tests.yaml").read_text())["tests"]}
    case = cases[f"api/{alert}"]
    assert case["receivers"] == receivers
    assert [(e["contact"], e["after"]) for e in case.get("escalations", [])] == escalations
    assert case["labels"]["alertname"] == alert and case["labels"]["team"] == "core"
    proc = _route_test(amtool, small, case)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_paging_receivers_carry_pagers(small: Path) -> None:
    receivers = {r["name"]: r for r in yaml.safe_load((small / "alertmanager.yaml").read_text())["receivers"]}
    assert "pagerduty_configs" in receivers["oncall/page"] and "email_configs" in receivers["oncall/page"]
    assert set(receivers["oncall"]) == {"name", "email_configs"}
    opsgenie = receivers["pager/page"]["opsgenie_configs"][0]
    assert opsgenie["responders"] == [{"name": "api-team", "type": "team"}]
    # The catch-all receives what no route matches; without one, a receiver with no integrations.
    assert yaml.safe_load((small / "alertmanager.yaml").read_text())["route"]["receiver"] == "platform"
    assert "moncat-unrouted" not in receivers and set(receivers["platform"]) == {"name", "email_configs"}


def test_without_a_catch_all_unknown_alerts_reach_a_receiver_with_no_integrations(seed: Path) -> None:
    config = yaml.safe_load((seed / "alertmanager.yaml").read_text())
    assert config["route"]["receiver"] == "moncat-unrouted"
    assert {"name": "moncat-unrouted"} in config["receivers"]


def _render(amtool: str, template: str, labels: dict[str, str], tmp_path: Path) -> str:
    """What Alertmanager's template engine makes of `template` for a group with these labels."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"receiver": "x", "status": "firing", "alerts": [
        {"status": "firing", "labels": labels, "annotations": {}}],
        "groupLabels": {}, "commonLabels": labels, "commonAnnotations": {}, "externalURL": ""}))
    (tmp_path / "none.tmpl").write_text("")
    proc = subprocess.run([amtool, "template", "render", f"--template.glob={tmp_path / 'none.tmpl'}",
                           f"--template.text={template}", f"--template.data={data}"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("level,pagerduty,opsgenie", [
    ("P0", "critical", "P1"), ("P1", "error", "P2"), ("P7", "error", "P3")])
def test_pagers_send_the_catalog_severity_as_pagerduty_severity_and_opsgenie_priority(
        small: Path, amtool: str, tmp_path: Path, level: str, pagerduty: str, opsgenie: str) -> None:
    receivers = {r["name"]: r for r in yaml.safe_load((small / "alertmanager.yaml").read_text())["receivers"]}
    labels = {"alertname": "X", "service": "api", "severity": level}
    severity = receivers["oncall/page"]["pagerduty_configs"][0]["severity"]
    priority = receivers["pager/page"]["opsgenie_configs"][0]["priority"]
    assert _render(amtool, severity, labels, tmp_path) == pagerduty
    assert _render(amtool, priority, labels, tmp_path) == opsgenie


SECRET_KEYS = {"api_url", "slack_api_url", "routing_key", "service_key", "api_key", "opsgenie_api_key",
               "auth_password", "smtp_auth_password", "auth_secret", "password"}


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key, value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


@pytest.mark.parametrize("which", ["seed", "small"])
def test_secrets_are_read_from_files_in_the_secrets_directory_and_never_written(
        which: str, request: pytest.FixtureRequest) -> None:
    am = request.getfixturevalue(which)
    config = yaml.safe_load((am / "alertmanager.yaml").read_text())
    found = [(p, v) for p, key, v in _walk(config) if key.endswith("_file")]
    assert found, "no secret file referenced"
    assert not [p for p, key, _ in _walk(config) if key in SECRET_KEYS]
    for path, value in found:
        assert value.startswith("/etc/alertmanager/secrets/"), path
    kinds = {key for _, key, _ in _walk(config) if key.endswith("_file")}
    assert {"api_url_file", "routing_key_file"} <= kinds or {"api_url_file", "api_key_file"} <= kinds


def test_a_secret_webhook_url_is_read_from_a_file_and_shown_nowhere(tmp_path: Path) -> None:
    settings = SETTINGS.replace('"0.25"', '"0.26"').replace(
        'webhook: "https://hooks.example.test/x"}', "webhook: {secret: true}}")
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "moncat.yaml").write_text(settings)
    (tmp_path / "catalog" / "api.yaml").write_text(SERVICE)
    am = _compile(tmp_path / "catalog", tmp_path / "out")
    receivers = {r["name"]: r for r in yaml.safe_load((am / "alertmanager.yaml").read_text())["receivers"]}
    assert receivers["hook"]["webhook_configs"] == [
        {"url_file": "/etc/alertmanager/secrets/hook.webhook-url", "send_resolved": True}]
    points = (tmp_path / "out" / "grafana" / "alerting" / "_contact-points.yaml").read_text()
    assert "url: '${MONCAT_WEBHOOK_URL_HOOK}'" in points
    contacts = (tmp_path / "out" / "runbooks" / "contacts.md").read_text()
    assert "Webhook (URL kept secret)" in contacts


def test_a_webhook_url_with_a_credential_is_refused_without_printing_it(tmp_path: Path) -> None:
    token = "xoxb-T0000-B0000-SeCrEtToKeN"
    (tmp_path / "moncat.yaml").write_text(LINT_SETTINGS.replace(
        "oncall@example.test}", f'oncall@example.test, webhook: "https://hooks.slack.com/services/{token}"}}'))
    (tmp_path / "api.yaml").write_text(LINT_SERVICE)
    for fmt in ("text", "json", "github", "sarif"):
        proc = run_moncat("validate", str(tmp_path), "--format", fmt)
        assert proc.returncode == 1 and "MC464" in proc.stdout + proc.stderr, fmt
        assert "SeCrEtToKeN" not in proc.stdout + proc.stderr, fmt


def test_the_seed_smtp_login_reads_its_password_from_a_file(seed: Path) -> None:
    glob = yaml.safe_load((seed / "alertmanager.yaml").read_text())["global"]
    assert glob["smtp_auth_username"] == "alertmanager"
    assert glob["smtp_auth_password_file"] == "/etc/alertmanager/secrets/smtp-auth-password"


def _sev(respond: int | None, page: bool = False) -> Severity:
    return Severity("P", 1, "m", respond, "", page, False, Loc("x"))


@pytest.mark.parametrize("respond_ms,expected", [
    (5 * 60_000, {"group_wait": 30_000, "group_interval": 60_000, "repeat_interval": 3_600_000}),
    (30 * 60_000, {"group_wait": 180_000, "group_interval": 360_000, "repeat_interval": 7_200_000}),
    (4 * 3_600_000, {"group_wait": 300_000, "group_interval": 2_880_000, "repeat_interval": 57_600_000}),
    (24 * 3_600_000, {"group_wait": 300_000, "group_interval": 3_600_000, "repeat_interval": 86_400_000}),
    (20_000, {"group_wait": 10_000, "group_interval": 60_000, "repeat_interval": 3_600_000}),
    (None, {}),
])
def test_response_times_set_first_notice_update_and_reminder_intervals(respond_ms, expected) -> None:
    assert timings(_sev(respond_ms)) == expected


@pytest.mark.parametrize("respond_ms,group_wait", [(5 * 60_000, 30_000), (30 * 60_000, 30_000),
                                                   (4 * 3_600_000, 30_000), (60_000, 10_000)])
def test_the_first_page_is_never_held_back_longer_than_alertmanagers_default(respond_ms, group_wait) -> None:
    assert timings(_sev(respond_ms, page=True))["group_wait"] == group_wait
    assert timings(_sev(respond_ms, page=True))["repeat_interval"] == timings(_sev(respond_ms))["repeat_interval"]


# --- inhibition in a real Alertmanager ---------------------------------------------------------

def test_a_p0_silences_the_p1_of_the_same_cause_in_a_real_alertmanager(seed: Path, tmp_path: Path) -> None:
    am = Alertmanager(yaml.safe_load((seed / "alertmanager.yaml").read_text()), tmp_path)
    try:
        labels = {"service": "agentbar", "team": "agentbar"}
        am.post([
            {"labels": {**labels, "alertname": "PaymentTotalFailure", "severity": "P0"}},
            {"labels": {**labels, "alertname": "PaymentConversionDrop", "severity": "P1"}},
            {"labels": {**labels, "alertname": "WebhookProcessingError", "severity": "P1"}},
        ])

        def by_name() -> dict:
            return {a["labels"]["alertname"]: a for a in am.alerts()}

        wait_for(lambda: by_name().get("PaymentConversionDrop", {}).get("status", {}).get("inhibitedBy"))
        alerts = by_name()
        source = alerts["PaymentTotalFailure"]["fingerprint"]
        assert alerts["PaymentConversionDrop"]["status"]["inhibitedBy"] == [source]
        assert alerts["PaymentConversionDrop"]["status"]["state"] == "suppressed"
        assert alerts["WebhookProcessingError"]["status"]["inhibitedBy"] == []
        assert alerts["PaymentTotalFailure"]["status"]["state"] == "active"
    finally:
        am.stop()


# --- the routing lint and the version refusals -------------------------------------------------

def _position(text: str, needle: str, file: str, key: bool = False) -> str:
    """file:line:column of `needle` in `text` (its first character)."""
    index = text.index(needle)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{file}:{line}:{column}"


LINT_SERVICE = ("service: api\nalerts:\n" + _alert("Down", "P2", "oncall")
                + "procedures:\n  fix: {title: Fix it}\n")
LINT_SETTINGS = textwrap.dedent("""\
    version: 1
    runbooks: {base_url: https://runbooks.example.test}
    targets:
      alertmanager:
        version: "0.25"
    severities:
      P2: {priority: 2, meaning: Same day, respond_within: 4h}
      P3: {priority: 3, meaning: Next release}
    contacts:
      oncall: {name: On-call, email: oncall@example.test}
    """)


ESCALATES = "oncall@example.test, escalates_to: {P2: lead}}\n  lead: {name: Lead, email: l@example.test}"
PLAIN_ESCALATION = "oncall@example.test, escalates_to: lead}\n  lead: {name: Lead, email: l@example.test}"
CYCLE = ("oncall@example.test, escalates_to: {P2: lead}}\n"
         "  lead: {name: Lead, email: l@example.test, escalates_to: {P2: {to: oncall, after: 1h}}}")
PAGES = LINT_SETTINGS.replace("P2: {priority: 2, meaning: Same day, respond_within: 4h}",
                              "P2: {priority: 2, meaning: Pages, respond_within: 30m, page: true}")


def _contact(line: str) -> tuple[str, str]:
    return LINT_SETTINGS.replace("contacts:\n", "contacts:\n  " + line + "\n"), LINT_SERVICE


LINT = [
    # (case, settings, service, code, where: (file, needle) or None)
    ("contact-no-alert-reaches", *_contact("spare: {name: Spare, email: spare@example.test}"),
     "MC463", ("moncat.yaml", "spare:")),
    ("escalation-target-is-reached", LINT_SETTINGS.replace(
        "oncall@example.test}", ESCALATES),
     LINT_SERVICE, None, None),
    ("escalation-at-another-level-reaches-nobody", LINT_SETTINGS.replace(
        "oncall@example.test}", ESCALATES),
     LINT_SERVICE.replace("severity: P2", "severity: P3"), "MC463", ("moncat.yaml", "lead:")),
    ("a-plain-escalation-applies-at-paging-levels-only", LINT_SETTINGS.replace(
        "oncall@example.test}", PLAIN_ESCALATION), LINT_SERVICE, "MC463", ("moncat.yaml", "lead:")),
    ("escalation-cycle", LINT_SETTINGS.replace("oncall@example.test}", CYCLE), LINT_SERVICE,
     "MC465", ("moncat.yaml", "oncall, after")),
    ("escalation-to-oneself", LINT_SETTINGS.replace(
        "oncall@example.test}", "oncall@example.test, escalates_to: {P2: oncall}}"), LINT_SERVICE,
     "MC465", ("moncat.yaml", "oncall}}")),
    ("escalation-at-an-unknown-level", LINT_SETTINGS.replace(
        "oncall@example.test}", "oncall@example.test, escalates_to: {P9: oncall}}"), LINT_SERVICE,
     "MC466", ("moncat.yaml", "oncall}}")),
    ("escalation-without-a-delay", LINT_SETTINGS.replace(
        "oncall@example.test}", ESCALATES.replace("{P2: lead}", "{P3: lead, P2: lead}")), LINT_SERVICE,
     "MC466", ("moncat.yaml", "lead, P2")),
    ("the-first-page-waits-for-the-escalation", PAGES.replace(
        "oncall@example.test}", "oncall@example.test, escalates_to: pd}\n"
        "  pd: {name: PD, pagerduty: api}"), LINT_SERVICE, "MC467", ("api.yaml", "[oncall]")),
    ("a-quiet-level-never-reaches-a-pager-only-contact", LINT_SETTINGS.replace(
        "oncall: {name: On-call, email: oncall@example.test}", "pd: {name: PD, pagerduty: api}"),
     LINT_SERVICE.replace("[oncall]", "[pd]"), "MC462", ("api.yaml", "[pd]")),
    ("catch-all-with-only-a-pager", LINT_SETTINGS.replace(
        "contacts:\n", "catch_all: pd\ncontacts:\n  pd: {name: PD, pagerduty: api}\n"),
     LINT_SERVICE, "MC469", ("moncat.yaml", "pd\n")),
    ("catch-all-is-reached", LINT_SETTINGS.replace(
        "contacts:\n", "catch_all: ops\ncontacts:\n  ops: {name: Ops, email: ops@example.test}\n"),
     LINT_SERVICE, None, None),
    ("unknown-catch-all", LINT_SETTINGS.replace("contacts:\n", "catch_all: opz\ncontacts:\n"),
     LINT_SERVICE, "MC202", ("moncat.yaml", "opz")),
    ("slack-webhook-url-is-a-credential", LINT_SETTINGS.replace(
        "oncall@example.test}", 'oncall@example.test, webhook: "https://hooks.slack.com/services/T0/B0/XyZ"}'),
     LINT_SERVICE, "MC464", ("moncat.yaml", '"https://hooks.slack')),
    ("token-in-a-webhook-query-is-a-credential", LINT_SETTINGS.replace(
        "oncall@example.test}", 'oncall@example.test, webhook: "https://h.example.test/x?api_key=abc"}'),
     LINT_SERVICE, "MC464", ("moncat.yaml", '"https://h.example')),
    ("secret-webhook-needs-alertmanager-0.26", LINT_SETTINGS.replace(
        "oncall@example.test}", "oncall@example.test, webhook: {secret: true}}"),
     LINT_SERVICE, "MC461", ("moncat.yaml", "{secret")),
    ("matchers-need-alertmanager-0.22", LINT_SETTINGS.replace('"0.25"', '"0.21"'), LINT_SERVICE,
     "MC460", ("moncat.yaml", '"0.21"')),
    ("pagerduty-key-file-needs-0.25", LINT_SETTINGS.replace('"0.25"', '"0.24"').replace(
        "oncall@example.test}", "oncall@example.test, pagerduty: api}"), LINT_SERVICE,
     "MC461", ("moncat.yaml", "oncall:")),
    ("smtp-password-file-needs-0.25", LINT_SETTINGS.replace(
        '"0.25"\n', '"0.24"\n    smtp: {smarthost: "mail.example.test:587", auth_username: am}\n'),
     LINT_SERVICE, "MC461", ("moncat.yaml", "am}")),
    ("version-0.24-without-pagers-or-login-is-fine", LINT_SETTINGS.replace('"0.25"', '"0.24"'),
     LINT_SERVICE, None, None),
]


@pytest.mark.parametrize("case,settings,service,code,where", LINT, ids=[c[0] for c in LINT])
def test_the_routing_lint_and_version_refusals_report_at_their_position(
        tmp_path: Path, case: str, settings: str, service: str, code: str | None, where) -> None:
    (tmp_path / "moncat.yaml").write_text(settings)
    (tmp_path / "api.yaml").write_text(service)
    diags = pipeline.analyse(tmp_path).report.sorted()
    if code is None:
        assert diags == []
        return
    assert [d.code for d in diags] == [code], [str(d) for d in diags]
    file, needle = where
    text = settings if file == "moncat.yaml" else service
    assert str(diags[0].loc) == _position(text, needle, file)


def test_a_quiet_alert_of_a_pager_only_owner_is_told_how_to_reach_someone(tmp_path: Path) -> None:
    # The service has an owner, its on-call with only PagerDuty: the hint must not ask for one.
    settings = LINT_SETTINGS.replace("oncall: {name: On-call, email: oncall@example.test}",
                                     "pd: {name: PD, pagerduty: api}")
    service = ("service: api\nowner: pd\nalerts:\n" + _alert("Down", "P2")
               + "procedures:\n  fix: {title: Fix it}\n")
    (tmp_path / "moncat.yaml").write_text(settings)
    (tmp_path / "api.yaml").write_text(service)
    diags = pipeline.analyse(tmp_path).report.sorted()
    assert [(d.code, str(d.loc)) for d in diags] == [("MC462", _position(service, "Down:", "api.yaml"))], \
        [str(d) for d in diags]
    assert "owner" not in diags[0].hint
    assert "email, Slack or a webhook to `notify:`" in diags[0].hint and "'pd'" in diags[0].hint


def test_an_alert_whose_team_label_leads_past_every_route_reaches_no_receiver(tmp_path: Path) -> None:
    # A service without a team may label an alert with another team's name: Alertmanager then
    # enters that team's route, which has no route for this service.
    service = LINT_SERVICE.replace("    severity: P2\n", "    severity: P2\n    labels: {team: payments}\n")
    (tmp_path / "moncat.yaml").write_text(LINT_SETTINGS)
    (tmp_path / "api.yaml").write_text(service)
    (tmp_path / "pay.yaml").write_text("service: pay\nteam: payments\nowner: oncall\n")
    diags = pipeline.analyse(tmp_path).report.sorted()
    assert [(d.code, str(d.loc)) for d in diags] == [("MC462", _position(service, "[oncall]", "api.yaml"))]
    assert "no route of the generated configuration matches it" in diags[0].message


def test_the_cli_fails_validation_on_a_contact_no_alert_reaches(tmp_path: Path) -> None:
    (tmp_path / "moncat.yaml").write_text(LINT_SETTINGS.replace(
        "contacts:\n", "contacts:\n  spare: {name: Spare, email: spare@example.test}\n"))
    (tmp_path / "api.yaml").write_text(LINT_SERVICE)
    proc = run_moncat("validate", str(tmp_path))
    assert proc.returncode == 1
    assert "MC463" in proc.stderr and "no alert reaches contact 'spare'" in proc.stderr


def test_moncat_diff_names_a_changed_route_and_a_changed_receiver(tmp_path: Path) -> None:
    out = tmp_path / "before"
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "moncat.yaml").write_text(SETTINGS)
    (tmp_path / "catalog" / "api.yaml").write_text(SERVICE)
    assert run_moncat("compile", str(tmp_path / "catalog"), "--out", str(out)).returncode == 0
    (tmp_path / "catalog" / "moncat.yaml").write_text(SETTINGS.replace("lead@example.test", "lead@corp.test"))
    (tmp_path / "catalog" / "api.yaml").write_text(SERVICE.replace("notify: [pager]", "notify: [hook]"))
    proc = run_moncat("diff", str(tmp_path / "catalog"), "--against", str(out))
    assert proc.returncode == 1, proc.stderr
    # (Grafana's contact points and policies say the same in their own files.)
    assert [line for line in proc.stdout.splitlines() if not line.startswith("file grafana/")] == [
        "route api/PagerOnlyAtP1: receivers pager/page -> hook",
        "receiver lead: email_configs[0].to",
    ]
