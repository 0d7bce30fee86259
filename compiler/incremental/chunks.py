"""Incremental compile, manifest: each artifact's lines of the manifest's objects kept joined
per target, so that the manifest of 34,000 files sorts and joins a few pieces per file instead
of one line per object."""
from __future__ import annotations

import json

from compiler.artifacts import Artifact
from compiler.manifest import object_lines


def manifest_chunks(art: Artifact) -> tuple[tuple[tuple[str, str], bytes], ...]:
    """An artifact's lines of the manifest's objects, joined per target as `assemble` lays them
    out: ((target, path), lines), the lines in UTF-8 (kept and read back as bytes, they are
    neither decoded when a record is read nor encoded again when the manifest is: 22 MB at
    10,000 alerts). The manifest sorts its objects by (target, path, kind, id); one artifact
    holds one path, so each chunk sorts as a whole among the others' (`assemble` takes
    them as lines: a few per artifact to unpickle and sort instead of one per object)."""
    by_target: dict[str, list[tuple[tuple, str]]] = {}
    for key, line in object_lines(art):
        by_target.setdefault(key[0], []).append((key, line))
    return tuple(((target, art.path),
                  ",\n    ".join(line for _, line in sorted(lines, key=lambda o: o[0])).encode("utf-8"))
                 for target, lines in by_target.items())


def merge_chunks(chunks: list[tuple[tuple[str, str], bytes]]) -> list[tuple[tuple[str, str], bytes]]:
    """`manifest_chunks` of several artifacts, for `assemble`: two artifacts of one path (which
    no target makes) would each give a chunk of the same key, whose lines must interleave as the
    manifest sorts them; they are merged by each line's kind and id."""
    seen: dict[tuple[str, str], list[bytes]] = {}
    for key, text in chunks:
        seen.setdefault(key, []).append(text)
    if len(seen) == len(chunks):
        return chunks
    out = []
    for key, texts in seen.items():
        lines = [line for text in texts for line in text.split(b",\n    ")]
        if len(texts) > 1:
            lines.sort(key=lambda line: (json.loads(line)["kind"], json.loads(line)["id"]))
        out.append((key, b",\n    ".join(lines)))
    return out


__all__ = ["manifest_chunks", "merge_chunks"]
