"""Bad SLO input: each mistake is one located error with a hint, through the real CLI, exit 1, no
traceback, and the previous output left as it was (the pattern of tests/test_bad_input.py).

Positions are those of the offending text in the catalog below: `_at(file, needle)` is where
`needle` starts (1-based line and column), so a case names the exact token it blames."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from compiler import pipeline, writer
from test_bad_input import _position, _snapshot, run_cli

SETTINGS = "moncat.yaml"
SERVICE = "web/service.yaml"
TEXTS = {
    SETTINGS: textwrap.dedent("""\
        version: 1
        runbooks: {base_url: https://runbooks.example.com}
        targets:
          prometheus: {version: "2.42", evaluation_interval: 1m}
          datadog: {namespace: web}
        severities:
          P1: {priority: 1, meaning: Users are affected, respond_within: 30m, page: true}
          P3: {priority: 3, meaning: Look into it}
        contacts:
          oncall: {name: On-call, email: oncall@example.com}
        slos:
          alerting:
            page-fast: {severity: P1}
            page-slow: {severity: P1}
            ticket-fast: {severity: P3}
            ticket-slow: {severity: P3}
        """),
    SERVICE: textwrap.dedent("""\
        service: web
        owner: oncall
        metrics:
          http_requests_total: {type: counter, help: Requests by code., labels: [code, route]}
          http_request_duration_seconds:
            type: histogram
            help: Request durations.
            buckets: [0.1, 0.25, 0.5, 1]
        slos:
          availability:
            objective: 99.9
            window: 30d
            sli:
              events:
                good: http_requests_total{route="/pay", code="200"}
                total: http_requests_total{route="/pay"}
            procedure: errors
          latency:
            objective: 95
            sli:
              latency: {histogram: http_request_duration_seconds, threshold: 0.25}
            procedure: errors
        procedures:
          errors: {title: Errors, mitigation: [Roll back.]}
        """),
}


def _at(file: str, needle: str, text: str | None = None) -> str:
    """file:line:column where `needle` starts in the file's (edited) text."""
    text = TEXTS[file] if text is None else text
    index = text.index(needle)
    line = text.count("\n", 0, index) + 1
    return f"{file}:{line}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def case(id: str, code: str, file: str, old: str, new: str, blamed: str, hint: str):
    """Replace `old` with `new` in `file`; the error must stand where `blamed` starts."""
    return pytest.param(code, file, old, new, blamed, hint, id=id)


CASES = [
    case("objective-100", "MC801", SERVICE, "objective: 99.9", "objective: 100", "100",
         "percent of good events"),
    case("objective-zero", "MC801", SERVICE, "objective: 95", "objective: 0", "0\n", "99.9"),
    # A ratio where a percent belongs: one error at the objective, not one MC805 per tier.
    case("objective-written-as-a-ratio", "MC801", SERVICE, "objective: 99.9", "objective: 0.999",
         "0.999", "write 99.9 for 99.9%"),
    case("window-not-a-multiple-of-a-tier", "MC802", SERVICE, "window: 30d", "window: 28d",
         "28d", "divide 28d"),
    case("short-window-not-shorter", "MC802", SERVICE, "procedure: errors\n  latency:",
         "procedure: errors\n    alerting: {page-fast: {short: 1h}}\n  latency:", "1h}}",
         "divide 30d"),
    case("latency-threshold-not-a-bucket", "MC803", SERVICE, "threshold: 0.25", "threshold: 0.3",
         "latency: {histogram", "le` boundaries"),
    case("latency-histogram-without-buckets", "MC803", SERVICE, "    buckets: [0.1, 0.25, 0.5, 1]\n", "",
         "latency: {histogram", "declare the histogram's `buckets:`"),
    case("good-not-a-subset-of-total", "MC804", SERVICE, 'good: http_requests_total{route="/pay", code="200"}',
         'good: http_requests_total{code="200"}', 'http_requests_total{code="200"}', "add total's matchers"),
    case("good-equal-to-total", "MC804", SERVICE, 'good: http_requests_total{route="/pay", code="200"}',
         'good: http_requests_total{route="/pay"}', 'http_requests_total{route="/pay"}\n', "narrow `good`"),
    case("tier-that-can-never-fire", "MC805", SERVICE, "objective: 95", "objective: 90",
         "90", "burn rate is at most 10"),
    case("custom-tier-factor-too-high", "MC805", SERVICE, "procedure: errors\n  latency:",
         "procedure: errors\n    alerting: {urgent: {factor: 2000, long: 1h, short: 5m, severity: P1}}\n  latency:",
         "2000", "lower the tier's `factor`"),
    case("tier-without-severity", "MC806", SETTINGS, "    ticket-slow: {severity: P3}\n", "",
         "slos:", "severity:"),
    case("sli-selector-is-not-a-plain-selector", "MC807", SERVICE, 'total: http_requests_total{route="/pay"}',
         'total: sum(http_requests_total{route="/pay"})', 'sum(http_requests_total',
         "write a metric with label matchers"),
    case("sli-reads-a-histogram-as-a-counter", "MC807", SERVICE, 'total: http_requests_total{route="/pay"}',
         "total: http_request_duration_seconds_sum", "http_request_duration_seconds_sum", "counter"),
    case("datadog-window-it-does-not-have", "MC809", SERVICE, "window: 30d\n",
         "window: 14d\n    alerting: {ticket-slow: false}\n", "14d", "use one of those windows"),
    case("datadog-long-window-beyond-48h", "MC809", SERVICE, "procedure: errors\n  latency:",
         "procedure: errors\n    alerting: {ticket-slow: {targets: [prometheus, datadog]}}\n  latency:",
         "ticket-slow: {targets", "targets: [prometheus, grafana]"),
    case("generated-alert-collides-with-an-alert", "MC810", SERVICE, "procedures:\n",
         "alerts:\n  LatencySLIAbsent: {expr: up == 0, severity: P3, summary: Down, procedure: errors}\n"
         "procedures:\n", "latency:", "alert_name"),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("good") / "catalog"
    for rel, text in TEXTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    result = pipeline.compile_catalog(root)
    assert not [d for d in result.report.items if d.severity >= 1], [str(d) for d in result.report.items]
    return root, result.files


def test_the_clean_slo_catalog_compiles_with_every_target(good) -> None:
    _, files = good
    assert "datadog/slos/web/availability.json" in files
    steps = {t["interval"] for p, b in files.items() if p.startswith("prometheus/web.slo-availability.")
             and p.endswith(".tests.yaml") for t in yaml.safe_load(b)["tests"]}
    assert "2m30s" in steps  # page-fast's series step: half of 5m
    assert "prometheus/web.slo-availability.rules.yaml" in files


@pytest.mark.parametrize("code, file, old, new, blamed, hint", CASES)
def test_bad_slo_input_is_one_located_error_with_a_hint(tmp_path, good, code, file, old, new, blamed,
                                                        hint) -> None:
    catalog, out = tmp_path / "catalog", tmp_path / "out"
    for rel, text in TEXTS.items():
        (catalog / rel).parent.mkdir(parents=True, exist_ok=True)
        (catalog / rel).write_text(text)
    writer.write(out, good[1])
    text = TEXTS[file]
    assert text.count(old) == 1, old
    edited = text.replace(old, new)
    (catalog / file).write_text(edited)
    before = _snapshot(tmp_path)
    proc = run_cli("compile", str(catalog), "--out", str(out), "--format", "json", cwd=tmp_path)
    printed = proc.stdout + proc.stderr
    assert "Traceback" not in printed, printed
    assert proc.returncode == 1, printed
    errors = [d for d in json.loads(proc.stdout) if d["severity"] == "error"]
    assert [d["code"] for d in errors] == [code], json.dumps(errors, indent=1)
    assert _position(errors[0]) == _at(file, blamed, edited if blamed in edited else None), errors[0]
    assert hint in errors[0]["hint"], errors[0]["hint"]
    assert _snapshot(tmp_path) == before


def test_a_latency_sli_of_a_distribution_is_told_the_setting_that_brings_its_counts(tmp_path) -> None:
    # With the buckets as a distribution, Datadog has neither the bucket nor (without
    # collect_counters_with_distributions) the _count as counts: the hint names the one setting
    # that brings both, not the one that brings the _count alone (the next error would follow).
    catalog = tmp_path / "catalog"
    for rel, text in TEXTS.items():
        (catalog / rel).parent.mkdir(parents=True, exist_ok=True)
        (catalog / rel).write_text(text)
    settings = TEXTS[SETTINGS].replace("datadog: {namespace: web}",
                                       "datadog: {namespace: web, histogram_buckets_as_distributions: true}")
    (catalog / SETTINGS).write_text(settings)
    errors = [d for d in pipeline.compile_catalog(catalog).report.sorted() if d.severity >= 2]
    assert [(d.code, str(d.loc)) for d in errors] == [
        ("MC809", _at(SERVICE, "latency: {histogram"))], [str(d) for d in errors]
    assert errors[0].hint.startswith("set targets.datadog.histogram_buckets_as_distributions: false")
    assert "collect_counters_with_distributions" not in errors[0].hint
