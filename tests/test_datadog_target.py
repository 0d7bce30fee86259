"""The Datadog target on the seed catalog and on small catalogs: every monitor and dashboard is a
valid API payload (the official OpenAPI schemas and the datadog-api-client models), every
monitor query passes our own grammar check with its threshold equal to `critical`, and what
cannot be translated is an error at the alert."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from datadog_api_client import Configuration
from datadog_api_client.model_utils import validate_and_convert_types
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor

from compiler import pipeline
from compiler.slos import slo_of
from compiler.targets.datadog import querycheck
from conftest import CATALOG, compile_clean, run_moncat
from datadog_schemas import write_validators



@pytest.fixture(scope="module")
def seed():
    return compile_clean(CATALOG)


@pytest.fixture(scope="module")
def validators():
    """OpenAPI 3.0 request-body validators for the Monitor and Dashboard schemas."""
    return write_validators("Monitor", "Dashboard")


def _payloads(result, kind: str, burn: bool = False) -> dict[str, dict]:
    """The payloads of one kind; monitors without the SLOs' burn-rate monitors unless `burn`
    (those have their own tests: tests/test_slo_datadog.py)."""
    found = {p: json.loads(b) for p, b in result.files.items() if p.startswith(f"datadog/{kind}/")}
    return {p: b for p, b in found.items() if burn or b.get("type") != "slo alert"}


def _alert_of(seed, path: str):
    """The alert a monitor file belongs to (a composite's components are `<alert>.<x>.json`)."""
    sid, name = path.split("/")[-2], path.split("/")[-1][:-5].split(".")[0]
    service = seed.catalog.service(sid)
    return service, service.alerts[name]


def test_every_seed_alert_has_a_monitor_translated_or_overridden(seed) -> None:
    alerts = [a for s in seed.catalog.services for a in s.alerts.values() if slo_of(s, a) is None]
    monitors = _payloads(seed, "monitors")
    compiled = [a for a in alerts if a.compiled_for("datadog")]
    left_out = [a for a in alerts if not a.compiled_for("datadog")]
    assert {f"datadog/monitors/{a.service}/{a.name}.json" for a in compiled} == \
        {p for p in monitors if p.count(".") == 1}
    overridden = [a for a in compiled if a.datadog and a.datadog.query]
    translated = [a for a in compiled if not (a.datadog and a.datadog.query)]
    assert all(a.datadog.reason.strip() for a in overridden + left_out)
    for a in overridden:
        assert monitors[f"datadog/monitors/{a.service}/{a.name}.json"]["query"] == a.datadog.query
    print(f"\nseed alerts: {len(translated)} translated, {len(overridden)} overridden, "
          f"{len(left_out)} left out of Datadog with their reason")
    assert len(translated) >= 28 and len(translated) + len(overridden) + len(left_out) == 39


def test_monitors_and_dashboards_validate_against_the_official_schemas(seed, validators) -> None:
    checked = 0
    for kind, schema in (("monitors", "Monitor"), ("dashboards", "Dashboard")):
        for path, body in _payloads(seed, kind, burn=True).items():
            errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
                      for e in validators[schema].iter_errors(body)]
            assert not errors, (path, errors)
            checked += 1
    # The alerts' monitors, the SLOs' burn-rate monitors, the dashboards.
    assert checked == len(_payloads(seed, "monitors", burn=True)) + 11


def test_the_schemas_catch_a_wrong_payload(validators) -> None:
    assert list(validators["Monitor"].iter_errors({"name": "x", "type": "query alert", "query": "q",
                                                    "options": {"thresholds": {"critical": "high"}}}))
    widget = {"definition": {"type": "timeseries", "requests": [{"display_type": "wiggly"}]}}
    assert list(validators["Dashboard"].iter_errors({"title": "t", "layout_type": "ordered",
                                                      "widgets": [widget]}))


def test_monitors_and_dashboards_deserialise_into_the_client_models(seed) -> None:
    config = Configuration()
    for kind, model in (("monitors", Monitor), ("dashboards", Dashboard)):
        for path, body in _payloads(seed, kind).items():
            obj = validate_and_convert_types(body, (model,), ["body"], True, True, config)
            # A part the models cannot read becomes an UnparsedObject instead of an error.
            assert isinstance(obj, model) and not obj._unparsed, path


