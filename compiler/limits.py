"""Limits: the resource bounds every stage shares, and the deep-stack thread the pipeline runs in.

A catalog is untrusted input: a few kilobytes can nest thousands of levels, expand an alias
bomb into billions of nodes or ask Jsonnet to recurse forever. Each bound here is far above what
a real catalog needs, stated in the README, and reported as a located error when crossed.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

# YAML/JSON: how deeply a catalog document may nest mappings and lists (the schema needs about
# ten levels; libyaml itself refuses more than 1,000).
MAX_NESTING = 100
# YAML aliases expand: nodes after expansion, per file (all its documents) and per catalog.
# A catalog of 10,000 alerts holds about 170,000 nodes in all.
MAX_NODES_PER_FILE = 250_000
MAX_NODES_PER_CATALOG = 2_500_000
# A catalog file larger than this is refused before it is parsed.
MAX_FILE_BYTES = 16 * 1024 * 1024
# PromQL: nesting levels of one expression, counting each parenthesis, call, aggregation, unary
# operator and each binary operator chained at the same level (`a + b + c` is two levels).
MAX_EXPR_DEPTH = 1000
# Jsonnet: per top-level file, in a child process.
JSONNET_MAX_STACK = 500
JSONNET_TIMEOUT_S = 20.0
JSONNET_MEMORY_MB = 1024

# Every stage walks trees recursively; a thread with a large stack and a raised recursion limit
# lets them walk MAX_EXPR_DEPTH levels (several frames each) with room to spare. The stack is
# reserved address space: only the pages a deep walk touches are ever used.
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 60_000

_local = threading.local()
_lock = threading.Lock()
_active = 0
_saved_limit = 0


def env_number(name: str, default: float) -> float:
    """A positive number from the environment (the Jsonnet limits), else `default`."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def jsonnet_timeout_s() -> float:
    return env_number("MONCAT_JSONNET_TIMEOUT", JSONNET_TIMEOUT_S)


def jsonnet_memory_mb() -> float:
    return env_number("MONCAT_JSONNET_MEMORY_MB", JSONNET_MEMORY_MB)


def _raise_limit() -> None:
    global _active, _saved_limit
    with _lock:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, _RECURSION_LIMIT))
        _active += 1


def _restore_limit() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_saved_limit)


def run_deep(func: Callable[..., T], *args: object) -> T:
    """`func(*args)` on a thread with a large stack (or directly, when already on one); its
    result is returned and its exception re-raised in the caller. The work runs off the main
    thread: it must not install signal handlers (Ctrl-C still reaches the waiting caller)."""
    if getattr(_local, "deep", False):
        return func(*args)
    box: dict[str, object] = {}

    def target() -> None:
        _local.deep = True
        try:
            box["result"] = func(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            _local.deep = False

    worker = None
    _raise_limit()
    try:
        with _lock:
            previous = threading.stack_size(_STACK_BYTES)
            try:
                worker = threading.Thread(target=target, name="moncat-deep", daemon=True)
                worker.start()
            except RuntimeError:  # no address space for the stack (strict overcommit)
                worker = None
            finally:
                threading.stack_size(previous)
        if worker is not None:
            worker.join()
    finally:
        _restore_limit()
    if worker is None:
        target()  # on the caller's stack and recursion limit: deep input may be refused there
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
