"""``hpcore dashboard STORE``: a live web page of a store's jobs, served by the standard library.

The page is one file with its script and styles inline: it makes no request but to the server that
serves it (``/api/jobs`` and ``/api/job?name=...``, polled every ``interval`` seconds), so new
trials appear while a job runs, without a reload. The server binds to 127.0.0.1 by default: the
page shows parameters and errors, so expose it on another interface (``host="0.0.0.0"``) only on
a network you trust.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlparse

from hpcore.dashboard.data import JobData
from hpcore.errors import HpcoreError

__all__ = ["Dashboard", "JobData"]


def _page() -> bytes:
    return resources.files("hpcore.dashboard").joinpath("page.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlparse(self.path)
        try:
            if url.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", self.server.page)
            elif url.path == "/api/jobs":
                self._json(self.server.data.jobs())
            elif url.path == "/api/job":
                name = parse_qs(url.query).get("name", [None])[0]
                self._json(self.server.data.job(name))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")
        except HpcoreError as exc:  # no store or job yet, an unknown name: the page shows the message
            self._json({"error": str(exc)}, HTTPStatus.NOT_FOUND)
        except sqlite3.Error as exc:  # a store being created this instant: the next poll reads it
            self._json({"error": f"the store cannot be read yet ({exc})"}, HTTPStatus.SERVICE_UNAVAILABLE)

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, "application/json", json.dumps(data, allow_nan=False, default=str).encode())

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # The page's own script and styles only: nothing from elsewhere may load or be sent anywhere.
        self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; "
                         "style-src 'unsafe-inline'; img-src 'self' data:")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], data: JobData, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.data, self.verbose, self.page = data, verbose, _page()


class Dashboard:
    """A live dashboard of a store, served on ``http://HOST:PORT/``.

    Args:
        store: The SQLite file of one or more jobs (read-only: safe while they run).
        host: The interface to bind (127.0.0.1: this machine only).
        port: The port; 0 picks a free one (see :attr:`url`).
        verbose: Log every request on stderr.

    Example:
        >>> import hpcore, json, os, tempfile, urllib.request
        >>> db = os.path.join(tempfile.mkdtemp(), "t.db")
        >>> _ = hpcore.TuningJob(lambda p: p["x"] ** 2, {"x": hpcore.Float(-1.0, 1.0)}, strategy="random",
        ...                      max_trials=3, store=db, progress=False).run()
        >>> with Dashboard(db, port=0) as board:
        ...     jobs = json.load(urllib.request.urlopen(board.url + "api/jobs"))
        >>> jobs[0]["name"], jobs[0]["counts"]
        ('default', {'completed': 3})
    """

    def __init__(self, store: str, host: str = "127.0.0.1", port: int = 8765, verbose: bool = False) -> None:
        self.data = JobData(store)
        self._server = _Server((host, port), self.data, verbose)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> Dashboard:
        """Serves in a background thread (for notebooks and tests); :meth:`stop` ends it."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="hpcore-dashboard", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serves until interrupted (Ctrl-C)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
