"""Bad input: every broken catalog is reported at its position, and nothing is written.

Each case writes a small valid catalog into tmp_path (settings in moncat.yaml, one service in
svc/service.yaml), compiles it once into an output directory, injects ONE fault, then runs the
real CLI in a subprocess and checks:

- the exit status is exactly 1 and no Python traceback is printed;
- the run reports exactly one error, with the expected code;
- that error stands at the expected `file:line:column` (file relative to the catalog root,
  1-based line and column; no position when no catalog file is at fault);
- the output directory of the previous good compile is byte-for-byte unchanged, and nothing
  else under tmp_path changed either (no partial output, no stray temporary directories).

Expected positions are worked out by hand from the texts below; the comment next to each one
says how.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from compiler import pipeline, writer

SETTINGS = "moncat.yaml"
SERVICE = "svc/service.yaml"

# Line numbers, for working out positions:
#  1 version   3 base_url   5 prometheus   6 version   7 evaluation_interval   9 P1
# 10 priority  11 meaning  12 respond_within  14 oncall  15 name  16 email
SETTINGS_TEXT = textwrap.dedent("""\
    version: 1
    runbooks:
      base_url: https://runbooks.example.com
    targets:
      prometheus:
        version: "2.42"
        evaluation_interval: 1m
    severities:
      P1:
        priority: 2
        meaning: Something is failing
        respond_within: 30m
    contacts:
      oncall:
        name: On-call
        email: oncall@example.com
    """)

EXPR = 'sum by (instance) (rate(http_requests_total{code="500"}[5m])) > 1'
FIRES = "'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'"
QUIET = "'http_requests_total{code=\"500\", instance=\"a\"}': '0+1x30'"

# Line numbers, for working out positions:
#  1 service   2 owner   4 http_requests_total   5 type   9 HighErrorRate   10 expr   11 for
# 12 severity  13 notify  14 summary  15 procedure  16 examples  17 fires  19 FIRES series
# 20 quiet  22 QUIET series  23 procedures  24 errors
# Columns: the expression starts at column 11 ("    expr: " is 10 characters); the series
# selectors at column 11 and their values at column 60 (the selector in quotes is 47 characters).
SERVICE_TEXT = textwrap.dedent(f"""\
    service: svc
    owner: oncall
    metrics:
      http_requests_total:
        type: counter
        help: HTTP requests by status code
        labels: [code, instance]
    alerts:
      HighErrorRate:
        expr: {EXPR}
        for: 5m
        severity: P1
        notify: [oncall]
        summary: "Errors on {{{{ $labels.instance }}}}"
        procedure: errors
        examples:
          fires:
            series:
              {FIRES}
          quiet:
            series:
              {QUIET}
    procedures:
      errors:
        title: High error rate
        detection:
          - Look at the logs.
    """)

CLEAN = {SETTINGS: SETTINGS_TEXT, SERVICE: SERVICE_TEXT}

# --- faults --------------------------------------------------------------------------------------

Edit = Callable[[Path], None]


def replace(file: str, old: str, new: str) -> Edit:
    """Replace the one occurrence of `old` in `file` (a case that matches twice is a bad case)."""
    def edit(root: Path) -> None:
        path = root / file
        text = path.read_text("utf-8")
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        path.write_text(text.replace(old, new), "utf-8")
    return edit


def expr(new: str) -> Edit:
    """The alert's `expr:` value, replaced (by a block scalar when `new` starts with | or >)."""
    return replace(SERVICE, f"expr: {EXPR}\n", f"expr: {new}\n")


def write(file: str, content: str | bytes) -> Edit:
    """Create or overwrite `file`; a path starting with ../ lands next to the catalog."""
    def edit(root: Path) -> None:
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), "utf-8")
    return edit


def remove(file: str) -> Edit:
    def edit(root: Path) -> None:
        (root / file).unlink()
    return edit


def empty_catalog(root: Path) -> None:
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def no_catalog(root: Path) -> None:
    shutil.rmtree(root)


def foreign_output(out: Path) -> None:
    """An output directory moncat did not write: someone's files, no manifest.json."""
    shutil.rmtree(out)
    (out / "notes").mkdir(parents=True)
    (out / "README.txt").write_text("my own files, keep them\n", "utf-8")
    (out / "notes" / "todo.md").write_bytes(b"- nothing\n")


@dataclass(frozen=True)
class Case:
    edits: tuple[Edit, ...]
    code: str
    at: str | None  # file:line:column, None when no catalog file is at fault
    command: str = "compile"
    hint: str = ""  # a piece of the hint, when the hint is part of the point
    output: Callable[[Path], None] | None = None  # replaces the good compile's output


