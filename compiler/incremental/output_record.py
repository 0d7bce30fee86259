"""Incremental compile, write stage: the record of what a compile wrote to an output directory
(each file's hash and status), kept per service, as a whole record and a patch of the services
changed since.

A service's files are kept as one group, in the order its own record lists them (see
`Run._on_disk`): their paths joined, their hashes joined, and their sizes, modification times
and inodes as one array of integers. At 10,000 alerts the record holds 35,000 files; kept as a
dict of one tuple per file it took 0.025 s to read back, and reading which services' files are
still as their records list them one file at a time took 0.01 s more, on every compile. Files of
no service (the catalog-wide ones, the manifest) are kept one by one (`loose`).

A recompile that changes one service's files writes a patch (the groups changed since the whole
record was written, each as it is now, or None when gone, and the loose files likewise) until
the patch holds more than an eighth as many files as the whole record, which is then written
again and the patch removed. Both are read back together: the patch applies only to the whole
record it was made against (a token they share, new with each whole record), so a patch left by
a compile that stopped before removing it is never applied to a newer record. A patch that
cannot be read leaves the whole record as it was, whose manifest's state then no longer matches
the output's (every write with changes writes a new manifest): nothing of the output is reused,
as when no record can be read.
"""
from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from compiler.incremental.store import Store

FileState = tuple[str, int, int, int]  # sha256 hex, size, mtime_ns, inode
# A service's files: paths joined by NUL, hashes joined by NUL, and each file's size, mtime_ns
# and inode, in that order, as native 64-bit integers (`array("q")`'s bytes).
Group = tuple[str, str, bytes]
WHOLE, PATCH = "out", "outpatch"  # the kinds of the two records (see Store)
# The records' first field: a record of another layout (an older moncat's) is no record.
FORMAT = "moncat-output-2"
PATCH_SHARE = 8  # a patch is written while it holds at most 1/PATCH_SHARE of the whole record's files
STAT = array("q").itemsize * 3  # the bytes of one file's status in a group


