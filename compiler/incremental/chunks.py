"""Incremental compile, manifest: each artifact's lines of the manifest's objects kept joined
per target, so that the manifest of 34,000 files sorts and joins a few pieces per file instead
of one line per object; and an unchanged service's lines kept joined in runs (StoredFiles,
StoredLines), a few per service, joined whole where no other line sorts among them."""
from __future__ import annotations

import json
from dataclasses import replace
from itertools import islice
from operator import itemgetter, lt
from typing import Any, Callable, Iterable

from compiler.artifacts import Artifact, ManagedObject
from compiler.incremental.stored import StoredFiles, StoredLines
from compiler.manifest import assemble, file_line, object_lines


OBJECTS, FILES = ",\n    ", ",\n"  # what separates two lines of the manifest's objects, of its files
SEP = OBJECTS.encode("utf-8")


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
    """manifest_chunks of an artifact holding StoredLines: each target's blocks and its other
    objects' lines as runs keyed by (kind, id) (see _runs)."""
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
    return tuple(((target, art.path), SEP.join(text for _, text in _runs(entries, _key, OBJECTS)))
                 for target, entries in by_target.items())


def stored_files(service: str, members: list[tuple[str, str, tuple]]) -> StoredFiles:
    """Files of one folder, each given as (path, sha256 hex, manifest_chunks), as StoredFiles:
    a run of object lines per target and one of file lines (in UTF-8, as the object lines), each
    in the manifest's order."""
    members = sorted(members, key=itemgetter(0))
    by_target: dict[str, list[tuple[tuple[str, str], bytes]]] = {}
    for _, _, chunks in members:
        for key, text in chunks:
            by_target.setdefault(key[0], []).append((key, text))
    objects = tuple((run[0][0], run[-1][0], SEP.join(text for _, text in run)) for run in by_target.values())
    files = ((members[0][0], members[-1][0],
              FILES.join(file_line(p, sha)[1] for p, sha, _ in members).encode("utf-8")),)
    return StoredFiles((service, tuple(m[0] for m in members), tuple(m[1] for m in members), objects, files))


def manifest(objects: list[tuple[tuple, tuple, bytes]], files: list[tuple[str, str, str]],
             merge: bool = False) -> bytes:
    """The manifest from runs of lines, each (first key, last key, text) as StoredFiles keeps
    them (a single chunk or file line is a run of one): its objects' keyed by (target, path),
    its files' by path. `merge`: two artifacts share a path (see merge_chunks)."""
    if merge:
        return assemble(merge_chunks([(key[:2], line) for key, line in _lines(objects, _object_key, OBJECTS)]),
                        _lines(files, _file_key, FILES))
    return assemble(_runs(objects, _object_key, OBJECTS), _runs(files, _file_key, FILES))


def _runs(entries: list[tuple[Any, Any, Any]], key: Callable[[Any], Any], sep: str) -> list[tuple[Any, Any]]:
    """Runs of lines, each (first key, last key, text), as `assemble` takes lines, in order:
    each (first key, text), taken whole where it ends before the next begins (the runs of
    services whose ids do not interleave), else, where runs meet or interleave, their lines one
    by one, each keyed by `key(line)` (in the runs' order where keys are equal)."""
    ranked = sorted(entries, key=itemgetter(0))
    if all(map(lt, map(itemgetter(1), ranked), map(itemgetter(0), islice(ranked, 1, None)))):
        # Nearly always: no two runs meet or interleave (checked without a step of Python per
        # run: 2,800 runs at 10,000 alerts), each taken whole.
        return [(first, text) for first, _, text in ranked]
    order = sorted(range(len(entries)), key=lambda n: entries[n][0])
    out: list[tuple[Any, Any]] = []
    i = 0
    while i < len(order):
        j, last = i + 1, entries[order[i]][1]
        while j < len(order) and entries[order[j]][0] <= last:  # a cluster of runs that interleave
            last = max(last, entries[order[j]][1])
            j += 1
        if j == i + 1:
            first, _, text = entries[order[i]]
            out.append((first, text))
        else:
            out += sorted(_lines([entries[n] for n in sorted(order[i:j])], key, sep), key=itemgetter(0))
        i = j
    return out


def _lines(entries: list[tuple[Any, Any, Any]], key: Callable[[Any], Any], sep: str) -> list[tuple[Any, Any]]:
    """Each line of runs with its own key, in the runs' order (a run's text may be a view of a
    stored record: see packed)."""
    out: list[tuple[Any, Any]] = []
    for _, _, text in entries:
        if type(text) is memoryview:
            text = text.tobytes()
        out += [(key(line), line) for line in text.split(sep.encode("utf-8") if type(text) is bytes else sep)]
    return out


def _object_key(line: bytes | str) -> tuple[str, str, str, str]:
    """A manifest object's line's (target, path, kind, id), read back from it."""
    obj = json.loads(line)
    return obj["target"], obj["path"], obj["kind"], obj["id"]


def _file_key(line: str | bytes) -> str:
    """A manifest file's line's path, read back from it (given as str, or its UTF-8 bytes)."""
    return next(iter(json.loads("{" + line + "}" if type(line) is str else b"{" + line + b"}")))


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


__all__ = ["manifest", "manifest_chunks", "merge_chunks", "stored_files", "stored_lines"]
