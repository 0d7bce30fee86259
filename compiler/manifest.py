"""Render stage, manifest: every generated object with its target, file, source and hash."""
from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _encode_str

from compiler.artifacts import Artifact, Digest
from compiler.render import content_hash

MANIFEST = "manifest.json"


def build_manifest(artifacts: list[Artifact], files: dict[str, bytes]) -> bytes:
    objects = []
    hashes: dict[int, str] = {}  # by id(): every content is alive until the manifest is built
    for art in artifacts:
        for obj in art.objects:
            digest = obj.content.value if type(obj.content) is Digest else hashes.get(id(obj.content))
            if digest is None:
                digest = hashes[id(obj.content)] = content_hash(obj.content)
            objects.append((obj.target, art.path, obj.kind, obj.id, str(obj.source), digest))
    objects.sort(key=lambda o: o[:4])
    file_hashes = {p: "sha256:" + hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}
    # One object per line: a one-object change is a one-line diff.
    lines = ['{', '  "format": 1,', '  "files": {']
    lines.append(",\n".join(f"    {_dump(p)}: {_dump(h)}" for p, h in file_hashes.items()))
    lines += ['  },', '  "objects": [']
    lines.append(",\n".join("    " + _object_line(*o) for o in objects))
    lines += ['  ]', '}']
    return ("\n".join(lines) + "\n").encode("utf-8")


def _object_line(target: str, path: str, kind: str, id: str, source: str, hash: str) -> str:
    """`json.dumps` of the object's fields with sorted keys, written field by field (a dict per
    object through json's encoder cost more than the rest of the manifest)."""
    values = (hash, id, kind, path, source, target)
    if not all(type(v) is str for v in values):
        return _dump(dict(zip(_FIELDS, values)))
    return "{" + ", ".join(f'"{k}": {_encode_str(v)}' for k, v in zip(_FIELDS, values)) + "}"


_FIELDS = ("hash", "id", "kind", "path", "source", "target")  # sorted, as json's sort_keys


def _dump(value: object) -> str:
    if type(value) is str:
        return _encode_str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
