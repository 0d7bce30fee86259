"""Test fakes' shared lifecycle: an HTTP server on 127.0.0.1, in a thread, started and stopped
by the test (or as a context manager); and the misbehaviours of real servers and the proxies in
front of them, which every fake can be told to show (`misbehave`):

- "trickle":        the fake's real answer: headers at once, then its body one byte every
                    `every_s` seconds (the request is applied)
- "trickle-headers": the same from the first byte of the status line
- "cut":            the real answer's headers and half its body, then the connection closes
                    (the request is applied; the client sees IncompleteRead/ChunkedEncodingError)
- "cut-chunked":    the same with `Transfer-Encoding: chunked`, ending inside a chunk
- "commit-then-500": the request is applied, then answered 500 (a server that fails after its commit)
- "commit-then-drop": the request is applied, then the connection closes with no answer
- "redirect":       307 to the same path on `location` (another host), the request not applied
- "answer":         `status` with `body` and `content_type` (an SSO login page, `null`, `[]`), not applied
- "silent":         nothing at all for `hold_s` seconds, then the connection closes, not applied

Every request that reaches a fake is also recorded in `exchanges` with the misbehaviour shown.
"""
from __future__ import annotations

import io
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

KINDS = ("trickle", "trickle-headers", "cut", "cut-chunked", "commit-then-500", "commit-then-drop", "redirect", "answer", "silent")
_BEFORE = ("redirect", "answer", "silent")  # shown instead of the fake's own handling


@dataclass
class Misbehaviour:
    kind: str
    methods: frozenset[str] | None = None
    path: str | None = None  # a regular expression the request path must fully match
    location: str = ""  # redirect: the other server's base URL
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    every_s: float = 1.0
    hold_s: float = 5.0
    skip: int = 0  # matching requests answered normally before this one shows

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and \
            (self.path is None or re.fullmatch(self.path, path) is not None)


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    misbehaviour: str  # "" when the fake answered normally


class LoopbackServer:
    """Base of the named fakes. A subclass sets `handler`, a request handler class whose
    `owner` attribute will be the fake instance, and calls LoopbackServer.__init__."""

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    _server: ThreadingHTTPServer | None = None
    _scheme = "http"

    def __init__(self) -> None:
        self.misbehaviours: list[Misbehaviour] = []
        self.exchanges: list[Exchange] = []
        self._mis_lock = threading.Lock()

    def misbehave(self, kind: str, n: int = 1, *, methods: set[str] | None = None, path: str | None = None,
                  **details: Any) -> None:
        """Queue a misbehaviour for the next `n` requests that match `methods` and `path` (after
        `skip` of them, given in `details`, are answered normally)."""
        assert kind in KINDS, kind
        with self._mis_lock:
            self.misbehaviours += [Misbehaviour(kind, frozenset(methods) if methods else None, path, **details)
                                   for _ in range(n)]

    def received(self, *methods: str) -> list[Exchange]:
        """The exchanges of these methods (all when none is named)."""
        with self._mis_lock:
            return [e for e in self.exchanges if not methods or e.method in methods]

    def _take(self, method: str, path: str) -> Misbehaviour | None:
        with self._mis_lock:
            found = next((m for m in self.misbehaviours if m.matches(method, path)), None)
            if found is not None and found.skip:
                found.skip -= 1
                found = None
            elif found is not None:
                self.misbehaviours.remove(found)
            self.exchanges.append(Exchange(method, path, found.kind if found else ""))
            return found

    def start(self, tls: tuple[str, str] | None = None) -> Any:
        """Serve on a free port of 127.0.0.1; with `tls` (certificate file, key file), over TLS."""
        owner = self

        class Handler(_Misbehaving, self.handler):  # type: ignore[name-defined,misc]
            pass

        Handler.owner = owner  # type: ignore[attr-defined]
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 256  # benchmarks open many connections at once
        server.server_bind()
        server.server_activate()
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._scheme = "https" if tls else "http"
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}"


class _Misbehaving(BaseHTTPRequestHandler):
    """Put in front of a fake's handler: shows a queued misbehaviour, else lets the fake answer."""

    owner: LoopbackServer

    def _dispatch(self, method: str) -> None:
        fake = self.owner
        found = fake._take(method, urlsplit(self.path).path)
        real = getattr(super(), f"do_{method}")
        if found is None:
            return real()
        self.close_connection = True
        if found.kind in _BEFORE:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return self._before(found)
        wire, buffer = self.wfile, io.BytesIO()
        self.wfile = buffer  # the fake's whole answer, to show it badly
        try:
            real()
        finally:
            self.wfile = wire
        answer = buffer.getvalue()
        try:
            self._after(found, answer)
        except OSError:
            pass  # the client went away: what it was meant to see
        finally:
            self._hang_up()

    def _before(self, found: Misbehaviour) -> None:
        if found.kind == "silent":
            deadline = time.monotonic() + found.hold_s
            while time.monotonic() < deadline and self.owner.running:
                time.sleep(0.05)
            return self._hang_up()
        if found.kind == "redirect":
            target = found.location.rstrip("/") + self.path
            self._raw(307, b"", "text/plain", {"Location": target})
        else:
            self._raw(found.status, found.body, found.content_type)

    def _after(self, found: Misbehaviour, answer: bytes) -> None:
        head, _, body = answer.partition(b"\r\n\r\n")
        if found.kind == "commit-then-500":
            self._raw(500, b'{"errors": ["Internal Server Error"], "message": "Internal Server Error"}',
                      "application/json")
        elif found.kind == "cut":
            self.wfile.write(head + b"\r\n\r\n" + body[:len(body) // 2])
        elif found.kind == "cut-chunked":
            lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length:")]
            chunk = body or b"{}"
            self.wfile.write(b"\r\n".join(lines + [b"Transfer-Encoding: chunked"]) + b"\r\n\r\n")
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk[:len(chunk) // 2])
        elif found.kind in ("trickle", "trickle-headers"):
            start = 0 if found.kind == "trickle-headers" else len(head) + 4
            self.wfile.write(answer[:start])
            self.wfile.flush()
            for i in range(start, len(answer)):
                if not self.owner.running:
                    return
                self.wfile.write(answer[i:i + 1])
                self.wfile.flush()
                time.sleep(found.every_s)
        # commit-then-drop: nothing at all

    def _raw(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


for _method in ("GET", "POST", "PUT", "DELETE"):
    setattr(_Misbehaving, f"do_{_method}", lambda self, _m=_method: self._dispatch(_m))
