"""Expression front end, nesting: an expression's depth bounded from its tokens, before any
recursive parser or tree walk sees it (a few kilobytes of parentheses would exhaust a stack)."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.expr.locate import BINARY_OPS, BINARY_WORDS, tokens

_OPEN = ("(", "[", "{")
_CLOSE = (")", "]", "}")
_OPERATORS = BINARY_OPS | BINARY_WORDS


@dataclass
class _Level:
    operators: int = 0  # operators written at this bracket level
    deepest_inside: int = 0  # the deepest bracket level inside, with its own operators


@dataclass(frozen=True)
class Depth:
    """An upper bound of the expression tree's depth, and where the nesting is deepest."""

    levels: int
    offset: int  # the token where `limit` was first passed, or where nesting peaked


def nesting(source: str, limit: int) -> Depth:
    """Each bracket is a level of the tree, and so is each operator (binary or unary) written at
    the same bracket level: along any path from the root to a leaf, every node is one of those.
    So the sum, over the brackets around a leaf, of one plus the operators inside each bounds
    the depth of the tree promql-parser builds, whatever the operators' precedence."""
    stack = [_Level()]
    running = 0  # brackets open + operators seen so far in them: the depth reached here
    peak, peak_at, passed_at = -1, 0, None
    toks, _ = tokens(source)
    for tok in toks:
        if tok.text in _OPEN:
            stack.append(_Level())
            running += 1
        elif tok.text in _CLOSE and len(stack) > 1:
            done = stack.pop()
            running -= 1 + done.operators
            stack[-1].deepest_inside = max(stack[-1].deepest_inside,
                                           1 + done.operators + done.deepest_inside)
            continue
        elif tok.text in _OPERATORS:
            stack[-1].operators += 1
            running += 1
        else:
            continue
        if running > peak:
            peak, peak_at = running, tok.start
        if passed_at is None and running > limit:
            passed_at = tok.start
    # Brackets left open still nest what they hold.
    while len(stack) > 1:
        done = stack.pop()
        stack[-1].deepest_inside = max(stack[-1].deepest_inside,
                                       1 + done.operators + done.deepest_inside)
    levels = stack[0].operators + stack[0].deepest_inside
    return Depth(levels, passed_at if passed_at is not None else peak_at)