@dataclass
class OutputRecord:
    """What a compile found recorded of an output: each service's group of files and the loose
    files (the whole record with its patch applied), the whole record's token and the patch's
    changes."""

    groups: dict[str, Group] = field(default_factory=dict)
    loose: dict[str, FileState] = field(default_factory=dict)
    token: str = ""
    patch_groups: dict[str, Group | None] = field(default_factory=dict)
    patch_loose: dict[str, FileState | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.groups or self.loose)

    def get(self, path: str) -> FileState | None:
        """One file's state: a loose file's, else found among the groups (a catalog-wide
        artifact written over a service's file: rare, and a few files a compile)."""
        found = self.loose.get(path)
        if found is not None:
            return found
        for group in self.groups.values():
            state = group_state(group, path)
            if state is not None:
                return state
        return None

    @property
    def state(self) -> dict[str, FileState]:
        """Every file's state by path (built on each call: for checks and tests, not the
        compile's way through)."""
        found: dict[str, FileState] = {}
        for group in self.groups.values():
            found.update(group_states(group))
        found.update(self.loose)
        return found

    def files(self) -> int:
        """How many files the record holds (a file in two groups counted twice)."""
        return sum(len(g[2]) // STAT for g in self.groups.values()) + len(self.loose)


def group(files: Iterable[tuple[str, FileState]]) -> Group:
    """A group of files, each given as (path, state), in that order."""
    paths, shas, stats = [], [], array("q")
    for path, (sha, size, mtime, inode) in files:
        paths.append(path)
        shas.append(sha)
        stats.extend((size, mtime, inode))
    return "\0".join(paths), "\0".join(shas), stats.tobytes()


def group_states(group: Group) -> Iterator[tuple[str, FileState]]:
    """A group's files, each as (path, state)."""
    paths, shas, raw = group
    if not paths:
        return iter(())
    stats = array("q", raw).tolist()
    it = iter(stats)
    return zip(paths.split("\0"), (tuple(x) for x in zip(shas.split("\0"), it, it, it)))


def group_state(group: Group, path: str) -> FileState | None:
    """One file's state in a group, or None when the group holds no such file."""
    paths = group[0]
    at = paths.find(path)
    while at >= 0:
        end = at + len(path)
        if (at == 0 or paths[at - 1] == "\0") and (end == len(paths) or paths[end] == "\0"):
            index = paths.count("\0", 0, at)
            sha = group[1].split("\0")[index]
            size, mtime, inode = array("q", group[2][index * STAT:(index + 1) * STAT])
            return sha, size, mtime, inode
        at = paths.find(path, at + 1)
    return None


def _valid_groups(groups: Any) -> bool:
    """Whether the groups read back have the shape `group` gives: three fields, as many
    statuses as paths (and as many hashes: see Run._on_disk, which compares them whole)."""
    return type(groups) is dict and all(
        type(g) is tuple and len(g) == 3 and type(g[0]) is type(g[1]) is str and type(g[2]) is bytes
        and g[0] and len(g[2]) == STAT * (g[0].count("\0") + 1) for g in groups.values())


def _valid_loose(loose: Any) -> bool:
    return type(loose) is dict and all(
        type(s) is tuple and len(s) == 4 and type(s[0]) is str and all(type(x) is int for x in s[1:])
        for s in loose.values() if s is not None)


def read(store: Store, key: str) -> OutputRecord:
    """The record of the output `key` names; empty when there is none or it cannot be read."""
    whole = store.read(WHOLE, key, plain=True)
    if not (type(whole) is tuple and len(whole) == 4 and whole[0] == FORMAT and type(whole[1]) is str
            and whole[1] and _valid_groups(whole[2]) and _valid_loose(whole[3])
            and None not in whole[3].values()):
        return OutputRecord()
    _, token, groups, loose = whole
    patch = store.read(PATCH, key, plain=True)
    if not (type(patch) is tuple and len(patch) == 4 and patch[0] == FORMAT and patch[1] == token
            and type(patch[2]) is dict and _valid_groups({k: g for k, g in patch[2].items() if g is not None})
            and _valid_loose(patch[3])):
        return OutputRecord(groups, loose, token)
    _apply(groups, loose, patch[2], patch[3])
    return OutputRecord(groups, loose, token, patch[2], patch[3])


def _apply(groups: dict[str, Group], loose: dict[str, FileState],
           group_changes: dict[str, Group | None], loose_changes: dict[str, FileState | None]) -> None:
    for table, changes in ((groups, group_changes), (loose, loose_changes)):
        for name, entry in changes.items():
            if entry is None:
                table.pop(name, None)
            else:
                table[name] = entry


def write_whole(store: Store, key: str, groups: dict[str, Group], loose: dict[str, FileState]) -> None:
    """Record the output's whole record (a new token), and remove any patch."""
    store.write(WHOLE, key, (FORMAT, os.urandom(8).hex(), groups, loose), plain=True)
    store.remove(PATCH, key)


def write_changes(store: Store, key: str, record: OutputRecord, group_changes: dict[str, Group | None],
                  loose_changes: dict[str, FileState | None]) -> None:
    """Record the output as `record` read it, with the changes (a group or file's new state, or
    None when it is gone): as a patch of the whole record while the patch stays small, else as
    a whole record again."""
    groups = {**record.patch_groups, **group_changes}
    loose = {**record.patch_loose, **loose_changes}
    size = sum(len(g[2]) // STAT for g in groups.values() if g is not None) + len(loose)
    if record.token and size * PATCH_SHARE <= record.files():
        store.write(PATCH, key, (FORMAT, record.token, groups, loose), plain=True)
        return
    whole_groups, whole_loose = dict(record.groups), dict(record.loose)
    _apply(whole_groups, whole_loose, group_changes, loose_changes)
    write_whole(store, key, whole_groups, whole_loose)


__all__ = ["FORMAT", "FileState", "Group", "OutputRecord", "group", "group_state", "group_states", "read",
           "write_changes", "write_whole"]
