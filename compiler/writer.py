"""Write stage: the output directory replaced atomically, or compared for --check."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.manifest import MANIFEST


@dataclass(frozen=True)
class Staleness:
    """How an output directory differs from what the catalog compiles to."""

    changed: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def fresh(self) -> bool:
        return not (self.changed or self.missing or self.extra)


class OutputError(Exception):
    """The output directory could not be read, locked or written; `diag` says why, for users."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def _existing(out: Path) -> dict[str, Path]:
    """Regular files under `out` (links and special files are no output moncat wrote)."""
    if not out.is_dir():
        return {}
    found = {}
    for p in sorted(out.rglob("*")):
        if not p.is_symlink() and p.is_file():
            found[p.relative_to(out).as_posix()] = p
    return found


def read_tree(out: Path) -> dict[str, bytes]:
    """Every file under `out` by relative path (empty when it does not exist)."""
    try:
        return {rel: p.read_bytes() for rel, p in _existing(out).items()}
    except OSError as exc:
        raise OutputError(_os_problem("cannot read", out, exc)) from None


def compare(out: Path, files: dict[str, bytes]) -> Staleness:
    try:
        return _compare(out, files)
    except OSError as exc:
        raise OutputError(_os_problem("cannot read", out, exc)) from None


def foreign(out: Path) -> set[str]:
    """Files under `out` that its manifest does not list: moncat did not write them, so it
    neither deletes nor reports them (a disabled target's files are listed, and go)."""
    try:
        listed = set(json.loads((out / MANIFEST).read_text("utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # no readable manifest: guard() decides whether the directory is ours
    return {rel for rel in _existing(out) if rel not in listed and rel != MANIFEST}


def _compare(out: Path, files: dict[str, bytes]) -> Staleness:
    theirs = foreign(out)
    have = {rel: p for rel, p in _existing(out).items() if rel in files or rel not in theirs}
    changed = tuple(p for p in sorted(files) if p in have and have[p].read_bytes() != files[p])
    missing = tuple(p for p in sorted(files) if p not in have)
    extra = tuple(p for p in sorted(have) if p not in files)
    return Staleness(changed, missing, extra)


def guard(out: Path, catalog: Path) -> Diagnostic | None:
    """Refuse output directories moncat does not own: it replaces the whole directory."""
    out_r, cat_r = Path(os.path.realpath(out)), catalog.resolve()
    if out_r == cat_r or cat_r.is_relative_to(out_r):
        return error("MC501", f"output directory {out} contains the catalog", None,
                     "choose a separate directory, e.g. --out output")
    if out_r.is_relative_to(cat_r):
        return error("MC501", f"output directory {out} is inside the catalog {catalog}: the next "
                     "compile would read the generated files as catalog files", None,
                     "choose a directory outside the catalog, e.g. --out output next to it")
    for above in (out_r, *out_r.parents):
        if above.exists():
            if not above.is_dir():
                what = "exists and is not a directory" if above == out_r else \
                    f"is under {above}, which is a file"
                return error("MC501", f"output path {out} {what}", None,
                             "remove it or choose another --out")
            break
    if out_r.is_dir() and any(out_r.iterdir()) and not (out_r / MANIFEST).is_file():
        return error("MC501", f"output directory {out} is not empty and was not written by moncat "
                     f"(no {MANIFEST})", None, "empty it or choose another --out")
    return None


def _os_problem(doing: str, out: Path, exc: OSError, staging: Path | None = None) -> Diagnostic:
    """An operating-system error as a diagnostic: what failed, where, and what to check."""
    where = str(exc.filename or out)
    if staging is not None and where.startswith(str(staging)):
        where = str(out) + where[len(str(staging)):]  # the file as it would have been named
    reason = exc.strerror or str(exc)
    hint = {errno.ENOSPC: "free some disk space and compile again",
            errno.EDQUOT: "free some disk space and compile again",
            errno.EACCES: "check the permissions of the output directory and its parent",
            errno.EPERM: "check the permissions of the output directory and its parent",
            errno.EROFS: "choose an --out on a writable file system",
            errno.ENAMETOOLONG: "shorten the --out path or the catalog's names"}.get(
                exc.errno or 0, "check the output path, its permissions and the free space")
    return error("MC502", f"{doing} {where}: {reason}", None,
                 f"{hint}; the previous output, if any, is unchanged")


@contextmanager
def _lock(target: Path) -> Iterator[None]:
    """One writer per output directory: a lock file next to it, held with flock (released by the
    kernel if moncat dies) and removed afterwards."""
    path = target.parent / f".{target.name}.moncat-lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise OutputError(error(
                "MC503", f"another moncat is writing {target} (process {holder or 'unknown'})",
                None, "wait for it to finish, then compile again")) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the previous holder removed it between our open and our lock: again
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.unlink(path)
        os.close(fd)


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Create every file under `root`. Directories first, then the files from a thread pool:
    on a virtual disk each file creation waits on the device, and 20,000 runbook pages written
    one by one took 17 s where 16 writers take 5 s (the waits release the GIL)."""
    for parent in sorted({(root / rel).parent for rel in files}):
        parent.mkdir(parents=True, exist_ok=True)
    items = list(files.items())
    if len(items) < 64:
        for rel, data in items:
            (root / rel).write_bytes(data)
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda item: (root / item[0]).write_bytes(item[1]), items, chunksize=32))


def write(out: Path, files: dict[str, bytes]) -> bool:
    """Replace `out` with exactly `files`; readers see the old or the new tree, never a mix.
    When `out` is a symbolic link, its target is replaced and the link kept. Returns False when
    nothing needed writing; raises OutputError when the system refuses (full disk, permissions,
    another moncat writing the same directory)."""
    target = Path(os.path.realpath(out))
    try:
        if _compare(target, files).fresh:  # checked again under the lock before writing
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        with _lock(target):
            if _compare(target, files).fresh:
                return False
            kept = {rel: (target / rel).read_bytes() for rel in foreign(target) if rel not in files}
            _replace(target, {**kept, **files}, out)
    except OSError as exc:
        raise OutputError(_os_problem("cannot write", out, exc)) from None
    return True


def _replace(target: Path, files: dict[str, bytes], out: Path) -> None:
    parent = target.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.moncat-new-", dir=parent))
    try:
        try:
            write_files(tmp, files)
        except OSError as exc:
            raise OutputError(_os_problem("cannot write", out, exc, staging=tmp)) from None
        os.chmod(tmp, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.moncat-old-", dir=parent))
            os.rename(target, old / "tree")
            try:
                os.rename(tmp, target)
            except OSError:
                os.rename(old / "tree", target)  # put the old tree back: never leave no output
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_UMASK = os.umask(0)
os.umask(_UMASK)


def update(out: Path, files: dict[str, bytes], keep: Collection[str],
           unchanged_since: Callable[[Path], bool], listed: Collection[str] | None = None) -> bool | None:
    """Bring `out` to `files` plus the files `keep` names, which `out` holds already (the
    incremental compile's unchanged services): only the files that differ are written, each
    atomically (a temporary file renamed over it), files no longer made are deleted, and the
    manifest goes last. `unchanged_since(target)`, asked under the lock, says whether `out` is
    still the tree the caller validated; None when it is not (another compile wrote it since:
    the caller compiles everything instead). Returns whether anything was written. `listed`:
    the files `out`'s manifest lists, when the caller knows them (others are foreign and stay)."""
    target = Path(os.path.realpath(out))
    try:
        with _lock(target):
            if not unchanged_since(target):
                return None
            return _update(target, files, set(keep), listed)
    except OSError as exc:
        raise OutputError(_os_problem("cannot write", out, exc)) from None


def _regular_files(root: Path) -> set[str]:
    """What `_existing` finds, from directory entries alone (no stat per file: the incremental
    write looks at every file of a large output each time)."""
    found: set[str] = set()
    todo = [("", str(root))]
    while todo:
        rel, path = todo.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append((rel + entry.name + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found.add(rel + entry.name)
    return found


def _update(target: Path, files: dict[str, bytes], keep: set[str],
            listed: Collection[str] | None) -> bool:
    present = _regular_files(target)
    # Files moncat did not write stay, as `write` keeps them.
    keep = keep | (foreign(target) if listed is None else present - set(listed) - {MANIFEST})
    changed = False
    for rel in sorted(files, key=lambda p: p == MANIFEST):  # the manifest last
        data = files[rel]
        path = target / rel
        if rel in present and path.stat().st_size == len(data) and path.read_bytes() == data:
            continue
        _put(target, rel, data)
        changed = True
    for rel in sorted(present - set(files) - keep):
        os.unlink(target / rel)
        changed = True
        parent = (target / rel).parent
        while parent != target and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return changed


def _put(target: Path, rel: str, data: bytes) -> None:
    """Write one file atomically, clearing what stands in its way (a file where a directory goes
    now, or a directory where the file goes)."""
    path = target / rel
    here = target
    for part in Path(rel).parent.parts:
        here = here / part
        if here.is_symlink() or (here.exists() and not here.is_dir()):
            here.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.moncat-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as write_files creates them (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
