"""Incremental compile, render stage: the forms an artifact takes once rendered, as the write
and the manifest need it (its bytes, or only their hash when the file is on disk already)."""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from compiler.artifacts import Digest, ManagedObject
from compiler.render import content_hash


class StoredArtifact(tuple):
    """An artifact of an unchanged service: its file is in the output directory already. Made
    as StoredArtifact((path, service, hash, manifest, file_line)). A tuple: a compile reusing
    10,000 alerts' work unpickles 34,000 of them, in half the time dataclasses took."""

    __slots__ = ()
    path: str = property(itemgetter(0))  # type: ignore[assignment]
    service: str = property(itemgetter(1))  # type: ignore[assignment]
    hash: str = property(itemgetter(2))  # type: ignore[assignment]  # sha256 hex of the file's bytes
    # Its objects' lines (see manifest_chunks), and its line in the manifest's list of files.
    manifest: tuple[tuple[tuple[str, str], bytes], ...] = property(itemgetter(3))  # type: ignore[assignment]
    file_line: tuple[str, str] = property(itemgetter(4))  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StoredArtifact({self.path!r}, {self.service!r}, {self.hash!r})"


class StoredObject(tuple):
    """A managed object as the cache keeps it where only the manifest reads it (an Alertmanager
    route test): its id, kind, target, source (as text) and content hash, no content. Made as
    StoredObject((id, kind, target, source, digest)) by `of`. A tuple: unpickling 10,000
    dataclasses and their contents cost a recompile at 10,000 alerts 0.03-0.04 s."""

    __slots__ = ()
    id: str = property(itemgetter(0))  # type: ignore[assignment]
    kind: str = property(itemgetter(1))  # type: ignore[assignment]
    target: str = property(itemgetter(2))  # type: ignore[assignment]
    # Its source as the manifest writes it (file:line:column): no Loc to unpickle and format.
    source: str = property(itemgetter(3))  # type: ignore[assignment]
    digest: str = property(itemgetter(4))  # type: ignore[assignment]  # content_hash of its content

    @property
    def content(self) -> Digest:
        return Digest(self.digest)

    @classmethod
    def of(cls, obj: ManagedObject) -> "StoredObject":
        return cls((obj.id, obj.kind, obj.target, str(obj.source), obj.digest or content_hash(obj.content)))

    def __repr__(self) -> str:
        return f"StoredObject({self.id!r}, {self.kind!r}, {self.target!r})"


@dataclass(frozen=True)
class RenderedArtifact:
    """An artifact made this run as the write needs it: its bytes, their hash and its manifest
    lines. Its data and objects go once the checks that read them ran (`Run.light`)."""

    path: str
    service: str | None
    data: bytes
    hash: str  # sha256 hex of `data`
    manifest: tuple[tuple[tuple[str, str], bytes], ...]  # see manifest_chunks


__all__ = ["RenderedArtifact", "StoredArtifact", "StoredObject"]
