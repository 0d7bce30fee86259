"""Apply stage, identity: which objects are moncat's where the server assigns the ids (Datadog).

An object's mark (a tag, a description marker) names its moncat id, but a copy made in the UI,
an exported JSON re-imported, or a create retried after its answer was lost carries the same
mark. What a copy cannot carry is its own server id. So right after creating an object, moncat
writes the object's server id into it (its reference, `moncat-ref`): an object is moncat's when
its reference is its own id ("bound").

Per moncat id, among the marked objects:
- a reference to another id: a copy (a UI clone): not moncat's, never changed or deleted, noted;
- one bound object: moncat's; unbound ones beside it are extra copies moncat made when a
  create's answer was lost: reported, and deleted by --prune;
- no bound object and one unbound (made before references existed, or its binding write was
  lost): adopted, and bound by the next apply;
- no bound object and several unbound, or several bound: moncat cannot tell its own from a copy:
  it reports them and writes none of them (the user deletes the unwanted ones).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from compiler.apply.plan import Current, Finding

REF = "moncat-ref"


@dataclass(frozen=True)
class Claim:
    """A marked object: its moncat id ("" when the mark names none), server id, reference ("" when
    unbound), body, service, and a few words for messages."""

    kind: str
    id: str
    remote_id: str
    ref: str
    body: Any
    service: str | None
    label: str

    @property
    def bound(self) -> bool:
        return self.ref == self.remote_id

    @property
    def copy(self) -> bool:
        return bool(self.ref) and self.ref != self.remote_id


def own(claims: Iterable[Claim]) -> Claim | None:
    """The object a lost create made, found by its identity: bound, or else unbound (a copy's
    reference points elsewhere)."""
    mine = [c for c in claims if not c.copy]
    return next((c for c in mine if c.bound), mine[0] if mine else None)


def resolve(claims: Iterable[Claim], mark: str) -> tuple[list[Current], list[Finding]]:
    """The owned objects as Currents (extra copies under ids of their own, so that --prune removes
    them) and what the plan must say. `mark` names the mark in messages ("its managed-by:moncat
    tag")."""
    by_id: dict[tuple[str, str], list[Claim]] = {}
    currents: list[Current] = []
    findings: list[Finding] = []
    for c in claims:
        if not c.id:
            findings.append(Finding(c.kind, c.label, f"carries {mark} but no moncat id: not moncat's"))
            continue
        by_id.setdefault((c.kind, c.id), []).append(c)
    for (kind, oid), group in sorted(by_id.items()):
        for c in group:
            if c.copy:
                findings.append(Finding(kind, oid, f"{c.label} carries this identity but is a copy of "
                                        f"{c.ref} (made in the UI?): not moncat's, never changed or "
                                        f"deleted; remove {mark} to silence this note"))
        mine = [c for c in group if not c.copy]
        bound = [c for c in mine if c.bound]
        unbound = [c for c in mine if not c.bound]
        if len(bound) == 1:
            keep = bound[0]
            currents.append(_current(keep, oid))
            if unbound:
                findings.append(Finding(kind, oid, f"{len(mine)} objects share this identity: "
                                        f"{keep.label} is moncat's; {_list(unbound)} "
                                        f"{'is an extra copy' if len(unbound) == 1 else 'are extra copies'}"
                                        " (left by a create whose answer was lost): --prune deletes them"))
                currents += [_current(c, f"{oid} (extra copy {c.remote_id})") for c in unbound]
        elif len(mine) == 1:
            currents.append(_current(mine[0], oid, pending=(f"{REF} (binds it to its identity)",)))
        elif mine:
            findings.append(Finding(kind, oid, f"{len(mine)} objects share this identity and moncat "
                                    f"cannot tell its own from a copy ({_list(mine)}): it changes none "
                                    f"of them; delete the unwanted ones (or remove {mark}), then apply "
                                    "again", blocks=True))
    return currents, findings


def _current(claim: Claim, oid: str, pending: tuple[str, ...] = ()) -> Current:
    return Current(claim.kind, oid, claim.body, owned=True, remote_id=claim.remote_id,
                   service=claim.service, pending=pending)


def _list(claims: list[Claim]) -> str:
    return ", ".join(c.label for c in claims)


def service_of(moncat_id: str) -> str | None:
    """The service of a `<service>/<name>` id ("" when it names none)."""
    return moncat_id.split("/", 1)[0] if "/" in moncat_id else ""

