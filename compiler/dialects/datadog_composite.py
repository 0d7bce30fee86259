"""Datadog dialect, composites: conditions joined by and/or/unless as a composite monitor over one
metric monitor per condition (https://docs.datadoghq.com/monitors/types/composite/).

A composite evaluates only the groups its multi-alert components all report, matched by tag
values, and a component without groups applies to every group. So:
- `a and b` is `a && b` when both sides have the same groups, as PromQL's default matching on all
  labels needs; with `on (l...)` the right side must be grouped by exactly those labels (or by
  none, for `on ()`), and the left side by them and maybe more;
- `a unless b` is `a && !b` on the same terms; when `b` reports no data for a group, Datadog
  sees no common group (or `!` keeps no data) where PromQL fires: stated in the monitor's notes;
- `a or b` is `a || b` between conditions without groups: with groups, a composite would skip a
  group only one side reports, which PromQL's union keeps; and only without `for:`, since
  Prometheus accepts a condition held by either side in turn.
"""
from __future__ import annotations

from typing import Callable

from compiler.dialects.datadog_tree import strip
from compiler.expr import ast

Translation = tuple  # (MonitorQuery | None, list[Problem]); typed loosely to avoid a cycle

NAMES = "abcdefghij"  # a composite combines at most 10 monitors


def compose(node: ast.Binary, for_ms: int, single: Callable[[ast.Expr], Translation]) -> Translation:
    """The composite of a tree of and/or/unless over conditions; `single` translates one."""
    from compiler.dialects.datadog_monitor import MonitorQuery, Problem

    components: list[tuple[str, MonitorQuery]] = []
    problems: list = []
    notes: list[str] = []

    def leaf(cond: ast.Expr) -> tuple[str, tuple[str, ...], bool] | None:
        found, trouble = single(cond)
        if found is None:
            problems.extend(trouble)
            return None
        if len(components) == len(NAMES):
            problems.append(Problem("more than 10 conditions", "a composite monitor combines at "
                                    "most 10 monitors", ""))
            return None
        name = NAMES[len(components)]
        components.append((name, found))
        return name, found.grouping, found.full_window

    def visit(n: ast.Expr) -> tuple[str, tuple[str, ...], bool] | None:
        n = strip(n)
        if not (isinstance(n, ast.Binary) and n.op in ast.SET_OPS):
            return leaf(n)
        lhs, rhs = visit(n.lhs), visit(n.rhs)
        if lhs is None or rhs is None:
            return None
        (a, ga, fa), (b, gb, fb) = lhs, rhs
        # `for` reaches a component as "at all times" over it (gauges); pending: drop drops it
        # from window conditions.
        problem = _matching(n, ga, gb, for_ms if fa or fb else 0)
        if problem:
            problems.append(Problem(*problem))
            return None
        if n.op == "unless":
            notes.append("`unless`: a group the right side does not report at all is not "
                         "evaluated by the composite, where Prometheus fires")
        expr = {"and": f"{a} && {b}", "or": f"{a} || {b}", "unless": f"{a} && !{_group(b)}"}[n.op]
        return f"({expr})", ga or gb, fa or fb

    top = visit(node)
    if top is None or problems:
        return None, problems or [Problem("composite", "no Datadog form", "")]
    expression = top[0][1:-1] if top[0].startswith("(") else top[0]
    first = components[0][1]
    return MonitorQuery(expression, first.op, first.threshold, first.window_ms, top[1],
                        notes=tuple(dict.fromkeys(n for _, c in components for n in c.notes))
                        + tuple(dict.fromkeys(notes)),
                        warnings=tuple(dict.fromkeys(w for _, c in components for w in c.warnings)),
                        components=tuple(components)), []


def _group(text: str) -> str:
    return text if len(text) == 1 or text.startswith("(") else f"({text})"


def _matching(n: ast.Binary, ga: tuple[str, ...], gb: tuple[str, ...], for_ms: int
              ) -> tuple[str, str, str] | None:
    """(construct, why, token) when the composite would match other groups than PromQL."""
    m = n.matching
    if m is not None and m.explicit and not m.on:
        return ("ignoring(...)", "a composite matches groups by tag values; write on (...)", "ignoring")
    if n.op == "or":
        if ga or gb:
            return ("`or` of grouped conditions", "a composite monitor evaluates only the groups "
                    "both monitors report, where PromQL fires for a group either side has", "or")
        if m is not None and m.explicit:
            return ("on(...)", "on (...) with `or` of conditions without groups", "on")
        if for_ms:
            return ("`for:` on an `or`", "Prometheus accepts the condition held by either side "
                    "in turn during `for`; each component would need its own side to hold "
                    "throughout", "or")
        return None
    if m is None or not m.explicit:
        if set(ga) != set(gb):
            return (f"`{n.op}` of differently grouped conditions", f"the sides of `{n.op}` are "
                    f"grouped by ({', '.join(ga)}) and ({', '.join(gb)}): PromQL matches series "
                    "on all their labels, so no series would match", n.op)
        return None
    on = set(m.labels)
    if set(gb) != on or not on <= set(ga):
        return ("on(...)", f"on ({', '.join(m.labels)}) with sides grouped by ({', '.join(ga)}) "
                f"and ({', '.join(gb)}): a composite matches the right side's groups inside the "
                "left side's only when the right side is grouped by exactly the on labels", "on")
    return None
