"""The durable store: one SQLite file in WAL mode, written by the job's controller only.

Every state change of a trial is committed before the controller acts on it: a trial is recorded as
``running`` before it is sent to a worker, each intermediate report is recorded before the stop
decision is sent back, and the terminal state is recorded before the strategy learns the result.
With WAL and ``synchronous=NORMAL`` a committed change survives the death of the process (SIGKILL,
an exception, Ctrl-C); ``durability="full"`` also survives a power loss, at a cost per write.

Readers (``hpcore status``, a report) open the file read-only and never block the writer.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from typing import Any

from hpcore._lease import owner_of
from hpcore.artifacts import Artifact, trial_location
from hpcore.errors import StoreError
from hpcore.trial import TrialRecord, TrialState

__all__ = ["Store"]

APPLICATION_ID = 0x68706372  # "hpcr" in the SQLite header: marks the file as an hpcore store

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    updated REAL
);
CREATE TABLE IF NOT EXISTS trials (
    job TEXT NOT NULL,
    id INTEGER NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    value REAL,
    metrics TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    step INTEGER,
    error TEXT,
    reason TEXT,
    started REAL,
    finished REAL,
    PRIMARY KEY (job, id)
);
CREATE TABLE IF NOT EXISTS reports (
    job TEXT NOT NULL,
    trial INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    step INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_trial ON reports (job, trial, attempt, step);
CREATE TABLE IF NOT EXISTS artifact_roots (
    job TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    temporary INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS artifacts (
    job TEXT NOT NULL,
    trial INTEGER NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    deleted REAL,
    PRIMARY KEY (job, trial, path)
);
CREATE TABLE IF NOT EXISTS owners (
    job TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid_started TEXT,
    heartbeat REAL NOT NULL
);
"""


def _dumps(obj: Any) -> str:
    # NaN/inf are not valid JSON; keep them readable and round-trippable as strings.
    def fix(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:
            return fix(v.item())
        if hasattr(v, "tolist") and callable(v.tolist):
            return fix(v.tolist())
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 63:
            return str(v)  # SQLite and JSON readers choke on larger integers
        return v

    return json.dumps(fix(obj), default=str)


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """A stored report's metrics as floats; a value that is not one is left out, never an error."""
    out = {}
    for k, v in metrics.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError, OverflowError):
            pass
    return out


