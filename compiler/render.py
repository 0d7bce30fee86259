"""Render stage: artifacts to bytes, deterministically (sorted keys, no timestamps, no versions)."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

from compiler.artifacts import Artifact, Digest, ManagedObject


_PLAIN = re.compile(r"[A-Za-z_/][\w .,/()\-+*<>=!%&|^$@~\[\]{}\"`?:;#']*|[0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*")
_RESERVED = re.compile(r"(?i:true|false|yes|no|on|off|null|y|n)")


_SCALARS: dict[str, str] = {}


def _scalar(value: Any) -> str:
    if type(value) is str:
        # Keys, label values and annotations repeat across thousands of rules.
        cached = _SCALARS.get(value)
        if cached is None:
            cached = _SCALARS[value] = _str_scalar(value)
        return cached
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return _str_scalar(str(value))


def _str_scalar(text: str) -> str:
    if (_PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text) and ": " not in text
            and " #" not in text and not text.endswith((" ", ":"))):
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _block(text: str, indent: str) -> str | None:
    """A literal block scalar, or None when the text needs a quoted scalar to survive exactly."""
    if "\r" in text or not all(line.isprintable() for line in text.split("\n")):
        return None
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    lines = body.split("\n") + ([""] * (trailing - 1) if trailing > 1 else [])
    indicator = "2" if body[:1] in (" ", "\t") else ""
    pad = indent + "  "
    return f"|{indicator}{chomp}\n" + "\n".join(pad + line if line else "" for line in lines)


class Splice(list):
    """Items that stand in the list holding them as if written there one by one, rendered as a
    block that is remembered (per indentation) with them: a service's part of a catalog-wide
    list, which the incremental cache stores already rendered. YAML artifacts only."""

    def lines(self, indent: str) -> list[str]:
        rendered = self.__dict__.setdefault("rendered", {})
        found = rendered.get(indent)
        if found is None:
            if self.__dict__.get("bare"):
                raise ValueError("a bare Splice keeps its lines at the top level only")
            found = rendered[indent] = []
            _emit(self, indent, found)
        return found

    def bare(self) -> "Splice":
        """Its block at the top level (no indentation) without its items, which are not read
        again: the form the incremental cache keeps (unpickling the items cost more than the
        rest of a service's route tests). It renders only there. Its lines are kept joined, one
        text with the newlines in it, which `to_yaml` joins with the others to the same bytes:
        a recompile at 10,000 alerts unpickled 300,000 lines of route tests, 10 ms."""
        out = Splice()
        out.__dict__.update(rendered={"": _as_one(self.lines(""))}, bare=True)
        return out


class Block(dict):
    """A map that stands in a list as any other map, whose lines there are rendered when first
    asked (per indentation) and kept with it: a service's route in a catalog-wide routing tree,
    which the incremental cache stores with its lines (`ready`), so that an unchanged service's
    route is not rendered again. Readers see the map. YAML artifacts only; like every generated
    object, it is not changed once made (its lines would still be those of the map as it was)."""

    def lines(self, indent: str) -> list[str]:
        rendered = self.__dict__.setdefault("rendered", {})
        found = rendered.get(indent)
        if found is None:
            found = rendered[indent] = []
            _pairs(self, indent + "- ", indent + "  ", indent + "  ", found)
        return found

    def ready(self, indent: str) -> "Block":
        """Itself, its lines at `indent` rendered now and kept as one text (which `to_yaml`
        joins with the others to the same bytes), as the cache stores it."""
        self.__dict__["rendered"] = {indent: _as_one(self.lines(indent))}
        return self


def _as_one(lines: list[str]) -> list[str]:
    """Rendered lines kept as one text with the newlines in it (none when there are none):
    `to_yaml` joins it with the others to the same bytes, and it unpickles as one string."""
    return ["\n".join(lines)] if lines else []


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Block-style YAML for plain data, in the order given (callers sort free-form maps)."""
    if isinstance(value, dict):
        _pairs(value, indent, indent, indent, out)
    else:
        for item in value:
            if type(item) is Splice or type(item) is Block and item:
                out.extend(item.lines(indent))
            elif isinstance(item, dict) and item:
                _pairs(item, indent + "- ", indent + "  ", indent + "  ", out)
            elif isinstance(item, list) and item:
                out.append(indent + "-")
                _emit(item, indent + "  ", out)
            else:
                _entry(indent + "-", item, indent, out)


def _pairs(value: dict, first: str, rest: str, indent: str, out: list[str]) -> None:
    """A map's entries, the first one led by `first` (a list item's dash), the others by `rest`.
    Single-line strings, nine in ten values, are written here rather than through `_entry`: the
    emitter runs over every rule of every file."""
    scalars = _SCALARS
    lead = first
    for key, item in value.items():
        name = scalars.get(key) if type(key) is str else None
        head = lead + (name if name is not None else _scalar(key)) + ":"
        lead = rest
        if type(item) is str and "\n" not in item:
            text = scalars.get(item)
            out.append(head + " " + (text if text is not None else _scalar(item)))
        else:
            _entry(head, item, indent, out)


def _entry(lead: str, value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if value:
            out.append(lead)
            _emit(value, indent + "  ", out)
        else:
            out.append(lead + " {}")
    elif isinstance(value, list):
        if value:
            out.append(lead)
            _emit(value, indent, out)
        else:
            out.append(lead + " []")
    elif isinstance(value, str) and "\n" in value and (block := _block(value, indent)) is not None:
        out.append(lead + " " + block)
    else:
        out.append(lead + " " + _scalar(value))


def to_yaml(data: Any) -> str:
    """YAML for the plain data targets build. Objects are built in a fixed, readable order
    (`alert:` before `expr:`) and free-form maps (labels, annotations) are sorted where they are
    built. Hand-written rather than yaml.dump because PyYAML's representer took 3 s of a
    10,000-alert compile; tests check that PyYAML reads every file back to the same data."""
    out: list[str] = []
    _emit(data, "", out)
    return "\n".join(out) + "\n"


_ORJSON_OPTIONS = (orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
                   | orjson.OPT_APPEND_NEWLINE)


def to_json(data: Any) -> str:
    """Pretty JSON with sorted keys. orjson writes the same bytes as `json.dumps(indent=2,
    sort_keys=True, ensure_ascii=False)` (floats aside: `1e-5` where json writes `1e-05`) ten
    times faster; json's indenting encoder is pure Python and was a third of a compile."""
    try:
        return orjson.dumps(data, option=_ORJSON_OPTIONS).decode("utf-8")
    except TypeError:  # what orjson refuses (integers beyond 64 bits): the standard encoder
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(artifact: Artifact) -> bytes:
    if type(artifact.data) is bytes:
        return artifact.data  # rendered already
    if artifact.format == "yaml":
        head = f"# {artifact.header}\n" if artifact.header else ""
        return (head + to_yaml(artifact.data)).encode("utf-8")
    if artifact.format == "json":
        return to_json(artifact.data).encode("utf-8")
    return str(artifact.data).encode("utf-8")


def rendered(artifact: Artifact) -> Artifact:
    """The artifact with its data rendered to bytes and its objects' contents replaced by their
    hashes: the smallest form that still gives its file and its manifest entries (a page's text
    takes two or four bytes a character as a str once it holds one non-Latin-1 character)."""
    objects = tuple(ManagedObject(o.id, o.kind, o.target, o.source,
                                  o.content if type(o.content) is Digest else Digest(content_hash(o.content)))
                    for o in artifact.objects)
    return Artifact(artifact.path, render(artifact), artifact.format, objects, artifact.header)


# What orjson writes differently from json: NaN and infinities as `null`, floats between 1e-10 and
# 1e-4 as `0.00001` / `1e-7` where json writes `1e-05` / `1e-07`. Text that might hold one
# (a false alarm only costs the slow path) is canonicalised by json, so every hash stays the one
# json's canonical form gives.
_SMALL_EXPONENT = re.compile(rb"e-[0-9](?![0-9])")


def canonical_json(data: Any) -> bytes:
    """An object's canonical JSON in UTF-8: `json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`, by orjson (10x faster) wherever its bytes are the same."""
    try:
        raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # non-str keys, integers beyond 64 bits, lone surrogates: json decides
        raw = None
    if raw is None or b"null" in raw or b"0.0000" in raw or _SMALL_EXPONENT.search(raw):
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    return raw


def content_hash(data: Any) -> str:
    """sha256 of an object's canonical JSON: the same object always hashes the same."""
    return "sha256:" + hashlib.sha256(canonical_json(data)).hexdigest()