def test_every_monitor_passes_the_query_check_with_critical_equal_to_the_query(seed) -> None:
    monitors = _payloads(seed, "monitors")
    ids = {m for b in monitors.values() for m in re.findall(r"\$\{([^}]+)\}", b["query"])}
    for path, body in monitors.items():
        assert querycheck.check_monitor(body, ids) == [], path
        if body["type"] == "composite":
            continue
        parsed = querycheck.parse(body["query"])
        assert body["options"]["thresholds"]["critical"] == parsed.threshold, path
        assert body["query"].endswith(f" {parsed.op} {body['options']['thresholds']['critical']}")


def test_monitors_carry_priority_tags_and_a_message_with_runbook_and_handles(seed) -> None:
    catalog = seed.catalog
    for path, body in _payloads(seed, "monitors").items():
        service, alert = _alert_of(seed, path)
        sid, name = service.id, alert.name
        severity = service.severity(alert.severity, catalog.severities)
        moncat_id = f"{alert.id}{path[:-5][len(f'datadog/monitors/{sid}/{name}'):]}".lower()
        assert body["type"] in ("query alert", "composite") and body["priority"] == severity.priority
        assert {"managed-by:moncat", f"moncat-id:{moncat_id}", f"service:{sid}",
                f"severity:{alert.severity.lower()}"} <= set(body["tags"])
        message = body["message"]
        if moncat_id != alert.id.lower():
            # A composite's component notifies nobody: the composite does.
            assert "@" not in message and "composite monitor" in message
            continue
        for block in ("{{#is_alert}}", "{{/is_alert}}", "{{#is_recovery}}", "{{/is_recovery}}"):
            assert block in message
        assert f"https://runbooks.example.com/{sid}/alerts/{name}.html" in message
        assert "$labels" not in message and "$labels" not in body["name"]
        handles = re.findall(r"(?<!\S)@\S+", message)
        assert handles, path
        paging = any(h.startswith(("@pagerduty-", "@opsgenie-")) for h in handles)
        assert not paging or severity.page, path


def test_paging_severities_reach_pagerduty_and_opsgenie_others_do_not(seed) -> None:
    monitors = _payloads(seed, "monitors")
    page = monitors["datadog/monitors/store/StoreHigh5xxRate.json"]["message"]    # P1, pages
    ticket = monitors["datadog/monitors/store/StoreCeleryBacklog.json"]["message"]  # P2
    assert "@pagerduty-store-oncall" in page and "@opsgenie-store-oncall" in page
    assert "@oncall@store.example.com" in page and "@oncall@store.example.com" in ticket
    assert "@pagerduty-" not in ticket and "@opsgenie-" not in ticket


def test_absent_becomes_no_data_alerting(seed) -> None:
    body = _payloads(seed, "monitors")["datadog/monitors/agentbar/SchedulerDown.json"]
    assert body["options"]["notify_no_data"] is True and body["options"]["no_data_timeframe"] == 7
    assert "{{#is_no_data}}" in body["message"]
    other = _payloads(seed, "monitors")["datadog/monitors/shop/ShopStuckPaidOrders.json"]
    assert other["options"]["notify_no_data"] is False and "no_data_timeframe" not in other["options"]


def test_label_templates_become_datadog_group_variables(seed) -> None:
    body = _payloads(seed, "monitors")["datadog/monitors/agentbar/JobTimeout.json"]
    assert body["name"] == "[agentbar] Job timeout pada task {{task.name}}"
    assert "by {task}" in body["query"]