def case(id: str, code: str, at: str | None, *edits: Edit, command: str = "compile",
         hint: str = "", output: Callable[[Path], None] | None = None):
    return pytest.param(Case(tuple(edits), code, at, command, hint, output), id=id)


def S(line: int, column: int) -> str:
    return f"{SERVICE}:{line}:{column}"


def M(line: int, column: int) -> str:
    return f"{SETTINGS}:{line}:{column}"


PANEL = """\
    dashboards:
      overview:
        title: Overview
        rows:
          - title: Errors
            panels:
              - title: Error rate
                alerts: [HighErrorRat]
                queries:
                  - expr: sum(rate(http_requests_total[5m]))
    """

CASES = [
    # --- load: YAML, encodings, files ------------------------------------------------------------
    case("yaml-bad-indentation", "MC001", S(11, 4),  # `for` moved one column left of its siblings
         replace(SERVICE, "    for: 5m\n", "   for: 5m\n")),
    case("yaml-unclosed-quote", "MC001", S(14, 14),  # the opening quote after "    summary: "
         replace(SERVICE, '.instance }}"\n', ".instance }}\n")),
    case("yaml-unclosed-quote-at-end-of-file", "MC001", S(22, 60),  # the quiet values' quote
         replace(SERVICE, "'0+1x30'\n", "'0+1x30\n")),
    case("yaml-tab-indentation", "MC001", S(11, 1),  # the tab itself
         replace(SERVICE, "    for: 5m\n", "\tfor: 5m\n"), command="validate"),
    case("yaml-duplicate-key", "MC011", S(14, 5),  # the second `for:`, on a new line 14
         replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n    for: 10m\n")),
    case("yaml-no-space-after-colon", "MC001", S(11, 5),  # `for:5m` is a key without ':'
         replace(SERVICE, "    for: 5m\n", "    for:5m\n")),
    case("non-utf8-file", "MC002", S(14, 22),  # the Latin-1 byte after '    summary: "Errors '
         write(SERVICE, SERVICE_TEXT.replace("Errors on", "Errors \xe9").encode("latin-1"))),
    case("file-without-document", "MC009", "svc/notes.yaml:1:1",
         write("svc/notes.yaml", "# nothing here yet\n")),
    case("empty-catalog-directory", "MC005", None, empty_catalog),
    case("missing-moncat-yaml", "MC006", M(1, 1), remove(SETTINGS)),  # the file to create
    case("nonexistent-catalog-directory", "MC007", None, no_catalog, command="validate"),
    case("jsonnet-syntax-error", "MC003", "svc/extra.jsonnet:3:21",  # the ',' after the '+'
         write("svc/extra.jsonnet", """\
             {
               service: 'svc',
               title: 'Service' +,
             }
             """)),
    case("jsonnet-runtime-error", "MC003", "svc/extra.jsonnet:3:12",  # `defaults.name`
         write("svc/extra.jsonnet", """\
             local defaults = { team: 'svc' };
             {
               service: defaults.name,
             }
             """), command="validate"),
    case("jsonnet-import-outside-catalog", "MC004", "extra.jsonnet:1:24",  # the imported path
         write("../secret.libsonnet", "{ name: 'top secret' }\n"),
         write("extra.jsonnet", """\
             local secret = import '../secret.libsonnet';
             { service: 'svc', title: secret.name }
             """)),

    # --- validate: document kinds and the schema -------------------------------------------------
    case("document-without-service-or-version", "MC010", "svc/extra.yaml:2:1",  # the mapping
         write("svc/extra.yaml", "# more alerts for svc\nalerts: {}\n")),
    case("unsupported-format-version", "MC107", M(1, 10),
         replace(SETTINGS, "version: 1\n", "version: 2\n")),
    case("second-settings-document", "MC013", "moncat.yml:2:1",  # moncat.yaml is read first
         write("moncat.yml", "# an old copy\nversion: 1\n")),
    case("unknown-field-with-did-you-mean", "MC101", S(15, 5),
         replace(SERVICE, "    procedure: errors\n", "    procedur: errors\n"),
         hint="did you mean 'procedure'?"),
    case("missing-required-field", "MC103", S(9, 3),  # the alert that lacks it
         replace(SERVICE, '    summary: "Errors on {{ $labels.instance }}"\n', ""),
         command="validate", hint="add `summary:`"),
    case("wrong-type", "MC102", S(13, 13),  # a string where a list belongs
         replace(SERVICE, "notify: [oncall]", "notify: oncall")),
    case("bad-enum-value", "MC104", S(5, 11),  # "    type: " is 10 characters
         replace(SERVICE, "type: counter", "type: countr")),
    case("bad-alert-name", "MC105", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", "  High-Error-Rate:\n")),
    case("bad-metric-name", "MC105", S(4, 3),
         replace(SERVICE, "  http_requests_total:\n", "  http-requests-total:\n")),
    case("bad-contact-name", "MC105", M(14, 3),
         replace(SETTINGS, "  oncall:\n", "  On Call:\n")),
    case("bad-service-id", "MC105", S(1, 10),
         replace(SERVICE, "service: svc\n", "service: Svc\n"), command="validate"),
    case("bad-runbook-url", "MC105", M(3, 13),  # "  base_url: " is 12 characters
         replace(SETTINGS, "https://runbooks.example.com", "runbooks.example.com")),
    case("bad-slack-channel", "MC105", M(16, 12),  # "    slack: " is 11 characters
         replace(SETTINGS, "email: oncall@example.com", "slack: oncall")),
    case("priority-out-of-range", "MC100", M(10, 15),  # "    priority: " is 14 characters
         replace(SETTINGS, "priority: 2", "priority: 9")),

    # --- build: durations and PromQL -------------------------------------------------------------
    case("duration-with-unknown-unit", "MC106", S(11, 10),  # "    for: " is 9 characters
         replace(SERVICE, "for: 5m", "for: 10x")),
    case("duration-units-out-of-order", "MC106", S(11, 10),
         replace(SERVICE, "for: 5m", "for: 5m1h")),
    case("bad-respond-within", "MC106", M(12, 21),  # "    respond_within: " is 20 characters
         replace(SETTINGS, "respond_within: 30m", "respond_within: 30 minutes")),
    # Expression columns: 11 + the offset in EXPR (rate at 19, the metric at 24, [ at 55).
    case("promql-unclosed-paren", "MC301", S(10, 29),  # the '(' at 18 is never closed
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m]) > 1')),
    case("promql-unknown-function", "MC301", S(10, 30),  # `rat` at 19
         expr('sum by (instance) (rat(http_requests_total{code="500"}[5m])) > 1')),
    case("promql-bad-range-duration", "MC301", S(10, 67),  # `5x` at 56
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5x])) > 1')),
    case("promql-trailing-operator", "MC301", S(10, 77),  # `and` at 66, with nothing after it
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) > 1 and')),
    case("promql-wrong-argument-type", "MC301", S(10, 35),  # rate()'s argument at 24, not a range
         expr('sum by (instance) (rate(http_requests_total{code="500"})) > 1'), command="validate"),
    case("promql-block-scalar-unknown-function", "MC301", S(12, 9),  # `rat`, indented 8
         expr('|\n'
              '      sum by (instance) (\n'
              '        rat(http_requests_total{code="500"}[5m])\n'
              '      ) > 1')),
    case("promql-block-scalar-unclosed-paren", "MC301", S(11, 25),  # 6 of indent + '(' at 18
         expr('|\n'
              '      sum by (instance) (\n'
              '        rate(http_requests_total{code="500"}[5m])\n'
              '      > 1')),
    case("promql-folded-scalar-unknown-metric", "MC201", S(12, 14),  # 8 of indent + "rate("
         expr('>-\n'
              '      sum by (instance) (\n'
              '        rate(http_request_total{code="500"}[5m])) > 1')),

    # --- link: references and duplicate ids ------------------------------------------------------
    case("unknown-metric-in-expression", "MC201", S(10, 35),  # the metric name at 24
         expr('sum by (instance) (rate(http_request_total{code="500"}[5m])) > 1')),
    case("unknown-contact-in-notify", "MC202", S(13, 14),  # "    notify: [" is 13 characters
         replace(SERVICE, "notify: [oncall]", "notify: [oncal]"), hint="did you mean 'oncall'?"),
    case("unknown-severity", "MC203", S(12, 15),  # "    severity: " is 14 characters
         replace(SERVICE, "severity: P1", "severity: P9"), command="validate"),
    case("unknown-procedure", "MC204", S(15, 16),  # "    procedure: " is 15 characters
         replace(SERVICE, "procedure: errors\n", "procedure: error\n")),
    case("unknown-dashboard", "MC206", S(16, 16),  # a new line 16, "    dashboard: "
         replace(SERVICE, "procedure: errors\n", "procedure: errors\n    dashboard: overview\n")),
    case("unknown-escalates-to", "MC202", M(17, 19),  # a new line 17, "    escalates_to: "
         replace(SETTINGS, "oncall@example.com\n", "oncall@example.com\n    escalates_to: boss\n")),
    case("unknown-owner", "MC202", S(2, 8),
         replace(SERVICE, "owner: oncall", "owner: oncal")),
    case("panel-names-unknown-alert", "MC207", S(35, 22),  # "            alerts: [" on line 35
         replace(SERVICE, "  - Look at the logs.\n", "  - Look at the logs.\n" + textwrap.dedent(PANEL))),
    case("duplicate-alert-in-two-files", "MC205", "svc/tail.yaml:3:3",  # read after service.yaml
         write("svc/tail.yaml", f"""\
             service: svc
             alerts:
               HighErrorRate:
                 expr: {EXPR}
                 severity: P1
                 summary: Errors
             """)),
    case("duplicate-contact-across-services", "MC205", "web/service.yaml:4:3",  # svc/ is read first
         replace(SERVICE, "  - Look at the logs.\n",
                 "  - Look at the logs.\ncontacts:\n  lead:\n    name: Lead\n    email: lead@example.com\n"),
         write("web/service.yaml", """\
             service: web
             owner: oncall
             contacts:
               lead:
                 name: Web lead
                 email: web-lead@example.com
             """)),

    # --- checks: templates, routing, runbooks, examples, target versions -------------------------
    # The summary's quote is at column 14; text offset n is at column 15 + n.
    case("template-unclosed-action", "MC302", S(14, 25),  # the '{{' at 10
         replace(SERVICE, "{{ $labels.instance }}", "{{ $labels.instance")),
    case("template-unknown-variable", "MC302", S(14, 28),  # `$lables` at 13
         replace(SERVICE, "{{ $labels.instance }}", "{{ $lables.instance }}"), command="validate"),
    case("template-label-aggregated-away", "MC303", S(14, 36),  # `instance` at 21
         expr('sum by (code) (rate(http_requests_total{code="500"}[5m])) > 1')),
    case("template-in-folded-description", "MC303", S(18, 37),  # `job`, on the block's 2nd line
         replace(SERVICE, "    procedure: errors\n", "    procedure: errors\n    description: >-\n"
                 "      Errors on {{ $labels.instance }} have been above\n"
                 "      one per second for {{ $labels.job }}.\n")),
    case("alert-notifies-nobody", "MC401", S(8, 3),  # the alert, one line up without `owner:`
         replace(SERVICE, "owner: oncall\n", ""), replace(SERVICE, "    notify: [oncall]\n", "")),
    case("alert-without-procedure", "MC402", S(9, 3),
         replace(SERVICE, "    procedure: errors\n", ""), command="validate"),
    case("alert-without-fires-example", "MC410", S(9, 3),
         replace(SERVICE, f"      fires:\n        series:\n          {FIRES}\n", "")),
    case("alert-without-quiet-example", "MC411", S(9, 3),
         replace(SERVICE, f"      quiet:\n        series:\n          {QUIET}\n", "")),
    case("example-series-too-short", "MC413", S(19, 60),  # 6 samples; evaluated at 12m
         replace(SERVICE, "'0+120x30'", "'0+120x5'")),
    case("example-values-read-as-a-number-by-yaml", "MC102", S(22, 60),  # unquoted 0x30 is 48
         replace(SERVICE, "'0+1x30'", "0x30"), hint="quote it"),
    case("example-values-not-promtool-notation", "MC415", S(22, 60),
         replace(SERVICE, "'0+1x30'", "'0+1x'")),
    case("example-selector-does-not-parse", "MC412", S(19, 11),  # the selector, missing its '}'
         replace(SERVICE, "'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'",
                 "'http_requests_total{code=\"500\", instance=\"a\"': '0+120x30'")),
    case("example-selector-with-regex", "MC412", S(19, 11),
         replace(SERVICE, "'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'",
                 "'http_requests_total{code=~\"5..\", instance=\"a\"}': '0+120x30'")),
    case("example-reads-unknown-metric", "MC414", S(22, 11),  # the quiet series' selector
         replace(SERVICE, "'http_requests_total{code=\"500\", instance=\"a\"}': '0+1x30'",
                 "'http_request_total{code=\"500\", instance=\"a\"}': '0+1x30'"),
         command="validate"),
    case("keep-firing-for-too-new-for-target", "MC421", S(12, 22),  # "    keep_firing_for: "
         replace(SETTINGS, 'version: "2.42"', 'version: "2.41"'),
         replace(SERVICE, "    for: 5m\n", "    for: 5m\n    keep_firing_for: 5m\n")),
    case("query-offset-too-new-for-target", "MC421", M(8, 19),  # "    query_offset: " on line 8
         replace(SETTINGS, "evaluation_interval: 1m\n", "evaluation_interval: 1m\n    query_offset: 1m\n")),
    case("function-too-new-for-target", "MC420", S(10, 30),  # mad_over_time at 19; target 2.42
         expr('sum by (instance) (mad_over_time(http_requests_total{code="500"}[5m])) > 1')),

    # --- examples: labels, predictions, promtool's verdict ---------------------------------------
    case("fires-example-does-not-say-which-series-fires", "MC482", S(18, 9),  # the fires example
         replace(SERVICE, f"{FIRES}\n", f"{FIRES}\n          " + FIRES.replace('"a"', '"b"') + "\n"),
         command="validate"),
    case("annotation-prints-value-the-example-does-not-give", "MC416", S(18, 9),
         replace(SERVICE, "Errors on {{ $labels.instance }}", "Errors: {{ $value | humanize }}"),
         command="validate"),
    case("quiet-example-fires-under-promtool", "MC483", S(21, 9),  # the quiet example
         replace(SERVICE, "'0+1x30'", "'0+120x30'"), command="validate", hint="promtool:"),

    # --- write: the output directory -------------------------------------------------------------
    case("output-directory-not-written-by-moncat", "MC501", None, output=foreign_output),
]


