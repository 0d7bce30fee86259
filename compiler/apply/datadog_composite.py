"""Apply stage, Datadog composite monitors: their queries between the moncat ids the compiled files
name (`${<moncat id>}`) and the monitor ids the server knows, and what their components impose.

A composite's query names its component monitors by id ("Composite monitors", Datadog's docs:
`12345 && 67890`), ids the server assigns when it creates them. So a composite is written only
after its components (its own kind, later in the target's order), with their ids filled in from
the listing or from the creates' answers, and read back into moncat ids before comparing; a
composite whose component this run does not write is not written either. Datadog refuses to
delete a monitor a composite names, so a monitor that a composite not moncat's names (a UI
clone's) is not deleted: the plan says which composite holds it.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

from compiler.apply.client import ApiError
from compiler.apply.identity import Claim
from compiler.apply.plan import Current, Finding

REFERENCE = re.compile(r"\$\{([^}\s]+)\}")
# A reference, kept as it is, or a monitor id in a query the server returned.
_TOKEN = re.compile(r"\$\{[^}]*\}|\b\d+\b")


def references(body: Any) -> list[str]:
    """The moncat ids a compiled composite's query names, in order."""
    query = body.get("query") if isinstance(body, dict) else None
    return REFERENCE.findall(query) if isinstance(query, str) else []


def with_ids(body: Any, ids: Mapping[str, str], method: str, path: str, oid: str) -> Any:
    """The body as sent: each `${<moncat id>}` replaced by that monitor's server id."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return body
    missing = [r for r in references(body) if r not in ids]
    if missing:
        raise ApiError(method, path, None, f"composite {oid} names monitors the server does not hold: "
                       f"{', '.join(missing)}")
    return dict(body, query=REFERENCE.sub(lambda m: ids[m.group(1)], body["query"]))


def with_names(body: Any, ids: Mapping[str, str]) -> Any:
    """A composite as the server holds it, its monitor ids read back as `${<moncat id>}`; an id
    of a monitor that is not moncat's stays a number (and differs from every compiled query)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return body
    names = {remote: oid for oid, remote in ids.items()}

    def name(m: re.Match[str]) -> str:
        token = m.group(0)
        return "${" + names[token] + "}" if token in names else token
    return dict(body, query=_TOKEN.sub(name, body["query"]))


def blocked_by_components(kind: str, uses: Mapping[str, list[str]], component_kind: str,
                          findings: Iterable[Finding], noun: str = "component") -> list[Finding]:
    """A blocking finding for each object (of `kind`; `uses`: the moncat ids of the objects of
    `component_kind` it names, its `noun`s) one of whose components this run does not write."""
    held = {f.id for f in findings if f.blocks and f.kind == component_kind}
    out = []
    for oid, parts in sorted(uses.items()):
        stuck = [p for p in parts if p in held]
        if stuck:
            out.append(Finding(kind, oid, f"its {noun} {', '.join(stuck)} is not written in this "
                               f"run (see above), so neither is the {kind}", blocks=True))
    return out


def named_monitors(body: Any) -> set[str]:
    """The monitor ids a composite on the server names."""
    query = body.get("query") if isinstance(body, dict) else None
    return set(re.findall(r"\b\d+\b", query)) if isinstance(query, str) else set()


def held_by_foreign(users: Iterable[Claim], owned: Iterable[Current], wanted: set[str], kind: str,
                    names: Callable[[Any], set[str]] = named_monitors,
                    why: str = "names it: Datadog refuses to delete a monitor a composite names; change "
                               "or delete that composite, then prune again") -> list[Finding]:
    """A blocking finding for each owned object of `kind` (not in `wanted`, so a --prune would
    delete it) that a listed object moncat does not own (`users`: a UI clone's, whose body
    `names` the server ids it uses) uses: Datadog would refuse the delete."""
    owned = list(owned)
    mine = {c.remote_id for c in owned}
    by: dict[str, list[str]] = {}
    for c in users:
        if c.remote_id not in mine:
            for remote in sorted(names(c.body)):
                by.setdefault(remote, []).append(c.label)
    return [Finding(m.kind, m.id, f"{', '.join(by[m.remote_id])}, not moncat's, {why}", blocks=True)
            for m in owned if m.kind == kind and m.id not in wanted and m.remote_id in by]


def refusal_hint(text: str) -> str | None:
    """What to do when Datadog refuses to delete a monitor because a composite names it (its
    words vary: "is referenced in composite monitors", "is part of the following composite
    monitors")."""
    lowered = text.lower()
    if "composite" in lowered and ("referenced" in lowered or "part of" in lowered):
        return ("a composite monitor moncat does not own still names this monitor: change or delete "
                "that composite in Datadog, then apply again")
    return None
