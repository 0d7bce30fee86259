"""Incremental compile, write stage: only the files that changed are written, in place.

A compile that reused unchanged services has only the other files' bytes; the unchanged ones
are in the output directory already (checked against the recorded size, time and inode before
they were reused). Each file is written atomically (a temporary file renamed over it), files the
catalog no longer makes are deleted, and manifest.json goes last: an interrupted run leaves
files the cache's record does not describe, which the next run finds and rewrites. A compile
with nothing to reuse replaces the whole directory atomically, as `compiler.writer` does.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from compiler import writer
from compiler.incremental.run import Cache
from compiler.manifest import MANIFEST

_UMASK = os.umask(0)
os.umask(_UMASK)


def write(out: Path, files: dict[str, bytes], unchanged: dict[str, str], hashes: dict[str, str],
          cache: Cache) -> bool:
    """Bring `out` to `files` plus the `unchanged` files it holds; True when anything was
    written. Records what `out` holds for the next compile."""
    if not unchanged:
        changed = writer.write(out, files)
    else:
        changed = _update(out, files, set(unchanged))
    cache.run.save_output(out, hashes)
    return changed


def _update(out: Path, files: dict[str, bytes], keep: set[str]) -> bool:
    present = _present(out)
    changed = False
    last = [MANIFEST] if MANIFEST in files else []
    for rel in [p for p in files if p != MANIFEST] + last:
        data = files[rel]
        if rel in present and _same(out / rel, data):
            continue
        _put(out, rel, data)
        changed = True
    for rel in sorted(present - set(files) - keep):
        try:
            os.unlink(out / rel)
        except OSError:
            continue
        changed = True
        _prune_dirs(out, Path(rel).parent)
    return changed


def _present(out: Path) -> set[str]:
    found: set[str] = set()
    root = str(out)
    for dirpath, _, filenames in os.walk(root):
        base = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if base == "." else base + "/"
        found.update(prefix + name for name in filenames)
    return found


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _put(out: Path, rel: str, data: bytes) -> None:
    """Write one file atomically, clearing whatever stands in its way (a directory where a file
    goes now, or a file where a directory goes)."""
    target = out / rel
    here = out
    for part in Path(rel).parent.parts:
        here = here / part
        if here.is_symlink() or here.is_file():
            here.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as a plain write would create it
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _prune_dirs(out: Path, rel: Path) -> None:
    while rel != Path("."):
        try:
            (out / rel).rmdir()
        except OSError:
            return
        rel = rel.parent
