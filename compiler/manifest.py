"""Render stage, manifest: every generated object with its target, file, source and hash."""
from __future__ import annotations

import hashlib

from compiler.artifacts import Artifact
from compiler.render import content_hash, to_json

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
    return to_json({
        "format": 1,
        "files": {p: "sha256:" + hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())},
        "objects": objects,
    }).encode("utf-8")
