"""Render stage, manifest: every generated object with its target, file, source and hash."""
from __future__ import annotations

import hashlib
import json

from compiler.artifacts import Artifact
from compiler.render import content_hash

MANIFEST = "manifest.json"


def build_manifest(artifacts: list[Artifact], files: dict[str, bytes]) -> bytes:
    objects = []
    for art in artifacts:
        for obj in art.objects:
            objects.append({
                "id": obj.id, "kind": obj.kind, "target": obj.target, "path": art.path,
                "source": str(obj.source), "hash": content_hash(obj.content),
            })
    objects.sort(key=lambda o: (o["target"], o["path"], o["kind"], o["id"]))
    file_hashes = {p: "sha256:" + hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}
    # One object per line: a one-object change is a one-line diff, and json's C encoder is used
    # (indent= falls back to its pure-Python encoder, slow for 40,000 objects).
    lines = ['{', '  "format": 1,', '  "files": {']
    lines.append(",\n".join(f"    {_dump(p)}: {_dump(h)}" for p, h in file_hashes.items()))
    lines += ['  },', '  "objects": [']
    lines.append(",\n".join("    " + _dump(o) for o in objects))
    lines += ['  ]', '}']
    return ("\n".join(lines) + "\n").encode("utf-8")


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
