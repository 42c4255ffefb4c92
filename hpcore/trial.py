"""Trials: one configuration run once (or a few times, with retries), and its states."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from hpcore.artifacts import Artifact

__all__ = ["Trial", "TrialRecord", "TrialState"]


class TrialState(str, enum.Enum):
    """The state of a trial, as stored and shown.

    ``running`` while it trains; then one terminal state: ``completed`` (it returned an objective),
    ``stopped`` (early-stopped: its last reported objective counts), ``failed`` (it raised, returned
    no usable objective, or its worker died) or ``timed_out`` (it ran past the trial timeout).
    """

    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def finished(self) -> bool:
        return self is not TrialState.RUNNING

    def __str__(self) -> str:
        return self.value


@dataclass(eq=False)
class Trial:
    """A configuration proposed by a strategy.

    Args:
        id: Number of the trial within its job or tuner, from 0.
        params: Hyperparameter values, keyed by name.

    Example:
        >>> t = Trial(0, {"lr": 0.01})
        >>> t.id, t.params["lr"]
        (0, 0.01)
    """

    id: int
    params: dict[str, Any]
    state: TrialState = TrialState.RUNNING
    value: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialRecord:
    """Everything known about one trial of a job, as read back from the store.

    Example:
        >>> r = TrialRecord(id=3, params={"lr": 0.1}, state=TrialState.COMPLETED, value=0.9)
        >>> r.to_row()["lr"]
        0.1
    """

    id: int
    params: dict[str, Any]
    state: TrialState
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    step: int | None = None
    error: str | None = None
    reason: str | None = None
    started: float | None = None
    finished: float | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    artifact_dir: str | None = None

    def load_model(self, model_class: Any = None) -> Any:
        """The model this trial saved (``reporter.save_model`` or a framework callback), ready to predict.

        Args:
            model_class: A ``LightningModule`` subclass to rebuild a Lightning checkpoint with, when
                the class recorded at saving (``module:qualname``) cannot be imported here (a class
                defined in ``__main__`` or a notebook); other formats need none.

        Raises:
            ModelNotFound: When the trial saved no model, or its files were deleted (``keep_artifacts``).
        """
        from hpcore.models import ModelNotFound, load_model

        if self.artifact_dir is None:
            raise ModelNotFound(f"trial {self.id} has no artifact folder: read the result from its store "
                                "(TuningResult.from_store) or from the job that ran it")
        if self.artifacts and all(a.deleted for a in self.artifacts):
            raise ModelNotFound(f"trial {self.id}'s files were deleted by keep_artifacts (it was not among the "
                                "trials to keep); raise keep_artifacts to keep more trials' models")
        return load_model(self.artifact_dir, model_class, trial=f"trial {self.id}")

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def to_row(self) -> dict[str, Any]:
        """A flat dict: trial fields, then parameters, then final metrics (prefixed ``metric_``)."""
        row: dict[str, Any] = {
            "trial": self.id,
            "state": str(self.state),
            "value": self.value,
            "step": self.step,
            "retries": self.attempt,
            "started": self.started,
            "duration": self.duration,
        }
        row.update(self.params)
        row.update({f"metric_{k}": v for k, v in self.metrics.items()})
        row["reason"] = self.reason
        row["error"] = (self.error or "").strip().splitlines()[-1] if self.error else None
        return row
