"""Schema docs: the catalog field reference (Markdown), generated from the JSON Schema.

Every property of the schema gets a row: its type, default, meaning (`description`) and an
example (`examples`, or what the schema itself implies: a const, an enum's first value). Objects
get a section with a YAML example composed from their fields' examples. A property without a
description or an example is a problem: the reference would tell a user nothing about it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

SCHEMA_PATH = "compiler/schema/catalog-v1.schema.json"
REGENERATE = "moncat schema --format markdown > docs/catalog-reference.md"

# Titles of the definitions that become sections; a definition not named here gets its name
# spelled out ("recordingRule" -> "Recording rule"), so new definitions need no edit here.
TITLES = {
    "settings": "Settings (moncat.yaml)",
    "service": "Service document",
    "recordingRule": "Recording rule",
}
_MISSING = object()
# A path into a document: each step as shown ("<alertName>") and as in the examples ("Foo").
Path = tuple[tuple[str, str], ...]


@dataclass
class Section:
    """One object of the schema: a definition or an object nested in one."""

    key: str            # "$defs/alert" or "$defs/settings/properties/targets/..."
    title: str
    node: dict
    where: list[Path] = field(default_factory=list)  # where it appears in a document


@dataclass
class Reference:
    """The generated Markdown and what keeps it from being complete."""

    text: str
    problems: list[str]


def _words(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return spaced[:1].upper() + spaced[1:].lower()


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


class _Walker:
    def __init__(self, schema: dict):
        self.schema = schema
        self.defs: dict[str, dict] = schema["$defs"]
        self.sections: dict[str, Section] = {}
        self.problems: list[str] = []

    # --- which objects are sections ---------------------------------------------------------
    def deref(self, node: dict) -> tuple[str | None, dict]:
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[1]
            return name, self.defs[name]
        return None, node

    @staticmethod
    def object_branch(node: dict) -> dict | None:
        """The branch of `node` that has properties (itself, or one of its oneOf)."""
        if "properties" in node:
            return node
        for branch in node.get("oneOf", ()):
            if "properties" in branch:
                return branch
        return None

    def is_section_def(self, name: str) -> bool:
        return self.object_branch(self.defs[name]) is not None

    def collect(self, key: str, title: str, node: dict, path: Path,
                owner: tuple[str, tuple[str, ...]] | None = None) -> None:
        """Depth-first, in property order: each object becomes a section when first reached.
        `owner` is the definition a nested object belongs to, and the steps from it."""
        section = self.sections.get(key)
        if section is not None:
            if path not in section.where:
                section.where.append(path)
            return
        body = self.object_branch(node)
        self.sections[key] = Section(key, title, body or node, [path])
        base, steps = owner or (title, ())
        for name, prop in (body or {}).get("properties", {}).items():
            self.follow(f"{key}/properties/{name}", prop, path + ((name, name),), (base, steps + (name,)))

    def follow(self, key: str, node: dict, path: Path, owner: tuple[str, tuple[str, ...]]) -> None:
        """Find the sections below `node`; `owner` is the enclosing section's title and the
        steps from it, which name the sections of nested objects ("Alert › datadog")."""
        name, target = self.deref(node)
        if name is not None:
            if self.is_section_def(name):
                self.collect(f"$defs/{name}", TITLES.get(name, _words(name)), target, path)
            else:
                self.follow(f"$defs/{name}", target, path, owner)
            return
        if self.object_branch(node) is not None:
            self.collect(key, f"{owner[0]} › {'.'.join(owner[1])}", node, path, owner)
            return
        for i, branch in enumerate(node.get("oneOf", ())):
            self.follow(f"{key}/oneOf/{i}", branch, path, owner)
        if isinstance(node.get("items"), dict):
            self.follow(f"{key}/items", node["items"], path + (("[]", "[]"),),
                        (owner[0], owner[1][:-1] + (owner[1][-1] + "[]",)))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            step = (self.key_placeholder(node), self.key_name(node))
            self.follow(f"{key}/additionalProperties", extra, path + (step,),
                        (owner[0], owner[1] + (step[0],)))

    def key_placeholder(self, node: dict) -> str:
        names = node.get("propertyNames", {})
        ref_name = self.deref(names)[0] if names else None
        return f"<{ref_name or 'name'}>"

    def key_name(self, node: dict) -> str:
        names = node.get("propertyNames", {})
        ref_name, target = self.deref(names) if names else (None, {})
        example = (names.get("examples") or target.get("examples") or [None])[0]
        return str(example) if example is not None else self.key_placeholder(node)

    # --- one property ------------------------------------------------------------------------
    def type_of(self, node: dict) -> str:
        name, target = self.deref(node)
        if name is not None:
            if self.is_section_def(name):
                return self.link(f"$defs/{name}")
            return f"[{name}](#value-types)"
        if "const" in node:
            return _code(json.dumps(node["const"]))
        if "enum" in node:
            return " | ".join(_code(str(v)) for v in node["enum"])
        if "oneOf" in node:
            return " or ".join(self.type_of(b) for b in node["oneOf"])
        kind = node.get("type", "any")
        if kind == "array":
            items = node.get("items", {})
            return f"list of {self.type_of(items)}" + (" (unique)" if node.get("uniqueItems") else "")
        if kind == "object":
            extra = node.get("additionalProperties")
            if "properties" in node:
                return "object"
            if isinstance(extra, dict):
                names = node.get("propertyNames", {})
                key = self.type_of(names) if "$ref" in names else "name"
                return f"map of {key} to {self.type_of(extra)}"
            return "object"
        if kind in ("integer", "number") and ("minimum" in node or "maximum" in node):
            return f"{kind} {node.get('minimum', '')}–{node.get('maximum', '')}"
        if kind == "string" and "pattern" in node:
            return f"string matching {_code(node['pattern'])}"
        return str(kind)

    def link(self, key: str) -> str:
        title = self.sections[key].title if key in self.sections else key.rsplit("/", 1)[1]
        return f"[{title.strip('`')}](#{anchor(title)})"

    def example_of(self, node: dict, deep: bool, depth: int = 0) -> Any:
        """An example value: the node's own, else what the schema implies, else (deep) one
        composed from its parts; _MISSING when there is none."""
        if depth > 12:
            return _MISSING
        own = node.get("examples")
        if own:
            return own[0]
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return node["enum"][0]
        name, target = self.deref(node)
        if name is not None:
            if not deep and self.is_section_def(name):
                return _MISSING
            return self.example_of(target, deep, depth + 1)
        if node.get("type") == "boolean":
            return True
        body = self.object_branch(node)
        if body is not None and (deep or body is node):
            out = {}
            for key, prop in body.get("properties", {}).items():
                value = self.example_of(prop, deep, depth + 1)
                if value is not _MISSING:
                    out[key] = value
            return out or _MISSING
        for branch in node.get("oneOf", ()):
            value = self.example_of(branch, deep, depth + 1)
            if value is not _MISSING:
                return value
        if node.get("type") == "array" and deep:
            value = self.example_of(node.get("items", {}), deep, depth + 1)
            return _MISSING if value is _MISSING else [value]
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and deep:
            value = self.example_of(extra, deep, depth + 1)
            return _MISSING if value is _MISSING else {self.key_name(node): value}
        return _MISSING

    def row(self, section: Section, name: str, prop: dict) -> str:
        where = f"{section.key}/properties/{name}"
        _, target = self.deref(prop)
        meaning = prop.get("description") or target.get("description", "")
        if not meaning:
            self.problems.append(f"{where}: no description")
        required = name in section.node.get("required", ())
        default = prop.get("default", target.get("default", _MISSING))
        default_cell = "required" if required else ("" if default is _MISSING else _code(_flow(default)))
        sub = self.sub_section(prop, where)
        example = self.example_of(prop, deep=False)
        if sub is not None:
            example_cell = f"see {self.link(sub)}"
        elif example is _MISSING:
            self.problems.append(f"{where}: no example")
            example_cell = ""
        else:
            example_cell = _code(_flow({name: example}))
        return (f"| `{name}` | {_cell(self.type_of(prop))} | {default_cell} | {_cell(meaning)} "
                f"| {_cell(example_cell)} |")

    def sub_section(self, node: dict, key: str) -> str | None:
        """The section that documents the object `node` holds, if any."""
        name, target = self.deref(node)
        if name is not None:
            return f"$defs/{name}" if self.is_section_def(name) else self.sub_section(target, f"$defs/{name}")
        if self.object_branch(node) is not None:
            return key if key in self.sections else None
        for i, branch in enumerate(node.get("oneOf", ())):
            found = self.sub_section(branch, f"{key}/oneOf/{i}")
            if found is not None:
                return found
        if isinstance(node.get("items"), dict):
            return self.sub_section(node["items"], f"{key}/items")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return self.sub_section(extra, f"{key}/additionalProperties")
        return None


def _flow(value: Any) -> str:
    """`value` as one line of YAML (flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True,
                          sort_keys=False).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if isinstance(value, dict) and len(value) == 1 and text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return text.removesuffix("...").strip()


