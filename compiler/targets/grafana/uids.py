"""Grafana target: no two dashboards, nor two alert rules, of the catalog get one Grafana uid
(MC451), checked over every service's uids, most of them kept by the incremental cache."""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Iterable, Iterator, Union

from compiler.diagnostics import Diagnostic, Loc, error

# A dashboard's or alert rule's uid with what the diagnostic names: (kind, uid, its object's id,
# its name, file, line, column), kind "dashboard" or "rule".
Entry = tuple[str, str, str, str, str, int, int]


@dataclass(frozen=True)
class UidKeys:
    """A service's uids as the incremental cache keeps them: each kind's uids (all the check
    reads while no uid is taken twice), and the entries pickled (read only once one is). The
    entries of 10,000 alerts' rules unpickled and walked one by one took 0.01 s of a compile."""

    kinds: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, its uids)
    pickled: bytes  # the entries

    def entries(self) -> list[Entry]:
        return pickle.loads(self.pickled)


Uids = Union[list[Entry], UidKeys]


def stored(entries: list[Entry]) -> UidKeys:
    """A service's uids as the cache keeps them."""
    return UidKeys(_by_kind(entries), pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))


class UidCheck:
    """The check, fed one service's uids at a time (in catalog order): each kind's uids go into
    a set while none is taken twice; from the first seen twice on, entry by entry, the first to
    take a uid its owner (as the earlier services' entries make it, read back then)."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}
        self.before: list[Uids] = []  # the services' uids, while every uid is new
        self.owners: dict[tuple[str, str], str] | None = None  # (kind, uid) -> its object, from then on

    def add(self, uids: Uids) -> list[Diagnostic]:
        """The diagnostics of one service's uids."""
        if self.owners is None:
            fits = True
            for kind, found in uids.kinds if type(uids) is UidKeys else _by_kind(uids):
                seen = self.seen.setdefault(kind, set())
                size = len(seen)
                seen.update(found)
                fits = fits and len(seen) == size + len(found)
            if fits:
                self.before.append(uids)
                return []
            self.owners = {}
            for earlier in self.before:  # none of them takes a uid twice: no diagnostic
                for kind, uid, who, *_ in _entries(earlier):
                    self.owners.setdefault((kind, uid), who)
            self.before.clear()
        return list(_clashes(self.owners, _entries(uids)))


def _entries(uids: Uids) -> list[Entry]:
    return uids.entries() if type(uids) is UidKeys else uids


def _by_kind(entries: Iterable[Entry]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    kinds: dict[str, list[str]] = {}
    for kind, uid, *_ in entries:
        kinds.setdefault(kind, []).append(uid)
    return tuple((kind, tuple(uids)) for kind, uids in kinds.items())


def _clashes(owners: dict[tuple[str, str], str], entries: list[Entry]) -> Iterator[Diagnostic]:
    for kind, uid, who, name, file, line, column in entries:
        owner = owners.setdefault((kind, uid), who)
        if owner != who and kind == "dashboard":
            yield error("MC451", f"dashboard {name!r} gets Grafana uid {uid!r}, already the uid of {owner}",
                        Loc(file, line, column), "rename one of the dashboards")
        elif owner != who:
            yield error("MC451", f"alert {name!r} gets Grafana rule uid {uid!r}, already the uid of {owner}",
                        Loc(file, line, column), "rename one of the alerts")


__all__ = ["Entry", "UidCheck", "UidKeys", "stored"]
