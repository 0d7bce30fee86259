"""Incremental compile, front end: each unchanged catalog file's parts taken from the cache
instead of being loaded, validated and built again; a service of one unchanged file becomes a
`LazyService`, whose sections are unpickled only when something reads them. The large sections
(alerts, dashboards: 74 MB of a 10,000-alert catalog's records) are kept in a blob beside the
file's record and read from it only then: a compile reusing an unchanged service reads neither."""
from __future__ import annotations

import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field, fields
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from compiler import model
from compiler.build import ServicePart
from compiler.diagnostics import Diagnostic, Loc, Severity
from compiler.incremental.store import Store, code_fingerprint, digest
from compiler.link import SECTIONS, merge_service
from compiler.loader import RawDocument
from compiler.names import SUFFIXES
from compiler.parallel import Handed

# Words that may name a series: a service depends on the definition of every series whose name
# appears anywhere in its documents (queries, examples, annotation templates).
_WORD = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
# The sections kept in the file's blob rather than in its record.
DEFERRED = ("alerts", "dashboards")


class BlobGone(Handed):
    """A blob this compile checked when it reused its file is no longer there as it was (gone,
    shorter, or other bytes: each section's digest is in the record). The compile runs again
    without the blobs (`compiler.pipeline.compile_catalog`)."""


@dataclass
class Source:
    """What the rest of the run needs to know about one part's origin: the key of its file's
    content, the series it defines (name -> digest of the definition, and for recording rules
    the words of their expression) and the words it uses."""

    key: str
    exports: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    words: frozenset[str] = frozenset()
    # The services whose alerts its alerts' `suppressed_by` name: their work depends on each other.
    suppressors: frozenset[str] = frozenset()

    def __reduce__(self) -> tuple:
        # The words as one string (a name holds no NUL): a set of 190 strings unpickled one by
        # one took 200 catalog files' records at 10,000 alerts 8 ms, a string split 4.
        return _source, (self.key, self.exports, "\0".join(self.words), self.suppressors)


def _source(key: str, exports: dict[str, tuple[str, frozenset[str]]], words: str,
            suppressors: frozenset[str]) -> Source:
    """A Source as `Source.__reduce__` stored it."""
    return Source(key, exports, frozenset(words.split("\0")) if words else frozenset(), suppressors)


@dataclass
class CachedPart:
    """A service part restored from the cache: what link reads eagerly, its sections pickled."""

    id: str
    file: str
    loc: Loc
    fields: dict[str, tuple[Any, Loc, Loc]]
    lists: dict[str, list]
    contacts: dict[str, model.Contact]
    sections: dict[str, bytes]
    counts: dict[str, int]
    source: Source
    time_intervals: dict[str, model.TimeInterval] = field(default_factory=dict)
    # section -> its place in the blob and the sha256 of its bytes there
    deferred: dict[str, tuple[int, int, bytes]] = field(default_factory=dict)
    blob: str | None = None  # the file's blob, set when the record is reused

    def pickled(self, name: str) -> bytes:
        """One section as stored: from the record, or read from the blob (DEFERRED)."""
        found = self.sections.get(name)
        if found is not None:
            return found
        offset, size, sha = self.deferred[name]
        if self.blob is None:
            raise BlobGone(name)
        try:
            fd = os.open(self.blob, os.O_RDONLY)
        except OSError:
            raise BlobGone(str(self.blob)) from None
        try:
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        if len(data) != size or hashlib.sha256(data).digest() != sha:
            raise BlobGone(str(self.blob))
        return data

    @property
    def names(self) -> list[str]:
        return [s for s in SECTIONS if s in self.sections or s in self.deferred]

    def section(self, name: str) -> dict[str, Any]:
        """One section, unpickled; BlobGone when its bytes no longer read back."""
        data = self.pickled(name)
        try:
            return pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - bytes that no longer unpickle: a damaged record
            raise BlobGone(f"{self.file}: {type(exc).__name__}") from None

    @property
    def entities(self) -> dict[str, dict[str, Any]]:
        """The sections, unpickled (each time: a service's merge does it once)."""
        return {s: self.section(s) for s in self.names}

    def materialise(self) -> ServicePart:
        return ServicePart(self.id, self.file, self.loc, self.fields, self.lists, self.entities,
                           self.contacts, self.time_intervals)


