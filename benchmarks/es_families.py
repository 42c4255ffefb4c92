"""More learning-curve problems for ``bench_early_stopping.py``: four constructed families and XGBoost rounds.

Each family draws its curves from the same three hyperparameters as ``synthetic`` (``lr``, ``width``,
``dropout``) through a different shape, chosen to break a different early-stopping shortcut:

* ``slow-starters``: sigmoid curves whose best configurations start latest (a long flat start,
  then a fall: up to 5 of 27 epochs late), so their early values rank them last;
* ``crossing``: fast learners plateau high and slow ones end low, with more noise (sd 0.006), so
  the ranking at the start is the reverse of the final one;
* ``late-overfit``: curves that reach their minimum and then rise, later for more dropout, so the
  lowest curves in the middle are not the lowest at the end;
* ``noisy``: the ``synthetic`` curves with heavy-tailed noise (Student's t, 3 degrees of freedom,
  scale 0.01, 2.5 times ``synthetic``'s), larger than many of the differences between
  configurations.

``xgboost-rounds`` is a real one: XGBoost's validation log-loss, round by round, on a generated
binary task (4,000 training and 2,000 validation rows, 20 features), one thread.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
from es_problems import EPOCHS, SYNTHETIC, Problem, _key, synthetic_true

import hpcore

__all__ = ["FAMILIES", "xgboost_problem"]


def _noise(params: dict[str, Any], seed: int, epoch: int, salt: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32((salt + repr(_key(params, seed))).encode()), epoch])


def _unit(params: dict[str, Any]) -> tuple[float, float, float]:
    """``lr`` as log10 (-4..0), ``width`` as 0..1 on a log scale, ``dropout`` as 0..1."""
    return math.log10(params["lr"]), (math.log2(params["width"]) - 3.0) / 7.0, params["dropout"] / 0.7


def slow_true(params: dict[str, Any], seed: int, epoch: int) -> float:
    u, w, d = _unit(params)
    q = math.exp(-((u + 2.5) ** 2) / 1.5) * (0.4 + 0.6 * w) * (0.7 + 0.3 * d)  # quality, 0..1
    final = 0.1 + 0.5 * (1.0 - q)
    delay = 1.0 + 4.0 * q  # the better, the later it starts
    return final + (1.0 - final) / (1.0 + math.exp((epoch - delay) / 2.5))


def crossing_true(params: dict[str, Any], seed: int, epoch: int) -> float:
    u, w, d = _unit(params)
    speed = 0.04 + 1.2 * ((u + 4.0) / 4.0) ** 1.5 * (1.0 - 0.4 * d)
    plateau = 0.1 + 0.4 * (speed / 1.24) ** 0.6 + 0.1 * (1.0 - w)
    return plateau + (1.0 - plateau) * math.exp(-speed * epoch)


def overfit_true(params: dict[str, Any], seed: int, epoch: int) -> float:
    u, w, d = _unit(params)
    speed = 0.5 * math.exp(-((u + 2.0) ** 2) / 2.0) + 0.05
    low = 0.1 + 0.2 * (1.0 - w) + 0.05 * d
    onset = 6.0 + 18.0 * d
    rise = 0.5 * w * (1.0 - 0.8 * d)
    return low + (1.0 - low) * math.exp(-speed * epoch) + rise * (max(0.0, epoch - onset) / EPOCHS) ** 2


def _with_noise(true: Any, sd: float, salt: str, heavy: bool = False) -> Any:
    def curve(params: dict[str, Any], seed: int, epoch: int) -> float:
        rng = _noise(params, seed, epoch, salt)
        e = float(rng.standard_t(3)) if heavy else float(rng.standard_normal())
        return true(params, seed, epoch) + sd * e
    return curve


def _family(name: str, true: Any, sd: float, heavy: bool = False) -> Problem:
    return Problem(name, SYNTHETIC.space, "val_loss", "minimize", _with_noise(true, sd, name, heavy), true)


FAMILIES = [
    _family("slow-starters", slow_true, 0.004),
    _family("crossing", crossing_true, 0.006),
    _family("late-overfit", overfit_true, 0.004),
    _family("noisy", synthetic_true, 0.01, heavy=True),
]


class XGBoostRounds:
    """Boosts each configuration once, all its rounds; later methods replay its validation curve."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(6000, 20))
        logit = x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) + 0.6 * x[:, 3:9].sum(axis=1) - 0.4 * x[:, 9] ** 2
        y = (logit + rng.normal(size=len(x)) > 0).astype(float)
        self.data = (x[:4000], y[:4000], x[4000:], y[4000:])
        self.cache: dict[tuple[Any, ...], list[float]] = {}
        self.epochs_trained = 0

    def __call__(self, params: dict[str, Any], seed: int, epoch: int) -> float:
        import xgboost as xgb

        key = _key(params, seed)
        if key not in self.cache:
            xt, yt, xv, yv = self.data
            dtrain, dvalid = xgb.DMatrix(xt, label=yt, nthread=1), xgb.DMatrix(xv, label=yv, nthread=1)
            booster_params = {"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1, "seed": seed,
                              "eta": params["eta"], "max_depth": params["max_depth"],
                              "subsample": params["subsample"], "min_child_weight": params["min_child_weight"]}
            log: dict[str, Any] = {}
            xgb.train(booster_params, dtrain, EPOCHS, evals=[(dvalid, "valid")], evals_result=log, verbose_eval=False)
            self.cache[key] = [float(v) for v in log["valid"]["logloss"]]
            self.epochs_trained += EPOCHS
        return self.cache[key][epoch - 1]


def xgboost_problem() -> Problem:
    return Problem("xgboost-rounds", hpcore.SearchSpace({
        "eta": hpcore.Float(0.01, 0.5, scale="log"),
        "max_depth": hpcore.Int(2, 10),
        "subsample": hpcore.Float(0.5, 1.0),
        "min_child_weight": hpcore.Float(1.0, 30.0, scale="log"),
    }), "val_logloss", "minimize", XGBoostRounds())
