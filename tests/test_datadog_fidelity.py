"""The Datadog monitor says what the catalog says, or says how it differs (issue 10, items 6-8):
keep_firing_for is never dropped silently, a NaN or infinite threshold is refused at its literal
instead of crashing, and an override's reason (or a stated difference) reaches the monitor's
message and the alert's runbook page beside the Datadog query.

The bad inputs run through the bad-input suite's harness (tests/test_bad_input.py): the real CLI,
exactly one error with its code and position, exit 1, nothing written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import pipeline
from compiler.slos.model import SLO_MONITOR
from compiler.targets.datadog.wording import words
from conftest import CATALOG
import test_bad_input
from test_bad_input import CLEAN, SERVICE, SETTINGS, S, _write_clean, case, expr, replace

# The bad-input catalog with Datadog on and no pending period, so its alert translates exactly.
DATADOG_ON = replace(SETTINGS, "    evaluation_interval: 1m\n",
                     "    evaluation_interval: 1m\n  datadog: {}\n")
NO_FOR = replace(SERVICE, "    for: 5m\n", "    for: 0s\n")
# Column of the threshold in the alert's expression: "    expr: " is 10 characters, and the
# threshold follows "sum by (instance) (rate(http_requests_total{code="500"}[5m])) > " (64).
THRESHOLD = 75

OVERRIDE_DIFFERS = ("    datadog: {query: 'sum(last_5m):sum:svc.http_requests.count{code:500} by {instance}"
                    ".as_count() > 1000', reason: A thousand in five minutes., differs: Fires at 1000 only.}\n")
QUIET_SERIES = "          'http_requests_total{code=\"500\", instance=\"a\"}': '0+1x30'\n"
FIRES_EXAMPLE = ("      fires:\n        series:\n"
                 "          'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'\n")
ABSENT_EXAMPLE = ("      fires:\n        series:\n"
                  "          'http_requests_total{code=\"200\", instance=\"a\"}': '0+120x30'\n"
                  "        datadog_differs: true\n")

CASES = [
    # keep_firing_for: "    keep_firing_for: " is 21 characters, its value on line 12.
    case("datadog-keep-firing-for", "MC701", S(12, 22), DATADOG_ON,
         replace(SERVICE, "    for: 5m\n", "    for: 0s\n    keep_firing_for: 10m\n"),
         hint="differs"),
    case("threshold-nan", "MC304", S(10, THRESHOLD),
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) > NaN')),
    case("threshold-inf-with-datadog", "MC304", S(10, THRESHOLD), DATADOG_ON, NO_FOR,
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) < Inf'),
         command="validate"),
    case("threshold-overflowing-literal", "MC304", S(10, THRESHOLD), DATADOG_ON, NO_FOR,
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) > 1e999')),
    case("threshold-nan-inside-and", "MC304", S(10, 99),  # `NaN`: " and on () vector(1) > " is 23
         expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) > 1 and on () '
              'vector(1) > NaN')),
    # An override that stays quiet where Prometheus fires: MC711 at the firing example, whose
    # series mapping starts on line 19 (one line down for the `datadog:` line), column 9.
    case("datadog-example-verdict-differs", "MC711", S(19, 9), DATADOG_ON, NO_FOR,
         replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n    datadog: {query: "
                 "'sum(last_5m):sum:svc.http_requests.count{code:500} by {instance}.as_count() > 1000', "
                 "reason: A thousand in five minutes.}\n"), command="validate", hint="differs"),
    # A stated difference covers only the examples marked with it: the same override with
    # `differs` and no mark is still MC711 at the firing example.
    case("datadog-stated-difference-unmarked-example", "MC711", S(19, 9), DATADOG_ON, NO_FOR,
         replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n" + OVERRIDE_DIFFERS),
         command="validate", hint="datadog_differs"),
    # A marked example whose verdicts agree (the exact translation): MC716 at the mark, line 23
    # after the quiet series; "        datadog_differs: " is 25 characters.
    case("datadog-differs-mark-on-an-agreeing-example", "MC716", S(23, 26), DATADOG_ON, NO_FOR,
         replace(SERVICE, QUIET_SERIES, QUIET_SERIES + "        datadog_differs: true\n"),
         command="validate", hint="remove"),
    # A marked example that differs on an alert that states nothing: the absent() example
    # (a metric Datadog never received alerts in Prometheus only); MC715 at the mark, line 20.
    case("datadog-differs-mark-without-a-statement", "MC715", S(20, 26), DATADOG_ON, NO_FOR,
         expr('sum(rate(http_requests_total{code="500"}[5m])) > 1 or absent(http_requests_total{code="500"})'),
         replace(SERVICE, FIRES_EXAMPLE, ABSENT_EXAMPLE),
         replace(SERVICE, '    summary: "Errors on {{ $labels.instance }}"\n', "    summary: Errors\n"),
         command="validate", hint="differs"),
    # "    datadog: {warning: " is 23 characters: the value starts at column 24 of line 14.
    case("datadog-warning-nan", "MC703", S(14, 24), DATADOG_ON, NO_FOR,
         replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n    datadog: {warning: .nan}\n")),
]


@pytest.mark.parametrize("bad", CASES)
def test_datadog_bad_input_is_reported_at_its_position(tmp_path: Path, bad,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    test_bad_input.test_bad_input_is_reported_at_its_position_and_changes_nothing(tmp_path, bad, monkeypatch)


def _catalog(tmp_path: Path, *edits) -> Path:
    root = tmp_path / "catalog"
    _write_clean(root)
    for edit in (DATADOG_ON, NO_FOR, *edits):
        edit(root)
    return root


def test_keep_firing_for_with_a_stated_difference_compiles_and_says_so(tmp_path: Path) -> None:
    root = _catalog(tmp_path, replace(
        SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n    keep_firing_for: 10m\n"
        "    datadog: {differs: 'no keep_firing_for: recovers up to 10m sooner'}\n"))
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    monitor = json.loads(result.files["datadog/monitors/svc/HighErrorRate.json"])
    assert "Differs from Prometheus: no keep_firing_for: recovers up to 10m sooner" in monitor["message"]
    page = result.files["runbooks/svc/alerts/HighErrorRate.md"].decode()
    assert "**Differs from Prometheus:** no keep_firing_for: recovers up to 10m sooner" in page
    # Prometheus keeps its keep_firing_for: nothing is dropped there.
    assert b"keep_firing_for: 10m" in result.files["prometheus/svc.rules.yaml"]


def test_the_clean_catalog_with_datadog_has_no_difference_to_state(tmp_path: Path) -> None:
    result = pipeline.compile_catalog(_catalog(tmp_path))
    assert not result.report.items, [str(d) for d in result.report.items]
    monitor = json.loads(result.files["datadog/monitors/svc/HighErrorRate.json"])
    assert "Differs from Prometheus" not in monitor["message"]
    assert CLEAN  # the harness' catalog, unchanged but for the two edits


def test_an_example_a_threshold_edit_broke_is_reported_by_promtool_beside_the_datadog_verdict(
        tmp_path: Path) -> None:
    # The threshold raised above the firing example: it fires on neither target any more. The
    # Datadog check (MC711) stops the compile before the targets, but validate still runs the
    # examples under promtool, so the real cause (the example, not a Datadog difference to mark)
    # is reported at the same example.
    root = _catalog(tmp_path, expr('sum by (instance) (rate(http_requests_total{code="500"}[5m])) > 5'))
    result = pipeline.validate_catalog(root)
    errors = [d for d in result.report.sorted() if d.severity.name == "ERROR"]
    assert sorted(d.code for d in errors) == ["MC483", "MC711"], [str(d) for d in errors]
    assert len({str(d.loc) for d in errors}) == 1, [str(d) for d in errors]
    verdict = next(d for d in errors if d.code == "MC711")
    assert "the example says the alert fires" in verdict.message
    assert "MC483" in verdict.hint
    # Without promtool's run (--no-examples) the Datadog error stands alone, as before.
    alone = pipeline.validate_catalog(root, examples=False)
    assert [d.code for d in alone.report.items if d.severity.name == "ERROR"] == ["MC711"]


def test_an_example_series_of_an_unknown_metric_is_its_own_error_not_a_datadog_difference(
        tmp_path: Path) -> None:
    # The misspelt series matches nothing on either target; MC414 at the series says what to fix.
    root = _catalog(tmp_path, replace(SERVICE, "'http_requests_total{code=\"500\", instance=\"a\"}': '0+120x30'",
                                      "'http_request_total{code=\"500\", instance=\"a\"}': '0+120x30'"))
    errors = [d.code for d in pipeline.validate_catalog(root).report.items if d.severity.name == "ERROR"]
    assert errors == ["MC414"], errors


@pytest.fixture(scope="module")
def seed():
    result = pipeline.compile_catalog(CATALOG)
    assert not result.report.has_errors(), [str(d) for d in result.report.sorted()]
    return result


def test_every_override_reason_reaches_the_monitor_message_and_the_page(seed) -> None:
    overridden = [a for s in seed.catalog.services for a in s.alerts.values()
                  if a.datadog and a.datadog.query and a.compiled_for("datadog")]
    assert overridden
    for alert in overridden:
        reason = " ".join(alert.datadog.reason.split())
        monitor = json.loads(seed.files[f"datadog/monitors/{alert.service}/{alert.name}.json"])
        differs = words(seed.catalog, alert)["differs"]  # in the service's language
        assert differs.format(text=reason) in monitor["message"], alert.id
        page = seed.files[f"site/{alert.service}/alerts/{alert.name}.html"].decode()
        # On the page, right after the Datadog query it explains.
        query_at = page.index(alert.datadog.query.replace(">", "&gt;").replace("<", "&lt;")[:40])
        differs_at = page.index('<p class="differs">')
        assert query_at < differs_at < page.index("</dl>", query_at), alert.id


def test_an_alert_left_out_of_datadog_says_why_on_its_page_and_nothing_is_dropped_silently(seed) -> None:
    # An SLO's burn-rate alerts reach Datadog as its `slo alert` monitors (SLO_MONITOR).
    left_out = [a for s in seed.catalog.services for a in s.alerts.values()
                if not a.compiled_for("datadog") and not a.compiled_for(SLO_MONITOR)]
    assert left_out
    for alert in left_out:
        reason = " ".join(alert.datadog.reason.split())
        page = seed.files[f"runbooks/{alert.service}/alerts/{alert.name}.md"].decode()
        label = "Tidak dipantau di Datadog" if alert.service == "agentbar" else "Not monitored in Datadog"
        assert f"**{label}:** {reason}" in page, alert.id
        assert not [p for p in seed.files if p.startswith(f"datadog/monitors/{alert.service}/{alert.name}.")]


def test_a_stated_difference_lets_the_example_marked_with_it_differ_and_an_unmodelled_function_is_a_warning(
        tmp_path: Path) -> None:
    override = OVERRIDE_DIFFERS
    mark = FIRES_EXAMPLE + "        datadog_differs: fires at 1000 requests in 5 minutes only\n"
    root = _catalog(tmp_path, replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n" + override),
                    replace(SERVICE, FIRES_EXAMPLE, mark))
    result = pipeline.analyse(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    alert = result.catalog.service("svc").alerts["HighErrorRate"]
    assert [ex.datadog_differs for ex in alert.examples] == ["fires at 1000 requests in 5 minutes only", False]
    unmodelled = override.replace("sum:svc", "forecast(sum:svc").replace(".as_count() >", '.as_count(), "linear", 1) >')
    other = tmp_path / "other"
    other.mkdir()
    root = _catalog(other, replace(SERVICE, "    notify: [oncall]\n", "    notify: [oncall]\n" + unmodelled))
    found = [d for d in pipeline.analyse(root).report.items if d.code == "MC712"]
    assert found and str(found[0].severity) == "warning" and "forecast" in found[0].message


def test_pending_drop_translates_a_window_held_for_a_while_and_says_so(tmp_path: Path) -> None:
    root = _catalog(tmp_path, replace(SETTINGS, "  datadog: {}\n", "  datadog: {pending: drop}\n"),
                    replace(SERVICE, "    for: 0s\n", "    for: 5m\n"))
    result = pipeline.compile_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items]
    monitor = json.loads(result.files["datadog/monitors/svc/HighErrorRate.json"])
    assert monitor["query"].startswith("sum(last_5m):")
    note = "no pending period (targets.datadog.pending: drop): it fires up to 5m earlier than Prometheus"
    assert f"Differs from Prometheus: {note}" in monitor["message"]
    assert note in result.files["runbooks/svc/alerts/HighErrorRate.md"].decode()
