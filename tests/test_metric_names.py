"""`$labels` holds the metric name where the alert's expression keeps it: the analysis of which
names a result keeps, checked against promtool, and generated tests that promtool passes."""
from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from compiler import pipeline
from compiler.example_labels import parse_series, present_names, series_labels
from compiler.expr import gotemplate
from compiler.expr.metric_names import result_names
from compiler.expr.parse import ParseError, parse

from test_detection_delay import SETTINGS

SERIES = {'x{a="1",b="2"}': "0+60x20", 'y{a="1",b="3"}': "0+30x20", 'z{a="1"}': "1x20",
          'h_bucket{a="1",le="1"}': "0+60x20", 'h_bucket{a="1",le="+Inf"}': "0+120x20"}
X, Y, Z, NO = frozenset({"x"}), frozenset({"y"}), frozenset({"z"}), frozenset({""})
CANNOT_TELL = "cannot tell"

# expression -> the names its result samples carry at 10m on SERIES ("" for a sample without a
# name; no entry: the expression returns nothing), as promtool 2.42 evaluates it (see below);
# a third item is what the analysis says where it differs.
TABLE = [
    ("x > 0", X), ('x{a="1"} == 600', X), ("(x) > 0", X), ("x offset 1m > 0", X), ("1 < x", X),
    ("scalar(z) < x", X), ("x == x", X), ("x > x - 1", X), ("+x > 0", X),
    ("x > bool 0", NO), ("x > bool 0 == 1", NO), ("x + 0 > 0", NO), ("-x < 1", NO), ("(x > 0) * 1", NO),
    ("x / 1 > 0", NO), ("x % 1000 > 0", NO), ("x ^ 1 > 0", NO),
    ("(x atan2 1) > 0", X),  # kept before Prometheus 2.47
    ("x > 0 and on(a) y > 0", X), ("x and on() vector(1)", X), ("vector(1) and on() x", NO),
    ("x > 0 or y > 0", X | Y), ("x > 0 or nope > 0", X), ("x unless z == 5", X),
    ("x unless on(a) y > 1000", X), ("nope > 0", frozenset()), ("x > 0 and nope", frozenset()),
    ("x > on(a) y", NO), ("x > ignoring(b) y", X), ("x > on(a) group_left(b) y", X),
    ("x > on(a) group_right y", Y), ("y < on(a) group_right x", X), ("x * on(a) group_left z > 0", NO),
    ("rate(x[5m]) > 0", NO), ("increase(x[5m]) > 0", NO), ("max_over_time(x[5m]) > 0", NO),
    ("quantile_over_time(0.5, x[5m]) > 0", NO), ("present_over_time(x[5m])", NO),
    ("predict_linear(x[5m], 60) > 0", NO), ("changes(x[5m]) > 0", NO), ("timestamp(x) > 0", NO),
    ("abs(x) > 0", NO), ("clamp_min(x, 0) > 0", NO), ("round(x) > 0", NO),
    ("histogram_quantile(0.9, rate(h_bucket[5m])) > 0", NO),
    ("last_over_time(x[5m]) > 0", X), ("last_over_time(x[5m:1m]) > 0", X), ("sort(x) > 0", X),
    ("sort_desc(x)", X), ('label_replace(x, "c", "$1", "a", "(.*)") > 0', X),
    ('label_join(x, "c", ",", "a", "b") > 0', X),
    ('label_replace(x, "__name__", "renamed", "", "")', frozenset({"renamed"}), CANNOT_TELL),
    ("topk(1, x) > 0", X), ("bottomk(1, x)", X), ("sum by (__name__) (x) > 0", X),
    ("sum(x) > 0", NO), ("max without (b) (x) > 0", NO), ("count by (a) (x) > 0", NO),
    ('count_values("v", z)', NO), ('absent(nope{a="1"})', NO), ('absent_over_time(nope{a="1"}[5m])', NO),
    ("vector(1)", NO), ('{__name__=~"x|z"} > 0', X | Z),
]


def _analysed(expr: str, version: tuple[int, int] = (2, 42)):
    series = [series_labels(s) for s in SERIES]
    return result_names(parse(expr), lambda sel: present_names(sel, series, lambda _: None), version)


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_the_analysis_gives_the_names_promtool_keeps(row) -> None:
    expr, names, *differs = row
    expected = None if differs == [CANNOT_TELL] else names
    assert _analysed(expr) == expected


