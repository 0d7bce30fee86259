"""Generate stage helper: map independent pieces of work over forked worker processes."""
from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
import collections.abc
from typing import Any, Callable, Generic, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a second process costs more than it saves.
MIN_ITEMS = 400

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
# True in a child started by `Background`: its parent keeps working, so the child leaves the
# remaining cores to it rather than forking a pool of its own.
_background_child = False


def _can_fork() -> bool:
    # A daemonic process (a worker of someone else's pool compiling a catalog) may not start
    # processes of its own: the work then runs in it. Asked without importing multiprocessing
    # (10 ms of a command that forks nothing, such as a recompile of one service): fork is a
    # start method wherever os.fork exists, and a daemonic process has imported it already.
    started = sys.modules.get("multiprocessing")
    return hasattr(os, "fork") and (started is None or not started.current_process().daemon)


@contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes forked inside are born with SIGINT blocked. Ctrl-C reaches the whole process
    group: this process reports it ("moncat: interrupted") and its exit stops its daemonic
    children, which must not print tracebacks of their own meanwhile."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _work is not None
    func, items = _work
    return [func(item) for item in items[bounds[0]:bounds[1]]]


def forks() -> bool:
    """Whether fork_map may spread work over processes here: not with one core, nor in a child
    started by `Background`, nor where fork is unavailable."""
    return (os.cpu_count() or 1) >= 2 and not _background_child and _can_fork()


def fork_map(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`[func(x) for x in items]`, in order, split over the machine's cores. Workers are forked,
    so they see the caller's data without pickling it; only results travel back. Falls back to
    one process where fork is unavailable or the work is small."""
    global _work
    cores = min(os.cpu_count() or 1, 8)
    if len(items) < MIN_ITEMS or not forks():
        return [func(x) for x in items]
    size = -(-len(items) // cores)
    chunks = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
    _work = (func, items)
    try:
        import multiprocessing  # only when forking: see _can_fork

        with _children_ignore_ctrl_c():
            pool = multiprocessing.get_context("fork").Pool(len(chunks))
        with pool:
            parts = pool.map(_run_chunk, chunks)
    finally:
        _work = None
    return [r for part in parts for r in part]


class WorkerFailed(RuntimeError):
    """A background child ended without a result, or raised: carries its traceback text."""


class Background(Generic[R]):
    """`func()` running in a forked child; `result()` waits for its value, `cancel()` stops it
    when the caller no longer needs it. The child sees the caller's data as it was at the fork,
    without pickling; only the result travels back. Where a child cannot pay (small work, one
    core, no fork) `func` runs in this process, when `result()` first asks for it: a cancelled
    piece of work never runs.

    When `func` returns an iterator, `result()` is the list of its items, and each item travels
    in a message of its own as the child produces it: a large result sent as one message is held
    whole, pickled, by both processes at once (on top of its objects). A thread of this process
    receives the messages as they come: a child blocked on a full pipe would otherwise wait for
    `result()`, its work no longer overlapping the caller's."""

    def __init__(self, func: Callable[[], R], worth_a_process: bool = True):
        self._value: tuple[R] | None = None
        self._later: Callable[[], R] | None = None
        self._proc: Any = None
        if not worth_a_process or (os.cpu_count() or 1) < 2 or _background_child or not _can_fork():
            self._later = func
            return
        import multiprocessing  # only when forking: see _can_fork

        ctx = multiprocessing.get_context("fork")
        self._reader, sender = ctx.Pipe(duplex=False)
        _widen(sender.fileno())
        self._proc = ctx.Process(target=_run_background, args=(func, sender), daemon=True)
        with _children_ignore_ctrl_c():
            self._proc.start()
        sender.close()
        self._items: list[Any] = []
        self._last: tuple[int, Any] | None = None  # the child's last message, once received
        self._receiver = threading.Thread(target=self._drain, daemon=True)
        self._receiver.start()

    def _drain(self) -> None:
        try:
            while (message := self._reader.recv())[0] == _ITEM:
                self._items.append(message[1])
            self._last = message
        except (EOFError, OSError):
            pass  # the child ended without a result, or was stopped: `_receive` says which

    @property
    def here(self) -> bool:
        """Whether `result()` will run the work in this process (it was not worth a process)."""
        return self._later is not None

    def result(self) -> R:
        if self._value is None:
            self._value = (self._run_later() if self._later is not None else self._receive(),)
        return self._value[0]

    def _run_later(self) -> R:
        func, self._later = self._later, None
        assert func is not None
        value = func()
        return list(value) if isinstance(value, collections.abc.Iterator) else value  # type: ignore[return-value]

    def _receive(self) -> R:
        proc, self._proc = self._proc, None
        if proc is None:
            raise WorkerFailed("the background work was cancelled")
        self._receiver.join()
        self._reader.close()
        proc.join()
        if self._last is None:
            raise WorkerFailed(f"a worker process ended without a result (exit status {proc.exitcode})")
        kind, payload = self._last
        items, self._items = self._items, []
        if kind == _FAILED:
            raise WorkerFailed(payload)
        if kind == _HANDED:
            raise payload
        return items if kind == _ITEMS_DONE else payload  # type: ignore[return-value]

    def cancel(self) -> None:
        self._later = None
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            proc.join()
            self._receiver.join()  # ends with the pipe's end of file
            self._reader.close()
            self._items = []


def _widen(fd: int) -> None:
    """The pipe's buffer made as large as Linux lets any user make it (1 MiB by default; 64 KiB
    otherwise). Each read of the thread receiving the child's messages waits for the compile's
    thread to let go of the interpreter (up to sys.getswitchinterval(), 5 ms), so a 64 KiB pipe
    let a busy compile drain at most about 13 MB a second: at 1,000 alerts the pages' child stood
    blocked on the full pipe, and the compile then waited 0.27-0.55 s for its pages (now none)."""
    try:
        import fcntl

        with open("/proc/sys/fs/pipe-max-size", encoding="ascii") as f:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(int(f.read()), 1 << 24))
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # not Linux, or a limit lower than asked: the default buffer works, more slowly


# What a child's messages hold: one item of an iterator's, the end of the items, the value, the
# traceback of a failure, or a Handed exception.
_ITEM, _ITEMS_DONE, _VALUE, _FAILED, _HANDED = range(5)


class Handed(Exception):
    """An exception a child raises that its parent raises as itself (not as WorkerFailed): one
    the caller knows how to recover from, such as a cache record found damaged."""


def _run_background(func: Callable[[], Any], sender: Any) -> None:
    global _background_child
    _background_child = True
    try:
        value = func()
        if isinstance(value, collections.abc.Iterator):
            for item in value:
                sender.send((_ITEM, item))
            message: tuple[int, Any] = (_ITEMS_DONE, None)
        else:
            message = (_VALUE, value)
    except Handed as exc:
        message = (_HANDED, exc)
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises it
        message = (_FAILED, traceback.format_exc())
    sender.send(message)
    sender.close()