# --- running -------------------------------------------------------------------------------------

def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and directory (None) below `root`."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _write_clean(root: Path) -> None:
    for rel, text in CLEAN.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=60)


def _position(diag: dict) -> str | None:
    if diag["file"] is None:
        return None
    return f"{diag['file']}:{diag['line']}:{diag['column']}"


def test_the_clean_catalog_compiles_without_any_diagnostic(tmp_path: Path) -> None:
    catalog, out = tmp_path / "catalog", tmp_path / "out"
    _write_clean(catalog)
    proc = run_cli("compile", str(catalog), "--out", str(out), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("[]\n"), proc.stdout  # no diagnostic, not even a warning
    assert (out / "manifest.json").is_file()
    # The in-process compile the cases start from writes the same bytes as the CLI.
    assert {k: v for k, v in _snapshot(out).items() if v is not None} == \
        pipeline.compile_catalog(catalog).files


def test_there_are_enough_bad_input_cases() -> None:
    assert len(CASES) >= 45
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_reported_at_its_position_and_changes_nothing(tmp_path: Path, bad: Case) -> None:
    catalog, out = tmp_path / "catalog", tmp_path / "out"
    _write_clean(catalog)
    good = pipeline.compile_catalog(catalog)
    assert not good.report.items, [str(d) for d in good.report.items]
    writer.write(out, good.files)
    if bad.output is not None:
        bad.output(out)
    for edit in bad.edits:
        edit(catalog)
    before_out, before_all = _snapshot(out), _snapshot(tmp_path)

    args = [bad.command, str(catalog)]
    if bad.command == "compile":
        args += ["--out", str(out)]
    proc = run_cli(*args, "--format", "json", cwd=tmp_path)

    printed = proc.stdout + proc.stderr
    assert "Traceback" not in printed, printed
    assert proc.returncode == 1, printed
    diags = json.loads(proc.stdout)  # --format json prints one JSON document, nothing else
    errors = [d for d in diags if d["severity"] == "error"]
    assert [d["code"] for d in errors] == [bad.code], json.dumps(diags, indent=1)
    assert _position(errors[0]) == bad.at, json.dumps(errors[0], indent=1)
    assert bad.hint in errors[0]["hint"]
    assert _snapshot(out) == before_out, "the output directory changed"
    assert _snapshot(tmp_path) == before_all, "files changed next to the output directory"


COMPILE_CASES = [c for c in CASES if c.values[0].command == "compile" and c.values[0].output is None]


@pytest.mark.parametrize("bad", COMPILE_CASES)
def test_validate_rejects_every_catalog_that_compile_rejects(tmp_path: Path, bad: Case) -> None:
    # The class behind "validate passed, compile failed": every check that runs while generating
    # targets (MC416, cross-target checks, ...) must run in validate too.
    catalog = tmp_path / "catalog"
    _write_clean(catalog)
    for edit in bad.edits:
        edit(catalog)
    compiled = pipeline.compile_catalog(catalog)
    validated = pipeline.validate_catalog(catalog, examples=False)
    assert compiled.report.has_errors()
    assert [d.code for d in validated.report.items if d.severity.name == "ERROR"] == \
        [d.code for d in compiled.report.items if d.severity.name == "ERROR"]
