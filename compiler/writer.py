"""Write stage: the output directory replaced atomically, or compared for --check."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
import threading
from array import array
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Iterable, Iterator, Mapping

from compiler.diagnostics import Diagnostic, error
from compiler import patch
from compiler.manifest import MANIFEST
from compiler.trees import link_unchanged, remove_tree, write_files


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


def _existing(out: Path) -> dict[str, str]:
    """Regular files under `out` by relative path, in path order (links and special files are no
    output moncat wrote; directories are not followed through links)."""
    found: dict[str, str] = {}

    def walk(directory: str, prefix: str) -> None:
        try:
            with os.scandir(directory) as entries:
                listing = list(entries)
        except (PermissionError, NotADirectoryError, FileNotFoundError):
            return  # as pathlib's rglob: what cannot be listed holds nothing of ours
        for entry in listing:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, prefix + entry.name + "/")
            elif entry.is_file(follow_symlinks=False):
                found[prefix + entry.name] = entry.path

    if out.is_dir():
        walk(str(out), "")
    return {rel: found[rel] for rel in sorted(found, key=lambda rel: rel.split("/"))}


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _same(path: str, data: bytes) -> os.stat_result | None:
    """The file's status when it holds exactly `data`, else None (read no further than needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        status = os.fstat(fd)
        if status.st_size != len(data):
            return None
        have = os.read(fd, len(data) + 1)
        while len(have) < len(data):  # a short read: on to the end
            chunk = os.read(fd, len(data) + 1 - len(have))
            if not chunk:
                break
            have += chunk
        return status if have == data else None
    finally:
        os.close(fd)


def read_tree(out: Path) -> dict[str, bytes]:
    """Every file under `out` by relative path (empty when it does not exist)."""
    try:
        return {rel: _read(path) for rel, path in _existing(out).items()}
    except OSError as exc:
        raise OutputError(_os_problem("cannot read", out, exc)) from None


def compare(out: Path, files: dict[str, bytes]) -> Staleness:
    try:
        return _compare(out, files)
    except OSError as exc:
        raise OutputError(_os_problem("cannot read", out, exc)) from None


