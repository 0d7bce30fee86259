"""Incremental compile, manifest: each artifact's lines of the manifest's objects kept joined
per target, so that the manifest of 34,000 files sorts and joins a few pieces per file instead
of one line per object."""
from __future__ import annotations

import json
from dataclasses import replace
from operator import itemgetter
from typing import Iterable

from compiler.artifacts import Artifact, ManagedObject
from compiler.incremental.stored import StoredLines
from compiler.manifest import object_lines


SEP = b",\n    "  # between two lines of the manifest's objects


def manifest_chunks(art: Artifact) -> tuple[tuple[tuple[str, str], bytes], ...]:
    """An artifact's lines of the manifest's objects, joined per target as `assemble` lays them
    out: ((target, path), lines), the lines in UTF-8 (kept and read back as bytes, they are
    neither decoded when a record is read nor encoded again when the manifest is: 22 MB at
    10,000 alerts). The manifest sorts its objects by (target, path, kind, id); one artifact
    holds one path, so each chunk sorts as a whole among the others' (`assemble` takes
    them as lines: a few per artifact to unpickle and sort instead of one per object). Its
    objects may include StoredLines, blocks of lines joined already."""
    if any(type(o) is StoredLines for o in art.objects):
        return _with_blocks(art)
    by_target: dict[str, list[tuple[tuple, str]]] = {}
    for key, line in object_lines(art):
        by_target.setdefault(key[0], []).append((key, line))
    return tuple(((target, art.path),
                  ",\n    ".join(line for _, line in sorted(lines, key=lambda o: o[0])).encode("utf-8"))
                 for target, lines in by_target.items())


def stored_lines(path: str, objects: Iterable[ManagedObject]) -> tuple[StoredLines, ...]:
    """The objects of an artifact at `path` as blocks of their manifest lines, one per target
    and kind (in the order they first come)."""
    groups: dict[tuple[str, str], list[ManagedObject]] = {}
    for obj in objects:
        groups.setdefault((obj.target, obj.kind), []).append(obj)
    out = []
    for (target, kind), members in groups.items():
        lines = sorted(object_lines(Artifact(path, None, "text", tuple(members))), key=itemgetter(0))
        out.append(StoredLines((target, kind, path, lines[0][0][2:], lines[-1][0][2:],
                                SEP.join(line.encode("utf-8") for _, line in lines))))
    return tuple(out)


def _with_blocks(art: Artifact) -> tuple[tuple[tuple[str, str], bytes], ...]:
    """manifest_chunks of an artifact holding StoredLines: each target's blocks and lines
    sorted by their first (kind, id), joined as they stand when each ends before the next
    begins (the blocks of services whose ids do not interleave), else line by line."""
    plain = iter(object_lines(replace(art, objects=tuple(o for o in art.objects if type(o) is not StoredLines))))
    by_target: dict[str, list[tuple[tuple, tuple, bytes]]] = {}
    for obj in art.objects:
        if type(obj) is StoredLines:
            if obj.path != art.path:
                raise ValueError(f"lines of {obj.path} in the artifact {art.path}")
            by_target.setdefault(obj.target, []).append((obj.first, obj.last, obj.text))
        else:
            key, line = next(plain)
            by_target.setdefault(key[0], []).append((key[2:], key[2:], line.encode("utf-8")))
    out = []
    for target, entries in by_target.items():
        ordered = sorted(entries, key=itemgetter(0))
        if any(a[1] >= b[0] for a, b in zip(ordered, ordered[1:])):
            # Blocks whose keys interleave (or meet): every line sorted by its own key, in the
            # objects' order where keys are equal, as the artifact's objects one by one sort.
            keyed = [(_key(line), line) for _, _, text in entries for line in text.split(SEP)]
            ordered = [(key, key, line) for key, line in sorted(keyed, key=itemgetter(0))]
        out.append(((target, art.path), SEP.join(text for _, _, text in ordered)))
    return tuple(out)


def _key(line: bytes) -> tuple[str, str]:
    """A manifest object's line's (kind, id), read back from it."""
    obj = json.loads(line)
    return obj["kind"], obj["id"]


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
        lines = [line for text in texts for line in text.split(SEP)]
        if len(texts) > 1:
            lines.sort(key=_key)
        out.append((key, SEP.join(lines)))
    return out


__all__ = ["manifest_chunks", "merge_chunks", "stored_lines"]
