"""Startup support: Python code moncat generates for itself (the catalog schema's validator),
compiled once and kept in the user's cache directory, keyed by its source and the interpreter."""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Callable


def user_cache_dir() -> Path | None:
    """`$XDG_CACHE_HOME/moncat` (default `~/.cache/moncat`), or None where there is no home to
    use: then nothing is cached and everything is computed on each run."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                if os.path.expanduser("~") != "~" else "")
    if not base:
        return None
    return Path(base) / "moncat"


def compiled(key: str, name: str, make_source: Callable[[], str]) -> CodeType:
    """The compiled code of `make_source()`, read from the cache when this interpreter built
    it for the same `key` before (the key must change whenever the source would). A cache that
    cannot be read or written is ignored."""
    digest = hashlib.sha256(f"{sys.implementation.cache_tag}\0{name}\0{key}".encode()).hexdigest()
    folder = user_cache_dir()
    path = folder / "code" / f"{digest}.marshal" if folder else None
    if path is not None:
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code = compile(make_source(), name, "exec")
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written under a temporary name and renamed: a concurrent run reads all or nothing.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(code))
            os.replace(tmp, path)
        except OSError:
            pass
    return code
