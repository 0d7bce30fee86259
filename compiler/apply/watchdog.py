"""Apply stage, transport deadlines: a wall-clock limit on one HTTP exchange, headers and body.

A socket timeout bounds each wait for the next bytes, not the whole answer: a server that sends
one byte every few seconds never trips it. So every exchange runs under a watchdog: when its
deadline passes, the watchdog shuts the connection's socket down, which ends the blocked read
at once (an error the client then reports as a deadline, not as a network fault).

The connection in use is found through connection classes of our own, installed in the
adapter's pools: they record themselves on the calling thread's current exchange when they
connect or send a request (urllib3 runs both on the caller's thread).
"""
from __future__ import annotations

import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Exchange:
    """One request and its answer under a deadline: `with Exchange(seconds) as ex:`; afterwards
    `ex.expired` says whether the watchdog cut it."""

    def __init__(self, seconds: float):
        self.seconds = max(seconds, 0.001)
        self.expired = False
        self._conn: Any = None
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Exchange":
        _current.exchange = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _current.exchange = None

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            late = self.expired
        if late:
            _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            conn = self._conn
        if conn is not None:
            _shut(conn)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        # The plain socket's shutdown, also under TLS: it ends a read blocked in another thread
        # without touching the TLS object that thread is using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _attach(conn: Any) -> None:
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(conn)


class _Watched:
    """Mixin for urllib3's connection classes."""

    def connect(self) -> None:
        _attach(self)
        super().connect()  # type: ignore[misc]
        _attach(self)  # the socket now exists

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections a watchdog can cut; no automatic retries (the
    client decides what to retry)."""

    def __init__(self, pool_maxsize: int = 10):
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