def test_atan2_drops_the_name_from_prometheus_2_47() -> None:
    assert _analysed("(x atan2 1) > 0", (2, 46)) == X and _analysed("(x atan2 1) > 0", (2, 47)) == NO


def test_the_table_is_what_promtool_evaluates(tmp_path: Path, promtool) -> None:
    # Each expression's result, its name copied into a label `n` and grouped by it: one sample
    # per name it keeps ({} for samples without one), as the engine that runs rules computes it.
    checks = []
    for expr, names, *_ in TABLE:
        samples = [{"labels": f'{{n="{n}"}}' if n else "{}", "value": 1} for n in sorted(names)]
        checks.append({"expr": f'group by (n) (label_replace(({expr}), "n", "$1", "__name__", "(.*)"))',
                       "eval_time": "10m", "exp_samples": samples})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": []}))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": [{
        "interval": "1m", "input_series": [{"series": s, "values": v} for s, v in SERIES.items()],
        "promql_expr_test": checks}]}))
    proc = subprocess.run([promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _catalog(tmp_path: Path, alerts: str) -> Path:
    root = tmp_path / "catalog"
    (root / "svc").mkdir(parents=True)
    (root / "moncat.yaml").write_text(SETTINGS)
    (root / "svc" / "service.yaml").write_text(textwrap.dedent("""\
        service: svc
        owner: oncall
        metrics:
          temp_celsius: {type: gauge, help: Temperature, labels: [instance, sensor]}
          fan_rpm: {type: gauge, help: Fan speed, labels: [instance, sensor]}
          errors_total: {type: counter, help: Errors, labels: [instance]}
        procedures:
          look: {title: Look, detection: [Look at it.]}
        recording_rules:
          instance:temp_celsius:max:
            expr: max by (instance) (temp_celsius)
            help: Hottest sensor per instance
        alerts:
        """) + textwrap.indent(alerts, "  "))
    return root


NAMED = "LABELS = {{ $labels }} NAME = {{ $labels.__name__ }}{{ range $k, $v := .Labels }} {{ $k }}{{ end }}"


def _alert(name: str, expr: str, fires: str, quiet: str, extra: str = "",
           description: str = "LABELS = {{ $labels }}") -> str:
    return textwrap.dedent(f"""\
    {name}:
      expr: {expr}
      severity: P1
      notify: [oncall]
      summary: 'Seen on {{{{ $labels.instance }}}}'
      description: '{description}'
      procedure: look
      examples:
        fires: {{series: {fires}{extra}}}
        quiet: {{series: {quiet}}}
    """)


HOT = "{'temp_celsius{instance=\"a\",sensor=\"cpu\"}': '90x30'}"
COOL = "{'temp_celsius{instance=\"a\",sensor=\"cpu\"}': '20x30'}"
BOTH = "{'temp_celsius{instance=\"a\",sensor=\"cpu\"}': '90x30', 'fan_rpm{instance=\"a\",sensor=\"cpu\"}': '900x30'}"
BOTH_QUIET = "{'temp_celsius{instance=\"a\",sensor=\"cpu\"}': '20x30', 'fan_rpm{instance=\"a\",sensor=\"cpu\"}': '900x30'}"


def test_generated_tests_expect_the_labels_prometheus_gives_the_templates(tmp_path: Path, promtool) -> None:
    # A threshold keeps the name, a recorded series carries its record's name, rate() and
    # sum() drop it, `or` keeps the name of the side that fires (given at the example where the
    # series leave it open): promtool renders every description as the test expects.
    errors = "{'errors_total{instance=\"a\"}': '0+10x30'}"
    root = _catalog(tmp_path, "".join([
        _alert("Hot", "temp_celsius > 80", HOT, COOL, description=NAMED),
        _alert("HotRecorded", "instance:temp_celsius:max > 80", HOT, COOL, description=NAMED),
        _alert("Erroring", "rate(errors_total[5m]) > 0", errors, "{'errors_total{instance=\"a\"}': '5x30'}"),
        _alert("HotSum", "sum by (instance) (temp_celsius) > 80", HOT, COOL),
        _alert("HotOrSlow", "temp_celsius > 80 or fan_rpm < 200", BOTH, BOTH_QUIET,
               ", labels: {__name__: temp_celsius, sensor: cpu}", NAMED),
        _alert("HotOrSlowAlone", "temp_celsius > 80 or fan_rpm < 200", HOT, COOL, description=NAMED),
    ]))
    result = pipeline.validate_catalog(root)
    assert not result.report.has_errors(), [str(d) for d in result.report.items if d.severity.name == "ERROR"]
    assert result.examples.tests == 12 and not result.examples.diagnostics
    tests = {t["name"]: t for p, b in result.files.items() if p.endswith(".tests.yaml")
             for t in yaml.safe_load(b)["tests"]}
    fired = {name.split(" ")[0]: t["alert_rule_test"][-1]["exp_alerts"][0] for name, t in tests.items()
             if "fires" in name}
    assert fired["Hot"]["exp_annotations"]["description"] == (
        "LABELS = map[__name__:temp_celsius instance:a sensor:cpu] NAME = temp_celsius __name__ instance sensor")
    assert fired["HotRecorded"]["exp_annotations"]["description"].startswith(
        "LABELS = map[__name__:instance:temp_celsius:max instance:a] NAME = instance:temp_celsius:max")
    assert fired["Erroring"]["exp_annotations"]["description"] == "LABELS = map[instance:a]"
    assert fired["HotSum"]["exp_annotations"]["description"] == "LABELS = map[instance:a]"
    assert "__name__" not in fired["HotOrSlow"]["exp_labels"]  # the alert's labels never carry it


def test_a_name_the_series_leave_open_is_asked_of_the_example(tmp_path: Path) -> None:
    root = _catalog(tmp_path, _alert("HotOrSlow", "temp_celsius > 80 or fan_rpm < 200", BOTH, BOTH_QUIET,
                                     ", labels: {sensor: cpu}", NAMED))
    result = pipeline.validate_catalog(root, examples=False)
    found = [d for d in result.report.items if d.code == "MC416"]
    assert len(found) == 1 and "__name__" in found[0].message and "fan_rpm or temp_celsius" in found[0].message


def test_a_template_reading_other_labels_needs_no_name(tmp_path: Path) -> None:
    root = _catalog(tmp_path, _alert("HotOrSlow", "temp_celsius > 80 or fan_rpm < 200", BOTH, BOTH_QUIET,
                                     ", labels: {sensor: cpu}", "on {{ $labels.sensor }}"))
    result = pipeline.validate_catalog(root, examples=False)
    assert not result.report.has_errors(), [str(d) for d in result.report.items if d.severity.name == "ERROR"]


@pytest.mark.parametrize("template", [
    "{{ $labels }}", "{{ $labels.__name__ }}", "{{ .Labels.__name__ }}", '{{ index $labels "__name__" }}',
    "{{ len $labels }}", "{{ range $k, $v := $labels }}{{ $k }}{{ end }}", '{{ printf "%v" $labels }}',
])
def test_reading_a_label_left_open_cannot_be_predicted(template) -> None:
    labels = gotemplate.Labels({"instance": "a"}, {"__name__": "give it"})
    with pytest.raises(gotemplate.Unpredictable, match="give it"):
        gotemplate.expand(template, gotemplate.Data(labels, 1.0, {}))
    assert gotemplate.expand("{{ $labels.instance }}", gotemplate.Data(labels, 1.0, {})) == "a"


@pytest.mark.parametrize("text, metric, matchers", [
    ('x{a="b",c="d"}', "x", (("a", "b"), ("c", "d"))),
    ("x", "x", ()),
    ('{__name__="x", a=~"b.*"}', None, (("__name__", "x"), ("a", "b.*"))),  # through the PromQL front end
])
def test_an_example_series_is_read_once_into_one_frozen_selector(text, metric, matchers) -> None:
    # The example checks, the inferred labels and the Datadog Agent model each read every
    # series: parse_series is memoised, and its selectors are frozen, so sharing one is safe.
    sel = parse_series(text)
    assert parse_series(text) is sel
    assert sel.metric == metric and tuple((m.name, m.value) for m in sel.matchers) == matchers


def test_a_series_that_is_no_selector_raises_each_time_it_is_read() -> None:
    for _ in range(2):
        with pytest.raises(ParseError):
            parse_series('x{a="b"')