def _block(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, width=100, allow_unicode=True,
                          sort_keys=False)


def _nest(path: tuple[str, ...], value: Any) -> Any:
    """`value` placed at `path` in a document, one item for each list step."""
    for step in reversed(path):
        value = [value] if step == "[]" else {step: value}
    return value


def generate(schema: dict) -> Reference:
    """The Markdown field reference of `schema` and the properties it could not document."""
    w = _Walker(schema)
    w.collect("$defs/settings", TITLES["settings"], w.defs["settings"], ())
    w.collect("$defs/service", TITLES["service"], w.defs["service"], ())
    # Definitions no document reaches still get a section (none today).
    for name in w.defs:
        if w.is_section_def(name) and f"$defs/{name}" not in w.sections:
            w.collect(f"$defs/{name}", TITLES.get(name, _words(name)), w.defs[name], ())
    out = [
        "# Catalog field reference",
        "",
        f"Generated from `{SCHEMA_PATH}` (catalog format version 1); do not edit by hand.",
        f"Regenerate with `{REGENERATE}`; `moncat schema` prints the schema itself.",
        "",
        "A catalog is a directory: one settings document (`moncat.yaml`) and service documents",
        "(any other `.yaml` or `.jsonnet` file, each starting with `service: <id>`). Each table",
        "lists an object's fields: its type, its default (\"required\" when it must be given), what",
        "it means and an example; the YAML block under it puts the examples together.",
        "",
        "Sections:",
        "",
    ]
    out += [f"- {w.link(key)}" for key in w.sections]
    out += ["- [Value types](#value-types)", ""]
    for section in w.sections.values():
        out += [f"## {section.title}", ""]
        meaning = section.node.get("description") or w.defs.get(section.key.split("/")[-1], {}).get(
            "description", "")
        if section.key.startswith("$defs/") and section.key.count("/") == 1 \
                and not meaning:
            w.problems.append(f"{section.key}: no description")
        if meaning:
            out += [meaning, ""]
        places = [".".join(shown for shown, _ in p).replace(".[]", "[]") for p in section.where if p]
        if places:
            out += ["Appears at: " + ", ".join(_code(p) for p in places) + ".", ""]
        out += ["| Field | Type | Default | Meaning | Example |", "|---|---|---|---|---|"]
        for name, prop in section.node.get("properties", {}).items():
            out.append(w.row(section, name, prop))
        out.append("")
        example = w.example_of(section.node, deep=False)
        if example is not _MISSING:
            at = tuple(step for _, step in section.where[0]) if section.where else ()
            out += ["```yaml", _block(_nest(at, example)).rstrip("\n"), "```", ""]
    out += ["## Value types", "", "| Name | Type | Meaning | Example |", "|---|---|---|---|"]
    for name, node in w.defs.items():
        if w.is_section_def(name):
            continue
        example = w.example_of(node, deep=True)
        if not node.get("description"):
            w.problems.append(f"$defs/{name}: no description")
        if example is _MISSING:
            w.problems.append(f"$defs/{name}: no example")
        cell = "" if example is _MISSING else _code(_flow(example))
        out.append(f"| `{name}` | {_cell(w.type_of(node))} | {_cell(node.get('description', ''))} "
                   f"| {_cell(cell)} |")
    out.append("")
    return Reference("\n".join(out), w.problems)


def full_example(schema: dict, kind: str) -> Any:
    """A whole document of `kind` (settings or service) built from every field's example."""
    return _Walker(schema).example_of(schema["$defs"][kind], deep=True)


def property_paths(schema: dict) -> list[tuple[str, str]]:
    """Every property of the schema as (JSON pointer of its object, property name)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            for name in node.get("properties", {}) if isinstance(node.get("properties"), dict) else ():
                found.append((pointer, name))
            for key, value in node.items():
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(schema.get("$defs", {}), "#/$defs")
    return found


__all__ = ["REGENERATE", "Reference", "anchor", "full_example", "generate", "property_paths"]
