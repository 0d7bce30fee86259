"""Property-based: hostile YAML, PromQL and mutated catalogs never crash, hang or yield an error
without a position (generators and properties in tests/fuzzing.py; the 100,000-case run is
tests/benchmarks/bench_fuzz.py)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hypothesis import HealthCheck, given, settings

from fuzzing import (check_catalog, check_promql, check_yaml, mutate, mutations, promql_deep,
                     promql_shallow, yaml_bombs, yaml_texts)
from test_bad_input import CLEAN

from compiler import limits

# About 3,300 cases in all, about a minute of processor time: generation is deterministic per test (derandomize)
# so that CI runs the same cases; the benchmark explores further.
FAST = settings(max_examples=1500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(yaml_texts)
def test_any_yaml_text_loads_or_is_reported_at_a_position(text: str) -> None:
    check_yaml(text)


@settings(FAST, max_examples=100)
@given(yaml_bombs)
def test_alias_bombs_merges_and_deep_nesting_stay_within_the_limits(text: str) -> None:
    # The caps lowered tenfold: the same code stops each bomb, in a tenth of the time.
    with lowered(MAX_NODES_PER_FILE=25_000, MAX_NODES_PER_CATALOG=250_000):
        check_yaml(text)


@contextmanager
def lowered(**values: int) -> Iterator[None]:
    saved = {name: getattr(limits, name) for name in values}
    for name, value in values.items():
        setattr(limits, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(limits, name, value)


@FAST
@given(promql_shallow)
def test_any_promql_parses_to_a_tree_that_prints_back_or_is_an_error_at_an_offset(text: str) -> None:
    check_promql(text)


@settings(FAST, max_examples=40)
@given(promql_deep)
def test_promql_around_the_nesting_limit_parses_or_is_refused_where_it_gets_too_deep(text: str) -> None:
    check_promql(text)


@settings(FAST, max_examples=200)
@given(mutations)
def test_a_mutated_catalog_compiles_or_every_error_points_into_a_file(
        tmp_path_factory, ops: list) -> None:
    root = tmp_path_factory.mktemp("catalog")
    check_catalog(Path(root), mutate(CLEAN, ops))
