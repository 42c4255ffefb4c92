"""The result of a tuning job: every trial, the best one, and a table of them."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from typing import Any

from hpcore.trial import TrialRecord, TrialState

__all__ = ["TuningResult", "best_of"]


def best_of(records: list[TrialRecord], direction: str) -> TrialRecord | None:
    """The best completed trial (or, if none completed, the best early-stopped one)."""
    sign = 1.0 if direction == "minimize" else -1.0
    for states in ((TrialState.COMPLETED,), (TrialState.STOPPED,)):
        done = [r for r in records if r.state in states and r.value is not None and math.isfinite(r.value)]
        if done:
            return min(done, key=lambda r: (sign * r.value, r.id))  # type: ignore[operator]
    return None


@dataclass
class TuningResult:
    """What a job found.

    Attributes:
        trials: Every trial of the job, by id.
        objective: The objective metric's name.
        direction: ``minimize`` or ``maximize``.
        name: The job's name in its store.
        store: The store's path (None for an in-memory store).
        end_reason: Why the job ended (budget used, target reached, runtime, ...).

    Example:
        >>> from hpcore.trial import TrialRecord, TrialState
        >>> r = TuningResult([TrialRecord(0, {"x": 1}, TrialState.COMPLETED, 0.5),
        ...                   TrialRecord(1, {"x": 2}, TrialState.COMPLETED, 0.2)], "loss", "minimize")
        >>> r.best.params
        {'x': 2}
    """

    trials: list[TrialRecord]
    objective: str
    direction: str
    name: str = "default"
    store: str | None = None
    end_reason: str = ""
    diagnostics: list[str] = field(default_factory=list)

    @property
    def best(self) -> TrialRecord | None:
        """The best trial (``.params``, ``.value``, ``.id``), or None if no trial produced an objective."""
        return best_of(self.trials, self.direction)

    def counts(self) -> dict[str, int]:
        """Number of trials per state."""
        out: dict[str, int] = {}
        for r in self.trials:
            out[str(r.state)] = out.get(str(r.state), 0) + 1
        return out

    def rows(self, state: str | None = None) -> list[dict[str, Any]]:
        """One flat dict per trial (see :meth:`TrialRecord.to_row`), optionally of one state."""
        return [r.to_row() for r in self.trials if state is None or str(r.state) == state]

    def dataframe(self, state: str | None = None) -> Any:
        """A pandas DataFrame of the trials (a list of dicts when pandas is not installed)."""
        rows = self.rows(state)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    def to_csv(self, path: str, state: str | None = None) -> None:
        """Writes the trial table to a CSV file."""
        rows = self.rows(state)
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def summary(self) -> str:
        """A short text summary: counts, best value and parameters."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items()))
        lines = [f"job {self.name!r}: {len(self.trials)} trials ({counts or 'none'})"]
        if self.end_reason:
            lines.append(f"ended: {self.end_reason}")
        best = self.best
        if best is None:
            lines.append("no trial produced an objective")
        else:
            lines.append(f"best: trial {best.id}, {self.objective} = {best.value:.6g} ({self.direction})")
            for k, v in best.params.items():
                lines.append(f"  {k} = {v:.6g}" if isinstance(v, float) else f"  {k} = {v!r}")
        return "\n".join(lines)
