"""A relay from a distributed rank in another process to the trial's reporter.

Under ``ddp_spawn`` (and forked DDP) rank 0 runs in a child process that has no reporter: the trial
lives in the process that called ``trainer.fit``. The callback therefore opens a local, authenticated
socket in that process when it is created inside a trial; rank 0 connects to it and each report is
forwarded to the real reporter, which answers with the stop decision. No database is involved, and
the trial's objective is the last value reported, exactly as without DDP.
"""

from __future__ import annotations

import os
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from hpcore import Reporter

__all__ = ["RelayClient", "RelayServer"]


class RelayServer:
    """Serves one reporter to callback copies in other processes (a daemon thread)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.authkey = os.urandom(16)
        self._listener = Listener(("127.0.0.1", 0), authkey=self.authkey)
        self.address: tuple[str, int] = self._listener.address
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="hpcore-lightning-relay", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError, AuthenticationError):  # closed, or a client that failed authentication
                continue
            if self._closed:
                conn.close()
                break
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self._listener.close()

    def _handle(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    return
                if msg[0] == "last_step":
                    conn.send(self.reporter.last_step)
                elif msg[0] == "report":
                    _, step, metrics = msg
                    with self._lock:  # ranks may share one trial; its reports stay ordered
                        conn.send(self.reporter.report(step, **metrics))

    def close(self) -> None:
        """Stops serving (wakes the accept loop with a last connection)."""
        if self._closed:
            return
        self._closed = True
        try:
            Client(self.address, authkey=self.authkey).close()
        except OSError:
            pass


class RelayClient:
    """The reporter's stand-in in another process: ``report`` and ``last_step`` go over the socket."""

    def __init__(self, address: tuple[str, int], authkey: bytes) -> None:
        self._conn = Client(address, authkey=authkey)

    @property
    def last_step(self) -> int | None:
        self._conn.send(("last_step",))
        out: int | None = self._conn.recv()
        return out

    def report(self, step: int | None = None, **metrics: float) -> bool:
        self._conn.send(("report", step, metrics))
        return bool(self._conn.recv())

    def close(self) -> None:
        self._conn.close()

    def __getstate__(self) -> Any:
        raise TypeError("a relay connection belongs to one process")
