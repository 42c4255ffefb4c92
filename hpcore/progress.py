"""A live progress display, as a plugin on the lifecycle hooks: tqdm when installed, else lines."""

from __future__ import annotations

import sys
from typing import Any

from hpcore.hookspec import hookimpl
from hpcore.results import best_of
from hpcore.trial import TrialRecord

__all__ = ["Progress"]


class Progress:
    """Shows trials done, the best objective so far and the states, on stderr.

    Example:
        >>> p = Progress(total=10, objective="loss", direction="minimize", stream=None)
        >>> p.line()
        '0/10 trials'
    """

    def __init__(self, total: int, objective: str, direction: str, stream: Any = "stderr") -> None:
        self.total, self.objective, self.direction = total, objective, direction
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
        best = best_of(self.done, self.direction)
        if best is not None:
            text += f", best {self.objective}={best.value:.5g} (trial {best.id})"
        return text

    @hookimpl
    def hpcore_job_start(self, job: Any) -> None:
        self.done = list(job.finished_records())
        if self._bar is not None:
            self._bar.update(len(self.done))

    @hookimpl
    def hpcore_trial_finish(self, job: Any, trial: Any, record: TrialRecord) -> None:
        self.done.append(record)
        best = best_of(self.done, self.direction)
        if self._bar is not None:
            self._bar.update(1)
            if best is not None:
                self._bar.set_postfix_str(f"best {self.objective}={best.value:.5g}", refresh=True)
        elif self.stream is not None:
            value = "-" if record.value is None else f"{record.value:.5g}"
            print(f"[hpcore] trial {record.id} {record.state} {self.objective}={value} | {self.line()}",
                  file=self.stream, flush=True)

    @hookimpl
    def hpcore_job_finish(self, job: Any, result: Any) -> None:
        if self._bar is not None:
            self._bar.close()
