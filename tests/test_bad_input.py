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

The cases run the CLI's entry point (`compiler.cli.main`) in this process, which is what the
`moncat` command runs, so that 150 cases take seconds rather than minutes;
`test_the_real_command_reports_the_same` runs a sample of them as a subprocess too. Cases about
limits may lower a limit (`limits=`) or set an environment variable (`env=`) for the run, and
cases about the output directory may prepare it (`prepare=`).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import gc
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from compiler import cli, limits, pipeline, writer

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


def link(file: str, target: str) -> Edit:
    """A symbolic link `file` in the catalog pointing at `target` (as written)."""
    def edit(root: Path) -> None:
        os.symlink(target, root / file)
    return edit


def fifo(file: str) -> Edit:
    def edit(root: Path) -> None:
        os.mkfifo(root / file)
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


# Prepares the run: (tmp_path, monkeypatch, exit stack) -> None, before the snapshots are taken.
Prepare = Callable[[Path, pytest.MonkeyPatch, contextlib.ExitStack], None]


@dataclass(frozen=True)
class Case:
    edits: tuple[Edit, ...]
    code: str
    at: str | None  # file:line:column, None when no catalog file is at fault
    command: str = "compile"
    hint: str = ""  # a piece of the hint, when the hint is part of the point
    output: Callable[[Path], None] | None = None  # replaces the good compile's output
    out: str = "out"  # --out, relative to tmp_path (or absolute)
    limits: tuple[tuple[str, int], ...] = ()  # compiler.limits values lowered for this run
    env: tuple[tuple[str, str], ...] = ()
    prepare: Prepare | None = None
    absent: str = ""  # text (a secret) that must appear nowhere in what moncat prints


def case(id: str, code: str, at: str | None, *edits: Edit, command: str = "compile",
         hint: str = "", output: Callable[[Path], None] | None = None, out: str = "out",
         limits: dict[str, int] | None = None, env: dict[str, str] | None = None,
         prepare: Prepare | None = None, absent: str = ""):
    return pytest.param(Case(tuple(edits), code, at, command, hint, output, out,
                             tuple((limits or {}).items()), tuple((env or {}).items()), prepare,
                             absent), id=id)


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

