"""Real-world input: every expression of the public awesome-prometheus-alerts corpus survives the
front end and the PromQL dialect with its meaning intact."""
from __future__ import annotations

import promql_parser
import pytest
import yaml

from compiler.dialects.promql import to_promql
from compiler.expr.parse import ParseError, parse

from conftest import SHARED

CORPUS = SHARED / "corpora" / "awesome-prometheus-alerts"


def _expressions() -> list[tuple[str, str]]:
    out = []
    for f in sorted(CORPUS.rglob("*.yml")):
        for group in (yaml.safe_load(f.read_text()) or {}).get("groups", []):
            for rule in group.get("rules") or []:
                out.append((f"{f.parent.name}/{rule.get('alert')}", str(rule["expr"])))
    return out


def test_the_corpus_is_there() -> None:
    assert len(_expressions()) > 900


def test_every_corpus_expression_round_trips_through_our_ast() -> None:
    failures = []
    for name, expr in _expressions():
        try:
            ours = to_promql(parse(expr))
        except ParseError:
            # promql-parser must have refused it too; we never refuse what it accepts.
            with pytest.raises(ValueError):
                promql_parser.parse(expr)
            continue
        if str(promql_parser.parse(ours)) != str(promql_parser.parse(expr)):
            failures.append((name, expr, ours))
    assert failures == []


def test_parsing_the_same_text_again_gives_the_same_tree_and_the_same_error() -> None:
    text = "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) > 0.1"
    assert parse(text) is parse(text) and to_promql(parse(text)) == to_promql(parse(text))
    assert parse(text, variables=True) == parse(text)
    for _ in range(2):  # an error is raised each time, with its position, not remembered as a tree
        with pytest.raises(ParseError) as refused:
            parse("sum(rate(x[5m])")
        assert refused.value.message and refused.value.offset >= 0
