"""Candidate pipelines and the search over them: one budget shared by successive halving.

Each candidate is a scikit-learn ``Pipeline``: a ``ColumnTransformer`` (:mod:`~hpcore.autopilot.preprocess`)
in front of the estimator of a registered algorithm that has a tabular model. Every
candidate first runs its default configuration, then the candidates take turns: in each rung every
surviving candidate gets an equal share of that rung's time for Bayesian optimisation (continuing
from its earlier trials, with the median stopper ending poor trials after their first folds or
epochs), and only the better half goes on to the next rung. Unused time of a rung flows to the next.

Validation (scikit-learn's ``StratifiedKFold``, ``KFold`` and ``train_test_split``): tables of up to
:data:`CV_MAX_ROWS` rows are scored by stratified 5-fold cross-validation, larger ones by one
stratified 80/20 holdout. Under that line a 20% holdout holds
at most 2,000 rows, whose score is noisy enough to rank candidates wrongly; above it a holdout is
precise enough and costs a fifth of the training time of five folds. A classification table whose
holdout would hold fewer than :data:`MIN_HOLDOUT_CLASS` rows of its rarest class (fraud: 0.5% of
15,000 rows leaves 15 frauds) is cross-validated whatever its size, for the same reason.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hpcore.algorithms.tabular import EpochCallback, TabularModel
from hpcore.autopilot.data import Analysis
from hpcore.autopilot.metrics import DIRECTIONS, score
from hpcore.autopilot.preprocess import make_preprocessor
from hpcore.reporter import Reporter
from hpcore.results import TuningResult, best_of
from hpcore.trial import TrialRecord, TrialState

__all__ = ["CV_MAX_ROWS", "Candidate", "CandidateTrainer", "Standing", "make_candidates", "make_splits",
           "successive_halving"]

CV_MAX_ROWS = 10_000
MIN_HOLDOUT_CLASS = 100
FOLDS = 5
HOLDOUT = 0.2


@dataclass
class Candidate:
    """A candidate pipeline: an algorithm's tabular model behind a preprocessing recipe.

    Example:
        >>> from hpcore import plugins
        >>> c = Candidate("xgboost", plugins.lookup("algorithms", "xgboost").tabular, "ordinal", False)
        >>> c.name
        'xgboost/ordinal'
    """

    algorithm: str
    model: TabularModel
    encoding: str
    skew: bool

    @property
    def name(self) -> str:
        return f"{self.algorithm}/{self.encoding}" + ("+power" if self.skew else "")

    @property
    def preprocessing(self) -> str:
        steps = (["median impute", "standardise"] if self.model.scale else ["NaN kept"])
        return ", ".join((["Yeo-Johnson on skewed"] if self.skew else []) + steps + [f"{self.encoding} categories"])

    def preprocessor(self, analysis: Analysis) -> Any:
        """The unfitted ``ColumnTransformer`` of this candidate (:func:`make_preprocessor`)."""
        return make_preprocessor(analysis.numeric, analysis.categorical, self.encoding, scale=self.model.scale,
                                 power=analysis.skewed if self.skew else ())

    def pipeline(self, analysis: Analysis, params: dict[str, Any], seed: int = 0, threads: int = 1) -> Any:
        """The unfitted scikit-learn ``Pipeline`` (preprocessing, then the model) for ``params``."""
        from sklearn.pipeline import Pipeline

        model = self.model.estimator(params, analysis.problem_type, seed=seed, threads=threads)
        return Pipeline([("preprocess", self.preprocessor(analysis)), ("model", model)])


def make_candidates(analysis: Analysis, max_candidates: int | None = None) -> list[Candidate]:
    """One candidate per registered tabular algorithm first, then their variants (other encoding, log).

    Models that do not suit the table (:meth:`TabularModel.suits`: its problem type, its rows) are
    left out, as are variants that cannot differ on this table (an encoding without categorical columns, a log
    transform without skewed columns) are left out.
    """
    from hpcore import plugins

    firsts: list[Candidate] = []
    variants: list[Candidate] = []
    order = ["xgboost", "svm", "linear-learner", "mlp"]
    names = sorted(plugins.registry("algorithms"), key=lambda n: (order.index(n) if n in order else 99, n))
    for name in names:
        model = getattr(plugins.lookup("algorithms", name), "tabular", None)
        if model is None or not model.suits(analysis.problem_type, analysis.rows):
            continue
        encodings = model.encodings if analysis.categorical else model.encodings[:1]
        skews = [True, False] if (model.scale and analysis.skewed) else [False]
        options = [Candidate(name, model, e, s) for e in encodings for s in skews]
        firsts.append(options[0])
        variants += options[1:]
    out = firsts + variants
    return out[:max_candidates] if max_candidates else out


def make_splits(y: np.ndarray, problem_type: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's (stratified) 5-fold splits up to :data:`CV_MAX_ROWS` rows, one (stratified) holdout above.

    Example:
        >>> import numpy as np
        >>> splits = make_splits(np.array([0, 1] * 50), "binary")
        >>> len(splits), sorted(len(v) for _, v in splits)
        (5, [20, 20, 20, 20, 20])
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n = len(y)
    classify = problem_type != "regression"
    rarest = int(np.unique(y, return_counts=True)[1].min()) if classify else n
    if n <= CV_MAX_ROWS or (classify and rarest * HOLDOUT < MIN_HOLDOUT_CLASS):
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed) if classify else \
            KFold(FOLDS, shuffle=True, random_state=seed)
        return [(np.asarray(t), np.asarray(v)) for t, v in folds.split(np.zeros(n), y)]
    train, val = train_test_split(np.arange(n), test_size=HOLDOUT, random_state=seed,
                                  stratify=y if classify else None)
    return [(np.sort(train), np.sort(val))]


@dataclass
class CandidateTrainer:
    """The training function of one candidate: preprocess and fit per fold, score, report.

    Preprocessing is fitted on each fold's training rows only. With several folds it reports the
    running mean after each fold; with a holdout the model reports after each epoch (or 25 boosting
    rounds), so the median stopper and the job's deadline can end a trial early.
    """

    candidate: Candidate
    analysis: Analysis
    x: Any
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    metric: str
    seed: int = 0
    deadline: float | None = None  # time.time() after which the trial ends early (unscored by all folds)
    # The best trial's out-of-fold predictions seen in this process: (score, params, predictions).
    best_oof: tuple[float, dict[str, Any], np.ndarray] | None = field(default=None, repr=False)

    @property
    def n_classes(self) -> int:
        return len(self.analysis.classes)

    def fit_fold(self, params: dict[str, Any], train: np.ndarray, y: Any = None, threads: int = 1,
                 on_epoch: EpochCallback | None = None) -> Any:
        """The candidate's scikit-learn pipeline for ``params``, fitted on the rows ``train``.

        ``y`` is the target to learn (the class codes by default; the autopilot's saved model learns
        the labels themselves, so that it predicts them).
        """
        pipe = self.candidate.pipeline(self.analysis, params, seed=self.seed, threads=threads)
        target = self.y if y is None else np.asarray(y)
        x_train = pipe.named_steps["preprocess"].fit_transform(self.x.iloc[train])
        self.candidate.model.fit_estimator(pipe.named_steps["model"], x_train, target[train], on_epoch)
        return pipe

    def predict(self, model: Any, x: Any) -> np.ndarray:
        """What the metrics score: class probabilities of a classifier, values of a regressor."""
        return model.predict(x) if self.analysis.problem_type == "regression" else model.predict_proba(x)

    def out_of_fold(self, params: dict[str, Any]) -> np.ndarray:
        """Each validation row's prediction by the model fitted on its fold's training rows (NaN elsewhere).

        Taken from the trials when ``params`` is the best one this trainer ran, fitted again otherwise.
        """
        if self.keeps_predictions(params):
            return self.best_oof[2]  # type: ignore[index]
        oof = self._empty_predictions()
        for train, val in self.splits:
            pipe = self.fit_fold(params, train)
            oof[val] = self.predict(pipe, self.x.iloc[val])
        return oof

    def keeps_predictions(self, params: dict[str, Any]) -> bool:
        """Whether :meth:`out_of_fold` of ``params`` comes from the trials (no fitting)."""
        return self.best_oof is not None and self.best_oof[1] == params

    def _empty_predictions(self) -> np.ndarray:
        shape = (len(self.y),) if self.analysis.problem_type == "regression" else (len(self.y), self.n_classes)
        return np.full(shape, np.nan)

    def _keep_if_best(self, value: float, params: dict[str, Any], oof: np.ndarray) -> None:
        sign = 1.0 if DIRECTIONS[self.metric] == "maximize" else -1.0
        if self.best_oof is None or sign * value > sign * self.best_oof[0]:
            self.best_oof = (value, dict(params), oof)

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        fold_scores: list[float] = []
        threads = int(getattr(reporter, "threads", None) or 1)
        complete = True
        oof = self._empty_predictions()
        for f, (train, val) in enumerate(self.splits, start=1):
            pipe = self.candidate.pipeline(self.analysis, params, seed=self.seed, threads=threads)
            pre, model = pipe.named_steps["preprocess"], pipe.named_steps["model"]
            x_train = pre.fit_transform(self.x.iloc[train])
            x_val, y_val = pre.transform(self.x.iloc[val]), self.y[val]
            cut = {"stopped": False}

            def on_epoch(step: int, predict: Any, x_val: np.ndarray = x_val, y_val: np.ndarray = y_val,
                         cut: dict[str, bool] = cut) -> bool:
                stop = self._out_of_time()
                if len(self.splits) == 1 and reporter is not None:
                    value = score(self.metric, y_val, predict(x_val))
                    stop = bool(reporter.report(step, **{self.metric: value})) or stop
                cut["stopped"] = stop
                return stop

            self.candidate.model.fit_estimator(model, x_train, self.y[train], on_epoch)
            oof[val] = self.predict(model, x_val)
            fold_scores.append(score(self.metric, y_val, oof[val]))
            if cut["stopped"]:
                complete = False
                break
            if f < len(self.splits):
                stop = reporter is not None and reporter.report(f, **{self.metric: float(np.mean(fold_scores))})
                if stop or self._out_of_time():
                    complete = False
                    break
        if complete:
            self._keep_if_best(float(np.mean(fold_scores)), params, oof)
        return {self.metric: float(np.mean(fold_scores)), "score_std": float(np.std(fold_scores)),
                "folds": float(len(fold_scores)), "complete": float(complete)}


@dataclass
class Standing:
    """A candidate's results so far: its tuning jobs, time spent and the rung it reached."""

    candidate: Candidate
    results: list[TuningResult] = field(default_factory=list)
    seconds: float = 0.0
    rung: int = 0
    error: str | None = None

    def records(self) -> list[TrialRecord]:
        return [r for res in self.results for r in res.trials if r.params]

    def merged(self, metric: str, problem_type: str) -> TuningResult:
        """All the candidate's trials as one result (renumbered), for ``hpcore.report``."""
        records = [replace(r, id=i) for i, r in enumerate(self.records())]
        return TuningResult(records, metric, DIRECTIONS[metric], self.candidate.name,
                            space=self.candidate.model.space(problem_type))

    def complete(self) -> bool:
        """Whether some trial scored every fold."""
        return any(r.state == TrialState.COMPLETED and r.metrics.get("complete", 1.0) for r in self.records())

    def rank_key(self, direction: str) -> tuple[int, float]:
        """Sort key, best first: candidates validated on every fold before those cut short, then by score."""
        b = self.best(direction)
        if b is None or b.value is None:
            return (2, math.inf)
        return (0 if self.complete() else 1, (-1.0 if direction == "maximize" else 1.0) * b.value)

    def refit_seconds(self, direction: str) -> float:
        """Estimated time to refit the best trial on all rows: its time per fold, times 1.25 (5/4 of the rows)."""
        b = self.best(direction)
        if b is None or b.duration is None:
            return 0.0
        return 1.25 * b.duration / max(1.0, float(b.metrics.get("folds", 1.0)))

    def best(self, direction: str) -> TrialRecord | None:
        """The best trial that scored every fold (falls back to early-stopped ones)."""
        done = [r for r in self.records() if r.state == TrialState.COMPLETED and r.metrics.get("complete", 1.0)]
        if done:
            return best_of(done, direction)
        # None scored every fold in time: the best of those that got furthest, rather than a lucky first fold.
        scored = [r for r in self.records() if r.value is not None]
        most = max((r.metrics.get("folds", 1.0) for r in scored), default=1.0)
        partial = [r for r in scored if r.metrics.get("folds", 1.0) == most]
        return best_of(partial, direction) or best_of(self.records(), direction)


