"""Expression analysis: Go-template annotations, their syntax and the labels they read."""
from __future__ import annotations

import re
from dataclasses import dataclass

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_LABEL_REFS = (
    re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)"),
    re.compile(r"(?<![\w$])\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)"),
    re.compile(r"index\s+\$labels\s+\"([^\"]+)\""),
)
_VARIABLE = re.compile(r"\$([a-zA-Z_][a-zA-Z0-9_]*)")
_DECLARED = re.compile(r"((?:\$[a-zA-Z_][a-zA-Z0-9_]*\s*,\s*)?\$[a-zA-Z_][a-zA-Z0-9_]*)\s*:=")
KNOWN_VARIABLES = {"labels", "value", "externalLabels", "externalURL"}


@dataclass(frozen=True)
class TemplateProblem:
    message: str
    offset: int
    hint: str


@dataclass(frozen=True)
class LabelRef:
    name: str
    offset: int


def check_syntax(text: str) -> TemplateProblem | None:
    """The first structural problem: an unclosed action or an unknown variable."""
    depth_open = text.find("{{")
    pos = 0
    while depth_open >= 0:
        close = text.find("}}", depth_open + 2)
        nested = text.find("{{", depth_open + 2)
        if close < 0 or (0 <= nested < close):
            return TemplateProblem("template action '{{' is never closed", depth_open,
                                   "close it with '}}'")
        pos = close + 2
        depth_open = text.find("{{", pos)
    stray = text.find("}}", pos)
    if stray >= 0 and text.rfind("{{", 0, stray) < 0:
        return TemplateProblem("'}}' closes no template action", stray, "remove it or add '{{'")
    # `$x :=`, and the pair `range $k, $v :=` declares.
    declared = {name for d in _DECLARED.finditer(text) for name in _VARIABLE.findall(d.group(1))}
    for m in _ACTION.finditer(text):
        body = m.group(1)
        if not body.strip():
            return TemplateProblem("empty template action", m.start(), "write e.g. {{ $labels.instance }}")
        for v in _VARIABLE.finditer(body):
            if v.group(1) not in KNOWN_VARIABLES and v.group(1) not in declared:
                return TemplateProblem(
                    f"unknown template variable ${v.group(1)}", m.start(1) + v.start(),
                    "Prometheus defines $labels, $value, $externalLabels and $externalURL")
    return None


def label_refs(text: str) -> list[LabelRef]:
    """Every label an annotation reads from the alert, with its offset."""
    refs = []
    for m in _ACTION.finditer(text):
        body = m.group(1)
        for pattern in _LABEL_REFS:
            for r in pattern.finditer(body):
                refs.append(LabelRef(r.group(1), m.start(1) + r.start(1)))
    return sorted(refs, key=lambda r: r.offset)
