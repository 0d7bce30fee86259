"""Incremental compile, storage: the cache directory, one namespace per catalog, records written
atomically and read back tolerantly (a damaged or foreign record is a miss, never an error)."""
from __future__ import annotations

import hashlib
import marshal
import mmap
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FORMAT = 3  # 3: stored values keep their manifest lines beside their pickle (packed)
# Kinds of records kept in a directory of their own, pruned when a compile does not use them.
# `sections` are raw bytes (the large sections of a catalog file's parts, `Store.blob`).
KINDS = ("files", "values", "sections")
# A blob another compile of the same catalog used this recently is not pruned: that compile may
# still be reading it (blobs are read when a section is first needed, not up front).
RECENT = 3600
# Libraries whose output ends up in the generated files byte for byte.
_OUTPUT_LIBRARIES = ("PyYAML", "Jinja2", "MarkupSafe", "markdown-it-py", "Pygments", "orjson",
                     "grafana-foundation-sdk", "promql-parser", "jsonnet", "fastjsonschema",
                     "jsonschema")
_PACKAGE = Path(__file__).resolve().parent.parent
_CODE_SUFFIXES = (".py", ".j2", ".css", ".json", ".yaml")


def default_dir() -> Path | None:
    """The user's cache directory for moncat ($XDG_CACHE_HOME/moncat, else ~/.cache/moncat):
    outside the catalog, so a repository cannot bring records of its own (records are pickles,
    which must come from this user's own compiles only). None when there is no home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):
            return None
    return Path(base) / "moncat"


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def code_fingerprint(store: "Store | None" = None) -> str:
    """moncat's own code and templates, the Python and the output libraries' versions: a record
    made by other code is never reused (an editable install keeps its version number while its
    code changes, so the files themselves are hashed). With a store, the hash is kept there with
    the code files' and installed packages' status (`_code_status`) and hashed again only when
    that changed: hashing the files and asking for the libraries' versions cost a recompile at
    10,000 alerts 0.05 s (most of it importing importlib.metadata)."""
    global _known
    if _known is not None:  # this process runs the code it loaded: its fingerprint stays
        return _known
    status = _code_status() if store is not None else ""
    if store is not None:
        record = store.read("code", "fingerprint", plain=True)
        if type(record) is tuple and len(record) == 2 and record[0] == status and type(record[1]) is str:
            _known = record[1]
            return _known
    _known = _code_hash()
    if store is not None:
        store.write("code", "fingerprint", (status, _known), plain=True)
    return _known


_known: str | None = None


def _code_status() -> str:
    """What the fingerprint depends on, as the file system tells it without reading a file: each
    code file's size, modification time and inode (what Python itself compares to decide whether
    its compiled bytecode is current; an editor's save changes them), the installed packages
    (their metadata folders' names, which hold their versions) on the path Python searches, and
    the Python."""
    h = hashlib.sha256(f"{FORMAT}\0{sys.version}\0{sys.executable}\0".encode())
    for entry in sys.path:
        try:
            names = sorted(n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            names = []
        h.update(f"{entry}\0{'/'.join(names)}\0".encode())
    for dirpath, dirnames, filenames in os.walk(_PACKAGE):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(_CODE_SUFFIXES):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                h.update(f"{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0".encode())
    return h.hexdigest()


def _code_hash() -> str:
    """The fingerprint itself: the code files' bytes and the libraries' versions."""
    import importlib.metadata  # only with the cache: importing it cost a compile without one 15 ms

    h = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    for name in _OUTPUT_LIBRARIES:
        try:
            h.update(f"{name}={importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name}=-\0".encode())
    for dirpath, dirnames, filenames in os.walk(_PACKAGE):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(_CODE_SUFFIXES):
                path = Path(dirpath, name)
                h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
                h.update(path.read_bytes())
    return h.hexdigest()


class Store:
    """Records of one catalog under `<cache dir>/<hash of the catalog's path>/`: `files/` (what a
    catalog file parses to), `values/` (a service's work), `out-<hash>` and `outpatch-<hash>`
    (what an output directory holds: see output_record). Everything is keyed by content, so a
    stale record is never read; records this compile did not use are pruned after it."""

    def __init__(self, directory: Path, catalog: Path):
        self.dir = directory / digest(str(catalog.resolve()))[:16]
        self.used: dict[str, set[str]] = {kind: set() for kind in KINDS}

    @classmethod
    def open(cls, directory: Path, catalog: Path) -> "Store | None":
        """The store, or None when the directory cannot be created or written: no cache then."""
        store = cls(directory, catalog)
        try:
            # The cache's own folder (absent or empty until now) ignores itself for git; a folder
            # that held anything else is the user's (`--cache-dir .` in a repository): an ignore-all
            # file there would hide their files from git.
            ours = not directory.exists() or not any(directory.iterdir())
            for kind in KINDS:
                (store.dir / kind).mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.access(store.dir, os.W_OK | os.X_OK):
                return None
            info = os.stat(store.dir)
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None  # records others could write are never unpickled
            gitignore = directory / ".gitignore"
            if ours and not gitignore.exists():
                _atomic(gitignore, b"# moncat's compile cache: safe to delete\n*\n")
        except OSError:
            return None
        return store

    def _path(self, kind: str, key: str) -> Path:
        return Path(self._file(kind, key))

    def _file(self, kind: str, key: str) -> str:
        """A record's file, as a string: a compile reading 400 records built 400 Paths, 5 ms."""
        if kind == "sections":
            return f"{self.dir}{os.sep}{kind}{os.sep}{key}.bin"
        if kind in self.used:
            return f"{self.dir}{os.sep}{kind}{os.sep}{key}.pickle"
        return f"{self.dir}{os.sep}{kind}-{key}.pickle"

    def read(self, kind: str, key: str, plain: bool = False) -> Any:
        """The record, or None when there is none (or it cannot be read back). `plain`: one
        `write` stored as plain data."""
        try:
            with open(self._file(kind, key), "rb") as f:
                data = f.read()
            value = marshal.loads(data) if plain else pickle.loads(data)
        except Exception:  # noqa: BLE001 - a missing, truncated or foreign record is a miss
            return None
        if kind in self.used:
            self.used[kind].add(key)
        return value

    def write(self, kind: str, key: str, value: Any, plain: bool = False) -> None:
        """Store a record atomically; a failure leaves the cache as it was (nothing is lost but
        time on the next compile). `plain`: a value of plain data (dicts, tuples, strings,
        numbers), marshalled, which is faster than pickling it."""
        try:
            data = marshal.dumps(value) if plain else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            _atomic(self._path(kind, key), data)
        except (OSError, ValueError, pickle.PicklingError):
            return
        if kind in self.used:
            self.used[kind].add(key)

    def remove(self, kind: str, key: str) -> None:
        """Delete a record, if there is one (a failure leaves it: its reader tells it stale)."""
        try:
            os.unlink(self._file(kind, key))
        except OSError:
            pass

    def read_packed(self, kind: str, key: str) -> tuple[Any, memoryview] | None:
        """A record `write_packed` wrote: its value and its bytes, not copied (None when there is
        none, or it cannot be read back). The file is mapped rather than read: its bytes are read
        from the page cache as they are unpickled. Reading them copied 45 MB into fresh memory at
        10,000 alerts (200 services' records), 0.04-0.06 s of a one-service recompile, most of it
        in the kernel. A record is never changed in place (`_atomic` writes a new file and
        renames it; one replaced or deleted meanwhile stays mapped as it was); one truncated in
        place by hand while a compile maps it would end that compile (SIGBUS)."""
        try:
            fd = os.open(self._file(kind, key), os.O_RDONLY)  # (a file object: twice the time)
            try:
                data = memoryview(mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
            finally:
                os.close(fd)
            size = int.from_bytes(data[:8], "little")
            if len(data) < 8 + size:
                return None  # a damaged head
            value = pickle.loads(data[8:8 + size])
        except Exception:  # noqa: BLE001 - a missing, truncated or foreign record is a miss
            return None
        if kind in self.used:
            self.used[kind].add(key)
        return value, data[8 + size:]

    def write_packed(self, kind: str, key: str, value: Any, data: bytes) -> None:
        """Store a record of a value and bytes beside it, which `read_packed` gives back without
        unpickling or copying them (a value unpickled copies each bytes object it holds)."""
        try:
            head = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            _atomic(self._path(kind, key), b"".join((len(head).to_bytes(8, "little"), head, data)))
        except (OSError, pickle.PicklingError):
            return
        if kind in self.used:
            self.used[kind].add(key)

    def write_blob(self, key: str, data: bytes) -> bool:
        """Store raw bytes (a `sections` record) atomically; False when that failed."""
        try:
            _atomic(self._path("sections", key), data)
        except OSError:
            return False
        self.used["sections"].add(key)
        return True

    def blob(self, key: str, size: int) -> str | None:
        """The path of a `sections` record of `size` bytes, which this compile will read parts
        of when it needs them (its modification time is renewed: see RECENT); None when there
        is none of that size."""
        path = self._file("sections", key)
        try:
            st = os.stat(path)
            if st.st_size != size:
                return None
            if time.time() - st.st_mtime > RECENT / 2:
                # Renewed less than half of RECENT ago, it outlives this compile without it: 200
                # blobs' times set on every compile at 10,000 alerts were 200 system calls.
                os.utime(path)
        except OSError:
            return None
        self.used["sections"].add(key)
        return path

    def prune(self) -> None:
        """Delete the records this compile neither read nor wrote (blobs only once no compile
        has used them for RECENT seconds)."""
        now = time.time()
        for kind, keep in self.used.items():
            try:
                entries = list(os.scandir(self.dir / kind))
            except OSError:
                continue
            for entry in entries:
                if entry.name.split(".", 1)[0] not in keep:
                    if kind == "sections":
                        try:
                            if now - entry.stat().st_mtime < RECENT:
                                continue
                        except OSError:
                            continue
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass


def _atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
