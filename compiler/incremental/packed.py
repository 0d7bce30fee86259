"""Incremental compile, storing a value: its pickle, with the manifest lines it holds kept beside
it as pickle's out-of-band buffers, so that reading it back gives views of the record's bytes
instead of copies of them.

An unchanged service's stored values hold its manifest lines, joined in runs (StoredFiles,
StoredLines): about 22 MB at 10,000 alerts, which unpickling copied into fresh memory on every
compile, only for the manifest's join to copy them once more. Kept out of band, they stay where
the record's file is mapped (store.read_packed) until that join reads them.
"""
from __future__ import annotations

import pickle
import struct
from pickle import PickleBuffer
from typing import Any

from compiler.incremental.stored import StoredFiles, StoredLines

# What starts a value stored with buffers beside its pickle (a plain pickle starts with its
# protocol's opcode, 0x80): then the buffers' count, each one's length and the pickle, then the
# buffers themselves.
MARK = b"B"
_COUNT = struct.Struct("<I")


def pack(value: Any) -> bytes:
    """The value's bytes as stored: its pickle, and after it the buffers it holds (see beside)."""
    buffers: list[PickleBuffer] = []
    head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    if not buffers:
        return head
    raw = [b.raw() for b in buffers]
    sizes = struct.pack(f"<{len(raw)}Q", *(len(r) for r in raw))
    return b"".join([MARK, _COUNT.pack(len(raw)), sizes, head, *raw])


def unpack(data: bytes | memoryview) -> Any:
    """A value `pack` stored; the buffers it held come back as read-only views of `data`."""
    if data[:1] != MARK:
        return pickle.loads(data)
    view = memoryview(data)
    (count,) = _COUNT.unpack_from(view, 1)
    start = 1 + _COUNT.size + 8 * count
    sizes = struct.unpack_from(f"<{count}Q", view, 1 + _COUNT.size)
    end = len(view) - sum(sizes)
    if end < start:
        raise pickle.UnpicklingError("a stored value's buffers run past its end")
    buffers = []
    for size in sizes:
        buffers.append(view[end:end + size])
        end += size
    return pickle.loads(view[start:len(view) - sum(sizes)], buffers=buffers)


def beside(value: StoredFiles | StoredLines) -> StoredFiles | StoredLines:
    """A stored form with its manifest lines marked to be kept beside the pickle (`pack`)."""
    if type(value) is StoredFiles:
        service, paths, hashes, objects, files = value
        return StoredFiles((service, paths, hashes,
                            tuple((first, last, PickleBuffer(text)) for first, last, text in objects),
                            tuple((first, last, PickleBuffer(text)) for first, last, text in files)))
    return StoredLines((*value[:5], PickleBuffer(value[5])))


__all__ = ["beside", "pack", "unpack"]
