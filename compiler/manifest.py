"""Render stage, manifest: every generated object with its target, file, source and hash."""
from __future__ import annotations

import hashlib
import json
from operator import itemgetter
from typing import TypeVar
from json.encoder import encode_basestring as _encode_str

from compiler.artifacts import Artifact, Digest
from compiler.render import content_hash

MANIFEST = "manifest.json"
T = TypeVar("T", str, bytes)


def object_lines(art: Artifact, hashes: dict[int, str] | None = None) -> list[tuple[tuple, str]]:
    """The manifest's line for each object of one artifact, with the key the lines sort by.
    `hashes` (by id() of a content, alive until the manifest is built) spares hashing a content
    that several objects share."""
    out = []
    path = art.path
    for obj in art.objects:
        digest = obj.digest or (obj.content.value if type(obj.content) is Digest else "")
        if not digest:
            digest = hashes.get(id(obj.content)) if hashes is not None else None
            if digest is None:
                digest = content_hash(obj.content)
                if hashes is not None:
                    hashes[id(obj.content)] = digest
        target, kind, ident = obj.target, obj.kind, obj.id
        out.append(((target, path, kind, ident), _object_line(target, path, kind, ident, str(obj.source), digest)))
    return out


def file_line(path: str, sha: str) -> tuple[str, str]:
    """The manifest's line for one file (sha256 hex), with the key the lines sort by."""
    return path, f"    {_dump(path)}: {_dump('sha256:' + sha)}"


def build_manifest(artifacts: list[Artifact], files: dict[str, bytes]) -> bytes:
    hashes: dict[int, str] = {}
    file_lines = [file_line(p, hashlib.sha256(b).hexdigest()) for p, b in files.items()]
    return assemble([line for art in artifacts for line in object_lines(art, hashes)], file_lines)


def assemble(objects: list[tuple[tuple, str | bytes | memoryview]],
             files: list[tuple[str, str | bytes | memoryview]]) -> bytes:
    """The manifest from every object's line (in artifact order; sorted here) and every file's
    line (`file_line`). A line may be given as its UTF-8 bytes, or a view of them (as the
    incremental compile keeps them: encoding 22 MB of lines again on every compile cost 0.036 s
    at 10,000 alerts); then every object's line must be."""
    objects = sorted(objects, key=itemgetter(0))
    files = sorted(files, key=itemgetter(0))
    if any(a[0] == b[0] for a, b in zip(files, files[1:])):  # a path twice: its lines in their order
        files.sort(key=lambda f: (f[0], _text(f[1])))
    # One object per line: a one-object change is a one-line diff. Joined once, with the
    # indentation in the separator: at 10,000 alerts the manifest is 26 MB, and each extra
    # concatenation copied all of it.
    lines = [line for _, line in objects]
    if lines and type(lines[0]) is not str:  # bytes, or views of the cache's records (bytes-like)
        try:
            # Every piece in one join, the files' lines too (3.7 MB at 10,000 alerts, which
            # joined apart, encoded and put before the objects' lines were copied three times).
            return b"".join([b'{\n  "format": 1,\n  "files": {\n',
                             *_between([line if type(line) is not str else line.encode("utf-8")
                                        for _, line in files], b",\n"),
                             b'\n  },\n  "objects": [\n    ', *_between(lines, b",\n    "), b"\n  ]\n}\n"])
        except TypeError:  # lines of both kinds
            lines = [_text(line) for line in lines]
    head = "".join(('{\n  "format": 1,\n  "files": {\n',
                    ",\n".join([line if type(line) is str else _text(line) for _, line in files]),
                    '\n  },\n  "objects": [\n' + ("    " if objects else "")))
    return _joined(head, lines, ",\n    ", "\n  ]\n}\n").encode("utf-8")


def _text(line: str | bytes | memoryview) -> str:
    """A line as str (given as UTF-8 bytes, or a view of them)."""
    return line if type(line) is str else str(line, "utf-8")


def _between(lines: list[T], sep: T) -> list[T]:
    """The lines with `sep` between each two, as pieces of a join."""
    out = [sep] * (2 * len(lines) - 1) if lines else []
    out[::2] = lines
    return out


def _joined(head: T, lines: list[T], sep: T, tail: T) -> T:
    """`head + sep.join(lines) + tail` in one join, the head and tail riding on the first and
    last lines: joining the lines, then the three parts, made the 26 MB of a 10,000-alert
    manifest twice (most of the cost the fresh buffer's page faults). `lines` is not changed."""
    if not lines:
        return head + tail
    if len(lines) == 1:
        return head + lines[0] + tail
    return sep.join([head + lines[0], *lines[1:-1], lines[-1] + tail])


def _object_line(target: str, path: str, kind: str, id: str, source: str, hash: str) -> str:
    """`json.dumps` of the object's fields with sorted keys, written field by field in one f-string
    when every field is a str (a dict per object through json's encoder cost more than the rest of
    the manifest; a catalog-wide file holds 10,000 objects)."""
    if type(hash) is type(id) is type(kind) is type(path) is type(source) is type(target) is str:
        enc = _encode_str
        return (f'{{"hash": {enc(hash)}, "id": {enc(id)}, "kind": {enc(kind)}, "path": {enc(path)}, '
                f'"source": {enc(source)}, "target": {enc(target)}}}')
    return _dump(dict(zip(_FIELDS, (hash, id, kind, path, source, target))))


_FIELDS = ("hash", "id", "kind", "path", "source", "target")  # sorted, as json's sort_keys


def _dump(value: object) -> str:
    if type(value) is str:
        return _encode_str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
