"""Write stage, file system side: whole trees of files created, linked and removed, with threads
where the disk makes each operation wait."""
from __future__ import annotations

import errno
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

# Threads for file operations that wait on the device: the waits release the GIL.
WRITERS = 16


def make_dirs(root: Path | str, rels: Iterable[str]) -> None:
    """The parent directories of every relative path in `rels`, under `root`."""
    for parent in sorted({os.path.dirname(rel) for rel in rels}):
        os.makedirs(os.path.join(root, parent), exist_ok=True)


def write_file(path: str, data: bytes) -> None:
    """`path` created (as `open(path, "wb")` would, mode 0o666 less the umask) holding `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        if exc.filename is None:  # os.write names no file: name it for the diagnostic
            raise OSError(exc.errno, exc.strerror, path) from None
        raise
    finally:
        os.close(fd)


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Create every file under `root`. Directories first, then the files from 16 threads, each
    given a sixteenth of them: on a virtual disk each file creation waits on the device, and
    20,000 runbook pages written one by one took 17 s where 16 writers take 5 s. One task per
    thread rather than per file: a future per file cost more CPU than the writes."""
    make_dirs(root, files)
    items = [(os.path.join(root, rel), data) for rel, data in files.items()]
    if len(items) < 64:
        for path, data in items:
            write_file(path, data)
        return

    def write_share(share: list[tuple[str, bytes]]) -> None:
        for path, data in share:
            write_file(path, data)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write_share, [items[i::WRITERS] for i in range(WRITERS)]))


def link_unchanged(root: Path, unchanged: dict[str, tuple[str, os.stat_result]]) -> set[str]:
    """Hard-link into the new tree the files whose bytes did not change (checked under the lock),
    so only changed files are created: creating a file costs the kernel 50 times what linking
    one does. Only a file exactly as moncat would create it is linked (its owner, mode
    0o666 less the umask, no other link); the others, and every file on a file system without
    hard links, are written. Returns the relative paths linked."""
    umask = os.umask(0)
    os.umask(umask)
    mode, owner = 0o100666 & ~umask, os.geteuid()
    plain = {rel: (src, status) for rel, (src, status) in unchanged.items()
             if status.st_mode == mode and status.st_uid == owner and status.st_nlink == 1}
    make_dirs(root, plain)
    linked = set()
    for rel, (src, status) in plain.items():
        dst = os.path.join(root, rel)
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                return linked  # no hard links here: write the rest
            raise
        now = os.lstat(dst)
        if (now.st_dev, now.st_ino) != (status.st_dev, status.st_ino):
            os.unlink(dst)  # replaced since it was compared: write it
            continue
        linked.add(rel)
    return linked


def remove_tree(path: Path | str) -> None:
    """Remove a directory tree (what cannot be removed stays). Its subdirectories two levels
    down are removed from 16 threads: removing a directory waits on the device, and the old
    output tree of 10,000 alerts (34,000 files in 1,800 directories) took 1-6 s one by one,
    0.3-0.6 s so."""
    parts = []
    try:
        for top in os.scandir(path):
            if top.is_dir(follow_symlinks=False):
                with os.scandir(top.path) as entries:
                    parts.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        pass  # what cannot be listed is left to the last rmtree
    if len(parts) > WRITERS:  # a few (a patch's work directory): threads cost more than they save
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(lambda part: shutil.rmtree(part, ignore_errors=True), parts))
    shutil.rmtree(path, ignore_errors=True)
