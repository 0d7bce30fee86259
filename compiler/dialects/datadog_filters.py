"""Datadog dialect, tag filters: label matchers to `{key:value}` scopes, exact or refused.

Datadog stores tags lowercased, with characters other than letters, digits and `_-:./` turned
into underscores (https://docs.datadoghq.com/getting_started/tagging/). A matcher's value is
written as Datadog stores it, with a note (a warning at the alert): where two values differ only
that way, Datadog holds them as one. Nothing a catalog writes can add a wildcard, a comma or a
brace to a query: those characters are stored as `_`.

Regex matchers become filters only when the meaning is the same: a list of literals becomes
`key IN (a,b)`; `lit.*`, `.*lit`, `.*lit.*` become the prefix, suffix and substring wildcards of
https://docs.datadoghq.com/metrics/advanced-filtering/; and any other regex on a label whose
values the catalog lists (`label_values:`) becomes the list of those values it matches. That
page also forbids mixing `!`/`,` with `NOT`/`AND`/`IN`, so a filter is written in one style.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import Callable

from compiler.expr import ast

TAG_KEY = re.compile(r"[a-z][a-z0-9_.\-/]*")
MAX_TAG = 200
Values = Callable[[str], "tuple[str, ...] | None"]  # a label's declared values, if listed


def normalize(text: str) -> str:
    """A tag key or value as Datadog stores it (getting_started/tagging, "Defining tags"):
    lowercase; letters (Unicode included), digits and `_-:./` kept, every other character an
    underscore; at most 200 characters."""
    lowered = text.lower()
    return "".join(c if c.isalnum() or c in "_-:./" else "_" for c in lowered)[:MAX_TAG]


class FilterError(Exception):
    """A matcher with no exact Datadog filter: what it is, and why."""

    def __init__(self, construct: str, message: str):
        super().__init__(message)
        self.construct = construct
        self.message = message


@dataclass(frozen=True)
class _Piece:
    """One condition of a filter, in both spellings."""

    symbolic: str | None  # `key:value`, `!key:value`; None when only the functional form exists
    functional: str       # `key:value`, `NOT key:value`, `key IN (a,b)`


def tag_key(label: str, notes: list[str] | None = None) -> str:
    """A label name as the Datadog tag key it is stored under; refused when it does not start
    with a letter (a tag must)."""
    key = normalize(label)
    if not key[:1].isalpha() or len(label) >= MAX_TAG:
        raise FilterError(f"label {label!r}", f"label name {label!r} does not start with a "
                          "letter, as a Datadog tag must")
    if key != label and notes is not None:
        notes.append(f"label {label!r} is the Datadog tag key {key!r} (Datadog lowercases tags)")
    return key


def _value(label: str, value: str, notes: list[str]) -> str:
    if value == "":
        raise FilterError(f'{label}=""', f'{label}="" matches series without the label; Datadog '
                          "filters have no exact form of that")
    stored = normalize(value)
    if len(label) + 1 + len(value) > MAX_TAG:
        raise FilterError(f"{label}={value!r}", f"tag {label}:{value} is longer than the 200 "
                          "characters Datadog keeps")
    if stored != value:
        notes.append(f"{label}={value!r} is stored by Datadog as {label}:{stored}; a value that "
                     "differs only in case or in characters other than letters, digits and _-:./ "
                     "is the same tag there")
    return stored


_STAR = object()  # `.*` inside a regex


def _regex(label: str, pattern: str) -> list[list[object]]:
    """A regex as alternatives of literals and `.*`; FilterError for anything else."""
    alternatives: list[list[object]] = [[]]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "|":
            alternatives.append([])
            i += 1
        elif pattern.startswith(".*", i):
            alternatives[-1].append(_STAR)
            i += 2
        elif c == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            alternatives[-1].append(pattern[i + 1])
            i += 2
        elif c == "[" and i + 2 < len(pattern) and pattern[i + 2] == "]" and pattern[i + 1] not in "^\\]":
            alternatives[-1].append(pattern[i + 1])  # a one-character class is that character
            i += 3
        elif c in ".^$*+?()[]{}\\":
            raise FilterError(f"{label}=~{pattern!r}", f"regex {pattern!r} has no exact Datadog "
                              "filter: only literals, `|` and a leading or trailing `.*` do")
        else:
            alternatives[-1].append(c)
            i += 1
    out = []
    for alt in alternatives:
        merged: list[object] = []
        for part in alt:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif not (part is _STAR and merged and merged[-1] is _STAR):
                merged.append(part)
        out.append(merged)
    return out


def _wildcard(label: str, pattern: str, parts: list[object], notes: list[str]) -> str:
    """`lit`, `lit*`, `*lit` or `*lit*` for one alternative."""
    literals = [p for p in parts if isinstance(p, str)]
    if len(literals) != 1:
        raise FilterError(f"{label}=~{pattern!r}", f"regex {pattern!r} has no exact Datadog filter: "
                          "wildcards stand only at the start or end of a value")
    value = _value(label, literals[0], notes)
    return "".join("*" if p is _STAR else value for p in parts)


def _listed(m: ast.Matcher, key: str, values: tuple[str, ...], notes: list[str]) -> _Piece:
    """A regex on a label whose values are all listed: the exact list of those it matches
    (Prometheus regexes match the whole value)."""
    try:
        matched = sorted({_value(m.name, v, notes) for v in values if re.fullmatch(m.value, v)})
    except re.error:
        raise FilterError(f"{m.name}{m.op}{m.value!r}", f"regex {m.value!r} is not one Python "
                          "reads as Prometheus does") from None
    if not matched:
        raise FilterError(f"{m.name}{m.op}{m.value!r}", f"regex {m.value!r} matches none of the "
                          f"values label_values lists for {m.name}")
    if len(matched) == 1:
        value = matched[0]
        return _Piece(f"{'' if m.op == '=~' else '!'}{key}:{value}",
                      f"{'' if m.op == '=~' else 'NOT '}{key}:{value}")
    return _Piece(None, f"{key} {'IN' if m.op == '=~' else 'NOT IN'} ({','.join(matched)})")


def _matcher(m: ast.Matcher, values: Values, notes: list[str]) -> _Piece | None:
    """One matcher as a filter piece; None when it matches every series (`=~".*"`)."""
    key = tag_key(m.name, notes)
    if m.op in ("=", "!="):
        value = _value(m.name, m.value, notes)
        if m.op == "=":
            return _Piece(f"{key}:{value}", f"{key}:{value}")
        return _Piece(f"!{key}:{value}", f"NOT {key}:{value}")
    try:
        return _literal_regex(m, key, notes)
    except FilterError:
        listed = values(m.name)
        if listed is None or re.fullmatch(m.value, ""):
            raise
        return _listed(m, key, listed, notes)


def _literal_regex(m: ast.Matcher, key: str, notes: list[str]) -> _Piece | None:
    """A regex of literals and leading/trailing `.*`, as IN lists and wildcards."""
    alternatives = _regex(m.name, m.value)
    if any(not alt for alt in alternatives):
        raise FilterError(f"{m.name}{m.op}{m.value!r}", f"regex {m.value!r} matches the empty value "
                          "(series without the label); Datadog filters have no exact form of that")
    if all(alt == [_STAR] for alt in alternatives):
        if m.op == "=~":
            return None
        raise FilterError(f'{m.name}!~".*"', f'{m.name}!~".*" matches only series without the label')
    if all(len(alt) == 1 and isinstance(alt[0], str) for alt in alternatives):
        values = sorted({_value(m.name, alt[0], notes) for alt in alternatives})  # type: ignore[arg-type]
        if len(values) == 1:
            return _matcher(ast.Matcher(m.name, "=" if m.op == "=~" else "!=", values[0]),
                            lambda _: None, notes)
        listed = ",".join(values)
        return _Piece(None, f"{key} {'IN' if m.op == '=~' else 'NOT IN'} ({listed})")
    if any(alt == [_STAR] for alt in alternatives):
        raise FilterError(f"{m.name}{m.op}{m.value!r}", f"regex {m.value!r} mixes `.*` with other "
                          "alternatives")
    wildcards = [f"{key}:{_wildcard(m.name, m.value, alt, notes)}" for alt in alternatives]
    if len(wildcards) == 1:
        w = wildcards[0]
        return _Piece(w if m.op == "=~" else f"!{w}", w if m.op == "=~" else f"NOT {w}")
    if m.op == "!~":
        raise FilterError(f"{m.name}!~{m.value!r}", f"negated regex {m.value!r} with wildcard "
                          "alternatives has no exact Datadog filter")
    return _Piece(None, "(" + " OR ".join(sorted(wildcards)) + ")")


def scope(matchers: tuple[ast.Matcher, ...], values: Values = lambda _: None,
          notes: list[str] | None = None) -> str:
    """The `{...}` scope of a query: `{*}` when nothing filters. Raises FilterError; what
    Datadog stores differently goes to `notes`."""
    pieces = []
    notes = notes if notes is not None else []
    for m in matchers:
        if m.name == "__name__":
            raise FilterError("__name__ matcher", "a matcher on __name__ selects several metrics; "
                              "Datadog queries name one metric")
        piece = _matcher(m, values, notes)
        if piece is not None:
            pieces.append(piece)
    if not pieces:
        return "{*}"
    if all(p.symbolic is not None for p in pieces):
        return "{" + ",".join(p.symbolic for p in pieces) + "}"  # type: ignore[misc]
    return "{" + " AND ".join(p.functional for p in pieces) + "}"


def by(grouping: tuple[str, ...], notes: list[str] | None = None) -> str:
    """` by {a,b}` for a grouping, or nothing."""
    if not grouping:
        return ""
    return " by {" + ",".join(tag_key(g, notes) for g in grouping) + "}"
