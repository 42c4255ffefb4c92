"""Which trials keep their files: the controller's side of trial artifacts.

When a trial ends the controller deletes its checkpoints (they only served to continue it), lists
the files it left into the store and applies ``keep_artifacts``: ``"all"``, ``"none"`` or a number
``N``, the best ``N`` finished trials (by objective; with several objectives the Pareto fronts in
turn, the first objective breaking ties), so that disk use stays bounded as the job runs. Files
of a trial that is still running are never deleted, and every deletion is recorded in the store,
so ``result.trials[i].artifacts`` still lists what a trial had, marked deleted.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

from hpcore.artifacts import ArtifactRoot, default_root
from hpcore.errors import ConfigError
from hpcore.objectives import Objectives
from hpcore.pareto import nondominated
from hpcore.store import Store
from hpcore.trial import TrialRecord, TrialState

__all__ = ["ArtifactKeeper", "check_keep", "rank_for_keeping"]

log = logging.getLogger("hpcore")


def check_keep(keep: Any) -> int | None:
    """``keep_artifacts`` as a number of trials (None: all).

    Raises:
        ConfigError: For anything but ``"all"``, ``"none"`` or a whole number at least 0.

    Example:
        >>> check_keep("all") is None, check_keep("none"), check_keep(3)
        (True, 0, 3)
    """
    if keep == "all" or keep is None:
        return None
    if keep == "none":
        return 0
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ConfigError(f"keep_artifacts={keep!r}: give 'all', 'none' or a number of trials (the best ones "
                          "keep their files), for example keep_artifacts=3")
    return int(keep)


def rank_for_keeping(records: list[TrialRecord], objectives: Objectives) -> list[int]:
    """Trial ids from the most to the least worth keeping.

    Feasible completed trials first, then early-stopped ones, then the rest; within each, by
    objective (several objectives: front by front, each front by its first objective).

    Example:
        >>> from hpcore.trial import TrialRecord, TrialState
        >>> rs = [TrialRecord(i, {}, TrialState.COMPLETED, v, {"loss": v}) for i, v in enumerate([0.3, 0.1, 0.2])]
        >>> rank_for_keeping(rs, Objectives("loss"))
        [1, 2, 0]
    """
    sign = objectives.signs[0]
    groups: list[list[TrialRecord]] = [[], [], []]
    for r in records:
        usable = (r.value is not None and math.isfinite(r.value) and objectives.is_feasible(r.metrics)
                  and (not objectives.several or objectives.losses(r.metrics) is not None))
        group = (0 if r.state is TrialState.COMPLETED else 1 if r.state is TrialState.STOPPED else 2) if usable else 2
        groups[group].append(r)
    out: list[int] = []
    for g, members in enumerate(groups):
        if g == 2:
            out += [r.id for r in sorted(members, key=lambda r: r.id)]
            continue
        if not objectives.several:
            out += [r.id for r in sorted(members, key=lambda r: (sign * r.value, r.id))]  # type: ignore[operator]
            continue
        rest = list(members)
        while rest:  # peel the Pareto fronts
            mask = nondominated(np.array([objectives.losses(r.metrics) for r in rest], dtype=float))
            front = [r for r, m in zip(rest, mask, strict=True) if m]
            out += [r.id for r in sorted(front, key=lambda r: (sign * r.value, r.id))]  # type: ignore[operator]
            rest = [r for r, m in zip(rest, mask, strict=True) if not m]
    return out


class ArtifactKeeper:
    """A job's artifact root, seen from the controller.

    Args:
        store: The job's store (records each trial's files and deletions).
        job: The job's name.
        location: The root given by ``TuningJob(artifacts=...)``; None: next to the store file, or
            a temporary folder for an in-memory store.
        keep: ``keep_artifacts``.
        objectives: The job's objectives (which trials are the best).

    Example:
        >>> from hpcore.store import Store
        >>> keeper = ArtifactKeeper(Store(None), "demo", None, "all", Objectives("loss"))
        >>> keeper.root.temporary
        True
    """

    def __init__(self, store: Store, job: str, location: str | None, keep: Any, objectives: Objectives) -> None:
        self.store, self.job, self.objectives = store, job, objectives
        self.keep = check_keep(keep)
        stored = store.artifact_root(job)
        if location is None and stored is not None and not stored[1]:
            location, temporary = stored  # a resumed job keeps its root
        elif location is None:
            location, temporary = default_root(store.path)
        else:
            temporary = False
        self.root = ArtifactRoot(location, temporary)
        store.set_artifact_root(job, self.root.location, temporary)
        self._warned = False

    def location(self, trial_id: int) -> str:
        """The folder (or URL) of a trial, for its :class:`~hpcore.executors.base.Task`."""
        return self.root.trial_location(self.job, trial_id)

    def checkpoint_step(self, trial_id: int) -> int | None:
        """The step of a trial's last complete checkpoint (it continues after it), or None."""
        try:
            return self.root.checkpoint_step(self.job, trial_id)
        except OSError as exc:
            log.warning("trial %d: its checkpoint cannot be read (%s); it runs from the start", trial_id, exc)
            return None

    def trial_ended(self, record: TrialRecord, finished: list[TrialRecord], running: set[int]) -> None:
        """Lists a finished trial's files into the store and deletes those that fall out of ``keep``."""
        try:
            self.root.drop_checkpoints(self.job, record.id)
            files = self.root.files(self.job, record.id)
        except OSError as exc:
            log.warning("trial %d: its files cannot be listed (%s)", record.id, exc)
            return
        if files:
            self.store.set_artifacts(self.job, record.id, [(a.path, a.size) for a in files])
            if self.root.temporary and not self._warned:
                warnings.warn(f"the job keeps its trials' files in the temporary folder {self.root.location}, "
                              "which is not kept: give store=PATH (files next to it) or artifacts=FOLDER",
                              stacklevel=4)
                self._warned = True
        if self.keep is not None:
            self._apply_keep(finished, running)

    def _apply_keep(self, finished: list[TrialRecord], running: set[int]) -> None:
        kept = self.store.artifacts(self.job)
        present = {t for t, files in kept.items() if any(d is None for _, _, d in files)}
        order = rank_for_keeping([r for r in finished if r.state.finished], self.objectives)
        for trial_id in order[self.keep:]:
            if trial_id in present and trial_id not in running:
                try:
                    self.root.remove(self.job, trial_id)
                except OSError as exc:
                    log.warning("trial %d: its files cannot be deleted (%s)", trial_id, exc)
                    continue
                self.store.mark_artifacts_deleted(self.job, trial_id)
