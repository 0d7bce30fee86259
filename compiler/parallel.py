"""Generate stage helper: map independent pieces of work over forked worker processes."""
from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a second process costs more than it saves.
MIN_ITEMS = 400

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _work is not None
    func, items = _work
    return [func(item) for item in items[bounds[0]:bounds[1]]]


def fork_map(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`[func(x) for x in items]`, in order, split over the machine's cores. Workers are forked,
    so they see the caller's data without pickling it; only results travel back. Falls back to
    one process where fork is unavailable or the work is small."""
    global _work
    cores = min(os.cpu_count() or 1, 8)
    if cores < 2 or len(items) < MIN_ITEMS or "fork" not in multiprocessing.get_all_start_methods():
        return [func(x) for x in items]
    size = -(-len(items) // cores)
    chunks = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
    _work = (func, items)
    try:
        with multiprocessing.get_context("fork").Pool(len(chunks)) as pool:
            parts = pool.map(_run_chunk, chunks)
    finally:
        _work = None
    return [r for part in parts for r in part]
