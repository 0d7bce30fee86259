"""Incremental compile, render stage: the forms an artifact takes once rendered, as the write
and the manifest need it (its bytes, or only their hash when the file is on disk already)."""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any


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


class WriteOnly(list):
    """Artifacts whose callers read nothing of them once their service is unchanged but what
    the write needs, said by a `cached(..., stored=)` hook (or cached_batches): the cache keeps
    them as StoredFiles, a few blocks per service instead of an object per file."""

    __slots__ = ()


class StoredFiles(tuple):
    """Files of an unchanged service in one folder, as the write needs them: their paths and
    hashes, their objects' manifest lines and their lines of the manifest's files, each joined
    in the order the manifest sorts them (runs: (first key, last key, text); objects' keys are
    (target, path), files' their path). The manifest joins a run whole where no other line
    sorts among its own (see chunks.runs). Made as StoredFiles((service, paths, hashes, object
    runs, file runs)) by chunks.stored_files: a compile reusing 10,000 alerts' work unpickled
    and walked 34,000 StoredArtifacts. `path` is its first file's: the folder, which says its
    output."""

    __slots__ = ()
    service: str = property(itemgetter(0))  # type: ignore[assignment]
    paths: tuple[str, ...] = property(itemgetter(1))  # type: ignore[assignment]
    hashes: tuple[str, ...] = property(itemgetter(2))  # type: ignore[assignment]
    # The lines' text: bytes, or a view of the record read back (see packed).
    objects: tuple[tuple[tuple[str, str], tuple[str, str], bytes | memoryview], ...] = \
        property(itemgetter(3))  # type: ignore[assignment]
    files: tuple[tuple[str, str, bytes | memoryview], ...] = property(itemgetter(4))  # type: ignore[assignment]

    @property
    def path(self) -> str:
        return self[1][0]

    def __reduce__(self) -> tuple:
        # Read back from the cache, its lines are views of the record (see packed): sent to
        # another process (the pages' child sends what it reused), as bytes.
        runs = [tuple((first, last, _sendable(text)) for first, last, text in kind) for kind in self[3:]]
        return StoredFiles, ((*self[:3], *runs),)

    def __repr__(self) -> str:
        return f"StoredFiles({self.service!r}, {self.path!r}, {len(self.paths)} files)"


class StoredLines(tuple):
    """A service's objects of one target and kind in one catalog-wide artifact, as the cache
    keeps them where only the manifest reads them (a service's route tests): their manifest
    lines, joined in the order the manifest sorts them, and the first and last object's (kind,
    id). The manifest joins such a block whole where no other line sorts among its own (see
    chunks.manifest_chunks): 10,000 route tests were 10,000 objects to unpickle and 10,000
    lines to write again on every compile. Made as StoredLines((target, kind, path, first,
    last, text)) by chunks.stored_lines."""

    __slots__ = ()
    target: str = property(itemgetter(0))  # type: ignore[assignment]
    kind: str = property(itemgetter(1))  # type: ignore[assignment]
    path: str = property(itemgetter(2))  # type: ignore[assignment]  # the artifact's
    first: tuple[str, str] = property(itemgetter(3))  # type: ignore[assignment]
    last: tuple[str, str] = property(itemgetter(4))  # type: ignore[assignment]
    # UTF-8, as manifest_chunks: bytes, or a view of the record read back (see packed).
    text: bytes | memoryview = property(itemgetter(5))  # type: ignore[assignment]

    @property
    def id(self) -> str:
        """Its first object's id (whose service the pipeline reads off an object's id)."""
        return self.first[1]

    def __reduce__(self) -> tuple:
        return StoredLines, ((*self[:5], _sendable(self[5])),)  # see StoredFiles.__reduce__

    def __repr__(self) -> str:
        return f"StoredLines({self.target!r}, {self.kind!r}, {self.first[1]!r}..{self.last[1]!r})"


def _sendable(text: Any) -> Any:
    """Lines as another process can be sent them: a view of a record as bytes."""
    return text.tobytes() if type(text) is memoryview else text


@dataclass(frozen=True)
class RenderedArtifact:
    """An artifact made this run as the write needs it: its bytes, their hash and its manifest
    lines. Its data and objects go once the checks that read them ran (`Run.light`)."""

    path: str
    service: str | None
    data: bytes
    hash: str  # sha256 hex of `data`
    manifest: tuple[tuple[tuple[str, str], bytes], ...]  # see manifest_chunks


__all__ = ["RenderedArtifact", "StoredArtifact", "StoredFiles", "StoredLines", "WriteOnly"]
