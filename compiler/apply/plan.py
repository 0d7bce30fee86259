"""Apply stage, plan: desired objects against what the server holds -> create/update/delete/unchanged,
with the objects a plan must mention but not change (orphans, duplicates, look-alikes)."""
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
    """An object the server holds. `owned`: it carries moncat's ownership mark (and, where the
    server assigns ids, is bound to its identity: compiler/apply/identity.py). `service`: the
    catalog service it belongs to, None for objects of the whole catalog (contact points).
    `pending`: changes it needs that comparing bodies does not show (a binding to write)."""

    kind: str
    id: str
    body: Any
    owned: bool
    remote_id: str = ""
    service: str | None = None
    pending: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """What the plan says about the server besides changes: objects sharing one identity,
    look-alikes, foreign objects in the way. `blocks`: the object (kind, id) is not written, nor
    deleted, in this run (moncat will not guess, or the server would refuse)."""

    kind: str
    id: str
    message: str
    blocks: bool = False

    def line(self) -> str:
        return f"! {self.kind} {self.id}: {self.message}"


@dataclass(frozen=True)
class Action:
    op: str  # create | update | delete | unchanged | blocked
    kind: str
    id: str
    body: Any = None
    remote_id: str = ""
    changes: tuple[str, ...] = ()
    current: Any = None

    def line(self) -> str:
        mark = {"create": "+", "update": "~", "delete": "-", "unchanged": "=", "blocked": "!"}[self.op]
        text = f"{mark} {self.op} {self.kind} {self.id}"
        if self.changes:
            shown = list(self.changes[:8]) + ([f"and {len(self.changes) - 8} more"] if len(self.changes) > 8 else [])
            text += ": " + ", ".join(shown)
        return text


class ShapeError(ValueError):
    """The server's copy of an object has a shape its normaliser cannot read (a field of another
    type than the API documents): reported with the object, not as a bug in moncat."""

    def __init__(self, kind: str, oid: str, exc: Exception):
        super().__init__(f"the server's {kind} {oid} is not shaped as the API documents "
                         f"({type(exc).__name__}: {exc})")


@dataclass(frozen=True)
class Scope:
    """Which orphans --prune may delete: those of the catalog's services, of services named on
    the command line, and those of no service. An orphan of another service (another catalog's
    on the same server, or a service removed from this one) is only reported."""

    services: frozenset[str]
    named: frozenset[str] = frozenset()

    def covers(self, current: Current) -> bool:
        return current.service is None or current.service in self.services or current.service in self.named


def orphans(desired: Iterable[Desired], current: Iterable[Current]) -> list[Current]:
    """Owned objects on the server that the catalog does not have."""
    wanted = {(d.kind, d.id) for d in desired}
    return sorted((c for c in current if c.owned and (c.kind, c.id) not in wanted),
                  key=lambda c: (c.kind, c.id))


def make_plan(desired: Iterable[Desired], current: Iterable[Current], *, prune: bool,
              normalize: Callable[[str, Any], Any], order: tuple[str, ...],
              scope: Scope | None = None, findings: Iterable[Finding] = ()) -> list[Action]:
    """Match by (kind, id). Equal after `normalize` (and nothing pending) -> unchanged.
    Orphans are deleted only with `prune`, only when owned and within `scope`; a same-id
    object without the mark is never touched (the target's write refuses it). A create, update
    or delete that a blocking finding names becomes `blocked`."""
    desired, current = list(desired), list(current)
    have = {(c.kind, c.id): c for c in current}
    blocked = {(f.kind, f.id): f.message for f in findings if f.blocks}
    actions: list[Action] = []
    for d in desired:
        cur = have.get((d.kind, d.id))
        if cur is None:
            action = Action("create", d.kind, d.id, d.body)
        else:
            try:
                a = normalize(d.kind, cur.body)
            except (TypeError, AttributeError, KeyError, ValueError) as exc:
                raise ShapeError(d.kind, d.id, exc) from None
            b = normalize(d.kind, d.body)
            if a == b and not cur.pending:
                action = Action("unchanged", d.kind, d.id, d.body, cur.remote_id)
            else:
                action = Action("update", d.kind, d.id, d.body, cur.remote_id,
                                tuple(leaf_paths(a, b)) + cur.pending, cur.body)
        if action.op != "unchanged" and (d.kind, d.id) in blocked:
            action = Action("blocked", d.kind, d.id, d.body, action.remote_id,
                            (blocked[d.kind, d.id],), action.current)
        actions.append(action)
    if prune:
        actions += [Action("delete", c.kind, c.id, None, c.remote_id, (), c.body)
                    if (c.kind, c.id) not in blocked else
                    Action("blocked", c.kind, c.id, None, c.remote_id, (blocked[c.kind, c.id],), c.body)
                    for c in orphans(desired, current) if scope is None or scope.covers(c)]
    rank = {k: i for i, k in enumerate(order)}
    # Creates and updates in dependency order; deletes in reverse (dependents first).
    return sorted(actions, key=lambda a: (a.op == "delete",
                                          -rank.get(a.kind, 99) if a.op == "delete" else rank.get(a.kind, 99),
                                          a.id))


def summary(actions: list[Action]) -> str:
    counts = {op: sum(a.op == op for a in actions) for op in ("create", "update", "delete", "unchanged")}
    text = ", ".join(f"{n} to {op}" if op != "unchanged" else f"{n} unchanged" for op, n in counts.items())
    blocked = sum(a.op == "blocked" for a in actions)
    return text + (f", {blocked} blocked" if blocked else "")


def notes(desired: Iterable[Desired], current: Iterable[Current], *, prune: bool,
          scope: Scope | None, findings: Iterable[Finding], shown: int = 20) -> list[str]:
    """The plan's lines besides its actions: findings that block nothing, and the orphans (on
    every plan, with --prune or not)."""
    lines = [f.line() for f in findings if not f.blocks]
    left = orphans(desired, current)
    outside = [c for c in left if scope is not None and not scope.covers(c)]
    inside = [c for c in left if c not in outside]
    if inside and not prune:
        lines += [f"? orphan {c.kind} {c.id}" for c in inside[:shown]]
        if len(inside) > shown:
            lines.append(f"? and {len(inside) - shown} more")
        lines.append(f"{_count(len(inside))} not in the catalog; --prune deletes them")
    if outside:
        services = sorted({str(c.service) for c in outside})
        lines += [f"? orphan {c.kind} {c.id} (service {c.service})" for c in outside[:shown]]
        if len(outside) > shown:
            lines.append(f"? and {len(outside) - shown} more")
        named = " ".join(f"--prune-service {s}" for s in services if s)
        lines.append(f"{_count(len(outside))} of services the catalog does not have "
                     f"({', '.join(s or '(none)' for s in services)}): kept, as they may be another "
                     "catalog's" + (f"; --prune {named} deletes them" if named else ""))
    return lines


def _count(n: int) -> str:
    return f"{n} owned object{'s' if n != 1 else ''}"
