"""Incremental compile, write stage: the output directory replaced whole and atomically, as
`compiler.writer.write` does, with the files the cache knows unchanged hard-linked into the new
tree without being read (`compiler.writer.update`); then what it holds is recorded (hash and
stat of every file) so that the next compile can tell its files are still there as written.
The write checks, under the lock, that every file it keeps is as recorded: when one is not (a
file changed by hand), the catalog is compiled again with a careful cache (`Cache.careful`),
which computes the services of such files again."""
from __future__ import annotations

import hashlib
from operator import itemgetter
from pathlib import Path
from typing import Callable

from compiler import writer
from compiler.incremental.run import Cache, FileState
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
    state = cache.run.out_state  # what this cache recorded of `out`: what its manifest lists
    written = None  # the write replaced the whole tree
    if not state:
        changed = writer.write(out, result.files)
    else:
        reuse = _unchanged(state, result.unchanged)
        files = {}
        for path, data in result.files.items() if reuse is not None else ():
            if path == MANIFEST:
                continue
            recorded = state.get(path)
            if recorded is not None and recorded[0] == hashes[path] and path not in made:
                reuse[path] = recorded  # made again as it was: kept
            else:
                files[path] = data
                reuse.pop(path, None)  # (an unchanged service's file of the same path)
        if reuse is not None:
            # A file written lists another hash in the manifest's files: it differs from the
            # output's, which is not read back then (26 MB at 10,000 alerts).
            if MANIFEST not in made and not files and cache.run.holds(MANIFEST, result.files[MANIFEST]):
                reuse[MANIFEST] = state[MANIFEST]
                manifest = state[MANIFEST][0]
            else:
                files[MANIFEST] = result.files[MANIFEST]
        updated = None if reuse is None else writer.update(out, files, reuse, cache.run.still_there, state.keys())
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
    cache.run.save_output(out, {**hashes, MANIFEST: manifest}, written)
    return changed


def _unchanged(state: dict[str, FileState], unchanged: dict[str, str]) -> dict[str, FileState] | None:
    """The files of unchanged services as `state` records them (hash, size, mtime_ns, inode: the
    record's own tuples, which `writer.update` reads the status of; making a tuple of the status
    alone took half this function's time), by path; None when one is not recorded with its hash
    (`out` no longer holds it as written), or not as four fields. Looked up and compared without
    a step of Python per file: 34,000 of them at 10,000 alerts."""
    recorded = list(map(state.get, unchanged))
    try:
        if None in recorded or list(map(_HASH, recorded)) != list(unchanged.values()) \
                or set(map(len, recorded)) - {4}:
            return None
        return dict(zip(unchanged, recorded))
    except (TypeError, IndexError):  # a record of another shape
        return None


_HASH = itemgetter(0)


__all__ = ["write"]
