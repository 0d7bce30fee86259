"""Validate stage: each raw document against the published JSON Schema of its format version."""
from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import fastjsonschema

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from compiler.diagnostics import Diagnostic, error
from compiler.loader import RawDocument

SCHEMA_FILE = "catalog-v1.schema.json"
SUPPORTED_VERSIONS = (1,)


@lru_cache(maxsize=1)
def catalog_schema() -> dict:
    """The catalog format's JSON Schema, as shipped in the package."""
    return json.loads(resources.files("compiler.schema").joinpath(SCHEMA_FILE).read_text("utf-8"))


def whole_value(pattern: str) -> str:
    """`pattern` with each `$` anchor written `\\Z`. The schema's patterns are ECMA-262, where
    `$` ends the input; in Python `$` also matches before a final line break, so `"svc\\n"` would
    pass `^[a-z0-9]...$` and become a file name with a newline in it."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = "\\Z"
        out.append(c)
        i += 1
    return "".join(out)


def _whole_values(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: whole_value(v) if k == "pattern" and isinstance(v, str) else _whole_values(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_whole_values(v) for v in node]
    return node


def _schema_for(kind: str) -> dict:
    schema = _whole_values(catalog_schema())
    schema.pop("oneOf")
    schema["$ref"] = f"#/$defs/{kind}"
    return schema


@lru_cache(maxsize=4)
def _validator(kind: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(_schema_for(kind))


@lru_cache(maxsize=4)
def _fast(kind: str) -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python code: about 20x faster than jsonschema on
    # valid documents. Our schema uses only draft-07 keywords, so it reads it as draft-07.
    # jsonschema still explains every invalid document, with all its errors and their paths.
    schema = _schema_for(kind)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def kind_of(doc: RawDocument) -> str | None:
    if isinstance(doc.data, dict):
        if "service" in doc.data:
            return "service"
        if "version" in doc.data:
            return "settings"
    return None


def validate(doc: RawDocument) -> list[Diagnostic]:
    """Schema problems of one document, each at the key or value it is about."""
    kind = kind_of(doc)
    if kind is None:
        what = _describe(doc.data)
        return [error(
            "MC010", f"document is {what} with neither `service:` nor `version:`", doc.loc(()),
            "a service document starts with `service: <id>`; the root settings file with `version: 1`",
        )]
    if kind == "settings" and doc.data.get("version") not in SUPPORTED_VERSIONS:
        return [error(
            "MC107", f"unsupported catalog format version {doc.data.get('version')!r}",
            doc.loc(("version",)), f"this moncat reads version(s) {', '.join(map(str, SUPPORTED_VERSIONS))}",
        )]
    try:
        _fast(kind)(doc.data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    validator = _validator(kind)
    out = []
    for err in validator.iter_errors(doc.data):
        if err.context:
            err = _number_for_string(err) or _best_branch(err) or err
        out.append(_diagnostic(doc, err))
    return out


def _number_for_string(err: ValidationError) -> ValidationError | None:
    """Inside a oneOf, a number where text was wanted is the likeliest story: YAML reads unquoted
    `0x30` (promtool's "0, 30 times") as the number 48."""
    for sub in err.context or ():
        if sub.validator == "type" and sub.validator_value == "string" \
                and isinstance(sub.instance, (int, float)) and not isinstance(sub.instance, bool):
            return sub
        deeper = _number_for_string(sub)
        if deeper is not None:
            return deeper
    return None


def _best_branch(err: ValidationError) -> ValidationError | None:
    """The most telling error of a oneOf: a branch whose type the value does not even have
    ("expected array" for a mapping) says less than one whose inside is wrong."""
    inside = [e for e in err.context or () if not (e.validator == "type" and not e.relative_path)]
    return best_match(inside or err.context or ())


def _describe(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _diagnostic(doc: RawDocument, err: ValidationError) -> Diagnostic:
    path = tuple(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        name = extra[0] if extra else "?"
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed fields: {', '.join(allowed)}"
        return error("MC101", f"unknown field {name!r}", doc.loc(path + (name,), key=True), hint)
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.validator_value
        return error("MC103", f"missing required field {missing!r}", doc.loc(path, key=True),
                     f"add `{missing}:`")
    if v == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        hint = f"write {want} here"
        if want == "string" and isinstance(err.instance, (int, float)) and not isinstance(err.instance, bool):
            hint = (f"YAML read this as the number {err.instance!r}: quote it, e.g. '0x30' "
                    "(unquoted 0x.., 1e3 or 010 are numbers in YAML)")
        return error("MC102", f"expected {want}, got {_describe(err.instance)}", doc.loc(path), hint)
    if v in ("enum", "const"):
        options = err.validator_value if v == "enum" else [err.validator_value]
        return error("MC104", f"{err.instance!r} is not allowed here",
                     doc.loc(path), f"use one of: {', '.join(map(str, options))}")
    if v == "propertyNames" or (err.relative_schema_path and "propertyNames" in err.relative_schema_path):
        bad = err.instance
        return error("MC105", f"invalid name {_shown(bad)}", doc.loc(path + (bad,), key=True),
                     _form_hint(err, "names are lower-case ids (letters, digits, _ . -); alerts "
                                "and metrics follow Prometheus naming"))
    if v == "pattern":
        return error("MC105", f"{_shown(err.instance)} does not have the expected form",
                     doc.loc(path), _form_hint(err, ""))
    if v == "maxLength":
        return error("MC105", f"{_shown(err.instance)} is too long", doc.loc(path),
                     _form_hint(err, ""))
    return error("MC100", f"invalid value: {err.message}", doc.loc(path),
                 "see compiler/schema/catalog-v1.schema.json for the expected shape")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...{text[-12:]} ({len(value)} characters)"


def _form_hint(err: ValidationError, fallback: str) -> str:
    """Why a name or value does not have its form, in the words that help fix it."""
    value = err.instance
    if err.validator == "maxLength":
        return (f"at most {err.validator_value} characters (it is {len(value)}): generated file "
                "names are made from names")
    if err.validator == "pattern" and isinstance(value, str):
        written = err.validator_value.replace("\\Z", "$")
        if value != value.rstrip() and re.search(whole_value(written), value.rstrip()):
            return ("remove the trailing line break or space: the whole value must match "
                    f"{written}")
        return fallback or f"the whole value must match {written}"
    return fallback
