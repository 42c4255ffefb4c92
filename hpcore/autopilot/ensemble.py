"""A weighted soft-voting ensemble of the best candidates, chosen on their out-of-fold predictions.

After the search, the best :data:`POOL` candidates that scored every fold give their best
configuration's out-of-fold predictions (kept from the trials, or fitted again on the same folds).
Ensemble selection (Caruana et al., 2004) then starts from the best of them and, for
:data:`ROUNDS` rounds, adds whichever candidate (again, with replacement) makes the weighted mean
of the predictions score best on the same folds; the ensemble is the round that scored best. Its
weights are how many times each candidate was added. Classifiers average their class
probabilities, regressors their values.

Scores are compared on the objective first and, where they tie (accuracy and F1 on a small table
often do), on a proper score of the same predictions: log-loss for classifiers, mean squared error
for regressors. The ensemble is kept only when it is strictly better than its best member by that
comparison, so on the leaderboard it competes as one more row. Its saved model is scikit-learn's
``VotingClassifier(voting="soft")`` or ``VotingRegressor`` of the members' pipelines, refit on all rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.autopilot.metrics import DIRECTIONS, score
from hpcore.autopilot.search import Candidate, CandidateTrainer, Standing

__all__ = ["ENSEMBLE", "POOL", "ROUNDS", "Ensemble", "Member", "build_ensemble", "member_key", "select_weights"]

ENSEMBLE = "ensemble"
POOL = 5
ROUNDS = 20


@dataclass
class Member:
    """One candidate of an ensemble: its best hyperparameters and its weight (times it was added)."""

    candidate: Candidate
    params: dict[str, Any]
    weight: int

    @property
    def key(self) -> str:
        """Its name inside the voting estimator."""
        return member_key(self.candidate.name)


def member_key(candidate: str) -> str:
    """A candidate's name as a voting estimator's member name (scikit-learn forbids ``__`` there).

    Example:
        >>> member_key("svm/onehot+power")
        'svm_onehot_power'
    """
    return candidate.replace("/", "_").replace("+", "_")


@dataclass
class Ensemble:
    """The members and their out-of-fold scores.

    Example:
        >>> from hpcore import plugins
        >>> model = plugins.lookup("algorithms", "linear-learner").tabular
        >>> e = Ensemble([Member(Candidate("linear-learner", model, "onehot", False), {}, 2)], [0.9, 0.8], "binary")
        >>> e.score, e.weights
        (0.8500000000000001, {'linear-learner/onehot': 2})
    """

    members: list[Member]
    fold_scores: list[float]
    problem_type: str = "binary"

    @property
    def score(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def weights(self) -> dict[str, int]:
        return {m.candidate.name: m.weight for m in self.members}

    def estimator(self, analysis: Any, seed: int = 0, threads: int = 1) -> Any:
        """The unfitted ``VotingClassifier(voting="soft")`` (or ``VotingRegressor``) of the members' pipelines."""
        from sklearn.ensemble import VotingClassifier, VotingRegressor

        pipes = [(m.key, m.candidate.pipeline(analysis, m.params, seed=seed, threads=threads)) for m in self.members]
        weights = [m.weight for m in self.members]
        if self.problem_type == "regression":
            return VotingRegressor(pipes, weights=weights)
        return VotingClassifier(pipes, voting="soft", weights=weights)

    def members_card(self) -> list[dict[str, Any]]:
        """The members as the model card lists them."""
        return [{"candidate": m.candidate.name, "weight": m.weight, "params": dict(m.params)} for m in self.members]


def _fold_scores(metric: str, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                 pred: np.ndarray) -> list[float]:
    return [score(metric, y[val], pred[val]) for _, val in splits]


def _proper(problem_type: str) -> str:
    return "mse" if problem_type == "regression" else "logloss"


def select_weights(predictions: list[np.ndarray], y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                   metric: str, problem_type: str, rounds: int = ROUNDS) -> tuple[list[int], list[float]]:
    """Greedy ensemble selection with replacement: the weights (counts) and fold scores of the best round.

    Example:
        Three models, each unsure and wrong on a different row, are right together:

        >>> import numpy as np
        >>> y = np.array([0, 1, 0, 1])
        >>> splits = [(np.array([2, 3]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3]))]
        >>> right = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
        >>> models = [right.copy() for _ in range(3)]
        >>> for row, m in enumerate(models):
        ...     m[row] = [0.45, 0.55] if y[row] == 0 else [0.55, 0.45]
        >>> select_weights(models, y, splits, "accuracy", "binary")
        ([1, 1, 1], [1.0, 1.0])
    """
    sign = -1.0 if DIRECTIONS[metric] == "maximize" else 1.0
    proper = _proper(problem_type)

    def key(pred: np.ndarray) -> tuple[float, float]:
        objective = round(sign * float(np.mean(_fold_scores(metric, y, splits, pred))), 12)
        return objective, float(np.mean(_fold_scores(proper, y, splits, pred)))

    counts = [0] * len(predictions)
    total = np.zeros_like(predictions[0])
    best_key, best_counts = None, counts
    for _ in range(rounds):
        tries = [key((total + p) / (sum(counts) + 1)) for p in predictions]
        pick = min(range(len(predictions)), key=lambda i: tries[i])
        counts[pick] += 1
        total = total + predictions[pick]
        if best_key is None or tries[pick] < best_key:
            best_key, best_counts = tries[pick], list(counts)
    mean = sum(c * p for c, p in zip(best_counts, predictions)) / sum(best_counts)
    common = math.gcd(*best_counts)
    return [c // common for c in best_counts], _fold_scores(metric, y, splits, mean)


def build_ensemble(trainers: list[CandidateTrainer], standings: list[Standing], rows: list[dict[str, Any]],
                   metric: str, seconds_left: float, log: Callable[[str], Any] = print) -> Ensemble | None:
    """The ensemble of the leaderboard's best candidates, or None when none is better than the best one alone.

    Only candidates that scored every fold take part, at most :data:`POOL`, and only as many as can
    be refit on all rows (with their out-of-fold predictions fitted again where the trials did not
    keep them) within ``seconds_left``.
    """
    by_name = {t.candidate.name: (t, st) for t, st in zip(trainers, standings)}
    direction = DIRECTIONS[metric]
    pool: list[tuple[CandidateTrainer, dict[str, Any]]] = []
    spent = 0.0
    for row in rows:
        if len(pool) == POOL:
            break
        if not row["all_folds"] or row["score"] is None or row["candidate"] not in by_name:
            continue
        trainer, st = by_name[row["candidate"]]
        params = dict(row["params"])
        best = st.best(direction)
        refit = st.refit_seconds(direction)
        kept = trainer.keeps_predictions(params) or best is None or best.duration is None
        cost = refit + (0.0 if kept else best.duration)
        if spent + cost > seconds_left:
            continue
        spent += cost
        pool.append((trainer, params))
    if len(pool) < 2:
        return None
    first = pool[0][0]
    predictions = [t.out_of_fold(p) for t, p in pool]
    counts, fold_scores = select_weights(predictions, first.y, first.splits, metric, first.analysis.problem_type)
    if sum(c > 0 for c in counts) < 2:
        log(f"ensemble: none better than {first.candidate.name} alone on the same folds")
        return None
    members = [Member(t.candidate, p, c) for (t, p), c in zip(pool, counts) if c > 0]
    ensemble = Ensemble(members, fold_scores, first.analysis.problem_type)
    log(f"ensemble of {len(members)}: {metric} {ensemble.score:.4f} "
        f"({', '.join(f'{n} x{w}' for n, w in ensemble.weights.items())})")
    return ensemble
