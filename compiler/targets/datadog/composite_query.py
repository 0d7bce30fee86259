"""Datadog target, composite queries: a composite monitor's query as the Monitor API documents it
(monitor ids joined by &&, || and !, with parentheses; monitors/types/composite), where moncat's
files name each component `${<moncat id>}` until apply knows its id."""
from __future__ import annotations

import re

_COMPOSITE = re.compile(r"\s*(&&|\|\||!|\(|\)|\$\{[^}\s]+\}|\d+)")


def check_composite(query: str, known: set[str]) -> list[str]:
    """A composite's query: monitor references joined by &&, || and ! with parentheses
    (monitors/types/composite), every `${moncat id}` one of `known`, at most 10 monitors."""
    pos, depth, expect_operand, refs = 0, 0, True, []
    while pos < len(query):
        m = _COMPOSITE.match(query, pos)
        if not m:
            return [f"composite query: unexpected text at character {pos + 1}"]
        tok, pos = m.group(1), m.end()
        if tok in ("(", "!") and expect_operand:
            depth += tok == "("
        elif tok == ")" and not expect_operand and depth:
            depth -= 1
        elif tok in ("&&", "||") and not expect_operand:
            expect_operand = True
        elif expect_operand and tok not in ("(", ")", "!", "&&", "||"):
            refs.append(tok)
            expect_operand = False
        else:
            return [f"composite query: {tok!r} at character {pos} is out of place"]
    problems = [] if not expect_operand and depth == 0 else ["composite query is incomplete"]
    problems += [f"composite query names {r}, which is no monitor moncat wrote"
                 for r in refs if r.startswith("${") and r[2:-1] not in known]
    if len(set(refs)) > 10:
        problems.append("a composite monitor combines at most 10 monitors")
    return problems
