"""A trial's runs, seen by the controller: launching them, their reports, how they end, reruns.

The controller records every change of a running trial in the store before acting on it. A trial
runs again, from its last checkpoint where it saved one, when its worker died (``crash_retries``)
or its training code raised (``max_retries``); its reports up to the checkpoint's step are kept,
the later ones dropped, so that its curve continues without a gap or a duplicate.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hpcore import plugins
from hpcore.executors.base import Executor, Outcome, Task
from hpcore.fidelity import told_value
from hpcore.outcomes import failure_warning, objective_from
from hpcore.trial import Trial, TrialRecord, TrialState

if TYPE_CHECKING:
    from hpcore.job import TuningJob

__all__ = ["TrialRuns"]

log = logging.getLogger("hpcore")


@dataclass
class _Live:
    trial: Trial
    attempt: int
    last_step: int | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)
    stop_reason: str | None = None
    warned: bool = False
    carried: int | None = None  # continues from a checkpoint at this step: its reports so far are kept


class TrialRuns:
    """The part of :class:`~hpcore.TuningJob` that runs trials (a mixin: it uses the job's state)."""

    def _launch(self: TuningJob, executor: Executor, trial: Trial, attempt: int, carried: int | None = None) -> None:
        """Sends a trial to a worker; ``carried``: it continues from its checkpoint at that step."""
        assert self.store is not None and self.keeper is not None
        self.store.start_trial(self.name, trial.id, trial.params, attempt)
        trial.info["attempt"] = attempt
        self._live[trial.id] = _Live(trial, attempt, last_step=carried, carried=carried)
        plugins.call_hook("hpcore_trial_start", job=self, trial=trial)
        executor.submit(Task(trial.id, trial.params, attempt, artifacts=self.keeper.location(trial.id)))

    def _on_report(self: TuningJob, trial_id: int, step: int, metrics: dict[str, float]) -> bool:
        assert self.store is not None and self.stopper is not None
        self._check_deadline()
        live = self._live.get(trial_id)
        if live is None:  # a report from a trial that already ended: nothing to decide
            return True
        if live.carried is not None:
            if step <= live.carried:  # it did not load its checkpoint: it runs again from the start
                log.info("trial %d starts again at step %d, not after its checkpoint at step %d", trial_id, step,
                         live.carried)
                self.store.drop_reports(self.name, trial_id, live.attempt)
                live.last_step = None
            live.carried = None
        if live.last_step is not None and step <= live.last_step:
            if not live.warned:
                warnings.warn(f"trial {trial_id}: report at step {step} ignored, it does not follow step "
                              f"{live.last_step} (steps must grow)", stacklevel=2)
                live.warned = True
            return live.stop_reason is not None or self._hard_stop
        self.store.add_report(self.name, trial_id, live.attempt, step, metrics)
        live.last_step, live.last_metrics = step, metrics
        first = self.objectives.names[0]  # early stopping follows the first objective
        value = metrics.get(first)
        if value is not None and not math.isfinite(value):
            warnings.warn(f"trial {trial_id}: {first}={value} at step {step} is not finite; "
                          "early stopping ignores it", stacklevel=2)
        elif value is not None:
            self.fidelity.report(trial_id, step, value)
            if live.stop_reason is None:
                live.stop_reason = self.stopper.report(trial_id, step, value)
        if self._hard_stop and live.stop_reason is None:
            live.stop_reason = f"job ending: {self._ending}"
        stop = live.stop_reason is not None
        plugins.call_hook("hpcore_trial_report", job=self, trial=live.trial, step=step, metrics=metrics, stop=stop)
        return stop

    def _on_outcome(self: TuningJob, outcome: Outcome) -> tuple[Trial, int, int | None] | None:
        """Records a finished run; returns the trial again when it is to be retried."""
        assert self.store is not None and self.strategy is not None and self.stopper is not None
        live = self._live.pop(outcome.trial_id)
        value, metrics, error, retriable = None, {}, None, False
        if outcome.kind == "ok":
            value, metrics, error = objective_from(outcome.result, self.objectives, live.last_metrics)
            state = TrialState.FAILED if error else (
                TrialState.STOPPED if live.stop_reason else TrialState.COMPLETED)
        elif outcome.kind == "timeout":
            state, error = TrialState.TIMED_OUT, outcome.error or f"ran past trial_timeout={self.trial_timeout}s"
        else:
            state, error, retriable = TrialState.FAILED, outcome.error, True
        if state is TrialState.FAILED and retriable:
            rerun = self._rerun(live, outcome.kind, error)
            if rerun is not None:
                return rerun
        reason = live.stop_reason if state is TrialState.STOPPED else None
        self.store.finish_trial(self.name, live.trial.id, state, value, metrics, error, reason, live.last_step)
        self.stopper.finish(live.trial.id, state, value)
        self.fidelity.finish(live.trial.id, state)
        told = told_value(self.fidelity, self.objectives, live.trial.id, state, live.last_step, value, metrics)
        self.strategy.tell(live.trial, told, state, metrics)  # a stopped trial at its estimated final value
        record = TrialRecord(live.trial.id, live.trial.params, state, value, metrics, live.attempt,
                             live.last_step, error, reason, outcome.started, outcome.finished)
        self._records[record.id] = record
        warning = failure_warning(record, first=self._failures == 0)
        if warning is not None:
            self._failures += 1
            log.warning(warning)
        assert self.keeper is not None
        self.keeper.trial_ended(record, self.finished_records(), set(self._live))
        plugins.call_hook("hpcore_trial_finish", job=self, trial=live.trial, record=record)
        if self._fail_fast.note(record):
            self._end(f"{self.fail_fast} trials in a row failed with the same error")
        self._check_criteria()
        return None

    def _rerun(self: TuningJob, live: _Live, kind: str, error: str | None) -> tuple[Trial, int, int | None] | None:
        """The trial again, from its last checkpoint, if its retries allow: ``crash_retries`` for a
        dead worker, ``max_retries`` for an error of the training code."""
        assert self.store is not None and self.keeper is not None
        cause = "crash" if kind == "crash" else "error"
        limit = self.crash_retries if cause == "crash" else self.max_retries
        done = self._reruns.get((live.trial.id, cause), 0)
        if done >= limit:
            return None
        self._reruns[(live.trial.id, cause)] = done + 1
        carried = self.keeper.checkpoint_step(live.trial.id)
        what = "its worker died" if cause == "crash" else "failed"
        log.warning("trial %d %s (%s %d of %d), running it again%s: %s", live.trial.id, what,
                    "crash_retries" if cause == "crash" else "max_retries", done + 1, limit,
                    "" if carried is None else f" from its checkpoint at step {carried}",
                    (error or "").strip().splitlines()[-1:])
        if carried is None:
            self.store.drop_reports(self.name, live.trial.id, live.attempt)
        else:
            self.store.carry_reports(self.name, live.trial.id, live.attempt, live.attempt + 1, carried)
        return live.trial, live.attempt + 1, carried
