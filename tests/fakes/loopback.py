"""Test fakes' shared lifecycle: an HTTP server on 127.0.0.1, in a thread, started and stopped
by the test (or as a context manager)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


class LoopbackServer:
    """Base of the named fakes. A subclass sets `handler`, a request handler class whose
    `owner` attribute will be the fake instance."""

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Any:
        owner = self

        class Handler(self.handler):  # type: ignore[name-defined,misc]
            pass

        Handler.owner = owner  # type: ignore[attr-defined]
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 256  # benchmarks open many connections at once
        server.server_bind()
        server.server_activate()
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
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"