def test_dashboards_keep_rows_in_order_with_formulas_and_threshold_markers(seed) -> None:
    catalog = seed.catalog
    dashboards = _payloads(seed, "dashboards")
    # An SLO dashboard stays in Grafana: Datadog shows an SLO on its SLO object.
    assert len(dashboards) == sum(len(s.dashboards) - bool(s.slos) for s in catalog.services)
    shop = dashboards["datadog/dashboards/shop/shop-overview.json"]
    source = catalog.service("shop").dashboards["shop-overview"]
    assert shop["layout_type"] == "ordered" and shop["tags"] == ["team:shop"]
    assert [g["definition"]["title"] for g in shop["widgets"]] == [r.title for r in source.rows]
    widgets = {w["definition"].get("title"): w["definition"] for g in shop["widgets"]
               for w in g["definition"]["widgets"]}
    ratio = widgets["Webhook failure ratio (error / received)"]
    assert ratio["requests"][0]["formulas"] == [{"alias": "failed / received", "formula": "q1 / q2"}]
    assert ratio["markers"] == [{"display_type": "error dashed", "label": "ShopWebhookFailureRatioHigh (> 0.02)",
                                 "value": "y = 0.02"}]
    # sum(rate(x[$__rate_interval])) * 600 plots the alert's increase over 10m > 20 at 20.
    retries = widgets["webhook_retries_total (webhook_events_total{status=\"retry\"})"]
    assert retries["markers"][0]["value"] == "y = 20"


def test_markers_name_only_alerts_compiled_for_datadog_on_every_panel_of_a_service(seed) -> None:
    # Which of a service's alerts go to Datadog is worked out once per service; a panel naming
    # an alert left out of Datadog (a `targets:` list without it) draws no marker for it.
    catalog = seed.catalog
    named, marked = set(), set()
    for path, body in _payloads(seed, "dashboards").items():
        service = catalog.service(path.split("/")[2])
        for group in body["widgets"]:
            for widget in group["definition"]["widgets"]:
                for marker in widget["definition"].get("markers", []):
                    name = marker["label"].split(" (")[0]
                    assert service.alerts[name].compiled_for("datadog"), (path, name)
                    marked.add((service.id, name))
        for dash in service.dashboards.values():
            named |= {(service.id, n) for row in dash.rows for panel in row.panels
                      for n in panel.alerts if panel.type == "timeseries"}
    left_out = {(sid, n) for sid, n in named if not catalog.service(sid).alerts[n].compiled_for("datadog")}
    assert marked and left_out and not marked & left_out


def test_panels_without_an_exact_form_say_so_in_a_note(seed) -> None:
    shop = _payloads(seed, "dashboards")["datadog/dashboards/shop/shop-overview.json"]
    notes = [w["definition"]["content"] for g in shop["widgets"] for w in g["definition"]["widgets"]
             if w["definition"]["type"] == "note"]
    assert any("Successful refunds vs 3x baseline" in n and "no exact Datadog form" in n for n in notes)
    # A regex on a label with declared values is an exact list: the store's 5xx panel has one.
    store = json.dumps(_payloads(seed, "dashboards")["datadog/dashboards/store/store.json"])
    assert "status IN (500,502,503,504)" in store
    infos = [d for d in seed.report.sorted() if d.code == "MC705"]
    assert infos and all(str(d.severity) == "info" for d in infos)


def test_the_manifest_lists_every_datadog_object_with_its_source(seed) -> None:
    manifest = json.loads(seed.files["manifest.json"])
    objects = [o for o in manifest["objects"] if o["target"] == "datadog"]
    assert {o["path"] for o in objects} == {p for p in seed.files if p.startswith("datadog/")}
    # downtime: the busy hours of agentbar's WebhookNotReceived
    assert {o["kind"] for o in objects} == {"monitor", "dashboard", "slo", "downtime"}
    assert all(re.fullmatch(r"[\w./-]+:\d+:\d+", o["source"]) for o in objects)


# --- small catalogs: what the user sees through the CLI ----------------------------------------
SETTINGS = """version: 1
runbooks: {base_url: https://runbooks.example.test}
targets:
  prometheus: {version: "2.42"}
  datadog: {namespace: app%s}
severities:
  page: {priority: 1, meaning: Wake someone up, page: true}
contacts:
  oncall: {name: On-call, email: oncall@example.test, pagerduty: app-oncall}
"""
SERVICE = """service: app
owner: oncall
metrics:
  jobs_total: {type: counter, help: Jobs run.}
  queue_depth: {type: gauge, help: Waiting jobs., labels: [queue]}
alerts:
  QueueDeep:
    expr: max(queue_depth) > 10
    severity: page
    summary: Queue deep
    procedure: queue
%s
    examples:
      fires: {series: {'queue_depth{queue="a"}': 20x30}}
      quiet: {series: {'queue_depth{queue="a"}': 1x30}}
procedures:
  queue: {title: Queue, recovery: [Drain it.]}
"""