class LazyService(model.Service):
    """A service restored from the cache. Its sections (alerts, dashboards, ...) are unpickled
    the first time something reads them: work reused for an unchanged service never does, and
    what only counts them (`if service.alerts`, `len(...)`) does not either."""

    @classmethod
    def of(cls, light: model.Service, part: CachedPart) -> "LazyService":
        obj = object.__new__(cls)
        for name, value in light.__dict__.items():
            object.__setattr__(obj, name, value)
        names = part.names
        object.__setattr__(obj, "_part", part)
        object.__setattr__(obj, "_pending", set(names))
        for name in names:
            object.__setattr__(obj, name, LazySection(obj, name, part.counts[name]))
        return obj

    def load(self, name: str) -> dict:
        pending = self.__dict__["_pending"]
        if name in pending:
            # Sorted as link's merge sorts every section (the part keeps the document's order,
            # which SLO expansion reads).
            data = self.__dict__["_part"].section(name)
            object.__setattr__(self, name, dict(sorted(data.items())))
            pending.discard(name)
        return self.__dict__[name]

    def __reduce__(self) -> tuple:
        return model.Service, tuple(getattr(self, f.name) for f in fields(model.Service))


class LazySection(Mapping):
    """A section of a LazyService not read yet: it knows its length; anything else unpickles it
    (and puts the real dict in the service's place)."""

    __slots__ = ("_service", "_name", "_len")

    def __init__(self, service: LazyService, name: str, length: int):
        self._service, self._name, self._len = service, name, length

    def _data(self) -> dict:
        return self._service.load(self._name)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, key: Any) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator:
        return iter(self._data())

    def __contains__(self, key: object) -> bool:
        return key in self._data()

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data().get(key, default)

    def keys(self):  # noqa: ANN201 - the dict's own views
        return self._data().keys()

    def values(self):  # noqa: ANN201
        return self._data().values()

    def items(self):  # noqa: ANN201
        return self._data().items()

    def __eq__(self, other: object) -> bool:
        return self._data() == other

    def __repr__(self) -> str:
        return repr(self._data())

    def __reduce__(self) -> tuple:
        return dict, (self._data(),)


