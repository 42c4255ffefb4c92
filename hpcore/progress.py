"""A live progress display, as a plugin on the lifecycle hooks: tqdm when installed, else lines."""

from __future__ import annotations

import sys
from typing import Any

from hpcore.hookspec import hookimpl
from hpcore.objectives import Objectives
from hpcore.results import TuningResult, best_of
from hpcore.trial import TrialRecord

__all__ = ["Progress"]


class Progress:
    """Shows trials done, the best objective so far and the states, on stderr.

    Example:
        >>> p = Progress(total=10, objective="loss", direction="minimize", stream=None)
        >>> p.line()
        '0/10 trials'
    """

    def __init__(self, total: int, objective: str | list[str], direction: str | list[str],
                 stream: Any = "stderr", constraints: list[str] | None = None) -> None:
        self.total = total
        self.goal = Objectives(objective, direction, constraints)
        self.objective, self.direction = self.goal.names[0], self.goal.directions[0]
        self.stream = sys.stderr if stream == "stderr" else stream
        self.done: list[TrialRecord] = []
        self._bar = None
        if self.stream is not None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc="tuning", unit="trial", file=self.stream, dynamic_ncols=True)

    def line(self) -> str:
        text = f"{len(self.done)}/{self.total} trials"
        best = self._best()
        if best is not None:
            text += f", best {self.objective}={best.value:.5g} (trial {best.id})"
        elif self.goal.several:
            text += f", Pareto front {self._front()}"
        return text

    def _best(self) -> TrialRecord | None:
        return None if self.goal.several else best_of(self.done, self.direction, self.goal.constraints)

    def _front(self) -> int:
        result = TuningResult(self.done, self.goal.objective, self.goal.direction,
                              constraints=[str(c) for c in self.goal.constraints])
        return len(result.pareto_front())

    @hookimpl
    def hpcore_job_start(self, job: Any) -> None:
        self.done = list(job.finished_records())
        if self._bar is not None:
            self._bar.update(len(self.done))

    @hookimpl
    def hpcore_trial_finish(self, job: Any, trial: Any, record: TrialRecord) -> None:
        self.done.append(record)
        best = self._best()
        if self._bar is not None:
            self._bar.update(1)
            if best is not None:
                self._bar.set_postfix_str(f"best {self.objective}={best.value:.5g}", refresh=True)
            elif self.goal.several:
                self._bar.set_postfix_str(f"Pareto front {self._front()}", refresh=True)
        elif self.stream is not None:
            value = "-" if record.value is None else f"{record.value:.5g}"
            print(f"[hpcore] trial {record.id} {record.state} {self.objective}={value} | {self.line()}",
                  file=self.stream, flush=True)

    @hookimpl
    def hpcore_job_finish(self, job: Any, result: Any) -> None:
        if self._bar is not None:
            self._bar.close()
