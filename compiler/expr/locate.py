"""Expression front end, error positions: promql-parser reports what is wrong but not where, so a
small lexer and a grammar walk find the offending token."""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[a-zA-Z]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=,(){}\[\]:@])
""", re.VERBOSE)

AGGREGATIONS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
                "quantile", "count_values", "group"}
BINARY_WORDS = {"and", "or", "unless", "atan2"}
BINARY_OPS = {"+", "-", "*", "/", "%", "^", "==", "!=", "<=", ">=", "<", ">"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int


def tokens(source: str) -> tuple[list[Token], int | None]:
    """Tokens of `source`, and the offset of the first character no token matches (or None)."""
    out: list[Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m:
            return out, pos
        if m.lastgroup != "ws":
            out.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    return out, None


class _Stop(Exception):
    def __init__(self, offset: int):
        self.offset = offset


class _Walker:
    """Recursive descent over PromQL's grammar that only answers: where does it first go wrong?"""

    def __init__(self, toks: list[Token], end: int):
        self.t = toks
        self.i = 0
        self.end = end

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def fail(self) -> None:
        tok = self.peek()
        raise _Stop(tok.start if tok else self.end)

    def take(self, *texts: str, kind: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or (texts and tok.text not in texts) or (kind and tok.kind != kind):
            self.fail()
        self.i += 1
        return tok

    def expr(self) -> None:
        self.unary()
        while True:
            tok = self.peek()
            if tok is None or not (tok.text in BINARY_OPS or tok.text in BINARY_WORDS):
                return
            self.i += 1
            if self.peek() and self.peek().text == "bool":
                self.i += 1
            if self.peek() and self.peek().text in ("on", "ignoring"):
                self.i += 1
                self.labels()
                if self.peek() and self.peek().text in ("group_left", "group_right"):
                    self.i += 1
                    if self.peek() and self.peek().text == "(":
                        self.labels()
            self.unary()

    def labels(self) -> None:
        self.take("(")
        while self.peek() and self.peek().text != ")":
            self.take(kind="ident")
            if self.peek() and self.peek().text == ",":
                self.i += 1
            elif self.peek() and self.peek().text != ")":
                self.fail()
        self.take(")")

    def unary(self) -> None:
        while self.peek() and self.peek().text in ("-", "+"):
            self.i += 1
        self.primary()
        while True:
            tok = self.peek()
            if tok is None:
                return
            if tok.text == "[":
                self.i += 1
                self.take(kind="number")
                if self.peek() and self.peek().text == ":":
                    self.i += 1
                    if self.peek() and self.peek().kind == "number":
                        self.i += 1
                self.take("]")
            elif tok.text == "offset":
                self.i += 1
                if self.peek() and self.peek().text == "-":
                    self.i += 1
                self.take(kind="number")
            elif tok.text == "@":
                self.i += 1
                if self.peek() and self.peek().text in ("start", "end"):
                    self.i += 1
                    self.take("(")
                    self.take(")")
                else:
                    self.take(kind="number")
            else:
                return

    def primary(self) -> None:
        tok = self.peek()
        if tok is None:
            self.fail()
        if tok.kind in ("number", "string"):
            self.i += 1
            return
        if tok.text == "(":
            self.i += 1
            self.expr()
            self.take(")")
            return
        if tok.text == "{":
            self.matchers()
            return
        if tok.kind != "ident" or tok.text in BINARY_WORDS or tok.text in ("by", "without", "bool"):
            self.fail()
        self.i += 1
        nxt = self.peek()
        if tok.text in AGGREGATIONS and nxt and nxt.text in ("by", "without"):
            self.i += 1
            self.labels()
            nxt = self.peek()
        if nxt and nxt.text == "(":
            self.args()
            if tok.text in AGGREGATIONS and self.peek() and self.peek().text in ("by", "without"):
                self.i += 1
                self.labels()
            return
        if nxt and nxt.text == "{":
            self.matchers()

    def args(self) -> None:
        self.take("(")
        if self.peek() and self.peek().text == ")":
            self.i += 1
            return
        while True:
            self.expr()
            if self.peek() and self.peek().text == ",":
                self.i += 1
                continue
            self.take(")")
            return

    def matchers(self) -> None:
        self.take("{")
        while self.peek() and self.peek().text != "}":
            self.take(kind="ident")
            self.take("=", "!=", "=~", "!~")
            self.take(kind="string")
            if self.peek() and self.peek().text == ",":
                self.i += 1
            elif self.peek() and self.peek().text != "}":
                self.fail()
        self.take("}")


def _syntax_offset(source: str) -> int | None:
    toks, bad = tokens(source)
    if bad is not None:
        return bad
    walker = _Walker(toks, len(source.rstrip()))
    try:
        walker.expr()
        if walker.peek() is not None:
            walker.fail()
    except _Stop as stop:
        return stop.offset
    return None


def _find_word(source: str, word: str, call: bool = False) -> int | None:
    toks, _ = tokens(source)
    for i, tok in enumerate(toks):
        if tok.text == word and (not call or (i + 1 < len(toks) and toks[i + 1].text == "(")):
            return tok.start
    return None


def _unclosed(source: str, opener: str, closer: str) -> int | None:
    stack = []
    for tok in tokens(source)[0]:
        if tok.text == opener:
            stack.append(tok.start)
        elif tok.text == closer and stack:
            stack.pop()
    return stack[-1] if stack else None


def _arguments(toks: list[Token], open_index: int) -> list[list[Token]]:
    """The argument tokens of the call whose '(' is toks[open_index], split at top-level commas."""
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in toks[open_index + 1:]:
        if tok.text in ("(", "[", "{"):
            depth += 1
        elif tok.text in (")", "]", "}"):
            if depth == 0:
                break
            depth -= 1
        elif tok.text == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return [a for a in args if a]


def _apparent_type(arg: list[Token]) -> str:
    """PromQL's type of an argument, as far as its tokens tell (promql-parser's names)."""
    depth = 0
    for tok in arg:
        if tok.text == "[" and depth == 0:  # a range or subquery of the argument itself
            return "matrix"
        if tok.text in ("(", "{"):
            depth += 1
        elif tok.text in (")", "}"):
            depth -= 1
    texts = [t for t in arg if t.text not in ("-", "+")]
    if len(texts) == 1 and texts[0].kind in ("number", "string"):
        return "scalar" if texts[0].kind == "number" else "string"
    return "vector"


def _wrong_argument(source: str, func: str, got: str) -> int | None:
    # An argument of the wrong type is the mistake, not the function (Prometheus points there
    # too): the first argument of a call to `func` whose type is the one the message got.
    toks, _ = tokens(source)
    for i, tok in enumerate(toks[:-1]):
        if tok.text == func and toks[i + 1].text == "(":
            for arg in _arguments(toks, i + 1):
                if _apparent_type(arg) == got:
                    return arg[0].start
    return None


def locate_error(source: str, message: str) -> int:
    """Best 0-based offset in `source` for promql-parser's `message`."""
    m = re.search(r"expected type \w+ in call to function '([^']+)', got (\w+)", message)
    if m:
        found = _wrong_argument(source, m.group(1), m.group(2))
        if found is not None:
            return found
    m = re.search(r"function with name '([^']+)'|call to (?:function )?'([^']+)'", message)
    if m:
        found = _find_word(source, m.group(1) or m.group(2), call=True)
        if found is not None:
            return found
    m = re.search(r"(?:duration syntax|number or duration syntax): (\S+)", message)
    if m:
        idx = source.find(m.group(1))
        if idx >= 0:
            return idx
    if "regex" in message:
        m = re.search(r"[=!]~\s*", source)
        if m:
            return m.end()
    for opener, closer, word in (("(", ")", "paren"), ("[", "]", "bracket"), ("{", "}", "brace")):
        if f"unclosed left {word}" in message:
            found = _unclosed(source, opener, closer)
            if found is not None:
                return found
    m = re.search(r"'([^']+)'", message)
    offset = _syntax_offset(source)
    if offset is not None:
        toks = tokens(source)[0]
        if offset >= len(source.rstrip()) and toks:
            # The input ended too early: its last token (a dangling `and`, `+` or `by`) is the
            # mistake, and its start is where to look.
            return toks[-1].start
        return min(offset, max(len(source) - 1, 0))
    if m:
        idx = source.find(m.group(1))
        if idx >= 0:
            return idx
    return 0
