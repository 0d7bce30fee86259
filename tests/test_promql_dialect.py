"""PromQL front end and canonical dialect: a table of source -> canonical text."""
from __future__ import annotations

import pytest
import promql_parser

from compiler.dialects.promql import to_promql
from compiler.expr import ast
from compiler.expr.parse import parse

# source -> canonical PromQL (what rule files and Grafana targets carry)
TABLE = [
    ("up == 0", "up == 0"),
    ("rate(http_requests_total[5m])", "rate(http_requests_total[5m])"),
    ('sum by (status) (rate(webhook_events_total{status="error"}[10m]))',
     'sum by (status) (rate(webhook_events_total{status="error"}[10m]))'),
    ("sum(rate(x[5m])) by (le)", "sum by (le) (rate(x[5m]))"),
    ("histogram_quantile(0.95, sum(rate(h_bucket[5m])) by (le))",
     "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))"),
    ("a/on(x)group_left(y)b", "a / on (x) group_left (y) b"),
    ("a * ignoring(code) b", "a * ignoring (code) b"),
    ("a > bool 0.02", "a > bool 0.02"),
    ("x offset 5m", "x offset 5m"),
    ("x offset -5m", "x offset -5m"),
    ("rate(x[90m] offset 1d)", "rate(x[1h30m] offset 1d)"),
    ("x[1h:5m]", "x[1h:5m]"),
    ("max_over_time(rate(x[5m])[1h:])", "max_over_time(rate(x[5m])[1h:])"),
    ("time() - last_success_timestamp_seconds > 26*3600",
     "time() - last_success_timestamp_seconds > 26 * 3600"),
    ("absent(up{job=\"api\"})", 'absent(up{job="api"})'),
    ("topk(3, x)", "topk(3, x)"),
    ("count_values(\"v\", x)", 'count_values("v", x)'),
    ("-(a + b)", "-(a + b)"),
    ("a - (b - c)", "a - (b - c)"),
    ("2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
    ("a or b and c", "a or b and c"),
    ('x{a="q\\"uote"}', 'x{a="q\\"uote"}'),
    ('{__name__=~"job:.*"}', '{__name__=~"job:.*"}'),
    ("x @ start()", "x @ start()"),
    ("1e-05 < x", "1e-05 < x"),
    ("x and on() (hour(vector(time() + 7*3600)) >= 8 < 22)",
     "x and on () (hour(vector(time() + 7 * 3600)) >= 8 < 22)"),
]


@pytest.mark.parametrize("source,expected", TABLE, ids=[s for s, _ in TABLE])
def test_promql_source_compiles_to_its_canonical_text(source: str, expected: str) -> None:
    assert to_promql(parse(source)) == expected


@pytest.mark.parametrize("source,expected", TABLE, ids=[s for s, _ in TABLE])
def test_canonical_text_means_what_the_source_means(source: str, expected: str) -> None:
    # promql-parser's own printing of both must agree: same tree, different spelling at most.
    assert str(promql_parser.parse(expected)) == str(promql_parser.parse(source))


def test_dashboard_variables_survive_as_range_windows() -> None:
    text = "sum(rate(x[$__rate_interval])) / sum(increase(y{a=~\"$store\"}[${win}]))"
    assert to_promql(parse(text, variables=True)) == text


@pytest.mark.parametrize("text", [
    "rate(x[$__rate_interval])",
    "-rate(x[$__interval])",
    "(rate(x[$w]))",
    "max_over_time(rate(x[$__rate_interval])[1h:1m])",
    "topk(3, rate(x[$v]))",
    "count_values(\"v\", rate(x[$v]))",
    "histogram_quantile(0.9, sum by (le) (rate(b[$__rate_interval])))",
    "sum(rate(x[5m])) / sum(rate(y[$__rate_interval]))",
])
def test_a_variable_window_comes_back_under_every_kind_of_node(text) -> None:
    tree = parse(text, variables=True)
    assert to_promql(tree) == text
    windows = [n for n in ast.walk(tree) if isinstance(n, ast.RangeSelector)]
    assert all((n.range_var is not None) == ("$" in to_promql(n)) for n in windows)
    assert any(n.range_var for n in windows)


def test_the_parts_of_a_query_without_a_variable_window_are_the_parsed_parts() -> None:
    # Restoring the variables copies only the nodes above a variable window.
    plain = parse("sum(rate(x[5m]))", variables=True)
    mixed = parse("sum(rate(x[5m])) / sum(rate(y[$__rate_interval]))", variables=True)
    assert mixed.lhs == plain
    assert mixed.rhs.expr.args[0].range_var == "$__rate_interval"


@pytest.mark.parametrize("text, kinds", [
    ("sum by (a) (rate(x[5m]))", {"op": "value", "expr": "node", "param": "value", "grouping": "value",
                                  "without": "value", "grouped": "value"}),
    ("topk(3, x)", {"op": "value", "expr": "node", "param": "node", "grouping": "value",
                    "without": "value", "grouped": "value"}),
    ("a / on (b) c", {"op": "value", "lhs": "node", "rhs": "node", "return_bool": "value", "matching": "value"}),
    ("rate(x[5m])", {"func": "value", "args": "nodes"}),
    ("time()", {"func": "value", "args": "value"}),  # no arguments: an empty tuple compares as a value
    ('x{a="b"}', {"metric": "value", "matchers": "value", "offset_ms": "value", "at": "value"}),
])
def test_the_generic_tree_comparisons_read_each_field_as_nodes_a_node_or_a_value(text, kinds) -> None:
    tree = parse(text)
    assert {name: kind for name, kind, _ in ast.fields_of(tree)} == kinds
    assert all(value is getattr(tree, name) for name, _, value in ast.fields_of(tree))
