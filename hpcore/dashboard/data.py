"""What the dashboard shows, as JSON: the jobs of a store, and one job's trials, curves and importance.

Everything is read from the store opened read-only (safe while a job writes it), each time the page
asks; only the importance, the one costly part, is kept until another trial finishes.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from hpcore.outcomes import error_line
from hpcore.results import TuningResult, job_status
from hpcore.store import Store
from hpcore.trial import TrialState

__all__ = ["JobData"]


def _num(v: Any) -> Any:
    """A JSON-safe number (NaN and infinities become None)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class JobData:
    """Reads a store for the dashboard.

    Args:
        store: The SQLite file of one or more jobs.

    Example:
        >>> import hpcore, os, tempfile
        >>> db = os.path.join(tempfile.mkdtemp(), "t.db")
        >>> _ = hpcore.TuningJob(lambda p: p["x"] ** 2, {"x": hpcore.Float(-1.0, 1.0)}, strategy="random",
        ...                      max_trials=3, store=db, progress=False).run()
        >>> data = JobData(db)
        >>> [j["name"] for j in data.jobs()], len(data.job("default")["trials"])
        (['default'], 3)
    """

    def __init__(self, store: str) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._importance: dict[str, tuple[int, dict[str, float] | None]] = {}

    def jobs(self) -> list[dict[str, Any]]:
        """Every job of the store: its name, status and trials per state."""
        store = Store(self.store, read_only=True)
        try:
            out = []
            for j in store.jobs():
                counts: dict[str, int] = {}
                for t in store.trials(j["name"]):
                    counts[str(t.state)] = counts.get(str(t.state), 0) + 1
                out.append({"name": j["name"], "status": j["status"], "counts": counts, "updated": j["updated"]})
            return out
        finally:
            store.close()

    def job(self, name: str | None = None) -> dict[str, Any]:
        """One job: its setup, summary, trials (with their errors), curves and importance."""
        result = TuningResult.from_store(self.store, name)
        goal = result.objectives
        best = None if goal.several else result.best_or_none
        trials = []
        for r in result.trials:
            duration = (r.finished - r.started) if r.finished and r.started else None
            trials.append({
                "id": r.id, "state": str(r.state), "value": _num(r.value), "step": r.step,
                "params": {k: _num(v) for k, v in r.params.items()},
                "metrics": {k: _num(v) for k, v in (r.metrics or {}).items()},
                "reason": r.reason, "error": error_line(r.error) if r.error else None, "traceback": r.error,
                "started": r.started, "duration": _num(duration), "attempt": r.attempt,
                "artifacts": [{"path": a.path, "size": a.size, "deleted": a.deleted} for a in r.artifacts],
            })
        curves = {str(tid): [[step, _num(m.get(goal.names[0]))] for step, m in points if goal.names[0] in m]
                  for tid, points in (result.curves or {}).items()}
        return {
            "name": result.name, "status": job_status(result), "objective": goal.names,
            "direction": goal.directions, "constraints": result.constraints,
            "strategy": result.setup.get("strategy"), "early_stopping": result.setup.get("early_stopping"),
            "seed": result.setup.get("seed"), "hpcore": result.setup.get("hpcore"),
            "params": result.param_names(), "counts": result.counts(),
            "best": None if best is None else best.id, "trials": trials, "curves": curves,
            "importance": self._importance_of(result),
        }

    def _importance_of(self, result: TuningResult) -> dict[str, float] | None:
        done = sum(r.state in (TrialState.COMPLETED, TrialState.STOPPED) for r in result.trials)
        with self._lock:
            cached = self._importance.get(result.name)
            if cached is not None and cached[0] == done:
                return cached[1]
        value: dict[str, float] | None = None
        if done >= 4 and result.space is not None:
            try:
                from hpcore.plot import importance_values  # numpy only: matplotlib is imported to draw

                value = importance_values(result)
            except Exception:  # the importance is a view: a job it cannot estimate still shows
                value = None
        with self._lock:
            self._importance[result.name] = (done, value)
        return value