DEEP_PANEL = textwrap.dedent(PANEL).replace("[HighErrorRat]", "[HighErrorRate]").replace(
    "expr: sum(rate(http_requests_total[5m]))",
    "expr: " + "(" * 1001 + "sum(rate(http_requests_total[5m]))" + ")" * 1001)

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
    # An annotation's Go template unquoted: `{{` opens a YAML mapping, `: ` inside a value another.
    # "    summary: " is 13 characters; the inner `{`, where YAML's key starts, is column 15.
    case("yaml-unquoted-template-value", "MC014", S(14, 15),
         replace(SERVICE, '"Errors on {{ $labels.instance }}"', "{{ $labels.instance }}"),
         hint="quote the whole value: summary: '{{ $labels.instance }} is down'"),
    # ... followed by text: YAML stops at the word after `}}` (13 + 22 + 1 characters before it).
    case("yaml-unquoted-template-value-then-text", "MC001", S(14, 37),
         replace(SERVICE, '"Errors on {{ $labels.instance }}"', "{{ $labels.instance }} errors"),
         hint="quote the whole value: summary: '{{ $labels.instance }} is down'"),
    # A ': ' inside an unquoted value, at column 46 (13 + "Errors on " + 22 characters).
    case("yaml-colon-inside-an-unquoted-value", "MC001", S(14, 46),
         replace(SERVICE, '"Errors on {{ $labels.instance }}"', "Errors on {{ $labels.instance }}: many"),
         hint="a ': ' inside an unquoted value starts a mapping: quote the whole value"),
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
         replace(SERVICE, "notify: [oncall]", "notify: oncall"), hint="write a list: `[a, b]`"),
    case("bad-enum-value", "MC104", S(5, 11),  # "    type: " is 10 characters
         replace(SERVICE, "type: counter", "type: countr")),
    case("bad-alert-name", "MC105", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", "  High-Error-Rate:\n")),
    case("datadog-configured-need-misspelled", "MC105", M(9, 33),  # after "    configured: [scrape_labels, "
         replace(SETTINGS, "    evaluation_interval: 1m\n",
                 "    evaluation_interval: 1m\n  datadog:\n    configured: [scrape_labels, 'percentile:x']\n")),
    case("bad-metric-name", "MC105", S(4, 3),
         replace(SERVICE, "  http_requests_total:\n", "  http-requests-total:\n")),
    case("bad-contact-name", "MC105", M(14, 3),
         replace(SETTINGS, "  oncall:\n", "  On Call:\n")),
    case("bad-service-id", "MC105", S(1, 10),
         replace(SERVICE, "service: svc\n", "service: Svc\n"), command="validate"),
    case("bad-runbook-url", "MC105", M(3, 13),  # "  base_url: " is 12 characters
         replace(SETTINGS, "https://runbooks.example.com", "runbooks.example.com")),
    case("bad-slack-channel", "MC105", M(16, 12),  # "    slack: " is 11 characters
         replace(SETTINGS, "email: oncall@example.com", "slack: oncall"),
         hint="the whole value must match ^#[a-z0-9_-]+$, such as '#payments-oncall'"),
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
    # A histogram read by its base name, and one declared under its `_bucket` series' name: the
    # hint says how histograms are named rather than guess the closest name.
    case("histogram-read-by-its-base-name", "MC201", S(10, 35),
         replace(SERVICE, "    type: counter\n", "    type: histogram\n"),
         hint="'http_requests_total' is a histogram: query its series http_requests_total_bucket"),
    case("histogram-declared-under-its-bucket-series-name", "MC201", S(10, 35),
         replace(SERVICE, "  http_requests_total:\n    type: counter\n",
                 "  http_requests_total_bucket:\n    type: histogram\n"),
         expr('sum by (instance) (rate(http_requests_total_bucket{code="500"}[5m])) > 1'),
         hint="declare the histogram by its base name, `http_requests_total:`"),
    case("unknown-contact-in-notify", "MC202", S(13, 14),  # "    notify: [" is 13 characters
         replace(SERVICE, "notify: [oncall]", "notify: [oncal]"), hint="did you mean 'oncall'?"),
    case("unknown-severity", "MC203", S(12, 15),  # "    severity: " is 14 characters
         replace(SERVICE, "severity: P1", "severity: P9"), command="validate",
         hint="known severities: P1; a new level is declared under `severities:`"),
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
    # --- load: YAML tags (MC015) and keys that are not text (MC014) -------------------------------
    # "    for: " is 9 characters: a value replacing `5m` starts at column 10.
    case("yaml-tag-int-with-letters", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !!int xyz")),
    case("yaml-tag-bool-maybe", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !!bool maybe")),
    case("yaml-tag-timestamp-not-a-date", "MC015", S(11, 10),
         replace(SERVICE, "for: 5m", "for: !!timestamp x")),
    case("yaml-tag-timestamp-month-13", "MC015", S(11, 10),
         replace(SERVICE, "for: 5m", "for: !!timestamp 2001-13-45")),
    case("yaml-tag-float-with-letters", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !!float abc")),
    case("yaml-tag-int-bad-binary-digit", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !!int 0b102")),
    case("yaml-unknown-tag", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !!duration 5m")),
    case("yaml-local-tag", "MC015", S(11, 10), replace(SERVICE, "for: 5m", "for: !secret 5m")),
    case("yaml-python-tag-on-a-scalar", "MC015", S(11, 10),
         replace(SERVICE, "for: 5m", "for: !!python/name:os.system ''")),
    case("yaml-python-tag-on-a-list-is-never-run", "MC015", S(11, 10),
         replace(SERVICE, "for: 5m", "for: !!python/object/apply:os.system ['true']")),
    case("yaml-set-tag-on-a-mapping", "MC015", S(13, 13),  # "    notify: " is 12 characters
         replace(SERVICE, "notify: [oncall]", "notify: !!set {oncall}"), command="validate"),
    case("yaml-merge-of-a-number", "MC015", S(12, 9),  # a new line 12, "    <<: "
         replace(SERVICE, "    for: 5m\n", "    for: 5m\n    <<: 5\n")),
    case("yaml-key-read-as-a-boolean", "MC014", S(11, 5),  # YAML 1.1 reads `on` as true
         replace(SERVICE, "    for: 5m\n", "    on: 5m\n"), hint="quote it"),
    case("yaml-key-read-as-an-integer", "MC014", S(9, 3), replace(SERVICE, "  HighErrorRate:\n", "  404:\n")),
    case("yaml-key-read-as-a-number", "MC014", S(9, 3), replace(SERVICE, "  HighErrorRate:\n", "  1.5:\n")),
    case("yaml-key-read-as-null", "MC014", S(9, 3), replace(SERVICE, "  HighErrorRate:\n", "  ~:\n")),
    case("yaml-key-read-as-a-date", "MC014", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", "  2024-01-31:\n"), command="validate"),
    case("yaml-key-is-a-list", "MC014", S(9, 3), replace(SERVICE, "  HighErrorRate:\n", "  [a, b]:\n")),
    case("yaml-key-is-a-mapping", "MC014", S(9, 3), replace(SERVICE, "  HighErrorRate:\n", "  {a: 1}:\n")),
    case("yaml-key-with-a-bad-tag", "MC015", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", "  !!int HighErrorRate:\n")),

    # --- load: more YAML syntax ------------------------------------------------------------------
    case("yaml-undefined-alias", "MC001", S(11, 10), replace(SERVICE, "for: 5m", "for: *window")),
    case("yaml-bell-character", "MC001", S(14, 21),  # after '    summary: "Errors'
         replace(SERVICE, "Errors on", "Errors\x07on")),
    case("yaml-nul-byte", "MC001", S(14, 21), replace(SERVICE, "Errors on", "Errors\x00on")),
    case("yaml-null-document", "MC010", "svc/empty.yaml:1:5", write("svc/empty.yaml", "--- ~\n")),
    case("yaml-list-document", "MC010", "svc/list.yaml:1:1", write("svc/list.yaml", "- svc\n")),
    case("yaml-text-document", "MC010", "svc/text.yaml:1:1", write("svc/text.yaml", "svc\n")),
    case("yaml-duplicate-key-in-settings", "MC011", M(17, 5),  # the second email, a new line 17
         replace(SETTINGS, "oncall@example.com\n", "oncall@example.com\n    email: x@example.com\n")),
    case("yaml-duplicate-top-level-key", "MC011", S(28, 1),  # a second `alerts:` at the end
         replace(SERVICE, "  - Look at the logs.\n", "  - Look at the logs.\nalerts: {}\n")),

    # --- load: nesting and size (MC016, MC012, MC017) --------------------------------------------
    # The labels' value nests lists 150 deep; the list at depth 101 of the document (alerts,
    # HighErrorRate, labels, team are 4; the k-th '[' is 4 + k - 1) is the 98th '[', at column
    # 20 + 97 ("    labels: {team: " is 19 characters).
    case("yaml-nesting-150-levels", "MC016", S(12, 117),
         replace(SERVICE, "    for: 5m\n", "    for: 5m\n    labels: {team: " + "[" * 150 + "]" * 150 + "}\n")),
    case("yaml-alias-that-contains-itself", "MC016", S(28, 8),  # `&loop`, on a new last line
         replace(SERVICE, "  - Look at the logs.\n", "  - Look at the logs.\nnotes: &loop [*loop]\n")),
    # Each document of the bomb holds 1 + 11 + 111 + 1,111 + 11,111 + 111,111 = 123,456 nodes;
    # two are 246,912; in the third, `a`, `b` and `c` reach node 248,146 and `d` expands its
    # `*c` items: the second `*c` starts at node 249,259, its seventh `*b` at 249,926, whose
    # seventh `*a` is node 249,993; that list's eighth `x` is node 250,001, one past the cap.
    # Documents are 6 lines: the third's `a:` is line 14; "a: &a [" is 7 characters, so its
    # eighth x is at column 8 + 2 * 7.
    case("yaml-alias-bomb-across-documents", "MC012", "svc/bomb.yaml:14:22",
         write("svc/bomb.yaml", "".join(
             "---\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
             "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
             "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" for _ in range(40)))),
    # With the catalog's cap lowered to 500 nodes: moncat.yaml holds 17, svc/service.yaml 31,
    # x1.yaml 303 (351 so far); x2.yaml's mapping, `service` and list are 352-354, so its 147th
    # item is node 501. "notes: [" is 8 characters; item k is at column 9 + 3 (k - 1).
    case("catalog-expands-past-the-catalog-node-cap", "MC012", "svc/x2.yaml:2:447",
         write("svc/x1.yaml", "service: svc\nnotes: [" + ", ".join(["n"] * 300) + "]\n"),
         write("svc/x2.yaml", "service: svc\nnotes: [" + ", ".join(["n"] * 300) + "]\n"),
         limits={"MAX_NODES_PER_CATALOG": 500}),
    case("file-larger-than-16-mib", "MC017", "svc/huge.yaml:1:1",
         write("svc/huge.yaml", b"#" * (16 * 1024 * 1024) + b"\nservice: svc\n")),

    # --- load: files outside the catalog (MC018) and files that are no files (MC008) -------------
    case("catalog-file-links-outside", "MC018", "svc/extra.yaml:1:1",
         write("../secret.yaml", "service: svc\nnotes: [hunter2-token]\n"),
         link("svc/extra.yaml", "../../secret.yaml"), absent="hunter2"),
    case("catalog-file-links-to-an-absolute-path", "MC018", "svc/users.yaml:1:1",
         link("svc/users.yaml", "/etc/passwd"), absent="root:"),
    case("jsonnet-file-links-outside", "MC018", "svc/extra.jsonnet:1:1",
         write("../secret.jsonnet", "{ service: 'svc', notes: ['hunter2-token'] }\n"),
         link("svc/extra.jsonnet", "../../secret.jsonnet"), absent="hunter2"),
    case("settings-file-links-outside", "MC018", "moncat.yaml:1:1",
         write("../settings.yaml", SETTINGS_TEXT), remove(SETTINGS), link(SETTINGS, "../settings.yaml")),
    case("catalog-directory-links-outside", "MC018", "shared:1:1",
         write("../elsewhere/more.yaml", "service: svc\nnotes: [hunter2-token]\n"),
         link("shared", "../elsewhere"), absent="hunter2"),
    case("catalog-file-is-a-dangling-link", "MC008", "svc/gone.yaml:1:1", link("svc/gone.yaml", "nowhere.yaml")),
    case("catalog-file-links-to-itself", "MC008", "svc/self.yaml:1:1", link("svc/self.yaml", "self.yaml")),
    case("catalog-file-is-a-fifo", "MC008", "svc/pipe.yaml:1:1", fifo("svc/pipe.yaml")),

    # --- load: Jsonnet limits ----------------------------------------------------------------------
    case("jsonnet-that-never-ends", "MC019", "svc/extra.jsonnet:1:1",
         write("svc/extra.jsonnet", "local f(x) = f(x + 1) tailstrict;\n{ service: f(0) }\n"),
         env={"MONCAT_JSONNET_TIMEOUT": "1.5"}, hint="MONCAT_JSONNET_TIMEOUT"),
    case("jsonnet-that-eats-memory", "MC020", "svc/extra.jsonnet:1:1",
         write("svc/extra.jsonnet", "local f(s, n) = if n == 0 then s else f(s + s, n - 1);\n"
               "{ service: std.length(f('x', 40)) }\n"),
         env={"MONCAT_JSONNET_MEMORY_MB": "128"}),
    case("jsonnet-infinite-recursion", "MC003", "svc/extra.jsonnet:1:14",  # the call in f's body
         write("svc/extra.jsonnet", "local f(x) = f(x + 1);\n{ service: f(0) }\n")),
    case("jsonnet-output-nested-too-deep", "MC016", "svc/extra.jsonnet:1:1",
         write("svc/extra.jsonnet", "local f(n) = if n == 0 then [] else [f(n - 1)];\n"
               "{ service: 'svc', notes: f(300) }\n")),
    case("jsonnet-import-of-an-absolute-path", "MC004", "svc/extra.jsonnet:1:19",  # the path
         write("svc/extra.jsonnet", "local h = import '/etc/hostname';\n{ service: 'svc', notes: [h] }\n")),
    case("jsonnet-importstr-outside-catalog", "MC004", "svc/extra.jsonnet:1:22",
         write("../token.txt", "hunter2-token\n"),
         write("svc/extra.jsonnet", "local t = importstr '../../token.txt';\n{ service: 'svc', notes: [t] }\n"),
         absent="hunter2"),

    # --- build: PromQL nesting (MC309) -------------------------------------------------------------
    # The 1,001st level is the 1,001st '(' (offset 1,000, column 11 + 1,000).
    case("promql-1001-nested-parentheses", "MC309", S(10, 1011),
         expr("(" * 1001 + "http_requests_total" + ")" * 1001 + " > 1")),
    case("promql-1001-nested-parentheses-in-validate", "MC309", S(10, 1011),
         expr("(" * 1001 + "http_requests_total" + ")" * 1001 + " > 1"), command="validate"),
    case("promql-100000-nested-parentheses", "MC309", S(10, 1011),
         expr("(" * 100_000 + "http_requests_total" + ")" * 100_000 + " > 1")),
    case("promql-unclosed-parentheses-too-deep", "MC309", S(10, 1011), expr("(" * 5000 + "x")),
    # Terms are 19 characters and " + " 3: the k-th '+' is at offset 22k - 2; the 1,001st at
    # 22,020, column 22,031.
    case("promql-chain-of-1002-terms", "MC309", S(10, 22031),
         expr(" + ".join(["http_requests_total"] * 1002) + " > 1")),
    case("promql-1001-unary-minus", "MC309", S(10, 1011), expr("-" * 1001 + "http_requests_total > 1")),
    case("promql-1001-nested-calls", "MC309", S(10, 4014),  # the 1,001st "abs(": '(' at 4,003
         expr("abs(" * 1001 + "http_requests_total" + ")" * 1001 + " > 1")),
    # A panel query: line 37, "              - expr: " is 22 characters.
    case("promql-too-deep-in-a-panel-query", "MC309", S(37, 1023),
         replace(SERVICE, "  - Look at the logs.\n", "  - Look at the logs.\n" + DEEP_PANEL)),

    # --- validate: names as a whole, and their length ----------------------------------------------
    case("name-ends-in-a-line-break", "MC105", S(1, 10),
         replace(SERVICE, "service: svc\n", 'service: "svc\\n"\n'), hint="trailing line break"),
    case("name-ends-in-a-space", "MC105", S(1, 10),
         replace(SERVICE, "service: svc\n", 'service: "svc "\n'), hint="trailing line break or space"),
    case("alert-name-ends-in-a-line-break", "MC105", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", '  "HighErrorRate\\n":\n'), hint="trailing line break"),
    case("contact-name-ends-in-a-line-break", "MC105", M(14, 3),
         replace(SETTINGS, "  oncall:\n", '  "oncall\\n":\n'), command="validate"),
    case("metric-name-ends-in-a-line-break", "MC105", S(4, 3),
         replace(SERVICE, "  http_requests_total:\n", '  "http_requests_total\\n":\n')),
    case("label-name-ends-in-a-line-break", "MC105", S(7, 20),  # "    labels: [code, "
         replace(SERVICE, "labels: [code, instance]", 'labels: [code, "instance\\n"]')),
    case("severity-name-ends-in-a-line-break", "MC105", M(9, 3),
         replace(SETTINGS, "  P1:\n", '  "P1\\n":\n')),
    case("email-ends-in-a-line-break", "MC105", M(16, 12),
         replace(SETTINGS, "email: oncall@example.com", 'email: "oncall@example.com\\n"')),
    case("runbook-url-ends-in-a-line-break", "MC105", M(3, 13),
         replace(SETTINGS, "base_url: https://runbooks.example.com", 'base_url: "https://runbooks.example.com\\n"')),
    case("runbook-url-with-a-space", "MC105", M(3, 13),
         replace(SETTINGS, "base_url: https://runbooks.example.com", 'base_url: "https://runbooks.example.com/a b"')),
    case("procedure-reference-ends-in-a-line-break", "MC105", S(15, 16),
         replace(SERVICE, "procedure: errors\n", 'procedure: "errors\\n"\n')),
    case("owner-ends-in-a-line-break", "MC105", S(2, 8),
         replace(SERVICE, "owner: oncall", 'owner: "oncall\\n"')),
    case("service-id-of-201-characters", "MC105", S(1, 10),
         replace(SERVICE, "service: svc\n", f"service: {'s' * 201}\n"), hint="at most 200 characters"),
    case("alert-name-of-260-characters", "MC105", S(9, 3),
         replace(SERVICE, "  HighErrorRate:\n", f"  {'H' * 260}:\n"), hint="at most 200 characters"),
    case("procedure-id-of-260-characters", "MC105", S(24, 3),
         replace(SERVICE, "  errors:\n", f"  {'e' * 260}:\n")),
    case("contact-name-of-260-characters", "MC105", M(14, 3),
         replace(SETTINGS, "  oncall:\n", f"  {'o' * 260}:\n"), command="validate"),
    case("metric-name-of-260-characters", "MC105", S(4, 3),
         replace(SERVICE, "  http_requests_total:\n", f"  {'m' * 260}:\n")),
    case("label-name-of-260-characters", "MC105", S(7, 20),
         replace(SERVICE, "labels: [code, instance]", f"labels: [code, {'l' * 260}]")),

    # --- validate: the schema ----------------------------------------------------------------------
    case("unknown-top-level-field", "MC101", S(2, 1),
         replace(SERVICE, "owner: oncall", "ownr: oncall"), hint="did you mean 'owner'?"),
    case("unknown-settings-field", "MC101", M(2, 1),
         replace(SETTINGS, "runbooks:\n", "runbook:\n"), hint="did you mean 'runbooks'?"),
    case("unknown-contact-field", "MC101", M(17, 5),  # a new line 17
         replace(SETTINGS, "oncall@example.com\n", "oncall@example.com\n    slak: '#oncall'\n"),
         hint="did you mean 'slack'?"),
    case("duration-written-as-a-number", "MC102", S(11, 10), replace(SERVICE, "for: 5m", "for: 5"),
         hint="YAML read this as the number 5"),
    case("summary-written-as-a-list", "MC102", S(14, 14),
         replace(SERVICE, 'summary: "Errors on {{ $labels.instance }}"', "summary: [Errors]")),
    case("notify-item-written-as-a-number", "MC102", S(13, 14), replace(SERVICE, "notify: [oncall]", "notify: [1]")),
    case("expression-written-as-a-number", "MC102", S(10, 11), expr("5")),
    case("expression-written-as-a-mapping", "MC102", S(10, 11), expr("{sum: x}")),
    case("metric-type-capitalised", "MC104", S(5, 11), replace(SERVICE, "type: counter", "type: Counter")),
    case("format-version-written-as-text", "MC107", M(1, 10), replace(SETTINGS, "version: 1\n", 'version: "1"\n')),
    case("priority-written-as-a-word", "MC102", M(10, 15), replace(SETTINGS, "priority: 2", "priority: high")),
    case("respond-within-written-as-a-number", "MC102", M(12, 21),
         replace(SETTINGS, "respond_within: 30m", "respond_within: 30")),
    case("email-without-at-sign", "MC105", M(16, 12),
         replace(SETTINGS, "email: oncall@example.com", "email: oncall.example.com")),
    case("procedure-without-title", "MC103", S(24, 3), replace(SERVICE, "    title: High error rate\n", "")),
    case("example-value-written-as-a-list", "MC102", S(19, 60),
         replace(SERVICE, "'0+120x30'", "[0, 120]")),
    case("labels-written-as-a-list", "MC102", S(12, 13),  # a new line 12, "    labels: "
         replace(SERVICE, "    for: 5m\n", "    for: 5m\n    labels: [team]\n")),
    case("label-value-written-as-a-list", "MC102", S(12, 20),  # "    labels: {team: " is 19
         replace(SERVICE, "    for: 5m\n", "    for: 5m\n    labels: {team: [a]}\n")),

    # --- build: more PromQL ------------------------------------------------------------------------
    case("promql-empty-expression", "MC301", S(10, 12), expr('""')),  # inside the quotes
    case("promql-unknown-grouping-keyword", "MC301", S(10, 15),  # `byy` at 4
         expr('sum byy (instance) (rate(http_requests_total{code="500"}[5m])) > 1')),
    case("promql-bad-regex", "MC301", S(10, 61),  # the regex's quote, after `code=~`, at 50
         expr('sum by (instance) (rate(http_requests_total{code=~"5(("}[5m])) > 1')),
    case("promql-bad-offset-duration", "MC301", S(10, 78),  # `5x` at 67
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m] offset 5x)) > 1')),
    case("promql-range-on-an-expression", "MC301", S(10, 11),
         expr('(sum by (instance) (rate(http_requests_total{code="500"}[5m])))[5m] > 1')),

    # --- write: the output directory and its file system -------------------------------------------
    case("output-directory-inside-the-catalog", "MC501", None, out="catalog/output"),
    case("output-directory-is-the-catalog", "MC501", None, out="catalog"),
    case("output-directory-under-a-file", "MC501", None, write("../afile", "x\n"), out="afile/out"),
    case("output-path-is-a-file", "MC501", None, write("../afile", "x\n"), out="afile"),
    case("output-directory-not-writable", "MC502", None, out="/proc/moncat-bad-input-out"),
    case("disk-fills-up-while-writing", "MC502", None, replace(SERVICE, "for: 5m", "for: 10m"),
         prepare=lambda tmp, mp, _: disk_fills(mp),
         hint="free some disk space"),
    case("output-directory-locked-by-another-compile", "MC503", None,
         replace(SERVICE, "for: 5m", "for: 10m"),  # so that there is something to write
         prepare=lambda tmp, mp, stack: hold_lock(tmp / ".out.moncat-lock", stack)),
]


def disk_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk is full after the first few files: each later write fails with ENOSPC."""
    real = writer.write_files

    def filling(root: Path, files: dict[str, bytes]) -> None:
        items = sorted(files.items())
        real(root, dict(items[:3]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(root / items[3][0]))

    monkeypatch.setattr(writer, "write_files", filling)


def hold_lock(path: Path, stack: contextlib.ExitStack) -> None:
    """Another moncat (this test) holds the output's lock for the whole run."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    stack.callback(os.close, fd)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")


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
    """The `moncat` command as a subprocess (a generous timeout: CI machines are shared)."""
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=600)


def run_main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The `moncat` command's entry point in this process: argv, output and exit status as a
    subprocess would see them (main() turns any exception into exit 70, never a traceback)."""
    out, err = io.StringIO(), io.StringIO()
    argv, here, collecting = sys.argv, os.getcwd(), gc.isenabled()
    sys.argv = ["moncat", *args]
    os.chdir(cwd)
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
        os.chdir(here)
        if collecting:
            gc.enable()  # main() turns the collector off for its short-lived process
    status = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


@functools.lru_cache(maxsize=1)
def _good_files() -> dict[str, bytes]:
    catalog = Path(os.environ.get("TMPDIR", "/tmp")) / f"moncat-bad-input-{os.getpid()}"
    shutil.rmtree(catalog, ignore_errors=True)
    try:
        _write_clean(catalog)
        good = pipeline.compile_catalog(catalog)
    finally:
        shutil.rmtree(catalog, ignore_errors=True)
    assert not good.report.items, [str(d) for d in good.report.items]
    return good.files


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
    assert {k: v for k, v in _snapshot(out).items() if v is not None} == _good_files()


def test_there_are_enough_bad_input_cases() -> None:
    assert len(CASES) >= 150
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def _run_case(tmp_path: Path, bad: Case, monkeypatch: pytest.MonkeyPatch,
              runner: Callable[..., subprocess.CompletedProcess]) -> None:
    catalog, out = tmp_path / "catalog", tmp_path / bad.out
    _write_clean(catalog)
    writer.write(tmp_path / "out", _good_files())
    if bad.output is not None:
        bad.output(tmp_path / "out")
    for edit in bad.edits:
        edit(catalog)
    for name, value in bad.limits:
        monkeypatch.setattr(limits, name, value)
    for name, value in bad.env:
        monkeypatch.setenv(name, value)
    with contextlib.ExitStack() as stack:
        if bad.prepare is not None:
            bad.prepare(tmp_path, monkeypatch, stack)
        before_out, before_all = _snapshot(out), _snapshot(tmp_path)

        args = [bad.command, str(catalog)]
        if bad.command == "compile":
            args += ["--out", str(out)]
        proc = runner(*args, "--format", "json", cwd=tmp_path)

    printed = proc.stdout + proc.stderr
    assert "Traceback" not in printed, printed
    assert proc.returncode == 1, printed
    diags = json.loads(proc.stdout)  # --format json prints one JSON document, nothing else
    errors = [d for d in diags if d["severity"] == "error"]
    assert [d["code"] for d in errors] == [bad.code], json.dumps(diags, indent=1)
    assert _position(errors[0]) == bad.at, json.dumps(errors[0], indent=1)
    assert bad.hint in errors[0]["hint"]
    if bad.absent:
        assert bad.absent not in printed
    assert _snapshot(out) == before_out, "the output directory changed"
    assert _snapshot(tmp_path) == before_all, "files changed next to the output directory"


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_reported_at_its_position_and_changes_nothing(
        tmp_path: Path, bad: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    _run_case(tmp_path, bad, monkeypatch, run_main)


# One case of each kind of limit and of the classic mistakes, through the real command.
SUBPROCESS_SAMPLE = ("yaml-unclosed-quote", "promql-1001-nested-parentheses",
                     "yaml-tag-int-with-letters", "catalog-file-links-outside",
                     "output-directory-inside-the-catalog", "name-ends-in-a-line-break")


@pytest.mark.parametrize("bad", [c for c in CASES if c.id in SUBPROCESS_SAMPLE])
def test_the_real_command_reports_the_same(tmp_path: Path, bad: Case,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _run_case(tmp_path, bad, monkeypatch, run_cli)


def test_the_subprocess_sample_names_existing_cases() -> None:
    assert set(SUBPROCESS_SAMPLE) <= {c.id for c in CASES}


# Cases about the catalog itself: not the output directory, lowered limits or the environment.
COMPILE_CASES = [c for c in CASES if c.values[0].command == "compile" and c.values[0].output is None
                 and c.values[0].out == "out" and not (c.values[0].limits or c.values[0].env
                                                       or c.values[0].prepare)]


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
