"""Load stage, git: the catalog as it was at a revision, extracted into a temporary tree."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


class RevisionError(Exception):
    """The revision or the repository could not be read."""


def _git(cwd: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise RevisionError("git is not installed") from None
    if proc.returncode != 0:
        raise RevisionError(proc.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return proc.stdout


def extract_catalog(catalog: Path, rev: str, dest: Path) -> Path:
    """Write the files of `catalog` at `rev` under `dest`; return the catalog's path there.
    `git archive` rather than a worktree: nothing is registered in the repository, so an
    interrupted diff leaves no state behind."""
    catalog = catalog.resolve()
    top = Path(_git(catalog, "rev-parse", "--show-toplevel").decode().strip())
    rel = catalog.relative_to(top).as_posix() or "."
    _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    data = _git(top, "archive", "--format=tar", rev, "--", rel)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / rel