def _catalog(tmp_path: Path, extra: str = "", settings: str = "") -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "moncat.yaml").write_text(SETTINGS % settings)
    (root / "app.yaml").write_text(SERVICE % extra)
    return root


def _diagnostics(root: Path, *cmd: str) -> tuple[int, list[dict]]:
    proc = run_moncat(*cmd, str(root), "--format", "json", *(["--out", str(root.parent / "out")]
                                                            if cmd == ("compile",) else []))
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout or "[]")


def test_an_untranslatable_alert_is_an_error_at_its_construct(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    # The `and` itself has a form (a composite monitor); the clock in its right side has none.
    text = (root / "app.yaml").read_text().replace("max(queue_depth) > 10",
                                                   "max(queue_depth) > 10 and on () hour() >= 8")
    (root / "app.yaml").write_text(text)
    code, diags = _diagnostics(root, "validate")
    found = [d for d in diags if d["code"] == "MC701"]
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "expr:" in l)
    column = text.splitlines()[line - 1].index("hour") + 1
    assert code == 1 and [(d["line"], d["column"], d["severity"]) for d in found] == [(line, column, "error")]
    assert "hour()" in found[0]["message"] and "datadog:" in found[0]["hint"] and "targets:" in found[0]["hint"]


def test_a_for_on_a_window_condition_suggests_the_query_without_it(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "    for: 5m")
    text = (root / "app.yaml").read_text().replace("max(queue_depth) > 10", "sum(increase(jobs_total[10m])) > 10")
    (root / "app.yaml").write_text(text)
    code, diags = _diagnostics(root, "validate")
    (found,) = [d for d in diags if d["code"] == "MC701"]
    assert code == 1 and found["line"] == text.splitlines().index("    for: 5m") + 1
    assert "sum(last_10m):sum:app.jobs.count{*}.as_count() > 10" in found["hint"]


def test_targets_without_datadog_leave_the_alert_out(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "    targets: [prometheus]")
    text = (root / "app.yaml").read_text().replace("max(queue_depth) > 10", "max(queue_depth) > 10 unless max(queue_depth) > 99")
    (root / "app.yaml").write_text(text)
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), result.report.sorted()
    assert not [p for p in result.files if p.startswith("datadog/monitors/")]
    assert any(p.startswith("prometheus/") for p in result.files)


def test_an_override_replaces_the_query_and_is_checked(tmp_path: Path) -> None:
    good = '    datadog: {query: "min(last_5m):max:app.queue_depth{*} > 12", reason: Reviewed., warning: 8}'
    result = pipeline.compile_catalog(_catalog(tmp_path, good))
    body = json.loads(result.files["datadog/monitors/app/QueueDeep.json"])
    assert body["query"] == "min(last_5m):max:app.queue_depth{*} > 12"
    assert body["options"]["thresholds"] == {"critical": 12, "warning": 8}
    assert "@pagerduty-app-oncall" in body["message"] and "{{#is_warning}}" in body["message"]


@pytest.mark.parametrize("extra,code,field", [
    ('    datadog: {query: "avg(last_5m):count:app.queue_depth{*} > 1", reason: Why.}', "MC702", "query"),
    ('    datadog: {query: "avg(last_2w):max:app.queue_depth{*} > 1", reason: Why.}', "MC702", "query"),
    ("    datadog: {warning: 20}", "MC703", "warning"),
    ('    datadog: {query: "avg(last_5m):max:app.queue_depth{*} < 1", reason: Why., warning: 0.5}', "MC703", "warning"),
])
def test_bad_datadog_settings_of_an_alert_are_errors_at_the_field(tmp_path, extra, code, field) -> None:
    root = _catalog(tmp_path, extra)
    status, diags = _diagnostics(root, "validate")
    (found,) = [d for d in diags if d["code"] == code]
    line = next(i for i, l in enumerate((root / "app.yaml").read_text().splitlines(), 1) if "datadog:" in l)
    assert status == 1 and found["line"] == line and found["severity"] == "error"
    assert found["column"] == (root / "app.yaml").read_text().splitlines()[line - 1].index(f"{field}:") + len(field) + 3


