"""Load stage, git: the catalog as it was at a revision, extracted into a temporary tree."""
from __future__ import annotations

import io
import subprocess
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
    top = Path(_git(catalog, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    if not catalog.is_relative_to(top):
        raise RevisionError(f"{catalog} is not inside the repository {top}")
    rel = catalog.relative_to(top).as_posix() or "."
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except RevisionError:
        raise RevisionError(f"no commit {rev!r} in {top}") from None
    data = _git(top, "archive", "--format=tar", rev, "--", rel)
    import tarfile  # here: only `diff --base` reads a revision, and tarfile costs every command's start

    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            # The "data" filter refuses links that leave the tree and absolute paths: the same
            # confinement the loader applies to the working catalog.
            tar.extractall(dest, filter="data")
    except tarfile.FilterError as exc:
        name = exc.tarinfo.name if exc.tarinfo is not None else "?"
        raise RevisionError(f"{name} is a symbolic link to a place outside the catalog; moncat "
                            "reads nothing outside the catalog directory") from None
    except (tarfile.TarError, OSError) as exc:
        raise RevisionError(f"cannot extract the catalog: {exc}") from None
    return dest / rel
