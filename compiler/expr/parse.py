"""Expression front end: promql-parser's tree mapped into our AST; errors get a column."""
from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass

import promql_parser as pp

from compiler.expr import ast
from compiler.expr.depth import nesting
from compiler.expr.locate import locate_error
from compiler.limits import MAX_EXPR_DEPTH


@dataclass(frozen=True)
class ParseError(Exception):
    """PromQL that does not parse: the message and the 0-based offset in the source."""

    message: str
    offset: int


class NestingError(ParseError):
    """PromQL nested deeper than moncat reads (MAX_EXPR_DEPTH); promtool may still accept it."""


_CARD = {
    "OneToOne": "one-to-one", "ManyToOne": "many-to-one",
    "OneToMany": "one-to-many", "ManyToMany": "many-to-many",
}
_MATCH = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _ms(td) -> int:
    return int(round(td.total_seconds() * 1000))


def _name(enum_value) -> str:
    return str(enum_value).rsplit(".", 1)[-1]


class _Unsupported(Exception):
    def __init__(self, what: str):
        self.what = what


_VARIABLE = re.compile(r"\$__[a-z_]+|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_WINDOW_VARIABLE = re.compile(r"\[(" + _VARIABLE.pattern + r")([]:])")


def _substitute(source: str) -> tuple[str, dict[int, str]]:
    """Dashboard variables in range windows become same-length sentinel durations, so offsets in
    errors still point into the text as written."""
    sentinels: dict[int, str] = {}
    names: dict[str, int] = {}

    def repl(m: re.Match) -> str:
        var = m.group(1)
        idx = names.setdefault(var, len(names) + 1)
        ms = idx * 10_000 + 7  # an odd window nobody writes by hand
        sentinels[ms] = var
        return "[" + f"{ms}ms".ljust(len(var)) + m.group(2)

    return _WINDOW_VARIABLE.sub(repl, source), sentinels


def _restore(node: ast.Expr, sentinels: dict[int, str]) -> ast.Expr:
    # Per node type, like ast.without_parens: a dashboard's every query is parsed with its
    # variables, and the generic walk over dataclasses.fields() copied every node of every tree.
    # A subtree without a sentinel window is returned as it is (same object).
    if isinstance(node, ast.RangeSelector):
        return dataclasses.replace(node, range_var=sentinels[node.range_ms]) if node.range_ms in sentinels else node
    if isinstance(node, (ast.Subquery, ast.Unary, ast.Paren)):
        inner = _restore(node.expr, sentinels)
        return node if inner is node.expr else dataclasses.replace(node, expr=inner)
    if isinstance(node, ast.Binary):
        lhs, rhs = _restore(node.lhs, sentinels), _restore(node.rhs, sentinels)
        return node if lhs is node.lhs and rhs is node.rhs else dataclasses.replace(node, lhs=lhs, rhs=rhs)
    if isinstance(node, ast.Aggregation):
        inner = _restore(node.expr, sentinels)
        param = node.param if node.param is None else _restore(node.param, sentinels)
        if inner is node.expr and param is node.param:
            return node
        return dataclasses.replace(node, expr=inner, param=param)
    if isinstance(node, ast.Call):
        args = tuple(_restore(a, sentinels) for a in node.args)
        return node if all(a is b for a, b in zip(args, node.args)) else dataclasses.replace(node, args=args)
    return node  # Number, String, Selector: no window below


@functools.lru_cache(maxsize=1 << 16)
def parse(source: str, variables: bool = False) -> ast.Expr:
    """Parse PromQL into our AST; raise ParseError with an offset into `source`. With
    `variables`, range windows may be dashboard variables such as `[$__rate_interval]`.

    Memoised: the same text is parsed by the build, then again where a check reads the generated
    output back (cross-target, dashboard JSON), 45% of the calls. The trees are frozen, so one
    may be shared; errors are not kept and are raised anew."""
    if len(source) > MAX_EXPR_DEPTH:  # shorter text cannot nest deeper than it is long
        depth = nesting(source, MAX_EXPR_DEPTH)
        if depth.levels > MAX_EXPR_DEPTH:
            raise NestingError(
                f"expression nests {depth.levels} levels deep; moncat reads at most "
                f"{MAX_EXPR_DEPTH} (each parenthesis, call and operator chained at one level "
                "counts)", depth.offset)
    sentinels: dict[int, str] = {}
    if variables and "$" in source:
        source, sentinels = _substitute(source)
    try:
        tree = pp.parse(source)
    except ValueError as exc:
        msg = str(exc)
        raise ParseError(msg, locate_error(source, msg)) from None
    try:
        converted = _convert(tree)
        return _restore(converted, sentinels) if sentinels else converted
    except _Unsupported as exc:
        raise ParseError(f"{exc.what} is not supported by Prometheus 2.x",
                         locate_error(source, exc.what)) from None


def _selector(vs) -> ast.Selector:
    ms = vs.matchers
    if ms.or_matchers:
        raise _Unsupported("'or' inside label matchers")
    matchers = tuple(ast.Matcher(m.name, _MATCH[_name(m.op)], m.value) for m in ms.matchers)
    offset = _ms(vs.offset) if vs.offset is not None else None
    at = None
    if vs.at is not None:
        kind = _name(vs.at.type)
        at = "start()" if kind == "Start" else "end()" if kind == "End" else vs.at.at.timestamp()
    return ast.Selector(vs.name, matchers, offset, at)


def _convert(node) -> ast.Expr:
    kind = type(node).__name__
    if kind == "NumberLiteral":
        return ast.Number(float(node.val))
    if kind == "StringLiteral":
        return ast.String(node.val)
    if kind == "VectorSelector":
        return _selector(node)
    if kind == "MatrixSelector":
        return ast.RangeSelector(_selector(node.vector_selector), _ms(node.range))
    if kind == "ParenExpr":
        return ast.Paren(_convert(node.expr))
    if kind == "UnaryExpr":
        return ast.Unary("-", _convert(node.expr))
    if kind == "SubqueryExpr":
        if node.at is not None:
            raise _Unsupported("'@' on a subquery")
        return ast.Subquery(
            _convert(node.expr), _ms(node.range),
            _ms(node.step) if node.step is not None else None,
            _ms(node.offset) if node.offset is not None else None,
        )
    if kind == "Call":
        return ast.Call(node.func.name, tuple(_convert(a) for a in node.args))
    if kind == "AggregateExpr":
        mod = node.modifier
        grouping: tuple[str, ...] = ()
        without = grouped = False
        if mod is not None:
            grouped = True
            without = _name(mod.type) == "Without"
            grouping = tuple(mod.labels)
        param = _convert(node.param) if node.param is not None else None
        return ast.Aggregation(str(node.op), _convert(node.expr), param, grouping, without, grouped)
    if kind == "BinaryExpr":
        mod = node.modifier
        op = str(node.op)
        matching = None
        return_bool = False
        if mod is not None:
            return_bool = bool(mod.return_bool)
            fill = getattr(mod, "fill_values", None)
            if fill is not None and any(getattr(fill, a, None) is not None for a in ("lhs", "rhs")):
                raise _Unsupported("'fill' modifiers")
            lm = mod.matching
            card = _CARD[_name(mod.card)]
            if lm is not None or card != "one-to-one" or mod.group_labels:
                matching = ast.VectorMatching(
                    card=card,
                    on=lm is not None and _name(lm.type) == "Include",
                    labels=tuple(lm.labels) if lm is not None else (),
                    include=tuple(mod.group_labels or ()),
                    explicit=lm is not None,
                )
        return ast.Binary(op, _convert(node.lhs), _convert(node.rhs), return_bool, matching)
    raise _Unsupported(f"expression of kind {kind}")


def is_number(node: ast.Expr) -> bool:
    while isinstance(node, ast.Paren):
        node = node.expr
    return isinstance(node, ast.Number) and not math.isnan(node.value)
