"""Incremental compile, write stage: only the files that changed are written into the output
directory (`compiler.writer.update`), then what it holds is recorded (hash and stat of every
file) so that the next compile can tell its files are still there as written."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from compiler import writer
from compiler.incremental.run import Cache
from compiler.pipeline import Result


def write(out: Path, result: Result, cache: Cache, recompile: Callable[[], Result]) -> bool:
    """Bring `out` to the compile's files: those it made this time and the unchanged ones `out`
    holds already. Should another compile have written `out` since this one looked at it,
    `recompile()` (without the cache) gives every file instead. True when anything changed."""
    hashes = result.hashes
    if not result.unchanged:
        changed = writer.write(out, result.files)
    else:
        # What this cache recorded of `out` is what its manifest lists (still_there checks that).
        listed = cache.run.out_state.keys() if cache.run.out_state else None
        updated = writer.update(out, result.files, result.unchanged, cache.run.still_there, listed)
        if updated is None:
            fresh = recompile()
            if fresh.report.has_errors():  # the catalog changed meanwhile: report that compile
                result.report.extend(fresh.report.items)
                return False
            changed = writer.write(out, fresh.files)
            hashes = {p: hashlib.sha256(data).hexdigest() for p, data in fresh.files.items()}
        else:
            changed = updated
    cache.run.save_output(out, hashes)
    return changed


__all__ = ["write"]
