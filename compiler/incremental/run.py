"""Incremental compile, one run: which services are unchanged, their stored work, and what this
run stores for the others.

A service's work is keyed by the content of its files, by everything a per-service computation
may read from outside the service (moncat's code, the settings, severities and contacts, the
list of services) and by the definitions of every series its documents name (following
recording rules to the series they read). It is reused when a record for that key exists and
the output directory still holds that service's files as they were written (size, modification
time and inode as recorded; otherwise the service is computed again and its files rewritten).
That is checked once, under the output directory's lock just before the write
(`compiler.writer.update`): a run trusts the record of what the output holds, and when a file is
not as recorded there (changed by hand), the compile runs again `careful`, checking every file
before it reuses any service's work.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import stat
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping, TypeVar

from compiler import model
from compiler.artifacts import Artifact, ManagedObject
from compiler.incremental import RUN
from compiler.incremental.front import Front
from compiler.incremental import output_record
from compiler.incremental.output_record import FileState, OutputRecord
from compiler.incremental.store import Store, default_dir, digest
from compiler.incremental.chunks import manifest_chunks, stored_files
from compiler.incremental.packed import beside, pack, unpack
from compiler.incremental.stored import RenderedArtifact, StoredArtifact, StoredFiles, StoredLines, WriteOnly
from compiler.manifest import MANIFEST, file_line
from compiler.render import Splice, content_hash, render

T = TypeVar("T")

_EMPTY_LIST = pack([])
PAGES = "pages"  # the record of the catalog-wide pages last written to an output (see Run._render)


class Run:
    """The cache's side of one compile, reached by `compiler.incremental.cached`."""

    store_key = "last"  # the key of this cache's records kept one at a time (see parity)

    def __init__(self, store: Store, front: Front, out: Path | None, careful: bool = False):
        self.store, self.front, self.out, self.careful = store, front, out, careful
        self.ready = False
        self.keys: dict[str, str] = {}                  # service -> key of its work
        self.clean: dict[str, dict[str, memoryview]] = {}  # unchanged service -> name -> value
        self.pending: dict[str, dict[str, bytes]] = {}  # recomputed service -> name -> value
        self.written: dict[str, list[tuple[str, str]]] = {}  # recomputed service -> (path, hash)
        self.memo: dict[tuple[str, str], Any] = {}
        self.heavy: set[tuple[str, str]] = set()        # keys of memo values holding artifacts
        # id(artifact) -> it, its bytes, their hash, its manifest_chunks
        self.rendered: dict[int, tuple[Artifact, bytes, str, tuple]] = {}
        self.owner: dict[int, str] = {}                 # id(fresh artifact) -> its service
        # What this cache recorded of `out` (output_record: the whole record and its patch), as
        # read when `out` still holds that compile; else empty.
        self.out_record = OutputRecord()
        # Catalog-wide pages (see _render): path -> their objects, the file's hash, manifest_chunks,
        # as the last compile wrote them (`pages_before`) and as this one renders them.
        self.pages_before: dict[str, tuple[tuple, str, tuple]] = {}
        self.pages: dict[str, tuple[tuple, str, tuple]] = {}
        self.groups: dict[str, list[str]] = {}          # service -> its group (see _groups)
        self.files: dict[str, tuple[str, str]] = {}     # unchanged service -> its files (see _files)
        # Set once the checks ran: whether a later stage reads more of an artifact than the write
        # needs. A value computed then holds the others as `light` makes them (see value).
        self.checked: Callable[[Artifact], bool] | None = None

    # --- what cached() calls ------------------------------------------------------------------
    def value(self, catalog: model.Catalog, name: str, service: model.Service,
              compute: Callable[[], T], light: bool = False, stored: Callable[[T], Any] | None = None) -> T:
        """`light`: artifacts in the value come back as `light` makes them (the caller reads
        nothing of them but what the write needs and passes them on: such a value is not kept
        here, where the runbook pages' bytes were held to the end of their child). Once
        `checked` is set, so do those of a value computed now that it does not say to keep."""
        if not self.ready:
            self._prepare(catalog)
        key = (name, service.id)
        if key in self.memo:
            return self.memo[key]
        kept = self.clean.get(service.id, {}).get(name)
        if kept is not None:
            # A check's list of no diagnostics, most of what a service keeps by count (some 40
            # names): not unpickled.
            value = [] if kept == _EMPTY_LIST else unpack(kept)
        else:
            value = compute()
            if service.id not in self.clean:
                before = len(self.rendered)
                frozen = self._freeze(value if stored is None else stored(value), service.id)
                self.pending.setdefault(service.id, {})[name] = pack(frozen)
                if len(self.rendered) > before and not light:
                    self.heavy.add(key)  # it holds artifacts: see release
            if light or self.checked is not None:
                value = self._lightened(value, None if light else self.checked)
        if not light:
            self.memo[key] = value
        return value

    def _lightened(self, value: Any, keep: Callable[[Artifact], bool] | None = None) -> Any:
        """The value with its artifacts as `light` makes them, but those `keep` says to keep."""
        if isinstance(value, Artifact):
            return value if keep is not None and keep(value) else self.light(value)
        if isinstance(value, (list, tuple)) and not isinstance(value, (Splice, *_STORED)):
            light = [self._lightened(v, keep) for v in value]
            if all(a is b for a, b in zip(light, value)):
                return value  # nothing in it let go of: kept as it is (a tuple of its own type, say)
            return light if isinstance(value, list) else tuple(light)
        return value

    def stale(self, catalog: model.Catalog, name: str, services: Iterable[model.Service]
              ) -> list[model.Service]:
        if not self.ready:
            self._prepare(catalog)
        return [s for s in services if (name, s.id) not in self.memo
                and name not in self.clean.get(s.id, {})]

    def tracked(self, func: Callable[..., T], *args: Any) -> tuple[T, tuple[int, dict, dict, dict]]:
        """`func(*args)`, with what it gave this run to store meanwhile (and the catalog-wide
        pages it rendered, see _render). Run in a forked child (the runbook pages), that record
        would stay in the child: `absorb` takes it back."""
        before = {sid: set(values) for sid, values in self.pending.items()}
        counts = {sid: len(files) for sid, files in self.written.items()}
        pages = set(self.pages)
        value = func(*args)
        stored = {sid: new for sid, values in self.pending.items()
                  if (new := {n: b for n, b in values.items() if n not in before.get(sid, ())})}
        written = {sid: files[counts.get(sid, 0):] for sid, files in self.written.items()
                   if len(files) > counts.get(sid, 0)}
        return value, (os.getpid(), stored, written, {p: e for p, e in self.pages.items() if p not in pages})

    def handed(self, record: tuple[int, dict, dict, dict]) -> None:
        """Forget what a `tracked` record holds, once sent to the process that absorbs it: a
        forked child sending its work as it goes keeps none of it."""
        _, stored, written, _ = record
        for sid, values in stored.items():
            for name in values:
                self.pending[sid].pop(name, None)
        for sid, files in written.items():
            del self.written[sid][-len(files):]  # the last it wrote: `tracked` made the record

    def absorb(self, tracked: tuple[T, tuple[int, dict, dict, dict]]) -> T:
        """The value of a `tracked` call; what it stored joins this run's record when it ran in
        another process."""
        value, (pid, stored, written, pages) = tracked
        if pid != os.getpid():
            self.pages.update(pages)
            for sid, values in stored.items():
                mine = self.pending.setdefault(sid, {})
                for name, data in values.items():
                    mine.setdefault(name, data)
            for sid, files in written.items():
                self.written.setdefault(sid, []).extend(files)
        return value

    # --- deciding what is unchanged -----------------------------------------------------------
    def _prepare(self, catalog: model.Catalog) -> None:
        self.ready = True
        # Time intervals are read across services (an alert may name the settings' or another
        # service's): every one of them is part of every service's key.
        pickled = pickle.dumps((catalog.settings, sorted(catalog.settings.field_locs.items()),
                                catalog.severities, catalog.contacts, catalog.time_intervals),
                               protocol=pickle.HIGHEST_PROTOCOL)
        # The services' teams too: an alert's route through the tree depends on which teams
        # have a route (a label `team` of its own may name another service's team).
        shared = digest(self.front.code, pickled,
                        "\0".join(f"{s.id}\1{s.team or ''}" for s in catalog.services))
        table, deps = self._series(catalog)
        self.groups = _groups(catalog, self.front.services)
        if self.out is not None:
            self.out_record = self._out_record(self.out)
            if self.out_record:
                # Made by this moncat only: the manifest lines are its own (how it hashes a page).
                record = self.store.read(PAGES, _out_key(self.out))
                if isinstance(record, dict) and record.get("code") == self.front.code \
                        and _valid_pages_record(record.get("pages")):
                    self.pages_before = record["pages"]
        for svc in catalog.services:
            # A service's key covers the sources of its whole group (services joined by
            # suppressions: a suppressed alert's Grafana rule folds in its suppressor's query,
            # a suppressor's page lists what it suppresses).
            sources = [s for member in self.groups[svc.id] for s in self.front.services[member]]
            key = digest(shared, svc.id, *(s.key for s in sources), _series_digest(sources, table, deps))
            self.keys[svc.id] = key
            values = _values(self.store.read_packed("values", key))
            if values is not None and self._on_disk(svc.id, values[0]):
                self.clean[svc.id] = values[1]
                self.files[svc.id] = values[0]
        for svc in catalog.services:  # a group is reused whole or computed whole
            if any(m not in self.clean for m in self.groups[svc.id]):
                self.clean.pop(svc.id, None)

    def group(self, sid: str) -> list[str]:
        """The services joined to `sid` by suppressions (itself included), in catalog order."""
        return self.groups[sid]

    def _series(self, catalog: model.Catalog) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
        """Every defined series name -> digests of its definitions (in catalog order), and the
        words of the recording rules of that name."""
        table: dict[str, list[str]] = {}
        deps: dict[str, set[str]] = {}
        for svc in catalog.services:
            for source in self.front.services[svc.id]:
                for name, (defined, words) in source.exports.items():
                    table.setdefault(name, []).append(defined)
                    if words:
                        deps.setdefault(name, set()).update(words)
        return table, deps

    def _out_record(self, out: Path) -> OutputRecord:
        """What this cache last wrote to `out`, if the directory still holds that compile: its
        manifest (which hashes every file) is the one written then. Another compile writing
        there since, or anything unreadable, leaves nothing to reuse (an empty record)."""
        record = output_record.read(self.store, _out_key(out))
        manifest = record.loose.get(MANIFEST)
        if manifest is None or not _as_recorded(out / MANIFEST, manifest):
            return OutputRecord()
        return record

    def still_there(self, target: Path) -> bool:
        """Whether `target` still holds the compile whose files this run reuses (asked under the
        output directory's lock, just before writing into it): its manifest is the one recorded
        (size, modification time, inode), as every reused file is checked. Every compile writes
        a new manifest (a new inode), an edit changes its time."""
        recorded = self.out_record.loose.get(MANIFEST)
        return recorded is not None and _as_recorded(target / MANIFEST, recorded)

    def _on_disk(self, sid: str, files: tuple[str, str]) -> bool:
        """Whether the output directory holds a service's files (its record's: see `_files`) as
        this cache last wrote them: as the output's record of the service says (the write
        checks each file under the lock), or, `careful`, as each file's status says now. The
        record keeps each service's files as its own record does (output_record): two strings
        compared, not 170 files looked up (34,000 at 10,000 alerts)."""
        paths, shas = files
        if self.out is None:
            return True  # nothing is written: the stored hashes are all the run needs
        if not paths:
            return not shas  # a service without files
        group = self.out_record.groups.get(sid)
        if group is None or group[0] != paths or group[1] != shas:
            return False
        if not self.careful:
            return True
        prefix, lstat = str(self.out) + os.sep, os.lstat
        for path, state in output_record.group_states(group):
            try:
                st = lstat(prefix + path)
            except (OSError, ValueError):
                return False
            if (st.st_size, st.st_mtime_ns, st.st_ino) != state[1:4]:
                return False
        return True

    # --- storing ------------------------------------------------------------------------------
    def _freeze(self, value: Any, sid: str) -> Any:
        """The value as stored: artifacts become StoredArtifacts (rendered here, once)."""
        if isinstance(value, Artifact):
            _, _, sha, chunks = self._kept(value, sid)
            return StoredArtifact((value.path, sid, sha, chunks, file_line(value.path, sha)))
        if isinstance(value, ManagedObject) and not value.digest:
            # Its manifest hash, kept: a catalog-wide artifact lists it again on every compile.
            return dataclasses.replace(value, digest=content_hash(value.content))
        if type(value) is StoredLines:
            return beside(value)
        if isinstance(value, StoredArtifact) or type(value) is Splice and value.__dict__.get("bare"):
            return value  # stored as it is
        if type(value) is WriteOnly:
            return self._stored_files(value, sid)
        if isinstance(value, (list, tuple)):
            frozen = []
            for v in value:  # WriteOnly artifacts in a list of others: their StoredFiles in place
                if type(v) is WriteOnly and type(value) is list:
                    frozen += self._stored_files(v, sid)
                else:
                    frozen.append(self._freeze(v, sid))
            if isinstance(value, Splice):
                splice = Splice(frozen)
                splice.lines("")  # rendered now and kept with it: a top-level list's indentation
                return splice
            return frozen if isinstance(value, list) else tuple(frozen)
        if isinstance(value, model.Service):
            raise TypeError("a cached value holds a Service: store plain data instead")
        return value

    def _kept(self, art: Artifact, sid: str) -> tuple[Artifact, bytes, str, tuple]:
        """An artifact of `sid` rendered, and recorded as written (see _on_disk)."""
        found = self.rendered[id(art)] = _rendering(art)
        self.owner[id(art)] = sid
        self.written.setdefault(sid, []).append((art.path, found[2]))
        return found

    def _stored_files(self, artifacts: list[Artifact], sid: str) -> list[StoredFiles]:
        """WriteOnly artifacts as stored: StoredFiles, one per folder (whose files are one
        output's, and nearly always one run of the manifest's lines)."""
        folders: dict[str, list[tuple[str, str, tuple]]] = {}
        for art in artifacts:
            if not isinstance(art, Artifact):
                raise TypeError(f"WriteOnly holds {type(art).__name__}, not an artifact")
            _, _, sha, chunks = self._kept(art, sid)
            folders.setdefault(art.path.rpartition("/")[0], []).append((art.path, sha, chunks))
        return [beside(stored_files(sid, members)) for members in folders.values()]

    def render_now(self, artifact: Artifact | StoredArtifact | RenderedArtifact) -> str:
        """The sha256 hex of an artifact's file, rendering it now if need be (`light` takes
        that rendering)."""
        if not isinstance(artifact, Artifact):
            return artifact.hash
        found = self.rendered.get(id(artifact))
        if found is None:
            found = self.rendered[id(artifact)] = self._render(artifact, self.owner.get(id(artifact)))
        return found[2]

    def light(self, artifact: Artifact | StoredArtifact | RenderedArtifact
              ) -> StoredArtifact | RenderedArtifact:
        """An artifact of this run as a RenderedArtifact (rendered when `_freeze` did not), what
        was kept of it here let go; a stored or rendered one as it is."""
        if not isinstance(artifact, Artifact):
            return artifact
        found = self.rendered.pop(id(artifact), None)
        sid = self.owner.pop(id(artifact), None)
        if found is None:
            found = self._render(artifact, sid)
        return RenderedArtifact(artifact.path, sid, *found[1:])

    def _render(self, artifact: Artifact, sid: str | None) -> tuple[Artifact, bytes, str, tuple]:
        """`_rendering(artifact)`; for a catalog-wide page (an artifact of no service whose
        objects hold its text: the index, the contacts) whose bytes are those of its file as the
        last compile wrote it, that file's hash and the page's manifest_chunks as then, instead
        of hashing megabytes twice (the file, then its text as its object). A page is rendered
        every compile (it reads every service), and nearly always to the same bytes. Any other
        artifact of no service (the Alertmanager configuration and tests, the Grafana policies)
        takes the hash of its file when it holds the same bytes."""
        if sid is not None or self.out is None:
            return _rendering(artifact)
        data = render(artifact)
        if not _page(artifact):
            state = self.out_record.get(artifact.path)
            sha = state[0] if type(state) is tuple and state and state[0] and self.holds(artifact.path, data) \
                else hashlib.sha256(data).hexdigest()
            return artifact, data, sha, manifest_chunks(artifact)
        objects = tuple((o.id, o.kind, o.target, str(o.source)) for o in artifact.objects)
        before = self.pages_before.get(artifact.path)
        if before is not None and before[0] == objects and self.holds(artifact.path, data, before[1]):
            found = (artifact, data, before[1], before[2])
        else:
            found = (artifact, data, hashlib.sha256(data).hexdigest(), manifest_chunks(artifact))
        self.pages[artifact.path] = (objects, found[2], found[3])
        return found

    def holds(self, path: str, data: bytes, sha: str | None = None) -> bool:
        """Whether the output's file `path` holds `data` and is the file this cache recorded
        writing there (size, modification time and inode as recorded, checked on the open file
        before and after reading it; and the hash recorded, `sha`, when given)."""
        state = self.out_record.get(path)
        if type(state) is not tuple or len(state) != 4 or state[1] != len(data) or self.out is None \
                or (sha is not None and state[0] != sha):
            return False
        try:
            fd = os.open(os.path.join(self.out, path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return False
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode) or (before.st_size, before.st_mtime_ns, before.st_ino) != state[1:4]:
                return False
            with os.fdopen(os.dup(fd), "rb") as f:
                disk = f.read()
            after = os.fstat(fd)
        except OSError:
            return False
        finally:
            os.close(fd)
        return (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns) and disk == data

    def release(self) -> None:
        """Let go of the artifacts this run's values hold (once the targets that asked for them
        and the checks that read them ran): their rendered forms are all the write needs."""
        for key in self.heavy:
            self.memo.pop(key, None)
        self.heavy.clear()

    def service_of(self, artifact: Artifact | StoredArtifact | RenderedArtifact) -> str | None:
        if isinstance(artifact, (StoredArtifact, StoredFiles, RenderedArtifact)):
            return artifact.service
        return self.owner.get(id(artifact))

    def save(self, hashes: dict[str, str] | None = None) -> None:
        """Store the work of every service computed this run. `hashes`: every file's as the
        compile writes it, where a catalog-wide step replaced a service's file (a suppressed
        alert's Datadog monitor, by its composite): the service's record lists the file as
        written, which the next compile finds on disk (see _on_disk), or it would never be
        reused."""
        for sid, values in self.pending.items():
            # Each value's place among the values' bytes, stored beside the record: a compile
            # reading 200 services' records copied 46 MB of them (at 10,000 alerts) as bytes.
            places, offset = {}, 0
            for name, data in values.items():
                places[name] = (offset, len(data))
                offset += len(data)
            files = self.written.get(sid, [])
            if hashes is not None:
                files = [(path, hashes.get(path, sha)) for path, sha in files]
            self.store.write_packed("values", self.keys[sid], {"files": _files(files), "values": places},
                                    b"".join(values.values()))
        for sid in self.clean:
            self.store.used["values"].add(self.keys[sid])

    def save_output(self, out: Path, files: dict[str, str], written: Collection[str] | None = None,
                    made: Collection[str] = (), owners: Mapping[str, list[str]] | None = None) -> None:
        """Record what `out` holds now (every file's hash and stat, each service's files as a group:
        see output_record), after a write. `written`: the files the write replaced, when it
        checked (under the lock) that the others are as `out_record` records them; None when it
        wrote the whole tree. `made`: the files this compile made (the others are unchanged
        services' files); `owners`: those of them in unchanged services' groups (see `owners`),
        with those services."""
        prefix = str(out) + os.sep

        def states(paths: Iterable[str]) -> list[tuple[str, FileState]] | None:
            found = []
            for path in paths:
                try:
                    st = os.lstat(prefix + path)
                except OSError:
                    return None
                found.append((path, (files[path], st.st_size, st.st_mtime_ns, st.st_ino)))
            return found

        def regroup(paths: list[str]) -> output_record.Group | None:
            # A service's files as it lists them, if every one is there (else no group: the
            # service is computed again next time); none for a service without files.
            found = states(paths) if all(map(files.__contains__, paths)) else None
            return output_record.group(found) if found else None

        computed = {sid: [path for path, _ in self.written.get(sid, [])]
                    for sid in self.keys if sid not in self.clean}
        if written is None:
            groups: dict[str, output_record.Group] = {}
            grouped: set[str] = set()
            for sid in self.keys:
                paths = computed[sid] if sid in computed else self._paths(sid)
                entry = regroup(paths)
                if entry is not None:
                    groups[sid] = entry
                    grouped.update(paths)
            loose = dict(states(path for path in files if path not in grouped and os.path.lexists(prefix + path)) or ())
            output_record.write_whole(self.store, _out_key(out), groups, loose)
        else:
            # The record as it was, with the groups of the services computed again as written,
            # those of services gone removed, and the loose files written, gone or new.
            record = self.out_record
            group_changes: dict[str, output_record.Group | None] = dict.fromkeys(record.groups.keys() - self.keys.keys())
            grouped = set()
            for sid, paths in computed.items():
                group_changes[sid] = regroup(paths)
                grouped.update(paths)
            loose_changes: dict[str, FileState | None] = {
                path: None for path in record.loose if path not in files or path in grouped}
            # Files of no service computed again: written (a catalog-wide file changed), or made
            # and not recorded loose (new here, or no longer a service's).
            for path in {*(p for p in written if p not in grouped),
                         *(p for p in made if p not in grouped and p not in record.loose)}:
                held = None if owners is None or path in record.loose else owners.get(path)
                if held:
                    # An unchanged service's file, written over by one of the same path made
                    # this run: its group as it stands now (its record no longer matches it).
                    if path in written:
                        group_changes.update((sid, regroup(self._paths(sid))) for sid in held)
                    continue
                found = states([path])
                loose_changes[path] = found[0][1] if found else None
            output_record.write_changes(self.store, _out_key(out), record, group_changes, loose_changes)
        # Each page's record holds its file's hash: a page is reused only while `out` holds that
        # file as recorded (see holds).
        self.store.write(PAGES, _out_key(out), {"code": self.front.code, "pages": self.pages})

    def owners(self, path: str) -> list[str]:
        """The unchanged services whose group in the output's record holds `path` (each group
        searched: for a file made this run at an unchanged service's path, which is rare)."""
        groups = self.out_record.groups
        return [sid for sid in self.clean if sid in groups and path in groups[sid][0]
                and output_record.group_state(groups[sid], path) is not None]

    def _paths(self, sid: str) -> list[str]:
        """An unchanged service's files' paths, as its record lists them."""
        paths = self.files[sid][0]
        return paths.split("\0") if paths else []


_STORED = (StoredArtifact, StoredFiles, StoredLines)  # stored forms: lists of nothing to lighten


def _as_recorded(path: Path, recorded: FileState) -> bool:
    """Whether a file's status (size, modification time, inode) is the one recorded: a compile
    writes a new manifest (a new inode), an edit changes its time."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns, st.st_ino) == tuple(recorded[1:])


def _rendering(artifact: Artifact) -> tuple[Artifact, bytes, str, tuple]:
    """An artifact, its file's bytes, their sha256 hex and its manifest_chunks."""
    data = render(artifact)
    return artifact, data, hashlib.sha256(data).hexdigest(), manifest_chunks(artifact)


def _page(artifact: Artifact) -> bool:
    """Whether an artifact is a page: text whose every object holds that text (its manifest hash
    is the text's), none with a hash given."""
    return (artifact.format == "text" and type(artifact.data) is str and bool(artifact.objects)
            and all(o.content is artifact.data and not o.digest for o in artifact.objects))


def _valid_pages_record(record: Any) -> bool:
    """Whether a record read back has the shape `save_output` writes for the pages."""
    return isinstance(record, dict) and all(
        type(v) is tuple and len(v) == 3 and type(v[0]) is tuple and type(v[1]) is str and type(v[2]) is tuple
        for v in record.values())


def _values(packed: tuple[Any, memoryview] | None) -> tuple[tuple[str, str], dict[str, memoryview]] | None:
    """A service's record as `save` writes it: its files and its pickled values by name (views
    of the bytes read), or None when it has another shape (a miss)."""
    if packed is None:
        return None
    record, data = packed
    if not (isinstance(record, dict) and isinstance(record.get("values"), dict)):
        return None
    files = record.get("files")
    if not (type(files) is tuple and len(files) == 2 and type(files[0]) is type(files[1]) is str):
        return None  # (their shape is the output record's group's, which _on_disk compares them with)
    values = {}
    for name, place in record["values"].items():
        if not (type(place) is tuple and len(place) == 2 and type(place[0]) is type(place[1]) is int
                and 0 <= place[0] and 0 <= place[1] and place[0] + place[1] <= len(data)):
            return None
        values[name] = data[place[0]:place[0] + place[1]]
    return files, values


def _files(files: list[tuple[str, str]]) -> tuple[str, str]:
    """A service's files as its record keeps them: their paths joined, their hashes joined, by
    NUL (which neither holds). Unpickled as two strings, not 170 pairs (34,000 at 10,000
    alerts, most of the records' unpickling), and compared with the output's record as such
    (`Run._on_disk`)."""
    return "\0".join(path for path, _ in files), "\0".join(sha for _, sha in files)


def _out_key(out: Path) -> str:
    return digest(str(out.resolve()))[:16]


def _groups(catalog: model.Catalog, sources: dict[str, list]) -> dict[str, list[str]]:
    """Each service's group: the services connected to it by suppressions, either way and
    transitively, in catalog order."""
    order = [s.id for s in catalog.services]
    links: dict[str, set[str]] = {sid: set() for sid in order}
    for sid in order:
        for source in sources[sid]:
            for other in source.suppressors & links.keys():
                links[sid].add(other)
                links[other].add(sid)
    groups: dict[str, list[str]] = {}
    for sid in order:
        if sid in groups:
            continue
        seen, todo = {sid}, [sid]
        while todo:
            for other in links[todo.pop()] - seen:
                seen.add(other)
                todo.append(other)
        members = [m for m in order if m in seen]
        for m in members:
            groups[m] = members
    return groups


def _series_digest(sources: list, table: dict[str, list[str]], deps: dict[str, set[str]]) -> str:
    """The definitions of every series a service's documents name, and of those the recording
    rules among them read, transitively."""
    words = sources[0].words if len(sources) == 1 else frozenset().union(*(s.words for s in sources))
    defined = table.keys()
    seen = defined & words
    # Only recording rules' names lead further: the others are looked at once.
    todo = [name for name in seen if name in deps] if deps else []
    while todo:
        new = (deps[todo.pop()] & defined) - seen
        seen |= new
        todo.extend(name for name in new if name in deps)
    return digest("\n".join([f"{n}={','.join(table[n])}" for n in sorted(seen)]))


class Cache:
    """What the pipeline and the CLI hold for a compile with the cache on."""

    def __init__(self, store: Store, out: Path | None, catalog: Path | None = None,
                 careful: bool = False, blobs: bool = True):
        self.store, self.out, self.catalog, self.blobs = store, out, catalog, blobs
        self.front = Front(store, blobs)
        self.run = Run(store, self.front, out, careful)

    def careful(self) -> "Cache":
        """The cache for this compile run again, checking the output's every file before
        reusing a service's work (this run found one not as recorded under the lock)."""
        return Cache(self.store, self.out, self.catalog, careful=True, blobs=self.blobs)

    def without_blobs(self) -> "Cache":
        """The cache for this compile run again after a blob was found damaged or gone
        (`front.BlobGone`): catalog files whose records keep sections in a blob are parsed again."""
        return Cache(self.store, self.out, self.catalog, careful=self.run.careful, blobs=False)

    @classmethod
    def open(cls, catalog: Path, out: Path | None, directory: Path | None = None) -> "Cache | None":
        """The cache under `directory` (default: `store.default_dir()`), or None when it cannot
        be written there (the compile then runs without it)."""
        directory = directory or default_dir()
        store = Store.open(directory, catalog) if directory is not None else None
        return cls(store, out, catalog) if store is not None else None

    def memo(self) -> dict[str, Any]:
        return {RUN: self.run}


__all__ = ["Cache", "RenderedArtifact", "Run", "StoredArtifact", "StoredFiles"]
