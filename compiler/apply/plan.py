"""Apply stage, plan: desired objects against what the server holds -> create/update/delete/unchanged."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from compiler.diff import leaf_paths


@dataclass(frozen=True)
class Desired:
    """An object the catalog compiles to: its moncat id, kind and request body."""

    kind: str
    id: str
    body: Any


@dataclass(frozen=True)
class Current:
    """An object the server holds. `owned`: it carries moncat's ownership mark."""

    kind: str
    id: str
    body: Any
    owned: bool
    remote_id: str = ""


@dataclass(frozen=True)
class Action:
    op: str  # create | update | delete | unchanged
    kind: str
    id: str
    body: Any = None
    remote_id: str = ""
    changes: tuple[str, ...] = ()
    current: Any = None

    def line(self) -> str:
        mark = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}[self.op]
        text = f"{mark} {self.op} {self.kind} {self.id}"
        if self.changes:
            shown = list(self.changes[:8]) + ([f"and {len(self.changes) - 8} more"] if len(self.changes) > 8 else [])
            text += ": " + ", ".join(shown)
        return text


def make_plan(desired: Iterable[Desired], current: Iterable[Current], *, prune: bool,
              normalize: Callable[[str, Any], Any], order: tuple[str, ...]) -> list[Action]:
    """Match by (kind, id). Equal after `normalize` -> unchanged. Objects on the server that the
    catalog no longer has are deleted only with `prune`, and only when they carry our mark;
    a same-id object without the mark is never touched (it is reported as a conflict-free create
    only if the target allows two objects of that id)."""
    have = {(c.kind, c.id): c for c in current}
    actions: list[Action] = []
    wanted = set()
    for d in desired:
        wanted.add((d.kind, d.id))
        cur = have.get((d.kind, d.id))
        if cur is None:
            actions.append(Action("create", d.kind, d.id, d.body))
            continue
        a, b = normalize(d.kind, cur.body), normalize(d.kind, d.body)
        if a == b:
            actions.append(Action("unchanged", d.kind, d.id, d.body, cur.remote_id))
        else:
            actions.append(Action("update", d.kind, d.id, d.body, cur.remote_id,
                                  tuple(leaf_paths(a, b)), cur.body))
    if prune:
        for key, cur in have.items():
            if key not in wanted and cur.owned:
                actions.append(Action("delete", cur.kind, cur.id, None, cur.remote_id, (), cur.body))
    rank = {k: i for i, k in enumerate(order)}
    # Creates and updates in dependency order; deletes in reverse (dependents first).
    return sorted(actions, key=lambda a: (a.op == "delete",
                                          -rank.get(a.kind, 99) if a.op == "delete" else rank.get(a.kind, 99),
                                          a.id))


def summary(actions: list[Action]) -> str:
    counts = {op: sum(a.op == op for a in actions) for op in ("create", "update", "delete", "unchanged")}
    return ", ".join(f"{n} to {op}" if op != "unchanged" else f"{n} unchanged" for op, n in counts.items())
