"""Render stage, manifest: every generated object with its target, file, source and hash."""
from __future__ import annotations

import hashlib
import json

from compiler.artifacts import Artifact
from compiler.render import content_hash

MANIFEST = "manifest.json"


def object_lines(art: Artifact) -> list[tuple[tuple, str]]:
    """The manifest's line for each object of one artifact, with the key the lines sort by."""
    out = []
    for obj in art.objects:
        entry = {"id": obj.id, "kind": obj.kind, "target": obj.target, "path": art.path,
                 "source": str(obj.source), "hash": obj.digest or content_hash(obj.content)}
        out.append(((obj.target, art.path, obj.kind, obj.id), _dump(entry)))
    return out


def file_line(path: str, sha: str) -> tuple[str, str]:
    """The manifest's line for one file (sha256 hex), with the key the lines sort by."""
    return path, f"    {_dump(path)}: {_dump('sha256:' + sha)}"


def build_manifest(artifacts: list[Artifact], files: dict[str, bytes]) -> bytes:
    file_lines = [file_line(p, hashlib.sha256(b).hexdigest()) for p, b in files.items()]
    return assemble([line for art in artifacts for line in object_lines(art)], file_lines)


def assemble(objects: list[tuple[tuple, str]], files: list[tuple[str, str]]) -> bytes:
    """The manifest from every object's line (in artifact order; sorted here) and every file's
    line (`file_line`)."""
    objects = sorted(objects, key=lambda o: o[0])
    # One object per line: a one-object change is a one-line diff, and json's C encoder is used
    # (indent= falls back to its pure-Python encoder, slow for 40,000 objects).
    lines = ['{', '  "format": 1,', '  "files": {']
    lines.append(",\n".join(line for _, line in sorted(files)))
    lines += ['  },', '  "objects": [']
    lines.append(",\n".join("    " + line for _, line in objects))
    lines += ['  ]', '}']
    return ("\n".join(lines) + "\n").encode("utf-8")


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