class Front:
    """The load, validate and build stages' side of the cache for one compile."""

    def __init__(self, store: Store, blobs: bool = True):
        self.store, self.blobs = store, blobs  # blobs: reuse records whose sections are in one
        self.code = code_fingerprint(store)
        self.keys: dict[str, str] = {}            # file -> key of its content
        self.nodes: dict[str, int] = {}           # file parsed this run -> nodes it spent
        self.reused: dict[str, dict] = {}         # file -> its record
        self.sources: dict[int, Source] = {}      # id(fresh part) -> its source
        self.fresh: dict[str, list] = {}          # file -> [(part, diagnostics)] built this run
        self.services: dict[str, list[Source]] = {}  # service -> its parts' sources, after link

    # --- load ---------------------------------------------------------------------------------
    def reuse(self, rel: str, raw: bytes) -> int | None:
        """The loader's hook: the node count of a file whose parts come from the cache. Jsonnet
        files are always evaluated (their imports are other files); so is any file not stored
        before."""
        # The file's bytes through BLAKE2b first: twice as fast as sha256 where the processor
        # has no SHA instructions (a 10,000-alert catalog's 8 MB: 0.015 s less on every compile).
        key = digest(self.code, rel, hashlib.blake2b(raw).digest())
        self.keys[rel] = key
        if rel.endswith(".jsonnet"):
            return None
        record = self.store.read("files", key)
        if not _valid_file_record(record):
            return None
        if any(part.deferred for part in record["parts"]):
            blob = self.store.blob(key, record["blob"]) if self.blobs else None
            if blob is None:
                return None
            for part in record["parts"]:
                part.blob = blob
        self.reused[rel] = record
        return record["nodes"]

    def loaded(self, rel: str, nodes: int) -> None:
        """The loader's hook: a file parsed this run (reused after all if it was offered)."""
        self.reused.pop(rel, None)
        self.nodes[rel] = nodes

    def diagnostics(self) -> list[Diagnostic]:
        """The warnings of the reused files, as their load, validation and build gave them."""
        return [d for record in self.reused.values() for d in record["diags"]]

    # --- build --------------------------------------------------------------------------------
    def built(self, doc: RawDocument, part: ServicePart | None, diags: list[Diagnostic]) -> None:
        """Note a document built this run (part None: not a service document)."""
        entry = self.fresh.setdefault(doc.file, [])
        entry.append((part, diags))
        if part is None:
            return
        key = self.keys[doc.file]
        if doc.from_jsonnet:  # what the evaluation gave, not only the file: imports count
            key = digest(key, pickle.dumps(doc.data, protocol=pickle.HIGHEST_PROTOCOL), str(doc.index))
        self.sources[id(part)] = Source(key, _exports(part), frozenset(_words(doc.data)),
                                        _suppressors(part))

    def parts(self, fresh: list[ServicePart]) -> list[ServicePart | CachedPart]:
        """The parts built this run and those of reused files, for link."""
        out: list[ServicePart | CachedPart] = list(fresh)
        for record in self.reused.values():
            out.extend(record["parts"])
        return out

    def source(self, part: ServicePart | CachedPart) -> Source:
        return part.source if isinstance(part, CachedPart) else self.sources[id(part)]

    # --- link ---------------------------------------------------------------------------------
    def merge(self, parts: list, settings: model.Settings | None,
              metrics: Callable[[], dict[str, model.Metric]]) -> tuple[model.Service, list[Diagnostic]]:
        """link's merge of one service's parts: a service of one reused part stays lazy (unless
        it has SLOs, which the merge expands)."""
        self.services[parts[0].id] = [self.source(p) for p in parts]
        if len(parts) == 1 and isinstance(parts[0], CachedPart) and not parts[0].counts.get("slos"):
            part = parts[0]
            light = ServicePart(part.id, part.file, part.loc, part.fields, part.lists,
                                time_intervals=part.time_intervals)
            service, diags = merge_service([light])
            return LazyService.of(service, part), diags
        return merge_service([p.materialise() if isinstance(p, CachedPart) else p for p in parts],
                             settings, metrics)

    # --- after a compile ----------------------------------------------------------------------
    def save(self, unsafe: set[str], unbuilt: set[str]) -> None:
        """Store the parts of every file built this run that had no error nor any load or
        validation diagnostic (`unsafe`), whose every document was built (not in `unbuilt`) and
        holds service documents only (settings are read every run)."""
        for rel, built in self.fresh.items():
            if rel in unsafe or rel in unbuilt or rel not in self.nodes or rel.endswith(".jsonnet") or any(p is None for p, _ in built):
                continue
            diags = [d for _, ds in built for d in ds]
            if any(d.severity is Severity.ERROR for d in diags):
                continue
            blob: list[bytes] = []
            parts = [self._cached(part, blob) for part, _ in built]
            data = b"".join(blob)
            if data and not self.store.write_blob(self.keys[rel], data):
                continue
            self.store.write("files", self.keys[rel], {"parts": parts, "diags": diags,
                                                       "nodes": self.nodes[rel], "blob": len(data)})

    def _cached(self, part: ServicePart, blob: list[bytes]) -> CachedPart:
        """The part as stored; its DEFERRED sections appended to `blob` (the file's)."""
        sections, deferred = {}, {}
        for s in SECTIONS:
            data = pickle.dumps(part.entities.get(s, {}), protocol=pickle.HIGHEST_PROTOCOL)
            if s in DEFERRED:
                deferred[s] = (sum(map(len, blob)), len(data), hashlib.sha256(data).digest())
                blob.append(data)
            else:
                sections[s] = data
        counts = {s: len(part.entities.get(s, {})) for s in SECTIONS}
        return CachedPart(part.id, part.file, part.loc, part.fields, part.lists, part.contacts,
                          sections, counts, self.sources[id(part)], part.time_intervals, deferred)


def _valid_file_record(record: Any) -> bool:
    """Whether a record read back has the shape `save` writes (anything else is a miss)."""
    return (isinstance(record, dict) and isinstance(record.get("nodes"), int)
            and isinstance(record.get("blob"), int)
            and isinstance(record.get("parts"), list) and isinstance(record.get("diags"), list)
            and all(isinstance(p, CachedPart) for p in record["parts"])
            and all(isinstance(d, Diagnostic) for d in record["diags"]))


def _exports(part: ServicePart) -> dict[str, tuple[str, frozenset[str]]]:
    """The series names a part defines, each with a digest of its definition (and the words of a
    recording rule's expression, which its readers depend on in turn)."""
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for metric in part.entities.get("metrics", {}).values():
        defined = (digest(part.id, repr(metric)), frozenset())
        for suffix in {"", *SUFFIXES.get(metric.type, ("",))}:
            out[metric.name + suffix] = defined
    for rule in part.entities.get("recording_rules", {}).values():
        out[rule.name] = (digest(part.id, repr(rule)), frozenset(_WORD.findall(rule.expr.text)))
    return out


def _suppressors(part: ServicePart) -> frozenset[str]:
    return frozenset(rule.alert.split("/", 1)[0] for alert in part.entities.get("alerts", {}).values()
                     for rule in getattr(alert, "suppressed_by", ())) - {part.id}


def _words(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield from _WORD.findall(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _words(key)
            yield from _words(value)
    elif isinstance(data, list):
        for value in data:
            yield from _words(value)
