"""Load stage helper: a function run in a forked child process under a time and memory limit.

Jsonnet can recurse without growing its stack (`tailstrict`), build strings of gigabytes, or loop
for hours; no in-process setting bounds all of that. A child that is killed at the deadline, and
whose address space is capped, does.
"""
from __future__ import annotations

import faulthandler
import os
import resource
import signal
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Outcome:
    """What the child returned, or why it returned nothing."""

    value: Any = None
    timed_out: bool = False
    died: bool = False  # killed by the memory cap or crashed: nothing came back


def _address_space() -> int:
    # The child inherits the parent's mappings; the cap is on top of what is already there.
    with open("/proc/self/statm", "rb") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _child(conn: Any, func: Callable[..., Any], args: tuple, memory_bytes: int) -> None:
    # What the child prints (Jsonnet's "FATAL ERROR" when memory runs out) is no message for
    # users: the parent reports the outcome.
    faulthandler.disable()  # an abort on exhausted memory is an outcome here, not a crash
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass  # no /proc or no rlimits: the deadline still holds
    try:
        conn.send(("ok", func(*args)))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class ChildError(Exception):
    """The function raised in the child; the message is its type and text."""


def run(func: Callable[..., Any], args: tuple, timeout_s: float, memory_mb: float) -> Outcome:
    """`func(*args)` in a forked child; its result must pickle. Falls back to calling it here
    where fork is unavailable (no limits then)."""
    import multiprocessing  # here: a compile evaluating no Jsonnet need not import it (10 ms)

    if "fork" not in multiprocessing.get_all_start_methods():
        return Outcome(func(*args))
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, func, args, int(memory_mb * 1024 * 1024)),
                       daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            return Outcome(timed_out=True)
        try:
            status, value = parent.recv()
        except (EOFError, OSError):
            return Outcome(died=True)
    finally:
        parent.close()
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    if status == "memory":
        return Outcome(died=True)
    if status == "error":
        raise ChildError(value)
    return Outcome(value)