def _defaults_trial(trainer: CandidateTrainer, metric: str) -> TrialRecord:
    params = trainer.candidate.model.space(trainer.analysis.problem_type).defaults()
    started = time.time()
    try:
        metrics = trainer(params, Reporter(0, params, send=lambda step, m: trainer._out_of_time()))
    except Exception as exc:  # a failing candidate is reported on the leaderboard, not fatal
        return TrialRecord(0, params, TrialState.FAILED, None, error=f"{type(exc).__name__}: {exc}",
                           started=started, finished=time.time())
    state = TrialState.COMPLETED if metrics["complete"] else TrialState.STOPPED
    return TrialRecord(0, params, state, metrics[metric], metrics, started=started, finished=time.time())


def successive_halving(trainers: list[CandidateTrainer], metric: str, deadline: float, *, max_parallel: int = 1,
                       executor: str | None = None, executor_options: dict[str, Any] | None = None,
                       seed: int = 0, refit_reserve: float = 0.0, log: Any = print) -> list[Standing]:
    """Spends the time until ``deadline`` (``time.monotonic()``) over the candidates; see the module doc.

    ``refit_reserve`` is the time already kept after ``deadline`` for the final refit; when a
    candidate's refit on all rows would take longer (estimated from its best trial's time per fold),
    the search ends earlier by the difference.
    """
    from hpcore.errors import TrialsFailed
    from hpcore.job import TuningJob

    direction = DIRECTIONS[metric]
    standings = [Standing(t.candidate) for t in trainers]
    alive = list(range(len(trainers)))
    n_rungs = math.ceil(math.log2(len(alive))) + 1 if len(alive) > 1 else 1
    for rung in range(n_rungs):
        # Keep time to refit the slowest survivor on all rows, beyond the budget's fixed reserve.
        end = deadline - max([standings[i].refit_seconds(direction) for i in alive] + [0.0]) + refit_reserve
        rung_end = time.monotonic() + max(0.0, min(deadline, end) - time.monotonic()) / (n_rungs - rung)
        for pos, i in enumerate(alive):
            st, trainer = standings[i], trainers[i]
            st.rung = rung
            begin = time.monotonic()
            share = (rung_end - begin) / (len(alive) - pos)
            trainer.deadline = time.time() + share
            if rung == 0:
                # The defaults first: on a tiny budget they are often the best a candidate gets.
                record = _defaults_trial(trainer, metric)
                st.results.append(TuningResult([record], metric, direction))
                if record.state == TrialState.FAILED:
                    st.error = record.error
            share = trainer.deadline - time.time()
            if st.error is None and share >= 1.0:
                space = trainer.candidate.model.space(trainer.analysis.problem_type)
                job = TuningJob(trainer, space, objective=metric, direction=direction, strategy="bayesian",
                                early_stopping="median", max_trials=10_000, max_runtime=share,
                                max_parallel=max_parallel, executor=executor, executor_options=executor_options,
                                seed=seed + 1000 * rung + i, progress=False,
                                warm_start=[r for r in st.results if r.trials])
                try:
                    st.results.append(job.run())
                except TrialsFailed as exc:  # this candidate cannot train here: the others go on
                    st.results.append(job.result())
                    st.error = str(exc).splitlines()[0]
            st.seconds += time.monotonic() - begin
            best = st.best(direction)
            log(f"  rung {rung + 1}/{n_rungs} {st.candidate.name:<28} {len(st.records()):>4} trials  "
                f"best {metric} {best.value if best else float('nan'):.4f}" if best else
                f"  rung {rung + 1}/{n_rungs} {st.candidate.name:<28} failed: {st.error}")
        if rung == n_rungs - 1:
            break

        def key(i: int) -> tuple[int, float]:
            return standings[i].rank_key(direction)

        alive = sorted(alive, key=key)[: max(1, math.ceil(len(alive) / 2))]
    return standings
