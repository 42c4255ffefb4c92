"""Per-trial overhead of the job loop, hpcore vs Optuna, each storage labelled by what it survives.

    python benchmarks/bench_overhead.py --trials 300 --rounds 3

An empty training function and random search (nothing but the loop and the storage is measured).
Storages, grouped by what a finished trial survives:

* nothing (in memory): hpcore ``store=None``; Optuna's in-memory storage;
* a crash of the process: hpcore ``durability="normal"`` (SQLite WAL, ``synchronous=NORMAL``);
  Optuna's RDB storage on SQLite configured the same way (WAL, NORMAL: not Optuna's default);
* an OS crash or a power cut: hpcore ``durability="full"`` (WAL, ``synchronous=FULL``: the WAL is
  synced at every commit); Optuna's RDB storage on SQLite with its defaults (rollback journal,
  ``synchronous=FULL``); Optuna's ``JournalStorage`` with ``JournalFileBackend`` (an ``fsync`` of
  the log after every append).

The SQLite settings printed are read back from the open connections, not assumed. Every round runs
every storage once, in an order rotated from round to round, so that all see the same machine load
(after an untimed warm-up run of each, which pays the imports and first-use costs);
the table gives the median time per trial and the ratio to hpcore at the same level. Files go to
``--dir`` (default: a temporary folder under the current one: put it on the disk you care about,
not a RAM disk, where a sync costs nothing). Needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import hpcore  # noqa: E402
from hpcore.store import Store  # noqa: E402

SURVIVES = {"memory": "nothing (in memory)", "process": "a process crash", "power": "an OS crash or power cut"}


def empty(params: dict[str, Any], reporter: Any) -> float:
    return 0.0


def _pragmas(db: Any) -> str:
    journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[db.execute("PRAGMA synchronous").fetchone()[0]]
    return f"journal_mode={journal}, synchronous={sync}"


def hpcore_run(durability: str | None) -> Callable[[int, str], float]:
    """hpcore's job loop; ``durability=None`` keeps the store in memory."""

    def run(trials: int, path: str) -> float:
        space = hpcore.SearchSpace({"x": hpcore.Float(0, 1), "n": hpcore.Int(1, 10),
                                    "c": hpcore.Categorical(["a", "b"])})
        t0 = time.perf_counter()
        hpcore.TuningJob(empty, space, strategy="random", max_trials=trials, seed=0, progress=False,
                         store=None if durability is None else path + ".db", durability=durability or "normal").run()
        return (time.perf_counter() - t0) / trials

    return run


def _optuna_storage(kind: str, path: str) -> Any:
    import optuna

    if kind == "memory":
        return None
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(path + ".log"))
    if kind == "sqlite":
        return optuna.storages.RDBStorage(f"sqlite:///{path}.db")

    def connect() -> sqlite3.Connection:  # WAL + NORMAL, as hpcore's durability="normal"
        db = sqlite3.connect(path + ".db", timeout=10, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    return optuna.storages.RDBStorage(f"sqlite:///{path}.db", engine_kwargs={"creator": connect})


def optuna_run(kind: str) -> Callable[[int, str], float]:
    """Optuna's ``study.optimize`` with a storage: ``memory``, ``sqlite``, ``sqlite-wal`` or ``journal``."""

    def run(trials: int, path: str) -> float:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)

        def objective(trial: Any) -> float:
            trial.suggest_float("x", 0, 1)
            trial.suggest_int("n", 1, 10)
            trial.suggest_categorical("c", ["a", "b"])
            return 0.0

        t0 = time.perf_counter()
        study = optuna.create_study(storage=_optuna_storage(kind, path), sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=trials)
        return (time.perf_counter() - t0) / trials

    return run


# (label, level, runner, is the hpcore reference of its level)
CONTENDERS = [
    ("hpcore, in memory", "memory", hpcore_run(None), True),
    ("Optuna, in memory", "memory", optuna_run("memory"), False),
    ('hpcore, SQLite, durability="normal"', "process", hpcore_run("normal"), True),
    ("Optuna, RDB SQLite set to WAL, NORMAL (not its default)", "process", optuna_run("sqlite-wal"), False),
    ('hpcore, SQLite, durability="full"', "power", hpcore_run("full"), True),
    ("Optuna, RDB SQLite, defaults", "power", optuna_run("sqlite"), False),
    ("Optuna, JournalStorage + JournalFileBackend", "power", optuna_run("journal"), False),
]


def settings(folder: str) -> dict[str, str]:
    """The SQLite settings each SQLite contender actually runs with, read from its connection."""
    out = {}
    for durability in ("normal", "full"):
        store = Store(os.path.join(folder, f"probe-{durability}.db"), durability=durability)
        out[f'hpcore, SQLite, durability="{durability}"'] = _pragmas(store._db)
        store.close()
    for kind, label in (("sqlite", CONTENDERS[5][0]), ("sqlite-wal", CONTENDERS[3][0])):
        storage = _optuna_storage(kind, os.path.join(folder, f"probe-{kind}"))
        with storage.engine.connect() as conn:
            out[label] = _pragmas(conn.connection.dbapi_connection)
    out[CONTENDERS[6][0]] = "os.fsync of the log file after every append"
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=".", help="where the store files go (a temporary folder inside it)")
    a = ap.parse_args(argv)
    times: dict[str, list[float]] = {c[0]: [] for c in CONTENDERS}
    with tempfile.TemporaryDirectory(dir=a.dir, prefix="overhead-") as folder:
        found = settings(folder)
        for i, (_, _, run, _) in enumerate(CONTENDERS):  # warm-up, not timed: imports and first-use costs
            run(10, os.path.join(folder, f"warm-{i}"))
        for r in range(a.rounds):
            shift = r % len(CONTENDERS)
            for i, (label, _, run, _) in enumerate(CONTENDERS[shift:] + CONTENDERS[:shift]):
                times[label].append(run(a.trials, os.path.join(folder, f"r{r}-{i}")))
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = {level: med[label] for label, level, _, is_ref in CONTENDERS if is_ref}
    print(f"{a.trials} trials, {a.rounds} rounds (order rotated), empty objective, random search; "
          "median time per trial")
    print()
    print("| storage | survives | settings | ms/trial | rounds min-max | vs hpcore at that level |")
    print("|---|---|---|---|---|---|")
    for label, level, _, is_ref in CONTENDERS:
        ratio = "1 (reference)" if is_ref else f"{med[label] / ref[level]:.1f}x"
        spread = f"{1000 * min(times[label]):.2f}-{1000 * max(times[label]):.2f}"
        cells = [label, SURVIVES[level], found.get(label, ""), f"{1000 * med[label]:.2f}", spread, ratio]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
