"""One controller per job: a lease in the store, kept alive by a heartbeat.

A controller takes its job's row in the ``owners`` table before it writes anything of the job, and
refreshes it every few seconds from a thread of its own (the loop can spend minutes inside one
in-process trial). A second controller of the same job sees a live owner and refuses; an owner
whose heartbeat has stopped for ``HEARTBEAT_TIMEOUT`` seconds, or whose process is gone from this
host, is dead, and its job may be taken over. Readers (``hpcore status``) use the same test to tell
a running job from an interrupted one.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from hpcore._lifeline import same_process, start_time
from hpcore.errors import StoreError

__all__ = ["HEARTBEAT_EVERY", "HEARTBEAT_TIMEOUT", "Lease", "Owner", "owner_of"]

HEARTBEAT_EVERY = 5.0  # seconds between two heartbeats of a live controller
HEARTBEAT_TIMEOUT = 60.0  # seconds without one after which an owner on another host counts as dead


@dataclass
class Owner:
    """The controller that holds a job's lease, as the store records it."""

    pid: int
    host: str
    pid_started: str | None
    heartbeat: float

    @property
    def alive(self) -> bool:
        """Whether that controller still runs (on this host: its process; elsewhere: its heartbeat)."""
        if self.host == socket.gethostname():  # its process, not a zombie nor a reused pid
            return same_process(self.pid, self.pid_started)
        return time.time() - self.heartbeat < HEARTBEAT_TIMEOUT

    def describe(self) -> str:
        return f"PID {self.pid} on {self.host}, last heartbeat {max(0.0, time.time() - self.heartbeat):.0f}s ago"


def owner_of(db: sqlite3.Connection, job: str) -> Owner | None:
    """The recorded owner of ``job``, or None (no owner, or a store older than leases)."""
    try:
        row = db.execute("SELECT pid, host, pid_started, heartbeat FROM owners WHERE job = ?", (job,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else Owner(*row)


class Lease:
    """The lease of one job in the store at ``path``, held from :meth:`acquire` to :meth:`release`.

    Args:
        path: The store's file.
        job: The job's name.

    Example:
        >>> import tempfile, os
        >>> from hpcore.store import Store
        >>> path = os.path.join(tempfile.mkdtemp(), "t.db"); Store(path).close()
        >>> lease = Lease(path, "default"); lease.acquire()
        >>> Lease(path, "default").acquire()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hpcore.errors.StoreError: job 'default' in ... is being run by another controller (PID ...
        >>> lease.release()
    """

    def __init__(self, path: str, job: str) -> None:
        self.path, self.job = path, job
        self.token = uuid.uuid4().hex
        self.lost = False
        self._db: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Takes the lease, or raises StoreError naming the live controller that holds it."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("BEGIN IMMEDIATE")  # one controller at a time between the look and the take
            other = owner_of(db, self.job)
            if other is not None and other.alive:
                db.execute("ROLLBACK")
                raise StoreError(
                    f"job {self.job!r} in {self.path!r} is being run by another controller ({other.describe()}); "
                    "wait for it to finish or stop it, or run this job under another name= or store")
            db.execute("INSERT OR REPLACE INTO owners VALUES (?, ?, ?, ?, ?, ?)",
                       (self.job, self.token, os.getpid(), socket.gethostname(), start_time(os.getpid()),
                        time.time()))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"cannot take the job {self.job!r} in {self.path!r}: {exc}") from None
        except StoreError:
            db.close()
            raise
        self._db = db
        self._thread = threading.Thread(target=self._beat, name=f"hpcore-lease-{self.job}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            try:
                cur = self._execute("UPDATE owners SET heartbeat = ? WHERE job = ? AND token = ?",
                                    (time.time(), self.job, self.token))
            except sqlite3.Error:
                continue  # a busy or full disk: the next beat tries again
            if cur.rowcount == 0:  # another controller took the job over: this one must stop
                self.lost = True
                return

    def _execute(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        assert self._db is not None
        return self._db.execute(sql, args)

    def check(self) -> None:
        """Raises StoreError when another controller has taken the job over."""
        if self.lost:
            raise StoreError(f"job {self.job!r} in {self.path!r} was taken over by another controller "
                             "(this one's heartbeat stopped for too long); this controller stops")

    def release(self) -> None:
        """Gives the lease back (the job's next run may start at once)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._db is not None:
            try:
                self._execute("DELETE FROM owners WHERE job = ? AND token = ?", (self.job, self.token))
            except sqlite3.Error:
                pass  # the lease then expires by itself
            self._db.close()
            self._db = None
