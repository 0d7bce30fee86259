"""The catalog field reference (docs/catalog-reference.md) is generated from the JSON Schema: it
is fresh, it has a row for every property of every object, every row has a meaning and an
example, and the examples put together are documents the schema accepts."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest

from compiler.schema import reference
from compiler.validation import catalog_schema
from conftest import ROOT, run_moncat

DOC = ROOT / "docs" / "catalog-reference.md"


def _sections(markdown: str) -> dict[str, list[list[str]]]:
    """Heading -> table rows (cells) of that section."""
    out: dict[str, list[list[str]]] = {}
    current = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = []
        elif line.startswith("| `") and current:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            out[current].append(cells)
    return out


def test_the_committed_reference_is_what_the_schema_generates() -> None:
    generated = reference.generate(catalog_schema())
    assert generated.problems == [], "\n".join(generated.problems)
    assert DOC.read_text() == generated.text, f"stale: run `{reference.REGENERATE}`"


def test_moncat_schema_prints_the_schema_and_the_reference() -> None:
    proc = run_moncat("schema")
    assert proc.returncode == 0 and json.loads(proc.stdout) == catalog_schema()
    proc = run_moncat("schema", "--format", "markdown")
    assert proc.returncode == 0 and proc.stdout == DOC.read_text()


def test_every_object_of_the_schema_has_a_section_whose_rows_are_exactly_its_properties() -> None:
    # Walked independently of the generator: each object with properties, wherever it sits.
    objects: list[tuple[str, set[str]]] = []

    def walk(node, pointer: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                objects.append((pointer, set(node["properties"])))
            for key, value in node.items():
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(catalog_schema()["$defs"], "#/$defs")
    assert len(objects) >= 25
    tables = [{row[0].strip("`") for row in rows} for rows in _sections(DOC.read_text()).values()]
    missing = [pointer for pointer, names in objects if names not in tables]
    assert missing == []
    # ... and every property pair is one of them (a renamed field fails here too).
    assert len(reference.property_paths(catalog_schema())) == sum(len(n) for _, n in objects)


def test_every_row_gives_type_meaning_and_example() -> None:
    rows = [row for rows in _sections(DOC.read_text()).values() for row in rows]
    assert len(rows) > 150
    for row in rows:
        assert len(row) in (4, 5), row
        name, kind, meaning, example = row[0], row[1], row[-2], row[-1]
        assert kind and meaning and example, f"{name}: {row}"


def test_a_property_without_a_description_or_an_example_is_reported() -> None:
    schema = json.loads(json.dumps(catalog_schema()))
    alert = schema["$defs"]["alert"]["properties"]
    alert["runbook_hint"] = {"type": "string"}
    found = reference.generate(schema)
    assert found.problems == ["$defs/alert/properties/runbook_hint: no description",
                              "$defs/alert/properties/runbook_hint: no example"]
    assert "| `runbook_hint` | string |" in found.text


@pytest.mark.parametrize("kind", ["settings", "service"])
def test_all_examples_together_make_a_document_the_schema_accepts(kind: str) -> None:
    document = reference.full_example(catalog_schema(), kind)
    schema = dict(catalog_schema())
    schema.pop("oneOf")
    jsonschema.validate(document, {**schema, "$ref": f"#/$defs/{kind}"})
    # Every field of the kind's object appears: the examples cover the whole document.
    assert set(document) == set(catalog_schema()["$defs"][kind]["properties"])


def test_defaults_in_the_schema_are_values_the_schema_accepts() -> None:
    # A `default` is inserted by editors on completion: it must be a valid value, not prose.
    schema = catalog_schema()
    found = 0

    def walk(node) -> None:
        nonlocal found
        if isinstance(node, dict):
            if "default" in node and isinstance(node.get("type"), str):
                found += 1
                jsonschema.validate(node["default"], {k: v for k, v in node.items()
                                                      if k in ("type", "pattern", "enum", "minimum", "maximum")})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found >= 15
