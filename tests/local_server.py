"""A threaded HTTP server on 127.0.0.1, the transport every fake service shares."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: bytes,
              headers: dict[str, str], content_type: str = "application/json") -> None:
    """Answer with a body of `payload` bytes (JSON unless `content_type` says otherwise)
    and the given extra headers."""
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(payload)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


class LocalServer:
    """Serves `handler` on a free local port from a daemon thread until `stop()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`, to which each fake appends its API prefix."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ServedFake:
    """A fake service that serves its handler while used as a context manager."""

    _handler: type[BaseHTTPRequestHandler]
    _server: LocalServer | None = None

    def origin(self) -> str:
        assert self._server is not None, "enter the fake first"
        return self._server.origin

    def __enter__(self) -> Self:
        self._server = LocalServer(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
