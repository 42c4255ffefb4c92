"""A live progress display, as a plugin on the lifecycle hooks: tqdm when installed, else lines."""

from __future__ import annotations

import logging
import sys
from typing import Any

from hpcore.hookspec import hookimpl
from hpcore.objectives import Objectives
from hpcore.results import TuningResult, best_of
from hpcore.trial import TrialRecord, TrialState

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
        self._bar: Any = None
        self._handler: logging.Handler | None = None
        if self.stream is not None:
            tqdm = _bar_class()
            if tqdm is not None:
                self._bar = tqdm(total=total, desc="tuning", unit="trial", file=self.stream, dynamic_ncols=True)

    def line(self) -> str:
        text = f"{len(self.done)}/{self.total} trials"
        if self.failed():
            text += f", {self.failed()} failed"
        best = self._best()
        if best is not None:
            text += f", best {self.objective}={best.value:.5g} (trial {best.id})"
        elif self.goal.several:
            text += f", Pareto front {self._front()}"
        return text

    def failed(self) -> int:
        """Trials shown so far that failed or timed out."""
        return sum(r.state in (TrialState.FAILED, TrialState.TIMED_OUT) for r in self.done)

    def _postfix(self) -> str:
        best = self._best()
        parts = [f"{self.failed()} failed"] if self.failed() else []
        if best is not None:
            parts.append(f"best {self.objective}={best.value:.5g}")
        elif self.goal.several:
            parts.append(f"Pareto front {self._front()}")
        return ", ".join(parts)

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
            # With no logging set up, a warning would go to stderr through the bar's line: put it above.
            hp = logging.getLogger("hpcore")
            if not logging.getLogger().handlers and not hp.handlers:
                self._handler = _BarHandler(self._bar)
                hp.addHandler(self._handler)

    @hookimpl
    def hpcore_trial_finish(self, job: Any, trial: Any, record: TrialRecord) -> None:
        self.done.append(record)
        if self._bar is not None:
            self._bar.update(1)
            postfix = self._postfix()
            if postfix:
                self._bar.set_postfix_str(postfix, refresh=True)
        elif self.stream is not None:
            value = "-" if record.value is None else f"{record.value:.5g}"
            print(f"[hpcore] trial {record.id} {record.state} {self.objective}={value} | {self.line()}",
                  file=self.stream, flush=True)

    def close(self) -> None:
        """Ends the bar (the job ended, or raised)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._handler is not None:
            logging.getLogger("hpcore").removeHandler(self._handler)
            self._handler = None

    def end(self, result: TuningResult) -> None:
        """Closes the bar and, when trials failed, prints the job's counts by state and where the errors are."""
        self.close()
        if self.stream is not None and self.failed():
            got = result.counts()
            counts = ", ".join(f"{got[str(state)]} {state}" for state in TrialState if got.get(str(state)))
            print(f"[hpcore] job {result.name!r}: {len(result.trials)} trials ({counts}); the errors: "
                  "result.trials[i].error, or `hpcore status STORE --trial N`", file=self.stream, flush=True)


def _bar_class() -> Any:
    """tqdm's widget bar in a notebook with ipywidgets, its text bar elsewhere (and in a notebook
    without ipywidgets, where ``tqdm.auto`` would warn), None without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if "ipykernel" in sys.modules:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return tqdm
        from tqdm.notebook import tqdm as widget_bar

        return widget_bar
    return tqdm


class _BarHandler(logging.Handler):
    """Writes hpcore's warnings above a live bar instead of through it."""

    def __init__(self, bar: Any) -> None:
        super().__init__(logging.WARNING)
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bar.write(f"[hpcore] {self.format(record)}", file=self.bar.fp)
        except Exception:  # a broken stream must not fail the job
            self.handleError(record)
