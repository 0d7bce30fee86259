"""Write stage, incremental: the few files an incremental compile changed replaced in the output
directory where it stands, every step recorded so that a failure, or the next moncat after a
crash, puts the previous files back."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from compiler.manifest import MANIFEST
from compiler.trees import make_dirs, remove_tree, write_files

JOURNAL = "journal.json"


def _prefix(target: str) -> str:
    return f".{os.path.basename(target)}.moncat-patch-"


def fits(target: str, files: dict[str, bytes]) -> bool:
    """Whether `files` can replace their namesakes in place: none where a directory stands, or
    under a file (the whole tree is replaced then)."""
    for rel in files:
        if os.path.isdir(os.path.join(target, rel)):
            return False
        for parent in _parents(rel):
            here = os.path.join(target, parent)
            if os.path.lexists(here) and not os.path.isdir(here):
                return False
    return True


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def apply(target: str, files: dict[str, bytes], remove: list[str]) -> None:
    """Write `files` into `target` (replacing their namesakes) and remove the files `remove`
    names, the manifest last. The new files are written aside first, so a full disk changes
    nothing; then each lands with one rename, the file it replaces kept aside until all have
    landed. Any failure puts every file back as it was, and the error is raised."""
    work = tempfile.mkdtemp(prefix=_prefix(target), dir=os.path.dirname(target))
    try:
        journal = _prepare(target, work, files, remove)
    except BaseException:
        remove_tree(work)
        raise
    try:
        _commit(target, work, journal)
    except BaseException:
        try:
            _undo(target, work, journal)
        except OSError:
            pass  # the journal stays beside the directory: the next moncat undoes the rest
        else:
            remove_tree(work)
        raise
    remove_tree(work)


def _prepare(target: str, work: str, files: dict[str, bytes], remove: list[str]) -> dict:
    """The new files written aside and the journal of what the commit will do."""
    staged = os.path.join(work, "new")
    try:
        write_files(Path(staged), files)
    except OSError as exc:
        name = str(exc.filename or "")
        if name.startswith(staged + os.sep):  # name the file as it would have been named
            raise OSError(exc.errno, exc.strerror, target + name[len(staged):]) from None
        raise
    order = sorted(files, key=lambda rel: rel == MANIFEST)  # the manifest lands last
    existed = {rel for rel in order if os.path.lexists(os.path.join(target, rel))}
    journal = {"write": [[rel, rel in existed] for rel in order], "remove": sorted(remove),
               "dirs": sorted({d for rel in files for d in _parents(rel)
                               if not os.path.isdir(os.path.join(target, d))})}
    make_dirs(os.path.join(work, "old"), [*existed, *remove])
    with open(os.path.join(work, JOURNAL), "w", encoding="utf-8") as f:
        json.dump(journal, f)
    return journal


def _commit(target: str, work: str, journal: dict) -> None:
    for d in journal["dirs"]:
        os.makedirs(os.path.join(target, d), exist_ok=True)
    for rel, existed in journal["write"]:
        if existed:
            os.link(os.path.join(target, rel), os.path.join(work, "old", rel), follow_symlinks=False)
        os.replace(os.path.join(work, "new", rel), os.path.join(target, rel))
    for rel in journal["remove"]:
        os.replace(os.path.join(target, rel), os.path.join(work, "old", rel))
    for d in sorted({d for rel in journal["remove"] for d in _parents(rel)}, key=len, reverse=True):
        try:
            os.rmdir(os.path.join(target, d))  # emptied by the removals: gone as in a new tree
        except OSError:
            pass  # still holds files


def _undo(target: str, work: str, journal: dict) -> None:
    """Put back what a commit moved, whichever step it reached (each step is checked, so undoing
    twice, or after a crash at any point, gives the same tree)."""
    for rel, existed in journal["write"]:
        if os.path.lexists(os.path.join(work, "new", rel)):
            continue  # never landed
        here, kept = os.path.join(target, rel), os.path.join(work, "old", rel)
        if existed:
            os.replace(kept, here)
        elif os.path.lexists(here):
            os.unlink(here)
    for rel in journal["remove"]:
        kept = os.path.join(work, "old", rel)
        if os.path.lexists(kept):
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            os.replace(kept, os.path.join(target, rel))
    for d in sorted(journal["dirs"], key=len, reverse=True):
        try:
            os.rmdir(os.path.join(target, d))
        except OSError:
            pass  # not empty, or already gone


def recover(target: str) -> None:
    """Undo a patch that a crash interrupted (called under the output directory's lock, before
    any write): its work directory beside `target` still holds the journal and the old files."""
    parent = os.path.dirname(target)
    try:
        names = [n for n in os.listdir(parent) if n.startswith(_prefix(target))]
    except OSError:
        return
    for name in sorted(names):
        work = os.path.join(parent, name)
        try:
            with open(os.path.join(work, JOURNAL), encoding="utf-8") as f:
                journal = json.load(f)
        except (OSError, ValueError):
            journal = None  # crashed before its journal was written: nothing had moved
        if journal is not None:
            _undo(target, work, journal)
        shutil.rmtree(work, ignore_errors=True)
