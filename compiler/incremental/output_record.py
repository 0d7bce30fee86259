"""Incremental compile, write stage: the record of what a compile wrote to an output directory
(each file's hash and status), kept as a whole record and a patch of the files changed since.

A recompile that changes one service's files rewrote the whole record: 35,000 files' states
marshalled (4 MB) at 10,000 alerts, 0.02-0.03 s, for a few hundred changed. It writes a patch
instead (the files changed since the whole record was written, each with its new state, or
None when gone), until the patch holds more than an eighth as many files as the whole record,
which is then written again and the patch removed. Both are read back together: the patch
applies only to the whole record it was made against (a token they share, new with each whole
record), so a patch left by a compile that stopped before removing it is never applied to a
newer record. A patch that cannot be read leaves the whole record as it was, whose manifest's
state then no longer matches the output's (every write with changes writes a new manifest):
nothing of the output is reused, as when no record can be read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from compiler.incremental.store import Store

FileState = tuple[str, int, int, int]  # sha256 hex, size, mtime_ns, inode
WHOLE, PATCH = "out", "outpatch"  # the kinds of the two records (see Store)
PATCH_SHARE = 8  # a patch is written while it holds at most 1/PATCH_SHARE of the whole record's files


@dataclass
class OutputRecord:
    """What a compile found recorded of an output: every file's state (the whole record with
    its patch applied), the whole record's token and the patch's changes."""

    state: dict[str, FileState] = field(default_factory=dict)
    token: str = ""
    patch: dict[str, FileState | None] = field(default_factory=dict)


def read(store: Store, key: str) -> OutputRecord:
    """The record of the output `key` names; empty when there is none or it cannot be read."""
    whole = store.read(WHOLE, key, plain=True)
    if not (type(whole) is tuple and len(whole) == 2 and type(whole[0]) is str and whole[0]
            and type(whole[1]) is dict):
        return OutputRecord()
    token, state = whole
    patch = store.read(PATCH, key, plain=True)
    if not (type(patch) is tuple and len(patch) == 2 and patch[0] == token and type(patch[1]) is dict):
        return OutputRecord(state, token)
    for path, entry in patch[1].items():
        if entry is None:
            state.pop(path, None)
        else:
            state[path] = entry
    return OutputRecord(state, token, patch[1])


def write_whole(store: Store, key: str, state: dict[str, FileState]) -> None:
    """Record `state` as the output's whole record (a new token), and remove any patch."""
    store.write(WHOLE, key, (os.urandom(8).hex(), state), plain=True)
    store.remove(PATCH, key)


def write_changes(store: Store, key: str, record: OutputRecord, changes: dict[str, FileState | None]) -> None:
    """Record the output as `record` read it, with `changes` (a file's new state, or None when
    it is gone): as a patch of the whole record while the patch stays small, else as a whole
    record again."""
    patch = {**record.patch, **changes}
    if record.token and len(patch) * PATCH_SHARE <= len(record.state):
        store.write(PATCH, key, (record.token, patch), plain=True)
        return
    state = dict(record.state)
    for path, entry in changes.items():
        if entry is None:
            state.pop(path, None)
        else:
            state[path] = entry
    write_whole(store, key, state)


__all__ = ["FileState", "OutputRecord", "read", "write_changes", "write_whole"]
