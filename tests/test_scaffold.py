"""`moncat init` and `moncat new`: what they write validates, compiles and passes promtool and
amtool as written; TODO placeholders are listed as warnings at their positions; the commands
refuse to overwrite, and edit a user's file without losing a comment."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, scaffold, verify, writer
from compiler.loader import load_yaml
from compiler.diagnostics import Severity
from compiler.validation import SCHEMA_FILE, catalog_schema, validate
from conftest import run_moncat


def _compile_and_test(catalog: Path, out: Path) -> pipeline.Result:
    result = pipeline.compile_catalog(catalog)
    errors = [str(d) for d in result.report.items if d.severity is Severity.ERROR]
    assert not errors, errors
    writer.write(out, result.files)
    failed = [o for o in verify.run(out) if not o.ok]
    assert not failed, [(o.name, o.output) for o in failed]
    return result


def test_init_writes_a_catalog_that_validates_compiles_and_passes_promtool_and_amtool(tmp_path: Path) -> None:
    proc = run_moncat("init", str(tmp_path / "catalog"))
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(tmp_path / "catalog").as_posix()
                     for p in (tmp_path / "catalog").rglob("*") if p.is_file())
    assert written == [SCHEMA_FILE, "moncat.yaml", "web/service.yaml"]
    result = _compile_and_test(tmp_path / "catalog", tmp_path / "output")
    assert result.report.items == []  # not even a warning or an info
    kinds = {path.split("/")[0] for path in result.files}
    assert {"prometheus", "alertmanager", "grafana", "datadog", "runbooks", "site"} <= kinds
    service = result.catalog.services[0]
    assert service.metrics and service.alerts and service.procedures and service.dashboards
    assert result.catalog.contacts and all(a.examples for a in service.alerts.values())


def test_init_copies_the_schema_and_points_each_file_at_it_for_editors(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    assert json.loads((tmp_path / "c" / SCHEMA_FILE).read_text()) == catalog_schema()
    for rel, schema_path in (("moncat.yaml", SCHEMA_FILE), ("web/service.yaml", f"../{SCHEMA_FILE}")):
        first = (tmp_path / "c" / rel).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema={schema_path}"
        assert (tmp_path / "c" / rel).parent.joinpath(schema_path).resolve() == (tmp_path / "c" / SCHEMA_FILE)


def test_the_commented_settings_of_init_name_every_target_field_and_are_valid_when_uncommented(
        tmp_path: Path) -> None:
    text = scaffold.skeleton()["moncat.yaml"]
    # "#   key: value" -> "  key: value": the option lines, not the prose comments.
    uncommented = re.sub(r"(?m)^(\s*)# (\s*[a-z_]+:( |$))", r"\1\2", text)
    docs, diags = load_yaml("moncat.yaml", uncommented)
    assert not diags and len(docs) == 1
    assert validate(docs[0]) == []
    targets = docs[0].data["targets"]
    defs = catalog_schema()["$defs"]["settings"]["properties"]["targets"]["properties"]
    for target, schema in defs.items():
        assert target in targets, f"targets.{target} is not in init's moncat.yaml"
        for field, sub in schema.get("properties", {}).items():
            assert field in targets[target], f"targets.{target}.{field} is not in init's moncat.yaml"
            for inner in sub.get("properties", {}):
                assert inner in targets[target][field], f"targets.{target}.{field}.{inner} is missing"


def test_init_refuses_a_directory_that_holds_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    proc = run_moncat("init", str(tmp_path / "c"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error MC091" in proc.stderr and "nothing was written" in proc.stderr
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["notes.txt"]


def test_a_new_alert_compiles_passes_its_tests_and_validate_lists_its_todos_with_positions(
        tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    proc = run_moncat("new", "alert", "web", "WebSlow", "--catalog", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "c" / "web" / "service.yaml").read_text()
    lines = text.splitlines()
    alert_line = lines.index("  WebSlow:") + 1
    assert f"added alert WebSlow at {tmp_path / 'c' / 'web' / 'service.yaml'}:{alert_line}" in proc.stdout
    assert lines.index("  web-slow:") > lines.index("procedures:")  # its procedure, in procedures:
    _compile_and_test(tmp_path / "c", tmp_path / "out")

    check = run_moncat("validate", str(tmp_path / "c"), "--format", "json")
    assert check.returncode == 0  # TODOs are warnings: the catalog works while being filled in
    todos = [d for d in json.loads(check.stdout) if d["code"] == "MC090"]
    expr_line = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("expr: up{"))
    expr = next(d for d in todos if "alerts.WebSlow.expr" in d["message"])
    assert (expr["file"], expr["line"], expr["column"]) == \
        ("web/service.yaml", expr_line, lines[expr_line - 1].index("TODO") + 1)
    fields = {re.search(r"`(.*)`", d["message"]).group(1) for d in todos}
    assert {"alerts.WebSlow.summary", "alerts.WebSlow.description", "procedures.web-slow.title",
            "procedures.web-slow.detection[0]"} <= fields
    assert all(d["severity"] == "warning" for d in todos)
    strict = run_moncat("validate", str(tmp_path / "c"), "--fail-on", "warning")
    assert strict.returncode == 1


def test_a_new_alert_goes_to_the_end_of_the_alerts_block_and_keeps_every_comment(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    path = tmp_path / "c" / "web" / "service.yaml"
    before = path.read_text()
    scaffold.new_alert(tmp_path / "c", "web", "WebSlow")
    after = path.read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(line in after.splitlines() for line in comments)
    # Everything the user wrote is still there, in order: the new blocks only come in between.
    rest = iter(after.splitlines())
    assert all(any(line == other for other in rest) for line in before.splitlines())
    assert len(after.splitlines()) > len(before.splitlines())
    data = yaml.safe_load(after)
    assert list(data["alerts"]) == ["WebErrorRatioHigh", "WebSlow"]
    assert list(data["procedures"]) == ["web-errors", "web-slow"]
    assert data["alerts"]["WebSlow"]["severity"] == "warning"  # the least urgent level


def test_a_new_alert_for_a_service_written_in_jsonnet_gets_a_yaml_file_of_its_own(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    (tmp_path / "c" / "api").mkdir()
    (tmp_path / "c" / "api" / "api.jsonnet").write_text("{ service: 'api', owner: 'web-oncall' }\n")
    added = scaffold.new_alert(tmp_path / "c", "api", "ApiSlow")
    assert added[0].loc.file == "api/api-slow.yaml"
    assert (tmp_path / "c" / "api" / "api-slow.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../catalog-v1.schema.json\nservice: api\n")
    _compile_and_test(tmp_path / "c", tmp_path / "out")


def test_a_new_alert_of_a_service_whose_owner_has_only_a_pager_notifies_someone_it_reaches(
        tmp_path: Path) -> None:
    # The owner is paged through PagerDuty, and the new alert's level (the least urgent) does
    # not page: without a `notify:` it would reach no one (MC462) and the catalog would stop
    # validating. The service's own contact with Slack is named instead.
    scaffold.init(tmp_path / "c")
    path = tmp_path / "c" / "web" / "service.yaml"
    text = path.read_text().replace("owner: web-oncall\n", "owner: web-pager\n").replace(
        "metrics:\n", "contacts:\n  web-pager: {name: Web pager, pagerduty: web}\n"
        "  web-team: {name: Web team, slack: '#web'}\n\nmetrics:\n", 1)
    path.write_text(text)
    settings = tmp_path / "c" / "moncat.yaml"  # its on-call would now be told of nothing (MC463)
    settings.write_text(settings.read_text().replace("email: web-oncall@example.com\n",
                                                     "email: web-oncall@example.com\n    receives_alerts: false\n"))
    # The existing alert pages (critical), so the pager-only owner reaches it.
    scaffold.new_alert(tmp_path / "c", "web", "WebSlow")
    alert = yaml.safe_load(path.read_text())["alerts"]["WebSlow"]
    assert (alert["severity"], alert["notify"]) == ("warning", ["web-team"])
    result = pipeline.compile_catalog(tmp_path / "c")
    assert not [str(d) for d in result.report.items if d.severity is Severity.ERROR]
    # An owner that the level reaches gets no `notify:` (the init catalog's email on-call).
    scaffold.init(tmp_path / "d")
    scaffold.new_alert(tmp_path / "d", "web", "WebSlow")
    assert "notify" not in yaml.safe_load((tmp_path / "d" / "web" / "service.yaml").read_text())["alerts"]["WebSlow"]


def test_a_new_service_compiles_and_passes_its_tests_with_an_owner_and_a_first_alert(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    proc = run_moncat("new", "service", "checkout-api", "--catalog", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    result = _compile_and_test(tmp_path / "c", tmp_path / "out")
    svc = next(s for s in result.catalog.services if s.id == "checkout-api")
    assert list(svc.alerts) == ["CheckoutApiDown"] and svc.owner == "checkout-api-oncall"
    assert svc.alerts["CheckoutApiDown"].targets == ("prometheus", "grafana")  # `up` is Prometheus'
    todos = {d.message for d in result.report.items if d.code == "MC090"}
    assert any("contacts.checkout-api-oncall.email" in m for m in todos)


@pytest.mark.parametrize("args, code, where", [
    (("alert", "nope", "X"), "MC094", None),
    (("alert", "web", "WebErrorRatioHigh"), "MC095", "web/service.yaml:16:3"),
    (("alert", "web", "bad-name"), "MC092", None),
    (("service", "Web"), "MC092", None),
    (("service", "web"), "MC093", "web/service.yaml:4:10"),
])
def test_new_refuses_what_would_clash_and_writes_nothing(tmp_path: Path, args: tuple, code: str,
                                                         where: str | None) -> None:
    scaffold.init(tmp_path / "c")
    before = {p: p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file()}
    proc = run_moncat("new", *args, "--catalog", str(tmp_path / "c"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"error {code}" in proc.stderr
    if where:
        assert proc.stderr.startswith(f"{where}: error {code}")
    after = {p: p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file()}
    assert after == before


def test_new_refuses_a_catalog_with_a_file_that_does_not_parse(tmp_path: Path) -> None:
    scaffold.init(tmp_path / "c")
    (tmp_path / "c" / "web" / "broken.yaml").write_text("service: web\nalerts: [\n")
    proc = run_moncat("new", "alert", "web", "WebSlow", "--catalog", str(tmp_path / "c"))
    assert proc.returncode == 1 and proc.stderr.startswith("web/broken.yaml:3:1: error MC001")
    assert "WebSlow" not in (tmp_path / "c" / "web" / "service.yaml").read_text()


def test_todo_placeholders_anywhere_are_warnings_at_the_word(tmp_path: Path) -> None:
    shutil.copytree(Path(scaffold.__file__).parent / "init", tmp_path / "c")
    svc = tmp_path / "c" / "web" / "service.yaml"
    svc.write_text(svc.read_text().replace("help: HTTP requests served, by status code.",
                                           "help: HTTP requests served. TODO check the labels"))
    result = pipeline.analyse(tmp_path / "c")
    [todo] = [d for d in result.report.items if d.code == "MC090"]
    line = next(i for i, text in enumerate(svc.read_text().splitlines(), 1) if "TODO check" in text)
    assert (todo.loc.line, todo.loc.column) == (line, svc.read_text().splitlines()[line - 1].index("TODO") + 1)
    assert todo.severity is Severity.WARNING and "metrics.http_requests_total.help" in todo.message
    # A lower-case "todo" (a word of the text) is not a placeholder.
    svc.write_text(svc.read_text().replace("TODO check", "todo list"))
    assert not [d for d in pipeline.analyse(tmp_path / "c").report.items if d.code == "MC090"]
