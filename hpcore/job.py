"""Tuning jobs: the controller loop that asks, runs, records and tells.

One controller, one source of truth: the job alone writes its store, and records every change of a
trial's state before acting on it, so that a crash of a worker loses at most that trial's progress
and a crash of the controller resumes from the store (finished trials kept, interrupted trials run
again with the same parameters, none duplicated).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hpcore import plugins
from hpcore._lease import Lease
from hpcore._trialruns import TrialRuns, _Live
from hpcore.enqueued import check_enqueue, still_to_run
from hpcore.errors import ConfigError, SearchExhausted, TrialsFailed
from hpcore.executors._interrupts import sigterm_interrupts
from hpcore.executors.base import Executor, describe
from hpcore.fidelity import FinalEstimate
from hpcore.jobcheck import check_plugins, check_settings
from hpcore.keeping import ArtifactKeeper
from hpcore.objectives import Objectives
from hpcore.outcomes import FailFast, completion_reasons
from hpcore.progress import Progress
from hpcore.results import TuningResult
from hpcore.resume import open_job, replay
from hpcore.space import SearchSpace
from hpcore.stopping import NoStopper, Stopper, create_stopper
from hpcore.store import Store
from hpcore.strategies import Strategy, create_tuner
from hpcore.trial import Trial, TrialRecord
from hpcore.warmstart import warm_start

__all__ = ["TuningJob", "TuningResult"]

log = logging.getLogger("hpcore")


class TuningJob(TrialRuns):
    """Tunes ``train`` over ``space``: runs trials, early-stops poor ones, records everything.

    Args:
        train: ``train(params, reporter)`` (or ``train(params)``) returning the objective as a
            number, a dict of metrics holding ``objective``, or None when it reported the objective
            through ``reporter.report(step, **metrics)``.
        space: The search space (or its plain-dict form).
        objective: Name of the metric to optimise; a list of names for several objectives (the
            result is then a Pareto front: :meth:`TuningResult.pareto_front`).
        direction: ``"minimize"`` or ``"maximize"``; a list, one per objective, with several.
        constraints: ``"METRIC OP NUMBER"`` strings (OP one of ``<=``, ``<``, ``>=``, ``>``), such as
            ``"latency_ms <= 5"``: a trial whose metric breaks one is kept, marked infeasible and
            never the best. The metric comes from what the training function returns or reports.
        strategy: A registered strategy: ``bayesian`` (default), ``random``, ``grid``, ``hyperband``...
        max_trials: Number of distinct trials (retries do not count).
        max_parallel: Trials running at once.
        max_runtime: Seconds after which no trial starts and running ones are asked to stop.
        target: Stop once a feasible trial reaches this objective value (or better); one objective only.
        max_trials_without_improvement: Stop after this many finished trials in a row that did not
            improve the best value by more than ``min_improvement`` (relative).
        min_improvement: Relative improvement that counts for the criterion above (0.01 = 1%).
        complete_on_convergence: Stop when the strategy reports convergence.
        max_retries: Times a trial whose training code raised is run again with the same parameters.
        crash_retries: Times a trial whose worker died (a killed worker process, a lost Dask
            worker: not an error of the training code) is run again, from its last checkpoint;
            counted apart from ``max_retries``.
        fail_fast: Stop the job when this many trials in a row, and every trial of this run so far,
            failed with the same error (a typo in the training function, a missing file): ``run()``
            then raises :class:`~hpcore.errors.TrialsFailed` with that error and the job is recorded
            as ``failed``; fix it and run the job again to resume. None turns the check off.
        trial_timeout: Seconds a trial may run before it is recorded as ``timed_out``.
        early_stopping: A registered stopper: ``none`` (default), ``median``, ``asha``...
        executor: ``inprocess`` (default when ``max_parallel == 1``), ``process`` (default otherwise),
            another registered executor, or an :class:`~hpcore.executors.base.Executor` instance.
        store: A SQLite file path; running the same job on the same store resumes it. None keeps
            the records in memory only.
        artifacts: Where trials keep their files, models and checkpoints (a folder, or an fsspec
            URL for trials on other hosts); by default next to the store (``tuning.artifacts`` for
            ``tuning.db``), or a temporary folder for an in-memory store. See ``docs/artifacts.md``.
        keep_artifacts: ``"all"`` (default), ``"none"``, or a number: only the best that many
            finished trials keep their files, the others' are deleted as the job runs.
        name: The job's name inside its store (one store can hold several jobs).
        seed: Makes the sequence of trials reproducible.
        progress: Show a live progress bar (tqdm when installed) on stderr.
        strategy_options: Extra options of the strategy.
        stopper_options: Extra options of the stopper.
        executor_options: Extra options of the executor (``threads``, ``start_method``...).
        warm_start: Earlier jobs to learn from: store paths (job ``default``), ``"path::name"``
            strings, ``(path, name)`` pairs or :class:`TuningResult` objects.
        warm_start_type: ``identical`` (same data and algorithm: their trials are observations of
            this job's strategy, without counting against ``max_trials``) or ``transfer`` (they
            inform the strategy's model only; needs a strategy with ``transfer``, such as bayesian).
        resume: When the store holds this job already: ``auto`` resumes it if it was made with the
            same space, objective, direction, training function, strategy and seed (else refuses,
            naming the differences); ``continue`` also after a change of training function,
            strategy or seed (its results kept); ``never`` refuses. One controller runs a job at
            a time: a second one refuses, naming the first one's PID and host.
        durability: ``normal`` survives a crash of the process (an OS crash or power cut may lose
            the last writes, which then run again; the file stays sound); ``full`` writes each
            change through to the disk before going on, and survives those too, at an fsync each.
        enqueue: Configurations to run first, in order (known-good settings; a partial one gets the
            other parameters from the strategy). They count toward ``max_trials``, the strategy
            learns from them, and a resumed job does not run them again. See :meth:`enqueue`.
        try_defaults: Run the space's defaults as the first trial.

    Raises:
        ConfigError: For an invalid argument, naming it.
        PluginError: For an unknown strategy, stopper or executor, listing the registered ones.

    Example:
        >>> import hpcore
        >>> def train(params, reporter):
        ...     for epoch in range(1, 4):
        ...         loss = (params["lr"] - 0.01) ** 2 / epoch
        ...         if reporter.report(epoch, loss=loss):
        ...             break
        ...     return {"loss": loss}
        >>> space = hpcore.SearchSpace({"lr": hpcore.Float(1e-4, 1e-1, scale="log")})
        >>> job = hpcore.TuningJob(train, space, objective="loss", strategy="random",
        ...                        max_trials=5, seed=1, progress=False)
        >>> result = job.run()
        >>> result.best.value < 1e-2
        True
    """

    def __init__(self, train: Callable[..., Any], space: SearchSpace | dict[str, Any],
                 objective: str | list[str] = "objective", direction: str | list[str] = "minimize",
                 strategy: str = "bayesian", *, constraints: list[str] | None = None, max_trials: int = 20,
                 max_parallel: int = 1, max_runtime: float | None = None, target: float | None = None,
                 max_trials_without_improvement: int | None = None, min_improvement: float = 0.0,
                 complete_on_convergence: bool = False, max_retries: int = 0, crash_retries: int = 3,
                 fail_fast: int | None = 3, trial_timeout: float | None = None,
                 early_stopping: str = "none", executor: str | Executor | None = None, store: str | None = None,
                 artifacts: str | None = None, keep_artifacts: int | str = "all",
                 name: str = "default", seed: int | None = None, progress: bool = True,
                 strategy_options: dict[str, Any] | None = None, stopper_options: dict[str, Any] | None = None,
                 executor_options: dict[str, Any] | None = None, warm_start: Any = None,
                 warm_start_type: str = "identical", resume: str = "auto",
                 durability: str = "normal", enqueue: list[dict[str, Any]] | None = None,
                 try_defaults: bool = False) -> None:
        if not callable(train):
            raise ConfigError(f"train={train!r} is not callable; pass a function train(params, reporter)")
        if not isinstance(objective, (str, list, tuple)) or not objective:
            raise ConfigError(f"objective={objective!r}: give the name of the metric to optimise")
        self.train = train
        self.space = space if isinstance(space, SearchSpace) else SearchSpace(space)
        self.objectives = Objectives(list(objective) if isinstance(objective, tuple) else objective,
                                     list(direction) if isinstance(direction, tuple) else direction, constraints)
        self.objective, self.direction = self.objectives.objective, self.objectives.direction
        self.constraints = [str(c) for c in self.objectives.constraints]
        self.strategy_name = strategy
        self.max_trials, self.max_parallel = max_trials, max_parallel
        self.max_runtime, self.target = max_runtime, target
        self.max_trials_without_improvement = max_trials_without_improvement
        self.min_improvement = min_improvement
        self.complete_on_convergence = complete_on_convergence
        self.max_retries, self.crash_retries, self.trial_timeout = max_retries, crash_retries, trial_timeout
        self.artifacts, self.keep_artifacts = artifacts, keep_artifacts
        self.early_stopping = early_stopping
        self.store_path, self.name, self.seed, self.progress = store, name, seed, progress
        self.strategy_options = dict(strategy_options or {})
        self.stopper_options = dict(stopper_options or {})
        self.executor_options = dict(executor_options or {})
        self._executor_arg = executor
        self.resume, self.durability, self.fail_fast = resume, durability, fail_fast
        self._lease: Lease | None = None
        # A list holds several parents; anything else (path, (path, name), result) is one parent.
        self.warm_start = list(warm_start) if isinstance(warm_start, list) else ([warm_start] if warm_start else [])
        self.warm_start_type = warm_start_type
        if not isinstance(try_defaults, bool):
            raise ConfigError(f"try_defaults={try_defaults!r}: use True (run the space's defaults first) or False")
        self.try_defaults = try_defaults
        self.enqueued = check_enqueue(self.space, enqueue)
        check_settings(self)  # before anything is written to the store
        check_plugins(self)
        check_space = getattr(train, "check_space", None)
        if callable(check_space):  # a trainer that passes the parameters on by name (CommandTrainer)
            check_space(self.space)
        self.strategy: Strategy | None = None
        self.stopper: Stopper | None = None
        self.fidelity = FinalEstimate()
        self.store: Store | None = None
        self.keeper: ArtifactKeeper | None = None
        self._reruns: dict[tuple[int, str], int] = {}
        self._live: dict[int, _Live] = {}
        self._records: dict[int, TrialRecord] = {}
        self._ending: str | None = None
        self._hard_stop = False
        self._deadline: float | None = None
        self._fail_fast = FailFast(self.fail_fast)
        self._failures = 0  # failed or timed-out trials of this run, for their warnings

    # -- setup ----------------------------------------------------------------------------------
    def _executor_name(self) -> str:
        """The registered executor the job uses when it is not given an Executor instance."""
        return self._executor_arg or ("inprocess" if self.max_parallel == 1 else "process")  # type: ignore[return-value]

    def config(self) -> dict[str, Any]:
        """What identifies this job in its store (a resumed job must match it), and what it was made
        with (the stopper, hpcore's version: for reports, never compared)."""
        from hpcore import __version__

        return {"space": self.space.to_dict(), **self.objectives.config(),
                "strategy": self.strategy_name, "seed": self.seed, "train": describe(self.train),
                "early_stopping": self.early_stopping, "hpcore": __version__}

    def _open(self) -> None:
        self.store = Store(self.store_path, durability=self.durability)
        self._lease = None if self.store_path is None else Lease(self.store_path, self.name)
        try:
            if self._lease is not None:
                self._lease.acquire()  # before anything of the job is written or read
            open_job(self.store, self.name, self.space, self.config(), self.resume)
            self.keeper = ArtifactKeeper(self.store, self.name, self.artifacts, self.keep_artifacts, self.objectives)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        """Gives back the job's lease (its store stays open for the result)."""
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def _make_executor(self) -> Executor:
        ex = self._executor_arg
        if isinstance(ex, Executor):
            return ex
        name = self._executor_name()
        factory = plugins.lookup("executors", name)
        return factory(max_parallel=self.max_parallel, trial_timeout=self.trial_timeout, **self.executor_options)

    def _make_stopper(self, strategy: Strategy) -> Stopper:
        make = getattr(strategy, "make_stopper", None)
        if self.early_stopping != "none":
            if callable(make):
                warnings.warn(f"early_stopping={self.early_stopping!r} replaces the {self.strategy_name} strategy's "
                              "own stopping rule (its brackets); use early_stopping='none' to keep it", stacklevel=3)
            return create_stopper(self.early_stopping, self.objectives.directions[0], **self.stopper_options)
        return make() if callable(make) else NoStopper(self.objectives.directions[0])

    def finished_records(self) -> list[TrialRecord]:
        """Records of the trials that have ended, so far."""
        return [self._records[k] for k in sorted(self._records)]

    # -- the loop -------------------------------------------------------------------------------
    def enqueue(self, params: dict[str, Any]) -> None:
        """Runs ``params`` (a whole or partial configuration) as one of the next trials; see ``enqueue=``.

        Raises:
            SearchSpaceError: For an unknown parameter (naming the closest one) or a value out of range.

        Example:
            >>> import hpcore
            >>> job = hpcore.TuningJob(lambda p: {"loss": (p["lr"] - 0.01) ** 2}, {"lr": hpcore.Float(1e-4, 0.1)},
            ...                        objective="loss", strategy="random", max_trials=3, progress=False)
            >>> job.enqueue({"lr": 0.01})
            >>> job.run().trials[0].params
            {'lr': 0.01}
        """
        self.enqueued += check_enqueue(self.space, [params])

    def run(self, more: int | None = None) -> TuningResult:
        """Runs (or resumes) the job until a completion criterion holds; returns the result.

        Args:
            more: Run this many trials beyond those the store holds already (instead of up to
                ``max_trials`` in all): ``job.run(more=10)`` extends a finished job by 10 trials.

        Raises:
            StoreError: When the store cannot be written, or holds this job with another setup.
            KeyboardInterrupt: On Ctrl-C or SIGTERM (any executor), after recording the job as interrupted.
        """
        if more is not None and (isinstance(more, bool) or not isinstance(more, int) or more < 1):
            raise ConfigError(f"more={more!r}: give the number of trials to add, a positive integer")
        restore = sigterm_interrupts()
        try:
            return self._run(more)
        finally:
            restore()

    def _run(self, more: int | None = None) -> TuningResult:
        self._open()
        assert self.store is not None
        self.strategy = create_tuner(self.strategy_name, self.space, self.direction, self.seed, self.constraints,
                                     **self.strategy_options)
        self.stopper = self._make_stopper(self.strategy)
        self.fidelity = FinalEstimate()
        self._records, self._live, self._ending, self._hard_stop = {}, {}, None, False
        if self.warm_start:  # first, as when the job started: the strategy sees results in the same order
            warm_start(self.strategy, self.strategy_name, self.warm_start, self.warm_start_type, self.objectives)
        assert self.keeper is not None
        finished, interrupted = replay(self.store, self.name, self.space, self.objectives, self.strategy,
                                       self.stopper, self.keeper.checkpoint_step, self.fidelity)
        self._records, self._reruns = {r.id: r for r in finished}, {}
        queue = [(Trial(r.id, r.params), r.attempt, carried) for r, carried in interrupted]
        if more is not None:
            self.max_trials = len(finished) + len(interrupted) + more
        first = ([self.space.defaults()] if self.try_defaults else []) + self.enqueued
        for params in still_to_run(first, [r.params for r in finished] + [r.params for r, _ in interrupted]):
            self.strategy.enqueue(params)
        executor = self._make_executor()
        progress = (Progress(self.max_trials, self.objective, self.direction, constraints=self.constraints)
                    if self.progress else None)
        if progress is not None:
            plugins.register(progress, name=f"hpcore-progress-{id(progress)}")
        self._deadline = None if self.max_runtime is None else time.monotonic() + self.max_runtime
        status = "interrupted"
        self._fail_fast = FailFast(self.fail_fast)  # counts this run's trials only: a resume starts afresh
        self._failures = 0
        try:
            executor.start(self.train, self._on_report)
            plugins.call_hook("hpcore_job_start", job=self)
            self._check_criteria()
            while True:
                if self._lease is not None:
                    self._lease.check()
                self._check_deadline()
                while executor.free_slots() > 0:
                    item = queue.pop(0) if queue else self._next_trial()
                    if item is None:
                        break
                    self._launch(executor, *item)
                if not executor.running():
                    break
                for outcome in executor.poll(timeout=0.2):
                    retry = self._on_outcome(outcome)
                    if retry is not None:
                        queue.insert(0, retry)
            status = "failed" if self._fail_fast.tripped else "completed"
        finally:
            executor.shutdown()
            try:
                if self._lease is None or not self._lease.lost:  # a new owner's job is not this one's to mark
                    self.store.set_job_status(self.name, status)
            finally:
                self._close()
                if progress is not None:
                    plugins.unregister(progress)
                    progress.close()
        result = self.result()
        if progress is not None:
            progress.end(result)
        plugins.call_hook("hpcore_job_finish", job=self, result=result)
        if status == "failed":
            raise TrialsFailed(self._fail_fast.message(self.name))
        return result

    def result(self) -> TuningResult:
        """The current result, read back from the store."""
        assert self.store is not None, "run() first"
        diagnostics = list(getattr(self.strategy, "diagnostics", []) or [])
        trials = [replace(r, params=self.space.restore(r.params)) for r in self.store.trials(self.name)]
        cfg = self.config()
        return TuningResult(trials, self.objective, self.direction, self.name,
                            self.store_path, self._ending or "", diagnostics, constraints=self.constraints,
                            setup={k: cfg[k] for k in ("strategy", "early_stopping", "seed", "hpcore")})

    def _n_trials(self) -> int:
        return len(self._records) + len(self._live)

    def _next_trial(self) -> tuple[Trial, int, int | None] | None:
        assert self.strategy is not None
        if self._ending is not None:
            return None
        if self._n_trials() >= self.max_trials:
            self._end(f"max_trials={self.max_trials} reached")
            return None
        try:
            return self.strategy.ask(), 0, None
        except SearchExhausted as exc:
            self._end(str(exc))
            return None

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._end(f"max_runtime of {self.max_runtime:g}s reached", hard=True)

    def _end(self, reason: str, hard: bool = False) -> None:
        if self._ending is None:
            self._ending = reason
            log.info("job %s: %s", self.name, reason)
        self._hard_stop = self._hard_stop or hard

    def _check_criteria(self) -> None:
        assert self.strategy is not None
        if self.target is None and not self.max_trials_without_improvement and not self.complete_on_convergence:
            return  # nothing to check: keep the per-trial cost flat however long the job runs
        for reason, hard in completion_reasons(self, self.finished_records()):
            self._end(reason, hard=hard)
