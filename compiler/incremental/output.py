"""Incremental compile, write stage: the output directory replaced whole and atomically, as
`compiler.writer.write` does, with the files the cache knows unchanged hard-linked into the new
tree without being read (`compiler.writer.update`); then what it holds is recorded (hash and
stat of every file) so that the next compile can tell its files are still there as written.
The write checks, under the lock, that every file it keeps is as recorded: when one is not (a
file changed by hand), the catalog is compiled again with a careful cache (`Cache.careful`),
which computes the services of such files again."""
from __future__ import annotations

import hashlib
from array import array
from pathlib import Path
from typing import Callable, Collection

from compiler import writer
from compiler.incremental.output_record import FileState, OutputRecord, group_states
from compiler.incremental.run import Cache
from compiler import pipeline
from compiler.manifest import MANIFEST
from compiler.pipeline import Result


def write(out: Path, result: Result, cache: Cache, recompile: Callable[[], Result]) -> bool:
    """Bring `out` to the compile's files: those it made this time and the unchanged ones `out`
    holds already. Should a file to keep no longer be as recorded, a careful compile (see
    Cache.careful) gives the files again; should another compile have written `out` since this
    one looked at it, `recompile()` (without the cache) gives every file instead. True when
    anything changed."""
    hashes = result.hashes  # every file's but the manifest's
    # The manifest is not hashed (26 MB at 10,000 alerts, changed by any file changed): it is kept
    # when no other file is written and the output's manifest, as recorded, holds its bytes
    # (compared only when their sizes match), else written, and its record holds no hash then ("").
    manifest = ""
    # A careful run (see Cache.careful) writes every file it made: one of them may be the file
    # changed by hand, whose bytes the record still gives.
    made = result.files if cache.run.careful else {}
    record = cache.run.out_record  # what this cache recorded of `out`: what its manifest lists
    written = None  # the write replaced the whole tree
    owners: dict[str, list[str]] = {}  # an unchanged service's file made this run -> its services
    if not record:
        changed = writer.write(out, result.files)
    else:
        # The record's other files (the services computed again, the catalog-wide files) by path.
        others = _others(record, cache.run.clean)
        reuse = _unchanged(record, cache.run.clean, result.unchanged, others, owners)
        files = {}
        for path, data in result.files.items() if reuse is not None else ():
            if path == MANIFEST:
                continue
            recorded = others.get(path)
            if recorded is None and path in reuse:
                recorded = reuse.state(path)
                owners[path] = cache.run.owners(path)
            if recorded is not None and recorded[0] == hashes[path] and path not in made:
                reuse.keep(path, recorded)  # made again as it was: kept
            else:
                files[path] = data
                reuse.pop(path, None)  # (an unchanged service's file of the same path)
        if reuse is not None:
            # A file written lists another hash in the manifest's files: it differs from the
            # output's, which is not read back then (26 MB at 10,000 alerts).
            if MANIFEST not in made and not files and MANIFEST in record.loose \
                    and cache.run.holds(MANIFEST, result.files[MANIFEST]):
                reuse.keep(MANIFEST, record.loose[MANIFEST])
                manifest = record.loose[MANIFEST][0]
            else:
                files[MANIFEST] = result.files[MANIFEST]
        # Every recorded file not in `others` is one of `reuse`'s (see _unchanged): listed there.
        updated = None if reuse is None else writer.update(out, files, reuse, cache.run.still_there, others.keys())
        if updated is None and not cache.run.careful and cache.catalog is not None:
            careful = cache.careful()
            again = pipeline.compile_catalog(cache.catalog, cache=careful, artifacts=False)
            if again.report.has_errors():  # the catalog changed meanwhile: report that compile
                result.report.extend(again.report.items)
                return False
            return write(out, again, careful, recompile)
        if updated is None:
            fresh = recompile()
            if fresh.report.has_errors():  # the catalog changed meanwhile: report that compile
                result.report.extend(fresh.report.items)
                return False
            changed = writer.write(out, fresh.files)
            hashes = {p: hashlib.sha256(data).hexdigest() for p, data in fresh.files.items()}
            manifest = hashes.pop(MANIFEST)
        else:
            changed, written = updated, files
    cache.run.save_output(out, {**hashes, MANIFEST: manifest}, written, result.files.keys(), owners)
    return changed


def _unchanged(record: OutputRecord, clean: Collection[str], unchanged: dict[str, str],
               others: dict[str, FileState], owners: dict[str, list[str]] | None = None) -> writer.Recorded | None:
    """The files `unchanged` names as the record's groups of the unchanged services (`clean`) hold
    them, by path (their hashes and statuses as arrays, not a tuple each: see writer.Recorded);
    None when one is not there with its hash (the record of a service's values then does not
    match its files' record: `out` no longer holds them as written). The groups' other files
    join `others` (a file a catalog-wide step made in place of a service's: a suppressed
    alert's Datadog monitor, replaced by its composite), and `owners` (path -> its services).
    Looked up and compared without a step of Python per file: 34,000 of them at 10,000 alerts."""
    paths: list[str] = []
    stats = array("q")
    strays: list[tuple[str, str]] = []  # a group's files `unchanged` does not name, with their hashes
    owners = {} if owners is None else owners
    known = unchanged.get
    for sid in clean:
        group = record.groups.get(sid)
        if group is None:  # (none for a service without files)
            continue
        names = group[0].split("\0")
        try:
            # Every file of the group named in `unchanged`, with the group's hash (the hashes,
            # hex digits, hold no NUL: joined strings alike are lists alike).
            same = "\0".join(map(known, names)) == group[1]
        except TypeError:  # one is not named there
            same = False
        if not same:
            hashes = group[1].split("\0")
            if len(hashes) != len(names):  # a group of another shape
                return None
            for name, sha in zip(names, hashes):
                if name not in unchanged:
                    strays.append((name, sha))
                    owners.setdefault(name, []).append(sid)
                elif unchanged[name] != sha:
                    return None
        paths += names
        stats.frombytes(group[2])
    reuse = writer.Recorded(zip(paths, range(0, 3 * len(paths), 3)), unchanged, stats)
    for path, sha in strays:
        at = reuse.pop(path, None)
        if at is not None:
            size, mtime, inode = stats[at:at + 3]
            others.setdefault(path, (sha, size, mtime, inode))
    # Each of the groups' files is named in `unchanged`: as many are every file it names.
    return reuse if len(reuse) == len(unchanged) else None


def _others(record: OutputRecord, clean: Collection[str]) -> dict[str, FileState]:
    """The record's files but the unchanged services' (those of the services computed again and
    the loose ones), by path."""
    found: dict[str, FileState] = {}
    for sid, group in record.groups.items():
        if sid not in clean:
            found.update(group_states(group))
    found.update(record.loose)
    return found


__all__ = ["write"]
