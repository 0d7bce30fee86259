"""Import stage, verification: do the rules a catalog compiles to say what the imported rules
said? Same expression (as promql-parser prints it, so formatting does not count), `for`,
`keep_firing_for`, labels and annotations; moncat's own additions (the `service` label, a
`team`, a `runbook_url` or `summary` the source lacked) are counted apart, not hidden."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import promql_parser

from compiler.durations import parse_ms
from compiler.importers.source import Rule

ADDED_LABELS = ("service", "team")
ADDED_ANNOTATIONS = ("runbook_url", "summary")


def canonical(expr: str) -> str:
    return str(promql_parser.parse(expr))


def _ms(text: str | None) -> int:
    return parse_ms(str(text)) if text else 0


@dataclass
class Verdict:
    identical: int = 0
    differences: list[str] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # what moncat added


def _key(service: str, kind: str, name: str) -> tuple[str, str, str]:
    return service, kind, name


def compare(source: list[Rule], compiled: dict[str, list[dict]]) -> Verdict:
    """`compiled`: the rules of each service's generated groups."""
    verdict = Verdict()
    want: dict[tuple, list[Rule]] = defaultdict(list)
    for r in source:
        want[_key(r.service, r.kind, r.name)].append(r)
    got: dict[tuple, list[dict]] = defaultdict(list)
    for service, rules in compiled.items():
        for rule in rules:
            kind = "alert" if "alert" in rule else "record"
            got[_key(service, kind, rule[kind])].append(rule)
    for key in sorted(set(want) | set(got)):
        sources, outputs = want.get(key, []), list(got.get(key, []))
        if len(sources) != len(outputs):
            verdict.differences.append(f"{key[1]} {key[0]}/{key[2]}: {len(sources)} in the source, "
                                       f"{len(outputs)} compiled")
            continue
        for src in sources:
            match = next((o for o in outputs if not _fields(src, o, None)), None)
            if match is None:
                problems = min((_fields(src, o, None) for o in outputs), key=len)
                verdict.differences.append(f"{key[1]} {key[0]}/{key[2]} ({src.origin}): " + "; ".join(problems))
                continue
            outputs.remove(match)
            _fields(src, match, verdict.added)
            verdict.identical += 1
    return verdict


def _fields(src: Rule, out: dict, added: dict[str, int] | None) -> list[str]:
    problems = []
    if canonical(src.expr) != canonical(str(out.get("expr", ""))):
        problems.append(f"expr {src.expr!r} -> {out.get('expr')!r}")
    if src.kind == "alert":
        for key, mine in (("for", src.for_), ("keep_firing_for", src.keep_firing_for)):
            if _ms(mine) != _ms(out.get(key)):
                problems.append(f"{key} {mine or '0s'} -> {out.get(key) or '0s'}")
    labels = dict(out.get("labels") or {})
    want = dict(src.labels)
    for k in ADDED_LABELS:
        if k in labels and k not in want:
            labels.pop(k)
            if added is not None:
                added[f"label {k}"] += 1
    if src.kind == "alert" and "severity" not in want and "severity" in labels:
        labels.pop("severity")
        if added is not None:
            added["label severity"] += 1
    if labels != want:
        problems.append(f"labels {want} -> {labels}")
    if src.kind == "alert":
        ann = dict(out.get("annotations") or {})
        want_ann = dict(src.annotations)
        for k in ADDED_ANNOTATIONS:
            if k in ann and k not in want_ann:
                ann.pop(k)
                if added is not None:
                    added[f"annotation {k}"] += 1
        if ann != want_ann:
            diff = sorted(k for k in set(ann) | set(want_ann) if ann.get(k) != want_ann.get(k))
            problems.append(f"annotations differ: {', '.join(diff)}")
    return problems


def _query(expr: str):
    from compiler.expr.ast import without_parens
    from compiler.expr.parse import ParseError, parse

    try:
        return without_parens(parse(expr, variables=True))
    except ParseError:
        return expr


def panels_of(board: dict) -> list[tuple[str, tuple, str]]:
    """(title, queries, unit) of every panel with a PromQL target, in order, rows opened."""
    out = []
    for p in board.get("panels") or []:
        inner = p.get("panels") if p.get("type") == "row" else [p]
        for q in inner or []:
            exprs = tuple(_query(t["expr"].strip()) for t in q.get("targets") or []
                          if isinstance(t, dict) and str(t.get("expr") or "").strip())
            if exprs:
                unit = ((q.get("fieldConfig") or {}).get("defaults") or {}).get("unit") or ""
                out.append((str(q.get("title") or "").strip(), exprs, unit))
    return out


def compare_dashboards(source: list, compiled: list[dict]) -> Verdict:
    """Same panels (titles, in order), queries and units, dashboard by dashboard (by title).
    `source`: the imported source.Dashboard objects with their panels as read."""
    verdict = Verdict()
    by_title = {b.get("title"): b for b in compiled}
    for board in source:
        out = by_title.get(board.title)
        if out is None:
            verdict.differences.append(f"dashboard {board.title!r}: not compiled")
            continue
        want = [(p.title, tuple(_query(q.expr) for q in p.queries), p.unit)
                for row in board.rows for p in row.panels if p.type != "note"]
        got = panels_of(out)
        if want == got:
            verdict.identical += 1
        else:
            first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            verdict.differences.append(f"dashboard {board.title!r}: panel {first}: "
                                       f"{want[first:first + 1]} -> {got[first:first + 1]}")
    return verdict
