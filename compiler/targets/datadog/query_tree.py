"""Datadog target, query tree: a metric monitor query as the tree querycheck parses it into, and
tag filters as predicates over a series' tags.

Tag filters follow https://docs.datadoghq.com/metrics/advanced-filtering/: `{*}`; a symbolic list
`key:value,!key:value` (every term must hold); or the functional form with AND, OR, NOT, IN,
NOT IN and parentheses; `*` in a value is a wildcard, and a term without `:` is a bare tag.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable, Union

Tags = dict[str, str]
Predicate = Callable[[Tags], bool]


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Metric:
    """`space:name{filter} by {groups}.method()...`"""

    space: str                      # avg, sum, min, max or pXX
    name: str
    scope: str                      # the filter's text, without braces
    groups: tuple[str, ...] = ()
    modifiers: tuple[tuple[str, str], ...] = ()  # (.as_count, ""), (.rollup, "sum, 60")

    @property
    def count_mode(self) -> str:
        """`as_count`, `as_rate` or "" (not given)."""
        return next((m for m, _ in self.modifiers if m in ("as_count", "as_rate")), "")


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple["Node | str", ...]  # strings: quoted or keyword arguments, as written


@dataclass(frozen=True)
class BinOp:
    op: str
    lhs: "Node"
    rhs: "Node"


@dataclass(frozen=True)
class Neg:
    expr: "Node"


Node = Union[Num, Metric, Func, BinOp, Neg]


def leaves(node: "Node | str") -> list[Metric]:
    """The metric queries of a tree, in order."""
    if isinstance(node, Metric):
        return [node]
    if isinstance(node, Func):
        return [m for a in node.args for m in leaves(a)]
    if isinstance(node, BinOp):
        return leaves(node.lhs) + leaves(node.rhs)
    if isinstance(node, Neg):
        return leaves(node.expr)
    return []


def has_arithmetic(node: "Node | str") -> bool:
    if isinstance(node, BinOp):
        return True
    if isinstance(node, Neg):
        return True
    if isinstance(node, Func):
        return any(has_arithmetic(a) for a in node.args)
    return False


# --- tag filters ---------------------------------------------------------------------------------
_FUNCTIONAL = re.compile(r"\b(AND|OR|NOT|IN|and|or|not|in)\b")
_TOKEN = re.compile(r"\s*(\(|\)|,|[^\s(),]+)")


def _term(text: str) -> Predicate:
    """`key:value` (value may hold `*`), `key:*`, or a bare tag."""
    negate = text.startswith("!")
    text = text.lstrip("!")
    key, _, value = text.partition(":")
    if not _:
        return lambda tags: (key in tags) != negate  # a bare tag: key present

    def test(tags: Tags) -> bool:
        return (key in tags and fnmatch.fnmatchcase(tags[key], value)) != negate
    return test


class BooleanGrammar:
    """Recursive descent over `or := and (OR and)*; and := unary (AND unary)*`, shared by tag
    filters and composite monitor queries; subclasses read the unary terms and combine."""

    OR, AND = "OR", "AND"

    def __init__(self, toks: list[str]):
        self.toks = toks
        self.i = 0

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self) -> str:
        tok = self.peek()
        self.i += 1
        return tok

    def is_op(self, tok: str, op: str) -> bool:
        return tok == op

    def parse(self):
        out = self.disjunction()
        if self.i != len(self.toks):
            raise ValueError(f"unexpected {self.peek()!r}")
        return out

    def disjunction(self):
        parts = [self.conjunction()]
        while self.is_op(self.peek(), self.OR):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else self.any_of(parts)

    def conjunction(self):
        parts = [self.unary()]
        while self.is_op(self.peek(), self.AND):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else self.all_of(parts)

    def unary(self):
        raise NotImplementedError

    def any_of(self, parts: list):
        raise NotImplementedError

    def all_of(self, parts: list):
        raise NotImplementedError


class _Functional(BooleanGrammar):
    """unary := NOT unary | ( or ) | key [NOT] IN ( v, ... ) | term."""

    def __init__(self, text: str):
        super().__init__([m.group(1) for m in _TOKEN.finditer(text)])

    def is_op(self, tok: str, op: str) -> bool:
        return tok.upper() == op

    def any_of(self, parts: list[Predicate]) -> Predicate:
        return lambda tags: any(p(tags) for p in parts)

    def all_of(self, parts: list[Predicate]) -> Predicate:
        return lambda tags: all(p(tags) for p in parts)

    def unary(self) -> Predicate:
        tok = self.take()
        if tok.upper() == "NOT":
            inner = self.unary()
            return lambda tags: not inner(tags)
        if tok == "(":
            inner = self.disjunction()
            if self.take() != ")":
                raise ValueError("unclosed ( in tag filter")
            return inner
        negated = self.peek().upper() == "NOT" and self.i + 1 < len(self.toks) and \
            self.toks[self.i + 1].upper() == "IN"
        if negated or self.peek().upper() == "IN":
            self.i += 2 if negated else 1
            values = self.values()
            key = tok

            def listed(tags: Tags) -> bool:
                return (key in tags and any(fnmatch.fnmatchcase(tags[key], v) for v in values)) != negated
            return listed
        return _term(tok)

    def values(self) -> list[str]:
        if self.take() != "(":
            raise ValueError("IN needs a (list)")
        out = []
        while self.peek() not in (")", ""):
            tok = self.take()
            if tok != ",":
                out.append(tok)
        self.take()
        return out


def tag_filter(scope: str) -> Predicate:
    """The predicate of a `{...}` scope's text."""
    scope = scope.strip()
    if scope in ("", "*"):
        return lambda tags: True
    if _FUNCTIONAL.search(scope):
        return _Functional(scope).parse()
    parts = [_term(p.strip()) for p in scope.split(",")]
    return lambda tags: all(p(tags) for p in parts)
