"""Import stage, Datadog tag filters: a query's `{...}` scope as PromQL label matchers, the
reverse of compiler/dialects/datadog_filters.py. `key:value` and `!key:value` (or `NOT`),
`key IN (a,b)` and `NOT IN`, the wildcards `lit*`, `*lit`, `*lit*` and their `OR` inside
parentheses; pieces joined by `,` or ` AND `. Anything else (a bare `key:*`, `OR` across keys,
`$variables`) raises NoForm: callers check the result by translating it back."""
from __future__ import annotations

import re


class NoForm(Exception):
    """The query has no PromQL form here; the message says why."""

_KEY = re.compile(r"[a-z][a-z0-9_]*")
_VALUE = re.compile(r"[a-z0-9_.\-/:]+")
_SPECIAL = set(".^$*+?()[]{}\\|")


def _literal(value: str) -> str:
    """A tag value as a regex matching exactly it."""
    return "".join("\\" + c if c in _SPECIAL else c for c in value)


def _wildcard(piece: str, value: str) -> str:
    """`lit`, `lit*`, `*lit` or `*lit*` as a regex of the whole value."""
    core = value.strip("*")
    if not _VALUE.fullmatch(core) or "*" in core or value.count("*") != len(value) - len(core):
        raise NoForm(f"tag filter {piece!r} has no exact label matcher")
    head = ".*" if value.startswith("*") else ""
    tail = ".*" if value.endswith("*") else ""
    return head + _literal(core) + tail


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _piece(piece: str) -> str:
    piece = piece.strip()
    m = re.fullmatch(r"([a-z][a-z0-9_]*) (NOT )?IN \(([^()]*)\)", piece)
    if m:
        values = [v.strip() for v in m.group(3).split(",")]
        if not values or not all(_VALUE.fullmatch(v) for v in values):
            raise NoForm(f"tag values {m.group(3)!r}")
        return f'{m.group(1)}{"!~" if m.group(2) else "=~"}"{_escaped("|".join(map(_literal, values)))}"'
    if piece.startswith("(") and piece.endswith(")"):
        alternatives = [a.strip() for a in piece[1:-1].split(" OR ")]
        keys = {a.partition(":")[0] for a in alternatives}
        if len(keys) != 1 or len(alternatives) < 2:
            raise NoForm(f"tag filter {piece!r} has no exact label matcher")
        regex = "|".join(_wildcard(piece, a.partition(":")[2]) for a in alternatives)
        return f'{keys.pop()}=~"{_escaped(regex)}"'
    negated = piece.startswith("!") or piece.startswith("NOT ")
    key, _, value = piece.removeprefix("NOT ").lstrip("!").partition(":")
    if not _KEY.fullmatch(key) or not value.strip("*"):
        raise NoForm(f"tag filter {piece!r} has no exact label matcher")
    if "*" not in value:
        if not _VALUE.fullmatch(value):
            raise NoForm(f"tag filter {piece!r} has no exact label matcher")
        return f'{key}{"!=" if negated else "="}"{_escaped(value)}"'
    return f'{key}{"!~" if negated else "=~"}"{_escaped(_wildcard(piece, value))}"'


def _split(scope: str) -> list[str]:
    """The pieces of a scope: ` AND `-joined (functional) or `,`-joined, outside parentheses."""
    if " AND " in scope:
        return scope.split(" AND ")
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(scope):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            pieces.append(scope[start:i])
            start = i + 1
    return pieces + [scope[start:]]


def matchers(scope: str) -> str:
    """The PromQL matchers (inside `{}`) of a Datadog scope; "" for `*`."""
    scope = scope.strip()
    if scope in ("*", ""):
        return ""
    return ", ".join(_piece(p) for p in _split(scope))
