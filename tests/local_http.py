"""Real servers on 127.0.0.1 for the download tests and the data benchmark (no mocks).

* :class:`FileServer` -- an HTTP server in a thread, on an ephemeral port, serving routes:
  ``bytes`` (200 with that body), an ``int`` (that status, e.g. 404), or
  :class:`Truncated` (promises the whole body in Content-Length, sends part, then closes), or a
  ``list`` of those, answered one per request in order (the last one from then on).
* :class:`SilentServer` -- a listening socket that never answers: it either accepts
  connections and never replies, or never accepts them at all.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Truncated:
    """Send ``Content-Length: len(body)`` but only the first ``sent`` bytes, then close."""

    body: bytes
    sent: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_GET(self):
        route = self.server.routes.get(self.path, 404)
        self.server.requests.append(self.path)
        if isinstance(route, list):
            route = route.pop(0) if len(route) > 1 else route[0]
        if isinstance(route, int):
            self.send_error(route)
            return
        body, sent = (route.body, route.sent) if isinstance(route, Truncated) else (route, len(route))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:sent])
        self.wfile.flush()
        self.close_connection = True


class FileServer:
    """``with FileServer({"/mnist.npz": data}) as server: server.url("/mnist.npz")``."""

    def __init__(self, routes: dict | None = None):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = dict(routes or {})
        self.httpd.requests = []
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def routes(self) -> dict:
        return self.httpd.routes

    @property
    def requests(self) -> list:
        return self.httpd.requests

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


class SilentServer:
    """A TCP port on 127.0.0.1 that never sends a byte (``accept=False``: never even accepts)."""

    def __init__(self, *, accept: bool):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.accept = accept
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_forever, daemon=True)

    def _accept_forever(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._held.append(conn)  # hold it open, say nothing

    def url(self, path: str = "/mnist.npz") -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> SilentServer:
        if self.accept:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.accept:
            self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self.sock.close()
