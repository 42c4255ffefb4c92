"""The problems of ``bench_early_stopping.py``: learning curves, and how much they cross.

* ``synthetic``: a family of learning curves (validation loss, minimised) whose speed, plateau and
  overfitting depend on the hyperparameters, with seeded noise;
* ``digits-mlp``: a real training, scikit-learn's ``MLPClassifier`` on the digits data, one
  ``partial_fit`` pass per epoch, validation accuracy maximised.

:func:`crossing` measures how far the ranking of configurations early in training predicts their
final ranking, the property that decides how much any early-stopping rule can save.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

import hpcore

EPOCHS = 27


@dataclass
class Problem:
    name: str
    space: hpcore.SearchSpace
    objective: str
    direction: str
    curve: Callable[[dict[str, Any], int, int], float]  # (params, seed, epoch) -> objective
    # The same without noise (None: the curve is deterministic, its observed values are the true ones).
    true_curve: Callable[[dict[str, Any], int, int], float] | None = None

    def true(self, params: dict[str, Any], seed: int, epoch: int) -> float:
        """The noise-free objective at ``epoch``: what a configuration is really worth there."""
        return (self.true_curve or self.curve)(params, seed, epoch)

    def optuna_params(self, trial: optuna.Trial) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in self.space.items():
            if isinstance(p, hpcore.Categorical):
                out[name] = trial.suggest_categorical(name, list(p.values))
            elif isinstance(p, hpcore.Int):
                out[name] = trial.suggest_int(name, p.min, p.max, log=p.is_log)
            else:
                out[name] = trial.suggest_float(name, p.min, p.max, log=p.is_log)
        return out


def _key(params: dict[str, Any], seed: int) -> tuple[Any, ...]:
    return (seed, *sorted(params.items()))


def synthetic_true(params: dict[str, Any], seed: int, epoch: int) -> float:
    """Validation loss at ``epoch`` of a model with these hyperparameters, without noise.

    The learning rate sets the speed (best near 1e-2, unstable above 1e-1), the width the plateau
    (wider is lower), and width without dropout overfits after convergence; dropout slows learning
    but removes the overfitting, so slow starters sometimes end best (curves cross).
    """
    u = math.log10(params["lr"])
    width, dropout = math.log2(params["width"]), params["dropout"]
    speed = (0.6 * math.exp(-((u + 2.0) ** 2)) + 0.02) * (1.0 - 0.6 * dropout)
    plateau = 0.08 + 0.25 * math.exp(-(width - 3.0) / 2.5) + 0.3 * max(0.0, u + 1.0) ** 2
    overfit = 0.12 * (width / 10.0) * (0.7 - dropout) ** 2
    onset = 2.0 / speed
    return plateau + (1.0 - plateau) * math.exp(-speed * epoch) + overfit * max(0.0, epoch - onset) / EPOCHS


def synthetic_curve(params: dict[str, Any], seed: int, epoch: int) -> float:
    """The observed validation loss: :func:`synthetic_true` plus seeded noise (sd 0.004 per epoch)."""
    rng = np.random.default_rng([seed, zlib.crc32(repr(_key(params, seed)).encode()), epoch])
    return synthetic_true(params, seed, epoch) + 0.004 * float(rng.standard_normal())


SYNTHETIC = Problem(
    "synthetic", hpcore.SearchSpace({
        "lr": hpcore.Float(1e-4, 1.0, scale="log"),
        "width": hpcore.Int(8, 1024, scale="log"),
        "dropout": hpcore.Float(0.0, 0.7),
    }), "val_loss", "minimize", synthetic_curve, synthetic_true)


class DigitsMLP:
    """Trains each configuration once, lazily, epoch by epoch; later methods replay its curve."""

    def __init__(self) -> None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        x, y = load_digits(return_X_y=True)
        self.x_train, self.x_val, self.y_train, self.y_val = train_test_split(
            x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
        self.cache: dict[tuple[Any, ...], tuple[Any, list[float]]] = {}
        self.epochs_trained = 0
        self.seconds = 0.0

    def __call__(self, params: dict[str, Any], seed: int, epoch: int) -> float:
        from sklearn.neural_network import MLPClassifier

        key = _key(params, seed)
        if key not in self.cache:
            model = MLPClassifier(hidden_layer_sizes=(params["hidden"],), learning_rate_init=params["lr"],
                                  alpha=params["alpha"], batch_size=params["batch_size"], random_state=seed)
            self.cache[key] = (model, [])
        model, accs = self.cache[key]
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial_fit's convergence warnings are expected
            while len(accs) < epoch:
                model.partial_fit(self.x_train, self.y_train, classes=np.arange(10))
                accs.append(float(model.score(self.x_val, self.y_val)))
                self.epochs_trained += 1
        self.seconds += time.perf_counter() - started
        return accs[epoch - 1]


def digits_problem() -> Problem:
    return Problem("digits-mlp", hpcore.SearchSpace({
        "lr": hpcore.Float(1e-4, 0.3, scale="log"),
        "hidden": hpcore.Int(8, 128, scale="log"),
        "alpha": hpcore.Float(1e-6, 1e-1, scale="log"),
        "batch_size": hpcore.Categorical([32, 64, 128, 256]),
    }), "val_acc", "maximize", DigitsMLP())


def crossing(problem: Problem, configs: dict[int, list[dict[str, Any]]],
             epochs: tuple[int, ...] = (1, 3, 9)) -> dict[int, dict[str, float]]:
    """How well each epoch's ranking predicts the final one, averaged over seeds.

    For each seed (its configurations) and epoch ``e``: ``rho``, Spearman's rank correlation between
    the objectives at ``e`` and at the last epoch; ``best_rank``, where the configuration that ends
    best stands at ``e`` (0 = first, 1 = last); ``top5_behind``, the share of the final five best
    that are in the worse half at ``e`` (a median rule at ``e`` would stop them).
    """
    from scipy.stats import spearmanr

    sign = 1.0 if problem.direction == "minimize" else -1.0
    out: dict[int, dict[str, list[float]]] = {e: {"rho": [], "best_rank": [], "top5_behind": []} for e in epochs}
    for seed, params in configs.items():
        final = np.array([sign * problem.curve(p, seed, EPOCHS) for p in params])
        order = np.argsort(final, kind="stable")
        for e in epochs:
            early = np.array([sign * problem.curve(p, seed, e) for p in params])
            ranks = early.argsort(kind="stable").argsort() / (len(early) - 1)
            out[e]["rho"].append(float(spearmanr(early, final).statistic))
            out[e]["best_rank"].append(float(ranks[order[0]]))
            out[e]["top5_behind"].append(float(np.mean(ranks[order[:5]] > 0.5)))
    return {e: {k: statistics.mean(v) for k, v in d.items()} for e, d in out.items()}


def near_best(problem: Problem, configs: dict[int, list[dict[str, Any]]], within: float = 1.0) -> float:
    """Mean number of configurations per seed whose final objective is within ``within`` % of the best.

    The more there are, the more of them a rule can stop (or lose) while its best stays within that
    margin of no stopping: this is how loose a relative quality target is on a problem.
    """
    sign = 1.0 if problem.direction == "minimize" else -1.0
    counts = []
    for seed, params in configs.items():
        final = [sign * problem.curve(p, seed, EPOCHS) for p in params]
        best = min(final)
        counts.append(sum(v - best <= within / 100.0 * abs(best) for v in final))
    return statistics.mean(counts)