def test_a_query_without_its_reason_is_refused_by_the_schema(tmp_path: Path) -> None:
    root = _catalog(tmp_path, '    datadog: {query: "min(last_5m):max:app.queue_depth{*} > 12"}')
    status, diags = _diagnostics(root, "validate")
    assert status == 1 and any("reason" in d["message"] for d in diags)


@pytest.mark.parametrize("settings,message", [
    (", evaluation_delay: 1500ms", "whole number of seconds"),
    (", renotify_interval: 90s", "whole number of minutes"),
])
def test_datadog_settings_in_other_units_than_datadogs_are_errors(tmp_path, settings, message) -> None:
    status, diags = _diagnostics(_catalog(tmp_path, settings=settings), "validate")
    (found,) = [d for d in diags if d["code"] == "MC706"]
    assert status == 1 and message in found["message"] and found["file"] == "moncat.yaml"


def test_datadog_settings_of_an_alert_left_out_of_datadog_are_a_warning(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "    targets: [prometheus]\n    datadog: {warning: 5}")
    status, diags = _diagnostics(root, "validate")
    assert status == 0 and [d["code"] for d in diags] == ["MC707"]


def test_without_targets_datadog_nothing_is_generated_for_datadog(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    text = (root / "moncat.yaml").read_text().replace("  datadog: {namespace: app}\n", "")
    (root / "moncat.yaml").write_text(text)
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors() and not [p for p in result.files if p.startswith("datadog/")]


def test_a_datadog_only_alert_has_a_monitor_and_no_prometheus_rule(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    text = (root / "app.yaml").read_text().replace("procedures:\n", """  QueueDeepInDatadog:
    expr: max(queue_depth) > 10
    severity: page
    summary: Queue deep, seen by Datadog's own check
    procedure: queue
    targets: [datadog]
    datadog: {query: "max(last_5m):max:app.queue_depth{queue:a} > 10", reason: Only Datadog sees queue a.}
procedures:
""")
    (root / "app.yaml").write_text(text)
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), result.report.sorted()
    assert "datadog/monitors/app/QueueDeepInDatadog.json" in result.files
    rules = result.files["prometheus/app.rules.yaml"].decode()
    assert "QueueDeep\n" in rules + "\n" and "QueueDeepInDatadog" not in rules


def test_annotations_datadog_cannot_print_are_warnings_at_their_template(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "    description: 'Queue {{ $labels.queue }} holds {{ humanize $value }} jobs'\n"
                              '    datadog: {query: "min(last_1m):max:app.queue_depth{*} > 10", reason: One group.}\n'
                              "    targets: [datadog]  # humanize would fail the generated promtool test")
    text = (root / "app.yaml").read_text().replace("max(queue_depth) > 10", "max by (queue) (queue_depth) > 10")
    (root / "app.yaml").write_text(text)
    result = pipeline.compile_catalog(root)
    warnings = [d for d in result.report.sorted() if d.code == "MC704"]
    line = next(i for i, l in enumerate((root / "app.yaml").read_text().splitlines(), 1) if "description:" in l)
    assert [(d.loc.line, str(d.severity)) for d in warnings] == [(line, "warning")] * 2
    assert "not a group" in warnings[0].message and "template code" in warnings[1].message
    body = json.loads(result.files["datadog/monitors/app/QueueDeep.json"])
    assert "Queue {{queue.name}} holds {{value}} jobs" in body["message"]
    assert "$labels" not in body["message"] and "humanize" not in body["message"]


def test_an_at_word_in_a_text_is_not_a_datadog_notification(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "    description: Call @everyone now")
    result = pipeline.compile_catalog(root)
    assert [d.code for d in result.report.sorted()] == ["MC708"]
    body = json.loads(result.files["datadog/monitors/app/QueueDeep.json"])
    assert "Call (at)everyone now" in body["message"] and "@everyone" not in body["message"]


def test_alert_names_equal_but_for_case_collide_in_datadog_tags(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    text = (root / "app.yaml").read_text()
    block = text[text.index("  QueueDeep:"):text.index("procedures:")]
    (root / "app.yaml").write_text(text.replace("procedures:", block.replace("QueueDeep:", "Queuedeep:")
                                                + "procedures:"))
    status, diags = _diagnostics(root, "validate")
    assert status == 1 and [d["code"] for d in diags] == ["MC709"]


def test_the_output_check_reports_a_monitor_outside_the_grammar() -> None:
    from compiler.artifacts import Artifact, ManagedObject
    from compiler.checks import datadog_output
    from compiler.diagnostics import Loc

    body = {"type": "query alert", "query": "avg(last_5m):sum:a{*} > 2",
            "options": {"thresholds": {"critical": 3}}}
    art = Artifact("datadog/monitors/app/X.json", body, "json",
                   (ManagedObject("app/X", "monitor", "datadog", Loc("app.yaml", 3, 3), body),))
    (found,) = datadog_output.check(None, [art])
    assert found.code == "MC710" and found.loc == Loc("app.yaml", 3, 3) and "critical 3" in found.message


def _needing_setup(tmp_path: Path, settings: str = "") -> Path:
    """A catalog whose Datadog monitors need the three kinds of setup moncat cannot see."""
    root = _catalog(tmp_path, settings=", scrape_labels: [job], histogram_buckets_as_distributions: true"
                    + settings)
    text = (root / "app.yaml").read_text().replace(
        "  queue_depth: {type: gauge, help: Waiting jobs., labels: [queue]}\n",
        "  queue_depth: {type: gauge, help: Waiting jobs., labels: [queue]}\n"
        "  wait_seconds: {type: histogram, help: Wait., unit: seconds}\n").replace(
        "    expr: max(queue_depth) > 10\n",
        "    expr: max(queue_depth) > 10 or histogram_quantile(0.9, sum by (le) (rate(wait_seconds_bucket[5m]))) > 2\n")
    (root / "app.yaml").write_text(text)
    (root / "moncat.yaml").write_text((root / "moncat.yaml").read_text().replace(
        "pagerduty: app-oncall}", "pagerduty: app-oncall, webhook: 'https://hooks.example.test/x'}"))
    return root


def test_what_datadog_needs_configured_outside_the_catalog_is_a_warning_each(tmp_path: Path) -> None:
    result = pipeline.compile_catalog(_needing_setup(tmp_path))
    found = sorted(d.message.split(":")[0] for d in result.report.items if d.code == "MC714")
    assert [str(d.severity) for d in result.report.items if d.code == "MC714"] == ["warning"] * 3
    assert found == ["'QueueDeep' reads percentiles of the distribution app.wait_seconds",
                     "contact 'oncall'", "targets.datadog.scrape_labels (job)"]
    body = json.loads(result.files["datadog/monitors/app/QueueDeep.json"])
    assert "@webhook-oncall" in body["message"]


def test_setup_listed_as_configured_silences_its_warning_and_a_needless_entry_is_one(tmp_path: Path) -> None:
    root = _needing_setup(tmp_path, settings=", configured: [scrape_labels, 'percentiles:app.wait_seconds', "
                          "'webhook:nobody']")
    result = pipeline.compile_catalog(root)
    left = sorted((d.code, d.message.split(":")[0]) for d in result.report.items if d.code in ("MC714", "MC717"))
    assert left == [("MC714", "contact 'oncall'"),
                    ("MC717", "targets.datadog.configured lists 'webhook")]
    stale = next(d for d in result.report.items if d.code == "MC717")
    text = (root / "moncat.yaml").read_text().splitlines()
    assert stale.loc.file == "moncat.yaml" and "'webhook:nobody'" in text[stale.loc.line - 1][stale.loc.column - 1:]
    assert "remove it" in stale.hint and "webhook:oncall" in stale.hint
    hint = next(d.hint for d in result.report.items if d.code == "MC714")
    assert "list it under targets.datadog.configured as `webhook:oncall`" in hint
    (root / "moncat.yaml").write_text((root / "moncat.yaml").read_text().replace("'webhook:nobody'", "'webhook:oncall'"))
    code, diags = _diagnostics(root, "validate")
    assert code == 0 and [d for d in diags if d["severity"] != "info"] == []
