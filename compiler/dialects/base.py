"""Dialect generators, base: one small method per AST node, `unsupported()` collected by level.

A dialect subclasses Generator and overrides only the nodes it spells differently. The base
spells canonical PromQL, so the `promql` dialect is the base itself.
"""
from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring

from compiler.durations import format_ms
from compiler.expr import ast


class ErrorLevel(enum.Enum):
    IGNORE = "ignore"   # collect nothing
    WARN = "warn"       # collect, keep generating
    RAISE = "raise"     # stop at the first construct the dialect cannot express


@dataclass(frozen=True)
class Unsupported:
    """A construct the dialect cannot express exactly; never emitted silently different."""

    construct: str
    message: str


class UnsupportedError(Exception):
    def __init__(self, problem: Unsupported):
        super().__init__(problem.message)
        self.problem = problem


PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}


def quote(value: str) -> str:
    """A PromQL double-quoted string; escapes quotes, backslashes and control characters."""
    if isinstance(value, str):  # what json.dumps(value, ensure_ascii=False) calls, minus its setup
        return encode_basestring(value)
    return json.dumps(value, ensure_ascii=False)


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Generator:
    """Canonical PromQL: one line, Prometheus' own spacing."""

    def __init__(self, level: ErrorLevel = ErrorLevel.WARN):
        self.level = level
        self.unsupported_messages: list[Unsupported] = []

    def unsupported(self, construct: str, message: str) -> str:
        problem = Unsupported(construct, message)
        if self.level is ErrorLevel.RAISE:
            raise UnsupportedError(problem)
        if self.level is ErrorLevel.WARN:
            self.unsupported_messages.append(problem)
        return ""

    def generate(self, node: ast.Expr) -> str:
        return getattr(self, "gen_" + type(node).__name__.lower())(node)

    def gen_number(self, node: ast.Number) -> str:
        return number(node.value)

    def gen_string(self, node: ast.String) -> str:
        return quote(node.value)

    def matcher(self, m: ast.Matcher) -> str:
        return f"{m.name}{m.op}{quote(m.value)}"

    def gen_selector(self, node: ast.Selector) -> str:
        inner = ", ".join(self.matcher(m) for m in node.matchers)
        text = node.metric or ""
        if inner or not text:
            text += "{" + inner + "}"
        return text + self.modifiers(node.offset_ms, node.at)

    def modifiers(self, offset_ms: int | None, at: float | str | None = None) -> str:
        text = ""
        if at is not None:
            text += f" @ {at}" if isinstance(at, str) else f" @ {number(at)}"
        if offset_ms:
            sign = "-" if offset_ms < 0 else ""
            text += f" offset {sign}{format_ms(abs(offset_ms))}"
        return text

    def gen_rangeselector(self, node: ast.RangeSelector) -> str:
        sel = node.selector
        bare = ast.Selector(sel.metric, sel.matchers)
        window = node.range_var or format_ms(node.range_ms)
        return f"{self.generate(bare)}[{window}]" + self.modifiers(sel.offset_ms, sel.at)

    def gen_subquery(self, node: ast.Subquery) -> str:
        step = format_ms(node.step_ms) if node.step_ms else ""
        return f"{self.generate(node.expr)}[{format_ms(node.range_ms)}:{step}]" + self.modifiers(node.offset_ms)

    def gen_call(self, node: ast.Call) -> str:
        return f"{node.func}({', '.join(self.generate(a) for a in node.args)})"

    def gen_aggregation(self, node: ast.Aggregation) -> str:
        text = node.op
        if node.grouped:
            text += f" {'without' if node.without else 'by'} ({', '.join(node.grouping)})"
        args = ([self.generate(node.param)] if node.param is not None else []) + [self.generate(node.expr)]
        return f"{text} ({', '.join(args)})" if node.grouped else f"{text}({', '.join(args)})"

    def gen_binary(self, node: ast.Binary) -> str:
        op = node.op
        if node.return_bool:
            op += " bool"
        m = node.matching
        if m is not None:
            if m.explicit:
                op += f" {'on' if m.on else 'ignoring'} ({', '.join(m.labels)})"
            if m.card in ("many-to-one", "one-to-many"):
                op += " group_left" if m.card == "many-to-one" else " group_right"
                if m.include:
                    op += f" ({', '.join(m.include)})"
        return f"{self.operand(node.lhs, node.op, False)} {op} {self.operand(node.rhs, node.op, True)}"

    def operand(self, child: ast.Expr, op: str, right: bool) -> str:
        text = self.generate(child)
        if isinstance(child, ast.Binary):
            mine, theirs = PRECEDENCE.get(op, 0), PRECEDENCE.get(child.op, 0)
            # '^' is right-associative; everything else is left-associative.
            if theirs < mine or (theirs == mine and right != (op == "^")):
                return f"({text})"
        return text

    def gen_unary(self, node: ast.Unary) -> str:
        inner = self.generate(node.expr)
        if isinstance(node.expr, ast.Binary):
            inner = f"({inner})"
        return f"{node.op}{inner}"

    def gen_paren(self, node: ast.Paren) -> str:
        return f"({self.generate(node.expr)})"