class Store:
    """A tuning store on one SQLite file (or in memory with ``path=None``).

    Args:
        path: The database file; created with its folder when missing. ``None`` keeps the store in
            memory (nothing survives the process).
        read_only: Open an existing file without writing (for status and reports).
        durability: ``"normal"`` (survives process crashes) or ``"full"`` (also power loss).

    Raises:
        StoreError: When the file cannot be created, opened or written (the message names it).

    Example:
        >>> store = Store(None)
        >>> store.create_job("demo", {"objective": "loss"})
        >>> store.start_trial("demo", 0, {"x": 1.0}, attempt=0)
        >>> store.finish_trial("demo", 0, "completed", value=0.5, metrics={"loss": 0.5})
        >>> store.trials("demo")[0].value
        0.5
    """

    def __init__(self, path: str | os.PathLike[str] | None, read_only: bool = False,
                 durability: str = "normal") -> None:
        self.path = None if path is None else os.fspath(path)
        self.read_only = read_only
        if durability not in ("normal", "full"):
            raise StoreError(f"durability={durability!r}: use 'normal' or 'full'")
        try:
            if self.path is None:
                self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            elif read_only:
                if not os.path.exists(self.path):
                    raise StoreError(f"store {self.path!r} does not exist; run a job with store={self.path!r} first")
                uri = "file:" + os.path.abspath(self.path) + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                folder = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(folder, exist_ok=True)
                self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 30000")
            fresh = self._check_is_hpcore()
            if not read_only:
                if self.path is not None:
                    self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute(f"PRAGMA synchronous = {durability.upper()}")
                if fresh:
                    self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot {'open' if read_only else 'write'} the store {self.path!r}: {exc}; "
                "choose a writable file with store=PATH"
            ) from None

    def _check_is_hpcore(self) -> bool:
        """Refuses a file that is not an hpcore store, before anything is written; True when empty."""
        try:
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            app = self._db.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{self.path!r} is not a readable hpcore store ({exc}): it is not an SQLite "
                             "database, or a damaged one; give another file with store=PATH") from None
        if not tables and app == 0:
            return True
        if app not in (0, APPLICATION_ID) or not {"jobs", "trials", "reports"} <= tables:
            self._db.close()
            raise StoreError(f"{self.path!r} is a database of another application (tables: "
                             f"{', '.join(sorted(tables)) or 'none'}); hpcore writes only to stores it made: give "
                             "a new file with store=PATH")
        return False

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        try:
            self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the store {self.path!r}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(self, name: str, config: dict[str, Any]) -> None:
        self._write("INSERT INTO jobs (name, created, config, updated) VALUES (?, ?, ?, ?)",
                    (name, time.time(), _dumps(config), time.time()))

    def load_job(self, name: str) -> dict[str, Any] | None:
        """The stored config of job ``name`` (with ``status`` and ``created``), or None."""
        row = self._db.execute("SELECT config, status, created FROM jobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return {"config": json.loads(row[0]), "status": self._status(name, row[1]), "created": row[2]}

    def update_config(self, name: str, config: dict[str, Any]) -> None:
        """Records a job's new setup (a job continued with another training function, say)."""
        self._write("UPDATE jobs SET config = ?, updated = ? WHERE name = ?", (_dumps(config), time.time(), name))

    def set_job_status(self, name: str, status: str) -> None:
        self._write("UPDATE jobs SET status = ?, updated = ? WHERE name = ?", (status, time.time(), name))

    def jobs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT name, status, created, updated FROM jobs ORDER BY created").fetchall()
        return [{"name": r[0], "status": self._status(r[0], r[1]), "created": r[2], "updated": r[3]} for r in rows]

    def _status(self, name: str, recorded: str) -> str:
        """A job recorded as running whose controller is gone (killed, its host down) is interrupted."""
        if recorded != "running" or self.path is None:
            return recorded
        owner = owner_of(self._db, name)
        return "running" if owner is not None and owner.alive else "interrupted"

    # -- trials -------------------------------------------------------------------------------
    def start_trial(self, job: str, trial_id: int, params: dict[str, Any], attempt: int) -> None:
        """Records a trial (or a retry of it) as running, before it is sent to a worker."""
        self._write(
            "INSERT INTO trials (job, id, params, state, attempt, started) VALUES (?, ?, ?, 'running', ?, ?) "
            "ON CONFLICT (job, id) DO UPDATE SET state = 'running', attempt = excluded.attempt, "
            "started = excluded.started, finished = NULL, value = NULL, error = NULL, reason = NULL, step = NULL",
            (job, trial_id, _dumps(params), attempt, time.time()),
        )

    def add_report(self, job: str, trial_id: int, attempt: int, step: int, metrics: dict[str, float]) -> None:
        self._write("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?)",
                    (job, trial_id, attempt, step, _dumps(metrics), time.time()))

    def finish_trial(self, job: str, trial_id: int, state: str | TrialState, value: float | None = None,
                     metrics: dict[str, Any] | None = None, error: str | None = None,
                     reason: str | None = None, step: int | None = None) -> None:
        """Records the terminal state of a trial."""
        self._write(
            "UPDATE trials SET state = ?, value = ?, metrics = ?, error = ?, reason = ?, step = ?, finished = ? "
            "WHERE job = ? AND id = ?",
            (str(TrialState(state)), value, _dumps(metrics or {}), error, reason, step, time.time(), job, trial_id),
        )

    def trials(self, job: str, state: str | None = None) -> list[TrialRecord]:
        """Every trial of a job, by id (optionally only those in one state)."""
        sql = ("SELECT id, params, state, value, metrics, attempt, step, error, reason, started, finished "
               "FROM trials WHERE job = ?")
        args: tuple[Any, ...] = (job,)
        if state is not None:
            sql += " AND state = ?"
            args += (str(TrialState(state)),)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        root = self.artifact_root(job)
        files = self.artifacts(job) if root is not None else {}
        return [TrialRecord(id=r[0], params=json.loads(r[1]), state=TrialState(r[2]), value=r[3],
                            metrics=json.loads(r[4]) if r[4] else {}, attempt=r[5], step=r[6], error=r[7],
                            reason=r[8], started=r[9], finished=r[10],
                            artifacts=[Artifact(p, n, d is not None) for p, n, d in files.get(r[0], [])],
                            artifact_dir=None if root is None else trial_location(root[0], job, r[0]))
                for r in rows]

    def reports(self, job: str, trial_id: int | None = None) -> list[tuple[int, int, int, dict[str, float]]]:
        """Intermediate reports ``(trial, attempt, step, metrics)`` in the order they were written."""
        sql = "SELECT trial, attempt, step, metrics FROM reports WHERE job = ?"
        args: tuple[Any, ...] = (job,)
        if trial_id is not None:
            sql += " AND trial = ?"
            args += (trial_id,)
        rows = self._db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [(r[0], r[1], r[2], _numbers(json.loads(r[3]))) for r in rows]

    def drop_reports(self, job: str, trial_id: int, attempt: int, after: int | None = None) -> None:
        """Forgets the reports of an attempt that will run again from the start (or from step ``after``)."""
        sql, args = "DELETE FROM reports WHERE job = ? AND trial = ? AND attempt = ?", (job, trial_id, attempt)
        if after is not None:
            sql, args = sql + " AND step > ?", (*args, after)
        self._write(sql, args)

    def carry_reports(self, job: str, trial_id: int, attempt: int, new_attempt: int, upto: int) -> None:
        """Moves an attempt's reports up to step ``upto`` to ``new_attempt`` and forgets the later ones:
        the new attempt continues from a checkpoint taken at step ``upto``."""
        self.drop_reports(job, trial_id, attempt, after=upto)
        self._write("UPDATE reports SET attempt = ? WHERE job = ? AND trial = ? AND attempt = ?",
                    (new_attempt, job, trial_id, attempt))

    # -- artifacts ----------------------------------------------------------------------------
    def set_artifact_root(self, job: str, location: str, temporary: bool) -> None:
        """Records where job ``job`` keeps its trials' files."""
        self._write("INSERT INTO artifact_roots VALUES (?, ?, ?) ON CONFLICT (job) DO UPDATE SET "
                    "location = excluded.location, temporary = excluded.temporary", (job, location, int(temporary)))

    def artifact_root(self, job: str) -> tuple[str, bool] | None:
        """``(location, temporary)`` of a job's artifact root, or None (a store older than artifacts)."""
        try:
            row = self._db.execute("SELECT location, temporary FROM artifact_roots WHERE job = ?", (job,)).fetchone()
        except sqlite3.OperationalError:  # a read-only store written before artifacts existed
            return None
        return None if row is None else (row[0], bool(row[1]))

    def set_artifacts(self, job: str, trial_id: int, files: list[tuple[str, int]]) -> None:
        """Records the files a trial left, replacing an earlier list."""
        try:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM artifacts WHERE job = ? AND trial = ?", (job, trial_id))
            self._db.executemany("INSERT INTO artifacts (job, trial, path, size) VALUES (?, ?, ?, ?)",
                                 [(job, trial_id, p, int(n)) for p, n in files])
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot write the store {self.path!r}: {exc}") from None

    def mark_artifacts_deleted(self, job: str, trial_id: int) -> None:
        """Records that a trial's files were deleted (``keep_artifacts``): listed still, as deleted."""
        self._write("UPDATE artifacts SET deleted = ? WHERE job = ? AND trial = ? AND deleted IS NULL",
                    (time.time(), job, trial_id))

    def artifacts(self, job: str) -> dict[int, list[tuple[str, int, float | None]]]:
        """``{trial: [(path, size, deleted time or None), ...]}`` for the trials of a job that left files."""
        try:
            rows = self._db.execute("SELECT trial, path, size, deleted FROM artifacts WHERE job = ? "
                                    "ORDER BY trial, path", (job,)).fetchall()
        except sqlite3.OperationalError:
            return {}
        out: dict[int, list[tuple[str, int, float | None]]] = {}
        for trial, path, size, deleted in rows:
            out.setdefault(trial, []).append((path, size, deleted))
        return out
