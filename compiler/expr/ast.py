"""Expression AST: the small typed tree every dialect generator reads."""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Union

MATCH_OPS = ("=", "!=", "=~", "!~")
COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")
SET_OPS = ("and", "or", "unless")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # one of MATCH_OPS
    value: str


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Selector:
    """An instant vector selector; `offset_ms` may be negative; `at` is seconds, 'start()' or 'end()'."""

    metric: str | None
    matchers: tuple[Matcher, ...] = ()
    offset_ms: int | None = None
    at: float | str | None = None


@dataclass(frozen=True)
class RangeSelector:
    selector: Selector
    range_ms: int
    range_var: str | None = None  # a dashboard variable such as $__rate_interval


@dataclass(frozen=True)
class Subquery:
    expr: "Expr"
    range_ms: int
    step_ms: int | None = None
    offset_ms: int | None = None


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple["Expr", ...]


@dataclass(frozen=True)
class Aggregation:
    op: str
    expr: "Expr"
    param: "Expr | None" = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    grouped: bool = False  # whether a by/without clause was written at all


@dataclass(frozen=True)
class VectorMatching:
    card: str  # one-to-one | many-to-one | one-to-many | many-to-many
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    explicit: bool = False  # on()/ignoring() was written


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: "Expr"
    rhs: "Expr"
    return_bool: bool = False
    matching: VectorMatching | None = None


@dataclass(frozen=True)
class Unary:
    op: str
    expr: "Expr"


@dataclass(frozen=True)
class Paren:
    expr: "Expr"


Expr = Union[Number, String, Selector, RangeSelector, Subquery, Call, Aggregation, Binary, Unary, Paren]


def without_parens(node: Expr) -> Expr:
    """The same tree without Paren nodes: once parsed, parentheses change nothing, and analyses
    that compare shapes (thresholds, Datadog markers) must not see them."""
    # Written per node type rather than over dataclasses.fields(): shape analyses call this on
    # every panel and alert, and the generic walk was a tenth of a 1,000-alert compile. A subtree
    # without parentheses is returned as it is (same object), so unchanged trees cost no copies.
    while isinstance(node, Paren):
        node = node.expr
    if isinstance(node, (Subquery, Unary)):
        inner = without_parens(node.expr)
        return node if inner is node.expr else dataclasses.replace(node, expr=inner)
    if isinstance(node, Binary):
        lhs, rhs = without_parens(node.lhs), without_parens(node.rhs)
        return node if lhs is node.lhs and rhs is node.rhs else dataclasses.replace(node, lhs=lhs, rhs=rhs)
    if isinstance(node, Aggregation):
        inner = without_parens(node.expr)
        param = node.param if node.param is None else without_parens(node.param)
        if inner is node.expr and param is node.param:
            return node
        return dataclasses.replace(node, expr=inner, param=param)
    if isinstance(node, Call):
        args = tuple(without_parens(a) for a in node.args)
        return node if all(a is b for a, b in zip(args, node.args)) else dataclasses.replace(node, args=args)
    return node  # Number, String, Selector, RangeSelector: nothing below can be a Paren


def walk(node: Expr):
    """Every node of the tree, parents first, left to right (iterative: a chain of a thousand
    `+` would otherwise cost a thousand nested generators per node)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def children(node: Expr) -> tuple[Expr, ...]:
    # Walks call this on every node: one look-up by exact type (no node type is subclassed).
    return _CHILDREN.get(type(node), _no_children)(node)


def _no_children(node: Any) -> tuple[Expr, ...]:
    return ()


_CHILDREN: dict[type, Callable[[Any], tuple[Expr, ...]]] = {
    Number: _no_children, String: _no_children, Selector: _no_children,
    RangeSelector: lambda n: (n.selector,),
    Subquery: lambda n: (n.expr,), Paren: lambda n: (n.expr,), Unary: lambda n: (n.expr,),
    Call: lambda n: n.args,
    Aggregation: lambda n: (n.param, n.expr) if n.param is not None else (n.expr,),
    Binary: lambda n: (n.lhs, n.rhs),
}


# A field of a node holds nodes (a tuple of them), one node, or a plain value.
NODES, NODE, VALUE = "nodes", "node", "value"
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def fields_of(node: Expr) -> Iterator[tuple[str, str, Any]]:
    """(name, NODES | NODE | VALUE, value) of each field of the node, as the generic tree
    comparisons read them: a non-empty tuple of nodes, a node (Matcher and VectorMatching are
    values), anything else. The field names are looked up once per node type: shape analyses
    compare every panel query with the alerts' conditions, and dataclasses.fields() on every
    node was most of their time."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    for name in names:
        value = getattr(node, name)
        if isinstance(value, tuple) and value and not isinstance(value[0], (str, Matcher)):
            yield name, NODES, value
        elif hasattr(type(value), "__dataclass_fields__") and not isinstance(value, (Matcher, VectorMatching)):
            yield name, NODE, value
        else:
            yield name, VALUE, value


def metrics(node: Expr) -> list[str]:
    """Metric names the expression reads, in order of appearance."""
    return [n.metric for n in walk(node) if isinstance(n, Selector) and n.metric]


def longest_range_ms(node: Expr) -> int:
    """The longest range window or subquery range in the expression (0 if none)."""
    best = 0
    for n in walk(node):
        if isinstance(n, RangeSelector):
            best = max(best, n.range_ms)
        elif isinstance(n, Subquery):
            best = max(best, n.range_ms)
    return best