def _foreign(out: Path, existing: dict[str, str]) -> set[str]:
    """Files under `out` that its manifest does not list: moncat did not write them, so it
    neither deletes nor reports them (a disabled target's files are listed, and go)."""
    try:
        listed = set(json.loads((out / MANIFEST).read_text("utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # no readable manifest: guard() decides whether the directory is ours
    return {rel for rel in existing if rel not in listed and rel != MANIFEST}


def _ours(out: Path, files: dict[str, bytes]) -> dict[str, str]:
    """The files under `out` to compare with `files`: all but the foreign ones it does not name."""
    existing = _existing(out)
    theirs = _foreign(out, existing)
    return {rel: path for rel, path in existing.items() if rel in files or rel not in theirs}


def _compare(out: Path, files: dict[str, bytes]) -> Staleness:
    have = _ours(out, files)
    changed = tuple(p for p in sorted(files) if p in have and _same(have[p], files[p]) is None)
    missing = tuple(p for p in sorted(files) if p not in have)
    extra = tuple(p for p in sorted(have) if p not in files)
    return Staleness(changed, missing, extra)


def _fresh(out: Path, files: dict[str, bytes]) -> bool:
    """Whether `out` already holds exactly `files` (its foreign files aside); stops reading at
    the first difference."""
    have = _ours(out, files)
    return have.keys() == files.keys() and all(_same(have[rel], data) is not None
                                               for rel, data in files.items())


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


# moncat writes from its worker thread (limits.run_deep) while Ctrl-C reaches the main thread,
# which then exits. `settle()` lets it exit only between writes: a write under way finishes (or
# fails and cleans up), and none starts after. Exiting mid-swap would leave no output directory.
_swapping = threading.Lock()
_settled = False


@contextmanager
def _unless_settled() -> Iterator[None]:
    """Hold the write lock for a write, unless the run was interrupted (`settle()` ran): then
    KeyboardInterrupt, and nothing is written."""
    with _swapping:
        if _settled:
            raise KeyboardInterrupt
        yield


_undo: list[Callable[[], None]] = []


def settle() -> None:
    """Wait for a write under way, and refuse later ones (raising KeyboardInterrupt in them);
    then undo the provisional writes still pending (see `provisional`)."""
    global _settled
    with _swapping:
        _settled = True
        for undo in reversed(_undo):
            try:
                undo()
            except OSError:
                pass  # exiting anyway; what could not be removed stays, as after a crash
        _undo.clear()


class Provisional:
    """Files written into a directory the user owns (a catalog) until the writer's caller
    decides whether they stay; see `provisional`."""

    def __init__(self, root: Path, files: dict[str, bytes]) -> None:
        self.root, self.files = root, files

    def write(self) -> None:
        """(Re)write the files, unless the run was interrupted: then they are gone for good."""
        with _unless_settled():  # else settle() has taken them back: write nothing more
            try:
                write_files(self.root, self.files)
            except BaseException:
                self.remove()
                raise

    def remove(self) -> None:
        for rel in self.files:
            path = self.root / rel
            path.unlink(missing_ok=True)
            for parent in path.relative_to(self.root).parents[:-1]:  # directories it made, if empty
                try:
                    (self.root / parent).rmdir()
                except OSError:
                    break


@contextmanager
def provisional(root: Path, files: dict[str, bytes]) -> Iterator[Provisional]:
    """Write `files` under `root` for the length of the block, which decides whether they stay
    (calling `remove()` takes them back). An interrupt (`settle()`) before the block ends takes
    them back too: `moncat import --into` writes into the user's catalog, then validates it, and
    a Ctrl-C during that validation must not leave half an import in the catalog."""
    written = Provisional(root, files)
    with _swapping:
        _undo.append(written.remove)
    try:
        written.write()
        yield written
    finally:
        with _swapping:
            if written.remove in _undo:
                _undo.remove(written.remove)


def write(out: Path, files: dict[str, bytes]) -> bool:
    """Replace `out` with exactly `files`; readers see the old or the new tree, never a mix.
    When `out` is a symbolic link, its target is replaced and the link kept. Returns False when
    nothing needed writing; raises OutputError when the system refuses (full disk, permissions,
    another moncat writing the same directory)."""
    target = Path(os.path.realpath(out))
    try:
        if _fresh(target, files):  # checked again under the lock before writing
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        with _lock(target):
            _recover(target)
            existing = _existing(target)
            theirs = _foreign(target, existing)
            kept = {rel: _read(existing[rel]) for rel in theirs if rel not in files}
            tree = {**kept, **files}
            unchanged = {rel: (existing[rel], status) for rel, data in tree.items()
                         if rel in existing and (status := _same(existing[rel], data)) is not None}
            if len(unchanged) == len(tree) and existing.keys() <= tree.keys():
                return False
            with _unless_settled():
                _replace(target, tree, out, unchanged)
    except OSError as exc:
        raise OutputError(_os_problem("cannot write", out, exc)) from None
    return True


def _recover(target: Path) -> None:
    """What a moncat killed while writing `target` left beside it, undone (under the lock, before
    any write): a patch half applied (`patch.recover`); a tree swapped out and not yet replaced
    by the new one (it goes back: the output stays as it was); a new tree never swapped in, and
    a replaced one not yet removed (both go)."""
    patch.recover(str(target))
    try:
        leftovers = sorted(p for p in target.parent.iterdir()
                           if p.name.startswith((f".{target.name}.moncat-new-", f".{target.name}.moncat-old-")))
    except OSError:
        return
    for path in leftovers:
        if not os.path.lexists(target) and path.name.startswith(f".{target.name}.moncat-old-") \
                and (path / "tree").is_dir():
            os.rename(path / "tree", target)
        remove_tree(path)


def _replace(target: Path, files: dict[str, bytes], out: Path,
             unchanged: dict[str, tuple[str, os.stat_result]]) -> None:
    """Build the new tree beside `target` and swap it in. `unchanged` may name files that
    `files` has no bytes for (`update`): those not linked are copied from the old tree. The old
    tree is removed before returning: when moncat exits, nothing of its own is left beside the
    output (a CI step that runs `git status` next may rely on it)."""
    parent = target.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.moncat-new-", dir=parent))
    try:
        try:
            linked = link_unchanged(tmp, unchanged)
            rest = {rel: data for rel, data in files.items() if rel not in linked}
            rest.update((rel, _copy(src, status)) for rel, (src, status) in unchanged.items()
                        if rel not in linked and rel not in files)
            write_files(tmp, rest)
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
            remove_tree(old)
        else:
            os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class _Moved(Exception):
    """A file `update` was to reuse is no longer the one recorded."""


def _copy(src: str, status: os.stat_result) -> bytes:
    """The bytes of a file to reuse that could not be linked, if it is still the one recorded."""
    data = _read(src)
    if not _as_recorded(os.lstat(src), status):
        raise _Moved(src)
    return data


def _as_recorded(now: os.stat_result, then: os.stat_result) -> bool:
    """Whether a file is still the one recorded: same inode, size and modification time."""
    return (now.st_size, now.st_mtime_ns, now.st_ino) == (then.st_size, then.st_mtime_ns, then.st_ino)


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class Recorded(dict):
    """Files to reuse (`update`), as an incremental compile's record gives them: path -> the
    place of the file's size, mtime_ns and inode in `stats` (three integers each), its hash
    in `hashes`. 34,000 files at 10,000 alerts, kept as arrays rather than a tuple each."""

    def __init__(self, places: Iterable[tuple[str, int]], hashes: Mapping[str, str], stats: array):
        super().__init__(places)
        self.hashes, self.stats = hashes, stats
        self.kept: dict[str, str] = {}  # the hashes of the files `keep` added

    @classmethod
    def of(cls, states: Mapping[str, tuple]) -> "Recorded":
        """Files to reuse given one state each (hash, size, mtime_ns, inode), by path."""
        reuse = cls((), {}, array("q"))
        for path, state in states.items():
            reuse.keep(path, state)
        return reuse

    def state(self, path: str) -> tuple[str, int, int, int]:
        """A file's hash, size, mtime_ns and inode."""
        at = self[path]
        sha = self.kept.get(path)
        return (self.hashes[path] if sha is None else sha, *self.stats[at:at + 3])

    def keep(self, path: str, state: tuple) -> None:
        """Reuse a file recorded as `state` (hash, size, mtime_ns, inode)."""
        self[path] = len(self.stats)
        self.kept[path] = state[0]
        self.stats.extend(state[1:4])


def _still_as_recorded(root: str, reuse: Recorded, keep: bool = True
                       ) -> list[os.stat_result] | None:
    """Each file's status, in `reuse`'s order (none when not `keep`: 34,000 of them held at
    10,000 alerts, for a write that patches a few files, cost thousands of fresh pages), when
    every one is still as recorded (`_as_recorded`, inlined); else None."""
    statuses: list[os.stat_result] = []
    lstat, append, stats = os.lstat, statuses.append, reuse.stats
    for rel, at in reuse.items():
        try:
            status = lstat(root + rel)
        except OSError:
            return None
        if status.st_size != stats[at] or status.st_mtime_ns != stats[at + 1] or status.st_ino != stats[at + 2]:
            return None
        if keep:
            append(status)
    return statuses


def update(out: Path, files: dict[str, bytes], reuse: Recorded,
           unchanged_since: Callable[[Path], bool], listed: Collection[str]) -> bool | None:
    """Bring `out` to `files` plus the files `reuse` names, which `out` holds already as a
    previous compile recorded them (`Recorded`): the incremental compile's unchanged files,
    never read. When fewer files change than stay, they are replaced in place
    (`patch.apply`); else `out` is replaced as `write` does, the unchanged files hard-linked
    into the new tree. `listed`: the
    files `out`'s manifest lists, those in `reuse` aside or not (the others are foreign, and
    stay). `unchanged_since(target)`,
    asked under the lock, says whether `out` is still the tree the caller recorded. None when it
    is not, or when a file to reuse is no longer as recorded (the caller then compiles
    again: see compiler.incremental.output); else whether anything changed. This is the one
    check of the files to reuse: the incremental compile trusts its record until here."""
    target = Path(os.path.realpath(out))
    try:
        with _lock(target):
            _recover(target)
            if not unchanged_since(target):
                return None
            root = str(target) + os.sep
            gone = [rel for rel in listed if rel not in files and rel not in reuse and _is_file(root + rel)]
            patching = len(files) + len(gone) < len(reuse) and patch.fits(str(target), files)
            # Only the new tree links the unchanged files by their status: a patch needs none kept.
            statuses = _still_as_recorded(root, reuse, keep=not patching)
            if statuses is None:
                return None
            if not files and not gone:
                return False
            if patching:
                # A few files changed among many: replaced where they stand, not a new tree of
                # links to every unchanged file (at 10,000 alerts, 34,000 links, then 34,000
                # removals, for a dozen changed files).
                with _unless_settled():
                    patch.apply(str(target), files, gone)
                return True
            unchanged = {rel: (root + rel, status) for rel, status in zip(reuse, statuses)}
            existing = _existing(target)
            theirs = existing.keys() - listed - {MANIFEST}
            kept = {rel: _read(existing[rel]) for rel in theirs if rel not in files and rel not in reuse}
            unchanged.update((rel, (existing[rel], os.lstat(existing[rel]))) for rel in kept)
            tree = {**kept, **files}
            with _unless_settled():
                _replace(target, tree, out, unchanged)
    except _Moved:
        return None
    except OSError as exc:
        raise OutputError(_os_problem("cannot write", out, exc)) from None
    return True
