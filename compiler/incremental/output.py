"""Incremental compile, write stage: the output directory replaced as `compiler.writer` does,
with the unchanged services' files hard-linked from the tree they are in, then recorded (hash
and stat of every file) so that the next compile can tell they are still there as written."""
from __future__ import annotations

from pathlib import Path

from compiler import writer
from compiler.incremental.run import Cache
from compiler.pipeline import Result


def write(out: Path, result: Result, cache: Cache) -> bool:
    """Bring `out` to the compile's files (those written this time and the unchanged ones it
    holds already); True when anything was written."""
    changed = writer.write(out, result.files, result.unchanged)
    cache.run.save_output(out, result.hashes)
    return changed


__all__ = ["write"]
