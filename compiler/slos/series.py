"""Link stage, SLO test series: label sets that a selector does (or does not) select, and counter
values in promtool's series notation.

A generated test feeds each SLI selector series it selects: `good` events under labels the good
selector matches, the rest of `total` under labels total matches and good does not. Values for
regex matchers are built from the regex itself (Python's own parser reads it; Prometheus'
RE2 syntax is the same for the forms selectors use) and always checked against every matcher.
"""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from compiler.expr import ast

try:  # Python's own regex parser (a private module): without it, the fallback values below
    import re._constants as sre_c
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - every CPython from 3.11 has them
    sre_c = sre_parse = None  # type: ignore[assignment]

FALLBACKS = ("x", "0", "200", "500", "ok", "error", "other", "moncat")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(f"(?:{pattern})")
    except re.error:
        return None


def satisfies(value: str, m: ast.Matcher) -> bool:
    """Whether a label value passes a matcher (regexes anchored, as Prometheus anchors them)."""
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    compiled = _regex(m.value)
    hit = compiled is not None and compiled.fullmatch(value) is not None
    return hit if m.op == "=~" else not hit


def _category(code: object) -> str:
    return {sre_c.CATEGORY_DIGIT: "0", sre_c.CATEGORY_WORD: "a",
            sre_c.CATEGORY_SPACE: " "}.get(code, "")


def _class(items: list) -> str | None:
    if items and items[0][0] is sre_c.NEGATE:
        rest = items[1:]
        for candidate in "x0a_-.":
            if _class(rest) is not None and not any(_in_item(candidate, it) for it in rest):
                return candidate
        return None
    for op, av in items:
        if op is sre_c.LITERAL:
            return chr(av)
        if op is sre_c.RANGE:
            return chr(av[0])
        if op is sre_c.CATEGORY and _category(av):
            return _category(av)
    return None


def _in_item(ch: str, item: tuple) -> bool:
    op, av = item
    if op is sre_c.LITERAL:
        return ch == chr(av)
    if op is sre_c.RANGE:
        return av[0] <= ord(ch) <= av[1]
    return False


def _generate(items) -> str | None:
    out = ""
    for op, av in items:
        if op is sre_c.LITERAL:
            part = chr(av)
        elif op is sre_c.NOT_LITERAL:
            part = "x" if chr(av) != "x" else "y"
        elif op is sre_c.ANY:
            part = "0"
        elif op is sre_c.IN:
            part = _class(av)
        elif op is sre_c.BRANCH:
            part = _generate(av[1][0])
        elif op is sre_c.SUBPATTERN:
            part = _generate(av[3])
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            inner = _generate(av[2])
            part = None if inner is None else inner * av[0]
        elif op is sre_c.AT:
            part = ""
        elif op is sre_c.CATEGORY:
            part = _category(av) or None
        else:
            part = None
        if part is None:
            return None
        out += part
    return out


def example(pattern: str) -> str | None:
    """A short string the regex matches, when one is easily built."""
    if sre_parse is None:
        return None
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError):
        return None
    return _generate(list(parsed))


def value_for(name: str, want: tuple[ast.Matcher, ...], avoid: tuple[ast.Matcher, ...] = ()
              ) -> str | None:
    """A value of label `name` passing every matcher of `want` on it and failing at least one of
    `avoid` (when `avoid` has any), or None."""
    mine = [m for m in want if m.name == name]
    others = [m for m in avoid if m.name == name]
    candidates: list[str] = []
    for m in mine + others:
        if m.op in ("=", "!="):
            candidates.append(m.value)
        else:
            built = example(m.value)
            if built is not None:
                candidates.append(built)
    candidates += FALLBACKS
    for value in dict.fromkeys(candidates):
        if value and all(satisfies(value, m) for m in mine) and \
                (not others or not all(satisfies(value, m) for m in others)):
            return value
    return None


def labels_for(want: tuple[ast.Matcher, ...], avoid: tuple[ast.Matcher, ...] = ()
               ) -> dict[str, str] | None:
    """A label set selected by `want` and, when `avoid` is given, not by `avoid`; None when no
    simple one is found. Labels only `avoid` names get a value only when needed."""
    names = sorted({m.name for m in want})
    out: dict[str, str] = {}
    for name in names:
        value = value_for(name, want)
        if value is None:
            return None
        out[name] = value
    if not avoid:
        return out
    # A value that tells the series apart (code="500") reads better than a missing label.
    for name in sorted({m.name for m in avoid}):
        value = value_for(name, want, tuple(m for m in avoid if m.name == name))
        if value is not None:
            trial = dict(out, **{name: value})
            if not all(satisfies(trial.get(m.name, ""), m) for m in avoid):
                return trial
    if not all(satisfies(out.get(m.name, ""), m) for m in avoid):
        return out
    return None


def selector_text(metric: str, labels: dict[str, str]) -> str:
    """`metric{a="b"}` as an example series key."""
    if not labels:
        return metric
    inner = ", ".join('{}="{}"'.format(k, v.replace("\\", "\\\\").replace('"', '\\"'))
                      for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}"


def number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def counter(increments: list[tuple[int, Decimal]]) -> str:
    """promtool notation of a counter starting at 0 that then grows by `inc` per step for `n`
    steps, phase after phase: 1 + sum(n) samples."""
    parts = ["0"]
    value = Decimal(0)
    for n, inc in increments:
        if n <= 0:
            continue
        if inc == 0:
            parts.append(f"{number(value)}x{n - 1}" if n > 1 else number(value))
        elif n == 1:
            parts.append(number(value + inc))
        else:
            parts.append(f"{number(value + inc)}+{number(inc)}x{n - 1}")
        value += inc * n
    return " ".join(parts)
