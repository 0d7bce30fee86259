"""Render stage: the hand-written YAML emitter writes what PyYAML reads back as the same data."""
from __future__ import annotations

import hashlib
import json
import pickle

import pytest
import yaml

from compiler import pipeline
from compiler.render import Block, Splice, content_hash, to_yaml
from conftest import CATALOG

TRICKY = ["x: y", "#c", "yes", "No", "on", "null", "~", "- x", " lead", "trail ", "multi\nline\n",
          "multi\nline", "  indented\nx\n", "a\n\n\n", "tab\there", "ctl\x01", "it's", "", "0x1F",
          "1e3", "1_000", "0o17", "2001-01-01", "1:20", "a: b", "a #b", "http://x.y/z?q=1&r=2",
          "ünïcode ✓", "%x", "x\r\ny", "? x", "!tag", "&a", "*a", "|x", ">x", "'q'", '"q"', ".inf",
          "=x", "\n\nlead", "x\n ", "job:rate:5m", "1m", "1h30m", "{{ $labels.x }}", "@x", "a:",
          'sum(rate(x{a="b"}[5m])) > 0.5', "-", "[a]", "{a}"]


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_a_tricky_string_reads_back_as_itself(text: str) -> None:
    assert yaml.safe_load(to_yaml({"k": text, text or "e": [text, {"n": text}]})) == \
        {"k": text, text or "e": [text, {"n": text}]}


def test_scalars_and_nesting_read_back_as_themselves() -> None:
    data = {"a": None, "b": True, "c": 1.5, "d": -3, "e": [], "f": {}, "g": [{"x": 1, "y": [1, 2]}, [1, [2]], {}]}
    assert yaml.safe_load(to_yaml(data)) == data


def test_every_generated_yaml_file_of_the_seed_catalog_reads_back_as_its_data() -> None:
    result = pipeline.compile_catalog(CATALOG)
    for artifact in result.artifacts:
        if artifact.format == "yaml":
            assert yaml.safe_load(result.files[artifact.path]) == _spliced(artifact.data), artifact.path


def _spliced(data: object) -> object:
    """The data as its YAML reads: a Splice's items stand in the list holding it."""
    if isinstance(data, dict):
        return {k: _spliced(v) for k, v in data.items()}
    if isinstance(data, list):
        out = []
        for item in data:
            out.extend(_spliced(list(item)) if type(item) is Splice else [_spliced(item)])
        return out
    return data


def test_a_splice_renders_as_its_items_written_in_the_list_holding_it() -> None:
    data = {"tests": [{"name": "a"}, Splice([{"name": "b", "x": [1]}, "c"]), Splice([]), "d"]}
    assert yaml.safe_load(to_yaml(data)) == {"tests": [{"name": "a"}, {"name": "b", "x": [1]}, "c", "d"]}


# Values where orjson's bytes differ from json's canonical form (small floats, NaN, infinities,
# non-str keys, integers beyond 64 bits), next to ones where they agree.
HASHED = [{"a": 1e-05}, {"a": 1.2345e-7}, [1e-9, 2e-10, 0.0001, 1e-4, 1e16, 1e22, 5e-324, -0.0],
          {"t": float("nan")}, [float("inf"), float("-inf"), None], {1: "x", 10: "y", 9: "z"},
          [2**64, -(2**63) - 1], {"b": "ünïcode ✓ \u2028 \x7f \x01 \"q\" \\"},
          {"z": [True, False, None, 0, -1, 2**63 - 1], "a": {"y": "1e-5", "x": "null"}}, {"é": 1, "e": 2, "😀": 3}]


@pytest.mark.parametrize("value", HASHED, ids=repr)
def test_a_content_hash_is_the_sha256_of_json_canonical_form(value: object) -> None:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert content_hash(value) == "sha256:" + expected


def test_an_artifact_rendered_ahead_gives_the_same_file_and_the_same_manifest() -> None:
    from compiler.manifest import build_manifest
    from compiler.render import render, rendered

    result = pipeline.compile_catalog(CATALOG)
    ahead = [rendered(a) for a in result.artifacts]
    assert {a.path: a.data for a in ahead} == {a.path: render(a) for a in result.artifacts}
    assert [render(a) for a in ahead] == [a.data for a in ahead]
    assert all(type(o.content).__name__ == "Digest" for a in ahead for o in a.objects)
    assert [rendered(a) for a in ahead] == ahead  # rendering again changes nothing
    files = {a.path: a.data for a in ahead}
    assert build_manifest(ahead, files) == build_manifest(result.artifacts, files)


def test_a_block_renders_as_the_map_it_holds_at_the_indentation_it_was_made_for_and_any_other() -> None:
    route = {"matchers": ['service="a"'], "receiver": "x", "routes": [{"matchers": ["severity=~'P1|P2'"]}]}
    ready = pickle.loads(pickle.dumps(Block(route).ready("    ")))  # as the cache gives it back
    assert ready == route and ready.__dict__["rendered"].keys() == {"    "}
    for doc in ({"route": {"routes": [{"matchers": ['team="t"'], "routes": [ready, {"z": 1}]}]}},
                {"route": {"routes": [ready]}}, [ready], {"empty": [Block()]}):
        plain = json.loads(json.dumps(doc))
        assert to_yaml(doc) == to_yaml(plain)
        assert yaml.safe_load(to_yaml(doc)) == plain
