"""Annotation templates: the functions Prometheus defines render as promtool renders them, so a
generated test can predict humanize, printf, query, if/with/range and the rest."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from compiler import pipeline
from compiler.expr import gotemplate
from compiler.expr.gotemplate import Data, Sample, expand

from test_detection_delay import catalog

# (template, the alert's value). Every expected text is promtool's: see the test below.
CASES = [
    ("{{ $value }}", 1234567.0), ("{{ $value }}", 0.00001), ("{{ $value }}", 100000.0),
    ("{{ $value }}", 0.25), ("{{ $value }}", 3.0),
    ("{{ humanize $value }}", 1234567.0), ("{{ humanize $value }}", 0.000123),
    ("{{ humanize 0 }}|{{ humanize -1500 }}|{{ humanize \"1234\" }}", 1.0),
    ("{{ humanize1024 2048 }}|{{ humanize1024 1 }}|{{ humanize1024 5000000 }}", 1.0),
    ("{{ humanizeDuration 3725 }}|{{ humanizeDuration 0.5 }}|{{ humanizeDuration 86400 }}|"
     "{{ humanizeDuration 0 }}|{{ humanizeDuration 12.3456 }}", 1.0),
    ("{{ $value | humanizePercentage }}", 0.256), ("{{ humanizePercentage $value }}", 1.0),
    ("{{ humanizeTimestamp 1700000000 }}|{{ humanizeTimestamp 1.5 }}", 1.0),
    ('{{ printf "%.2f" $value }}|{{ printf "%v|%g|%s|%d|%q|%5.1f|%x" $value $value "s" 3 "q" 2.25 255 }}', 0.8),
    ('{{ printf "%6.2f%%" 12.345 }}|{{ printf "%.3g" 1234.5 }}|{{ $value | printf "%.1f" }}', 2.0),
    ('{{ printf "%s" $value }}|{{ printf "%d" }}', 2.5),
    ('{{ printf "%.0f" $value }}|{{ $value }}', 3),  # written as an integer, still a float64
    ('{{ title "ab-cd_ef" }}|{{ toUpper "ab" }}|{{ toLower "AB" }}|{{ reReplaceAll "a(.)" "X$1" "abac" }}', 1.0),
    ("{{ if gt $value 5.0 }}big{{ else if gt $value 1.0 }}medium{{ else }}small{{ end }}", 3.0),
    ("{{ if gt $value 5.0 }}big{{ else if gt $value 1.0 }}medium{{ else }}small{{ end }}", 0.5),
    ("{{ with $labels.instance }}on {{ . }}{{ else }}nowhere{{ end }}|{{ $labels.missing }}|"
     "{{ index $labels \"instance\" }}|{{ len $labels }}", 1.0),
    ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}|{{ .Labels.instance }}|{{ .Value }}", 7.0),
    ('{{ $x := 2 }}{{ $x }}|{{- " trim " -}} |{{/* a comment */}}|{{ print 1 2 "x" "y" 3.5 }}|{{ println "a" }}', 1.0),
    ('{{ not 0 }}|{{ or 0 "" "z" }}|{{ and 1 0 }}|{{ eq "a" "b" "a" }}|{{ ne 1 2 }}|{{ lt 1.5 2.5 }}|'
     '{{ index (args 1 2) "arg1" }}|{{ match "a.c" "abc" }}|{{ safeHtml "<b>" }}', 1.0),
    ('{{ parseDuration "1m30s" }}|{{ toTime 0 }}|{{ stripPort $labels.instance }}|{{ "x" | printf "%s-%s" "y" }}', 1.0),
    ('{{ with query "sum(up)" }}{{ . | first | value | humanize }}{{ end }}|'
     '{{ range sortByLabel "job" (query "up") }}{{ .Labels.job }}={{ .Value }};{{ end }}|'
     '{{ len (query "up") }}|{{ (query "up" | sortByLabel "job") | first | label "job" }}', 1.0),
]
QUERIES = {"sum(up)": [Sample((), 2.0)],
           "up": [Sample((("__name__", "up"), ("job", "b")), 1.0), Sample((("__name__", "up"), ("job", "a")), 1.0)]}
LABELS = {"instance": "host-1:9100"}


def _render(template: str, value: float) -> str:
    return expand(template, Data(dict(LABELS), value, {}, "", QUERIES))


def test_every_case_renders_as_promtool_renders_it(tmp_path: Path, promtool) -> None:
    # One alert per case, firing with LABELS and the case's value; the series `up` feeds the
    # queries. promtool compares our rendering with its own, so a difference fails here.
    rules, tests = [], []
    for i, (template, value) in enumerate(CASES):
        expr = f'label_replace(vector({float(value)!r}), "instance", "host-1:9100", "", "")'
        rules.append({"alert": f"A{i}", "expr": expr, "annotations": {"text": template}})
        tests.append({"eval_time": "1m", "alertname": f"A{i}", "exp_alerts": [
            {"exp_labels": dict(LABELS), "exp_annotations": {"text": _render(template, value)}}]})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": [{
        "interval": "1m",
        "input_series": [{"series": 'up{job="b"}', "values": "1x5"}, {"series": 'up{job="a"}', "values": "1x5"}],
        "alert_rule_test": tests}]}))
    proc = subprocess.run([promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("template, value, expected", [
    ("{{ $value }}", 1234567.0, "1.234567e+06"),
    ("{{ humanize $value }}", 1234567.0, "1.235M"),
    ("{{ $value | humanizePercentage }}", 0.256, "25.6%"),
    ("{{ humanizeDuration 3725 }}", 1.0, "1h 2m 5s"),
    ("{{ humanizeTimestamp 1700000000 }}", 1.0, "2023-11-14 22:13:20 +0000 UTC"),
    ('{{ printf "%.2f" $value }}', 0.8, "0.80"),
    ("{{ $labels.missing }}", 1.0, ""),
])
def test_a_few_renderings_read_plainly(template, value, expected) -> None:
    assert _render(template, value) == expected


@pytest.mark.parametrize("template, why", [
    ("{{ gt $value 0 }}", "incompatible types"),
    ("{{ query \"x\" | first }}", "query"),  # not stated by the example
    ("{{ first (query \"none\") }}", "query"),
])
def test_what_cannot_be_rendered_says_why(template, why) -> None:
    with pytest.raises((gotemplate.TemplateError, gotemplate.Unpredictable), match=why):
        expand(template, Data({}, 1.0, {}, "", {}))


def test_an_unknown_function_is_a_template_error_at_validate(tmp_path: Path) -> None:
    root = catalog(tmp_path, _queue_alert("Deep: {{ $value | humanise }}", "value: 150"))
    result = pipeline.validate_catalog(root, examples=False)
    found = [d for d in result.report.items if d.code == "MC302"]
    assert len(found) == 1 and 'function "humanise" not defined' in found[0].message


def _queue_alert(summary: str, fires_extra: str) -> str:
    return f"""\
    DeepQueue:
      expr: max(queue_depth) > 100
      severity: P1
      notify: [oncall]
      summary: '{summary}'
      procedure: look
      examples:
        fires: {{series: {{'queue_depth{{queue="m"}}': '150x20'}}, {fires_extra}}}
        quiet: {{series: {{'queue_depth{{queue="m"}}': '50x20'}}}}
    """


def test_humanize_percentage_in_an_annotation_compiles_into_a_passing_test(tmp_path: Path, promtool) -> None:
    # This was MC416 ("template code the generated test cannot predict") at compile time only.
    root = catalog(tmp_path, _queue_alert(
        "Queue at {{ $value | humanizePercentage }} of {{ with query \"sum(queue_depth)\" }}"
        "{{ . | first | value | humanize }}{{ end }}",
        "value: 150, queries: {'sum(queue_depth)': 150}"))
    result = pipeline.validate_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    assert result.examples.tests == 2 and not result.examples.diagnostics
    tests = [t for p, b in result.files.items() if p.startswith("prometheus/") and p.endswith(".tests.yaml")
             for t in yaml.safe_load(b)["tests"]]
    fires = next(t for t in tests if "fires" in t["name"])
    assert fires["alert_rule_test"][-1]["exp_alerts"][0]["exp_annotations"]["summary"] == "Queue at 1.5e+04% of 150"  # %.4g, as Prometheus prints it
    assert fires["promql_expr_test"] == [{"expr": "sum(queue_depth)", "eval_time": fires["alert_rule_test"][-1]["eval_time"],
                                          "exp_samples": [{"labels": "{}", "value": 150.0}]}]


def test_a_wrong_stated_query_result_fails_under_promtool(tmp_path: Path, promtool) -> None:
    root = catalog(tmp_path, _queue_alert(
        "Total {{ with query \"sum(queue_depth)\" }}{{ . | first | value }}{{ end }}",
        "queries: {'sum(queue_depth)': 99}"))
    result = pipeline.validate_catalog(root)
    assert [d.code for d in result.report.items if d.severity.name == "ERROR"] == ["MC483"]


def test_value_without_the_examples_value_is_reported_at_the_example(tmp_path: Path) -> None:
    root = catalog(tmp_path, _queue_alert("Deep: {{ $value | humanize }}", "at: 5m"))
    result = pipeline.validate_catalog(root, examples=False)
    found = [d for d in result.report.items if d.code == "MC416"]
    assert len(found) == 1 and "value:" in found[0].message + found[0].hint
